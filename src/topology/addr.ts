// IPv4 helpers for configuration checks (numbers, prefixes, containment).
import { ipToString, parseIpv4, prefixMask } from '../wire/addr.js';

export function parseIp(text: string): number | undefined {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(text) ? (parseIpv4(text) ?? undefined) : undefined;
}

export function formatIp(n: number): string {
  return ipToString(n >>> 0);
}

export function contains(net: number, len: number, ip: number): boolean {
  const m = prefixMask(len);
  return ((net & m) >>> 0) === ((ip & m) >>> 0);
}

/** "a.b.c.d/len" of the network holding ip/len. */
export function networkOf(ip: number, len: number): string {
  return `${formatIp((ip & prefixMask(len)) >>> 0)}/${len}`;
}
