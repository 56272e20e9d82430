// One datapath worker: it builds only its nodes of the topology and owns
// their state outright, so both directions of a connection and both ends of
// a learning exchange are handled here, with no locks and no shared tables
// (conntrack tables, and a journal of what its elements learned, are in
// shared memory only so that they outlive the thread: the supervisor keeps
// them for a successor, see supervisor.ts).
// Frames reach it through hand-off channels (src/datapath/handoff.ts): from
// the supervisor at edge ports, and from other workers at the fabric, which
// stands in every worker: a fabric side whose node lives elsewhere is a port
// whose edge sink copies the routed frame (MAC rewrite and TTL already done,
// as the fabric does them) to the owning worker; that worker injects it at
// the node's NIC, where the fabric's cable would have delivered it.
//
// A frame of a `dpemu trace` carries the trace's id in its fabric tag, and
// the worker that takes it traces it on (worker-trace.ts).
//
// The loop runs what it takes from each channel (up to BATCH frames) as one
// engine batch, element by element, then sleeps on its bell word when all
// are empty.
//
// Under the daemon, TAPs at its edges feed it directly: each TAP's rx thread
// reads into slots lent on its own channel, and frames leaving at a TAP edge
// are written to the TAP's descriptor here (TapOut), with the TAP's counters
// and read-to-write histogram in the daemon's Stats. A frame's read stamp
// travels with it across the fabric (HandoffSpec.stamps).
import { receiveMessageOnPort } from 'node:worker_threads';
import { readFileSync, writeSync } from 'node:fs';
import { loadTopologyOrThrow } from '../topology/loader.js';
import { buildEmulator, conntrackKey } from '../topology/builder.js';
import { warmUp } from '../topology/warm-up.js';
import { Fabric } from '../tunnel/fabric.js';
import { NetNamespace } from '../netns/namespace.js';
import { conntrackList, type CtStoreBuffers } from '../netfilter/index.js';
import { Handoff, sentChecksumsGood, sentKeyHint } from '../datapath/handoff.js';
import { CSUM_ALL, PacketPool, type Packet } from '../datapath/packet.js';
import { ManualClock, type Clock } from '../datapath/clock.js';
import { dropIndex } from '../datapath/stats.js';
import type { EdgeSink, Port } from '../datapath/element.js';
import { BATCH, type Engine } from '../datapath/engine.js';
import { parseMacNum, parseIpv4 } from '../wire/addr.js';
import { observeNs } from '../metrics/histogram.js';
import { LINK, TS, monoMs } from '../io/tap-shared.js';
import { makeRealtime } from '../io/realtime.js';
import { CSUM_GOOD, CTL, CTL_WORDS, HOP_BITS, TRACE_SHIFT, TRACED, WC, WORKER_COUNTER_STRIDE, WORKER_COUNTERS, type ChannelSpec, type KeptTables, type RealtimeMessage, type ReplayedMessage, type WarmedUpMessage, type WorkerAnswer, type WorkerAnswers, type WorkerInit, type WorkerRequest } from './layout.js';
import { WorkerControl } from './worker-control.js';
import { LearnedKeepers } from './learned-keepers.js';
import { WorkerTraces, type TracePieceMessage } from './worker-trace.js';

/** How long an idle worker sleeps before it looks at timers and messages again. */
const NAP_MS = 50;
/** Element timers (ageing, ARP, conntrack) run this often. */
const TICK_MS = 100;

const channel = (c: ChannelSpec): Handoff => Handoff.of(c);

/** A channel this worker consumes: the slots it lends, by slot number. */
class Inbound {
  /** Slots the producer may still be given. */
  owed: number;
  constructor(
    readonly ch: Handoff,
    /** Its producer stamps each frame (a TAP's read time, or the one it carried across the fabric). */
    readonly stamped: boolean,
    /** LINK words of a TAP's rx thread, which may sleep waiting for slots: wake it after lending if it says it waits. */
    readonly rxLink: Int32Array | null = null,
    /** The worker at the other end of a fabric channel (-1: the supervisor or a TAP). */
    readonly peer = -1,
  ) {
    this.owed = ch.capacity;
  }
}

