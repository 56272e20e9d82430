// ip neigh add without lladdr against the kernel: arp_constructor gives an
// entry on the loopback the key 0.0.0.0 (any address added there names that
// one entry, found again by `add` without EEXIST) and lo's own address; on a
// veth a broadcast or multicast address is NOARP with its link-layer
// address, a unicast one is refused (left in state NONE). Each command's
// stderr and status, and `ip neigh show nud all` after it (sorted: the
// kernel lists its hash's order), must be the same in a kernel namespace
// and an emulated one built alike.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requireRoot } from '../helpers/root.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { RtnlError } from '../../src/netns/errors.js';
import { netnsPair } from './netns-pair.js';
import { KernelObjects, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const k1 = `dpe-${tag}-n1`;
const k2 = `dpe-${tag}-n2`;
const objs = new KernelObjects();
let el: NetNamespace;
let now: () => number;

before(() => {
  requireRoot('ip neigh add without lladdr against the kernel');
  const pair = netnsPair(objs, `dpe${tag}n`, [k1, k2], ['dpe-g', 'dpe-h'], '10.0.0.1/30', true);
  el = pair.el;
  now = () => pair.engine.now;
});

after(() => objs.cleanup());

const LINES = [
  'link set lo up',
  'neigh add 192.0.2.5 dev lo', 'neigh add 192.0.2.6 dev lo', 'neigh add 192.0.2.6 dev lo', 'neigh replace 192.0.2.7 dev lo nud reachable',
  'neigh change 192.0.2.6 dev lo nud stale', 'neigh del 192.0.2.5 dev lo', 'neigh add 192.0.2.8 dev lo lladdr 02:00:00:00:00:01',
  'neigh del 0.0.0.0 dev lo', 'neigh add 0.0.0.0 dev lo nud noarp',
  'neigh add 10.0.0.3 dev dpe-g', 'neigh add 224.0.0.5 dev dpe-g', 'neigh add 10.0.0.2 dev dpe-g', 'neigh add 10.0.0.3 dev dpe-g',
  'neigh replace 10.0.0.3 dev dpe-g nud stale',
];

type Out = { stderr: string; status: number | null };

function kernel(line: string): Out {
  const r = spawnSync('ip', ['-n', k1, ...line.split(' ')], { encoding: 'utf8', timeout: 20_000 });
  return { stderr: r.stderr, status: r.status };
}
function dpemu(line: string): Out {
  try {
    runCommand(el.ns, line, now());
    return { stderr: '', status: 0 };
  } catch (e) {
    if (!(e instanceof RtnlError)) throw e;
    return { stderr: `${e.message}\n`, status: e.exit };
  }
}
const sorted = (t: string) => t.split('\n').filter((l) => l !== '').sort().join('\n');

test('ip neigh add without lladdr: lo keys its entry 0.0.0.0, broadcast and multicast addresses are NOARP, as in the kernel', () => {
  const diffs: string[] = [];
  for (const line of LINES) {
    const k = kernel(line), d = dpemu(line);
    if (JSON.stringify(k) !== JSON.stringify(d)) diffs.push(`ip ${line}\n  kernel: ${JSON.stringify(k)}\n  dpemu:  ${JSON.stringify(d)}`);
    const kn = sorted(sh('ip', ['-n', k1, 'neigh', 'show', 'nud', 'all'])), dn = sorted(runCommand(el.ns, 'neigh show nud all', now()));
    if (kn !== dn) diffs.push(`ip neigh show nud all after ip ${line}\n  kernel: ${JSON.stringify(kn)}\n  dpemu:  ${JSON.stringify(dn)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
  assert.match(sh('ip', ['-n', k1, 'neigh', 'show', 'dev', 'lo', 'nud', 'all']), /^0\.0\.0\.0 lladdr 00:00:00:00:00:00 NOARP/);
});
