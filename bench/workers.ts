// The partitioned datapath (src/workers/): the write-up's request direction
// (VM port on w07 to eth3 on w02; bench/lib/seed.ts: 10 k flows, 64-byte UDP
// payload) through 1 worker, and through N workers that own the nodes
// (w07 in one, w02 in another: every packet crosses the fabric hand-off).
// Warm-up as the pipeline bench's: each flow sent and answered once, through
// the supervisor's ingress, so MACs are learned and conntrack is ESTABLISHED.
// Then the worker owning the VM port replays the requests there (as its TAP
// reader would hand them over, with back-pressure: it sends only what the
// hand-off can take) and the figure is the rate of frames leaving at eth3
// over the window, checked loss-free (every replayed frame left at eth3, no
// drop anywhere).
//
// Beside it, interleaved run by run in the same window: the ceiling
// (independent copies of the whole topology in 1 and 2 threads, nothing
// shared), so the partitioned figures read against a plain engine (1 worker
// vs plain) and against what the machine allows. Per worker the conditions
// give its busy and CPU shares of the window (a worker that waits spins, then
// sleeps), and from them a CPU-bound scaling: on a machine shared with other
// load the workers may not get a core each, and the measured scaling says
// more about the machine than the partition.
// Also: the hand-off's own cost in one thread (copy into a lent slot,
// publish, consume, re-lend) beside a bare ring push + shift.
//
//   node dist/bench/workers.js [--quick] [--workers 1,2,4] [--json]
// Workers beyond the topology's node groups (2 in the seed file) own nothing:
// a run asked for 4 uses 2, and the figure's conditions say so.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { type Figure, emit, median, parseOptions, progress, spreadOf, target } from './lib/harness.js';
import { DST_IP, SNAT_IP, buildRig, pump, repoRoot, totalDrops, udpRequest, warm } from './lib/seed.js';
import { PartitionedDatapath } from '../src/workers/supervisor.js';
import { Handoff } from '../src/datapath/handoff.js';
import { SpscRing } from '../src/datapath/ring.js';
import { DEFAULT_SLOT_SIZE } from '../src/datapath/packet.js';
import { buildFrame } from '../src/wire/frame.js';

const FLOWS = 10_000;
const PAYLOAD = 64;
const SPORT = 10_000;
const REPLAY_BATCH = 64;
const GW_MAC = '5c:c9:99:60:d2:71';
const FIP_VIF_MAC = 'fa:17:3e:f7:cd:bc';


// ---- the product: partitioned workers -------------------------------------------

async function sendAll(dp: PartitionedDatapath, node: string, port: string, frames: Uint8Array[]): Promise<void> {
  for (const f of frames) {
    while (!dp.inject(node, port, f)) await dp.settle(30_000);
  }
  await dp.settle(30_000);
}

interface Prepared {
  asked: number;
  dp: PartitionedDatapath;
  rates: number[];
  loads: number[];
  /** Per run, per worker: share of the window in busy rounds, share on a CPU, and CPU µs per packet spent in busy rounds. */
  busy: number[][];
  cpu: number[][];
  workUs: number[][];
  /** Replayed and edge-out counts and drops when warmed, for the loss check. */
  sent0: number;
  out0: number;
  drops0: number;
}

const sumDrops = async (dp: PartitionedDatapath): Promise<number> => Object.values(await dp.drops()).reduce((s, v) => s + v, 0);

