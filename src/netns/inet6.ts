// A namespace's IPv6 as far as the model holds it: the addresses the kernel
// gives its devices by itself (net/ipv6/addrconf.c) and the routes they
// bring. An UP device with a link (addrconf_link_ready) gets its EUI-64
// link-local fe80::/64 (addr_gen_mode eui64, the default) with the fe80::/64
// prefix route and the ff00::/8 multicast route; lo gets ::1/128 when up.
// The address stays when the carrier goes (its routes show `linkdown`) and
// goes when the device goes down or disable_ipv6 is set. With forwarding on,
// DAD's completion joins the subnet-router anycast fe80:: (an anycast route).
// These, and the addresses of the topology file, are there at once, DAD
// over (no frames at start-up), as is a link-local made when a device comes
// up later. `ip -6 addr add` adds others (addAddr6): each brings its prefix
// route (unless noprefixroute) and, once DAD is over (dad6.ts: `tentative`
// until then, unless nodad or accept_dad 0), its local route and, with
// forwarding on, its subnet-router anycast. Optimistic DAD is not modelled.

import { ip6ToString } from '../wire/tcpdump-text.js';
import { ip6Equal, writeEui64LinkLocal } from '../wire/ipv6.js';
import { type Errno, RtnlError } from './errors.js';
import { type Interface } from './interfaces.js';
import { RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_SITE, RT_SCOPE_UNIVERSE, RT_TABLE_LOCAL, RT_TABLE_MAIN, RTPROT_BOOT, RTPROT_KERNEL, protoName, tableName } from './names.js';
import type { UserRoute6 } from './route6.js';

/** net.ipv6.conf.X: the keys the model reads. */
export interface DevConf6 {
  accept_dad: number;
  dad_transmits: number;
  disable_ipv6: number;
  enhanced_dad: number;
  forwarding: number;
  /** MLDv2's unsolicited report interval (ms; mld6.ts). */
  mldv2_unsolicited_report_interval: number;
}

/** net.ipv6.conf's defaults (addrconf.c ipv6_devconf_dflt). */
export const devConf6 = (disable_ipv6: number): DevConf6 => ({ accept_dad: 1, dad_transmits: 1, disable_ipv6, enhanced_dad: 1, forwarding: 0, mldv2_unsolicited_report_interval: 1000 });

/** IPv6's minimum link MTU: a device below it has no inet6_dev (Interface.idev6). */
export const IPV6_MIN_MTU = 1280;

/** DevConf6's keys, as sysctl lists them. */
export const DEV_CONF6_KEYS: readonly (keyof DevConf6)[] = ['accept_dad', 'dad_transmits', 'disable_ipv6', 'enhanced_dad', 'forwarding', 'mldv2_unsolicited_report_interval'];

/** The keys whose writes proc_dointvec_* bounds (an ms value: proc_dointvec_ms_jiffies refuses a negative one); the others take any int. */
export const DEV_CONF6_RANGE: Partial<Record<keyof DevConf6, readonly [number, number]>> = { mldv2_unsolicited_report_interval: [0, 0x7fff_ffff] };

export interface If6Addr {
  /** The 16 bytes (what the receive path compares). */
  bytes: Uint8Array;
  text: string;
  prefixLen: number;
  scope: number;
  /** When addrconf configured it: routes of the same prefix list in this order. */
  seq: number;
  /** The IFA_F_ flags it keeps (IFA6_FLAGS'), as given to `ip addr add`. */
  flags: number;
  /** IFA_RT_PRIORITY: its prefix route's metric (0: the default, 256). */
  metric: number;
  /** Its prefix route was deleted or replaced (`ip -6 route del|replace`): addrconf adds it again only for a new address. */
  routeGone?: boolean;
  /** Tentative, DAD not over (dad6.ts): when its DAD work runs next (0: to begin; -1: waiting for the device to be ready). */
  dadAt?: number;
  /** The neighbour solicitations DAD still sends (undefined: not begun). */
  dadLeft?: number;
  /** Its NS's nonce (enhanced_dad, RFC 7527): 6 bytes as a number; 0 none. */
  nonce?: number;
}

