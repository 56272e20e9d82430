// The client picks a command's path (/v1/read or /v1/write) from
// family-access.ts, which loads one family's module, not the registry; the
// server checks the path with the registry's access(). They must be the same
// function for every family, or a write would be refused (403) or a family
// missing from the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, DAEMON_COMMANDS } from '../../src/control/registry.js';
import { FAMILY_ACCESS } from '../../src/control/family-access.js';

test("family-access.ts names every family the server serves, each with the registry's own access()", async () => {
  const served = [...COMMANDS.values(), ...DAEMON_COMMANDS.values()];
  assert.deepEqual([...FAMILY_ACCESS.keys()].sort(), served.map((f) => f.name).sort());
  for (const fam of served) assert.equal(await FAMILY_ACCESS.get(fam.name)!(), fam.access, fam.name);
});