/** Start a partitioned datapath of `workers` and warm it: every flow sent and answered once. */
async function prepare(workers: number, requests: Uint8Array[]): Promise<Prepared> {
  // Emulated time stands still, as in the pipeline bench's engine and the
  // ceiling's: on the wall clock a run past ~30 s has w02
  // re-probe the gateway behind eth3 (Linux's STALE -> PROBE), which nobody
  // here answers, so frames would queue and drop. What reading the wall
  // clock costs is measured apart (docs/workers.md).
  const dp = await PartitionedDatapath.start({ file: join(repoRoot(), 'configs/seed-dvr-snat.yaml'), workers, collect: false, clock: 'manual' });
  const replies = Array.from({ length: FLOWS }, (_, i) => buildFrame({
    src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: DST_IP, dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport: SPORT + i, payload: PAYLOAD },
  }));
  await sendAll(dp, 'w07', 'tap2ab77d0f-99', requests);
  await sendAll(dp, 'w02', 'eth3', replies);
  return { asked: workers, dp, rates: [], loads: [], busy: [], cpu: [], workUs: [], sent0: dp.counter(dp.ownerOf('w07'), 'REPLAYED'), out0: dp.edgeFrames('w02', 'eth3'), drops0: await sumDrops(dp) };
}

/** Each worker's clock, busy seconds and thread CPU seconds (NaN where the OS does not say), read together when it answers. */
async function clocks(dp: PartitionedDatapath): Promise<{ t: number; busy: number; sleep: number; cpu: number }[]> {
  const out: { t: number; busy: number; sleep: number; cpu: number }[] = [];
  for (let w = 0; w < dp.workers; w++) {
    const cpu = (await dp.request<number | null>(w, { op: 'cpu' })) ?? NaN;
    out.push({ t: performance.now(), busy: dp.counter(w, 'BUSY_SECONDS'), sleep: dp.counter(w, 'SLEEP_SECONDS'), cpu });
  }
  return out;
}

interface Window {
  rate: number;
  busy: number[];
  cpu: number[];
  workUs: number[];
}

/** One window: replay at the VM port, count what leaves at the edges after a ramp-up, stop, let it drain. */
async function window(p: Prepared, requests: Uint8Array[], seconds: number): Promise<Window> {
  const dp = p.dp, w = dp.ownerOf('w07');
  await dp.request(w, { op: 'replay', edge: dp.edge('w07', 'tap2ab77d0f-99'), frames: requests, batch: REPLAY_BATCH });
  await new Promise((r) => setTimeout(r, 100));
  const c0 = await clocks(dp);
  const o = dp.edgeFrames('w02', 'eth3'), t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rate = (dp.edgeFrames('w02', 'eth3') - o) / ((performance.now() - t0) / 1000);
  const c1 = await clocks(dp);
  await dp.request(w, { op: 'replayStop' });
  await dp.settle(30_000);
  const dt = c1.map((c, i) => (c.t - c0[i]!.t) / 1000);
  const busy = c1.map((c, i) => (c.busy - c0[i]!.busy) / dt[i]!);
  const cpu = c1.map((c, i) => (c.cpu - c0[i]!.cpu) / dt[i]!);
  const awake = c1.map((c, i) => 1 - (c.sleep - c0[i]!.sleep) / dt[i]!);
  // CPU in busy rounds per packet: the thread's CPU time times the busy
  // rounds' share of its time awake (busy or polling), assuming the OS took
  // the core away as often in busy rounds as in polling ones.
  const workUs = cpu.map((c, i) => (1e6 * c * Math.min(1, busy[i]! / awake[i]!)) / rate);
  return { rate, busy, cpu, workUs };
}

/** Every replayed frame left at an edge and nothing dropped since warm-up. */
async function lossCheck(p: Prepared): Promise<string> {
  const dp = p.dp;
  const n = dp.counter(dp.ownerOf('w07'), 'REPLAYED') - p.sent0, out = dp.edgeFrames('w02', 'eth3') - p.out0, drops = (await sumDrops(dp)) - p.drops0;
  if (n === 0 || out !== n || drops !== 0) throw new Error(`${p.asked} workers: not loss-free: replayed ${n}, ${out} left at eth3, ${drops} dropped`);
  const handoffs = Array.from({ length: dp.workers }, (_, w) => dp.counter(w, 'HANDOFF_OUT')).reduce((s, v) => s + v, 0);
  return `replayed ${n}, hand-offs ${handoffs}`;
}

