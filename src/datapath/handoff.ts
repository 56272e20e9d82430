// A one-way frame channel between two threads with one copy: the consumer
// lends slots of its own slab through the `free` ring; the producer copies a
// frame into a lent slot and publishes (offset, len, tag) on the `data` ring;
// the consumer turns the slot back into a packet of its own
// pool. An entry carries a fourth word, the receiving path cache's key hint
// (path-cache.ts keyHint; -1: none), which the sender computes as a NIC
// computes an RSS hash (or takes from its path cache entry: sentKeyHint). Neither thread ever touches the other's pool bookkeeping, so each
// pool stays single-threaded (DESIGN.md principle 6: descriptors cross, and
// the one copy is what a NIC's DMA into the receiver's ring would do).
//
// Why a copy and not a slab shared by all workers: the engine frees a packet
// into its own pool when an edge sink returns, and a foreign slot freed there
// would need a cross-thread return path per packet. The copy is one frame
// (a 64-byte UDP payload is 156 bytes once VXLAN-encapsulated), moved in
// 32-bit words: the frame lands at HEADROOM plus the source's offset mod 4,
// so both ends share their alignment. Measured on this machine (load ~16,
// so absolute numbers are inflated alike): a byte loop 1.3-1.4 µs, set() of a
// subarray 0.65 µs (and it allocates a view), copyWithin within one buffer
// 0.3-0.4 µs, the word copy 0.2 µs per 156-byte frame. bench/workers.ts
// reports the whole hand-off ("workers.handoff.*") beside a bare ring push.
//
// The producer never blocks: no lent slot means the frame is dropped by the
// caller (counted as no_buffer), as a full NIC ring drops.
//
// A frame may carry a time stamp (when it was read from a TAP, for the
// read-to-write histogram) in a Float64 per slot of the consumer's slab,
// beside the frame rather than in the ring entry.
import { SpscRing } from './ring.js';
import { CSUM_ALL, CSUM_HEADERS, HEADROOM, type Packet } from './packet.js';
import { keyHint, l4Good } from './path-cache.js';
import { checksum } from '../wire/checksum.js';

/** Entry words on the data ring: the frame's byte offset in the consumer's slab, its length, a tag the two ends agree on, a key hint. */
const DATA_WIDTH = 4;

/** What both ends of a channel are given (structured-cloned between threads; the buffers are shared). */
export interface HandoffSpec {
  capacity: number;
  rings: SharedArrayBuffer;
  /** The consumer's slab. */
  slab: SharedArrayBuffer;
  slotSize: number;
  /** Per slot of `slab`: a Float64 stamp the producer sets with each frame (absent: frames carry none). */
  stamps?: SharedArrayBuffer;
}

export class Handoff {
  readonly capacity: number;
  /** Consumer -> producer: slots of the consumer's slab the producer may fill. */
  readonly free: SpscRing;
  /** Producer -> consumer: (slot, len, tag, hint) of filled slots. */
  readonly data: SpscRing;
  /** The consumer's slab, by bytes and by words. */
  private readonly slab: Uint8Array;
  private readonly slab32: Int32Array;
  readonly slotSize: number;
  /** Per slot of the consumer's slab, when the channel carries stamps. */
  readonly stamps: Float64Array | null;

  static of(s: HandoffSpec): Handoff {
    return new Handoff(s.capacity, s.rings, s.slab, s.slotSize, s.stamps);
  }

  /** Bytes of the shared buffer a channel of `capacity` needs (the slab is separate). */
  static bytes(capacity: number): number {
    return SpscRing.bytes(capacity, 1) + SpscRing.bytes(capacity, DATA_WIDTH);
  }

  constructor(capacity: number, sab: SharedArrayBuffer, slab: SharedArrayBuffer, slotSize: number, stamps?: SharedArrayBuffer) {
    this.capacity = capacity;
    this.free = new SpscRing(capacity, 1, sab, 0);
    this.data = new SpscRing(capacity, DATA_WIDTH, sab, SpscRing.bytes(capacity, 1));
    this.slab = new Uint8Array(slab);
    this.slab32 = new Int32Array(slab, 0, slab.byteLength >> 2);
    this.slotSize = slotSize;
    this.stamps = stamps ? new Float64Array(stamps) : null;
  }

  /** Largest frame a lent slot takes. */
  get maxFrame(): number {
    return this.slotSize - HEADROOM;
  }

  // ---- producer ----------------------------------------------------------

  /** Lent slots taken by sendLater() whose free-ring entries flush() has yet to release. */
  private taken = 0;

  /**
   * Copy src[off, off+len) into a lent slot and publish it with `tag`.
   * `src32` is a word view of src's buffer from its start (a packet slab);
   * without it (a frame from a test or a file) the copy goes byte by byte.
   * `stamp` goes with the frame where the channel carries stamps; `hint`
   * in its entry (the receiver's key hint, -1: none).
   * False when no slot is lent (the consumer is behind) or the frame is too long.
   */
  send(src: Uint8Array, src32: Int32Array | null, off: number, len: number, tag: number, stamp = 0, hint = -1): boolean {
    const ok = this.sendLater(src, src32, off, len, tag, stamp, hint);
    this.flush();
    return ok;
  }

