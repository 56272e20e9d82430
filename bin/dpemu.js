#!/usr/bin/env node
// The `dpemu` command: runs tsc's JavaScript in dist/, compiling it first when
// a source changed (scripts/build-dist.mjs), so a fresh clone needs no build
// step. DPEMU_TSX=1 runs the TypeScript sources under tsx instead.
if (process.env.DPEMU_TSX === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  const { ensureBuilt, ENTRY } = await import('../scripts/build-dist.mjs');
  let built = false;
  try {
    built = ensureBuilt();
  } catch (e) {
    process.stderr.write(`dpemu: cannot compile into dist/ (${e.message}); running the sources under tsx\n`);
  }
  if (built) {
    const { pathToFileURL } = await import('node:url');
    await import(pathToFileURL(ENTRY).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import('../src/cli/main.ts');
  }
}
