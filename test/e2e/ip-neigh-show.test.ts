// `ip neigh show` and its filters against the real kernel: one namespace in
// the kernel and one in dpemu's model get the same links, address and
// neighbours in each state a user can set, then both list them with the same
// filters (dev, repeated nud, to PREFIX, a bare address) and must print the
// same lines, or both refuse the words.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { Netns } from '../../src/netns/netns.js';
import { runCommand, runCommands } from '../../src/netns/ip-text.js';
import { KernelObjects, sh, tryRun, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const ns = `dpe-${tag}-nd`;
const objs = new KernelObjects();
const DEVS = ['dpe-a', 'dpe-b'];
const SETUP = `ip addr add 10.0.0.1/24 dev dpe-a
ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev dpe-a nud permanent
ip neigh add 10.0.0.3 lladdr 02:00:00:00:00:03 dev dpe-a nud stale
ip neigh add 10.0.0.4 lladdr 02:00:00:00:00:04 dev dpe-a nud noarp
ip neigh add 10.0.1.5 lladdr 02:00:00:00:00:05 dev dpe-a nud reachable
ip neigh add 10.0.0.9 dev dpe-b nud none`;

const SHOWS = [
  '',
  'nud permanent',
  'nud stale nud permanent',
  'nud all',
  'nud noarp',
  'nud none',
  'nud reachable nud none',
  '10.0.0.0/24',
  'to 10.0.0.3',
  '10.0.0.3',
  'dev dpe-a nud stale',
  'to 10.0.0.0/16 nud reachable',
  'dev dpe-b nud all',
  'nud bogus',
  'nud',
  'bogus',
];

const model = new Netns();
const sorted = (text: string): string => text.split('\n').sort().join('\n');

before(() => {
  requireRoot('ip neigh show against the kernel');
  objs.addNetns(ns);
  // No IPv6: its multicast entries (ff02::16 NOARP) would list in the kernel only.
  sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
  sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
  objs.veth(`dpe${tag}`, ns, DEVS[0]!, ns, DEVS[1]!);
  // The model's clock stands still: its REACHABLE entry stays so. An hour of reachable time keeps the kernel's
  // so too through the queries (a 15-45 s draw otherwise, which thirty ip starts on a loaded box can outlast).
  sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv4.neigh.${DEVS[0]}.base_reachable_time_ms=3600000`]);
  DEVS.forEach((d, i) => model.addLink({ name: d, kind: 'ether', mac: i + 1, up: true }));
  for (const line of SETUP.split('\n')) sh('ip', ['-n', ns, ...line.split(' ').slice(1)]);
  runCommands(model, SETUP);
});

after(() => objs.cleanup());

test('ip neigh show lists what the kernel lists, filter by filter', () => {
  const diffs: string[] = [];
  for (const q of SHOWS) {
    const k = tryRun('ip', ['-n', ns, 'neigh', 'show', ...q.split(' ').filter(Boolean)]);
    let ours: string;
    let failed = false;
    try {
      ours = runCommand(model, `ip neigh show ${q}`);
    } catch (e) {
      ours = `${(e as Error).message}\n`;
      failed = true;
    }
    // A refusal's wording is dpemu's own (file, line and column); that both refuse is what must agree.
    // The kernel lists in the order of its neighbour hash (seeded at random per table): the lines as a set.
    const same = k.status === 0 ? !failed && sorted(ours) === sorted(k.out) : failed;
    if (!same) diffs.push(`ip neigh show ${q}\n  kernel: ${k.status} ${JSON.stringify(k.out)}\n  dpemu:  ${JSON.stringify(ours)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
});

test('nothing of ours is left in the kernel', () => {
  objs.cleanup();
  assert.deepEqual(KernelObjects.leftovers(tag), []);
});
