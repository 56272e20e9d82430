// Internet checksum (RFC 1071) and incremental update (RFC 1624, eqn. 3).
// All functions work on a byte array at an offset, so they run directly on a
// slot of the shared packet slab.

/** One's-complement sum of `len` bytes at `off`, folded to 16 bits, not inverted. */
export function onesSum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (len & 1) sum += buf[off + len - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
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
