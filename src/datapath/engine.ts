// The slow path: packets walk the element graph one hop at a time through a
// FIFO of (packet, arrival port). Elements call back into the engine to send,
// drop, consume, clone and allocate; the engine counts every hop and, when a
// Tracer is attached, records it.
//
// Frames injected together (beginBatch/endBatch: what a worker takes from a
// ring in one go) run element by element, as the kernel's NAPI poll and
// backlog do: the FIFO then holds the whole batch at its first element, then
// at the next, so each element's code and state stay hot in the CPU's caches
// across the batch (the seed path: about 28 % less CPU a packet at 64 than
// one frame at a time; docs/performance.md).
import { Element, Port, type EdgeSink, type LinkKind } from './element.js';
import { Packet, PacketPool } from './packet.js';
import type { Clock } from './clock.js';
import { ManualClock } from './clock.js';
import { Stats, PORT_COUNTERS, PC, allocDrops, dropIndex } from './stats.js';
import type { DropReason } from './drop-reasons.js';
import { Tracer } from './trace.js';
import { PathCache, PathRecorder, PATH_CACHE_CELLS, type PathEntry } from './path-cache.js';

/** Hops one packet may take before it is dropped as a loop (the kernel has no such thing; OVS limits recirculation similarly). */
export const MAX_HOPS = 256;

/** Frames a worker takes from one ring and runs as one batch (NAPI's default weight). */
export const BATCH = 64;

// Counter offsets as this module's constants: tsx (esbuild) compiles one file
// at a time, so an imported const enum stays an object lookup at every bump
// (bench/metrics-cost.ts: counters cost 8-9 % of the seed path's throughput
// that way, -1.0 to 1.3 % with these constants).
const RX_PACKETS = PC.RX_PACKETS, RX_BYTES = PC.RX_BYTES, TX_PACKETS = PC.TX_PACKETS, TX_BYTES = PC.TX_BYTES, TX_DROPPED = PC.TX_DROPPED;

/**
 * Sampled timing of the run loop (implemented by src/metrics/latency.ts).
 * The engine counts deliveries and injects down and times one in `every`:
 * performance.now() costs about 65 ns here, too much for every hop.
 */
export interface LatencyProbe {
  readonly every: number;
  /** Deliveries left until the next timed one; the engine decrements it. */
  hopLeft: number;
  /** Injects left until the next timed one. */
  injectLeft: number;
  /** `el.receive()` took `ms` (its own work: outputs only queue while the loop runs). */
  stage(el: Element, ms: number): void;
  /**
   * An inject at `port` and everything queued with or after it, to the
   * moment the loop was idle again, took `ms`: in a batch that is the rest
   * of the batch too, which is about when the frame's last output leaves.
   */
  pipeline(port: Port, ms: number): void;
}

export interface EngineOptions {
  pool?: PacketPool;
  clock?: Clock;
  stats?: Stats;
}

export class Engine {
  readonly pool: PacketPool;
  readonly clock: Clock;
  readonly stats: Stats;
  readonly elements: Element[] = [];
  readonly ports: Port[] = [];
  tracer: Tracer | null = null;
  /** Per-stage latency sampling; null (the default) costs one test per hop. */
  latency: LatencyProbe | null = null;
  /** Packets consumed by a local stack (not drops). */
  consumed = 0;
  /**
   * Whether elements may use their fast-path caches (OVS bridges' translation
   * cache, namespaces' forwarding cache); a tracer bypasses them anyway. On
   * by default (DPEMU_FASTPATH=0 turns it off): they give the slow path's
   * answers (the differential tests; every test passes both ways) for less
   * CPU per packet (docs/performance.md, pipeline).
   */
  fastpath = process.env.DPEMU_FASTPATH !== '0';
  /**
   * Whether injected frames may be served by the whole-path cache
   * (src/datapath/path-cache.ts) when `fastpath` is on; DPEMU_PATHCACHE=0
   * turns it off alone (A/B).
   */
  pathcache = process.env.DPEMU_PATHCACHE !== '0';
  /** The whole-path cache, made with the first frame it could serve. */
  path: PathCache | null = null;
  /** Set while a frame's pass is recorded for the path cache: elements add their ops to it (null: not recording). */
  recording: PathRecorder | null = null;
  private readonly recorder = new PathRecorder();
  /**
   * Moves whenever what the path cache's steady ops (PathOp.steady) and
   * ports read may have changed: a batch begins (control changes come
   * between batches), the element path or timers run, or stateChanged().
   * Within one generation and one `now` a shape checked open stays open.
   */
  generation = 0;
  /** The path cache's cells (allocated with the engine's, so both switch settings lay the cells out alike). */
  private readonly pathCells: number;

