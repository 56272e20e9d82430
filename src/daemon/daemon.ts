// The daemon: a validated topology built into an engine, a TAP per edge port
// (with --lab, a namespace per host behind one), the TAP I/O loop, reload and
// a clean stop. Everything it creates in the kernel it records, and removes
// by exact name on stop, also after a failed start.
//
// Two ways to run the data path:
// - inline (--workers 0): one engine on this thread, fed by the TAPs' rx and
//   tx threads through rings in this thread's slab (src/io/tap-io.ts);
// - partitioned (--workers N): N datapath worker threads, each owning a group
//   of nodes (src/workers/supervisor.ts); each TAP's rx thread hands frames
//   straight to the worker owning its node, which writes frames leaving at
//   TAP edges itself, so no frame passes through this thread. The engine
//   built here then only describes the topology (TAP plan, banner): it
//   forwards nothing. A worker that dies is restarted with its conntrack.
//   A reload builds a new set of workers on the new file while the old ones
//   forward; the old ones then hand over their conntrack and stop, and the
//   new ones take it and forward (reloadPartitioned).
import type { Logger } from 'pino';
import { loadTopologyFile } from '../topology/loader.js';
import { formatError } from '../topology/errors.js';
import type { Host, Topology } from '../topology/model.js';
import { buildEmulator, conntrackKey, type Emulator } from '../topology/builder.js';
import { warmUp, type WarmUpReport } from '../topology/warm-up.js';
import type { Engine } from '../datapath/engine.js';
import { DEFAULT_SLOT_SIZE, HEADROOM, PacketPool } from '../datapath/packet.js';
import type { Clock } from '../datapath/clock.js';
import { TapIo } from '../io/tap-io.js';
import type { TapPort, TapPortEvent } from '../io/tap-port.js';
import { TapDevice, TapError, checkTapEnvironment } from '../io/tap-device.js';
import { planTaps, planIdentity, portMtu, type TapPlan } from './tap-plan.js';
import { checkHostNames, configureHost, createHostNetns, removeHostNetns } from './lab-hosts.js';
import { carryState, releaseHeld } from './carry-state.js';
import { PartitionedDatapath, type RxLink, type TapAttach } from '../workers/supervisor.js';
import type { ReplayReport } from '../workers/worker-control.js';
import type { CtStoreBuffers } from '../netfilter/index.js';

/** Ethernet header and one 802.1Q tag on top of the MTU. */
const L2_OVERHEAD = 18;
/** Room kept in a slot beyond the largest TAP frame: VXLAN encapsulation (50) and slack. */
const ENCAP_ROOM = 64;

/** A reason the daemon cannot run, and what to do about it. */
export class DaemonError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

export interface DaemonOptions {
  file: string;
  /** Run only these nodes of the file (default all). */
  nodes?: readonly string[];
  /** Create the file's lab hosts as namespaces on their TAPs. */
  lab?: boolean;
  log: Logger;
  /** Slots in the packet slab (default 4096). */
  slots?: number;
  /** Period of the engine's timers (ageing, ARP, conntrack), ms. */
  tickMs?: number;
  /** How long a stop waits for queued frames to be written, ms. */
  drainMs?: number;
  /** Datapath worker threads: 0 (default) runs the engine on the main thread; N >= 1 partitions the nodes over N workers (at most one per node group). */
  workers?: number;
  /** SCHED_FIFO priority of the forwarding threads (datapath workers, TAP rx/tx threads; src/io/realtime.ts); default 0, none. */
  rtPriority?: number;
  /** How long each engine runs the lab hosts' traffic through a scratch copy before it forwards (src/topology/warm-up.ts), ms; default 0, none. */
  warmUpMs?: number;
}

export interface ReloadResult {
  ok: boolean;
  errors: string[];
  added: string[];
  removed: string[];
  kept: string[];
  recreated: string[];
}

