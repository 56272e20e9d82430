// What dpemu vsctl add-br and del-br leave in the rest of the model, as
// ovs-vswitchd and the kernel would (the rows, dpid, flows and errors are
// held to ovs-vsctl 3.1 in test/e2e/ovs-vsctl-db-oracle.test.ts): the
// datapath ports (the kernel's lowest free number, freed by del-br), the
// root namespace's devices (the bridge's own internal one DOWN with the
// next ifindex, never given again), NORMAL forwarding between its ports,
// and nothing left of it once deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appctl, ofctl, vsctl } from '../../src/control/ovs-commands.js';
import { seedControl } from '../helpers/seed-control.js';
import { buildFrame } from '../../src/wire/frame.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { ControlError } from '../../src/control/protocol.js';

const A = 'fa:16:3e:00:00:0a', B = 'fa:16:3e:00:00:0b';

test('add-br and del-br reach the datapath ports, the root namespace and forwarding; del-br leaves nothing of the bridge', () => {
  const { emu, run, link, series: matching } = seedControl();
  const dpif = (): string[] => run(appctl, 'dpif/show', 'w07').split('\n').filter((l) => /^ {2}\S|^ {4}dpe-/.test(l)).map((l) => l.trim());
  const internal = (br: string, p: string): string[] => ['--', 'add-port', 'w07', br, p, '--', 'set', 'w07', 'Interface', p, 'type=internal'];
  // What /metrics would export for a bridge: its series (ports', drops', the fast path's), by family, with their values.
  const series = (element: string): string[] => matching({ element }).map((x) => `${x.name}{${x.labels.port ?? x.labels.reason ?? ''}} ${x.value}`);

  run(vsctl, 'add-br', 'w07', 'dpe-ab1', ...internal('dpe-ab1', 'dpe-ap1'), ...internal('dpe-ab1', 'dpe-ap2'));
  // The datapath's ports 1-5 are the topology's: the bridge's own device first (ofproto_create), then its ports.
  assert.deepEqual(dpif(), ['br-int:', 'br-tun:', 'dpe-ab1:', 'dpe-ab1 65534/6: (internal)', 'dpe-ap1 1/7: (internal)', 'dpe-ap2 2/8: (internal)']);
  assert.equal(link('dpe-ab1'), '11: dpe-ab1: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000');
  assert.match(link('dpe-ap2')!, /^13: dpe-ap2: .* state DOWN /);
  assert.equal(run(vsctl, 'get', 'w07', 'Interface', 'dpe-ab1', 'ifindex'), '11\n');

  // Standalone: NORMAL learns and floods between its ports (their devices up, as a test sets them).
  run(ofctl, 'mod-port', 'w07', 'dpe-ab1', 'dpe-ap1', 'up');
  run(ofctl, 'mod-port', 'w07', 'dpe-ab1', 'dpe-ap2', 'up');
  const br = emu.bridge('w07', 'dpe-ab1');
  const frame = buildFrame({ src: A, dst: B, ip: { src: '192.0.2.1', dst: '192.0.2.2', ttl: 64, id: 1 }, udp: { sport: 1, dport: 2, payload: 8 } });
  emu.engine.inject(emu.engine.pool.allocFrom(frame)!, br.portByName('dpe-ap1')!.port);
  assert.match(run(ofctl, 'dump-ports', 'w07', 'dpe-ab1', 'dpe-ap2'), /tx pkts=1,/);
  assert.ok(series('dpe-ab1').includes('dpemu_port_tx_packets_total{dpe-ap2} 1'), series('dpe-ab1').join('\n'));
  assert.match(run(appctl, 'fdb/show', 'w07', 'dpe-ab1'), new RegExp(`^ +1 +0 +${A} +\\d+$`, 'm'));

  run(vsctl, 'del-br', 'w07', 'dpe-ab1');
  assert.deepEqual(dpif(), ['br-int:', 'br-tun:']);
  for (const d of ['dpe-ab1', 'dpe-ap1', 'dpe-ap2']) assert.equal(link(d), undefined, d);
  assert.equal(emu.engine.elements.some((e) => e instanceof OvsBridge && e.name === 'dpe-ab1'), false);
  // Its series go with it, as an exporter drops a deleted bridge's; the topology's bridges keep theirs.
  assert.deepEqual(series('dpe-ab1'), []);
  assert.notDeepEqual(series('br-int'), []);
  assert.throws(() => ofctl.run({ emu, invalidate: () => {} }, ['dump-flows', 'w07', 'dpe-ab1']), (e: unknown) => e instanceof ControlError && /dpe-ab1 is not a bridge or a socket/.test(e.stderr));

  // Its name again: a new bridge (no flow, no MAC of the old one), the lowest free datapath port, the next ifindex.
  run(vsctl, 'add-br', 'w07', 'dpe-ab1', '--', 'set', 'w07', 'bridge', 'dpe-ab1', 'fail-mode=secure');
  assert.deepEqual(dpif(), ['br-int:', 'br-tun:', 'dpe-ab1:', 'dpe-ab1 65534/6: (internal)']);
  assert.match(link('dpe-ab1')!, /^14: dpe-ab1: /);
  assert.equal(run(ofctl, 'dump-flows', 'w07', 'dpe-ab1'), 'NXST_FLOW reply (xid=0x4):\n');
  assert.doesNotMatch(run(appctl, 'fdb/show', 'w07', 'dpe-ab1'), new RegExp(A));
  // The new bridge's series start from 0.
  assert.ok(series('dpe-ab1').includes('dpemu_port_tx_packets_total{dpe-ab1} 0'), series('dpe-ab1').join('\n'));
});

