// Addresses as numbers and big-endian field access.
//
// Convention for the whole wire layer: a MAC is two numbers, `hi` (top 16
// bits) and `lo` (low 32 bits, unsigned), so it fits flow-key words and never
// needs a string or an object on the data path. An IPv4 address is one
// unsigned 32-bit number (read with >>> 0). Text conversion (macToString,
// ipToString, parse*) allocates and is for configuration, traces and tests.

import { isIPv6 } from 'node:net';

export function readU16(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

/**
 * The big-endian 32-bit word at `off` as int32 bits (`>>> 0` makes it
 * unsigned): an int32 result is never boxed by a call the optimizer did not
 * inline, where a uint32 above 2^31 would be (see CtStore).
 */
export function readI32(buf: Uint8Array, off: number): number {
  return (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
}

export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

export function writeU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 8;
  buf[off + 1] = v;
}

export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = v >>> 16;
  buf[off + 2] = v >>> 8;
  buf[off + 3] = v;
}

// ---- MAC ----

export const ETH_ALEN = 6;

/** Top 16 bits of the MAC at buf[off..off+6). */
export function readMacHi(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

/** Low 32 bits (unsigned) of the MAC at buf[off..off+6). */
export function readMacLo(buf: Uint8Array, off: number): number {
  return readU32(buf, off + 2);
}

/** The same bits as int32, as MAC tables key on them: never boxed by a call the optimizer did not inline. */
export function readMacLoI32(buf: Uint8Array, off: number): number {
  return readI32(buf, off + 2);
}

export function writeMac(buf: Uint8Array, off: number, hi: number, lo: number): void {
  buf[off] = hi >>> 8;
  buf[off + 1] = hi;
  writeU32(buf, off + 2, lo);
}

/** Copy 6 bytes within or across buffers without making a view. */
export function copyMac(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number): void {
  for (let i = 0; i < 6; i++) dst[dOff + i] = src[sOff + i]!;
}

export function macEqualsAt(buf: Uint8Array, off: number, hi: number, lo: number): boolean {
  return readMacHi(buf, off) === (hi & 0xffff) && readMacLo(buf, off) === lo >>> 0;
}

/** The group bit (I/G, the low bit of the first octet): broadcast or multicast. */
export function macIsMulticast(hi: number): boolean {
  return (hi & 0x0100) !== 0;
}

export function macIsBroadcast(hi: number, lo: number): boolean {
  return (hi & 0xffff) === 0xffff && lo >>> 0 === 0xffffffff;
}

export function macIsZero(hi: number, lo: number): boolean {
  return (hi & 0xffff) === 0 && lo >>> 0 === 0;
}

export const MAC_BCAST_HI = 0xffff;
export const MAC_BCAST_LO = 0xffffffff;

const HEX = '0123456789abcdef';

/** A byte as two lower-case hex digits. */
export function hex2(b: number): string {
  return HEX[(b >>> 4) & 15]! + HEX[b & 15]!;
}

/** "fa:16:3e:b2:ef:af", lower case as ip, ovs-ofctl and tcpdump print it. */
export function macToString(hi: number, lo: number): string {
  return (
    hex2(hi >>> 8) + ':' + hex2(hi) + ':' + hex2(lo >>> 24) + ':' + hex2(lo >>> 16) + ':' + hex2(lo >>> 8) + ':' + hex2(lo)
  );
}

/** The MAC at buf[off..off+6) as text. */
export function macAt(buf: Uint8Array, off: number): string {
  return macToString(readMacHi(buf, off), readMacLo(buf, off));
}

/** Parse "fa:16:3e:b2:ef:af" (also '-' separated, 1 or 2 hex digits per octet). */
export function parseMac(text: string): { hi: number; lo: number } | null {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== 6) return null;
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 6; i++) {
    const p = parts[i]!;
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return null;
    const b = parseInt(p, 16);
    if (i < 2) hi = (hi << 8) | b;
    else lo = ((lo << 8) | b) >>> 0;
  }
  return { hi, lo };
}

