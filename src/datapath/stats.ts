// Counters in shared memory (DESIGN.md principle 7): elements bump plain
// Float64Array cells; an exporter reads them at scrape time. Each cell has a
// description (name and labels) kept beside it, written when the cell is
// reserved. What is deleted for good (a bridge, an internal port's device)
// gives its cells back for the next one to take (release).
import { DROP_REASONS, type DropReason, DROP_REASON_ID } from './drop-reasons.js';

export interface CounterDesc {
  name: string; // e.g. 'port_rx_packets'
  labels: Record<string, string>;
  /** What it counted left the engine or its bridge (ovs-vsctl del-br, del-port): not exported. */
  retired?: true;
}

export class Stats {
  readonly sab: SharedArrayBuffer;
  readonly v: Float64Array;
  readonly desc: CounterDesc[] = [];
  /** Each run alloc() reserved: its first cell -> its length. */
  private readonly runs = new Map<number, number>();
  /** Runs release() gave back, by length (alloc() takes one of the length it needs before growing). */
  private readonly free = new Map<number, number[]>();
  private readonly freed = new Set<number>();
  /** alloc() calls so far: a reader of the cells that must see none come between two moments compares it. */
  allocs = 0;

  constructor(capacity = 1 << 16) {
    this.sab = new SharedArrayBuffer(capacity * 8);
    this.v = new Float64Array(this.sab);
  }

  /**
   * Reserve `names.length` consecutive cells with the same labels (and, with
   * `each`, the ones of each cell besides); returns the first index. A run
   * release() gave back is taken again first, from 0.
   */
  alloc(names: readonly string[], labels: Record<string, string>, each?: readonly Record<string, string>[]): number {
    this.allocs++;
    const n = names.length;
    const desc = (i: number): CounterDesc => ({ name: names[i]!, labels: each ? { ...labels, ...each[i] } : labels });
    const again = this.free.get(n)?.pop();
    if (again !== undefined) {
      this.freed.delete(again);
      for (let i = 0; i < n; i++) this.desc[again + i] = desc(i);
      this.v.fill(0, again, again + n);
      this.epoch++; // readers lay the cells out again
      return again;
    }
    const base = this.desc.length;
    if (base + n > this.v.length) throw new Error('stats: capacity exhausted');
    for (let i = 0; i < n; i++) this.desc.push(desc(i));
    this.runs.set(base, n);
    return base;
  }

  /**
   * Gives back the retired runs whose labels include `match` (what counted
   * them is gone for good: a deleted bridge, a destroyed internal device),
   * for alloc() to take again. Until then they are nameless and retired: not
   * exported, summed or matched (a bridge or port of the same name later is
   * another's).
   */
  release(match: Record<string, string>): void {
    for (const [base, n] of this.runs) {
      const d = this.desc[base]!;
      if (!d.retired || this.freed.has(base) || !matches(d, match)) continue;
      for (let i = base; i < base + n; i++) this.desc[i] = { name: '', labels: {}, retired: true };
      this.freed.add(base);
      let list = this.free.get(n);
      if (!list) this.free.set(n, (list = []));
      list.push(base);
    }
  }

  /** Whether the run at `base` was given back (release()) and not taken again. */
  isFree(base: number): boolean {
    return this.freed.has(base);
  }

  /** Bumped when cells are retired: a reader that laid the cells out lays them out again. */
  epoch = 0;

  /**
   * Retires the cells whose labels include `match` (an element that left the
   * engine, a port ovs-vsctl deleted): exporters drop their series. With
   * `retired` false they are exported again (the port added back).
   */
  retire(match: Record<string, string>, retired = true): void {
    for (const d of this.desc) {
      if (!matches(d, match)) continue;
      if (retired) d.retired = true;
      else delete d.retired;
    }
    this.epoch++;
  }

  /** Sum of all cells with this name whose labels include `match`. */
  sum(name: string, match: Record<string, string> = {}): number {
    let s = 0;
    this.desc.forEach((d, i) => {
      if (d.name !== name) return;
      for (const k in match) if (d.labels[k] !== match[k]) return;
      s += this.v[i]!;
    });
    return s;
  }

  clear(): void {
    this.v.fill(0);
  }
}

function matches(d: CounterDesc, match: Record<string, string>): boolean {
  for (const k in match) if (d.labels[k] !== match[k]) return false;
  return true;
}

export const PORT_COUNTERS = ['port_rx_packets', 'port_rx_bytes', 'port_tx_packets', 'port_tx_bytes', 'port_tx_dropped'] as const;
export const enum PC {
  RX_PACKETS = 0,
  RX_BYTES = 1,
  TX_PACKETS = 2,
  TX_BYTES = 3,
  TX_DROPPED = 4,
}

/** A fast-path cache's cells (metrics catalog FASTPATH_COUNTERS), one set per OVS bridge and per namespace. */
export const FASTPATH_CELLS = ['fastpath_hits', 'fastpath_misses', 'fastpath_invalidations', 'fastpath_entries', 'fastpath_flushes'] as const;
export const enum FC {
  HITS = 0,
  MISSES = 1,
  INVALIDATIONS = 2,
  ENTRIES = 3,
  FLUSHES = 4,
}

/** Per-element drop counters, one cell per reason, allocated together (one run). */
export function allocDrops(stats: Stats, labels: Record<string, string>): number {
  return stats.alloc(DROP_REASONS.map(() => 'drops'), labels, DROP_REASONS.map((reason) => ({ reason })));
}

export function dropIndex(base: number, reason: DropReason): number {
  return base + DROP_REASON_ID[reason];
}