interface TapEntry {
  plan: TapPlan;
  identity: string;
  tp: TapPort;
  /** Its index in topology.edges (with --workers N). */
  edge?: number;
}

export class Daemon {
  emu!: Emulator;
  readonly pool: PacketPool;
  /**
   * Emulated time: monotonic ms since the process started. Not the epoch:
   * wall-clock steps would break ageing, and element timers that walk from 0
   * to the first `now` took seconds per element with epoch ms (measured).
   */
  readonly clock: Clock = { now: () => this.io.batchNow || performance.now() };
  readonly io: TapIo;
  /** TAPs deleted behind the daemon's back since it started. */
  tapsGone = 0;
  readonly taps = new Map<string, TapEntry>();
  /** Lab namespaces this daemon created, by name. */
  readonly hosts = new Map<string, Host>();
  /** The datapath workers with --workers N (N >= 1); null when the engine runs inline on this thread. */
  partitioned: PartitionedDatapath | null = null;
  private readonly swapListeners: ((emu: Emulator) => void)[] = [];
  /** Bytes per slab slot (the workers' slabs are sized as this thread's). */
  private readonly slotSize: number;
  private stopping: Promise<void> | null = null;
  private reloading: Promise<ReloadResult> = Promise.resolve(emptyResult(true));
  private readonly log: Logger;

  private constructor(readonly opts: DaemonOptions, slotSize: number) {
    this.log = opts.log;
    this.slotSize = slotSize;
    this.pool = new PacketPool(opts.slots ?? 4096, slotSize);
    this.io = new TapIo({
      pool: this.pool,
      tickMs: opts.tickMs ?? 1000,
      rtPriority: opts.rtPriority ?? 0,
      onTick: () => this.emu.engine.tick(),
      onEvent: (ev) => this.tapEvent(ev),
      onError: (err) => this.log.error({ err }, 'error in the data path loop (packet dropped, loop continues)'),
    });
  }

  get engine(): Engine {
    return this.emu.engine;
  }

  get topology(): Topology {
    return this.emu.topology;
  }

  /** Called after a reload swapped in a new emulator (the control socket and metrics follow it, and with workers `partitioned`, the new datapath). */
  onSwap(fn: (emu: Emulator) => void): void {
    this.swapListeners.push(fn);
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    try {
      checkTapEnvironment();
    } catch (e) {
      if (e instanceof TapError) throw new DaemonError(e.message, e.hint);
      throw e;
    }
    const workers = opts.workers ?? 0;
    if (!Number.isInteger(workers) || workers < 0) throw new DaemonError(`--workers ${workers} is not a worker count`, 'give 0 (the engine on the main thread) or a positive integer');
    const t = load(opts.file);
    checkNodes(t, opts.nodes);
    if (workers > 0 && opts.nodes) throw new DaemonError('--node runs a part of the file on one engine; the datapath workers run all of it', 'leave out --node, or run with --workers 0');
    const slotSize = slotSizeFor(maxTapMtu(t, opts.lab ?? false));
    const d = new Daemon(opts, slotSize);
    d.emu = d.build(t);
    const plans = planTaps(d.emu, opts.lab ?? false);
    if (opts.lab) checkHostNames(plans.flatMap((p) => (p.host ? [p.host] : [])));
    try {
      if (workers > 0) await d.startPartitioned(plans, workers);
      else {
        d.warmUp(t);
        for (const p of plans) await d.createTap(p);
      }
    } catch (e) {
      await d.stop();
      if (e instanceof TapError) throw new DaemonError(e.message, e.hint);
      throw e;
    }
    if (!d.partitioned) d.io.start();
    d.log.info({ file: opts.file, topology: t.name, nodes: opts.nodes ?? 'all', taps: plans.length, lab: !!opts.lab, workers: d.partitioned?.workers ?? 0 }, 'forwarding');
    return d;
  }

