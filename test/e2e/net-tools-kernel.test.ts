// net-tools 2.10 (arp, route, ifconfig, netstat -r and -i) against the kernel: a kernel
// namespace and an emulated one built alike (a veth dpe-a with the kernel's
// MAC and addresses, the same routes and neighbours, each given as the same
// `ip` words to both), then the same words run in both must print the same
// text, on stdout and stderr, with the same exit status; arp -s and -d must
// leave the same neighbour table (as `ip neigh` and arp print it); ifconfig
// the same counters after the same frames. What the kernel orders by a
// hash keyed per boot or per namespace (the ARP table, /proc/net/if_inet6)
// is compared as a set.
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
import { runIfconfig } from '../../src/control/ifconfig-commands.js';
import { runNetstat } from '../../src/control/netstat-commands.js';
import { buildFrame } from '../../src/wire/frame.js';
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

let model: { el: NetNamespace; now: () => number; send: (f: Uint8Array) => void; macA: string; macB: string };

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
  sh('ip', ['-n', k1, 'link', 'set', 'lo', 'up']);
  const mac = /link\/ether (\S+)/.exec(sh('ip', ['-n', k1, 'link', 'show', 'dpe-a']))![1]!;
  const macB = /link\/ether (\S+)/.exec(sh('ip', ['-n', k2, 'link', 'show', 'dpe-b']))![1]!;
  const e = new Engine({ clock: new ManualClock(0) });
  const el = e.add(new NetNamespace('lab', k1));
  const b = e.add(new NetNamespace('lab', k2));
  // IPv6 off on dpemu's side too (no link-locals).
  for (const x of [el, b]) for (const k of ['all', 'default']) x.ns.setSysctl(`net.ipv6.conf.${k}.disable_ipv6`, 1);
  const pa = el.addInterface('dpe-a', { mac: parseMacNum(mac)!, addresses: [{ ip: parseIpv4('192.0.2.1')!, prefixLen: 24 }] });
  const pb = b.addInterface('dpe-b', { mac: parseMacNum(macB)!, addresses: [{ ip: parseIpv4('192.0.2.2')!, prefixLen: 24 }] });
  e.link(pa, pb, 'veth');
  for (const cmd of SETUP) {
    sh('ip', ['-n', k1, ...cmd.split(' ')]);
    runCommand(el.ns, cmd, e.now);
  }
  model = {
    el, now: () => e.now, macA: mac, macB,
    send: (f) => {
      e.output(e.pool.allocFrom(f)!, pb);
      e.run();
    },
  };
});

after(() => objs.cleanup());

type Out = { stdout: string; stderr: string; status: number | null };

/** A net-tools command in the kernel namespace, with no name server to reach (lab-names.ts NO_DNS), as dpemu takes an emulated namespace to be. */
function kernel(tool: string, args: string[], ns = k1): Out {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', NO_DNS.replace('iptables-legacy', tool), 'sh', ...args], { encoding: 'utf8', timeout: 20_000 });
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
  ['-x'], ['-i'], ['--nosuch'], ['--numeric=x'], ['--device=dpe-a', '-n'], ['-H', 'foo'], ['-H', 'loop'], ['-H', 'tunnel'], ['-A', 'inet6'], ['-A', 'foo'], ['-V'], ['-h'],
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
  ['-V'], ['-h'], ['-x'], ['--foo'], ['--protocol'], ['--numeric=x'], ['-A'], ['-A', 'foo'], ['foo'],
];

