// The ceiling of 2-worker scaling on this machine, NOT the product's
// multi-worker pipeline (datapath workers do not exist yet): N worker_threads,
// each running its own copy of the seed topology (its own engine, slab,
// conntrack and flow tables, disjoint flows), share nothing but a start/stop
// word. Each runs the pipeline benchmark's steady state (10 k flows, 64-byte
// UDP payload) for the same wall-clock window; the figure is the sum of their
// rates. One worker is measured through the same harness, so the ratio
// compares like with like. Real workers sharing conntrack/fdb state, rings
// and TAP I/O can only do worse than this.
//   node dist/bench/workers.js [--quick]
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { loadavg } from 'node:os';
import { type Figure, emit, median, parseOptions, progress, spreadOf, target } from './lib/harness.js';
import { buildRig, pump, totalDrops, warm } from './lib/seed.js';

const FLOWS = 10_000;
const PAYLOAD = 64;
const CHUNK = 2_000;

// Control words: [0] run number to start (workers spin until it changes), [1] stop flag for that run.
const GO = 0;
const STOP = 1;

interface Init {
  id: number;
  ctl: SharedArrayBuffer;
  runs: number;
}

interface RunResult {
  packets: number;
  seconds: number;
}

function workerMain(init: Init): void {
  const ctl = new Int32Array(init.ctl);
  const rig = buildRig({ flows: FLOWS, payload: PAYLOAD, sportBase: 10_000 + init.id * FLOWS });
  warm(rig, PAYLOAD);
  const drops0 = totalDrops(rig.emu);
  let at = 0;
  parentPort!.postMessage({ ready: true });
  const results: RunResult[] = [];
  for (let run = 1; run <= init.runs; run++) {
    while (Atomics.load(ctl, GO) < run) Atomics.wait(ctl, GO, run - 1, 50);
    const t0 = process.hrtime.bigint();
    let n = 0;
    while (Atomics.load(ctl, STOP) < run) {
      pump(rig, CHUNK, at);
      at += CHUNK;
      n += CHUNK;
    }
    results.push({ packets: n, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
  }
  const drops = totalDrops(rig.emu) - drops0;
  const ok = rig.out.n === at && rig.other.n === 0 && drops === 0;
  parentPort!.postMessage({ results, ok, detail: `sent ${at}, ${rig.out.n} at eth3, ${drops} dropped` });
}

async function measure(workers: number, runs: number, seconds: number): Promise<{ rates: number[]; load: number }> {
  const ctl = new SharedArrayBuffer(8);
  const c = new Int32Array(ctl);
  const ws = Array.from({ length: workers }, (_, id) => new Worker(new URL(import.meta.url), { workerData: { id, ctl, runs } satisfies Init }));
  const done: Promise<{ results: RunResult[]; ok: boolean; detail: string }>[] = [];
  const ready: Promise<void>[] = [];
  for (const w of ws) {
    let readyRes!: () => void;
    ready.push(new Promise((r) => (readyRes = r)));
    done.push(new Promise((res, rej) => {
      w.on('message', (m) => (m.ready ? readyRes() : res(m)));
      w.on('error', rej);
    }));
  }
  await Promise.all(ready);
  const load = loadavg()[0]!;
  // Run 1 is an untimed warm-up of the JIT; runs 2.. are measured.
  for (let run = 1; run <= runs; run++) {
    Atomics.store(c, GO, run);
    Atomics.notify(c, GO);
    await new Promise((r) => setTimeout(r, (run === 1 ? Math.min(0.5, seconds) : seconds) * 1000));
    Atomics.store(c, STOP, run);
  }
  const res = await Promise.all(done);
  for (const w of ws) await w.terminate();
  for (const r of res) if (!r.ok) throw new Error(`worker check failed: ${r.detail}`);
  const rates: number[] = [];
  for (let run = 1; run < runs; run++) rates.push(res.reduce((s, r) => s + r.results[run]!.packets / r.results[run]!.seconds, 0));
  return { rates, load };
}

if (isMainThread) {
  const opts = parseOptions();
  const runs = opts.quick ? 3 : 5;
  const seconds = opts.quick ? 0.5 : 1.5;
  const figures: Figure[] = [];
  const base = { frameBytes: 14 + 20 + 8 + PAYLOAD, udpPayload: PAYLOAD, flowsPerWorker: FLOWS, runSeconds: seconds, runs };
  progress('workers: 1 engine in 1 worker thread');
  const one = await measure(1, runs + 1, seconds);
  progress('workers: 2 independent engines in 2 worker threads');
  const two = await measure(2, runs + 1, seconds);
  const m1 = median(one.rates), m2 = median(two.rates);
  const note = 'ceiling of scaling on this machine: independent engines, nothing shared; not the product\'s multi-worker pipeline';
  figures.push({ name: 'workers.independent.1', value: m1, unit: 'packets/s', spread: spreadOf(one.rates), conditions: { ...base, workers: 1, loadAvg1mBefore: +one.load.toFixed(2) }, note });
  figures.push({ name: 'workers.independent.2', value: m2, unit: 'packets/s', spread: spreadOf(two.rates), conditions: { ...base, workers: 2, loadAvg1mBefore: +two.load.toFixed(2) }, note });
  figures.push({
    name: 'workers.independent.scaling', value: m2 / m1, unit: 'x', conditions: { ...base, of: 'median 2-worker sum / median 1-worker' },
    target: target(m2 / m1, '>=', 1.7), note,
  });
  emit('workers', figures);
} else {
  workerMain(workerData as Init);
}