  /**
   * --workers N: every TAP (and lab host) first, then the workers, given the
   * TAPs' descriptors and cells, then each TAP's rx thread, given its channel
   * into the worker that owns its node. The workers sleep as soon as a round
   * finds nothing (idleSpins 0), as the inline engine thread does: on a box
   * where the TAP threads, the kernel and the senders share the cores, a
   * worker polling empty rings takes their time (one 2-s 64-byte blast
   * each on this 2-core machine at load 14: 256 idle rounds delivered 1664
   * frames for 810 ms of daemon CPU, 0 delivered 3008 for 780 ms).
   */
  private async startPartitioned(plans: TapPlan[], workers: number): Promise<void> {
    const made: { p: TapPlan; dev: TapDevice }[] = [];
    try {
      for (const p of plans) made.push({ p, dev: await this.makeTapDevice(p) });
      this.partitioned = await this.startDatapath(this.emu.topology, workers, made, [], false);
      await this.attachTaps(this.partitioned, made);
    } catch (e) {
      // Devices no rx thread took yet are not in this.taps: remove them here (stop() does the rest).
      for (const { p, dev } of made) if (!this.taps.has(p.dev)) await dev.remove();
      throw e;
    }
  }

  /** A TAP device for `p` (with --lab, its host's namespace first, configured once the device exists). */
  private async makeTapDevice(p: TapPlan): Promise<TapDevice> {
    const h = p.host;
    if (h && !this.hosts.has(h.netns)) {
      await createHostNetns(h);
      this.hosts.set(h.netns, h);
    }
    const dev = await TapDevice.create(p.spec);
    if (h) await configureHost(h);
    return dev;
  }

  /**
   * Start datapath workers on the file, whose topology `t` this thread
   * loaded (the workers load it again: a file changed in between is
   * refused), with TAPs `made` (new devices: attachTaps starts their rx
   * threads) and `kept` (rx threads that run on, carried over a reload with
   * their links; `p` their new plan). `adoptLater`: they forward once given
   * the retired datapath's conntrack (PartitionedDatapath.adopt).
   */
  private async startDatapath(t: Topology, workers: number, made: { p: TapPlan; dev: TapDevice }[], kept: { p: TapPlan; e: TapEntry; rx: RxLink }[], adoptLater: boolean): Promise<PartitionedDatapath> {
    const attach = (p: TapPlan, dev: TapDevice, rx?: RxLink): TapAttach => {
      const cells = this.io.cellsFor(p.edge.port.node, p.dev);
      return { edge: t.edges.indexOf(p.edge), fd: dev.fd, tapCell: cells.tap, e2eCell: cells.e2e, ...(rx ? { rx } : {}) };
    };
    const taps = [...made.map(({ p, dev }) => attach(p, dev)), ...kept.map(({ p, e, rx }) => attach(p, e.tp.device, rx))];
    const onRestart = (w: number, err: Error | undefined, replay: ReplayReport | null): void =>
      this.log.warn(
        { worker: w, restarts: this.partitioned?.restarts[w], err, configReplayed: replay?.replayed ?? 0, configFailed: replay?.failures ?? 0, ...(replay?.failed.length ? { configFailures: replay.failed } : {}) },
        `datapath worker ${w} died and was restarted with its nodes (their conntrack and learned state kept, ${replay?.replayed ?? 0} configuration change(s) replayed${replay?.failures ? `, ${replay.failures} failed` : ''})`,
      );
    const onConfigLoss = (w: number): void =>
      this.log.warn({ worker: w }, `datapath worker ${w}'s configuration log is full: further runtime changes to its nodes are applied but not kept for a restart of the worker (dpemu workers counts them; a reload clears the log)`);
    const onJournalLoss = (w: number, dropped: number): void =>
      this.log.warn({ worker: w, dropped }, `datapath worker ${w}'s learned-state journal was full: records dropped, its tables are journaled whole again`);
    const dp = await PartitionedDatapath.start({ file: this.opts.file, workers, slotSize: this.slotSize, collect: false, stats: this.io.stats.sab, taps, onRestart, onJournalLoss, onConfigLoss, idleSpins: 0, adoptLater, rtPriority: this.opts.rtPriority ?? 0, warmUpMs: this.opts.warmUpMs ?? 0, onWarmUp: (w, r) => this.warmedUp(r, w), onRealtimeError: (w, message) => this.realtimeFailed(`datapath worker ${w}`, message) });
    const plansNow = [...made.map((m) => m.p), ...kept.map((k) => k.p)];
    for (const [i, a] of taps.entries()) {
      const e = dp.topology.edges[a.edge];
      if (e?.kind !== 'tap' || e.dev !== plansNow[i]!.dev) {
        await dp.stop();
        throw new DaemonError(`${this.opts.file} changed while it was being loaded`, 'load it again');
      }
    }
    return dp;
  }