  /**
   * As send(), but the consumer sees the frame at the next flush(): a
   * worker sends a batch's frames, then publishes them with two atomic
   * stores instead of two a frame.
   */
  sendLater(src: Uint8Array, src32: Int32Array | null, off: number, len: number, tag: number, stamp = 0, hint = -1): boolean {
    if (len > this.slotSize - HEADROOM - 3) return false;
    const e = this.free.peekAt(this.taken);
    if (e < 0) return false;
    const slot = this.free.words[e]!;
    this.taken++;
    if (this.stamps !== null) this.stamps[slot] = stamp;
    const dst = this.slab;
    const at = slot * this.slotSize + HEADROOM + (off & 3);
    let i = 0;
    if (src32 !== null) {
      const head = (4 - (off & 3)) & 3;
      for (; i < head && i < len; i++) dst[at + i] = src[off + i]!;
      const ws = (off + i) >> 2, wd = (at + i) >> 2, nw = (len - i) >> 2, d32 = this.slab32;
      for (let k = 0; k < nw; k++) d32[wd + k] = src32[ws + k]!;
      i += nw << 2;
    }
    for (; i < len; i++) dst[at + i] = src[off + i]!;
    return this.data.pushLater(at, len, tag, hint);
  }

  /** Hand back the lent slots' entries sendLater() took, then publish its frames (in that order: a frame seen means its slot's entry is free). */
  flush(): void {
    if (this.taken !== 0) {
      this.free.release(this.taken);
      this.taken = 0;
    }
    this.data.publish();
  }

  /** Lent slots sendLater() may still fill. */
  get lendable(): number {
    return this.free.size - this.taken;
  }

  // ---- consumer ----------------------------------------------------------

  /** The slot a data entry's offset lies in. */
  slotOf(at: number): number {
    return (at / this.slotSize) | 0;
  }

  /** Lend a slot of the consumer's slab; false when the producer already holds `capacity`. */
  lend(slot: number): boolean {
    return this.free.push(slot);
  }

  /** As lend(), seen by the producer at publishLent(): one atomic store for a round's slots. */
  lendLater(slot: number): boolean {
    return this.free.pushLater(slot);
  }

  publishLent(): void {
    this.free.publish();
  }
}

/** VXLAN's outer Ethernet, IPv4, UDP and VXLAN headers. */
const OUTER = 50;

/**
 * The checks the receiving worker's path cache makes of a frame it keys
 * (src/datapath/path-cache.ts usable()), made by the sender: the IPv4
 * header's checksum (the outer and the inner one of a VXLAN frame, port
 * 4789) and the innermost TCP, UDP (non-zero) or ICMP checksum. True only when
 * all are there and good; the receiver then skips them (Packet.csumGood), as
 * a kernel skips verifying what a NIC's receive offload reported
 * CHECKSUM_UNNECESSARY. The sender has the spare time: the receiver's half
 * of the seed path is the longer (docs/workers.md). `headersGood`: the
 * IPv4 headers' checksums are known good (not summed again).
 */
export function checksumsGood(b: Uint8Array, off: number, len: number, headersGood = false): boolean {
  if (len < 42 || b[off + 12] !== 0x08 || b[off + 13] !== 0x00 || b[off + 14] !== 0x45 || (!headersGood && checksum(b, off + 14, 20) !== 0)) return false;
  if (b[off + 23] === 17 && b[off + 36] === 0x12 && b[off + 37] === 0xb5) {
    off += OUTER;
    len -= OUTER;
    if (len < 42 || b[off + 12] !== 0x08 || b[off + 13] !== 0x00 || b[off + 14] !== 0x45 || (!headersGood && checksum(b, off + 14, 20) !== 0)) return false;
  }
  const proto = b[off + 23];
  return (proto === 17 || proto === 1 || proto === 6) && l4Good(b, off + 14, len - 14);
}

/**
 * What a hand-off sends with `pkt`: its checksums' verdict (checksumsGood)
 * and the receiver's key hint (keyHint). A frame a path cache hit emitted
 * comes with its entry's hint and what its checks found (PathCache.rewrite:
 * all good, or its IPv4 headers good and the L4 checksum not checked), so
 * the sender hashes only what took the element path, and sums only what no
 * hit checked.
 */
export function sentChecksumsGood(pkt: Packet): boolean {
  const g = pkt.csumGood;
  return g === CSUM_ALL || checksumsGood(pkt.buf, pkt.off, pkt.len, g === CSUM_HEADERS);
}

export function sentKeyHint(pkt: Packet): number {
  return pkt.keyHint >= 0 ? pkt.keyHint : keyHint(pkt.buf, pkt.off, pkt.len);
}
