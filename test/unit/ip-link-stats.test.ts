// `dpemu ip NODE -n NS -s [-s] link|addr`: real frames through the seed
// topology, then the counters of the namespaces' devices as the kernel
// keeps them (bytes with the Ethernet header on a veth, without it on what
// an OVS internal port receives; rx_dropped for a protocol nobody handles;
// otherhost for IP to another MAC; tx_dropped for a veth peer that is down),
// printed in iproute2 6.1's layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ip } from '../../src/control/ip-commands.js';
import { clearCounters } from '../../src/control/admin-commands.js';
import type { ControlContext } from '../../src/control/command.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { formatLinkStats, type LinkStats64 } from '../../src/netns/ip-link-stats.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { parseIpv4, parseMacNum } from '../../src/wire/addr.js';
import { CaptureSink } from '../helpers/sink.js';
import { M, QROUTER, SEED, SNAT, golden, inject, type Golden } from '../helpers/golden.js';

const ctx = (g: Golden): ControlContext => ({ emu: g.emu, invalidate: () => {} });
const run = async (g: Golden, argv: string[]) => (await ip.run(ctx(g), argv)).stdout;

/** The numbers of one device's block: [RX line, TX line] (and the error lines' with -s -s), each as numbers. */
async function counters(g: Golden, node: string, ns: string, dev: string, level = 1): Promise<number[][]> {
  const out = await run(g, [node, '-n', ns, ...Array<string>(level).fill('-s'), 'link', 'show', dev]);
  return out.split('\n').slice(2).filter((l) => /^\s+\d/.test(l)).map((l) => l.trim().split(/\s+/).map(Number));
}

function seed(): Golden {
  const g = golden(SEED);
  g.emu.engine.tracer = null;
  return g;
}

const N = 25;
const QR = 'qr-178fc8e2-fd';
const SG = 'sg-499291dc-d8';
const REQ = 142; // the VM's echo request, Ethernet header included

test('N echo requests: qr- and sg- (OVS internal ports) count N in without the Ethernet header, N out with it', async () => {
  const g = seed();
  const before = await counters(g, 'w07', QROUTER, QR);
  for (let i = 0; i < N; i++) inject(g, 'w07', 'tap2ab77d0f-99', { src: M.vm, dst: M.qr, ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 60691, seq: 1, data: 100 } });
  const qr = await counters(g, 'w07', QROUTER, QR);
  // RX: bytes packets errors dropped missed mcast; TX: bytes packets errors dropped carrier collsns.
  assert.deepEqual(qr[0], [before[0]![0]! + N * (REQ - 14), before[0]![1]! + N, 0, 0, 0, 0], 'qr- RX');
  assert.deepEqual(qr[1], [before[1]![0]! + N * REQ, before[1]![1]! + N, 0, 0, 0, 0], 'qr- TX: routed back out towards the SNAT node');
  const sg = await counters(g, 'w02', SNAT, SG);
  assert.equal(sg[0]![1], N, 'sg- received every request');
  assert.equal(sg[0]![0], N * (REQ - 14));
  assert.equal(g.eth3!.frames.length, N, 'and each left at eth3');
  // `ip -s addr` puts the same block after the addresses.
  const addr = await run(g, ['w07', '-n', QROUTER, '-s', 'addr', 'show', QR]);
  const lines = addr.split('\n');
  assert.match(lines[2]!, /^ {4}inet 192\.168\.1\.1\/24 /);
  assert.equal(lines[4], '    inet6 fe80::f816:3eff:fe06:d87b/64 scope link ');
  assert.match(lines[6]!, /^ {4}RX: {2}bytes packets errors dropped {2}missed {3}mcast {11}$/);
  assert.equal(lines[7], `    ${String(N * (REQ - 14)).padStart(10)} ${String(N).padStart(7)}      0       0       0       0 `);
});

