// The two halves of the partitioned request path (docs/workers.md), each in
// an engine of its own nodes: w07's (the VM port to its hand-off at the
// fabric) and w02's (the VXLAN frame from the fabric to eth3), beside the
// whole path in one engine of every node. Each engine runs in a thread of its
// own (an isolate: in one, the engines' shared functions see each other's
// element classes and go megamorphic), one thread at a time, rounds
// interleaved; the figure is the thread's CPU per packet. So the halves read
// without the other worker's cache misses: what
// each worker of `workers.pipeline.2` spends in its engine (not its ring or
// loop), how far their sum is from the whole, and what the hand-off's
// checksum verdict moves from w02 to w07 (the `unverified` and `checking`
// variants run without it), and what its key hint and the receiver's warming
// by it move (`w07.hinting` computes it, `w02.hinted` warms each batch).
//
//   node dist/bench/halves.js [--quick] [--json]
//
// With --base DIR (a tree built as bench/ab.ts says), each kind also runs in
// a thread of DIR's build, the two alternated round by round (order swapped
// every other round) with the same frames, and `workers.half.<kind>.vsBase`
// is the median of the pairwise ratios (this tree / DIR's): on a shared box
// separate runs cannot resolve a few per cent ("Stop 32"). --kinds limits the
// kinds run (comma-separated), --rounds sets the rounds (3 with --quick, else 7).
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { type Figure, emit, median, parseOptions, progress } from './lib/harness.js';
import { repoRoot, udpReply, udpRequest } from './lib/seed.js';
import { loadTopologyOrThrow } from '../src/topology/loader.js';
import { buildEmulator, type Emulator } from '../src/topology/builder.js';
import { nodeGroups } from '../src/workers/partition.js';
import { Fabric } from '../src/tunnel/fabric.js';
import { BATCH } from '../src/datapath/engine.js';
import type { EdgeSink, Port } from '../src/datapath/element.js';
import type { Packet } from '../src/datapath/packet.js';
import { ManualClock } from '../src/datapath/clock.js';
import { sentChecksumsGood, sentKeyHint } from '../src/datapath/handoff.js';
import { keyHint } from '../src/datapath/path-cache.js';
import { parseIpv4, parseMacNum } from '../src/wire/addr.js';

const FLOWS = 10_000;
const PAYLOAD = 64;
const SPORT = 10_000;

/** Keeps the last frame it saw (a hand-off's copy) while `keep`, else only counts; at a hand-off, checks as the sending worker does. */
class Sink implements EdgeSink {
  n = 0;
  last: Uint8Array | null = null;
  /** The last frame's checksum verdict (a hand-off's: sentChecksumsGood). */
  good = 0;
  /** The last frame's key hint (sentKeyHint; -1: none computed). */
  hint = -1;
  /** `handoff`: 0 a plain edge, 1 a hand-off's verdict, 2 and its key hint. */
  constructor(public keep: boolean, private readonly handoff = 0) {}
  emit(pkt: Packet): void {
    this.n++;
    if (this.handoff !== 0) this.good = sentChecksumsGood(pkt) ? 1 : 0;
    if (this.handoff === 2) this.hint = sentKeyHint(pkt);
    if (this.keep) this.last = pkt.bytes();
  }
}

interface Half {
  emu: Emulator;
  /** Where requests go in. */
  inPort: Port;
  /** Where frames from the fabric arrive (null: the whole topology's engine). */
  fabricIn: Port | null;
  /** Frames leaving at eth3 (the whole path, w02's half), or at the fabric side of w02 (w07's). */
  out: Sink;
  /** Frames leaving at the fabric side of w07 (w02's half: replies). */
  back: Sink;
}

