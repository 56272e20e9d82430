// `ip -6 route get ADDRESS [from ADDRESS] [oif DEV] [mark MARK]` in a
// namespace: the route ip6_route_output would take (the local table, then
// main: the longest prefix, out of `oif` when given; one prefix's routes in
// their listing order) and the source address ipv6_dev_get_saddr picks for
// it (RFC 6724's rules as the kernel applies them), printed as iproute2
// prints the kernel's answer (rt6_fill_node). The input side (`iif`) is not
// modelled. The lookup and the choice are route6-output.ts's. Compared with
// kernel namespaces in test/e2e/netns-text-kernel.test.ts.

import { RtnlError, IpSyntaxError } from './errors.js';
import type { Netns } from './netns.js';
import { type Family, familyPrefix, parsePrefix6, tokenize } from './ip-tokens.js';
import { RTPROT_BOOT, parseU32, protoName } from './names.js';
import { type JsonObject, jsonDump } from './json-writer.js';
import { lookup6, source6 } from './route6-output.js';
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
  const r = lookup6(ns.routes6(), dst, oif);
  if (!r) throw new RtnlError('ENETUNREACH');
  const dev = ns.link(r.dev);
  const src = source6(ns.links(), dev, dst)?.bytes;
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
