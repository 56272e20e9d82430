// A soak of the running daemon (root; not in the default run): whether a
// long-running dpemu holds its memory and keeps forwarding while traffic
// opens connections without end and a user's scripts poll it.
//
// The lab of bench/tap.ts (bench/lib/tap-lab.ts: `dpemu run --lab` on a
// unique copy of configs/lab-dvr-snat.yaml, what `npm start` runs). For
// MINUTES, 64-byte UDP from the lab VM to the internet host at PPS from
// FLOWS source ports in turn: a port comes back every FLOWS/PPS seconds,
// past UDP's 30 s unreplied timeout at the defaults (40 s), so nearly every
// datagram opens a new conntrack entry with SNAT in w02's snat namespace and
// the table turns over all the time. Every INTERVAL seconds a sample: the
// daemon's resident memory (VmRSS, all threads), the main thread's used
// heap, the conntrack entries and the free packet buffers (from /metrics),
// after a round of the reads a monitoring script makes (dump-flows of
// w07's br-int, conntrack -C in the snat namespace, through the control
// socket).
//
// Figures: RSS after the warm-up (the first sample past WARMUP seconds),
// its maximum and last, its growth over the second half of the run (a
// least-squares slope, MiB an hour: what a leak would show), the heap's
// maximum, the entries' maximum, and the datagrams lost.
//
//   sudo node dist/bench/soak.js [--minutes 15] [--pps 300] [--flows 12000] [--interval 10] [--workers N]
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { type Figure, emit, parseOptions, progress } from './lib/harness.js';
import { LAB_OPTIONS, LAB_USAGE, TapLab, labSettings } from './lib/tap-lab.js';
import { runRemote, type Endpoint } from '../src/control/client.js';

const opts = parseOptions(`node dist/bench/soak.js [--minutes M] [--pps N] [--flows N] [--interval S] [--workers N] ${LAB_USAGE}`, {
  minutes: { type: 'string' }, pps: { type: 'string' }, flows: { type: 'string' }, interval: { type: 'string' }, workers: { type: 'string' }, ...LAB_OPTIONS,
});
const one = (name: string, dflt: number): number => {
  const [v = dflt, ...more] = opts.nums(name, String(dflt));
  if (more.length || !(v > 0)) opts.fail(`--${name} takes one positive number`);
  return v;
};
const MINUTES = one('minutes', opts.quick ? 1 : 15);
const PPS = one('pps', 300);
const FLOWS = one('flows', 12_000);
const INTERVAL_S = one('interval', opts.quick ? 5 : 10);
const [WORKERS = 1] = opts.nums('workers', '1');
/** Seconds before RSS counts as settled: the warm-up, and the first turn of the table's entries. */
const WARMUP_S = Math.min(90, (MINUTES * 60) / 3);
/** w02's snat namespace in configs/lab-dvr-snat.yaml. */
const SNAT_NS = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
const settings = labSettings(opts);

if (process.getuid?.() !== 0) {
  progress('soak: skipped, needs root (network namespaces and TAP devices)');
  emit('soak', []);
  process.exit(0);
}

interface Sample { at: number; rssMiB: number; heapMiB: number; entries: number; freeBuffers: number }

/** The daemon's resident set, all threads (/proc/PID/status VmRSS), in MiB. */
function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The sum of a /metrics family's samples (labels ignored). */
function metric(text: string, family: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(family) && (line[family.length] === ' ' || line[family.length] === '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length, mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const load0 = loadavg()[0]!;
const lab = await TapLab.start('soak', { workers: WORKERS, direct: false, settings });
const ep: Endpoint = { socketPath: lab.controlSocket };
const samples: Sample[] = [];
const failures: string[] = [];
progress(`soak: tag ${lab.tag}, ${MINUTES} min at ${PPS} datagrams/s from ${FLOWS} ports, daemon --workers ${WORKERS}, load ${load0.toFixed(2)}`);
try {
  const t0 = Date.now();
  const sample = async (): Promise<void> => {
    for (const [family, argv] of [['ofctl', ['dump-flows', 'w07', 'br-int']], ['conntrack', ['w02', '-n', SNAT_NS, '-C']]] as const) {
      const r = await runRemote(ep, family, [...argv]);
      if (!r.ok) failures.push(`dpemu ${family} ${argv.join(' ')}: ${r.stderr.trim()}`);
    }
    const text = await (await fetch(`${lab.metricsUrl}/metrics`)).text();
    const s: Sample = {
      at: (Date.now() - t0) / 1000, rssMiB: rssMiB(lab.daemonPid), heapMiB: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
      entries: metric(text, 'dpemu_conntrack_entries'), freeBuffers: metric(text, 'dpemu_packet_buffers_free'),
    };
    samples.push(s);
    progress(`soak: ${s.at.toFixed(0)} s: RSS ${s.rssMiB.toFixed(1)} MiB, heap ${s.heapMiB.toFixed(1)} MiB, ${s.entries} conntrack entries, ${s.freeBuffers} free buffers`);
  };
  const blast = await lab.blast(lab.ns.vm, lab.ns.inet, 64, MINUTES * 60, {
    pps: PPS, flows: FLOWS,
    during: () => {
      let busy: Promise<void> = sample();
      const timer = setInterval(() => (busy = busy.then(sample)), INTERVAL_S * 1000);
      return async () => {
        clearInterval(timer);
        await busy;
      };
    },
  });
  const settledAt = samples.findIndex((s) => s.at >= WARMUP_S);
  const second = samples.filter((s) => s.at >= (MINUTES * 60) / 2);
  const rss = samples.map((s) => s.rssMiB);
  const cond = { minutes: MINUTES, pps: PPS, flows: FLOWS, payload: 64, workers: WORKERS, samples: samples.length, intervalS: INTERVAL_S, load: Number(load0.toFixed(2)) };
  const figures: Figure[] = [
    { name: 'soak.rss.settled', value: samples[settledAt]?.rssMiB ?? NaN, unit: 'MiB', conditions: { ...cond, atS: Math.round(samples[settledAt]?.at ?? NaN) }, note: 'the daemon\'s VmRSS at the first sample past the warm-up' },
    { name: 'soak.rss.max', value: Math.max(...rss), unit: 'MiB', conditions: cond },
    { name: 'soak.rss.last', value: rss[rss.length - 1] ?? NaN, unit: 'MiB', conditions: cond },
    { name: 'soak.rss.growth', value: slope(second.map((s) => s.at / 3600), second.map((s) => s.rssMiB)), unit: 'MiB/h', conditions: { ...cond, samples: second.length }, note: 'least-squares slope over the run\'s second half' },
    { name: 'soak.heap.max', value: Math.max(...samples.map((s) => s.heapMiB)), unit: 'MiB', conditions: cond, note: 'the main thread\'s used heap' },
    { name: 'soak.conntrack.max', value: Math.max(...samples.map((s) => s.entries)), unit: 'entries', conditions: cond },
    { name: 'soak.loss', value: blast.lossPct, unit: '%', conditions: { ...cond, sent: blast.sent, received: blast.got } },
    { name: 'soak.control_failures', value: failures.length, unit: 'requests', conditions: cond, ...(failures.length ? { note: failures[0]! } : {}) },
  ];
  emit('soak', figures);
} finally {
  await lab.close();
}
