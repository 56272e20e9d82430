// In-memory pipeline, one worker (this thread, the current slow-path engine):
// the write-up's request direction end to end, VM port tap2ab77d0f-99 on w07
// to eth3 on w02 (qbr Linux bridge, br-int, qrouter, br-int, br-tun with the
// DVR source-MAC rewrite, VXLAN encap, fabric, decap, br-tun, br-int, snat
// with conntrack SNAT, fip, br-ex VLAN push). Frames are copied into a slab
// slot per packet (as a TAP read would), injected 64 at a time (one engine
// batch, as a datapath worker runs what it takes from a ring: Engine.BATCH),
// and counted at eth3.
//
//   steady state: 10 k UDP flows, each already answered once (conntrack ESTABLISHED,
//                 every MAC learned); packets round-robin over the flows
//   new connections: every packet a new 5-tuple, so a new conntrack entry with SNAT
//
//   node dist/bench/pipeline.js [--quick]
import { loadavg } from 'node:os';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { type Figure, emit, fullGc, heapBytesPerOp, median, parseOptions, progress, rssMiB, secondsSince, spreadOf, target } from './lib/harness.js';
import { type Rig, buildRig, pump, pumpNew, totalDrops, udpRequest, warm } from './lib/seed.js';
import { BATCH } from '../src/datapath/engine.js';

const opts = parseOptions('node dist/bench/pipeline.js [--quick]');
const RUNS = opts.quick ? 3 : 5;
const RUN_S = opts.quick ? 0.5 : 1.5;
const FLOWS = 10_000;
const CHUNK = 10_000;
/** Allocation is measured over chunks short enough that most see no collection. */
const ALLOC_CHUNK = 2_000;
const ALLOC_CHUNKS = opts.quick ? 20 : 50;

// Minor/major collections while a measurement runs.
const gcs = { minor: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind: number } }).detail?.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) gcs.minor++;
    else gcs.major++;
  }
}).observe({ entryTypes: ['gc'] });

interface Runs {
  rates: number[];
  /** Packets per second of this process's CPU time (user + system): less sensitive to other load on the machine. */
  cpuRates: number[];
  packets: number;
  seconds: number;
  gcMinor: number;
  gcMajor: number;
}

/** Let the gc observer's callbacks run (they are delivered on the event loop). */
const settle = () => new Promise<void>((res) => setTimeout(res, 10));

/** `runs` timed runs of at least `seconds` each (after one untimed warm-up run), `step` injecting `n` packets. */
async function timed(runs: number, seconds: number, step: (n: number) => void): Promise<Runs> {
  const r: Runs = { rates: [], cpuRates: [], packets: 0, seconds: 0, gcMinor: 0, gcMajor: 0 };
  for (let k = -1; k < runs; k++) {
    await settle();
    const g0 = { ...gcs };
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let n = 0;
    let dt = 0;
    do {
      step(CHUNK);
      n += CHUNK;
      dt = secondsSince(t0);
    } while (dt < (k < 0 ? Math.min(0.5, seconds) : seconds));
    if (k < 0) continue;
    const c = process.cpuUsage(c0);
    r.rates.push(n / dt);
    r.cpuRates.push(n / ((c.user + c.system) / 1e6));
    r.packets += n;
    r.seconds += dt;
    await settle();
    r.gcMinor += gcs.minor - g0.minor;
    r.gcMajor += gcs.major - g0.major;
  }
  return r;
}

function check(rig: Rig, sent: number, drops0: number, what: string): void {
  const drops = totalDrops(rig.emu) - drops0;
  if (rig.out.n !== sent || rig.other.n !== 0 || drops !== 0) {
    throw new Error(`${what}: sent ${sent}, ${rig.out.n} left at eth3, ${rig.other.n} elsewhere, ${drops} dropped`);
  }
}

const figures: Figure[] = [];