test('a long-running daemon: bridges and internal ports added and deleted again and again take the cells the deleted ones gave back; /metrics the same series', () => {
  // Room for the seed's counter cells and a few bridges' more: not for a hundred.
  const used = seedControl().emu.engine.stats.desc.length;
  const { emu, run, series } = seedControl(used + 200);
  const keys = (): string[] => series({}).map((x) => `${x.name}${JSON.stringify(x.labels)}`).sort();
  const before = keys();
  const internal = (br: string, p: string): string[] => ['add-port', 'w07', br, p, '--', 'set', 'w07', 'Interface', p, 'type=internal'];
  for (let i = 0; i < 100; i++) {
    run(vsctl, 'add-br', 'w07', 'dpe-cb1', '--', ...internal('dpe-cb1', `dpe-cp${i}`));
    run(vsctl, ...internal('br-int', `dpe-ci${i}`));
    // The new ones' series from 0 (the cells they took were others'), the deleted ones' gone.
    const fresh = series({ node: 'w07' }).filter((x) => (x.labels.element === 'dpe-cb1' && x.name !== 'dpemu_ovs_table_flows') || x.labels.port === `dpe-ci${i}`);
    assert.ok(fresh.some((x) => x.labels.port === `dpe-cp${i}`) && fresh.some((x) => x.labels.port === `dpe-ci${i}`), `round ${i}`);
    assert.deepEqual(fresh.filter((x) => x.value !== 0), [], `round ${i}`);
    assert.deepEqual(series({ port: `dpe-ci${i - 1}` }), [], `round ${i}`);
    // A port added back under its old name: new cells for the new device, as many series as before.
    if (i === 50) {
      run(vsctl, 'del-port', 'w07', 'br-int', 'dpe-ci50');
      run(vsctl, ...internal('br-int', 'dpe-ci50'));
      assert.equal(series({ port: 'dpe-ci50' }).length, 5);
    }
    run(vsctl, 'del-br', 'w07', 'dpe-cb1');
    run(vsctl, 'del-port', 'w07', 'br-int', `dpe-ci${i}`);
  }
  assert.deepEqual(keys(), before);
  assert.ok(emu.engine.stats.desc.length <= used + 200);
});
