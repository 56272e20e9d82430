// What every benchmark group shares: options, named figures with their unit
// and conditions, summary statistics, and how a group hands its figures to
// bench/run.ts (one JSON document on stdout; progress goes to stderr).
import { cpus, totalmem } from 'node:os';

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

export interface BenchOptions {
  quick: boolean;
}

export function parseOptions(argv = process.argv.slice(2)): BenchOptions {
  return { quick: argv.includes('--quick') };
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
