import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIpv4, parseMac, readU16 } from '../../src/wire/addr.js';
import { Decoded, DecodeError, decode, decodeErrorName } from '../../src/wire/decode.js';
import { buildFrame } from '../../src/wire/frame.js';
import { ipv4ChecksumOk, ipv4SetChecksum } from '../../src/wire/ipv4.js';
import { formatFrame } from '../../src/wire/tcpdump.js';
import {
  VXLAN_OVERHEAD,
  VXLAN_SPORT_MAX,
  VXLAN_SPORT_MIN,
  VxlanTunnel,
  innerFlowHash,
  jhash3,
  vxlanDecapCheck,
  vxlanEncap,
  vxlanFlags,
  vxlanInnerLen,
  vxlanInnerOff,
  vxlanSeedFor,
  vxlanSrcPort,
  vxlanVni,
  writeVxlan,
} from '../../src/wire/vxlan.js';

const DVR = 'fa:16:3f:13:77:c5'; // w07's DVR host MAC
const SG = 'fa:16:3e:d1:d8:49'; // snat's sg- port
const VM = 'fa:16:3e:b2:ef:af';

/** Inner frames as br-tun sends them in the write-up. */
const request = (): Uint8Array =>
  buildFrame({ src: DVR, dst: SG, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 63 }, icmp: { type: 8, id: 60691, seq: 1, data: 100 } });
const reply = (): Uint8Array =>
  buildFrame({ src: SG, dst: VM, ip: { src: '8.8.8.8', dst: '192.168.1.7', ttl: 50 }, icmp: { type: 0, id: 60691, seq: 1, data: 100 } });

function tunnel(src: string, dst: string, srcMac: string, nextHop: string, seed: number): VxlanTunnel {
  const t = new VxlanTunnel();
  const a = parseMac(srcMac)!;
  const b = parseMac(nextHop)!;
  t.srcMacHi = a.hi;
  t.srcMacLo = a.lo;
  t.dstMacHi = b.hi;
  t.dstMacLo = b.lo;
  t.srcIp = parseIpv4(src)!;
  t.dstIp = parseIpv4(dst)!;
  t.hashSeed = seed;
  return t;
}

// Seeds that give the write-up's ports (vxlanSeedFor found them); a topology sets one per node.
const W07_SEED = 5924;
const W02_SEED = 34798;

test('header read/write', () => {
  const b = new Uint8Array(8);
  writeVxlan(b, 0, 103);
  assert.deepEqual([...b], [0x08, 0, 0, 0, 0, 0, 103, 0]);
  assert.equal(vxlanFlags(b, 0), 0x08);
  assert.equal(vxlanVni(b, 0), 103);
  writeVxlan(b, 0, 0xabcdef);
  assert.equal(vxlanVni(b, 0), 0xabcdef);
});

test('encap in the headroom: 142 inner -> 192 outer, the write-up request on w07 eth2', () => {
  const inner = request();
  assert.equal(inner.length, 142);
  const slab = new Uint8Array(2048);
  const off = 128;
  slab.set(inner, off);
  const t = tunnel('10.206.107.238', '10.206.107.156', 'b4:96:91:5a:31:78', '5c:c9:99:60:e0:3c', W07_SEED);
  const n = vxlanEncap(slab, off, inner.length, 103, t);
  assert.equal(n, 192);
  assert.equal(VXLAN_OVERHEAD, 50);
  const o = off - VXLAN_OVERHEAD;
  assert.deepEqual(slab.subarray(off, off + 142), inner, 'inner bytes untouched');
  assert.ok(ipv4ChecksumOk(slab, o + 14));
  assert.equal(readU16(slab, o + 14 + 6), 0x4000, 'DF (df_default=true)');
  assert.equal(slab[o + 14 + 8], 64, 'TTL 64');
  assert.notEqual(readU16(slab, o + 14 + 4), 0, 'IP id from a counter even with DF, as iptunnel_xmit does');
  assert.equal(readU16(slab, o + 34 + 6), 0, 'UDP checksum 0');
  assert.equal(readU16(slab, o + 34 + 4), 8 + 8 + 142);
  assert.equal(
    formatFrame(slab, o, n),
    'b4:96:91:5a:31:78 > 5c:c9:99:60:e0:3c, ethertype IPv4 (0x0800), length 192: 10.206.107.238.58650 > 10.206.107.156.4789: VXLAN, flags [I] (0x08), vni 103\n' +
      'fa:16:3f:13:77:c5 > fa:16:3e:d1:d8:49, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108',
  );
  // The id counter moves on.
  const id1 = readU16(slab, o + 18);
  vxlanEncap(slab, off, inner.length, 103, t);
  assert.equal(readU16(slab, o + 18), (id1 + 1) & 0xffff);
});

test('the reply leaves w02 from 56414', () => {
  const inner = reply();
  const slab = new Uint8Array(512);
  slab.set(inner, 100);
  const t = tunnel('10.206.107.156', '10.206.107.238', 'b4:96:91:5a:32:54', '5c:c9:99:db:69:c9', W02_SEED);
  const n = vxlanEncap(slab, 100, inner.length, 103, t);
  assert.match(formatFrame(slab, 50, n), /^b4:96:91:5a:32:54 > 5c:c9:99:db:69:c9, .* 10\.206\.107\.156\.56414 > 10\.206\.107\.238\.4789: VXLAN, flags \[I\] \(0x08\), vni 103\nfa:16:3e:d1:d8:49 > fa:16:3e:b2:ef:af, /);
});

