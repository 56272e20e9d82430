// Where a namespace's IPv6 packet goes and from which address: the route
// fib6_rule_lookup finds in the FIB as routes6 lists it (inet6.ts), the
// IPv6 rules walked (rules.ts's list; fib6_rule_match, __fib6_rule_action,
// fib6_rule_suppress): in a rule's table the longest prefix, out of the
// strict device when the lookup is strict, one prefix's routes in their
// listing order; and the source ipv6_dev_get_saddr picks for it (RFC
// 6724's rules as the kernel applies them). `ip -6 route get`
// (ip-route6-get.ts) prints them; the data path (ndisc.ts's forwarding and
// echo replies, ping -6) sends by them. Neither allocates.

import type { Interface } from './interfaces.js';
import { type If6Addr, type Route6, usable6 } from './inet6.js';
import { inPrefix6 } from '../wire/addr.js';
import { ip6Equal } from '../wire/ipv6.js';
import { type FibRule6, type RuleFlow, commonMatch } from './rules.js';

/** The fields of struct flowi6 the rules and tables read. */
export interface Flow6 extends RuleFlow {
  dst: Uint8Array;
  /** The source; read only with `hasSrc` (RT6_LOOKUP_F_HAS_SADDR: an input route's, or an output one's bound). */
  src: Uint8Array;
  hasSrc: boolean;
  /** The traffic class (its DSCP bits are a rule's `tos`). */
  tclass: number;
}

/** A Flow6 to fill and reuse. */
export const newFlow6 = (): Flow6 => ({
  dst: new Uint8Array(16), src: new Uint8Array(16), hasSrc: false, tclass: 0, iif: 0, oif: 0, mark: 0, proto: 0, sport: 0, dport: 0, uid: 0,
});

/** What the lookup found: a route and its table, or the error of a rule's action (none matching: ENETUNREACH). */
export interface Fib6Result {
  route: Route6 | undefined;
  error: 'ENETUNREACH' | 'EACCES' | 'EINVAL' | undefined;
}

export const newFib6Result = (): Fib6Result => ({ route: undefined, error: undefined });

/** fib_rule_match + fib6_rule_match. */
export function rule6Matches(r: FibRule6, f: Flow6): boolean {
  const ok =
    commonMatch(r, f) &&
    (r.dstLen === 0 || inPrefix6(f.dst, r.dst, r.dstLen)) &&
    (r.srcLen === 0 || (f.hasSrc && inPrefix6(f.src, r.src, r.srcLen))) &&
    (r.tos === 0 || r.tos === (f.tclass & 0xfc));
  return r.invert ? !ok : ok;
}

/**
 * fib6_rule_lookup: the rules in turn; a lookup in a table finding no route
 * (or one refused by suppress_prefixlength, or by suppress_ifgroup: every
 * device here is in group 0, `default`) goes on to the next rule. `strict`:
 * only routes out of that device (RT6_LOOKUP_F_IFACE). Written into `out`.
 */
export function lookup6(rules: readonly FibRule6[], routes: readonly Route6[], f: Flow6, strict: string | undefined, out: Fib6Result): Fib6Result {
  out.route = undefined;
  out.error = undefined;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (!rule6Matches(r, f)) continue;
    switch (r.action) {
      case 'goto': {
        let j = 0;
        while (j < rules.length && rules[j]!.priority !== r.gotoTarget) j++;
        // Unresolved: skipped; else the walk goes on at the target, which must match too.
        if (j < rules.length) i = j - 1;
        continue;
      }
      case 'nop':
        continue;
      case 'blackhole':
        out.error = 'EINVAL';
        return out;
      case 'unreachable':
        out.error = 'ENETUNREACH';
        return out;
      case 'prohibit':
        out.error = 'EACCES';
        return out;
    }
    const route = best(routes, r.table, f.dst, strict);
    if (route === undefined || route.len <= r.suppressPrefixLen || r.suppressIfgroup === 0) continue;
    out.route = route;
    return out;
  }
  out.error = 'ENETUNREACH';
  return out;
}

/** The longest prefix of `table` holding `dst` (out of device `oif` when given), the first listed of it. */
function best(routes: readonly Route6[], table: number, dst: Uint8Array, oif: string | undefined): Route6 | undefined {
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
