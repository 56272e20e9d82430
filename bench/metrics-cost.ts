// What statistics cost: throughput of the metrics tests' 9-stage path
// (test/unit/metrics-fixtures.ts) with the engine's counters off (engine.ts
// with every counter bump removed, generated at run time), on (as shipped),
// and on with latency sampling at 1 in 256 (the default), 1 in 64 and at
// every delivery. The variants
// run side by side in one process, in short alternating slices, and each is
// compared with the "off" slice of the same round: on a shared 2-core box the
// load drifts, and paired ratios cancel the drift. Also times one scrape,
// which runs on the data path's thread.
//   node --import tsx bench/metrics-cost.ts [--rounds 200] [--slice 2000]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Engine } from '../src/datapath/engine.js';
import { ManualClock } from '../src/datapath/clock.js';
import { enableLatencySampling } from '../src/metrics/latency.js';
import { registerCollectors } from '../src/metrics/collectors.js';
import { buildPath, request } from '../test/unit/metrics-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));

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
  // output: tx dropped, tx packets, tx bytes; drop; clone; alloc; run: rx packets, rx bytes, internal_error.
  if (removed < 9) throw new Error(`expected 9 counter bumps in engine.ts, found ${removed}: update the pattern`);
  const file = join(dir, 'engine-nostats.ts');
  writeFileSync(file, out);
  return file;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const rounds = arg('--rounds', 200);
  const slice = arg('--slice', 2000);
  const dir = mkdtempSync(join(tmpdir(), 'dpe-bench-'));
  try {
    const { Engine: EngineNoStats } = (await import(pathToFileURL(engineWithoutStats(dir)).href)) as { Engine: typeof Engine };
    const mk = (E: typeof Engine) => buildPath({ engine: new E({ clock: new ManualClock(0) }) });
    const variants = [
      { name: 'off', rig: mk(EngineNoStats) },
      { name: 'on', rig: mk(Engine) },
      { name: 'on+sample256', rig: mk(Engine) },
      { name: 'on+sample64', rig: mk(Engine) },
      { name: 'on+sample1', rig: mk(Engine) },
    ];
    enableLatencySampling(variants[2]!.rig.e, 256); // the default
    enableLatencySampling(variants[3]!.rig.e, 64);
    enableLatencySampling(variants[4]!.rig.e, 1);
    const frame = request();
    const run = (rig: ReturnType<typeof mk>, n: number): number => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < n; i++) rig.send(frame);
      const ns = Number(process.hrtime.bigint() - t);
      rig.out.frames.length = 0;
      return (n / ns) * 1e9;
    };
    for (const v of variants) run(v.rig, 50_000); // warm-up: JIT, conntrack entry
    const pps = variants.map(() => [] as number[]);
    const ratio = variants.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      // Rotate the order so no variant always runs first after a GC.
      const order = variants.map((_, i) => (i + r) % variants.length);
      const got: number[] = [];
      for (const i of order) got[i] = run(variants[i]!.rig, slice);
      got.forEach((x, i) => {
        pps[i]!.push(x);
        ratio[i]!.push(x / got[0]!);
      });
    }
    console.log(`path: 9 stages (w07 qbr, br-int, br-tun, eth2, fabric, w02 eth2, br-tun, br-int, snat stand-in); ${rounds} rounds of ${slice} frames per variant`);
    variants.forEach((v, i) => {
      const lost = (1 - median(ratio[i]!)) * 100;
      console.log(`${v.name.padEnd(13)} ${Math.round(median(pps[i]!)).toLocaleString('en-US').padStart(9)} frames/s (median slice)  ${i === 0 ? 'baseline' : `${lost.toFixed(1)} % lost (median of paired ratios)`}`);
    });
    const c = registerCollectors({ engine: variants[2]!.rig.e });
    c.sync();
    await c.registry.metrics();
    const t = performance.now();
    for (let i = 0; i < 20; i++) {
      c.sync();
      await c.registry.metrics();
    }
    const ms = (performance.now() - t) / 20;
    console.log(`one scrape of this engine: ${ms.toFixed(2)} ms on the data path's thread = ${((ms / 5000) * 100).toFixed(3)} % of a 5 s scrape interval`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
