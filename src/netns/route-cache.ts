// The forwarding cache of one namespace: ip_route_input's decision (the
// policy rule walk, the FIB lookups and fib_validate_source's reverse
// lookups, the output device, nexthop and MTU) kept per key, as the
// kernel's dst cache kept it per (daddr, saddr, tos, iif, mark) and as an
// OVS megaflow keeps a decision for every packet that agrees on the fields
// it read. The key is what the decision can read: iif, saddr, daddr, the
// TOS bits routing compares (IPTOS_RT_MASK), and of the mark, protocol and
// ports only what some rule in the list selects on (the mask changes with
// the rule list). Netfilter hooks, conntrack and NAT, the TTL and MTU checks,
// ICMP errors and every counter stay live on a hit: the cache sits between
// PREROUTING and FORWARD/INPUT exactly where the kernel routes.
//
// The neighbour entry of a forward decision is kept too, as a reference the
// hit re-checks (its state, and `dead` once removed): the neighbour state
// machine runs as on the slow path, only the table lookup is saved.
//
// Invalidation is by what changed (Netns tells a NetnsWatch):
//   route dst/len, any table  entries whose daddr or saddr lie in dst/len (a
//                             lookup of an address outside the prefix cannot
//                             find that route)
//   rule added/removed        entries whose forward or reverse lookup flows
//                             the rule matches (a rule that does not match is
//                             skipped by the walk); the whole cache when the
//                             rule changes the key's mask or is a goto target
//                             (re-entry at it changes every walk)
//   address added/removed     through the routes it brings and takes (its
//                             `local` /32 among them: entries from or to it);
//                             the device's own entries when it gains its first
//                             or loses its last (fib_validate_source reads that)
//   link up/down, MTU, conf   entries in or out of the device (and its routes)
//   conf/all, forwarding, the custom rules or local routes flag,
//   ip_forward_use_pmtu: everything.
//   a path MTU learned        entries to its destination (when forwarding
//                             reads it: ip_forward_use_pmtu, or locked;
//                             pmtu.ts: such decisions are not kept)
//   Carrier, neighbour and other net.ipv4.* sysctl changes: nothing (input
//   routing reads none of them; a neighbour entry removed is `dead`).
import { FC, type Stats } from '../datapath/stats.js';
import { inPrefix } from './addr.js';
import { IPTOS_RT_MASK } from './fib.js';
import { LOOPBACK_IFINDEX, type Netns, type NetnsWatch } from './netns.js';
import { ruleMatches, type FibRule, type Flow } from './rules.js';
import { fmix30 } from '../datapath/hash.js';

// Cell offsets as this module's constants (see engine.ts: an imported const enum is a lookup per bump under tsx).
const HITS = FC.HITS, MISSES = FC.MISSES, INVALIDATIONS = FC.INVALIDATIONS, ENTRIES = FC.ENTRIES, FLUSHES = FC.FLUSHES;

/** Deliver locally (RTN_LOCAL). */
export const RC_LOCAL = 1;
/** Forward out of `out` towards `nexthop`. */
export const RC_FORWARD = 2;

/**
 * One decision and its key. Addresses are held as int32 (`| 0`): a uint32
 * above 2^31 in a field or an argument is a heap number. `B` is the output
 * device's binding, `N` a neighbour entry.
 */
export class RouteEntry<B, N extends { dead: boolean }> {
  iif = 0;
  src = 0;
  dst = 0;
  tos = 0;
  mark = 0;
  proto = 0;
  sport = 0;
  dport = 0;
  hash = 0;
  kind = 0;
  oif = 0;
  nexthop = 0;
  mtu = 0;
  out: B | null = null;
  /** The nexthop's neighbour entry once one was used; re-checked on every packet. */
  neigh: N | null = null;
  dead = false;
}

/** Slots at most (a namespace on the bench's path needs one or two entries: ports are not in the key). */
export const RC_MAX_SLOTS = 1 << 16;
const PROBE = 8;

