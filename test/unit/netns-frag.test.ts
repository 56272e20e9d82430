// IPv4 fragments through namespaces as the kernel handles them: output
// fragmentation (ip_do_fragment's slow path), reassembly at local delivery
// with the reply fragmented again, reassembly before conntrack with SNAT
// (the original geometry re-emitted), and the queue's rules (duplicates,
// overlaps, timeout, ICMP reassembly time exceeded). The differential test
// against the kernel is test/e2e/conntrack-kernel.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/datapath/engine.js';
import { PacketPool } from '../../src/datapath/packet.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { parseIpv4, parseMacNum } from '../../src/wire/addr.js';
import { buildFrame } from '../../src/wire/frame.js';
import { Decoded, decode } from '../../src/wire/decode.js';
import { checksum, onesSum, pseudoHeaderSum } from '../../src/wire/checksum.js';
import { formatBytes } from '../../src/wire/tcpdump.js';
import { conntrackList } from '../../src/netfilter/conntrack-print.js';

const ip = (s: string) => parseIpv4(s)!;
const MAC_A = '02:00:00:00:0a:01', MAC_R1 = '02:00:00:00:01:01';

/** a -- r -- b; r2 and b have MTU `mtu2`, a and r1 `mtu1`. r knows both neighbours. */
function line(mtu2 = 1400, slots = 4096, mtu1 = 1500) {
  const clock = new ManualClock(0);
  const e = new Engine({ clock, pool: new PacketPool(slots) });
  const a = e.add(new NetNamespace('lab', 'a'));
  const r = e.add(new NetNamespace('lab', 'r'));
  const b = e.add(new NetNamespace('lab', 'b'));
  const a0 = a.addInterface('eth0', { mac: parseMacNum(MAC_A)!, mtu: mtu1, addresses: [{ ip: ip('10.0.1.2'), prefixLen: 24 }] });
  const r1 = r.addInterface('r1', { mac: parseMacNum(MAC_R1)!, mtu: mtu1, addresses: [{ ip: ip('10.0.1.1'), prefixLen: 24 }] });
  const r2 = r.addInterface('r2', { mac: parseMacNum('02:00:00:00:02:01')!, mtu: mtu2, addresses: [{ ip: ip('10.0.2.1'), prefixLen: 24 }] });
  const b0 = b.addInterface('eth0', { mac: parseMacNum('02:00:00:00:0b:01')!, mtu: mtu2, addresses: [{ ip: ip('10.0.2.2'), prefixLen: 24 }] });
  a.loadRoutes('default via 10.0.1.1 dev eth0');
  b.loadRoutes('default via 10.0.2.1 dev eth0');
  r.loadNeighbours('10.0.1.2 dev r1 lladdr 02:00:00:00:0a:01 PERMANENT\n10.0.2.2 dev r2 lladdr 02:00:00:00:0b:01 PERMANENT');
  a.loadNeighbours('10.0.1.1 dev eth0 lladdr 02:00:00:00:01:01 PERMANENT');
  b.loadNeighbours('10.0.2.1 dev eth0 lladdr 02:00:00:00:02:01 PERMANENT');
  e.link(a0, r1, 'veth');
  e.link(r2, b0, 'veth');
  const frames: { at: string; bytes: Uint8Array }[] = [];
  for (const p of [r1, r2]) p.taps.push((pkt, port, dir) => frames.push({ at: `${port.name}:${dir}`, bytes: pkt.bytes() }));
  const at = (where: string) => frames.filter((f) => f.at === where).map((f) => f.bytes);
  return { clock, e, a, r, b, r1, r2, frames, at };
}

