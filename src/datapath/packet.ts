// Packets live in fixed-size slots of one SharedArrayBuffer (the slab). A slot
// keeps HEADROOM bytes in front of the frame so pushing a VLAN tag or a VXLAN
// header moves the frame's start, not its bytes (as skb/mbuf headroom does).
// A Packet is a small reusable descriptor over a slot plus the per-packet
// metadata the elements read and write (tunnel metadata, the skb mark,
// conntrack reference; OpenFlow registers and metadata live only in a
// bridge's flow key). Packet objects are pooled: the data path allocates none.

export const HEADROOM = 128;
export const DEFAULT_SLOT_SIZE = 2048; // 128 headroom + 1920: an MTU-1500 frame + VXLAN + tags

/** Packet.csumGood: every checksum checksumsGood() checks found good; only the IPv4 headers' (a path cache hit's output). */
export const CSUM_ALL = 1;
export const CSUM_HEADERS = 2;

export class Packet {
  /** The whole slab; the frame is buf[off .. off+len). */
  buf: Uint8Array;
  slot = -1;
  off = 0;
  len = 0;
  /** Tunnel metadata: set by VXLAN decap, read by OVS matches, set by set_tunnel/load. */
  tunId = 0; // VNI or 64-bit key, as a number (exact up to 2^53)
  tunSrc = 0;
  tunDst = 0;
  /** skb->mark (iptables MARK / fwmark), kept while inside one namespace. */
  mark = 0;
  /**
   * What a namespace keeps with a packet it holds on an unresolved neighbour,
   * for the host unreachable its failure sends: the device it came in on
   * (skb->skb_iif) and its connection (skb->_nfct: ct * 2 + direction, 0 for
   * none). Netfilter otherwise keeps a packet's connection in the namespace's
   * NfPacketInfo while the packet is inside it.
   */
  iif = 0;
  nfct = 0;
  /** Trace branch id when tracing (0 = not traced). */
  traceId = 0;
  /** Engine-wide sequence for resubmit/loop limits and bookkeeping. */
  hops = 0;
  /** Length where the packet entered the OVS datapath: OpenFlow flows are credited with it, across patch ports too. */
  dpLen = 0;
  /**
   * Times the engine took this descriptor over (output, drop, consume). Its
   * exception guard frees a packet only if the throwing element had not
   * already passed it on: freeing a queued packet would deliver a free slot.
   */
  moves = 0;
  /**
   * When the frame was read from a TAP (monoMs; 0: not read from one), for
   * the read-to-write histogram; copies and packets made because of it
   * (engine.clone/alloc) carry it on.
   */
  stamp = 0;
  /**
   * CSUM_ALL: the frame's IPv4 header checksums (outer and inner of a VXLAN
   * frame) and its TCP, UDP or ICMP checksum were found good before it
   * arrived, as a NIC's receive offload reports CHECKSUM_UNNECESSARY: a
   * worker's hand-off verifies on the sending side (handoff.ts
   * checksumsGood). Read by the path cache's lookup, before anything rewrote
   * the frame; a verdict, not a shortcut: a frame without it is checked as
   * before. A path cache hit sets it for the frame it emits (CSUM_ALL, or
   * CSUM_HEADERS: the IPv4 headers' alone), for a hand-off to send
   * (handoff.ts sentChecksumsGood); the element path clears it (Engine.inject).
   */
  csumGood = 0;
  /**
   * The path cache key's hash before in_port is mixed in, as the sending
   * worker computed it (path-cache.ts keyHint; -1: none). A hint: lookup()
   * still compares the key, and a wrong one costs a second probe. A path
   * cache hit sets its entry's for the frame it emits (PathEntry.outHint),
   * for a hand-off to send; the element path clears it (Engine.inject).
   */
  keyHint = -1;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  /** Reset metadata when the packet (or a clone) starts a new journey. */
  resetMeta(): void {
    this.tunId = this.tunSrc = this.tunDst = 0;
    this.mark = 0;
    this.iif = 0;
    this.nfct = 0;
    this.hops = 0;
    this.dpLen = 0;
    this.stamp = 0;
    this.csumGood = 0;
    this.keyHint = -1;
  }

