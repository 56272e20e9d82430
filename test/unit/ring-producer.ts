// The producer thread of datapath-ring.test.ts: pushes 1..count (with two
// derived words) into the ring it is given, spinning while the ring is full.
import { workerData, parentPort } from 'node:worker_threads';
import { SpscRing } from '../../src/datapath/ring.js';

const { sab, capacity, count } = workerData as { sab: SharedArrayBuffer; capacity: number; count: number };
const ring = new SpscRing(capacity, 3, sab);
for (let i = 1; i <= count; i++) {
  while (!ring.push(i, i ^ 0x5a5a5a5a, -i));
}
parentPort!.postMessage('done');
