// IPv4 header (RFC 791): plain functions over (buf, l3), l3 = offset of the
// version/IHL byte. Accessors do not bounds-check: run decode() first (it
// validates version, IHL, total length and reports what is wrong).
// Setters that change a header field keep the header checksum right with an
// RFC 1624 incremental update, as the kernel's csum_replace* helpers do;
// the `*Raw` variants leave the checksum alone (builders fix it at the end).
import { readI32, readU16, readU32, writeU16, writeU32 } from './addr.js';
import { checksum, csumUpdate16, csumUpdate32, onesSum } from './checksum.js';

export const IPV4_MIN_HLEN = 20;
export const IPV4_MAX_HLEN = 60;
export const IP_RF = 0x8000;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFMASK = 0x1fff;
export const IPDEFTTL = 64; // net.ipv4.ip_default_ttl

export const IPPROTO_ICMP = 1;
export const IPPROTO_IGMP = 2;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_GRE = 47;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_OSPF = 89;
export const IPPROTO_SCTP = 132;

/** Fragment kinds, the values OVS's nw_frag uses (0 = not a fragment). */
export const FRAG_NONE = 0;
export const FRAG_FIRST = 1; // FLOW_NW_FRAG_ANY
export const FRAG_LATER = 3; // FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER

// IPv4 option types (tcpdump prints them with -v only; decode just skips them).
export const IPOPT_EOL = 0;
export const IPOPT_NOP = 1;
export const IPOPT_RR = 7;
export const IPOPT_TS = 68;
export const IPOPT_SECURITY = 130;
export const IPOPT_LSRR = 131;
export const IPOPT_SSRR = 137;
export const IPOPT_RA = 148;

export function ipv4Version(buf: Uint8Array, l3: number): number {
  return buf[l3]! >>> 4;
}
/** IHL in 32-bit words. */
export function ipv4Ihl(buf: Uint8Array, l3: number): number {
  return buf[l3]! & 15;
}
/** Header length in bytes (IHL * 4). */
export function ipv4HeaderLen(buf: Uint8Array, l3: number): number {
  return (buf[l3]! & 15) << 2;
}
export function ipv4Tos(buf: Uint8Array, l3: number): number {
  return buf[l3 + 1]!;
}
export function ipv4TotLen(buf: Uint8Array, l3: number): number {
  return readU16(buf, l3 + 2);
}
export function ipv4Id(buf: Uint8Array, l3: number): number {
  return readU16(buf, l3 + 4);
}
/** The whole flags + fragment offset word (IP_DF, IP_MF, IP_OFFMASK in 8-byte units). */
export function ipv4FragOff(buf: Uint8Array, l3: number): number {
  return readU16(buf, l3 + 6);
}
export function ipv4Ttl(buf: Uint8Array, l3: number): number {
  return buf[l3 + 8]!;
}
export function ipv4Proto(buf: Uint8Array, l3: number): number {
  return buf[l3 + 9]!;
}
export function ipv4Csum(buf: Uint8Array, l3: number): number {
  return readU16(buf, l3 + 10);
}
export function ipv4Src(buf: Uint8Array, l3: number): number {
  return readU32(buf, l3 + 12);
}
export function ipv4Dst(buf: Uint8Array, l3: number): number {
  return readU32(buf, l3 + 16);
}

/** FRAG_NONE, FRAG_FIRST or FRAG_LATER from the flags/offset word. */
export function fragKindOf(fragOff: number): number {
  if ((fragOff & IP_OFFMASK) !== 0) return FRAG_LATER;
  return (fragOff & IP_MF) !== 0 ? FRAG_FIRST : FRAG_NONE;
}
export function ipv4FragKind(buf: Uint8Array, l3: number): number {
  return fragKindOf(readU16(buf, l3 + 6));
}
export function ipv4IsFragment(buf: Uint8Array, l3: number): boolean {
  return (readU16(buf, l3 + 6) & (IP_MF | IP_OFFMASK)) !== 0;
}

// ---- checksum ----

/** Full header checksum as it should be stored (the stored field counts as zero). */
export function ipv4ComputeChecksum(buf: Uint8Array, l3: number): number {
  const hl = ipv4HeaderLen(buf, l3);
  // Sum around the checksum field so nothing has to be written first.
  return checksum(buf, l3 + 12, hl - 12, onesSum(buf, l3, 10));
}

export function ipv4SetChecksum(buf: Uint8Array, l3: number): void {
  writeU16(buf, l3 + 10, 0);
  writeU16(buf, l3 + 10, checksum(buf, l3, ipv4HeaderLen(buf, l3)));
}

