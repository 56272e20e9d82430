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
// pair.
//
// Needs root (namespaces, TAPs); without it the group prints why and reports
// nothing. Not in the default groups: `npm run bench -- --only tap [--quick]`.
// The daemon runs with `--workers N` given as `node dist/bench/tap.js
// --workers N` or DPEMU_BENCH_WORKERS=N (through npm run bench); default 0,
// the engine on the main thread. Every figure's conditions say which.
// The daemon runs as `dpemu run` does (bin/dpemu.js: tsc's build), sender and
// receiver are node scripts (bench/lib/udp-peer.ts), all on the same cores.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Figure, emit, parseOptions, progress, target } from './lib/harness.js';
import { KernelObjects, sh, tryRun, uniqueTag } from '../test/e2e/lab-names.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = join(here, '..', '..'); // dist/bench -> repo root
const PEER = join(here, 'lib', 'udp-peer.js');
const opts = parseOptions();
const SECONDS = opts.quick ? 2 : 5;
/** Bisection steps and seconds per step of the loss-free search. */
const SEARCH = opts.quick ? { steps: 5, seconds: 1 } : { steps: 8, seconds: 2 };
const LOSS_FREE_PCT = 0.1;
const PINGS = opts.quick ? 10_000 : 50_000;
const SIZES = [64, 1400];
const PORT = 7009;
const VM_IP = '192.168.1.7', INET_IP = '203.0.113.8';
const workersArg = process.argv.indexOf('--workers');
const WORKERS = Number(workersArg >= 0 ? process.argv[workersArg + 1] : (process.env.DPEMU_BENCH_WORKERS ?? 0));
if (!Number.isInteger(WORKERS) || WORKERS < 0) throw new Error(`tap: --workers must be a whole number, not ${process.argv[workersArg + 1] ?? process.env.DPEMU_BENCH_WORKERS}`);

if (process.getuid?.() !== 0) {
  progress('tap: skipped, needs root (network namespaces and TAP devices): sudo npm run bench -- --only tap');
  emit('tap', []);
  process.exit(0);
}

const tag = uniqueTag();
const ns = { vm: `dpe-${tag}-vm`, inet: `dpe-${tag}-in`, da: `dpe-${tag}-da`, db: `dpe-${tag}-db` };
const objs = new KernelObjects();
const dir = mkdtempSync(join(tmpdir(), 'dpe-bench-'));
let daemon: ChildProcess | null = null;
const figures: Figure[] = [];

/** Start `udp-peer MODE ...` in namespace `n`; resolves once it printed "ready". */
function peer(n: string, args: (string | number)[]): Promise<{ child: ChildProcess; result: Promise<unknown> }> {
  const child = spawn('ip', ['netns', 'exec', n, process.execPath, PEER, ...args.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  const result = new Promise<unknown>((resolve, reject) => {
    child.on('exit', (code) => {
      const line = text.split('\n').filter((l) => l.startsWith('{')).pop();
      if (line) resolve(JSON.parse(line));
      else reject(new Error(`udp-peer ${args.join(' ')} in ${n} exited ${code} without a result: ${text}`));
    });
  });
  result.catch(() => undefined);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`udp-peer ${args[0]} in ${n} not ready`)), 10_000);
    child.stdout!.on('data', (b: Buffer) => {
      text += b.toString();
      if (text.includes('ready')) {
        clearTimeout(t);
        resolve({ child, result });
      }
    });
    child.on('exit', () => reject(new Error(`udp-peer ${args[0]} in ${n} exited before ready`)));
  });
}

async function startDaemon(): Promise<void> {
  let text = readFileSync(join(REPO, 'configs/lab-dvr-snat.yaml'), 'utf8');
  const names = { 'netns: dpe-vm': `netns: ${ns.vm}`, 'netns: dpe-inet': `netns: ${ns.inet}`, 'dev: dpe-vm0': `dev: dpe${tag}v`, 'dev: dpe-inet0': `dev: dpe${tag}i` };
  for (const [from, to] of Object.entries(names)) {
    if (!text.includes(from)) throw new Error(`configs/lab-dvr-snat.yaml has no "${from}"`);
    text = text.replaceAll(from, to);
  }
  const file = join(dir, 'lab.yaml');
  writeFileSync(file, text);
  objs.ownNetns(ns.vm);
  objs.ownNetns(ns.inet);
  objs.ownLink(`dpe${tag}v`);
  objs.ownLink(`dpe${tag}i`);
  // --daemon-cpu-prof DIR: V8 CPU profiles of the daemon's threads (main and each TAP worker) into DIR.
  const prof = process.argv.indexOf('--daemon-cpu-prof');
  const profArgs = prof >= 0 ? ['--cpu-prof', '--cpu-prof-dir', process.argv[prof + 1]!] : [];
  // --daemon-repo DIR: run the daemon of another checkout (a before/after comparison in one window).
  const other = process.argv.indexOf('--daemon-repo');
  const repo = other >= 0 ? process.argv[other + 1]! : REPO;
  const args = [...profArgs, join(repo, 'bin', 'dpemu.js'), 'run', file, '--lab', '--control-socket', join(dir, 'control.sock'), '--metrics', '127.0.0.1:0', '--log-format', 'json', ...(WORKERS ? ['--workers', String(WORKERS)] : [])];
  const d = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  daemon = d;
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`dpemu run did not start forwarding in 30 s:\n${err}`)), 30_000);
    d.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (/"msg":"forwarding"/.test(err)) {
        clearTimeout(t);
        resolve();
      }
      if (err.length > 1 << 20) err = err.slice(-65536);
    });
    d.on('exit', (code) => reject(new Error(`dpemu run exited ${code}:\n${err}`)));
  });
  // ARP for the gateway and the first conntrack entries before measuring.
  tryRun('ip', ['netns', 'exec', ns.vm, 'ping', '-c', '2', '-i', '0.3', '-W', '2', '-n', INET_IP], 10_000);
}

