// The routing decision for a received packet: ip_route_input_slow with
// fib_validate_source and __mkroute_input (net/ipv4/route.c,
// fib_frontend.c). The result says whether to deliver locally, forward
// (and to which nexthop and device), answer with an ICMP error (ip_error's
// mapping of the lookup error), or drop as a martian.

import { type Ip4, isLbcast, isLoopback, isMulticast, isZeronet } from './addr.js';
import { addrOnlink, localAddrDev } from './addr-select.js';
import { type Route } from './fib.js';
import { RT_SCOPE_HOST } from './names.js';
import { type Netns, LOOPBACK_IFINDEX } from './netns.js';
import { type FibResult, type Flow, type LookupErrno, newFibResult } from './rules.js';
import { inDev, type ConfPair } from './sysctl.js';

export interface InputPacket {
  src: Ip4;
  dst: Ip4;
  /** ifindex the packet arrived on. */
  iif: number;
  /** The IPv4 TOS byte. */
  tos: number;
  /** skb->mark (set by iptables MARK in PREROUTING). */
  mark?: number;
  /** L4 protocol and ports, for rules with ipproto/sport/dport. */
  proto?: number;
  sport?: number;
  dport?: number;
}

/** Drop reasons, named after the kernel's SKB_DROP_REASON_* where one exists. */
export type InputDropReason =
  | 'mc_not_joined'
  | 'martian_source'
  | 'martian_destination'
  | 'ip_invalid_source'
  | 'ip_rpfilter'
  | 'no_in_dev';

export type InputDecision =
  /** Deliver to this host (RTN_LOCAL). */
  | { kind: 'local'; fib: FibResult }
  /**
   * Deliver as a broadcast (limited or subnet broadcast), or, with
   * `multicast`, a datagram for a group the interface has joined (there is
   * no multicast forwarding here).
   */
  | { kind: 'broadcast'; fib?: FibResult; multicast?: true }
  /** Forward out of `oif` towards `nexthop` (the gateway, or the destination on a link route). */
  | {
      kind: 'forward';
      fib: FibResult;
      route: Route;
      oif: number;
      nexthop: Ip4;
      /** ip_dst_mtu_maybe_forward: the route's mtu metric, else the device MTU. */
      mtu: number;
      /** IPSKB_DOREDIRECT: the kernel would also send an ICMP redirect (rate limits aside). */
      redirect: boolean;
    }
  /**
   * No usable route (ip_error). `icmpCode` is the ICMP destination
   * unreachable code to answer with (0 net, 1 host, 13 administratively
   * prohibited); absent means drop silently (blackhole, or forwarding off).
   */
  | { kind: 'unreachable'; errno: LookupErrno; icmpCode?: 0 | 1 | 13; fib?: FibResult }
  | { kind: 'drop'; reason: InputDropReason };

type Forward = Extract<InputDecision, { kind: 'forward' }>;

const newFlow = (): Flow => ({ dst: 0, src: 0, tos: 0, scope: 0, oif: 0, iif: 0, mark: 0, proto: 0, sport: 0, dport: 0, uid: 0 });

/**
 * Objects one namespace's forwarding path reuses for every packet, so a
 * forwarded packet allocates nothing: the input packet, the lookup flows and
 * results, the sysctl pairs and the forward decision. What routeInput
 * returns with a scratch is valid until the next call with the same scratch.
 */
export class RouteScratch {
  readonly pkt: Required<InputPacket> = { src: 0, dst: 0, iif: 0, tos: 0, mark: 0, proto: 0, sport: 0, dport: 0 };
  readonly flow = newFlow();
  readonly vflow = newFlow();
  readonly fib = newFibResult();
  readonly vfib = newFibResult();
  readonly conf: ConfPair = { all: undefined!, dev: undefined! };
  readonly vconf: ConfPair = { all: undefined!, dev: undefined! };
  readonly fwd: Forward = { kind: 'forward', fib: this.fib, route: undefined!, oif: 0, nexthop: 0, mtu: 0, redirect: false };
}

function confInto(ns: Netns, dev: number, into: ConfPair | undefined): ConfPair {
  const iface = ns.linkByIndex(dev)!;
  return into === undefined ? ns.confOf(iface) : ns.confInto(iface, into);
}

/**
 * fib_validate_source: the reverse-path check. Returns < 0 for a martian
 * (-1, EINVAL) or an rp_filter failure (-2, EXDEV); otherwise 1 when the
 * source is directly connected through `dev`, else 0.
 */
export function validateSource(ns: Netns, pkt: InputPacket, dev: number, oif: number, s?: RouteScratch): number {
  const iface = ns.linkByIndex(dev)!;
  const conf = confInto(ns, dev, s?.vconf);
  const rpf = inDev.rpFilter(conf);
  if (!rpf && (dev !== oif || !inDev.txRedirects(conf))) {
    if (inDev.acceptLocal(conf)) return 0;
    if (!ns.customLocalRoutes && !ns.customRules) return localAddrDev(ns, pkt.src, true) ? -1 : 0;
  }
  // __fib_validate_source: route the reply (dst<->src) with iif = the forward oif.
  const flow = s ? s.vflow : newFlow();
  flow.dst = pkt.src;
  flow.src = pkt.dst;
  flow.tos = pkt.tos;
  flow.scope = flow.oif = flow.proto = flow.sport = flow.dport = flow.uid = 0;
  flow.iif = oif || LOOPBACK_IFINDEX;
  flow.mark = inDev.srcVmark(conf) ? pkt.mark ?? 0 : 0;
  const noAddr = iface.addrs.length === 0;
  let res = ns.lookup(flow, s?.vfib);
  if (res.error || !res.route) return rpf ? -2 : 0;
  const r = res.route;
  if (r.type !== 'unicast' && (r.type !== 'local' || !inDev.acceptLocal(conf))) return -1;
  if (r.dev === dev || (r.type === 'local' && dev === LOOPBACK_IFINDEX)) return r.nhScope >= RT_SCOPE_HOST ? 1 : 0;
  if (noAddr) return rpf ? -2 : 0;
  if (rpf === 1) return -2;
  flow.oif = dev;
  res = ns.lookup(flow, s?.vfib);
  if (!res.error && res.route && res.route.type === 'unicast') return res.route.nhScope >= RT_SCOPE_HOST ? 1 : 0;
  return 0;
}

