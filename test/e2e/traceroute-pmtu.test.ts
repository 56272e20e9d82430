// Path MTU tools against the kernel's: `traceroute -F` and `--mtu`
// (Debian's traceroute 2.1.2) and the exceptions they leave, as `ip route
// show cache` and `ip route get` list them. A chain of real namespaces (a
// source, routers r1 and r2 with a 1400-byte link between them, a
// destination b) and the same chain as a model run the same traceroute
// options: the same text but for the times (F=1500 where the source's
// device refuses the 65000-byte probe, F=1400 where r1 answers
// fragmentation needed, `!F-MTU` without --mtu), the same exit status;
// then both namespaces' learned path MTUs, through ip's selectors, -j, -d
// and -o, compared with the expiry masked. Last, the lab's DVR path, whose
// VXLAN tunnel leaves 1450 bytes of a 1500-byte underlay: the kernel's vxlan
// device, bridged (a Linux bridge here, an OVS port in the write-up), answers
// a DF datagram too long for it with fragmentation needed from the
// datagram's destination (skb_tunnel_check_pmtu); the emulated tunnel does
// the same, so ping -M do and traceroute --mtu from w07's qrouter say
// `mtu = 1450` and `F=1450` as the kernel's twin does. Then a router that
// learned a path MTU forwards by it with net.ipv4.ip_forward_use_pmtu (and
// by a locked one without), as the kernel's r1 does.
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { DaemonProcess } from './daemon-process.js';
import { UniqueLab } from './lab-dvr.js';
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
  const link = (x: string, xDev: string, y: string, yDev: string, i: number, mtu?: string): void => real.veth(`dpe${tag}${i}`, ns(x), xDev, ns(y), yDev, { mtu });
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
  await chain.forwarding();
});

