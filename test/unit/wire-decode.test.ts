// decode(): every field of the write-up frames, one error code per malformation,
// and never an exception on any input (fast-check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIpv4, parseMac } from '../../src/wire/addr.js';
import { Decoded, DecodeError, DECODE_ERROR_NAMES, decode, decodeErrorLayer, decodeErrorName, decodeQuoted } from '../../src/wire/decode.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { FRAG_FIRST, FRAG_LATER, FRAG_NONE, IPPROTO_ICMP } from '../../src/wire/ipv4.js';
import { Tcpdump } from '../../src/wire/tcpdump.js';
import { VxlanTunnel, vxlanDecapCheck, vxlanEncap } from '../../src/wire/vxlan.js';

const VM = 'fa:16:3e:b2:ef:af';
const QR = 'fa:16:3e:06:d8:7b';
const REQ: FrameSpec = { src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '8.8.8.8', id: 0x1234 }, icmp: { id: 60691, seq: 1, data: 100 } };

test('the write-up request, field by field', () => {
  const f = buildFrame(REQ);
  const d = new Decoded();
  assert.equal(decode(f, 0, f.length, d), 0);
  const vm = parseMac(VM)!;
  const qr = parseMac(QR)!;
  assert.deepEqual([d.srcHi, d.srcLo, d.dstHi, d.dstLo], [vm.hi, vm.lo, qr.hi, qr.lo]);
  assert.equal(d.nTags, 0);
  assert.equal(d.ethertype, 0x0800);
  assert.equal(d.l3, 14);
  assert.equal(d.ihl, 5);
  assert.equal(d.ipHlen, 20);
  assert.equal(d.totLen, 128);
  assert.equal(d.ipId, 0x1234);
  assert.equal(d.fragOff, 0x4000);
  assert.equal(d.fragKind, FRAG_NONE);
  assert.equal(d.ttl, 64);
  assert.equal(d.proto, IPPROTO_ICMP);
  assert.equal(d.src, parseIpv4('192.168.1.7'));
  assert.equal(d.dst, parseIpv4('8.8.8.8'));
  assert.ok(d.ipCsumOk);
  assert.equal(d.l4, 34);
  assert.equal(d.l4Len, 108);
  assert.equal(d.icmpType, 8);
  assert.equal(d.icmpCode, 0);
  assert.equal(d.icmpId, 60691);
  assert.equal(d.icmpSeq, 1);
  assert.equal(d.l5, 42);
  assert.equal(d.ipEnd, 142);
  assert.equal(d.end, 142);
});

