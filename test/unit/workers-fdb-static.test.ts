// Static MAC entries (`dpemu appctl fdb/add`) reach the datapath worker that
// owns the node and outlive it: they are in the learned-state journal as
// every fdb entry is (their expiry never), so a restarted worker has them in
// their LRU place, a deleted one stays deleted and one fdb/flush kept stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionedDatapath } from '../../src/workers/supervisor.js';
import { SEED_FILE } from '../helpers/seed-names.js';

const ASSIGNMENT = new Map([['w07', 0], ['w02', 1]]);

test('static fdb entries survive a worker restart as fdb/show and fdb/stats-show printed them', async () => {
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual' });
  try {
    const cmd = async (w: number, ...argv: string[]): Promise<string> => {
      const a = await dp.control(w, 'appctl', argv);
      assert.ok(a.response?.ok, `${argv.join(' ')}: ${JSON.stringify(a.response ?? a.error)}`);
      return a.response.stdout;
    };
    await cmd(0, 'fdb/add', 'w07', 'br-int', 'patch-tun', '1', '50:54:00:00:00:01');
    await cmd(0, 'fdb/add', 'w07', 'br-int', 'br-int', '2', '50:54:00:00:00:02');
    await cmd(0, 'fdb/add', 'w07', 'br-int', 'patch-tun', '3', '50:54:00:00:00:03');
    await cmd(0, 'fdb/del', 'w07', 'br-int', '2', '50:54:00:00:00:02');
    await cmd(0, 'fdb/add', 'w07', 'br-int', 'patch-tun', '1', '50:54:00:00:00:01'); // to the LRU list's end
    await cmd(0, 'fdb/flush', 'w07', 'br-int');
    await cmd(1, 'fdb/add', 'w02', 'br-ex', 'eth3', '0', '50:54:00:00:00:04');
    const show = (): Promise<string[]> => Promise.all([cmd(0, 'fdb/show', 'w07', 'br-int'), cmd(1, 'fdb/show', 'w02', 'br-ex')]);
    const before = await show();
    assert.equal(before[0], ' port  VLAN  MAC                Age\n    1     3  50:54:00:00:00:03  static\n    1     1  50:54:00:00:00:01  static\n');
    assert.match(before[1]!, /50:54:00:00:00:04  static\n/);
    for (const w of [0, 1]) {
      const back = dp.restarted(w);
      await dp.kill(w);
      await back;
    }
    assert.deepEqual(await show(), before);
    assert.match(await cmd(0, 'fdb/stats-show', 'w07', 'br-int'), /Current static MAC entries in the table : 2\n/);
    // Still static in the successor: fdb/del finds them.
    await cmd(0, 'fdb/del', 'w07', 'br-int', '3', '50:54:00:00:00:03');
    assert.doesNotMatch(await cmd(0, 'fdb/show', 'w07', 'br-int'), /:03/);
  } finally {
    await dp.stop();
  }
});
