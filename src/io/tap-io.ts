// The engine thread's side of every TAP port: one doorbell that the workers
// ring when they have put frames or written slots in a ring, and a loop that
// sleeps on it with Atomics.waitAsync (the main thread must never block) and
// drains all ports when woken. The engine runs on this thread, to completion
// per frame, as the first version of the daemon does; timers (ageing, ARP,
// conntrack) are advanced by `onTick` at least every `tickMs`.
import type { Port } from '../datapath/element.js';
import type { PacketPool } from '../datapath/packet.js';
import { Stats } from '../datapath/stats.js';
import { TAP_STAT_NAMES } from './tap-shared.js';
import { SlotTable, TapPort, type TapPortEvent, type TapPortOptions } from './tap-port.js';
import type { TapDevice } from './tap-device.js';

// Atomics.waitAsync (V8, Node >= 16) is ES2024; tsconfig targets ES2022 libs.
type WaitAsync = (ta: Int32Array, index: number, value: number, timeoutMs?: number) =>
  { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export interface TapIoOptions {
  pool: PacketPool;
  /** Where the TAPs' counters go (TAP_STAT_NAMES per TAP; give it to the metrics collectors); default a new one. */
  stats?: Stats;
  /** Ring capacity per port and direction (power of two); default 256. */
  capacity?: number;
  /** Empty slots kept with each rx worker; default 64. */
  rxDepth?: number;
  /** Largest frame accepted from a TAP; default the slot's room after headroom, less one. */
  maxFrame?: number;
  tickMs?: number;
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
  private readonly doorbell = new SharedArrayBuffer(4);
  private readonly bell = new Int32Array(this.doorbell);
  private readonly portOpts: TapPortOptions;
  private nextId = 1;
  private readonly statCells = new Map<string, number>();
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private lastTick = 0;

  constructor(private readonly opts: TapIoOptions) {
    this.pool = opts.pool;
    this.slots = new SlotTable(opts.pool);
    this.stats = opts.stats ?? new Stats(4096);
    const capacity = opts.capacity ?? 256;
    const room = opts.pool.maxFrame; // bytes after the headroom
    const maxFrame = opts.maxFrame ?? room - 1;
    if (maxFrame + 1 > room) throw new RangeError(`maxFrame ${maxFrame} does not fit a slot (${room} bytes after headroom)`);
    this.portOpts = { capacity, rxDepth: Math.min(opts.rxDepth ?? 64, capacity), readLen: maxFrame + 1 };
  }

  /** The largest frame a TAP read passes on; longer ones are dropped as oversize. */
  get maxFrame(): number {
    return this.portOpts.readLen - 1;
  }

  /** Plug `device` into engine port `port` and start its workers. */
  attach(device: TapDevice, port: Port): TapPort {
    // A TAP re-created under the same name keeps its cells: its counters go on.
    const key = `${port.element.node}\0${device.spec.dev}`;
    let base = this.statCells.get(key);
    if (base === undefined) {
      base = this.stats.alloc(TAP_STAT_NAMES, { node: port.element.node, port: device.spec.dev, worker: `tap-${device.spec.dev}` });
      this.statCells.set(key, base);
    }
    const tp = new TapPort(this.nextId++, device, this.slots, this.doorbell, this.portOpts, (ev) => this.event(ev), this.stats, base);
    this.bindPort(tp, port);
    this.ports.add(tp);
    tp.start();
    return tp;
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

  /** Drain every port once; returns the frames injected. */
  poll(): number {
    let n = 0;
    for (const tp of this.ports) {
      try {
        n += tp.poll(this.portOpts.capacity);
      } catch (e) {
        this.opts.onError?.(e);
      }
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
    const tickMs = this.opts.tickMs ?? 1000;
    while (this.running) {
      const seen = Atomics.load(this.bell, 0);
      this.poll();
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
      const w = waitAsync(this.bell, 0, seen, tickMs);
      if (w.async) await w.value;
      // More arrived while draining: drain again, but let the event loop run
      // first (signals, the control socket, timers) so traffic cannot starve it.
      else await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Stop the loop (ports keep their devices; see stopAll). */
  async stopLoop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    Atomics.add(this.bell, 0, 1);
    Atomics.notify(this.bell, 0);
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
