// Counters in shared memory (DESIGN.md principle 7): elements bump plain
// Float64Array cells; an exporter reads them at scrape time. Each cell has a
// description (name and labels) kept beside it, written once at setup.
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

  constructor(capacity = 1 << 16) {
    this.sab = new SharedArrayBuffer(capacity * 8);
    this.v = new Float64Array(this.sab);
  }

  /** Reserve `names.length` consecutive cells with the same labels; returns the first index. */
  alloc(names: readonly string[], labels: Record<string, string>): number {
    const base = this.desc.length;
    if (base + names.length > this.v.length) throw new Error('stats: capacity exhausted');
    for (const name of names) this.desc.push({ name, labels });
    return base;
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
      let all = true;
      for (const k in match) if (d.labels[k] !== match[k]) all = false;
      if (!all) continue;
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

/** Per-element drop counters, one cell per reason, allocated together. */
export function allocDrops(stats: Stats, labels: Record<string, string>): number {
  const base = stats.desc.length;
  for (const reason of DROP_REASONS) stats.alloc(['drops'], { ...labels, reason });
  return base;
}

export function dropIndex(base: number, reason: DropReason): number {
  return base + DROP_REASON_ID[reason];
}
