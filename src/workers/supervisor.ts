// The partitioned datapath: N worker threads, each owning a group of nodes
// (src/workers/partition.ts), joined by hand-off channels where the fabric
// joins the nodes. The supervisor (the thread that starts it) injects frames
// at edge ports and collects the frames that leave at them, through the same
// channels, and answers for the whole: settle() waits until no frame is in
// flight anywhere, stop() ends every worker.
//
// A worker that dies is restarted with the same nodes (exited()). Their
// conntrack survives: each namespace's table is in SharedArrayBuffers the
// worker handed here when it started (and again if a grow moved them), and
// the successor continues them (entries, NAT bindings, TCP state). The worker
// kept them to itself (no lock taken, see Conntrack.keptBuffers), so there is
// no lock to release; the one entry it may have been inserting or removing
// when killed can be left half linked (found in one direction only, or its
// slot held until the entry expires). The rest of the nodes' learned state
// (OVS NORMAL's and Linux bridges' fdb, neighbours, flows learn() added)
// survives too: each worker journals it as it changes into a SharedArrayBuffer
// kept here (src/datapath/learned-journal.ts), which is read into `learned`
// every JOURNAL_POLL_MS and once more when the worker has died, so what it
// wrote before dying is there; the successor restores those entries
// (learned-mirror.ts). Configuration changed at runtime through the control
// socket (flows, routes, rules, addresses, iptables rules) is kept here too,
// as the ordered log of the writes each worker ran (control(), config-log.ts),
// and a successor replays it before it restores the learned entries and
// forwards; a replayed flow's timeouts start again then.
//
// Plain worker_threads, not piscina: a datapath worker is one loop that runs
// for the daemon's life and owns node state, so work must go to the owner of
// a node, never to whichever thread is idle, and a worker is addressed (and
// restarted) by index. piscina's queue and load balancing are what this must
// not have, and its per-task cost (25-35 µs here) buys nothing for one task
// per thread; nor does it start TypeScript entries (src/io/spawn-worker.ts).
//
// TAPs (`dpemu run --workers N`): each TAP edge gets a channel into its
// owner's slab whose producer is the TAP's rx thread (src/io/tap-port.ts),
// which reads frames straight into the lent slots, and the owner writes the
// frames leaving at the edge to the TAP's descriptor itself, so no frame
// passes through the thread that started the workers. A restart gives the
// owner a fresh slab, so its TAP channels are re-made and each rx thread is
// sent its new one (TapTarget).
//
// A reload (src/daemon/daemon.ts) replaces the whole datapath: the next one
// is started with adoptLater (its workers build their nodes, then wait) and
// the TAPs' rx links (rxLinks(), TapAttach.rx); retire() asks each running
// worker for its conntrack tables and stops it (it forwards nothing after
// answering, so the tables handed over are the ones it last wrote, and it
// journals its learned tables whole first, with their exact times); adopt()
// gives each new worker the tables of its namespaces and the learned entries
// of its elements (learnedState() of the retired one), lets it forward, and
// points each kept rx thread at its new owner. The new datapath starts with
// empty configuration logs: a reload builds the nodes as the file says, and
// drops runtime changes as the inline daemon's reload does.
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { resolve } from 'node:path';
import { loadTopologyOrThrow } from '../topology/loader.js';
import type { Topology } from '../topology/model.js';
import { Handoff } from '../datapath/handoff.js';
import { DEFAULT_SLOT_SIZE } from '../datapath/packet.js';
import { spawnWorker, workerUrl } from '../io/spawn-worker.js';
import { LINK, LINK_BYTES, type TapHandoff, type TapTarget } from '../io/tap-shared.js';
import { balancedAssignment, checkAssignment, defaultWorkerCount, type Assignment } from './partition.js';
import type { CtStoreBuffers } from '../netfilter/index.js';
import { CTL, CTL_WORDS, WORKER_COUNTER_STRIDE, WC, type ChannelSpec, type KeptTables, type TapLinkInit, type WorkerInit, type WorkerRequest } from './layout.js';
import type { TracePiece, TracePieceMessage } from './worker-trace.js';
import { journalBuffer, journalCounts, type JournalCounts } from '../datapath/learned-journal.js';
import { LearnedMirror, type LearnedState } from './learned-mirror.js';
import { ConfigLog, type ConfigCommand } from './config-log.js';
import type { ControlAnswer, ReplayReport } from './worker-control.js';
import type { RealtimeMessage, ReplayedMessage, WarmedUpMessage, WorkerAnswer, WorkerAnswers } from './layout.js';
import type { WarmUpReport } from '../topology/warm-up.js';