function direct(): void {
  objs.addNetns(ns.da);
  objs.addNetns(ns.db);
  const a = `dpe${tag}a`, b = `dpe${tag}b`;
  objs.ownLink(a);
  objs.ownLink(b);
  sh('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
  sh('ip', ['link', 'set', a, 'netns', ns.da]);
  sh('ip', ['link', 'set', b, 'netns', ns.db]);
  // The lab hosts' interfaces: VM 192.168.1.7/24 MTU 1450, internet host 203.0.113.8/24 MTU 1500.
  for (const [n, dev, ip, mtu, peerIp] of [[ns.da, a, `${VM_IP}/24`, '1450', INET_IP], [ns.db, b, `${INET_IP}/24`, '1500', VM_IP]] as const) {
    sh('ip', ['-n', n, 'link', 'set', dev, 'name', 'eth0']);
    sh('ip', ['-n', n, 'link', 'set', 'eth0', 'mtu', mtu, 'up']);
    sh('ip', ['-n', n, 'addr', 'add', ip, 'dev', 'eth0']);
    sh('ip', ['-n', n, 'route', 'add', peerIp, 'dev', 'eth0']);
  }
  tryRun('ip', ['netns', 'exec', ns.da, 'ping', '-c', '1', '-W', '2', '-n', INET_IP], 5_000);
}

interface Blast { offered: number; delivered: number; lossPct: number; mbps: number; sent: number; got: number; daemonCpuUs: number }

/** CPU seconds the daemon (all its threads) has used: utime + stime of /proc/PID/stat, in clock ticks of 10 ms. */
function daemonCpu(): number {
  const pid = daemon?.pid;
  if (!pid) return NaN;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function blast(from: string, to: string, size: number, seconds = SECONDS, pps?: number): Promise<Blast> {
  const sink = await peer(to, ['sink', INET_IP, PORT]);
  const snd = await peer(from, ['blast', INET_IP, PORT, size, seconds, ...(pps ? [pps] : [])]);
  const cpu0 = daemonCpu();
  const s = await snd.result as { sent: number; seconds: number };
  await new Promise((r) => setTimeout(r, 500)); // what is still queued in the daemon arrives
  const cpu = daemonCpu() - cpu0;
  sink.child.kill('SIGTERM');
  const r = await sink.result as { pkts: number };
  return { offered: s.sent / s.seconds, delivered: r.pkts / s.seconds, lossPct: (100 * (s.sent - r.pkts)) / s.sent, mbps: (r.pkts * size * 8) / s.seconds / 1e6, sent: s.sent, got: r.pkts, daemonCpuUs: (cpu * 1e6) / r.pkts };
}

interface Search { rate: number; at: Blast | null; steps: { pps: number; offered: number; lossPct: number; ok: boolean }[] }

/** The highest paced rate (pkt/s) with under LOSS_FREE_PCT loss, by bisection in [0, hi]. */
async function lossFree(from: string, to: string, size: number, hi: number): Promise<Search> {
  let lo = 0, at: Blast | null = null;
  const steps: Search['steps'] = [];
  for (let i = 0; i < SEARCH.steps; i++) {
    const pps = Math.round((lo + hi) / 2);
    const r = await blast(from, to, size, SEARCH.seconds, pps);
    // A step where the sender fell behind its pace says nothing about the emulator: treat it as too fast.
    const ok = r.lossPct < LOSS_FREE_PCT && r.offered >= 0.97 * pps;
    steps.push({ pps, offered: Math.round(r.offered), lossPct: +r.lossPct.toFixed(3), ok });
    progress(`tap: ${pps} pkt/s paced: offered ${Math.round(r.offered)}, loss ${r.lossPct.toFixed(3)} % -> ${ok ? 'ok' : 'too fast'}`);
    if (ok) {
      lo = pps;
      at = r;
    } else hi = pps;
  }
  return { rate: lo, at, steps };
}

interface Rtt { p50: number; p99: number; p999: number; answered: number; sent: number }

async function ping(from: string, to: string, pps: number): Promise<Rtt> {
  const echo = await peer(to, ['echo', INET_IP, PORT + 1]);
  try {
    const n = Math.max(200, Math.min(PINGS, Math.round(pps * (opts.quick ? 2 : 5))));
    const c = await peer(from, ['ping', INET_IP, PORT + 1, 64, n, pps]);
    const r = await c.result as { sent: number; answered: number; rttsUs: number[] };
    const q = (p: number) => r.rttsUs[Math.min(r.rttsUs.length - 1, Math.floor(p * r.rttsUs.length))] ?? NaN;
    return { p50: q(0.5), p99: q(0.99), p999: q(0.999), answered: r.answered, sent: r.sent };
  } finally {
    echo.child.kill('SIGTERM');
    await echo.result.catch(() => undefined);
  }
}

try {
  const load0 = loadavg()[0]!.toFixed(2);
  progress(`tap: tag ${tag}, ${SECONDS} s per run, daemon --workers ${WORKERS}, load ${load0}`);
  await startDaemon();
  direct();
  const emu64: Blast[] = [];
  for (const size of SIZES) {
    progress(`tap: ${size}-byte UDP, emulator then direct`);
    const e = await blast(ns.vm, ns.inet, size);
    const d = await blast(ns.da, ns.db, size);
    if (size === 64) emu64.push(e);
    const cond = { payload: size, seconds: SECONDS, sender: 'node dgram, 64 sends in flight' };
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
  progress('tap: loss-free 64-byte rate of the emulator (bisection)');
  const hi = Math.round(Math.min(emu64[0]!.offered, 2 * emu64[0]!.delivered));
  const search = await lossFree(ns.vm, ns.inet, 64, hi);
  const sc = { payload: 64, stepSeconds: SEARCH.seconds, steps: SEARCH.steps, lossBelowPct: LOSS_FREE_PCT, hi, tried: search.steps.map((t) => `${t.pps}:${t.ok ? 'ok' : 'lost ' + t.lossPct + '%'}`).join(' ') };
  figures.push({ name: 'tap.emu.udp64.loss_free_rate', value: search.rate, unit: 'pkt/s', conditions: sc, note: 'highest paced rate with < 0.1 % loss', target: target(search.rate, '>=', 200_000) });
  if (search.at) {
    figures.push({ name: 'tap.emu.udp64.loss_free_bitrate', value: search.at.mbps, unit: 'Mbit/s', conditions: sc, note: 'UDP payload bits delivered at the loss-free rate' });
    // What a packet costs the daemon, all threads: steadier than rates on a shared box (time waiting for a core is not in it).
    figures.push({ name: 'tap.emu.udp64.daemon_cpu_per_packet', value: search.at.daemonCpuUs, unit: 'us', conditions: { ...sc, pps: search.rate }, note: 'daemon CPU time (/proc utime+stime, all threads) per packet delivered at the loss-free rate' });
  }
  // Each round trip is two packets through the emulator: loss-free / 4 round trips
  // per second load it with half its loss-free rate.
  const rate = Math.max(100, Math.round(search.rate / 4));
  progress(`tap: round trips at ${rate}/s, emulator then direct`);
  const rtt: Record<string, Rtt> = {};
  for (const [path, from, to] of [['emu', ns.vm, ns.inet], ['direct', ns.da, ns.db]] as const) {
    const r = (rtt[path] = await ping(from, to, rate));
    const c = { path, payload: 64, roundTripsPerSecond: rate, sent: r.sent, answered: r.answered, rate: 'round trips/s = emulator loss-free 64-byte pkt/s / 4 (half its rate, both directions)' };
    figures.push({ name: `tap.${path}.rtt.p50`, value: r.p50, unit: 'us', conditions: c });
    figures.push({ name: `tap.${path}.rtt.p99`, value: r.p99, unit: 'us', conditions: c });
    figures.push({ name: `tap.${path}.rtt.p99_9`, value: r.p999, unit: 'us', conditions: c });
    figures.push({ name: `tap.${path}.rtt.loss`, value: (100 * (r.sent - r.answered)) / r.sent, unit: '%', conditions: c });
  }
  // What the emulator adds to a round trip (two passes through it), against the half-load targets.
  const added = (q: 'p50' | 'p99') => rtt.emu![q] - rtt.direct![q];
  const ac = { roundTripsPerSecond: rate, note: 'emulator RTT percentile minus the direct pair\'s; one round trip crosses the emulator twice' };
  figures.push({ name: 'tap.added_rtt.p50', value: added('p50'), unit: 'us', conditions: ac, target: target(added('p50'), '<=', 50) });
  figures.push({ name: 'tap.added_rtt.p99', value: added('p99'), unit: 'us', conditions: ac, target: target(added('p99'), '<=', 300) });
  progress(`tap: load ${load0} at start, ${loadavg()[0]!.toFixed(2)} at end`);
} finally {
  const d = daemon as ChildProcess | null;
  if (d && d.exitCode === null && d.signalCode === null) {
    const exited = new Promise((r) => d.once('exit', r));
    d.kill('SIGINT');
    const t = setTimeout(() => d.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(t);
  }
  objs.cleanup();
  rmSync(dir, { recursive: true, force: true });
  const left = KernelObjects.leftovers(tag);
  if (left.length) progress(`tap: left in the kernel: ${left.join(' ')}`);
}
for (const f of figures) f.conditions = { ...f.conditions, workers: WORKERS };
emit('tap', figures);
