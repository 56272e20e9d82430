// Path MTU tools against the kernel's: `traceroute -F` and `--mtu`
// (Debian's traceroute 2.1.2) and the exceptions they leave, as `ip route
// show cache` and `ip route get` list them. A chain of real namespaces (a
// source, routers r1 and r2 with a 1400-byte link between them, a
// destination b) and the same chain as a model run the same traceroute
// options: the same text but for the times (F=1500 where the source's
// device refuses the 65000-byte probe, F=1400 where r1 answers
// fragmentation needed, `!F-MTU` without --mtu), the same exit status;
// then both namespaces' learned path MTUs, through ip's selectors, -j, -d
// and -o, compared with the expiry masked.
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { DaemonProcess, DPEMU } from './daemon-process.js';
import { KernelObjects, sh, uniqueTag, runApart, type Ran } from './lab-names.js';

/** The model: the source as an operator's router namespace, the rest gateways (icmp_ratelimit off everywhere). */
const CHAIN_YAML = `version: 1
name: pmtu-chain
nodes:
  h:
    namespaces:
      qrouter-pmtu:
        sysctls: { net.ipv4.icmp_ratelimit: 0 }
        interfaces:
          qr-pmtu: { mac: 02:00:00:00:01:01, addresses: [192.0.2.1/30] }
        routes: |
          192.0.2.0/30 dev qr-pmtu proto kernel scope link src 192.0.2.1
          default via 192.0.2.2 dev qr-pmtu
gateways:
  r1:
    sysctls: { net.ipv4.ip_forward: 1, net.ipv4.icmp_ratelimit: 0 }
    interfaces:
      eth0: { mac: 02:00:00:00:01:02, addresses: [192.0.2.2/30] }
      eth1: { mac: 02:00:00:00:02:01, addresses: [192.0.2.5/30], mtu: 1400 }
    routes: |
      192.0.2.0/30 dev eth0 proto kernel scope link src 192.0.2.2
      192.0.2.4/30 dev eth1 proto kernel scope link src 192.0.2.5
      default via 192.0.2.6 dev eth1
  r2:
    sysctls: { net.ipv4.ip_forward: 1, net.ipv4.icmp_ratelimit: 0 }
    interfaces:
      eth0: { mac: 02:00:00:00:02:02, addresses: [192.0.2.6/30], mtu: 1400 }
      eth1: { mac: 02:00:00:00:03:01, addresses: [192.0.2.9/30] }
    routes: |
      192.0.2.4/30 dev eth0 proto kernel scope link src 192.0.2.6
      192.0.2.8/30 dev eth1 proto kernel scope link src 192.0.2.9
      default via 192.0.2.5 dev eth0
  b:
    sysctls: { net.ipv4.icmp_ratelimit: 0 }
    interfaces:
      eth0: { mac: 02:00:00:00:03:02, addresses: [192.0.2.10/30] }
    routes: |
      192.0.2.8/30 dev eth0 proto kernel scope link src 192.0.2.10
      default via 192.0.2.9 dev eth0
wires:
  - [h:qr-pmtu, r1:eth0]
  - [r1:eth1, r2:eth0]
  - [r2:eth1, b:eth0]
`;

const real = new KernelObjects();
const tag = uniqueTag();
const ns = (n: string): string => `dpe-${tag}-${n}`;
const dir = mkdtempSync(join(tmpdir(), 'dpemu-pmtu-'));
const chainFile = join(dir, 'chain.yaml');
let chain: DaemonProcess;