/** The IFA_F_ flags an address shows, in print_ifa_flags's (bit) order: those `ip -6 addr add` keeps (IFA6_SETTABLE) and DAD's. */
export const IFA6_FLAGS: readonly (readonly [number, string])[] = [
  [0x02, 'nodad'], [0x08, 'dadfailed'], [0x10, 'home'], [0x40, 'tentative'], [0x100, 'mngtmpaddr'], [0x200, 'noprefixroute'],
];
export const IFA_F_NODAD = 0x02, IFA_F_DADFAILED = 0x08, IFA_F_TENTATIVE = 0x40;
const IFA_F_HOMEADDRESS = 0x10, IFA_F_MANAGETEMPADDR = 0x100, IFA_F_NOPREFIXROUTE = 0x200;
/** The flags `ip -6 addr add` takes (the others are the kernel's). */
export const IFA6_SETTABLE = IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR | IFA_F_NOPREFIXROUTE;

/** Not tentative: the address is used (a source, bound, delivered to, answered for). */
export const usable6 = (a: If6Addr): boolean => (a.flags & IFA_F_TENTATIVE) === 0;

const LOOPBACK6 = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/** The device's addresses as addrconf would now hold them; `seq` numbers a newly configured one. */
export function syncInet6(l: Interface, seq: () => number): void {
  const want = l.up && l.conf6.disable_ipv6 === 0 && l.idev6 !== 0;
  if (!want) {
    // (An inet6_dev made while the device was down has joined its groups since: none left.)
    if (!l.up && l.everUp && l.conf6.disable_ipv6 === 0 && l.idev6WhileUp !== false) l.mc6Rejoined = true;
    // addrconf_ifdown (NETDEV_DOWN, disable_ipv6), keep_addr_on_down 0 (the default): every address goes.
    // Those given to a device that is down stay until it has been up.
    if (l.v6Up || l.conf6.disable_ipv6 !== 0) l.addrs6.length = 0;
    l.v6Up = false;
    l.v6Ready = 0;
    return;
  }
  if (!l.v6Up) l.v6UpSeq = seq();
  l.v6Up = true;
  if (l.idev6WhileUp === false) delete l.idev6WhileUp;
  if (l.v6Ready !== 0) return;
  if (l.kind === 'loopback') {
    l.v6Ready = seq();
    insertAddr6(l, { bytes: LOOPBACK6, text: '::1', prefixLen: 128, scope: RT_SCOPE_HOST, seq: l.v6Ready, flags: 0, metric: 0 });
    return;
  }
  // addrconf_notify(NETDEV_UP) configures nothing until the link is ready (NETDEV_CHANGE then).
  if (!l.carrier) return;
  const bytes = new Uint8Array(16);
  writeEui64LinkLocal(bytes, 0, l.mac);
  l.v6Ready = seq();
  insertAddr6(l, { bytes, text: ip6ToString(bytes, 0), prefixLen: 64, scope: RT_SCOPE_LINK, seq: l.v6Ready, flags: 0, metric: 0 });
}

/**
 * ipv6_link_dev_addr: the device's list by scope, widest first (global,
 * site, link, host), a new address before the others of its scope.
 */
function insertAddr6(l: Interface, a: If6Addr): void {
  const i = l.addrs6.findIndex((x) => x.scope >= a.scope);
  l.addrs6.splice(i < 0 ? l.addrs6.length : i, 0, a);
}

/** ipv6_addr_scope as a route scope: fe80::/10 link, fec0::/10 site, ::1 host, the rest global. */
export function addrScope6(b: Uint8Array): number {
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return RT_SCOPE_LINK;
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return RT_SCOPE_SITE;
  return b.every((x, i) => x === (i === 15 ? 1 : 0)) ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
}

