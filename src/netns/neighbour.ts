// The ARP neighbour table of one namespace: net/core/neighbour.c's state
// machine (__neigh_event_send, neigh_timer_handler, __neigh_update,
// neigh_invalidate, the periodic and forced GC) with arp_tbl's defaults,
// driven by emulated time. Times are milliseconds passed in by the caller;
// nothing here reads a clock. Randomness (reachable_time) comes from a
// seedable generator.
//
// Packets waiting for resolution are opaque handles of type P (the engine
// keeps slot descriptors there); what to do with them comes back as actions.

import { type Ip4, type Mac, MAC_BROADCAST } from './addr.js';
import { RtnlError } from './errors.js';
import { mulberry32Unit } from '../datapath/random.js';
import { NeighTableBase } from './neigh-parms.js';

/** NUD_* state bits, as include/uapi/linux/neighbour.h defines them. */
export const NUD = {
  NONE: 0x00,
  INCOMPLETE: 0x01,
  REACHABLE: 0x02,
  STALE: 0x04,
  DELAY: 0x08,
  PROBE: 0x10,
  FAILED: 0x20,
  NOARP: 0x40,
  PERMANENT: 0x80,
} as const;

export const NUD_IN_TIMER = NUD.INCOMPLETE | NUD.REACHABLE | NUD.DELAY | NUD.PROBE;
export const NUD_VALID = NUD.PERMANENT | NUD.NOARP | NUD.REACHABLE | NUD.PROBE | NUD.STALE | NUD.DELAY;
export const NUD_CONNECTED = NUD.PERMANENT | NUD.NOARP | NUD.REACHABLE;

const NUD_NAMES: [number, string][] = [
  [NUD.INCOMPLETE, 'INCOMPLETE'], [NUD.REACHABLE, 'REACHABLE'], [NUD.STALE, 'STALE'], [NUD.DELAY, 'DELAY'],
  [NUD.PROBE, 'PROBE'], [NUD.FAILED, 'FAILED'], [NUD.NOARP, 'NOARP'], [NUD.PERMANENT, 'PERMANENT'],
];

export function nudName(state: number): string {
  return NUD_NAMES.filter(([b]) => state & b).map(([, n]) => n).join(' ') || 'NONE';
}

export function nudFromName(s: string): number | undefined {
  const u = s.toUpperCase();
  if (u === 'NONE') return NUD.NONE;
  return NUD_NAMES.find(([, n]) => n === u)?.[0];
}

/**
 * neigh_add's refusals by the request's flags, for either table: `add`
 * (NLM_F_CREATE|NLM_F_EXCL) of an entry there, `change` (no NLM_F_CREATE) of
 * one not there; `replace` takes both.
 */
export function neighAddMode(exists: boolean, mode: 'add' | 'replace' | 'change'): void {
  if (exists && mode === 'add') throw new RtnlError('EEXIST');
  if (!exists && mode === 'change') throw new RtnlError('ENOENT');
}

/**
 * The link-layer address __neigh_update gives an entry going to a valid
 * state: the one given, else the entry's own while it has one (`oldState`
 * valid); none at all is refused.
 */
export function updateLladdr(oldState: number, oldMac: Mac, lladdr: Mac | undefined): Mac {
  if (lladdr !== undefined) return lladdr;
  if (!(oldState & NUD_VALID)) throw new RtnlError('EINVAL', 'No link layer address given');
  return oldMac;
}

/** __neigh_update flags (NEIGH_UPDATE_F_*). */
export const NEIGH_F = {
  OVERRIDE: 1,
  WEAK_OVERRIDE: 2,
  OVERRIDE_ISROUTER: 4,
  ISROUTER: 8,
  ADMIN: 16,
} as const;

/** neigh_parms, in milliseconds and bytes. */
export interface NeighParams {
  mcast_solicit: number;
  ucast_solicit: number;
  app_solicit: number;
  mcast_resolicit: number;
  retrans_time_ms: number;
  base_reachable_time_ms: number;
  delay_first_probe_time_ms: number;
  gc_stale_time_ms: number;
  unres_qlen_bytes: number;
  proxy_qlen: number;
  anycast_delay_ms: number;
  proxy_delay_ms: number;
  locktime_ms: number;
  /** Between probes of a managed entry (NTF_MANAGED, which the model has not): kept, shown, unused. */
  interval_probe_time_ms: number;
}

