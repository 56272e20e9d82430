// The objects `ip -j` prints for links, addresses, routes, rules and
// neighbours (iproute2 6.1 print_linkinfo, print_addrinfo, print_route,
// print_rule, print_neigh: their PRINT_ANY/PRINT_JSON keys, in their
// order). The text forms are in ip-addr-syntax.ts, ip-route-syntax.ts,
// ip-rule-syntax.ts and ip-neigh-syntax.ts; json-writer.ts lays them out.

import { type Ip4, formatIp4, formatMac, formatPrefix } from './addr.js';
import { type Route } from './fib.js';
import { type IfAddr, type Interface, operState } from './interfaces.js';
import { type AddrFamily, type AddrShown, type LinkByIndex, inet6DumpPeer, linkFlagList, qdisc } from './ip-addr-syntax.js';
import { IFA6_FLAGS, type If6Addr } from './inet6.js';
import { linkDetailsJson } from './ip-link-details.js';
import { type LinkStats64 } from './ip-link-stats.js';
import { type RouteFormatContext, routeMetricsInOrder } from './ip-route-syntax.js';
import { ipprotoName, ruleHex } from './ip-rule-syntax.js';
import { type JsonObject, type JsonValue } from './json-writer.js';
import { RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTPROT_BOOT, RTPROT_KERNEL, dsfieldName, protoName, scopeName, tableName } from './names.js';
import { NUD, NUD_VALID, nudName } from './neighbour.js';
import { type NeighRow } from './ip-neigh-syntax.js';
import { type FibRule, type RuleAddr } from './rules.js';
import { ip6ToString } from '../wire/tcpdump-text.js';

/** IFA_CACHEINFO's lifetimes of a permanent address (INFINITY_LIFE_TIME). */
const FOREVER = 4294967295;

/**
 * The id each peer namespace has in this one (IFLA_LINK_NETNSID): the
 * kernel numbers them from 0 as it first needs one, i.e. as the veths
 * are made; dpemu takes the devices in ifindex order. An id read from
 * pasted text (`link-netnsid N`) is kept.
 */
export function netnsIds(links: readonly Interface[]): Map<string, number> {
  const ids = new Map<string, number>();
  const taken = new Set(links.flatMap((l) => l.peer?.netnsId ?? []));
  let next = 0;
  for (const l of links) {
    const ns = l.peer?.netns;
    if (ns === undefined || ids.has(ns)) continue;
    while (taken.has(next)) next++;
    ids.set(ns, next++);
  }
  return ids;
}

export interface LinkJsonView {
  /** `ip addr`: addr_info, and no linkmode. */
  forIpAddr: boolean;
  /** `ip -0 addr`: the device alone, without addr_info. */
  linkOnly?: boolean;
  /** `ip -4 addr` without -d: no link_type, address or broadcast (print_linkinfo's link/ line). */
  noLinkLine?: boolean;
  details: boolean;
  stats?: { level: number; of: LinkStats64 };
  byIndex?: LinkByIndex;
  netnsIds: Map<string, number>;
  /** `ip -4|-6 addr`: that family's addresses alone. */
  family?: AddrFamily;
  /** Read from the AF_INET6 link dump (formatLink's inet6Dump). */
  inet6Dump?: boolean;
  /** The address selectors' test: an empty object for each address it refuses. */
  shown?: AddrShown;
}

/** A veth's peer: `link` (its name) in the same namespace, else `link_index`. */
const linkOf = (l: Interface): JsonObject => (l.peer?.name !== undefined ? { link: l.peer.name } : { link_index: l.peer?.ifindex });
/** The same from the AF_INET6 link dump (`ip -6 addr` without a device, -d or -s): ip names the peer's ifindex in this namespace. */
const linkOf6 = (l: Interface, byIndex?: LinkByIndex): JsonObject => ({ link: inet6DumpPeer(l, byIndex) });

/** One device of `ip -j link|addr`. */
export function linkJson(l: Interface, v: LinkJsonView): JsonObject {
  const lo = l.kind === 'loopback';
  const o: JsonObject = {
    ifindex: l.index,
    ...(v.inet6Dump ? linkOf6(l, v.byIndex) : linkOf(l)),
    ifname: l.name,
    flags: linkFlagList(l),
    mtu: l.mtu,
    qdisc: v.inet6Dump ? undefined : qdisc(l),
    master: l.master,
    operstate: operState(l, v.byIndex),
    linkmode: v.forIpAddr ? undefined : 'DEFAULT',
    group: v.inet6Dump ? undefined : 'default',
    txqlen: l.qlen,
    ...(v.noLinkLine ? {} : { link_type: lo ? 'loopback' : 'ether', address: formatMac(l.mac), broadcast: lo ? '00:00:00:00:00:00' : 'ff:ff:ff:ff:ff:ff' }),
    link_netnsid: v.inet6Dump ? undefined : l.peer?.netnsId ?? (l.peer?.netns !== undefined ? v.netnsIds.get(l.peer.netns) : undefined),
  };
  if (v.details) Object.assign(o, linkDetailsJson(l, v.forIpAddr));
  if (v.forIpAddr && !v.linkOnly) o.addr_info = addrInfos(l, v.family, v.shown);
  if (v.stats) o.stats64 = stats64Json(v.stats.of, v.stats.level);
  return o;
}

