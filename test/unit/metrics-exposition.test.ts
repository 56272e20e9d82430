// The exposition, as served over HTTP: Prometheus' own promtool accepts it,
// and every name, type, help and label set is the one catalog.ts documents.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Stats } from '../../src/datapath/stats.js';
import { CELL_METRICS, CONNTRACK_STAT_METRICS, SCRAPE_METRICS, FLOW_METRICS, LATENCY_BUCKETS, TAP_COUNTERS, RING_COUNTERS, WORKER_COUNTERS, FASTPATH_COUNTERS, IPTABLES_CACHE_COUNTERS, type MetricSpec } from '../../src/metrics/catalog.js';
import { enableLatencySampling } from '../../src/metrics/latency.js';
import { allocHistogram, observeNs } from '../../src/metrics/histogram.js';
import { startMetricsServer, parseListenAddress, type MetricsServer } from '../../src/metrics/server.js';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from '../../src/metrics/defaults.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { buildPath, request } from './metrics-fixtures.js';
import { parseExposition, value } from './metrics-scrape.js';

let srv: MetricsServer;
let healthy = true;
const rig = buildPath();

before(async () => {
  enableLatencySampling(rig.e, 4);
  // A counting rule (no target) in the stand-in namespace: every packet passes it, then the policy.
  rig.snat.netfilter.load('*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -s 192.168.1.0/24\nCOMMIT\n');
  // A worker's own Stats with the counters the TAP loop, rings, workers, a bridge's fast path and a namespace's iptables cache keep.
  const w = new Stats(1024);
  const base = (names: readonly string[], labels: Record<string, string>) => w.alloc(names, labels);
  const tap = base(TAP_COUNTERS, { node: 'w07', port: 'tap2ab77d0f-99', worker: '0' });
  const ring = base(RING_COUNTERS, { ring: 'w0-rx' });
  const wk = base(WORKER_COUNTERS, { worker: '0' });
  const fp = base(FASTPATH_COUNTERS, { node: 'w07', element: 'br-int' });
  base(IPTABLES_CACHE_COUNTERS, { node: 'w02', element: 'snat-c4d4b760-41b9-45e1-a607-d054da99c479' });
  for (let i = 0; i < TAP_COUNTERS.length; i++) w.v[tap + i] = i + 1;
  w.v[ring + 3] = 1024;
  w.v[wk] = 0.5;
  w.v[fp] = 10;
  w.alloc(['conntrack_entries', 'conntrack_max'], { node: 'w02', element: 'worker-ct' });
  const e2e = allocHistogram(w, 'e2e_latency', { node: 'w07' });
  observeNs(w.v, e2e, 3000);
  observeNs(w.v, e2e, 40000);
  srv = await startMetricsServer({ engine: rig.e, stats: w, port: 0, health: () => (healthy ? true : { ok: false, detail: 'TAP worker 0 is gone' }) });
  for (let i = 0; i < 100; i++) rig.send(request());
});

after(() => srv.close());

const get = async (path: string, init?: RequestInit) => fetch(srv.url + path, init);

function promtool(args: string[], input: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8' });
  if (r.error) assert.fail(`promtool could not run (${r.error.message}): install it with scripts/ensure-test-deps.sh`);
  return { status: r.status, out: r.stdout + r.stderr };
}

test('promtool check metrics accepts a live scrape, lint included', async () => {
  const res = await get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  const body = await res.text();
  const r = promtool(['check', 'metrics'], body);
  assert.equal(r.out, '', r.out);
  assert.equal(r.status, 0);
  // promtool really parses: a broken line fails it.
  assert.notEqual(promtool(['check', 'metrics'], body + 'dpemu_broken{x="1" 3\n').status, 0);
});

