// Learned path MTUs: the nexthop exceptions (fib_nh_exception) that
// __ip_rt_update_pmtu keeps per destination on the nexthop of the route
// output routing found, from an ICMP fragmentation needed that reached a
// socket (ping's raw socket: raw_err -> ipv4_sk_update_pmtu) or that quotes
// the stack's own echo reply (icmp_err -> ipv4_update_pmtu). Output routes
// to that destination then carry its MTU (ipv4_mtu: rt_pmtu before the
// route's mtu metric and the device's), until it expires (net.ipv4.route.
// mtu_expires, 600 s). A forwarded packet's route binds it as an output
// lookup does (__mkroute_input). Forwarding reads one (ip_dst_mtu_maybe_forward) only
// with net.ipv4.ip_forward_use_pmtu, or where it is locked: such a decision
// is not kept in the forwarding cache (its expiry counts), and a change to an
// exception drops the cached decisions to its destination then; with the
// sysctl 0 and nothing locked the cache's hits read nothing more. `ip route flush cache`
// (rt_cache_flush) moves the generation on: an exception of an older one is
// neither used nor listed until an output lookup to its destination binds it
// again, emptied (rt_bind_exception): no MTU and no expiry, listed by `ip
// route show cache` until its route goes.
import type { Ip4 } from './addr.js';
import type { Route } from './fib.js';
import type { Netns } from './netns.js';
import { routeOutput, type OutputFlow } from './route-output.js';
import { readU32 } from '../wire/addr.js';
import { IPPROTO_ICMP } from '../wire/ipv4.js';
import { ICMP_ECHOREPLY } from '../wire/icmp.js';

/** net.ipv4.route.min_pmtu and mtu_expires (ms): the kernel's defaults. */
export const MIN_PMTU = 552;
export const MTU_EXPIRES = 600_000;

export interface PmtuException {
  /** 0: emptied by a flush (see above). */
  mtu: number;
  /** Set for an MTU below MIN_PMTU (raised to it): `mtu lock`, and no further update. */
  locked: boolean;
  /** When it expires, on the namespace's clock (ms); 0: never (an emptied one). */
  expires: number;
  /** Of a generation before the last `ip route flush cache`. */
  stale: boolean;
  /** An output route holds it (rt_bind_exception): only then does `ip route show cache` list it (fnhe_dump_bucket). */
  bound: boolean;
}

/** The live exception for `dst` on `r`'s nexthop that holds a path MTU. */
export function pmtuException(ns: Netns, r: Route, dst: Ip4): PmtuException | undefined {
  const x = ns.pmtu.get(r)?.get(dst >>> 0);
  return x !== undefined && x.mtu !== 0 && !x.stale && ns.clock() < x.expires ? x : undefined;
}

/**
 * A forwarded packet's input route to `dst` through `r` (__mkroute_input
 * binds the exception as an output lookup does), and ip_dst_mtu_maybe_forward's
 * learned path MTU, if it reads one.
 */
export function forwardPmtu(ns: Netns, r: Route, dst: Ip4): PmtuException | undefined {
  const x = bindPmtu(ns, r, dst);
  return x !== undefined && (x.locked || ns.sys.ip_forward_use_pmtu) ? x : undefined;
}

/** A lookup to `dst` through `r`, output or input (find_exception, rt_bind_exception): a stale exception is emptied; the live one's path MTU. */
export function bindPmtu(ns: Netns, r: Route, dst: Ip4): PmtuException | undefined {
  const x = ns.pmtu.get(r)?.get(dst >>> 0);
  if (x === undefined) return undefined;
  if (x.stale) Object.assign(x, { mtu: 0, locked: false, expires: 0, stale: false });
  x.bound = true;
  return pmtuException(ns, r, dst);
}

/** rt_cache_flush: every exception's generation is past; the forwarding decisions to them go, so the next forwarded packet binds it again. */
export function flushPmtu(ns: Netns): void {
  for (const m of ns.pmtu.values())
    for (const [dst, x] of m) {
      x.stale = true;
      ns.pmtuChanged(dst);
    }
}