/** arp_tbl's parms in net/ipv4/arp.c (HZ-based values in ms). */
export function arpDefaultParams(): NeighParams {
  return {
    mcast_solicit: 3, ucast_solicit: 3, app_solicit: 0, mcast_resolicit: 0,
    retrans_time_ms: 1000, base_reachable_time_ms: 30_000, delay_first_probe_time_ms: 5000,
    gc_stale_time_ms: 60_000, unres_qlen_bytes: 212_992 /* SK_WMEM_MAX */, proxy_qlen: 64,
    anycast_delay_ms: 1000, proxy_delay_ms: 800, locktime_ms: 1000, interval_probe_time_ms: 5000,
  };
}

/**
 * Estimate of skb->truesize for a frame: SKB_TRUESIZE(len) on x86-64
 * (len + aligned sk_buff 256 + aligned skb_shared_info 320). With it the
 * default 212992-byte queue holds 101 full-size frames, the figure
 * /proc/sys/net/ipv4/neigh/default/unres_qlen shows.
 */
export function skbTruesize(frameLen: number): number {
  return frameLen + 576;
}
export const ETH_FRAME_TRUESIZE = skbTruesize(1514);

export interface Held<P> {
  pkt: P;
  /** truesize charged against unres_qlen_bytes. */
  bytes: number;
  /** IPv4 source of the packet: arp_solicit uses it for arp_announce 0/1. */
  src: Ip4;
}

export interface NeighEntry<P> {
  readonly ip: Ip4;
  readonly ifindex: number;
  state: number;
  /** The link-layer address (neigh->ha); meaningful while the state is valid. */
  mac: Mac;
  probes: number;
  confirmed: number;
  updated: number;
  used: number;
  /** Deadline of the entry's timer, or -1. */
  timer: number;
  router: boolean;
  /** Permanent entries do not count towards the GC thresholds. */
  exemptFromGc: boolean;
  queue: Held<P>[];
  queueBytes: number;
  /** Internal: identifies the live timer among stale heap items. */
  timerSeq: number;
  /** Removed from the table: a holder of this object (a route cache entry) must look the address up again. */
  dead: boolean;
}

export interface Solicit {
  kind: 'solicit';
  at: number;
  ifindex: number;
  /** The address being resolved (ARP target protocol address). */
  target: Ip4;
  /** Sender protocol address chosen by arp_announce. */
  senderIp: Ip4;
  senderMac: Mac;
  /** Unicast probe (PROBE state) to the known address; undefined: broadcast. */
  dstMac?: Mac;
}

export type NeighAction<P> =
  | Solicit
  /** Resolution succeeded: send these queued packets to `mac`. */
  | { kind: 'flush'; at: number; ifindex: number; ip: Ip4; mac: Mac; packets: P[] }
  /** Resolution failed: answer each packet with ICMP host unreachable (arp_error_report). */
  | { kind: 'failed'; at: number; ifindex: number; ip: Ip4; packets: P[] };

export type Resolution<P> =
  /** Send now with this destination MAC. `solicit`/actions only when a probe leaves with it. */
  | { kind: 'send'; mac: Mac }
  /** Held until resolution; `dropped` are older packets pushed out of the full queue. */
  | { kind: 'queued'; solicit?: Solicit; dropped: P[] }
  /** Not sent: neighbour FAILED without probes allowed, or table full. */
  | { kind: 'drop'; reason: 'neigh_failed' | 'neigh_table_full' };

/** What the table needs to know about devices and addresses. */
export interface NeighHooks {
  /** inet_addr_type_dev_table for arp_constructor. */
  addrType(ip: Ip4, ifindex: number): 'unicast' | 'broadcast' | 'multicast' | 'local';
  devMac(ifindex: number): Mac;
  /** IFF_NOARP or loopback. */
  devNoArp(ifindex: number): boolean;
  /** IFF_LOOPBACK or IFF_POINTOPOINT: arp_constructor keys the device's entries 0.0.0.0. */
  devKeyless?(ifindex: number): boolean;
  /** arp_solicit's sender address (arp_announce); `pktSrc` is the newest queued packet's source. */
  solicitSource(ifindex: number, target: Ip4, pktSrc: Ip4 | undefined): Ip4;
}

/** neigh_statistics, counted where net/core/neighbour.c counts them (rcv_probes_* only IPv6's ndisc moves). */
export interface NeighStats {
  allocs: number;
  destroys: number;
  hash_grows: number;
  /** neigh_lookup's (ARP input, ip neigh add/del): the output path's noref lookup counts nothing. */
  lookups: number;
  hits: number;
  res_failed: number;
  unres_discards: number;
  /** ndisc_recv_ns: solicitations to a group, and to us. */
  rcv_probes_mcast: number;
  rcv_probes_ucast: number;
  periodic_gc_runs: number;
  forced_gc_runs: number;
  table_fulls: number;
}

