#!/usr/bin/env node
// The `dpemu` command: runs the TypeScript sources through tsx's loader, so
// the package needs no build step to run from a clone.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