after(async () => {
  await chain?.interrupt();
  real.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** A command in the kernel's source namespace, and in the model's. */
const inReal = (cmd: string[]): Promise<Ran> => runApart('ip', ['netns', 'exec', ns('a'), ...cmd]);
const inModel = (cmd: string[]): Promise<Ran> => chain.apart(['ip', 'h', 'netns', 'exec', 'qrouter-pmtu', ...cmd]);

/** Times and expiries out of the way. */
const masked = (s: string): string => s.replace(/\d+\.\d{3} ms/g, 'T ms').replace(/expires \d+sec/g, 'expires Nsec').replace(/"expires":\d+/g, '"expires":N');

async function same(cmd: string[]): Promise<Ran> {
  const [want, got] = await Promise.all([inReal(cmd), inModel(cmd)]);
  const what = `${cmd.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
  assert.equal(got.status, want.status, what);
  // ping's statistics line: the run's time, as the box gives it (a CI run saw 0 ms against 1 ms).
  const form = (s: string): string => masked(s).replace(/, time \d+ms$/m, ', time Tms');
  assert.equal(form(got.out), form(want.out), what);
  assert.equal(got.err, want.err, what);
  return want;
}

async function flush(): Promise<void> {
  for (const r of await Promise.all([inReal(['ip', 'route', 'flush', 'cache']), inModel(['ip', 'route', 'flush', 'cache'])])) assert.equal(r.status, 0, r.err);
}

/**
 * A traceroute after `ip route flush cache`, as same() compares it. As in control-traceroute.test.ts, the real
 * chain's veths share the box's backlog with the test file running beside this one: under load one can drop a
 * probe or its answer, a `*` the model has no cause for. A case that differs runs once more on both sides,
 * from a flushed cache again and with the routers' ICMP tokens refilled (ip_error's 5 s burst); a fault of the
 * model's repeats.
 */
async function sameTrace(cmd: string[]): Promise<void> {
  await flush();
  const [want, got] = await Promise.all([inReal(cmd), inModel(cmd)]);
  if (got.status === want.status && masked(got.out) === masked(want.out) && got.err === want.err) return;
  await new Promise((r) => setTimeout(r, 5200));
  await flush();
  await same(cmd);
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
    // The waits as in control-traceroute.test.ts: the whole MAX for each probe unless the case sets -w.
    const c = words.includes('-w') ? words : ['-w', '5,0,0', ...words];
    await sameTrace(['traceroute', ...c]);
    const cache = await same(['ip', 'route', 'show', 'cache']);
    assert.equal(masked(cache.out), `192.0.2.10 via 192.0.2.2 dev qr-pmtu \n    cache ${learned ? 'expires Nsec mtu 1400 ' : ''}\n`, c.join(' '));
  }
});

test('ip route show cache: the selectors, -j, -d, -o; ip route get', { timeout: 120_000 }, async () => {
  await sameTrace(['traceroute', '-n', '-w', '5,0,0', '--mtu', '-q', '1', '192.0.2.10']);
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

const QROUTER = 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479';

test('through a VXLAN tunnel: the tunnel answers a DF datagram too long for the underlay, as the kernel\'s does', { timeout: 180_000 }, async () => {
  // The kernel's twin: x - bridge with vxlan (1500-byte underlay) - bridge with vxlan - y.
  const t = (n: string): string => ns(`v${n}`);
  for (const n of ['x', '1', '2', 'y']) real.addNetns(t(n));
  const veth = (a: string, aDev: string, b: string, bDev: string, i: number): void => real.veth(`dpe${tag}v${i}`, t(a), aDev, t(b), bDev);
  veth('x', 'eth0', '1', 'tap', 1);
  veth('1', 'eth2', '2', 'eth2', 2);
  veth('2', 'tap', 'y', 'eth0', 3);
  for (const [n, me, peer] of [['1', '198.51.100.1', '198.51.100.2'], ['2', '198.51.100.2', '198.51.100.1']] as const) {
    const ip = (...w: string[]): string => sh('ip', ['-n', t(n), ...w]);
    ip('addr', 'add', `${me}/24`, 'dev', 'eth2');
    // An OVS vxlan port's device has a 65000-byte MTU: the frame reaches the tunnel's own check.
    ip('link', 'add', 'vx0', 'mtu', '1500', 'type', 'vxlan', 'id', '42', 'local', me, 'remote', peer, 'dstport', '4789');
    ip('link', 'add', 'br0', 'type', 'bridge');
    for (const dev of ['vx0', 'tap']) ip('link', 'set', dev, 'master', 'br0', 'up');
    ip('link', 'set', 'br0', 'up');
  }
  sh('ip', ['-n', t('x'), 'addr', 'add', '10.98.0.1/24', 'dev', 'eth0']);
  sh('ip', ['-n', t('y'), 'addr', 'add', '10.98.0.2/24', 'dev', 'eth0']);
  const kernel = (cmd: string[]): Promise<Ran> => runApart('ip', ['netns', 'exec', t('x'), ...cmd]);

  const lab = new UniqueLab();
  const d = new DaemonProcess([lab.file, '--lab']);
  try {
    await d.forwarding();
    sh('ip', ['netns', 'exec', lab.nsInet, 'sysctl', '-qw', 'net.ipv4.icmp_ratelimit=0']);
    const model = (cmd: string[]): Promise<Ran> => d.apart(['ip', 'w07', 'netns', 'exec', QROUTER, ...cmd]);
    // The first ping finds the way (ARP); the second meets the tunnel's limit.
    assert.equal((await kernel(['ping', '-c', '1', '10.98.0.2'])).status, 0);
    const kPing = await kernel(['ping', '-c', '1', '-M', 'do', '-s', '1472', '10.98.0.2']);
    const mPing = await model(['ping', '-c', '1', '-M', 'do', '-s', '1472', '-I', '192.168.1.1', '203.0.113.8']);
    assert.match(kPing.out, /^From 10\.98\.0\.2 icmp_seq=1 Frag needed and DF set \(mtu = 1450\)$/m, kPing.out);
    assert.match(mPing.out, /^From 203\.0\.113\.8 icmp_seq=1 Frag needed and DF set \(mtu = 1450\)$/m, mPing.out);
    assert.equal(mPing.status, kPing.status, mPing.out + mPing.err);
    // The qrouter's route out is in its source-based table: `table all`. ping's raw socket is not connected: the
    // exception it learned is listed once a lookup binds it (ip route get, or its next send).
    const cache = (s: string): string => masked(s).replace(/^\S+ /, 'DST ').replace(/ via \S+/, '').replace(/ dev \S+ /, ' dev DEV ').replace(/table \S+ /, '');
    const all = ['ip', 'route', 'show', 'table', 'all', 'cache'];
    for (const want of ['', 'DST dev DEV \n    cache expires Nsec mtu 1450 \n']) {
      const [kCache, mCache] = [await kernel(all), await model(all)];
      assert.equal(cache(kCache.out), want);
      assert.equal(cache(mCache.out), want, mCache.out + mCache.err);
      await Promise.all([kernel(['ip', 'route', 'get', '10.98.0.2']), model(['ip', 'route', 'get', '203.0.113.8', 'from', '192.168.1.1'])]);
    }
    // traceroute --mtu: the device's 1500 first, then the tunnel's 1450 on the first hop's line.
    const opts = ['-n', '--mtu', '-q', '1', '-w', '5,0,0'];
    const kTrace = await kernel(['traceroute', ...opts, '10.98.0.2']);
    const mTrace = await model(['traceroute', ...opts, '-s', '192.168.1.1', '203.0.113.8']);
    assert.equal(masked(kTrace.out), 'traceroute to 10.98.0.2 (10.98.0.2), 30 hops max, 65000 byte packets\n 1  10.98.0.2  T ms F=1450\n');
    assert.equal(mTrace.status, 0, mTrace.err);
    assert.equal(masked(mTrace.out), `traceroute to 203.0.113.8 (203.0.113.8), 30 hops max, 65000 byte packets
 1  192.168.1.6  T ms F=1450
 2  169.254.96.33  T ms
 3  10.206.221.193  T ms
 4  203.0.113.8  T ms
`);
  } finally {
    d.signal('SIGINT');
    await d.exit(10_000).catch(() => d.child.kill('SIGKILL'));
    lab.cleanup();
  }
});

/** Node `node`'s device `dev` in both chains: MTU `m`. */
async function mtu(node: string, dev: string, m: string): Promise<void> {
  sh('ip', ['-n', ns(node), 'link', 'set', dev, 'mtu', m]);
  const r = await chain.apart(['ip', node, 'link', 'set', dev, 'mtu', m]);
  assert.equal(r.status, 0, r.err);
}

const inR1 = (real: boolean, cmd: string[]): Promise<Ran> =>
  real ? runApart('ip', ['netns', 'exec', ns('r1'), ...cmd]) : chain.apart(['ip', 'r1', 'netns', 'exec', 'r1', ...cmd]);

/** A command in both r1s: the same status and text, times and expiries masked. */
async function sameR1(cmd: string[]): Promise<Ran> {
  const [want, got] = await Promise.all([inR1(true, cmd), inR1(false, cmd)]);
  const what = `r1: ${cmd.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
  assert.equal(got.status, want.status, what);
  assert.equal(masked(got.out).replace(/time=\S+ ms/g, 'time=T ms').replace(/^rtt .*$/m, 'rtt R').replace(/time \d+ms/, 'time Tms'), masked(want.out).replace(/time=\S+ ms/g, 'time=T ms').replace(/^rtt .*$/m, 'rtt R').replace(/time \d+ms/, 'time Tms'), what);
  return want;
}

test('net.ipv4.ip_forward_use_pmtu: a router forwards by the path MTU it learned only with it set', { timeout: 120_000 }, async () => {
  // The narrow link moves past r1's next hop: r2 - b at 1400, r1 - r2 at 1500.
  await mtu('r1', 'eth1', '1500');
  await mtu('r2', 'eth0', '1500');
  await mtu('r2', 'eth1', '1400');
  await mtu('b', 'eth0', '1400');
  const ping = ['ping', '-c', '1', '-M', 'do', '-s', '1472', '192.0.2.10'];
  const fromA = async (): Promise<string> => {
    await flush();
    const want = await same(ping);
    return /^From (\S+) /m.exec(want.out)?.[1] ?? want.out;
  };
  // r1 learns b's path MTU from r2 (its ping's second send binds it).
  await sameR1(['ping', '-c', '2', '-i', '0.2', '-M', 'do', '-s', '1472', '192.0.2.10']);
  assert.match((await sameR1(['ip', 'route', 'show', 'cache'])).out, /mtu 1400/);
  // Off (the default): r1 forwards the 1500-byte DF datagram by its device's MTU; r2 answers.
  assert.equal(await fromA(), '192.0.2.6');
  await sameR1(['sysctl', '-w', 'net.ipv4.ip_forward_use_pmtu=1']);
  assert.equal(await fromA(), '192.0.2.2');
  await sameR1(['sysctl', '-w', 'net.ipv4.ip_forward_use_pmtu=0']);
  assert.equal(await fromA(), '192.0.2.6');
  // A locked one (below min_pmtu: 552) counts even so (ip_mtu_locked).
  await mtu('r2', 'eth1', '500');
  await mtu('b', 'eth0', '500');
  await sameR1(['ip', 'route', 'flush', 'cache']);
  await sameR1(['ping', '-c', '2', '-i', '0.2', '-M', 'do', '-s', '1000', '192.0.2.10']);
  assert.match((await sameR1(['ip', 'route', 'show', 'cache'])).out, /mtu lock 552/);
  await flush();
  assert.match((await same(['ping', '-c', '1', '-M', 'do', '-s', '1000', '192.0.2.10'])).out, /^From 192\.0\.2\.2 icmp_seq=1 Frag needed and DF set \(mtu = 552\)$/m);
});

test('forwarding binds r1\'s exception as its output lookups do, and ip route get ... iif shows it', { timeout: 120_000 }, async () => {
  // As the last test: r1 - r2 at 1500, r2 - b at 1400 (it left 500). r1's exception goes with its route, then a
  // ping learns it anew: ping's unconnected raw socket leaves it unbound, unlisted.
  await mtu('r1', 'eth1', '1500');
  await mtu('r2', 'eth0', '1500');
  await mtu('r2', 'eth1', '1400');
  await mtu('b', 'eth0', '1400');
  const learn = async (): Promise<void> => {
    await sameR1(['ip', 'route', 'del', 'default']);
    await sameR1(['ip', 'route', 'add', 'default', 'via', '192.0.2.6']);
    await sameR1(['ping', '-c', '1', '-M', 'do', '-s', '1472', '192.0.2.10']);
    assert.equal((await sameR1(['ip', 'route', 'show', 'cache'])).out, '');
  };
  const listed = async (cache: string): Promise<void> =>
    assert.equal(masked((await sameR1(['ip', 'route', 'show', 'cache'])).out), `192.0.2.10 via 192.0.2.6 dev eth1 \n    cache ${cache}\n`);
  const get = ['ip', 'route', 'get', '192.0.2.10', 'from', '192.0.2.1', 'iif', 'eth0'];
  const forward = async (): Promise<void> => {
    for (const r of await Promise.all([inReal(['ping', '-c', '1', '192.0.2.10']), inModel(['ping', '-c', '1', '192.0.2.10'])])) assert.equal(r.status, 0, r.out + r.err);
  };
  // The input route's answer: the learned MTU (ip_forward_use_pmtu 0 notwithstanding), and it binds it.
  await learn();
  assert.equal(masked((await sameR1(get)).out), '192.0.2.10 from 192.0.2.1 via 192.0.2.6 dev eth1 \n    cache expires Nsec mtu 1400 iif eth0 \n');
  await sameR1(['ip', '-j', ...get.slice(1)]);
  await listed('expires Nsec mtu 1400 ');
  // A datagram a forwards through r1 binds it too.
  await learn();
  await flush();
  await forward();
  await listed('expires Nsec mtu 1400 ');
  // After r1's flush the next forwarded datagram empties the stale exception and binds it (rt_bind_exception).
  await sameR1(['ip', 'route', 'flush', 'cache']);
  assert.equal((await sameR1(['ip', 'route', 'show', 'cache'])).out, '');
  await forward();
  await listed('');
  assert.equal((await sameR1(get)).out, '192.0.2.10 from 192.0.2.1 via 192.0.2.6 dev eth1 \n    cache iif eth0 \n');
});
