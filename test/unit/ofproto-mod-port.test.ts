// ovs-ofctl mod-port changes what the bridge does, as ofproto-dpif-xlate does
// with a port's config: no-flood leaves it out of NORMAL's and FLOOD's floods,
// no-forward out of every output, no-receive drops what arrives on it, down
// drops both ways (the device is down). Each change also reaches packets the
// translation cache had already seen (the engine's fast path is on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rig, icmp } from './ofproto-bridge-fixtures.js';
import { modPort } from '../../src/control/ovs-switch-replies.js';
import { OFPPC } from '../../src/ofproto/ovs-port.js';
import { portCounters } from '../../src/control/ovs-dump-ports.js';

const A = 'fa:16:3e:00:00:0a', B = 'fa:16:3e:00:00:0b', C = 'fa:16:3e:00:00:0c', BCAST = 'ff:ff:ff:ff:ff:ff';

function setup(flow = 'table=0,priority=0 actions=NORMAL') {
  const r = rig();
  assert.ok(r.e.fastpath, 'the fast path is what must see the change');
  const br = r.bridge('br-int', { failMode: 'secure' });
  br.addFlow(flow);
  const a = br.addOvsPort('tapa', { ofport: 1 });
  const b = br.addOvsPort('tapb', { ofport: 2 });
  const c = br.addOvsPort('tapc', { ofport: 3 });
  return { r, br, a, b, c, sa: r.sink(a), sb: r.sink(b), sc: r.sink(c) };
}

/** Frames each sink caught since the last call. */
const took = (...sinks: { frames: unknown[] }[]): number[] => sinks.map((s) => s.frames.splice(0).length);

test('no-flood: a broadcast no longer floods to the port, from the cache too; flood brings it back', () => {
  const { r, br, a, sb, sc } = setup();
  r.send(a, icmp(A, BCAST));
  r.send(a, icmp(A, BCAST)); // a cache hit
  assert.deepEqual(took(sb, sc), [2, 2]);
  modPort(br, 10, 'tapb', 'no-flood');
  r.send(a, icmp(A, BCAST));
  assert.deepEqual(took(sb, sc), [0, 1]);
  modPort(br, 10, 'tapb', 'flood');
  r.send(a, icmp(A, BCAST));
  assert.deepEqual(took(sb, sc), [1, 1]);
});

test('no-flood: FLOOD leaves the port out, ALL does not; a learned unicast still reaches it', () => {
  for (const [action, expect] of [['FLOOD', [0, 1]], ['ALL', [1, 1]]] as const) {
    const { r, br, a, sb, sc } = setup(`table=0,priority=0 actions=${action}`);
    r.send(a, icmp(A, BCAST));
    took(sb, sc);
    modPort(br, 10, '2', 'no-flood');
    r.send(a, icmp(A, BCAST));
    assert.deepEqual(took(sb, sc), expect, action);
  }
  const { r, br, a, b, sb, sc } = setup();
  r.send(b, icmp(B, A)); // learns B on tapb
  took(sb, sc);
  modPort(br, 10, 'tapb', 'no-flood');
  r.send(a, icmp(A, B));
  assert.deepEqual(took(sb, sc), [1, 0]);
});

test('no-flood in OpenFlow 1.3 changes nothing (the bit is 1.0-only), and the config shows it in 1.0 only', () => {
  const { r, br, a, sb, sc } = setup();
  modPort(br, 13, 'tapb', 'no-flood');
  r.send(a, icmp(A, BCAST));
  assert.deepEqual(took(sb, sc), [1, 1]);
  modPort(br, 10, 'tapb', 'no-flood');
  assert.equal(br.portsDesc().find((d) => d.name === 'tapb')!.config, OFPPC.NO_FLOOD);
});

