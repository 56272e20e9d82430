// A namespace from the text a real node prints, and back: load pasted
// `ip addr`, `ip rule`, `ip route [show table N]` and `ip neigh` output,
// run `ip ...` / `sysctl` commands, and print the same views `ip` prints.
// Errors name the line (and the token) they come from.

import { IpSyntaxError, RtnlError, invarg, nextArg } from './errors.js';
import { type Route } from './fib.js';
import { type AddrShown, formatAddrBlocks, formatAddrs, formatBrief, formatLink, parseAddr6Args, parseAddrArgs, parseIpAddrShow } from './ip-addr-syntax.js';
import { addrOnelineJson, briefJson, linkJson, neighJson, netnsIds, proxyNeighJson, routeJson, ruleJson } from './ip-json.js';
import { type JsonObject, jsonDump, jsonDumpOpening } from './json-writer.js';
import { formatLinkStats, type LinkStats64 } from './ip-link-stats.js';
import { type Interface } from './interfaces.js';
import { type LinkShow, listedFamily, parseLinkShow, shownLinks, withSelectedAddrs } from './ip-link-filter.js';
import { NUD_SHOW_DEFAULT, type NeighRow, formatNeigh, formatNeighBrief, formatProxyNeigh, neighRow, neighShown, nudShowBits, parseNeighArgs, parseNeighLine } from './ip-neigh-syntax.js';
import { ip6ToString } from '../wire/tcpdump-text.js';
import { formatRoute, parseRouteArgs, parseRoute6Args, parseRouteLine, parseRouteShow, type ParsedRoute, type RouteShow } from './ip-route-syntax.js';
import { routeGet } from './ip-route-get.js';
import { formatRoute6, route6Json } from './inet6.js';
import { isRouteGet6, routeGet6 } from './ip-route6-get.js';
import { NTABLE_USAGE, changeNtable, showNtable } from './ip-ntable.js';
import { flushPmtu } from './pmtu.js';
import { cachedRouteJson, formatCachedRoute, routeExceptions, type CachedRoute } from './ip-route-cache.js';
import { formatRule, gotoUnresolved, parseRule6Args, parseRule6Line, parseRuleArgs, parseRuleFilter, parseRuleLine } from './ip-rule-syntax.js';
import { type FibRule, type RuleAddr } from './rules.js';
import { isBriefOption, isDetailsOption, isJsonOption, isOnelineOption, isPrettyOption, isStatsOption, textLines, tokenize, matches, type Family, type Prefix6, routeShowPrefix } from './ip-tokens.js';
import { RT_TABLE_LOCAL, RT_TABLE_MAIN, RTPROT_KERNEL } from './names.js';
import { type NeighAction, NUD, NUD_VALID } from './neighbour.js';
import { type Netns } from './netns.js';
import { formatIp4, type Prefix } from './addr.js';
import { inPrefix6, parseIpv6, prefixMask } from '../wire/addr.js';
import { type RuleSpec } from './specs.js';

export interface TextOptions {
  /** Name of the text's origin (a file, a topology block) for messages. */
  source?: string;
  /** Line number of the text's first line within that origin. */
  firstLine?: number;
}

/** A kernel refusal while applying line `no`, reported like a syntax error at its first token. */
function atLine(e: unknown, line: string, no: number, source?: string): unknown {
  if (!(e instanceof RtnlError)) return e;
  const t = tokenize(line)[0];
  return new IpSyntaxError(no, t?.col ?? 1, t?.text ?? '', e.message, source);
}

function lines(text: string, o: TextOptions): { line: string; no: number }[] {
  const off = (o.firstLine ?? 1) - 1;
  return textLines(text).map((l) => ({ line: l.line, no: l.no + off }));
}

// ---- printing -----------------------------------------------------------

const fmtCtx = (ns: Netns) => ({
  devName: (i: number) => ns.linkByIndex(i)?.name ?? `if${i}`,
  carrier: (i: number) => ns.linkByIndex(i)?.carrier ?? true,
});

/** How `ip` was asked to print: -j [-p] (JSON), -d, -br, -s, -o, and the family of -4, -6, -0. */
export interface ShowOptions {
  family?: Family;
  json?: { pretty: boolean };
  details?: boolean;
  brief?: boolean;
  stats?: StatsView;
  oneline?: boolean;
}

/** A record as -oneline prints it: ip writes _SL_ ("\\" then) where it would end a line within the record. */
const oneline = (record: string): string => `${record.slice(0, -1).replaceAll('\n', '\\')}\n`;

/** A family whose changes are not modelled: -6 and -0 (-0 also lists no route or neighbour). */
const noFamily = (o: ShowOptions): boolean => o.family === 'inet6' || o.family === 'link';
const empty = (o: ShowOptions): string => (o.json ? jsonDump([], o.json.pretty) : '');

/** A dump's objects as text lines or as `ip -j` JSON. */
function dump<T>(items: readonly T[], o: ShowOptions, text: (x: T) => string, json: (x: T) => JsonObject): string {
  return o.json ? jsonDump(items.map(json), o.json.pretty) : items.map(text).join('');
}

/**
 * `ip route show [table ID|all] [dev DEV]`. With `dev`, only the routes out
 * of it, printed without `dev DEV` (iproute2 leaves out what it filtered on).
 */