/** True when the header (IHL * 4 bytes) sums to 0xffff, as ip_fast_csum checks. */
export function ipv4ChecksumOk(buf: Uint8Array, l3: number): boolean {
  return checksum(buf, l3, ipv4HeaderLen(buf, l3)) === 0;
}

// ---- setters ----

/**
 * ip_decrease_ttl: TTL - 1 with the kernel's checksum trick (add 0x0100 with
 * end-around carry). Returns the new TTL. The caller checks TTL > 1 first.
 */
export function ipv4DecTtl(buf: Uint8Array, l3: number): number {
  let c = readU16(buf, l3 + 10) + 0x0100;
  c = (c + (c >= 0xffff ? 1 : 0)) & 0xffff;
  writeU16(buf, l3 + 10, c);
  const t = (buf[l3 + 8]! - 1) & 0xff;
  buf[l3 + 8] = t;
  return t;
}

export function setIpv4Ttl(buf: Uint8Array, l3: number, ttl: number): void {
  const old = readU16(buf, l3 + 8);
  const nw = ((ttl & 0xff) << 8) | (old & 0xff);
  buf[l3 + 8] = ttl;
  writeU16(buf, l3 + 10, csumUpdate16(readU16(buf, l3 + 10), old, nw));
}

export function setIpv4Tos(buf: Uint8Array, l3: number, tos: number): void {
  const old = readU16(buf, l3);
  const nw = (old & 0xff00) | (tos & 0xff);
  buf[l3 + 1] = tos;
  writeU16(buf, l3 + 10, csumUpdate16(readU16(buf, l3 + 10), old, nw));
}

/** Set the source address, updating the IP header checksum only (L4 is the caller's: see udp/tcp/icmp). */
export function setIpv4Src(buf: Uint8Array, l3: number, addr: number): void {
  const old = readI32(buf, l3 + 12); // int32 words: never boxed across a call (the sum only needs the bits)
  writeU32(buf, l3 + 12, addr);
  writeU16(buf, l3 + 10, csumUpdate32(readU16(buf, l3 + 10), old, addr | 0));
}

export function setIpv4Dst(buf: Uint8Array, l3: number, addr: number): void {
  const old = readI32(buf, l3 + 16); // int32 words: never boxed across a call (the sum only needs the bits)
  writeU32(buf, l3 + 16, addr);
  writeU16(buf, l3 + 10, csumUpdate32(readU16(buf, l3 + 10), old, addr | 0));
}

export function setIpv4TotLen(buf: Uint8Array, l3: number, totLen: number): void {
  const old = readU16(buf, l3 + 2);
  writeU16(buf, l3 + 2, totLen);
  writeU16(buf, l3 + 10, csumUpdate16(readU16(buf, l3 + 10), old, totLen & 0xffff));
}

export function setIpv4FragOff(buf: Uint8Array, l3: number, fragOff: number): void {
  const old = readU16(buf, l3 + 6);
  writeU16(buf, l3 + 6, fragOff);
  writeU16(buf, l3 + 10, csumUpdate16(readU16(buf, l3 + 10), old, fragOff & 0xffff));
}

export function setIpv4SrcRaw(buf: Uint8Array, l3: number, addr: number): void {
  writeU32(buf, l3 + 12, addr);
}
export function setIpv4DstRaw(buf: Uint8Array, l3: number, addr: number): void {
  writeU32(buf, l3 + 16, addr);
}

// ---- builder ----

/**
 * Write a 20-byte IPv4 header (no options) at l3 with a correct checksum.
 * `fragOff` is the whole flags/offset word (e.g. IP_DF). Returns 20.
 */
export function writeIpv4(
  buf: Uint8Array,
  l3: number,
  totLen: number,
  id: number,
  fragOff: number,
  ttl: number,
  proto: number,
  src: number,
  dst: number,
  tos = 0,
): number {
  buf[l3] = 0x45;
  buf[l3 + 1] = tos;
  writeU16(buf, l3 + 2, totLen);
  writeU16(buf, l3 + 4, id);
  writeU16(buf, l3 + 6, fragOff);
  buf[l3 + 8] = ttl;
  buf[l3 + 9] = proto;
  writeU16(buf, l3 + 10, 0);
  writeU32(buf, l3 + 12, src);
  writeU32(buf, l3 + 16, dst);
  writeU16(buf, l3 + 10, checksum(buf, l3, IPV4_MIN_HLEN));
  return IPV4_MIN_HLEN;
}
