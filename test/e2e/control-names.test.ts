// Host names given to `dpemu ip NODE netns exec NS ping|traceroute`, looked
// up as the real tools do where they run: this machine's /etc/netns/NS/hosts
// (ip netns exec bind-mounts it over /etc/hosts), no name server in reach.
// The real ping and traceroute in a chain of real namespaces given the same
// hosts file: the same header, the same names for the replies' and hops'
// addresses and -R's and -T's (the file's where it has one), the same
// refusals and exits; iptables -L names the rules' addresses from it.
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { DaemonProcess } from './daemon-process.js';
import { KernelObjects, NO_DNS, runApart, sh, uniqueTag, withNetnsHosts, type Ran } from './lab-names.js';

const tag = uniqueTag();
const ns = (n: string): string => `dpe-${tag}-${n}`;
/** The model's source namespace: a name of this run's (its /etc/netns/NAME/hosts is this run's too). */
const MODEL_NS = ns('qn');

const MODEL_YAML = `version: 1
name: names-chain
nodes:
  h:
    namespaces:
      ${MODEL_NS}:
        sysctls: { net.ipv4.icmp_ratelimit: 0 }
        interfaces:
          qr-names: { mac: 02:00:00:00:01:01, addresses: [10.99.1.1/24] }
        routes: |
          10.99.1.0/24 dev qr-names proto kernel scope link src 10.99.1.1
          default via 10.99.1.2 dev qr-names
gateways:
  r1:
    sysctls: { net.ipv4.ip_forward: 1, net.ipv4.icmp_ratelimit: 0 }
    interfaces:
      eth0: { mac: 02:00:00:00:01:02, addresses: [10.99.1.2/24] }
      eth1: { mac: 02:00:00:00:02:01, addresses: [10.99.2.1/24] }
    routes: |
      10.99.1.0/24 dev eth0 proto kernel scope link src 10.99.1.2
      10.99.2.0/24 dev eth1 proto kernel scope link src 10.99.2.1
  b:
    sysctls: { net.ipv4.icmp_ratelimit: 0 }
    interfaces:
      eth0: { mac: 02:00:00:00:02:02, addresses: [10.99.2.2/24] }
    routes: |
      10.99.2.0/24 dev eth0 proto kernel scope link src 10.99.2.2
      default via 10.99.2.1 dev eth0
wires:
  - [h:qr-names, r1:eth0]
  - [r1:eth1, b:eth0]
`;

/** r1 (10.99.1.2) has no line: its address prints as a number; b's first name names it, an alias finds it. */
const HOSTS = '10.99.1.1 dpe-src\n10.99.2.2 dpe-b dpe-b-alias\n10.99.2.2 dpe-b-later\n';

const real = new KernelObjects();
const dir = mkdtempSync(join(tmpdir(), 'dpemu-names-'));
let d: DaemonProcess;

