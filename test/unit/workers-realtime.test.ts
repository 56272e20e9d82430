// A datapath worker asked for a SCHED_FIFO priority that chrt refuses
// (PartitionOptions.rtPriority; `dpemu run --rt-priority` lets through only
// 1-99, so 100 here) tells the supervisor why, once, and runs on; one asked
// for none says nothing. (That a granted priority shows in /proc is
// test/e2e/daemon-sched.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionedDatapath } from '../../src/workers/supervisor.js';
import { SEED_FILE } from '../helpers/seed-names.js';

async function start(rtPriority: number): Promise<{ dp: PartitionedDatapath; errors: [number, string][] }> {
  const errors: [number, string][] = [];
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, workers: 1, clock: 'manual', rtPriority, onRealtimeError: (w, m) => errors.push([w, m]) });
  return { dp, errors };
}

test('rtPriority chrt refuses: onRealtimeError with chrt\'s reason, and the worker answers requests', async () => {
  const { dp, errors } = await start(100);
  try {
    const end = Date.now() + 10_000;
    while (errors.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]![0], 0);
    assert.match(errors[0]![1], /priority|permitted/i);
    assert.equal(typeof (await dp.request(0, { op: 'drops' })), 'object');
  } finally {
    await dp.stop();
  }
});

test('rtPriority 0: no real-time request, nothing reported', async () => {
  const { dp, errors } = await start(0);
  try {
    assert.equal(typeof (await dp.request(0, { op: 'drops' })), 'object');
    assert.deepEqual(errors, []);
  } finally {
    await dp.stop();
  }
});
