// `bridge fdb add|append|replace|delete|flush` on a qbr (src/control/bridge-commands.ts)
// against iproute2's bridge on the kernel's bridge of the same ports and
// addresses: each command's stdout, stderr and exit status, then the
// bridge's `fdb show`, must be the same, and so must what `bridge monitor
// fdb` heard of it all. dpemu's clock stands still; no
// frame runs, so only the commands change the tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { requireRoot } from '../helpers/root.js';
import { loadTopologyText } from '../../src/topology/loader.js';
import { buildEmulator } from '../../src/topology/builder.js';
import { startMonitor } from '../../src/control/monitors.js';
import { kernelQbr, qbrBridge, qbrTopology } from './qbr-topology.js';
import { KernelObjects, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const BR = 'qbr-w', QVB = 'qvb-w', QVO = 'qvo-w', TAP = 'tap-w', VMEND = 'vm-w';
const MAC = { br: '02:00:5e:00:53:0a', qvb: '02:00:5e:00:53:01', qvo: '02:00:5e:00:53:03', tap: 'fe:16:3e:00:53:02' };
const C = (n: number): string => `0a:00:00:00:53:${String(n).padStart(2, '0')}`;

const TOPOLOGY = qbrTopology({ name: 'dpe-bridge-fdb-write', tag, br: BR, qvb: QVB, qvo: QVO, tap: TAP, mac: MAC });

/** The commands, in order: each changes (or refuses to change) what the next finds. */
const STEPS: string[][] = [
  ['add', C(1), 'dev', QVB, 'master', 'static'],
  ['add', C(1), 'dev', QVB, 'master', 'static'],
  ['add', C(2), 'dev', QVB, 'master'],
  ['add', C(3), 'dev', TAP, 'master', 'dynamic'],
  ['add', C(4), 'dev', TAP, 'master', 'temp'],
  ['append', C(5), 'dev', TAP, 'master'],
  ['replace', C(1), 'dev', TAP, 'master', 'static'],
  ['replace', C(6), 'dev', TAP, 'master', 'local', 'static'],
  ['add', C(7), 'dev', BR, 'self'],
  ['add', C(8), 'dev', BR, 'self', 'static'],
  ['add', C(8), 'dev', BR, 'master'],
  ['add', C(8), 'dev', QVO, 'master'],
  ['add', '00:00:00:00:00:00', 'dev', QVB, 'master', 'static'],
  ['add', '01:00:5e:00:00:09', 'dev', QVB, 'master', 'static'],
  ['add', C(9), 'dev', QVB, 'master', 'vlan', '0'],
  ['add', C(9), 'dev', QVB, 'master', 'vlan', '5'],
  ['add', C(9), 'dev', QVB, 'master', 'sticky'],
  ['add', C(9), 'master'],
  ['add', 'zz', 'dev', QVB, 'master'],
  ['add', C(9), 'dev', 'nosuch', 'master'],
  ['add', C(10), 'dev', TAP, 'master', 'use'],
  ['add', C(3), 'dev', TAP, 'master', 'static'],
  ['append', C(3), 'dev', TAP, 'master', 'static'],
  ['replace', C(2), 'dev', QVB, 'master', 'dynamic'],
  ['del', C(1), 'dev', QVB, 'master'],
  ['del', C(1), 'dev', TAP, 'master'],
  ['del', C(4), 'dev', TAP],
  ['del', C(7), 'dev', BR, 'master'],
  ['del', C(7), 'dev', BR, 'self'],
  ['del', MAC.qvb, 'dev', QVB, 'master'],
  ['del', MAC.br, 'dev', BR, 'self'],
  ['flush'],
  ['flush', 'dev', 'nosuch'],
  ['flush', 'dev', BR, 'brport', 'nosuch'],
  ['flush', 'dev', BR, 'vlan', '0'],
  ['flush', 'dev', QVB],
  ['flush', 'dev', BR, 'vlan', '7'],
  ['flush', 'dev', TAP, 'master', 'static'],
  ['flush', 'dev', BR, 'nodynamic', 'noadded_by_user'],
  ['flush', 'dev', BR, 'brport', TAP, 'nopermanent'],
  ['flush', 'dev', BR, 'dynamic'],
  ['flush', 'dev', BR],
];


test('bridge fdb add, append, replace, delete and flush change a qbr\'s table as the kernel\'s, and refuse as it does', async () => {
  requireRoot('the bridge fdb write kernel comparison');
  const objs = new KernelObjects();
  let mon: ChildProcess | undefined;
  try {
    // In dpemu's ifindex order (the bridge, then its veth pair, peer first, then the TAP), as bridge fdb show lists devices.
    const { ns, ip } = kernelQbr(objs, `dpe-${tag}-bw`, { br: BR, qvb: QVB, qvo: QVO, mac: MAC });
    ip('link', 'add', TAP, 'address', MAC.tap, 'type', 'veth', 'peer', 'name', VMEND);
    for (const d of [QVB, TAP]) ip('link', 'set', d, 'master', BR);
    for (const d of [QVO, QVB, TAP, VMEND, BR]) ip('link', 'set', d, 'up');
    await new Promise((r) => setTimeout(r, 1500)); // carrier and port states settle through linkwatch

    const loaded = loadTopologyText(TOPOLOGY, 'bridge-fdb-write.yaml');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const emu = buildEmulator(loaded.topology);
    emu.engine.attachEdge(emu.findPort('c1', TAP)!, { emit: () => {} }); // the VM holds its TAP: carrier
    const kernel = (args: string[]) => spawnSync('ip', ['netns', 'exec', ns, 'bridge', ...args], { encoding: 'utf8' });
    // Both monitors hear every change the commands make.
    mon = spawn('ip', ['netns', 'exec', ns, 'bridge', 'monitor', 'fdb'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let theirMon = '', myMon = '';
    mon.stdout!.setEncoding('utf8').on('data', (d: string) => (theirMon += d));
    await new Promise((r) => setTimeout(r, 300));
    startMonitor('bridge', { emu }, ['c1', 'monitor', 'fdb'], { defer: (fn) => fn() }, (ls) => (myMon += ls.map((l) => l.text + '\n').join('')));
    const show = ['fdb', 'show', 'br', BR];
    assert.equal((await qbrBridge(emu, show)).stdout, kernel(show).stdout, 'before');
    for (const step of STEPS) {
      const args = ['fdb', ...step];
      const mine = await qbrBridge(emu, args), theirs = kernel(args);
      assert.deepEqual({ out: mine.stdout, err: mine.stderr, exit: mine.exit }, { out: theirs.stdout, err: theirs.stderr, exit: theirs.status }, `bridge ${args.join(' ')}`);
      assert.equal((await qbrBridge(emu, show)).stdout, kernel(show).stdout, `fdb show after bridge ${args.join(' ')}`);
    }
    await new Promise((r) => setTimeout(r, 300));
    mon.kill();
    assert.equal(myMon, theirMon, 'bridge monitor fdb');
  } finally {
    mon?.kill();
    objs.cleanup();
  }
});
