// IPv4 addresses as unsigned 32-bit numbers, and their text forms as iptables
// reads and prints them (the byte-level helpers are the wire layer's).
import { ipToString, prefixMask, maskToPrefix, parseIpv4 as parseQuad } from '../wire/addr.js';

export { maskToPrefix };

/** Parses a dotted quad strictly (four decimal octets); returns -1 when invalid. */
export function parseIpv4(text: string): number {
  return parseQuad(text) ?? -1;
}

export const formatIpv4: (addr: number) => string = ipToString;

export const prefixToMask: (len: number) => number = prefixMask;

/** Parses `a.b.c.d[/len|/mask]` as iptables does; null when invalid. */
export function parseIpv4Prefix(text: string): { addr: number; mask: number } | null {
  const slash = text.indexOf('/');
  const addr = parseIpv4(slash < 0 ? text : text.slice(0, slash));
  if (addr < 0) return null;
  if (slash < 0) return { addr, mask: 0xffffffff };
  const m = text.slice(slash + 1);
  let mask: number;
  if (/^\d{1,2}$/.test(m)) {
    const len = Number(m);
    if (len > 32) return null;
    mask = prefixToMask(len);
  } else {
    mask = parseIpv4(m);
    if (mask < 0) return null;
  }
  return { addr: (addr & mask) >>> 0, mask };
}

/** `/len` as iptables-save prints it (dotted mask when not contiguous). */
export function formatPrefixSave(addr: number, mask: number): string {
  return formatIpv4(addr) + (mask >>> 0 === 0xffffffff ? '/32' : maskListText(mask));
}

/** xtables_ipmask_to_numeric: the mask as `iptables -L` writes it after an address (nothing for /32). */
export function maskListText(mask: number): string {
  if (mask >>> 0 === 0xffffffff) return '';
  const len = maskToPrefix(mask);
  return `/${len >= 0 ? len : formatIpv4(mask)}`;
}