/** The datagram in `frame` (Ethernet + IPv4) cut into fragments of these payload sizes (the rest in the last). */
function fragments(frame: Uint8Array, sizes: number[], opts: { df?: boolean } = {}): Uint8Array[] {
  const ihl = (frame[14]! & 15) * 4, payload = frame.subarray(14 + ihl);
  const out: Uint8Array[] = [];
  let off = 0;
  for (let i = 0; off < payload.length; i++) {
    const len = Math.min(sizes[i] ?? payload.length, payload.length - off);
    const f = new Uint8Array(14 + ihl + len);
    f.set(frame.subarray(0, 14 + ihl));
    f.set(payload.subarray(off, off + len), 14 + ihl);
    const last = off + len === payload.length;
    const fo = (off >> 3) | (last ? 0 : 0x2000) | (opts.df ? 0x4000 : 0);
    f[16] = (ihl + len) >> 8;
    f[17] = (ihl + len) & 0xff;
    f[20] = fo >> 8;
    f[21] = fo & 0xff;
    f[24] = f[25] = 0;
    const c = checksum(f, 14, ihl);
    f[24] = c >> 8;
    f[25] = c & 0xff;
    out.push(f);
    off += len;
  }
  return out;
}

interface Frag { id: number; off: number; mf: boolean; df: boolean; totLen: number; src: string; ttl: number; csumOk: boolean; payload: Uint8Array }

function frag(bytes: Uint8Array): Frag {
  const d = new Decoded();
  decode(bytes, 0, bytes.length, d);
  const fo = (bytes[20]! << 8) | bytes[21]!;
  const ihl = (bytes[14]! & 15) * 4;
  return {
    id: (bytes[18]! << 8) | bytes[19]!, off: (fo & 0x1fff) * 8, mf: (fo & 0x2000) !== 0, df: (fo & 0x4000) !== 0,
    totLen: (bytes[16]! << 8) | bytes[17]!, src: `${bytes[26]}.${bytes[27]}.${bytes[28]}.${bytes[29]}`, ttl: bytes[22]!,
    csumOk: checksum(bytes, 14, ihl) === 0, payload: bytes.subarray(14 + ihl),
  };
}

/** The payload the fragments carry, put back together. */
function joined(fs: Frag[]): Uint8Array {
  const end = Math.max(...fs.map((f) => f.off + f.payload.length));
  const out = new Uint8Array(end);
  for (const f of fs) out.set(f.payload, f.off);
  return out;
}

function udpFrame(size: number, df = false, id = 0x1234) {
  return buildFrame({ src: MAC_A, dst: MAC_R1, ip: { src: '10.0.1.2', dst: '10.0.2.2', df, id }, udp: { sport: 40000, dport: 53, payload: size } });
}

test('a datagram longer than the egress MTU without DF is fragmented (slow path: (mtu - 20) & ~7 bytes, ID kept)', () => {
  const { e, r, r1, at } = line(1400);
  const whole = udpFrame(1472); // IP total 1500
  e.inject(e.pool.allocFrom(whole)!, r1);
  const out = at('r2:out').filter((b) => b[12] === 8 && b[13] === 0).map(frag);
  assert.deepEqual(out.map((f) => [f.off, f.totLen, f.mf, f.df, f.id, f.ttl, f.csumOk]), [
    [0, 1396, true, false, 0x1234, 63, true],
    [1376, 124, false, false, 0x1234, 63, true],
  ]);
  assert.deepEqual(joined(out), whole.subarray(34), 'the payload, UDP header included, unchanged');
  assert.equal(e.dropCount(r, 'frag_unsupported'), 0);
  // b reassembles at local delivery: no socket on port 53, so port unreachable quoting the whole datagram's header.
  const back = at('r1:out').map((b) => formatBytes(b));
  assert.ok(back.some((l) => /10\.0\.2\.2 > 10\.0\.1\.2: ICMP 10\.0\.2\.2 udp port 53 unreachable, length 556$/.test(l)), back.join('\n'));
});

test('with DF the datagram is not fragmented: fragmentation needed, as before', () => {
  const { e, r, r1, at } = line(1400);
  e.inject(e.pool.allocFrom(udpFrame(1472, true))!, r1);
  assert.equal(at('r2:out').length, 0);
  assert.equal(e.dropCount(r, 'mtu_exceeded'), 1);
});