test('ARP, UDP, TCP, ICMP error, fragments, options', () => {
  const d = new Decoded();
  let f = buildFrame({ src: QR, dst: VM, arp: { op: 2, sha: QR, spa: '192.168.1.1', tha: VM, tpa: '192.168.1.7' } });
  assert.equal(decode(f, 0, f.length, d), 0);
  assert.equal(d.arpOp, 2);
  assert.equal(d.arpSpa, parseIpv4('192.168.1.1'));
  assert.equal(d.arpTpa, parseIpv4('192.168.1.7'));
  assert.equal(d.arpShaLo, parseMac(QR)!.lo);
  assert.equal(d.arpThaHi, parseMac(VM)!.hi);

  f = buildFrame({ src: VM, dst: QR, ip: { src: '1.2.3.4', dst: '5.6.7.8' }, udp: { sport: 40000, dport: 53, payload: 5 } });
  assert.equal(decode(f, 0, f.length, d), 0);
  assert.deepEqual([d.sport, d.dport, d.l5, d.vni], [40000, 53, 42, -1]);

  f = buildFrame({ src: VM, dst: QR, ip: { src: '1.2.3.4', dst: '5.6.7.8' }, tcp: { sport: 1, dport: 2, seq: 10, ack: 20, flags: 'S.', options: [2, 4, 5, 0xb4] } });
  assert.equal(decode(f, 0, f.length, d), 0);
  assert.deepEqual([d.sport, d.dport, d.tcpSeq, d.tcpAck, d.tcpFlags, d.l5], [1, 2, 10, 20, 0x12, 58]);

  const quote = buildFrame(REQ).subarray(14, 14 + 28);
  f = buildFrame({ src: QR, dst: VM, ip: { src: '192.168.1.1', dst: '192.168.1.7' }, icmp: { type: 11, code: 0, data: [...quote] } });
  assert.equal(decode(f, 0, f.length, d), 0);
  assert.equal(d.icmpType, 11);
  assert.equal(d.icmpInnerL3, 42);
  assert.equal(d.icmpId, 0, 'no echo id on an error');

  f = buildFrame({ ...REQ, ip: { src: '192.168.1.7', dst: '8.8.8.8', mf: true, df: false } });
  assert.equal(decode(f, 0, f.length, d), 0);
  assert.equal(d.fragKind, FRAG_FIRST);
  assert.equal(d.icmpId, 60691, 'a first fragment has its L4 header');
  f = buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '8.8.8.8', fragOffset: 1480, df: false, proto: 17 }, payload: [1, 2, 3] });
  assert.equal(decode(f, 0, f.length, d), 0);
  assert.equal(d.fragKind, FRAG_LATER);
  assert.equal(d.l4, -1);
  assert.equal(d.sport, 0);
  f = buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '8.8.8.8', df: false, mf: true, proto: 17 }, payload: [1, 2, 3] });
  assert.equal(decode(f, 0, f.length, d), 0, 'a first fragment cut before its UDP header is not an error');

  f = buildFrame({ ...REQ, ip: { src: '192.168.1.7', dst: '8.8.8.8', options: [7, 7, 4, 0, 0, 0, 0] } });
  assert.equal(decode(f, 0, f.length, d), 0);
  assert.equal(d.ihl, 7);
  assert.equal(d.ipOptLen, 8);
  assert.equal(d.l4, 14 + 28);
  assert.equal(d.icmpId, 60691);

  // Ethernet padding after the datagram is ignored.
  f = buildFrame({ src: VM, dst: QR, ip: { src: '1.2.3.4', dst: '5.6.7.8' }, udp: { sport: 1, dport: 2 }, padTo: 60 });
  assert.equal(decode(f, 0, f.length, d), 0);
  assert.equal(d.ipEnd, 42);

  // Non-IP, non-ARP: L2 only.
  f = buildFrame({ src: VM, dst: QR, ethertype: 0x88cc, payload: [1, 2] });
  assert.equal(decode(f, 0, f.length, d), 0);
  assert.equal(d.ethertype, 0x88cc);
  assert.equal(d.l3, 14);
  assert.equal(d.l4, -1);
});

test('decodeQuoted: the datagram inside an ICMP error (for conntrack RELATED and NAT)', () => {
  const d = new Decoded();
  const q = new Decoded();
  const probe = buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 1 }, udp: { sport: 45000, dport: 33434, payload: 32 } });
  // A router quoting only the header + 8 bytes: total length 60 but 28 bytes there.
  const f = buildFrame({ src: QR, dst: VM, ip: { src: '10.0.0.1', dst: '192.168.1.7' }, icmp: { type: 11, data: [...probe.subarray(14, 42)] } });
  assert.equal(decode(f, 0, f.length, d), 0);
  assert.equal(decodeQuoted(f, d.icmpInnerL3, d.ipEnd - d.icmpInnerL3, q), 0);
  assert.deepEqual([q.src, q.dst, q.proto, q.sport, q.dport, q.totLen, q.l4Len], [parseIpv4('192.168.1.7'), parseIpv4('8.8.8.8'), 17, 45000, 33434, 60, 8]);
  const echo = buildFrame(REQ);
  const g = buildFrame({ src: QR, dst: VM, ip: { src: '10.0.0.1', dst: '192.168.1.7' }, icmp: { type: 3, code: 1, data: [...echo.subarray(14, 42)] } });
  decode(g, 0, g.length, d);
  assert.equal(decodeQuoted(g, d.icmpInnerL3, d.ipEnd - d.icmpInnerL3, q), 0);
  assert.deepEqual([q.icmpType, q.icmpId, q.icmpSeq], [8, 60691, 1]);
  assert.equal(decodeQuoted(g, d.icmpInnerL3, 12, q), DecodeError.TRUNCATED_IP);
  assert.equal(decodeQuoted(g, -4, 12, q), DecodeError.TRUNCATED_IP);
});

