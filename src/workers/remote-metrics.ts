// /metrics of a partitioned datapath: each worker reads its own nodes with
// the same collectors (worker-control.ts) and answers their JSON; here it is
// joined with this thread's registry (TAPs, rings, the process) and the
// workers' loop counters by prom-client's AggregatorRegistry.aggregate, the
// join made for cluster workers: series with the same name and labels are
// summed (a setting such as the sampling ratio takes the largest), so the
// exposition is the one a single emulator of the same nodes would give.
import { AggregatorRegistry } from 'prom-client';
import type { Collectors, MetricJson, MetricsSource } from '../metrics/index.js';
import { DATAPATH_WORKER_METRICS } from '../metrics/catalog.js';
import type { MetricSpec } from '../metrics/catalog.js';
import type { PartitionedDatapath } from './supervisor.js';
import { WORKER_COUNTERS, type WC } from './layout.js';

export interface PartitionedMetricsOptions {
  /** Latency sampling in the workers (one in N deliveries); null: off. */
  sampleEvery: number | null;
}

export class PartitionedMetrics implements MetricsSource {
  constructor(
    private readonly dp: PartitionedDatapath,
    /** This thread's own collectors. */
    private readonly main: Collectors,
    private readonly opts: PartitionedMetricsOptions,
  ) {}

  /** Every worker's metrics, once (sampling starts now rather than at the first scrape). */
  async start(): Promise<void> {
    await this.workers(false);
  }

  private async workers(flows: boolean): Promise<MetricJson[][]> {
    const asked = Array.from({ length: this.dp.workers }, (_, w) =>
      this.dp.request<MetricJson[]>(w, { op: 'metrics', flows, sampleEvery: this.opts.sampleEvery }),
    );
    // A worker being restarted misses this scrape (its counters start again from zero, as a process's do).
    return (await Promise.allSettled(asked)).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /** The supervisor's counters of each worker's loop, its restarts and its learned-state journal. */
  loopCounters(): MetricJson[] {
    const fam = (spec: MetricSpec, value: (w: number) => number): MetricJson => ({
      name: spec.name,
      help: spec.help,
      type: spec.type,
      aggregator: 'sum',
      values: Array.from({ length: this.dp.workers }, (_, w) => ({ labels: { worker: `datapath-${w}` }, value: value(w) })),
    });
    const out = WORKER_COUNTERS.map((n) => fam(DATAPATH_WORKER_METRICS[n]!, (w) => this.dp.counter(w, n.toUpperCase() as keyof typeof WC)));
    out.push(fam(DATAPATH_WORKER_METRICS.restarts!, (w) => this.dp.restarts[w]!));
    const journals = Array.from({ length: this.dp.workers }, (_, w) => this.dp.journal(w));
    out.push(
      fam(DATAPATH_WORKER_METRICS.journal_records!, (w) => journals[w]!.records),
      fam(DATAPATH_WORKER_METRICS.journal_dropped!, (w) => journals[w]!.overflows),
      fam(DATAPATH_WORKER_METRICS.journal_rewrites!, (w) => journals[w]!.resyncs),
      fam(DATAPATH_WORKER_METRICS.journal_unread!, (w) => journals[w]!.unread),
      fam(DATAPATH_WORKER_METRICS.journal_capacity!, (w) => journals[w]!.capacity),
    );
    return out;
  }

  async exposition(flows: boolean): Promise<{ contentType: string; body: string }> {
    this.main.sync();
    const own = [await this.main.registry.getMetricsAsJSON(), ...(flows ? [await this.main.flowRegistry.getMetricsAsJSON()] : [])];
    const reg = AggregatorRegistry.aggregate([...own, ...(await this.workers(flows)), this.loopCounters()]);
    return { contentType: reg.contentType, body: await reg.metrics() };
  }
}
