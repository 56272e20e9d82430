// The namespace element moving real frames: three namespaces in a line,
// a -- r -- b, with dynamic ARP, forwarding and the ICMP errors the kernel
// sends, checked byte by byte on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { parseMacNum } from '../../src/wire/addr.js';
import { buildFrame } from '../../src/wire/frame.js';
import { Decoded, decode, l4ChecksumOk } from '../../src/wire/decode.js';
import { formatBytes } from '../../src/wire/tcpdump.js';

const ip = (s: string) => parseIpv4(s)!;

function line() {
  const clock = new ManualClock(0);
  const e = new Engine({ clock });
  const a = e.add(new NetNamespace('lab', 'a'));
  const r = e.add(new NetNamespace('lab', 'r'));
  const b = e.add(new NetNamespace('lab', 'b'));
  const a0 = a.addInterface('eth0', { mac: parseMacNum('02:00:00:00:0a:01')!, addresses: [{ ip: ip('10.0.1.2'), prefixLen: 24 }] });
  const r1 = r.addInterface('r1', { mac: parseMacNum('02:00:00:00:01:01')!, addresses: [{ ip: ip('10.0.1.1'), prefixLen: 24 }] });
  const r2 = r.addInterface('r2', { mac: parseMacNum('02:00:00:00:02:01')!, mtu: 1400, addresses: [{ ip: ip('10.0.2.1'), prefixLen: 24 }] });
  const b0 = b.addInterface('eth0', { mac: parseMacNum('02:00:00:00:0b:01')!, mtu: 1400, addresses: [{ ip: ip('10.0.2.2'), prefixLen: 24 }] });
  a.loadRoutes('default via 10.0.1.1 dev eth0');
  b.loadRoutes('default via 10.0.2.1 dev eth0');
  e.link(a0, r1, 'veth');
  e.link(r2, b0, 'veth');
  // Everything that crosses a wire, as tcpdump -nnee would print it there.
  const wire: string[] = [];
  const frames: { at: string; bytes: Uint8Array }[] = [];
  for (const p of [r1, r2]) p.taps.push((pkt, port, dir) => {
    wire.push(`${port.name} ${dir === 'in' ? '<' : '>'} ${formatBytes(pkt.bytes())}`);
    frames.push({ at: `${port.name}:${dir}`, bytes: pkt.bytes() });
  });
  return { clock, e, a, r, b, a0, r1, r2, b0, wire, frames };
}

/** The first IPv4 frame seen at `at` (ARP exchanges come first when a neighbour is unknown). */
function ipOut(frames: { at: string; bytes: Uint8Array }[], at: string): Uint8Array {
  const f = frames.find((x) => x.at === at && x.bytes[12] === 0x08 && x.bytes[13] === 0x00);
  assert.ok(f, `an IPv4 frame at ${at}`);
  return f.bytes;
}

/** What a sends: a frame arriving at r1 from a's eth0 (MAC of r1 already known). */
function fromA(spec: { ttl?: number; dst?: string; df?: boolean; size?: number; udp?: boolean }) {
  const base = { src: '02:00:00:00:0a:01', dst: '02:00:00:00:01:01', ip: { src: '10.0.1.2', dst: spec.dst ?? '10.0.2.2', ttl: spec.ttl ?? 64, df: spec.df ?? true } };
  return spec.udp
    ? buildFrame({ ...base, udp: { sport: 40000, dport: 33434, payload: spec.size ?? 32 } })
    : buildFrame({ ...base, icmp: { id: 7, seq: 1, data: spec.size ?? 56 } });
}

