// A one-way frame channel between two threads with one copy: the consumer
// lends slots of its own slab through the `free` ring; the producer copies a
// frame into a lent slot (at HEADROOM) and publishes (slot, len, tag) on the
// `data` ring; the consumer turns the slot back into a packet of its own
// pool. Neither thread ever touches the other's pool bookkeeping, so each
// pool stays single-threaded (DESIGN.md principle 6: descriptors cross, and
// the one copy is what a NIC's DMA into the receiver's ring would do).
//
// Why a copy and not a slab shared by all workers: the engine frees a packet
// into its own pool when an edge sink returns, and a foreign slot freed there
// would need a cross-thread return path per packet. The copy is one frame
// (a 64-byte UDP payload is 156 bytes once VXLAN-encapsulated); bench/micro.ts
// "handoff" measures it against a ring push alone.
//
// The producer never blocks: no lent slot means the frame is dropped by the
// caller (counted as no_buffer), as a full NIC ring drops.
import { SpscRing } from './ring.js';
import { HEADROOM } from './packet.js';

/** Entry words on the data ring: slot, frame length, a tag the two ends agree on. */
const DATA_WIDTH = 3;

export class Handoff {
  readonly capacity: number;
  /** Consumer -> producer: slots of the consumer's slab the producer may fill. */
  readonly free: SpscRing;
  /** Producer -> consumer: (slot, len, tag) of filled slots. */
  readonly data: SpscRing;
  /** The consumer's slab. */
  private readonly slab: Uint8Array;
  private readonly slotSize: number;

  /** Bytes of the shared buffer a channel of `capacity` needs (the slab is separate). */
  static bytes(capacity: number): number {
    return SpscRing.bytes(capacity, 1) + SpscRing.bytes(capacity, DATA_WIDTH);
  }

  constructor(capacity: number, sab: SharedArrayBuffer, slab: SharedArrayBuffer, slotSize: number) {
    this.capacity = capacity;
    this.free = new SpscRing(capacity, 1, sab, 0);
    this.data = new SpscRing(capacity, DATA_WIDTH, sab, SpscRing.bytes(capacity, 1));
    this.slab = new Uint8Array(slab);
    this.slotSize = slotSize;
  }

  /** Largest frame a lent slot takes. */
  get maxFrame(): number {
    return this.slotSize - HEADROOM;
  }

  // ---- producer ----------------------------------------------------------

  /**
   * Copy src[off, off+len) into a lent slot and publish it with `tag`.
   * False when no slot is lent (the consumer is behind) or the frame is too long.
   */
  send(src: Uint8Array, off: number, len: number, tag: number): boolean {
    if (len > this.slotSize - HEADROOM) return false;
    const slot = this.free.shift();
    if (slot < 0) return false;
    const dst = this.slab;
    const at = slot * this.slotSize + HEADROOM;
    // A byte loop: a subarray() view per frame would allocate on the data path.
    for (let i = 0; i < len; i++) dst[at + i] = src[off + i]!;
    return this.data.push(slot, len, tag);
  }

  // ---- consumer ----------------------------------------------------------

  /** Lend a slot of the consumer's slab; false when the producer already holds `capacity`. */
  lend(slot: number): boolean {
    return this.free.push(slot);
  }
}