/** An engine of `nodes` (null: all) whose fabric sides to other nodes end at sinks, and its other edges too. */
function half(nodes: string[] | null, handoff = 1): Half {
  const t = loadTopologyOrThrow(join(repoRoot(), 'configs/seed-dvr-snat.yaml'));
  const only = nodes === null ? null : new Set(nodes);
  const emu = buildEmulator(t, {
    clock: new ManualClock(), emulateHosts: false,
    ...(nodes === null ? {} : { nodes: nodes.filter((n) => t.nodes.some((x) => x.name === n)), gateways: nodes.filter((n) => t.gateways.some((x) => x.name === n)) }),
  });
  const engine = emu.engine;
  const has = (n: string): boolean => only === null || only.has(n);
  const out = new Sink(!has('w02'), has('w02') ? 0 : handoff);
  const back = new Sink(true);
  const other = new Sink(false);
  const fab = engine.elements.find((e): e is Fabric => e instanceof Fabric)!;
  let fabricIn: Port | null = null;
  for (const s of t.fabric!.sides) {
    if (has(s.node)) {
      if (only !== null) fabricIn = fab.port(s.port)!.peer;
      continue;
    }
    const port = engine.addPort(fab, s.port);
    fab.attach(port, parseMacNum(s.mac)!, parseIpv4(s.nicIp)!, parseMacNum(s.nicMac)!);
    engine.attachEdge(port, s.node === 'w02' ? out : s.node === 'w07' ? back : other);
  }
  const eth3 = has('w02') ? emu.findPort('w02', 'eth3') : null;
  for (const e of t.edges) {
    const p = engine.element(e.port.node, e.port.element)?.port(e.port.port);
    if (p && !p.peer && !p.edge) engine.attachEdge(p, p === eth3 ? out : other);
  }
  return { emu, inPort: has('w07') ? emu.findPort('w07', 'tap2ab77d0f-99')! : fabricIn!, fabricIn, out, back };
}

let warmed = 0;

/**
 * `good`: per frame, the sender's checksum verdict (Packet.csumGood), as a
 * worker takes it from a hand-off; `hints` its key hint (Packet.keyHint), the
 * batch's entries warmed first, as a worker's drain does.
 */
function inject(h: Half, frames: readonly Uint8Array[], port: Port, n: number, good: Uint8Array | null = null, hints: Int32Array | null = null): void {
  const engine = h.emu.engine, pool = engine.pool, nf = frames.length;
  let j = 0;
  for (let i = 0; i < n; ) {
    const pc = engine.path;
    if (hints !== null && pc !== null) {
      for (let x = i, y = j, end = Math.min(n, i + BATCH); x < end; x++) {
        if (hints[y]! >= 0) pc.warmSlot(hints[y]!, port);
        if (++y === nf) y = 0;
      }
      warmed = (warmed + pc.warmEntries()) | 0;
    }
    engine.beginBatch();
    try {
      for (const end = Math.min(n, i + BATCH); i < end; i++) {
        const p = pool.allocFrom(frames[j]!)!;
        if (good !== null) p.csumGood = good[j]!;
        if (hints !== null) p.keyHint = hints[j]!;
        engine.inject(p, port);
        if (++j === nf) j = 0;
      }
    } finally {
      engine.endBatch();
    }
  }
}

/** This thread's CPU time (Linux schedstat), in ns. */
const threadCpuNs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);

/** This thread's CPU µs per packet of `n` frames, median of `rounds`. */
function time(h: Half, frames: readonly Uint8Array[], n: number, rounds: number, good: Uint8Array | null = null, hints: Int32Array | null = null): number {
  const s: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const c0 = threadCpuNs();
    inject(h, frames, h.inPort, n, good, hints);
    s.push((threadCpuNs() - c0) / 1000 / n);
  }
  return median(s);
}

/** What a timing thread runs: which engine, and the frames for its warm-up and its runs. */
interface Job {
  which: 'whole' | 'w07' | 'w07.unverified' | 'w07.hinting' | 'w02' | 'w02.checking' | 'w02.hinted';
  requests: Uint8Array[];
  replies: Uint8Array[];
  /** w07's hand-off frames of the requests, the sender's verdicts, and w02's of the replies (to w07). */
  vxlan: Uint8Array[];
  good: Uint8Array;
  /** The sender's key hints of `vxlan` (keyHint). */
  hints: Int32Array;
  back: Uint8Array[];
  n: number;
}

/**
 * A timing thread: one engine in an isolate of its own, as in a worker (in
 * one isolate the engines' shared functions see each other's element
 * classes and go megamorphic, and their tables evict each other).
 */
