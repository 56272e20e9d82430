// What every benchmark group shares: options, named figures with their unit
// and conditions, summary statistics, and how a group hands its figures to
// bench/run.ts (one JSON document on stdout; progress goes to stderr).
import { cpus, totalmem } from 'node:os';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { cli, type Cli, type Options } from './args.js';

export interface Target {
  /** How the figure is compared with the target. */
  op: '>=' | '<=';
  value: number;
  met: boolean;
}

export interface Figure {
  /** Dotted name, stable across runs (the JSON key). */
  name: string;
  value: number;
  unit: string;
  /** Spread of the runs or samples behind `value`. */
  spread?: { min: number; max: number } | { rmePct: number };
  /** Frame size, flows, workers, duration, runs ... */
  conditions: Record<string, string | number | boolean>;
  target?: Target;
  note?: string;
}

/**
 * What a group's script takes on its command line: --quick (shorter runs,
 * fewer samples), --json (accepted for symmetry: a group always prints its
 * figures as one JSON line), and its own `extra` options. Usage errors exit 2.
 */
export function parseOptions(usage: string, extra: Options = {}): Cli & { quick: boolean } {
  const c = cli(usage, { quick: { type: 'boolean' }, json: { type: 'boolean' }, ...extra });
  return { ...c, quick: c.flag('quick') };
}

export function target(value: number, op: Target['op'], bound: number): Target {
  return { op, value: bound, met: op === '>=' ? value >= bound : value <= bound };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

export function spreadOf(xs: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...xs), max: Math.max(...xs) };
}

/** Seconds since `t0` (from process.hrtime.bigint()). */
export function secondsSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/** A full collection when node runs with --expose-gc (the groups that measure memory do). */
export function fullGc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

export function progress(msg: string): void {
  process.stderr.write(`  ${msg}\n`);
}

export function machine(): Record<string, string | number> {
  const c = cpus();
  return {
    node: process.version,
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
  };
}

/** A group's output: its figures as one JSON document on stdout. */
export function emit(group: string, figures: Figure[]): void {
  process.stdout.write(JSON.stringify({ group, figures }) + '\n');
}

/** Send console.log (benny prints with it) to stderr, so stdout stays one JSON document. */
export function quietStdout(): void {
  console.log = (...args: unknown[]) => process.stderr.write(args.map(String).join(' ') + '\n');
}

export interface HeapAllocation {
  /** The median clean chunk's bytes per operation: what every operation allocates. */
  bytesPerOp: number;
  /** Over all clean chunks, one-off growth included (V8 compiling code, a table's first growth). */
  meanBytesPerOp: number;
  /** The largest clean chunk's bytes per operation. */
  maxBytesPerOp: number;
  /** Chunks measured, and how many of them had no collection in them (the ones counted). */
  chunks: number;
  chunksClean: number;
  opsCounted: number;
}

/**
 * JavaScript heap bytes allocated per operation in steady state: V8's
 * used_heap_size before and after chunks of `perChunk` operations, counting
 * only chunks that no collection ran in (collections are timed by a gc
 * observer, reported after the fact), less what reading the statistics
 * allocates itself (measured around an empty chunk). The figure is the
 * median chunk's: an allocation per operation shows in every chunk, while
 * one-off growth (optimized code, a table's first resize: a few hundred kB
 * in one chunk now and then) would otherwise read as bytes per operation
 * in the mean, which comes beside it. Node 20 has no
 * allocated-bytes counter; the sampling heap profiler (bench/profile.ts)
 * says where the bytes come from, this only how many.
 */
export async function heapBytesPerOp(step: (n: number) => void, perChunk: number, chunks: number): Promise<HeapAllocation> {
  const gcAt: number[] = [];
  const obs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) gcAt.push(e.startTime, e.startTime + e.duration);
  });
  obs.observe({ entryTypes: ['gc'] });
  const used = () => getHeapStatistics().used_heap_size;
  const win: { t0: number; t1: number; bytes: number; empty: boolean }[] = [];
  for (let k = 0; k < 2 * chunks; k++) {
    const empty = k % 2 === 1; // an empty chunk after each measured one: the reading's own cost
    const t0 = performance.now();
    const u0 = used();
    if (!empty) step(perChunk);
    const u1 = used();
    win.push({ t0, t1: performance.now(), bytes: u1 - u0, empty });
  }
  await new Promise((r) => setTimeout(r, 20)); // gc entries are delivered on the event loop
  obs.disconnect();
  const clean = win.filter((w) => {
    for (let i = 0; i < gcAt.length; i += 2) if (gcAt[i]! <= w.t1 && gcAt[i + 1]! >= w.t0) return false;
    return w.bytes >= 0;
  });
  const full = clean.filter((w) => !w.empty), empties = clean.filter((w) => w.empty);
  const overhead = median(empties.map((w) => w.bytes));
  const perOp = full.map((w) => Math.max(0, (w.bytes - overhead) / perChunk));
  const ops = full.length * perChunk;
  if (!ops) return { bytesPerOp: NaN, meanBytesPerOp: NaN, maxBytesPerOp: NaN, chunks, chunksClean: 0, opsCounted: 0 };
  return {
    bytesPerOp: median(perOp), meanBytesPerOp: perOp.reduce((a, b) => a + b, 0) / perOp.length, maxBytesPerOp: Math.max(...perOp),
    chunks, chunksClean: full.length, opsCounted: ops,
  };
}