test('a fragmented echo request to the namespace is reassembled and answered, the reply fragmented to the route MTU', () => {
  const { e, a, r1, at } = line();
  const req = buildFrame({ src: MAC_A, dst: MAC_R1, ip: { src: '10.0.1.2', dst: '10.0.1.1', df: false, id: 77 }, icmp: { id: 9, seq: 1, data: 2972 } });
  const fs = fragments(req, [1000, 1000]); // 3 fragments, the ICMP payload 2980 bytes
  for (const f of fs.reverse()) e.inject(e.pool.allocFrom(f)!, r1);
  const out = at('r1:out').map(frag);
  assert.deepEqual(out.map((f) => [f.off, f.totLen, f.mf, f.df, f.src, f.csumOk]), [
    [0, 1500, true, false, '10.0.1.1', true],
    [1480, 1500, true, false, '10.0.1.1', true],
    [2960, 40, false, false, '10.0.1.1', true],
  ]);
  assert.equal(new Set(out.map((f) => f.id)).size, 1);
  const icmp = joined(out);
  assert.equal(icmp[0], 0, 'echo reply');
  assert.equal(checksum(icmp, 0, icmp.length), 0, 'ICMP checksum over the reassembled reply');
  assert.deepEqual(icmp.subarray(4), req.subarray(38), 'id, seq and data echoed');
  assert.equal(e.pool.available, e.pool.slots, 'every slot back');
  void a;
});

test('a reassembled echo request answered on a device whose MTU exceeds a slot: the reply, which no slot holds whole, is dropped and counted', () => {
  const { e, r, r1 } = line(1400, 4096, 9000); // the default slot holds a 1920-byte frame
  const sent: { len: number; end: number; limit: number }[] = [];
  r1.taps.push((pkt, _port, dir) => {
    if (dir === 'out') sent.push({ len: pkt.len, end: pkt.off + pkt.len, limit: (pkt.slot + 1) * e.pool.slotSize });
  });
  const req = buildFrame({ src: MAC_A, dst: MAC_R1, ip: { src: '10.0.1.2', dst: '10.0.1.1', df: false, id: 78 }, icmp: { id: 9, seq: 2, data: 2972 } });
  for (const f of fragments(req, [1000, 1000])) e.inject(e.pool.allocFrom(f)!, r1);
  // The kernel sends the 3008-byte reply whole (it fits the 9000-byte MTU); no slot here can hold it.
  assert.deepEqual(sent.filter((s) => s.end > s.limit), [], 'nothing written past its slot');
  assert.equal(sent.length, 0, 'nothing sent');
  assert.equal(e.dropCount(r, 'frame_over_slot'), 3, 'the datagram, counted in its three slots as its other drops are');
  assert.equal(e.pool.available, e.pool.slots, 'every slot back');
  // A reply that fits a slot still leaves whole, unfragmented, as the kernel sends it.
  const small = buildFrame({ src: MAC_A, dst: MAC_R1, ip: { src: '10.0.1.2', dst: '10.0.1.1', df: false, id: 79 }, icmp: { id: 9, seq: 3, data: 1472 } });
  for (const f of fragments(small, [800])) e.inject(e.pool.allocFrom(f)!, r1);
  assert.deepEqual(sent.map((s) => [s.len, s.end <= s.limit]), [[14 + 1500, true]]);
});