test("route prints table main as net-tools reads /proc/net/route in a kernel namespace with the same routes", () => {
  const diffs: string[] = [];
  for (const args of ROUTES) {
    const k = kernel('route', args);
    const r = runRoute(model.el.ns, args);
    const d = { stdout: r.stdout, stderr: r.stderr, status: r.exit };
    if (JSON.stringify(k) !== JSON.stringify(d)) diffs.push(`route ${args.join(' ')}\n  kernel: ${JSON.stringify(k)}\n  dpemu:  ${JSON.stringify(d)}`);
  }
  // netstat -r: the same table with netstat's widths.
  for (const args of [['-rn'], ['-r'], ['-rne'], ['-rnee'], ['--route', '--numeric'], ['-rC'], ['-rn', '-F'], ['-ri'], ['-V'], ['-h'], ['-y']]) {
    const k = kernel('netstat', args);
    const r = runNetstat(model.el, args);
    const d = { stdout: r.stdout, stderr: r.stderr, status: r.exit };
    if (JSON.stringify(k) !== JSON.stringify(d)) diffs.push(`netstat ${args.join(' ')}\n  kernel: ${JSON.stringify(k)}\n  dpemu:  ${JSON.stringify(d)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
  // What the test put there shows: the reject routes, a gateway route's metric, the MSS, window and irtt of -e.
  const n = kernel('route', ['-n']).stdout;
  assert.match(n, /\n198\.51\.100\.128 +- +255\.255\.255\.128 ! +0 +- +0 -\n/);
  assert.match(n, /\n198\.51\.100\.0 +192\.0\.2\.4 +255\.255\.255\.0 +UG +20 /);
  assert.match(kernel('route', ['-en']).stdout, /192\.0\.2\.0 +0\.0\.0\.0 +255\.255\.255\.128 U +1440 500 +100 dpe-a/);
});

/** Sends the hex frames given after the device name on an AF_PACKET socket bound to it. */
const SEND = 'import socket, sys\ns = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\ns.bind((sys.argv[1], 0))\nfor h in sys.argv[2:]: s.send(bytes.fromhex(h))';

test('ifconfig prints the devices, addresses and counters net-tools prints in a kernel namespace after the same frames', () => {
  const { macA, macB } = model;
  // Both ends know each other (PERMANENT): no ARP, whose timers would add frames while the test runs.
  sh('ip', ['-n', k1, 'neigh', 'replace', '192.0.2.2', 'lladdr', macB, 'dev', 'dpe-a', 'nud', 'permanent']);
  sh('ip', ['-n', k2, 'neigh', 'replace', '192.0.2.1', 'lladdr', macA, 'dev', 'dpe-b', 'nud', 'permanent']);
  runCommand(model.el.ns, `neigh replace 192.0.2.2 lladdr ${macB} dev dpe-a nud permanent`, model.now());
  // Three echo requests from k2, answered; a frame of an ethertype nobody takes (rx_dropped); the same into dpemu.
  sh('ip', ['netns', 'exec', k2, 'ping', '-n', '-q', '-c', '3', '-i', '0.2', '-W', '1', '192.0.2.1']);
  for (const seq of [1, 2, 3]) model.send(buildFrame({ src: macB, dst: macA, ip: { src: '192.0.2.2', dst: '192.0.2.1' }, icmp: { id: 1, seq, data: 56 } }));
  const odd = buildFrame({ src: macB, dst: macA, ethertype: 0x88b5, payload: [1, 2, 3, 4], padTo: 60 });
  sh('ip', ['netns', 'exec', k2, 'python3', '-c', SEND, 'dpe-b', Buffer.from(odd).toString('hex')]);
  model.send(odd);
  const diffs: string[] = [];
  const runs: [string, string[]][] = [[], ['-a'], ['dpe-a'], ['-v', 'dpe-a'], ['lo'], ['-a', 'lo'], ['nosuch'], ['-x'], ['-h'], ['--help'], ['-V'], ['-s'], ['-a', '-s'], ['-s', 'dpe-a']]
    .map((a): [string, string[]] => ['ifconfig', a]).concat([['-i'], ['-in'], ['-ia'], ['-ie'], ['--interfaces', '--all']].map((a): [string, string[]] => ['netstat', a]));
  for (const [tool, args] of runs) {
    const k = kernel(tool, args);
    const r = tool === 'ifconfig' ? runIfconfig(model.el, args) : runNetstat(model.el, args);
    const d = { stdout: r.stdout, stderr: r.stderr, status: r.exit };
    if (JSON.stringify(k) !== JSON.stringify(d)) diffs.push(`${tool} ${args.join(' ')}\n  kernel: ${JSON.stringify(k)}\n  dpemu:  ${JSON.stringify(d)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
  assert.match(kernel('ifconfig', ['dpe-a']).stdout, /RX packets 4  bytes 354 \(354\.0 B\)\n +RX errors 0  dropped 1 /, 'the kernel counted what the test sent');
});

test('ifconfig prints the IPv6 addresses with their prefix length and scope as net-tools reads /proc/net/if_inet6', () => {
  // IPv6 on, no DAD (dpemu runs none), and none of the kernel's own IPv6 output (router solicitations, MLD) leaves.
  const k3 = objs.addNetns(`dpe-${tag}-n3`);
  sh('ip', ['netns', 'exec', k3, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
  sh('ip', ['netns', 'exec', k3, 'ip6tables', '-w', '-A', 'OUTPUT', '-j', 'DROP']);
  objs.veth(`dpe${tag}y`, k3, 'dpe-c', k2, 'dpe-d');
  for (const cmd of ['link set lo up', 'addr add 192.0.2.33/28 brd + dev dpe-c', 'addr add 2001:db8:5::1/64 dev dpe-c', 'addr add 2001:db8:6::1/128 dev dpe-c']) sh('ip', ['-n', k3, ...cmd.split(' ')]);
  const mac = /link\/ether (\S+)/.exec(sh('ip', ['-n', k3, 'link', 'show', 'dpe-c']))![1]!;
  const e = new Engine({ clock: new ManualClock(0) });
  const el = e.add(new NetNamespace('lab', k3));
  el.addInterface('dpe-c', { mac: parseMacNum(mac)!, addresses: [{ ip: parseIpv4('192.0.2.33')!, prefixLen: 28 }] });
  for (const cmd of ['addr add 2001:db8:5::1/64 dev dpe-c', 'addr add 2001:db8:6::1/128 dev dpe-c']) runCommand(el.ns, `-6 ${cmd}`, e.now);
  // /proc/net/if_inet6 lists the addresses in the order of a hash keyed per namespace: each device's inet6 lines are compared as a set.
  const inet6Sorted = (t: string) => t.replace(/(?:        inet6 .*\n)+/g, (m) => m.split('\n').filter((l) => l).sort().map((l) => `${l}\n`).join(''));
  const diffs: string[] = [];
  for (const args of [['-a'], ['dpe-c'], ['lo']]) {
    const k = kernel('ifconfig', args, k3);
    const r = runIfconfig(el, args);
    const kt = { ...k, stdout: inet6Sorted(k.stdout) }, dt = { stdout: inet6Sorted(r.stdout), stderr: r.stderr, status: r.exit };
    if (JSON.stringify(kt) !== JSON.stringify(dt)) diffs.push(`ifconfig ${args.join(' ')}\n  kernel: ${JSON.stringify(kt)}\n  dpemu:  ${JSON.stringify(dt)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
  const c = kernel('ifconfig', ['dpe-c'], k3).stdout;
  assert.match(c, /inet6 fe80::\S+  prefixlen 64  scopeid 0x20<link>\n/);
  assert.match(c, /inet6 2001:db8:6::1  prefixlen 128  scopeid 0x0<global>\n/);
});
