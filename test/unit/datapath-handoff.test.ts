// The one-copy hand-off between threads (src/datapath/handoff.ts): frames
// arrive byte-exact at every source alignment and length (the word copy has a
// head, a body and a tail), and a producer with no lent slot, or a frame too
// long for one, gets false instead of overwriting anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Handoff } from '../../src/datapath/handoff.js';
import { HEADROOM } from '../../src/datapath/packet.js';

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