/** A small, seedable PRNG (mulberry32) returning [0, 1). */
export const seededRandom = mulberry32Unit;

const multicastMac = (ip: Ip4): Mac => 0x01005e000000 + (ip & 0x7fffff);

/** A table's times for nudTimerStep: a device's parameters and its reachable_time (drawn when first asked). */
export interface NudTimes {
  params(ifindex: number): NeighParams;
  reachableTime(ifindex: number): number;
}

/** What nudTimerStep decided: one object, reused, so that nothing is allocated per timer. */
export const nudStep = { state: 0, next: 0 };

/**
 * neigh_timer_handler's state step at time `t`, shared by the ARP table
 * and the IPv6 cache (nd6-cache.ts): REACHABLE stays until confirmed +
 * reachable_time, then goes DELAY if used within delay_first_probe_time,
 * else STALE (no timer); DELAY goes back to REACHABLE if confirmed
 * meanwhile, else PROBE (the caller zeroes the probes); INCOMPLETE and
 * PROBE stay, their timer again after retrans_time.
 */
export function nudTimerStep(state: number, t: number, confirmed: number, used: number, ifindex: number, times: NudTimes): typeof nudStep {
  const p = times.params(ifindex);
  const s = nudStep;
  s.state = state;
  s.next = t + 1000;
  if (state & NUD.REACHABLE) {
    const reach = times.reachableTime(ifindex);
    if (t <= confirmed + reach) {
      s.next = confirmed + reach;
    } else if (t <= used + p.delay_first_probe_time_ms) {
      s.state = NUD.DELAY;
      s.next = t + p.delay_first_probe_time_ms;
    } else {
      s.state = NUD.STALE;
    }
  } else if (state & NUD.DELAY) {
    if (t <= confirmed + p.delay_first_probe_time_ms) {
      s.state = NUD.REACHABLE;
      s.next = confirmed + times.reachableTime(ifindex);
    } else {
      s.state = NUD.PROBE;
      s.next = t + Math.max(p.retrans_time_ms, 10);
    }
  } else {
    s.next = t + Math.max(p.retrans_time_ms, 10);
  }
  return s;
}

/** neigh_max_probes: the probes an INCOMPLETE or PROBE entry gets (its counter, from ucast_solicit or 0) before it fails. */
export function neighMaxProbes(state: number, p: NeighParams): number {
  return p.ucast_solicit + p.app_solicit + (state & NUD.PROBE ? p.mcast_resolicit : p.mcast_solicit);
}

/**
 * What neigh_probe sends as the entry's probe number `probes` (arp_solicit,
 * ndisc_solicit): below ucast_solicit a unicast one to the address the
 * entry has, then app_solicit requests to a daemon (neigh_app_ns: nothing
 * on the wire), then broadcast (multicast) ones. An INCOMPLETE entry
 * counts from ucast_solicit, a PROBE one from 0.
 */
export function probeKind(probes: number, p: NeighParams): 'unicast' | 'app' | 'multicast' {
  if (probes < p.ucast_solicit) return 'unicast';
  return probes < p.ucast_solicit + p.app_solicit ? 'app' : 'multicast';
}

/** Minimal binary heap of timer deadlines. */
class TimerHeap {
  private items: { at: number; seq: number; key: number }[] = [];
  push(at: number, seq: number, key: number): void {
    const a = this.items;
    a.push({ at, seq, key });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= a[i]!.at) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  peek(): { at: number; seq: number; key: number } | undefined {
    return this.items[0];
  }
  pop(): void {
    const a = this.items;
    const last = a.pop()!;
    if (a.length === 0) return;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.at < a[m]!.at) m = l;
      if (r < a.length && a[r]!.at < a[m]!.at) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
  }
}

const key = (ip: Ip4, ifindex: number) => ifindex * 0x1_0000_0000 + ip;

export interface NeighTableOptions {
  params?: Partial<NeighParams>;
  /** [0, 1) generator for reachable_time; default seededRandom(1). */
  random?: () => number;
  gcThresh1?: number;
  gcThresh2?: number;
  gcThresh3?: number;
  /** Emulated time at creation (ms). */
  now?: number;
}