  // FIFO ring of pending deliveries; each packet is in it at most once.
  private readonly qPkt: (Packet | null)[];
  private readonly qPort: (Port | null)[];
  /**
   * Per Port.id, its element's receive() bound to it: the loop's call then
   * needs no lookup of `receive` on a dozen element classes (a megamorphic
   * load); 1.5 % less CPU a packet on the seed path.
   */
  private readonly rx: ((pkt: Packet, port: Port) => void)[] = [];
  private qHead = 0;
  private qLen = 0;
  private running = false;
  /** beginBatch() depth: injects only queue while above 0. */
  private held = 0;
  /** A sampled inject's start (-1: none) and port, reported when the loop is next idle. */
  private sampleT0 = -1;
  private samplePort: Port | null = null;
  // A timed passInline() delivery: its element (null: none), whether it is a sample of its own, its start; the delivery
  // the loop is timing (-1: none) and the time inline deliveries took within it, which is theirs, not its.
  private inlineEl: Element | null = null;
  private inlineSample = false;
  private inlineT0 = 0;
  private outerT0 = -1;
  private nestedMs = 0;

  constructor(opts: EngineOptions = {}) {
    this.pool = opts.pool ?? new PacketPool();
    this.clock = opts.clock ?? new ManualClock();
    this.stats = opts.stats ?? new Stats();
    this.qPkt = new Array(this.pool.slots).fill(null);
    this.qPort = new Array(this.pool.slots).fill(null);
    this.pathCells = this.stats.alloc(PATH_CACHE_CELLS, {});
  }

  get now(): number {
    return this.clock.now();
  }

  add<E extends Element>(el: E): E {
    if (this.elements.some((e) => e.node === el.node && e.name === el.name)) {
      throw new Error(`element ${el.node}:${el.name} already exists`);
    }
    el.engine = this;
    el.dropsBase = allocDrops(this.stats, { node: el.node, element: el.name, kind: el.kind });
    this.elements.push(el);
    return el;
  }

  /**
   * Takes an element whose ports are linked to nothing out of the engine
   * (ovs-vsctl del-br); its ports keep their numbers, and its counters' cells
   * are retired (no longer exported) and given back, for the next element's.
   */
  remove(el: Element): void {
    if (el.ports.some((p) => p.peer || p.edge)) throw new Error(`element ${el.node}:${el.name} is linked`);
    this.elements.splice(this.elements.indexOf(el), 1);
    this.stats.retire({ node: el.node, element: el.name });
    this.stats.release({ node: el.node, element: el.name });
  }

  addPort(el: Element, name: string): Port {
    const port = new Port(this.ports.length, el, el.ports.length, name);
    this.allocPortCells(port);
    el.ports.push(port);
    this.ports.push(port);
    this.rx.push(el.receive.bind(el));
    el.portAdded(port);
    return port;
  }

  /** A port's counter cells, from 0 (a new port's, or a new device's behind a port whose cells were given back). */
  allocPortCells(port: Port): void {
    const el = port.element;
    port.statsBase = this.stats.alloc(PORT_COUNTERS, { node: el.node, element: el.name, kind: el.kind, port: port.name });
  }

