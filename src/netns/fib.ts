// Route tables (net/ipv4/fib_trie.c semantics without the trie): per table,
// one Map per prefix length from network address to its aliases. A lookup
// walks the present lengths from longest to shortest, so it costs at most
// one Map.get per distinct length and allocates nothing. Within a prefix
// the aliases keep the kernel's order (TOS descending, metric ascending,
// then insertion, as fib_find_alias/fib_insert_alias place them), and the
// first alias that passes the kernel's checks wins.

import { type Ip4, prefixMask } from './addr.js';
import { RtnlError } from './errors.js';
import { type RouteType, RT_TABLE_LOCAL, RT_TABLE_MAIN } from './names.js';

export type RouteMetric = readonly [name: string, locked: boolean, value: string];

export interface Route {
  table: number;
  type: RouteType;
  /** Network address, host bits clear. */
  dst: Ip4;
  dstLen: number;
  tos: number;
  /** The metric (RTA_PRIORITY). */
  priority: number;
  protocol: number;
  scope: number;
  /** 0: no gateway (a link route). */
  gateway: Ip4;
  /** Output ifindex; 0 for routes without a device (blackhole...). */
  dev: number;
  /** Preferred source; 0: none. */
  prefsrc: Ip4;
  onlink: boolean;
  /** Route MTU metric; 0: none (the device MTU applies). */
  mtu: number;
  mtuLock: boolean;
  /** Other RTAX metrics as given (name, locked, value text), printed back verbatim. */
  metrics: readonly RouteMetric[];
  /** fib_nh_scope: HOST for a link route, the gateway route's scope for a gateway, NOWHERE for host-scope routes. */
  nhScope: number;
  /** Made by the kernel for an interface address (fib_magic), not by a user. */
  auto: boolean;
}

/** NLM flag combinations of `ip route add|replace|change|append|prepend` and the kernel's own inserts. */
export type InsertMode = 'add' | 'replace' | 'change' | 'append' | 'prepend' | 'kernel';

const CREATE = 1, EXCL = 2, REPLACE = 4, APPEND = 8;
const MODE_FLAGS: Record<InsertMode, number> = {
  add: CREATE | EXCL,
  replace: CREATE | REPLACE,
  change: REPLACE,
  append: CREATE | APPEND,
  prepend: CREATE,
  kernel: CREATE | APPEND,
};

/** The parts of a flow a table lookup reads (struct flowi4). */
export interface TableFlow {
  dst: Ip4;
  /** The IPv4 TOS byte; only the bits of IPTOS_RT_MASK are compared. */
  tos: number;
  /** flowi4_scope: routes of narrower scope value are skipped. */
  scope: number;
  /** flowi4_oif: when set, only nexthops on that device match. */
  oif: number;
}

export const IPTOS_RT_MASK = 0x1c;

/** Types whose lookup ends in an error (fib_props[].error != 0). */
export function isErrorType(t: RouteType): boolean {
  return t === 'blackhole' || t === 'unreachable' || t === 'prohibit' || t === 'throw' || t === 'nat';
}

/** Same type and same fib_info: the kernel's "perfect match". */
function sameRoute(a: Route, b: Route): boolean {
  return (
    a.type === b.type && a.protocol === b.protocol && a.scope === b.scope && a.prefsrc === b.prefsrc &&
    a.priority === b.priority && a.dev === b.dev && a.gateway === b.gateway && a.onlink === b.onlink &&
    a.mtu === b.mtu && a.mtuLock === b.mtuLock && a.metrics.join() === b.metrics.join()
  );
}

/** A route delete request: unset fields match anything (fib_table_delete). */
export interface RouteMatch {
  dst: Ip4;
  dstLen: number;
  tos?: number;
  type?: RouteType;
  scope?: number;
  prefsrc?: Ip4;
  protocol?: number;
  priority?: number;
  dev?: number;
  gateway?: Ip4;
}

