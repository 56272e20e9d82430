// `dpemu trace` in a datapath worker. The worker that owns the node injects
// the packet with a Tracer attached, as one emulator does; a traced frame
// that crosses the fabric to another worker carries the trace's id in its
// hand-off tag (layout.ts TRACE_SHIFT), and the worker that takes it runs it
// with its own Tracer for that trace and reports what it recorded to the
// supervisor, which joins the pieces into the one trace an emulator would
// have printed (remote-trace.ts, trace-merge.ts). A worker keeps a trace's
// Tracer until the supervisor ends the trace, so a packet it holds (waiting
// for ARP, say) and lets go in a later piece keeps its branch.
import { Tracer, type DeliveryKey, type TraceEvent } from '../datapath/trace.js';
import type { Packet } from '../datapath/packet.js';
import type { Port } from '../datapath/element.js';
import type { Emulator } from '../topology/builder.js';
import { injectPlanned, tracePlan } from '../control/trace-command.js';
import { ControlError } from '../control/protocol.js';

/** A traced frame this worker handed to worker `to` at a fabric side: its branch here and where its delivery stands. */
export interface Crossing {
  branch: number;
  key: DeliveryKey;
  to: number;
  /** The fabric element it left (node, element), for a trace that ends there. */
  node: string;
  element: string;
}

/** What a worker's Tracer for one trace recorded since its last piece (branch ids are the worker's own). */
export interface TracePiece {
  trace: number;
  /** This worker's pieces of the trace are numbered from 0. */
  seq: number;
  events: TraceEvent[];
  /** Injects, in order: each one's branch, and the worker whose crossing it continues (null: the packet the trace injected). */
  roots: { branch: number; from: number | null }[];
  births: [number, DeliveryKey][];
  crossings: Crossing[];
}

/** Worker -> supervisor, unasked: the piece a frame of a trace, handed over by another worker, made here. */
export interface TracePieceMessage {
  piece: TracePiece;
}

/** The answer to op 'trace'. */
export interface TraceAnswer {
  error?: { message: string; exit: number; status: number };
  /** Packets the words give (the supervisor asks for each in turn). */
  count: number;
  /** Where this one was injected (NODE:PORT). */
  at: string;
  piece?: TracePiece;
}

interface LiveTrace {
  tracer: Tracer;
  /** Per root of the tracer: the worker it came from (null: injected by op 'trace'). */
  from: (number | null)[];
  crossings: Crossing[];
  /** How much of each list earlier pieces carried. */
  sent: { pieces: number; events: number; roots: number; births: number; crossings: number };
}

export class WorkerTraces {
  private readonly live = new Map<number, LiveTrace>();
  /** The trace of the frame being run (0: none): a traced frame it hands over carries it. */
  current = 0;

  constructor(private readonly emu: Emulator) {}

  /** Op 'trace': inject packet `i` of the words, traced as `trace`. */
  start(trace: number, argv: readonly string[], i: number): TraceAnswer {
    try {
      const plan = tracePlan(this.emu, argv);
      const p = plan[i];
      if (!p) throw new Error(`trace: the words give ${plan.length} packets, not ${i + 1}`);
      const l = this.trace(trace);
      l.from.push(null);
      this.current = trace;
      try {
        injectPlanned(this.emu, p, l.tracer);
      } finally {
        this.current = 0;
      }
      return { count: plan.length, at: `${p.packet.node}:${p.packet.port}`, piece: this.piece(trace, l) };
    } catch (e) {
      if (e instanceof ControlError) return { error: { message: e.message, exit: e.exit, status: e.status }, count: 0, at: '' };
      throw e;
    }
  }

  /** A frame of trace `trace` came over the fabric from worker `from`: run it traced here, and answer what that recorded. */
  continued(trace: number, from: number, pkt: Packet, port: Port): TracePiece {
    const l = this.trace(trace);
    const engine = this.emu.engine;
    l.from.push(from);
    pkt.traceId = 0; // a branch of this tracer's (the supervisor maps it to the one that crossed)
    this.current = trace;
    engine.tracer = l.tracer;
    try {
      engine.inject(pkt, port);
    } finally {
      engine.tracer = null;
      this.current = 0;
    }
    return this.piece(trace, l);
  }

  /**
   * The traced frame `pkt` leaves at fabric side `port` for worker `to`
   * (sent: false when the hand-off was full and it was dropped). The engine
   * recorded it leaving the emulator there; it goes on in the other worker
   * instead, where the fabric's cable would have delivered it.
   */
  crossed(pkt: Packet, port: Port, to: number, sent: boolean): void {
    const l = this.live.get(this.current);
    if (!l) return;
    const tr = l.tracer, last = tr.events[tr.events.length - 1];
    if (last?.kind === 'edge' && last.branch === pkt.traceId) tr.events.pop();
    const node = port.element.node, element = port.element.name;
    if (sent) l.crossings.push({ branch: pkt.traceId, key: tr.handedOff(), to, node, element });
    else tr.add({ kind: 'drop', branch: pkt.traceId, node, element, reason: 'no_buffer', text: `the hand-off to datapath worker ${to} is full` });
  }

  /** Op 'traceEnd'. */
  end(trace: number): boolean {
    return this.live.delete(trace);
  }

  private trace(id: number): LiveTrace {
    let l = this.live.get(id);
    if (!l) this.live.set(id, (l = { tracer: new Tracer(), from: [], crossings: [], sent: { pieces: 0, events: 0, roots: 0, births: 0, crossings: 0 } }));
    return l;
  }

  private piece(trace: number, l: LiveTrace): TracePiece {
    const t = l.tracer, s = l.sent;
    const p: TracePiece = {
      trace,
      seq: s.pieces,
      events: t.events.slice(s.events),
      roots: t.roots.slice(s.roots).map((branch, k) => ({ branch, from: l.from[s.roots + k] ?? null })),
      births: t.births.slice(s.births),
      crossings: l.crossings.slice(s.crossings),
    };
    l.sent = { pieces: s.pieces + 1, events: t.events.length, roots: t.roots.length, births: t.births.length, crossings: l.crossings.length };
    return p;
  }
}