export interface PartitionOptions {
  /** Topology file (each worker loads it itself). */
  file: string;
  /** Worker count (default: defaultWorkerCount()); capped at the number of node groups. */
  workers?: number;
  /** Node -> worker, instead of the balanced default. */
  assignment?: Assignment;
  /** Copy frames leaving at edges back to the supervisor (default true); off, they are only counted. */
  collect?: boolean;
  /** 'manual' keeps emulated time at 0 (differential tests); default: the wall clock. */
  clock?: 'manual' | 'wall';
  /** Slots of each hand-off channel (a power of two). */
  channelSlots?: number;
  /** Bytes per slot of every slab (default DEFAULT_SLOT_SIZE; the daemon sizes it for its TAPs' MTU). */
  slotSize?: number;
  /** TAP devices at edge ports (the daemon's); their cells are in `stats`. */
  taps?: readonly TapAttach[];
  stats?: SharedArrayBuffer;
  /**
   * Empty rounds before an idle worker sleeps on its bell. Default 256 (tens
   * of µs of polling): a futex sleep and wake costs more than that, and a
   * neighbour's next batch is usually that close when the workers have the
   * cores to themselves (in-memory runs). The daemon polls less: there the
   * TAPs' rx threads, the kernel and the traffic's senders need the cores.
   */
  idleSpins?: number;
  /** SCHED_FIFO priority of the workers (src/io/realtime.ts, `dpemu run --rt-priority`); default 0, none. */
  rtPriority?: number;
  /**
   * Each worker of a start (or a reload) first runs the topology's lab hosts'
   * traffic through a scratch copy of its topology for about this long
   * (src/topology/warm-up.ts); a worker restarted after a crash does not.
   * Default 0, none.
   */
  warmUpMs?: number;
  /** Told what worker `w`'s warm-up ran. */
  onWarmUp?: (w: number, report: WarmUpReport) => void;
  /** Told when worker `w` could not take its SCHED_FIFO priority, and why (it runs on as it was). */
  onRealtimeError?: (w: number, message: string) => void;
  /** Told when a worker that died runs again (with its thread's last uncaught error, if any, and what replaying its configuration did). */
  onRestart?: (w: number, error: Error | undefined, replay: ReplayReport | null) => void;
  /** Told when worker `w`'s configuration log first had no room for a write (`unkept`: writes not kept so far). */
  onConfigLoss?: (w: number, unkept: number) => void;
  /** Bytes of command text each worker's configuration log keeps at most (default DEFAULT_LOG_BYTES). */
  configLogBytes?: number;
  /** Told when worker `w`'s learned-state journal dropped records for want of room since the last read (`dropped`: all so far). */
  onJournalLoss?: (w: number, dropped: number) => void;
  /** Bytes of each worker's learned-state journal (a power of two; default DEFAULT_JOURNAL_BYTES). */
  journalBytes?: number;
  /** Conntrack tables to continue, by conntrackKey(node, ns): a retired datapath's (each worker is given those of its nodes). */
  conntrack?: ReadonlyMap<string, CtStoreBuffers>;
  /**
   * Build the workers but forward nothing until adopt() (a reload: the
   * datapath this one replaces still runs, and owns the tables, until it is
   * retired). Rx threads carried over (TapAttach.rx) are pointed here then.
   */
  adoptLater?: boolean;
}

/** A TAP at an edge: its descriptor and where its counters and read-to-write histogram are (src/io/tap-shared.ts TapCells). */
export interface TapAttach {
  /** Index in topology.edges. */
  edge: number;
  fd: number;
  tapCell: number;
  e2eCell: number;
  /** The rx link of a retired datapath's TAP (retire()): its rx thread runs on, and is pointed here instead of being handed a new link. */
  rx?: RxLink;
}

/** A running TAP rx thread's link to whichever datapath it feeds. */
export interface RxLink {
  /** Our end of the port its new targets go out on. */
  toRx: MessagePort;
  /** LINK words, shared with the rx thread. */
  link: Int32Array;
  /** The channel it feeds now (woken when it is replaced, should the thread wait for a slot on it). */
  channel: ChannelSpec;
}

interface TapLink {
  attach: TapAttach;
  worker: number;
  channel: ChannelSpec;
  /** LINK words, shared with the rx thread and the owning worker. */
  link: Int32Array;
  /** Supervisor's end (new targets go out on it); the rx thread's end until it is taken (null for a link carried over a reload). */
  toRx: MessagePort;
  rxEnd: MessagePort | null;
  /** Handed to the next datapath by retire(): its port is not closed on stop. */
  handedOver: boolean;
}

const DEFAULT_CHANNEL_SLOTS = 1024;
const DEFAULT_IDLE_SPINS = 256;
/** Slots of a TAP's channel (as a TAP's rings in the inline daemon, src/io/tap-io.ts). */
const TAP_CHANNEL_SLOTS = 256;
/** Slots of a worker's own slab beyond those it lends to channels. */
const OWN_SLOTS = 4096;
/** How often the learned-state journals are read (they hold seconds of changes at any realistic rate). */
const JOURNAL_POLL_MS = 50;