export class FibTable {
  /**
   * Prefixes by length, keyed by the masked address as an int32: a uint32 key
   * above 2^31 is a heap number, allocated on every lookup.
   */
  private readonly byLen: (Map<number, Route[]> | undefined)[] = new Array(33);
  /** Prefix lengths holding routes, longest first. */
  private lens: number[] = [];
  private count = 0;
  /**
   * fib_new_table has run for it in the kernel (Netns.tableMade; any insert):
   * dpemu makes main and local at once, the kernel on first use, and route
   * and netstat -r tell a namespace whose main table was never made.
   */
  created = false;

  /** `owner` hears of every change (its `watch`: a forwarding cache invalidates by prefix). */
  constructor(
    readonly id: number,
    private readonly owner?: FibTables,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Insert with the semantics of fib_table_insert for the given NLM flags. */
  insert(r: Route, mode: InsertMode): void {
    this.created = true;
    if (r.dstLen < 32 && (r.dst & ~prefixMask(r.dstLen)) !== 0) {
      throw new RtnlError('EINVAL', 'Invalid prefix for given prefix length');
    }
    const flags = MODE_FLAGS[mode];
    let map = this.byLen[r.dstLen];
    const list = map?.get(r.dst | 0) ?? [];
    // fib_find_alias: first alias with lower TOS, or same TOS and metric >= ours.
    let g = list.findIndex((a) => a.tos < r.tos || (a.tos === r.tos && a.priority >= r.priority));
    if (g < 0) g = list.length;
    const first = list[g];
    if (first && first.tos === r.tos && first.priority === r.priority) {
      if (flags & EXCL) throw new RtnlError('EEXIST');
      let end = g;
      let match = -1;
      while (end < list.length && list[end]!.tos === r.tos && list[end]!.priority === r.priority) {
        if (match < 0 && sameRoute(list[end]!, r)) match = end;
        end++;
      }
      if (flags & REPLACE) {
        if (match >= 0) {
          if (match === g) return;
          throw new RtnlError('EEXIST');
        }
        list[g] = r;
        this.owner?.changed(r.dst, r.dstLen);
        return;
      }
      if (match >= 0) throw new RtnlError('EEXIST');
      if (flags & APPEND) g = end;
    }
    if (!(flags & CREATE)) throw new RtnlError('ENOENT');
    list.splice(g, 0, r);
    if (!map) {
      map = new Map();
      this.byLen[r.dstLen] = map;
      this.lens = [];
      for (let l = 32; l >= 0; l--) if (this.byLen[l]) this.lens.push(l);
    }
    if (list.length === 1) map.set(r.dst | 0, list);
    this.count++;
    this.owner?.changed(r.dst, r.dstLen);
  }

  /** fib_table_delete: remove the first alias matching `m`; ESRCH when none does. */
  delete(m: RouteMatch): Route {
    if (m.dstLen < 32 && (m.dst & ~prefixMask(m.dstLen)) !== 0) {
      throw new RtnlError('EINVAL', 'Invalid prefix for given prefix length');
    }
    const list = this.byLen[m.dstLen]?.get(m.dst | 0);
    const tos = m.tos ?? 0;
    const i = list
      ? list.findIndex(
          (a) =>
            a.tos === tos &&
            (m.type === undefined || a.type === m.type) &&
            (m.scope === undefined || a.scope === m.scope) &&
            (!m.prefsrc || a.prefsrc === m.prefsrc) &&
            (!m.protocol || a.protocol === m.protocol) &&
            (!m.priority || a.priority === m.priority) &&
            (!m.dev || a.dev === m.dev) &&
            (!m.gateway || a.gateway === m.gateway),
        )
      : -1;
    if (!list || i < 0) throw new RtnlError('ESRCH');
    return this.removeAt(list, i);
  }

  /** Remove every route for which `pred` holds; returns how many. */
  removeWhere(pred: (r: Route) => boolean): number {
    let n = 0;
    for (const l of [...this.lens]) {
      for (const list of [...this.byLen[l]!.values()]) {
        for (let i = list.length - 1; i >= 0; i--) {
          if (pred(list[i]!)) {
            this.removeAt(list, i);
            n++;
          }
        }
      }
    }
    return n;
  }

  private removeAt(list: Route[], i: number): Route {
    const [r] = list.splice(i, 1);
    const route = r!;
    this.count--;
    if (list.length === 0) {
      const map = this.byLen[route.dstLen]!;
      map.delete(route.dst | 0);
      if (map.size === 0) {
        this.byLen[route.dstLen] = undefined;
        this.lens = this.lens.filter((l) => l !== route.dstLen);
      }
    }
    this.owner?.changed(route.dst, route.dstLen);
    return route;
  }

  /**
   * fib_table_lookup: the longest prefix holding an alias that passes the
   * TOS, scope and nexthop checks. Error routes (blackhole, unreachable,
   * prohibit, throw) are returned as found; the caller maps their type.
   * `nhUsable` says whether a device still carries routes (not dead).
   */
  lookup(flow: TableFlow, nhUsable?: (dev: number) => boolean): Route | undefined {
    const dst = flow.dst;
    const ftos = flow.tos & IPTOS_RT_MASK;
    const lens = this.lens;
    for (let k = 0; k < lens.length; k++) {
      const len = lens[k]!;
      const list = this.byLen[len]!.get(len === 0 ? 0 : dst & (0xffff_ffff << (32 - len)));
      if (list === undefined) continue;
      for (let i = 0; i < list.length; i++) {
        const r = list[i]!;
        if (r.tos !== 0 && r.tos !== ftos) continue;
        if (r.scope < flow.scope) continue;
        // fib_props[type].error is checked before the nexthop.
        if (isErrorType(r.type)) return r;
        if (nhUsable && !nhUsable(r.dev)) continue;
        if (flow.oif !== 0 && flow.oif !== r.dev) continue;
        return r;
      }
    }
    return undefined;
  }

  /** The aliases of one prefix, in lookup order (empty when none). */
  prefix(dst: Ip4, len: number): readonly Route[] {
    return this.byLen[len]?.get(dst | 0) ?? [];
  }

  /** All routes in the order a netlink dump (`ip route show`) lists them. */
  routes(): Route[] {
    const groups: Route[][] = [];
    for (const l of this.lens) for (const list of this.byLen[l]!.values()) groups.push(list);
    groups.sort((a, b) => a[0]!.dst - b[0]!.dst || b[0]!.dstLen - a[0]!.dstLen);
    return groups.flat();
  }
}

/**
 * The tables of one namespace, keyed by 32-bit table id, held as an int32:
 * a table id above 2^31 (Neutron's DVR tables are 3232235777 and the like)
 * would be a heap number made for every per-packet get().
 */
export class FibTables {
  private readonly tables = new Map<number, FibTable>();
  /** Bumped on every change: a fast-path cache keyed on it is invalidated by any route change. */
  generation = 0;
  /**
   * Told of every route inserted, replaced or removed, in any table: a
   * lookup of an address outside dst/len cannot have changed (the lookup
   * finds only prefixes holding the address; a route's checks are its own).
   */
  watch: ((dst: Ip4, len: number) => void) | null = null;

  constructor() {
    this.create(RT_TABLE_LOCAL);
    this.create(RT_TABLE_MAIN);
  }

  get(id: number): FibTable | undefined {
    return this.tables.get(id | 0);
  }

  /** fib_new_table: tables spring into existence on first use. */
  create(id: number): FibTable {
    let t = this.tables.get(id | 0);
    if (!t) {
      t = new FibTable(id, this);
      this.tables.set(id | 0, t);
    }
    return t;
  }

  changed(dst: Ip4, len: number): void {
    this.watch?.(dst, len);
  }

  ids(): number[] {
    return [...this.tables.values()].map((t) => t.id).sort((a, b) => a - b);
  }

  all(): FibTable[] {
    return this.ids().map((id) => this.get(id)!);
  }
}