export function showRoutes(ns: Netns, sel: RouteShow | number | 'all' = RT_TABLE_MAIN, o: ShowOptions = {}): string {
  const { table, dev, test, test6, hide, iif } = typeof sel === 'object' ? sel : { table: sel, dev: undefined, test: () => true, test6: () => true, hide: {}, iif: undefined };
  if (iif !== undefined) ns.mustLink(iif);
  const oif = dev === undefined ? 0 : ns.mustLink(dev).index;
  const ctx = { ...fmtCtx(ns), hideDev: oif !== 0, details: o.details, hide };
  const cached = typeof sel === 'object' && sel.cached === true;
  if (o.family === 'link') return empty(o);
  // The IPv6 FIB (inet6.ts): `-6` lists it, a dump of all tables in no family lists it after IPv4's.
  const v6 = (showTable: boolean): { text: string; json: JsonObject[] } => {
    if (cached) return { text: '', json: [] };
    const v = {
      showTable, hideDev: oif !== 0, hideProto: hide.proto === true, hideScope: hide.scope === true, hideVia: hide.via === true, hideMetric: hide.metric === true, details: o.details === true,
    };
    const rs = ns.routes6().filter((r) => (table === 'all' || r.table === table) && (!oif || r.dev === dev) && test6(r));
    return { text: rs.map((r) => formatRoute6(r, v)).join(''), json: rs.map((r) => route6Json(r, v)) };
  };
  if (o.family === 'inet6') {
    // A dump of one table the namespace never made (fib6_new_table: a route's, or a rule's that looks it up).
    if (table !== 'all' && !ns.tables6.includes(table)) {
      throw new RtnlError('ENOENT', undefined, 'Error: ipv6: FIB table does not exist.\nDump terminated', 2, o.json ? jsonDumpOpening(o.json.pretty) : '');
    }
    const r = v6(table === 'all');
    return o.json ? jsonDump(r.json, o.json.pretty) : r.text;
  }
  const out = (routes: readonly Route[]) => routes.filter((r) => (!oif || r.dev === oif) && test(r));
  const show = (routes: readonly Route[], showTable: boolean) => {
    if (!cached) return dump(out(routes), o, (r) => formatRoute(r, ctx, showTable) + '\n', (r) => routeJson(r, ctx, showTable));
    const text = (c: CachedRoute): string => formatCachedRoute(c, ctx, showTable);
    return dump(routeExceptions(ns, routes).filter((c) => (!oif || c.route.dev === oif) && test(c.route)), o, o.oneline ? (c) => oneline(text(c)) : text, (c) => cachedRouteJson(c, ctx, showTable));
  };
  if (table !== 'all') {
    const t = ns.fib.get(table);
    // A dump of one table the namespace never had (a table exists from its first route on); -j has opened its array by then.
    if (!t) throw new RtnlError('ENOENT', undefined, 'Error: ipv4: FIB table does not exist.\nDump terminated', 2, o.json ? jsonDumpOpening(o.json.pretty) : '');
    return show(t.routes(), false);
  }
  // A dump of all tables walks the table hash (id & 255), then each table; ip asks for IPv4 alone only when given a table (or -4).
  const tables = ns.fib.all().sort((a, b) => (a.id & 255) - (b.id & 255) || a.id - b.id);
  const routes4 = out(tables.flatMap((t) => t.routes()));
  if (cached || o.family === 'inet') return show(tables.flatMap((t) => t.routes()), true);
  const r6 = v6(true);
  if (o.json) return jsonDump([...routes4.map((r) => routeJson(r, ctx, true)), ...r6.json], o.json.pretty);
  return routes4.map((r) => formatRoute(r, ctx, true) + '\n').join('') + r6.text;
}

/** `ip [-6] rule show`: IPv4's rules but under -6 (no family lists IPv4's). */
export function showRules(ns: Netns, o: ShowOptions = {}, selector: readonly string[] = []): string {
  if (o.family === 'inet6') return listRules(ns.rules6.rules(), o, selector);
  return listRules(ns.rules.rules(), o, selector);
}

function listRules<A extends RuleAddr>(all: readonly FibRule<A>[], o: ShowOptions, selector: readonly string[]): string {
  const filter = selector.length ? parseRuleFilter<A>(selector, o.family === 'link' || o.family === 'inet6' ? o.family : 'inet') : undefined;
  if (o.family === 'link') {
    throw new RtnlError('EAFNOSUPPORT', undefined, 'RTNETLINK answers: Address family not supported by protocol\nDump terminated', 255, o.json ? jsonDumpOpening(o.json.pretty) : '');
  }
  const shown = filter ? all.filter(filter) : all;
  return dump(shown, o, (r) => formatRule(r, gotoUnresolved(r, all), o.details) + '\n', (r) => ruleJson(r, gotoUnresolved(r, all), o.details));
}

/** What `ip neigh show` lists: entries on `dev`, in the states of `states` (a mask of nudShowBits), within `to`; or the proxy entries. */
export interface NeighShow {
  dev?: string;
  states?: number;
  to?: Prefix;
  /** An IPv6 prefix (-6, or a word with a `:`): no IPv4 entry is in it. */
  to6?: Prefix6;
  proxy?: boolean;
}