test('through SNAT: reassembled before conntrack, NATed once, the original geometry re-emitted; the reply un-NATed', () => {
  const { e, r, r1, r2, at } = line(1500);
  r.loadIptables('*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o r2 -j SNAT --to-source 10.0.2.1\nCOMMIT\n');
  const whole = udpFrame(2400, false, 0x4242);
  const fs = fragments(whole, [1200, 600]);
  for (const f of [fs[2]!, fs[0]!, fs[1]!]) e.inject(e.pool.allocFrom(f)!, r1);
  const out = at('r2:out').map(frag);
  assert.deepEqual(out.map((f) => [f.off, f.totLen, f.mf, f.src, f.id, f.csumOk]), [
    [0, 1220, true, '10.0.2.1', 0x4242, true],
    [1200, 620, true, '10.0.2.1', 0x4242, true],
    [1800, 628, false, '10.0.2.1', 0x4242, true],
  ]);
  const udp = joined(out);
  const sum = onesSum(udp, 0, udp.length, pseudoHeaderSum(ip('10.0.2.1'), ip('10.0.2.2'), 17, udp.length));
  assert.equal(sum, 0xffff, 'UDP checksum fixed incrementally in the first fragment');
  assert.match(conntrackList(r.nf.conntrack, e.now).join('\n'), /udp {6}17 \d+ src=10\.0\.1\.2 dst=10\.0\.2\.2 sport=40000 dport=53 \[UNREPLIED\] src=10\.0\.2\.2 dst=10\.0\.2\.1 sport=53 dport=40000/);
  // The reply, fragmented, comes back un-SNATed.
  const reply = buildFrame({ src: '02:00:00:00:0b:01', dst: '02:00:00:00:02:01', ip: { src: '10.0.2.2', dst: '10.0.2.1', df: false, id: 9 }, udp: { sport: 53, dport: 40000, payload: 1800 } });
  for (const f of fragments(reply, [1480])) e.inject(e.pool.allocFrom(f)!, r2);
  const back = at('r1:out').filter((b) => b[23] === 17).map(frag); // (b's port unreachable for the first datagram came back too)
  assert.deepEqual(back.map((f) => [f.off, f.totLen, f.mf]), [[0, 1500, true], [1480, 348, false]]);
  assert.ok(back.every((f) => f.csumOk));
  const u = joined(back);
  assert.equal(onesSum(u, 0, u.length, pseudoHeaderSum(ip('10.0.2.2'), ip('10.0.1.2'), 17, u.length)), 0xffff);
  assert.equal(e.pool.available, e.pool.slots);
});

test('fragments larger than the egress MTU after reassembly: the slow path cuts to min(MTU, frag_max_size)', () => {
  const { e, r, r1, at } = line(1000);
  r.loadIptables('*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o r2 -j SNAT --to-source 10.0.2.1\nCOMMIT\n');
  for (const f of fragments(udpFrame(2000), [1480])) e.inject(e.pool.allocFrom(f)!, r1);
  const out = at('r2:out').map(frag);
  assert.deepEqual(out.map((f) => [f.off, f.totLen, f.mf]), [[0, 996, true], [976, 996, true], [1952, 76, false]]);
});

test('the queue: a duplicate is dropped alone, an overlap drops the whole queue, a lone fragment waits 30 s', () => {
  const { clock, e, r, r1, at } = line(1500);
  r.loadIptables('*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o r2 -j SNAT --to-source 10.0.2.1\nCOMMIT\n');
  const fs = fragments(udpFrame(2400), [1200, 600]);
  e.inject(e.pool.allocFrom(fs[0]!)!, r1);
  e.inject(e.pool.allocFrom(fs[0]!)!, r1);
  assert.equal(e.dropCount(r, 'frag_dup'), 1);
  e.inject(e.pool.allocFrom(fs[2]!)!, r1);
  e.inject(e.pool.allocFrom(fs[1]!)!, r1);
  assert.equal(at('r2:out').length, 3, 'completed despite the duplicate');
  // Overlap: 0-1200, then 1192-... (overlaps by 8 bytes)
  const g = fragments(udpFrame(2400, false, 0x99), [1200, 600]);
  const over = fragments(udpFrame(2400, false, 0x99), [1192, 608]);
  e.inject(e.pool.allocFrom(g[0]!)!, r1);
  e.inject(e.pool.allocFrom(over[1]!)!, r1);
  assert.equal(e.dropCount(r, 'frag_overlap'), 2, 'the queued fragment and the overlapping one');
  // A lone later fragment: held, nothing forwarded, no conntrack entry; after 30 s it goes, silently (not local, no first fragment).
  const before = r.nf.conntrack.count;
  e.inject(e.pool.allocFrom(fragments(udpFrame(2400, false, 0x77), [1200])[1]!)!, r1);
  assert.equal(at('r2:out').length, 3);
  assert.equal(r.nf.conntrack.count, before);
  const sent = at('r1:out').length; // b's port unreachable for the datagram that went through
  clock.advance(29_000);
  e.tick();
  assert.equal(e.dropCount(r, 'frag_timeout'), 0);
  clock.advance(1_001);
  e.tick();
  assert.equal(e.dropCount(r, 'frag_timeout'), 1);
  assert.equal(at('r1:out').length, sent, 'no ICMP: conntrack defrag answers only for a local destination');
  assert.equal(e.pool.available, e.pool.slots);
});

