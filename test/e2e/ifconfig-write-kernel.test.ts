// ifconfig's writes (net-tools 2.10) against the kernel: a kernel namespace
// and an emulated one built alike (a veth dpe-g with 192.0.2.1/24 and an
// alias address 192.0.2.9/24 labelled dpe-g:1, lo up, no IPv6 until the
// address test turns it on for dpe-g), then the same words run in both, in
// turn, must print the same on stdout and stderr with the same exit status,
// and leave the same `ifconfig dpe-g`, addresses and `ip route` (the
// address test: the local table and IPv6's too) after each.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requireRoot } from '../helpers/root.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { runIfconfig } from '../../src/control/ifconfig-commands.js';
import { netnsPair } from './netns-pair.js';
import { KernelObjects, NO_DNS, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const k1 = `dpe-${tag}-i1`;
const k2 = `dpe-${tag}-i2`;
const objs = new KernelObjects();
let el: NetNamespace;
let now: () => number;

before(() => {
  requireRoot('ifconfig writes against the kernel');
  const pair = netnsPair(objs, `dpe${tag}i`, [k1, k2], ['dpe-g', 'dpe-h'], '192.0.2.1/24', true);
  el = pair.el;
  const e = pair.engine;
  const alias = 'addr add 192.0.2.9/24 brd + label dpe-g:1 dev dpe-g';
  sh('ip', ['-n', k1, ...alias.split(' ')]);
  runCommand(el.ns, alias, e.now);
  now = () => e.now;
});

after(() => objs.cleanup());

type Out = { stdout: string; stderr: string; status: number | null };

function kernel(args: string[]): Out {
  const r = spawnSync('ip', ['netns', 'exec', k1, 'sh', '-c', NO_DNS.replace('iptables-legacy', 'ifconfig'), 'sh', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}
function dpemu(args: string[]): Out {
  const r = runIfconfig(el, args);
  return { stdout: r.stdout, stderr: r.stderr, status: r.exit };
}

const WRITES = [
  'dpe-g down', 'dpe-g', 'dpe-g up', 'dpe-g inet down', 'dpe-g up down', 'dpe-g down up', '-v dpe-g up',
  'dpe-g mtu 1400', 'dpe-g mtu 68', 'dpe-g mtu 67', 'dpe-g mtu 70000', 'dpe-g mtu x', 'dpe-g mtu 1500 up', 'dpe-g mtu 0x500', 'dpe-g mtu', 'dpe-g down mtu',
  'dpe-g up', 'nosuch up', 'nosuch mtu 1400', 'nosuch up mtu 1400', 'nosuch mtu 1400 down', 'dpe-g mtu 10 up', 'dpe-g mtu 1500',
  'dpe-g:1 up', 'dpe-g:2 down', 'dpe-g:2 inet6 up', 'dpe-g:2 inet6 down', 'dpe-g:2 mtu 1450', 'dpe-g:1 down', 'dpe-g:1 down', 'dpe-g:1 mtu 1500',
  // SIOCSIFHWADDR: the neighbours go with the old address (a PERMANENT one too), not the proxy entries.
  'ip neigh add 192.0.2.7 lladdr 02:00:00:00:00:07 dev dpe-g', 'ip neigh add 192.0.2.8 lladdr 02:00:00:00:00:08 dev dpe-g nud stale', 'ip neigh add proxy 192.0.2.10 dev dpe-g',
  'dpe-g hw ether 02:00:00:00:00:05', 'lo hw ether 02:00:00:00:00:05', 'dpe-g hw ether 00:00:00:00:00:00', 'dpe-g hw ether 03:00:00:00:00:05',
  'nosuch hw ether 02:00:00:00:00:05', 'dpe-g hw ether zz', 'dpe-g hw ether 02:00', 'ip neigh add 192.0.2.7 lladdr 02:00:00:00:00:07 dev dpe-g',
  'dpe-g:1 hw ether 02:00:00:00:00:06 mtu 1400', 'dpe-g hw ether', 'dpe-g hw', 'dpe-g mtu 1450 hw foo 02:00:00:00:00:07', 'ip neigh add 192.0.2.7 lladdr 02:00:00:00:00:07 dev dpe-g',
  'dpe-g mtu 1500 hw ether 02:00:00:00:00:06',
];

/**
 * Not compared in ifconfig's listing with IPv6 on: the IPv6 addresses (the
 * kernel lists them in a hash's order: compared through ip instead) and
 * the counters (the kernel's MLD and DAD packets).
 */
const noInet6 = (o: Out): Out => ({ ...o, stdout: o.stdout.split('\n').filter((l) => !/^ {8}(inet6 |RX packets|TX packets)/.test(l)).join('\n') });
/** ip's lines that show: IPv4 addresses; with `v6`, global IPv6 ones (their flags aside: DAD runs its own course) and routes but link-local ones. */
function state(show: (cmd: string) => string, v6: boolean): string[] {
  const out = [
    show('addr show dev dpe-g').split('\n').filter((l) => l.startsWith('    inet ')).join('\n'),
    show('route show'),
    // The kernel lists neighbours in its hash's order.
    [...show('-4 neigh show nud all').split('\n'), ...show('neigh show proxy').split('\n')].filter((l) => l !== '').sort().join('\n'),
  ];
  if (!v6) return out;
  const a6 = show('-6 addr show dev dpe-g').split('\n').map((l) => /^ {4}inet6 (\S+) scope global/.exec(l)?.[1]).filter((x) => x !== undefined);
  const r6 = show('-6 route show').split('\n').filter((l) => l !== '' && !l.startsWith('fe80::'));
  return [...out, show('route show table local'), a6.sort().join(' '), r6.sort().join('\n')];
}
const STATE = ['ip addr', 'ip route', 'ip neigh', 'ip route show table local', 'ip -6 addr', 'ip -6 route'];

/**
 * Each line in turn in both namespaces: an ifconfig command (its stdout,
 * stderr and status, then the device and the state compared), or `ip ...`
 * run on both alike. Returns the differences.
 */
function compare(lines: readonly string[], v6: boolean): string[] {
  const diffs: string[] = [];
  for (const line of lines) {
    if (line.startsWith('ip ')) {
      sh('ip', ['-n', k1, ...line.slice(3).split(' ')]);
      runCommand(el.ns, line.slice(3), now());
      continue;
    }
    const args = line.split(' ');
    const k = kernel(args), d = dpemu(args);
    if (JSON.stringify(k) !== JSON.stringify(d)) diffs.push(`ifconfig ${line}\n  kernel: ${JSON.stringify(k)}\n  dpemu:  ${JSON.stringify(d)}`);
    // dpemu's ifconfig lists no alias devices (dpe-g:1): the device, and its addresses as ip shows them.
    const ka = kernel(['dpe-g']), da = dpemu(['dpe-g']);
    if (v6) [ka, da].forEach((o) => Object.assign(o, noInet6(o)));
    if (JSON.stringify(ka) !== JSON.stringify(da)) diffs.push(`ifconfig dpe-g after ifconfig ${line}\n  kernel: ${JSON.stringify(ka)}\n  dpemu:  ${JSON.stringify(da)}`);
    const ks = state((c) => sh('ip', ['-n', k1, ...c.split(' ')]), v6), ds = state((c) => runCommand(el.ns, c, now()), v6);
    ks.forEach((kx, j) => {
      if (kx !== ds[j]) diffs.push(`${STATE[j]} after ifconfig ${line}\n  kernel: ${JSON.stringify(kx)}\n  dpemu:  ${JSON.stringify(ds[j])}`);
    });
  }
  return diffs;
}

test('ifconfig DEV up, down, mtu and hw ether change the device as SIOCSIFFLAGS, SIOCSIFMTU and SIOCSIFHWADDR do in the kernel', () => {
  const diffs = compare(WRITES, false);
  assert.deepEqual(diffs, [], diffs.join('\n'));
  // The alias's address went with `dpe-g:1 down`; the device is up with its MTU back.
  assert.doesNotMatch(sh('ip', ['-n', k1, 'addr', 'show', 'dpe-g']), /192\.0\.2\.9/);
  assert.match(kernel(['dpe-g']).stdout, /^dpe-g: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n/);
});

// Addresses: SIOCSIFADDR (the classful mask, ADDR/PLEN's after the other
// words, the old address and the secondaries it held taken off, 0.0.0.0
// taking it away, an alias's own), SIOCSIFNETMASK, SIOCSIFBRDADDR, the
// flags after them, name lookups failing, and inet6 add|del.
const ADDRESSES = [
  'ip addr add 192.0.2.9/24 brd + label dpe-g:1 dev dpe-g',
  'dpe-g 192.0.2.1', 'dpe-g 198.51.100.7', 'ip addr add 192.0.2.9/24 brd + label dpe-g:1 dev dpe-g',
  'dpe-g 10.1.2.3', 'dpe-g 172.16.5.5', 'dpe-g 240.0.0.5', 'dpe-g 127.0.0.5', 'dpe-g 224.0.0.5', 'dpe-g 198.51.100.7/28', 'dpe-g 198.51.100.7/32',
  'dpe-g 192.0.2.1/24', 'dpe-g:1 192.0.2.9', 'dpe-g:5 198.51.100.9', 'dpe-g:5 198.51.100.10', 'dpe-g:1 192.0.2.1', 'dpe-g 0.0.0.0',
  'dpe-g 192.0.2.1 netmask 255.255.255.0', 'dpe-g foo', 'dpe-g 10.0.0.1/x', 'dpe-g inet 192.0.2.1/25',
  'dpe-g netmask 255.255.0.0', 'dpe-g netmask 255.0.255.0', 'dpe-g netmask foo', 'dpe-g netmask', 'dpe-g netmask 255.255.255.0 netmask 255.255.255.0',
  'dpe-g 198.51.100.1/24 netmask 255.0.0.0', 'dpe-g 192.0.2.1/24', 'dpe-g:5 netmask 255.255.255.128', 'dpe-g:7 netmask 255.255.255.128', 'nosuch netmask 255.255.255.0',
  'dpe-g broadcast 192.0.2.128', 'dpe-g broadcast', 'dpe-g broadcast up', 'dpe-g -broadcast', 'lo -broadcast', 'nosuch -broadcast',
  'dpe-g:5 broadcast 198.51.100.200', 'dpe-g:7 broadcast 198.51.100.200', 'dpe-g down', 'dpe-g:5 broadcast 198.51.100.201', 'dpe-g 192.0.2.1',
  'nosuch 192.0.2.1', '-v nosuch 192.0.2.1', 'dpe-g:5- 198.51.100.50', 'dpe-g:5- down', 'dpe-g mtu 1400 192.0.2.1/25 up mtu 1500',
  'dpe-g add 2001:db8::5/64', 'dpe-g add 2001:db8::5/64', 'dpe-g add 2001:db8::6', 'dpe-g add 2001:db8::7/129', 'dpe-g add 2001:db8::zz/64',
  'dpe-g add 2001:db8::8/x', 'dpe-g inet6 add 2001:db8::9/64', 'nosuch add 2001:db8::9/64', 'dpe-g del 2001:db8::5/64', 'dpe-g del 2001:db8::5/64',
  'dpe-g del 2001:db8::6/64', 'dpe-g del 2001:db8::6', 'dpe-g add ff02::5/64', 'dpe-g add ::1/128', 'dpe-g:1 add 2001:db8::a/64',
  'dpe-g add 2001:db8::b/64 mtu 1400 up', 'dpe-g add', 'dpe-g del 2001:db8::8/0', '-v dpe-g add 2001:db8::5/64 add 2001:db8::5/64',
];

test('ifconfig DEV ADDR, netmask, broadcast and inet6 add|del change the addresses as devinet_ioctl and addrconf do in the kernel', () => {
  sh('ip', ['netns', 'exec', k1, 'sysctl', '-qw', 'net.ipv6.conf.dpe-g.disable_ipv6=0']);
  el.ns.setSysctl('net.ipv6.conf.dpe-g.disable_ipv6', 0);
  const diffs = compare(ADDRESSES, true);
  assert.deepEqual(diffs, [], diffs.join('\n'));
  // `dpe-g:1 192.0.2.1` relabelled the address (File exists after the old one went); inet6 add left its addresses.
  const k = sh('ip', ['-n', k1, 'addr', 'show', 'dpe-g']);
  assert.match(k, /inet 192\.0\.2\.1\/24 brd 192\.0\.2\.255 scope global dpe-g:1\n/);
  assert.match(k, /inet6 2001:db8::b\/64 scope global/);
  // Words dpemu does not emulate are refused before any change (the MTU stays 1400).
  for (const line of ['dpe-g mtu 1500 hw loop 1', 'dpe-g mtu 1500 add 198.51.100.5', 'dpe-g inet6 mtu 1500 2001:db8::c']) {
    const d = dpemu(line.split(' '));
    assert.equal(d.status, 1, line);
    assert.match(d.stderr, /^ifconfig: '(hw loop|add 198\.51\.100\.5|2001:db8::c)' is not emulated by dpemu's ifconfig/, line);
  }
  assert.match(dpemu(['dpe-g']).stdout, /mtu 1400\n/);
});
