// IPv6 header (RFC 8200): plain functions over (buf, l3), l3 = offset of the
// version byte, and the addresses the kernel derives from a MAC. An address
// stays 16 bytes in the frame (or in a 16-byte array the model holds): the
// receive path compares it there, without making a value of it.
import { macHi, macLo, writeU16, writeU32 } from './addr.js';
import { onesSum } from './checksum.js';

export const IPV6_HLEN = 40;
export const NEXTHDR_HOP = 0;
export const NEXTHDR_ICMP = 58;
/** The hop limit of Neighbour Discovery (RFC 4861: 255, checked on receipt). */
export const ND_HOPLIMIT = 255;

export const ipv6PayloadLen = (buf: Uint8Array, l3: number): number => (buf[l3 + 4]! << 8) | buf[l3 + 5]!;
export const ipv6NextHdr = (buf: Uint8Array, l3: number): number => buf[l3 + 6]!;
export const ipv6HopLimit = (buf: Uint8Array, l3: number): number => buf[l3 + 7]!;
/** The traffic class and flow label (ip6_flowinfo: the first word without the version). */
export const ipv6FlowInfo = (buf: Uint8Array, l3: number): number => ((buf[l3]! & 0x0f) << 24 | buf[l3 + 1]! << 16 | buf[l3 + 2]! << 8 | buf[l3 + 3]!) >>> 0;
export const IPV6_SRC = 8;
export const IPV6_DST = 24;

/** Version 6, `flowInfo` (traffic class and label), payload length, next header and hop limit; the addresses are the caller's. */
export function writeIpv6Head(buf: Uint8Array, l3: number, flowInfo: number, payloadLen: number, nextHdr: number, hopLimit: number): void {
  writeU32(buf, l3, (0x6000_0000 | (flowInfo & 0x0fff_ffff)) >>> 0);
  writeU16(buf, l3 + 4, payloadLen);
  buf[l3 + 6] = nextHdr;
  buf[l3 + 7] = hopLimit;
}

/** One's-complement sum of the IPv6 pseudo-header (RFC 8200 8.1) of the header at l3, for `len` upper-layer bytes of `nextHdr`. */
export function ipv6PseudoSum(buf: Uint8Array, l3: number, len: number, nextHdr: number): number {
  let sum = onesSum(buf, l3 + IPV6_SRC, 32) + (len >>> 16) + (len & 0xffff) + nextHdr;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function ip6Copy(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number): void {
  for (let i = 0; i < 16; i++) dst[dOff + i] = src[sOff + i]!;
}

export function ip6Equal(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  for (let i = 0; i < 16; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** fe80::/10: needs a device (IN6_IS_ADDR_LINKLOCAL). */
export const ip6IsLinkLocal = (b: Uint8Array, off: number): boolean => b[off] === 0xfe && (b[off + 1]! & 0xc0) === 0x80;

export function ip6IsAny(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== 0) return false;
  return true;
}

/** ::1. */
export function ip6IsLoopback(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 15; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 15] === 1;
}

export const ip6IsMulticast = (buf: Uint8Array, off: number): boolean => buf[off] === 0xff;

/** ff0S::N (S the scope: 1 interface-, 2 link-local): all-nodes (N 1), all-routers (N 2). */
export function ip6IsWellKnownGroup(buf: Uint8Array, off: number, scope: number, n: number): boolean {
  if (buf[off] !== 0xff || buf[off + 1] !== scope || buf[off + 15] !== n) return false;
  for (let i = 2; i < 15; i++) if (buf[off + i] !== 0) return false;
  return true;
}

/** ff02::1:ffXX:XXXX, the solicited-node group (RFC 4291 2.7.1) of an address whose last three bytes are at `tOff`. */
export function ip6IsSolicitedNodeOf(buf: Uint8Array, off: number, target: Uint8Array, tOff: number): boolean {
  if (buf[off] !== 0xff || buf[off + 1] !== 0x02 || buf[off + 11] !== 1 || buf[off + 12] !== 0xff) return false;
  for (let i = 2; i < 11; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 13] === target[tOff + 13] && buf[off + 14] === target[tOff + 14] && buf[off + 15] === target[tOff + 15];
}

/** fe80::/64 with the modified EUI-64 of `mac` (addrconf_ifid_eui48: the universal/local bit flipped, ff:fe in the middle). */
export function writeEui64LinkLocal(buf: Uint8Array, off: number, mac: number): void {
  const hi = macHi(mac), lo = macLo(mac);
  buf[off] = 0xfe;
  buf[off + 1] = 0x80;
  for (let i = 2; i < 8; i++) buf[off + i] = 0;
  buf[off + 8] = (hi >>> 8) ^ 0x02;
  buf[off + 9] = hi & 0xff;
  buf[off + 10] = lo >>> 24;
  buf[off + 11] = 0xff;
  buf[off + 12] = 0xfe;
  buf[off + 13] = (lo >>> 16) & 0xff;
  buf[off + 14] = (lo >>> 8) & 0xff;
  buf[off + 15] = lo & 0xff;
}