  copyMetaFrom(p: Packet): void {
    this.tunId = p.tunId;
    this.tunSrc = p.tunSrc;
    this.tunDst = p.tunDst;
    this.mark = p.mark;
    this.iif = p.iif;
    this.nfct = p.nfct;
    this.hops = p.hops;
    this.dpLen = p.dpLen;
    this.stamp = p.stamp;
  }

  /** Headroom left in front of the frame. */
  headroom(slotSize: number): number {
    return this.off - this.slot * slotSize;
  }

  /** Grow the frame at the front by n bytes (push a header); false if no headroom. */
  push(n: number, slotSize: number): boolean {
    if (this.off - n < this.slot * slotSize) return false;
    this.off -= n;
    this.len += n;
    return true;
  }

  /** Remove n bytes from the front (pop a header). */
  pull(n: number): boolean {
    if (n > this.len) return false;
    this.off += n;
    this.len -= n;
    return true;
  }

  /** A copy of the frame bytes (for traces and tests only, never on the data path). */
  bytes(): Uint8Array {
    return this.buf.slice(this.off, this.off + this.len);
  }
}

/** The slab and a free list of slots; allocation is a pop, free a push. */
export class PacketPool {
  readonly sab: SharedArrayBuffer;
  readonly buf: Uint8Array;
  readonly slotSize: number;
  readonly slots: number;
  private readonly freeSlots: Int32Array;
  private freeTop: number;
  private readonly packets: Packet[] = [];

  constructor(slots = 4096, slotSize = DEFAULT_SLOT_SIZE, sab?: SharedArrayBuffer) {
    this.slotSize = slotSize;
    this.slots = slots;
    this.sab = sab ?? new SharedArrayBuffer(slots * slotSize);
    this.buf = new Uint8Array(this.sab);
    this.freeSlots = new Int32Array(slots);
    for (let i = 0; i < slots; i++) {
      this.freeSlots[i] = slots - 1 - i;
      this.packets.push(new Packet(this.buf));
    }
    this.freeTop = slots;
  }

  get available(): number {
    return this.freeTop;
  }

  /** Maximum frame length a slot can hold with full headroom. */
  get maxFrame(): number {
    return this.slotSize - HEADROOM;
  }

  /** A packet with an empty frame at HEADROOM, or null if the slab is exhausted. */
  alloc(): Packet | null {
    if (this.freeTop === 0) return null;
    const slot = this.freeSlots[--this.freeTop]!;
    const p = this.packets[slot]!;
    p.slot = slot;
    p.off = slot * this.slotSize + HEADROOM;
    p.len = 0;
    p.traceId = 0;
    p.resetMeta();
    return p;
  }

  /** A packet holding a copy of `frame` (for injection from tests, traces and TAP reads). */
  allocFrom(frame: Uint8Array): Packet | null {
    if (frame.length > this.maxFrame) return null;
    const p = this.alloc();
    if (!p) return null;
    this.buf.set(frame, p.off);
    p.len = frame.length;
    return p;
  }

  /** A copy of `src` (frame and metadata) in a new slot, at the same headroom. */
  clone(src: Packet): Packet | null {
    const p = this.alloc();
    if (!p) return null;
    const head = src.off - src.slot * this.slotSize;
    p.off = p.slot * this.slotSize + head;
    p.len = src.len;
    this.buf.copyWithin(p.off, src.off, src.off + src.len);
    p.copyMetaFrom(src);
    p.traceId = src.traceId;
    return p;
  }

  free(p: Packet): void {
    if (p.slot < 0) return;
    this.freeSlots[this.freeTop++] = p.slot;
    p.slot = -1;
  }
}