test('forwarding resolves the next hop by ARP, holds the packet, then sends it with TTL one less', () => {
  const { e, r1, wire, frames } = line();
  e.inject(e.pool.allocFrom(fromA({}))!, r1);
  // r ARPs for b (arp_announce=2: the sender address is r2's own), b answers, the held echo goes out, b replies...
  assert.match(wire[1]!, /^r2 > 02:00:00:00:02:01 > ff:ff:ff:ff:ff:ff, ethertype ARP \(0x0806\), length 42: Request who-has 10\.0\.2\.2 tell 10\.0\.2\.1, length 28$/);
  assert.match(wire[2]!, /^r2 < 02:00:00:00:0b:01 > 02:00:00:00:02:01, ethertype ARP \(0x0806\), length 42: Reply 10\.0\.2\.2 is-at 02:00:00:00:0b:01, length 28$/);
  assert.match(wire[3]!, /^r2 > 02:00:00:00:02:01 > 02:00:00:00:0b:01, ethertype IPv4 \(0x0800\), length 98: 10\.0\.1\.2 > 10\.0\.2\.2: ICMP echo request, id 7, seq 1, length 64$/);
  const d = new Decoded();
  const fwd = frames.find((f) => f.at === 'r2:out' && f.bytes.length === 98)!;
  assert.equal(decode(fwd.bytes, 0, fwd.bytes.length, d), 0);
  assert.equal(d.ttl, 63);
  assert.ok(d.ipCsumOk);
  // b answers the echo; b has to ARP for its gateway first, r answers for 10.0.2.1.
  assert.ok(wire.some((l) => /^r1 > 02:00:00:00:01:01 > 02:00:00:00:0a:01, .*10\.0\.2\.2 > 10\.0\.1\.2: ICMP echo reply, id 7, seq 1, length 64$/.test(l)), wire.join('\n'));
  assert.equal(e.stats.sum('drops', { reason: 'internal_error' }), 0);
});

test('TTL 1: ICMP time exceeded from the input interface address, quoting the packet', () => {
  const { e, r1, frames } = line();
  e.inject(e.pool.allocFrom(fromA({ ttl: 1, udp: true }))!, r1);
  const err = ipOut(frames, 'r1:out');
  const d = new Decoded();
  assert.equal(decode(err, 0, err.length, d), 0);
  assert.equal(d.src, ip('10.0.1.1'));
  assert.equal(d.dst, ip('10.0.1.2'));
  assert.equal(d.icmpType, 11);
  assert.equal(d.icmpCode, 0);
  assert.equal(d.ttl, 64);
  assert.equal(d.tos, 0xc0);
  assert.ok(d.ipCsumOk && l4ChecksumOk(err, d));
  // The quote: the whole offending datagram (it is under 548 bytes), TTL still 1.
  const q = d.icmpInnerL3;
  assert.equal(err[q + 8], 1);
  assert.equal(d.totLen, 20 + 8 + 60);
  assert.equal(e.dropCount(e.element('lab', 'r')!, 'ttl_exceeded'), 1);
});

test('DF set and too big for the egress MTU: fragmentation needed with the next-hop MTU', () => {
  const { e, r1, frames } = line();
  e.inject(e.pool.allocFrom(fromA({ size: 1450 }))!, r1);
  const err = ipOut(frames, 'r1:out');
  const d = new Decoded();
  decode(err, 0, err.length, d);
  assert.equal(d.icmpType, 3);
  assert.equal(d.icmpCode, 4);
  assert.equal((err[d.l4 + 6]! << 8) | err[d.l4 + 7]!, 1400, 'next-hop MTU');
  assert.equal(e.dropCount(e.element('lab', 'r')!, 'mtu_exceeded'), 1);
});

