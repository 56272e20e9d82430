// Preloaded into a `dpemu` call under test (node --import): appends the URL
// of every module the ESM loader loads after it, one a line, to the file
// $DPEMU_MODULE_LOG names. Test-only (test/unit/cli-start-modules.test.ts).
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

// The hooks run on the loader's own thread, which imports this file again.
if (isMainThread) register(import.meta.url);

export async function load(url, context, next) {
  appendFileSync(process.env.DPEMU_MODULE_LOG, `${url}\n`);
  return next(url, context);
}