test('a first fragment to the namespace itself that never completes: ICMP reassembly time exceeded after 30 s', () => {
  const { clock, e, r, r1, at } = line();
  const req = buildFrame({ src: MAC_A, dst: MAC_R1, ip: { src: '10.0.1.2', dst: '10.0.1.1', df: false, id: 5 }, icmp: { id: 9, seq: 1, data: 1972 } });
  e.inject(e.pool.allocFrom(fragments(req, [1000])[0]!)!, r1);
  clock.advance(30_001);
  e.tick();
  assert.equal(e.dropCount(r, 'frag_timeout'), 1);
  const out = at('r1:out').map((b) => formatBytes(b));
  assert.equal(out.length, 1);
  assert.match(out[0]!, /10\.0\.1\.1 > 10\.0\.1\.2: ICMP ip reassembly time exceeded, length 556$/);
  assert.equal(e.pool.available, e.pool.slots);
});

test('the rules see the reassembled datagram: -f never matches it', () => {
  const { e, r, r1, at } = line(1500);
  r.loadIptables('*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -f -j DROP\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o r2 -j SNAT --to-source 10.0.2.1\nCOMMIT\n');
  for (const f of fragments(udpFrame(2400, false, 1), [1200, 600])) e.inject(e.pool.allocFrom(f)!, r1);
  assert.equal(at('r2:out').length, 3);
  assert.equal(e.dropCount(r, 'netfilter_drop'), 0);
});

test('odd fragments are dropped and counted, never crash: zero length, two last fragments that disagree; one past 64 KiB waits', () => {
  const { clock, e, r, r1, at } = line(1500);
  r.loadIptables('*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o r2 -j SNAT --to-source 10.0.2.1\nCOMMIT\n');
  const hdr = (id: number, fo: number, payload: number) =>
    buildFrame({ src: MAC_A, dst: MAC_R1, ip: { src: '10.0.1.2', dst: '10.0.2.2', id, df: false, mf: (fo & 0x2000) !== 0, fragOffset: (fo & 0x1fff) * 8, proto: 17 }, payload: new Array(payload).fill(0) } as never);
  // A zero-length later fragment: its queue goes with it (discard_qp).
  e.inject(e.pool.allocFrom(hdr(1, 0x2000, 16))!, r1);
  e.inject(e.pool.allocFrom(hdr(1, 0x2000 | 100, 0))!, r1);
  // Two last fragments that disagree on the end: likewise.
  e.inject(e.pool.allocFrom(hdr(3, 10, 16))!, r1);
  e.inject(e.pool.allocFrom(hdr(3, 20, 16))!, r1);
  assert.equal(e.dropCount(r, 'frag_bad'), 4);
  // A last fragment ending past 65535: queued like any (the kernel checks the size only once complete), then timed out.
  e.inject(e.pool.allocFrom(hdr(2, 0x2000, 16))!, r1);
  e.inject(e.pool.allocFrom(hdr(2, 8189, 1000))!, r1);
  assert.equal(e.pool.available + 2, e.pool.slots);
  clock.advance(30_001);
  e.tick();
  assert.equal(e.dropCount(r, 'frag_timeout'), 2);
  assert.equal(at('r2:out').length, 0);
  assert.equal(e.dropCount(r, 'internal_error'), 0);
  assert.equal(e.pool.available, e.pool.slots);
});

test('a namespace holds at most a quarter of the slab in reassembly queues; beyond, fragments are dropped and counted', () => {
  const { e, r, r1 } = line(1500, 128);
  r.loadIptables('*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o r2 -j SNAT --to-source 10.0.2.1\nCOMMIT\n');
  for (let id = 1; id <= 40; id++) e.inject(e.pool.allocFrom(fragments(udpFrame(2400, false, id), [1200])[0]!)!, r1);
  assert.equal(e.dropCount(r, 'frag_queue_full'), 8);
  assert.equal(e.pool.available, 128 - 32);
});