function timer(job: Job): void {
  const t = loadTopologyOrThrow(join(repoRoot(), 'configs/seed-dvr-snat.yaml'));
  const groups = nodeGroups(t);
  const { which, requests, replies, vxlan, back, n } = job;
  const h = half(which === 'whole' ? null : groups.find((g) => g.includes(which.slice(0, 3)))!, which === 'w07.unverified' ? 0 : which === 'w07.hinting' ? 2 : 1);
  const good = which === 'w02' || which === 'w02.hinted' ? job.good : null, hints = which === 'w02.hinted' ? job.hints : null;
  const w07 = which.startsWith('w07'), frames = w07 || which === 'whole' ? requests : vxlan;
  // Each flow's request and reply (MACs learned, conntrack established), then twice more: recorded, then served.
  for (let i = 0; i < FLOWS; i++) {
    inject(h, [frames[i]!], h.inPort, 1);
    if (w07) inject(h, [back[i]!], h.fabricIn!, 1);
    else inject(h, [replies[i]!], h.emu.findPort('w02', 'eth3')!, 1);
  }
  // Timed as a worker's hand-off sends: no copy of each frame kept (w07's out sink kept one, a Uint8Array a packet,
  // 10-13 % of w07's thread in a --cpu-prof, docs/performance-log.md "Stop 32").
  h.out.keep = h.back.keep = false;
  time(h, frames, n, 2, good, hints); // JIT
  parentPort!.on('message', (m: 'run' | 'end') => {
    if (m === 'end') {
      if ((h.emu.engine.path?.hits ?? 0) < n) throw new Error(`halves: the path cache did not serve ${which}`);
      parentPort!.close();
      return;
    }
    parentPort!.postMessage(time(h, frames, n, 1, good, hints));
  });
  parentPort!.postMessage('ready');
}

