import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/datapath/engine.js';
import { Underlay, DEFAULT_TUNNEL } from '../../src/tunnel/underlay.js';
import { Fabric } from '../../src/tunnel/fabric.js';
import { parseIpv4, parseMac } from '../../src/wire/addr.js';
import { parseMacNum } from '../../src/wire/addr.js';
import { buildFrame } from '../../src/wire/frame.js';
import { formatBytes } from '../../src/wire/tcpdump.js';
import { Decoded, decode } from '../../src/wire/decode.js';
import { checksum } from '../../src/wire/checksum.js';
import { CaptureSink } from '../helpers/sink.js';

const ip = (s: string) => parseIpv4(s)!;
const mac = (s: string) => parseMac(s)!;

function twoNodes() {
  const e = new Engine();
  const w07 = e.add(new Underlay('w07', { nic: 'eth2', ip: ip('10.206.107.238'), prefixLen: 26, mac: mac('b4:96:91:5a:31:78'), mtu: 1500, gateway: ip('10.206.107.193'), gatewayMac: mac('5c:c9:99:60:e0:3c') }));
  const w02 = e.add(new Underlay('w02', { nic: 'eth2', ip: ip('10.206.107.156'), prefixLen: 26, mac: mac('b4:96:91:5a:32:54'), mtu: 1500, gateway: ip('10.206.107.129'), gatewayMac: mac('5c:c9:99:db:69:c9') }));
  const n07 = e.addPort(w07, 'eth2');
  const n02 = e.addPort(w02, 'eth2');
  const t07 = e.addPort(w07, 'vxlan-0ace6b9c');
  const t02 = e.addPort(w02, 'vxlan-0ace6bee');
  w07.addTunnel(t07, { ...DEFAULT_TUNNEL, remoteIp: ip('10.206.107.156'), localIp: ip('10.206.107.238'), inKey: 'flow', outKey: 'flow' });
  w02.addTunnel(t02, { ...DEFAULT_TUNNEL, remoteIp: ip('10.206.107.238'), localIp: ip('10.206.107.156'), inKey: 'flow', outKey: 'flow' });
  const fab = e.add(new Fabric());
  const f07 = e.addPort(fab, 'to-w07');
  const f02 = e.addPort(fab, 'to-w02');
  fab.attach(f07, parseMacNum('5c:c9:99:60:e0:3c')!, ip('10.206.107.238'), parseMacNum('b4:96:91:5a:31:78')!);
  fab.attach(f02, parseMacNum('5c:c9:99:db:69:c9')!, ip('10.206.107.156'), parseMacNum('b4:96:91:5a:32:54')!);
  e.link(n07, f07, 'wire');
  e.link(n02, f02, 'wire');
  const s07 = new CaptureSink(), s02 = new CaptureSink();
  e.attachEdge(t07, s07);
  e.attachEdge(t02, s02);
  const onWire: string[] = [];
  const wireFrames: Uint8Array[] = [];
  for (const p of [n07, n02]) p.taps.push((pkt, port, dir) => { if ((port === n07 && dir === 'out') || (port === n02 && dir === 'in')) { onWire.push(formatBytes(pkt.bytes())); wireFrames.push(pkt.bytes()); } });
  return { e, w07, w02, t07, t02, s07, s02, onWire, wireFrames };
}

// The write-up's request as br-tun on w07 outputs it (source rewritten to the DVR MAC).
const inner = buildFrame({ src: 'fa:16:3f:13:77:c5', dst: 'fa:16:3e:d1:d8:49', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 63 }, icmp: { id: 60691, seq: 1, data: 100 } });

test('encapsulate on w07, cross the fabric, decapsulate on w02: the same 142-byte frame with tun_id 103', () => {
  const { e, t07, s02, onWire, wireFrames } = twoNodes();
  assert.equal(inner.length, 142);
  const p = e.pool.allocFrom(inner)!;
  p.tunId = 103;
  e.inject(p, t07);
  assert.equal(s02.frames.length, 1);
  assert.deepEqual(s02.frames[0]!.frame, inner);
  assert.equal(s02.frames[0]!.tunId, 103);
  // On the wires: 192 bytes, the addresses of SCENARIO.md rows 7 and 8, DF set, UDP 4789, VNI 103.
  assert.equal(wireFrames[0]!.length, 192);
  assert.match(onWire[0]!, /^b4:96:91:5a:31:78 > 5c:c9:99:60:e0:3c, ethertype IPv4 \(0x0800\), length 192: 10\.206\.107\.238\.\d+ > 10\.206\.107\.156\.4789: VXLAN, flags \[I\] \(0x08\), vni 103\n/);
  assert.match(onWire[1]!, /^5c:c9:99:db:69:c9 > b4:96:91:5a:32:54, ethertype IPv4 \(0x0800\), length 192: /);
  const d = new Decoded();
  assert.equal(decode(wireFrames[0]!, 0, 192, d), 0);
  assert.ok(d.fragOff & 0x4000, 'df_default=true sets DF');
  assert.equal(d.ttl, 64);
  assert.ok(d.sport >= 32768 && d.sport < 61000);
  assert.equal(e.pool.available, e.pool.slots);
});

