// The routing decision for a locally generated packet
// (ip_route_output_key_hash_rcu in net/ipv4/route.c), including the choice
// of source address, and the source of ICMP errors (icmp_send in
// net/ipv4/icmp.c).

import { type Ip4, isLbcast, isLocalMulticast, isMulticast, isZeronet } from './addr.js';
import { localAddrDev, routePrefsrc, selectAddr } from './addr-select.js';
import { type Route } from './fib.js';
import { RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE } from './names.js';
import { type Netns, LOOPBACK_IFINDEX } from './netns.js';
import { type PmtuException, bindPmtu } from './pmtu.js';
import { type FibResult, type Flow } from './rules.js';

export interface OutputFlow {
  dst: Ip4;
  /** Source the socket is bound to; 0/undefined: let routing choose. */
  src?: Ip4;
  /** SO_BINDTODEVICE / IP_PKTINFO ifindex. */
  oif?: number;
  tos?: number;
  mark?: number;
  proto?: number;
  sport?: number;
  dport?: number;
  uid?: number;
  /** flowi4_scope: RT_SCOPE_LINK for a socket with SO_DONTROUTE (ip_sock_rt_scope), else universe. */
  scope?: number;
}

export type OutputErrno = 'EINVAL' | 'ENETUNREACH' | 'EHOSTUNREACH' | 'EACCES' | 'ENODEV';

export type OutputDecision =
  | {
      kind: 'unicast' | 'broadcast' | 'multicast' | 'local';
      /** The source address the packet gets. */
      src: Ip4;
      /** Output device; the loopback for local destinations. */
      oif: number;
      /** Next hop to resolve on `oif`: the gateway, or the destination itself. */
      nexthop: Ip4;
      route?: Route;
      fib?: FibResult;
      /** ipv4_mtu: a learned path MTU (`pmtu`), else the route's metric, else the device's. */
      mtu: number;
      pmtu?: PmtuException;
    }
  | { kind: 'error'; errno: OutputErrno; fib?: FibResult };

/** ip_route_output_key_hash_rcu (without multipath and VRF). */
export function routeOutput(ns: Netns, f: OutputFlow): OutputDecision {
  let src = f.src ?? 0;
  let dst = f.dst;
  let oif = f.oif ?? 0;
  const flow: Flow = {
    dst, src, tos: f.tos ?? 0, scope: f.scope ?? RT_SCOPE_UNIVERSE, oif, iif: LOOPBACK_IFINDEX, mark: f.mark ?? 0,
    proto: f.proto ?? 0, sport: f.sport ?? 0, dport: f.dport ?? 0, uid: f.uid ?? 0,
  };
  const make = (kind: 'unicast' | 'broadcast' | 'multicast' | 'local', dev: number, nexthop: Ip4, route?: Route, fib?: FibResult): OutputDecision => {
    if (isLbcast(dst)) kind = 'broadcast';
    else if (isMulticast(dst)) kind = 'multicast';
    else if (isZeronet(dst)) return { kind: 'error', errno: 'EINVAL' };
    const d = ns.linkByIndex(dev);
    const out: OutputDecision = { kind, src, oif: dev, nexthop, mtu: (route?.mtu || d?.mtu) ?? 1500 };
    if (route) {
      out.route = route;
      const x = kind === 'unicast' && ns.pmtu.size !== 0 ? bindPmtu(ns, route, dst) : undefined;
      if (x !== undefined) {
        out.mtu = x.mtu;
        out.pmtu = x;
      }
    }
    if (fib) out.fib = fib;
    return out;
  };
  if (src) {
    if (isMulticast(src) || isLbcast(src) || isZeronet(src)) return { kind: 'error', errno: 'EINVAL' };
    if (!oif && (isMulticast(dst) || isLbcast(dst))) {
      const dev = localAddrDev(ns, src);
      if (!dev) return { kind: 'error', errno: 'ENETUNREACH' };
      return make('broadcast', dev, dst);
    }
    if (!ns.sys.ip_nonlocal_bind && !localAddrDev(ns, src)) return { kind: 'error', errno: 'ENETUNREACH' };
  }
  if (oif) {
    const dev = ns.linkByIndex(oif);
    if (!dev) return { kind: 'error', errno: 'ENODEV' };
    if (!dev.up) return { kind: 'error', errno: 'ENETUNREACH' };
    if (isLocalMulticast(dst) || isLbcast(dst)) {
      if (!src) src = selectAddr(ns, dev, 0, RT_SCOPE_LINK);
      return make('broadcast', oif, dst);
    }
    if (!src) {
      if (isMulticast(dst)) src = selectAddr(ns, dev, 0, RT_SCOPE_UNIVERSE);
      else if (!dst) src = selectAddr(ns, dev, 0, RT_SCOPE_HOST);
    }
  }
  if (!dst) {
    dst = src || 0x7f000001;
    if (!src) src = dst;
    return make('local', LOOPBACK_IFINDEX, dst);
  }
  const fib = ns.lookup(flow);
  if (fib.error || !fib.route) {
    if (oif) {
      // "Apparently, routing tables are wrong. Assume, that the destination is on link."
      if (!src) src = selectAddr(ns, ns.linkByIndex(oif), 0, RT_SCOPE_LINK);
      return make('unicast', oif, dst, undefined, fib);
    }
    return { kind: 'error', errno: fib.error ?? 'ENETUNREACH', fib };
  }
  const r = fib.route;
  if (r.type === 'local') {
    if (!src) src = r.prefsrc || dst;
    return make('local', LOOPBACK_IFINDEX, dst, r, fib);
  }
  if (!src) src = routePrefsrc(ns, r);
  return make(r.type === 'broadcast' ? 'broadcast' : 'unicast', r.dev, r.gateway || dst, r, fib);
}

/** What icmp_send needs to know about the packet that caused the error. */
export interface Offending {
  src: Ip4;
  dst: Ip4;
  tos: number;
  /** ifindex it came in on; 0 when it was generated locally. */
  iif: number;
  /** It was addressed to this host (its input route was RTCF_LOCAL). */
  local: boolean;
  mark?: number;
}

/**
 * icmp_send's source and route for an ICMP error about `p`: the offending
 * packet's destination when it was for us; else, with
 * icmp_errors_use_inbound_ifaddr, an address of the interface it came in
 * on; else (the default) whatever the route back to its source prefers.
 */
export function icmpErrorRoute(ns: Netns, p: Offending): OutputDecision {
  let saddr = p.dst;
  if (!p.local) {
    saddr = 0;
    if (p.iif && ns.sys.icmp_errors_use_inbound_ifaddr) {
      saddr = selectAddr(ns, ns.linkByIndex(p.iif), p.src, RT_SCOPE_LINK);
    }
  }
  // icmp_send: errors carry IPTOS_PREC_INTERNETCONTROL with the original TOS bits.
  const tos = (p.tos & 0x1e) | 0xc0;
  const flow: OutputFlow = { dst: p.src, src: saddr, tos, proto: 1 };
  if (ns.sys.fwmark_reflect && p.mark) flow.mark = p.mark;
  return routeOutput(ns, flow);
}
