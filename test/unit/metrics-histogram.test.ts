import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stats } from '../../src/datapath/stats.js';
import {
  HIST_BOUNDS_SECONDS, HIST_BUCKETS, allocHistogram, addHistogram, bucketOf, emptyHistogram, observeNs,
} from '../../src/metrics/histogram.js';

test('log2 buckets: 128 ns to 2^27 ns, then +Inf; a value on a bound lands in that bound', () => {
  assert.equal(HIST_BUCKETS, 22);
  assert.equal(HIST_BOUNDS_SECONDS[0], 128e-9);
  assert.equal(HIST_BOUNDS_SECONDS.at(-1), 2 ** 27 / 1e9);
  const cases: [number, number][] = [
    [0, 0], [-5, 0], [NaN, 0], [1, 0], [127.5, 0], [128, 0], [128.01, 1], [129, 1], [256, 1], [257, 2],
    [1000, 3], [1024, 3], [1e6, 13], [2 ** 27, 20], [2 ** 27 + 1, 21], [1e12, 21], [Infinity, 21],
  ];
  for (const [ns, b] of cases) assert.equal(bucketOf(ns), b, `${ns} ns`);
  for (let k = 0; k < HIST_BUCKETS - 1; k++) {
    const boundNs = HIST_BOUNDS_SECONDS[k]! * 1e9;
    assert.equal(bucketOf(boundNs), k);
    assert.ok(bucketOf(boundNs + 1) === k + 1);
  }
});

test('observations in shared memory come out cumulative, with sum and count; worker slots sum', () => {
  const w1 = new Stats(256), w2 = new Stats(256);
  const b1 = allocHistogram(w1, 'stage_latency', { node: 'w07', element: 'br-int', kind: 'ovs_bridge' });
  const b2 = allocHistogram(w2, 'stage_latency', { node: 'w07', element: 'br-int', kind: 'ovs_bridge' });
  for (const ns of [100, 200, 200, 5000]) observeNs(w1.v, b1, ns);
  observeNs(w2.v, b2, 1e9);
  // The cells describe themselves: buckets, then the sum.
  assert.equal(w1.desc[b1]!.name, 'stage_latency_bucket');
  assert.equal(w1.desc[b1 + HIST_BUCKETS]!.name, 'stage_latency_sum');
  const h = emptyHistogram();
  addHistogram(w1.v, b1, h);
  addHistogram(w2.v, b2, h);
  assert.deepEqual(h.cumulative.slice(0, 7), [1, 3, 3, 3, 3, 3, 4]);
  assert.equal(h.cumulative.at(-2), 4);
  assert.equal(h.cumulative.at(-1), 5);
  assert.equal(h.count, 5);
  assert.ok(Math.abs(h.sum - (5500e-9 + 1)) < 1e-12);
});
