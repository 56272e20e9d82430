// `dpemu bridge vlan|mdb ...` (src/control/bridge-vlan-mdb.ts) against
// iproute2's bridge on the kernel's: a qbr of the shape os-vif makes
// (stp off, mcast_snooping 0, a veth pair qvb/qvo and a TAP as ports) in a
// kernel namespace beside the emulated node's root view, and a namespace
// with no bridge beside an emulated router namespace. Every form must give
// the same stdout, stderr and exit status: the headers with no VLAN under
// them, the refused RTM_GETVLAN dumps of -d and `vlan global`, the empty
// mdb, the argument errors. The kernel is this host's, built (as dpemu's
// views are) without bridge VLAN filtering: the test says so and stops
// where it is built with it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { requireRoot } from '../helpers/root.js';
import { loadTopologyText } from '../../src/topology/loader.js';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { COMMANDS } from '../../src/control/registry.js';
import { ControlError } from '../../src/control/protocol.js';
import { qbrTopology } from './qbr-topology.js';
import { KernelObjects, runApart, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const BR = 'qbr-a', QVB = 'qvb-a', QVO = 'qvo-a', TAP = 'tap-a', QR = 'qr-a', QROUTER = 'qrouter-a';

const TOPOLOGY = qbrTopology({
  name: 'dpe-bridge-vlan', tag, br: BR, qvb: QVB, qvo: QVO, tap: TAP,
  more: `          ${QR}: { ofport: 2, type: internal }
    namespaces:
      ${QROUTER}:
        interfaces:
          ${QR}: { mac: 02:00:5e:00:53:21, addresses: [192.0.2.1/24] }
`,
});

const objs = new KernelObjects();
let emu: Emulator;
/** The kernel's qbr namespace, and its namespace with no bridge. */
let kbr = '', kplain = '';

before(() => {
  requireRoot('the bridge vlan/mdb kernel comparison');
  const loaded = loadTopologyText(TOPOLOGY, 'bridge-vlan.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  emu = buildEmulator(loaded.topology);
  kbr = objs.addNetns(`dpe-${tag}-bv`);
  const ip = (ns: string, ...a: string[]): string => sh('ip', ['-n', ns, ...a]);
  ip(kbr, 'link', 'add', BR, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0', 'mcast_snooping', '0');
  ip(kbr, 'link', 'add', QVB, 'type', 'veth', 'peer', 'name', QVO);
  ip(kbr, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap');
  for (const d of [QVB, TAP]) ip(kbr, 'link', 'set', d, 'master', BR);
  for (const d of [QVO, QVB, TAP, BR]) ip(kbr, 'link', 'set', d, 'up');
  kplain = objs.addNetns(`dpe-${tag}-bn`);
  ip(kplain, 'link', 'add', QR, 'type', 'veth', 'peer', 'name', `${QR}-p`);
  ip(kplain, 'link', 'set', QR, 'up');
});

after(() => objs.cleanup());

/** Whether this host's kernel has bridge VLAN filtering (then its bridges hold VLAN 1 and the comparison does not apply). */
function kernelFilters(): boolean {
  if (!existsSync('/proc/config.gz')) return sh('ip', ['-n', kbr, '-d', 'link', 'show', BR]).includes('vlan_default_pvid');
  return /^CONFIG_BRIDGE_VLAN_FILTERING=y$/m.test(gunzipSync(readFileSync('/proc/config.gz')).toString());
}

interface Out { stdout: string; stderr: string; exit: number }

async function dpemu(argv: string[]): Promise<Out> {
  try {
    const r = await COMMANDS.get('bridge')!.run({ emu, invalidate: () => {} }, argv);
    return { stdout: r.stdout, stderr: r.stderr, exit: r.exit };
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    return { stdout: '', stderr: e.stderr, exit: e.exit };
  }
}

async function kernel(ns: string, argv: string[]): Promise<Out> {
  const r = await runApart('ip', ['netns', 'exec', ns, 'bridge', ...argv]);
  return { stdout: r.out, stderr: r.err, exit: r.status ?? -1 };
}

/** The forms both sides take, on any view: their answers hold no device of the view. */
const FORMS = [
  ['vlan'], ['vlan', 'show'], ['vlan', 'lst'], ['vlan', 's', 'vid', '1'], ['vlan', 'show', 'foo'], ['vlan', 'show', 'dev', 'lo'], ['vlan', 'show', 'dev', 'nope'],
  ['vlan', 'show', 'dev'], ['vlan', 'show', 'vid', '1', 'vid', '2'], ['vlan', 'show', 'vid', 'x', 'vid', '2'], ['vlan', 'show', 'dev', 'lo', 'dev', 'lo'],
  ['-j', 'vlan', 'show'], ['-j', '-p', 'vlan', 'show'], ['-s', 'vlan', 'show'], ['-s', '-j', 'vlan', 'show'], ['-s', '-j', '-p', 'vlan'], ['-c', 'vlan', 'show'],
  ['-d', 'vlan', 'show'], ['-d', '-j', 'vlan', 'show'], ['-d', '-j', '-p', 'vlan', 'show'], ['-s', '-d', 'vlan', 'show'], ['-d', 'vlan', 'show', 'dev', 'nope'],
  ['vlan', 'tunnelshow'], ['-d', 'vlan', 'tunnelshow'], ['-s', 'vlan', 'tunnelshow'], ['-j', 'vlan', 'tunnelshow'], ['vlan', 'tunnelshow', 'dev', 'nope'],
  ['vlan', 'global'], ['vlan', 'global', 'show'], ['-j', 'vlan', 'global', 'show'], ['-j', '-p', 'vlan', 'global'], ['vlan', 'global', 'show', 'dev', 'nope'],
  ['vlan', 'global', 'foo'], ['vlan', 'help'], ['vlan', 'foo'],
  ['mdb'], ['mdb', 'show'], ['mdb', 'list', 'vid', '1'], ['-j', 'mdb', 'show'], ['-j', '-p', 'mdb', 'show'], ['-s', '-d', 'mdb', 'show'], ['-s', '-j', 'mdb'],
  ['mdb', 'show', 'dev', 'nope'], ['mdb', 'show', 'dev'], ['mdb', 'show', 'dev', 'lo', 'dev', 'lo'], ['mdb', 'help'], ['mdb', 'foo'], ['mdb', 'get', 'dev', 'lo'], ['mdb', 'flush'],
];

test('bridge vlan and mdb on a qbr and in a namespace with no bridge print what the kernel prints: no VLAN, refused VLAN dumps, no group', async (t) => {
  if (kernelFilters()) {
    t.skip('this kernel has bridge VLAN filtering: its bridges hold VLAN 1; dpemu stands for a kernel without');
    return;
  }
  const root = [...FORMS,
    ...[BR, QVB, QVO, TAP].flatMap((d) => [['vlan', 'show', 'dev', d], ['-j', 'vlan', 'show', 'dev', d], ['-s', 'vlan', 'show', 'dev', d], ['vlan', 'tunnelshow', 'dev', d], ['mdb', 'show', 'dev', d], ['-j', 'mdb', 'show', 'dev', d]]),
    ['-j', '-p', 'vlan', 'show', 'dev', BR, 'vid', '1'], ['vlan', 'global', 'show', 'dev', BR]];
  for (const args of root) assert.deepEqual(await dpemu(['c1', ...args]), await kernel(kbr, args), `bridge ${args.join(' ')} (root view)`);
  const plain = [...FORMS, ['vlan', 'show', 'dev', QR], ['-j', 'mdb', 'show', 'dev', QR], ['-d', 'vlan', 'show', 'dev', QR]];
  for (const args of plain) assert.deepEqual(await dpemu(['-n', QROUTER, 'c1', ...args]), await kernel(kplain, args), `bridge ${args.join(' ')} (namespace)`);
});

test('bridge vlan add|del|set, vlan global set and mdb add|del are refused in dpemu\'s words', async () => {
  for (const args of [['vlan', 'add', 'vid', '5', 'dev', QVB], ['vlan', 'del', 'vid', '1', 'dev', QVB], ['vlan', 'set', 'vid', '1', 'dev', QVB, 'state', '3'], ['vlan', 'global', 'set', 'vid', '1', 'dev', BR],
    ['mdb', 'add', 'dev', BR, 'port', QVB, 'grp', '239.1.1.1'], ['mdb', 'del', 'dev', BR, 'port', QVB, 'grp', '239.1.1.1']]) {
    const r = await dpemu(['c1', ...args]);
    assert.equal(r.exit, 255, args.join(' '));
    assert.match(r.stderr, /^Error: 'bridge (vlan|vlan global|mdb) (add|del|set)' is refused: dpemu's Linux bridges have (no VLANs|multicast snooping off)/, args.join(' '));
  }
});