before(async () => {
  requireRoot('dpemu host names end-to-end tests');
  requireTool('ping', 'iputils-ping');
  requireTool('traceroute', 'traceroute');
  requireTool('iptables-legacy', 'iptables');
  for (const n of ['a', 'r1', 'b']) {
    real.addNetns(ns(n));
    sh('ip', ['netns', 'exec', ns(n), 'sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.conf.all.disable_ipv6=1']);
  }
  real.veth(`dpe${tag}1`, ns('a'), 'qr-names', ns('r1'), 'eth0');
  real.veth(`dpe${tag}2`, ns('r1'), 'eth1', ns('b'), 'eth0');
  const ip = (n: string, ...w: string[]): string => sh('ip', ['-n', ns(n), ...w]);
  ip('a', 'addr', 'add', '10.99.1.1/24', 'dev', 'qr-names');
  ip('r1', 'addr', 'add', '10.99.1.2/24', 'dev', 'eth0');
  ip('r1', 'addr', 'add', '10.99.2.1/24', 'dev', 'eth1');
  ip('b', 'addr', 'add', '10.99.2.2/24', 'dev', 'eth0');
  ip('a', 'route', 'add', 'default', 'via', '10.99.1.2');
  ip('b', 'route', 'add', 'default', 'via', '10.99.2.1');
  sh('ip', ['netns', 'exec', ns('r1'), 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  const file = join(dir, 'model.yaml');
  writeFileSync(file, MODEL_YAML);
  d = new DaemonProcess([file]);
  await d.forwarding();
});

after(async () => {
  await d?.interrupt();
  real.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** The times masked: RTTs, traceroute's, -T's first time ("A absolute") and the differences after it ("D"). */
const untimed = (s: string): string =>
  s.replace(/time=\S+ ms/g, 'time=T ms').replace(/time \d+ms/g, 'time Tms').replace(/^rtt .*$/m, 'rtt R').replace(/\d+\.\d{3} ms/g, 'T ms')
    .replace(/\t\d+ absolute/g, '\tA absolute').replace(/\t-?\d+$/gm, '\tD');

/**
 * Each case through the real tool in namespace a and the model's in MODEL_NS, both given HOSTS as their hosts file;
 * `real`, the real command's words before the case's (the tool's name, by default).
 */
async function compare(tool: string, cases: string[][], real = [tool]): Promise<void> {
  await withNetnsHosts([ns('a'), MODEL_NS], HOSTS, async () => {
    for (const c of cases) {
      const [want, got]: Ran[] = await Promise.all([
        runApart('ip', ['netns', 'exec', ns('a'), ...real, ...c], 60_000),
        d.apart(['ip', 'h', 'netns', 'exec', MODEL_NS, tool, ...c], 60_000),
      ]);
      const what = `${tool} ${c.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
      assert.equal(got.status, want.status, what);
      assert.equal(untimed(got.out), untimed(want.out), what);
      assert.equal(got.err, want.err, what);
    }
  });
}

test('ping NAME: the hosts line\'s first name in the header, replies and errors from NAME (ADDR) where the file names the address; numbers for a numeric target or -n; getaddrinfo\'s failures', { timeout: 120_000 }, async () => {
  await compare('ping', [
    ['-c', '1', 'dpe-b'],
    ['-c', '1', 'DPE-B-Alias'],
    ['-c', '1', 'dpe-b-later'],
    ['-c', '1', '-n', 'dpe-b'],
    ['-c', '1', '10.99.2.2'],
    ['-c', '1', '-t', '1', 'dpe-b'],
    ['-c', '1', 'dpe-nohost'],
    ['-c', '1', 'dpe-x#y'],
    ['-6', '-c', '1', 'dpe-b'],
  ]);
});

test('ping -R and -T tsandaddr NAME: the options\' addresses as pr_addr prints them, NAME (ADDR) where the file names one; numbers with -n or a numeric target', { timeout: 120_000 }, async () => {
  await compare('ping', [
    ['-c', '2', '-i', '0.2', '-R', 'dpe-b'],
    ['-c', '1', '-T', 'tsandaddr', 'dpe-b'],
    ['-c', '1', '-n', '-R', 'dpe-b'],
    ['-c', '1', '-R', '10.99.2.2'],
  ]);
});

test('traceroute NAME: the name as typed in the header, each hop by its hosts name (else ADDR (ADDR)) unless -n, -s NAME, getaddrinfo\'s failures', { timeout: 120_000 }, async () => {
  await compare('traceroute', [
    ['-w', '5,0,0', '-q', '1', 'dpe-b'],
    ['-w', '5,0,0', '-q', '1', '10.99.2.2'],
    ['-w', '5,0,0', '-q', '1', '-n', 'dpe-b-alias'],
    ['-w', '5,0,0', '-q', '1', '-s', 'dpe-src', '-I', 'dpe-b'],
    ['dpe-nohost'],
    ['dpe-x#y'],
    ['-s', 'dpe-nohost', '10.99.2.2'],
    ['-s', 'dpe-x#y', 'dpe-nohost'],
  ]);
});

test('iptables -L: the rules\' addresses by the namespace\'s hosts file (ip netns exec\'s mount over /etc/hosts), else /etc/networks, else numbers', { timeout: 120_000 }, async () => {
  const rules = [
    ['-A', 'INPUT', '-s', '10.99.2.2', '-j', 'ACCEPT'],
    ['-A', 'FORWARD', '-s', '10.99.1.1', '-d', '10.99.1.2', '-j', 'ACCEPT'],
    ['-A', 'OUTPUT', '-d', '127.0.0.0/8', '-j', 'ACCEPT'],
  ];
  try {
    for (const r of rules) {
      sh('ip', ['netns', 'exec', ns('a'), 'iptables-legacy', ...r]);
      const m = await d.apart(['ip', 'h', 'netns', 'exec', MODEL_NS, 'iptables', ...r]);
      assert.equal(m.status, 0, m.err);
    }
    // (-n and -v: what netns-text-kernel.test.ts compares; 1.8.9's -n prints protocol numbers where 1.8.7's printed names.)
    await compare('iptables', [['-L'], ['-L', 'FORWARD']], ['sh', '-c', NO_DNS, 'sh']);
  } finally {
    sh('ip', ['netns', 'exec', ns('a'), 'iptables-legacy', '-F']);
    await d.apart(['ip', 'h', 'netns', 'exec', MODEL_NS, 'iptables', '-F']);
  }
});