export class NeighbourTable<P = unknown> extends NeighTableBase {
  private readonly map = new Map<number, NeighEntry<P>>();
  /**
   * The same entries by ifindex, then by address as an int32: the per-packet
   * lookup. `map`'s 48-bit keys are heap numbers, one allocated per lookup;
   * `map` keeps the listing order.
   */
  private readonly byIf = new Map<number, Map<number, NeighEntry<P>>>();
  private readonly proxies = new Set<number>();
  private readonly timers = new TimerHeap();
  private seq = 0;
  private gcEntries = 0;
  /** Bumped whenever an entry's state or address changes. */
  generation = 0;
  /**
   * Told when an entry's state, address or confirmation changed (`gone`
   * false) or it left the table (true): the learned-state journal's hook.
   * Not for `used`, which moves with the packets.
   */
  onChange: ((e: NeighEntry<unknown>, gone: boolean) => void) | null = null;

  constructor(private readonly hooks: NeighHooks, opts: NeighTableOptions = {}) {
    super({ ...arpDefaultParams(), ...opts.params }, { ...opts, random: opts.random ?? seededRandom(1), hashSeed: 0x6e74626c });
  }

  /** A random integer in [0, n) from the table's generator (proxy_delay, ...). */
  randomBelow(n: number): number {
    return n > 0 ? Math.floor(this.random() * n) : 0;
  }

  // ---- lookup and creation -------------------------------------------

  get(ip: Ip4, ifindex: number): NeighEntry<P> | undefined {
    return this.find(ip, ifindex);
  }

  /** neigh_lookup: as get, counted in lookups and hits. */
  lookup(ip: Ip4, ifindex: number): NeighEntry<P> | undefined {
    this.stats.lookups++;
    const e = this.find(ip, ifindex);
    if (e) this.stats.hits++;
    return e;
  }

  private find(ip: Ip4, ifindex: number): NeighEntry<P> | undefined {
    return this.byIf.get(ifindex)?.get(ip | 0);
  }

  entries(): NeighEntry<P>[] {
    return [...this.map.values()];
  }

  get size(): number {
    return this.map.size;
  }

  /** __neigh_create with arp_constructor; undefined when the table is full. */
  private create(ip: Ip4, ifindex: number, now: number, exemptFromGc: boolean): NeighEntry<P> | undefined {
    if (!exemptFromGc) {
      const entries = this.gcEntries;
      if (entries >= this.gcThresh3 || (entries >= this.gcThresh2 && now > this.lastFlush + 5000)) {
        if (!this.forcedGc(now) && entries >= this.gcThresh3) {
          this.stats.table_fulls++;
          return undefined;
        }
      }
    }
    if (this.hooks.devKeyless?.(ifindex)) {
      // arp_constructor rewrote the key: ___neigh_create finds an entry of that key there and takes it, the new one freed.
      ip = 0;
      const there = this.map.get(key(0, ifindex));
      if (there) {
        this.stats.allocs++;
        this.stats.destroys++;
        return there;
      }
    }
    const e: NeighEntry<P> = {
      ip, ifindex, state: NUD.NONE, mac: 0, probes: 0,
      confirmed: now - 2 * this.params(ifindex).base_reachable_time_ms, updated: now, used: now,
      timer: -1, router: false, exemptFromGc, queue: [], queueBytes: 0, timerSeq: 0, dead: false,
    };
    const type = this.hooks.addrType(ip, ifindex);
    if (type === 'multicast') {
      e.state = NUD.NOARP;
      e.mac = multicastMac(ip);
    } else if (this.hooks.devNoArp(ifindex)) {
      e.state = NUD.NOARP;
      e.mac = this.hooks.devMac(ifindex);
    } else if (type === 'broadcast') {
      e.state = NUD.NOARP;
      e.mac = MAC_BROADCAST;
    }
    this.map.set(key(ip, ifindex), e);
    let onIf = this.byIf.get(ifindex);
    if (onIf === undefined) this.byIf.set(ifindex, (onIf = new Map()));
    onIf.set(ip | 0, e);
    if (!exemptFromGc) this.gcEntries++;
    this.allocated(this.map.size);
    this.generation++;
    return e;
  }

  private remove(e: NeighEntry<P>): void {
    if (this.map.delete(key(e.ip, e.ifindex))) {
      this.byIf.get(e.ifindex)!.delete(e.ip | 0);
      if (!e.exemptFromGc) this.gcEntries--;
      e.timer = -1;
      e.timerSeq = ++this.seq;
      e.dead = true;
      this.stats.destroys++;
      this.generation++;
      this.onChange?.(e, true);
    }
  }

