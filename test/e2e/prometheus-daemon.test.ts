// A real Prometheus server (Debian's package, configs/prometheus.yml's job at
// 1 s) scrapes the running daemon (`dpemu run --lab` on the lab DVR path)
// while the VM namespace pings the internet host through it. Through
// Prometheus' HTTP API: every stage of the write-up's path, both directions,
// by the node/element/kind/port labels the daemon exports, has a non-zero
// packet rate, all about the same (each echo crosses each stage once); a
// latency quantile comes from the stage histograms; and every query of the
// Grafana dashboard parses, its per-stage panels returning a series per stage.
// Everything (ping, Prometheus, the daemon) is stopped by pid and the lab's
// namespaces and TAPs removed by exact name, also on failure.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { requireRoot } from '../helpers/root.js';
import { PrometheusServer, dashboardTargets, requirePrometheus, until } from '../helpers/prometheus.js';
import { KernelObjects, run } from './lab-names.js';
import { DaemonProcess } from './daemon-process.js';
import { UniqueLab } from './lab-dvr.js';
import { FIP, QROUTER, SNAT } from '../helpers/seed-names.js';

const lab = new UniqueLab();

/** [node, element, kind, port the packet arrives on]; a TAP stage is the daemon's own TAP device. */
type Stage = [string, string, string, string];
const TAP = 'tap';
const REQUEST: Stage[] = [
  ['w07', lab.tapVm, TAP, 'rx'],
  ['w07', 'qbr2ab77d0f-99', 'linux_bridge', 'tap2ab77d0f-99'],
  ['w07', 'br-int', 'ovs_bridge', 'qvo2ab77d0f-99'],
  ['w07', QROUTER, 'netns', 'qr-178fc8e2-fd'],
  ['w07', 'br-int', 'ovs_bridge', 'qr-178fc8e2-fd'],
  ['w07', 'br-tun', 'ovs_bridge', 'patch-int'],
  ['w07', 'eth2', 'underlay', 'vxlan-0ace6b9c'],
  ['fabric', 'fabric', 'fabric', 'w07'],
  ['w02', 'eth2', 'underlay', 'eth2'],
  ['w02', 'br-tun', 'ovs_bridge', 'vxlan-0ace6bee'],
  ['w02', 'br-int', 'ovs_bridge', 'patch-tun'],
  ['w02', SNAT, 'netns', 'sg-499291dc-d8'],
  ['w02', FIP, 'netns', 'fpr-c4d4b760-4'],
  ['w02', 'br-ex', 'ovs_bridge', 'fip-vif.103'],
  ['tor', 'tor', 'netns', 'swp1'],
  ['tor', lab.tapInet, TAP, 'tx'],
];
/** The echo replies: un-SNATed in snat, then straight to the VM (DVR does not route them through w07's qrouter). */
const REPLY: Stage[] = [
  ['tor', lab.tapInet, TAP, 'rx'],
  ['tor', 'tor', 'netns', 'swp2'],
  ['w02', 'br-ex', 'ovs_bridge', 'eth3'],
  ['w02', FIP, 'netns', 'fip-vif.103'],
  ['w02', SNAT, 'netns', 'rfp-c4d4b760-4'],
  ['w02', 'br-int', 'ovs_bridge', 'sg-499291dc-d8'],
  ['w02', 'br-tun', 'ovs_bridge', 'patch-int'],
  ['w02', 'eth2', 'underlay', 'vxlan-0ace6bee'],
  ['fabric', 'fabric', 'fabric', 'w02'],
  ['w07', 'eth2', 'underlay', 'eth2'],
  ['w07', 'br-tun', 'ovs_bridge', 'vxlan-0ace6b9c'],
  ['w07', 'br-int', 'ovs_bridge', 'patch-tun'],
  ['w07', 'qbr2ab77d0f-99', 'linux_bridge', 'qvb2ab77d0f-99'],
  ['w07', lab.tapVm, TAP, 'tx'],
];

/** Grafana's $__rate_interval at 1 s scrapes: four scrape intervals. */
const RATE = '4s';

function rateQuery([node, element, kind, port]: Stage): string {
  if (kind === TAP) return `rate(dpemu_tap_${port}_packets_total{job="dpemu",node="${node}",port="${element}"}[${RATE}])`;
  return `rate(dpemu_port_rx_packets_total{job="dpemu",node="${node}",element="${element}",kind="${kind}",port="${port}"}[${RATE}])`;
}
const stageName = (s: Stage) => s.join(':');

/** Dashboard panels that may be empty here, and why. Every other panel must return at least one series. */
const MAY_BE_EMPTY: Record<string, string> = {
  'Drops by reason': 'only reasons with drops in the window (> 0)',
  'Drops by element and reason (last 5 minutes)': 'only elements and reasons with drops (> 0)',
};
/** Panels with one query per stage of the path: each must be a non-zero rate. */
const PER_STAGE_RATES = ['Packet rate at each stage', 'Packets/s per stage (path order)', 'Byte rate at each stage'];

let d: DaemonProcess | null = null;
let ping: ChildProcess | null = null;
let prom: PrometheusServer | null = null;
after(async () => {
  if (ping && ping.exitCode === null) ping.kill('SIGKILL');
  if (prom) await prom.stop();
  if (d) {
    d.signal('SIGTERM');
    await d.exit(5_000); // SIGKILL after that; removes its control socket's directory
  }
  lab.cleanup();
});

