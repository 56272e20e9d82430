// The write-up's own path (configs/seed-dvr-snat.yaml, built as the golden
// tests build it): N echo requests injected at w07's TAP raise every stage of
// the dashboard's per-stage panel by exactly N packets and the right bytes;
// drops come out per element and reason as the engine counted them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DROP_REASONS } from '../../src/datapath/drop-reasons.js';
import { registerCollectors } from '../../src/metrics/collectors.js';
import { enableLatencySampling } from '../../src/metrics/latency.js';
import { M, SEED, golden, inject } from '../helpers/golden.js';
import { parseExposition, value } from './metrics-scrape.js';

const N = 500;

interface Panel { title: string; targets?: { expr: string }[] }
const dash = JSON.parse(readFileSync('configs/grafana-dashboard.json', 'utf8')) as { panels: Panel[] };
/** The stages of the dashboard's per-stage panel, in path order: [metric, node, element, port]. */
const stages = dash.panels.find((p) => p.title === 'Packet rate at each stage')!.targets!.map((t) =>
  /(dpemu_port_(?:rx|tx)_packets_total)\{node="([^"]+)",element="([^"]+)",port="([^"]+)"\}/.exec(t.expr)!.slice(1) as [string, string, string, string]);

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