async function steady(payload: number, name: string, runs: number): Promise<void> {
  progress(`pipeline: building the seed topology, warming ${FLOWS} flows (${payload}-byte UDP payload)`);
  const rig = buildRig({ flows: FLOWS, payload });
  warm(rig, payload);
  const ctSnat = rig.snat.nf.conntrack.count;
  if (ctSnat !== FLOWS) throw new Error(`snat conntrack holds ${ctSnat} entries after warm-up, want ${FLOWS}`);
  const drops0 = totalDrops(rig.emu);
  const st = rig.emu.engine.stats;
  const hits0 = st.sum('fastpath_hits'), misses0 = st.sum('fastpath_misses');
  let at = 0;
  const load0 = loadavg()[0]!;
  const r = await timed(runs, RUN_S, (n) => {
    pump(rig, n, at);
    at += n;
  });
  const alloc = await heapBytesPerOp((n) => {
    pump(rig, n, at);
    at += n;
  }, ALLOC_CHUNK, ALLOC_CHUNKS);
  check(rig, at, drops0, name);
  const hits = st.sum('fastpath_hits') - hits0, misses = st.sum('fastpath_misses') - misses0;
  fullGc();
  const rate = median(r.rates);
  figures.push({
    name, value: rate, unit: 'packets/s', spread: spreadOf(r.rates),
    conditions: {
      frameBytes: rig.frameLen, wireBytesWithFcs: rig.frameLen + 4, udpPayload: payload, flows: FLOWS, workers: 1, batch: BATCH,
      runSeconds: RUN_S, runs, packetsTimed: r.packets, conntrackEntriesSnat: ctSnat,
      loadAvg1mBefore: +load0.toFixed(2),
      gcMinorPerMPackets: +(r.gcMinor / (r.packets / 1e6)).toFixed(1), gcMajorPerMPackets: +(r.gcMajor / (r.packets / 1e6)).toFixed(2),
    },
    target: target(rate, '>=', 1_000_000),
    note: `request direction w07:tap2ab77d0f-99 -> w02:eth3, 13 element hops, fast path (OVS translation caches, namespace forwarding caches) ${rig.emu.engine.fastpath ? 'on' : 'off (slow path)'}`,
  });
  figures.push({
    name: `${name}.fastpathHitRate`, value: hits + misses ? hits / (hits + misses) : 0, unit: 'ratio',
    conditions: {
      from: name, fastpath: rig.emu.engine.fastpath, hits, misses, lookupsPerPacket: +((hits + misses) / at).toFixed(2),
      note: 'cache lookups during the runs: bridge translations (one for a translation through a patch pair, which one entry spans) and namespace routing decisions',
    },
  });
  figures.push({
    name: `${name}.perCpuSecond`, value: median(r.cpuRates), unit: 'packets/CPU-s', spread: spreadOf(r.cpuRates),
    conditions: { from: name, measured: 'packets / (user + system CPU time of the process) per run' },
  });
  figures.push({
    name: `${name}.allocBytesPerPacket`, value: alloc.bytesPerOp, unit: 'bytes/packet',
    conditions: {
      from: name, packetsCounted: alloc.opsCounted, chunks: alloc.chunks, chunksWithoutGc: alloc.chunksClean, packetsPerChunk: ALLOC_CHUNK,
      meanBytesPerPacket: +alloc.meanBytesPerOp.toFixed(2), maxChunkBytesPerPacket: +alloc.maxBytesPerOp.toFixed(2),
      gcMinorPerMPackets: +(r.gcMinor / (r.packets / 1e6)).toFixed(1),
      measured: 'V8 used_heap_size after minus before, per chunk no collection ran in, less the reading itself; the median chunk (bench/lib/harness.ts heapBytesPerOp)',
    },
  });
  figures.push({
    name: `${name}.nsPerPacket`, value: 1e9 / rate, unit: 'ns/packet', conditions: { from: name },
  });
  figures.push({
    name: `${name}.rss`, value: rssMiB(), unit: 'MiB', conditions: { after: name, flows: FLOWS, note: 'whole process RSS, topology + 10 k flows of conntrack' },
  });
}

/** Every packet a new connection: conntrack NEW in snat, SNAT to 112.65.210.200, confirmed in POSTROUTING. */
function newConnections(): void {
  const payload = 64;
  progress('pipeline: new connections (every packet a new 5-tuple)');
  const rig = buildRig({ flows: 1, payload });
  warm(rig, payload); // one flow answered: every MAC on the path learned
  const frame = udpRequest(1024, 1, payload);
  const conntracks = rig.emu.engine.elements.filter((e) => e.kind === 'netns').map((e) => (e as typeof rig.snat).nf.conntrack);
  let seq = 0;
  const perRun = opts.quick ? 50_000 : 150_000; // below nf_conntrack_max (262144): no early drop
  const rates: number[] = [];
  const cpuRates: number[] = [];
  const load0 = loadavg()[0]!;
  let entries = 0;
  const drops0 = totalDrops(rig.emu);
  let sent = 0;
  for (let k = -1; k < RUNS; k++) {
    for (const ct of conntracks) ct.flush();
    fullGc();
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    pumpNew(rig, frame, perRun, seq);
    seq += perRun;
    const dt = secondsSince(t0);
    const cpu = process.cpuUsage(c0);
    sent += perRun;
    entries = rig.snat.nf.conntrack.count;
    if (entries !== perRun) throw new Error(`new connections: snat conntrack holds ${entries}, want ${perRun}`);
    if (k >= 0) {
      rates.push(perRun / dt);
      cpuRates.push(perRun / ((cpu.user + cpu.system) / 1e6));
    }
  }
  check(rig, sent, drops0, 'new connections');
  const rate = median(rates);
  figures.push({
    name: 'pipeline.newConnections', value: rate, unit: 'connections/s', spread: spreadOf(rates),
    conditions: {
      frameBytes: frame.length, udpPayload: payload, workers: 1, batch: BATCH, newConnectionsPerRun: perRun, runs: RUNS,
      conntrackAtStartOfRun: 0, loadAvg1mBefore: +load0.toFixed(2), nat: 'SNAT --to-source 112.65.210.200 (source port kept)',
    },
    target: target(rate, '>=', 100_000),
    note: 'whole request path; each packet creates a conntrack entry with SNAT in snat (the only namespace on the path that keeps entries)',
  });
  figures.push({
    name: 'pipeline.newConnections.perCpuSecond', value: median(cpuRates), unit: 'connections/CPU-s', spread: spreadOf(cpuRates),
    conditions: { from: 'pipeline.newConnections', measured: 'connections / (user + system CPU time of the process) per run' },
  });
}

await steady(64, 'pipeline.pps', RUNS);
newConnections();
if (!opts.quick) await steady(18, 'pipeline.pps.min60', 3);
emit('pipeline', figures);
