// What one TAP port's threads share, laid out in one SharedArrayBuffer: the
// four rings that pass slot numbers of the packet slab between the engine
// thread and the port's two workers, a control word, and the workers'
// counters (one writer each; read by the engine thread and by metrics).
//
//   free  engine -> rx worker   empty slots to read frames into      (slot)
//   rx    rx worker -> engine   frames read                           (slot, len)
//   tx    engine -> tx worker   frames to write                       (slot, len)
//   done  tx worker -> engine   slots written, to free                (slot)
//
// A worker that cannot go on (the device was deleted) says why through the
// exit word and postMessage; the engine thread sees it at its next poll.
import type { MessagePort } from 'node:worker_threads';
import { SpscRing } from '../datapath/ring.js';
import type { HandoffSpec } from '../datapath/handoff.js';

/** Control words (Int32). */
export const CTL = {
  /** Nonzero: the rx worker passes on nothing more and exits when its read returns. */
  STOP_RX: 0,
  /** Nonzero: the tx worker exits once its ring is empty. */
  STOP_TX: 3,
  /** The rx worker's exit: 0 running, 1 stopped, 2 device gone, 3 error. */
  RX_EXIT: 1,
  TX_EXIT: 2,
  /**
   * Nonzero while the rx worker sleeps on the free ring / the tx worker on the
   * tx ring: the engine thread notifies only then, so a busy worker costs it
   * no futex call per frame.
   */
  RX_WAITING: 4,
  TX_WAITING: 5,
  /** Linux thread ids of the workers, for their CPU time (/proc/self/task/TID/schedstat). */
  RX_TID: 6,
  TX_TID: 7,
} as const;
const CTL_WORDS = 8;

export const EXIT = { RUNNING: 0, STOPPED: 1, GONE: 2, ERROR: 3 } as const;

/**
 * Counters published in a Stats (src/datapath/stats.ts), in this order, as
 * the metrics catalog names them (src/metrics/catalog.ts TAP_COUNTERS); each
 * written by one thread only, read at scrape time.
 */
/** Per-TAP counter cells, named as the metrics catalog exports them. */
export { TAP_COUNTERS as TAP_STAT_NAMES, RING_COUNTERS, WORKER_COUNTERS } from '../metrics/catalog.js';
export const TS = {
  RX_PACKETS: 0, // rx worker
  RX_BYTES: 1,
  RX_ERRORS: 2,
  /** Read and dropped before the engine: oversize frames. */
  RX_DROPPED: 3,
  TX_PACKETS: 4, // tx worker
  TX_BYTES: 5,
  TX_ERRORS: 6,
  /** Meant for the TAP and dropped: device gone, tx ring full, no slot (engine thread). */
  TX_DROPPED: 7,
} as const;

/** Diagnostic counters kept with the port (not exported as metrics). */
export const TC = {
  /** Frames that filled the whole buffer: possibly cut short by the kernel, dropped (also in RX_DROPPED). */
  RX_OVERSIZE: 0,
  /** Times the rx worker found no free slot and waited (the engine thread was behind). */
  RX_NO_SLOT: 1,
  /** Times the engine thread could not give the rx worker a slot back (slab empty). */
  RX_STARVED: 2,
  /** Frames the engine thread wrote itself, the writer being asleep (also in TX_PACKETS; tap-port.ts emit). */
  TX_DIRECT: 3,
} as const;
const COUNTERS = 4;

export class TapShared {
  readonly sab: SharedArrayBuffer;
  readonly ctl: Int32Array;
  readonly counters: Float64Array;
  readonly free: SpscRing;
  readonly rx: SpscRing;
  readonly tx: SpscRing;
  readonly done: SpscRing;

  constructor(
    readonly capacity: number,
    sab?: SharedArrayBuffer,
  ) {
    const ringFree = SpscRing.bytes(capacity, 1);
    const ringPair = SpscRing.bytes(capacity, 2);
    const total = COUNTERS * 8 + CTL_WORDS * 4 + 2 * ringFree + 2 * ringPair;
    this.sab = sab ?? new SharedArrayBuffer(total);
    let off = 0;
    this.counters = new Float64Array(this.sab, off, COUNTERS);
    off += COUNTERS * 8;
    this.ctl = new Int32Array(this.sab, off, CTL_WORDS);
    off += CTL_WORDS * 4;
    this.free = new SpscRing(capacity, 1, this.sab, off);
    off += ringFree;
    this.rx = new SpscRing(capacity, 2, this.sab, off);
    off += ringPair;
    this.tx = new SpscRing(capacity, 2, this.sab, off);
    off += ringPair;
    this.done = new SpscRing(capacity, 1, this.sab, off);
  }

  get stoppingRx(): boolean {
    return Atomics.load(this.ctl, CTL.STOP_RX) !== 0;
  }

  get stoppingTx(): boolean {
    return Atomics.load(this.ctl, CTL.STOP_TX) !== 0;
  }

  /** Stop reading (a read in progress ends when the device is deleted). */
  requestStopRx(): void {
    Atomics.store(this.ctl, CTL.STOP_RX, 1);
    this.free.notifyConsumer();
  }

  /** Producer side: wake the rx worker if it sleeps waiting for free slots. */
  wakeRx(): void {
    if (Atomics.load(this.ctl, CTL.RX_WAITING) !== 0) this.free.notifyConsumer();
  }

