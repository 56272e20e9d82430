// UDP header (RFC 768): plain functions over (buf, l4). Checksums cover the
// IPv4 pseudo-header; a stored 0 means "no checksum" (IPv4 only), so a
// computed 0 is sent as 0xffff, and incremental updates leave a 0 alone and
// never turn a real checksum into 0 (the kernel's CSUM_MANGLED_0).
import { readU16, readU32, writeU16 } from './addr.js';
import { checksum, csumUpdate16, csumUpdate32, onesSum, pseudoHeaderSum } from './checksum.js';
import { IPPROTO_UDP } from './ipv4.js';

export const UDP_HLEN = 8;

export function udpSrc(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4);
}
export function udpDst(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4 + 2);
}
/** The UDP length field (header + payload). */
export function udpLen(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4 + 4);
}
export function udpCsum(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4 + 6);
}

/** Write an 8-byte UDP header; the checksum is left 0 (none) unless given. Returns 8. */
export function writeUdp(buf: Uint8Array, l4: number, sport: number, dport: number, len: number, csum = 0): number {
  writeU16(buf, l4, sport);
  writeU16(buf, l4 + 2, dport);
  writeU16(buf, l4 + 4, len);
  writeU16(buf, l4 + 6, csum);
  return UDP_HLEN;
}

/** The checksum to store for `len` bytes of UDP at l4 between src and dst (never 0). */
export function udpComputeChecksum(buf: Uint8Array, l4: number, len: number, src: number, dst: number): number {
  // Sum around the checksum field: the buffer is only read.
  const c = checksum(buf, l4 + 8, len - 8, onesSum(buf, l4, 6, pseudoHeaderSum(src, dst, IPPROTO_UDP, len)));
  return c === 0 ? 0xffff : c;
}

/** Fill the checksum of the UDP datagram inside the IPv4 packet at l3 (length from the UDP header). */
export function udpSetChecksum(buf: Uint8Array, l3: number, l4: number): void {
  const len = readU16(buf, l4 + 4);
  writeU16(buf, l4 + 6, udpComputeChecksum(buf, l4, len, readU32(buf, l3 + 12), readU32(buf, l3 + 16)));
}

/** True if the checksum is absent (0) or correct. */
export function udpChecksumOk(buf: Uint8Array, l3: number, l4: number): boolean {
  if (readU16(buf, l4 + 6) === 0) return true;
  const len = readU16(buf, l4 + 4);
  return checksum(buf, l4, len, pseudoHeaderSum(readU32(buf, l3 + 12), readU32(buf, l3 + 16), IPPROTO_UDP, len)) === 0;
}

/** Incremental update for a changed 16-bit word (a port) or 32-bit pseudo-header word (an address). */
export function udpCsumReplace16(buf: Uint8Array, l4: number, oldW: number, newW: number): void {
  const c = readU16(buf, l4 + 6);
  if (c === 0) return;
  const n = csumUpdate16(c, oldW, newW);
  writeU16(buf, l4 + 6, n === 0 ? 0xffff : n);
}
export function udpCsumReplace32(buf: Uint8Array, l4: number, oldV: number, newV: number): void {
  const c = readU16(buf, l4 + 6);
  if (c === 0) return;
  const n = csumUpdate32(c, oldV >>> 0, newV >>> 0);
  writeU16(buf, l4 + 6, n === 0 ? 0xffff : n);
}

/** Set a port and keep the checksum right. */
export function setUdpSrc(buf: Uint8Array, l4: number, port: number): void {
  const old = readU16(buf, l4);
  writeU16(buf, l4, port);
  udpCsumReplace16(buf, l4, old, port & 0xffff);
}
export function setUdpDst(buf: Uint8Array, l4: number, port: number): void {
  const old = readU16(buf, l4 + 2);
  writeU16(buf, l4 + 2, port);
  udpCsumReplace16(buf, l4, old, port & 0xffff);
}
