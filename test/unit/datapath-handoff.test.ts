// The one-copy hand-off between threads (src/datapath/handoff.ts): frames
// arrive byte-exact at every source alignment and length (the word copy has a
// head, a body and a tail), and a producer with no lent slot, or a frame too
// long for one, gets false instead of overwriting anything. The sender's
// checksum verdict (checksumsGood, the receiver's path cache checks made on
// the sending side) holds only for a frame whose checks would all pass, and
// the key hint (path-cache.ts keyHint) rides in the entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Handoff, checksumsGood } from '../../src/datapath/handoff.js';
import { HEADROOM } from '../../src/datapath/packet.js';
import { keyHint } from '../../src/datapath/path-cache.js';
import { buildFrame } from '../../src/wire/frame.js';

const SLOT = 512;

function channel(capacity: number): { h: Handoff; slab: Uint8Array } {
  const sab = new SharedArrayBuffer(capacity * SLOT);
  return { h: new Handoff(capacity, new SharedArrayBuffer(Handoff.bytes(capacity)), sab, SLOT), slab: new Uint8Array(sab) };
}

test('frames cross byte-exact at every alignment and length, by words and by bytes', () => {
  const { h, slab } = channel(4);
  const srcBuf = new SharedArrayBuffer(1024);
  const src = new Uint8Array(srcBuf), src32 = new Int32Array(srcBuf);
  for (let i = 0; i < src.length; i++) src[i] = (i * 37 + 11) & 0xff;
  for (const words of [true, false]) {
    for (let off = 60; off < 64; off++) {
      for (const len of [0, 1, 2, 3, 4, 5, 7, 8, 9, 60, 106, 156, SLOT - HEADROOM - 3]) {
        assert.ok(h.lend(2));
        assert.ok(h.send(src, words ? src32 : null, off, len, 0x1234));
        const i = h.data.peek();
        const at = h.data.words[i]!, n = h.data.words[i + 1]!, tag = h.data.words[i + 2]!;
        h.data.release();
        assert.equal(h.slotOf(at), 2);
        assert.equal(at & 3, off & 3, 'the frame keeps its alignment');
        assert.ok(at >= 2 * SLOT + HEADROOM && at + n <= 3 * SLOT);
        assert.equal(tag, 0x1234);
        assert.deepEqual(slab.subarray(at, at + n), src.subarray(off, off + len), `off ${off} len ${len} words ${words}`);
      }
    }
  }
});

test('a frame\'s key hint (the receiver\'s path cache hash but for in_port) rides in its entry\'s fourth word; -1 without one', () => {
  const { h } = channel(4);
  const f = buildFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ip: { src: '192.0.2.1', dst: '198.51.100.1' }, udp: { sport: 1000, dport: 53, payload: 8 } });
  for (const hint of [keyHint(f, 0, f.length), -1]) {
    assert.ok(h.lend(1));
    assert.ok(hint === -1 ? h.send(f, null, 0, f.length, 7) : h.send(f, null, 0, f.length, 7, 0, hint));
    const i = h.data.peek();
    assert.equal(h.data.words[i + 2], 7);
    assert.equal(h.data.words[i + 3], hint);
    h.data.release();
  }
  assert.ok(keyHint(f, 0, f.length) >= 0);
});

test('no lent slot, or a frame longer than a slot takes: false, nothing written', () => {
  const { h, slab } = channel(2);
  const src = new Uint8Array(SLOT).fill(0xee);
  assert.equal(h.send(src, null, 0, 60, 0), false);
  assert.ok(h.lend(0));
  assert.equal(h.send(src, null, 0, SLOT, 0), false);
  assert.ok(slab.every((b) => b === 0));
  assert.ok(h.send(src, null, 0, 60, 0));
  assert.equal(h.send(src, null, 0, 60, 0), false, 'the only slot is taken');
});

test('sendLater: frames and their slots show at flush(), in order; lendLater: slots at publishLent()', () => {
  const { h, slab } = channel(4);
  const src = Uint8Array.from({ length: 64 }, (_, i) => i);
  for (let s = 0; s < 3; s++) assert.ok(h.lendLater(s));
  assert.equal(h.free.size, 0, 'lent slots are not seen before publishLent()');
  assert.equal(h.sendLater(src, null, 0, 60, 1), false, 'nor usable');
  h.publishLent();
  assert.equal(h.lendable, 3);
  for (let t = 0; t < 3; t++) assert.ok(h.sendLater(src, null, t, 8, 10 + t));
  assert.equal(h.sendLater(src, null, 0, 8, 99), false, 'three slots lent, three taken');
  assert.equal(h.lendable, 0);
  assert.equal(h.data.size, 0, 'nothing published before flush()');
  assert.equal(h.free.size, 3, 'the taken slots stay in the free ring until flush()');
  h.flush();
  assert.equal(h.free.size, 0);
  for (let t = 0; t < 3; t++) {
    const i = h.data.peekAt(t);
    const at = h.data.words[i]!;
    assert.equal(h.slotOf(at), t);
    assert.equal(h.data.words[i + 2], 10 + t);
    assert.deepEqual(slab.subarray(at, at + 8), src.subarray(t, t + 8));
  }
  h.data.release(3);
  assert.ok(h.data.empty);
});

