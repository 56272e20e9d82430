// `ip -6 route get ADDRESS [from ADDRESS] [oif DEV] [mark MARK]` in a
// namespace: the route ip6_route_output would take (the local table, then
// main: the longest prefix, out of `oif` when given; one prefix's routes in
// their listing order) and the source address ipv6_dev_get_saddr picks for
// it (RFC 6724's rules as the kernel applies them), printed as iproute2
// prints the kernel's answer (rt6_fill_node). The input side (`iif`) is not
// modelled. Compared with kernel namespaces in test/e2e/netns-text-kernel.test.ts.

import { RtnlError, IpSyntaxError } from './errors.js';
import type { Interface } from './interfaces.js';
import type { Netns } from './netns.js';
import type { Route6 } from './inet6.js';
import { type Family, familyPrefix, parsePrefix6, tokenize } from './ip-tokens.js';
import { RTPROT_BOOT, parseU32, protoName } from './names.js';
import { type JsonObject, jsonDump } from './json-writer.js';
import { inPrefix6 } from '../wire/addr.js';
import { ip6Equal } from '../wire/ipv6.js';
import { ip6ToString } from '../wire/tcpdump-text.js';

/** Whether `ip route get ARGS` asks of IPv6: -6, or in no family a destination or source with a ':'. */
export function isRouteGet6(args: string, family: Family | undefined): boolean {
  if (family === 'inet6') return true;
  if (family !== undefined) return false;
  const toks = tokenize(args).map((t) => t.text);
  return toks.some((w, i) => w.includes(':') && (i === 0 || !['oif', 'iif', 'mark', 'tos', 'dsfield'].includes(toks[i - 1]!)));
}

/** __ipv6_addr_src_scope: a group's own scope, link-local (::1 too) 2, site-local 5, the rest global 14. */
function srcScope(b: Uint8Array): number {
  if (b[0] === 0xff) return b[1]! & 0x0f;
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 2;
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 5;
  return b.every((x, i) => x === (i === 15 ? 1 : 0)) ? 2 : 14;
}

/** The default policy table's label (ip addrlabel): ::1 0, ::/96 3, ::ffff:0:0/96 4, 2002::/16 2, 2001::/32 5, fc00::/7 13, fec0::/10 11, 3ffe::/16 12, else 1. */
function label(b: Uint8Array): number {
  const zero = (n: number) => b.subarray(0, n).every((x) => x === 0);
  if (zero(15) && b[15] === 1) return 0;
  if (zero(10) && b[10] === 0xff && b[11] === 0xff) return 4;
  if (zero(12)) return 3;
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

/**
 * ipv6_dev_get_saddr: for a group or a link-local destination only the
 * device's addresses, otherwise every device's; the best by the rules in
 * turn (the same address, the scope fit, the outgoing device, the label,
 * the longest common prefix up to the address's length), the first on a tie.
 */
function sourceOf(links: readonly Interface[], dev: Interface | undefined, dst: Uint8Array): Uint8Array | undefined {
  const ds = srcScope(dst);
  const oifOnly = dev !== undefined && (dst[0] === 0xff || ds <= 2);
  let best: Uint8Array | undefined, bestScore: number[] = [];
  for (const l of oifOnly ? [dev] : links) {
    for (const a of l.addrs6) {
      const s = srcScope(a.bytes);
      const score = [ip6Equal(a.bytes, 0, dst, 0) ? 1 : 0, s >= ds ? -s : s - 128, !dev || l === dev ? 1 : 0, label(a.bytes) === label(dst) ? 1 : 0, Math.min(common(a.bytes, dst), a.prefixLen)];
      const i = score.findIndex((x, k) => x !== bestScore[k]);
      if (!best || (i >= 0 && score[i]! > bestScore[i]!)) [best, bestScore] = [a.bytes, score];
    }
  }
  return best;
}

/** The route the lookup takes: the local table's, else main's; the longest prefix (out of `oif`), the first listed of it. */
function lookup(routes: readonly Route6[], dst: Uint8Array, oif: string | undefined): Route6 | undefined {
  for (const table of ['local', 'main']) {
    let best: Route6 | undefined;
    for (const r of routes) if (r.table === table && (!oif || r.dev === oif) && inPrefix6(dst, r.key, r.len) && (!best || r.len > best.len)) best = r;
    if (best) return best;
  }
  return undefined;
}

/** `ip [-6] route get` of an IPv6 address, as text or `-j`. */
export function routeGet6(ns: Netns, args: string, line = 1, source?: string, json?: { pretty: boolean }): string {
  const toks = tokenize(args);
  const fail = (i: number, reason: string): never => {
    const t = toks[i] ?? toks[toks.length - 1];
    throw new IpSyntaxError(line, t?.col ?? 1, t?.text ?? '', reason, source);
  };
  const addr = (i: number): Uint8Array => {
    const w = toks[i]?.text ?? fail(i, 'argument is missing');
    const p = parsePrefix6(w);
    if (!p || w === 'default' || w === 'all' || w === 'any') familyPrefix(w, 'inet6'); // ip's refusal of the word
    return p!.bytes;
  };
  let dst: Uint8Array | undefined, from: Uint8Array | undefined, oif: string | undefined;
  for (let i = 0; i < toks.length; i++) {
    const w = toks[i]!.text;
    if (w === 'from') from = addr(++i);
    else if (w === 'oif') oif = ns.mustLink(toks[++i]?.text ?? fail(i, 'argument is missing')).name;
    else if (w === 'mark') {
      if (parseU32(toks[++i]?.text ?? fail(i, 'argument is missing')) === undefined) fail(i, `invalid mark "${toks[i]!.text}"`);
    } else if (w === 'iif' || w === 'tos' || w === 'dsfield' || w === 'fibmatch' || w === 'connected') fail(i, `'${w}' is not emulated with an IPv6 route get`);
    else if (dst !== undefined) fail(i, `unknown or duplicate argument "${w}"`);
    else dst = addr(w === 'to' ? ++i : i);
  }
  if (dst === undefined) throw new IpSyntaxError(line, 1, '', 'need at least a destination address', source);
  const r = lookup(ns.routes6(), dst, oif);
  if (!r) throw new RtnlError('ENETUNREACH');
  const dev = ns.link(r.dev);
  const src = sourceOf(ns.links(), dev, dst);
  // A local or anycast route's answer goes out of lo.
  const o: JsonObject = {
    type: r.type === 'unicast' ? undefined : r.type,
    dst: ip6ToString(dst, 0),
    from: from ? ip6ToString(from, 0) : '::',
    gateway: r.via,
    dev: r.type === 'local' || r.type === 'anycast' ? 'lo' : r.dev,
    table: r.table === 'local' ? 'local' : undefined,
    protocol: r.proto === RTPROT_BOOT ? undefined : protoName(r.proto),
    prefsrc: src ? ip6ToString(src, 0) : undefined,
    metric: r.metric,
    flags: [],
    pref: 'medium',
  };
  if (json) return jsonDump([o], json.pretty);
  const f = (k: string, v: unknown) => (v === undefined ? '' : ` ${k} ${String(v)}`);
  return `${o.type ? `${o.type} ` : ''}${o.dst}${f('from', o.from)}${f('via', o.gateway)}${f('dev', o.dev)}${f('table', o.table)}${f('proto', o.protocol)}${f('src', o.prefsrc)}${f('metric', o.metric)} pref medium\n`;
}