function addrInfoJson(a: IfAddr): JsonObject {
  return {
    family: 'inet',
    local: formatIp4(a.local),
    prefixlen: a.prefixLen,
    metric: a.metric || undefined,
    broadcast: a.broadcast ? formatIp4(a.broadcast) : undefined,
    scope: scopeName(a.scope),
    // print_ifa_flags: one member per flag, in bit order (secondary 0x01 ... noprefixroute 0x200).
    secondary: a.secondary || undefined,
    noprefixroute: a.noprefixroute || undefined,
    label: a.label,
    valid_life_time: FOREVER,
    preferred_life_time: FOREVER,
  };
}

function addr6InfoJson(a: If6Addr): JsonObject {
  const o: JsonObject = { family: 'inet6', local: a.text, prefixlen: a.prefixLen, metric: a.metric || undefined, scope: scopeName(a.scope) };
  for (const [bit, name] of IFA6_FLAGS) if (a.flags & bit) o[name] = true;
  return { ...o, valid_life_time: FOREVER, preferred_life_time: FOREVER };
}

/** Each address of the dump, or an empty object where `shown` refuses it (print_addrinfo opens the object before it tests the address). */
function addrObjects<A extends IfAddr | If6Addr>(l: Interface, as: readonly A[], shown: AddrShown | undefined, json: (a: A) => JsonObject): JsonObject[] {
  return as.map((a) => (!shown || shown(l, a) ? json(a) : {}));
}

/** addr_info: inet, then inet6, as the dump lists them. */
const addrInfos = (l: Interface, family: AddrFamily, shown?: AddrShown): JsonObject[] =>
  [...(family !== 'inet6' ? addrObjects(l, l.addrs, shown, addrInfoJson) : []), ...(family !== 'inet' ? addrObjects(l, l.addrs6, shown, addr6InfoJson) : [])];

/** `ip -o -j addr`: an object per device holding only its addresses, each led by the device's index and name (print_addrinfo under -oneline). */
export const addrOnelineJson = (l: Interface, family?: AddrFamily, shown?: AddrShown): JsonObject => ({
  addr_info: addrInfos(l, family, shown).map((a) => (Object.keys(a).length ? { index: l.index, dev: l.name, ...a } : a)),
});

/** `ip -j -br link|addr`: the brief line's fields. */
export function briefJson(l: Interface, what: 'link' | 'addr', byIndex?: LinkByIndex, family?: AddrFamily, inet6Dump = false, shown?: AddrShown): JsonObject {
  const o: JsonObject = { ...(inet6Dump ? linkOf6(l, byIndex) : linkOf(l)), ifname: l.name, operstate: operState(l, byIndex) };
  if (what === 'link') return { ...o, address: formatMac(l.mac), flags: linkFlagList(l) };
  const v4 = family !== 'inet6' ? addrObjects(l, l.addrs, shown, (a): JsonObject => ({ local: formatIp4(a.local), prefixlen: a.prefixLen, metric: a.metric || undefined })) : [];
  const v6 = family !== 'inet' ? addrObjects(l, l.addrs6, shown, (a): JsonObject => ({ local: a.text, prefixlen: a.prefixLen, metric: a.metric || undefined })) : [];
  return { ...o, addr_info: [...v4, ...v6] };
}

/** print_stats64's JSON branch: the error counters only from -s -s; otherhost only when counted. */
function stats64Json(s: LinkStats64, level: number): JsonObject {
  const full = level > 1;
  return {
    rx: {
      bytes: s.rxBytes, packets: s.rxPackets, errors: 0, dropped: s.rxDropped, over_errors: 0, multicast: 0,
      ...(full ? { length_errors: 0, crc_errors: 0, frame_errors: 0, fifo_errors: 0, missed_errors: 0, otherhost: s.rxOtherhost || undefined } : {}),
    },
    tx: {
      bytes: s.txBytes, packets: s.txPackets, errors: 0, dropped: s.txDropped, carrier_errors: 0, collisions: 0,
      ...(full ? { aborted_errors: 0, fifo_errors: 0, window_errors: 0, heartbeat_errors: 0, carrier_changes: s.carrierChanges } : {}),
    },
  };
}

/** A time metric's value in ms, from its text ("10ms", "1.5s"). */
const ms = (text: string): number => (text.endsWith('ms') ? Number(text.slice(0, -2)) : Math.round(Number(text.slice(0, -1)) * 1000));

/** print_rta_metrics' JSON branch: no locks; times in ms; congctl as "congestion"; features ecn as a flag. */
export function metricsJson(r: Route): JsonObject[] | undefined {
  if (!r.mtu && !r.metrics.length) return undefined;
  const o: JsonObject = { mtu: r.mtu || undefined };
  for (const [name, , text] of routeMetricsInOrder(r)) {
    if (name === 'congctl') o.congestion = text;
    else if (name === 'features') o.ecn = null;
    else if (name === 'rtt' || name === 'rttvar' || name === 'rto_min') o[name] = ms(text);
    else o[name] = Number(text);
  }
  return [o];
}

