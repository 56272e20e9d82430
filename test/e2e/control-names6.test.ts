// Host names given to `dpemu ip NODE netns exec NS ping` that the hosts file
// gives IPv6 addresses, or both families: ping asks getaddrinfo for either
// (AF_UNSPEC, -4 and -6 only pick among the answers), whose RFC 3484 sort
// puts the answers a UDP socket can connect() to first (::1 before IPv4;
// an IPv4 address before an IPv6 one with no route), and tries each in turn
// until one has a route. The real ping in a real namespace with IPv6 on
// (::1 on lo, a veth named as the model's device with its address) given
// the same hosts file as the model's namespace: the same text, the same
// exits.
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { DaemonProcess } from './daemon-process.js';
import { KernelObjects, runApart, sh, uniqueTag, withNetnsHosts, type Ran } from './lab-names.js';

const tag = uniqueTag();
const ns = (n: string): string => `dpe-${tag}-${n}`;
const MODEL_NS = ns('q6');

/** One namespace with an IPv4 address and no default route (198.51.100.1 and 2001:db8::/32 unreachable); ::1 on lo. */
const MODEL_YAML = `version: 1
name: names6
nodes:
  h:
    namespaces:
      ${MODEL_NS}:
        interfaces:
          qr-n6: { mac: 02:00:00:00:06:01, addresses: [10.99.6.1/24] }
        routes: |
          10.99.6.0/24 dev qr-n6 proto kernel scope link src 10.99.6.1
gateways:
  r1:
    interfaces:
      eth0: { mac: 02:00:00:00:06:02, addresses: [10.99.6.2/24] }
    routes: |
      10.99.6.0/24 dev eth0 proto kernel scope link src 10.99.6.2
wires:
  - [h:qr-n6, r1:eth0]
`;

/**
 * Debian's localhost lines; names with an IPv6 line only, an IPv4 one only,
 * both (the first line's first name is AI_CANONNAME's), an IPv6 address
 * with no route and a reachable IPv4 one, neither reachable, a link-local
 * (no scope: connect() refuses it) and an IPv4 one.
 */
const HOSTS = [
  '127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback', '::1 dpe-six', '10.99.6.1 dpe-four', '10.99.6.1 dpe-both', '::1 dpe-both6 dpe-both',
  '2001:db8::1 dpe-mix', '10.99.6.1 dpe-mix', '2001:db8::2 dpe-lost', '198.51.100.1 dpe-lost', 'fe80::1 dpe-ll', '10.99.6.1 dpe-ll', '',
].join('\n');

const real = new KernelObjects();
const dir = mkdtempSync(join(tmpdir(), 'dpemu-names6-'));
let d: DaemonProcess;

before(async () => {
  requireRoot('dpemu ping host name (IPv6) end-to-end tests');
  requireTool('ping', 'iputils-ping');
  for (const n of ['a', 'b']) {
    real.addNetns(ns(n));
    sh('ip', ['netns', 'exec', ns(n), 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.lo.disable_ipv6=0']);
  }
  real.veth(`dpe${tag}6`, ns('a'), 'qr-n6', ns('b'), 'eth0');
  sh('ip', ['-n', ns('a'), 'addr', 'add', '10.99.6.1/24', 'dev', 'qr-n6']);
  sh('ip', ['-n', ns('b'), 'addr', 'add', '10.99.6.2/24', 'dev', 'eth0']);
  const file = join(dir, 'model.yaml');
  writeFileSync(file, MODEL_YAML);
  d = new DaemonProcess([file]);
  await d.waitLog((l) => l.msg === 'forwarding', 30_000);
});

after(async () => {
  await d?.interrupt();
  real.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** What differs from run to run made constant: times, -v's identifier. */
const untimed = (s: string): string =>
  s.replace(/time=\S+ ms/g, 'time=T ms').replace(/time \d+ms/g, 'time Tms').replace(/^rtt .*$/m, 'rtt R').replace(/ident=\d+/g, 'ident=N');

test('ping NAME with IPv6 hosts lines: getaddrinfo(AF_UNSPEC)\'s sorted answers, -4/-6 picking among them, names for IPv6 replies, the next answer after no route', { timeout: 240_000 }, async () => {
  await withNetnsHosts([ns('a'), MODEL_NS], HOSTS, async () => {
    for (const c of [
      ['localhost'], ['ip6-localhost'], ['-4', 'localhost'], ['-6', 'localhost'], ['-n', 'localhost'],
      ['dpe-six'], ['-6', 'dpe-six'], ['-4', 'dpe-six'], ['-v', 'dpe-six'], ['-R', 'dpe-six'],
      ['-6', 'dpe-four'], ['-v', '-6', 'dpe-four'], ['dpe-four'],
      ['dpe-both'], ['-4', 'dpe-both'], ['-v', '-4', 'dpe-both'],
      ['dpe-mix'], ['-6', 'dpe-mix'], ['-v', 'dpe-lost'], ['-6', 'dpe-lost'], ['dpe-ll'],
      ['-6', 'dpe-nohost'], ['::1'], ['-v', '-4', '::1'], ['-v', '-6', '10.99.6.1'],
    ]) {
      const args = ['-c', '1', ...c];
      const [want, got]: Ran[] = await Promise.all([
        runApart('ip', ['netns', 'exec', ns('a'), 'ping', ...args], 60_000),
        d.apart(['ip', 'h', 'netns', 'exec', MODEL_NS, 'ping', ...args], 60_000),
      ]);
      const what = `ping ${args.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
      assert.equal(got.status, want.status, what);
      assert.equal(untimed(got.out), untimed(want.out), what);
      assert.equal(got.err, want.err, what);
    }
  });
});
