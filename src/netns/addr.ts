// IPv4 addresses and MACs as plain numbers: an address is a uint32 in host
// order, a MAC a 48-bit integer. Numbers compare and hash without allocation,
// which keeps per-packet lookups free of string keys. The byte-level helpers
// are the wire layer's; what is here is iproute2's way of reading text.
import { prefixMask, inPrefix, ipToString, maskToPrefix, readMacNum, writeMacNum, macNumToString, parseMacNum } from '../wire/addr.js';
import { parseU32 } from './names.js';

export { prefixMask, inPrefix };

export type Ip4 = number;
export type Mac = number;

export const MAC_BROADCAST: Mac = 0xffff_ffff_ffff;
export const IP4_LBCAST: Ip4 = 0xffff_ffff;

export function maskAddr(addr: Ip4, len: number): Ip4 {
  return (addr & prefixMask(len)) >>> 0;
}

/**
 * Parse an IPv4 address as iproute2's get_addr_ipv4 does: one to four
 * dot-separated decimal bytes, missing trailing bytes are zero ("10" is
 * 10.0.0.0, so `ip route add 10/8` works). Returns undefined when invalid.
 */
export function parseIp4(s: string): Ip4 | undefined {
  if (s.length === 0 || s.length > 15) return undefined;
  const parts = s.split('.');
  if (parts.length > 4) return undefined;
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    let b = 0;
    if (p !== undefined) {
      if (!/^[0-9]{1,3}$/.test(p)) return undefined;
      b = Number(p);
      if (b > 255) return undefined;
    }
    v = v * 256 + b;
  }
  return v;
}

export const formatIp4: (a: Ip4) => string = ipToString;

/** Parse "fa:16:3e:06:d8:7b" (also '-' separated, any case). */
export const parseMac = (s: string): Mac | undefined => parseMacNum(s) ?? undefined;
export const formatMac: (m: Mac) => string = macNumToString;
export const writeMac: (buf: Uint8Array, off: number, m: Mac) => void = writeMacNum;
export const readMac: (buf: Uint8Array, off: number) => Mac = readMacNum;

// Address classes as the kernel's ipv4_is_* helpers define them.
export const isMulticast = (a: Ip4): boolean => (a >>> 28) === 0xe;
export const isLbcast = (a: Ip4): boolean => a === IP4_LBCAST;
export const isZeronet = (a: Ip4): boolean => (a >>> 24) === 0;
export const isLoopback = (a: Ip4): boolean => (a >>> 24) === 127;
/** 224.0.0.0/24: link-local multicast. */
export const isLocalMulticast = (a: Ip4): boolean => (a >>> 8) === 0xe00000;

/** A prefix: network address and length. */
export interface Prefix {
  addr: Ip4;
  len: number;
}

/**
 * Parse "A.B.C.D/N", "A.B.C.D" (a /32), or "default"/"all"/"any" (0/0) as
 * iproute2's get_prefix does. Host bits are kept: the kernel decides whether
 * they are allowed (routes: no; rules: yes).
 */
export function parsePrefix(s: string): Prefix | undefined {
  if (s === 'default' || s === 'all' || s === 'any') return { addr: 0, len: 0 };
  const slash = s.indexOf('/');
  const a = parseIp4(slash < 0 ? s : s.slice(0, slash));
  if (a === undefined) return undefined;
  if (slash < 0) return { addr: a, len: 32 };
  const len = parseNetmask(s.slice(slash + 1));
  return len !== undefined && len <= 32 ? { addr: a, len } : undefined;
}

/** get_netmask: a length as get_unsigned reads it (C's base 0: `0x18`, `030`), else a contiguous dotted mask (`255.255.255.0`). */
export function parseNetmask(s: string): number | undefined {
  const n = parseU32(s);
  if (n !== undefined) return n;
  const m = parseIp4(s);
  const len = m === undefined ? -1 : maskToPrefix(m);
  return len < 0 ? undefined : len;
}

export function formatPrefix(addr: Ip4, len: number): string {
  return len === 32 ? formatIp4(addr) : `${formatIp4(addr)}/${len}`;
}
