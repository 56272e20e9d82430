// The control socket and /metrics of a partitioned datapath answer as one
// emulator does. The seed topology runs once in this thread and once in two
// datapath workers (w02 in the first, w07 in the second: the reverse of the
// nodes' order, so joined answers must be put in order); the same frames go
// through both (the write-up's request and its reply, UDP, TCP and ICMP
// through SNAT, ARP). Then a real control server on a temp Unix socket in
// front of each answers the same commands (reads, writes followed by reads,
// errors): stdout, stderr and exit must be identical, iptables-save's date
// lines aside. And /metrics of both must have the same families and series
// for the elements, with the same values where the traffic decides them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { Stats } from '../../src/datapath/stats.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { startControlServer, type ControlServer } from '../../src/control/server.js';
import { captureRemote, runRemote } from '../../src/control/client.js';
import type { BridgeMonitorRequest, CaptureEvent, CaptureRequest, CommandResponse, ConntrackEventsRequest, IpMonitorRequest } from '../../src/control/protocol.js';
import { registerCollectors, startMetricsServer, enableLatencySampling, DATAPATH_WORKER_METRICS, type MetricsServer } from '../../src/metrics/index.js';
import { PartitionedDatapath } from '../../src/workers/supervisor.js';
import { PartitionedControl } from '../../src/workers/remote-control.js';
import { PartitionedMetrics } from '../../src/workers/remote-metrics.js';
import { WORKER_COUNTERS } from '../../src/workers/layout.js';
import { parseExposition, type Scrape } from './metrics-scrape.js';
import { SEED_FILE, QROUTER, SNAT, FIP, VM_MAC, QR_MAC, GW_MAC, FIP_VIF_MAC, VM_IP, SNAT_IP, VM_EDGE, ETH3 } from '../helpers/seed-names.js';

const SAMPLE_EVERY = 4;

type Step = { at: readonly [string, string]; frame: Uint8Array };
const fromVm = (s: Omit<FrameSpec, 'src' | 'dst'>): Step => ({ at: VM_EDGE, frame: buildFrame({ src: VM_MAC, dst: QR_MAC, ...s }) });
const fromInternet = (s: Omit<FrameSpec, 'src' | 'dst' | 'vlans'>): Step => ({ at: ETH3, frame: buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ...s }) });

/** The write-up's request (ping 8.8.8.8 from the VM) and its reply, and a few flows more through SNAT. */
function traffic(): Step[] {
  return [
    { at: VM_EDGE, frame: buildFrame({ src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: VM_IP, tpa: '192.168.1.1' } }) },
    { at: ETH3, frame: buildFrame({ src: GW_MAC, dst: 'ff:ff:ff:ff:ff:ff', vlans: [103], arp: { sha: GW_MAC, spa: '10.206.221.193', tpa: '10.206.221.195' } }) },
    fromVm({ ip: { src: VM_IP, dst: '8.8.8.8' }, icmp: { id: 60691, seq: 1, data: 100 } }),
    fromInternet({ ip: { src: '8.8.8.8', dst: SNAT_IP }, icmp: { type: 0, id: 60691, seq: 1, data: 100 } }),
    fromVm({ ip: { src: VM_IP, dst: '198.51.100.10' }, udp: { sport: 40000, dport: 53, payload: 64 } }),
    fromInternet({ ip: { src: '198.51.100.10', dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport: 40000, payload: 80 } }),
    fromVm({ ip: { src: VM_IP, dst: '203.0.113.80' }, tcp: { sport: 51000, dport: 80, seq: 1000, flags: 'S' } }),
    fromInternet({ ip: { src: '203.0.113.80', dst: SNAT_IP }, tcp: { sport: 80, dport: 51000, seq: 5000, ack: 1001, flags: 'S.' } }),
    fromVm({ ip: { src: VM_IP, dst: '203.0.113.80' }, tcp: { sport: 51000, dport: 80, seq: 1001, ack: 5001, flags: '.' } }),
  ];
}