/** `ip neigh show [dev DEV] [nud STATE]... [[to] PREFIX]`, or `ip neigh show proxy`. */
export function showNeigh(ns: Netns, opts: NeighShow = {}, o: ShowOptions = {}): string {
  const only = opts.dev !== undefined ? ns.mustLink(opts.dev).index : undefined;
  if (o.family === 'link') return empty(o);
  const devName = (i: number) => ns.linkByIndex(i)?.name ?? '';
  if (opts.proxy) {
    // No IPv6 proxy entries (proxy NDP is not modelled).
    const proxies = o.family === 'inet6' ? [] : ns.neigh.proxyEntries().filter((p) => only === undefined || p.ifindex === only);
    const dev = (p: { ifindex: number }) => (o.brief && only !== undefined ? undefined : devName(p.ifindex));
    return dump(
      proxies,
      o,
      (p) => (o.brief ? formatNeighBrief(p.ip, dev(p), undefined) : formatProxyNeigh(p.ip, devName(p.ifindex))) + '\n',
      (p) => (o.brief ? { dst: formatIp4(p.ip), dev: dev(p) } : proxyNeighJson(p.ip, devName(p.ifindex))),
    );
  }
  const rows = neighRows(ns, opts, o.family);
  const dev = (r: { ifindex: number }) => (only === undefined ? devName(r.ifindex) : undefined);
  const brief = (r: { row: NeighRow; ifindex: number }) => formatNeighBrief(r.row.dst, dev(r), r.row.state & NUD_VALID ? r.row.mac : undefined);
  return dump(rows, o, (r) => (o.brief ? brief(r) : formatNeigh(r.row, dev(r))) + '\n', (r) => neighJson(r.row, dev(r), o.brief));
}

/** A neighbour a dump lists: its row, device, and address (an IPv4 one's `ip`, an IPv6 one's `ip6`). */
interface NeighListed {
  row: NeighRow;
  ifindex: number;
  ip?: number;
  ip6?: Uint8Array;
}

/** The entries `ip neigh show|flush` selects (not the proxy ones): the ARP table's, then (no family, or -6) the IPv6 cache's (nd6-cache.ts), which an IPv4 prefix selects none of. */
function neighRows(ns: Netns, opts: NeighShow, family: Family | undefined): NeighListed[] {
  const only = opts.dev !== undefined ? ns.mustLink(opts.dev).index : undefined;
  const states = opts.states ?? NUD_SHOW_DEFAULT;
  const to = opts.to, mask = to ? prefixMask(to.len) : 0;
  const rows: NeighListed[] = [];
  if (family !== 'inet6' && !opts.to6) {
    for (const e of ns.neigh.entries()) {
      if ((only === undefined || e.ifindex === only) && neighShown(e.state, states) && (!to || ((e.ip ^ to.addr) & mask) === 0)) rows.push({ row: neighRow(e), ifindex: e.ifindex, ip: e.ip });
    }
  }
  if (family !== 'inet' && !to) {
    const c = ns.nd6;
    for (const i of c.slots()) {
      const ip6 = c.addr.subarray(i * 16, i * 16 + 16);
      if ((only === undefined || c.ifindex[i] === only) && neighShown(c.state[i]!, states) && (!opts.to6 || inPrefix6(ip6, opts.to6.bytes, opts.to6.len))) {
        const row = { dst: ip6ToString(c.addr, i * 16), state: c.state[i]!, mac: c.mac[i]!, router: c.router[i] === 1 };
        rows.push({ row, ifindex: c.ifindex[i]!, ip6: ip6.slice() });
      }
    }
  }
  return rows;
}

/** `-s` given `level` times, and the device counters to print (an element's: a bare Netns has none). */
export interface StatsView {
  level: number;
  of: (l: Interface) => LinkStats64;
}

/**
 * `ip [-s] [-d] [-j] [-br] addr|link show [SELECTORS]`: the statistics come
 * after the details, and in `ip addr` after the addresses.
 */
export function showLinks(ns: Netns, what: 'link' | 'addr', sel: LinkShow = {}, o: ShowOptions = {}): string {
  let links = shownLinks(ns, sel);
  const forIpAddr = what === 'addr';
  const linkOnly = forIpAddr && o.family === 'link';
  // ip addr in a family (-4, -6, or that of `to PREFIX`) lists only the devices with an address of it, and only those addresses;
  // the address selectors (ipaddr_filter) only those with an address they select; in AF_PACKET (-0) each device's link record alone.
  const fam = forIpAddr ? listedFamily(o.family, sel) : undefined;
  let shown: AddrShown | undefined;
  if (forIpAddr && !linkOnly && (fam || sel.addr)) ({ links, shown } = withSelectedAddrs(links, fam, sel.addr));
  // `label` leaves the link records out (print_addrinfo alone): ip link lists nothing then.
  if (sel.addr?.label && !o.oneline) return forIpAddr && !linkOnly ? links.map((l) => formatAddrBlocks(l, fam, shown).join('')).join('') : '';
  const byIndex = (i: number) => ns.linkByIndex(i);
  const stats = (l: Interface) => (o.stats ? formatLinkStats(o.stats.of(l), o.stats.level) : '');
  // -brief prints neither details nor counters.
  const brief = linkOnly ? 'link' : what;
  // ip -6 addr without a device (whose record ip asks for alone), -d or -s reads the AF_INET6 link dump.
  const inet6Dump = forIpAddr && o.family === 'inet6' && sel.dev === undefined && !o.details && !o.stats;
  if (o.brief) return dump(links, o, (l) => formatBrief(l, brief, byIndex, fam, inet6Dump, shown), (l) => briefJson(l, brief, byIndex, fam, inet6Dump, shown));
  // ip -o addr prints no link record: each address on its own, led by its device's index and name (no @ifN); no details, no counters.
  if (o.oneline && forIpAddr && !linkOnly) return dump(links, o, (l) => formatAddrBlocks(l, fam, shown).map((a) => oneline(`${l.index}: ${l.name}${a}`)).join(''), (l) => addrOnelineJson(l, fam, shown));
  if (sel.addr?.label) return ''; // ip -o link with a label
  const ids = netnsIds(ns.links());
  // print_linkinfo prints a device's link/ line (link_type, address, broadcast) in no family, AF_PACKET, or with -d.
  const linkLine = !forIpAddr || fam === undefined;
  const record = (l: Interface) => (forIpAddr && !linkOnly ? formatAddrs(l, byIndex, o.details, linkLine, fam, inet6Dump, shown) : formatLink(l, byIndex, forIpAddr, o.details)) + stats(l);
  return dump(
    links,
    o,
    (l) => (o.oneline ? oneline(record(l)) : record(l)),
    (l) => linkJson(l, { forIpAddr, linkOnly, family: fam, inet6Dump, noLinkLine: !linkLine && !o.details, details: o.details ?? false, byIndex, netnsIds: ids, ...(shown ? { shown } : {}), ...(o.stats ? { stats: { level: o.stats.level, of: o.stats.of(l) } } : {}) }),
  );
}

