// One TAP device plugged into one edge port of the engine: the engine-thread
// side of the port's two workers (workers/tap-io.ts). Frames read by the rx
// worker are injected at `port`; frames the engine emits at `port` are copied
// into a fresh slot (the engine frees the packet when emit returns) and
// queued for the tx worker. Nothing here blocks: read(2) and write(2) happen
// on the workers.
//
// Under `dpemu run --workers N` the port is given a hand-off to the datapath
// worker that owns its node (TapHandoff): only the rx worker runs, feeding
// that worker directly, and that worker writes to the device; this thread
// only starts, watches and stops the rx worker.
import type { Worker } from 'node:worker_threads';
import type { EdgeSink, Port } from '../datapath/element.js';
import { BATCH, type Engine } from '../datapath/engine.js';
import type { Packet, PacketPool } from '../datapath/packet.js';
import { HEADROOM } from '../datapath/packet.js';
import { readFileSync, writeSync } from 'node:fs';
import { observeNs } from '../metrics/histogram.js';
import { TapShared, CTL, EXIT, RC, TC, TS, WC, TAP_STAT_NAMES, monoMs, type TapCells, type TapHandoff, type TapWorkerData } from './tap-shared.js';
import type { Stats } from '../datapath/stats.js';
import type { TapDevice } from './tap-device.js';
import { spawnWorker, workerUrl } from './spawn-worker.js';

/** Slots handed out by the engine thread, and to which port (for teardown). */
export class SlotTable {
  readonly bySlot: (Packet | null)[];
  readonly owner: Int32Array;
  /** Per slot: when its frame was read, for the read-to-write histogram (TapWorkerData.stamps). */
  readonly stampsSab: SharedArrayBuffer;
  readonly stamps: Float64Array;
  /** True while TapIo.poll drains the ports: tx workers are woken once at its end, not per frame. */
  batching = false;
  constructor(readonly pool: PacketPool) {
    this.bySlot = new Array(pool.slots).fill(null);
    this.owner = new Int32Array(pool.slots);
    this.stampsSab = new SharedArrayBuffer(pool.slots * 8);
    this.stamps = new Float64Array(this.stampsSab);
  }
  lend(p: Packet, portId: number): void {
    this.bySlot[p.slot] = p;
    this.owner[p.slot] = portId;
  }
  take(slot: number): Packet | null {
    const p = this.bySlot[slot] ?? null;
    this.bySlot[slot] = null;
    this.owner[slot] = 0;
    return p;
  }
  /** Free every slot still lent to `portId` (its workers have exited). */
  reclaim(portId: number): number {
    let n = 0;
    for (let s = 0; s < this.owner.length; s++) {
      if (this.owner[s] !== portId) continue;
      const p = this.take(s);
      if (p) {
        this.pool.free(p);
        n++;
      }
    }
    return n;
  }
}

/** Frames per poll and TAP the engine thread writes itself when the writer sleeps (see emit). */
const DIRECT_PER_POLL = 4;

export type TapPortState = 'running' | 'gone' | 'failed' | 'stopped';

export interface TapPortEvent {
  port: TapPort;
  /** realtime: a worker could not take its SCHED_FIFO priority (it runs on as it was). */
  kind: 'gone' | 'failed' | 'realtime';
  role: 'rx' | 'tx';
  code: string | null;
  message: string | null;
}

export interface TapPortOptions {
  /** Ring capacity (a power of two). */
  capacity: number;
  /** Slots kept with the rx worker for the next reads. */
  rxDepth: number;
  /** Bytes offered to read(2); frames of this length or more are dropped as oversize. */
  readLen: number;
  /** SCHED_FIFO priority of the port's workers (src/io/realtime.ts); 0: none. */
  rtPriority: number;
}