async function main(): Promise<void> {
  const opts = parseOptions('node dist/bench/halves.js [--quick] [--rounds N] [--base DIR] [--kinds whole,w02.hinted,...]', { rounds: { type: 'string' }, base: { type: 'string' }, kinds: { type: 'string' } });
  const baseDir = opts.str('base');
  const t = loadTopologyOrThrow(join(repoRoot(), 'configs/seed-dvr-snat.yaml'));
  const groups = nodeGroups(t);
  const g07 = groups.find((g) => g.includes('w07'))!, g02 = groups.find((g) => g.includes('w02'))!;
  const requests = Array.from({ length: FLOWS }, (_, i) => udpRequest(SPORT + i, 53, PAYLOAD));
  const replies = Array.from({ length: FLOWS }, (_, i) => udpReply(SPORT + i, PAYLOAD));
  progress('halves: the frames crossing the fabric');
  const h07 = half(g07), h02 = half(g02);
  const eth3 = h02.emu.findPort('w02', 'eth3')!;
  // Each flow's request and reply through both halves, then w07's hand-off frames (one per flow, recorded and
  // served), as w02's worker takes them from its ring.
  const vxlan: Uint8Array[] = [], back: Uint8Array[] = [];
  const good = new Uint8Array(FLOWS), hints = new Int32Array(FLOWS);
  for (let i = 0; i < FLOWS; i++) {
    inject(h07, [requests[i]!], h07.inPort, 1);
    inject(h02, [h07.out.last!], h02.inPort, 1);
    inject(h02, [replies[i]!], eth3, 1);
    back.push(h02.back.last!);
    inject(h07, [h02.back.last!], h07.fabricIn!, 1);
  }
  for (const f of requests) {
    inject(h07, [f], h07.inPort, 2);
    good[vxlan.length] = h07.out.good;
    hints[vxlan.length] = keyHint(h07.out.last!, 0, h07.out.last!.length);
    vxlan.push(h07.out.last!);
  }
  const n = opts.quick ? 100_000 : 400_000, rounds = opts.num('rounds', opts.quick ? 3 : 7, 1);
  const all = ['whole', 'w07', 'w07.unverified', 'w07.hinting', 'w02', 'w02.checking', 'w02.hinted'] as const;
  const kinds = opts.str('kinds')?.split(',') ?? all;
  for (const k of kinds) if (!(all as readonly string[]).includes(k)) opts.fail(`--kinds: no kind ${k}`);
  const files = [fileURLToPath(import.meta.url), ...(baseDir === undefined ? [] : [join(resolve(baseDir), 'dist/bench/halves.js')])];
  const jobs = kinds.flatMap((which) => files.map((file) => ({ which: which as Job['which'], file })));
  progress(`halves: warming the whole path, w07 and w02 in a thread each${baseDir === undefined ? '' : ', and each in the base tree\'s build'}`);
  const threads = await Promise.all(jobs.map(async ({ which, file }) => {
    const w = new Worker(file, { workerData: { which, requests, replies, vxlan, good, hints, back, n } satisfies Job });
    await new Promise<void>((res, rej) => {
      w.once('message', () => res());
      w.once('error', rej);
    });
    return w;
  }));
  progress(`halves: ${rounds} rounds of ${n} packets each, interleaved, one thread at a time`);
  const us: number[][] = jobs.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let k0 = 0; k0 < jobs.length; k0++) {
      const k = files.length === 2 && r % 2 === 1 ? k0 ^ 1 : k0; // this tree and the base's, in turn first
      const w = threads[k]!;
      w.postMessage('run');
      us[k]!.push(await new Promise<number>((res) => w.once('message', res)));
    }
  }
  for (const w of threads) {
    w.postMessage('end');
    await new Promise((res) => w.once('exit', res));
  }
  const base = { flows: FLOWS, udpPayload: PAYLOAD, packets: n, rounds, tool: 'thread CPU time (/proc/thread-self/schedstat), a thread per engine, median of interleaved rounds', loadAvg1m: loadavg()[0]!.toFixed(2) };
  const mine = (which: string): number => {
    const k = jobs.findIndex((j) => j.which === which);
    return k < 0 ? NaN : median(us[k]!);
  };
  const vsBase: Figure[] = baseDir === undefined ? [] : kinds.map((which, i) => {
    const a = us[2 * i]!, b = us[2 * i + 1]!;
    return {
      name: `workers.half.${which}.vsBase`, value: median(a.map((x, r) => x / b[r]!)), unit: 'x',
      conditions: { ...base, base: baseDir, mine: mine(which).toFixed(3), theirs: median(b).toFixed(3), cheaper: `${a.filter((x, r) => x < b[r]!).length} of ${rounds}` },
      note: 'this tree / the base tree, median of the rounds\' ratios (below 1: this tree cheaper)',
    };
  });
  const [uw, u07, u07u, u07h, u02, u02c, u02h] = all.map(mine) as [number, number, number, number, number, number, number];
  const figures: Figure[] = [
    { name: 'workers.half.whole', value: uw, unit: 'µs/packet', conditions: base, note: 'the request path in one engine of every node' },
    { name: 'workers.half.w07', value: u07, unit: 'µs/packet', conditions: base, note: "w07's engine: VM port to the hand-off (the frame left at the fabric side of w02, its checksums verified as a worker's hand-off does)" },
    { name: 'workers.half.w07.unverified', value: u07u, unit: 'µs/packet', conditions: base, note: "w07's engine as above, its hand-off not verifying the receiver's checksums" },
    { name: 'workers.half.w07.hinting', value: u07h, unit: 'µs/packet', conditions: base, note: "w07's engine as above, its hand-off also computing the receiver's key hint (keyHint)" },
    { name: 'workers.half.w02', value: u02, unit: 'µs/packet', conditions: base, note: "w02's engine: the VXLAN frame at its NIC to eth3, with the sender's checksum verdict (Packet.csumGood)" },
    { name: 'workers.half.w02.checking', value: u02c, unit: 'µs/packet', conditions: base, note: "w02's engine as above without the sender's verdict: the hit checks the checksums itself" },
    { name: 'workers.half.w02.hinted', value: u02h, unit: 'µs/packet', conditions: base, note: "w02's engine with the verdict and the sender's key hints (Packet.keyHint), each batch's entries warmed first (PathCache.warmSlot, warmEntries), as a worker's drain does" },
    { name: 'workers.half.bound', value: uw / Math.max(u07, u02), unit: 'x', conditions: base, note: 'whole / the costlier half: the scaling two workers could reach with a core each and a free hand-off' },
  ];
  emit('halves', [...figures.filter((f) => !Number.isNaN(f.value)), ...vsBase]);
}

if (isMainThread) await main();
else timer(workerData as Job);