/** `ip [-s] addr show [dev DEV]`. */
export const showAddr = (ns: Netns, dev?: string, o: ShowOptions = {}): string => showLinks(ns, 'addr', dev === undefined ? {} : { dev }, o);

/** `ip [-s] link show [dev DEV]`. */
export const showLink = (ns: Netns, dev?: string, o: ShowOptions = {}): string => showLinks(ns, 'link', dev === undefined ? {} : { dev }, o);

// ---- loading pasted output ----------------------------------------------

/** Does `table` already hold a route the pasted line describes (as the kernel derived it from an address)? */
function hasEquivalent(ns: Netns, table: number, p: ParsedRoute): boolean {
  const t = ns.fib.get(table);
  if (!t) return false;
  const dev = p.dev !== undefined ? ns.link(p.dev)?.index : 0;
  return t
    .prefix(p.dst, p.dstLen)
    .some(
      (r) =>
        r.dst === p.dst && r.dstLen === p.dstLen && r.type === (p.type ?? 'unicast') && r.tos === (p.tos ?? 0) &&
        r.priority === (p.metric ?? 0) && r.gateway === (p.gateway ?? 0) && (dev === undefined || r.dev === dev),
    );
}

/**
 * Load `ip route show [table N]` output into `table` (lines naming their
 * own `table` go there). Routes the kernel already made from the
 * interface addresses (proto kernel, or the same link route printed
 * without it) are recognised and not added twice.
 */
export function loadRoutes(ns: Netns, text: string, opts: TextOptions & { table?: number } = {}): void {
  for (const { line, no } of lines(text, opts)) {
    const p = parseRouteLine(line, no, opts.source);
    const table = p.table ?? opts.table ?? (p.type === 'local' || p.type === 'broadcast' ? RT_TABLE_LOCAL : RT_TABLE_MAIN);
    const spec = { ...p, table };
    if ((p.protocol === RTPROT_KERNEL || p.protocol === undefined) && hasEquivalent(ns, table, p)) continue;
    try {
      ns.addRoute(spec, 'add');
    } catch (e) {
      throw atLine(e, line, no, opts.source);
    }
  }
}

/** Load `ip rule show` output: the rule list becomes exactly what the text lists. */
export function loadRules(ns: Netns, text: string, opts: TextOptions = {}): void {
  const specs: RuleSpec[] = [];
  const where: { line: string; no: number }[] = [];
  for (const l of lines(text, opts)) {
    specs.push(parseRuleLine(l.line, l.no, opts.source));
    where.push(l);
  }
  try {
    ns.setRules(specs);
  } catch (e) {
    // Find the offending line by replaying one rule at a time.
    ns.setRules([]);
    for (let i = 0; i < specs.length; i++) {
      try {
        ns.addRule(specs[i]!);
      } catch (e2) {
        throw atLine(e2, where[i]!.line, where[i]!.no, opts.source);
      }
    }
    throw e;
  }
}

/** What `ip -6 route show` prints of a route as one string of its words, to tell the kernel's own routes in pasted output. */
const routeWords = (text: string): string => tokenize(text).map((t) => t.text).join(' ');

/**
 * One line of `ip -6 route show [table all]` output. The kernel's own routes
 * (`proto kernel`: an address's prefix, local, anycast and multicast routes,
 * the link-locals') must be among those the namespace's addresses made; any
 * other is added as `ip -6 route add` would. `pref medium` (what every route
 * but a router advertisement's prints) is the only router preference.
 */
