// A namespace's IPv6 as far as the model holds it: the addresses the kernel
// gives its devices by itself (net/ipv6/addrconf.c) and the routes they
// bring. An UP device with a link (addrconf_link_ready) gets its EUI-64
// link-local fe80::/64 (addr_gen_mode eui64, the default) with the fe80::/64
// prefix route and the ff00::/8 multicast route; lo gets ::1/128 when up.
// The address stays when the carrier goes (its routes show `linkdown`) and
// goes when the device goes down or disable_ipv6 is set. With forwarding on,
// DAD's completion joins the subnet-router anycast fe80:: (an anycast route).
// The model runs no DAD (optimistic or not): an address is never tentative.

import { ip6ToString } from '../wire/tcpdump-text.js';
import { writeEui64LinkLocal } from '../wire/ipv6.js';
import { type Interface } from './interfaces.js';
import { RT_SCOPE_HOST, RT_SCOPE_LINK } from './names.js';

/** net.ipv6.conf.X: the two keys the model reads. */
export interface DevConf6 {
  disable_ipv6: number;
  forwarding: number;
}

/** DevConf6's keys, as sysctl lists them. */
export const DEV_CONF6_KEYS: readonly (keyof DevConf6)[] = ['disable_ipv6', 'forwarding'];

export interface If6Addr {
  /** The 16 bytes (what the receive path compares). */
  bytes: Uint8Array;
  text: string;
  prefixLen: number;
  scope: number;
  /** When addrconf configured it: routes of the same prefix list in this order. */
  seq: number;
}

const LOOPBACK6 = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/** The device's addresses as addrconf would now hold them; `seq` numbers a newly configured one. */
export function syncInet6(l: Interface, seq: () => number): void {
  const want = l.up && l.conf6.disable_ipv6 === 0;
  if (!want) {
    if (!l.up && l.everUp && l.conf6.disable_ipv6 === 0) l.mc6Rejoined = true;
    l.addrs6.length = 0;
    return;
  }
  if (l.addrs6.length !== 0) return;
  if (l.kind === 'loopback') {
    l.addrs6.push({ bytes: LOOPBACK6, text: '::1', prefixLen: 128, scope: RT_SCOPE_HOST, seq: seq() });
    return;
  }
  // addrconf_notify(NETDEV_UP) configures nothing until the link is ready (NETDEV_CHANGE then).
  if (!l.carrier) return;
  const bytes = new Uint8Array(16);
  writeEui64LinkLocal(bytes, 0, l.mac);
  l.addrs6.push({ bytes, text: ip6ToString(bytes, 0), prefixLen: 64, scope: RT_SCOPE_LINK, seq: seq() });
}

/** A route of the IPv6 FIB as `ip -6 route` prints it (all made by the kernel from the addresses). */
export interface Route6 {
  table: 'main' | 'local';
  type: 'unicast' | 'local' | 'anycast' | 'multicast';
  dst: string;
  dev: string;
  metric: number;
  linkdown: boolean;
  /** Sort key within the table: the prefix's bytes and length, then the configuration order. */
  key: Uint8Array;
  len: number;
  seq: number;
}

const FE80 = new Uint8Array([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const FF00 = new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * The namespace's IPv6 routes, main then local, each table in the order of
 * its fib6 tree walk (by prefix; same prefix: by metric, then as added).
 * A local route comes with each address (::1's on lo), the prefix and
 * multicast routes with each link-local, an anycast fe80:: per device while
 * forwarding is on.
 */
export function routes6(links: readonly Interface[], forwarding: (l: Interface) => boolean): Route6[] {
  const main: Route6[] = [], local: Route6[] = [];
  for (const l of links) {
    for (const a of l.addrs6) {
      const linkdown = l.kind !== 'loopback' && !l.carrier;
      local.push({ table: 'local', type: 'local', dst: a.text, dev: l.name, metric: 0, linkdown: false, key: a.bytes, len: 128, seq: a.seq });
      if (a.scope !== RT_SCOPE_LINK) continue;
      main.push({ table: 'main', type: 'unicast', dst: 'fe80::/64', dev: l.name, metric: 256, linkdown, key: FE80, len: 64, seq: a.seq });
      local.push({ table: 'local', type: 'multicast', dst: 'ff00::/8', dev: l.name, metric: 256, linkdown, key: FF00, len: 8, seq: a.seq });
      if (forwarding(l)) local.push({ table: 'local', type: 'anycast', dst: 'fe80::', dev: l.name, metric: 0, linkdown: false, key: FE80, len: 128, seq: a.seq });
    }
  }
  const order = (x: Route6, y: Route6) => cmpBytes(x.key, y.key) || x.len - y.len || x.metric - y.metric || x.seq - y.seq;
  return [...main.sort(order), ...local.sort(order)];
}

/** How `ip -6 route` prints a route: the table when listing several (`-d`: always), without `dev` when filtered on it, without `proto` when selected by it. */
export interface Route6View {
  showTable: boolean;
  hideDev: boolean;
  hideProto: boolean;
  details: boolean;
}

/** print_route for an IPv6 route: the type unless unicast (-d: always), no scope but under -d (`global`), metric, linkdown, pref. */
export function formatRoute6(r: Route6, v: Route6View): string {
  let s = r.type !== 'unicast' || v.details ? `${r.type} ${r.dst} ` : `${r.dst} `;
  if (!v.hideDev) s += `dev ${r.dev} `;
  if (v.details || (v.showTable && r.table !== 'main')) s += `table ${r.table} `;
  if (!v.hideProto) s += 'proto kernel ';
  if (v.details) s += 'scope global ';
  s += `metric ${r.metric} `;
  if (r.linkdown) s += 'linkdown ';
  return `${s}pref medium\n`;
}

export function route6Json(r: Route6, v: Route6View): Record<string, string | number | string[] | undefined> {
  return {
    type: r.type !== 'unicast' || v.details ? r.type : undefined,
    dst: r.dst,
    dev: v.hideDev ? undefined : r.dev,
    table: v.details || (v.showTable && r.table !== 'main') ? r.table : undefined,
    protocol: v.hideProto ? undefined : 'kernel',
    scope: v.details ? 'global' : undefined,
    metric: r.metric,
    flags: r.linkdown ? ['linkdown'] : [],
    pref: 'medium',
  };
}
