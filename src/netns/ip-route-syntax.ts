// `ip route` text: the arguments of `ip route add|del|replace ...`
// (iproute2 ip/iproute.c iproute_modify, keyword order and abbreviations
// included) and the lines `ip route show` prints (print_route), both ways.

import { formatIp4, formatPrefix } from './addr.js';
import { RtnlError, nextArg, invarg, notPrefix } from './errors.js';
import { inPrefix, inPrefix6, parseIpv6 } from '../wire/addr.js';
import { type Route, type RouteMetric } from './fib.js';
import { type Family, type Token, TokenStream, matches, parsePrefix6, routeShowPrefix, tokenize } from './ip-tokens.js';
import { type Route6 } from './inet6.js';
import {
  RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTPROT_BOOT, dsfieldFromName, dsfieldName,
  parseU32, protoFromName, protoName, routeTypeFromName, scopeFromName, scopeName, tableFromName, tableName,
} from './names.js';
import { type RouteSpec } from './specs.js';

/** Flags `ip route show` may print; they describe state and are not part of a request. */
const SHOW_FLAGS = new Set(['dead', 'onlink', 'pervasive', 'offload', 'trap', 'notify', 'linkdown', 'unresolved', 'rt_offload', 'rt_trap', 'rt_offload_failed']);

/** Time metrics: the kernel's unit is 1/8 ms for rtt, 1/4 ms for rttvar, 1 ms for rto_min. */
const TIME_SCALE: Record<string, number> = { rtt: 8, rttvar: 4, rto_min: 1 };

/**
 * A time metric as `ip route` prints it back (iproute2 get_time_rtt, then
 * print_rta_metrics): a bare number is the kernel's raw value (`rtt 10` is
 * 10/8 ms, shown "1ms"), one with ms/s is scaled (rto_min never is); shown
 * in whole ms, or in seconds (%g) from 1000 ms on. Undefined: not a time.
 */
export function timeMetric(kw: string, text: string): string | undefined {
  const m = /^(\d+(?:\.\d*)?|\.\d+)(s|secs?|ms|msecs?)?$/i.exec(text);
  if (!m) return undefined;
  const unit = m[2]?.toLowerCase();
  const t = Number(m[1]) * (unit?.startsWith('s') ? 1000 : 1);
  const given = Math.ceil(t);
  const stored = unit === undefined || kw === 'rto_min' ? given : given * TIME_SCALE[kw]!;
  const ms = Math.floor(stored / TIME_SCALE[kw]!);
  return ms >= 1000 ? `${Number((ms / 1000).toPrecision(6))}s` : `${ms}ms`;
}

/** RTAX metrics other than mtu, in print order (mx_names). */
const METRICS = ['window', 'rtt', 'rttvar', 'ssthresh', 'cwnd', 'advmss', 'reordering', 'hoplimit', 'initcwnd', 'features', 'rto_min', 'initrwnd', 'quickack', 'congctl', 'fastopen_no_cookie'];

