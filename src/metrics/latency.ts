// What is sampled, and how: the engine's run loop times one delivery in
// `every` (default 256) with performance.now() around the element's receive(),
// which is that element's own work (its outputs only queue while the loop
// runs), and one inject in `every` from the inject to the moment the loop is
// idle again (every hop and edge emit it caused). Each lands in a log2
// histogram in the engine's Stats: stage_latency per element, pipeline_latency
// per ingress node. A sample costs two performance.now() calls (about 65 ns
// each here), a Map lookup and two cell bumps; the rest of the hops pay one
// decrement. bench/metrics-cost.ts on the seed path (shared 2-core box, 3
// runs, % of throughput lost against no counters): counters -1.0 to 1.3,
// with 1 in 256 sampled -0.4 to 1.5, 1 in 64 -0.2 to 2.4, every delivery
// 19-22: 1 in 64 is affordable, 256 leaves room and still gives thousands
// of samples a second at line rate. The TAP workers time every frame from TAP read to TAP write themselves (src/io/tap-shared.ts).
import type { Engine, LatencyProbe } from '../datapath/engine.js';
import type { Element, Port } from '../datapath/element.js';
import type { Stats } from '../datapath/stats.js';
import { allocHistogram, observeNs } from './histogram.js';

export const DEFAULT_SAMPLE_EVERY = 256;

export class LatencySampler implements LatencyProbe {
  readonly every: number;
  hopLeft: number;
  injectLeft: number;
  private readonly stages = new Map<Element, number>();
  private readonly pipelines = new Map<string, number>();

  constructor(
    private readonly stats: Stats,
    every = DEFAULT_SAMPLE_EVERY,
  ) {
    if (!Number.isInteger(every) || every < 1) throw new Error(`latency sampling: every must be a positive integer, not ${every}`);
    this.every = this.hopLeft = this.injectLeft = every;
  }

  /** Reserve an element's histogram now, so the data path never allocates for it. */
  prepare(el: Element): number {
    let b = this.stages.get(el);
    if (b === undefined) {
      b = allocHistogram(this.stats, 'stage_latency', { node: el.node, element: el.name, kind: el.kind });
      this.stages.set(el, b);
    }
    return b;
  }

  /** Reserve a node's pipeline histogram now (as prepare() an element's). */
  pipelineBase(node: string): number {
    let b = this.pipelines.get(node);
    if (b === undefined) {
      b = allocHistogram(this.stats, 'pipeline_latency', { node });
      this.pipelines.set(node, b);
    }
    return b;
  }

  stage(el: Element, ms: number): void {
    observeNs(this.stats.v, this.stages.get(el) ?? this.prepare(el), ms * 1e6);
  }

  pipeline(port: Port, ms: number): void {
    observeNs(this.stats.v, this.pipelines.get(port.element.node) ?? this.pipelineBase(port.element.node), ms * 1e6);
  }
}

/** Turn sampling on for `engine` (histograms for its elements and nodes are reserved now). */
export function enableLatencySampling(engine: Engine, every = DEFAULT_SAMPLE_EVERY): LatencySampler {
  const s = new LatencySampler(engine.stats, every);
  for (const el of engine.elements) {
    s.prepare(el);
    // Every node's, not only those a sample happened to start in: the series are the same whichever thread samples.
    if (el.kind !== 'fabric') s.pipelineBase(el.node);
  }
  engine.latency = s;
  return s;
}
