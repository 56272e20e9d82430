// ARP for IPv4 over Ethernet (RFC 826): plain functions over (buf, a) where
// `a` is the offset of the ARP header (just after the Ethernet/VLAN header).
// Builders write a complete 42-byte frame (Ethernet + 28) as Linux's
// arp_create does: no padding (a NIC pads to 60, veths and TAPs do not).
import { readMacHi, readMacLo, readU16, readU32, writeMac, writeU16, writeU32, MAC_BCAST_HI, MAC_BCAST_LO } from './addr.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETH_HLEN, writeEth } from './ethernet.js';

export const ARP_HLEN = 28;
export const ARP_FRAME_LEN = ETH_HLEN + ARP_HLEN; // 42
export const ARPHRD_ETHER = 1;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
export const ARPOP_RREQUEST = 3;
export const ARPOP_RREPLY = 4;

export function arpHtype(buf: Uint8Array, a: number): number {
  return readU16(buf, a);
}
export function arpPtype(buf: Uint8Array, a: number): number {
  return readU16(buf, a + 2);
}
export function arpHlen(buf: Uint8Array, a: number): number {
  return buf[a + 4]!;
}
export function arpPlen(buf: Uint8Array, a: number): number {
  return buf[a + 5]!;
}
export function arpOp(buf: Uint8Array, a: number): number {
  return readU16(buf, a + 6);
}
export function arpShaHi(buf: Uint8Array, a: number): number {
  return readMacHi(buf, a + 8);
}
export function arpShaLo(buf: Uint8Array, a: number): number {
  return readMacLo(buf, a + 8);
}
export function arpSpa(buf: Uint8Array, a: number): number {
  return readU32(buf, a + 14);
}
export function arpThaHi(buf: Uint8Array, a: number): number {
  return readMacHi(buf, a + 18);
}
export function arpThaLo(buf: Uint8Array, a: number): number {
  return readMacLo(buf, a + 18);
}
export function arpTpa(buf: Uint8Array, a: number): number {
  return readU32(buf, a + 24);
}

/** True for the only form this layer interprets: Ethernet (1) / IPv4 (0x0800), hlen 6, plen 4. */
export function arpIsEthIpv4(buf: Uint8Array, a: number): boolean {
  return readU16(buf, a) === ARPHRD_ETHER && readU16(buf, a + 2) === ETHERTYPE_IPV4 && buf[a + 4] === 6 && buf[a + 5] === 4;
}

/** Write the 28-byte ARP body at `a`. Returns 28. */
export function writeArp(
  buf: Uint8Array,
  a: number,
  op: number,
  shaHi: number,
  shaLo: number,
  spa: number,
  thaHi: number,
  thaLo: number,
  tpa: number,
): number {
  writeU16(buf, a, ARPHRD_ETHER);
  writeU16(buf, a + 2, ETHERTYPE_IPV4);
  buf[a + 4] = 6;
  buf[a + 5] = 4;
  writeU16(buf, a + 6, op);
  writeMac(buf, a + 8, shaHi, shaLo);
  writeU32(buf, a + 14, spa);
  writeMac(buf, a + 18, thaHi, thaLo);
  writeU32(buf, a + 24, tpa);
  return ARP_HLEN;
}

/**
 * A broadcast who-has frame at l2: "Request who-has tpa tell spa". The target
 * hardware address is zero, as Linux sends it. Returns 42.
 */
export function buildArpRequest(buf: Uint8Array, l2: number, shaHi: number, shaLo: number, spa: number, tpa: number): number {
  writeEth(buf, l2, MAC_BCAST_HI, MAC_BCAST_LO, shaHi, shaLo, ETHERTYPE_ARP);
  writeArp(buf, l2 + ETH_HLEN, ARPOP_REQUEST, shaHi, shaLo, spa, 0, 0, tpa);
  return ARP_FRAME_LEN;
}

/** A unicast reply frame "spa is-at sha" to (thaHi/thaLo, tpa). Returns 42. */
export function buildArpReply(
  buf: Uint8Array,
  l2: number,
  shaHi: number,
  shaLo: number,
  spa: number,
  thaHi: number,
  thaLo: number,
  tpa: number,
): number {
  writeEth(buf, l2, thaHi, thaLo, shaHi, shaLo, ETHERTYPE_ARP);
  writeArp(buf, l2 + ETH_HLEN, ARPOP_REPLY, shaHi, shaLo, spa, thaHi, thaLo, tpa);
  return ARP_FRAME_LEN;
}

/**
 * Turn a request at (l2, a) into the reply in place (what arp_process does
 * for an address we own): answer "tpa is-at (hi, lo)" to the requester.
 * Works for tagged frames too (a = l2 + 14 + 4 * tags). Frame length unchanged.
 */
export function arpRequestToReply(buf: Uint8Array, l2: number, a: number, hi: number, lo: number): void {
  const reqHi = readMacHi(buf, a + 8);
  const reqLo = readMacLo(buf, a + 8);
  const spa = readU32(buf, a + 14);
  const tpa = readU32(buf, a + 24);
  writeMac(buf, l2, reqHi, reqLo);
  writeMac(buf, l2 + 6, hi, lo);
  writeU16(buf, a + 6, ARPOP_REPLY);
  writeMac(buf, a + 8, hi, lo);
  writeU32(buf, a + 14, tpa);
  writeMac(buf, a + 18, reqHi, reqLo);
  writeU32(buf, a + 24, spa);
}