test('one error code per malformation, and how deep the frame was still good', () => {
  const d = new Decoded();
  const full = buildFrame(REQ);
  const cases: [string, Uint8Array, number][] = [
    ['short Ethernet', full.slice(0, 13), DecodeError.TRUNCATED_ETH],
    ['short tag', buildFrame({ ...REQ, vlans: [103] }).slice(0, 17), DecodeError.TRUNCATED_VLAN],
    ['short ARP', buildFrame({ src: VM, dst: QR, arp: { sha: VM, spa: '1.1.1.1', tpa: '2.2.2.2' } }).slice(0, 41), DecodeError.TRUNCATED_ARP],
    ['ARP hlen 8', (() => { const f = buildFrame({ src: VM, dst: QR, arp: { sha: VM, spa: '1.1.1.1', tpa: '2.2.2.2' } }); f[18] = 8; return f; })(), DecodeError.BAD_ARP_LENGTHS],
    ['ARP for IPv6', (() => { const f = buildFrame({ src: VM, dst: QR, arp: { sha: VM, spa: '1.1.1.1', tpa: '2.2.2.2' } }); f[16] = 0x86; f[17] = 0xdd; return f; })(), DecodeError.BAD_ARP_FORMAT],
    ['short IP', full.slice(0, 33), DecodeError.TRUNCATED_IP],
    ['version 6 in 0x0800', (() => { const f = full.slice(); f[14] = 0x65; return f; })(), DecodeError.BAD_IP_VERSION],
    ['IHL 3', (() => { const f = full.slice(); f[14] = 0x43; return f; })(), DecodeError.BAD_IHL],
    ['options cut off', (() => { const f = full.slice(0, 36); f[14] = 0x46; return f; })(), DecodeError.TRUNCATED_IP],
    ['tot_len beyond the frame', full.slice(0, 100), DecodeError.BAD_TOT_LEN],
    ['tot_len below IHL', (() => { const f = full.slice(); f[16] = 0; f[17] = 12; return f; })(), DecodeError.BAD_TOT_LEN],
    ['ICMP shorter than 8', buildFrame({ src: VM, dst: QR, ip: { src: '1.1.1.1', dst: '2.2.2.2', proto: 1 }, payload: [8, 0, 0, 0] }), DecodeError.TRUNCATED_L4],
    ['UDP shorter than 8', buildFrame({ src: VM, dst: QR, ip: { src: '1.1.1.1', dst: '2.2.2.2', proto: 17 }, payload: [0, 1, 0, 2] }), DecodeError.TRUNCATED_L4],
    ['TCP shorter than 20', buildFrame({ src: VM, dst: QR, ip: { src: '1.1.1.1', dst: '2.2.2.2', proto: 6 }, payload: new Array(19).fill(0) }), DecodeError.TRUNCATED_L4],
    ['UDP length 4', (() => { const f = buildFrame({ src: VM, dst: QR, ip: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2, payload: 4 } }); f[39] = 4; return f; })(), DecodeError.BAD_UDP_LEN],
    ['UDP length past IP', (() => { const f = buildFrame({ src: VM, dst: QR, ip: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2, payload: 4 } }); f[39] = 40; return f; })(), DecodeError.BAD_UDP_LEN],
    ['TCP doff 4', (() => { const f = buildFrame({ src: VM, dst: QR, ip: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { sport: 1, dport: 2 } }); f[46] = 0x40; return f; })(), DecodeError.BAD_TCP_HLEN],
    ['TCP doff past IP', (() => { const f = buildFrame({ src: VM, dst: QR, ip: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { sport: 1, dport: 2 } }); f[46] = 0x60; return f; })(), DecodeError.BAD_TCP_HLEN],
  ];
  for (const [name, f, code] of cases) {
    assert.equal(decodeErrorName(decode(f, 0, f.length, d)), decodeErrorName(code), name);
    assert.equal(d.error, code, name);
  }
  // L2 stays usable after an L3 error (a switch still forwards it).
  const bad = full.slice(0, 100);
  decode(bad, 0, bad.length, d);
  assert.equal(decodeErrorLayer(d.error), 3);
  assert.equal(d.srcLo, parseMac(VM)!.lo);
  assert.equal(d.ethertype, 0x0800);
  assert.equal(decodeErrorLayer(DecodeError.TRUNCATED_ETH), 2);
  assert.equal(decodeErrorLayer(DecodeError.BAD_UDP_LEN), 4);
  assert.equal(decodeErrorLayer(0), 0);
  // A bad header checksum is recorded, not returned: the caller decides.
  const cs = full.slice();
  cs[24] ^= 0xff;
  assert.equal(decode(cs, 0, cs.length, d), 0);
  assert.equal(d.ipCsumOk, false);
  assert.equal(decodeErrorName(DecodeError.BAD_IP_CHECKSUM), 'bad_ip_checksum');
  assert.equal(decodeErrorName(999), 'unknown');
  assert.equal(new Set(DECODE_ERROR_NAMES).size, DECODE_ERROR_NAMES.length);
});