/**
 * The address ndisc and ping6 send from on the device (ipv6_get_lladdr):
 * its oldest link-local (lo: ::1), the list's last of link or host scope.
 */
export function lladdr6(l: Interface): If6Addr | undefined {
  // __ipv6_get_lladdr: from the list's end while the scope is link or narrower, a tentative one passed over.
  for (let i = l.addrs6.length - 1; i >= 0 && l.addrs6[i]!.scope >= RT_SCOPE_LINK; i--) if (usable6(l.addrs6[i]!)) return l.addrs6[i];
  return undefined;
}

/** A refusal of inet6_rtm_newaddr / inet6_rtm_deladdr, with its extack. */
const refuse6 = (errno: Errno, why: string) => new RtnlError(errno, `ipv6: ${why}`);

/**
 * inet6_addr_add's checks, then the address (ipv6_add_addr). `flags` are
 * IFA6_SETTABLE's bits, `metric` IFA_RT_PRIORITY; the scope is the
 * address's. With `dad` (and no nodad) it is tentative, its DAD to begin
 * (dad6.ts); without, DAD is over at once (the topology file's).
 */
export function addAddr6(l: Interface, bytes: Uint8Array, prefixLen: number, flags: number, metric: number, seq: () => number, dad = false): If6Addr {
  if (flags & IFA_F_MANAGETEMPADDR && prefixLen !== 64) throw refuse6('EINVAL', 'address with "mngtmpaddr" flag must have a prefix length of 64');
  // addrconf_add_dev: ipv6_add_dev refuses a device with an MTU below 1280.
  if (l.idev6 === 0) throw new RtnlError('EINVAL');
  if (l.conf6.disable_ipv6 !== 0) throw refuse6('EACCES', 'IPv6 is disabled on this device');
  if (bytes.every((x) => x === 0)) throw refuse6('EADDRNOTAVAIL', 'Invalid address');
  if (bytes[0] === 0xff) throw refuse6('EINVAL', 'Cannot assign multicast address without "IFA_F_MCAUTOJOIN" flag');
  const scope = addrScope6(bytes);
  if (scope === RT_SCOPE_HOST && l.kind !== 'loopback') throw refuse6('EADDRNOTAVAIL', 'Cannot assign loopback address on this device');
  if (l.addrs6.some((a) => ip6Equal(a.bytes, 0, bytes, 0))) throw refuse6('EEXIST', 'address already assigned');
  const a: If6Addr = { bytes, text: ip6ToString(bytes, 0), prefixLen, scope, seq: seq(), flags, metric };
  if (dad && (flags & IFA_F_NODAD) === 0) {
    a.flags |= IFA_F_TENTATIVE;
    a.dadAt = 0;
  }
  insertAddr6(l, a);
  return a;
}

/** inet6_addr_del: the address of that prefix length (128 when ip was given none). */
export function delAddr6(l: Interface, bytes: Uint8Array, prefixLen: number): void {
  if (l.idev6 === 0) throw refuse6('ENXIO', 'IPv6 is disabled on this device');
  const i = l.addrs6.findIndex((a) => a.prefixLen === prefixLen && ip6Equal(a.bytes, 0, bytes, 0));
  if (i < 0) throw refuse6('EADDRNOTAVAIL', 'address not found');
  l.addrs6.splice(i, 1);
}

/** A route of the IPv6 FIB as `ip -6 route` prints it: made by the kernel from the addresses, or by the user (route6.ts). */
export interface Route6 {
  /** Its table's id: RT_TABLE_MAIN, RT_TABLE_LOCAL (the kernel's local, anycast and multicast routes), or a user's. */
  table: number;
  type: 'unicast' | 'local' | 'anycast' | 'multicast';
  dst: string;
  /** Its gateway (a user's route only). */
  via?: string;
  dev: string;
  metric: number;
  /** RTPROT_*: kernel for the kernel's. */
  proto: number;
  /** The user's route it lists; undefined for one of the kernel's. */
  user?: UserRoute6;
  linkdown: boolean;
  /** Sort key within the table: the prefix's bytes and length, then the configuration order. */
  key: Uint8Array;
  len: number;
  seq: number;
}

