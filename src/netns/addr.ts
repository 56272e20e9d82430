// IPv4 addresses and MACs as plain numbers: an address is a uint32 in host
// order, a MAC a 48-bit integer. Numbers compare and hash without allocation,
// which keeps per-packet lookups free of string keys.

export type Ip4 = number;
export type Mac = number;

export const MAC_BROADCAST: Mac = 0xffff_ffff_ffff;
export const IP4_LBCAST: Ip4 = 0xffff_ffff;

/** Netmask for a prefix length (0..32), as uint32. */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffff_ffff << (32 - len)) >>> 0;
}

export function maskAddr(addr: Ip4, len: number): Ip4 {
  return (addr & prefixMask(len)) >>> 0;
}

/** True when `addr` lies inside `net/len`. */
export function inPrefix(addr: Ip4, net: Ip4, len: number): boolean {
  return ((addr ^ net) & prefixMask(len)) === 0;
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

export function formatIp4(a: Ip4): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Parse "fa:16:3e:06:d8:7b" (also '-' separated, any case). */
export function parseMac(s: string): Mac | undefined {
  const m = /^([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})$/.exec(s);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 6; i++) v = v * 256 + parseInt(m[i]!, 16);
  return v;
}

export function formatMac(m: Mac): string {
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const b = Math.floor(m / 2 ** (8 * i)) % 256;
    s += (b < 16 ? '0' : '') + b.toString(16) + (i ? ':' : '');
  }
  return s;
}

export function writeMac(buf: Uint8Array, off: number, m: Mac): void {
  const hi = Math.floor(m / 0x1_0000_0000);
  const lo = m % 0x1_0000_0000;
  buf[off] = hi >>> 8;
  buf[off + 1] = hi & 255;
  buf[off + 2] = lo >>> 24;
  buf[off + 3] = (lo >>> 16) & 255;
  buf[off + 4] = (lo >>> 8) & 255;
  buf[off + 5] = lo & 255;
}

export function readMac(buf: Uint8Array, off: number): Mac {
  const hi = (buf[off]! << 8) | buf[off + 1]!;
  const lo = ((buf[off + 2]! << 24) | (buf[off + 3]! << 16) | (buf[off + 4]! << 8) | buf[off + 5]!) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

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
  const ls = s.slice(slash + 1);
  if (!/^[0-9]{1,2}$/.test(ls)) return undefined;
  const len = Number(ls);
  if (len > 32) return undefined;
  return { addr: a, len };
}

export function formatPrefix(addr: Ip4, len: number): string {
  return len === 32 ? formatIp4(addr) : `${formatIp4(addr)}/${len}`;
}