test('no-forward: every output to the port is skipped (a flood, an explicit output), and only that', () => {
  const { r, br, a, sb, sc } = setup('table=0,priority=0 actions=output:2,output:3');
  r.send(a, icmp(A, C));
  assert.deepEqual(took(sb, sc), [1, 1]);
  modPort(br, 10, 'tapb', 'no-forward');
  r.send(a, icmp(A, C));
  assert.deepEqual(took(sb, sc), [0, 1]);
  modPort(br, 13, 'tapb', 'forward');
  r.send(a, icmp(A, C));
  assert.deepEqual(took(sb, sc), [1, 1]);
});

test('no-receive: what arrives on the port is dropped, its flow still counts it; receive undoes it', () => {
  const { r, br, a, b, sa, sc } = setup();
  r.send(b, icmp(B, BCAST));
  assert.deepEqual(took(sa, sc), [1, 1]);
  modPort(br, 10, 'tapb', 'noreceive');
  r.send(b, icmp(B, BCAST));
  assert.deepEqual(took(sa, sc), [0, 0]);
  assert.equal(br.aggregate().packets, 2, 'the rule was looked up both times');
  // Other ports still send to it.
  r.send(a, icmp(A, BCAST));
  assert.deepEqual(took(sa, sc), [0, 1]);
  modPort(br, 10, 'tapb', 'receive');
  r.send(b, icmp(B, BCAST));
  assert.deepEqual(took(sa, sc), [1, 1]);
});

test('down: the port neither sends nor receives, counts a tx drop, and shows PORT_DOWN; up restores it', () => {
  const { r, br, a, b, sa, sb, sc } = setup();
  r.send(a, icmp(A, BCAST));
  took(sb, sc);
  modPort(br, 10, 'tapb', 'down');
  const d = br.portsDesc().find((x) => x.name === 'tapb')!;
  assert.equal(d.up, false);
  assert.equal(d.config, OFPPC.PORT_DOWN);
  r.send(a, icmp(A, BCAST));
  assert.deepEqual(took(sb, sc), [0, 1]);
  assert.equal(portCounters(b, r.e.stats).txDropped, 1);
  r.send(b, icmp(B, BCAST));
  assert.deepEqual(took(sa, sc), [0, 0]);
  modPort(br, 13, 'tapb', 'up');
  r.send(a, icmp(A, BCAST));
  assert.deepEqual(took(sb, sc), [1, 1]);
});

test('a patch port cannot be brought down (its netdev refuses), as in OVS', () => {
  const r = rig();
  const x = r.bridge('br-x'), y = r.bridge('br-y');
  const px = x.addOvsPort('px', { type: 'patch', options: { peer: 'py' } });
  y.addOvsPort('py', { type: 'patch', options: { peer: 'px' } });
  modPort(x, 10, 'px', 'down');
  assert.equal(x.portsDesc().find((d) => d.name === px.name)!.config, 0);
});

test('mod-port words and ports as ovs-ofctl reads them', () => {
  const { br } = setup();
  assert.throws(() => modPort(br, 10, 'tapb', 'bogus'), { message: "ovs-ofctl: unknown mod-port command 'bogus'" });
  assert.throws(() => modPort(br, 10, 'tapb', 'no-fwd'), { message: "ovs-ofctl: unknown mod-port command 'no-fwd'" });
  assert.throws(() => modPort(br, 10, 'LOCAL', 'up'), { message: "ovs-ofctl: br-int: couldn't find port `LOCAL'" });
  assert.throws(() => modPort(br, 10, '9', 'up'), { message: "ovs-ofctl: br-int: couldn't find port `9'" });
  modPort(br, 10, '3', 'NO-Receive-STP');
  modPort(br, 10, 'tapc', 'noup');
  assert.equal(br.portsDesc().find((d) => d.name === 'tapc')!.config, OFPPC.NO_RECV_STP | OFPPC.PORT_DOWN);
  modPort(br, 10, 'tapc', 'no-down');
  assert.equal(br.portsDesc().find((d) => d.name === 'tapc')!.config, OFPPC.NO_RECV_STP);
});
