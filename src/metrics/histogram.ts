// Latency histograms in the same shared memory as the counters (DESIGN.md
// principle 7): power-of-two nanosecond buckets, one Float64Array cell each,
// then the sum in seconds. Observing is a clz32 and two cell bumps; the
// exporter makes the buckets cumulative and takes the count from them at
// scrape time, so _count always equals the +Inf bucket even mid-update.
import type { Stats } from '../datapath/stats.js';

/** Smallest finite bucket: 2^7 ns = 128 ns (below performance.now()'s useful resolution). */
export const HIST_MIN_EXP = 7;
/** Largest finite bucket: 2^27 ns ≈ 134 ms; anything slower is a stall, counted in +Inf. */
export const HIST_MAX_EXP = 27;
const MAX_NS = 2 ** HIST_MAX_EXP;
/** Finite buckets plus +Inf. */
export const HIST_BUCKETS = HIST_MAX_EXP - HIST_MIN_EXP + 2;
/** Cells per histogram: buckets, then the sum. */
export const HIST_CELLS = HIST_BUCKETS + 1;

/** Upper bounds of the finite buckets, in seconds (Prometheus' base unit). */
export const HIST_BOUNDS_SECONDS: readonly number[] = Array.from(
  { length: HIST_BUCKETS - 1 },
  (_, i) => 2 ** (HIST_MIN_EXP + i) / 1e9,
);

/** Cell-name suffixes, so a histogram's cells describe themselves in Stats.desc. */
export const HIST_SUFFIXES = { bucket: '_bucket', sum: '_sum' } as const;

/** Reserve one histogram named `name` (a catalog name such as 'stage_latency') with these labels. */
export function allocHistogram(stats: Stats, name: string, labels: Record<string, string>): number {
  const names = [
    ...Array.from({ length: HIST_BUCKETS }, () => name + HIST_SUFFIXES.bucket),
    name + HIST_SUFFIXES.sum,
  ];
  return stats.alloc(names, labels);
}

/** Bucket index of a duration in nanoseconds: the smallest 2^k >= ns, clamped to the range. */
export function bucketOf(ns: number): number {
  if (!(ns > 1)) return 0; // also NaN and negatives (a clock step)
  if (ns > MAX_NS) return HIST_BUCKETS - 1;
  const b = 32 - Math.clz32(Math.ceil(ns) - 1) - HIST_MIN_EXP;
  return b < 0 ? 0 : b;
}

/** Record one duration (nanoseconds) in the histogram at `base`. Allocation-free. */
export function observeNs(v: Float64Array, base: number, ns: number): void {
  v[base + bucketOf(ns)]!++;
  v[base + HIST_BUCKETS]! += ns > 0 ? ns * 1e-9 : 0;
}

export interface HistogramSnapshot {
  /** Cumulative counts per finite bound, then +Inf (= count). */
  cumulative: number[];
  sum: number;
  count: number;
}

/** Add the histogram at `base` in `v` into `into` (cumulative), for summing worker slots. */
export function addHistogram(v: Float64Array, base: number, into: HistogramSnapshot): void {
  let acc = 0;
  for (let i = 0; i < HIST_BUCKETS; i++) {
    acc += v[base + i]!;
    into.cumulative[i]! += acc;
  }
  into.sum += v[base + HIST_BUCKETS]!;
  into.count += acc;
}

export function emptyHistogram(): HistogramSnapshot {
  return { cumulative: new Array<number>(HIST_BUCKETS).fill(0), sum: 0, count: 0 };
}