  /** Start the rx threads of new TAP devices, each feeding the worker that owns its node. */
  private async attachTaps(dp: PartitionedDatapath, made: { p: TapPlan; dev: TapDevice }[]): Promise<void> {
    for (const { p, dev } of made) {
      const edge = dp.topology.edges.findIndex((x) => x.kind === 'tap' && x.dev === p.dev);
      const tp = this.io.attachHandoff(dev, p.edge.port.node, dp.tapHandoff(edge));
      const entry: TapEntry = { plan: p, identity: planIdentity(p), tp, edge };
      tp.handoffQueued = () => (entry.edge !== undefined ? (this.partitioned?.tapQueued(entry.edge) ?? 0) : 0);
      this.taps.set(p.dev, entry);
      await tp.ready;
      const h = p.host;
      this.log.info({ dev: p.dev, port: p.port.path, mtu: p.mtu, worker: dp.ownerOf(p.edge.port.node), ...(h ? { host: h.name, netns: h.netns, ifname: h.iface.name } : {}) }, 'tap up');
    }
  }

  /** The inline engine's warm-up: on this thread, before its TAPs exist. */
  private warmUp(t: Topology): void {
    if (this.opts.warmUpMs) this.warmedUp(warmUp(t, this.opts.warmUpMs));
  }

  private warmedUp(r: WarmUpReport, worker?: number): void {
    if (r.sent === 0) return; // no lab hosts: nothing ran
    this.log.info({ ...(worker !== undefined ? { worker } : {}), frames: r.sent, answered: r.answered, ms: Math.round(r.ms) }, `warmed up: ${r.sent} frames of the lab hosts' traffic through a scratch copy of the topology in ${Math.round(r.ms)} ms`);
  }

  private build(t: Topology): Emulator {
    return buildEmulator(t, { pool: this.pool, clock: this.clock, ...(this.opts.nodes ? { nodes: this.opts.nodes } : {}) });
  }

  private async createTap(p: TapPlan): Promise<void> {
    const h = p.host;
    if (h && !this.hosts.has(h.netns)) {
      await createHostNetns(h);
      this.hosts.set(h.netns, h);
    }
    const dev = await TapDevice.create(p.spec);
    const tp = this.io.attach(dev, p.port);
    this.taps.set(p.dev, { plan: p, identity: planIdentity(p), tp });
    if (h) await configureHost(h);
    await tp.ready; // "tap up" means its workers read and write
    this.log.info({ dev: p.dev, port: p.port.path, mtu: p.mtu, ...(h ? { host: h.name, netns: h.netns, ifname: h.iface.name } : {}) }, 'tap up');
  }

  private async removeTap(e: TapEntry, why: string): Promise<void> {
    await this.io.detach(e.tp, this.opts.drainMs);
    this.taps.delete(e.plan.dev);
    this.log.info({ dev: e.plan.dev, why }, 'tap removed');
  }

  /** Whether a thread's failure to take its SCHED_FIFO priority was logged (once: they all fail alike). */
  private rtWarned = false;