const FF00 = new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** The address with its host bits cleared. */
export function prefixOf(b: Uint8Array, len: number): Uint8Array {
  const p = new Uint8Array(16);
  for (let i = 0; i < 16; i++) p[i] = b[i]! & (len >= (i + 1) * 8 ? 0xff : len <= i * 8 ? 0 : (0xff << (8 - (len - i * 8))) & 0xff);
  return p;
}

/**
 * The namespace's IPv6 routes, table by table in `tables`' order (a dump's:
 * main before local), each table in the order of
 * its fib6 tree walk (treeOrder; same prefix: by metric, then as added).
 * Each address brings its `local` route (once DAD is over) and, but ::1 and a noprefixroute
 * one, its prefix route while the device is up (addrconf_prefix_route: one
 * route of a prefix, device and metric, however many addresses share it;
 * `dst` a /128 as the address alone); with forwarding on, the
 * subnet-router anycast of its prefix below /127 (addrconf_join_anycast,
 * one per prefix and device). A device addrconf set up has the ff00::/8
 * multicast route. The user's routes (route6.ts) go to their tables.
 */
export function routes6(
  links: readonly Interface[], forwarding: (l: Interface) => boolean, user: readonly UserRoute6[] = [], tables: readonly number[] = [RT_TABLE_MAIN, RT_TABLE_LOCAL],
): Route6[] {
  const main: Route6[] = [], local: Route6[] = [];
  const once = (t: Route6[], r: Route6) => {
    if (!t.some((x) => x.type === r.type && x.dev === r.dev && x.len === r.len && x.metric === r.metric && cmpBytes(x.key, r.key) === 0)) t.push(r);
  };
  // Oldest first, so that a route shared by several addresses takes the first one's order.
  const bySeq = (a: If6Addr, b: If6Addr) => a.seq - b.seq;
  for (const l of links) {
    const linkdown = l.kind !== 'loopback' && !l.carrier;
    for (const a of [...l.addrs6].sort(bySeq)) {
      const used = usable6(a);
      if (used) local.push({ table: RT_TABLE_LOCAL, type: 'local', dst: a.text, dev: l.name, metric: 0, proto: RTPROT_KERNEL, linkdown: false, key: a.bytes, len: 128, seq: a.seq });
      if (a.scope === RT_SCOPE_HOST) continue;
      const key = prefixOf(a.bytes, a.prefixLen), pfx = ip6ToString(key, 0);
      if (l.up && (a.flags & IFA_F_NOPREFIXROUTE) === 0 && !a.routeGone) {
        once(main, { table: RT_TABLE_MAIN, type: 'unicast', dst: prefixText(key, a.prefixLen), dev: l.name, metric: a.metric || 256, proto: RTPROT_KERNEL, linkdown, key, len: a.prefixLen, seq: a.seq });
      }
      if (used && forwarding(l) && a.prefixLen < 127) once(local, { table: RT_TABLE_LOCAL, type: 'anycast', dst: pfx, dev: l.name, metric: 0, proto: RTPROT_KERNEL, linkdown: false, key, len: 128, seq: a.seq });
    }
    if (l.v6Ready !== 0 && l.kind !== 'loopback') local.push({ table: RT_TABLE_LOCAL, type: 'multicast', dst: 'ff00::/8', dev: l.name, metric: 256, proto: RTPROT_KERNEL, linkdown, key: FF00, len: 8, seq: l.v6Ready });
  }
  const all = [...main, ...local];
  for (const u of user) {
    const l = u.dev;
    all.push({
      table: u.table, type: 'unicast', dst: prefixText(u.key, u.len), dev: l.name, metric: u.metric, proto: u.proto,
      linkdown: l.kind !== 'loopback' && !l.carrier, key: u.key, len: u.len, seq: u.seq, user: u, ...(u.gw ? { via: ip6ToString(u.gw, 0) } : {}),
    });
  }
  const rank = (t: number) => tables.indexOf(t);
  const order = (x: Route6, y: Route6) => rank(x.table) - rank(y.table) || treeOrder(x, y) || x.metric - y.metric || x.seq - y.seq;
  return all.sort(order);
}