test('one inner flow keeps one UDP source port', () => {
  const { e, t07, wireFrames } = twoNodes();
  for (let i = 0; i < 3; i++) {
    const p = e.pool.allocFrom(inner)!;
    p.tunId = 103;
    e.inject(p, t07);
  }
  const ports = new Set(wireFrames.filter((_, i) => i % 2 === 0).map((f) => (f[34]! << 8) | f[35]!));
  assert.equal(ports.size, 1);
});

test('a frame too large for the underlay MTU, not DF (or an ICMP error), is dropped by the outer DF and counted', () => {
  const { e, w07, t07, s02, s07 } = twoNodes();
  const big = buildFrame({ src: 'fa:16:3f:13:77:c5', dst: 'fa:16:3e:d1:d8:49', ip: { src: '192.168.1.7', dst: '8.8.8.8', df: false }, icmp: { id: 1, seq: 1, data: 1450 } });
  // A port unreachable quoting a long datagram, DF: iptunnel_pmtud_check_icmp answers no error.
  const err = buildFrame({ src: 'fa:16:3f:13:77:c5', dst: 'fa:16:3e:d1:d8:49', ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 1, seq: 1, data: 1450 } });
  err[34] = 3;
  for (const f of [big, err]) {
    const p = e.pool.allocFrom(f)!;
    p.tunId = 103;
    e.inject(p, t07);
  }
  assert.equal(s02.frames.length, 0);
  assert.equal(s07.frames.length, 0);
  assert.equal(e.dropCount(w07, 'mtu_exceeded'), 2);
});

test('a DF datagram too large for the underlay: fragmentation needed back in on the tunnel port, as the kernel\'s vxlan answers', () => {
  // Checked on a kernel bridge with a vxlan port (1500-byte underlay): tos 0, id 0, DF, the request's TTL, 576
  // bytes, MACs swapped, from the request's destination; test/e2e/traceroute-pmtu.test.ts runs it end to end.
  const { e, w07, t07, s02, s07 } = twoNodes();
  const big = buildFrame({ src: 'fa:16:3f:13:77:c5', dst: 'fa:16:3e:d1:d8:49', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 33 }, icmp: { id: 1, seq: 1, data: 1450 } });
  const p = e.pool.allocFrom(big)!;
  p.tunId = 103;
  e.inject(p, t07);
  assert.equal(s02.frames.length, 0);
  assert.equal(e.dropCount(w07, 'mtu_exceeded'), 0);
  assert.equal(s07.frames.length, 1);
  const { frame, tunId } = s07.frames[0]!;
  assert.equal(tunId, 103);
  assert.equal(frame.length, 14 + 576);
  const hex = (a: number, b: number): string => Buffer.from(frame.subarray(a, b)).toString('hex');
  // Ethernet: the request's MACs swapped; IP: 45, tos 0, 576, id 0, DF, ttl 33, ICMP, 8.8.8.8 > 192.168.1.7.
  assert.equal(hex(0, 14), 'fa163f1377c5fa163ed1d8490800');
  assert.equal(hex(14, 24) + hex(26, 34), '4500024000004000210108080808c0a80107');
  const d = new Decoded();
  assert.equal(decode(frame, 0, frame.length, d), 0);
  assert.equal(d.ttl, 33);
  // ICMP fragmentation needed, mtu 1500 - 50.
  assert.deepEqual([frame[34], frame[35], (frame[40]! << 8) | frame[41]!], [3, 4, 1450]);
  assert.deepEqual([checksum(frame, 14, 20), checksum(frame, 34, 556)], [0, 0]);
  // The request's first 548 bytes quoted.
  assert.deepEqual(frame.subarray(42), big.subarray(14, 14 + 548));
  assert.equal(e.pool.available, e.pool.slots);
});

test('truncated, non-VXLAN and flagless frames at the NIC are dropped with a reason', () => {
  const { e, w02, s02, wireFrames, t07 } = twoNodes();
  const p = e.pool.allocFrom(inner)!;
  p.tunId = 103;
  e.inject(p, t07);
  const good = wireFrames[1]!;
  const nic = w02.nicPort;
  // Truncated in the middle of the VXLAN header.
  e.inject(e.pool.allocFrom(good.slice(0, 46))!, nic);
  // I flag cleared.
  const noI = good.slice(); noI[42] = 0;
  e.inject(e.pool.allocFrom(noI)!, nic);
  // Plain UDP to another port.
  const udp = buildFrame({ src: '5c:c9:99:db:69:c9', dst: 'b4:96:91:5a:32:54', ip: { src: '10.206.107.238', dst: '10.206.107.156' }, udp: { sport: 1000, dport: 53, payload: 20 } });
  e.inject(e.pool.allocFrom(udp)!, nic);
  // Random bytes.
  e.inject(e.pool.allocFrom(Uint8Array.from({ length: 60 }, (_, i) => (i * 37) & 0xff))!, nic);
  assert.equal(s02.frames.length, 1, 'only the good frame came through');
  const drops = ['malformed', 'vxlan_bad_header', 'unknown_protocol', 'not_for_us'].reduce((s, r) => s + e.dropCount(w02, r as never), 0);
  assert.equal(drops, 4);
  assert.equal(e.pool.available, e.pool.slots);
});
