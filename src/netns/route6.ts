// The IPv6 routes `ip -6 route add|replace|del` make in a namespace's
// tables (net/ipv6/route.c ip6_route_add, ip6_route_del): unicast, one
// nexthop, out of a device that is up with IPv6 on. A gateway other than a
// link-local one must be on-link (ip6_route_check_nh: the route's own
// table's route to it on that device, else main's, has none itself). A
// table is made by its first route (or a rule that looks it up) and stays.
// The metric is 1024 unless given (IP6_RT_PRIO_USER), the protocol boot. A
// device going down, losing IPv6 (disable_ipv6) or going away takes its
// routes (fib6_ifdown); one losing an address or its carrier keeps them
// (`linkdown`). The kernel's own routes
// (inet6.ts) are listed with them, and may be replaced or deleted too: the
// addresses that brought one then bring it no more (a new address of the
// prefix brings it again, as addrconf_prefix_route finds none).

import { ip6Equal } from '../wire/ipv6.js';
import { inPrefix6 } from '../wire/addr.js';
import { RtnlError } from './errors.js';
import type { Interface } from './interfaces.js';
import { type Route6, dropPrefixRoute, prefixOf } from './inet6.js';
import { RT_TABLE_MAIN, RTPROT_BOOT } from './names.js';

/** A route of the user's, as routes6 lists it. */
export interface UserRoute6 {
  table: number;
  /** The prefix, host bits cleared (ip6_route_info_create). */
  key: Uint8Array;
  len: number;
  gw?: Uint8Array;
  dev: Interface;
  metric: number;
  proto: number;
  /** Its place among the routes of its prefix and metric (inet6.ts's sequence). */
  seq: number;
}

/** What `ip -6 route add|replace|del` asks for: any of gw, dev, metric (0: none given) and proto may be missing. */
export interface Route6Request {
  bytes: Uint8Array;
  len: number;
  gw?: Uint8Array;
  dev?: Interface;
  metric: number;
  proto?: number;
  /** Its table (RTA_TABLE); main when not given. */
  table?: number;
}

const IP6_RT_PRIO_USER = 1024;

/** A route of the prefix in table `table`: the same node of its fib6 tree. */
const sameNode = (r: Route6, table: number, key: Uint8Array, len: number): boolean => r.table === table && r.len === len && ip6Equal(r.key, 0, key, 0);

/** The table a request is for: RTA_TABLE, 0 and none being main (fib6_new_table). */
export const table6 = (q: Route6Request): number => q.table || RT_TABLE_MAIN;

/** ipv6_addr_type's LINKLOCAL|UNICAST: fe80::/10. */
const linkLocal = (b: Uint8Array): boolean => b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;

/** ipv6_chk_addr_and_flags: an address of the namespace's (only `dev`'s when given, for a link-local). */
const isLocal = (links: readonly Interface[], a: Uint8Array, dev?: Interface): boolean =>
  links.some((l) => (!dev || l === dev) && l.addrs6.some((x) => ip6Equal(x.bytes, 0, a, 0)));

/** The longest route of `table` to `gw` (out of `dev` when given). */
function gwRoute(all: readonly Route6[], table: number, gw: Uint8Array, dev: Interface | undefined): Route6 | undefined {
  let best: Route6 | undefined;
  for (const r of all) if (r.table === table && (!dev || r.dev === dev.name) && inPrefix6(gw, r.key, r.len) && (!best || r.len > best.len)) best = r;
  return best;
}

/**
 * fib6_nh_init with ip6_validate_gw: the device the route goes out of (the
 * one given, or for an on-link gateway the one its route is on), or the
 * kernel's refusal with its extack. `all`: the routes of every table.
 */