const newFlow = (): Flow => ({ dst: 0, src: 0, tos: 0, scope: 0, oif: 0, iif: 0, mark: 0, proto: 0, sport: 0, dport: 0, uid: 0 });

export class RouteCache<B, N extends { dead: boolean }> implements NetnsWatch {
  private cap = 64;
  private slots: (RouteEntry<B, N> | null)[] = new Array(this.cap).fill(null);
  count = 0;
  /** The key being looked up: the caller fills it, lookup() masks it. */
  readonly probe = new RouteEntry<B, N>();
  // The key's mask, from the rule list.
  private markMask = 0;
  private withProto = false;
  private withPorts = false;
  private readonly flow = newFlow();

  /** `base`: this cache's FASTPATH_CELLS. */
  constructor(
    private readonly ns: Netns<unknown>,
    private readonly stats: Stats,
    readonly base: number,
  ) {
    this.remask();
    ns.setWatch(this);
  }

  /** The entry for the probe's key (masked here), counting a hit or a miss. */
  lookup(): RouteEntry<B, N> | null {
    const p = this.probe;
    p.tos &= IPTOS_RT_MASK;
    p.mark &= this.markMask;
    if (!this.withProto) p.proto = 0;
    if (!this.withPorts) p.sport = p.dport = 0;
    const h = (p.hash = hashKey(p));
    const mask = this.cap - 1, slots = this.slots;
    for (let i = 0; i < PROBE; i++) {
      const e = slots[(h + i) & mask]!;
      if (e === null) break;
      if (e.hash !== h || e.dead) continue;
      if (e.iif === p.iif && e.src === p.src && e.dst === p.dst && e.tos === p.tos && e.mark === p.mark &&
        e.proto === p.proto && e.sport === p.sport && e.dport === p.dport) {
        this.stats.v[this.base + HITS]!++;
        return e;
      }
    }
    this.stats.v[this.base + MISSES]!++;
    return null;
  }

  /** Keep a decision for the probe's key (after a lookup() that missed). */
  insert(kind: number, oif: number, nexthop: number, mtu: number, out: B | null): RouteEntry<B, N> {
    const p = this.probe, e = new RouteEntry<B, N>();
    e.iif = p.iif;
    e.src = p.src;
    e.dst = p.dst;
    e.tos = p.tos;
    e.mark = p.mark;
    e.proto = p.proto;
    e.sport = p.sport;
    e.dport = p.dport;
    e.hash = p.hash;
    e.kind = kind;
    e.oif = oif;
    e.nexthop = nexthop | 0;
    e.mtu = mtu;
    e.out = out;
    if (this.count >= this.cap >>> 1 && this.cap < RC_MAX_SLOTS) this.grow();
    this.put(e);
    return e;
  }

  private put(e: RouteEntry<B, N>): void {
    const mask = this.cap - 1, slots = this.slots;
    let s = e.hash & mask;
    for (let i = 0; i < PROBE; i++) {
      const t = (e.hash + i) & mask;
      const v = slots[t]!;
      if (v === null || v.dead) {
        s = t;
        break;
      }
    }
    // Every probed slot taken: the first is replaced, as an EMC evicts.
    const old = slots[s]!;
    if (old !== null && !old.dead) this.gone(old);
    slots[s] = e;
    this.count++;
    this.stats.v[this.base + ENTRIES]!++;
  }

  private grow(): void {
    const old = this.slots;
    this.cap *= 2;
    this.slots = new Array(this.cap).fill(null);
    this.stats.v[this.base + ENTRIES]! -= this.count;
    this.count = 0;
    for (const e of old) if (e !== null && !e.dead) this.put(e);
  }

  private gone(e: RouteEntry<B, N>): void {
    e.dead = true;
    this.count--;
    this.stats.v[this.base + ENTRIES]!--;
  }

  /** Invalidate every live entry for which `pred` holds. */
  private killWhere(pred: (e: RouteEntry<B, N>) => boolean): void {
    if (this.count === 0) return;
    const slots = this.slots;
    let n = 0;
    for (let i = 0; i < slots.length; i++) {
      const e = slots[i]!;
      if (e === null || e.dead || !pred(e)) continue;
      this.gone(e);
      n++;
    }
    this.stats.v[this.base + INVALIDATIONS]! += n;
  }

