// Through real TAPs (issue 6): UDP from the lab VM's namespace to the internet
// host's namespace through a running `dpemu run --lab` (a unique copy of
// configs/lab-dvr-snat.yaml), 64- and 1400-byte payloads, offered and
// delivered packets/s, loss and bit rate; in the same run the same sender and
// receiver on two namespaces joined by a plain veth pair (same addresses and
// MTUs), so each figure has its emulator/direct ratio; and UDP round-trip
// percentiles through the emulator at half of its 64-byte delivered rate at
// saturation (both directions counted; not a searched loss-free rate), beside
// the direct pair's at the same rate.
//
// The loss-free rate: the highest paced 64-byte rate the emulator carries
// with under 0.1 % loss, found by bisection between 0 and its delivered rate
// at saturation (a step counts only when the sender kept up with the pace).
// Round trips are then paced at a quarter of it (each is two packets through
// the emulator: half its loss-free rate), through the emulator and the direct
// pair. Each path first gets a warm-up run at the same rate (reported as
// rtt.warmup_*, not in the percentiles): the blasts before only ran the
// request direction, and the reply direction's code, not yet compiled by V8,
// takes 50-200 µs a frame for its first few thousand frames (10 µs warm), a
// backlog of up to 120 ms with loss at this rate. Beside the emulator's, the
// daemon's own share: its read-to-write time per pass (rtt.daemon_*, from
// dpemu_e2e_latency_seconds; log2 buckets, upper bounds).
// Last, idle round trips: ICMP echoes 0.2 s apart (ping(8)), through both.
// Between the blasts and the search, one TCP stream each way (iperf3), through
// both: what a user's first iperf3 through the lab shows.
//
// Needs root (namespaces, TAPs); without it the group prints why and reports
// nothing. Not in the default groups: `npm run bench -- --only tap [--quick]`.
// The daemon runs with `--workers N` given as `node dist/bench/tap.js
// --workers N` or DPEMU_BENCH_WORKERS=N (through npm run bench); default 0,
// the engine on the main thread (passed explicitly: the daemon's own default
// is cores - 1). Every figure's conditions say which. The lab's setup and
// traffic ends are bench/lib/tap-lab.ts's.
// The daemon runs as `dpemu run` does (bin/dpemu.js: tsc's build), sender and
// receiver are node scripts (bench/lib/udp-peer.ts), all on the same cores.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { type Figure, emit, parseOptions, progress, target } from './lib/harness.js';
import { type Blast, LAB_OPTIONS, LAB_USAGE, type Rtt, TapLab, bucketPercentile, labSettings } from './lib/tap-lab.js';

const opts = parseOptions(`node dist/bench/tap.js [--quick] [--workers N] ${LAB_USAGE}`, { workers: { type: 'string' }, ...LAB_OPTIONS });
const SECONDS = opts.quick ? 2 : 5;
/** Bisection steps and seconds per step of the loss-free search. */
const SEARCH = opts.quick ? { steps: 5, seconds: 1 } : { steps: 8, seconds: 2 };
const LOSS_FREE_PCT = 0.1;
const PINGS = opts.quick ? 10_000 : 50_000;
/** Seconds of round trips at the measured rate before measuring (each path). */
const WARMUP_S = opts.quick ? 1 : 2;
const IDLE_PINGS = opts.quick ? 10 : 25;
const SIZES = [64, 1400];
// --workers N, or DPEMU_BENCH_WORKERS=N through `npm run bench`.
const [WORKERS = 0, ...moreWorkers] = opts.nums('workers', process.env.DPEMU_BENCH_WORKERS ?? '0');
if (moreWorkers.length) opts.fail('--workers takes one number here');
const settings = labSettings(opts);

if (process.getuid?.() !== 0) {
  progress('tap: skipped, needs root (network namespaces and TAP devices): sudo npm run bench -- --only tap');
  emit('tap', []);
  process.exit(0);
}