/** Keywords in iproute_modify's order; `true` marks those matched as abbreviations. */
const KEYWORDS: readonly [string, boolean][] = [
  ['src', false], ['as', false], ['via', false], ['from', false], ['tos', false], ['dsfield', true],
  ['expires', false], ['metric', true], ['priority', true], ['preference', false], ['scope', false],
  ['mtu', false], ['hoplimit', false], ['advmss', false], ['reordering', true], ['rtt', false],
  ['rto_min', false], ['window', true], ['cwnd', true], ['initcwnd', true], ['initrwnd', true],
  ['features', true], ['quickack', true], ['congctl', true], ['rttvar', true], ['ssthresh', true],
  ['realms', true], ['onlink', false], ['nexthop', false], ['nhid', false], ['protocol', true],
  ['table', true], ['vrf', true], ['dev', false], ['oif', false], ['pref', false], ['encap', false],
  ['ttl-propagate', false], ['fastopen_no_cookie', false],
];
const KEYWORD_NAMES = [...KEYWORDS.map(([k]) => k), 'to', 'proto', 'default', 'unicast', 'local', 'broadcast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'multicast'];

function keywordOf(word: string): string | undefined {
  for (const [k, abbrev] of KEYWORDS) if (abbrev ? matches(word, k) : word === k) return k;
  return undefined;
}

export interface ParsedRoute extends RouteSpec {
  /** State flags seen in `ip route show` output (linkdown, dead, ...). */
  flags: string[];
}

/**
 * Parse one route: `ip route add` arguments (after the verb) or a line of
 * `ip route show`. `show` also accepts the state words show prints.
 */
export function parseRoute(ts: TokenStream, show: boolean): ParsedRoute {
  const r: ParsedRoute = { dst: 0, dstLen: -1, flags: [] };
  while (!ts.done) {
    const t = ts.next();
    const kw = keywordOf(t.text);
    switch (kw) {
      case 'src':
        r.src = ts.addr(t);
        continue;
      case 'via': {
        const v = ts.peek();
        if (v?.text === 'inet') ts.next();
        else if (v?.text === 'inet6') throw ts.error(v, 'IPv6 gateways are not supported');
        r.gateway = ts.addr(t);
        continue;
      }
      case 'tos':
      case 'dsfield': {
        const v = ts.value(t);
        const n = dsfieldFromName(v.text);
        if (n === undefined) throw ts.error(v, `invalid tos '${v.text}'`);
        r.tos = n;
        continue;
      }
      case 'metric':
      case 'priority':
      case 'preference':
        r.metric = ts.u32(t, 'metric');
        continue;
      case 'scope': {
        const v = ts.value(t);
        const s = scopeFromName(v.text);
        if (s === undefined) throw ts.error(v, `invalid scope '${v.text}'`);
        r.scope = s;
        continue;
      }
      case 'mtu': {
        if (ts.peek()?.text === 'lock') {
          ts.next();
          r.mtuLock = true;
        }
        r.mtu = ts.u32(t, 'mtu');
        continue;
      }
      case 'onlink':
        r.onlink = true;
        if (show) r.flags.push('onlink');
        continue;
      case 'protocol': {
        const v = ts.value(t);
        const p = protoFromName(v.text);
        if (p === undefined) throw ts.error(v, `invalid protocol '${v.text}'`);
        r.protocol = p;
        continue;
      }
      case 'table': {
        const v = ts.value(t);
        const id = tableFromName(v.text);
        if (id === undefined) throw ts.error(v, `invalid table '${v.text}'`);
        r.table = id;
        continue;
      }
      case 'dev':
      case 'oif':
        r.dev = ts.value(t).text;
        continue;
      case 'expires': {
        ts.value(t);
        continue;
      }
      case undefined:
        break;
      default:
        if (kw === 'hoplimit' || kw === 'advmss' || kw === 'rtt' || kw === 'rto_min' || METRICS.includes(kw)) {
          let lock = kw === 'rto_min'; // iproute2 always locks rto_min (mxlock |= 1 << RTAX_RTO_MIN)
          if (ts.peek()?.text === 'lock') {
            ts.next();
            lock = true;
          }
          const v = ts.value(t);
          const text = kw in TIME_SCALE ? timeMetric(kw, v.text) : v.text;
          if (text === undefined) throw ts.error(v, `"${kw}" value is invalid`);
          (r.metrics ??= []).push([kw, lock, text]);
          continue;
        }
        throw ts.error(t, `'${t.text}' (${kw}) is not supported`);
    }
    if (show && SHOW_FLAGS.has(t.text)) {
      r.flags.push(t.text);
      continue;
    }
    if (show && (t.text === 'uid' || t.text === 'mark' || t.text === 'error' || t.text === 'iif')) {
      ts.value(t);
      continue;
    }
    // A type name and/or the destination prefix.
    let p: Token = t;
    if (p.text === 'to') p = ts.value(t);
    const type = /^[0-9]/.test(p.text) ? undefined : routeTypeFromName(p.text);
    if (type) {
      if (r.type !== undefined || r.dstLen >= 0) throw ts.unknown(p, KEYWORD_NAMES);
      r.type = type;
      p = ts.value(p);
    }
    if (r.dstLen >= 0) throw ts.unknown(p, KEYWORD_NAMES);
    if (!/^[0-9]/.test(p.text) && p.text !== 'default' && p.text !== 'all' && p.text !== 'any') {
      throw ts.unknown(p, KEYWORD_NAMES);
    }
    const pfx = ts.prefix(p);
    r.dst = pfx.addr;
    r.dstLen = pfx.len;
  }
  if (r.dstLen < 0) throw ts.error(undefined, 'missing destination prefix');
  return r;
}

/** Parse a line of `ip route show` output. */
export function parseRouteLine(line: string, lineNo = 1, source?: string): ParsedRoute {
  return parseRoute(new TokenStream(tokenize(line), lineNo, source), true);
}

/** Parse the arguments of `ip route add|del|...` (the text after the verb). */
export function parseRouteArgs(args: string, lineNo = 1, source?: string): ParsedRoute {
  return parseRoute(new TokenStream(tokenize(args), lineNo, source), false);
}

export interface RouteFormatContext {
  devName(ifindex: number): string;
  /** Carrier of a device: a route through one without carrier shows `linkdown`. */
  carrier?(ifindex: number): boolean;
  /** The dump was filtered on the device: `dev` is left out. */
  hideDev?: boolean;
  /** Fields the dump was filtered on exactly (`proto X`, `scope X`, `via A`, `src A`, `metric N`): print_route leaves them out too. */
  hide?: { proto?: boolean; scope?: boolean; via?: boolean; src?: boolean; metric?: boolean };
  /** -d: the type, protocol and scope whatever they are, and the table (where shown) main too. */
  details?: boolean;
}

/** The RTAX metrics other than mtu in print order (RTAX number). */
export const routeMetricsInOrder = (r: Route): RouteMetric[] => [...r.metrics].sort((a, b) => METRICS.indexOf(a[0]) - METRICS.indexOf(b[0]));

/**
 * One line as print_route prints it, trailing space included (every field
 * is printed as "%s "). `showTable`: print `table X` for tables other than
 * main, as `ip route show table all` does.
 */
export function formatRoute(r: Route, ctx: RouteFormatContext, showTable = false): string {
  let s = '';
  const d = ctx.details ?? false;
  const h = ctx.hide ?? {};
  if (r.type !== 'unicast' || d) s += `${r.type} `;
  s += r.dstLen === 0 ? 'default ' : `${formatPrefix(r.dst, r.dstLen)} `;
  if (r.tos) s += `tos ${dsfieldName(r.tos)} `;
  if (r.gateway && !h.via) s += `via ${formatIp4(r.gateway)} `;
  if (r.dev && !ctx.hideDev) s += `dev ${ctx.devName(r.dev)} `;
  if (showTable && (r.table !== RT_TABLE_MAIN || d)) s += `table ${tableName(r.table)} `;
  if ((r.protocol !== RTPROT_BOOT || d) && !h.proto) s += `proto ${protoName(r.protocol)} `;
  if ((r.scope !== RT_SCOPE_UNIVERSE || d) && !h.scope) s += `scope ${scopeName(r.scope)} `;
  if (r.prefsrc && !h.src) s += `src ${formatIp4(r.prefsrc)} `;
  if (r.priority && !h.metric) s += `metric ${r.priority} `;
  if (r.onlink) s += 'onlink ';
  // RTNH_F_LINKDOWN: set on nexthops (not host routes) of a device without carrier.
  if (r.dev && r.nhScope !== RT_SCOPE_NOWHERE && ctx.carrier && !ctx.carrier(r.dev)) s += 'linkdown ';
  if (r.mtu) s += `mtu ${r.mtuLock ? 'lock ' : ''}${r.mtu} `;
  for (const [name, lock, value] of routeMetricsInOrder(r)) s += `${name} ${lock ? 'lock ' : ''}${value} `;
  return s;
}

/** The IPv6 unspecified address: the gateway or source filter_nlmsg compares for a route without one. */
const ANY6 = new Uint8Array(16);

/**
 * get_rt_realms_or_raw: FROM/TO (each a realm, 0-255; TO may be empty) or
 * one number; a realm is a number or /etc/iproute2/rt_realms' `cosmos` (0).
 */
function parseRealms(v: string): number | undefined {
  const realm = (x: string): number | undefined => {
    const n = x === 'cosmos' ? 0 : parseU32(x);
    return n !== undefined && n <= 255 ? n : undefined;
  };
  const slash = v.indexOf('/');
  if (slash < 0) return realm(v) ?? parseU32(v);
  const from = realm(v.slice(0, slash)), to = v.length > slash + 1 ? realm(v.slice(slash + 1)) : 0;
  return from !== undefined && to !== undefined ? from * 0x10000 + to : parseU32(v);
}

/** What `ip route show SELECTOR` lists and leaves out of its lines (iproute_list_flush_or_save, filter_nlmsg). */
export interface RouteShow {
  /** The table dumped; 'all' for every table (table all, or table 0). */
  table: number | 'all';
  dev?: string;
  test: (r: Route) => boolean;
  /** The same selectors over an IPv6 route (inet6.ts, route6.ts), as rt6_fill_node fills it: scope global, tos 0, no mark, realms, iif or prefsrc (::). */
  test6: (r: Route6) => boolean;
  /** `iif DEV`: a device ip must find (no route has an input device: none is listed). */
  iif?: string;
  hide: NonNullable<RouteFormatContext['hide']>;
  /** `cache`: the learned path MTUs (ip-route-cache.ts) instead of the routes. */
  cached?: boolean;
}

/**
 * The words after `ip route show`. A bare prefix (or `exact P`) selects the
 * routes to exactly P, `root P` those within P, `match P` those covering it,
 * of P's family (IPv6 under -6 or for a word with a ':'); `default` the
 * default routes, `all` and `any` every route in no family, the default
 * ones under -4 or -6 (get_addr_1 gives them the family). `proto`, `scope`, `type`,
 * `via`, `src` and `metric` select by that field and leave it out of the lines (not `type`);
 * a route without a gateway or preferred source is `via`/`src` :: or 0.0.0.0
 * there (filter_nlmsg compares zeros). `tos`, `mark`, `realms`, `iif` and
 * `from` select by what no route has here (tos 0 for IPv6, no mark, realms or
 * input device, a source prefix of length 0).
 * `cache` lists the nexthop exceptions instead (the kernel has kept no other
 * cached IPv4 routes since 3.6), the selectors applied to each as a /32.
 */
export function parseRouteShow(words: readonly string[], family?: Family): RouteShow {
  const out: RouteShow = { table: RT_TABLE_MAIN, test: () => true, test6: () => true, hide: {} };
  const tests: ((r: Route) => boolean)[] = [];
  const tests6: ((r: Route6) => boolean)[] = [];
  const none6 = () => tests6.push(() => false);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const next = (): string => nextArg(words, ++i);
    if (matches(w, 'table')) {
      const v = next(), id = v === 'all' ? 0 : tableFromName(v);
      if (id === undefined) throw invarg('table id value is invalid\n', v);
      out.table = id === 0 ? 'all' : id; // table 0 (unspec) dumps them all
    } else if (w === 'dev' || w === 'oif') out.dev = next();
    else if (matches(w, 'protocol')) {
      const v = next(), p = protoFromName(v);
      if (p === undefined && v !== 'all') throw invarg('invalid "protocol"\n', v);
      if (p !== undefined) {
        tests.push((r) => r.protocol === p);
        tests6.push((r) => r.proto === p);
      }
      out.hide.proto = p !== undefined;
    } else if (matches(w, 'scope')) {
      const v = next(), s = scopeFromName(v);
      if (s === undefined && v !== 'all') throw invarg('invalid "scope"\n', v);
      if (s !== undefined) {
        tests.push((r) => r.scope === s);
        tests6.push(() => s === RT_SCOPE_UNIVERSE);
      }
      out.hide.scope = s !== undefined;
    } else if (matches(w, 'type')) {
      const v = next(), t = routeTypeFromName(v);
      if (t === undefined) throw invarg('node type value is invalid\n', v);
      tests.push((r) => r.type === t);
      tests6.push((r) => r.type === t);
    } else if (w === 'tos' || matches(w, 'dsfield')) {
      const v = next(), t = dsfieldFromName(v);
      if (t === undefined) throw invarg('TOS value is invalid\n', v);
      tests.push((r) => r.tos === t);
      tests6.push(() => t === 0);
    } else if (w === 'via') {
      // read_family: `via inet|inet6 ADDR` reads ADDR in that family.
      const v = next(), named = v === 'inet' || v === 'inet6';
      const sp = routeShowPrefix(named ? next() : v, named ? v : family);
      if ('v6' in sp) {
        const p = sp.v6;
        tests.push(() => false);
        tests6.push((r) => inPrefix6(r.user?.gw ?? ANY6, p.bytes, p.len));
        out.hide.via = p.len === 128;
        continue;
      }
      const p = sp.v4;
      tests.push((r) => inPrefix(r.gateway, p.addr, p.len));
      none6();
      out.hide.via = p.len === 32;
    } else if (w === 'src') {
      const sp = routeShowPrefix(next(), family);
      if ('v6' in sp) {
        // No IPv6 route here has a preferred source: :: is each one's.
        tests.push(() => false);
        tests6.push(() => inPrefix6(ANY6, sp.v6.bytes, sp.v6.len));
        out.hide.src = sp.v6.len === 128;
        continue;
      }
      const p = sp.v4;
      tests.push((r) => inPrefix(r.prefsrc, p.addr, p.len));
      none6();
      out.hide.src = p.len === 32;
    } else if (matches(w, 'metric') || matches(w, 'priority') || w === 'preference') {
      const v = next(), m = parseU32(v);
      if (m === undefined) throw invarg('"metric" value is invalid\n', v);
      tests.push((r) => r.priority === m);
      tests6.push((r) => r.metric === m);
      out.hide.metric = true;
    } else if (w === 'mark') {
      const v = next(), m = parseU32(v);
      if (m === undefined) throw invarg('invalid mark value', v);
      // No route carries RTA_MARK: each one's is 0.
      tests.push(() => m === 0);
      tests6.push(() => m === 0);
    } else if (matches(w, 'realms')) {
      const v = next(), realms = parseRealms(v);
      if (realms === undefined) throw invarg('invalid realms\n', v);
      // No route here has realms (RTA_FLOW): 0 is each one's.
      tests.push(() => realms === 0);
      tests6.push(() => realms === 0);
    } else if (w === 'iif') {
      out.iif = next();
      tests.push(() => false);
      tests6.push(() => false);
    } else if (matches(w, 'from')) {
      // Every route's source prefix is of length 0 (no subtrees): `root P` and `exact P` select them only for a P of length 0, `match P` all.
      let v = next();
      const kind = matches(v, 'root') ? 'root' : matches(v, 'match') ? 'match' : 'exact';
      if (kind !== 'exact' || matches(v, 'exact')) v = next();
      const sp = routeShowPrefix(v, family), len = 'v6' in sp ? sp.v6.len : sp.v4.len;
      const hit = kind === 'match' || len === 0;
      tests.push(() => hit && !('v6' in sp));
      tests6.push(() => hit && 'v6' in sp);
    } else if (matches(w, 'cached') || matches(w, 'cloned')) out.cached = true;
    else if ((w === 'all' || w === 'any') && family === undefined) continue; // every route, where `default` selects the default ones; -4, -6 and -0 read them as prefixes
    else {
      const word = matches(w, 'to') ? next() : w;
      const kind = matches(word, 'root') ? 'root' : matches(word, 'match') ? 'match' : 'exact';
      const v = kind === 'exact' && !matches(word, 'exact') ? word : next();
      const sp = routeShowPrefix(v, family);
      if ('v6' in sp) {
        // filter_nlmsg: a prefix of the other family selects none of a family's routes.
        const p = sp.v6;
        tests.push(() => false);
        if (kind !== 'match') tests6.push((r) => p.len <= r.len && inPrefix6(r.key, p.bytes, p.len));
        if (kind !== 'root') tests6.push((r) => r.len <= p.len && inPrefix6(r.key, p.bytes, r.len));
        continue;
      }
      const p = sp.v4;
      if (kind !== 'match') tests.push((r) => p.len <= r.dstLen && inPrefix(r.dst, p.addr, p.len));
      if (kind !== 'root') tests.push((r) => r.dstLen <= p.len && inPrefix(r.dst, p.addr, r.dstLen));
      none6();
    }
  }
  out.test = (r) => tests.every((t) => t(r));
  out.test6 = (r) => tests6.every((t) => t(r));
  return out;
}