test('decap check round trip', () => {
  const inner = request();
  const slab = new Uint8Array(512);
  slab.set(inner, 128);
  const n = vxlanEncap(slab, 128, inner.length, 103, tunnel('10.206.107.238', '10.206.107.156', 'b4:96:91:5a:31:78', '5c:c9:99:60:e0:3c', 1));
  const d = new Decoded();
  assert.equal(vxlanDecapCheck(slab, 78, n, d), 0);
  assert.equal(d.vni, 103);
  assert.equal(d.src, parseIpv4('10.206.107.238'));
  assert.equal(vxlanInnerOff(d), 128);
  assert.equal(vxlanInnerLen(slab, d), 142);
  // Padding after the datagram (a NIC's) is not part of the inner frame.
  assert.equal(vxlanDecapCheck(slab, 78, n + 6, d), 0);
  assert.equal(vxlanInnerLen(slab, d), 142);
});

test('decap check rejects what vxlan_rcv drops', () => {
  const inner = request();
  const make = (): Uint8Array => {
    const slab = new Uint8Array(256);
    slab.set(inner, 64);
    vxlanEncap(slab, 64, inner.length, 103, tunnel('10.0.0.1', '10.0.0.2', '02:00:00:00:00:01', '02:00:00:00:00:02', 0));
    return slab.subarray(14, 14 + 192);
  };
  const d = new Decoded();
  const expect = (f: Uint8Array, code: number, len = f.length): void => assert.equal(decodeErrorName(vxlanDecapCheck(f, 0, len, d)), decodeErrorName(code));
  let f = make();
  f[42] = 0x00; // I flag clear
  expect(f, DecodeError.BAD_VXLAN_FLAGS);
  f = make();
  f[42] = 0x0c; // an unknown flag too
  expect(f, DecodeError.BAD_VXLAN_FLAGS);
  f = make();
  f[49] = 1; // reserved byte after the VNI
  expect(f, DecodeError.BAD_VXLAN_FLAGS);
  f = make();
  f[37] = 0x12; // dport 4626
  expect(f, DecodeError.NOT_VXLAN);
  f = make();
  f[24] ^= 1; // outer IP checksum
  expect(f, DecodeError.BAD_IP_CHECKSUM);
  f = make();
  f[40] = 0x12; // a UDP checksum that is wrong
  expect(f, DecodeError.BAD_L4_CHECKSUM);
  f = make();
  expect(f, DecodeError.BAD_TOT_LEN, 100);
  f = make();
  f[38] = 0;
  f[39] = 8 + 8 + 10; // UDP length leaves no inner Ethernet header
  expect(f, DecodeError.TRUNCATED_VXLAN);
  f = make();
  f[20] = 0x20; // MF: a fragment (the kernel reassembles before vxlan_rcv)
  ipv4SetChecksum(f, 14);
  expect(f, DecodeError.NOT_VXLAN);
});

test('source port: deterministic, in [32768, 61000), symmetric per flow, spread over flows', () => {
  const inner = request();
  const p = vxlanSrcPort(inner, 0, inner.length, 7);
  assert.equal(vxlanSrcPort(inner, 0, inner.length, 7), p);
  // Both directions of a flow hash alike (__flow_hash_consistentify); the ports differ only by node seed.
  const r = reply();
  assert.equal(innerFlowHash(r, 0, r.length, 7), innerFlowHash(inner, 0, inner.length, 7));
  assert.equal(vxlanSrcPort(inner, 0, inner.length, W07_SEED), 58650);
  assert.equal(vxlanSrcPort(r, 0, r.length, W02_SEED), 56414);
  assert.equal(vxlanSeedFor(inner, 0, inner.length, 58650), W07_SEED);
  const seen = new Set<number>();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (seed, sp, dp) => {
      const f = buildFrame({ src: DVR, dst: SG, ip: { src: '192.168.1.7', dst: '203.0.113.7' }, udp: { sport: sp, dport: dp } });
      const port = vxlanSrcPort(f, 0, f.length, seed);
      assert.ok(port >= VXLAN_SPORT_MIN && port < VXLAN_SPORT_MAX);
      seen.add(port);
    }),
    { numRuns: 500 },
  );
  assert.ok(seen.size > 400, 'ports spread');
  // Non-IP inner frames (ARP) hash on the MACs and still land in range.
  const arp = buildFrame({ src: DVR, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: DVR, spa: '192.168.1.1', tpa: '192.168.1.7' } });
  const ap = vxlanSrcPort(arp, 0, arp.length, 3);
  assert.ok(ap >= VXLAN_SPORT_MIN && ap < VXLAN_SPORT_MAX);
  // jhash_3words is the kernel's: a fixed vector.
  assert.equal(jhash3(1, 2, 3, 0), jhash3(1, 2, 3, 0));
  assert.notEqual(jhash3(1, 2, 3, 0), jhash3(1, 2, 4, 0));
});

test('decode sees VXLAN on UDP 4789 without going inside', () => {
  const inner = request();
  const slab = new Uint8Array(512);
  slab.set(inner, 128);
  const n = vxlanEncap(slab, 128, inner.length, 0xabcdef, tunnel('10.0.0.1', '10.0.0.2', '02:00:00:00:00:01', '02:00:00:00:00:02', 0));
  const d = new Decoded();
  assert.equal(decode(slab, 78, n, d), 0);
  assert.equal(d.vni, 0xabcdef);
  assert.equal(d.vxlanFlags, 0x08);
  assert.equal(d.dport, 4789);
});