  /** Join two ports like a cable, veth pair, patch pair or internal port. */
  link(a: Port, b: Port, kind: LinkKind): void {
    if (a.peer || b.peer) throw new Error(`port ${a.peer ? a.path : b.path} is already linked`);
    a.peer = b;
    b.peer = a;
    a.linkKind = b.linkKind = kind;
  }

  attachEdge(port: Port, sink: EdgeSink): void {
    if (port.peer) throw new Error(`port ${port.path} is linked; an edge must be free`);
    port.edge = sink;
  }

  element(node: string, name: string): Element | undefined {
    return this.elements.find((e) => e.node === node && e.name === name);
  }

  // ---- called by elements ------------------------------------------------

  /** Send `pkt` out of `port`; ownership passes to the engine. */
  output(pkt: Packet, port: Port): void {
    pkt.moves++;
    const v = this.stats.v;
    if (!port.up) {
      v[port.statsBase + TX_DROPPED]!++;
      // A flood's copy out of a down port (br-int's LOCAL) is a step the path cache can replay: its counters.
      if (this.recording !== null) this.recording.downDrop(port);
      this.discard(pkt, port.element, 'port_down', `${port.name} is down`);
      return;
    }
    v[port.statsBase + TX_PACKETS]!++;
    v[port.statsBase + TX_BYTES]! += pkt.len;
    if (port.taps.length) for (const t of port.taps) t(pkt, port, 'out');
    const tr = this.tracer;
    const peer = port.peer;
    const rec = this.recording;
    if (rec !== null) {
      rec.port(port);
      if (peer === null && port.edge) rec.left(pkt, port);
    }
    if (tr && pkt.traceId) {
      tr.add({ kind: 'out', branch: pkt.traceId, node: port.element.node, element: port.element.name, port: port.name, frame: pkt.bytes() });
      if (peer) tr.queued();
    }
    if (peer) {
      this.enqueue(pkt, peer);
    } else if (port.edge) {
      if (tr && pkt.traceId) {
        tr.add({ kind: 'edge', branch: pkt.traceId, node: port.element.node, element: port.element.name, port: port.name, frame: pkt.bytes() });
      }
      port.edge.emit(pkt, port);
      this.pool.free(pkt);
    } else {
      this.drop(pkt, port.element, 'no_carrier');
    }
  }

  /**
   * Whether passInline() may take `pkt` out of `port` now: nothing queued
   * on the link would be overtaken (OVS translates through a patch port at
   * once, whatever other packets wait), and no tap or tracer sees the hop.
   */
  inlineOk(port: Port): boolean {
    const peer = port.peer;
    return this.tracer === null && peer !== null && peer.queued === 0 && port.taps.length === 0 && peer.taps.length === 0;
  }

  /**
   * output() to a linked port and the loop's delivery at its peer, counted
   * the same but without queueing, for a fast path that goes on there itself
   * (OVS translations through patch ports, src/ofproto/execute.ts). Only
   * where inlineOk(port). Returns the port it arrived at, null if dropped;
   * then call inlineDone() when the element there is done with the packet.
   */
  passInline(pkt: Packet, port: Port): Port | null {
    pkt.moves++;
    const v = this.stats.v;
    if (!port.up) {
      v[port.statsBase + TX_DROPPED]!++;
      this.drop(pkt, port.element, 'port_down', `${port.name} is down`);
      return null;
    }
    v[port.statsBase + TX_PACKETS]!++;
    v[port.statsBase + TX_BYTES]! += pkt.len;
    const peer = port.peer!;
    if (!peer.up) {
      this.drop(pkt, peer.element, 'port_down');
      return null;
    }
    v[peer.statsBase + RX_PACKETS]!++;
    v[peer.statsBase + RX_BYTES]! += pkt.len;
    const rec = this.recording;
    if (rec !== null) {
      rec.hops++;
      rec.port(port);
      rec.port(peer);
    }
    if (++pkt.hops > MAX_HOPS) {
      this.drop(pkt, peer.element, 'loop');
      return null;
    }
    const lp = this.latency;
    this.inlineEl = null;
    if (lp !== null) {
      const sample = --lp.hopLeft <= 0;
      if (sample) lp.hopLeft = lp.every;
      if (sample || this.outerT0 >= 0) {
        this.inlineEl = peer.element;
        this.inlineSample = sample;
        this.inlineT0 = performance.now();
      }
    }
    return peer;
  }

