// Commands given too few or too many words answer as the real tool does, and
// `dpemu reload` with words (say `reload --help`) is refused before the daemon re-reads anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEmulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { startControlServer } from '../../src/control/server.js';
import { runRemote } from '../../src/control/client.js';
import { SEED_FILE } from '../helpers/seed-names.js';

test('reload takes no arguments: refused, and the hook is not run; ovs-ofctl and ovs-appctl without a command, ip with an unknown object', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpe-usage-'));
  let reloads = 0;
  const emu = buildEmulator(loadTopologyOrThrow(SEED_FILE), { clock: new ManualClock() });
  const server = await startControlServer(emu, { socketPath: join(dir, 'c.sock'), reload: () => `reloaded ${++reloads}\n` });
  try {
    const bad = await runRemote({ socketPath: join(dir, 'c.sock') }, 'reload', ['--help']);
    assert.deepEqual([bad.exit, bad.stderr, reloads], [1, 'reload takes no arguments\n', 0]);
    const good = await runRemote({ socketPath: join(dir, 'c.sock') }, 'reload', []);
    assert.deepEqual([good.exit, good.stdout, reloads], [0, 'reloaded 1\n', 1]);
    // ovs-ofctl 3.1 and ovs-appctl 3.1 run with no words.
    const ofctl = await runRemote({ socketPath: join(dir, 'c.sock') }, 'ofctl', []);
    assert.deepEqual([ofctl.exit, ofctl.stderr], [1, 'ovs-ofctl: missing command name; use --help for help\n']);
    const appctl = await runRemote({ socketPath: join(dir, 'c.sock') }, 'appctl', []);
    assert.deepEqual([appctl.exit, appctl.stderr], [1, 'ovs-appctl: at least one non-option argument is required (use --help for help)\n']);
    // iproute2 6.1 with a word that begins none of its objects; one it has that dpemu does not emulate.
    const snat = ['-n', 'snat-c4d4b760-41b9-45e1-a607-d054da99c479', 'w02'];
    const foo = await runRemote({ socketPath: join(dir, 'c.sock') }, 'ip', [...snat, 'foo']);
    assert.deepEqual([foo.exit, foo.stderr], [1, 'Object "foo" is unknown, try "ip help".\n']);
    const tunnel = await runRemote({ socketPath: join(dir, 'c.sock') }, 'ip', [...snat, 'tun']);
    assert.deepEqual([tunnel.exit, tunnel.stderr], [255, "Error: 'ip tunnel' is not supported.\n"]);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