  /** Producer side: wake the tx worker if it sleeps waiting for frames. */
  wakeTx(): void {
    if (Atomics.load(this.ctl, CTL.TX_WAITING) !== 0) this.tx.notifyConsumer();
  }

  /** Stop writing once what is queued is written. */
  requestStopTx(): void {
    Atomics.store(this.ctl, CTL.STOP_TX, 1);
    this.tx.notifyConsumer();
  }
}

/**
 * The engine thread's doorbell, shared by every port's workers: word 0 is
 * bumped and notified to wake it, word 1 is nonzero while it is (about to be)
 * asleep. A worker rings only then, so under load frames flow through the
 * rings with no notify at all; the engine sets word 1, then looks at the
 * rings once more before it waits (tap-io.ts), so no wake-up is lost.
 */
export const BELL = { COUNT: 0, ASLEEP: 1 } as const;
export const BELL_BYTES = 8;

export function ringBell(bell: Int32Array): void {
  if (Atomics.load(bell, BELL.ASLEEP) === 0) return;
  Atomics.add(bell, BELL.COUNT, 1);
  Atomics.notify(bell, BELL.COUNT);
}

/**
 * A clock every thread reads alike: CLOCK_MONOTONIC in ms. performance.now()
 * is cheap but counts from a time origin that need not be the same in every
 * thread, so each thread measures its offset from process.hrtime once: the
 * tightest of a few bracketed readings, since a first call of either clock
 * can take a millisecond (measured: a naive single reading put the threads
 * 0.5 to 1 ms apart). Stamps of 0 mean "not stamped".
 */
const MONO_OFFSET = ((): number => {
  let best = Infinity, off = 0;
  for (let i = 0; i < 20; i++) {
    const a = process.hrtime.bigint(), p = performance.now(), b = process.hrtime.bigint();
    const width = Number(b - a);
    if (width < best) {
      best = width;
      off = Number(a) / 1e6 + width / 2e6 - p;
    }
  }
  return off;
})();
export function monoMs(): number {
  return performance.now() + MONO_OFFSET;
}

/** Where a port's Stats cells are (catalog TAP_COUNTERS, WORKER_COUNTERS, RING_COUNTERS, e2e_latency). */
export interface TapCells {
  tap: number;
  rxWorker: number;
  txWorker: number;
  rxRing: number;
  txRing: number;
  /** The tx worker's read-to-write histogram (allocHistogram). */
  e2e: number;
}

/** WORKER_COUNTERS, in catalog order. */
export const WC = { BUSY_SECONDS: 0, BATCHES: 1, PACKETS: 2 } as const;
/** RING_COUNTERS, in catalog order. */
export const RC = { ENQUEUED: 0, DROPS: 1, OCCUPANCY: 2, CAPACITY: 3 } as const;

/** What a TAP worker is given (structured-cloned; the buffers are shared). */
export interface TapWorkerData {
  readonly role: 'rx' | 'tx';
  readonly fd: number;
  readonly dev: string;
  readonly slab: SharedArrayBuffer;
  readonly slotSize: number;
  readonly headroom: number;
  /** Bytes offered to read(2): one more than the largest frame accepted. */
  readonly readLen: number;
  readonly shared: SharedArrayBuffer;
  readonly capacity: number;
  /** The Stats buffer and where this port's cells are in it. */
  readonly statsSab: SharedArrayBuffer;
  readonly cells: TapCells;
  /** The engine thread's doorbell (BELL), rung when a worker has put something in rx or done. */
  readonly doorbell: SharedArrayBuffer;
  /** Per slot of the slab: monoMs() when the frame in it was read (rx) or of the frame that caused it (tx); 0 none. */
  readonly stamps: SharedArrayBuffer;
  /** SCHED_FIFO priority the thread takes at start (src/io/realtime.ts); 0 or absent: it keeps the daemon's. */
  readonly rtPriority?: number;
  /** rx only, under `dpemu run --workers N`: read into the owning datapath worker's slots instead (slab, stamps and rings above unused). */
  readonly handoff?: TapHandoff;
}

/**
 * Where a TAP's rx thread sends what it reads (src/workers/supervisor.ts): a
 * hand-off channel whose slots are lent from the owning datapath worker's
 * slab (tag: the edge), and that worker's bell. A new target arrives as a
 * message on TapHandoff.port, then LINK.GEN is bumped: when the worker is
 * restarted (a new channel), and when a reload starts a new datapath (a new
 * worker, bell and edge index too).
 */
export interface TapTarget {
  /** Index in topology.edges: the tag of every frame. */
  edge: number;
  channel: HandoffSpec;
  /** The worker's control words, and the indexes of its BELL and SLEEPING words in them. */
  ctl: SharedArrayBuffer;
  bell: number;
  sleeping: number;
}

export const LINK = {
  /** Bumped after a new TapTarget was posted on TapHandoff.port. */
  GEN: 0,
  /**
   * 1 while the rx thread sleeps (or is about to) for want of a lent slot:
   * the worker notifies the free ring after lending only then (it reads
   * this after lending, the rx thread the ring after setting it).
   */
  RX_WAITING: 1,
} as const;
export const LINK_BYTES = 8;

/** What the rx thread is started with: its first target, and the link that brings the next ones (`port` is transferred with it). */
export interface TapHandoff extends TapTarget {
  /** LINK words (Int32), kept across the worker's restarts and reloads. */
  link: SharedArrayBuffer;
  port: MessagePort;
}