before(async () => {
  requireRoot('traceroute -F/--mtu and ip route show cache end-to-end tests');
  requireTool('traceroute', 'traceroute');
  for (const n of ['a', 'r1', 'r2', 'b']) {
    real.addNetns(ns(n));
    sh('ip', ['netns', 'exec', ns(n), 'sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.conf.all.disable_ipv6=1']);
  }
  const link = (x: string, xDev: string, y: string, yDev: string, i: number, mtu?: string): void => {
    const va = `dpe${tag}${i}a`, vb = `dpe${tag}${i}b`;
    real.ownLink(va);
    sh('ip', ['link', 'add', va, 'type', 'veth', 'peer', 'name', vb]);
    sh('ip', ['link', 'set', va, 'netns', ns(x), 'name', xDev]);
    sh('ip', ['link', 'set', vb, 'netns', ns(y), 'name', yDev]);
    for (const [n, dev] of [[x, xDev], [y, yDev]]) sh('ip', ['-n', ns(n!), 'link', 'set', dev!, ...(mtu ? ['mtu', mtu] : []), 'up']);
  };
  link('a', 'qr-pmtu', 'r1', 'eth0', 1);
  link('r1', 'eth1', 'r2', 'eth0', 2, '1400');
  link('r2', 'eth1', 'b', 'eth0', 3);
  const ip = (n: string, ...w: string[]): string => sh('ip', ['-n', ns(n), ...w]);
  ip('a', 'addr', 'add', '192.0.2.1/30', 'dev', 'qr-pmtu');
  ip('r1', 'addr', 'add', '192.0.2.2/30', 'dev', 'eth0');
  ip('r1', 'addr', 'add', '192.0.2.5/30', 'dev', 'eth1');
  ip('r2', 'addr', 'add', '192.0.2.6/30', 'dev', 'eth0');
  ip('r2', 'addr', 'add', '192.0.2.9/30', 'dev', 'eth1');
  ip('b', 'addr', 'add', '192.0.2.10/30', 'dev', 'eth0');
  ip('a', 'route', 'add', 'default', 'via', '192.0.2.2');
  ip('r1', 'route', 'add', 'default', 'via', '192.0.2.6');
  ip('r2', 'route', 'add', 'default', 'via', '192.0.2.5');
  ip('b', 'route', 'add', 'default', 'via', '192.0.2.9');
  for (const r of ['r1', 'r2']) sh('ip', ['netns', 'exec', ns(r), 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  writeFileSync(chainFile, CHAIN_YAML);
  chain = new DaemonProcess([chainFile]);
  await chain.waitLog((l) => l.msg === 'forwarding', 30_000);
});

after(async () => {
  if (chain && chain.exitCode === null) {
    chain.signal('SIGINT');
    await chain.exit(10_000).catch(() => chain.child.kill('SIGKILL'));
  }
  real.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** A command in the kernel's source namespace, and in the model's. */
const inReal = (cmd: string[]): Promise<Ran> => runApart('ip', ['netns', 'exec', ns('a'), ...cmd]);
const inModel = (cmd: string[]): Promise<Ran> => runApart(process.execPath, [DPEMU, 'ip', 'h', 'netns', 'exec', 'qrouter-pmtu', ...cmd, '--socket', chain.socket]);

/** Times and expiries out of the way. */
const masked = (s: string): string => s.replace(/\d+\.\d{3} ms/g, 'T ms').replace(/expires \d+sec/g, 'expires Nsec').replace(/"expires":\d+/g, '"expires":N');

async function same(cmd: string[]): Promise<Ran> {
  const [want, got] = await Promise.all([inReal(cmd), inModel(cmd)]);
  const what = `${cmd.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
  assert.equal(got.status, want.status, what);
  assert.equal(masked(got.out), masked(want.out), what);
  assert.equal(got.err, want.err, what);
  return want;
}

async function flush(): Promise<void> {
  for (const r of await Promise.all([inReal(['ip', 'route', 'flush', 'cache']), inModel(['ip', 'route', 'flush', 'cache'])])) assert.equal(r.status, 0, r.err);
}

test('traceroute -F and --mtu: the same hops, F=MTU and !F-MTU annotations, and the same path MTUs learned', { timeout: 300_000 }, async () => {
  const D = '192.0.2.10';
  // Each after `ip route flush cache`: the exception the last case left is stale, emptied by the next lookup to
  // its destination (listed as `cache ` alone), or learned again from r1's fragmentation needed (`mtu 1400`).
  const cases: [string[], boolean][] = [
    [['-n', '--mtu', D], true],
    [['-n', '-I', '--mtu', D], true],
    [['-n', '-T', '--mtu', D], false],
    [['-n', '--mtu', D, '1450'], true],
    [['-n', '--mtu', '-q', '1', D, '1300'], false],
    [['-n', '--mtu', '-f', '2', '-q', '2', D], true],
    [['-n', '-F', D, '1500'], true],
    [['-n', '-F', '-I', D, '1500'], true],
    [['-n', '-F', D, '2000'], false],
    [['-n', '-F', '-I', '-q', '2', '-w', '1', D, '2000'], false],
    [['-n', '--dont-fragment', '-U', D, '1420'], true],
    // Without -F a long probe leaves in fragments: nothing learned.
    [['-n', D, '1500'], false],
  ];
  for (const [words, learned] of cases) {
    await flush();
    // The waits as in control-traceroute.test.ts: the whole MAX for each probe unless the case sets -w.
    const c = words.includes('-w') ? words : ['-w', '5,0,0', ...words];
    await same(['traceroute', ...c]);
    const cache = await same(['ip', 'route', 'show', 'cache']);
    assert.equal(masked(cache.out), `192.0.2.10 via 192.0.2.2 dev qr-pmtu \n    cache ${learned ? 'expires Nsec mtu 1400 ' : ''}\n`, c.join(' '));
  }
});

test('ip route show cache: the selectors, -j, -d, -o; ip route get', { timeout: 120_000 }, async () => {
  await flush();
  await same(['traceroute', '-n', '-w', '5,0,0', '--mtu', '-q', '1', '192.0.2.10']);
  for (const q of [
    ['route', 'show', 'cache'],
    ['route', 'list', 'cached'],
    ['route', 'show', 'cache', '192.0.2.10'],
    ['route', 'show', 'cache', '192.0.2.0/24'],
    ['route', 'show', 'cache', 'root', '192.0.2.0/24'],
    ['route', 'show', 'cache', 'match', '192.0.2.10'],
    ['route', 'show', 'cache', 'via', '192.0.2.2'],
    ['route', 'show', 'cache', 'dev', 'qr-pmtu'],
    ['route', 'show', 'cache', 'dev', 'lo'],
    ['route', 'show', 'cache', 'proto', 'kernel'],
    ['route', 'show', 'table', 'all', 'cache'],
    ['-d', 'route', 'show', 'cache'],
    ['-d', 'route', 'show', 'table', 'all', 'cache'],
    ['-o', 'route', 'show', 'cache'],
    ['-j', 'route', 'show', 'cache'],
    ['-j', '-d', 'route', 'show', 'cache'],
    ['route', 'get', '192.0.2.10'],
    ['-j', 'route', 'get', '192.0.2.10'],
  ]) {
    await same(['ip', ...q]);
  }
  // The route it hangs on goes: so does the exception.
  await same(['ip', 'route', 'del', 'default']);
  await same(['ip', 'route', 'add', 'default', 'via', '192.0.2.2']);
  assert.equal((await same(['ip', 'route', 'show', 'cache'])).out, '');
});