  /**
   * The element passInline() delivered to is done with the packet: its
   * stage is timed when this delivery is sampled, and its time left out of
   * the sending element's when that one is.
   */
  inlineDone(): void {
    const el = this.inlineEl;
    if (el === null) return;
    this.inlineEl = null;
    const ms = performance.now() - this.inlineT0;
    if (this.inlineSample) this.latency!.stage(el, ms);
    this.nestedMs += ms;
  }

  /**
   * A frame arrives from outside the emulator at `port` (a TAP read, a
   * test). It runs to completion now, or with its batch at endBatch().
   */
  inject(pkt: Packet, port: Port): void {
    if (this.tracer) pkt.traceId = this.tracer.injected(pkt.traceId);
    // The path cache only while nothing waits in the queue: no frame overtakes another (a frame of the batch
    // that takes the element path holds the rest of it there too, in order).
    else if (this.qLen === 0 && !this.running && this.fastpath && this.pathcache && port.up && port.taps.length === 0) {
      const pc = (this.path ??= new PathCache(this.stats, this.pathCells));
      const now = this.now;
      // In a batch no control change comes between frames: a shape found open stays so while the generation stays.
      const e = pc.lookup(pkt, port, now, this.held > 0 ? this.generation : -1);
      if (e !== null) {
        if (this.serve(pc, e, pkt, port, now)) return;
      } else if (pc.shouldRecord && this.recordable()) {
        pkt.keyHint = -1;
        pkt.csumGood = 0;
        this.recordPass(pc, pkt, port);
        return;
      }
    }
    // What came with the frame (its key hint, its checksums' verdict) was for lookup(): the element path may change the
    // frame, so a hand-off it reaches works both out again (a hit sets them for its output: PathCache.rewrite).
    pkt.keyHint = -1;
    pkt.csumGood = 0;
    const lp = this.latency;
    if (lp !== null && !this.running && --lp.injectLeft <= 0) {
      lp.injectLeft = lp.every;
      if (this.sampleT0 < 0) {
        this.sampleT0 = performance.now();
        this.samplePort = port;
      }
    }
    this.enqueue(pkt, port);
  }

  /**
   * A path cache hit: side effects, the frame rewritten and out at the entry's
   * edge; false if it must take the element path. A hit runs no element, so
   * it gives the stage histograms nothing (they sample the element path) and
   * its hops do not count towards their next sample; a sampled inject times
   * the hit as its pipeline latency. Taking sampled frames to the element
   * path instead held the rest of their batch there (a batch's frames queue
   * behind the first that misses): about one frame in 20 on the seed path.
   */
  private serve(pc: PathCache, e: PathEntry, pkt: Packet, port: Port, now: number): boolean {
    const sh = e.shape, out = sh.out, edge = out.edge;
    // A flood's copies (dropped at down ports): the element path clones them, and counts no_buffer instead without slots.
    if (edge === null || out.peer !== null || sh.clones > this.pool.available) return false;
    const lp = this.latency;
    const t0 = lp !== null && lp.injectLeft <= 1 ? performance.now() : -1;
    if (!pc.rewrite(e, pkt, this.pool.slotSize)) return false;
    if (lp !== null && --lp.injectLeft <= 0) lp.injectLeft = lp.every;
    pc.hit(e, now);
    pkt.moves++;
    edge.emit(pkt, out);
    this.pool.free(pkt);
    if (t0 >= 0) lp!.pipeline(port, performance.now() - t0);
    return true;
  }