export class TapPort implements EdgeSink {
  readonly shared: TapShared;
  state: TapPortState = 'running';
  /** The engine port frames enter and leave by (re-pointed on reload). */
  port: Port | null = null;
  private rxWorker: Worker | null = null;
  private txWorker: Worker | null = null;
  private rxExit: Promise<void> = Promise.resolve();
  private txExit: Promise<void> = Promise.resolve();
  /** Settles once both workers run their loops (or have exited): from then on frames flow. */
  ready: Promise<void> = Promise.resolve();
  /** With a handoff: frames waiting on its channel now (it is replaced when the worker is restarted, so asked each time). */
  handoffQueued: (() => number) | null = null;
  /** Slots with the rx worker (free ring, in a read, rx ring). */
  private given = 0;
  /** Slots in the tx and done rings. */
  private txInflight = 0;
  private reported = false;
  /** Workers' CPU seconds from earlier threads of the same cells (a TAP re-created keeps its counters). */
  private readonly busyCarry: { rx: number; tx: number };

  constructor(
    readonly id: number,
    readonly device: TapDevice,
    private readonly slots: SlotTable,
    private readonly doorbell: SharedArrayBuffer,
    readonly opts: TapPortOptions,
    private readonly onEvent: (ev: TapPortEvent) => void,
    /** Where this port's cells are (published as metrics). */
    readonly stats: Stats,
    readonly cells: TapCells,
    /** Feed a datapath worker directly (frames never reach this thread's rings). */
    readonly handoff: TapHandoff | null = null,
  ) {
    this.shared = new TapShared(opts.capacity);
    const v = stats.v;
    this.busyCarry = { rx: v[cells.rxWorker + WC.BUSY_SECONDS]!, tx: v[cells.txWorker + WC.BUSY_SECONDS]! };
    v[cells.rxRing + RC.CAPACITY] = v[cells.txRing + RC.CAPACITY] = opts.capacity;
  }

  /**
   * Bring the cells that are states, not counts, up to date (at scrape time):
   * ring occupancy, and each worker's busy seconds, its thread's CPU time as
   * the scheduler counts it (/proc/self/task/TID/schedstat, first field, ns):
   * time blocked in read(2) or asleep on a ring is idle.
   */
  refreshStats(): void {
    const v = this.stats.v, c = this.cells, sh = this.shared;
    v[c.rxRing + RC.OCCUPANCY] = this.handoff ? (this.handoffQueued?.() ?? 0) : sh.rx.size;
    v[c.txRing + RC.OCCUPANCY] = sh.tx.size;
    for (const [role, cell, word] of [['rx', c.rxWorker, CTL.RX_TID], ['tx', c.txWorker, CTL.TX_TID]] as const) {
      const tid = Atomics.load(sh.ctl, word);
      if (!tid) continue;
      try {
        const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
        if (ns > 0) v[cell + WC.BUSY_SECONDS] = this.busyCarry[role] + ns / 1e9;
      } catch {
        // The thread has exited: its last reading stands.
      }
    }
  }

  get dev(): string {
    return this.device.spec.dev;
  }

