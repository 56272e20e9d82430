// Reloads run one after another; one that threw (a bug) must not fail the later ones,
// as `reloading.then(doReload)` did: every later `dpemu reload` and SIGHUP answered the
// first failure again without reading the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterSettled } from '../../src/daemon/daemon.js';

test('a reload runs after a failed one, and after a good one, in order', async () => {
  const ran: number[] = [];
  const first = afterSettled(Promise.resolve(), async () => {
    ran.push(1);
    throw new Error('internal error');
  });
  const second = afterSettled(first, async () => {
    ran.push(2);
    return 'reloaded';
  });
  const third = afterSettled(second, async () => {
    ran.push(3);
    return 'again';
  });
  await assert.rejects(first, /internal error/);
  assert.equal(await second, 'reloaded');
  assert.equal(await third, 'again');
  assert.deepEqual(ran, [1, 2, 3]);
});
