// A datapath worker thread (src/workers/datapath-worker.ts): started by the
// supervisor (src/workers/supervisor.ts) with its nodes and channels.
import { workerData } from 'node:worker_threads';
import { runWorker } from '../src/workers/datapath-worker.js';
import type { WorkerInit } from '../src/workers/layout.js';

runWorker(workerData as WorkerInit);
