// What a neighbour table (net/core/neighbour.c's struct neigh_table) holds
// besides its entries, shared by the ARP table (neighbour.ts) and the IPv6
// cache (nd6-cache.ts): the default parms and each device's own
// (neigh_parms), each device's reachable_time, drawn from its
// base_reachable_time when first needed, again after a write of it and
// every 300 s (neigh_periodic_work), the GC thresholds, the hash table's
// size and seed, and the statistics `ip -s ntable` shows.

import { mulberry32Unit } from '../datapath/random.js';
import type { NeighParams, NeighStats, NudTimes } from './neighbour.js';

export interface NeighTableBaseOptions {
  /** [0, 1) generator for reachable_time (and the ARP proxy delays). */
  random: () => number;
  /** Emulated time at creation (ms). */
  now?: number;
  gcThresh1?: number;
  gcThresh2?: number;
  gcThresh3?: number;
  /** Seed of the hash table's own generator (hash_rnd). */
  hashSeed: number;
}

export class NeighTableBase implements NudTimes {
  /** tbl->parms: neigh/default, what a device reads until it has a value of its own. */
  readonly defaults: NeighParams;
  /**
   * A device's own neigh_parms once one of its values was written, and which
   * (data_state); a device without one reads the defaults.
   */
  private readonly devParams = new Map<number, { p: NeighParams; own: Set<keyof NeighParams> }>();
  private readonly reachable = new Map<number, number>();
  protected readonly random: () => number;
  gcThresh1: number;
  gcThresh2: number;
  gcThresh3: number;
  /** neigh_hash_table's hash_shift: 3 at first, one more whenever the entries outnumber the buckets; never less. */
  hashShift = 3;
  /**
   * nht->hash_rnd[0], which the kernel draws at random with each hash table:
   * from a generator of the table's own (not the one reachable_time draws
   * from), as the model hashes nothing with it.
   */
  hashRnd: number;
  private readonly hashRandom: () => number;
  lastFlush: number;
  lastRand: number;
  /** When neigh_periodic_work runs next (every base_reachable_time / 2 of the defaults). */
  protected nextPeriodic: number;
  readonly stats: NeighStats = {
    allocs: 0, destroys: 0, hash_grows: 0, lookups: 0, hits: 0, res_failed: 0, unres_discards: 0,
    rcv_probes_mcast: 0, rcv_probes_ucast: 0, periodic_gc_runs: 0, forced_gc_runs: 0, table_fulls: 0,
  };

  constructor(defaults: NeighParams, opts: NeighTableBaseOptions) {
    this.defaults = defaults;
    this.random = opts.random;
    this.gcThresh1 = opts.gcThresh1 ?? 128;
    this.gcThresh2 = opts.gcThresh2 ?? 512;
    this.gcThresh3 = opts.gcThresh3 ?? 1024;
    const now = opts.now ?? 0;
    this.lastFlush = now;
    this.lastRand = now;
    this.hashRandom = mulberry32Unit(opts.hashSeed);
    this.hashRnd = Math.floor(this.hashRandom() * 2 ** 32);
    this.nextPeriodic = now + defaults.base_reachable_time_ms / 2;
  }

  /** A device's parameters: its own values, the defaults for the rest. Allocates nothing. */
  params(ifindex: number): NeighParams {
    return this.devParams.get(ifindex)?.p ?? this.defaults;
  }

  /**
   * neigh/<dev>/<name> (ms/bytes forms); ifindex 0 is `default`. A device's
   * write makes the value its own; a default one reaches every device whose
   * value is not (neigh_proc_update, neigh_copy_dflt_parms). A new
   * base_reachable_time draws the device's reachable_time again
   * (neigh_proc_base_reachable_time, ndisc_ifinfo_sysctl_change).
   */
  setParam(ifindex: number, name: keyof NeighParams, value: number): void {
    if (ifindex === 0) {
      this.defaults[name] = value;
      for (const d of this.devParams.values()) if (!d.own.has(name)) d.p[name] = value;
    } else {
      let d = this.devParams.get(ifindex);
      if (d === undefined) this.devParams.set(ifindex, (d = { p: { ...this.defaults }, own: new Set() }));
      d.p[name] = value;
      d.own.add(name);
    }
    if (name === 'base_reachable_time_ms') {
      if (ifindex === 0) this.reachable.clear();
      else this.reachable.delete(ifindex);
    }
  }

  /** The device is gone (neigh_parms_release): a later one with its ifindex starts from the defaults. */
  forgetDev(ifindex: number): void {
    this.devParams.delete(ifindex);
    this.reachable.delete(ifindex);
  }

  /** neigh_rand_reach_time: uniform in [base/2, 3*base/2), per device. */
  reachableTime(ifindex: number): number {
    let t = this.reachable.get(ifindex);
    if (t === undefined) {
      const base = this.params(ifindex).base_reachable_time_ms;
      t = base ? Math.floor(this.random() * base) + (base >> 1) : 0;
      this.reachable.set(ifindex, t);
    }
    return t;
  }

  /** A new entry made the table `entries` long: neigh_hash_grow when they outnumber the buckets (a new table, a new hash_rnd). */
  protected allocated(entries: number): void {
    this.stats.allocs++;
    if (entries > 1 << this.hashShift) {
      this.hashShift++;
      this.stats.hash_grows++;
      this.hashRnd = Math.floor(this.hashRandom() * 2 ** 32);
    }
  }

  /**
   * neigh_periodic_work's run due by `due`, if any: its time, or -1. It
   * counts itself and draws every reachable_time again when the last draw
   * is over 300 s old; the caller runs the GC then. After a long idle gap
   * only the latest run matters (GC looks at entry ages relative to it):
   * the runs between are counted, not run.
   */
  periodic(due: number): number {
    if (this.nextPeriodic > due) return -1;
    const step = Math.max(this.defaults.base_reachable_time_ms / 2, 10);
    if (due - this.nextPeriodic > step) {
      const skipped = Math.floor((due - this.nextPeriodic) / step);
      this.nextPeriodic += skipped * step;
      this.stats.periodic_gc_runs += skipped;
    }
    const t = this.nextPeriodic;
    this.nextPeriodic += step;
    this.stats.periodic_gc_runs++;
    if (t > this.lastRand + 300_000) {
      this.lastRand = t;
      this.reachable.clear();
    }
    return t;
  }
}
