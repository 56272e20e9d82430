#!/usr/bin/env node
// The one test command (README, .ci/run): type-check, then node's own test runner
// over every test file. Root-only suites fail loudly without root (test/helpers/root.ts).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(p);
  }
};
walk('test');
const only = process.argv.slice(2);
// The Debian tools the tests drive (ping, tcpdump, ovs-ofctl, promtool, ...), installed when missing.
run('sh', ['scripts/ensure-test-deps.sh']);
run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...(only.length ? only : files)]);
