// Where a namespace's IPv6 packet goes and from which address: the route
// ip6_route_output takes in the FIB as routes6 lists it (inet6.ts: the
// local table, then main; the longest prefix, out of `oif` when the lookup
// is strict; one prefix's routes in their listing order) and the source
// ipv6_dev_get_saddr picks for it (RFC 6724's rules as the kernel applies
// them). `ip -6 route get` (ip-route6-get.ts) prints them; the data path
// (ndisc.ts's echo replies, ping -6) sends by them. Neither allocates.

import type { Interface } from './interfaces.js';
import { type If6Addr, type Route6, usable6 } from './inet6.js';
import { inPrefix6 } from '../wire/addr.js';
import { ip6Equal } from '../wire/ipv6.js';

/** The route the lookup takes: the local table's, else main's; the longest prefix (out of device `oif` when given), the first listed of it. */
export function lookup6(routes: readonly Route6[], dst: Uint8Array, oif: string | undefined): Route6 | undefined {
  const local = best(routes, 'local', dst, oif);
  return local ?? best(routes, 'main', dst, oif);
}

function best(routes: readonly Route6[], table: Route6['table'], dst: Uint8Array, oif: string | undefined): Route6 | undefined {
  let b: Route6 | undefined;
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!;
    if (r.table === table && (oif === undefined || r.dev === oif) && inPrefix6(dst, r.key, r.len) && (!b || r.len > b.len)) b = r;
  }
  return b;
}

/** __ipv6_addr_src_scope: a group's own scope, link-local (::1 too) 2, site-local 5, the rest global 14. */
function srcScope(b: Uint8Array): number {
  if (b[0] === 0xff) return b[1]! & 0x0f;
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 2;
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 5;
  return zeros(b, 15) && b[15] === 1 ? 2 : 14;
}

/** The first `n` bytes are 0. */
function zeros(b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[i] !== 0) return false;
  return true;
}

/** The default policy table's label (ip addrlabel): ::1 0, ::/96 3, ::ffff:0:0/96 4, 2002::/16 2, 2001::/32 5, fc00::/7 13, fec0::/10 11, 3ffe::/16 12, else 1. */
function label(b: Uint8Array): number {
  if (zeros(b, 15) && b[15] === 1) return 0;
  if (zeros(b, 10) && b[10] === 0xff && b[11] === 0xff) return 4;
  if (zeros(b, 12)) return 3;
  if (b[0] === 0x20 && b[1] === 0x02) return 2;
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0 && b[3] === 0) return 5;
  if ((b[0]! & 0xfe) === 0xfc) return 13;
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 11;
  if (b[0] === 0x3f && b[1] === 0xfe) return 12;
  return 1;
}

/** How many leading bits a and b share. */
function common(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 16; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 128;
}

/** Rule `k` of ipv6_dev_get_saddr's for address `a` of device `l` (higher is better): the same address, the scope fit, the outgoing device, the label, the longest common prefix up to the address's length. */
function rule(k: number, a: If6Addr, l: Interface, dev: Interface | undefined, dst: Uint8Array, ds: number): number {
  switch (k) {
    case 0:
      return ip6Equal(a.bytes, 0, dst, 0) ? 1 : 0;
    case 1: {
      const s = srcScope(a.bytes);
      return s >= ds ? -s : s - 128;
    }
    case 2:
      return !dev || l === dev ? 1 : 0;
    case 3:
      return label(a.bytes) === label(dst) ? 1 : 0;
    default:
      return Math.min(common(a.bytes, dst), a.prefixLen);
  }
}

/**
 * ipv6_dev_get_saddr: for a group or a link-local destination only the
 * device's addresses, otherwise every device's (by ifindex, each device's
 * as listed); the best by the rules in turn, the first on a tie. The
 * kernel here has no CONFIG_IPV6_MIP6: `home` does not count.
 */
export function source6(links: readonly Interface[], dev: Interface | undefined, dst: Uint8Array): If6Addr | undefined {
  const ds = srcScope(dst);
  const oifOnly = dev !== undefined && (dst[0] === 0xff || ds <= 2);
  let bestA: If6Addr | undefined, bestL: Interface | undefined;
  const n = oifOnly ? 1 : links.length;
  for (let i = 0; i < n; i++) {
    const l = oifOnly ? dev : links[i]!;
    for (let j = 0; j < l.addrs6.length; j++) {
      const a = l.addrs6[j]!;
      if (!usable6(a)) continue; // a tentative address is not yet assigned (RFC 4862 5.4)
      if (bestA === undefined || better(a, l, bestA, bestL!, dev, dst, ds)) {
        bestA = a;
        bestL = l;
      }
    }
  }
  return bestA;
}

function better(a: If6Addr, l: Interface, b: If6Addr, bl: Interface, dev: Interface | undefined, dst: Uint8Array, ds: number): boolean {
  for (let k = 0; k < 5; k++) {
    const x = rule(k, a, l, dev, dst, ds), y = rule(k, b, bl, dev, dst, ds);
    if (x !== y) return x > y;
  }
  return false;
}