  private changed(e: NeighEntry<P>): void {
    this.generation++;
    this.onChange?.(e, false);
  }

  private setTimer(e: NeighEntry<P>, at: number): void {
    e.timer = at;
    e.timerSeq = ++this.seq;
    this.timers.push(at, e.timerSeq, key(e.ip, e.ifindex));
  }

  /**
   * neigh_add_timer: a timer armed on entering a timed state (not the
   * handler's re-arm) lifts `used` to `confirmed`. So a probe answered
   * counts as a use: with reachable_time within delay_first_probe_time the
   * entry goes REACHABLE, DELAY, PROBE, REACHABLE again for as long as the
   * neighbour answers, never STALE.
   */
  private addTimer(e: NeighEntry<P>, at: number): void {
    if (e.used < e.confirmed) e.used = e.confirmed;
    this.setTimer(e, at);
  }

  private delTimer(e: NeighEntry<P>): void {
    e.timer = -1;
    e.timerSeq = ++this.seq;
  }

  // ---- the output path -----------------------------------------------

  /**
   * Whether a packet may leave with `e.mac` with no state change beyond
   * the counters and `used`: what resolve() does for a CONNECTED, DELAY or
   * PROBE entry. Otherwise false and nothing touched: the caller then calls
   * resolve(). `e` is a live entry (found here, or held and not `dead`).
   * Allocates nothing.
   */
  sendVia(e: NeighEntry<P>, now: number): boolean {
    if (e.state & NUD_CONNECTED) return true;
    if (e.state & (NUD.DELAY | NUD.PROBE)) {
      e.used = now;
      return true;
    }
    return false;
  }

  /**
   * A packet for `ip` leaves `ifindex`: neigh_output / neigh_resolve_output
   * / __neigh_event_send. `held` is the packet to queue if unresolved.
   */
  resolve(ip: Ip4, ifindex: number, now: number, held?: Held<P>): Resolution<P> {
    // __ipv4_neigh_lookup_noref: no lookups or hits counted.
    let e = this.find(ip, ifindex);
    if (!e) {
      e = this.create(ip, ifindex, now, false);
      if (!e) return { kind: 'drop', reason: 'neigh_table_full' };
    }
    // A connected entry's cached header is used as is; `used` is not touched.
    if (e.state & NUD_CONNECTED) return { kind: 'send', mac: e.mac };
    e.used = now;
    if (e.state & (NUD.DELAY | NUD.PROBE)) return { kind: 'send', mac: e.mac };
    const p = this.params(ifindex);
    let immediateProbe = false;
    if (!(e.state & (NUD.STALE | NUD.INCOMPLETE))) {
      if (p.mcast_solicit + p.app_solicit) {
        e.probes = p.ucast_solicit;
        this.delTimer(e);
        e.state = NUD.INCOMPLETE;
        e.updated = now;
        immediateProbe = true;
        this.addTimer(e, now + Math.max(p.retrans_time_ms, 10));
        this.changed(e);
      } else {
        e.state = NUD.FAILED;
        e.updated = now;
        this.changed(e);
        return { kind: 'drop', reason: 'neigh_failed' };
      }
    } else if (e.state & NUD.STALE) {
      this.delTimer(e);
      e.state = NUD.DELAY;
      e.updated = now;
      this.addTimer(e, now + p.delay_first_probe_time_ms);
      this.changed(e);
      return { kind: 'send', mac: e.mac };
    }
    // INCOMPLETE: hold the packet, pushing out the oldest when over the byte limit.
    const dropped: P[] = [];
    if (held) {
      while (e.queueBytes + held.bytes > p.unres_qlen_bytes && e.queue.length) {
        const old = e.queue.shift()!;
        e.queueBytes -= old.bytes;
        dropped.push(old.pkt);
        this.stats.unres_discards++;
      }
      e.queue.push(held);
      e.queueBytes += held.bytes;
    }
    const solicit = immediateProbe ? this.probe(e, now) : undefined;
    return solicit ? { kind: 'queued', solicit, dropped } : { kind: 'queued', dropped };
  }

  /** neigh_probe + arp_solicit: one ARP request (or nothing for app probes). */
  private probe(e: NeighEntry<P>, now: number): Solicit | undefined {
    const p = this.params(e.ifindex);
    const tail = e.queue[e.queue.length - 1];
    const kind = probeKind(e.probes, p);
    e.probes++;
    if (kind === 'app') return undefined; // neigh_app_ns: a netlink request to arpd, not a frame
    const s: Solicit = {
      kind: 'solicit',
      at: now,
      ifindex: e.ifindex,
      target: e.ip,
      senderIp: this.hooks.solicitSource(e.ifindex, e.ip, tail?.src),
      senderMac: this.hooks.devMac(e.ifindex),
    };
    if (kind === 'unicast') s.dstMac = e.mac;
    return s;
  }