  /** Counters by name, for logs, the control socket and tests (metrics read the Stats cells). */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    TAP_STAT_NAMES.forEach((n, i) => (out[n.replace(/^tap_/, '')] = this.stats.v[this.cells.tap + i]!));
    for (const k of Object.keys(TC) as (keyof typeof TC)[]) out[k.toLowerCase()] = this.shared.counters[TC[k]]!;
    return out;
  }

  start(): void {
    const pool = this.slots.pool;
    const base: Omit<TapWorkerData, 'role'> = {
      fd: this.device.fd,
      dev: this.dev,
      slab: pool.sab,
      slotSize: pool.slotSize,
      headroom: HEADROOM,
      readLen: this.opts.readLen,
      shared: this.shared.sab,
      capacity: this.opts.capacity,
      doorbell: this.doorbell,
      statsSab: this.stats.sab,
      cells: this.cells,
      stamps: this.slots.stampsSab,
      rtPriority: this.opts.rtPriority,
    };
    const url = workerUrl('tap-io');
    if (this.handoff) {
      const rx = spawnWorker(url, { ...base, role: 'rx', handoff: this.handoff }, { name: `tap-rx ${this.dev}`, transferList: [this.handoff.port] });
      this.rxWorker = rx;
      const rxUp = this.watch(rx, 'rx');
      this.rxExit = rxUp.exited;
      this.ready = rxUp.ready;
      return;
    }
    this.refill();
    const rx = spawnWorker(url, { ...base, role: 'rx' }, { name: `tap-rx ${this.dev}` });
    const tx = spawnWorker(url, { ...base, role: 'tx' }, { name: `tap-tx ${this.dev}` });
    this.rxWorker = rx;
    this.txWorker = tx;
    const rxUp = this.watch(rx, 'rx'), txUp = this.watch(tx, 'tx');
    this.rxExit = rxUp.exited;
    this.txExit = txUp.exited;
    this.ready = Promise.all([rxUp.ready, txUp.ready]).then(() => undefined);
  }

  private watch(w: Worker, role: 'rx' | 'tx'): { ready: Promise<void>; exited: Promise<void> } {
    let up!: () => void;
    const ready = new Promise<void>((r) => (up = r));
    const exited = new Promise<void>((resolve) => {
      w.on('message', (m: { ready?: true; rtError?: string | null; exit: number; code: string | null; message: string | null }) => {
        if (m.ready) {
          if (m.rtError) this.onEvent({ port: this, kind: 'realtime', role, code: null, message: m.rtError });
          return up();
        }
        if (m.exit === EXIT.GONE || m.exit === EXIT.ERROR) this.report(m.exit === EXIT.GONE ? 'gone' : 'failed', role, m.code, m.message);
      });
      w.on('error', (e) => this.report('failed', role, 'worker_error', String(e)));
      w.on('exit', () => {
        up();
        resolve();
      });
    });
    return { ready, exited };
  }

  private report(kind: 'gone' | 'failed', role: 'rx' | 'tx', code: string | null, message: string | null): void {
    if (this.state === 'stopped') return;
    this.state = kind;
    if (this.reported) return;
    this.reported = true;
    this.onEvent({ port: this, kind, role, code, message });
  }

  /** Keep the rx worker supplied with empty slots; false when the slab ran dry. */
  refill(): boolean {
    const free = this.shared.free, pool = this.slots.pool;
    let ok = true;
    while (this.given < this.opts.rxDepth) {
      const p = pool.alloc();
      if (!p) {
        ok = false;
        break;
      }
      this.slots.lend(p, this.id);
      free.push(p.slot);
      this.given++;
    }
    return ok;
  }

  /**
   * Move what the workers produced: written slots back to the pool, read
   * frames into the engine. Returns the frames injected.
   */
  poll(budget: number): number {
    if (this.handoff) return 0;
    const sh = this.shared, slots = this.slots, pool = slots.pool;
    for (let s = sh.done.shift(); s >= 0; s = sh.done.shift()) {
      const p = slots.take(s);
      if (p) pool.free(p);
      this.txInflight--;
    }
    const rx = sh.rx, w = rx.words, stamps = slots.stamps;
    let n = 0;
    // Frames run in batches of BATCH (Engine.beginBatch), as a datapath worker runs what it takes from a ring.
    let held: Engine | null = null;
    try {
      for (let i = rx.peek(); i >= 0 && n < budget; i = rx.peek()) {
        const slot = w[i]!, len = w[i + 1]!;
        rx.release();
        this.given--;
        const p = slots.take(slot);
        if (!p) continue; // not ours: cannot happen unless the table was reclaimed
        if (!this.refill()) sh.counters[TC.RX_STARVED]!++;
        p.len = len;
        p.stamp = stamps[slot]!;
        const port = this.port;
        if (!port) {
          pool.free(p);
          continue;
        }
        if (held === null) (held = port.element.engine).beginBatch();
        held.inject(p, port);
        if (++n % BATCH === 0) {
          const e = held;
          held = null;
          e.endBatch();
        }
      }
    } finally {
      held?.endBatch();
    }
    if (this.given < this.opts.rxDepth) this.refill();
    return n;
  }

  /**
   * EdgeSink: the engine sends `pkt` out of this TAP. Written here, on the
   * engine thread, when the writer sleeps with nothing queued and this poll
   * has written fewer than DIRECT_PER_POLL frames to the TAP so: at light
   * load that saves a wake-up and a context switch per frame (a write to a
   * TAP never blocks). Otherwise copied into a slot for the tx worker (the
   * engine frees `pkt` when this returns), so a flood's writes stay off this
   * thread.
   */
  emit(pkt: Packet, _port: Port): void {
    const v = this.stats.v, sh = this.shared;
    if (this.state === 'running' && this.directLeft > 0 && sh.tx.size === 0 && Atomics.load(sh.ctl, CTL.TX_WAITING) !== 0) {
      // Nothing queued and the writer asleep: every frame before this one is written, so order holds,
      // and the writer bumps no cell until it is given a frame after this write.
      if (this.slots.batching) this.directLeft--;
      this.writeDirect(pkt);
      return;
    }
    if (this.state !== 'running' || this.txInflight >= this.opts.capacity) {
      v[this.cells.tap + TS.TX_DROPPED]!++;
      if (this.state === 'running') v[this.cells.txRing + RC.DROPS]!++; // the tx worker is behind: ring full
      return;
    }
    const pool = this.slots.pool;
    // A frame that grew into its headroom (tags, encapsulation) may not fit a slot at the standard offset.
    const q = pkt.len <= pool.maxFrame ? pool.alloc() : null;
    if (!q) {
      this.stats.v[this.cells.tap + TS.TX_DROPPED]!++;
      return;
    }
    pool.buf.copyWithin(q.off, pkt.off, pkt.off + pkt.len);
    this.slots.lend(q, this.id);
    this.slots.stamps[q.slot] = pkt.stamp;
    this.shared.tx.push(q.slot, pkt.len);
    v[this.cells.txRing + RC.ENQUEUED]!++;
    this.txInflight++;
    if (!this.slots.batching) this.shared.wakeTx();
  }

  /** Frames this poll may still write on the engine thread. */
  private directLeft = DIRECT_PER_POLL;

  /** A new poll of all ports begins (TapIo.poll). */
  resetDirect(): void {
    this.directLeft = DIRECT_PER_POLL;
  }

  private writeDirect(pkt: Packet): void {
    const v = this.stats.v, tap = this.cells.tap;
    try {
      writeSync(this.device.fd, pkt.buf, pkt.off, pkt.len);
    } catch {
      // As the tx worker: the frame is lost and counted; a deleted device is the rx worker's to report.
      v[tap + TS.TX_ERRORS]!++;
      return;
    }
    v[tap + TS.TX_PACKETS]!++;
    v[tap + TS.TX_BYTES]! += pkt.len;
    this.shared.counters[TC.TX_DIRECT]!++;
    const t0 = pkt.stamp;
    if (t0 !== 0) observeNs(v, this.cells.e2e, (monoMs() - t0) * 1e6);
  }

  /** Stop passing on what is read from now on (step 1 of a clean stop). */
  stopReading(): void {
    this.shared.requestStopRx();
  }

  /**
   * Finish: let the tx worker write what is queued (up to `drainMs`), delete
   * the device (which wakes the rx worker out of read(2)), wait for both
   * workers, and free every slot they held.
   */
  async close(drainMs = 1000): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    this.shared.requestStopRx();
    this.shared.requestStopTx();
    if (wasRunning) await withTimeout(this.txExit, drainMs);
    await this.device.remove();
    const exited = await withTimeout(Promise.all([this.rxExit, this.txExit]), 2000);
    if (!exited) {
      // A worker still stuck in a system call: end it rather than hang the daemon.
      await Promise.all([this.rxWorker?.terminate(), this.txWorker?.terminate()]);
    }
    // Only now may the engine thread touch the workers' ends of the rings.
    for (let s = this.shared.tx.shift(); s >= 0; s = this.shared.tx.shift()) void s;
    this.slots.reclaim(this.id);
    this.given = this.txInflight = 0;
    this.port = null;
  }

  /** Whether the workers left something to drain: frames read, or slots written. */
  get pending(): boolean {
    return this.shared.rx.size > 0 || this.shared.done.size > 0;
  }

  /** Whether a worker has exited for a reason other than a requested stop. */
  get workersDown(): boolean {
    const ctl = this.shared.ctl;
    return Atomics.load(ctl, CTL.RX_EXIT) > EXIT.STOPPED || Atomics.load(ctl, CTL.TX_EXIT) > EXIT.STOPPED;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(
      () => {
        clearTimeout(t);
        resolve(true);
      },
      () => {
        clearTimeout(t);
        resolve(true);
      },
    );
  });
}
