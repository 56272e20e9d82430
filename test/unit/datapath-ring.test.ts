// SpscRing: order, full and empty, and two threads over one SharedArrayBuffer
// (each side keeps the last counter it read of the other; a stale one may
// only make the ring look fuller or emptier than it is, never lose or repeat
// an entry).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { SpscRing } from '../../src/datapath/ring.js';
import { spawnWorker } from '../../src/io/spawn-worker.js';

/** A producer's and a consumer's view of one new ring. */
function views(capacity: number, width: number): { prod: SpscRing; cons: SpscRing } {
  const sab = new SharedArrayBuffer(SpscRing.bytes(capacity, width));
  return { prod: new SpscRing(capacity, width, sab), cons: new SpscRing(capacity, width, sab) };
}

test('one thread, two views: FIFO order, full at capacity, empty after', () => {
  const { prod, cons } = views(8, 2);
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 8; i++) assert.ok(prod.push(round * 100 + i, i));
    assert.equal(prod.push(999, 0), false, 'a ninth entry does not fit');
    assert.equal(cons.size, 8);
    for (let i = 0; i < 8; i++) {
      const at = cons.peek();
      assert.ok(at >= 0);
      assert.equal(cons.words[at], round * 100 + i);
      assert.equal(cons.words[at + 1], i);
      cons.release();
      // The producer's view of head is stale, but one freed entry is enough for it to see room again.
      if (i === 0) {
        assert.ok(prod.push(round * 100 + 8, 8));
        assert.equal(prod.push(999, 0), false);
      }
    }
    assert.equal(cons.words[cons.peek()], round * 100 + 8, 'the entry pushed meanwhile is still there');
    cons.release();
    assert.equal(cons.peek(), -1);
    assert.ok(cons.empty);
  }
});

test('a batch: peekAt reads ahead of the oldest entry, release(n) frees them together', () => {
  const { prod, cons } = views(8, 2);
  let next = 0;
  for (let round = 0; round < 6; round++) {
    // Wraps around the ring's end from the second round on.
    const pushed = 3 + (round % 4);
    for (let i = 0; i < pushed; i++) assert.ok(prod.push(next + i, i));
    let n = 0;
    for (let i = cons.peekAt(n); i >= 0; i = cons.peekAt(n)) {
      assert.equal(cons.words[i], next + n);
      assert.equal(cons.words[i + 1], n);
      n++;
    }
    assert.equal(n, pushed, 'every waiting entry, and -1 after the last');
    assert.equal(cons.size, pushed, 'nothing freed before release(n)');
    // Still held: the producer has only the rest of the ring.
    for (let i = 0; i < 8 - pushed; i++) assert.ok(prod.push(-1));
    assert.equal(prod.push(-1), false);
    cons.release(n);
    for (let i = 0; i < 8 - pushed; i++) cons.shift();
    assert.ok(cons.empty);
    next += 100;
  }
});

test('pushLater: entries the consumer sees only at publish(), and the ring counts them as taken', () => {
  const { prod, cons } = views(4, 2);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 3; i++) assert.ok(prod.pushLater(round * 10 + i, i));
    assert.equal(cons.peek(), -1, 'not published yet');
    assert.ok(cons.empty);
    assert.ok(prod.pushLater(round * 10 + 3, 3));
    assert.equal(prod.pushLater(99, 9), false, 'published or not, four entries fill it');
    prod.publish();
    assert.equal(cons.size, 4);
    for (let i = 0; i < 4; i++) assert.equal(cons.shift(), round * 10 + i);
    assert.ok(cons.empty);
  }
});

test('a view made later starts from the counters as they are', () => {
  const sab = new SharedArrayBuffer(SpscRing.bytes(4, 1));
  const a = new SpscRing(4, 1, sab);
  for (let i = 0; i < 11; i++) {
    a.push(i);
    a.shift();
  }
  a.push(42);
  const late = new SpscRing(4, 1, sab);
  assert.equal(late.shift(), 42);
  assert.equal(late.shift(), -1);
  for (let i = 0; i < 4; i++) assert.ok(new SpscRing(4, 1, sab).push(i), 'a fresh producer view sees the room there is');
  assert.equal(new SpscRing(4, 1, sab).push(9), false);
});

test('two threads: every entry arrives once, in order, with its words', async () => {
  const capacity = 64, count = 200_000;
  const sab = new SharedArrayBuffer(SpscRing.bytes(capacity, 3));
  const ring = new SpscRing(capacity, 3, sab);
  const w = spawnWorker(new URL('./ring-producer.ts', import.meta.url), { sab, capacity, count });
  const done = once(w, 'message');
  let next = 1;
  const t0 = Date.now();
  while (next <= count) {
    const at = ring.peek();
    if (at < 0) {
      if (Date.now() - t0 > 60_000) break;
      continue;
    }
    const a = ring.words[at]!, b = ring.words[at + 1]!, c = ring.words[at + 2]!;
    ring.release();
    if (a !== next || b !== (next ^ 0x5a5a5a5a) || c !== -next) assert.fail(`entry ${next}: got (${a}, ${b}, ${c})`);
    next++;
  }
  assert.equal(next, count + 1, 'all entries arrived');
  await done;
  assert.equal(ring.peek(), -1);
  await w.terminate();
});
