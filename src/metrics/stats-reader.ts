// Reads Stats cells into metric families at scrape time. Several Stats (one
// per worker, the same layout or not) are summed series by series, so workers
// bump their own cells without locks and the scrape adds them up. What each
// cell means is worked out once per cell, when it first appears in desc.
import type { Stats, CounterDesc } from '../datapath/stats.js';
import { CELL_METRICS, type MetricSpec } from './catalog.js';
import { HIST_CELLS, HIST_SUFFIXES, addHistogram, emptyHistogram, type HistogramSnapshot } from './histogram.js';

export type Labels = Record<string, string>;
export interface ScalarSeries {
  labels: Labels;
  value: number;
}
export interface HistogramSeries {
  labels: Labels;
  hist: HistogramSnapshot;
}
export interface Family {
  spec: MetricSpec;
  /** Keyed by the sorted label pairs, so sources sum into one series. */
  scalars: Map<string, ScalarSeries>;
  hists: Map<string, HistogramSeries>;
}

interface Cell {
  idx: number;
  spec: MetricSpec;
  key: string;
  labels: Labels;
}

/**
 * Cells skipped on purpose: 'consumed' is in DROP_REASONS but is not a drop
 * (engine.consumed counts it); a retired cell's element is gone, and so is its
 * series, as an exporter drops a deleted bridge's.
 */
const SKIP = (d: CounterDesc): boolean => d.retired === true || (d.name === 'drops' && d.labels.reason === 'consumed');

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function cleanLabels(l: Record<string, string>): Labels {
  const out: Labels = {};
  for (const k of Object.keys(l).sort()) out[LABEL_NAME.test(k) && !k.startsWith('__') ? k : `_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`] = String(l[k]);
  return out;
}

export function labelKey(l: Labels): string {
  let s = '';
  for (const k of Object.keys(l).sort()) s += `${k}\u0000${l[k]}\u0001`;
  return s;
}

/** The spec of a cell name not in the catalog: exported as-is, as a gauge (a unit test keeps this list empty). */
export function uncatalogued(name: string): MetricSpec {
  return { name: `dpemu_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`, type: 'gauge', help: `Uncatalogued dpemu cell ${name}.`, labels: [] };
}

class Layout {
  /** How far desc has been looked at. */
  seen = 0;
  constructor(readonly epoch: number) {}
  /** Cells by Prometheus name, so one family reads only its own cells. */
  readonly families = new Map<string, { scalars: Cell[]; hists: Cell[] }>();
  readonly uncatalogued = new Set<string>();

  private family(spec: MetricSpec): { scalars: Cell[]; hists: Cell[] } {
    let f = this.families.get(spec.name);
    if (!f) this.families.set(spec.name, (f = { scalars: [], hists: [] }));
    return f;
  }

  update(desc: readonly CounterDesc[]): void {
    let i = this.seen;
    while (i < desc.length) {
      const d = desc[i]!;
      if (SKIP(d)) {
        i++;
        continue;
      }
      const labels = cleanLabels(d.labels);
      const key = labelKey(labels);
      const stem = d.name.endsWith(HIST_SUFFIXES.bucket) ? d.name.slice(0, -HIST_SUFFIXES.bucket.length) : null;
      const hs = stem !== null ? CELL_METRICS[stem] : undefined;
      if (hs && hs.type === 'histogram') {
        // allocHistogram reserved the buckets and the sum in one alloc().
        this.family(hs).hists.push({ idx: i, spec: hs, key, labels });
        i += HIST_CELLS;
        continue;
      }
      let spec = CELL_METRICS[d.name];
      if (!spec || spec.type === 'histogram') {
        spec = uncatalogued(d.name);
        this.uncatalogued.add(d.name);
      }
      this.family(spec).scalars.push({ idx: i, spec, key, labels });
      i++;
    }
    this.seen = i;
  }
}

export class StatsReader {
  private readonly layouts = new Map<Stats, Layout>();

  constructor(readonly sources: readonly Stats[]) {}

  /** Cell names with no catalog entry (exported as gauges named dpemu_<name>). */
  uncatalogued(): string[] {
    const out = new Set<string>();
    for (const s of this.sources) for (const n of this.layout(s).uncatalogued) out.add(n);
    return [...out];
  }

  private layout(s: Stats): Layout {
    let l = this.layouts.get(s);
    // Cells retired since: laid out afresh (a del-br, not a scrape's cost).
    if (!l || l.epoch !== s.epoch) this.layouts.set(s, (l = new Layout(s.epoch)));
    l.update(s.desc);
    return l;
  }

  /** Families with their series, summed over the sources, keyed by Prometheus name; `only` reads one. */
  read(into = new Map<string, Family>(), only?: string): Map<string, Family> {
    for (const s of this.sources) {
      const l = this.layout(s);
      const v = s.v;
      for (const [name, cells] of l.families) {
        if (only !== undefined && name !== only) continue;
        for (const c of cells.scalars) {
          const f = family(into, c.spec);
          const cur = f.scalars.get(c.key);
          if (cur) cur.value += v[c.idx]!;
          else f.scalars.set(c.key, { labels: c.labels, value: v[c.idx]! });
        }
        for (const c of cells.hists) {
          const f = family(into, c.spec);
          let cur = f.hists.get(c.key);
          if (!cur) f.hists.set(c.key, (cur = { labels: c.labels, hist: emptyHistogram() }));
          addHistogram(v, c.idx, cur.hist);
        }
      }
    }
    return into;
  }
}

export function family(into: Map<string, Family>, spec: MetricSpec): Family {
  let f = into.get(spec.name);
  if (!f) into.set(spec.name, (f = { spec, scalars: new Map(), hists: new Map() }));
  return f;
}
