// The control socket's backend for a partitioned datapath: a command runs in
// the worker that owns the node its words name (CommandFamily.target), one
// that concerns every node runs in each worker and their answers are joined
// as one emulator prints them. Every worker knows all node names, so an
// unknown node fails with the same text wherever it runs (worker 0 answers).
// A live capture taps the port in its worker, which keeps the copied frames
// until this side polls for them (every POLL_MS, while the reader keeps up);
// conntrack -E listens in the worker that owns the namespace, polled alike.
// A trace follows its packets from worker to worker (remote-trace.ts).
// The supervisor keeps each worker's configuration writes for a successor
// (PartitionedDatapath.control, config-log.ts).
import type { CommandFamily, ControlHooks } from '../control/command.js';
import type { CaptureHandle, CaptureSpec, ConntrackEventsHandle, ConntrackEventsSpec, ControlBackend, PingSpec, TcpdumpHandle } from '../control/backend.js';
import type { PingSession } from '../control/ping.js';
import { conntrack } from '../control/conntrack-commands.js';
import { monitorNode, type MonitorTool } from '../control/monitors.js';
import { ControlError, ok, type CommandResponse } from '../control/protocol.js';
import { trace } from '../control/trace-command.js';
import type { PartitionedDatapath } from './supervisor.js';
import { RemoteTraces, TRACE_WAIT_MS } from './remote-trace.js';
import { emulationNodes, type CaptureAnswer, type CapturePoll, type ControlAnswer, type EventsAnswer, type PingAnswer } from './worker-control.js';

/** How often a capture's frames are fetched from its worker. */
const POLL_MS = 20;

/** The default join of `every` answers: the first failure, else the outputs one after the other. */
function concat(answers: readonly CommandResponse[]): CommandResponse {
  return answers.find((a) => !a.ok) ?? ok(answers.map((a) => a.stdout).join(''), answers.map((a) => a.stderr).join(''));
}

export class PartitionedControl implements ControlBackend {
  private readonly allNodes: readonly string[];
  private nextCapture = 1;
  private readonly traces: RemoteTraces;

  /** `traceWaitMs`: how long a trace waits for the workers a packet crossed to (the datapath's pieces of a trace go to the last one made). */
  constructor(private readonly dp: PartitionedDatapath, opts: { traceWaitMs?: number } = {}) {
    this.allNodes = emulationNodes(dp.topology);
    this.traces = new RemoteTraces(dp, opts.traceWaitMs ?? TRACE_WAIT_MS);
  }

  get topologyName(): string {
    return this.dp.topology.name;
  }

  nodes(): readonly string[] {
    return this.allNodes;
  }

  async run(family: CommandFamily, argv: readonly string[], hooks: ControlHooks): Promise<CommandResponse> {
    let target;
    try {
      target = family.target(argv);
    } catch {
      target = { node: undefined }; // words it cannot even parse: any worker answers run()'s same error
    }
    if ('whole' in target) throw new ControlError(target.whole);
    if ('every' in target) {
      const answers = await Promise.all(Array.from({ length: this.dp.workers }, (_, w) => this.ask(w, family, argv)));
      // Each worker reports the same kind of write ('counters'): the server hears it once, as from one emulator.
      for (const what of new Set(answers.flatMap((a) => a.writes))) hooks.invalidate(what);
      return (target.merge ?? concat)(answers.map(unwrap), this.allNodes);
    }
    const node = target.node;
    const w = node !== undefined && this.dp.assignment.has(node) ? this.dp.ownerOf(node) : 0;
    if (family === trace) return this.traces.run(w, argv, hooks);
    const a = await this.ask(w, family, argv);
    for (const what of a.writes) hooks.invalidate(what);
    return unwrap(a);
  }

  /** A worker that died before answering (or is being restarted) is the tool's error, not the daemon's: nothing of the command is kept. */
  private ask(w: number, family: CommandFamily, argv: readonly string[]): Promise<ControlAnswer> {
    return this.dp.control(w, family.name, argv).catch((e: Error) => {
      throw new ControlError(`dpemu: ${e.message}`, 1, 503);
    });
  }

  async capture(s: CaptureSpec): Promise<TcpdumpHandle> {
    const node = s.iface.split(':')[0]!;
    const w = this.dp.assignment.has(node) ? this.dp.ownerOf(node) : 0;
    const cap = this.nextCapture++;
    const a = await this.dp.request<CaptureAnswer>(w, { op: 'capture', cap, iface: s.iface, filter: s.filter, count: s.opts.count ?? 0, snaplen: s.opts.snaplen ?? 0 });
    unwrap(a);
    return Object.assign(this.poll(w, cap, s.opts.congested, (p) => p.frames.length && s.deliver(p.frames), s.done), { source: a.source! });
  }