  private realtimeFailed(thread: string, message: string | null): void {
    if (this.rtWarned) return;
    this.rtWarned = true;
    this.log.warn({ thread, rtPriority: this.opts.rtPriority, msg2: message }, `cannot give the forwarding threads SCHED_FIFO priority ${this.opts.rtPriority} (${message}); they run at the daemon's nice level`);
  }

  private tapEvent(ev: TapPortEvent): void {
    const dev = ev.port.dev;
    if (ev.kind === 'realtime') return this.realtimeFailed(`tap-${ev.role} ${dev}`, ev.message);
    if (ev.kind === 'gone') {
      this.tapsGone++;
      this.log.warn({ dev, role: ev.role, code: ev.code, tapsGone: this.tapsGone }, `TAP ${dev} disappeared (deleted?); its port is down, the others keep running; reload (SIGHUP) re-creates it`);
    } else {
      this.log.error({ dev, role: ev.role, code: ev.code, msg2: ev.message }, `TAP ${dev} failed; its port is down; reload (SIGHUP) re-creates it`);
    }
    if (ev.port.port) ev.port.port.up = false;
    const dp = this.partitioned;
    if (dp) {
      // A datapath worker writes to the descriptor: it stops writing, and the
      // descriptor stays open until stop (a closed number could be reused by the next open).
      const e = [...this.taps.values()].find((x) => x.tp === ev.port);
      if (e?.edge !== undefined) dp.tapDown(e.edge);
      return;
    }
    // Release its descriptor, workers and slots now; the entry stays until a reload replaces it.
    ev.port.close(0).catch((err) => this.log.error({ err, dev }, 'closing a lost TAP failed'));
  }

  /** Re-read the topology file; a broken file leaves everything as it is. */
  reload(): Promise<ReloadResult> {
    this.reloading = afterSettled(this.reloading, () =>
      this.doReload().catch((err: unknown) => {
        this.log.error({ err }, 'reload failed (internal error); still running the previous topology');
        throw err;
      }),
    );
    return this.reloading;
  }