/** A request without its id (the supervisor numbers them). */
type Req<R = WorkerRequest> = R extends unknown ? Omit<R, 'id'> : never;

interface Running {
  thread: Worker;
  port: MessagePort;
  ingress: Handoff;
  egress: Handoff;
  egressSlab: Uint8Array;
  exited: Promise<number>;
  /** What replaying its configuration did, once it said (null: it died first, or it adopts instead). */
  replayed: Promise<ReplayReport | null>;
  /** It died and its port is closed: a request now would never be answered. */
  closed: boolean;
}

export class PartitionedDatapath {
  readonly topology: Topology;
  readonly assignment: Assignment;
  readonly workers: number;
  /** Frames collected per edge (index in topology.edges), in the order they left. */
  readonly collected: Uint8Array[][];
  private readonly ctl: Int32Array;
  private readonly counters: Float64Array;
  private readonly edgeOutFrames: Float64Array;
  private readonly run: Running[] = [];
  /** Every channel, for settle(): data rings' head and tail. */
  private channels: Handoff[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, { worker: number; res: (v: unknown) => void; rej: (e: Error) => void }>();
  /** The last uncaught error of each worker's thread, if any. */
  readonly lastError: (Error | undefined)[] = [];
  /** Times each worker was restarted after it died. */
  readonly restarts: number[];
  private readonly onRestart: ((w: number) => void)[] = [];
  /** Each worker's conntrack tables (conntrackKey -> buffers), kept for its successor. */
  private readonly tables: Map<string, CtStoreBuffers>[];
  /** Each worker's learned-state journal, kept across its restarts. */
  private readonly journals: SharedArrayBuffer[];
  /** What the workers' elements learned, as journaled (restored by a successor). */
  readonly learned = new LearnedMirror();
  private journalTimer: NodeJS.Timeout | null = null;
  /** Records each journal had dropped at the last read. */
  private readonly journalDropped: number[];
  /** Bytes each journal held unread at the last read. */
  private readonly journalUnread: number[];
  /** The configuration writes each worker ran, for its successor (config-log.ts). */
  private readonly configs: ConfigLog[];
  /** What each worker's last replay did. */
  private readonly replays: (ReplayReport | null)[];
  private file = '';
  private opts: PartitionOptions = { file: '' };
  /** Slots of each channel; slots of each worker's slab. */
  private cs = 0;
  private slots = 0;
  private slotSize = DEFAULT_SLOT_SIZE;
  private slabs: SharedArrayBuffer[] = [];
  /** Per slab: a Float64 stamp per slot (HandoffSpec.stamps). */
  private stamps: SharedArrayBuffer[] = [];
  private taps: TapLink[] = [];
  private readonly tapDownFlags: Int32Array;
  /** Whether each worker's thread runs (false from its death until its successor runs). */
  readonly alive: boolean[];
  /** fabric[i][j]: the channel from worker i to worker j, in j's slab. */
  private fabric: (ChannelSpec | null)[][] = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** retire() has begun: a worker that dies now is not restarted. */
  private retiring = false;
  /** With adoptLater: until adopt(), workers wait for their tables. */
  private adopting = false;
  /** Told of each piece of a trace a worker ran for a frame another worker handed it (remote-trace.ts). */
  onTracePiece: ((w: number, piece: TracePiece) => void) | null = null;

  private constructor(t: Topology, a: Assignment, workers: number, journalBytes?: number, configLogBytes?: number) {
    this.topology = t;
    this.assignment = a;
    this.workers = workers;
    this.collected = t.edges.map(() => []);
    this.ctl = new Int32Array(new SharedArrayBuffer(workers * CTL_WORDS * 4));
    this.counters = new Float64Array(new SharedArrayBuffer(workers * WORKER_COUNTER_STRIDE * 8));
    this.edgeOutFrames = new Float64Array(new SharedArrayBuffer(t.edges.length * 8));
    this.restarts = new Array(workers).fill(0);
    this.alive = new Array(workers).fill(false);
    this.tapDownFlags = new Int32Array(new SharedArrayBuffer(Math.max(1, t.edges.length) * 4));
    this.tables = Array.from({ length: workers }, () => new Map());
    this.journals = Array.from({ length: workers }, () => journalBuffer(journalBytes));
    this.journalDropped = new Array(workers).fill(0);
    this.journalUnread = new Array(workers).fill(0);
    this.configs = Array.from({ length: workers }, () => new ConfigLog(configLogBytes));
    this.replays = new Array(workers).fill(null);
  }

  static async start(opts: PartitionOptions): Promise<PartitionedDatapath> {
    const file = resolve(opts.file);
    const t = loadTopologyOrThrow(file);
    const a = opts.assignment ?? balancedAssignment(t, opts.workers ?? defaultWorkerCount());
    const k = checkAssignment(t, a);
    const dp = new PartitionedDatapath(t, a, k, opts.journalBytes, opts.configLogBytes);
    dp.addTables(opts.conntrack ?? new Map());
    dp.adopting = opts.adoptLater ?? false;
    await dp.spawnAll(file, opts);
    return dp;
  }

  /** Each table to the worker owning its namespace's node. */
  private addTables(tables: ReadonlyMap<string, CtStoreBuffers>): void {
    for (const [key, b] of tables) {
      const node = [...this.assignment.keys()].find((n) => key.startsWith(`${n}/`));
      if (node !== undefined) this.tables[this.assignment.get(node)!]!.set(key, b);
    }
  }

  /** (adoptLater) The retired datapath's tables: every worker continues its own, then forwards, and the carried rx threads feed it. */
  async adopt(tables: ReadonlyMap<string, CtStoreBuffers>, learned: LearnedState = []): Promise<void> {
    if (!this.adopting) throw new Error('adopt: this datapath was not started with adoptLater');
    this.addTables(tables);
    this.learned.adopt(learned);
    const kept = await Promise.all(Array.from({ length: this.workers }, (_, w) => this.request<string[]>(w, { op: 'adopt', tables: [...this.tables[w]!], learned: this.learned.state(this.nodesOf(w)) })));
    this.learned.retain(new Set(kept.flat()));
    this.adopting = false;
    for (const l of this.taps) if (l.attach.rx) this.retarget(l, Handoff.of(l.attach.rx.channel));
  }

  private async spawnAll(file: string, opts: PartitionOptions): Promise<void> {
    const k = this.workers, cs = opts.channelSlots ?? DEFAULT_CHANNEL_SLOTS;
    this.file = file;
    this.opts = opts;
    this.cs = cs;
    this.slotSize = opts.slotSize ?? DEFAULT_SLOT_SIZE;
    const taps = opts.taps ?? [];
    // Each worker lends slots to k-1 fabric channels, the supervisor's ingress and its TAPs.
    this.slots = OWN_SLOTS + k * cs + taps.length * TAP_CHANNEL_SLOTS;
    for (let i = 0; i < k; i++) this.newSlab(i);
    this.fabric = this.slabs.map((_, i) => this.slabs.map((_s, j) => (i === j ? null : this.spec(j))));
    this.taps = taps.map((a) => {
      const e = this.topology.edges[a.edge];
      if (!e || e.kind !== 'tap') throw new Error(`edge ${a.edge} is not a TAP edge of ${this.topology.file}`);
      const worker = this.ownerOf(e.port.node);
      const channel = this.spec(worker, TAP_CHANNEL_SLOTS);
      if (a.rx) return { attach: a, worker, channel, link: a.rx.link, toRx: a.rx.toRx, rxEnd: null, handedOver: false };
      const { port1, port2 } = new MessageChannel();
      return { attach: a, worker, channel, link: new Int32Array(new SharedArrayBuffer(LINK_BYTES)), toRx: port1, rxEnd: port2, handedOver: false };
    });
    const ready: Promise<void>[] = [];
    for (let i = 0; i < k; i++) ready.push(this.spawn(i, opts.warmUpMs ?? 0));
    await Promise.all(ready);
    if (opts.collect ?? true) this.pollTimer = setInterval(() => this.drainEgress(), 1);
    this.journalTimer = setInterval(() => this.drainLearned(), JOURNAL_POLL_MS);
    this.journalTimer.unref();
  }

  /** Read every worker's journal into `learned` (a dead worker's too: it is shared memory). */
  private drainLearned(): void {
    for (let w = 0; w < this.workers; w++) {
      const j = this.journals[w]!, { unread, overflows: dropped } = journalCounts(j);
      this.journalUnread[w] = unread;
      this.learned.drain(w, j);
      if (dropped !== this.journalDropped[w]) {
        this.journalDropped[w] = dropped;
        this.opts.onJournalLoss?.(w, dropped);
      }
    }
  }

  /** Everything the workers learned, as last journaled (after retire(): each worker's whole tables), for the next datapath's adopt(). */
  learnedState(): LearnedState {
    this.drainLearned();
    return this.learned.state();
  }

  /**
   * Worker `w`'s learned-state journal since this datapath started (across
   * the worker's restarts): records written, records dropped for want of
   * room, full rewrites after a drop; bytes it held unread at the last read
   * (every JOURNAL_POLL_MS), and its size.
   */
  journal(w: number): JournalCounts {
    return { ...journalCounts(this.journals[w]!), unread: this.journalUnread[w]! };
  }

  /** Learned-state journal counts, all workers, and the entries the mirror keeps. */
  journalStats(): { records: number; overflows: number; resyncs: number; kept: number } {
    const out = { records: 0, overflows: 0, resyncs: 0, kept: this.learned.size };
    for (let w = 0; w < this.workers; w++) {
      const c = this.journal(w);
      out.records += c.records;
      out.overflows += c.overflows;
      out.resyncs += c.resyncs;
    }
    return out;
  }

  /** The nodes (gateways included) worker `w` owns. */
  private nodesOf(w: number): string[] {
    return [...this.assignment].filter(([, x]) => x === w).map(([n]) => n);
  }

  private newSlab(i: number): void {
    this.slabs[i] = new SharedArrayBuffer(this.slots * this.slotSize);
    this.stamps[i] = new SharedArrayBuffer(this.slots * 8);
  }

  /** A channel into worker `to`'s slab. */
  private spec(to: number, capacity = this.cs): ChannelSpec {
    return { capacity, rings: new SharedArrayBuffer(Handoff.bytes(capacity)), slab: this.slabs[to]!, slotSize: this.slotSize, stamps: this.stamps[to]! };
  }

  /** Start worker i over the current slabs and channels; resolves once it runs its loop. */
  private spawn(i: number, warmUpMs = 0): Promise<void> {
    const t = this.topology, cs = this.cs, slotSize = this.slotSize;
    const mine = this.nodesOf(i);
    const ingress = this.spec(i);
    const egressSlab = new SharedArrayBuffer(cs * slotSize);
    const egress: ChannelSpec = { capacity: cs, rings: new SharedArrayBuffer(Handoff.bytes(cs)), slab: egressSlab, slotSize };
    const { port1, port2 } = new MessageChannel();
    Atomics.store(this.ctl, i * CTL_WORDS + CTL.RUNNING, 0);
    const init: WorkerInit = {
      index: i,
      file: this.file,
      nodes: mine.filter((n) => t.nodes.some((x) => x.name === n)),
      gateways: mine.filter((n) => t.gateways.some((x) => x.name === n)),
      owner: [...this.assignment.entries()],
      slots: this.slots,
      slotSize,
      slab: this.slabs[i]!,
      ctl: this.ctl.buffer as SharedArrayBuffer,
      counters: this.counters.buffer as SharedArrayBuffer,
      edgeFrames: this.edgeOutFrames.buffer as SharedArrayBuffer,
      inbound: this.fabric.map((row) => row[i]!),
      outbound: this.fabric[i]!,
      ingress,
      egress,
      conntrack: this.adopting ? [] : [...this.tables[i]!],
      journal: this.journals[i]!,
      learned: this.adopting ? [] : this.learned.state(mine),
      config: this.adopting ? [] : this.configs[i]!.commands(),
      adoptFirst: this.adopting,
      collect: this.opts.collect ?? true,
      stamps: this.stamps[i]!,
      taps: this.taps.filter((l) => l.worker === i).map(({ attach: { edge, fd, tapCell, e2eCell }, channel, link }): TapLinkInit => ({ edge, fd, tapCell, e2eCell, channel, link: link.buffer as SharedArrayBuffer })),
      stats: this.opts.stats ?? null,
      tapDown: this.tapDownFlags.buffer as SharedArrayBuffer,
      clock: this.opts.clock === 'manual' ? 'manual' : performance.timeOrigin,
      idleSpins: this.opts.idleSpins ?? DEFAULT_IDLE_SPINS,
      rtPriority: this.opts.rtPriority ?? 0,
      warmUpMs,
      port: port2,
    };
    const thread = spawnWorker(workerUrl('datapath'), init, { transferList: [port2] });
    let replayed!: (r: ReplayReport | null) => void;
    // An uncaught error ends the thread; 'exit' follows and restarts it. Keep the last for the report.
    thread.on('error', (e) => (this.lastError[i] = e));
    const r: Running = {
      thread,
      port: port1,
      ingress: new Handoff(cs, ingress.rings, ingress.slab, slotSize),
      egress: new Handoff(cs, egress.rings, egress.slab, slotSize),
      egressSlab: new Uint8Array(egressSlab),
      exited: new Promise((res) => thread.once('exit', res)),
      replayed: new Promise((res) => (replayed = res)),
      closed: false,
    };
    void r.exited.then(() => replayed(null));
    for (let s = 0; s < cs; s++) r.egress.lend(s); // the supervisor's egress slots never move
    const answered = (a: WorkerAnswer): void => {
      const w = this.waiting.get(a.id);
      if (!w) return;
      this.waiting.delete(a.id);
      if (a.error !== undefined) w.rej(new Error(a.error));
      else w.res(a.result);
    };
    port1.on('message', (m: WorkerAnswer | WorkerAnswers | KeptTables | TracePieceMessage | ReplayedMessage | RealtimeMessage | WarmedUpMessage) => {
      if ('rtError' in m) {
        this.opts.onRealtimeError?.(i, m.rtError);
        return;
      }
      if ('warmedUp' in m) {
        this.opts.onWarmUp?.(i, m.warmedUp);
        return;
      }
      if ('replayed' in m) {
        this.replays[i] = m.replayed;
        replayed(m.replayed);
        return;
      }
      if ('tables' in m) {
        for (const [key, b] of m.tables) this.tables[i]!.set(key, b);
        return;
      }
      if ('piece' in m) {
        this.onTracePiece?.(i, m.piece);
        return;
      }
      if ('answers' in m) for (const a of m.answers) answered(a);
      else answered(m);
    });
    this.run[i] = r;
    this.channels = [...this.run.flatMap((x) => [x.ingress, x.egress]), ...this.fabric.flat().filter((c): c is ChannelSpec => c !== null).map((c) => Handoff.of(c))];
    void r.exited.then(() => {
      this.alive[i] = false;
      return this.exited(i, r);
    });
    return new Promise((res, rej) => {
      thread.once('error', rej);
      // Running once the worker has built its nodes and lent its slots.
      const poll = (): void => {
        if (Atomics.load(this.ctl, i * CTL_WORDS + CTL.RUNNING) !== 1) return void setTimeout(poll, 2);
        this.alive[i] = true;
        res();
      };
      poll();
    });
  }

  /**
   * A worker ended. When the datapath is not stopping, it died: start it
   * again, on a fresh slab (the dead thread may have been writing into the
   * old one) with fresh channels, after its peers switched to them. Frames in
   * flight to or inside it are lost, as on a node that crashes.
   * What of the nodes' state survives: see the header.
   */
  private async exited(w: number, r: Running): Promise<void> {
    if (this.stopped || this.run[w] !== r) return;
    r.port.close();
    r.closed = true;
    for (const [id, x] of this.waiting) if (x.worker === w) {
      this.waiting.delete(id);
      x.rej(new Error(`worker ${w} died`));
    }
    if (this.retiring) return;
    // What it journaled up to its last record: its successor restores it.
    this.learned.drain(w, this.journals[w]!);
    this.newSlab(w);
    for (let i = 0; i < this.workers; i++) {
      if (i === w) continue;
      this.fabric[i]![w] = this.spec(w);
      this.fabric[w]![i] = this.spec(i);
    }
    // Its TAPs' rx threads switch to new channels (the one waiting for a slot on the old channel is woken).
    for (const l of this.taps) {
      if (l.worker !== w) continue;
      const old = Handoff.of(l.channel);
      l.channel = this.spec(w, TAP_CHANNEL_SLOTS);
      this.retarget(l, old);
    }
    const peers: Promise<unknown>[] = [];
    for (let i = 0; i < this.workers; i++) {
      if (i !== w) peers.push(this.request(i, { op: 'rewire', peer: w, outbound: this.fabric[i]![w]!, inbound: this.fabric[w]![i]! }));
    }
    await Promise.all(peers);
    if (this.stopped || this.retiring) return;
    await this.spawn(w);
    const replay = await this.run[w]!.replayed;
    this.restarts[w]!++;
    this.opts.onRestart?.(w, this.lastError[w], replay);
    for (const f of this.onRestart.splice(0)) f(w);
  }

  /** Point `l`'s rx thread at its current channel and owner; it leaves `old` (woken, should it wait there for a slot). */
  private retarget(l: TapLink, old: Handoff): void {
    const b = l.worker * CTL_WORDS;
    const t: TapTarget = { edge: l.attach.edge, channel: l.channel, ctl: this.ctl.buffer as SharedArrayBuffer, bell: b + CTL.BELL, sleeping: b + CTL.SLEEPING };
    l.toRx.postMessage(t);
    Atomics.add(l.link, LINK.GEN, 1);
    old.free.notifyConsumer();
  }

  /**
   * Stop for a reload, handing over what the next datapath continues: each
   * worker's conntrack tables (asked of it: a worker stops forwarding once
   * it has answered, so they are the tables it last wrote; a worker dead at
   * that moment gives those it last posted); the TAPs' rx links (rxLinks())
   * stay open for the next datapath. Frames on their way through these
   * workers are lost.
   */
  async retire(): Promise<Map<string, CtStoreBuffers>> {
    this.retiring = true;
    const tables = new Map<string, CtStoreBuffers>();
    const answers = await Promise.all(
      Array.from({ length: this.workers }, (_, w) => (this.alive[w] ? this.request<[string, CtStoreBuffers][]>(w, { op: 'handover' }).catch(() => null) : null)),
    );
    answers.forEach((a, w) => {
      for (const [key, b] of a ?? this.tables[w]!) tables.set(key, b);
    });
    for (const l of this.taps) if (!l.rxEnd) l.handedOver = true;
    await this.stop();
    this.drainLearned();
    return tables;
  }

  /** The rx links of the TAPs, by edge (index in this topology's edges), for the next datapath (TapAttach.rx). */
  rxLinks(): Map<number, RxLink> {
    const links = new Map<number, RxLink>();
    for (const l of this.taps) if (!l.rxEnd) links.set(l.attach.edge, { toRx: l.toRx, link: l.link, channel: l.channel });
    return links;
  }

  /** Resolves when worker `w` has been restarted after it died. */
  restarted(w: number): Promise<void> {
    return new Promise((res) => {
      const f = (x: number): void => {
        if (x === w) res();
        else this.onRestart.push(f);
      };
      this.onRestart.push(f);
    });
  }

  /** End worker `w`'s thread abruptly, as a crash would (tests, fault injection). */
  async kill(w: number): Promise<void> {
    await this.run[w]!.thread.terminate();
  }

  /**
   * Each worker: its nodes (gateways included), restarts, whether its thread
   * runs now, its learned-state journal, its configuration log (commands and
   * bytes kept, writes not kept for want of room) and what its last replay did.
   */
  status(): { index: number; nodes: string[]; restarts: number; alive: boolean; journal: JournalCounts; config: { commands: number; bytes: number; unkept: number }; replay: ReplayReport | null }[] {
    return Array.from({ length: this.workers }, (_, i) => ({
      index: i,
      nodes: this.nodesOf(i),
      restarts: this.restarts[i]!,
      alive: this.alive[i]!,
      journal: this.journal(i),
      config: { ...this.configs[i]!.size, unkept: this.configs[i]!.unkept },
      replay: this.replays[i]!,
    }));
  }

  /** What TAP edge `edge`'s rx thread needs (once: its port is handed over with it). */
  tapHandoff(edge: number): TapHandoff {
    const l = this.taps.find((x) => x.attach.edge === edge);
    if (!l) throw new Error(`edge ${edge} has no TAP in this datapath`);
    if (!l.rxEnd) throw new Error(`edge ${edge}'s rx link was already taken`);
    const port = l.rxEnd;
    l.rxEnd = null;
    const b = l.worker * CTL_WORDS;
    return { edge, channel: l.channel, link: l.link.buffer as SharedArrayBuffer, port, ctl: this.ctl.buffer as SharedArrayBuffer, bell: b + CTL.BELL, sleeping: b + CTL.SLEEPING };
  }

  /** Frames waiting on TAP edge `edge`'s channel (ring occupancy, for metrics). */
  tapQueued(edge: number): number {
    const l = this.taps.find((x) => x.attach.edge === edge);
    return l ? Handoff.of(l.channel).data.size : 0;
  }

  /**
   * TAP edge `edge`'s device is gone: its owner drops what would leave there
   * (counted) instead of writing. Its descriptor must stay open until stop():
   * a closed number may be reused by the next open(2) of the process.
   */
  tapDown(edge: number): void {
    Atomics.store(this.tapDownFlags, edge, 1);
  }

  /** The index in topology.edges of NODE's edge port PORT. */
  edge(node: string, port: string): number {
    const i = this.topology.edges.findIndex((e) => e.port.node === node && e.port.port === port);
    if (i < 0) throw new Error(`no edge port ${port} on ${node}`);
    return i;
  }

  /** Which worker owns `node`. */
  ownerOf(node: string): number {
    const w = this.assignment.get(node);
    if (w === undefined) throw new Error(`unknown node ${node}`);
    return w;
  }

  /** Hand `frame` to the worker owning the edge; false when its ingress is full (retry after settle()). */
  inject(node: string, port: string, frame: Uint8Array): boolean {
    const id = this.edge(node, port);
    const w = this.ownerOf(node);
    if (!this.run[w]!.ingress.send(frame, null, 0, frame.length, id)) return false;
    this.wake(w);
    return true;
  }

  private wake(w: number): void {
    Atomics.add(this.ctl, w * CTL_WORDS + CTL.BELL, 1);
    Atomics.notify(this.ctl, w * CTL_WORDS + CTL.BELL);
  }

  /** Move frames the workers copied out at edges into `collected`. */
  private drainEgress(): number {
    let n = 0;
    for (const r of this.run) {
      const ring = r.egress.data, w = ring.words, slab = r.egressSlab;
      for (let i = ring.peek(); i >= 0; i = ring.peek()) {
        const at = w[i]!, len = w[i + 1]!, id = w[i + 2]!;
        this.collected[id]!.push(slab.slice(at, at + len));
        ring.release();
        r.egress.lend(r.egress.slotOf(at));
        n++;
      }
    }
    return n;
  }

  /** Frames collected at NODE's edge PORT so far, oldest first. */
  frames(node: string, port: string): Uint8Array[] {
    return this.collected[this.edge(node, port)]!;
  }

  /**
   * Resolve once no frame is in flight: every channel empty, twice in a row
   * with no channel's tail moved in between (a worker releases an entry only
   * after the frame's whole walk, so an empty ring is not being worked on).
   */
  async settle(timeoutMs = 5000): Promise<void> {
    const end = performance.now() + timeoutMs;
    let last = '';
    for (;;) {
      this.drainEgress();
      const snap = this.channels.map((c) => `${c.data.words[0]}/${Atomics.load(c.data.words, 1)}`).join(',');
      const empty = this.channels.every((c) => c.data.empty);
      if (empty && snap === last) return;
      last = empty ? snap : '';
      if (performance.now() > end) throw new Error('datapath did not settle');
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Ask worker `w` (answered between batches; refused while it is dead, until its successor is spawned and takes requests). */
  request<T>(w: number, req: Req): Promise<T> {
    if (this.stopped) return Promise.reject(new Error('datapath stopped'));
    if (this.run[w]!.closed) return Promise.reject(new Error(`worker ${w} died and is being restarted; try again`));
    const id = this.nextId++;
    const p = new Promise<T>((res, rej) => this.waiting.set(id, { worker: w, res: res as (v: unknown) => void, rej }));
    this.run[w]!.port.postMessage({ ...req, id });
    Atomics.add(this.ctl, w * CTL_WORDS + CTL.REQUESTS, 1); // after the post: a worker that sees it finds the message
    this.wake(w);
    return p;
  }

  /**
   * Run a control command family in worker `w`; a configuration write that
   * succeeded is kept for its successor. Kept as the answer arrives, in the
   * order the worker ran the commands (answers come back in order and each
   * is handled before the next), which also orders it against a snapshot.
   */
  control(w: number, family: string, argv: readonly string[]): Promise<ControlAnswer> {
    return this.request<ControlAnswer>(w, { op: 'control', family, argv: [...argv] }).then((a) => {
      if (!a.error && a.response?.ok) this.keepConfig(w, family, argv);
      return a;
    });
  }

  private keepConfig(w: number, family: string, argv: readonly string[]): void {
    const log = this.configs[w]!;
    const due = log.add(family, argv);
    if (due === 'full') {
      if (log.unkept === 1) this.opts.onConfigLoss?.(w, log.unkept);
    } else if (due !== null) {
      const [node, bridge] = due.split(' ') as [string, string];
      this.request<ConfigCommand[]>(w, { op: 'flowSnapshot', node, bridge }).then(
        (snap) => log.compacted(due, snap),
        () => log.compacted(due, null),
      );
    }
  }

  /** Worker `w`'s configuration log (tests). */
  configLog(w: number): ConfigLog {
    return this.configs[w]!;
  }

  /** conntrack -L of namespace NS on NODE, from the worker that owns it. */
  conntrack(node: string, ns: string): Promise<string[]> {
    return this.request(this.ownerOf(node), { op: 'conntrack', node, ns });
  }

  /** Non-zero drop counters of all workers, `node:element:reason` -> count. */
  async drops(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (let w = 0; w < this.workers; w++) {
      for (const [k, v] of Object.entries(await this.request<Record<string, number>>(w, { op: 'drops' }))) out[k] = (out[k] ?? 0) + v;
    }
    return out;
  }

  /** Worker `w`'s counter `name` (layout.ts WORKER_COUNTERS). */
  counter(w: number, name: keyof typeof WC): number {
    return this.counters[w * WORKER_COUNTER_STRIDE + WC[name]]!;
  }

  /** Frames that left at NODE's edge PORT (counted whether collected or not). */
  edgeFrames(node: string, port: string): number {
    return this.edgeOutFrames[this.edge(node, port)]!;
  }

  /** Frames that left at edges, all workers. */
  get edgeOut(): number {
    let s = 0;
    for (let w = 0; w < this.workers; w++) s += this.counter(w, 'EDGE_OUT');
    return s;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.journalTimer) clearInterval(this.journalTimer);
    this.pollTimer = this.journalTimer = null;
    for (let w = 0; w < this.workers; w++) {
      Atomics.store(this.ctl, w * CTL_WORDS + CTL.STOP, 1);
      this.wake(w);
    }
    await Promise.all(this.run.map((r) => r.exited));
    for (const r of this.run) r.port.close();
    for (const l of this.taps) if (!l.handedOver) l.toRx.close();
    for (const { rej } of this.waiting.values()) rej(new Error('datapath stopped'));
    this.waiting.clear();
  }
}
