// `dpemu trace` against a partitioned datapath, the supervisor's side: each
// packet is injected by the worker owning its node (op 'trace'), one after
// the other as one emulator runs them; where it crosses the fabric the
// worker that takes it traces on and reports its piece unasked
// (worker-trace.ts). Once every crossing has come back as a piece, the
// pieces are joined (trace-merge.ts) and printed as one emulator prints the
// trace. A worker that dies, or does not report within the wait, ends the
// command with what arrived and an error that names it.
import type { ControlHooks } from '../control/command.js';
import { ControlError, type CommandResponse } from '../control/protocol.js';
import { traceOutput, type TraceRun } from '../cli/trace-format.js';
import type { PartitionedDatapath } from './supervisor.js';
import { MAX_TRACE_ID } from './layout.js';
import { joinPieces, mergeTrace } from './trace-merge.js';
import type { TraceAnswer, TracePiece } from './worker-trace.js';

/** How long the supervisor waits for the pieces of one packet's trace by default. */
export const TRACE_WAIT_MS = 5000;
/** How often a wait looks at whether a worker it waits for died. */
const LOOK_MS = 50;

interface Collecting {
  /** Each worker's pieces, by their number. */
  pieces: Map<number, TracePiece[]>;
  /** Resolves the current wait early (a piece arrived). */
  wake: (() => void) | null;
}

export class RemoteTraces {
  private lastId = 0;
  private readonly live = new Map<number, Collecting>();

  constructor(
    private readonly dp: PartitionedDatapath,
    private readonly waitMs = TRACE_WAIT_MS,
  ) {
    dp.onTracePiece = (w, p) => this.piece(w, p);
  }

  /** Trace the packets the words give, injected in worker `w`. */
  async run(w: number, argv: readonly string[], hooks: ControlHooks): Promise<CommandResponse> {
    const runs: TraceRun[] = [];
    let failure = '';
    for (let i = 0, count = 1; i < count && !failure; i++) {
      const id = (this.lastId = (this.lastId % MAX_TRACE_ID) + 1);
      const c: Collecting = { pieces: new Map(), wake: null };
      this.live.set(id, c);
      try {
        const a = await this.dp.request<TraceAnswer>(w, { op: 'trace', trace: id, argv: [...argv], packet: i });
        if (a.error) throw new ControlError(a.error.message, a.error.exit, a.error.status);
        count = a.count;
        this.add(c, w, a.piece!);
        const merged = await this.collect(c, w);
        runs.push({ at: a.at, events: merged.events });
        failure = merged.failure;
      } finally {
        this.live.delete(id);
        for (const x of new Set([w, ...c.pieces.keys()])) this.dp.request(x, { op: 'traceEnd', trace: id }).catch(() => {});
      }
    }
    hooks.invalidate('trace');
    const stdout = traceOutput(runs, argv.includes('--json'));
    return failure ? { ok: false, stdout, stderr: `dpemu trace: ${failure}\n`, exit: 1 } : { ok: true, stdout, stderr: '', exit: 0 };
  }

  /** Wait until every crossing of the trace came back as a piece; the trace joined, and why it is not whole if it is not. */
  private async collect(c: Collecting, first: number): Promise<{ events: TraceRun['events']; failure: string }> {
    const restarts = [...this.dp.restarts];
    const end = performance.now() + this.waitMs;
    for (;;) {
      const m = mergeTrace(new Map([...c.pieces].map(([x, ps]) => [x, joinPieces(ps)])), first);
      if (m.complete) return { events: m.events, failure: '' };
      const dead = m.owing.filter((x) => !this.dp.alive[x] || this.dp.restarts[x] !== restarts[x]);
      const left = end - performance.now();
      const who = (ws: number[]) => `datapath worker${ws.length > 1 ? 's' : ''} ${ws.join(', ')}`;
      if (dead.length) return { events: m.events, failure: `${who(dead)} died while the packet was in it; the trace above stops there` };
      if (left <= 0) {
        return { events: m.events, failure: `${who(m.owing)} did not report its part of the trace within ${this.waitMs} ms; the trace above stops there` };
      }
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, LOOK_MS));
        c.wake = () => {
          clearTimeout(t);
          res();
        };
      });
      c.wake = null;
    }
  }

  private piece(w: number, p: TracePiece): void {
    const c = this.live.get(p.trace);
    if (!c) {
      // A trace given up on: the worker need not keep its tracer.
      this.dp.request(w, { op: 'traceEnd', trace: p.trace }).catch(() => {});
      return;
    }
    this.add(c, w, p);
    c.wake?.();
  }

  private add(c: Collecting, w: number, p: TracePiece): void {
    let ps = c.pieces.get(w);
    if (!ps) c.pieces.set(w, (ps = []));
    ps[p.seq] = p;
  }
}