/** One route of `ip -j route show`; `showTable` and ctx as for formatRoute. */
export function routeJson(r: Route, ctx: RouteFormatContext, showTable = false): JsonObject {
  const d = ctx.details ?? false;
  const flags: string[] = [];
  if (r.onlink) flags.push('onlink');
  if (r.dev && r.nhScope !== RT_SCOPE_NOWHERE && ctx.carrier && !ctx.carrier(r.dev)) flags.push('linkdown');
  const h = ctx.hide ?? {};
  return {
    type: r.type !== 'unicast' || d ? r.type : undefined,
    dst: r.dstLen === 0 ? 'default' : formatPrefix(r.dst, r.dstLen),
    tos: r.tos ? dsfieldName(r.tos) : undefined,
    gateway: r.gateway && !h.via ? formatIp4(r.gateway) : undefined,
    dev: r.dev && !ctx.hideDev ? ctx.devName(r.dev) : undefined,
    table: showTable && (r.table !== RT_TABLE_MAIN || d) ? tableName(r.table) : undefined,
    protocol: (r.protocol !== RTPROT_BOOT || d) && !h.proto ? protoName(r.protocol) : undefined,
    scope: (r.scope !== RT_SCOPE_UNIVERSE || d) && !h.scope ? scopeName(r.scope) : undefined,
    prefsrc: r.prefsrc && !h.src ? formatIp4(r.prefsrc) : undefined,
    metric: h.metric ? undefined : r.priority || undefined,
    flags,
    metrics: metricsJson(r),
  };
}

const prefixMembers = (key: 'src' | 'dst', addr: RuleAddr, len: number): JsonObject =>
  len
    ? typeof addr === 'number'
      ? { [key]: formatIp4(addr), [`${key}len`]: len !== 32 ? len : undefined }
      : { [key]: ip6ToString(addr, 0), [`${key}len`]: len !== 128 ? len : undefined }
    : key === 'src' ? { src: 'all' } : {};

/** One rule of `ip -j [-6] rule show` (print_rule); `details`: -d prints the protocol whatever it is. */
export function ruleJson<A extends RuleAddr>(r: FibRule<A>, unresolved: boolean, details = false): JsonObject {
  const range = (k: string, p: { start: number; end: number } | undefined): JsonObject =>
    !p ? {} : p.start === p.end ? { [k]: p.start } : { [`${k}_start`]: p.start, [`${k}_end`]: p.end };
  return {
    priority: r.priority,
    not: r.invert ? null : undefined,
    ...prefixMembers('src', r.src, r.srcLen),
    ...prefixMembers('dst', r.dst, r.dstLen),
    tos: r.tos ? dsfieldName(r.tos) : undefined,
    ...(r.fwmark || r.fwmask ? { fwmark: ruleHex(r.fwmark), fwmask: r.fwmask !== 0xffff_ffff ? ruleHex(r.fwmask) : undefined } : {}),
    iif: r.iif,
    iif_detached: r.iif !== undefined && r.iifIndex === -1 ? null : undefined,
    oif: r.oif,
    oif_detached: r.oif !== undefined && r.oifIndex === -1 ? null : undefined,
    ...(r.uidrange ? { uid_start: r.uidrange.start, uid_end: r.uidrange.end } : {}),
    ipproto: r.ipproto ? ipprotoName(r.ipproto) : undefined,
    ...range('sport', r.sport),
    ...range('dport', r.dport),
    ...(r.table
      ? {
          table: tableName(r.table),
          suppress_prefixlen: r.suppressPrefixLen !== -1 ? r.suppressPrefixLen : undefined,
          suppress_ifgroup: r.suppressIfgroup !== -1 ? (r.suppressIfgroup === 0 ? 'default' : String(r.suppressIfgroup)) : undefined,
        }
      : {}),
    ...(r.action === 'goto' ? { goto: r.gotoTarget, unresolved: unresolved ? null : undefined } : {}),
    nop: r.action === 'nop' ? null : undefined,
    action: r.action !== 'lookup' && r.action !== 'goto' && r.action !== 'nop' ? r.action : undefined,
    protocol: (r.protocol && r.protocol !== RTPROT_KERNEL) || details ? protoName(r.protocol) : undefined,
  };
}

/** One neighbour of `ip -j neigh show`; `devName` undefined when the listing is of one device. */
export function neighJson(e: NeighRow, devName: string | undefined, brief = false): JsonObject {
  const o: JsonObject = { dst: e.dst, dev: devName, lladdr: e.state & NUD_VALID ? formatMac(e.mac) : undefined };
  if (brief) return o;
  o.router = e.router ? null : undefined;
  o.state = e.state !== NUD.NONE ? (nudName(e.state).split(' ') as JsonValue[]) : undefined;
  return o;
}

/** `ip -j neigh show proxy`. */
export const proxyNeighJson = (ip: Ip4, devName: string): JsonObject => ({ dst: formatIp4(ip), dev: devName, proxy: null });
