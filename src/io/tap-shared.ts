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
import { SpscRing } from '../datapath/ring.js';

/** Control words (Int32). */
export const CTL = {
  /** Nonzero: the rx worker passes on nothing more and exits when its read returns. */
  STOP_RX: 0,
  /** Nonzero: the tx worker exits once its ring is empty. */
  STOP_TX: 3,
  /** The rx worker's exit: 0 running, 1 stopped, 2 device gone, 3 error. */
  RX_EXIT: 1,
  TX_EXIT: 2,
} as const;
const CTL_WORDS = 4;

export const EXIT = { RUNNING: 0, STOPPED: 1, GONE: 2, ERROR: 3 } as const;

/**
 * Counters published in a Stats (src/datapath/stats.ts), in this order, as
 * the metrics catalog names them (src/metrics/catalog.ts TAP_COUNTERS); each
 * written by one thread only, read at scrape time.
 */
/** Per-TAP counter cells, named as the metrics catalog exports them. */
export { TAP_COUNTERS as TAP_STAT_NAMES } from '../metrics/catalog.js';
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

  /** Stop writing once what is queued is written. */
  requestStopTx(): void {
    Atomics.store(this.ctl, CTL.STOP_TX, 1);
    this.tx.notifyConsumer();
  }
}

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
  /** The Stats buffer and the index of this port's first TAP_STAT_NAMES cell. */
  readonly statsSab: SharedArrayBuffer;
  readonly statsBase: number;
  /** One Int32: bumped and notified when a worker has put something in rx or done. */
  readonly doorbell: SharedArrayBuffer;
}