  /** dst_confirm_neigh / neigh_confirm: upper layers saw forward progress. */
  confirm(ip: Ip4, ifindex: number, now: number): void {
    const e = this.find(ip, ifindex);
    if (e) e.confirmed = now;
  }

  // ---- timers --------------------------------------------------------

  /** Deadline of the next timer or periodic work. */
  nextDeadline(): number {
    this.dropStale();
    const t = this.timers.peek();
    return t ? Math.min(t.at, this.nextPeriodic) : this.nextPeriodic;
  }

  private dropStale(): void {
    for (let t = this.timers.peek(); t; t = this.timers.peek()) {
      const e = this.map.get(t.key);
      if (e && e.timerSeq === t.seq) return;
      this.timers.pop();
    }
  }

  /** Run every timer and periodic GC due by `now`, in time order. */
  tick(now: number): NeighAction<P>[] {
    const out: NeighAction<P>[] = [];
    for (;;) {
      this.dropStale();
      const t = this.timers.peek();
      if (t && t.at <= now && t.at <= this.nextPeriodic) {
        this.timers.pop();
        const e = this.map.get(t.key)!;
        e.timer = -1;
        this.timerHandler(e, t.at, out);
      } else if (this.nextPeriodic <= now) {
        this.periodicGc(this.periodic(t ? Math.min(t.at, now) : now));
      } else break;
    }
    return out;
  }

  /** neigh_timer_handler, run at time `t`. */
  private timerHandler(e: NeighEntry<P>, t: number, out: NeighAction<P>[]): void {
    const state = e.state;
    if (!(state & NUD_IN_TIMER)) return;
    const s = nudTimerStep(state, t, e.confirmed, e.used, e.ifindex, this);
    const next = s.next;
    if (s.state !== state) {
      e.state = s.state;
      e.updated = t;
      if (s.state & NUD.PROBE) e.probes = 0;
    }
    if (e.state !== state) this.changed(e);
    if (e.state & (NUD.INCOMPLETE | NUD.PROBE) && e.probes >= this.maxProbes(e)) {
      e.state = NUD.FAILED;
      this.changed(e);
      this.invalidate(e, t, out);
      return;
    }
    if (e.state & NUD_IN_TIMER) this.setTimer(e, Math.max(next, t + 10));
    if (e.state & (NUD.INCOMPLETE | NUD.PROBE)) {
      const sol = this.probe(e, t);
      if (sol) out.push(sol);
    }
  }

  private maxProbes(e: NeighEntry<P>): number {
    return neighMaxProbes(e.state, this.params(e.ifindex));
  }

  /** neigh_invalidate: hand every queued packet back for an ICMP error. */
  private invalidate(e: NeighEntry<P>, t: number, out: NeighAction<P>[]): void {
    this.stats.res_failed++;
    e.updated = t;
    const packets = e.queue.map((h) => h.pkt);
    e.queue = [];
    e.queueBytes = 0;
    out.push({ kind: 'failed', at: t, ifindex: e.ifindex, ip: e.ip, packets });
  }

  /** neigh_periodic_work's GC (after periodic()'s draw of reachable_time): above gc_thresh1, entries unused for gc_stale_time go. */
  private periodicGc(t: number): void {
    if (this.gcEntries < this.gcThresh1) return;
    for (const e of [...this.map.values()]) {
      if (e.state & (NUD.PERMANENT | NUD_IN_TIMER)) continue;
      if (e.used < e.confirmed && e.confirmed <= t) e.used = e.confirmed;
      if (e.state === NUD.FAILED || !(t >= e.used && t < e.used + this.params(e.ifindex).gc_stale_time_ms)) {
        this.remove(e);
      }
    }
  }

  /** neigh_forced_gc: drop FAILED/NOARP and entries not updated for 5 s, down to gc_thresh2. */
  private forcedGc(now: number): boolean {
    this.stats.forced_gc_runs++;
    const maxClean = this.gcEntries - this.gcThresh2;
    let shrunk = 0;
    for (const e of [...this.map.values()]) {
      if (e.exemptFromGc) continue;
      if (e.state === NUD.FAILED || e.state === NUD.NOARP || !(e.updated >= now - 5000 && e.updated <= now)) {
        this.remove(e);
        shrunk++;
        if (shrunk >= maxClean) break;
      }
    }
    this.lastFlush = now;
    return shrunk > 0;
  }