  private async doReload(): Promise<ReloadResult> {
    const res = emptyResult(false);
    if (this.stopping) {
      res.errors.push('the daemon is stopping');
      return res;
    }
    const file = this.opts.file;
    const r = loadTopologyFile(file);
    if (!r.ok) {
      res.errors = r.errors.map(formatError);
      this.log.error({ file, errors: res.errors }, `reload refused: ${file} has ${res.errors.length} error(s); still running the previous topology`);
      return res;
    }
    const t = r.topology;
    let emu2: Emulator;
    let plans: TapPlan[];
    try {
      checkNodes(t, this.opts.nodes);
      const need = maxTapMtu(t, this.opts.lab ?? false) + L2_OVERHEAD;
      if (need > this.io.maxFrame) {
        throw new DaemonError(`an MTU of ${need - L2_OVERHEAD} needs ${need}-byte frames; the running slab takes ${this.io.maxFrame}`, 'restart the daemon to use the larger MTU');
      }
      emu2 = this.build(t);
      plans = planTaps(emu2, this.opts.lab ?? false);
      if (this.opts.lab) checkHostNames(plans.flatMap((p) => (p.host ? [p.host] : [])));
    } catch (e) {
      res.errors = [e instanceof DaemonError || e instanceof TapError ? `${e.message} (${(e as DaemonError).hint})` : String((e as Error).message ?? e)];
      this.log.error({ file, errors: res.errors }, 'reload refused; still running the previous topology');
      return res;
    }
    if (this.partitioned) return this.reloadPartitioned(this.partitioned, emu2, plans, res);

    const want = new Map(plans.map((p) => [p.dev, p]));
    // 1. TAPs no longer wanted, lost, or with other host settings go.
    const recreate: TapPlan[] = [];
    for (const e of [...this.taps.values()]) {
      const p = want.get(e.plan.dev);
      if (!p) {
        await this.removeTap(e, 'not in the topology any more');
        res.removed.push(e.plan.dev);
      } else if (e.tp.state !== 'running' || planIdentity(p) !== e.identity) {
        const why = e.tp.state !== 'running' ? `was ${e.tp.state}` : 'its settings changed';
        await this.removeTap(e, why);
        if (e.plan.host && (!p.host || planIdentity(p) !== e.identity)) await this.dropHost(e.plan.host);
        recreate.push(p);
      }
    }
    // Lab namespaces that no TAP uses any more.
    for (const [name, h] of [...this.hosts]) {
      if (!plans.some((p) => p.host?.netns === name)) await this.dropHost(h);
    }
    // 2. Swap: kept TAPs move to the new engine's ports; learned state follows where it still applies.
    const old = this.emu;
    const carried = carryState(old.engine, emu2.engine);
    releaseHeld(old.engine);
    for (const e of this.taps.values()) {
      const p = want.get(e.plan.dev)!;
      this.io.bindPort(e.tp, p.port);
      await keepTap(e, p, res);
    }
    this.emu = emu2;
    for (const fn of this.swapListeners) {
      try {
        fn(emu2);
      } catch (err) {
        this.log.error({ err }, 'a reload listener failed');
      }
    }
    // 3. New and re-created TAPs.
    for (const p of plans) {
      if (this.taps.has(p.dev)) continue;
      const again = recreate.includes(p);
      try {
        await this.createTap(p);
        (again ? res.recreated : res.added).push(p.dev);
      } catch (err) {
        res.errors.push(err instanceof TapError ? `${err.message} (${err.hint})` : String(err));
      }
    }
    res.ok = res.errors.length === 0;
    this.log[res.ok ? 'info' : 'warn'](
      { file, added: res.added, removed: res.removed, kept: res.kept, recreated: res.recreated, stateCarried: carried.carried, stateNotCarried: carried.notCarried, learnedCarried: carried.learned, errors: res.errors },
      res.ok ? 'reloaded' : 'reloaded with errors',
    );
    return res;
  }

