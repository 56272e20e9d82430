// What statistics cost: throughput of the metrics tests' 9-stage path
// (test/unit/metrics-fixtures.ts) with the engine's counters on (as shipped)
// and off (the same engine.ts with every counter bump removed, generated at
// run time), and with latency sampling at 1 in 64 and at every delivery.
// Each run is its own process (fresh JIT), variants alternate, medians are
// reported. Also times one full scrape, which runs on the data path's thread.
//   node --import tsx bench/metrics-cost.ts [--rounds 5] [--frames 200000]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const VARIANTS = ['off', 'on', 'on+sample64', 'on+sample1'] as const;
type Variant = (typeof VARIANTS)[number];

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

/** engine.ts without its counter bumps: the "statistics off" engine. */
function engineWithoutStats(dir: string): string {
  const src = readFileSync(join(here, '../src/datapath/engine.ts'), 'utf8');
  let removed = 0;
  const out = src
    .replace(/^(\s*)(else )?(this\.stats\.v|v)\[[^\n]*\]!?(\+\+| \+= [^;\n]+);$/gm, (_m, ind: string, els?: string) => {
      removed++;
      return els ? `${ind}else {}` : `${ind}// (counter removed)`;
    })
    .replace(/from '\.\/([a-z-]+)\.js'/g, (_m, f: string) => `from '${pathToFileURL(resolve(here, '../src/datapath', `${f}.js`)).href}'`);
  // output: tx packets, tx bytes, tx dropped; run: rx packets, rx bytes; drop; clone; alloc; internal_error x1.
  if (removed < 9) throw new Error(`expected at least 9 counter bumps in engine.ts, found ${removed}: update the pattern`);
  const file = join(dir, 'engine-nostats.ts');
  writeFileSync(file, out);
  return file;
}

async function child(variant: Variant, frames: number, engineFile: string): Promise<void> {
  const { buildPath, request } = await import('../test/unit/metrics-fixtures.js');
  const { enableLatencySampling } = await import('../src/metrics/latency.js');
  const { registerCollectors } = await import('../src/metrics/collectors.js');
  const { Engine } = (await import(variant === 'off' ? pathToFileURL(engineFile).href : '../src/datapath/engine.js')) as typeof import('../src/datapath/engine.js');
  const { ManualClock } = await import('../src/datapath/clock.js');
  const rig = buildPath({ engine: new Engine({ clock: new ManualClock(0) }) });
  if (variant === 'on+sample64') enableLatencySampling(rig.e, 64);
  if (variant === 'on+sample1') enableLatencySampling(rig.e, 1);
  const frame = request();
  const run = (n: number) => {
    for (let i = 0; i < n; i++) rig.send(frame);
    rig.out.frames.length = 0;
  };
  run(Math.min(50_000, frames)); // warm-up: JIT and conntrack entry
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < frames; done += 1000) run(1000);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  let scrapeMs = 0;
  if (variant === 'on+sample64') {
    const c = registerCollectors({ engine: rig.e });
    await c.registry.metrics();
    const t = performance.now();
    for (let i = 0; i < 20; i++) await c.registry.metrics();
    scrapeMs = (performance.now() - t) / 20;
  }
  process.stdout.write(JSON.stringify({ variant, pps: frames / s, scrapeMs }) + '\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const frames = arg('--frames', 200_000);
  const ci = process.argv.indexOf('--child');
  if (ci > 0) return child(process.argv[ci + 1] as Variant, frames, process.argv[ci + 2]!);
  const rounds = arg('--rounds', 5);
  const dir = mkdtempSync(join(tmpdir(), 'dpe-bench-'));
  try {
    const engineFile = engineWithoutStats(dir);
    const results = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
    let scrapeMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const v of VARIANTS) {
        const p = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', v, engineFile, '--frames', String(frames)], { encoding: 'utf8' });
        if (p.status !== 0) throw new Error(`${v}: ${p.stderr}`);
        const res = JSON.parse(p.stdout.trim().split('\n').at(-1)!) as { pps: number; scrapeMs: number };
        results.get(v)!.push(res.pps);
        if (res.scrapeMs) scrapeMs.push(res.scrapeMs);
      }
    }
    const off = median(results.get('off')!);
    console.log(`path: 9 stages (w07 qbr -> br-int -> br-tun -> eth2 -> fabric -> w02 eth2 -> br-tun -> br-int -> snat stand-in), ${frames} frames x ${rounds} runs per variant, median`);
    for (const v of VARIANTS) {
      const m = median(results.get(v)!);
      const runs = results.get(v)!.map((x) => Math.round(x / 1000)).join(' ');
      console.log(`${v.padEnd(12)} ${Math.round(m).toLocaleString('en-US').padStart(9)} frames/s  ${v === 'off' ? 'baseline' : `${(((off - m) / off) * 100).toFixed(1)} % lost`}   (runs, k/s: ${runs})`);
    }
    scrapeMs = scrapeMs.length ? scrapeMs : [NaN];
    const sm = median(scrapeMs);
    console.log(`one scrape of this engine: ${sm.toFixed(2)} ms on the data path's thread = ${((sm / 5000) * 100).toFixed(3)} % of a 5 s scrape interval`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