test('all namespaces on one slab hold at most half of it in reassembly queues together', () => {
  const { e, a, r, b } = line(1500, 128);
  // Lone first fragments to each namespace's own address (reassembled at local delivery): 40 each, where one
  // namespace may hold 32 (a quarter) and all of them 64 (a half).
  const to = (ns: NetNamespace, dstMac: string, src: string, dst: string) => {
    const port = e.ports.find((p) => p.element === ns)!;
    for (let id = 1; id <= 40; id++) {
      const f = buildFrame({ src: '02:00:00:00:99:99', dst: dstMac, ip: { src, dst, id }, udp: { sport: 40000, dport: 9, payload: 2400 } });
      e.inject(e.pool.allocFrom(fragments(f, [1200])[0]!)!, port);
    }
  };
  to(r, MAC_R1, '10.0.1.2', '10.0.1.1');
  to(b, '02:00:00:00:0b:01', '10.0.2.1', '10.0.2.2');
  to(a, MAC_A, '10.0.1.1', '10.0.1.2');
  assert.deepEqual([r, b, a].map((ns) => e.dropCount(ns, 'frag_queue_full')), [8, 8, 40]);
  assert.equal(e.pool.available, 128 - 64);
});

test('an element bug while a reassembled datagram is handled: each fragment dropped once, whichever fragment completed it', () => {
  const { e, r, r1, at } = line(1500);
  r.loadIptables('*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o r2 -j SNAT --to-source 10.0.2.1\nCOMMIT\n');
  r.nf.forward = () => {
    throw new Error('injected bug');
  };
  const fs = fragments(udpFrame(2400, false, 0x31), [1200, 600]);
  for (const f of fs) e.inject(e.pool.allocFrom(f)!, r1); // the last fragment completes it: the head is not the engine's
  assert.equal(e.dropCount(r, 'internal_error'), 3);
  assert.equal(e.pool.available, e.pool.slots, 'the head too');
  for (const f of fragments(udpFrame(2400, false, 0x32), [1200, 600]).reverse()) e.inject(e.pool.allocFrom(f)!, r1); // the head completes it
  assert.equal(e.dropCount(r, 'internal_error'), 6);
  assert.equal(e.pool.available, e.pool.slots);
  assert.equal(at('r2:out').length, 0);
});

test('an element bug while fragments are sent: the ones not yet sent go back to the slab, counted', () => {
  const { e, r, r1 } = line(1400);
  const output = e.output.bind(e);
  let failed = false;
  e.output = (pkt, port) => {
    if (!failed && port.element === r) {
      failed = true;
      e.pool.free(pkt); // this one is the bug's to account for
      throw new Error('injected bug');
    }
    output(pkt, port);
  };
  e.inject(e.pool.allocFrom(udpFrame(1472))!, r1); // two fragments: the first one's output throws
  assert.ok(failed);
  assert.equal(e.dropCount(r, 'internal_error'), 2, 'the second fragment, and the engine\'s count for the element');
  assert.equal(e.pool.available, e.pool.slots, 'every slot back');
});

test('an ICMP error about a datagram reassembled from small fragments quotes the datagram (icmp_glue_bits), not its first fragment', () => {
  const { e, r1, at } = line(1500);
  const whole = udpFrame(1200, false, 0x61);
  for (const f of fragments(whole, [200, 200, 200])) e.inject(e.pool.allocFrom(f)!, r1); // b reassembles: no socket on 53
  const errs = at('r1:out').filter((b) => b[23] === 1);
  assert.equal(errs.length, 1);
  const err = errs[0]!;
  assert.match(formatBytes(err), /10\.0\.2\.2 > 10\.0\.1\.2: ICMP 10\.0\.2\.2 udp port 53 unreachable, length 556$/);
  assert.deepEqual(err.subarray(62), whole.subarray(34, 34 + 528), 'the UDP header and data past the first fragment\'s 200 bytes');
  assert.equal(checksum(err, 34, err.length - 34), 0, 'ICMP checksum');
  assert.equal(e.pool.available, e.pool.slots);
});
