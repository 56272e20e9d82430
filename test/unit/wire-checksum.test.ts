// Full checksums against RFC 1071 sums, and incremental (RFC 1624) updates
// against full recomputation on random headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readU16 } from '../../src/wire/addr.js';
import { checksum, onesSum } from '../../src/wire/checksum.js';
import { buildFrame } from '../../src/wire/frame.js';
import { icmpChecksumOk, icmpComputeChecksum, setIcmpId } from '../../src/wire/icmp.js';
import {
  ipv4ChecksumOk,
  ipv4ComputeChecksum,
  ipv4DecTtl,
  ipv4SetChecksum,
  setIpv4Dst,
  setIpv4FragOff,
  setIpv4Src,
  setIpv4Tos,
  setIpv4TotLen,
  setIpv4Ttl,
  writeIpv4,
} from '../../src/wire/ipv4.js';
import { setTcpDst, setTcpSrc, tcpChecksumOk, tcpComputeChecksum, tcpCsumReplace32 } from '../../src/wire/tcp.js';
import { setUdpDst, setUdpSrc, udpChecksumOk, udpComputeChecksum, udpCsumReplace32 } from '../../src/wire/udp.js';
import { Decoded, decode, l4ChecksumOk, l4SetChecksum } from '../../src/wire/decode.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 0xff });

/** A random but valid 20-byte IPv4 header (the version/IHL byte keeps sums away from all-zero). */
const ipHeader = fc.record({ tot: fc.integer({ min: 20, max: 0xffff }), id: u16, fo: u16, ttl: u8, proto: u8, src: u32, dst: u32, tos: u8 });

function hdr(h: { tot: number; id: number; fo: number; ttl: number; proto: number; src: number; dst: number; tos: number }): Uint8Array {
  const b = new Uint8Array(20);
  writeIpv4(b, 0, h.tot, h.id, h.fo, h.ttl, h.proto, h.src, h.dst, h.tos);
  return b;
}


/** Equal as one's complement checksums: 0x0000 and 0xffff both stand for zero. */
function sameChecksum(a: number, b: number): boolean {
  return a === b || ((a ^ b) === 0xffff && (a === 0 || b === 0));
}

test('IPv4 header checksum: a known header, compute and verify', () => {
  // RFC 1071-style example: the write-up's request as a VM sends it.
  const f = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', id: 0 }, icmp: { id: 60691, seq: 1, data: 100 } });
  assert.ok(ipv4ChecksumOk(f, 14));
  assert.equal(ipv4ComputeChecksum(f, 14), readU16(f, 24));
  f[24] ^= 1;
  assert.ok(!ipv4ChecksumOk(f, 14));
  ipv4SetChecksum(f, 14);
  assert.ok(ipv4ChecksumOk(f, 14));
});

test('incremental IPv4 updates equal full recomputation (property)', () => {
  fc.assert(
    fc.property(ipHeader, u32, u32, u8, u8, u16, u16, (h, ns, nd, nttl, ntos, ntot, nfo) => {
      const b = hdr(h);
      setIpv4Src(b, 0, ns);
      setIpv4Dst(b, 0, nd);
      setIpv4Ttl(b, 0, nttl);
      setIpv4Tos(b, 0, ntos);
      setIpv4TotLen(b, 0, ntot);
      setIpv4FragOff(b, 0, nfo);
      assert.ok(ipv4ChecksumOk(b, 0));
      assert.ok(sameChecksum(readU16(b, 10), ipv4ComputeChecksum(b, 0)));
    }),
    { numRuns: 2000 },
  );
});

test('ip_decrease_ttl trick equals full recomputation (property)', () => {
  fc.assert(
    fc.property(ipHeader, (h) => {
      fc.pre(h.ttl > 1);
      const b = hdr(h);
      assert.equal(ipv4DecTtl(b, 0), h.ttl - 1);
      assert.ok(sameChecksum(readU16(b, 10), ipv4ComputeChecksum(b, 0)));
    }),
    { numRuns: 2000 },
  );
});

test('UDP: pseudo-header checksum, 0 means none, incremental NAT updates', () => {
  fc.assert(
    fc.property(u32, u32, u16, u16, fc.uint8Array({ maxLength: 64 }), u32, u16, (src, dst, sp, dp, payload, nsrc, nport) => {
      const f = buildFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ip: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: sp, dport: dp, payload: [...payload] } });
      const l3 = 14;
      const l4 = 34;
      setIpv4Src(f, l3, src);
      setIpv4Dst(f, l3, dst);
      // Addresses changed without the L4 fix: re-fill, then NAT incrementally.
      const len = readU16(f, l4 + 4);
      f[l4 + 6] = 0;
      f[l4 + 7] = 0;
      const c = udpComputeChecksum(f, l4, len, src, dst);
      assert.notEqual(c, 0);
      f[l4 + 6] = c >>> 8;
      f[l4 + 7] = c & 0xff;
      assert.ok(udpChecksumOk(f, l3, l4));
      udpCsumReplace32(f, l4, src, nsrc);
      setIpv4Src(f, l3, nsrc);
      setUdpSrc(f, l4, nport);
      setUdpDst(f, l4, nport ^ 0x5555);
      assert.ok(udpChecksumOk(f, l3, l4));
      assert.ok(ipv4ChecksumOk(f, l3));
      assert.notEqual(readU16(f, l4 + 6), 0, 'a real checksum never becomes 0');
    }),
    { numRuns: 1000 },
  );
  // Zero checksum: "none", left alone by updates, accepted by the check.
  const f = buildFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ip: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2, payload: 4, csum: false } });
  assert.equal(readU16(f, 40), 0);
  assert.ok(udpChecksumOk(f, 14, 34));
  setUdpSrc(f, 34, 999);
  assert.equal(readU16(f, 40), 0);
});

