// TCP header (RFC 9293): plain functions over (buf, l4). The checksum covers
// the IPv4 pseudo-header and is mandatory. Options are walked without
// allocating (tcpOptionAt); tcpdump-tcp.ts prints them.
import { readU16, readU32, writeU16, writeU32 } from './addr.js';
import { checksum, csumUpdate16, csumUpdate32, onesSum, pseudoHeaderSum } from './checksum.js';
import { IPPROTO_TCP } from './ipv4.js';
import { ipv6PseudoSum } from './ipv6.js';

export const TCP_MIN_HLEN = 20;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERM = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;

export function tcpSrc(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4);
}
export function tcpDst(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4 + 2);
}
export function tcpSeq(buf: Uint8Array, l4: number): number {
  return readU32(buf, l4 + 4);
}
export function tcpAck(buf: Uint8Array, l4: number): number {
  return readU32(buf, l4 + 8);
}
/** Header length in bytes (data offset * 4). */
export function tcpHeaderLen(buf: Uint8Array, l4: number): number {
  return (buf[l4 + 12]! >>> 4) << 2;
}
/** The 8 flag bits (CWR..FIN); the 4 reserved bits (incl. AE) are not included. */
export function tcpFlags(buf: Uint8Array, l4: number): number {
  return buf[l4 + 13]!;
}
export function tcpWin(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4 + 14);
}
export function tcpCsum(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4 + 16);
}
export function tcpUrg(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4 + 18);
}

/** Write a 20-byte TCP header (no options), checksum 0 (fill it with tcpSetChecksum). Returns 20. */
export function writeTcp(
  buf: Uint8Array,
  l4: number,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  win: number,
  hlen = TCP_MIN_HLEN,
): number {
  writeU16(buf, l4, sport);
  writeU16(buf, l4 + 2, dport);
  writeU32(buf, l4 + 4, seq);
  writeU32(buf, l4 + 8, ack);
  buf[l4 + 12] = (hlen >>> 2) << 4;
  buf[l4 + 13] = flags;
  writeU16(buf, l4 + 14, win);
  writeU16(buf, l4 + 16, 0);
  writeU16(buf, l4 + 18, 0);
  return TCP_MIN_HLEN;
}

/** The checksum to store for `len` bytes of TCP segment at l4. */
export function tcpComputeChecksum(buf: Uint8Array, l4: number, len: number, src: number, dst: number): number {
  // Sum around the checksum field: the buffer is only read.
  return checksum(buf, l4 + 18, len - 18, onesSum(buf, l4, 16, pseudoHeaderSum(src, dst, IPPROTO_TCP, len)));
}

/** Fill the checksum of a segment of `len` bytes (IP total length - IP header length). */
export function tcpSetChecksum(buf: Uint8Array, l3: number, l4: number, len: number): void {
  writeU16(buf, l4 + 16, tcpComputeChecksum(buf, l4, len, readU32(buf, l3 + 12), readU32(buf, l3 + 16)));
}

export function tcpChecksumOk(buf: Uint8Array, l3: number, l4: number, len: number): boolean {
  return checksum(buf, l4, len, pseudoHeaderSum(readU32(buf, l3 + 12), readU32(buf, l3 + 16), IPPROTO_TCP, len)) === 0;
}

export function tcpCsumReplace16(buf: Uint8Array, l4: number, oldW: number, newW: number): void {
  writeU16(buf, l4 + 16, csumUpdate16(readU16(buf, l4 + 16), oldW, newW));
}
export function tcpCsumReplace32(buf: Uint8Array, l4: number, oldV: number, newV: number): void {
  writeU16(buf, l4 + 16, csumUpdate32(readU16(buf, l4 + 16), oldV >>> 0, newV >>> 0));
}

export function setTcpSrc(buf: Uint8Array, l4: number, port: number): void {
  const old = readU16(buf, l4);
  writeU16(buf, l4, port);
  tcpCsumReplace16(buf, l4, old, port & 0xffff);
}
export function setTcpDst(buf: Uint8Array, l4: number, port: number): void {
  const old = readU16(buf, l4 + 2);
  writeU16(buf, l4 + 2, port);
  tcpCsumReplace16(buf, l4, old, port & 0xffff);
}

/**
 * Length of the option at `at` (between l4 + 20 and l4 + header length `end`),
 * 1 for EOL/NOP, or -1 if it is malformed/truncated. Lets a caller walk options
 * without allocating: for (i = l4 + 20; i < end; i += n) { n = tcpOptionLen(...) }.
 */
export function tcpOptionLen(buf: Uint8Array, at: number, end: number): number {
  const kind = buf[at]!;
  if (kind === TCPOPT_EOL || kind === TCPOPT_NOP) return 1;
  if (at + 1 >= end) return -1;
  const n = buf[at + 1]!;
  if (n < 2 || at + n > end) return -1;
  return n;
}

/** Fill the checksum of a segment of `len` bytes at l4 behind the IPv6 header at l3 (its pseudo-header). */
export function tcp6SetChecksum(buf: Uint8Array, l3: number, l4: number, len: number): void {
  writeU16(buf, l4 + 16, 0);
  writeU16(buf, l4 + 16, checksum(buf, l4, len, ipv6PseudoSum(buf, l3, len, IPPROTO_TCP)));
}