const figures: Figure[] = [];
const load0 = loadavg()[0]!.toFixed(2);
const lab = await TapLab.start('tap', { workers: WORKERS, direct: true, settings });
const { ns } = lab;
progress(`tap: tag ${lab.tag}, ${SECONDS} s per run, daemon --workers ${WORKERS}, load ${load0}`);
try {
  const emu64: Blast[] = [];
  for (const size of SIZES) {
    progress(`tap: ${size}-byte UDP, emulator then direct`);
    const e = await lab.blast(ns.vm, ns.inet, size, SECONDS);
    const d = await lab.blast(ns.da, ns.db, size, SECONDS);
    if (size === 64) emu64.push(e);
    const cond = { payload: size, seconds: SECONDS, sender: lab.sender === 'iperf3' ? 'iperf3 -u, paced every 100 us' : 'node dgram, 64 sends in flight' };
    for (const [path, r] of [['emu', e], ['direct', d]] as const) {
      const c = { ...cond, path, sent: r.sent, received: r.got };
      figures.push({ name: `tap.${path}.udp${size}.offered`, value: r.offered, unit: 'pkt/s', conditions: c });
      figures.push({ name: `tap.${path}.udp${size}.delivered`, value: r.delivered, unit: 'pkt/s', conditions: c });
      figures.push({ name: `tap.${path}.udp${size}.loss`, value: r.lossPct, unit: '%', conditions: c });
      figures.push({ name: `tap.${path}.udp${size}.bitrate`, value: r.mbps, unit: 'Mbit/s', conditions: c, note: 'UDP payload bits delivered' });
    }
    const ratio = e.delivered / d.delivered;
    figures.push({ name: `tap.ratio.udp${size}.delivered`, value: ratio, unit: 'x', conditions: cond, note: 'emulator / direct veth', ...(size === 64 ? { target: target(ratio, '>=', 0.8) } : {}) });
    if (size === 1400) figures[figures.findIndex((f) => f.name === 'tap.emu.udp1400.bitrate')]!.target = target(e.mbps, '>=', 2000);
  }
  // What a user's first iperf3 through the lab shows: one TCP stream each way (not an issue target); skipped without iperf3.
  const hasIperf3 = spawnSync('iperf3', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!hasIperf3) progress('tap: TCP skipped: iperf3 is not installed (apt-get install iperf3)');
  for (const reverse of hasIperf3 ? [false, true] : []) {
    const dir = reverse ? 'down' : 'up';
    progress(`tap: TCP ${reverse ? 'from the internet host to the VM' : 'from the VM to the internet host'} (iperf3), emulator then direct`);
    const e = await lab.tcp(ns.vm, ns.inet, SECONDS, reverse);
    const d = await lab.tcp(ns.da, ns.db, SECONDS, reverse);
    for (const [path, r] of [['emu', e], ['direct', d]] as const) {
      const c = { path, seconds: r.seconds, streams: 1, tool: `iperf3 -c${reverse ? ' -R' : ''}`, retransmits: r.retransmits, ...(path === 'emu' ? { daemonCpuS: +r.daemonCpuS.toFixed(2) } : {}) };
      figures.push({ name: `tap.${path}.tcp_${dir}.goodput`, value: r.mbps, unit: 'Mbit/s', conditions: c, note: 'TCP payload bits the receiver got (the sender\'s retransmitted segments in conditions)' });
    }
    figures.push({ name: `tap.ratio.tcp_${dir}.goodput`, value: e.mbps / d.mbps, unit: 'x', conditions: { seconds: SECONDS }, note: 'emulator / direct veth (the veths carry 64 KiB GSO segments; the TAPs, without IFF_VNET_HDR, one MTU-sized frame at a time)' });
  }
  progress('tap: loss-free 64-byte rate of the emulator (bisection)');
  const hi = Math.round(Math.min(emu64[0]!.offered, 2 * emu64[0]!.delivered));
  const search = await lab.lossFree(64, hi, { ...SEARCH, lossPct: LOSS_FREE_PCT });
  const sc = { payload: 64, stepSeconds: SEARCH.seconds, steps: SEARCH.steps, lossBelowPct: LOSS_FREE_PCT, hi, tried: search.steps.map((t) => `${t.pps}:${t.ok ? 'ok' : 'lost ' + t.lossPct + '%'}`).join(' ') };
  figures.push({ name: 'tap.emu.udp64.loss_free_rate', value: search.rate, unit: 'pkt/s', conditions: sc, note: 'highest paced rate with < 0.1 % loss', target: target(search.rate, '>=', 200_000) });
  if (search.at) {
    figures.push({ name: 'tap.emu.udp64.loss_free_bitrate', value: search.at.mbps, unit: 'Mbit/s', conditions: sc, note: 'UDP payload bits delivered at the loss-free rate' });
    // What a packet costs the daemon, all threads: steadier than rates on a shared box (time waiting for a core is not in it).
    // The traffic ends share the cores: their own CPU per packet beside it (bench/tap-cost.ts splits the daemon's by thread).
    const ends = { senderCpuUs: +((search.at.senderCpuS * 1e6) / search.at.got).toFixed(2), sinkCpuUs: +((search.at.sinkCpuS * 1e6) / search.at.got).toFixed(2) };
    figures.push({ name: 'tap.emu.udp64.daemon_cpu_per_packet', value: search.at.daemonCpuUs, unit: 'us', conditions: { ...sc, pps: search.rate, ...ends }, note: 'daemon CPU time (/proc utime+stime, all threads) per packet delivered at the loss-free rate; senderCpuUs and sinkCpuUs: the traffic ends\' own' });
  }
  // Each round trip is two packets through the emulator: loss-free / 4 round trips
  // per second load it with half its loss-free rate.
  const rate = Math.max(100, Math.round(search.rate / 4));
  progress(`tap: round trips at ${rate}/s, emulator then direct`);
  const rtt: Record<string, Rtt> = {};
  const count = Math.max(200, Math.min(PINGS, Math.round(rate * (opts.quick ? 2 : 5))));
  for (const [path, from, to] of [['emu', ns.vm, ns.inet], ['direct', ns.da, ns.db]] as const) {
    const c = { path, payload: 64, roundTripsPerSecond: rate, rate: 'round trips/s = emulator loss-free 64-byte pkt/s / 4 (half its rate, both directions)' };
    const w = await lab.ping(from, to, rate, Math.round(rate * WARMUP_S));
    const wc = { ...c, sent: w.sent, answered: w.answered, seconds: WARMUP_S, note: 'the first round trips at this rate, before those measured (the reply direction runs for the first time here)' };
    figures.push({ name: `tap.${path}.rtt.warmup_p99`, value: w.p99, unit: 'us', conditions: wc });
    figures.push({ name: `tap.${path}.rtt.warmup_loss`, value: (100 * (w.sent - w.answered)) / w.sent, unit: '%', conditions: wc });
    const e0 = path === 'emu' ? await lab.e2eBuckets() : null;
    const r = (rtt[path] = await lab.ping(from, to, rate, count));
    const mc = { ...c, sent: r.sent, answered: r.answered };
    figures.push({ name: `tap.${path}.rtt.p50`, value: r.p50, unit: 'us', conditions: mc });
    figures.push({ name: `tap.${path}.rtt.p99`, value: r.p99, unit: 'us', conditions: mc });
    figures.push({ name: `tap.${path}.rtt.p99_9`, value: r.p999, unit: 'us', conditions: mc });
    figures.push({ name: `tap.${path}.rtt.loss`, value: (100 * (r.sent - r.answered)) / r.sent, unit: '%', conditions: mc });
    if (e0) {
      const e1 = await lab.e2eBuckets();
      const dc = { ...mc, note: 'the daemon\'s TAP-read-to-TAP-write time of one pass (a round trip makes two), during the measured round trips: upper bound of its log2 bucket' };
      for (const [q, p] of [['p50', 0.5], ['p99', 0.99], ['p99_9', 0.999]] as const) figures.push({ name: `tap.emu.rtt.daemon_${q}`, value: bucketPercentile(e0, e1, p), unit: 'us', conditions: dc });
    }
  }
  // What the emulator adds to a round trip (two passes through it), against the half-load targets.
  const added = (q: 'p50' | 'p99') => rtt.emu![q] - rtt.direct![q];
  const ac = { roundTripsPerSecond: rate, note: 'emulator RTT percentile minus the direct pair\'s; one round trip crosses the emulator twice' };
  figures.push({ name: 'tap.added_rtt.p50', value: added('p50'), unit: 'us', conditions: ac, target: target(added('p50'), '<=', 50) });
  figures.push({ name: 'tap.added_rtt.p99', value: added('p99'), unit: 'us', conditions: ac, target: target(added('p99'), '<=', 300) });
  progress(`tap: ${IDLE_PINGS} idle round trips (ICMP echo every 0.2 s), emulator then direct`);
  for (const [path, from] of [['emu', ns.vm], ['direct', ns.da]] as const) {
    const r = await lab.idlePing(from, IDLE_PINGS, 0.2);
    const c = { path, sent: r.sent, answered: r.answered, min: r.min, p50: r.p50, max: r.max, interval: '0.2 s', tool: 'ping(8), 64-byte ICMP echo' };
    figures.push({ name: `tap.${path}.idle_rtt.avg`, value: r.avg, unit: 'us', conditions: c });
  }
  progress(`tap: load ${load0} at start, ${loadavg()[0]!.toFixed(2)} at end`);
} finally {
  await lab.close();
}
// `--daemon-arg X` (tap-lab.ts) options of `dpemu run`, e.g. --rt-priority 10, go with every figure.
const daemonArgs = settings.daemonArgs.join(' ');
for (const f of figures) f.conditions = { ...f.conditions, workers: WORKERS, ...(daemonArgs ? { daemonArgs } : {}) };
emit('tap', figures);