const ICMP_CODE: Partial<Record<LookupErrno, 0 | 1 | 13>> = { ENETUNREACH: 0, EHOSTUNREACH: 1, EACCES: 13 };

/**
 * ip_route_input_slow for a packet that arrived on `pkt.iif`. With `s`, the
 * common results (forward, and the FibResult in any decision) are s's reused
 * objects: read them before the next call.
 */
export function routeInput(ns: Netns, pkt: InputPacket, s?: RouteScratch): InputDecision {
  const iface = ns.linkByIndex(pkt.iif);
  if (!iface) return { kind: 'drop', reason: 'no_in_dev' };
  const conf = confInto(ns, pkt.iif, s?.conf);
  const { src, dst } = pkt;
  if (isMulticast(dst)) {
    // ip_route_input_rcu: multicast goes to ip_route_input_mc when the device joined the group.
    if (dst !== 0xe0000001 && !iface.mcGroups?.has(dst)) return { kind: 'drop', reason: 'mc_not_joined' };
    if (isMulticast(src) || isLbcast(src) || (isZeronet(src) && dst !== 0xe0000001)) {
      return { kind: 'drop', reason: 'martian_source' };
    }
    return { kind: 'broadcast', multicast: true };
  }
  if (isMulticast(src) || isLbcast(src)) return { kind: 'drop', reason: 'martian_source' };
  if (isLbcast(dst) || (src === 0 && dst === 0)) return brdInput(ns, pkt, undefined);
  if (isZeronet(src)) return { kind: 'drop', reason: 'martian_source' };
  if (isZeronet(dst)) return { kind: 'drop', reason: 'martian_destination' };
  if (isLoopback(dst)) {
    if (!inDev.routeLocalnet(conf)) return { kind: 'drop', reason: 'martian_destination' };
  } else if (isLoopback(src)) {
    if (!inDev.routeLocalnet(conf)) return { kind: 'drop', reason: 'martian_source' };
  }
  const flow = s ? s.flow : newFlow();
  flow.dst = dst;
  flow.src = src;
  flow.tos = pkt.tos;
  flow.scope = flow.oif = flow.uid = 0;
  flow.iif = pkt.iif;
  flow.mark = pkt.mark ?? 0;
  flow.proto = pkt.proto ?? 0;
  flow.sport = pkt.sport ?? 0;
  flow.dport = pkt.dport ?? 0;
  const fib = ns.lookup(flow, s?.fib);
  const forwarding = inDev.forward(conf);
  if (fib.error || !fib.route) {
    // no_route -> ip_error: with forwarding off every failure is a silent EHOSTUNREACH.
    const errno: LookupErrno = forwarding ? (fib.error ?? 'ENETUNREACH') : 'EHOSTUNREACH';
    const code = forwarding ? ICMP_CODE[errno] : undefined;
    return code === undefined ? { kind: 'unreachable', errno, fib } : { kind: 'unreachable', errno, icmpCode: code, fib };
  }
  const r = fib.route;
  if (r.type === 'broadcast') {
    // bc_forwarding would route it; otherwise it is for us.
    return brdInput(ns, pkt, fib);
  }
  if (r.type === 'local') {
    if (validateSource(ns, pkt, pkt.iif, 0, s) < 0) return { kind: 'drop', reason: 'martian_source' };
    return { kind: 'local', fib };
  }
  if (!forwarding) return { kind: 'unreachable', errno: 'EHOSTUNREACH', fib };
  if (r.type !== 'unicast') return { kind: 'drop', reason: 'martian_destination' };
  // __mkroute_input
  const v = validateSource(ns, pkt, pkt.iif, r.dev, s);
  if (v < 0) return { kind: 'drop', reason: v === -2 ? 'ip_rpfilter' : 'ip_invalid_source' };
  const out = ns.linkByIndex(r.dev)!;
  const redirect =
    out === iface && v > 0 && inDev.txRedirects(conf) && (inDev.sharedMedia(conf) || addrOnlink(out, src, r.gateway));
  const mtu = Math.min(r.mtu || out.mtu, 0xffff);
  if (s === undefined) return { kind: 'forward', fib, route: r, oif: r.dev, nexthop: r.gateway || dst, mtu, redirect };
  const f = s.fwd;
  f.fib = fib;
  f.route = r;
  f.oif = r.dev;
  f.nexthop = r.gateway || dst;
  f.mtu = mtu;
  f.redirect = redirect;
  return f;
}

function brdInput(ns: Netns, pkt: InputPacket, fib: FibResult | undefined): InputDecision {
  if (pkt.src !== 0 && validateSource(ns, { ...pkt, dst: 0 }, pkt.iif, 0) < 0) {
    return { kind: 'drop', reason: 'martian_source' };
  }
  return fib ? { kind: 'broadcast', fib } : { kind: 'broadcast' };
}
