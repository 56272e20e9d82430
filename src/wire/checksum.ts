// Internet checksum (RFC 1071) and incremental update (RFC 1624, eqn. 3).
// All functions work on a byte array at an offset, so they run directly on a
// slot of the shared packet slab.

/**
 * One's-complement sum of `len` bytes at `off`, folded to 16 bits, not inverted.
 * Over a packet slab it reads 32 bits at a time (two 16-bit words, added as
 * the byte-pair loop adds them: the same integer sum, so the same result).
 */
export function onesSum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial, i = off;
  const dv = off >= 0 && off + len <= buf.length ? viewOf(buf) : null;
  if (dv !== null) {
    for (const end4 = off + (len & ~3); i < end4; i += 4) {
      const w = dv.getUint32(i);
      sum += (w >>> 16) + (w & 0xffff);
    }
  }
  const end = off + (len & ~1);
  for (; i < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (len & 1) sum += buf[off + len - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * A buffer of at least VIEW_MIN bytes (a packet slab: one a thread, in
 * practice) gets a DataView, kept while the same buffer is summed, so the sum
 * over its frames reads 32-bit words (about twice as fast over a UDP
 * datagram's 72 bytes). A smaller one (a frame's copy) gets none: summing it
 * allocates nothing.
 */
const VIEW_MIN = 1 << 16;
let viewBuf: Uint8Array | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

function viewOf(buf: Uint8Array): DataView<ArrayBufferLike> | null {
  if (buf === viewBuf) return view;
  if (buf.length < VIEW_MIN) return null;
  viewBuf = buf;
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return view;
}

/** The checksum to store: the inverted one's-complement sum. */
export function checksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  return ~onesSum(buf, off, len, initial) & 0xffff;
}

/** One's-complement sum of the IPv4 pseudo-header for TCP/UDP. */
export function pseudoHeaderSum(src: number, dst: number, proto: number, l4len: number): number {
  let sum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + l4len;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for one changed 16-bit word. */
export function csumUpdate16(hc: number, oldWord: number, newWord: number): number {
  let sum = (~hc & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** RFC 1624 for a changed 32-bit value (an IPv4 address). */
export function csumUpdate32(hc: number, oldVal: number, newVal: number): number {
  hc = csumUpdate16(hc, oldVal >>> 16, newVal >>> 16);
  return csumUpdate16(hc, oldVal & 0xffff, newVal & 0xffff);
}
