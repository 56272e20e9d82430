// Starting a worker thread from a TypeScript or compiled entry. Node 20 does
// not apply `--import tsx` to worker threads (measured here: "Unknown file
// extension .ts" even with execArgv), so a .ts entry is started through a
// two-line bootstrap that registers tsx's loader in the worker first. A .js
// entry (after `npm run build`) starts directly.
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BOOT = `const { workerData } = require('node:worker_threads');
import(workerData.__tsx).then((m) => { m.register(); return import(workerData.__entry); })
  .catch((e) => { process.nextTick(() => { throw e; }); });`;

/**
 * The URL of worker `name` (in the repository's workers/ folder) next to the
 * running code: `.ts` under tsx, `.js` in a build.
 */
export function workerUrl(name: string): URL {
  const self = import.meta.url;
  const ext = self.endsWith('.ts') ? '.ts' : '.js';
  // src/io/spawn-worker.{ts,js} -> ../../workers/NAME.{ts,js}
  const u = new URL(`../../workers/${name}${ext}`, self);
  if (!existsSync(fileURLToPath(u))) throw new Error(`worker ${name} not found at ${fileURLToPath(u)}`);
  return u;
}

export function spawnWorker(entry: URL, workerData: object, opts: Omit<WorkerOptions, 'workerData' | 'eval'> = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { ...opts, workerData });
  return new Worker(BOOT, {
    ...opts,
    eval: true,
    workerData: { ...workerData, __tsx: import.meta.resolve('tsx/esm/api'), __entry: entry.href },
  });
}