/** What `ip -6 route add|replace|del` asks for (route6.ts): a metric of 0 is none given. */
export interface Route6Args {
  bytes: Uint8Array;
  len: number;
  gw?: Uint8Array;
  dev?: string;
  metric: number;
  proto?: number;
  /** The table given (RTA_TABLE; 0: main). */
  table?: number;
}

/**
 * The arguments of `ip route add|replace|del` for an IPv6 route, or
 * undefined for an IPv4 one: iproute_modify takes the family from -6, else
 * from the first address given (the prefix or the gateway). Only a unicast
 * route with a gateway, device, metric, protocol and table is emulated.
 */
export function parseRoute6Args(args: string, family: Family | undefined, lineNo = 1, source?: string): Route6Args | undefined {
  const ts = new TokenStream(tokenize(args), lineNo, source);
  let dst: Token | undefined, via: Token | undefined, first: Token | undefined, dev: string | undefined, proto: number | undefined, table: number | undefined, metric = 0;
  // What is not emulated of an IPv6 route: refused once the route is one (an IPv4 one is parseRouteArgs's).
  const v6 = () => family === 'inet6' || first?.text.includes(':') === true;
  while (!ts.done) {
    const t = ts.next();
    const kw = keywordOf(t.text);
    if (kw === 'via') {
      via = ts.value(t);
      if (via.text === 'inet6') via = ts.value(via);
      first ??= via;
    } else if (kw === 'dev' || kw === 'oif') dev = ts.value(t).text;
    else if (kw === 'metric' || kw === 'priority' || kw === 'preference') metric = ts.u32(t, 'metric');
    else if (kw === 'protocol') {
      const v = ts.value(t);
      proto = protoFromName(v.text);
      if (proto === undefined) throw ts.error(v, `invalid protocol '${v.text}'`);
    } else if (kw === 'table') {
      const v = ts.value(t);
      table = tableFromName(v.text);
      if (table === undefined) throw invarg('"table" value is invalid\n', v.text);
    } else if (kw !== undefined) {
      if (v6()) throw ts.error(t, `'${t.text}' is not emulated with IPv6 routes (via, dev, metric, proto and table are)`);
      return undefined;
    } else {
      let p = t.text === 'to' ? ts.value(t) : t;
      if (p.text === 'unicast') p = ts.value(p);
      else if (!/^[0-9]/.test(p.text) && routeTypeFromName(p.text)) {
        if (family === 'inet6' || ts.peek()?.text.includes(':')) throw ts.error(p, `IPv6 ${p.text} routes are not emulated`);
        return undefined;
      }
      if (dst) throw ts.unknown(p, KEYWORD_NAMES);
      dst = p;
      if (p.text !== 'default' && p.text !== 'all' && p.text !== 'any') first ??= p;
    }
  }
  if (family === undefined && !first?.text.includes(':')) return undefined;
  if (!dst) throw ts.error(undefined, 'missing destination prefix');
  const fam = family === 'inet6' || first !== dst ? 'inet6' : 'any valid';
  const p = parsePrefix6(dst.text);
  if (!p) throw notPrefix(dst.text, fam);
  const gw = via && parseIpv6(via.text);
  if (via && !gw) throw new RtnlError('EINVAL', undefined, `Error: inet6 address is expected rather than "${via.text}".`, 1);
  return {
    bytes: p.bytes, len: p.len, metric, ...(gw ? { gw } : {}), ...(dev !== undefined ? { dev } : {}), ...(proto !== undefined ? { proto } : {}), ...(table !== undefined ? { table } : {}),
  };
}