test('no route: net unreachable; an unresolvable next hop: host unreachable after the ARP probes time out', () => {
  const { e, r, r1, frames, clock } = line();
  e.inject(e.pool.allocFrom(fromA({ dst: '192.0.2.9' }))!, r1);
  let d = new Decoded();
  decode(ipOut(frames, 'r1:out'), 0, 200, d);
  assert.deepEqual([d.icmpType, d.icmpCode], [3, 0]);
  assert.equal(e.dropCount(r, 'no_route'), 1);

  frames.length = 0;
  e.inject(e.pool.allocFrom(fromA({ dst: '10.0.2.99' }))!, r1);
  assert.equal(frames.filter((f) => f.at === 'r2:out').length, 1, 'first ARP probe');
  for (let i = 0; i < 4; i++) {
    clock.advance(1000);
    e.tick();
  }
  assert.equal(frames.filter((f) => f.at === 'r2:out').length, 3, 'mcast_solicit 3 probes');
  const err = ipOut(frames, 'r1:out');
  d = new Decoded();
  decode(err, 0, err.length, d);
  assert.deepEqual([d.icmpType, d.icmpCode], [3, 1]);
  assert.equal(e.dropCount(r, 'neigh_failed'), 1);
  assert.equal(e.pool.available, e.pool.slots);
});

test('host unreachable with icmp_errors_use_inbound_ifaddr comes from the interface the packet came in on', () => {
  const { e, r, r1, frames, clock } = line();
  r.ns.setSysctl('net.ipv4.icmp_errors_use_inbound_ifaddr', 1);
  e.inject(e.pool.allocFrom(fromA({ dst: '10.0.2.99' }))!, r1);
  for (let i = 0; i < 4; i++) {
    clock.advance(1000);
    e.tick();
  }
  const err = ipOut(frames, 'r1:out');
  const d = new Decoded();
  decode(err, 0, err.length, d);
  assert.deepEqual([d.icmpType, d.icmpCode], [3, 1]);
  assert.equal(d.src, ip('10.0.1.1'), 'r1 (input), not r2 (where ARP failed)');
});

test('iptables REJECT in FORWARD answers port unreachable; DROP counts under netfilter_drop', () => {
  const { e, r, r1, frames } = line();
  r.loadIptables('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -p udp --dport 33434 -j REJECT\n-A FORWARD -p icmp -j DROP\nCOMMIT\n');
  e.inject(e.pool.allocFrom(fromA({ udp: true }))!, r1);
  const d = new Decoded();
  decode(ipOut(frames, 'r1:out'), 0, 200, d);
  assert.deepEqual([d.src, d.icmpType, d.icmpCode], [ip('10.0.1.1'), 3, 3]);
  e.inject(e.pool.allocFrom(fromA({}))!, r1);
  assert.equal(e.dropCount(r, 'netfilter_drop'), 2);
});

test('a UDP datagram to a namespace address with no socket is answered with port unreachable', () => {
  const { e, r1, frames } = line();
  e.inject(e.pool.allocFrom(fromA({ dst: '10.0.1.1', udp: true }))!, r1);
  const d = new Decoded();
  decode(ipOut(frames, 'r1:out'), 0, 200, d);
  assert.deepEqual([d.src, d.dst, d.icmpType, d.icmpCode], [ip('10.0.1.1'), ip('10.0.1.2'), 3, 3]);
});

test('a TCP segment to a namespace address with no socket is answered with a reset (tcp_v4_send_reset); a reset is not', () => {
  const { e, r1, wire } = line();
  const seg = (flags: string, ack?: number) =>
    buildFrame({ src: '02:00:00:00:0a:01', dst: '02:00:00:00:01:01', ip: { src: '10.0.1.2', dst: '10.0.1.1', ttl: 64, df: true }, tcp: { sport: 40001, dport: 80, seq: 1000, ...(ack !== undefined ? { ack } : {}), flags, payload: 10 } });
  e.inject(e.pool.allocFrom(seg('S'))!, r1);
  e.inject(e.pool.allocFrom(seg('.', 77))!, r1);
  e.inject(e.pool.allocFrom(seg('R'))!, r1);
  const out = wire.filter((l) => l.startsWith('r1 > ') && l.includes('IPv4'));
  assert.equal(out.length, 2, wire.join('\n'));
  assert.match(out[0]!, /10\.0\.1\.1\.80 > 10\.0\.1\.2\.40001: Flags \[R\.\], seq 0, ack 1011, win 0, length 0$/, 'RST,ACK acking the SYN and its data');
  assert.match(out[1]!, /10\.0\.1\.1\.80 > 10\.0\.1\.2\.40001: Flags \[R\], seq 77, win 0, length 0$/, 'RST from the ACK\'s number');
});