  /** A path cache hit changed what another flow's steady op reads (PathOp.steady): the next hits check in full. */
  stateChanged(): void {
    this.generation++;
  }

  /** The recorded pass's inject is not a timed one (a timed hop in it, below, is not kept either: its cells would be taken for the path's). */
  private recordable(): boolean {
    const lp = this.latency;
    return lp === null || lp.injectLeft > 1;
  }

  /** The frame's element path, alone and now (nothing else is queued), recorded into the path cache. */
  private recordPass(pc: PathCache, pkt: Packet, port: Port): void {
    const rec = this.recorder;
    rec.reset();
    rec.outerIn = pc.vxlanKey();
    const input = pkt.bytes();
    pc.begin();
    this.recording = rec;
    const lp = this.latency, hopLeft = lp === null ? 0 : lp.hopLeft;
    try {
      if (lp !== null) lp.injectLeft--;
      this.enqueue(pkt, port);
      this.run();
    } finally {
      this.recording = null;
    }
    if (lp !== null && lp.hopLeft !== hopLeft - rec.hops) rec.fail(); // a hop was timed
    pc.record(rec, input, port);
  }

  /** Injects from here to endBatch() wait, then run together, element by element. */
  beginBatch(): void {
    this.held++;
  }

  /** Run what was injected since beginBatch() (call it in a finally: a held engine runs nothing). */
  endBatch(): void {
    if (--this.held === 0) this.run();
  }

  drop(pkt: Packet, el: Element, reason: DropReason, text?: string): void {
    if (this.recording !== null) this.recording.fail();
    this.discard(pkt, el, reason, text);
  }

  /** drop() that leaves a recording pass to the caller (output() tells it a copy ended at a down port). */
  private discard(pkt: Packet, el: Element, reason: DropReason, text?: string): void {
    pkt.moves++;
    this.stats.v[dropIndex(el.dropsBase, reason)]!++;
    const tr = this.tracer;
    if (tr && pkt.traceId) {
      tr.add(text === undefined
        ? { kind: 'drop', branch: pkt.traceId, node: el.node, element: el.name, reason }
        : { kind: 'drop', branch: pkt.traceId, node: el.node, element: el.name, reason, text });
    }
    this.pool.free(pkt);
  }

  /** The packet ends at a local stack of `el` (an echo request answered, an ARP reply learned). */
  consume(pkt: Packet, el: Element, text: string): void {
    pkt.moves++;
    if (this.recording !== null) this.recording.fail();
    this.consumed++;
    const tr = this.tracer;
    if (tr && pkt.traceId) tr.add({ kind: 'consume', branch: pkt.traceId, node: el.node, element: el.name, text });
    this.pool.free(pkt);
  }

  /** Record a decision for the trace (cheap no-op when not tracing). */
  note(pkt: Packet, el: Element, text: string, detail?: Record<string, unknown>): void {
    const tr = this.tracer;
    if (!tr || !pkt.traceId) return;
    tr.add(detail === undefined
      ? { kind: 'note', branch: pkt.traceId, node: el.node, element: el.name, text }
      : { kind: 'note', branch: pkt.traceId, node: el.node, element: el.name, text, detail });
  }

  get tracing(): boolean {
    return this.tracer !== null;
  }

  /** A copy of `pkt` (a flood copy); a traced copy starts its own branch. */
  clone(pkt: Packet, el: Element, cause: string): Packet | null {
    const c = this.pool.clone(pkt);
    if (!c) {
      if (this.recording !== null) this.recording.fail();
      this.stats.v[dropIndex(el.dropsBase, 'no_buffer')]!++;
      return null;
    }
    if (this.recording !== null) this.recording.cloned();
    this.branchFrom(c, pkt, el, cause);
    return c;
  }