test('names, types, help and labels are the documented ones; every documented family is served', async () => {
  const s = parseExposition(await (await get('/metrics')).text());
  const documented = new Map<string, MetricSpec>();
  for (const spec of [...Object.values(CELL_METRICS), ...Object.values(SCRAPE_METRICS), ...Object.values(CONNTRACK_STAT_METRICS)]) documented.set(spec.name, spec);
  for (const [name, type] of s.types) {
    assert.match(name, /^(dpemu_|process_|nodejs_)/, name);
    if (type === 'counter') assert.match(name, /_total$/, name);
    else assert.doesNotMatch(name, /_total$/, name);
    if (!name.startsWith('dpemu_')) continue;
    const spec = documented.get(name);
    assert.ok(spec, `${name} is documented in catalog.ts`);
    assert.equal(type, spec.type, name);
    assert.equal(s.help.get(name), spec.help.replace(/\\/g, '\\\\'), name);
  }
  for (const name of documented.keys()) assert.ok(s.types.has(name), `${name} is served`);
  for (const x of s.samples) {
    if (!x.name.startsWith('dpemu_')) continue;
    const fam = x.name.replace(/_(bucket|sum|count)$/, '');
    const spec = documented.get(s.types.has(x.name) ? x.name : fam)!;
    const want = [...spec.labels, ...(x.name.endsWith('_bucket') && spec.type === 'histogram' ? ['le'] : [])].sort();
    assert.deepEqual(Object.keys(x.labels).sort(), want, `labels of ${x.name}`);
  }
  // Histograms: microsecond-scale log2 buckets, not prom-client's 5 ms - 10 s defaults.
  const les = s.samples.filter((x) => x.name === 'dpemu_stage_latency_seconds_bucket' && x.labels.element === 'br-int' && x.labels.node === 'w07').map((x) => x.labels.le);
  assert.deepEqual(les, [...LATENCY_BUCKETS.map(String), '+Inf']);
  assert.equal(value(s, 'dpemu_e2e_latency_seconds_count', { node: 'w07' }), 2);
  assert.equal(value(s, 'dpemu_e2e_latency_seconds_bucket', { node: 'w07', le: String(2 ** 12 / 1e9) }), 1);
  assert.equal(value(s, 'dpemu_tap_tx_packets_total', { port: 'tap2ab77d0f-99' }), 5);
  // Process metrics from prom-client.
  assert.ok(value(s, 'process_cpu_seconds_total') > 0);
  assert.ok(s.types.has('nodejs_heap_size_used_bytes'));
});

test('every cell the path allocates is catalogued', () => {
  assert.deepEqual(srv.collectors.uncatalogued(), []);
});

test('per-flow and per-rule counters only on request; the default series count does not grow with flows', async () => {
  const plain = parseExposition(await (await get('/metrics')).text());
  assert.ok(!plain.types.has(FLOW_METRICS.packets.name));
  const withFlows = parseExposition(await (await get('/metrics?flows=1')).text());
  assert.equal(withFlows.types.get(FLOW_METRICS.packets.name), 'counter');
  const m = { node: 'w07', element: 'br-tun', table: '0', priority: '1' };
  assert.equal(value(withFlows, 'dpemu_ovs_flow_packets_total', { ...m, match: 'priority=1,in_port=1' }), 100);
  assert.equal(value(withFlows, 'dpemu_ovs_flow_bytes_total', { ...m, match: 'priority=1,in_port=1' }), 14200);
  const nf = { node: 'w02', element: rig.snat.name, table: 'mangle', chain: 'PREROUTING' };
  assert.equal(value(withFlows, 'dpemu_iptables_rule_packets_total', { ...nf, rule: '1' }), 100);
  assert.equal(value(withFlows, 'dpemu_iptables_rule_bytes_total', { ...nf, rule: '1' }), 100 * 128);
  assert.ok(!plain.types.has('dpemu_iptables_rule_packets_total'));
  assert.equal(value(plain, 'dpemu_iptables_policy_packets_total', nf), 100);
  const dpemu = (t: string) => parseExposition(t).samples.filter((x) => x.name.startsWith('dpemu_') && x.name !== 'dpemu_worker_busy_seconds_total').length;
  const n0 = dpemu(await (await get('/metrics')).text());
  const br = rig.e.element('w07', 'br-int') as OvsBridge;
  for (let i = 0; i < 100; i++) br.addFlow(`table=0,priority=2,ip,nw_dst=10.0.${i}.0/24,actions=drop`);
  assert.equal(dpemu(await (await get('/metrics')).text()), n0);
  assert.equal(parseExposition(await (await get('/metrics?flows=1')).text()).samples.filter((x) => x.name === 'dpemu_ovs_flow_packets_total' && x.labels.element === 'br-int' && x.labels.node === 'w07').length, 102);
  br.delFlows('table=0,ip');
});

test('/healthz says whether the daemon forwards, /readyz whether it is ready; other paths 404, other methods 405', async () => {
  let r = await get('/healthz');
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'ok\n');
  healthy = false;
  r = await get('/healthz');
  assert.equal(r.status, 503);
  assert.equal(await r.text(), 'not ok: TAP worker 0 is gone\n');
  healthy = true;
  assert.equal((await get('/readyz')).status, 200);
  assert.equal((await get('/nope')).status, 404);
  assert.equal((await get('/metrics', { method: 'POST' })).status, 405);
});

test('the address defaults to loopback on port 9477 and parses as HOST:PORT', () => {
  assert.equal(DEFAULT_METRICS_HOST, '127.0.0.1');
  assert.equal(DEFAULT_METRICS_PORT, 9477);
  assert.equal(srv.host, '127.0.0.1');
  assert.deepEqual(parseListenAddress('0.0.0.0:9477'), { host: '0.0.0.0', port: 9477 });
  assert.deepEqual(parseListenAddress('[::1]:9100'), { host: '::1', port: 9100 });
  assert.deepEqual(parseListenAddress(':9477'), { host: '127.0.0.1', port: 9477 });
  assert.throws(() => parseListenAddress('localhost'), /HOST:PORT/);
  assert.throws(() => parseListenAddress('1.2.3.4:70000'), /HOST:PORT/);
});