// ---- the hand-off's own cost, one thread -------------------------------------

function handoffCost(quick: boolean): { handoffNs: number; ringNs: number } {
  const cap = 1024;
  const slab = new SharedArrayBuffer(cap * DEFAULT_SLOT_SIZE);
  const h = new Handoff(cap, new SharedArrayBuffer(Handoff.bytes(cap)), slab, DEFAULT_SLOT_SIZE);
  for (let s = 0; s < cap; s++) h.lend(s);
  const ring = new SpscRing(cap, 3);
  // A VXLAN-encapsulated 64-byte-payload request: what crosses the fabric.
  const srcBuf = new SharedArrayBuffer(4096);
  const src = new Uint8Array(srcBuf), src32 = new Int32Array(srcBuf);
  const len = 14 + 20 + 8 + 8 + udpRequest(SPORT, 53, PAYLOAD).length;
  // At a VXLAN-encapsulated frame's offset in its slot (headroom 128 less 50).
  const off = 128 - 50;
  for (let i = 0; i < len; i++) src[off + i] = i;
  const burst = 256, rounds = quick ? 2000 : 8000;
  const time = (fn: () => void): number => {
    const samples: number[] = [];
    for (let k = 0; k < 5; k++) {
      const t0 = process.hrtime.bigint();
      for (let r = 0; r < rounds; r++) fn();
      samples.push(Number(process.hrtime.bigint() - t0) / (rounds * burst));
    }
    return median(samples);
  };
  const w = h.data.words;
  const handoffNs = time(() => {
    for (let i = 0; i < burst; i++) h.send(src, src32, off, len, i);
    for (let i = h.data.peek(); i >= 0; i = h.data.peek()) {
      const at = w[i]!;
      h.data.release();
      h.lend(h.slotOf(at));
    }
  });
  let acc = 0;
  const ringNs = time(() => {
    for (let i = 0; i < burst; i++) ring.push(i, len, 0);
    for (let i = 0; i < burst; i++) acc += ring.shift();
  });
  void acc;
  return { handoffNs, ringNs };
}

// ---- the ceiling: independent copies, nothing shared ---------------------------

// Control words: [0] run number to start (workers spin until it changes), [1] stop flag for that run.
const GO = 0;
const STOP = 1;
const CHUNK = 2_000;

interface Init {
  id: number;
  ctl: SharedArrayBuffer;
  runs: number;
}

interface RunResult {
  packets: number;
  seconds: number;
}