test('a real Prometheus scrapes the running daemon: non-zero rates at every stage of the path, a latency quantile, and the dashboard\'s queries', { timeout: 180_000 }, async (ctx) => {
  requireRoot('dpemu run end-to-end tests');
  requirePrometheus();
  const deadline = Date.now() + 45_000;
  d = new DaemonProcess([lab.file, '--lab']);
  await d.forwarding();
  const target = /Metrics: http:\/\/(\S+)\/metrics/.exec(await d.waitOut(/Metrics: /))![1]!;

  // One echo first, while Prometheus starts, so the stream below starts on a resolved path (the daemon
  // used to announce its TAPs before their workers read, and a first ARP waited for the kernel's retry). Then
  // echoes every 5 ms for as long as the test needs them; no -w, with which ping gives up at its first error.
  const firstEcho = async (): Promise<string> => {
    let last = '';
    await until('a first echo through the daemon', deadline, async () => {
      const r = await run('ip', ['netns', 'exec', lab.nsVm, 'ping', '-c', '1', '-W', '5', '-n', '203.0.113.8'], 8_000);
      last = r.out;
      return r.status === 0 ? true : undefined;
    }, () => last);
    return /time=\S+ ms/.exec(last)![0];
  };
  const [started, echoed] = await Promise.allSettled([PrometheusServer.start(target, deadline), firstEcho()]);
  if (started.status === 'fulfilled') prom = started.value;
  else throw started.reason;
  if (echoed.status === 'rejected') throw echoed.reason;
  ctx.diagnostic(`first echo: ${echoed.value}`);
  ping = spawn('ip', ['netns', 'exec', lab.nsVm, 'ping', '-q', '-n', '-i', '0.005', '-c', '10000', '203.0.113.8'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let pingOut = '';
  ping.stdout!.on('data', (b: Buffer) => (pingOut += b.toString()));
  ping.stderr!.on('data', (b: Buffer) => (pingOut += b.toString()));
  ping.on('exit', (code, sig) => (pingOut += `[ping exited: ${code ?? sig}]`));
  const p = prom;
  let zero: string[] = []; // the stages without a rate at the last try
  const logs = () => `stages without a rate: ${zero.join(', ') || 'none'}\nping: ${pingOut}\n${p.output()}\ndpemu stderr:\n${d!.stderr.slice(-3000)}`;
  const single = async (q: string, time: number): Promise<number> => {
    const r = await p.query(q, time);
    assert.ok(r.length <= 1, `${q}: one series, got ${JSON.stringify(r)}`);
    return r.length ? Number(r[0]!.value[1]) : NaN;
  };

  // All stages evaluated at one instant, once every one of them has a rate (two scrapes of traffic in the window).
  const stages = [...REQUEST, ...REPLY];
  const rates = await until('a non-zero rate at every stage', deadline, async () => {
    const t = Date.now() / 1000;
    const got = await Promise.all(stages.map((s) => single(rateQuery(s), t)));
    zero = stages.filter((_, i) => !(got[i]! > 0)).map(stageName);
    return zero.length ? undefined : got;
  }, logs);
  // Each echo request and reply crosses each stage once (the TAPs' few ARP/ND frames aside).
  const median = [...rates].sort((a, b) => a - b)[rates.length >> 1]!;
  assert.ok(median > 20, `median stage rate ${median}/s for an echo every 5 ms`);
  stages.forEach((s, i) => assert.ok(Math.abs(rates[i]! / median - 1) < 0.2, `${stageName(s)}: ${rates[i]}/s, the median stage ${median}/s`));
  assert.equal(await single('up{job="dpemu"}', Date.now() / 1000), 1);

  // A latency quantile from the per-stage histograms (1 delivery in 256 timed): inside the finite buckets (2^27 ns).
  const p99 = await until('a latency quantile', deadline, async () => {
    const v = await single(`histogram_quantile(0.99, sum by (le) (rate(dpemu_stage_latency_seconds_bucket{job="dpemu"}[${RATE}])))`, Date.now() / 1000);
    return Number.isFinite(v) && v > 0 ? v : undefined;
  }, logs);
  assert.ok(p99 < 0.134217728, `p99 stage residence ${p99} s`);

  // The Grafana dashboard: every query is valid PromQL for this server; every panel but the named ones returns
  // series; the per-stage panels a non-zero rate per stage.
  const t = Date.now() / 1000;
  const targets = dashboardTargets(RATE, target); // the daemon picker set to this daemon
  assert.ok(targets.length > 50);
  const empty = new Set<string>();
  for (const q of targets) {
    const r = await p.query(q.expr, t);
    if (r.length === 0) empty.add(q.panel);
    if (PER_STAGE_RATES.includes(q.panel)) {
      assert.equal(r.length, 1, `${q.panel} / ${q.legend}: ${q.expr}`);
      assert.ok(Number(r[0]!.value[1]) > 0, `${q.panel} / ${q.legend}: ${q.expr} = ${r[0]!.value[1]}`);
    }
  }
  for (const title of PER_STAGE_RATES) assert.ok(targets.some((q) => q.panel === title), `the dashboard has "${title}"`);
  for (const title of empty) assert.ok(title in MAY_BE_EMPTY, `dashboard panel "${title}" has a query with no series`);

  ping.kill('SIGINT');
  await p.stop();
  prom = null;
  d.signal('SIGINT');
  assert.equal(await d.exit(8_000), 0, d.stderr);
  assert.deepEqual(KernelObjects.leftovers(lab.tag), []);
});