  /** conntrack -E in the worker that owns the node the words name, its lines polled as a capture's frames. */
  async conntrackEvents(s: ConntrackEventsSpec): Promise<ConntrackEventsHandle> {
    const { a, handle } = await this.lineEvents<EventsAnswer>(s, { op: 'conntrackEvents' }, () => {
      const t = conntrack.target(s.argv);
      return 'node' in t ? t.node : undefined;
    });
    return Object.assign(handle, { table: a.table ?? 'conntrack' });
  }

  /** ip or bridge monitor in the worker that owns the node the words name, its lines polled as conntrack -E's. */
  async monitor(tool: MonitorTool, s: ConntrackEventsSpec): Promise<CaptureHandle> {
    return (await this.lineEvents<ControlAnswer>(s, { op: 'monitor', tool }, () => monitorNode(tool, s.argv))).handle;
  }

  /** A stream of event lines (`op`) from the worker owning the node `nodeOf` reads in the words (words it cannot parse: worker 0, which answers the same error). */
  private async lineEvents<A extends ControlAnswer>(s: ConntrackEventsSpec, op: { op: 'conntrackEvents' } | { op: 'monitor'; tool: MonitorTool }, nodeOf: () => string | undefined): Promise<{ a: A; handle: CaptureHandle }> {
    let node: string | undefined;
    try {
      node = nodeOf();
    } catch {
      node = undefined;
    }
    const w = node !== undefined && this.dp.assignment.has(node) ? this.dp.ownerOf(node) : 0;
    const cap = this.nextCapture++;
    const a = await this.dp.request<A>(w, { ...op, cap, argv: [...s.argv] }).catch((e: Error) => {
      throw new ControlError(`dpemu: ${e.message}`, 1, 503);
    });
    unwrap(a);
    return { a, handle: this.poll(w, cap, s.opts.congested, (p) => p.lines.length && s.deliver(p.lines), s.done) };
  }

  /** ping's socket in the worker that owns the node, what it reads polled as a capture's frames; each send a request to it. */
  async ping(s: PingSpec): Promise<PingSession> {
    const node = typeof s.open?.node === 'string' ? s.open.node : '';
    const w = this.dp.assignment.has(node) ? this.dp.ownerOf(node) : 0;
    const cap = this.nextCapture++;
    const a = await this.dp.request<PingAnswer>(w, { op: 'pingOpen', cap, open: s.open }).catch((e: Error) => {
      throw new ControlError(`dpemu: ${e.message}`, 1, 503);
    });
    unwrap(a);
    const h = this.poll(w, cap, s.opts.congested, (p) => p.ping.length && s.deliver(p.ping), s.done);
    return Object.assign(h, {
      source: a.source!,
      ident: a.ident!,
      ...(a.nobufs ? { nobufs: true } : {}),
      ...(a.device !== undefined && a.mac !== undefined ? { device: a.device, mac: a.mac } : {}),
      ...(a.scope !== undefined ? { scope: a.scope } : {}),
      send: (seq: number, ttl?: number, size?: number, to?: string) =>
        void this.dp.request(w, { op: 'pingSend', cap, seq, ...(ttl !== undefined ? { ttl } : {}), ...(size !== undefined ? { size } : {}), ...(to !== undefined ? { to } : {}) }).catch(() => {}),
    });
  }

  /** Fetches what capture `cap` took in worker `w` every POLL_MS until it is done, stopped, or the worker dies. */
  private poll(w: number, cap: number, congested: (() => boolean) | undefined, deliver: (p: CapturePoll) => unknown, done: () => void): CaptureHandle {
    const h = { captured: 0, dropped: 0, stopped: false, stop: () => {} };
    let polling = false;
    const end = (): void => {
      h.stopped = true;
      clearInterval(timer);
    };
    const poll = async (): Promise<void> => {
      // A reader that cannot keep up is not fed: the worker's queue fills and drops, counted, as in one process.
      if (polling || h.stopped || congested?.()) return;
      polling = true;
      try {
        const p = await this.dp.request<CapturePoll>(w, { op: 'capturePoll', cap });
        if (h.stopped) return;
        h.captured = p.captured;
        h.dropped = p.dropped;
        deliver(p);
        if (p.done) {
          end();
          done();
        }
      } catch {
        // The worker died (or the datapath stopped): the capture ends with what it had.
        if (!h.stopped) {
          end();
          done();
        }
      } finally {
        polling = false;
      }
    };
    const timer = setInterval(() => void poll(), POLL_MS);
    h.stop = () => {
      if (h.stopped) return;
      end();
      this.dp.request(w, { op: 'captureStop', cap }).catch(() => {});
    };
    return h;
  }
}

function unwrap(a: ControlAnswer): CommandResponse {
  if (a.error) throw new ControlError(a.error.message, a.error.exit, a.error.status);
  return a.response!;
}