/** The kernel's prefix route `r` of device `l` is gone: each address that brought it brings it no more. */
export function dropPrefixRoute(l: Interface, r: Route6): void {
  for (const a of l.addrs6) {
    if (a.prefixLen === r.len && (a.metric || 256) === r.metric && cmpBytes(prefixOf(a.bytes, a.prefixLen), r.key) === 0) a.routeGone = true;
  }
}

/** How ip prints a prefix: `default` for ::/0, the address alone for a /128. */
const prefixText = (key: Uint8Array, len: number): string =>
  len === 0 ? 'default' : len === 128 ? ip6ToString(key, 0) : `${ip6ToString(key, 0)}/${len}`;

/**
 * The fib6 tree walk's order (fib6_walk_continue: a node's children, 0
 * then 1, before its own routes): by the first bit the prefixes differ in,
 * a prefix after those within it (so ::/0 last).
 */
function treeOrder(x: Route6, y: Route6): number {
  const n = Math.min(x.len, y.len);
  for (let i = 0; i < n; i++) {
    const bx = (x.key[i >> 3]! >> (7 - (i & 7))) & 1, by = (y.key[i >> 3]! >> (7 - (i & 7))) & 1;
    if (bx !== by) return bx - by;
  }
  return y.len - x.len;
}

/** How `ip -6 route` prints a route: the table when listing several (`-d`: always), without `dev` when filtered on it, without `proto`, `scope`, `via` or `metric` when selected by it. */
export interface Route6View {
  showTable: boolean;
  hideDev: boolean;
  hideProto: boolean;
  hideScope: boolean;
  hideVia: boolean;
  hideMetric: boolean;
  details: boolean;
}

/** print_route for an IPv6 route: the type unless unicast (-d: always), the protocol unless boot (-d: always), no scope but under -d (`global`), metric, linkdown, pref. */
export function formatRoute6(r: Route6, v: Route6View): string {
  let s = r.type !== 'unicast' || v.details ? `${r.type} ${r.dst} ` : `${r.dst} `;
  if (r.via !== undefined && !v.hideVia) s += `via ${r.via} `;
  if (!v.hideDev) s += `dev ${r.dev} `;
  if (v.showTable && (v.details || r.table !== RT_TABLE_MAIN)) s += `table ${tableName(r.table)} `;
  if (!v.hideProto && (r.proto !== RTPROT_BOOT || v.details)) s += `proto ${protoName(r.proto)} `;
  if (v.details && !v.hideScope) s += 'scope global ';
  if (!v.hideMetric) s += `metric ${r.metric} `;
  if (r.linkdown) s += 'linkdown ';
  return `${s}pref medium\n`;
}

export function route6Json(r: Route6, v: Route6View): Record<string, string | number | string[] | undefined> {
  return {
    type: r.type !== 'unicast' || v.details ? r.type : undefined,
    dst: r.dst,
    gateway: v.hideVia ? undefined : r.via,
    dev: v.hideDev ? undefined : r.dev,
    table: v.showTable && (v.details || r.table !== RT_TABLE_MAIN) ? tableName(r.table) : undefined,
    protocol: v.hideProto || (r.proto === RTPROT_BOOT && !v.details) ? undefined : protoName(r.proto),
    scope: v.details && !v.hideScope ? 'global' : undefined,
    metric: v.hideMetric ? undefined : r.metric,
    flags: r.linkdown ? ['linkdown'] : [],
    pref: 'medium',
  };
}