export function runWorker(init: WorkerInit): void {
  const rtError = init.rtPriority ? makeRealtime(init.rtPriority) : null;
  if (rtError) init.port.postMessage({ rtError } satisfies RealtimeMessage);
  const ctl = new Int32Array(init.ctl);
  const base = init.index * CTL_WORDS;
  const wc = new Float64Array(init.counters, init.index * WORKER_COUNTER_STRIDE * 8, WORKER_COUNTERS.length);
  const t = loadTopologyOrThrow(init.file);
  if (init.warmUpMs > 0) init.port.postMessage({ warmedUp: warmUp(t, init.warmUpMs) } satisfies WarmedUpMessage);
  const owner = new Map(init.owner);
  // The wall clock is read once per batch, not at every hop that asks for
  // the time (several per frame: performance.now() and the timeOrigin getter
  // were 11-15 % of a worker's profile); frames of one batch share its
  // timestamp, as they share the daemon's (io.batchNow).
  const wall = init.clock !== 'manual';
  const shift = init.clock === 'manual' ? 0 : performance.timeOrigin - init.clock; // worker clock -> supervisor's
  let batchNow = performance.now() + shift;
  const clock: Clock = wall ? { now: () => batchNow } : new ManualClock();
  const pool = new PacketPool(init.slots, init.slotSize, init.slab);
  const slab32 = new Int32Array(init.slab), slab8 = new Uint8Array(init.slab);
  const stamps = new Float64Array(init.stamps);
  const emu = buildEmulator(t, { pool, clock, nodes: init.nodes, gateways: init.gateways, conntrackTables: new Map(init.conntrack) });
  const engine = emu.engine;
  const traces = new WorkerTraces(emu);

  // ---- conntrack kept by the supervisor -------------------------------------------
  // Tables live in SharedArrayBuffers: the supervisor keeps a reference and
  // hands them to this worker's successor, so connections (and their NAT
  // bindings) outlive the thread. Kept, not shared: nobody else touches them
  // while this worker lives, so they take no lock.
  const namespaces = engine.elements.filter((e): e is NetNamespace => e instanceof NetNamespace);
  const kept = new Map<string, CtStoreBuffers>();
  /** Post tables that track and are new to the supervisor or moved (a grow reallocates them). */
  const keep = (): void => {
    let out: KeptTables | null = null;
    for (const ns of namespaces) {
      if (!ns.nf.tracking) continue;
      const key = conntrackKey(ns.node, ns.name), b = ns.nf.conntrack.keptBuffers;
      if (kept.get(key) === b) continue;
      kept.set(key, b);
      (out ??= { tables: [] }).tables.push([key, b]);
    }
    if (out) init.port.postMessage(out);
  };

  // ---- learned state kept by the supervisor ---------------------------------------
  // fdb entries, neighbours and learned flows are journaled as they change
  // (src/datapath/learned-journal.ts); the supervisor reads the journal into
  // its mirror, even after this thread died, and a successor restores them.
  const learned = new LearnedKeepers(engine, init.journal);

  /** Set once a reload took this worker's tables (op 'handover'): from then on it only waits to be stopped. */
  let handedOver = false;

  // ---- outbound: the fabric sides of other workers' nodes --------------------
  const outbound = init.outbound.map((c) => (c ? channel(c) : null));
  const pending = new Uint8Array(outbound.length); // pushed since the consumer was last rung
  const sideNic: (Port | null)[] = [];
  const fab = t.fabric ? (engine.elements.find((e) => e instanceof Fabric && e.name === t.fabric!.name) as Fabric | undefined) : undefined;
  if (t.fabric && fab) {
    if (t.fabric.sides.length > CSUM_GOOD >>> HOP_BITS) throw new Error(`a fabric of ${t.fabric.sides.length} sides does not fit the hand-off tag`);
    t.fabric.sides.forEach((s, side) => {
      const w = owner.get(s.node)!;
      if (w === init.index) {
        sideNic[side] = fab.port(s.port)?.peer ?? null;
        return;
      }
      sideNic[side] = null;
      const port = engine.addPort(fab, s.port);
      fab.attach(port, parseMacNum(s.mac)!, parseIpv4(s.nicIp)!, parseMacNum(s.nicMac)!);
      engine.attachEdge(port, new HandoffSink(engine, outbound, w, slab32, side << HOP_BITS, wc, pending, traces));
    });
  }

  // ---- edges ------------------------------------------------------------------
  const egress = channel(init.egress);
  const edgeFrames = new Float64Array(init.edgeFrames);
  const stats = init.stats ? new Float64Array(init.stats) : null;
  const tapDown = new Int32Array(init.tapDown);
  const edgePorts: (Port | null)[] = t.edges.map((e, id) => {
    if (owner.get(e.port.node) !== init.index) return null;
    const p = engine.element(e.port.node, e.port.element)?.port(e.port.port) ?? null;
    if (!p || p.peer || p.edge) return p;
    const tap = init.taps.find((x) => x.edge === id);
    engine.attachEdge(p, tap && stats ? new TapOut(tap.fd, stats, tap.tapCell, tap.e2eCell, tapDown, id, wc, edgeFrames) : new EdgeOut(engine, init.collect ? egress : null, slab32, id, wc, edgeFrames));
    return p;
  });

  // ---- inbound ------------------------------------------------------------------
  const lent: (Packet | null)[] = new Array(init.slots).fill(null);
  /** What PathCache.warmEntries() read (kept, so that its loads are). */
  let warmed = 0;
  const fabricIn = init.inbound.map((c, p) => (c ? new Inbound(channel(c), true, null, p) : null));
  const ingress = new Inbound(channel(init.ingress), false);
  const tapIn = init.taps.map((x) => new Inbound(channel(x.channel), true, new Int32Array(x.link)));
  let inbound = [ingress, ...tapIn, ...fabricIn.filter((x): x is Inbound => x !== null)];

  const lend = (ib: Inbound): void => {
    lendSlots(ib);
    if (ib.rxLink !== null && Atomics.load(ib.rxLink, LINK.RX_WAITING) !== 0) ib.ch.free.notifyConsumer();
  };
  const lendSlots = (ib: Inbound): void => {
    while (ib.owed > 0) {
      const p = pool.alloc();
      if (!p) break; // the slab is busy: lend the rest on a later round
      lent[p.slot] = p;
      ib.ch.lendLater(p.slot);
      ib.owed--;
    }
    ib.ch.publishLent();
  };

  /**
   * Take up to BATCH frames from `ib` and run them as one batch
   * (Engine.beginBatch). Their ring entries are released after the batch
   * ran and what it sent on was published: an empty ring then means nothing
   * of it is still being worked on (the supervisor's settle()).
   */
  const drain = (ib: Inbound, fromFabric: boolean): number => {
    const data = ib.ch.data, w = data.words;
    let n = 0;
    const pc = fromFabric ? engine.path : null;
    if (pc !== null) {
      // The batch's frames (written on the sender's core) and path cache entries first, by the sender's key
      // hints: their cache misses overlap instead of stalling each hit in turn (PathCache.warmSlot).
      let sum = 0;
      for (let k = 0; k < BATCH; k++) {
        const i = data.peekAt(k);
        if (i < 0) break;
        const at = w[i]!, end = at + w[i + 1]!, hint = w[i + 3]!, port = sideNic[(w[i + 2]! & (CSUM_GOOD - 1)) >>> HOP_BITS];
        for (let x = at; x < end; x += 64) sum += slab8[x]!;
        if (hint >= 0 && port) pc.warmSlot(hint, port);
      }
      warmed = (warmed + sum + pc.warmEntries()) | 0;
    }
    engine.beginBatch();
    try {
      while (n < BATCH) {
        const i = data.peekAt(n);
        if (i < 0) break;
        n++; // taken: released with the batch
        const at = w[i]!, len = w[i + 1]!, tag = w[i + 2]!;
        const slot = ib.ch.slotOf(at);
        const pkt = lent[slot]!;
        lent[slot] = null;
        ib.owed++;
        pkt.off = at;
        pkt.len = len;
        const port = fromFabric ? sideNic[(tag & (CSUM_GOOD - 1)) >>> HOP_BITS] : edgePorts[tag];
        if (fromFabric) {
          pkt.hops = tag & ((1 << HOP_BITS) - 1);
          pkt.csumGood = (tag & CSUM_GOOD) === 0 ? 0 : CSUM_ALL;
          pkt.keyHint = w[i + 3]!;
        }
        pkt.stamp = ib.stamped ? stamps[slot]! : 0;
        if (!port) pool.free(pkt); // cannot happen with a consistent layout
        else if (tag < TRACED) engine.inject(pkt, port);
        else {
          // A trace's frame runs alone, traced, after what came before it in the batch.
          engine.endBatch();
          try {
            init.port.postMessage({ piece: traces.continued(tag >>> TRACE_SHIFT, ib.peer, pkt, port) } satisfies TracePieceMessage);
          } finally {
            engine.beginBatch();
          }
        }
      }
    } finally {
      engine.endBatch();
      publishSent(); // before the batch's entries go: an empty ring still means nothing in flight
      if (n > 0) data.release(n);
    }
    if (fromFabric) wc[WC.HANDOFF_IN]! += n;
    return n;
  };

  // ---- replay (a traffic source at an edge, for benchmarks) --------------------
  let replay: { port: Port; frames: Uint8Array[]; batch: number; next: number } | null = null;
  /** Back-pressure instead of loss: a replay sends only what every hand-off can take. */
  const replayRoom = (): boolean => {
    for (const ch of outbound) if (ch && ch.lendable < replay!.batch) return false;
    return true;
  };
  const replayStep = (): number => {
    const r = replay!;
    if (!replayRoom()) return 0;
    const frames = r.frames, nf = frames.length;
    let j = r.next, n = 0;
    engine.beginBatch(); // as frames taken from a TAP's ring run
    try {
      for (; n < r.batch; n++) {
        const p = pool.allocFrom(frames[j]!);
        if (!p) break;
        engine.inject(p, r.port);
        if (++j === nf) j = 0;
      }
    } finally {
      engine.endBatch();
    }
    r.next = j;
    wc[WC.REPLAYED]! += n;
    return n;
  };

  const answer = (m: WorkerRequest): unknown => {
    switch (m.op) {
      case 'conntrack': {
        const ns = engine.element(m.node, m.ns);
        if (!(ns instanceof NetNamespace)) throw new Error(`no namespace ${m.ns} on ${m.node} in worker ${init.index}`);
        return conntrackList(ns.nf.conntrack, engine.now);
      }
      case 'drops': {
        const out: Record<string, number> = {};
        engine.stats.desc.forEach((d, i) => {
          const v = engine.stats.v[i]!;
          if (d.name === 'drops' && v) out[`${d.labels.node}:${d.labels.element}:${d.labels.reason}`] = v;
        });
        return out;
      }
      case 'replay': {
        const port = edgePorts[m.edge];
        if (!port) throw new Error(`edge ${m.edge} is not owned by worker ${init.index}`);
        replay = { port, frames: m.frames, batch: m.batch, next: 0 };
        return true;
      }
      case 'cpu':
        return threadCpuSeconds();
      case 'replayStop':
        replay = null;
        return true;
      case 'rewire': {
        outbound[m.peer] = channel(m.outbound);
        const old = fabricIn[m.peer]!;
        while (drain(old, true) > 0); // what the dead worker sent before it died still arrives
        for (let s = old.ch.free.shift(); s >= 0; s = old.ch.free.shift()) {
          pool.free(lent[s]!);
          lent[s] = null;
        }
        // Slots it took for frames it never published are still there (it frees their entries as it publishes).
        const ib = new Inbound(channel(m.inbound), true, null, m.peer);
        fabricIn[m.peer] = ib;
        inbound = [ingress, ...tapIn, ...fabricIn.filter((x): x is Inbound => x !== null)];
        lend(ib);
        return true;
      }
      case 'control':
        return control.command(m.family, m.argv);
      case 'flowSnapshot':
        return control.flowSnapshot(m.node, m.bridge);
      case 'trace':
        return traces.start(m.trace, m.argv, m.packet);
      case 'traceEnd':
        return traces.end(m.trace);
      case 'metrics':
        return control.metrics(m.flows, m.sampleEvery);
      case 'capture':
        return control.captureStart(m.cap, m.iface, m.filter, { count: m.count, snaplen: m.snaplen });
      case 'conntrackEvents':
        return control.conntrackEventsStart(m.cap, m.argv);
      case 'monitor':
        return control.monitorStart(m.cap, m.tool, m.argv);
      case 'pingOpen':
        return control.pingOpen(m.cap, m.open);
      case 'pingSend':
        return control.pingSend(m.cap, m.seq, m.ttl, m.size, m.to);
      case 'capturePoll':
        return control.capturePoll(m.cap);
      case 'captureStop':
        return control.captureStop(m.cap);
      case 'handover': {
        handedOver = true;
        learned.journalAll();
        keep();
        return [...kept];
      }
      case 'adopt':
        throw new Error('adopt: this worker is already forwarding');
    }
  };
  const control = new WorkerControl(emu);
  const reply = (m: WorkerRequest): WorkerAnswer => {
    try {
      return { id: m.id, result: answer(m) };
    } catch (e) {
      return { id: m.id, error: String((e as Error).message ?? e) };
    }
  };
  // Control commands found together are answered in one message, in order:
  // one wake of the supervisor's thread for all (a post per answer was a
  // third of the worker's wall time under pipelined churn). Any other request
  // is answered alone and after them, and what it posts itself follows them.
  let answers: WorkerAnswer[] = [];
  const flush = (): void => {
    if (answers.length === 0) return;
    init.port.postMessage(answers.length === 1 ? answers[0] : ({ answers } satisfies WorkerAnswers));
    answers = [];
  };
  const messages = (): number => {
    let n = 0;
    for (let msg = receiveMessageOnPort(init.port); msg; msg = receiveMessageOnPort(init.port), n++) {
      const m = msg.message as WorkerRequest;
      if (m.op === 'control') {
        answers.push(reply(m));
        continue;
      }
      flush();
      init.port.postMessage(reply(m));
    }
    flush();
    return n;
  };

  /** Publish what this round sent worker `w` (Handoff.sendLater), and wake it if it sleeps. */
  const ring = (w: number): void => {
    pending[w] = 0;
    outbound[w]?.flush();
    const b = w * CTL_WORDS;
    if (Atomics.load(ctl, b + CTL.SLEEPING) === 1) {
      Atomics.add(ctl, b + CTL.BELL, 1);
      Atomics.notify(ctl, b + CTL.BELL);
    }
  };
  /** ring() every worker this thread sent frames since it last did. */
  const publishSent = (): void => {
    for (let w = 0; w < pending.length; w++) if (pending[w]) ring(w);
  };
  const allEmpty = (): boolean => {
    for (const ib of inbound) if (!ib.ch.data.empty) return false;
    return true;
  };

  for (const ib of inbound) lend(ib);
  if (init.adoptFirst) {
    // Built while the datapath this one replaces still forwards with the tables: wait for them.
    Atomics.store(ctl, base + CTL.RUNNING, 1);
    for (;;) {
      if (Atomics.load(ctl, base + CTL.STOP) !== 0) {
        Atomics.store(ctl, base + CTL.RUNNING, 0);
        init.port.close();
        return;
      }
      const bell = Atomics.load(ctl, base + CTL.BELL);
      const msg = receiveMessageOnPort(init.port);
      if (!msg) {
        Atomics.wait(ctl, base + CTL.BELL, bell, NAP_MS);
        continue;
      }
      const m = msg.message as WorkerRequest;
      if (m.op !== 'adopt') {
        init.port.postMessage({ id: m.id, error: `${m.op}: worker ${init.index} is not forwarding yet` });
        continue;
      }
      const tables = new Map(m.tables);
      for (const ns of namespaces) {
        const b = tables.get(conntrackKey(ns.node, ns.name));
        if (b) ns.adoptConntrackTable(b);
      }
      learned.restore(m.learned);
      init.port.postMessage({ id: m.id, result: learned.keys() });
      break;
    }
  } else {
    // Its predecessor's runtime configuration (config-log.ts) before the learned entries: the journal's image of those wins.
    init.port.postMessage({ replayed: control.replay(init.config) } satisfies ReplayedMessage);
    learned.restore(init.learned);
  }
  learned.journalAll();
  keep();
  Atomics.store(ctl, base + CTL.RUNNING, 1);
  let t0 = performance.now();
  let nextTick = t0 + TICK_MS;
  let loops = 0;
  let idle = 0;
  let requests = Atomics.load(ctl, base + CTL.REQUESTS) - 1; // the first round looks at the port
  while (Atomics.load(ctl, base + CTL.STOP) === 0) {
    if (handedOver) {
      Atomics.wait(ctl, base + CTL.BELL, Atomics.load(ctl, base + CTL.BELL), NAP_MS);
      continue;
    }
    if (wall) batchNow = t0 + shift;
    let work = drain(ingress, false);
    for (const ib of tapIn) work += drain(ib, false);
    for (const ib of fabricIn) if (ib) work += drain(ib, true);
    if (replay) work += replayStep();
    if (ingress.owed > 0) lend(ingress);
    for (const ib of tapIn) if (ib.owed > 0) lend(ib);
    for (let p = 0; p < fabricIn.length; p++) {
      const ib = fabricIn[p];
      if (!ib || ib.owed === 0) continue;
      lend(ib);
      ring(p); // a producer asleep for want of slots (a held-back replay) may go on
    }
    const t1 = performance.now();
    // Busy time: rounds that moved frames, from the round's start to its end.
    if (work !== 0) wc[WC.BUSY_SECONDS]! += (t1 - t0) / 1000;
    t0 = t1;
    // Requests at the end of the round they arrived in (the supervisor bumps
    // REQUESTS after posting), busy or not: a control command waits for one
    // round of frames at most, and a busy round is a batch per channel.
    const asked = Atomics.load(ctl, base + CTL.REQUESTS);
    if (asked !== requests) {
      requests = asked;
      work += messages();
    }
    // Timers between busy rounds too, every 16th (about 1 k frames).
    if ((++loops & 15) === 0 || work === 0) {
      wc[WC.LOOPS] = loops;
      if (t1 >= nextTick) {
        if (wall) batchNow = t1 + shift;
        nextTick = t1 + TICK_MS;
        engine.tick();
        keep();
        learned.tick();
        t0 = performance.now();
      }
    }
    publishSent(); // what the replay, a request or a timer sent (a drain publishes its own)
    if (work !== 0) idle = 0;
    else if (++idle >= init.idleSpins) {
      idle = 0;
      // Sleep unless something arrived between the last look and SLEEPING=1
      // (producers read SLEEPING after publishing: one of the two sees the other).
      const bell = Atomics.load(ctl, base + CTL.BELL);
      Atomics.store(ctl, base + CTL.SLEEPING, 1);
      // A replay held back by a full hand-off sleeps too: its consumer rings
      // once it lends slots again (it reads SLEEPING after lending).
      // A request posted after the look above moved REQUESTS, then BELL: either it is seen here or the wait returns at once.
      if (allEmpty() && Atomics.load(ctl, base + CTL.REQUESTS) === requests && !(replay && replayRoom()) && Atomics.load(ctl, base + CTL.STOP) === 0) {
        wc[WC.IDLE_WAITS]!++;
        Atomics.wait(ctl, base + CTL.BELL, bell, NAP_MS);
        const t2 = performance.now();
        wc[WC.SLEEP_SECONDS]! += (t2 - t0) / 1000;
        t0 = t2;
      }
      Atomics.store(ctl, base + CTL.SLEEPING, 0);
    }
  }
  Atomics.store(ctl, base + CTL.RUNNING, 0);
  init.port.close();
}

