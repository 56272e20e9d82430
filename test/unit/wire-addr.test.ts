import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  inPrefix,
  ipToString,
  macAt,
  macIsBroadcast,
  macIsMulticast,
  macToString,
  maskToPrefix,
  parseCidr,
  parseIpv4,
  parseMac,
  prefixMask,
  readMacHi,
  readMacLo,
  readU16,
  readU32,
  writeMac,
  writeU16,
  writeU32,
} from '../../src/wire/addr.js';

test('MAC text <-> (hi16, lo32) and bytes', () => {
  const m = parseMac('fa:16:3e:b2:ef:af')!;
  assert.deepEqual(m, { hi: 0xfa16, lo: 0x3eb2efaf });
  assert.equal(macToString(m.hi, m.lo), 'fa:16:3e:b2:ef:af');
  assert.equal(parseMac('FA-16-3E-B2-EF-AF')!.lo, 0x3eb2efaf);
  assert.equal(parseMac('fa:16:3e:b2:ef'), null);
  assert.equal(parseMac('fa:16:3e:b2:ef:zz'), null);
  assert.equal(parseMac('fa:16:3e:b2:ef:1af'), null);
  const b = new Uint8Array(8);
  writeMac(b, 1, m.hi, m.lo);
  assert.deepEqual([...b.subarray(1, 7)], [0xfa, 0x16, 0x3e, 0xb2, 0xef, 0xaf]);
  assert.equal(readMacHi(b, 1), 0xfa16);
  assert.equal(readMacLo(b, 1), 0x3eb2efaf);
  assert.equal(macAt(b, 1), 'fa:16:3e:b2:ef:af');
  assert.ok(macIsBroadcast(0xffff, 0xffffffff));
  assert.ok(macIsMulticast(0x0100));
  assert.ok(!macIsMulticast(0xfa16));
});

test('MAC round trip (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }), (hi, lo) => {
      const t = macToString(hi, lo);
      assert.deepEqual(parseMac(t), { hi, lo });
    }),
  );
});

test('IPv4 text <-> unsigned number', () => {
  assert.equal(parseIpv4('192.168.1.1'), 3232235777); // the write-up's rule/table number
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(ipToString(3232235777), '192.168.1.1');
  for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.x', '', '1..2.3']) assert.equal(parseIpv4(bad), null, bad);
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (a) => assert.equal(parseIpv4(ipToString(a)), a)));
});

test('prefixes', () => {
  assert.equal(prefixMask(0), 0);
  assert.equal(prefixMask(24), 0xffffff00);
  assert.equal(prefixMask(26), 0xffffffc0);
  assert.equal(prefixMask(32), 0xffffffff);
  assert.equal(maskToPrefix(0xffffffc0), 26);
  assert.equal(maskToPrefix(0xff00ff00), -1);
  assert.ok(inPrefix(parseIpv4('10.206.221.195')!, parseIpv4('10.206.221.192')!, 26));
  assert.ok(!inPrefix(parseIpv4('10.206.221.130')!, parseIpv4('10.206.221.192')!, 26));
  assert.ok(inPrefix(parseIpv4('8.8.8.8')!, 0, 0));
  assert.deepEqual(parseCidr('169.254.96.32/31'), { addr: parseIpv4('169.254.96.32'), len: 31 });
  assert.deepEqual(parseCidr('112.65.210.200'), { addr: parseIpv4('112.65.210.200'), len: 32 });
  assert.equal(parseCidr('1.2.3.4/33'), null);
});

test('big-endian helpers: u32 is unsigned', () => {
  const b = new Uint8Array(6);
  writeU32(b, 1, 0xdeadbeef);
  assert.equal(readU32(b, 1), 0xdeadbeef);
  writeU16(b, 0, 0xabcd);
  assert.equal(readU16(b, 0), 0xabcd);
  assert.ok(readU32(b, 1) > 0);
});