  /** Every entry goes. */
  flush(): void {
    this.remask();
    if (this.count === 0) return;
    this.stats.v[this.base + FLUSHES]!++;
    this.stats.v[this.base + INVALIDATIONS]! += this.count;
    this.stats.v[this.base + ENTRIES]! -= this.count;
    for (const e of this.slots) if (e !== null) e.dead = true;
    this.slots.fill(null);
    this.count = 0;
  }

  /** The fields the rule list selects on; true when they differ from the key's mask until now. */
  private remask(): boolean {
    let mark = 0, proto = false, ports = false;
    for (const r of this.ns.rules.rules()) {
      mark |= r.fwmask;
      if (r.ipproto !== 0) proto = true;
      if (r.sport !== undefined || r.dport !== undefined) ports = true;
    }
    mark >>>= 0;
    const changed = mark !== this.markMask >>> 0 || proto !== this.withProto || ports !== this.withPorts;
    this.markMask = mark | 0;
    this.withProto = proto;
    this.withPorts = ports;
    return changed;
  }

  // ---- NetnsWatch ----

  route(dst: number, len: number): void {
    this.killWhere((e) => inPrefix(e.dst >>> 0, dst, len) || inPrefix(e.src >>> 0, dst, len));
  }

  rule(r: FibRule | null): void {
    if (r === null || this.remask() || this.ns.rules.rules().some((x) => x.action === 'goto' && x.gotoTarget === r.priority)) {
      return this.flush();
    }
    this.killWhere((e) => this.walkMeets(r, e));
  }

  link(ifindex: number): void {
    this.killWhere((e) => e.iif === ifindex || (e.kind === RC_FORWARD && e.oif === ifindex));
  }

  all(): void {
    this.flush();
  }

  /**
   * Could rule `r` take part in a walk `e`'s decision made: does it match
   * the forward lookup's flow, or one of fib_validate_source's reverse
   * flows (daddr and saddr swapped, iif the forward oif or the loopback,
   * oif 0 or the input device, the mark or none)? Fields outside the key's
   * mask are 0 here; `r` does not read them (else the mask changed).
   */
  private walkMeets(r: FibRule, e: RouteEntry<B, N>): boolean {
    const f = this.flow;
    f.dst = e.dst >>> 0;
    f.src = e.src >>> 0;
    f.tos = e.tos;
    f.iif = e.iif;
    f.oif = 0;
    f.mark = e.mark >>> 0;
    f.proto = e.proto;
    f.sport = e.sport;
    f.dport = e.dport;
    if (ruleMatches(r, f)) return true;
    f.dst = e.src >>> 0;
    f.src = e.dst >>> 0;
    f.iif = e.kind === RC_FORWARD ? e.oif : LOOPBACK_IFINDEX;
    f.proto = f.sport = f.dport = 0;
    for (const oif of [0, e.iif]) {
      for (const mark of [e.mark >>> 0, 0]) {
        f.oif = oif;
        f.mark = mark;
        if (ruleMatches(r, f)) return true;
      }
    }
    return false;
  }
}

/** FNV-1a over the key's words, then fmix30. */
function hashKey(p: RouteEntry<unknown, { dead: boolean }>): number {
  let h = 0x811c9dc5;
  h = Math.imul(h ^ p.iif, 0x01000193);
  h = Math.imul(h ^ p.src, 0x01000193);
  h = Math.imul(h ^ p.dst, 0x01000193);
  h = Math.imul(h ^ p.tos, 0x01000193);
  h = Math.imul(h ^ p.mark, 0x01000193);
  h = Math.imul(h ^ p.proto, 0x01000193);
  h = Math.imul(h ^ p.sport, 0x01000193);
  h = Math.imul(h ^ p.dport, 0x01000193);
  return fmix30(h);
}