/** A fabric side whose node runs in another worker: copy the routed frame there. */
class HandoffSink implements EdgeSink {
  constructor(
    private readonly engine: Engine,
    /** Channels by worker: replaced when that worker is restarted. */
    private readonly out: (Handoff | null)[],
    private readonly to: number,
    private readonly slab32: Int32Array,
    private readonly tag: number,
    private readonly wc: Float64Array,
    /** Set when the consumer may need waking at the end of the batch. */
    private readonly pending: Uint8Array,
    private readonly traces: WorkerTraces,
  ) {}

  emit(pkt: Packet, port: Port): void {
    const hops = pkt.hops < (1 << HOP_BITS) ? pkt.hops : (1 << HOP_BITS) - 1;
    // A frame of a trace carries the trace's id (every other frame has traceId 0 and tag bits 0 there).
    const traced = pkt.traceId !== 0 && this.traces.current !== 0;
    // The receiver's checksum checks, made here: its half of the path is the longer one (checksumsGood); a path cache
    // hit's frame comes with its verdict.
    const csum = sentChecksumsGood(pkt) ? CSUM_GOOD : 0;
    const tag = (traced ? this.tag | hops | (this.traces.current << TRACE_SHIFT) : this.tag | hops) | csum;
    // And its path cache key's hash, but for in_port (keyHint; a hit's frame comes with its entry's): the receiver
    // warms its batch's entries by it.
    const hint = sentKeyHint(pkt);
    const sent = this.out[this.to]!.sendLater(pkt.buf, this.slab32, pkt.off, pkt.len, tag, pkt.stamp, hint); // published when its batch or round ends (ring)
    if (traced) this.traces.crossed(pkt, port, this.to, sent);
    if (sent) {
      this.wc[WC.HANDOFF_OUT]!++;
      this.pending[this.to] = 1;
    } else {
      // The other worker is behind: a full ring drops, as a NIC's does.
      this.wc[WC.HANDOFF_FULL]!++;
      this.engine.stats.v[dropIndex(port.element.dropsBase, 'no_buffer')]!++;
    }
  }
}