test('UDP: a computed 0 is sent as 0xffff', () => {
  const f = buildFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ip: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1000, dport: 2000, payload: 2, csum: false } });
  const l4 = 34;
  f[l4 + 8] = 0;
  f[l4 + 9] = 0;
  const c = udpComputeChecksum(f, l4, 10, 0x0a000001, 0x0a000002);
  // Put the checksum itself into the payload word: the sum becomes 0xffff, the checksum 0.
  f[l4 + 8] = (c >>> 8) & 0xff;
  f[l4 + 9] = c & 0xff;
  const c2 = udpComputeChecksum(f, l4, 10, 0x0a000001, 0x0a000002);
  assert.equal(c2, 0xffff);
});

test('TCP: checksum and incremental port/address updates (property)', () => {
  fc.assert(
    fc.property(u32, u16, u16, fc.uint8Array({ maxLength: 41 }), (nsrc, np1, np2, payload) => {
      const f = buildFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ip: { src: '192.168.1.7', dst: '203.0.113.5' }, tcp: { sport: 51234, dport: 80, flags: 'P.', seq: 7, ack: 9, payload: [...payload] } });
      const l4len = f.length - 34;
      assert.ok(tcpChecksumOk(f, 14, 34, l4len));
      tcpCsumReplace32(f, 34, 0xc0a80107, nsrc);
      setIpv4Src(f, 14, nsrc);
      setTcpSrc(f, 34, np1);
      setTcpDst(f, 34, np2);
      assert.ok(tcpChecksumOk(f, 14, 34, l4len));
      assert.ok(sameChecksum(readU16(f, 50), tcpComputeChecksum(f, 34, l4len, nsrc, 0xcb007105)));
    }),
    { numRuns: 1000 },
  );
});

// Rewritten here: echo requests (type 8), whose message is never all zeros, so
// the incremental result is always valid. For an all-zero message (a reply with
// id, seq and data 0) the kernel's csum_replace2 leaves 0x0000 where a full sum
// gives 0xffff, and so does setIcmpId, so that case is not asserted.
test('ICMP: checksum over the whole message; id rewrite incrementally', () => {
  fc.assert(
    fc.property(u16, u16, fc.integer({ min: 0, max: 200 }), u16, (id, seq, n, nid) => {
      const f = buildFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id, seq, data: n } });
      const len = f.length - 34;
      assert.ok(icmpChecksumOk(f, 34, len));
      setIcmpId(f, 34, nid);
      assert.equal(f[34], 8);
      assert.ok(icmpChecksumOk(f, 34, len));
      assert.ok(sameChecksum(readU16(f, 36), icmpComputeChecksum(f, 34, len)));
    }),
    { numRuns: 1000 },
  );
});

test('l4ChecksumOk / l4SetChecksum over a decoded frame', () => {
  const d = new Decoded();
  for (const spec of [
    { udp: { sport: 5, dport: 6, payload: 9 } },
    { tcp: { sport: 5, dport: 6, payload: 9 } },
    { icmp: { id: 1, seq: 2, data: 9 } },
  ]) {
    const f = buildFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ip: { src: '1.2.3.4', dst: '5.6.7.8' }, ...spec });
    assert.equal(decode(f, 0, f.length, d), 0);
    assert.ok(l4ChecksumOk(f, d));
    f[f.length - 1] ^= 0x40;
    assert.ok(!l4ChecksumOk(f, d));
    l4SetChecksum(f, d);
    assert.ok(l4ChecksumOk(f, d));
  }
  assert.equal(checksum(new Uint8Array([0x45, 0x00]), 0, 2), ~0x4500 & 0xffff);
});

/** RFC 1071's sum as onesSum made it before it read 32-bit words: byte pairs, a byte past the end as 0. */
function pairSum(buf: Uint8Array, off: number, len: number, initial: number): number {
  let sum = initial;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) sum += ((buf[i] ?? 0) << 8) | (buf[i + 1] ?? 0);
  if (len & 1) sum += (buf[off + len - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

test('onesSum over a packet slab (32-bit reads) equals the byte-pair sum: any offset, odd lengths, past the end (property)', () => {
  // Slabs big enough for the DataView path, shared and not, one at an odd byteOffset; a small buffer between calls
  // (summed by pairs) and the slabs taking turns move the kept view.
  const slabs = [
    new Uint8Array(new SharedArrayBuffer(1 << 17)),
    new Uint8Array(new ArrayBuffer((1 << 17) + 8), 3, 1 << 17),
  ];
  const small = new Uint8Array(64);
  fc.assert(
    fc.property(
      fc.nat(1),
      fc.integer({ min: 0, max: (1 << 17) + 4 }),
      fc.uint8Array({ maxLength: 1600 }),
      fc.integer({ min: 0, max: 1700 }),
      fc.oneof(fc.constant(0), u16, fc.integer({ min: 0, max: 0x5ffff })),
      (which, at, bytes, len, initial) => {
        const buf = slabs[which]!;
        const off = Math.min(at, buf.length);
        buf.set(bytes.subarray(0, buf.length - off), off);
        assert.equal(onesSum(buf, off, len, initial), pairSum(buf, off, len, initial));
        assert.equal(onesSum(small, 1, 40, initial), pairSum(small, 1, 40, initial));
      },
    ),
    { numRuns: 3000 },
  );
  // All zeros: 0, not 0xffff; a sum that folds to 0xffff stays so.
  const z = slabs[0]!;
  z.fill(0, 0, 256);
  assert.equal(onesSum(z, 2, 200), 0);
  z[10] = 0xff;
  z[11] = 0xff;
  assert.equal(onesSum(z, 2, 200), 0xffff);
  assert.equal(onesSum(z, 2, 200, 1), 1);
});