  /**
   * Reload with datapath workers: TAPs go, stay or are re-created as inline,
   * and a new set of workers replaces the running one, continuing the
   * conntrack of namespaces that are still there (same node and name). The
   * new workers are built while the old ones forward, then the old ones hand
   * over their tables and stop, the new ones take them and forward, and the
   * kept TAPs' rx threads feed them: only frames in flight at the switch are
   * lost. A TAP to re-create (deleted from outside, or other host settings)
   * is written by the old workers until they stop, so then they stop first,
   * and nothing forwards until the new ones are built (a few hundred ms).
   * The rest of the learned state (fdbs, neighbours, learn() flows) goes as
   * the old workers journaled it whole, as the inline reload hands it over.
   */
  private async reloadPartitioned(old: PartitionedDatapath, emu2: Emulator, plans: TapPlan[], res: ReloadResult): Promise<ReloadResult> {
    const file = this.opts.file;
    const want = new Map(plans.map((p) => [p.dev, p]));
    const links = old.rxLinks();
    const removed: TapEntry[] = [], recreate: { e: TapEntry; p: TapPlan }[] = [], kept: { p: TapPlan; e: TapEntry; rx: RxLink }[] = [];
    for (const e of this.taps.values()) {
      const p = want.get(e.plan.dev);
      const rx = e.edge !== undefined ? links.get(e.edge) : undefined;
      if (!p) removed.push(e);
      else if (e.tp.state !== 'running' || planIdentity(p) !== e.identity || !rx) recreate.push({ e, p });
      else kept.push({ p, e, rx });
    }
    const retire = async (): Promise<Map<string, CtStoreBuffers>> => {
      const t = await old.retire();
      for (const e of [...removed, ...recreate.map((r) => r.e)]) if (e.edge !== undefined) links.get(e.edge)?.toRx.close();
      return t;
    };
    let tables: Map<string, CtStoreBuffers> | null = null;
    if (recreate.length) {
      // Their devices go before new ones of the same name, and the old workers write to them until they stop.
      tables = await retire();
      for (const { e, p } of recreate) {
        await this.removeTap(e, e.tp.state !== 'running' ? `was ${e.tp.state}` : 'its settings changed');
        if (e.plan.host && (!p.host || planIdentity(p) !== e.identity)) await this.dropHost(e.plan.host);
      }
    }
    const made: { p: TapPlan; dev: TapDevice }[] = [];
    for (const p of plans) {
      if (this.taps.has(p.dev)) continue;
      try {
        made.push({ p, dev: await this.makeTapDevice(p) });
      } catch (err) {
        res.errors.push(err instanceof TapError ? `${err.message} (${err.hint})` : String(err));
      }
    }
    let dp: PartitionedDatapath;
    try {
      dp = await this.startDatapath(emu2.topology, old.workers, made, kept, true);
    } catch (err) {
      for (const { dev } of made) await dev.remove();
      res.errors.push(`the new datapath workers did not start: ${err instanceof DaemonError ? `${err.message} (${err.hint})` : String((err as Error).message ?? err)}`);
      if (!tables) {
        // The old workers run on: nothing changed (lab namespaces made for the new TAPs go too).
        for (const [name, h] of [...this.hosts]) if (![...this.taps.values()].some((e) => e.plan.host?.netns === name)) await this.dropHost(h);
        this.log.error({ file, errors: res.errors }, 'reload refused; still running the previous topology');
        return res;
      }
      this.log.error({ file, errors: res.errors }, 'reload failed: no datapath workers run until the next reload');
      return res;
    }
    tables ??= await retire();
    // Conntrack and the learned fdb entries, neighbours and learn() flows (journaled whole by the retired workers).
    const learned = old.learnedState();
    await dp.adopt(tables, learned);
    this.partitioned = dp;
    this.emu = emu2;
    for (const { p, e } of kept) {
      e.edge = dp.topology.edges.findIndex((x) => x.kind === 'tap' && x.dev === p.dev);
      await keepTap(e, p, res);
    }
    for (const e of removed) {
      await this.removeTap(e, 'not in the topology any more');
      res.removed.push(e.plan.dev);
    }
    for (const [name, h] of [...this.hosts]) {
      if (!plans.some((p) => p.host?.netns === name)) await this.dropHost(h);
    }
    await this.attachTaps(dp, made);
    for (const { p } of made) (recreate.some((r) => r.p === p) ? res.recreated : res.added).push(p.dev);
    for (const fn of this.swapListeners) {
      try {
        fn(emu2);
      } catch (err) {
        this.log.error({ err }, 'a reload listener failed');
      }
    }
    res.ok = res.errors.length === 0;
    const carried = tables;
    this.log[res.ok ? 'info' : 'warn'](
      { file, added: res.added, removed: res.removed, kept: res.kept, recreated: res.recreated, workers: dp.workers, stateCarried: emu2.engine.elements.filter((el) => carried.has(conntrackKey(el.node, el.name))).map((el) => `${el.node}:${el.name} conntrack`), learnedCarried: learned.reduce((n, [, r]) => n + r.length, 0), errors: res.errors },
      res.ok ? 'reloaded' : 'reloaded with errors',
    );
    return res;
  }

  private async dropHost(h: Host): Promise<void> {
    if (!this.hosts.has(h.netns)) return;
    this.hosts.delete(h.netns);
    await removeHostNetns(h);
    this.log.info({ host: h.name, netns: h.netns }, 'lab host removed');
  }