/** A VXLAN frame (VNI 77, outer UDP checksum 0 as an OVS VTEP sends it) around `inner`. */
function vxlan(inner: Uint8Array): Uint8Array {
  const payload = new Uint8Array(8 + inner.length);
  payload.set([0x08, 0, 0, 0, 0, 0, 77, 0]);
  payload.set(inner, 8);
  return buildFrame({ src: '52:54:00:00:00:01', dst: '52:54:00:00:00:02', ip: { src: '192.0.2.7', dst: '192.0.2.2', ttl: 64 }, udp: { sport: 51000, dport: 4789, payload, csum: false } });
}

test('checksumsGood: true only when every IPv4 header checksum (outer and inner) and the innermost UDP or ICMP checksum are good', () => {
  const udp = buildFrame({ src: '52:54:00:00:00:03', dst: '52:54:00:00:00:04', ip: { src: '198.51.100.7', dst: '203.0.113.8', ttl: 63 }, udp: { sport: 41000, dport: 53, payload: 64 } });
  const icmp = buildFrame({ src: '52:54:00:00:00:03', dst: '52:54:00:00:00:04', ip: { src: '198.51.100.7', dst: '203.0.113.8', ttl: 63 }, icmp: { id: 9, seq: 1, data: 56 } });
  const noSum = buildFrame({ src: '52:54:00:00:00:03', dst: '52:54:00:00:00:04', ip: { src: '198.51.100.7', dst: '203.0.113.8', ttl: 63 }, udp: { sport: 41000, dport: 53, payload: 8, csum: false } });
  const good = (f: Uint8Array, at = 0): boolean => {
    // At an offset in a larger buffer, as in a slot of a slab.
    const buf = new Uint8Array(at + f.length + 16);
    buf.set(f, at);
    return checksumsGood(buf, at, f.length);
  };
  const tcp = buildFrame({ src: '52:54:00:00:00:03', dst: '52:54:00:00:00:04', ip: { src: '198.51.100.7', dst: '203.0.113.8' }, tcp: { sport: 40000, dport: 80, flags: 'S' } });
  for (const [what, f] of [['udp', udp], ['icmp echo', icmp], ['tcp', tcp], ['vxlan tcp', vxlan(tcp)], ['udp without checksum', noSum], ['vxlan udp', vxlan(udp)], ['vxlan icmp', vxlan(icmp)]] as const) {
    assert.equal(good(f), true, what);
    assert.equal(good(f, 78), true, `${what} at 78`);
  }
  const flip = (f: Uint8Array, at: number): Uint8Array => {
    const g = f.slice();
    g[at]! ^= 0x10;
    return g;
  };
  const v = vxlan(udp);
  assert.equal(good(flip(v, 24)), false, 'outer IPv4 header checksum');
  assert.equal(good(flip(v, 50 + 24)), false, 'inner IPv4 header checksum');
  assert.equal(good(flip(v, 50 + 40)), false, 'inner UDP checksum');
  assert.equal(good(flip(v, 50 + 42 + 10)), false, 'inner UDP payload');
  assert.equal(good(flip(udp, 24)), false, 'IPv4 header checksum');
  assert.equal(good(flip(udp, 42 + 3)), false, 'UDP payload');
  assert.equal(good(flip(icmp, 42 + 3)), false, 'ICMP data');
  assert.equal(good(flip(tcp, 34 + 16)), false, 'TCP checksum');
  assert.equal(good(flip(vxlan(tcp), 50 + 34 + 4)), false, 'inner TCP sequence number');
  // Not what the path cache keys (no verdict: the receiver checks): IPv4 options, not IPv4, truncated, a VLAN tag.
  const opts = buildFrame({ src: '52:54:00:00:00:03', dst: '52:54:00:00:00:04', ip: { src: '198.51.100.7', dst: '203.0.113.8', options: [0x94, 4, 0, 0] }, udp: { sport: 41000, dport: 53, payload: 8 } });
  const tagged = buildFrame({ src: '52:54:00:00:00:03', dst: '52:54:00:00:00:04', vlans: [103], ip: { src: '198.51.100.7', dst: '203.0.113.8' }, udp: { sport: 41000, dport: 53, payload: 8 } });
  const arp = buildFrame({ src: '52:54:00:00:00:03', dst: 'ff:ff:ff:ff:ff:ff', arp: { op: 1, sha: '52:54:00:00:00:03', spa: '198.51.100.7', tha: '00:00:00:00:00:00', tpa: '198.51.100.1' } });
  for (const [what, f] of [['ip options', opts], ['vlan tag', tagged], ['arp', arp], ['vxlan arp', vxlan(arp)], ['truncated', udp.slice(0, 40)]] as const) {
    assert.equal(good(f), false, what);
  }
  // The IPv4 headers known good (a path cache hit's output: sentChecksumsGood): only the innermost L4 sum is made.
  assert.equal(checksumsGood(flip(v, 24), 0, v.length, true), true, 'outer IPv4 header checksum not summed');
  assert.equal(checksumsGood(flip(v, 50 + 24), 0, v.length, true), true, 'inner IPv4 header checksum not summed');
  assert.equal(checksumsGood(flip(v, 50 + 42 + 10), 0, v.length, true), false, 'inner UDP payload summed');
  assert.equal(checksumsGood(flip(udp, 42 + 3), 0, udp.length, true), false, 'UDP payload summed');
  assert.equal(checksumsGood(tagged, 0, tagged.length, true), false, 'a VLAN tag: no verdict');
});