function ceilingWorker(init: Init): void {
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

/** Independent engines in `workers` threads, started and warmed; run(i) times their run i (1 is the JIT warm-up). */
class Ceiling {
  private readonly c: Int32Array;
  private constructor(
    readonly workers: number,
    private readonly ws: Worker[],
    ctl: SharedArrayBuffer,
    private readonly done: Promise<{ results: RunResult[]; ok: boolean; detail: string }[]>,
  ) {
    this.c = new Int32Array(ctl);
  }

  static async start(workers: number, runs: number): Promise<Ceiling> {
    const ctl = new SharedArrayBuffer(8);
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
    return new Ceiling(workers, ws, ctl, Promise.all(done));
  }

  async stop(): Promise<void> {
    for (const w of this.ws) await w.terminate();
  }

  async run(run: number, seconds: number): Promise<void> {
    Atomics.store(this.c, GO, run);
    Atomics.notify(this.c, GO);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    Atomics.store(this.c, STOP, run);
  }

  /** Summed packets/s of runs 2.. (after the last run). */
  async finish(): Promise<number[]> {
    const res = await this.done;
    await this.stop();
    for (const r of res) if (!r.ok) throw new Error(`worker check failed: ${r.detail}`);
    const rates: number[] = [];
    for (let run = 1; run < res[0]!.results.length; run++) rates.push(res.reduce((s, r) => s + r.results[run]!.packets / r.results[run]!.seconds, 0));
    return rates;
  }
}

/** Per-worker medians over runs, as "0.98,0.61". */
const perWorker = (rows: number[][], digits: number): string => rows[0]!.map((_, w) => median(rows.map((r) => r[w]!)).toFixed(digits)).join(',');

if (isMainThread) {
  const opts = parseOptions('node dist/bench/workers.js [--quick] [--workers 1,2,4]', { workers: { type: 'string' } });
  const WORKER_COUNTS = opts.nums('workers', '1,2', 1);
  const runs = opts.quick ? 3 : 5;
  const seconds = opts.quick ? 0.5 : 1.5;
  const figures: Figure[] = [];
  const base = { frameBytes: 14 + 20 + 8 + PAYLOAD, udpPayload: PAYLOAD, flows: FLOWS, runSeconds: seconds, runs, path: 'w07 VM port -> w02 eth3 (request direction)', clock: 'manual (emulated time stands still in every engine here)' };

  // Every configuration is started and warmed first, then their runs are
  // interleaved (partitioned 1, 2, ..., then the independent engines), so a
  // change in the machine's load hits all of them alike; run 0 warms the JIT
  // and is not counted.
  const requests = Array.from({ length: FLOWS }, (_, i) => udpRequest(SPORT + i, 53, PAYLOAD));
  const prepared: Prepared[] = [];
  const ceilings: { c: Ceiling; rates: number[]; loads: number[] }[] = [];
  try {
    for (const n of WORKER_COUNTS) {
      progress(`workers: starting and warming ${n} partitioned worker(s)`);
      prepared.push(await prepare(n, requests));
    }
    progress('workers: starting and warming the ceiling, 1 and 2 independent engines');
    for (const n of [1, 2]) ceilings.push({ c: await Ceiling.start(n, runs + 1), rates: [], loads: [] });
    progress(`workers: ${runs} interleaved runs of ${seconds} s`);
    for (let run = 0; run <= runs; run++) {
      const sec = run === 0 ? Math.min(0.5, seconds) : seconds;
      for (const p of prepared) {
        const load = loadavg()[0]!;
        const r = await window(p, requests, sec);
        if (run > 0) {
          p.rates.push(r.rate);
          p.loads.push(load);
          p.busy.push(r.busy);
          p.cpu.push(r.cpu);
          p.workUs.push(r.workUs);
        }
      }
      for (const c of ceilings) {
        c.loads.push(loadavg()[0]!);
        await c.c.run(run + 1, sec);
      }
    }
    const rateOf: Record<number, number> = {};
    const workOf: Record<number, number[]> = {};
    for (const p of prepared) {
      const detail = await lossCheck(p);
      const m = median(p.rates);
      rateOf[p.asked] = m;
      workOf[p.asked] = p.workUs[0]!.map((_, w) => median(p.workUs.map((r) => r[w]!)));
      const owns = Array.from({ length: p.dp.workers }, (_, w) => [...p.dp.assignment].filter(([, x]) => x === w).map(([n]) => n).join('+')).join(',');
      figures.push({
        name: `workers.pipeline.${p.asked}`, value: m, unit: 'packets/s', spread: spreadOf(p.rates),
        conditions: {
          ...base, workersAsked: p.asked, workersUsed: p.dp.workers, loss: 0, loadAvg1m: `${Math.min(...p.loads).toFixed(2)}..${Math.max(...p.loads).toFixed(2)}`, interleaved: `${WORKER_COUNTS.join(',')},ceiling 1,2`,
          workerOwns: owns, busyFraction: perWorker(p.busy, 3), cpuFraction: perWorker(p.cpu, 3), busyCpuUsPerPacket: perWorker(p.workUs, 2),
        },
        note: `partitioned by node, loss-free with back-pressure; ${detail}; per worker (median of runs): busyFraction = wall time in rounds that moved frames / window, cpuFraction = thread CPU time (/proc schedstat) / window, busyCpuUsPerPacket = CPU time x busy share of the time awake (not asleep on the bell) / packets`,
      });
    }
    const one = rateOf[1];
    for (const n of WORKER_COUNTS) {
      if (n === 1 || one === undefined) continue;
      const ratio = rateOf[n]! / one;
      figures.push({
        name: `workers.pipeline.scaling.${n}`, value: ratio, unit: 'x', conditions: { ...base, of: `median ${n}-worker / median 1-worker, interleaved runs` },
        ...(n === 2 ? { target: target(ratio, '>=', 1.7) } : {}),
      });
      const busiest = Math.max(...workOf[n]!);
      if (Number.isFinite(busiest) && workOf[1]) {
        figures.push({
          name: `workers.pipeline.scaling.${n}.cpuBound`, value: workOf[1][0]! / busiest, unit: 'x',
          conditions: { ...base, of: `1-worker busyCpuUsPerPacket / the busiest worker's busyCpuUsPerPacket with ${n} workers, medians of interleaved runs` },
          note: 'a bound, not a measured rate: the scaling the partition allows when every worker has a core of its own (the busiest worker sets the pace); read beside the measured scaling when the machine is shared',
        });
      }
    }
    const [c1, c2] = await Promise.all(ceilings.map(async (c) => ({ ...c, rates: await c.c.finish() })));
    const m1 = median(c1!.rates), m2 = median(c2!.rates);
    const note = 'ceiling of scaling on this machine: independent whole-topology engines in separate threads, nothing shared; not the product';
    const cload = (c: typeof c1): string => `${Math.min(...c!.loads).toFixed(2)}..${Math.max(...c!.loads).toFixed(2)}`;
    figures.push({ name: 'workers.ceiling.independent.1', value: m1, unit: 'packets/s', spread: spreadOf(c1!.rates), conditions: { ...base, workers: 1, loadAvg1m: cload(c1) }, note });
    figures.push({ name: 'workers.ceiling.independent.2', value: m2, unit: 'packets/s', spread: spreadOf(c2!.rates), conditions: { ...base, workers: 2, loadAvg1m: cload(c2) }, note });
    figures.push({ name: 'workers.ceiling.independent.scaling', value: m2 / m1, unit: 'x', conditions: { ...base, of: 'median 2-worker sum / median 1-worker' }, note });
    if (one !== undefined) {
      figures.push({
        name: 'workers.pipeline.1.vsPlainEngine', value: one / m1, unit: 'x', conditions: { ...base, of: 'median partitioned 1-worker / median workers.ceiling.independent.1, interleaved runs' },
        note: 'what the partitioned datapath\'s machinery (replay source, channels, worker loop) costs one worker against a plain engine driven in a loop in a thread',
      });
    }
  } finally {
    for (const p of prepared) await p.dp.stop();
    for (const c of ceilings) await c.c.stop();
  }

  progress('workers: hand-off cost, one thread');
  const hc = handoffCost(opts.quick);
  const hbase = { frameBytes: 14 + 20 + 8 + 8 + 14 + 20 + 8 + PAYLOAD, burst: 256, tool: 'hrtime loop, median of 5' };
  figures.push({ name: 'workers.handoff.sendConsume', value: hc.handoffNs, unit: 'ns/frame', conditions: hbase, note: 'Handoff.send (word copy into a lent slot, publish) + consume + re-lend, one thread: the per-frame cost of crossing workers beside the cross-core cache misses' });
  figures.push({ name: 'workers.handoff.ringOnly', value: hc.ringNs, unit: 'ns/frame', conditions: hbase, note: 'SpscRing push + shift of a 3-word descriptor, for comparison' });
  emit('workers', figures);
} else {
  ceilingWorker(workerData as Init);
}
