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

/** Counters (Float64, exact to 2^53): each written by one thread only. */
export const TC = {
  // rx worker
  RX_PACKETS: 0,
  RX_BYTES: 1,
  /** Frames that filled the whole buffer: possibly cut short by the kernel, dropped. */
  RX_OVERSIZE: 2,
  RX_ERRORS: 3,
  /** Times the rx worker found no free slot and waited (the engine thread was behind). */
  RX_NO_SLOT: 4,
  // tx worker
  TX_PACKETS: 5,
  TX_BYTES: 6,
  TX_ERRORS: 7,
  // engine thread
  /** Frames dropped because the tx ring was full (the qdisc would drop them). */
  TX_QUEUE_DROPS: 8,
  /** Frames not passed to the engine because no slot was free for the next read. */
  RX_STARVED: 9,
} as const;
export const TAP_COUNTER_NAMES = Object.keys(TC) as (keyof typeof TC)[];
const COUNTERS = 10;

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
  /** One Int32: bumped and notified when a worker has put something in rx or done. */
  readonly doorbell: SharedArrayBuffer;
}
