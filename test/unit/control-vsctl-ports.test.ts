// What dpemu vsctl add-port and del-port leave in the rest of the model, as
// ovs-vswitchd and the kernel would (the rows, ofports and errors are held to
// ovs-vsctl 3.1 in test/e2e/ovs-vsctl-db-oracle.test.ts): the datapath
// ports (the kernel's lowest free number; the others keep theirs), the root
// namespace's devices (a new internal one DOWN with the next ifindex, never
// given again, its counters from 0; a system device left on no master), NORMAL's MACs on a
// deleted port forgotten, and flows that name it outputting nowhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appctl, ofctl, vsctl } from '../../src/control/ovs-commands.js';
import { seedControl } from '../helpers/seed-control.js';
import { buildFrame } from '../../src/wire/frame.js';

const VM = 'fa:16:3e:b2:ef:af', QR = 'fa:16:3e:06:d8:7b';

test('add-port and del-port reach the datapath ports, the root namespace, NORMAL\'s MACs and the flows that name the port', () => {
  const { emu, run, link, series } = seedControl();
  const dpif = (): string[] => run(appctl, 'dpif/show', 'w07').split('\n').filter((l) => /^ {4}\S/.test(l)).map((l) => l.trim());
  // The port's series in /metrics (dpemu_port_*), as an exporter reads them.
  const portSeries = (port: string): string[] => series({ element: 'br-int', port }).map((x) => `${x.name} ${x.value}`);
  const before = dpif();
  assert.ok(before.includes('qvo2ab77d0f-99 41/3: (system)') && before.includes('vxlan-0ace6b9c 5/5: (vxlan: key=flow, local_ip=10.206.107.238, remote_ip=10.206.107.156)'), before.join('\n'));

  run(vsctl, 'add-port', 'w07', 'br-int', 'dpe-vp1', '--', 'set', 'w07', 'Interface', 'dpe-vp1', 'type=internal');
  run(vsctl, 'add-port', 'w07', 'br-int', 'dpe-vp2', '--', 'set', 'w07', 'Interface', 'dpe-vp2', 'type=internal');
  assert.deepEqual(dpif().filter((l) => l.startsWith('dpe-')), ['dpe-vp1 2/6: (internal)', 'dpe-vp2 3/7: (internal)']);
  assert.equal(link('dpe-vp1'), `11: dpe-vp1: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000`);
  assert.match(link('dpe-vp2')!, /^12: dpe-vp2: <BROADCAST,MULTICAST> .* state DOWN /);
  assert.equal(run(vsctl, 'get', 'w07', 'Interface', 'dpe-vp2', 'ifindex'), '12\n');

  // A deleted internal port's device goes; its datapath number is the next port's, its ifindex no one's;
  // added again, it is a new device, its counters from 0.
  const frame = buildFrame({ src: QR, dst: VM, ip: { src: '192.0.2.1', dst: '192.0.2.2', ttl: 64, id: 1 }, udp: { sport: 1, dport: 2, payload: 8 } });
  run(ofctl, 'mod-port', 'w07', 'br-int', 'dpe-vp1', 'up');
  emu.engine.inject(emu.engine.pool.allocFrom(frame)!, emu.bridge('w07', 'br-int').portByName('dpe-vp1')!.port);
  const rx = (): string => /rx pkts=(\d+)/.exec(run(ofctl, 'dump-ports', 'w07', 'br-int', 'dpe-vp1'))![1]!;
  assert.equal(rx(), '1');
  run(vsctl, 'del-port', 'w07', 'dpe-vp1', '--', 'add-port', 'w07', 'br-int', 'dpe-vp1', '--', 'set', 'w07', 'Interface', 'dpe-vp1', 'type=internal');
  assert.equal(rx(), '1', 'deleted and added in one transaction: the same port');
  assert.ok(portSeries('dpe-vp1').includes('dpemu_port_rx_packets_total 1'), portSeries('dpe-vp1').join('\n'));
  run(vsctl, 'del-port', 'w07', 'dpe-vp1');
  assert.equal(link('dpe-vp1'), undefined);
  assert.deepEqual(portSeries('dpe-vp1'), [], 'a deleted port has no series');
  run(vsctl, 'add-port', 'w07', 'br-int', 'dpe-vp1', '--', 'set', 'w07', 'Interface', 'dpe-vp1', 'type=internal');
  assert.equal(rx(), '0');
  assert.ok(portSeries('dpe-vp1').includes('dpemu_port_rx_packets_total 0'), portSeries('dpe-vp1').join('\n'));
  assert.match(link('dpe-vp1')!, /^13: dpe-vp1: /);
  run(vsctl, 'del-port', 'w07', 'dpe-vp1');
  run(vsctl, 'add-port', 'w07', 'br-int', 'dpe-vp3', '--', 'set', 'w07', 'Interface', 'dpe-vp3', 'type=internal');
  assert.deepEqual(dpif().filter((l) => l.startsWith('dpe-')), ['dpe-vp2 3/7: (internal)', 'dpe-vp3 5/6: (internal)']);
  assert.match(link('dpe-vp3')!, /^14: dpe-vp3: /);

  // The VM's MAC learned on its port, and a flow that outputs to it by number.
  const trace = (flow: string): string => /Datapath actions: (.*)/.exec(run(appctl, 'ofproto/trace', 'w07', 'br-int', flow))![1]!;
  trace(`in_port=41,dl_src=${VM},dl_dst=${QR}`);
  assert.match(run(appctl, 'fdb/show', 'w07', 'br-int'), new RegExp(`^ +41 +10  ${VM} `, 'm'));
  assert.equal(trace(`in_port=40,dl_src=${QR},dl_dst=${VM}`), '3');
  assert.equal(trace(`in_port=1,dl_vlan=10,dl_src=fa:16:3f:6e:1c:a9,dl_dst=${VM}`), 'set(eth(src=fa:16:3e:06:d8:7b)),pop_vlan,3');

  // Deleted: its MACs go, the flows stay and output nowhere, the device stays (no master), the others keep their numbers.
  run(vsctl, 'del-port', 'w07', 'br-int', 'qvo2ab77d0f-99');
  assert.deepEqual(portSeries('qvo2ab77d0f-99'), []);
  assert.notDeepEqual(portSeries('patch-tun'), [], 'the other ports keep theirs');
  assert.doesNotMatch(run(appctl, 'fdb/show', 'w07', 'br-int'), new RegExp(VM));
  assert.notEqual(trace(`in_port=40,dl_src=${QR},dl_dst=${VM}`), '3');
  assert.equal(trace(`in_port=1,dl_vlan=10,dl_src=fa:16:3f:6e:1c:a9,dl_dst=${VM}`), 'drop');
  assert.match(link('qvo2ab77d0f-99')!, /^8: qvo2ab77d0f-99@qvb2ab77d0f-99: <BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu 1450 qdisc noqueue state UP /);
  const after = dpif();
  assert.deepEqual(after.filter((l) => !l.startsWith('dpe-')), before.filter((l) => !l.startsWith('qvo')));

  // Back on the bridge: its device again, a new OpenFlow number (alloc_ofp_port's next), the lowest free datapath one.
  run(vsctl, 'add-port', 'w07', 'br-int', 'qvo2ab77d0f-99', 'tag=10');
  assert.ok(dpif().includes('qvo2ab77d0f-99 6/3: (system)'), dpif().join('\n'));
  assert.match(link('qvo2ab77d0f-99')!, / master ovs-system state UP /);
  assert.notDeepEqual(portSeries('qvo2ab77d0f-99'), []);
  trace(`in_port=6,dl_src=${VM},dl_dst=${QR}`);
  assert.equal(trace(`in_port=40,dl_src=${QR},dl_dst=${VM}`), '3');
});