test('frames a device drops: rx_dropped for an unhandled ethertype, otherhost for IP to another MAC, nothing for ARP or IPv6', async () => {
  const g = seed();
  const el = g.emu.engine.element('w07', QROUTER) as NetNamespace;
  const port = el.port(QR)!;
  const before = await counters(g, 'w07', QROUTER, QR, 2);
  const other = '02:00:00:00:00:99';
  const frames: FrameSpec[] = [
    { src: M.vm, dst: M.qr, ethertype: 0x88b5, payload: new Uint8Array(46) }, // no handler: rx_dropped
    { src: M.vm, dst: M.qr, vlans: [777], ethertype: 0x88b5, payload: new Uint8Array(42) }, // no VLAN 777 here, then no handler: rx_dropped
    { src: M.vm, dst: other, ip: { src: '192.168.1.7', dst: '192.168.1.1' }, udp: { sport: 1, dport: 9, payload: 8 } }, // otherhost
    { src: M.vm, dst: M.qr, vlans: [777], ip: { src: '192.168.1.7', dst: '192.168.1.1' }, udp: { sport: 1, dport: 9, payload: 8 } }, // untagged as another host's: otherhost
    { src: M.vm, dst: M.qr, ethertype: 0x86dd, payload: new Uint8Array(40) }, // IPv6 has a handler in the kernel
    { src: M.vm, dst: other, arp: { op: 2, sha: M.vm, spa: '192.168.1.7', tha: other, tpa: '192.168.1.9' } }, // arp_rcv drops it silently
  ];
  let bytes = 0;
  for (const f of frames) {
    const b = buildFrame(f);
    bytes += b.length - 14;
    const pkt = g.emu.engine.pool.allocFrom(b)!;
    g.emu.engine.inject(pkt, port);
  }
  const after = await counters(g, 'w07', QROUTER, QR, 2);
  assert.deepEqual(after[0], [before[0]![0]! + bytes, before[0]![1]! + frames.length, 0, 2, 0, 0], 'RX: all counted, 2 dropped');
  assert.deepEqual(after[1], [0, 0, 0, 0, 0, 2], 'RX errors: length crc frame fifo overrun otherhost');
  const text = await run(g, ['w07', '-n', QROUTER, '-s', '-s', 'link', 'show', 'dev', QR]);
  assert.match(text, /\n {4}RX errors: {2}length {4}crc {3}frame {4}fifo overrun otherhost\n {21}0 {6}0 {7}0 {7}0 {7}0 {9}2 \n/);
  assert.deepEqual(after[2], before[2], 'nothing sent');
});