export function loadRoute6Line(ns: Netns, line: string, no: number, source?: string): void {
  const toks = tokenize(line);
  let args = line;
  for (let k = 0; k < toks.length; k++) {
    if (toks[k]!.text !== 'pref') continue;
    const v = toks[k + 1];
    if (v?.text !== 'medium') throw new IpSyntaxError(no, (v ?? toks[k]!).col, v?.text ?? 'pref', `expected "pref medium" (router preferences are not emulated), got ${JSON.stringify(v?.text ?? '')}`, source);
    args = args.slice(0, toks[k]!.col - 1) + ' '.repeat(v.col + v.text.length - toks[k]!.col) + args.slice(v.col - 1 + v.text.length);
  }
  const via = toks.findIndex((t) => t.text === 'via');
  const gw = toks[via + 1]?.text === 'inet6' ? toks[via + 2] : toks[via + 1];
  if (via >= 0 && gw && !parseIpv6(gw.text)) throw new IpSyntaxError(no, gw.col, gw.text, `expected an IPv6 address after "via", got ${JSON.stringify(gw.text)}`, source);
  const proto = toks.findIndex((t) => t.text === 'proto');
  if (proto >= 0 && toks[proto + 1]?.text === 'kernel') {
    const want = routeWords(args);
    const view = { showTable: true, hideDev: false, hideProto: false, hideScope: false, hideVia: false, hideMetric: false, details: false };
    if (ns.routes6().some((r) => routeWords(formatRoute6(r, view).replace(/pref medium/, '')) === want)) return;
    throw new IpSyntaxError(no, toks[0]!.col, toks[0]!.text, 'expected a proto kernel route that an address of the namespace makes (the kernel makes its own routes)', source);
  }
  const r6 = parseRoute6Args(args, 'inet6', no, source)!;
  ns.addRoute6({ ...r6, dev: r6.dev === undefined ? undefined : ns.mustLink(r6.dev) }, false);
}

/** Load `ip -6 route show [table all]` output (loadRoute6Line). */
export function loadRoutes6(ns: Netns, text: string, opts: TextOptions = {}): void {
  for (const { line, no } of lines(text, opts)) {
    try {
      loadRoute6Line(ns, line, no, opts.source);
    } catch (e) {
      throw atLine(e, line, no, opts.source);
    }
  }
}

/** Load `ip -6 rule show` output: the IPv6 rule list becomes exactly what the text lists. */
export function loadRules6(ns: Netns, text: string, opts: TextOptions = {}): void {
  const all = lines(text, opts);
  for (const { line, no } of all) parseRule6Line(line, no, opts.source); // a syntax error changes nothing
  ns.rules6.clear();
  for (const { line, no } of all) {
    try {
      loadRule6Line(ns, line, no, opts.source);
    } catch (e) {
      throw atLine(e, line, no, opts.source);
    }
  }
  ns.markDefaultRules6();
}

/** One line of `ip -6 rule show` output, added to the rules already there. */
export function loadRule6Line(ns: Netns, line: string, no: number, source?: string): void {
  ns.addRule6(parseRule6Line(line, no, source));
}

/**
 * Load `ip neigh show` output. Entries with an address (PERMANENT, NOARP,
 * REACHABLE, STALE, DELAY, PROBE) are installed with that state; those
 * without one (INCOMPLETE, FAILED) carry nothing to install and are skipped.
 */
export function loadNeighbours<P>(ns: Netns<P>, text: string, now = 0, opts: TextOptions & { dev?: string } = {}): NeighAction<P>[] {
  const out: NeighAction<P>[] = [];
  for (const { line, no } of lines(text, opts)) {
    const n = parseNeighLine(line, no, opts.source);
    if (n.dev === undefined) n.dev = opts.dev;
    if (n.dev === undefined) {
      const t = tokenize(line)[0]!;
      throw new IpSyntaxError(no, t.col, t.text, `no device for neighbour '${t.text}' (add 'dev NAME')`, opts.source);
    }
    const state = n.state ?? NUD.PERMANENT;
    if (!n.proxy && (!(state & NUD_VALID) || n.lladdr === undefined)) continue;
    try {
      out.push(...ns.neighSet({ ...n, state }, 'replace', now));
    } catch (e) {
      throw atLine(e, line, no, opts.source);
    }
  }
  return out;
}

/** Create (or update) links and addresses from pasted `ip addr show` output. */
export function loadAddrShow(ns: Netns, text: string, opts: TextOptions = {}): void {
  for (const l of parseIpAddrShow(text, opts.source)) {
    try {
      let iface = ns.link(l.name);
      if (!iface) {
        const spec: Parameters<typeof ns.addLink>[0] = { name: l.name, kind: l.kind, mac: l.mac, mtu: l.mtu, carrier: l.carrier };
        if (!ns.linkByIndex(l.index)) spec.index = l.index;
        if (l.peerIfindex !== undefined) spec.peer = l.netns !== undefined ? { ifindex: l.peerIfindex, netns: l.netns } : { ifindex: l.peerIfindex };
        iface = ns.addLink(spec);
      } else {
        iface.mac = l.mac || iface.mac;
        ns.setMtu(l.name, l.mtu);
      }
      ns.setLinkUp(l.name, l.up);
      for (const a of l.addrs) {
        if (iface.addrs.some((x) => x.local === a.local && x.prefixLen === a.prefixLen)) continue;
        ns.addAddr(l.name, a);
      }
    } catch (e) {
      throw atLine(e, l.name, l.line + (opts.firstLine ?? 1) - 1, opts.source);
    }
  }
}

// ---- syntax checks (for topology files) -----------------------------------

export interface TextIssue {
  line: number;
  col: number;
  message: string;
}

function check(text: string, parse: (line: string, no: number) => unknown): TextIssue[] {
  const issues: TextIssue[] = [];
  for (const { line, no } of textLines(text)) {
    try {
      parse(line, no);
    } catch (e) {
      if (e instanceof IpSyntaxError) issues.push({ line: e.line, col: e.column, message: e.reason });
      else throw e;
    }
  }
  return issues;
}

export const checkRoutesText = (text: string): TextIssue[] => check(text, (l, n) => parseRouteLine(l, n));
export const checkRulesText = (text: string): TextIssue[] => check(text, (l, n) => parseRuleLine(l, n));
export const checkNeighText = (text: string): TextIssue[] => check(text, (l, n) => parseNeighLine(l, n));

