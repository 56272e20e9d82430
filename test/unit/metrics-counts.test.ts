// Counts are exact: frames injected along the path show up, stage by stage,
// in what a scrape returns; drops land under their reasons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame } from '../../src/wire/frame.js';
import { registerCollectors, type Collectors } from '../../src/metrics/collectors.js';
import { enableLatencySampling } from '../../src/metrics/latency.js';
import { buildPath, request, PATH, SNAT } from './metrics-fixtures.js';
import { parseExposition, value, type Scrape } from './metrics-scrape.js';

async function scrape(c: Collectors): Promise<Scrape> {
  c.sync();
  return parseExposition(await c.registry.metrics());
}

const N = 1000;

test('N frames along the path: every stage reports N more packets in and out, with the right bytes', async () => {
  const r = buildPath();
  const c = registerCollectors({ engine: r.e, processMetrics: false });
  for (let i = 0; i < 7; i++) r.send(request()); // warm-up, so we check deltas
  const before = await scrape(c);
  for (let i = 0; i < N; i++) r.send(request());
  const after = await scrape(c);
  assert.equal(r.out.frames.length, N + 7, 'every frame came out of the snat namespace');
  const d = (name: string, m: Record<string, string>): number => value(after, name, m) - value(before, name, m);
  for (const st of PATH) {
    const where = `${st.node}:${st.element}`;
    const inP = { node: st.node, element: st.element, port: st.in };
    const outP = { node: st.node, element: st.element, port: st.out };
    assert.equal(d('dpemu_port_rx_packets_total', inP), N, `${where} rx packets on ${st.in}`);
    assert.equal(d('dpemu_port_rx_bytes_total', inP), N * st.bytesIn, `${where} rx bytes on ${st.in}`);
    assert.equal(d('dpemu_port_tx_packets_total', outP), N, `${where} tx packets on ${st.out}`);
    assert.equal(d('dpemu_port_tx_bytes_total', outP), N * st.bytesOut, `${where} tx bytes on ${st.out}`);
    assert.equal(d('dpemu_dropped_packets_total', { node: st.node, element: st.element }), 0, `${where} dropped nothing`);
  }
  // OpenFlow table 0 of each bridge on the path: one lookup and one match per frame.
  for (const [node, br] of [['w07', 'br-int'], ['w07', 'br-tun'], ['w02', 'br-tun'], ['w02', 'br-int']] as const) {
    const m = { node, element: br, table: '0' };
    assert.equal(d('dpemu_ovs_table_lookups_total', m), N, `${node}:${br} lookups`);
    assert.equal(d('dpemu_ovs_table_matched_total', m), N, `${node}:${br} matched`);
    assert.equal(value(after, 'dpemu_ovs_table_flows', m), 2, `${node}:${br} flows`);
  }
  assert.equal(value(after, 'dpemu_conntrack_entries', { node: 'w02', element: SNAT }), 1, 'one ICMP id, one entry');
  assert.equal(value(after, 'dpemu_conntrack_entries_limit', { node: 'w02', element: SNAT }), 262144);
  const ctStat = (k: string) => d(`dpemu_conntrack_stat_${k}_total`, { node: 'w02', element: SNAT });
  // Linux 6.x counts neither inserts nor lookups that find their entry (found: NAT clashes only).
  assert.deepEqual([ctStat('insert'), ctStat('found'), ctStat('drop'), ctStat('invalid')], [0, 0, 0, 0], 'conntrack -S: nothing but lookups that found the entry');
  assert.equal(value(after, 'dpemu_packet_buffers_free'), value(after, 'dpemu_packet_buffers_capacity'), 'no slot leaked');
});

