// `ip -6 route get ADDRESS [from ADDRESS] [iif DEV] [oif DEV] [mark MARK]`
// in a namespace: the route ip6_route_output (or with `iif`
// ip6_route_input_lookup) would take through the IPv6 rules
// (route6-output.ts: in each rule's table the longest prefix, out of `oif`
// when given without `from`; one prefix's routes in their listing order)
// and, but for an input route, the source address ipv6_dev_get_saddr picks
// for it (RFC 6724's rules as the kernel applies them), printed as iproute2
// prints the kernel's answer (rt6_fill_node). A rule's blackhole, prohibit or unreachable is the
// kernel's error. Compared with kernel namespaces in
// test/e2e/netns-text-kernel.test.ts and test/e2e/rule6-kernel.test.ts.

import { RtnlError, IpSyntaxError } from './errors.js';
import { type Family, familyPrefix, parsePrefix6, tokenize } from './ip-tokens.js';
import { RT_TABLE_MAIN, RTPROT_BOOT, parseU32, protoName, tableName } from './names.js';
import { type JsonObject, jsonDump } from './json-writer.js';
import { lookup6, newFib6Result, newFlow6, source6 } from './route6-output.js';
import { LOOPBACK_IFINDEX, type Netns } from './netns.js';
import type { Interface } from './interfaces.js';
import { ip6IsLinkLocal } from '../wire/ipv6.js';
import { ip6ToString } from '../wire/tcpdump-text.js';

/** Whether `ip route get ARGS` asks of IPv6: -6, or in no family a destination or source with a ':'. */
export function isRouteGet6(args: string, family: Family | undefined): boolean {
  if (family === 'inet6') return true;
  if (family !== undefined) return false;
  const toks = tokenize(args).map((t) => t.text);
  return toks.some((w, i) => w.includes(':') && (i === 0 || !['oif', 'iif', 'mark', 'tos', 'dsfield'].includes(toks[i - 1]!)));
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
  let dst: Uint8Array | undefined, from: Uint8Array | undefined, oif: Interface | undefined, iif: Interface | undefined, mark = 0;
  for (let i = 0; i < toks.length; i++) {
    const w = toks[i]!.text;
    if (w === 'from') from = addr(++i);
    else if (w === 'oif' || w === 'iif') {
      const l = ns.mustLink(toks[++i]?.text ?? fail(i, 'argument is missing'));
      if (w === 'oif') oif = l;
      else iif = l;
    } else if (w === 'mark') {
      const m = parseU32(toks[++i]?.text ?? fail(i, 'argument is missing'));
      if (m === undefined) fail(i, `invalid mark "${toks[i]!.text}"`);
      mark = m!;
    } else if (w === 'tos' || w === 'dsfield' || w === 'fibmatch' || w === 'connected') fail(i, `'${w}' is not emulated with an IPv6 route get`);
    else if (dst !== undefined) fail(i, `unknown or duplicate argument "${w}"`);
    else dst = addr(w === 'to' ? ++i : i);
  }
  if (dst === undefined) throw new IpSyntaxError(line, 1, '', 'need at least a destination address', source);
  // inet6_rtm_getroute: an input lookup from iif (strict on it for a link-local destination), else an output one from lo (strict on oif).
  const f = newFlow6();
  f.dst = dst;
  if (from && from.some((x) => x !== 0)) {
    f.src = from;
    f.hasSrc = true;
  }
  f.iif = iif ? iif.index : LOOPBACK_IFINDEX;
  f.oif = iif ? 0 : (oif?.index ?? 0);
  f.mark = mark;
  // ip6_route_output_flags: strict on oif only from no source (or to a link-local or group); from one, oif picks no route.
  const strict = iif ? (ip6IsLinkLocal(dst, 0) ? iif.name : undefined) : f.hasSrc && !ip6IsLinkLocal(dst, 0) && dst[0] !== 0xff ? undefined : oif?.name;
  const res = lookup6(ns.rules6.rules(), ns.routes6(), f, strict, newFib6Result());
  const r = res.route;
  if (!r) throw new RtnlError(res.error ?? 'ENETUNREACH');
  const dev = ns.link(r.dev);
  const src = iif ? undefined : source6(ns.links(), dev, dst)?.bytes;
  // A local or anycast route's answer goes out of lo.
  const o: JsonObject = {
    type: r.type === 'unicast' ? undefined : r.type,
    dst: ip6ToString(dst, 0),
    from: from ? ip6ToString(from, 0) : '::',
    gateway: r.via,
    dev: r.type === 'local' || r.type === 'anycast' ? 'lo' : r.dev,
    table: r.table !== RT_TABLE_MAIN ? tableName(r.table) : undefined,
    protocol: r.proto === RTPROT_BOOT ? undefined : protoName(r.proto),
    prefsrc: src ? ip6ToString(src, 0) : undefined,
    metric: r.metric,
    iif: iif?.name,
    flags: [],
    pref: 'medium',
  };
  if (json) return jsonDump([o], json.pretty);
  const t = (k: string, v: unknown) => (v === undefined ? '' : ` ${k} ${String(v)}`);
  return `${o.type ? `${o.type} ` : ''}${o.dst}${t('from', o.from)}${t('via', o.gateway)}${t('dev', o.dev)}${t('table', o.table)}${t('proto', o.protocol)}${t('src', o.prefsrc)}${t('metric', o.metric)}${t('iif', o.iif)} pref medium\n`;
}
