#!/usr/bin/env node
// Compile src/ and workers/ into dist/ (tsconfig.run.json) when a source is
// newer than the last build: the daemon runs from tsc's JavaScript, not
// under tsx, because tsx compiles file by file and leaves every imported
// `const enum` an object lookup on the per-packet path (and costs the
// workers a loader). Used by bin/dpemu.js and the end-to-end tests; run it
// by hand to build ahead. Concurrent callers (tests run two at a time) take
// turns through a lock directory.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ENTRY = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const STAMP = join(ROOT, 'dist', '.run-build');
const LOCK = join(ROOT, 'dist', '.run-build.lock');
const INPUTS = ['src', 'workers', 'tsconfig.json', 'tsconfig.run.json', 'package.json'];

function newest(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs; // a deleted file shows in its folder's mtime
  for (const e of readdirSync(p)) m = Math.max(m, newest(join(p, e)));
  return m;
}

function fresh() {
  if (!existsSync(STAMP) || !existsSync(ENTRY)) return false;
  const built = statSync(STAMP).mtimeMs;
  return INPUTS.every((i) => newest(join(ROOT, i)) <= built);
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Build dist/ if stale; returns whether it is usable. */
export function ensureBuilt({ quiet = false } = {}) {
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (const deadline = Date.now() + 180_000; !fresh(); ) {
    try {
      mkdirSync(LOCK);
    } catch (e) {
      if (e.code !== 'EEXIST') throw e; // cannot write dist/ (a read-only install)
      // Another process is building: wait for it (a lock older than 3 minutes is stale).
      if (Date.now() > deadline || Date.now() - statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs > 180_000) rmSync(LOCK, { recursive: true, force: true });
      sleep(200);
      continue;
    }
    try {
      if (fresh()) break;
      const started = new Date();
      if (!quiet) process.stderr.write('dpemu: compiling src/ and workers/ into dist/ (tsc, once per change)\n');
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.run.json')], { stdio: ['ignore', 'inherit', 'inherit'] });
      writeFileSync(STAMP, '');
      utimesSync(STAMP, started, started); // an edit made during the build makes the next call rebuild
      break;
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
  return existsSync(ENTRY);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) ensureBuilt();
