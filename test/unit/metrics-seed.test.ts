// The write-up's own path (configs/seed-dvr-snat.yaml, built as the golden
// tests build it): N echo requests injected at w07's TAP raise every stage of
// the dashboard's per-stage panel by exactly N packets and the right bytes;
// drops come out per element and reason as the engine counted them, and the
// real namespaces' TTL, route, checksum and conntrack-full drops land under
// those reasons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DROP_REASONS } from '../../src/datapath/drop-reasons.js';
import { registerCollectors } from '../../src/metrics/collectors.js';
import { enableLatencySampling } from '../../src/metrics/latency.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { buildFrame } from '../../src/wire/frame.js';
import { M, QROUTER, SEED, SNAT, golden, inject } from '../helpers/golden.js';
import { parseExposition, value } from './metrics-scrape.js';

const N = 500;

interface Panel { title: string; targets?: { expr: string }[] }
const dash = JSON.parse(readFileSync('configs/grafana-dashboard.json', 'utf8')) as { panels: Panel[] };
/** The stages of the dashboard's per-stage panel, in path order: [metric, node, element, port]. */
const stages = dash.panels.find((p) => p.title === 'Packet rate at each stage')!.targets!.map((t) =>
  /(dpemu_port_(?:rx|tx)_packets_total)\{instance=~"\$instance",node="([^"]+)",element="([^"]+)",port="([^"]+)"\}/.exec(t.expr)!.slice(1) as [string, string, string, string]);

/**
 * Frame size at each stage: the VM's 142 bytes; 146 where a VLAN tag rides
 * along (the local VLAN across br-int/br-tun patch ports, VLAN 103 on the
 * eth3 trunk); 192 on the underlay (VXLAN).
 */
function bytesAt(element: string, port: string): number {
  if (element === 'fabric' || (element === 'eth2' && port === 'eth2')) return 192;
  if (port.startsWith('patch-') || port === 'eth3') return 146;
  return 142;
}

test('N requests on the seed topology: every stage of the dashboard\'s path panel counts N more, with the right bytes', async () => {
  const g = golden(SEED);
  g.emu.engine.tracer = null; // counting, not tracing
  enableLatencySampling(g.emu.engine, 1);
  const c = registerCollectors({ engine: g.emu.engine, processMetrics: false });
  const scrape = async () => {
    c.sync();
    return parseExposition(await c.registry.metrics());
  };
  const send = () => inject(g, 'w07', 'tap2ab77d0f-99', { src: M.vm, dst: M.qr, ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 60691, seq: 1, data: 100 } });
  for (let i = 0; i < 3; i++) send(); // warm-up: fdbs learn, conntrack and NAT set up
  g.eth3!.frames.length = 0;
  const before = await scrape();
  for (let i = 0; i < N; i++) send();
  const after = await scrape();
  assert.equal(g.eth3!.frames.length, N, 'every request left at eth3');
  assert.equal(stages.length, 14);
  for (const [metric, node, element, port] of stages) {
    const m = { node, element, port };
    const d = (name: string) => value(after, name, m) - value(before, name, m);
    assert.equal(d(metric), N, `${node}:${element}:${port} packets`);
    assert.equal(d(metric.replace('_packets_', '_bytes_')), N * bytesAt(element, port), `${node}:${element}:${port} bytes`);
  }
  // Drops (here flood copies: to down LOCAL ports, and back to the VM, as no reply teaches the fdbs) are
  // exported per element and reason exactly as the engine counted them.
  for (const el of g.emu.engine.elements) {
    for (const reason of DROP_REASONS) {
      if (reason === 'consumed') continue;
      const m = { node: el.node, element: el.name, kind: el.kind, reason };
      assert.equal(value(after, 'dpemu_dropped_packets_total', m), g.emu.engine.dropCount(el, reason), `${el.node}:${el.name} ${reason}`);
    }
  }
  // Every element of the path has a latency histogram that counted its deliveries.
  for (const [, node, element] of stages) {
    assert.ok(value(after, 'dpemu_stage_latency_seconds_count', { node, element }) > 0, `${node}:${element} latency`);
  }
  assert.equal(c.uncatalogued().length, 0, `uncatalogued cells: ${c.uncatalogued().join(', ')}`);
});

test('drops of known reasons on the seed topology\'s own namespaces land under those reasons', async () => {
  const g = golden(SEED);
  g.emu.engine.tracer = null;
  const snat = g.emu.namespace('w02', SNAT);
  snat.setSysctl('net.netfilter.nf_conntrack_max', 1);
  const c = registerCollectors({ engine: g.emu.engine, processMetrics: false });
  const fromVm = (ip: { src?: string; ttl?: number }, l4: { icmp?: { id: number; seq: number; data: number }; udp?: { sport: number; dport: number; payload: number } }) =>
    inject(g, 'w07', 'tap2ab77d0f-99', { src: M.vm, dst: M.qr, ip: { src: '192.168.1.7', dst: '8.8.8.8', ...ip }, ...l4 });
  const echo = { icmp: { id: 60691, seq: 1, data: 100 } };
  fromVm({ ttl: 1 }, echo); // qrouter: TTL exceeded (and an ICMP error back to the VM)
  fromVm({ src: '10.99.0.1' }, echo); // qrouter: no route for this source (policy rule covers 192.168.1.0/24 only)
  // Malformed: a bad IPv4 header checksum, as the qrouter sees it.
  const bad = buildFrame({ src: M.vm, dst: M.qr, ip: { src: '192.168.1.7', dst: '8.8.8.8' }, ...echo });
  bad[24]! ^= 0xff;
  const p = g.emu.engine.pool.allocFrom(bad)!;
  g.emu.engine.inject(p, g.emu.findPort('w07', 'tap2ab77d0f-99')!);
  // Conntrack full: one assured UDP stream fills snat's table of 1 (reply from the gateway, then 2 s later another request).
  fromVm({}, { udp: { sport: 40000, dport: 53, payload: 20 } });
  const out = g.eth3!.frames.at(-1)!.frame;
  const natPort = (out[18 + 20]! << 8) | out[18 + 21]!;
  inject(g, 'w02', 'eth3', { src: M.tor, dst: M.vif, vlans: [103], ip: { src: '8.8.8.8', dst: '112.65.210.200', ttl: 60 }, udp: { sport: 53, dport: natPort, payload: 20 } });
  (g.emu.engine.clock as ManualClock).advance(3000);
  fromVm({}, { udp: { sport: 40000, dport: 53, payload: 20 } });
  fromVm({}, { udp: { sport: 40001, dport: 53, payload: 20 } });
  fromVm({}, { udp: { sport: 40002, dport: 53, payload: 20 } });
  c.sync();
  const s = parseExposition(await c.registry.metrics());
  const drops = (element: string, reason: string) => value(s, 'dpemu_dropped_packets_total', { element, reason });
  assert.equal(drops(QROUTER, 'ttl_exceeded'), 1);
  assert.equal(drops(QROUTER, 'no_route'), 1);
  assert.equal(drops(QROUTER, 'malformed'), 1);
  assert.equal(drops(SNAT, 'conntrack_full'), 2);
  assert.equal(value(s, 'dpemu_conntrack_entries', { node: 'w02', element: SNAT }), 1);
  assert.equal(value(s, 'dpemu_conntrack_entries_limit', { node: 'w02', element: SNAT }), 1);
});