function nexthopDev(q: Route6Request, links: readonly Interface[], all: readonly Route6[]): Interface {
  let dev = q.dev;
  // fib6_nh_init: a device given must have an inet6_dev (none below an MTU of 1280).
  if (dev && dev.idev6 === 0) throw new RtnlError('ENODEV');
  const gw = q.gw;
  if (gw) {
    const ll = linkLocal(gw);
    if (dev && isLocal(links, gw, ll ? dev : undefined)) throw new RtnlError('EINVAL', 'Gateway can not be a local address');
    if (!ll) {
      if (gw[0] === 0xff || gw.every((x) => x === 0)) throw new RtnlError('EINVAL', 'Invalid gateway address');
      // ip6_route_check_nh: the longest match on the device (any without one), which must be a route without a gateway: the route's table's, else main's.
      const own = table6(q) !== RT_TABLE_MAIN ? gwRoute(all, table6(q), gw, dev) : undefined;
      const best = own && own.via === undefined ? own : gwRoute(all, RT_TABLE_MAIN, gw, dev);
      if (!best || best.via !== undefined) throw new RtnlError('EHOSTUNREACH');
      dev ??= links.find((l) => l.name === best.dev);
    }
    if (!dev) throw new RtnlError('EINVAL', 'Egress device not specified');
    if (dev.kind === 'loopback') throw new RtnlError('EINVAL', 'Egress device can not be loopback device for this route');
    if (!q.dev && isLocal(links, gw, ll ? dev : undefined)) throw new RtnlError('EINVAL', 'Gateway can not be a local address');
  }
  if (!dev) throw new RtnlError('ENODEV');
  // fib6_is_reject: a route out of lo becomes a reject route.
  if (dev.kind === 'loopback') throw new RtnlError('EINVAL', undefined, 'Error: an IPv6 route out of lo (the kernel makes it a reject route) is not emulated.', 2);
  if (dev.conf6.disable_ipv6 !== 0) throw new RtnlError('EACCES', 'IPv6 is disabled on nexthop device');
  if (!dev.up) throw new RtnlError('ENETDOWN', 'Nexthop device is not up');
  return dev;
}

/** The kernel's route `r` (main's prefix routes only) is gone. */
function dropKernelRoute(links: readonly Interface[], r: Route6): void {
  if (r.table !== RT_TABLE_MAIN) throw new RtnlError('EINVAL', undefined, 'Error: replacing or deleting the kernel\'s routes of table local is not emulated.', 2);
  const l = links.find((x) => x.name === r.dev);
  if (l) dropPrefixRoute(l, r);
}

/**
 * ip6_route_add: `all` is every table as listed (routes6). Add refuses
 * a route of the same prefix and metric (NLM_F_EXCL); replace takes the
 * first one of the same metric that has a gateway as the new one has (or
 * has not), else the first (fib6_add_rt2node), keeping its place.
 */
export function addRoute6(user: UserRoute6[], q: Route6Request, replace: boolean, links: readonly Interface[], all: readonly Route6[], seq: () => number): void {
  const dev = nexthopDev(q, links, all);
  const key = prefixOf(q.bytes, q.len), metric = q.metric || IP6_RT_PRIO_USER, table = table6(q);
  const same = all.filter((r) => sameNode(r, table, key, q.len) && r.metric === metric);
  const r: UserRoute6 = { table, key, len: q.len, dev, metric, proto: q.proto ?? RTPROT_BOOT, seq: 0, ...(q.gw ? { gw: q.gw } : {}) };
  if (same.length === 0) {
    user.push({ ...r, seq: seq() });
    return;
  }
  if (!replace) throw new RtnlError('EEXIST');
  const old = same.find((x) => (x.via !== undefined) === (q.gw !== undefined)) ?? same[0]!;
  if (old.user) user[user.indexOf(old.user)] = { ...r, seq: old.seq };
  else {
    dropKernelRoute(links, old);
    user.push({ ...r, seq: old.seq });
  }
}

/** ip6_route_del: the first route of the prefix (in the table's order) matching what was given. */
export function delRoute6(user: UserRoute6[], q: Route6Request, links: readonly Interface[], all: readonly Route6[]): void {
  const key = prefixOf(q.bytes, q.len), table = table6(q);
  const hit = all.find((r) => sameNode(r, table, key, q.len) && (!q.dev || r.dev === q.dev.name) && (!q.metric || r.metric === q.metric) &&
    (q.proto === undefined || r.proto === q.proto) && (!q.gw || (r.user?.gw !== undefined && ip6Equal(r.user.gw, 0, q.gw, 0))));
  if (!hit) throw new RtnlError('ESRCH');
  if (hit.user) user.splice(user.indexOf(hit.user), 1);
  else dropKernelRoute(links, hit);
}

/** fib6_ifdown: the device is down, has IPv6 off or is going away. */
export function ifdownRoutes6(user: UserRoute6[], l: Interface): void {
  for (let i = user.length - 1; i >= 0; i--) if (user[i]!.dev === l) user.splice(i, 1);
}
