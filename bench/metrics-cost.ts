// What statistics cost: throughput of the write-up's request path (the
// seed topology as bench/lib/seed.ts rigs it: UDP flows from the VM port on
// w07 to eth3 on w02, warmed) with the engine's counters off (engine.ts with
// every counter bump removed, generated at run time), on, and on with latency
// sampling at 1 in 256 (the default), 1 in 64 and every delivery. Each rig's
// engine gets its variant's methods (both variants are generated copies, so
// they are treated alike). The variants run side by side in one process, in
// short alternating slices, each compared with the "off" slice of the same
// round: on a shared 2-core box the load drifts, and paired ratios cancel
// the drift. Also times one scrape, which runs on the data path's thread.
//   node --import tsx bench/metrics-cost.ts [--rounds 200] [--slice 2000] [--flows 64]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Engine } from '../src/datapath/engine.js';
import { enableLatencySampling } from '../src/metrics/latency.js';
import { registerCollectors } from '../src/metrics/collectors.js';
import { buildRig, pump, warm, type Rig } from './lib/seed.js';
import { cli } from './lib/args.js';

const here = dirname(fileURLToPath(import.meta.url));

const opts = cli('node --import tsx bench/metrics-cost.ts [--rounds 200] [--slice 2000] [--flows 64]', {
  rounds: { type: 'string' }, slice: { type: 'string' }, flows: { type: 'string' },
});

/** A copy of engine.ts, with its counter bumps removed when `strip`: the "statistics off" engine. */
function engineCopy(dir: string, strip: boolean): string {
  const src = readFileSync(join(here, '../src/datapath/engine.ts'), 'utf8');
  let removed = 0;
  let out = src.replace(/from '\.\/([a-z-]+)\.js'/g, (_m, f: string) => `from '${pathToFileURL(resolve(here, '../src/datapath', `${f}.js`)).href}'`);
  if (strip) {
    out = out.replace(/^(\s*)(else )?(this\.stats\.v|v)\[[^\n]*\]!?(\+\+| \+= [^;\n]+);$/gm, (_m, ind: string, els?: string) => {
      removed++;
      return els ? `${ind}else {}` : `${ind}// (counter removed)`;
    });
    // output: tx dropped, tx packets, tx bytes; drop; clone; alloc; run: rx packets, rx bytes, internal_error.
    if (removed !== 9) throw new Error(`expected 9 counter bumps in engine.ts, found ${removed}: update the pattern`);
  }
  const file = join(dir, strip ? 'engine-nostats.ts' : 'engine-copy.ts');
  writeFileSync(file, out);
  return file;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const rounds = opts.num('rounds', 200, 1);
  const slice = opts.num('slice', 2000, 1);
  const flows = opts.num('flows', 64, 1);
  const dir = mkdtempSync(join(tmpdir(), 'dpe-bench-'));
  try {
    const load = async (strip: boolean) => ((await import(pathToFileURL(engineCopy(dir, strip)).href)) as { Engine: typeof Engine }).Engine;
    const [Off, On] = [await load(true), await load(false)];
    const mk = (E: typeof Engine, every: number) => {
      const rig = buildRig({ flows, payload: 64 });
      Object.setPrototypeOf(rig.emu.engine, E.prototype);
      warm(rig, 64);
      if (every) enableLatencySampling(rig.emu.engine, every);
      return rig;
    };
    const variants = [
      { name: 'off', rig: mk(Off, 0) },
      { name: 'on', rig: mk(On, 0) },
      { name: 'on+sample256', rig: mk(On, 256) }, // the default
      { name: 'on+sample64', rig: mk(On, 64) },
      { name: 'on+sample1', rig: mk(On, 1) },
    ];
    let next = 0;
    const run = (rig: Rig, n: number): number => {
      const t = process.hrtime.bigint();
      pump(rig, n, next);
      const ns = Number(process.hrtime.bigint() - t);
      next += n;
      return (n / ns) * 1e9;
    };
    for (const v of variants) run(v.rig, 50_000); // warm-up: JIT
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
    const out = variants.map((v) => v.rig.out.n);
    if (out.some((n) => n !== out[0])) throw new Error(`variants forwarded different counts: ${out.join(' ')}`);
    console.log(`seed topology, request direction (w07 VM port to w02 eth3), ${flows} UDP flows of ${variants[0]!.rig.frameLen} bytes; ${rounds} rounds of ${slice} frames per variant`);
    variants.forEach((v, i) => {
      const lost = (1 - median(ratio[i]!)) * 100;
      console.log(`${v.name.padEnd(13)} ${Math.round(median(pps[i]!)).toLocaleString('en-US').padStart(9)} frames/s (median slice)  ${i === 0 ? 'baseline' : `${lost.toFixed(1)} % lost (median of paired ratios)`}`);
    });
    const c = registerCollectors({ engine: variants[2]!.rig.emu.engine });
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
