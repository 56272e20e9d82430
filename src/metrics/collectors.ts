// prom-client collectors over shared memory (DESIGN.md principle 7): each
// family is a prom-client metric whose get() reads Stats cells and element
// state when the registry is scraped. Nothing here runs per packet; a scrape
// reads each cell once (cells are grouped by family when they first appear).
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { Engine } from '../datapath/engine.js';
import type { Stats } from '../datapath/stats.js';
import { CELL_METRICS, CONNTRACK_STAT_METRICS, FLOW_METRICS, SCRAPE_METRICS, type MetricSpec } from './catalog.js';
import { HIST_BOUNDS_SECONDS } from './histogram.js';
import { StatsReader, type Family } from './stats-reader.js';
import { put, readEngine, readFlows } from './element-metrics.js';

export interface CollectorOptions {
  /** The engine: its Stats, its elements' tables and conntrack, its slab. */
  engine?: Engine;
  /** More Stats to sum in (one per worker), or the only source when there is no engine. */
  stats?: Stats | readonly Stats[];
  /** Register into this registry (default: a new one). */
  registry?: Registry;
  /** Called before each read, to bring state cells up to date (the TAP rings' occupancy, workers' busy time). */
  refresh?: () => void;
  /** prom-client's process and Node.js metrics (process_*, nodejs_*; unprefixed, as dashboards expect). Default true. */
  processMetrics?: boolean;
  /**
   * Export this thread's event-loop busy time as worker="main" (default
   * true). Off in a datapath worker: its loop never idles in the event loop,
   * and the supervisor exports its busy time as worker="datapath-N".
   */
  threadBusy?: boolean;
}

/** One family as Registry.getMetricsAsJSON() gives it (what AggregatorRegistry.aggregate() takes). */
export interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

export interface Collectors {
  /** Bounded families: what /metrics serves. */
  readonly registry: Registry;
  /** Per-flow families: added to a scrape only on request (/metrics?flows=1). */
  readonly flowRegistry: Registry;
  /** Register families for cells that appeared since the last call (new elements, workers, TAPs). */
  sync(): void;
  /** One read of everything, keyed by Prometheus name (tests, the control interface). */
  read(only?: string): Map<string, Family>;
  /** Cell names with no catalog entry. */
  uncatalogued(): string[];
  /**
   * What registry.getMetricsAsJSON() (with the flow families too, if asked)
   * would give, without a promise: a datapath worker's loop never yields
   * to settle one.
   */
  json(flows?: boolean): MetricJson[];
}

type Value = { value: number; labels: Record<string, string | number>; metricName?: string };

function values(f: Family | undefined): Value[] {
  if (!f) return [];
  const out: Value[] = [];
  for (const s of f.scalars.values()) out.push({ labels: s.labels, value: s.value });
  const name = f.spec.name;
  for (const s of f.hists.values()) {
    const cum = s.hist.cumulative;
    for (let i = 0; i < cum.length; i++) {
      const le = i < HIST_BOUNDS_SECONDS.length ? HIST_BOUNDS_SECONDS[i]! : '+Inf';
      out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le }, value: cum[i]! });
    }
    out.push({ metricName: `${name}_sum`, labels: s.labels, value: s.hist.sum });
    out.push({ metricName: `${name}_count`, labels: s.labels, value: s.hist.count });
  }
  return out;
}

/** A prom-client metric of the spec's type whose get() returns what `current(name)` reads. */
function familyMetric(spec: MetricSpec, current: (name: string) => Family | undefined): Metric {
  const cfg = { name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [] };
  const m: Metric =
    spec.type === 'counter' ? new Counter(cfg) : spec.type === 'gauge' ? new Gauge(cfg) : new Histogram({ ...cfg, buckets: [...HIST_BOUNDS_SECONDS] });
  // The registry prints what get() returns (getForPromString() where a metric has one, as
  // Histogram does): name, help, type (a string at run time) and values. A test pins this.
  const get = async (): Promise<unknown> => familyJson(spec, current(spec.name));
  Object.assign(m, spec.type === 'histogram' ? { get, getForPromString: get } : { get });
  return m;
}

function familyJson(spec: MetricSpec, f: Family | undefined): MetricJson {
  return { name: spec.name, help: spec.help, type: spec.type, aggregator: spec.aggregator ?? 'sum', values: values(f) };
}

/** Families readEngine() fills; the others come from Stats cells only. */
const ENGINE_FAMILIES = new Set(
  [...Object.values(SCRAPE_METRICS), ...Object.values(CONNTRACK_STAT_METRICS), CELL_METRICS.conntrack_entries!, CELL_METRICS.conntrack_max!].map((s) => s.name),
);

export function registerCollectors(opts: CollectorOptions): Collectors {
  const sources: Stats[] = [];
  if (opts.engine) sources.push(opts.engine.stats);
  if (opts.stats) for (const s of Array.isArray(opts.stats) ? opts.stats : [opts.stats]) if (!sources.includes(s)) sources.push(s);
  if (!sources.length) throw new Error('metrics: give an engine or at least one Stats');
  const reader = new StatsReader(sources);
  const engine = opts.engine;

  // Each family reads afresh when scraped, its own cells only (plus a walk
  // over the elements for the families that come from them): no snapshot
  // to go stale between scrapes.
  const read = (only?: string): Map<string, Family> => {
    opts.refresh?.();
    const m = reader.read(new Map(), only);
    if (engine && (only === undefined || ENGINE_FAMILIES.has(only))) readEngine(engine, m);
    // The exporter's own thread: event-loop active time, the same meaning as a worker's busy seconds.
    if ((opts.threadBusy ?? true) && (only === undefined || only === SCRAPE_METRICS.mainBusy.name)) {
      put(m, SCRAPE_METRICS.mainBusy, { worker: 'main' }, performance.eventLoopUtilization().active / 1000);
    }
    return m;
  };
  const current = (name: string): Family | undefined => read(name).get(name);

  const registry = opts.registry ?? new Registry();
  if (opts.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // Gauges named *_total fail promtool's lint; the per-type gauges beside them carry the same totals.
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(n);
  }
  const registered = new Set<string>();
  const sync = (): void => {
    for (const f of read().values()) {
      if (registered.has(f.spec.name)) continue;
      registered.add(f.spec.name);
      registry.registerMetric(familyMetric(f.spec, current));
    }
  };
  sync();

  const flowRegistry = new Registry();
  const flows = (name: string): Family | undefined => {
    const m = new Map<string, Family>();
    if (engine) readFlows(engine, m);
    return m.get(name);
  };
  for (const spec of Object.values(FLOW_METRICS)) flowRegistry.registerMetric(familyMetric(spec, flows));

  const json = (withFlows = false): MetricJson[] => {
    sync();
    const out = [...read().values()].map((f) => familyJson(f.spec, f));
    if (withFlows) {
      const m = new Map<string, Family>();
      if (engine) readFlows(engine, m);
      for (const spec of Object.values(FLOW_METRICS)) out.push(familyJson(spec, m.get(spec.name)));
    }
    return out;
  };

  return { registry, flowRegistry, sync, read, uncatalogued: () => reader.uncatalogued(), json };
}