  /** Stop reading, drain, delete the TAPs and the lab namespaces. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info({ taps: this.taps.size, hosts: this.hosts.size }, 'stopping');
      await this.reloading.catch(() => undefined);
      if (this.partitioned) {
        // Reading stops first, then the workers (the writers), and only then are the devices deleted and closed.
        for (const tp of this.io.ports) tp.stopReading();
        await this.partitioned.stop();
      }
      await this.io.stopAll(this.opts.drainMs);
      const taps = [...this.taps.keys()];
      this.taps.clear();
      const netns: string[] = [];
      for (const h of [...this.hosts.values()]) {
        try {
          await this.dropHost(h);
          netns.push(h.netns);
        } catch (err) {
          this.log.error({ err, netns: h.netns }, `could not remove namespace ${h.netns}: remove it with ip netns del ${h.netns}`);
        }
      }
      this.log.info({ tapsRemoved: taps, netnsRemoved: netns }, 'stopped');
    })();
    return this.stopping;
  }

  /** TAP states and counters (logs, the control socket). */
  status(): { dev: string; port: string; state: string; counters: Record<string, number> }[] {
    return [...this.taps.values()].map((e) => ({ dev: e.plan.dev, port: e.plan.port.path, state: e.tp.state, counters: e.tp.counters() }));
  }
}

/** `next` once `prev` has settled either way: one reload that threw must not fail every later one. */
export function afterSettled<T>(prev: Promise<unknown>, next: () => Promise<T>): Promise<T> {
  return prev.then(next, next);
}

/** A TAP the reloaded topology keeps: its new plan, and its new MTU if that changed (a failure is reported, not fatal). */
async function keepTap(e: TapEntry, p: TapPlan, res: ReloadResult): Promise<void> {
  if (p.mtu !== e.plan.mtu) {
    try {
      await e.tp.device.setMtu(p.mtu);
    } catch (err) {
      res.errors.push(`${p.dev}: setting MTU ${p.mtu} failed: ${(err as Error).message}`);
    }
  }
  e.plan = p;
  res.kept.push(p.dev);
}

function emptyResult(ok: boolean): ReloadResult {
  return { ok, errors: [], added: [], removed: [], kept: [], recreated: [] };
}

function load(file: string): Topology {
  const r = loadTopologyFile(file);
  if (r.ok) return r.topology;
  const lines = r.errors.map(formatError);
  const unreadable = r.errors.length === 1 && /cannot read the file/.test(r.errors[0]!.message);
  throw new DaemonError(
    unreadable ? `cannot read topology file ${file}: ${r.errors[0]!.message.replace(/^cannot read the file: /, '')}` : `topology file ${file} has ${lines.length} error(s)`,
    unreadable ? 'give an existing file: dpemu run [FILE] (default configs/lab-dvr-snat.yaml)' : `fix them and start again (dpemu check ${file} lists them)`,
    unreadable ? [] : lines,
  );
}

function checkNodes(t: Topology, nodes: readonly string[] | undefined): void {
  if (!nodes) return;
  const known = [...t.nodes.map((n) => n.name), ...t.gateways.map((g) => g.name)];
  const bad = nodes.filter((n) => !known.includes(n));
  if (bad.length) throw new DaemonError(`no node ${bad.join(', ')} in ${t.file}`, `choose among: ${known.join(', ')}`);
}

/** The largest MTU of any TAP the file may ask for (with or without lab hosts). */
function maxTapMtu(t: Topology, lab: boolean): number {
  let mtu = 0;
  for (const e of t.edges) {
    if (e.kind !== 'tap') continue;
    const h = lab && e.host ? t.hosts.find((x) => x.name === e.host) : undefined;
    mtu = Math.max(mtu, h ? h.iface.mtu : portMtu(t, e.port));
  }
  return mtu;
}

/** A slot big enough for the largest TAP frame, one byte to spot longer ones, and encapsulation. */
export function slotSizeFor(mtu: number): number {
  const need = HEADROOM + mtu + L2_OVERHEAD + ENCAP_ROOM + 1;
  return Math.max(DEFAULT_SLOT_SIZE, Math.ceil(need / 64) * 64);
}