// ---- commands ---------------------------------------------------------------

/** The objects runCommand reads (it refuses the ones it does not emulate itself). */
export const OBJECTS = ['address', 'addrlabel', 'maddress', 'route', 'rule', 'neighbor', 'neighbour', 'ntable', 'ntbl', 'link'];

const FAMILY_OPTIONS = { '-4': 'inet', '-6': 'inet6', '-0': 'link' } as const;

/** read_family: -f's word; MPLS and bridge are families dpemu has nothing of. */
function readFamily(word: string | undefined, fail: (reason: string, tok?: string) => Error): Family {
  if (word === 'inet' || word === 'inet6' || word === 'link') return word;
  if (word === undefined || word === 'help') throw fail('-family needs inet, inet6 or link');
  if (word === 'mpls' || word === 'bridge') throw fail(`family '${word}' is not emulated`, word);
  throw invarg('invalid protocol family', word);
}

/** A change in IPv6 or AF_PACKET (-6, -0) other than an IPv6 address's, route's, rule's or neighbour's (inet6.ts, route6.ts, rules.ts, nd6-cache.ts). */
export const IPV4_ONLY = 'only IPv4 changes and IPv6 addresses, routes, rules and neighbours are emulated: -0 changes nothing';

function verbOf(word: string | undefined, verbs: readonly string[]): string | undefined {
  if (word === undefined) return undefined;
  if (word === 'chg') return 'change';
  if (word === 'lst') return 'list';
  return verbs.find((v) => matches(word, v));
}

/** iproute2's get_integer: strtol in base 0 (hex, octal, decimal), the whole word, an int; null if not one. */
function getInteger(word: string | undefined): number | null {
  const m = word === undefined ? null : /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(word);
  if (!m) return null;
  const v = (m[1] === '-' ? -1 : 1) * Number(/^0[0-7]+$/.test(m[2]!) ? parseInt(m[2]!, 8) : m[2]);
  return v >= -(2 ** 31) && v < 2 ** 31 ? v : null;
}

/**
 * Run one command as a shell would: `ip [-4] OBJECT VERB ARGS` (route,
 * rule, neigh, addr, link) or `sysctl [-w] NAME=VALUE`. Returns what the
 * command prints (show verbs); throws IpSyntaxError or RtnlError.
 */