test('drops of known reasons land under those reasons: TTL expired, no route, conntrack full, malformed', async () => {
  const r = buildPath({ ctMax: 1, routes: [['192.168.1.0', 24], ['8.8.8.0', 24]] });
  const c = registerCollectors({ engine: r.e, processMetrics: false });
  const at = { node: 'w02', element: SNAT, kind: 'netns' };
  // TTL: 1 on arrival at the namespace (the stand-in does not forward TTL 1, as ip_forward would not).
  for (let i = 0; i < 3; i++) r.send(request({ ttl: 1 }));
  // No route: the namespace knows 192.168.1.0/24 and 8.8.8.0/24 only.
  for (let i = 0; i < 4; i++) r.send(request({ dst: '203.0.113.9' }));
  // Malformed: a bad IPv4 header checksum reaches the namespace; a runt stops at qbr.
  const bad = request();
  bad[24] ^= 0xff;
  r.send(bad);
  r.send(new Uint8Array(5));
  // Conntrack full: one assured UDP stream fills a table of 1, so a new flow has no room.
  const udp = (sport: number, reply = false) =>
    buildFrame(reply
      ? { src: 'fa:16:3e:d1:d8:49', dst: 'fa:16:3e:b2:ef:af', ip: { src: '8.8.8.8', dst: '192.168.1.7' }, udp: { sport: 53, dport: sport, payload: 20 } }
      : { src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8' }, udp: { sport, dport: 53, payload: 20 } });
  r.send(udp(40000));
  r.send(udp(40000, true), r.rfp);
  assert.equal(r.vm.frames.length, 1, 'the reply came back to the VM');
  r.clock.advance(3000);
  r.send(udp(40000)); // seen both ways and still alive after 2 s: assured, not early-droppable
  for (let i = 0; i < 2; i++) r.send(udp(40001 + i));
  const s = await scrape(c);
  const drops = (reason: string) => value(s, 'dpemu_dropped_packets_total', { ...at, reason });
  assert.equal(drops('ttl_exceeded'), 3);
  assert.equal(drops('no_route'), 4);
  assert.equal(drops('malformed'), 1);
  assert.equal(drops('conntrack_full'), 2);
  assert.equal(value(s, 'dpemu_dropped_packets_total', { node: 'w07', element: 'qbr2ab77d0f-99', reason: 'malformed' }), 1);
  assert.equal(value(s, 'dpemu_dropped_packets_total'), 3 + 4 + 1 + 2 + 1, 'nothing else dropped anywhere');
  assert.equal(value(s, 'dpemu_conntrack_entries', { element: SNAT }), 1);
  assert.equal(value(s, 'dpemu_conntrack_entries_limit', { element: SNAT }), 1);
  assert.equal(value(s, 'dpemu_conntrack_stat_drop_total', { element: SNAT }), 2, 'conntrack -S drop: the table-full drops');
  assert.equal(value(s, 'dpemu_conntrack_stat_early_drop_total', { element: SNAT }), 0, 'an assured entry is not early-dropped');
  assert.equal(r.out.frames.length, 2, 'only the two requests of the assured stream left');
});

test('with every delivery timed, each stage histogram counts exactly its deliveries; the pipeline counts injects', async () => {
  const r = buildPath();
  enableLatencySampling(r.e, 1);
  const c = registerCollectors({ engine: r.e, processMetrics: false });
  for (let i = 0; i < 200; i++) r.send(request());
  const s = await scrape(c);
  for (const st of PATH) {
    const m = { node: st.node, element: st.element };
    const count = value(s, 'dpemu_stage_latency_seconds_count', m);
    assert.equal(count, value(s, 'dpemu_port_rx_packets_total', m), `${st.node}:${st.element}`);
    assert.equal(value(s, 'dpemu_stage_latency_seconds_bucket', { ...m, le: '+Inf' }), count);
    assert.ok(value(s, 'dpemu_stage_latency_seconds_sum', m) > 0);
  }
  assert.equal(value(s, 'dpemu_pipeline_latency_seconds_count', { node: 'w07' }), 200);
  assert.equal(value(s, 'dpemu_latency_sampling_ratio'), 1);
});

test('sampling 1 in 64 times one delivery in 64', async () => {
  const r = buildPath();
  enableLatencySampling(r.e, 64);
  const c = registerCollectors({ engine: r.e, processMetrics: false });
  for (let i = 0; i < 640; i++) r.send(request());
  const s = await scrape(c);
  const deliveries = value(s, 'dpemu_port_rx_packets_total');
  assert.equal(deliveries, 640 * PATH.length);
  assert.equal(value(s, 'dpemu_stage_latency_seconds_count'), deliveries / 64);
  assert.equal(value(s, 'dpemu_pipeline_latency_seconds_count'), 10);
});