test('a veth peer that is down: the sender counts tx_dropped, the down end receives nothing; carrier changes show as transns', async () => {
  const g = seed();
  const e = g.emu.engine;
  // A veth between two namespaces of the seed (rfp-/fpr-).
  const a = e.ports.find((p) => p.linkKind === 'veth' && p.element instanceof NetNamespace && p.peer?.element instanceof NetNamespace)!;
  const b = a.peer!;
  const [an, bn] = [a.element as NetNamespace, b.element as NetNamespace];
  const show = (el: NetNamespace, dev: string) => counters(g, el.node, el.name, dev, 2);
  const a0 = await show(an, a.name);
  assert.equal(a0[3]![4], 2, 'a veth brought up: carrier off at creation, then on');
  await ip.run(ctx(g), [bn.node, '-n', bn.name, 'link', 'set', b.name, 'down']);
  const frame = buildFrame({ src: '02:00:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: '02:00:00:00:00:01', spa: '169.254.106.114', tpa: '169.254.106.115' } });
  for (let i = 0; i < 3; i++) {
    e.output(e.pool.allocFrom(frame)!, a);
    e.run();
  }
  const a1 = await show(an, a.name);
  const b1 = await show(bn, b.name);
  assert.deepEqual(a1[2], [a0[2]![0], a0[2]![1], 0, 3, 0, 0], 'TX: nothing sent, 3 dropped');
  assert.equal(a1[3]![4], 3, 'the sender lost its carrier');
  assert.deepEqual(b1[0]!.slice(0, 4), [0, 0, 0, 0], 'the down end received nothing');
  // clear-counters zeroes the port cells and the namespace's corrections to them together.
  await clearCounters.run(ctx(g), []);
  const a2 = await show(an, a.name);
  assert.deepEqual([a2[0], a2[2]], [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]], 'no negative counts after clear-counters');
});

test('iproute2 layout: a real veth\'s `ip -s -s link` block, and columns widening for big numbers', () => {
  // Printed by iproute2 6.1 for a veth after test traffic (see test/e2e/ip-link-stats-kernel.test.ts).
  const s: LinkStats64 = { rxBytes: 634, rxPackets: 9, rxDropped: 1, rxOtherhost: 2, txBytes: 426, txPackets: 5, txDropped: 0, carrierChanges: 3 };
  assert.equal(formatLinkStats(s, 2), [
    '    RX:  bytes packets errors dropped  missed   mcast           ',
    '           634       9      0       1       0       0 ',
    '    RX errors:  length    crc   frame    fifo overrun otherhost',
    '                     0      0       0       0       0         2 ',
    '    TX:  bytes packets errors dropped carrier collsns           ',
    '           426       5      0       0       0       0 ',
    '    TX errors: aborted   fifo  window heartbt transns',
    '                     0      0       0       0       3 ',
    '',
  ].join('\n'));
  // size_columns: 11-digit bytes widen column 0 for both rows; 8-digit packets column 1.
  const big: LinkStats64 = { rxBytes: 12_345_678_901, rxPackets: 1, rxDropped: 0, rxOtherhost: 0, txBytes: 5, txPackets: 98_765_432, txDropped: 0, carrierChanges: 0 };
  assert.equal(formatLinkStats(big, 1), [
    '    RX:   bytes  packets errors dropped  missed   mcast           ',
    '    12345678901        1      0       0       0       0 ',
    '    TX:   bytes  packets errors dropped carrier collsns           ',
    '              5 98765432      0       0       0       0 ',
    '',
  ].join('\n'));
});

test('-s elsewhere: refused with ip neigh (its timers are not shown), nothing added to ip route and ip rule (as in a FIB dump), accepted as -stats and -statistics', async () => {
  const g = seed();
  await assert.rejects(async () => ip.run(ctx(g), ['w07', '-n', QROUTER, '-s', 'neigh']), /-s' is supported with ip link, addr, route, rule and ntable only/);
  for (const obj of ['route', 'rule']) assert.equal(await run(g, ['w07', '-n', QROUTER, '-s', obj]), await run(g, ['w07', '-n', QROUTER, obj]));
  const a = await run(g, ['w07', '-n', QROUTER, '-stats', 'link', 'show', QR]);
  const b = await run(g, ['w07', '-n', QROUTER, '-statistics', '-s', 'link', 'show', QR]);
  assert.match(a, /RX: {2}bytes/);
  assert.doesNotMatch(a, /RX errors/);
  assert.match(b, /RX errors/);
});

test('a VLAN sub-interface counts its own frames: received without the Ethernet header, sent untagged; its parent the tagged frames', () => {
  const e = new Engine({ clock: new ManualClock(0) });
  const el = e.add(new NetNamespace('lab', 'v'));
  const port = el.addInterface('eth0', { mac: parseMacNum('02:00:00:00:00:01')! });
  el.addInterface('eth0.100', { mac: parseMacNum('02:00:00:00:00:01')!, vlan: { parent: 'eth0', id: 100 }, addresses: [{ ip: parseIpv4('10.0.100.1')!, prefixLen: 24 }] });
  const wire = new CaptureSink();
  e.attachEdge(port, wire);
  const req = buildFrame({ src: '02:00:00:00:00:02', dst: 'ff:ff:ff:ff:ff:ff', vlans: [100], arp: { sha: '02:00:00:00:00:02', spa: '10.0.100.2', tpa: '10.0.100.1' } });
  e.inject(e.pool.allocFrom(req)!, port);
  assert.equal(wire.frames.length, 1, 'the ARP reply left, tagged');
  const stats = (dev: string) => el.linkStats(el.ns.mustLink(dev));
  const sub = stats('eth0.100'), parent = stats('eth0');
  assert.deepEqual([sub.rxPackets, sub.rxBytes, sub.txPackets, sub.txBytes], [1, 42 - 14, 1, 42]);
  assert.deepEqual([parent.rxPackets, parent.rxBytes, parent.txPackets, parent.txBytes], [1, 46, 1, 46]);
  // Down, the sub-interface receives nothing (vlan_do_receive drops it uncounted).
  el.setLinkUp('eth0.100', false);
  e.inject(e.pool.allocFrom(req)!, port);
  assert.equal(stats('eth0.100').rxPackets, 1);
  assert.equal(stats('eth0').rxPackets, 2);
});
