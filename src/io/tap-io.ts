// The engine thread's side of every TAP port: one doorbell that the workers
// ring when they have put frames or written slots in a ring while this thread
// sleeps, and a loop that sleeps on it with Atomics.waitAsync (the main thread
// must never block) and drains all ports when woken. Under load it never
// sleeps: it drains, yields once to the event loop (setImmediate) and drains
// again, and the workers see it awake and ring no bell. The engine runs on
// this thread, what each port read in batches of up to 64 frames
// (Engine.beginBatch); timers (ageing, ARP, conntrack) are advanced by `onTick` at least
// every `tickMs`.
//
// Under `dpemu run --workers N` (attachHandoff) a port's rx worker feeds a
// datapath worker directly and that worker writes; this loop is not started,
// and the ports are here for their cells, their events and a clean stop.
import type { Port } from '../datapath/element.js';
import type { PacketPool } from '../datapath/packet.js';
import { Stats } from '../datapath/stats.js';
import { allocHistogram } from '../metrics/histogram.js';
import { BELL, BELL_BYTES, RING_COUNTERS, TAP_STAT_NAMES, WORKER_COUNTERS, type TapCells } from './tap-shared.js';
import { SlotTable, TapPort, type TapPortEvent, type TapPortOptions } from './tap-port.js';
import type { TapDevice } from './tap-device.js';
import type { TapHandoff } from './tap-shared.js';