  // ---- updates ---------------------------------------------------------

  /** Find or create an entry (for ARP input paths: __neigh_lookup with creat). */
  lookupOrCreate(ip: Ip4, ifindex: number, now: number): NeighEntry<P> | undefined {
    return this.lookup(ip, ifindex) ?? this.create(ip, ifindex, now, false);
  }

  /**
   * __neigh_update. `lladdr` undefined means "none given". Returns the
   * actions the change causes (queued packets released or failed); throws
   * RtnlError for the refusals the kernel reports.
   */
  update(e: NeighEntry<P>, lladdr: Mac | undefined, newState: number, flags: number, now: number): NeighAction<P>[] {
    const out: NeighAction<P>[] = [];
    const old = e.state;
    if (!(flags & NEIGH_F.ADMIN) && old & (NUD.NOARP | NUD.PERMANENT)) return out;
    if (!(newState & NUD_VALID)) {
      this.delTimer(e);
      e.state = newState;
      if (newState !== old) this.changed(e);
      if (old & (NUD.INCOMPLETE | NUD.PROBE) && newState & NUD.FAILED) this.invalidate(e, now, out);
      return out;
    }
    // Every device here has 6-byte addresses, so the kernel's addr_len == 0 case does not arise.
    let mac = updateLladdr(old, e.mac, lladdr);
    let changed = !(old & NUD_VALID) || mac !== e.mac;
    if (newState & NUD_CONNECTED) e.confirmed = now;
    if (old & NUD_VALID) {
      if (changed && !(flags & NEIGH_F.OVERRIDE)) {
        if (flags & NEIGH_F.WEAK_OVERRIDE && old & NUD_CONNECTED) {
          mac = e.mac;
          changed = false;
          newState = NUD.STALE;
        } else return out;
      } else if (!changed && newState === NUD.STALE && !(flags & NEIGH_F.ADMIN)) {
        newState = old;
      }
    }
    if (newState !== old || changed) e.updated = now;
    if (newState !== old) {
      this.delTimer(e);
      if (newState & NUD.PROBE) e.probes = 0;
      if (newState & NUD_IN_TIMER) {
        this.addTimer(e, now + (newState & NUD.REACHABLE ? this.reachableTime(e.ifindex) : 0));
      }
      e.state = newState;
      this.generation++;
    }
    if (changed) {
      e.mac = mac;
      if (!(newState & NUD_CONNECTED)) e.confirmed = now - 2 * this.params(e.ifindex).base_reachable_time_ms;
      this.generation++;
    }
    if (flags & NEIGH_F.OVERRIDE_ISROUTER) e.router = (flags & NEIGH_F.ISROUTER) !== 0;
    // A confirmation alone (a reply for a REACHABLE entry) is journaled too: it decides when the entry goes STALE.
    if (newState !== old || changed || newState & NUD_CONNECTED) this.onChange?.(e, false);
    if (newState === old) return out;
    if (!(old & NUD_VALID) && e.queue.length) {
      const packets = e.queue.map((h) => h.pkt);
      e.queue = [];
      e.queueBytes = 0;
      out.push({ kind: 'flush', at: now, ifindex: e.ifindex, ip: e.ip, mac: e.mac, packets });
    }
    return out;
  }

  // ---- administration (ip neigh add/replace/change/del) ---------------

  /**
   * neigh_add: `mode` is add (CREATE|EXCL), replace (CREATE|REPLACE) or
   * change (REPLACE). The state defaults to PERMANENT as iproute2 sends it.
   */
  adminSet(
    ip: Ip4,
    ifindex: number,
    lladdr: Mac | undefined,
    state: number,
    mode: 'add' | 'replace' | 'change',
    now: number,
    router?: boolean,
  ): NeighAction<P>[] {
    let flags = NEIGH_F.ADMIN | NEIGH_F.OVERRIDE;
    let e = this.lookup(ip, ifindex);
    neighAddMode(e !== undefined, mode);
    if (!e) {
      e = this.create(ip, ifindex, now, (state & NUD.PERMANENT) !== 0);
      if (!e) throw new RtnlError('ENOBUFS');
    } else {
      if (state & NUD.PERMANENT && !e.exemptFromGc) {
        e.exemptFromGc = true;
        this.gcEntries--;
      } else if (!(state & NUD.PERMANENT) && e.exemptFromGc) {
        e.exemptFromGc = false;
        this.gcEntries++;
      }
    }
    // neigh_add sets the router flag as the request has it (a replace without `router` clears it, Linux 6.18); arp -s leaves it.
    if (router !== undefined) flags |= NEIGH_F.OVERRIDE_ISROUTER | (router ? NEIGH_F.ISROUTER : 0);
    return this.update(e, lladdr, state, flags, now);
  }

