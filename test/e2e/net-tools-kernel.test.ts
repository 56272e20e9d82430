// net-tools 2.10 (arp) against the kernel: a kernel namespace and an emulated
// one built alike (a veth dpe-a with the kernel's MAC and addresses, the
// same routes and neighbours, each given as the same `ip` words to both),
// then the same arp words run in both must print the same text, on stdout
// and stderr, with the same exit status; arp -s and -d must leave the same
// neighbour table (as `ip neigh` and arp print it). The kernel lists its
// ARP table in the order of a hash keyed per boot: those listings are
// compared as their title line and the set of the others.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requireRoot } from '../helpers/root.js';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { parseIpv4, parseMacNum } from '../../src/wire/addr.js';
import { runArp } from '../../src/control/arp-commands.js';
import { runRoute } from '../../src/control/route-commands.js';
import { KernelObjects, NO_DNS, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const k1 = `dpe-${tag}-n1`;
const k2 = `dpe-${tag}-n2`;
const objs = new KernelObjects();

/** What both namespaces get besides dpe-a's first address, as `ip` words. */
const SETUP = [
  'addr add 198.51.100.1/32 dev dpe-a',
  'route add default via 192.0.2.254',
  'route add 203.0.113.0/25 via 192.0.2.2 metric 5',
  'route add 203.0.113.128/32 dev dpe-a',
  'route add 192.0.2.0/25 dev dpe-a advmss 1400 window 500 rtt 100ms',
  'route add 198.51.100.0/24 via 192.0.2.3 metric 10',
  'route add 198.51.100.0/24 via 192.0.2.4 metric 20',
  'route add blackhole 198.51.100.64/26',
  'route add unreachable 198.51.100.128/25',
  'route add prohibit 203.0.113.192/26 metric 7',
  'route add broadcast 192.0.2.200 dev dpe-a',
  'neigh add 192.0.2.9 lladdr 02:00:00:00:00:09 dev dpe-a nud permanent',
  'neigh add 192.0.2.10 lladdr 02:00:00:00:00:0a dev dpe-a nud reachable',
  'neigh add 192.0.2.12 lladdr 02:00:00:00:00:0c dev dpe-a nud stale',
  'neigh add 192.0.2.13 dev dpe-a nud failed',
  'neigh add 192.0.2.14 lladdr 02:00:00:00:00:0e dev dpe-a nud noarp',
  'neigh add proxy 192.0.2.77 dev dpe-a',
];

let model: { el: NetNamespace; now: () => number };

before(() => {
  requireRoot('net-tools against the kernel');
  for (const ns of [k1, k2]) {
    objs.addNetns(ns);
    // No IPv6: its router solicitations and MLD reports would add neighbours and frames the test does not make.
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  objs.veth(`dpe${tag}`, k1, 'dpe-a', k2, 'dpe-b');
  // REACHABLE stays so while the test runs (dpemu's clock does not move).
  sh('ip', ['netns', 'exec', k1, 'sysctl', '-qw', 'net.ipv4.neigh.dpe-a.base_reachable_time_ms=3600000']);
  sh('ip', ['-n', k1, 'addr', 'add', '192.0.2.1/24', 'brd', '+', 'dev', 'dpe-a']);
  sh('ip', ['-n', k2, 'addr', 'add', '192.0.2.2/24', 'dev', 'dpe-b']);
  const mac = /link\/ether (\S+)/.exec(sh('ip', ['-n', k1, 'link', 'show', 'dpe-a']))![1]!;
  const e = new Engine({ clock: new ManualClock(0) });
  const el = e.add(new NetNamespace('lab', k1));
  const b = e.add(new NetNamespace('lab', k2));
  const pa = el.addInterface('dpe-a', { mac: parseMacNum(mac)!, addresses: [{ ip: parseIpv4('192.0.2.1')!, prefixLen: 24 }] });
  const pb = b.addInterface('dpe-b', { addresses: [{ ip: parseIpv4('192.0.2.2')!, prefixLen: 24 }] });
  e.link(pa, pb, 'veth');
  for (const cmd of SETUP) {
    sh('ip', ['-n', k1, ...cmd.split(' ')]);
    runCommand(el.ns, cmd, e.now);
  }
  model = { el, now: () => e.now };
});

after(() => objs.cleanup());

type Out = { stdout: string; stderr: string; status: number | null };

/** A net-tools command in the kernel namespace, with no name server to reach (lab-names.ts NO_DNS), as dpemu takes an emulated namespace to be. */
function kernel(tool: string, args: string[]): Out {
  const r = spawnSync('ip', ['netns', 'exec', k1, 'sh', '-c', NO_DNS.replace('iptables-legacy', tool), 'sh', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}
const kernelArp = (args: string[]) => kernel('arp', args);
function dpemuArp(args: string[]): Out {
  const r = runArp(model.el, args);
  return { stdout: r.stdout, stderr: r.stderr, status: r.exit };
}
/** A listing as its title line (-a has none) and the others sorted. */
const unordered = (o: Out): Out => {
  const lines = o.stdout.split('\n').filter((l) => l);
  const title = lines[0]?.startsWith('Address ') ? lines.splice(0, 1) : [];
  return { ...o, stdout: [...title, ...lines.sort()].join('\n') };
};
const neighs = (t: string) => t.split('\n').filter((l) => l).sort().join('\n');

const SHOWS = [
  [], ['-n'], ['-a'], ['-an'], ['-e'], ['-n', '-e'], ['-a', '-e', '-n'], ['-n', '-i', 'dpe-a'], ['--numeric', '--device', 'dpe-a'], ['-n', '-i', 'nosuch'], ['-ani', 'nosuch'],
  ['-n', '192.0.2.9'], ['-an', '192.0.2.9'], ['-n', '192.0.2.13'], ['-n', '192.0.2.14'], ['-n', '192.0.2.77'], ['-n', '192.0.2.99'], ['-a', '192.0.2.99'], ['-n', '-i', 'dpe-a', '192.0.2.12'],
  ['-n', '-H', 'ether'], ['-n', '-H', 'ax25'], ['-nv'], ['-N', '-n'],
  // Refusals: getopt's, the hardware types and families net-tools knows and does not take here.
  ['-x'], ['-i'], ['--nosuch'], ['-H', 'foo'], ['-H', 'loop'], ['-H', 'tunnel'], ['-A', 'inet6'], ['-A', 'foo'], ['-V'], ['-h'],
];

test('arp lists the ARP table as net-tools does in a kernel namespace with the same neighbours', () => {
  const diffs: string[] = [];
  for (const args of SHOWS) {
    const k = unordered(kernelArp(args)), d = unordered(dpemuArp(args));
    if (JSON.stringify(k) !== JSON.stringify(d)) diffs.push(`arp ${args.join(' ')}\n  kernel: ${JSON.stringify(k)}\n  dpemu:  ${JSON.stringify(d)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
  // The listing shows what the test put there: a permanent entry, the failed one as incomplete, the proxy one.
  const n = kernelArp(['-n']).stdout;
  assert.match(n, /192\.0\.2\.9 +ether +02:00:00:00:00:09 +CM +dpe-a/);
  assert.match(n, /192\.0\.2\.13 +\(incomplete\) +dpe-a/);
  assert.match(n, /192\.0\.2\.77 +\* +<from_interface> +MP +dpe-a/);
});

/** arp's writes, each run on both sides in turn; then each side's table. */
const WRITES = [
  ['-s', '192.0.2.50', '02:00:00:00:00:50'], ['-s', '192.0.2.51', '2:0:0:0:0:51', 'temp'], ['-s', '192.0.2.60', '02:00:00:00:00:60', 'temp'], ['-i', 'dpe-a', '-s', '192.0.2.52', '02:00:00:00:00:52'],
  ['-s', '192.0.2.9', '02:00:00:00:00:99'], ['-s', '192.0.2.10', '02:00:00:00:00:98'], ['-s', '192.0.2.53', '02:00:00:00:00:53', 'dev', 'dpe-a'],
  ['-Ds', '192.0.2.54', 'dpe-a'],
  ['-s', '203.0.113.200', '02:00:00:00:00:53'], ['-s', '198.18.0.1', '02:00:00:00:00:54'], ['-s', '192.0.2.55', 'zz'], ['-s', '192.0.2.56'], ['-s'],
  ['-s', '192.0.2.57', '02:00:00:00:00:57', 'dev', 'nosuch'], ['-s', '192.0.2.1', '02:00:00:00:00:01'], ['-s', '192.0.2.58', '02:00:00:00:00:58', 'bogus'],
  ['-Ds', '192.0.2.59', 'nosuch'],
  ['-d', '192.0.2.50'], ['-d', '192.0.2.50'], ['-d', '192.0.2.13'], ['-d', '192.0.2.10'], ['-d', '192.0.2.99'], ['-d', '198.18.0.1'], ['-i', 'nosuch', '-d', '192.0.2.12'], ['-d'],
  ['-d', '192.0.2.14'], ['-d', '192.0.2.1'], ['-i', 'dpe-a', '-d', '192.0.2.77'], ['-d', '192.0.2.51', 'dev', 'dpe-a'],
];

test('arp -s and -d change the table as SIOCSARP and SIOCDARP do in the kernel', () => {
  const diffs: string[] = [];
  for (const args of WRITES) {
    const k = kernelArp(args), d = dpemuArp(args);
    if (JSON.stringify(k) !== JSON.stringify(d)) diffs.push(`arp ${args.join(' ')}\n  kernel: ${JSON.stringify(k)}\n  dpemu:  ${JSON.stringify(d)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
  for (const show of ['neigh show nud all', 'neigh show proxy']) {
    assert.equal(neighs(runCommand(model.el.ns, show, model.now())), neighs(sh('ip', ['-n', k1, ...show.split(' ')])), `ip ${show}`);
  }
  assert.deepEqual(unordered(dpemuArp(['-n'])), unordered(kernelArp(['-n'])), 'arp -n after the writes');
  assert.match(sh('ip', ['-n', k1, 'neigh', 'show', '192.0.2.52']), /lladdr 02:00:00:00:00:52 PERMANENT/, 'arp -s: a PERMANENT entry');
});

const ROUTES = [
  [], ['-n'], ['-e'], ['-ee'], ['-n', '-ee'], ['-en'], ['-e', '-e', '-e', '-n'], ['-eeee', '-n'], ['-Ceee'], ['--numeric', '--extend'], ['-4', '-n'], ['--inet', '-n'], ['-A', 'inet', '-n'], ['-v', '-n'], ['-N', '-n'], ['-F', '-n'],
  ['-C'], ['-Cn'], ['-C', '-e'], ['-C', '-ee'], ['-F', '-C', '-n'],
  ['-V'], ['-h'], ['-x'], ['--foo'], ['--protocol'], ['-A'], ['-A', 'foo'], ['foo'],
];

test("route prints table main as net-tools reads /proc/net/route in a kernel namespace with the same routes", () => {
  const diffs: string[] = [];
  for (const args of ROUTES) {
    const k = kernel('route', args);
    const r = runRoute(model.el.ns, args);
    const d = { stdout: r.stdout, stderr: r.stderr, status: r.exit };
    if (JSON.stringify(k) !== JSON.stringify(d)) diffs.push(`route ${args.join(' ')}\n  kernel: ${JSON.stringify(k)}\n  dpemu:  ${JSON.stringify(d)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
  // What the test put there shows: the reject routes, a gateway route's metric, the MSS, window and irtt of -e.
  const n = kernel('route', ['-n']).stdout;
  assert.match(n, /\n198\.51\.100\.128 +- +255\.255\.255\.128 ! +0 +- +0 -\n/);
  assert.match(n, /\n198\.51\.100\.0 +192\.0\.2\.4 +255\.255\.255\.0 +UG +20 /);
  assert.match(kernel('route', ['-en']).stdout, /192\.0\.2\.0 +0\.0\.0\.0 +255\.255\.255\.128 U +1440 500 +100 dpe-a/);
});