// Atomics.waitAsync (V8, Node >= 16) is ES2024; tsconfig targets ES2022 libs.
type WaitAsync = (ta: Int32Array, index: number, value: number, timeoutMs?: number) =>
  { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Frames queued for a sleeping writer (slots for a sleeping reader) before it is woken while the engine thread still has frames to run. */
const WAKE_BATCH = 64;

export interface TapIoOptions {
  pool: PacketPool;
  /** Where the TAPs' counters go (TAP_STAT_NAMES per TAP; give it to the metrics collectors); default a new one. */
  stats?: Stats;
  /**
   * Ring capacity per port and direction (power of two); default 1024, above
   * a TAP's own queue (txqueuelen 1000): a tx thread held off its core for a
   * few ms then falls behind by less than the kernel would queue for it.
   */
  capacity?: number;
  /** Empty slots kept with each rx worker (what one poll can take from a port); default 128. */
  rxDepth?: number;
  /** Largest frame accepted from a TAP; default the slot's room after headroom, less one. */
  maxFrame?: number;
  tickMs?: number;
  /** SCHED_FIFO priority of every port's workers (src/io/realtime.ts); default 0, none. */
  rtPriority?: number;
  onTick?: () => void;
  onEvent?: (ev: TapPortEvent) => void;
  /** An exception out of the engine or a handler (logged; the loop goes on). */
  onError?: (err: unknown) => void;
}

export class TapIo {
  readonly pool: PacketPool;
  readonly slots: SlotTable;
  readonly stats: Stats;
  readonly ports = new Set<TapPort>();
  private readonly doorbell = new SharedArrayBuffer(BELL_BYTES);
  private readonly bell = new Int32Array(this.doorbell);
  private readonly portOpts: TapPortOptions;
  private nextId = 1;
  private readonly statCells = new Map<string, TapCells>();
  /**
   * performance.now() when the current poll began, 0 outside one: a clock for
   * the engine that costs a field read per packet (it asks several times a
   * packet; timers and ageing need no finer than a batch, at most a few ms).
   */
  batchNow = 0;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private lastTick = 0;

  constructor(private readonly opts: TapIoOptions) {
    this.pool = opts.pool;
    this.slots = new SlotTable(opts.pool);
    this.stats = opts.stats ?? new Stats(4096);
    const capacity = opts.capacity ?? 1024;
    const room = opts.pool.maxFrame; // bytes after the headroom
    const maxFrame = opts.maxFrame ?? room - 1;
    if (maxFrame + 1 > room) throw new RangeError(`maxFrame ${maxFrame} does not fit a slot (${room} bytes after headroom)`);
    this.portOpts = { capacity, rxDepth: Math.min(opts.rxDepth ?? 128, capacity), readLen: maxFrame + 1, rtPriority: opts.rtPriority ?? 0 };
  }

  /** The largest frame a TAP read passes on; longer ones are dropped as oversize. */
  get maxFrame(): number {
    return this.portOpts.readLen - 1;
  }

  /** Plug `device` into engine port `port` and start its workers. */
  attach(device: TapDevice, port: Port): TapPort {
    const tp = new TapPort(this.nextId++, device, this.slots, this.doorbell, this.portOpts, (ev) => this.event(ev), this.stats, this.cellsFor(port.element.node, device.spec.dev));
    this.bindPort(tp, port);
    this.ports.add(tp);
    tp.start();
    return tp;
  }

  /** Start `device`'s rx worker feeding a datapath worker through `handoff` (the TAP at `node`'s edge; that worker writes to it). */
  attachHandoff(device: TapDevice, node: string, handoff: TapHandoff): TapPort {
    const tp = new TapPort(this.nextId++, device, this.slots, this.doorbell, this.portOpts, (ev) => this.event(ev), this.stats, this.cellsFor(node, device.spec.dev), handoff);
    this.ports.add(tp);
    tp.start();
    return tp;
  }

  /** The Stats cells of TAP `dev` at `node`'s edge (allocated on first use). */
  cellsFor(node: string, dev: string): TapCells {
    // A TAP re-created under the same name keeps its cells: its counters go on.
    const key = `${node}\0${dev}`;
    let cells = this.statCells.get(key);
    if (cells === undefined) {
      const st = this.stats;
      cells = {
        tap: st.alloc(TAP_STAT_NAMES, { node, port: dev, worker: `tap-${dev}` }),
        rxWorker: st.alloc(WORKER_COUNTERS, { worker: `tap-rx-${dev}` }),
        txWorker: st.alloc(WORKER_COUNTERS, { worker: `tap-tx-${dev}` }),
        rxRing: st.alloc(RING_COUNTERS, { ring: `${dev}-rx` }),
        txRing: st.alloc(RING_COUNTERS, { ring: `${dev}-tx` }),
        // One histogram per TAP, written by its tx worker or, while that sleeps, the engine thread (or by the
        // datapath worker that owns the node, under --workers N); same-node ones sum at scrape.
        e2e: allocHistogram(st, 'e2e_latency', { node }),
      };
      this.statCells.set(key, cells);
    }
    return cells;
  }

  /** Re-point a running TAP at a port of another engine (reload). */
  bindPort(tp: TapPort, port: Port): void {
    if (tp.port && tp.port.edge === tp) tp.port.edge = null;
    port.element.engine.attachEdge(port, tp);
    tp.port = port;
  }

  /** Stop and remove one TAP (its device is deleted). */
  async detach(tp: TapPort, drainMs?: number): Promise<void> {
    if (tp.port && tp.port.edge === tp) tp.port.edge = null;
    tp.stopReading();
    this.poll(); // what it read before the stop goes through the engine
    await tp.close(drainMs);
    this.ports.delete(tp);
  }

  /** Ring occupancy and worker busy time into their cells: call before reading the Stats. */
  refreshStats(): void {
    for (const tp of this.ports) tp.refreshStats();
  }

  /** Drain every port once; returns the frames injected. */
  poll(): number {
    let n = 0;
    this.slots.batching = true;
    this.batchNow = performance.now();
    for (const tp of this.ports) tp.resetDirect();
    for (const tp of this.ports) {
      try {
        n += tp.poll(this.portOpts.capacity);
      } catch (e) {
        this.opts.onError?.(e);
      }
    }
    this.slots.batching = false;
    this.batchNow = 0;
    // Wake a sleeping writer (a reader waiting for empty slots) once per poll
    // at most, and while more frames wait to be run only when it has a
    // batch's worth: a notify costs this thread microseconds and a context
    // switch on a busy box (the largest item of its profile under a 64-byte
    // flood when it woke the writer after every poll).
    const more = this.pending(), batch = Math.min(WAKE_BATCH, this.portOpts.rxDepth);
    for (const tp of this.ports) {
      const sh = tp.shared, queued = sh.tx.size, free = sh.free.size;
      if (queued > 0 && (!more || queued >= batch)) sh.wakeTx();
      if (free > 0 && (!more || free >= batch)) sh.wakeRx();
    }
    return n;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastTick = Date.now();
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    const tickMs = this.opts.tickMs ?? 1000, bell = this.bell;
    while (this.running) {
      const n = this.poll();
      const now = Date.now();
      if (now - this.lastTick >= tickMs) {
        this.lastTick = now;
        try {
          this.opts.onTick?.();
        } catch (e) {
          this.opts.onError?.(e);
        }
      }
      if (!this.running) break;
      if (n === 0) {
        // Nothing came: say we sleep, then look once more (a worker that
        // published before it saw the word is caught here, one after rings).
        Atomics.store(bell, BELL.ASLEEP, 1);
        const seen = Atomics.load(bell, BELL.COUNT);
        const w = this.pending() ? null : waitAsync(bell, BELL.COUNT, seen, tickMs);
        if (w?.async) {
          await w.value; // the event loop ran while we slept
          Atomics.store(bell, BELL.ASLEEP, 0);
          continue;
        }
        Atomics.store(bell, BELL.ASLEEP, 0);
      }
      // Let the event loop run between batches (signals, the control socket,
      // timers) so traffic cannot starve it.
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Whether a worker has put something in a ring this thread has not drained, or exited. */
  private pending(): boolean {
    for (const tp of this.ports) if (tp.pending) return true;
    return false;
  }

  /** Stop the loop (ports keep their devices; see stopAll). */
  async stopLoop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    Atomics.add(this.bell, BELL.COUNT, 1);
    Atomics.notify(this.bell, BELL.COUNT);
    await this.loopDone;
  }

  /**
   * A clean stop of every port: stop reading, run what was read through the
   * engine, let the writers drain, delete the devices, end the workers.
   */
  async stopAll(drainMs = 1000): Promise<void> {
    for (const tp of this.ports) tp.stopReading();
    await this.stopLoop();
    this.poll();
    await Promise.all([...this.ports].map((tp) => tp.close(drainMs)));
    this.ports.clear();
  }

  private event(ev: TapPortEvent): void {
    try {
      this.opts.onEvent?.(ev);
    } catch (e) {
      this.opts.onError?.(e);
    }
  }
}
