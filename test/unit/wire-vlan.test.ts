import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame } from '../../src/wire/frame.js';
import { Decoded, decode } from '../../src/wire/decode.js';
import { ETHERTYPE_IPV4, ETHERTYPE_QINQ, ETHERTYPE_VLAN } from '../../src/wire/ethernet.js';
import { makeTci, tciDei, tciPcp, tciVid, vlanDepth, vlanPop, vlanPush, vlanTci, vlanTpid } from '../../src/wire/vlan.js';
import { formatFrame } from '../../src/wire/tcpdump.js';

const REQ = { src: 'fa:17:3e:f7:cd:bc', dst: '5c:c9:99:60:d2:71', ip: { src: '112.65.210.200', dst: '8.8.8.8' }, icmp: { id: 1, seq: 1, data: 100 } };

test('TCI fields', () => {
  const t = makeTci(103, 5, 1);
  assert.equal(tciVid(t), 103);
  assert.equal(tciPcp(t), 5);
  assert.equal(tciDei(t), 1);
  assert.equal(makeTci(4095 + 1), 0);
});

test('push and pop move the MACs into the headroom, not the payload; tags stack', () => {
  const plain = buildFrame(REQ);
  const slab = new Uint8Array(512);
  let off = 128;
  slab.set(plain, off);
  let len = plain.length;
  const payloadAt = off + 14;
  off = vlanPush(slab, off, ETHERTYPE_VLAN, makeTci(103));
  len += 4;
  assert.equal(off, 124);
  assert.deepEqual(slab.subarray(off, off + len), buildFrame({ ...REQ, vlans: [103] }));
  off = vlanPush(slab, off, ETHERTYPE_QINQ, makeTci(100, 3));
  len += 4;
  assert.deepEqual(slab.subarray(off, off + len), buildFrame({ ...REQ, vlans: [{ vid: 100, pcp: 3, tpid: 0x88a8 }, 103] }));
  assert.equal(vlanDepth(slab, off, len), 2);
  assert.equal(vlanTpid(slab, off, 0), ETHERTYPE_QINQ);
  assert.equal(tciVid(vlanTci(slab, off, 1)), 103);
  // The IP packet never moved.
  assert.equal(slab[payloadAt], 0x45);
  off = vlanPop(slab, off, len);
  len -= 4;
  off = vlanPop(slab, off, len);
  len -= 4;
  assert.equal(off, 128);
  assert.deepEqual(slab.subarray(off, off + len), plain);
  assert.equal(vlanPop(slab, off, len), -1, 'untagged: nothing to pop');
  assert.equal(vlanPop(slab, off, 15), -1, 'too short');
});

test('decode reads up to two tags, the third stays the ethertype (as OVS parses)', () => {
  const d = new Decoded();
  const f2 = buildFrame({ ...REQ, vlans: [{ vid: 100, tpid: 0x88a8, pcp: 3 }, { vid: 103, dei: 1 }] });
  assert.equal(decode(f2, 0, f2.length, d), 0);
  assert.equal(d.nTags, 2);
  assert.equal(d.tpid0, 0x88a8);
  assert.equal(d.tci0, makeTci(100, 3));
  assert.equal(d.tpid1, 0x8100);
  assert.equal(d.tci1, makeTci(103, 0, 1));
  assert.equal(d.ethertype, ETHERTYPE_IPV4);
  assert.equal(d.l3, 22);
  assert.equal(d.src, 0x7041d2c8);
  const f3 = buildFrame({ ...REQ, vlans: [1, 2, 3] });
  assert.equal(decode(f3, 0, f3.length, d), 0);
  assert.equal(d.nTags, 2);
  assert.equal(d.ethertype, ETHERTYPE_VLAN);
  assert.equal(d.l3, 22, 'l3 is just after the type field, at the third TCI');
  assert.match(formatFrame(f3, 0, f3.length), /vlan 1, p 0, ethertype 802\.1Q \(0x8100\), vlan 2, p 0, ethertype 802\.1Q \(0x8100\), vlan 3, p 0, ethertype IPv4/);
});