/** A frame leaves the emulator at an edge port: count it, and copy it to the supervisor when it collects. */
class EdgeOut implements EdgeSink {
  constructor(
    private readonly engine: Engine,
    private readonly ch: Handoff | null,
    private readonly slab32: Int32Array,
    private readonly id: number,
    private readonly wc: Float64Array,
    private readonly edgeFrames: Float64Array,
  ) {}

  emit(pkt: Packet, port: Port): void {
    this.wc[WC.EDGE_OUT]!++;
    this.edgeFrames[this.id]!++;
    this.wc[WC.EDGE_OUT_BYTES]! += pkt.len;
    if (this.ch && !this.ch.send(pkt.buf, this.slab32, pkt.off, pkt.len, this.id)) {
      this.engine.stats.v[dropIndex(port.element.dropsBase, 'no_buffer')]!++;
    }
  }
}

/**
 * A frame leaves at a TAP edge: written to the TAP here, as the inline
 * daemon's tx worker does (a write to a TAP never blocks), with the TAP's
 * counters and, for a frame caused by one read from a TAP, its read-to-write
 * time. Once the TAP is gone the frame is dropped and counted instead.
 */
class TapOut implements EdgeSink {
  constructor(
    private readonly fd: number,
    private readonly v: Float64Array,
    private readonly tap: number,
    private readonly e2e: number,
    private readonly down: Int32Array,
    private readonly id: number,
    private readonly wc: Float64Array,
    private readonly edgeFrames: Float64Array,
  ) {}

  emit(pkt: Packet): void {
    const v = this.v, tap = this.tap;
    this.wc[WC.EDGE_OUT]!++;
    this.edgeFrames[this.id]!++;
    this.wc[WC.EDGE_OUT_BYTES]! += pkt.len;
    if (Atomics.load(this.down, this.id) !== 0) {
      v[tap + TS.TX_DROPPED]!++;
      return;
    }
    try {
      writeSync(this.fd, pkt.buf, pkt.off, pkt.len);
    } catch {
      // Lost and counted, as by the inline daemon's writer (EIO while the link is down).
      v[tap + TS.TX_ERRORS]!++;
      return;
    }
    v[tap + TS.TX_PACKETS]!++;
    v[tap + TS.TX_BYTES]! += pkt.len;
    const t0 = pkt.stamp;
    if (t0 !== 0) observeNs(v, this.e2e, (monoMs() - t0) * 1e6);
  }
}

/**
 * CPU time this thread has run, in seconds (Linux's per-thread schedstat),
 * or null where there is none: beside BUSY_SECONDS (wall time of busy
 * rounds) it tells a worker's work from time other threads took its core.
 */
function threadCpuSeconds(): number | null {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9;
  } catch {
    return null;
  }
}