test('a frame in the middle of a slab; bad offsets are truncation, not exceptions', () => {
  const f = buildFrame(REQ);
  const slab = new Uint8Array(2048);
  slab.set(f, 700);
  const d = new Decoded();
  assert.equal(decode(slab, 700, f.length, d), 0);
  assert.equal(d.l3, 714);
  assert.equal(d.icmpInnerL3, -1);
  assert.equal(decode(slab, 2040, 100, d), DecodeError.TRUNCATED_ETH);
  assert.equal(decode(slab, -1, 10, d), DecodeError.TRUNCATED_ETH);
  assert.equal(decode(slab, 5000, 10, d), DecodeError.TRUNCATED_ETH);
  assert.equal(decode(slab, 0, Number.NaN, d), DecodeError.TRUNCATED_ETH);
});

// ---- never throws ----

const specs: FrameSpec[] = [
  REQ,
  { ...REQ, vlans: [{ vid: 100, tpid: 0x88a8 }, 103] },
  { src: VM, dst: QR, arp: { sha: VM, spa: '1.1.1.1', tpa: '2.2.2.2' } },
  { src: VM, dst: QR, ip: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 4789, payload: 30 } },
  { src: VM, dst: QR, ip: { src: '1.1.1.1', dst: '2.2.2.2', options: [1, 1, 1, 0] }, tcp: { sport: 1, dport: 80, flags: 'S', options: [2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8] } },
  { src: QR, dst: VM, ip: { src: '1.1.1.1', dst: '2.2.2.2' }, icmp: { type: 3, code: 3, data: [...buildFrame({ src: VM, dst: QR, ip: { src: '2.2.2.2', dst: '3.3.3.3' }, udp: { sport: 5, dport: 6 } }).subarray(14)] } },
];
const valid = specs.map((s) => buildFrame(s));
const vx = (() => {
  const inner = valid[0]!;
  const slab = new Uint8Array(512);
  slab.set(inner, 100);
  const n = vxlanEncap(slab, 100, inner.length, 103, new VxlanTunnel());
  return slab.slice(50, 50 + n);
})();
valid.push(vx);

test('fuzz: decode, vxlanDecapCheck and the tcpdump printer never throw', () => {
  const d = new Decoded();
  const td = new Tcpdump();
  const check = (b: Uint8Array, off: number, len: number): void => {
    const e = decode(b, off, len, d);
    assert.ok(Number.isInteger(e) && e >= 0 && e < DECODE_ERROR_NAMES.length);
    assert.equal(e, d.error);
    if (e === 0 && d.l4 >= 0) assert.ok(d.l4 <= off + len);
    vxlanDecapCheck(b, off, len, d);
    decodeQuoted(b, off, len, d);
    assert.equal(typeof td.format(b, off, len), 'string');
  };
  // Random bytes.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(20), (b, k) => check(b, Math.min(k, b.length), b.length)),
    { numRuns: 3000 },
  );
  // Valid frames, truncated and mutated anywhere.
  fc.assert(
    fc.property(
      fc.nat(valid.length - 1),
      fc.nat(300),
      fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      (i, cut, muts) => {
        const f = valid[i]!.slice();
        for (const [pos, v] of muts) if (pos < f.length) f[pos] = v;
        check(f, 0, Math.min(cut, f.length));
        check(f, 0, f.length);
      },
    ),
    { numRuns: 5000 },
  );
});
