// Which local address to use, and what kind an address is, as
// net/ipv4/devinet.c (inet_select_addr, inet_confirm_addr,
// inet_addr_onlink, __ip_dev_find) and fib_frontend.c
// (inet_addr_type_dev_table) decide it.

import { type Ip4, inPrefix, isLbcast, isMulticast, isZeronet } from './addr.js';
import { type Route } from './fib.js';
import { type Interface, type IfAddr } from './interfaces.js';
import { type RouteType, RT_SCOPE_HOST, RT_SCOPE_LINK, RT_TABLE_LOCAL } from './names.js';
import { type FibTables } from './fib.js';
import { type ConfPair, inDev } from './sysctl.js';

/** What these functions need from a namespace. */
export interface AddrView {
  /** Interfaces in ifindex order (the loopback, ifindex 1, first). */
  links(): readonly Interface[];
  linkByIndex(ifindex: number): Interface | undefined;
  confOf(iface: Interface): ConfPair;
  readonly fib: FibTables;
}

const ifaMatch = (a: IfAddr, addr: Ip4) => inPrefix(addr, a.local, a.prefixLen);

function localnetScope(view: AddrView, iface: Interface): number {
  return inDev.routeLocalnet(view.confOf(iface)) ? RT_SCOPE_LINK : RT_SCOPE_HOST;
}

/** in_dev_select_addr: the first primary address of usable scope. */
function devSelectAddr(view: AddrView, iface: Interface, scope: number): Ip4 {
  const ls = localnetScope(view, iface);
  for (const a of iface.addrs) {
    if (a.secondary) continue;
    if (Math.min(a.scope, ls) > scope) continue;
    return a.local;
  }
  return 0;
}

/**
 * inet_select_addr: a primary address of `iface` no narrower than `scope`,
 * preferring one whose subnet holds `dst`; failing that, the first
 * suitable address of any interface in ifindex order. 0 when none.
 */
export function selectAddr(view: AddrView, iface: Interface | undefined, dst: Ip4, scope: number): Ip4 {
  let addr = 0;
  if (iface) {
    const ls = localnetScope(view, iface);
    for (const a of iface.addrs) {
      if (a.secondary) continue;
      if (Math.min(a.scope, ls) > scope) continue;
      if (!dst || ifaMatch(a, dst)) return a.local;
      if (!addr) addr = a.local;
    }
    if (addr) return addr;
  }
  for (const l of view.links()) {
    addr = devSelectAddr(view, l, scope);
    if (addr) return addr;
  }
  return 0;
}

/** confirm_addr_indev. */
function confirmAddrIndev(view: AddrView, iface: Interface, dst: Ip4, local: Ip4, scope: number): Ip4 {
  const ls = localnetScope(view, iface);
  let addr = 0;
  let same = false;
  for (const a of iface.addrs) {
    const minScope = Math.min(a.scope, ls);
    if (!addr && (local === a.local || !local) && minScope <= scope) {
      addr = a.local;
      if (same) break;
    }
    if (!same) {
      same = (!local || ifaMatch(a, local)) && (!dst || ifaMatch(a, dst));
      if (same && addr) {
        if (local || !dst) break;
        if (ifaMatch(a, addr)) break;
        if (minScope <= scope) {
          addr = a.local;
          break;
        }
        same = false;
      }
    }
  }
  return same ? addr : 0;
}

/**
 * inet_confirm_addr: is there an address (equal to `local` when given) of
 * scope <= `scope`, on the subnet of `dst` when given? Looks at `iface`
 * only, or at every interface when it is undefined.
 */
export function confirmAddr(view: AddrView, iface: Interface | undefined, dst: Ip4, local: Ip4, scope: number): Ip4 {
  if (iface) return confirmAddrIndev(view, iface, dst, local, scope);
  for (const l of view.links()) {
    const a = confirmAddrIndev(view, l, dst, local, scope);
    if (a) return a;
  }
  return 0;
}

/** inet_addr_onlink: some address of `iface` has a subnet holding `a` (and `b`, when given). */
export function addrOnlink(iface: Interface, a: Ip4, b: Ip4): boolean {
  for (const ifa of iface.addrs) {
    if (ifaMatch(ifa, a) && (!b || ifaMatch(ifa, b))) return true;
  }
  return false;
}

/**
 * __ip_dev_find: the ifindex owning `addr` as an interface address, or by
 * a `local` route of the local table (127.0.0.2 via 127.0.0.0/8); 0: none.
 */
export function localAddrDev(view: AddrView, addr: Ip4, addrsOnly = false): number {
  for (const l of view.links()) for (const a of l.addrs) if (a.local === addr) return l.index;
  if (addrsOnly) return 0;
  const r = view.fib.get(RT_TABLE_LOCAL)?.lookup({ dst: addr, tos: 0, scope: 0, oif: 0 });
  return r && r.type === 'local' ? r.dev : 0;
}

/**
 * __inet_dev_addr_type: the type of the local-table route for `addr`,
 * 'unicast' when there is none. With `ifindex` it is inet_dev_addr_type
 * (the route must use that device); without, inet_addr_type and
 * inet_addr_type_dev_table (what ARP uses: any device).
 */
export function addrType(view: AddrView, addr: Ip4, ifindex = 0, table = RT_TABLE_LOCAL): RouteType {
  if (isZeronet(addr) || isLbcast(addr)) return 'broadcast';
  if (isMulticast(addr)) return 'multicast';
  const t = view.fib.get(table);
  if (!t) return 'broadcast';
  const r = t.lookup({ dst: addr, tos: 0, scope: 0, oif: 0 });
  if (r && !isErr(r) && (!ifindex || r.dev === ifindex)) return r.type;
  return 'unicast';
}

const isErr = (r: Route) => r.type === 'blackhole' || r.type === 'unreachable' || r.type === 'prohibit' || r.type === 'throw';

/**
 * fib_result_prefsrc: the route's `src`, else inet_select_addr on the
 * nexthop device towards the gateway at the route's scope.
 */
export function routePrefsrc(view: AddrView, r: Route): Ip4 {
  if (r.prefsrc) return r.prefsrc;
  return selectAddr(view, view.linkByIndex(r.dev), r.gateway, r.scope);
}
