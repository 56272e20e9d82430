// route add and del (net-tools 2.10) against the kernel: a kernel namespace
// and an emulated one built alike (a veth dpe-e with 192.0.2.1/24, lo up),
// then the same words run in both, in turn, must print the same on stdout
// and stderr with the same exit status, and leave the same `ip route`
// listing after each; and route's status where the kernel never made table main.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requireRoot } from '../helpers/root.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { Netns } from '../../src/netns/netns.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { runRoute } from '../../src/control/route-commands.js';
import { netnsPair } from './netns-pair.js';
import { KernelObjects, NO_DNS, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const k1 = `dpe-${tag}-r1`;
const k2 = `dpe-${tag}-r2`;
const objs = new KernelObjects();
let el: NetNamespace;
let now: () => number;

before(() => {
  requireRoot('route add and del against the kernel');
  const pair = netnsPair(objs, `dpe${tag}r`, [k1, k2], ['dpe-e', 'dpe-f'], '192.0.2.1/24', false);
  el = pair.el;
  now = () => pair.engine.now;
});

after(() => objs.cleanup());

type Out = { stdout: string; stderr: string; status: number | null };

/** route in a kernel namespace with no name server to reach (lab-names.ts NO_DNS), as dpemu takes an emulated namespace to be. */
function kernel(args: string[], ns = k1, tool = 'route'): Out {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', NO_DNS.replace('iptables-legacy', tool), 'sh', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}
function dpemu(args: string[], ns: Netns = el.ns): Out {
  const r = runRoute(ns, args);
  return { stdout: r.stdout, stderr: r.stderr, status: r.exit };
}

/** Each run on both sides; after each, both `ip route` listings. */
const WRITES = [
  // Adds: -net with netmask or /prefix, -host, a bare address (a host), default; gateways, metrics, the TCP metrics, reject.
  'add -net 198.51.100.0 netmask 255.255.255.0 dev dpe-e', 'add -net 198.51.100.0 netmask 255.255.255.0 dev dpe-e',
  'add -net 198.51.100.0 netmask 255.255.255.0 gw 192.0.2.5', 'add -net 198.51.100.0 netmask 255.255.255.0 gw 192.0.2.5',
  'add -net 198.51.100.0/25 gw 192.0.2.6 metric 5', 'add -host 203.0.113.7 gw 192.0.2.7', 'add 203.0.113.8 dev dpe-e', 'add 203.0.113.9 dpe-e',
  'add default gw 192.0.2.254', 'add default gw 192.0.2.253', 'add default gw 192.0.2.253 metric 0', 'add -net 0.0.0.0 netmask 0.0.0.0 gw 192.0.2.252 metric 3',
  'add -net 203.0.113.0/24 reject', 'add -net 203.0.113.64/26 metric 3 reject gw 192.0.2.9', 'add -net 203.0.113.128/25 dev dpe-e mss 1400 window 500 irtt 100',
  'add -net 203.0.113.128/26 mtu 64 window 128 irtt 3 mod dyn reinstate dpe-e', 'add -net 203.0.113.192/26 mss 65536 irtt 1500 dev dpe-e',
  'add -net 10.0.0.0/8 gw 192.0.2.1', 'add -net 10.7.0.0/16 gw 10.7.0.1', 'add -net 10.11.0.0/16 gw 10.0.0.0', 'add -net 10.12.0.0/16 gw localhost',
  'add -net 10.25.0.0/16 dev lo', 'add -net 10.26.0.0/16 metric 4294967296 dev dpe-e', 'add -net 10.27.0.0/16 metric 65535 dev dpe-e', 'add -net 10.28.0.0/16 metric 70000 dev dpe-e',
  'add -net link-local netmask 255.255.0.0 dev dpe-e', 'add 10.6.0.1/32 dev dpe-e', 'add -net 10.29.0.0/16 gw 0.0.0.0', 'add -net 10.30.0.0/16 gw 192.0.2.1 dev lo',
  '-n add -net 10.31.0.0/16 dev dpe-e', '-v add -net 10.32.0.0/16 dev dpe-e',
  // The kernel's refusals.
  'add -net 203.0.113.0 dev dpe-e', 'add -net 203.0.113.0 netmask 255.255.255.0 gw 198.18.0.1', 'add -net 203.0.113.128/25 dev nosuch',
  'add -net 10.1.0.0/16 gw 192.0.2.255', 'add -net 10.5.0.1/32 dev dpe-e', 'add -net 10.21.0.0/16 dev dpe-e:1', 'add -net 10.33.0.0/16',
  // route's own refusals.
  'add -net 203.0.113.1 netmask 255.255.255.0 dev dpe-e', 'add -net 203.0.113.0 netmask 255.0.255.0 dev dpe-e', 'add -host 203.0.113.9 netmask 255.255.255.0 dev dpe-e',
  'add 10.22.0.0/16 dev dpe-e', 'add -net 10.3.0.0/16 dpe-e extra', 'add -net 10.4.0.0/33 dev dpe-e', 'add -net 10.8.0.0/16 mss 10 dev dpe-e',
  'add -net 10.9.0.0/16 window 10 dev dpe-e', 'add -net 10.10.0.0/16 metric x dev dpe-e', 'add -net 10.12.0.0/16 gw default', 'add -net 10.13.0.0/16 gw loopback',
  'add -net 10.23.0.0/16 gw 192.0.2.5 gw 192.0.2.6', 'add -net 10.24.0.0/16 dev dpe-e dev dpe-e', 'add -net 10.31.0.0/16 mss 65537 dev dpe-e',
  'add -net nosuchname/16 dev dpe-e', 'add -net 10.20.0.0/16 gw nosuchgw', 'add -net 10.34.0.0/1x dev dpe-e', 'add -net 10.35.0.0 netmask', 'add -net 10.36.0.0/16 metric',
  'add', 'add -net', '-C add -net 10.37.0.0/16 dev dpe-e', 'flush', 'foo',
  // Deletes.
  'del -net 198.51.100.0 netmask 255.255.255.0', 'del -net 198.51.100.0 netmask 255.255.255.0 gw 192.0.2.5', 'del -net 198.51.100.0 netmask 255.255.255.0 dev dpe-e',
  'del 203.0.113.8', 'del -net 203.0.113.0/24', 'del -net 203.0.113.0/24 reject', 'del -net 203.0.113.64/26 reject dev dpe-e', 'del default', 'del default metric 3',
  'del -net 10.0.0.0', 'del -net 192.0.2.0/24 metric 99', 'del -net 10.7.0.0/16 dev lo', 'del -net 10.7.0.0/16 gw 10.7.0.2', 'del -net 10.7.0.0/16 gw 10.7.0.1 dev dpe-e',
  'del -net 10.28.0.0/16 metric 70000', 'del -net 203.0.113.128/25 mss 100 window 200 dpe-e', 'del -net 10.99.0.0/16 x y', 'del -net 10.99.0.0/16 dev nosuch',
  'delete -net 192.0.2.0/24 metric 0', 'del -net 10.26.0.0/16',
];

test('route add and del change table main as SIOCADDRT and SIOCDELRT do in the kernel', () => {
  const diffs: string[] = [];
  for (const line of WRITES) {
    const args = line.split(' ');
    const k = kernel(args), d = dpemu(args);
    if (JSON.stringify(k) !== JSON.stringify(d)) diffs.push(`route ${line}\n  kernel: ${JSON.stringify(k)}\n  dpemu:  ${JSON.stringify(d)}`);
    const kr = sh('ip', ['-n', k1, 'route', 'show']), dr = runCommand(el.ns, 'route show', now());
    if (kr !== dr) diffs.push(`ip route after route ${line}\n  kernel: ${JSON.stringify(kr)}\n  dpemu:  ${JSON.stringify(dr)}`);
  }
  for (const args of [['-n'], ['-nee'], ['-ne']]) {
    const k = kernel(args), d = dpemu(args);
    if (JSON.stringify(k) !== JSON.stringify(d)) diffs.push(`route ${args.join(' ')}\n  kernel: ${JSON.stringify(k)}\n  dpemu:  ${JSON.stringify(d)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
  // What the words asked for is there: a gateway route's metric, a local gateway's scope link, the TCP metrics.
  const r = sh('ip', ['-n', k1, 'route', 'show']);
  assert.match(r, /\n198\.51\.100\.0\/25 via 192\.0\.2\.6 dev dpe-e metric 5 \n/);
  assert.match(r, /\n10\.12\.0\.0\/16 via 127\.0\.0\.1 dev lo scope link \n/);
  assert.match(r, /\n203\.0\.113\.128\/26 dev dpe-e scope link window 128 rtt 3ms advmss 24 \n/);
});

test('route prints the titles and exit 1 where the kernel never made table main', () => {
  // No lo up, no route: no table at all (objs.addNetns would bring lo up).
  const k3 = `dpe-${tag}-r3`;
  objs.ownNetns(k3);
  sh('ip', ['netns', 'add', k3]);
  const ns = new Netns({ loopbackUp: false });
  const diffs: string[] = [];
  for (const line of ['-n', '-ee', '-e', '-C', '-nFC', 'del -net 10.0.0.0/8', '-n', 'add -net 10.0.0.0/8 dev lo', '-n']) {
    const args = line.split(' ');
    const k = kernel(args, k3), d = dpemu(args, ns);
    if (JSON.stringify(k) !== JSON.stringify(d)) diffs.push(`route ${line}\n  kernel: ${JSON.stringify(k)}\n  dpemu:  ${JSON.stringify(d)}`);
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
  assert.equal(kernel(['-n'], k3).status, 0, 'a refused add made table main');
});
