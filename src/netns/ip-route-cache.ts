// `ip route show cache`: the learned path MTUs (pmtu.ts's nexthop
// exceptions) as the kernel dumps them for RTM_F_CLONED (fnhe_dump_bucket ->
// rt_fill_info without a flow) and iproute2 prints them: the destination as
// a /32 on its route's gateway, device and table, no protocol, scope, source
// or metric (print_route skips them for a cloned route), then `cache
// expires Nsec` and the route's metrics with the exception's MTU in place
// of its own. An expired, stale or unbound exception is not listed; an
// emptied one (pmtu.ts) has neither expiry nor MTU.
import { formatIp4 } from './addr.js';
import type { Route } from './fib.js';
import { metricsJson } from './ip-json.js';
import { routeMetricsInOrder, type RouteFormatContext } from './ip-route-syntax.js';
import type { JsonObject } from './json-writer.js';
import { RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, tableName } from './names.js';
import type { Netns } from './netns.js';

/** An exception as its cloned route: a /32 to its destination, its MTU the metric; `expires`: seconds left, none for an emptied one. */
export interface CachedRoute {
  route: Route;
  expires?: number;
}

/** The live exceptions on `routes` (in their order; each route's by when they were learned). */
export function routeExceptions(ns: Netns, routes: readonly Route[]): CachedRoute[] {
  const out: CachedRoute[] = [];
  if (ns.pmtu.size === 0) return out;
  const now = ns.clock();
  for (const r of routes) {
    const m = ns.pmtu.get(r);
    if (m === undefined) continue;
    for (const [dst, x] of m) {
      if (x.stale || !x.bound || (x.expires !== 0 && now >= x.expires)) continue;
      const route: Route = { ...r, dst, dstLen: 32, tos: 0, priority: 0, protocol: 0, scope: RT_SCOPE_UNIVERSE, prefsrc: 0, onlink: false };
      if (x.mtu === 0) {
        out.push({ route });
        continue;
      }
      // RTA_CACHEINFO's rta_expires in clock_t, shown as whole seconds; the exception's MTU in place of the route's.
      out.push({ route: { ...route, mtu: x.mtu, mtuLock: x.locked }, expires: Math.floor((x.expires - now) / 1000) });
    }
  }
  return out;
}

const showsTable = (r: Route, ctx: RouteFormatContext, showTable: boolean): boolean => showTable && (r.table !== RT_TABLE_MAIN || (ctx.details ?? false));

/** One exception as `ip route show cache` prints it. */
export function formatCachedRoute(c: CachedRoute, ctx: RouteFormatContext, showTable: boolean): string {
  const r = c.route, h = ctx.hide ?? {};
  let s = `${ctx.details ? 'unicast ' : ''}${formatIp4(r.dst)} `;
  if (r.gateway && !h.via) s += `via ${formatIp4(r.gateway)} `;
  if (r.dev && !ctx.hideDev) s += `dev ${ctx.devName(r.dev)} `;
  if (showsTable(r, ctx, showTable)) s += `table ${tableName(r.table)} `;
  s += `\n    cache ${c.expires !== undefined ? `expires ${c.expires}sec ` : ''}${r.mtu ? `mtu ${r.mtuLock ? 'lock ' : ''}${r.mtu} ` : ''}`;
  for (const [name, lock, value] of routeMetricsInOrder(r)) s += `${name} ${lock ? 'lock ' : ''}${value} `;
  return s + '\n';
}

/** The same for `ip -j route show cache`. */
export function cachedRouteJson(c: CachedRoute, ctx: RouteFormatContext, showTable: boolean): JsonObject {
  const r = c.route, h = ctx.hide ?? {};
  return {
    type: ctx.details ? 'unicast' : undefined,
    dst: formatIp4(r.dst),
    gateway: r.gateway && !h.via ? formatIp4(r.gateway) : undefined,
    dev: r.dev && !ctx.hideDev ? ctx.devName(r.dev) : undefined,
    table: showsTable(r, ctx, showTable) ? tableName(r.table) : undefined,
    flags: [],
    cache: [],
    expires: c.expires,
    metrics: metricsJson(r),
  };
}