/**
 * __ip_rt_update_pmtu for the flow of the datagram an ICMP fragmentation
 * needed quoted (its destination and source, the socket's device and TOS):
 * a smaller MTU than the route's is kept; below MIN_PMTU, MIN_PMTU locked.
 * `connected`: the socket holds a route (ipv4_sk_update_pmtu routes it
 * again at once, binding a new exception); ping's unconnected raw socket
 * leaves a new one unbound until its next send.
 */
export function updatePmtu(ns: Netns, flow: OutputFlow, mtu: number, connected = false): void {
  const rt = routeOutput(ns, flow);
  if (rt.kind !== 'unicast' || rt.route === undefined) return;
  const r = rt.route, dst = flow.dst >>> 0, now = ns.clock();
  const old = pmtuException(ns, r, dst);
  if (r.mtuLock || old?.locked) return; // ip_mtu_locked
  if (rt.mtu < mtu) return;
  let locked = false;
  if (mtu < MIN_PMTU) {
    locked = true;
    mtu = Math.min(rt.mtu, MIN_PMTU);
  }
  // The same MTU again within the first half of its life: nothing changes.
  if (old !== undefined && old.mtu === mtu && !locked && now < old.expires - MTU_EXPIRES / 2) return;
  let m = ns.pmtu.get(r);
  if (m === undefined) ns.pmtu.set(r, (m = new Map()));
  // update_or_create_fnhe: an exception there keeps the routes bound to it; a new one makes the nexthop's
  // cached routes obsolete, so the next forwarded packet binds it.
  const wasBound = m.get(dst)?.bound ?? false;
  m.set(dst, { mtu, locked, expires: now + MTU_EXPIRES, stale: false, bound: connected || wasBound });
  if (ns.sys.ip_forward_use_pmtu || locked || !wasBound) ns.pmtuChanged(dst);
}

/**
 * icmp_unreach -> icmp_socket_deliver's protocol handlers for a fragmentation
 * needed about a datagram this namespace sent (`q3`: the quoted header in
 * `buf`, `len` bytes there): only icmp_err about an echo reply (the stack's
 * own, no socket) calls ipv4_update_pmtu, routed with the quoted TOS, no
 * device, the error's mark under fwmark_reflect (IP4_REPLY_MARK); UDP and
 * TCP (udp_err, tcp_v4_err) and ICMP's ping_err learn only through a socket
 * of theirs (ping's and traceroute's raw and UDP sockets learn in namespace.ts).
 */
export function unreachPmtu(ns: Netns, buf: Uint8Array, q3: number, len: number, mtu: number, mark: number): void {
  const ihl = (buf[q3]! & 15) << 2;
  if (ihl < 20 || len < ihl + 8 || buf[q3 + 9] !== IPPROTO_ICMP || buf[q3 + ihl] !== ICMP_ECHOREPLY) return;
  updatePmtu(ns, { dst: readU32(buf, q3 + 16), src: readU32(buf, q3 + 12), oif: 0, tos: buf[q3 + 1]!, proto: IPPROTO_ICMP, mark }, mtu);
}

/**
 * nh_update_mtu: device `ifindex`'s MTU went from `orig` to `mtu`; its
 * routes' exceptions follow a smaller MTU, and a larger one where they
 * held the old (a locked one only a smaller or equal MTU, which unlocks it).
 */
export function pmtuDeviceMtu(ns: Netns, ifindex: number, mtu: number, orig: number): void {
  for (const [r, m] of ns.pmtu) {
    if (r.dev !== ifindex) continue;
    for (const x of m.values()) {
      if (x.locked) {
        if (mtu <= x.mtu) {
          x.mtu = mtu;
          x.locked = false;
        }
      } else if (mtu < x.mtu || orig === x.mtu) x.mtu = mtu;
    }
  }
}