let dir: string;
let emu: Emulator;
let dp: PartitionedDatapath;
let inline: ControlServer;
let split: ControlServer;
const writes = { inline: [] as string[], split: [] as string[] };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dpe-wctl-'));
  const steps = traffic();
  emu = buildEmulator(loadTopologyOrThrow(SEED_FILE), { clock: new ManualClock() });
  enableLatencySampling(emu.engine, SAMPLE_EVERY);
  // Free edges let frames out, as the workers' edge sinks do.
  for (const e of emu.topology.edges) {
    const p = emu.engine.element(e.port.node, e.port.element)?.port(e.port.port);
    if (p && !p.peer && !p.edge) emu.engine.attachEdge(p, { emit: () => {} });
  }
  // After each frame the element timers run once (at the same emulated time, 0), as a worker's do within 100 ms.
  for (const s of steps) {
    emu.engine.inject(emu.engine.pool.allocFrom(s.frame)!, emu.findPort(s.at[0], s.at[1])!);
    emu.engine.tick();
  }

  dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: new Map([['w07', 1], ['w02', 0]]), clock: 'manual', collect: false });
  // Sampling starts before the traffic, as on the inline side.
  await Promise.all([0, 1].map((w) => dp.request(w, { op: 'metrics', flows: false, sampleEvery: SAMPLE_EVERY })));
  for (const s of steps) {
    assert.ok(dp.inject(s.at[0], s.at[1], s.frame));
    await dp.settle();
    await new Promise((r) => setTimeout(r, 150)); // TICK_MS: each worker ran its timers since
  }
  inline = await startControlServer(emu, { socketPath: join(dir, 'inline.sock'), onWrite: (w) => writes.inline.push(w) });
  split = await startControlServer(new PartitionedControl(dp), { socketPath: join(dir, 'split.sock'), onWrite: (w) => writes.split.push(w) });
});