  /** A new, empty packet created by `el` because of `parent` (ARP request, ICMP error, reply). */
  alloc(parent: Packet | null, el: Element, cause: string): Packet | null {
    if (this.recording !== null) this.recording.fail();
    const p = this.pool.alloc();
    if (!p) {
      this.stats.v[dropIndex(el.dropsBase, 'no_buffer')]!++;
      return null;
    }
    if (parent) {
      p.stamp = parent.stamp; // made because of it: timed from its read
      this.branchFrom(p, parent, el, cause);
    }
    return p;
  }

  private branchFrom(child: Packet, parent: Packet, el: Element, cause: string): void {
    const tr = this.tracer;
    if (!tr || !parent.traceId) {
      child.traceId = 0;
      return;
    }
    child.traceId = tr.newBranch();
    tr.add({ kind: 'branch', branch: child.traceId, parent: parent.traceId, node: el.node, element: el.name, cause });
  }

  // ---- the loop ----------------------------------------------------------

  private enqueue(pkt: Packet, port: Port): void {
    const n = this.qPkt.length;
    const i = (this.qHead + this.qLen) % n;
    this.qPkt[i] = pkt;
    this.qPort[i] = port;
    this.qLen++;
    port.queued++;
    if (!this.running && this.held === 0) this.run();
  }

  /** Deliver queued packets until none is left. Re-entrant calls just queue. */
  run(): void {
    if (this.running) return;
    this.running = true;
    this.generation++; // elements may change what the path cache's ops read
    const v = this.stats.v;
    const n = this.qPkt.length;
    try {
      while (this.qLen > 0) {
        const pkt = this.qPkt[this.qHead]!;
        const port = this.qPort[this.qHead]!;
        this.qPkt[this.qHead] = null;
        this.qPort[this.qHead] = null;
        this.qHead = (this.qHead + 1) % n;
        this.qLen--;
        port.queued--;
        const el = port.element;
        const tr = this.tracer;
        if (tr && pkt.traceId) tr.delivering();
        if (!port.up) {
          this.drop(pkt, el, 'port_down');
          continue;
        }
        v[port.statsBase + RX_PACKETS]!++;
        v[port.statsBase + RX_BYTES]! += pkt.len;
        const rec = this.recording;
        if (rec !== null) {
          rec.hops++;
          rec.port(port);
        }
        if (port.taps.length) for (const t of port.taps) t(pkt, port, 'in');
        if (tr && pkt.traceId) {
          tr.add({ kind: 'in', branch: pkt.traceId, node: el.node, element: el.name, port: port.name, frame: pkt.bytes() });
        }
        if (++pkt.hops > MAX_HOPS) {
          this.drop(pkt, el, 'loop');
          continue;
        }
        const lp = this.latency;
        let t0 = -1;
        if (lp !== null && --lp.hopLeft <= 0) {
          lp.hopLeft = lp.every;
          this.nestedMs = 0;
          this.outerT0 = t0 = performance.now();
        }
        const moves = pkt.moves;
        try {
          this.rx[port.id]!(pkt, port);
        } catch (err) {
          // A bug in an element must not take the worker down: count it, and
          // free the packet unless the element had already passed it on. (One
          // it holds, e.g. on an unresolved neighbour, cannot be told apart.)
          if (pkt.moves === moves) this.drop(pkt, el, 'internal_error', String(err));
          else this.stats.v[dropIndex(el.dropsBase, 'internal_error')]!++;
          if (process.env.DPEMU_DEBUG) console.error(err);
        }
        if (t0 >= 0) {
          this.outerT0 = -1;
          lp!.stage(el, performance.now() - t0 - this.nestedMs);
        }
      }
      if (this.sampleT0 >= 0) {
        this.latency?.pipeline(this.samplePort!, performance.now() - this.sampleT0);
        this.sampleT0 = -1;
        this.samplePort = null;
      }
    } finally {
      this.running = false;
    }
  }

  /** Advance every element's timers to `now`. */
  tick(): void {
    const now = this.now;
    for (const el of this.elements) el.tick(now);
    this.run();
  }

  dropCount(el: Element, reason: DropReason): number {
    return this.stats.v[dropIndex(el.dropsBase, reason)]!;
  }
}
