// One TAP device plugged into one edge port of the engine: the engine-thread
// side of the port's two workers (workers/tap-io.ts). Frames read by the rx
// worker are injected at `port`; frames the engine emits at `port` are copied
// into a fresh slot (the engine frees the packet when emit returns) and
// queued for the tx worker. Nothing here blocks: read(2) and write(2) happen
// on the workers.
import type { Worker } from 'node:worker_threads';
import type { EdgeSink, Port } from '../datapath/element.js';
import type { Packet, PacketPool } from '../datapath/packet.js';
import { HEADROOM } from '../datapath/packet.js';
import { TapShared, CTL, EXIT, TC, TS, TAP_STAT_NAMES, type TapWorkerData } from './tap-shared.js';
import type { Stats } from '../datapath/stats.js';
import type { TapDevice } from './tap-device.js';
import { spawnWorker, workerUrl } from './spawn-worker.js';

/** Slots handed out by the engine thread, and to which port (for teardown). */
export class SlotTable {
  readonly bySlot: (Packet | null)[];
  readonly owner: Int32Array;
  constructor(readonly pool: PacketPool) {
    this.bySlot = new Array(pool.slots).fill(null);
    this.owner = new Int32Array(pool.slots);
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

export type TapPortState = 'running' | 'gone' | 'failed' | 'stopped';

export interface TapPortEvent {
  port: TapPort;
  kind: 'gone' | 'failed';
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
  /** Slots with the rx worker (free ring, in a read, rx ring). */
  private given = 0;
  /** Slots in the tx and done rings. */
  private txInflight = 0;
  private reported = false;

  constructor(
    readonly id: number,
    readonly device: TapDevice,
    private readonly slots: SlotTable,
    private readonly doorbell: SharedArrayBuffer,
    readonly opts: TapPortOptions,
    private readonly onEvent: (ev: TapPortEvent) => void,
    /** Where this port's TAP_STAT_NAMES cells are (published as metrics). */
    readonly stats: Stats,
    readonly statsBase: number,
  ) {
    this.shared = new TapShared(opts.capacity);
  }

  get dev(): string {
    return this.device.spec.dev;
  }

  /** Counters by name, for logs, the control socket and tests (metrics read the Stats cells). */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    TAP_STAT_NAMES.forEach((n, i) => (out[n.replace(/^tap_/, '')] = this.stats.v[this.statsBase + i]!));
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
      statsBase: this.statsBase,
    };
    const url = workerUrl('tap-io');
    this.refill();
    const rx = spawnWorker(url, { ...base, role: 'rx' }, { name: `tap-rx ${this.dev}` });
    const tx = spawnWorker(url, { ...base, role: 'tx' }, { name: `tap-tx ${this.dev}` });
    this.rxWorker = rx;
    this.txWorker = tx;
    this.rxExit = this.watch(rx, 'rx');
    this.txExit = this.watch(tx, 'tx');
  }

  private watch(w: Worker, role: 'rx' | 'tx'): Promise<void> {
    return new Promise((resolve) => {
      w.on('message', (m: { exit: number; code: string | null; message: string | null }) => {
        if (m.exit === EXIT.GONE || m.exit === EXIT.ERROR) this.report(m.exit === EXIT.GONE ? 'gone' : 'failed', role, m.code, m.message);
      });
      w.on('error', (e) => this.report('failed', role, 'worker_error', String(e)));
      w.on('exit', () => resolve());
    });
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
    const wasEmpty = free.size === 0;
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
    if (wasEmpty && free.size) free.notifyConsumer();
    return ok;
  }

  /**
   * Move what the workers produced: written slots back to the pool, read
   * frames into the engine. Returns the frames injected.
   */
  poll(budget: number): number {
    const sh = this.shared, slots = this.slots, pool = slots.pool;
    for (let s = sh.done.shift(); s >= 0; s = sh.done.shift()) {
      const p = slots.take(s);
      if (p) pool.free(p);
      this.txInflight--;
    }
    const rx = sh.rx, w = rx.words;
    let n = 0;
    for (let i = rx.peek(); i >= 0 && n < budget; i = rx.peek()) {
      const slot = w[i]!, len = w[i + 1]!;
      rx.release();
      this.given--;
      const p = slots.take(slot);
      if (!p) continue; // not ours: cannot happen unless the table was reclaimed
      if (!this.refill()) sh.counters[TC.RX_STARVED]!++;
      p.len = len;
      const port = this.port;
      if (!port) {
        pool.free(p);
        continue;
      }
      n++;
      port.element.engine.inject(p, port);
    }
    if (this.given < this.opts.rxDepth) this.refill();
    return n;
  }

  /** EdgeSink: the engine sends `pkt` out of this TAP (copy: the engine frees it on return). */
  emit(pkt: Packet, _port: Port): void {
    if (this.state !== 'running' || this.txInflight >= this.opts.capacity) {
      this.stats.v[this.statsBase + TS.TX_DROPPED]!++;
      return;
    }
    const pool = this.slots.pool;
    // A frame that grew into its headroom (tags, encapsulation) may not fit a slot at the standard offset.
    const q = pkt.len <= pool.maxFrame ? pool.alloc() : null;
    if (!q) {
      this.stats.v[this.statsBase + TS.TX_DROPPED]!++;
      return;
    }
    pool.buf.copyWithin(q.off, pkt.off, pkt.off + pkt.len);
    this.slots.lend(q, this.id);
    const tx = this.shared.tx;
    const wasEmpty = tx.size === 0;
    tx.push(q.slot, pkt.len);
    this.txInflight++;
    if (wasEmpty) tx.notifyConsumer();
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