after(async () => {
  await inline?.close();
  await split?.close();
  await dp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** iptables-save stamps the time it ran. */
const undate = (r: CommandResponse): CommandResponse => ({ ...r, stdout: r.stdout.replace(/^(# (?:Generated by .*|Completed) on ).*$/gm, '$1DATE') });

async function both(family: string, argv: string[]): Promise<CommandResponse> {
  const a = await runRemote({ socketPath: inline.path }, family, argv);
  const b = await runRemote({ socketPath: split.path }, family, argv);
  assert.deepEqual(undate(b), undate(a), `dpemu ${family} ${argv.join(' ')}`);
  return a;
}

test('reads: every command answers from the workers as from one emulator', async () => {
  const reads: [string, string[]][] = [
    ['nodes', []],
    ['vsctl', ['show', 'w07']],
    ['vsctl', ['show', 'w02']],
    ['vsctl', ['list', 'w07', 'Interface']],
    ['vsctl', ['-f', 'table', '--columns', '_uuid,name,ports', 'find', 'w02', 'Bridge', 'fail_mode=secure']],
    ['brctl', ['show', 'w07']],
    ['bridge', ['w07', 'fdb', 'show']],
    ['bridge', ['-n', QROUTER, '-j', 'w07', 'fdb']],
    ['bridge', ['-d', 'w07', 'link']],
    ['ofctl', ['dump-flows', 'w07', 'br-int']],
    ['ofctl', ['dump-flows', 'w07', 'br-tun']],
    ['ofctl', ['-O', 'OpenFlow13', 'dump-flows', 'w02', 'br-tun']],
    ['ofctl', ['dump-flows', 'w02', 'br-ex']],
    ['ofctl', ['dump-ports-desc', 'w02', 'br-int']],
    ['ofctl', ['dump-tables', 'w07', 'br-int']],
    ['ofctl', ['dump-ports', 'w07', 'br-int']],
    ['ofctl', ['dump-ports', 'w02', 'br-tun', 'patch-int']],
    ['appctl', ['fdb/show', 'w02', 'br-int']],
    ['appctl', ['dpif/dump-flows', 'w07', 'br-int']],
    ['ip', ['-n', QROUTER, 'w07', 'route', 'show', 'table', 'all']],
    ['ip', ['-n', QROUTER, 'w07', 'rule']],
    ['ip', ['-n', QROUTER, 'w07', 'neigh']],
    ['ip', ['-n', SNAT, 'w02', 'route']],
    ['ip', ['-n', SNAT, 'w02', 'neigh']],
    ['ip', ['-n', FIP, 'w02', 'addr']],
    ['ip', ['-n', QROUTER, 'w07', '-s', 'link']],
    ['ip', ['-n', SNAT, 'w02', '-s', '-s', 'link']],
    ['ip', ['-n', FIP, 'w02', '-s', 'addr']],
    ['iptables', ['-n', SNAT, 'w02', '-t', 'nat', '-S', '-v']],
    ['iptables', ['-n', QROUTER, 'w07', '-t', 'nat', '-L', '-v', '-n']],
    ['iptables-save', ['-n', SNAT, 'w02', '-c']],
    ['conntrack', ['w02', '-n', SNAT, '-L']],
    ['conntrack', ['w02', '-n', SNAT, '-S']],
    ['conntrack', ['w07', '-n', QROUTER, '-C']],
  ];
  for (const [f, argv] of reads) await both(f, argv);
  const info = (sock: string) => new Promise<unknown>((resolve, reject) => {
    get({ socketPath: sock, path: '/v1/info' }, (res) => {
      let t = '';
      res.setEncoding('utf8').on('data', (c: string) => (t += c)).on('end', () => resolve(JSON.parse(t)));
    }).on('error', reject);
  });
  assert.deepEqual(await info(split.path), await info(inline.path));
  // The traffic really left state on both nodes.
  assert.match((await both('conntrack', ['w02', '-n', SNAT, '-L'])).stdout, /src=192\.168\.1\.7 dst=8\.8\.8\.8/);
  assert.match((await both('ofctl', ['dump-ports', 'w07', 'br-int'])).stdout, /^ {2}port 41: rx pkts=[1-9]/m, 'the worker read the shared port counters');
  assert.match((await both('ip', ['-n', QROUTER, 'w07', 'neigh'])).stdout, /192\.168\.1\.7 dev qr-\S+ lladdr fa:16:3e:b2:ef:af/);
  // ip -s link reads the port cells of the worker that owns the node: qr- received and sent.
  assert.match((await both('ip', ['-n', QROUTER, 'w07', '-s', 'link'])).stdout, /: qr-\S+: [^\n]*\n[^\n]*\n {4}RX:[^\n]*\n +[1-9]\d* +[1-9]\d* [^\n]*\n {4}TX:[^\n]*\n +[1-9]\d* +[1-9]/);
});

test('errors: the same text, an unknown node listing every node', async () => {
  const unknown = await both('ofctl', ['dump-flows', 'w99', 'br-int']);
  assert.equal(unknown.exit, 1);
  assert.match(unknown.stderr, /unknown node 'w99' \(nodes: w07, w02\)/);
  assert.match((await both('ip', [])).stderr, /missing NODE \(nodes: w07, w02\)/);
  await both('ofctl', ['dump-flows', 'w02', 'br-nope']);
  await both('ip', ['-n', 'qrouter-nope', 'w02', 'route']);
  await both('iptables', ['-n', SNAT, 'w02', '-t', 'nosuch', '-S']);
  await both('conntrack', ['w02', '-n', SNAT, '--bogus']);
  await both('clear-counters', ['w02']);
  await both('ofctl', ['frobnicate', 'w07', 'br-int']);
});

/** Series of `s` keyed `name{labels}` (labels sorted), with their values. */
function series(s: Scrape, keep: (name: string) => boolean): Map<string, number> {
  const out = new Map<string, number>();
  for (const x of s.samples) {
    if (!keep(x.name)) continue;
    const l = Object.keys(x.labels).sort().map((k) => `${k}="${x.labels[k]}"`).join(',');
    out.set(`${x.name}{${l}}`, x.value);
  }
  return out;
}

// Before the writes: clear-counters would leave little to compare.
test('/metrics: the workers\' families and series are one emulator\'s, joined with the supervisor\'s', async () => {
  const servers: MetricsServer[] = [];
  try {
    const one = await startMetricsServer({ engine: emu.engine, port: 0, processMetrics: false, threadBusy: false });
    servers.push(one);
    // The supervisor's own registry (the daemon's TAP and ring cells; none here) with the process metrics.
    const main = registerCollectors({ stats: new Stats(16) });
    const source = new PartitionedMetrics(dp, main, { sampleEvery: SAMPLE_EVERY });
    await source.start();
    const many = await startMetricsServer({ collectors: main, source, port: 0 });
    servers.push(many);
    const a = parseExposition(await (await fetch(`${one.url}/metrics`)).text());
    const body = await (await fetch(`${many.url}/metrics`)).text();
    const b = parseExposition(body);

    // promtool accepts the joined exposition, lint included.
    const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    if (r.error) assert.fail(`promtool could not run (${r.error.message}): install it with scripts/ensure-test-deps.sh`);
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.status, 0);

    // The same element families, types and series (labels and all).
    const workerOnly = new Set([...Object.values(DATAPATH_WORKER_METRICS).map((m) => m.name)]);
    const elements = (n: string): boolean => n.startsWith('dpemu_') && !workerOnly.has(n.replace(/_(bucket|sum|count)$/, ''));
    const ta = [...a.types].filter(([n]) => elements(n));
    const tb = [...b.types].filter(([n]) => elements(n));
    assert.deepEqual(new Map(tb), new Map(ta));
    assert.ok(ta.length > 20, `families: ${ta.length}`);
    const sa = series(a, elements), sb = series(b, elements);
    assert.deepEqual([...sb.keys()].sort(), [...sa.keys()].sort());
    // Counters the traffic decides are equal; latency samples and slab sizes are each thread's own, and so is
    // the whole-path cache's count of injects (a frame a worker takes from the hand-off is one; in one engine it is not).
    const ownPerThread = /^dpemu_(stage|pipeline)_latency_seconds|^dpemu_packet_buffers_|^dpemu_fastpath_path_/;
    const va = [...sa].filter(([k]) => !ownPerThread.test(k));
    assert.deepEqual(new Map([...sb].filter(([k]) => !ownPerThread.test(k))), new Map(va));
    assert.ok(va.some(([k, v]) => k.startsWith('dpemu_port_rx_packets_total') && k.includes('node="w02"') && v > 0), 'w02 counted packets');
    assert.equal(sb.get('dpemu_latency_sampling_ratio{}'), 1 / SAMPLE_EVERY);

    // The supervisor's counters of each worker's loop, and the process metrics, once.
    for (const n of WORKER_COUNTERS) assert.ok(DATAPATH_WORKER_METRICS[n], `catalog entry for worker counter ${n}`);
    for (const w of [0, 1]) {
      const l = `{worker="datapath-${w}"}`;
      const v = series(b, (n) => n.startsWith('dpemu_worker_'));
      assert.equal(v.get(`dpemu_worker_handoff_out_packets_total${l}`), dp.counter(w, 'HANDOFF_OUT'));
      assert.ok(v.get(`dpemu_worker_handoff_out_packets_total${l}`)! > 0);
      assert.equal(v.get(`dpemu_worker_restarts_total${l}`), 0);
      assert.ok(v.get(`dpemu_worker_busy_seconds_total${l}`)! > 0);
    }
    assert.equal(b.samples.filter((x) => x.name === 'process_cpu_user_seconds_total').length, 1);

    // ?flows=1 adds every OpenFlow flow and iptables rule of every worker.
    const fa = series(parseExposition(await (await fetch(`${one.url}/metrics?flows=1`)).text()), (n) => n.startsWith('dpemu_ovs_flow_') || n.startsWith('dpemu_iptables_rule_'));
    const fb = series(parseExposition(await (await fetch(`${many.url}/metrics?flows=1`)).text()), (n) => n.startsWith('dpemu_ovs_flow_') || n.startsWith('dpemu_iptables_rule_'));
    assert.ok(fa.size > 50);
    assert.deepEqual(fb, fa);
  } finally {
    for (const s of servers) await s.close();
  }
});

test('writes: a change made through the workers reads back as on one emulator', async () => {
  const flow = 'table=0,priority=7,dl_type=0x0800,nw_src=198.51.100.99,actions=drop';
  await both('ofctl', ['add-flow', 'w02', 'br-ex', flow]);
  assert.match((await both('ofctl', ['dump-flows', 'w02', 'br-ex', 'table=0'])).stdout, /priority=7,ip,nw_src=198\.51\.100\.99 actions=drop/);
  await both('ip', ['-n', QROUTER, 'w07', 'route', 'add', '203.0.113.0/24', 'via', '192.168.1.7']);
  await both('ip', ['-n', QROUTER, 'w07', 'route', 'show', 'table', 'all']);
  await both('iptables', ['-n', SNAT, 'w02', '-t', 'nat', '-I', 'POSTROUTING', '1', '-s', '192.168.9.0/24', '-j', 'ACCEPT']);
  await both('iptables-save', ['-n', SNAT, 'w02', '-c']);
  // clear-counters runs in every worker: every node's counters are zero after it.
  await both('clear-counters', []);
  const flows = await both('ofctl', ['dump-flows', 'w07', 'br-int']);
  assert.doesNotMatch(flows.stdout, /n_packets=[1-9]/);
  await both('ofctl', ['dump-flows', 'w02', 'br-tun']);
  await both('iptables', ['-n', SNAT, 'w02', '-t', 'nat', '-S', '-v']);
  await both('conntrack', ['w02', '-n', SNAT, '-F']);
  await both('conntrack', ['w02', '-n', SNAT, '-L']);
  // The server heard of the same writes (clear-counters once, not once per worker).
  assert.deepEqual(writes.split, writes.inline);
});

/** A capture through `sock`, with `traffic` sent once it has started; frames without their timestamps. */
async function capture(sock: string, req: CaptureRequest, traffic: () => Promise<void>) {
  const frames: Omit<Extract<CaptureEvent, { type: 'frame' }>, 'ts'>[] = [];
  let head: CaptureEvent | undefined;
  let end: CaptureEvent | undefined;
  let error: CommandResponse | undefined;
  let started!: () => void;
  const start = new Promise<void>((r) => (started = r));
  const done = captureRemote({ socketPath: sock }, req, (ev) => {
    if (ev.type === 'start') {
      head = ev;
      started();
    } else if (ev.type === 'frame') frames.push({ type: 'frame', len: ev.len, dir: ev.dir, data: ev.data });
    else end = ev;
  }, (r) => {
    error = r;
    started();
  });
  await start;
  if (!error) await traffic();
  await done;
  return { head, frames, end, error };
}

test('tcpdump: a capture in a worker gives the frames one emulator gives, and the same errors', async () => {
  const ping = [
    fromVm({ ip: { src: VM_IP, dst: '8.8.8.8' }, icmp: { id: 60691, seq: 2, data: 100 } }),
    fromInternet({ ip: { src: '8.8.8.8', dst: SNAT_IP }, icmp: { type: 0, id: 60691, seq: 2, data: 100 } }),
  ];
  const inlineTraffic = async () => {
    for (const s of ping) {
      emu.engine.inject(emu.engine.pool.allocFrom(s.frame)!, emu.findPort(s.at[0], s.at[1])!);
      emu.engine.tick();
    }
  };
  const splitTraffic = async () => {
    for (const s of ping) {
      assert.ok(dp.inject(s.at[0], s.at[1], s.frame));
      await dp.settle();
      await new Promise((r) => setTimeout(r, 150));
    }
  };
  // Both directions at w02's eth3 (the request after SNAT, VLAN 103; the reply) and at the VM's tap on w07, in other workers;
  // every interface of the SNAT namespace (-i any: cooked frames); the device tcpdump picks there without -i.
  for (const [iface, filter] of [['w02:eth3', 'icmp'], ['w07:tap2ab77d0f-99', ''], [`w02:${SNAT}:any`, 'icmp'], [`w02:${SNAT}:`, 'icmp']] as const) {
    const req = { iface, filter, count: 2 };
    const a = await capture(inline.path, req, inlineTraffic);
    const b = await capture(split.path, req, splitTraffic);
    assert.equal(a.error, undefined);
    assert.deepEqual(b, a, iface);
    assert.equal(a.frames.length, 2);
    assert.deepEqual(a.end, { type: 'end', captured: 2, dropped: 0 });
  }
  for (const req of [{ iface: 'w99:eth3' }, { iface: 'w07:nosuch0' }, { iface: 'w02:eth3', filter: 'icmp and and' }, { iface: 'w02' }, { iface: `w02:${SNAT}:any`, filter: 'vlan' }]) {
    const a = await capture(inline.path, req, async () => {});
    const b = await capture(split.path, req, async () => {});
    assert.ok(a.error && !a.error.ok, JSON.stringify(req));
    assert.deepEqual(b, a, JSON.stringify(req));
  }
});

/** conntrack -E (or ip monitor: `req`) through `sock` while `traffic` runs, then stopped (the reader goes away): its lines, its table, or its error. */
async function events(sock: string, argv: string[], traffic: () => Promise<void>, req: ConntrackEventsRequest | IpMonitorRequest | BridgeMonitorRequest = { conntrack: argv }) {
  const lines: string[] = [];
  let table: string | undefined;
  let error: CommandResponse | undefined;
  let started!: () => void;
  const start = new Promise<void>((r) => (started = r));
  const stop = new AbortController();
  const done = captureRemote({ socketPath: sock }, req, (ev) => {
    if (ev.type === 'listening') {
      table = ev.table;
      started();
    } else if (ev.type === 'line') lines.push(ev.text);
  }, (r) => {
    error = r;
    started();
  }, stop.signal);
  await start;
  if (!error) {
    await traffic();
    await new Promise((r) => setTimeout(r, 200)); // a few of the supervisor's polls
  }
  stop.abort();
  await done;
  return { lines, table, error };
}

test('conntrack -E: the events of a namespace in a worker are one emulator\'s, and so are the errors', async () => {
  const flow = [
    fromVm({ ip: { src: VM_IP, dst: '198.51.100.10' }, udp: { sport: 40100, dport: 53, payload: 64 } }),
    fromInternet({ ip: { src: '198.51.100.10', dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport: 40100, payload: 80 } }),
  ];
  const del = ['w02', '-n', SNAT, '-D', '-p', 'udp', '--sport', '40100'];
  const inlineTraffic = async () => {
    for (const s of flow) {
      emu.engine.inject(emu.engine.pool.allocFrom(s.frame)!, emu.findPort(s.at[0], s.at[1])!);
      emu.engine.tick();
    }
    assert.equal((await runRemote({ socketPath: inline.path }, 'conntrack', del)).exit, 0);
  };
  const splitTraffic = async () => {
    for (const s of flow) {
      assert.ok(dp.inject(s.at[0], s.at[1], s.frame));
      await dp.settle();
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.equal((await runRemote({ socketPath: split.path }, 'conntrack', del)).exit, 0);
  };
  const argv = ['w02', '-n', SNAT, '-E', '-p', 'udp', '-o', 'extended'];
  const a = await events(inline.path, argv, inlineTraffic);
  const b = await events(split.path, argv, splitTraffic);
  assert.equal(a.error, undefined);
  const t = `src=${VM_IP} dst=198.51.100.10 sport=40100 dport=53`, r = `src=198.51.100.10 dst=${SNAT_IP} sport=53 dport=40100`;
  assert.deepEqual(a.lines.map((l) => l.replace(/ 17 \d+ /, ' 17 T ')), [
    `    [NEW] ipv4     2 udp      17 T ${t} [UNREPLIED] ${r}`,
    ` [UPDATE] ipv4     2 udp      17 T ${t} ${r}`,
    `[DESTROY] ipv4     2 udp      17 T ${t} ${r} [USERSPACE] portid=${process.pid} progname=conntrack`,
  ]);
  assert.deepEqual(b, a);
  // Words conntrack refuses, a node or namespace that is not there, an output dpemu does not print; the expectation table.
  for (const bad of [['w02', '-n', SNAT, '-E', '-u', 'ASSURED'], ['w02', '-n', SNAT, '-E', '-e', 'NEW,FOO'], ['w99', '-E'], ['w02', '-n', 'nosuch', '-E'], ['w02', '-n', SNAT, '-E', '-o', 'xml']]) {
    const x = await events(inline.path, bad, async () => {});
    const y = await events(split.path, bad, async () => {});
    assert.ok(x.error && !x.error.ok, bad.join(' '));
    assert.deepEqual(y, x, bad.join(' '));
  }
  const x = await events(split.path, ['w02', '-n', SNAT, '-E', 'expect'], splitTraffic);
  assert.deepEqual(x, { lines: [], table: 'expect', error: undefined });
});

test('ip monitor: a namespace in a worker tells its changes as one emulator does, and refuses as it does', async () => {
  const RFP = 'rfp-c4d4b760-4';
  const writes = [
    ['addr', 'add', '192.0.2.1/24', 'dev', RFP],
    ['route', 'add', '198.51.100.128/25', 'via', '192.0.2.2'],
    ['neigh', 'add', '192.0.2.7', 'lladdr', '02:00:00:00:00:07', 'dev', RFP],
    ['rule', 'add', 'pref', '1001', 'lookup', '101'],
    ['rule', 'del', 'pref', '1001'],
    ['neigh', 'del', '192.0.2.7', 'dev', RFP],
    ['addr', 'del', '192.0.2.1/24', 'dev', RFP],
  ];
  const changes = (sock: string) => async () => {
    for (const w of writes) assert.equal((await runRemote({ socketPath: sock }, 'ip', ['-n', SNAT, 'w02', ...w])).exit, 0, w.join(' '));
  };
  const argv = ['-n', SNAT, 'w02', 'monitor', 'address', 'route', 'neigh', 'rule', 'label'];
  const a = await events(inline.path, argv, changes(inline.path), { ipMonitor: argv });
  const b = await events(split.path, argv, changes(split.path), { ipMonitor: argv });
  assert.equal(a.error, undefined);
  assert.deepEqual(a.lines.filter((l) => !l.includes('169.254.96.33')).map((l) => l.split('\n')[0]), [
    `[ADDR]2: ${RFP}    inet 192.0.2.1/24 scope global ${RFP}`,
    `[ROUTE]local 192.0.2.1 dev ${RFP} table local proto kernel scope host src 192.0.2.1 `,
    `[ROUTE]192.0.2.0/24 dev ${RFP} proto kernel scope link src 192.0.2.1 `,
    `[ROUTE]broadcast 192.0.2.255 dev ${RFP} table local proto kernel scope link src 192.0.2.1 `,
    `[ROUTE]198.51.100.128/25 via 192.0.2.2 dev ${RFP} `,
    `[NEIGH]192.0.2.7 dev ${RFP} lladdr 02:00:00:00:00:07 PERMANENT `,
    '[RULE]1001:\tfrom all lookup 101',
    '[RULE]Deleted 1001:\tfrom all lookup 101',
    `[NEIGH]192.0.2.7 dev ${RFP} FAILED `,
    `[NEIGH]Deleted 192.0.2.7 dev ${RFP} FAILED `,
    `[ADDR]Deleted 2: ${RFP}    inet 192.0.2.1/24 scope global ${RFP}`,
    `[ROUTE]Deleted 192.0.2.0/24 dev ${RFP} proto kernel scope link src 192.0.2.1 `,
    `[ROUTE]Deleted broadcast 192.0.2.255 dev ${RFP} table local proto kernel scope link src 192.0.2.1 `,
    `[ROUTE]Deleted local 192.0.2.1 dev ${RFP} table local proto kernel scope host src 192.0.2.1 `,
  ]);
  assert.deepEqual(b, a);
  for (const bad of [['-n', SNAT, 'w02', 'monitor', 'bogus'], ['w99', 'monitor'], ['-n', 'nosuch', 'w02', 'monitor']]) {
    const x = await events(inline.path, bad, async () => {}, { ipMonitor: bad });
    const y = await events(split.path, bad, async () => {}, { ipMonitor: bad });
    assert.ok(x.error && !x.error.ok, bad.join(' '));
    assert.deepEqual(y, x, bad.join(' '));
  }
});

test('bridge monitor: a qbr in a worker tells what it learns as one emulator does, and refuses as it does', async () => {
  // A station new to the qbr behind the VM's TAP: learned there (fdb_notify's RTM_NEWNEIGH).
  const station = Buffer.from('ffffffffffff' + '020000005399' + '88b5' + '00'.repeat(46), 'hex');
  const argv = ['-s', 'w07', 'monitor', 'all'];
  const a = await events(inline.path, argv, async () => {
    emu.engine.inject(emu.engine.pool.allocFrom(station)!, emu.findPort(VM_EDGE[0], VM_EDGE[1])!);
  }, { bridgeMonitor: argv });
  const b = await events(split.path, argv, async () => {
    assert.ok(dp.inject(VM_EDGE[0], VM_EDGE[1], station));
    await dp.settle();
    await new Promise((r) => setTimeout(r, 150));
  }, { bridgeMonitor: argv });
  assert.deepEqual(a, { lines: ['[NEIGH]02:00:00:00:53:99 dev tap2ab77d0f-99 used 0/0 master qbr2ab77d0f-99 '], table: 'rtnetlink', error: undefined });
  assert.deepEqual(b, a);
  for (const bad of [['w07', 'monitor', 'bogus'], ['w99', 'monitor'], ['-n', 'nosuch', 'w07', 'monitor']]) {
    const x = await events(inline.path, bad, async () => {}, { bridgeMonitor: bad });
    const y = await events(split.path, bad, async () => {}, { bridgeMonitor: bad });
    assert.ok(x.error && !x.error.ok, bad.join(' '));
    assert.deepEqual(y, x, bad.join(' '));
  }
});

test('a trace answers as one emulator, inside one node and across workers (test/unit/workers-trace.test.ts has more)', async () => {
  const arp = ['--in', 'w07:tap2ab77d0f-99', '--frame', Buffer.from(buildFrame({ src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: VM_IP, tpa: '192.168.1.1' } })).toString('hex')];
  await both('trace', arp);
  const ping = ['--in', 'w07:tap2ab77d0f-99', '--frame', Buffer.from(buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: VM_IP, dst: '8.8.8.8' }, icmp: { id: 1, seq: 9, data: 56 } })).toString('hex')];
  const r = await both('trace', ping);
  assert.equal(r.exit, 0);
  assert.match(r.stdout, /^ {2}w02 snat-/m);
  assert.match(r.stdout, /left the emulator at w02:eth3/);
  const two = await runRemote({ socketPath: split.path }, 'trace', [...arp, '--in', 'w02:eth3', '--frame', 'ffffffffffff5cc99960d2710806']);
  assert.match(two.stderr, /packets injected at w07 and w02 in one trace need one emulator/);
  assert.equal((await runRemote({ socketPath: split.path }, 'reload', [])).exit, 1);
  assert.match((await runRemote({ socketPath: split.path }, 'reload', [])).stderr, /reload: this server was started without a topology file to reload/);
});

test('a worker that dies and comes back answers commands again, and /metrics counts the restart', async () => {
  const main = registerCollectors({ stats: new Stats(16), processMetrics: false });
  const source = new PartitionedMetrics(dp, main, { sampleEvery: SAMPLE_EVERY });
  const back = dp.restarted(1);
  await dp.kill(1); // w07's
  await back;
  assert.deepEqual(await runRemote({ socketPath: split.path }, 'nodes', []), await runRemote({ socketPath: inline.path }, 'nodes', []));
  const flows = await runRemote({ socketPath: split.path }, 'ofctl', ['dump-flows', 'w07', 'br-int']);
  assert.equal(flows.exit, 0);
  assert.match(flows.stdout, /^NXST_FLOW reply/);
  const v = series(parseExposition((await source.exposition(false)).body), (n) => n === 'dpemu_worker_restarts_total');
  assert.deepEqual(v, new Map([['dpemu_worker_restarts_total{worker="datapath-0"}', 0], ['dpemu_worker_restarts_total{worker="datapath-1"}', 1]]));
});
