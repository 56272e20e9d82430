// Preloaded into a `dpemu run` under test (node --import): SIGUSR2 makes the
// main thread throw from a timer, an exception no handler of dpemu's catches,
// as a bug would. Test-only: the product has no such trigger.
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  process.on('SIGUSR2', () => {
    setImmediate(() => {
      throw new Error('injected by the test (SIGUSR2)');
    });
  });
}
