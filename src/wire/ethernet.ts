// Ethernet II header: plain functions over (buf, l2) where l2 is the offset of
// the destination MAC. No objects, no copies; MACs are (hi16, lo32) pairs
// (see addr.ts). Frames carry no FCS, as tcpdump sees them on Linux.
import { readMacHi, readMacLo, readU16, writeMac, writeU16 } from './addr.js';

export const ETH_HLEN = 14;
/** Shortest frame on the wire without FCS (the NIC pads to this; veths and TAPs do not). */
export const ETH_ZLEN = 60;
/** Ethertypes below this are 802.3 length fields. */
export const ETH_P_802_3_MIN = 0x0600;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_LLDP = 0x88cc;

export function ethDstHi(buf: Uint8Array, l2: number): number {
  return readMacHi(buf, l2);
}
export function ethDstLo(buf: Uint8Array, l2: number): number {
  return readMacLo(buf, l2);
}
export function ethSrcHi(buf: Uint8Array, l2: number): number {
  return readMacHi(buf, l2 + 6);
}
export function ethSrcLo(buf: Uint8Array, l2: number): number {
  return readMacLo(buf, l2 + 6);
}
/** The type/length field right after the MACs (a TPID if the frame is tagged). */
export function ethType(buf: Uint8Array, l2: number): number {
  return readU16(buf, l2 + 12);
}

export function setEthDst(buf: Uint8Array, l2: number, hi: number, lo: number): void {
  writeMac(buf, l2, hi, lo);
}
export function setEthSrc(buf: Uint8Array, l2: number, hi: number, lo: number): void {
  writeMac(buf, l2 + 6, hi, lo);
}
export function setEthType(buf: Uint8Array, l2: number, type: number): void {
  writeU16(buf, l2 + 12, type);
}

/** Write a 14-byte Ethernet header at l2; returns ETH_HLEN. */
export function writeEth(
  buf: Uint8Array,
  l2: number,
  dstHi: number,
  dstLo: number,
  srcHi: number,
  srcLo: number,
  type: number,
): number {
  writeMac(buf, l2, dstHi, dstLo);
  writeMac(buf, l2 + 6, srcHi, srcLo);
  writeU16(buf, l2 + 12, type);
  return ETH_HLEN;
}

/** Swap source and destination MAC in place (replies built from requests). */
export function ethSwapMacs(buf: Uint8Array, l2: number): void {
  for (let i = 0; i < 6; i++) {
    const t = buf[l2 + i]!;
    buf[l2 + i] = buf[l2 + 6 + i]!;
    buf[l2 + 6 + i] = t;
  }
}