  /** neigh_delete: FAILED (releasing queued packets as failures), then removed. */
  adminDelete(ip: Ip4, ifindex: number, now: number): NeighAction<P>[] {
    const e = this.lookup(ip, ifindex);
    if (!e) throw new RtnlError('ENOENT');
    const out = this.update(e, undefined, NUD.FAILED, NEIGH_F.OVERRIDE | NEIGH_F.ADMIN, now);
    this.remove(e);
    return out;
  }

  /**
   * Take over an entry a predecessor learned (a restart or reload), with its
   * state, address and times as they were journaled. Its timer is set as the
   * state's own: REACHABLE at confirmed + reachable_time (the handler then
   * moves it on as the kernel would have by now), DELAY at updated +
   * delay_first_probe_time, PROBE at updated + retrans_time. An entry the
   * file put there (in a state of its own) takes the journaled one's place:
   * that is newer. Undefined when a PERMANENT or NOARP entry holds the
   * address, or the table is full.
   */
  restoreEntry(ip: Ip4, ifindex: number, state: number, mac: Mac, confirmed: number, updated: number, used: number, probes: number, router: boolean, now: number): NeighEntry<P> | undefined {
    let e = this.find(ip, ifindex);
    if (e && e.state & (NUD.PERMANENT | NUD.NOARP)) return undefined;
    e ??= this.create(ip, ifindex, now, false);
    if (!e) return undefined;
    this.delTimer(e);
    Object.assign(e, { state, mac, confirmed, updated, used, probes, router });
    this.generation++;
    const p = this.params(ifindex);
    if (state & NUD.REACHABLE) this.setTimer(e, confirmed + this.reachableTime(ifindex));
    else if (state & NUD.DELAY) this.setTimer(e, updated + p.delay_first_probe_time_ms);
    else if (state & NUD.PROBE) this.setTimer(e, updated + Math.max(p.retrans_time_ms, 10));
    return e;
  }

  /** neigh_ifdown (admin down / unregister): every entry of the device goes. */
  ifdown(ifindex: number): P[] {
    return this.flushDev(ifindex, false);
  }

  /** neigh_carrier_down: as ifdown but PERMANENT entries stay. */
  carrierDown(ifindex: number): P[] {
    return this.flushDev(ifindex, true);
  }

  /** neigh_changeaddr (the device's MAC changed): every entry goes, PERMANENT ones too; the proxy entries stay. */
  changeAddr(ifindex: number): P[] {
    return this.flushDev(ifindex, false, false);
  }

  private flushDev(ifindex: number, skipPerm: boolean, proxies = true): P[] {
    const dropped: P[] = [];
    for (const e of [...this.map.values()]) {
      if (e.ifindex !== ifindex) continue;
      if (skipPerm && e.state & NUD.PERMANENT) continue;
      for (const h of e.queue) dropped.push(h.pkt);
      this.remove(e);
    }
    if (proxies) for (const k of [...this.proxies]) if (Math.floor(k / 0x1_0000_0000) === ifindex) this.proxies.delete(k);
    return dropped;
  }

  // ---- proxy entries (ip neigh add proxy ADDR dev DEV) -----------------

  addProxy(ip: Ip4, ifindex: number, mode: 'add' | 'replace' = 'add'): void {
    const k = key(ip, ifindex);
    if (this.proxies.has(k) && mode === 'add') throw new RtnlError('EEXIST');
    this.proxies.add(k);
  }

  deleteProxy(ip: Ip4, ifindex: number): void {
    if (!this.proxies.delete(key(ip, ifindex))) throw new RtnlError('ENOENT');
  }

  /** pneigh_lookup: an entry for this device or for any device (ifindex 0). */
  hasProxy(ip: Ip4, ifindex: number): boolean {
    return this.proxies.has(key(ip, ifindex)) || this.proxies.has(key(ip, 0));
  }

  proxyEntries(): { ip: Ip4; ifindex: number }[] {
    return [...this.proxies].map((k) => ({ ip: k % 0x1_0000_0000, ifindex: Math.floor(k / 0x1_0000_0000) }));
  }
}