export function runCommand<P>(
  ns: Netns<P>,
  command: string,
  now = 0,
  opts: TextOptions & {
    drop?: (pkts: P[], why: string) => void;
    linkStats?: (l: Interface) => LinkStats64;
    proxyQueued?: () => number;
    /** What a neighbour write did to the packets its entries held (an element runs it; a bare model has none). */
    neigh?: (actions: NeighAction<P>[]) => void;
    /** A runtime command: an IPv6 address added runs DAD (dad6.ts); the topology's are there DAD over. */
    dad?: boolean;
  } = {},
): string {
  const no = opts.firstLine ?? 1;
  const toks = tokenize(command).map((t) => t.text);
  let i = 0;
  const fail = (reason: string, tok = toks[i] ?? '') => {
    const col = command.indexOf(tok) + 1 || 1;
    return new IpSyntaxError(no, col, tok, reason, opts.source);
  };
  const unsupported = (w: string) => fail(`'${w}' is not supported by ip link|addr show here`, w);
  const rest = () => {
    const t = tokenize(command)[i];
    return t ? command.slice(t.col - 1) : '';
  };
  if (toks[0] === 'sysctl') {
    i = 1;
    if (toks[i] === '-w' || toks[i] === '-q') i++;
    const kv = toks.slice(i).join(' ');
    const m = /^([^=\s]+)\s*=\s*(-?\d+)$/.exec(kv);
    if (!m) throw fail('expected NAME=VALUE');
    ns.setSysctl(m[1]!, Number(m[2]));
    return '';
  }
  if (toks[i] === 'ip') i++;
  let level = 0; // how many -s (iproute2: -stats, -statistics and their abbreviations)
  const o: ShowOptions = {};
  let pretty = false; // -pretty: only with -json, as ip.c has it
  let json = false;
  while (toks[i]?.startsWith('-')) {
    const t = toks[i]!;
    const a = t.startsWith('--') ? t.slice(1) : t;
    if (isStatsOption(a)) level++;
    else if (isDetailsOption(a)) o.details = true;
    else if (isBriefOption(a)) o.brief = true; // addr, link and neigh; other objects print as without it
    else if (isJsonOption(a)) json = true;
    else if (isPrettyOption(a)) pretty = true;
    else if (isOnelineOption(a)) o.oneline = true; // changes only the records of more than one line: link, addr, route get
    else if (a === '-4' || a === '-6' || a === '-0') o.family = FAMILY_OPTIONS[a];
    else if (a.length > 1 && '-family'.startsWith(a)) o.family = readFamily(toks[++i], fail);
    else throw fail(`option '${t}' is not supported`, t);
    i++;
  }
  if (json) o.json = { pretty };
  const obj = toks[i] === undefined ? undefined : OBJECTS.find((x) => matches(toks[i]!, x));
  if (!obj) throw fail(toks[i] === undefined ? 'missing object' : `unknown object '${toks[i]}'`);
  // -s changes nothing in a dump of FIB routes or rules; ip neigh's timers and probes are not shown here.
  if (level && obj !== 'link' && obj !== 'address' && obj !== 'route' && obj !== 'rule' && obj !== 'ntable' && obj !== 'ntbl') throw fail('option \'-s\' is supported with ip link, addr, route, rule and ntable only here', '-s');
  if (level && (obj === 'link' || obj === 'address') && !opts.linkStats) throw fail('no device counters here (-s needs a running namespace)', '-s');
  if (level && (obj === 'link' || obj === 'address')) o.stats = { level, of: opts.linkStats! };
  i++;
  switch (obj) {
    case 'route': {
      const verb = verbOf(toks[i], ['add', 'change', 'replace', 'prepend', 'append', 'delete', 'list', 'show', 'flush', 'get']) ?? (toks[i] === undefined ? 'show' : undefined);
      if (!verb) throw fail(`unknown command '${toks[i]}'`);
      if (toks[i] !== undefined) i++;
      if (verb === 'flush') {
        // `flush cache` (rt_cache_flush): the learned path MTUs go stale (pmtu.ts). Flushing FIB routes is not emulated.
        if (toks.length !== i + 1 || !matches(toks[i]!, 'cached')) throw fail('only `ip route flush cache` is emulated', 'flush');
        flushPmtu(ns);
        return '';
      }
      if (verb === 'get') {
        if (o.details) throw fail('-details is not emulated with ip route get here', 'get');
        const got = isRouteGet6(rest(), o.family) ? routeGet6(ns, rest(), no, opts.source, o.json) : routeGet(ns, rest(), no, opts.source, o.json, o.family);
        return o.oneline && !o.json ? oneline(got) : got;
      }
      if (verb === 'list' || verb === 'show') return showRoutes(ns, parseRouteShow(toks.slice(i), o.family), o);
      const r6 = o.family === 'link' ? undefined : parseRoute6Args(rest(), o.family, no, opts.source);
      if (r6) {
        if (verb !== 'add' && verb !== 'replace' && verb !== 'delete') throw fail(`'ip route ${verb}' of an IPv6 route is not emulated (add, replace and del are)`, toks[i - 1]);
        const q = { ...r6, dev: r6.dev === undefined ? undefined : ns.mustLink(r6.dev) };
        if (verb === 'delete') ns.delRoute6(q);
        else ns.addRoute6(q, verb === 'replace');
        return '';
      }
      if (noFamily(o)) throw fail(IPV4_ONLY, verb);
      const spec = parseRouteArgs(rest(), no, opts.source);
      if (verb === 'delete') ns.delRoute(spec);
      else ns.addRoute(spec, verb === 'add' ? 'add' : (verb as 'change' | 'replace' | 'prepend' | 'append'));
      return '';
    }
    case 'rule': {
      const verb = verbOf(toks[i], ['add', 'delete', 'list', 'show', 'flush']) ?? (toks[i] === undefined ? 'show' : undefined);
      if (!verb) throw fail(`unknown command '${toks[i]}'`);
      if (o.family === 'link' && verb !== 'list' && verb !== 'show') throw fail(IPV4_ONLY, verb);
      if (toks[i] !== undefined) i++;
      if (verb === 'list' || verb === 'show') return showRules(ns, o, toks.slice(i));
      if (verb === 'flush') {
        // iproute2 deletes each rule its selector lists that has a priority attribute: all but priority 0's.
        const words = toks.slice(i);
        if (o.family === 'inet6') ns.flushRules(ns.rules6, parseRuleFilter<Uint8Array>(words, 'inet6', true));
        else ns.flushRules(ns.rules, parseRuleFilter<number>(words, 'inet', true));
        // Its flush is a dump that prints nothing: with -j, an empty array.
        return o.json ? jsonDump([], o.json.pretty) : '';
      }
      if (o.family === 'inet6') {
        const spec = parseRule6Args(rest(), no, opts.source);
        if (verb === 'add') ns.addRule6(spec);
        else ns.delRule6(spec);
        return '';
      }
      const spec = parseRuleArgs(rest(), no, opts.source);
      if (verb === 'add') ns.addRule(spec);
      else ns.delRule(spec);
      return '';
    }
    case 'neighbor':
    case 'neighbour': {
      const verb = verbOf(toks[i], ['add', 'change', 'replace', 'delete', 'list', 'show', 'flush']) ?? (toks[i] === undefined ? 'show' : undefined);
      if (!verb) throw fail(`unknown command '${toks[i]}'`);
      if (toks[i] !== undefined) i++;
      if (verb === 'list' || verb === 'show' || verb === 'flush') {
        const flush = verb === 'flush';
        if (flush && i === toks.length) throw new RtnlError('EINVAL', undefined, 'Flush requires arguments.', 1);
        const n: NeighShow = {};
        for (let j = i; j < toks.length; j++) {
          const w = toks[j]!;
          if (w === 'dev') n.dev = toks[++j];
          else if (w === 'proxy') n.proxy = true;
          else if (w === 'nud') {
            const v = toks[++j];
            if (v === undefined) throw fail('Command line is not complete', w);
            const bits = nudShowBits(v);
            if (bits === undefined) throw fail('nud state is bad', v);
            // repeated: any of them; a flush's `all` leaves the NOARP entries
            n.states = (n.states ?? 0) | (flush && v === 'all' ? bits & ~NUD.NOARP : bits);
          } else {
            const word = w === 'to' ? nextArg(toks, ++j) : w;
            // all, default and any: a prefix of no family (get_addr in AF_UNSPEC), which every entry is in.
            if (o.family === undefined && (word === 'all' || word === 'default' || word === 'any')) continue;
            const p = routeShowPrefix(word, o.family);
            if ('v6' in p) n.to6 = p.v6;
            else n.to = p.v4;
          }
        }
        if (!flush) return showNeigh(ns, n, o);
        if (o.family === 'link' || n.proxy) throw fail(`'ip neigh flush' ${n.proxy ? 'of proxy entries' : 'under -0'} is not emulated`, verb);
        // iproute2 deletes each entry its dump lists (by default all but PERMANENT and NOARP ones), one RTM_DELNEIGH each.
        for (const r of neighRows(ns, { ...n, states: n.states ?? ~(NUD.PERMANENT | NUD.NOARP) }, o.family)) {
          const dev = ns.linkByIndex(r.ifindex)!.name;
          const actions = ns.neighDel(r.ip6 ? { ip: 0, ip6: r.ip6, dev } : { ip: r.ip!, dev }, now);
          opts.neigh?.(actions);
        }
        return '';
      }
      if (o.family === 'link') throw fail(IPV4_ONLY, verb);
      const spec = parseNeighArgs(rest(), no, opts.source, o.family);
      const actions = verb === 'delete' ? ns.neighDel(spec, now) : ns.neighSet(spec, verb as 'add' | 'change' | 'replace', now);
      opts.neigh?.(actions);
      return '';
    }
    case 'address': {
      const verb = verbOf(toks[i], ['add', 'change', 'replace', 'delete', 'list', 'show']) ?? (toks[i] === undefined ? 'show' : undefined);
      if (!verb) throw fail(`unknown command '${toks[i]}'`);
      if (toks[i] !== undefined) i++;
      if (verb === 'list' || verb === 'show') return showLinks(ns, 'addr', parseLinkShow(ns, toks.slice(i), unsupported, o), o);
      if (o.family === 'link') throw fail(IPV4_ONLY, verb);
      const a6 = parseAddr6Args(rest(), o.family, no, opts.source);
      if (a6) {
        if (verb !== 'add' && verb !== 'delete') throw fail(`'ip addr ${verb}' of an IPv6 address is not emulated (add and del are)`, toks[i - 1]);
        if (verb === 'add') ns.addAddr6(a6.dev!, a6.bytes, a6.prefixLen, a6.flags, a6.metric, opts.dad);
        else ns.delAddr6(a6.dev!, a6.bytes, a6.prefixLen);
        return '';
      }
      const a = parseAddrArgs(rest(), no, opts.source);
      if (a.dev === undefined) throw fail('missing dev', toks[toks.length - 1]);
      if (verb === 'delete') {
        const held = ns.delAddr(a.dev, a.spec.local, /\//.test(rest()) ? a.spec.prefixLen : undefined);
        if (held.length) opts.drop?.(held, `${a.dev} lost its last address`);
      } else ns.addAddr(a.dev, a.spec);
      return '';
    }
    case 'link': {
      const verb = verbOf(toks[i], ['set', 'list', 'show']) ?? (toks[i] === undefined ? 'show' : undefined);
      if (!verb) throw fail(`unknown command '${toks[i]}'`);
      if (toks[i] !== undefined) i++;
      if (verb !== 'set') return showLinks(ns, 'link', parseLinkShow(ns, toks.slice(i), unsupported, { ...o, family: 'link' }), o);
      if (toks[i] === 'dev') i++;
      const dev = toks[i++];
      if (dev === undefined) throw fail('missing device');
      ns.mustLink(dev);
      while (i < toks.length) {
        const w = toks[i++]!;
        if (w === 'up' || w === 'down') ns.setLinkUp(dev, w === 'up');
        else if (w === 'mtu') {
          const v = getInteger(toks[i++]);
          if (v === null) throw invarg('Invalid "mtu" value\n', toks[i - 1] ?? '');
          ns.validateMtu(dev, v);
          const held = ns.setMtu(dev, v);
          if (held.length) opts.drop?.(held, `${dev} lost IPv6 (an MTU below 1280)`);
        } else throw fail(`'${w}' is not supported by ip link set here`, w);
      }
      return '';
    }
    case 'ntable':
    case 'ntbl': {
      const w = toks[i];
      if (w === undefined || matches(w, 'show') || matches(w, 'lst') || matches(w, 'list')) {
        // ip prints last_flush and last_rand as its wall clock less their ages.
        const show = { now, wall: Date.now(), proxyQlen: opts.proxyQueued?.() ?? 0, stats: level > 0, oneline: o.oneline === true };
        return showNtable(ns, toks.slice(i + 1), { ...show, ...(o.family ? { family: o.family } : {}), ...(o.json ? { json: o.json } : {}) });
      }
      if (matches(w, 'change') || matches(w, 'chg')) {
        changeNtable(ns, toks.slice(i + 1), o.family);
        return '';
      }
      if (matches(w, 'help')) throw new RtnlError('EINVAL', undefined, NTABLE_USAGE, 255);
      throw new RtnlError('EINVAL', undefined, `Command "${w}" is unknown, try "ip ntable help".`, 255);
    }
    default:
      throw fail(`'ip ${obj}' is not supported`);
  }
}

/** Run several commands, one per line; errors carry the line number. */
export function runCommands<P>(ns: Netns<P>, text: string, now = 0, opts: TextOptions = {}): string {
  let out = '';
  for (const { line, no } of lines(text, opts)) {
    try {
      out += runCommand(ns, line, now, { ...opts, firstLine: no });
    } catch (e) {
      throw atLine(e, line, no, opts.source);
    }
  }
  return out;
}