test('ICMP errors are not rate limited by default; icmp_ratelimit limits them per destination as the kernel does', () => {
  const { e, r, r1, frames, clock } = line();
  const errors = () => frames.filter((f) => f.at === 'r1:out' && f.bytes[12] === 0x08 && f.bytes[23] === 1).length;
  for (let i = 0; i < 10; i++) e.inject(e.pool.allocFrom(fromA({ ttl: 1, udp: true }))!, r1);
  assert.equal(errors(), 10);
  r.setSysctl('net.ipv4.icmp_ratelimit', 1000);
  frames.length = 0;
  e.inject(e.pool.allocFrom(fromA({ ttl: 1, udp: true }))!, r1);
  assert.equal(errors(), 0, 'icmp_ratelimit 0 left the destination\'s tokens at 6 * 0');
  clock.advance(6000);
  for (let i = 0; i < 10; i++) e.inject(e.pool.allocFrom(fromA({ ttl: 1, udp: true }))!, r1);
  assert.equal(errors(), 6, 'a burst of 6 (XRLIM_BURST_FACTOR) once they refilled, then one per second');
  clock.advance(1000);
  e.inject(e.pool.allocFrom(fromA({ ttl: 1, udp: true }))!, r1);
  assert.equal(errors(), 7);
});

test('ip_error limits the unreachables for packets it cannot route by their source: five at once, then one a second; a time exceeded spends the same tokens', () => {
  const { e, r, r1, frames, clock } = line();
  r.setSysctl('net.ipv4.icmp_ratelimit', 0);
  const sent = (type: number) => frames.filter((f) => f.at === 'r1:out' && f.bytes[12] === 0x08 && f.bytes[23] === 1 && f.bytes[34] === type).length;
  const unroutable = () => e.inject(e.pool.allocFrom(fromA({ dst: '10.0.9.9', udp: true }))!, r1);
  for (let i = 0; i < 8; i++) unroutable();
  assert.equal(sent(3), 5, 'ip_rt_error_burst (5 s) of ip_rt_error_cost (1 s) each');
  clock.advance(999);
  unroutable();
  assert.equal(sent(3), 5);
  clock.advance(1);
  unroutable();
  unroutable();
  assert.equal(sent(3), 6, 'one a second');
  // With icmp_ratelimit 0 a time exceeded to the same source lets the peer's tokens refill no further than 6 * 0.
  clock.advance(10_000);
  e.inject(e.pool.allocFrom(fromA({ ttl: 1, udp: true }))!, r1);
  assert.equal(sent(11), 1);
  unroutable();
  assert.equal(sent(3), 6);
  clock.advance(1000);
  unroutable();
  assert.equal(sent(3), 7);
});

test('net.ipv4.route.error_cost and error_burst (a topology file\'s, the host\'s values) set ip_error\'s limit', () => {
  const { e, r, r1, frames, clock } = line();
  r.setSysctl('net.ipv4.icmp_ratelimit', 0);
  r.setSysctl('net.ipv4.route.error_cost', 200);
  r.setSysctl('net.ipv4.route.error_burst', 600);
  const sent = () => frames.filter((f) => f.at === 'r1:out' && f.bytes[12] === 0x08 && f.bytes[23] === 1 && f.bytes[34] === 3).length;
  const unroutable = () => e.inject(e.pool.allocFrom(fromA({ dst: '10.0.9.9', udp: true }))!, r1);
  for (let i = 0; i < 8; i++) unroutable();
  assert.equal(sent(), 3, 'a burst of 600 ms at 200 ms each');
  clock.advance(199);
  unroutable();
  assert.equal(sent(), 3);
  clock.advance(1);
  unroutable();
  unroutable();
  assert.equal(sent(), 4, 'one each 200 ms');
});