// ---- MAC as one number ----
// A 48-bit MAC is also exact as one JavaScript number (2^48 < 2^53): tables
// keyed by MAC (fdb, neighbours) use Map<number, …> with no string keys.

export function readMacNum(buf: Uint8Array, off: number): number {
  return readMacHi(buf, off) * 0x1_0000_0000 + readMacLo(buf, off);
}

/** A 48-bit MAC held as a number: its top 16 bits and its low 32 (as writeEth and writeMac take them). */
export const macHi = (mac: number): number => Math.floor(mac / 0x1_0000_0000);
export const macLo = (mac: number): number => mac >>> 0;

export function writeMacNum(buf: Uint8Array, off: number, mac: number): void {
  writeMac(buf, off, macHi(mac), macLo(mac));
}

export function macNumToString(mac: number): string {
  return macToString(macHi(mac), macLo(mac));
}

export function parseMacNum(text: string): number | null {
  const m = parseMac(text);
  return m ? m.hi * 0x1_0000_0000 + m.lo : null;
}

// ---- IPv4 ----

/** Dotted quad of an unsigned 32-bit address. */
export function ipToString(a: number): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Parse a dotted quad (exactly four decimal octets, as inet_pton does); unsigned result. */
export function parseIpv4(text: string): number | null {
  const parts = text.trim().split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v >>> 0;
}

/** Netmask for a prefix length 0..32 (unsigned); prefixMask(0) = 0. */
export function prefixMask(len: number): number {
  if (len <= 0) return 0;
  if (len >= 32) return 0xffffffff;
  return (0xffffffff << (32 - len)) >>> 0;
}

/** Prefix length of a contiguous netmask, or -1 if the mask is not contiguous. */
export function maskToPrefix(mask: number): number {
  mask >>>= 0;
  let len = 0;
  while (len < 32 && (mask & (0x80000000 >>> len)) !== 0) len++;
  return prefixMask(len) === mask ? len : -1;
}

export function inPrefix(addr: number, net: number, len: number): boolean {
  const m = prefixMask(len);
  return ((addr & m) >>> 0) === ((net & m) >>> 0);
}

// ---- IPv6 ----

/** inet_pton for IPv6 (no zone index): the 16 bytes, or null. */
export function parseIpv6(text: string): Uint8Array | null {
  if (text.includes('%') || !isIPv6(text)) return null;
  let t = text;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(t);
  if (v4) t = `${t.slice(0, v4.index)}${((+v4[1]! << 8) | +v4[2]!).toString(16)}:${((+v4[3]! << 8) | +v4[4]!).toString(16)}`;
  const [head, tail] = t.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 255;
  });
  return out;
}

/** Whether the first `len` bits of two IPv6 addresses are equal. */
export function inPrefix6(addr: Uint8Array, net: Uint8Array, len: number): boolean {
  const whole = len >> 3;
  for (let i = 0; i < whole; i++) if (addr[i] !== net[i]) return false;
  const bits = len & 7;
  if (bits === 0) return true;
  const m = (0xff << (8 - bits)) & 0xff;
  return (addr[whole]! & m) === (net[whole]! & m);
}

/** Parse "a.b.c.d/len" (or a bare address = /32); the address is kept as written (host bits too). */
export function parseCidr(text: string): { addr: number; len: number } | null {
  const t = text.trim();
  const slash = t.indexOf('/');
  if (slash < 0) {
    const a = parseIpv4(t);
    return a === null ? null : { addr: a, len: 32 };
  }
  const a = parseIpv4(t.slice(0, slash));
  const ls = t.slice(slash + 1);
  if (a === null || !/^[0-9]{1,2}$/.test(ls)) return null;
  const len = Number(ls);
  if (len > 32) return null;
  return { addr: a, len };
}

export function ipIsMulticast(a: number): boolean {
  return a >>> 28 === 0xe;
}

export function ipIsLimitedBroadcast(a: number): boolean {
  return a >>> 0 === 0xffffffff;
}

export function ipIsLoopback(a: number): boolean {
  return a >>> 24 === 127;
}

export function ipIsZeronet(a: number): boolean {
  return a >>> 24 === 0;
}
