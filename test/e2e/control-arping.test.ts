// `dpemu ip NODE netns exec NS arping` (and `dpemu arping`) against a model
// where a router namespace's qr-arp faces a VM (a gateway at 10.99.1.7) and
// its qr-spare is down, and the real arping in real namespaces of the same
// shape (dpe-… names, the same device names, MACs and addresses): the same
// text but for the times, stderr and exit status; the same frames on the
// VM's wire; and the same neighbour entries after, in the router and in the
// VM (what the kernel's arp_process learns from arping's requests, replies
// and gratuitous messages).
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { DaemonProcess, dpemuTcpdump } from './daemon-process.js';
import { KernelObjects, runApart, sh, uniqueTag, withNetnsHosts, type Ran, tcpdumpIn } from './lab-names.js';
import { LabDaemons } from './lab-dvr.js';

const QROUTER = 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479';
const tag = uniqueTag();
/** The model's router namespace: a name of this run's (its /etc/netns/NAME/hosts is this run's too). */
const MODEL_NS = `dpe-${tag}-qr`;

const MODEL_YAML = `version: 1
name: arping-chain
nodes:
  h:
    namespaces:
      ${MODEL_NS}:
        interfaces:
          qr-arp: { mac: 02:00:00:00:01:01, addresses: [10.99.1.1/24] }
          qr-spare: { mac: 02:00:00:00:02:01, addresses: [10.99.2.1/24] }
        routes: |
          10.99.1.0/24 dev qr-arp proto kernel scope link src 10.99.1.1
          10.99.2.0/24 dev qr-spare proto kernel scope link src 10.99.2.1
          203.0.113.0/24 via 10.99.1.7 dev qr-arp
gateways:
  vm:
    interfaces:
      eth0: { mac: fa:16:3e:b2:ef:af, addresses: [10.99.1.7/24] }
    routes: |
      10.99.1.0/24 dev eth0 proto kernel scope link src 10.99.1.7
  other:
    interfaces:
      eth0: { mac: 02:00:00:00:02:02, addresses: [10.99.2.2/24] }
    routes: |
      10.99.2.0/24 dev eth0 proto kernel scope link src 10.99.2.2
wires:
  - [h:qr-arp, vm:eth0]
  - [h:qr-spare, other:eth0]
`;

const real = new KernelObjects();
const nsA = `dpe-${tag}-ra`, nsB = `dpe-${tag}-rb`, nsC = `dpe-${tag}-rc`;
const dir = mkdtempSync(join(tmpdir(), 'dpemu-arping-'));
const modelFile = join(dir, 'model.yaml');
let d: DaemonProcess;
const labs = new LabDaemons();

before(async () => {
  requireRoot('dpemu arping end-to-end tests');
  requireTool('arping', 'iputils-arping');
  requireTool('tcpdump', 'tcpdump');
  // The model's twin: A the router (qr-spare down), B the VM, C behind qr-spare.
  for (const n of [nsA, nsB, nsC]) {
    real.addNetns(n);
    sh('ip', ['netns', 'exec', n, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  real.veth(`dpe${tag}1`, nsA, 'qr-arp', nsB, 'eth0');
  real.veth(`dpe${tag}2`, nsA, 'qr-spare', nsC, 'eth0');
  const ip = (n: string, ...w: string[]): string => sh('ip', ['-n', n, ...w]);
  ip(nsA, 'link', 'set', 'qr-arp', 'address', '02:00:00:00:01:01');
  ip(nsA, 'link', 'set', 'qr-spare', 'address', '02:00:00:00:02:01', 'down');
  ip(nsB, 'link', 'set', 'eth0', 'address', 'fa:16:3e:b2:ef:af');
  ip(nsC, 'link', 'set', 'eth0', 'address', '02:00:00:00:02:02');
  ip(nsA, 'addr', 'add', '10.99.1.1/24', 'dev', 'qr-arp');
  ip(nsA, 'addr', 'add', '10.99.2.1/24', 'dev', 'qr-spare');
  ip(nsB, 'addr', 'add', '10.99.1.7/24', 'dev', 'eth0');
  ip(nsC, 'addr', 'add', '10.99.2.2/24', 'dev', 'eth0');
  ip(nsA, 'route', 'add', '203.0.113.0/24', 'via', '10.99.1.7', 'dev', 'qr-arp');

  writeFileSync(modelFile, MODEL_YAML);
  d = new DaemonProcess([modelFile]);
  await d.forwarding();
  const down = await model(['ip', 'link', 'set', 'qr-spare', 'down']);
  assert.equal(down.status, 0, down.err);
});

after(async () => {
  await d?.interrupt();
  real.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** A command in the router namespace, real and modelled. */
const inReal = (words: string[], ns = nsA): Promise<Ran> => runApart('ip', ['netns', 'exec', ns, ...words], 60_000);
const model = (words: string[], daemon = d): Promise<Ran> => daemon.apart(['ip', 'h', 'netns', 'exec', MODEL_NS, ...words], 60_000);
/** The same in the VM: its kernel namespace, the model's gateway. */
const inRealVm = (words: string[]): Promise<Ran> => inReal(words, nsB);
const modelVm = async (words: string[]): Promise<Ran> => {
  const [tool, ...rest] = words;
  return d.apart([tool!, 'vm', ...rest], 60_000);
};

/** The times out of the way (arping's half a millisecond too many included). */
const untimed = (s: string): string => s.replace(/ \d+\.\d{3}ms$/gm, ' Tms');

/** Each case through the real arping and the model's, one at a time each side (two arpings on one device read each other's replies). */
async function compare(cases: string[][]): Promise<void> {
  const side = async (run: (w: string[]) => Promise<Ran>): Promise<Ran[]> => {
    const out: Ran[] = [];
    for (const c of cases) out.push(await run(['arping', ...c]));
    return out;
  };
  const [want, got] = await Promise.all([side(inReal), side(model)]);
  cases.forEach((c, i) => {
    const w = want[i]!, g = got[i]!;
    const what = `arping ${c.join(' ')}\n--- real:\n${w.out}${w.err}--- dpemu:\n${g.out}${g.err}`;
    assert.equal(g.status, w.status, what);
    assert.equal(untimed(g.out), untimed(w.out), what);
    assert.equal(g.err, w.err, what);
  });
}

test('neighbour entries after arping, as the kernel learns them: a reply updates an entry but creates none; a request, -U and -A update the VM\'s; -A creates one with arp_accept', { timeout: 120_000 }, async () => {
  const both = async (words: string[], vm = false): Promise<void> => {
    const [w, g] = await Promise.all(vm ? [inRealVm(words), modelVm(words)] : [inReal(words), model(words)]);
    assert.equal(g.status, w.status, `${words.join(' ')}: ${w.err} / ${g.err}`);
  };
  /** Both sides' tables agree; the model's, router's and VM's, returned. */
  const tables = async (when: string): Promise<[string, string]> => {
    const [ra, ma, rb, mb] = await Promise.all([inReal(['ip', 'neigh', 'show']), model(['ip', 'neigh', 'show']), inRealVm(['ip', 'neigh', 'show']), modelVm(['ip', 'neigh', 'show'])]);
    assert.equal(ma.out, ra.out, `${when}: the router's neighbours`);
    assert.equal(mb.out, rb.out, `${when}: the VM's neighbours`);
    return [ma.out, mb.out];
  };
  // REACHABLE lasts a reachable time each side draws from 15-45 s: at load 24 here the steps took longer, and
  // the kernel's entry went STALE while the model's, drawn longer, had not. What arping changes is the
  // question, not the timers: a 10-minute base on both sides while the steps run, back to 30 s after.
  const reach = (ms: number) => Promise.all([both(['sysctl', '-qw', `net.ipv4.neigh.qr-arp.base_reachable_time_ms=${ms}`]), both(['sysctl', '-qw', `net.ipv4.neigh.eth0.base_reachable_time_ms=${ms}`], true)]);
  await reach(600_000);
  await both(['arping', '-I', 'qr-arp', '-c', '1', '10.99.1.7']);
  assert.deepEqual(await tables('after a first arping (the reply not learnt, the request learnt by the VM)'), ['', '10.99.1.1 dev eth0 lladdr 02:00:00:00:01:01 STALE \n']);
  // Entries with a wrong address on both sides, older than locktime (1 s): the reply and the request override them.
  await both(['ip', 'neigh', 'add', '10.99.1.7', 'dev', 'qr-arp', 'lladdr', '02:00:00:00:09:09', 'nud', 'stale']);
  await both(['ip', 'neigh', 'replace', '10.99.1.1', 'dev', 'eth0', 'lladdr', '02:00:00:00:09:09', 'nud', 'stale'], true);
  await tables('entries with a wrong address');
  await new Promise((r) => setTimeout(r, 1500));
  await both(['arping', '-I', 'qr-arp', '-c', '1', '10.99.1.7']);
  assert.deepEqual(await tables('after an arping that found entries'), ['10.99.1.7 dev qr-arp lladdr fa:16:3e:b2:ef:af REACHABLE \n', '10.99.1.1 dev eth0 lladdr 02:00:00:00:01:01 STALE \n']);
  for (const mode of ['-U', '-A']) {
    await both(['ip', 'neigh', 'replace', '10.99.1.1', 'dev', 'eth0', 'lladdr', '02:00:00:00:09:09', 'nud', 'stale'], true);
    await both(['arping', '-I', 'qr-arp', mode, '-c', '1', '10.99.1.1']);
    const [, vm] = await tables(`after arping ${mode} (gratuitous: overrides at once)`);
    assert.equal(vm, '10.99.1.1 dev eth0 lladdr 02:00:00:00:01:01 STALE \n');
  }
  await both(['ip', 'neigh', 'del', '10.99.1.1', 'dev', 'eth0'], true);
  await both(['arping', '-I', 'qr-arp', '-A', '-c', '1', '10.99.1.1']);
  assert.equal((await tables('after arping -A, arp_accept 0: nothing learnt'))[1], '');
  await both(['sysctl', '-qw', 'net.ipv4.conf.eth0.arp_accept=1'], true);
  try {
    await both(['arping', '-I', 'qr-arp', '-A', '-c', '1', '10.99.1.1']);
    assert.equal((await tables('after arping -A, arp_accept 1: learnt'))[1], '10.99.1.1 dev eth0 lladdr 02:00:00:00:01:01 STALE \n');
  } finally {
    await both(['sysctl', '-qw', 'net.ipv4.conf.eth0.arp_accept=0'], true);
    await reach(30_000);
  }
});

test('the same options through the real arping and the model\'s: the same text but for the times, stderr and exit', { timeout: 300_000 }, async () => {
  await compare([
    ['-I', 'qr-arp', '-c', '3', '10.99.1.7'],
    ['-c', '2', '10.99.1.7'],
    ['-I', 'qr-arp', '-c', '2', '10.99.1.99'],
    ['-I', 'qr-arp', '-f', '-c', '5', '10.99.1.7'],
    ['-I', 'qr-arp', '-q', '-c', '2', '10.99.1.7'],
    ['-I', 'qr-arp', '-q', '-c', '1', '10.99.1.98'],
    ['-I', 'qr-arp', '-b', '-c', '2', '10.99.1.7'],
    ['-I', 'qr-arp', '-c', '2', '-w', '5', '10.99.1.7'],
    ['-I', 'qr-arp', '-c', '3', '-w', '1', '10.99.1.97'],
    ['-I', 'qr-arp', '-c', '1', '-w', '1', '-i', '0', '10.99.1.96'],
    ['-I', 'qr-arp', '-s', '10.99.1.1', '-c', '1', '10.99.1.7'],
    ['-I', 'qr-arp', '-s', '0.0.0.0', '-c', '1', '10.99.1.7'],
    ['-c', '1', '203.0.113.5'],
    ['-I', 'qr-arp', '-D', '-c', '2', '10.99.1.7'],
    ['-I', 'qr-arp', '-D', '-c', '1', '10.99.1.95'],
    ['-I', 'qr-arp', '-U', '-c', '2', '10.99.1.1'],
    ['-I', 'qr-arp', '-A', '-c', '1', '10.99.1.1'],
  ]);
});

test('refused as the real arping refuses: devices, addresses, options', { timeout: 120_000 }, async () => {
  await compare([
    ['-I', 'nope', '-c', '1', '10.99.1.7'],
    ['-I', 'nope', '-s', 'bad', '-c', '1', '10.99.1.7'],
    ['-c', '1', '198.51.100.5'],
    ['-c', '1', '10.99.1.1'],
    ['-I', 'lo', '-c', '1', '10.99.1.7'],
    ['-q', '-I', 'lo', '-c', '1', '10.99.1.7'],
    ['-D', '-I', 'lo', '-c', '1', '10.99.1.7'],
    ['-I', 'qr-spare', '-c', '1', '10.99.2.2'],
    ['-q', '-I', 'qr-spare', '-c', '1', '10.99.2.2'],
    ['-I', 'qr-arp', '-s', '10.99.1.50', '-c', '1', '10.99.1.7'],
    ['-I', 'qr-arp', '-s', 'bad', '-c', '1', '10.99.1.7'],
    ['-I', 'qr-arp', '-c', '1', '10.99.1.255'],
    ['-c', '0', '10.99.1.7'],
    ['-c', '3x', '10.99.1.7'],
    ['-i', '0.5', '10.99.1.7'],
    ['-w', '-1', '10.99.1.7'],
    ['-x', '10.99.1.7'],
    ['-I', 'qr-arp'],
    ['-w'],
    ['-h'],
    ['-V'],
  ]);
});

test('a host name, looked up as the real arping does in the namespace (ip netns exec mounts /etc/netns/NS/hosts): its address, or getaddrinfo\'s failure', { timeout: 120_000 }, async () => {
  await withNetnsHosts([nsA, MODEL_NS], '10.99.1.7 dpe-vm dpe-vm-alias\n192.0.2.010 dpe-octal\n', async () => {
    await compare([
      ['-I', 'qr-arp', '-c', '1', 'dpe-vm'],
      ['-I', 'qr-arp', '-c', '1', 'DPE-VM-Alias'],
      ['-I', 'qr-arp', '-c', '1', 'dpe-octal'],
      ['-I', 'qr-arp', '-c', '1', 'dpe-nohost'],
      ['-I', 'qr-arp', '-c', '1', '10.99.1.256'],
      ['-I', 'qr-arp', '-c', '1', 'dpe-x#y'],
    ]);
  });
});

test('the frames on the VM\'s wire: broadcast then unicast requests and the replies, -D\'s probe, -U\'s and -A\'s announcements', { timeout: 120_000 }, async () => {
  const runs = [['-I', 'qr-arp', '-c', '2', '10.99.1.7'], ['-I', 'qr-arp', '-D', '-c', '1', '10.99.1.94'], ['-I', 'qr-arp', '-U', '-c', '1', '10.99.1.1'], ['-I', 'qr-arp', '-A', '-c', '1', '10.99.1.1']];
  const capReal = (await tcpdumpIn(nsB, ['-nnee', '-t', '-l', '-c', '7', '-i', 'eth0', 'arp'], 40_000)).ended;
  const capModel = (await dpemuTcpdump(d, ['-nnee', '-t', '-l', '-c', '7', '-i', 'vm:eth0', 'arp'])).ended;
  for (const c of runs) {
    const [w, g] = await Promise.all([inReal(['arping', ...c]), model(['arping', ...c])]);
    assert.equal(g.status, w.status, `${c.join(' ')}: ${w.out}${w.err} / ${g.out}${g.err}`);
  }
  const [want, got] = [await capReal, await capModel];
  const frames = (s: string): string[] => s.split('\n').filter((l) => l.includes('ARP'));
  assert.equal(frames(want.out).length, 7, want.out + want.err);
  assert.deepEqual(frames(got.out), frames(want.out));
});

test('in the lab, from w07\'s qrouter: the VM\'s kernel answers through br-int and the qbr, unicast after the first', { timeout: 90_000 }, async () => {
  const { d: labd } = await labs.start([]);
  const r = await labd.apart(['ip', 'w07', 'netns', 'exec', QROUTER, 'arping', '-I', 'qr-178fc8e2-fd', '-c', '3', '192.168.1.7'], 60_000);
  assert.equal(r.status, 0, r.err);
  assert.equal(r.err, '');
  assert.equal(untimed(r.out), `ARPING 192.168.1.7 from 192.168.1.1 qr-178fc8e2-fd
${'Unicast reply from 192.168.1.7 [FA:16:3E:B2:EF:AF]  Tms\n'.repeat(3)}Sent 3 probes (1 broadcast(s))
Received 3 response(s)
`);
});

test('dpemu arping with the engine inline (--workers 0), and through `dpemu arping NODE -n NS`', { timeout: 180_000 }, async () => {
  const inline = new DaemonProcess([modelFile, '--workers', '0']);
  try {
    await inline.forwarding();
    const c = ['-I', 'qr-arp', '-c', '2', '10.99.1.7'];
    const want = await inReal(['arping', ...c]);
    const got = await model(['arping', ...c], inline);
    const direct = await inline.apart(['arping', 'h', '-n', MODEL_NS, ...c], 60_000);
    for (const r of [got, direct]) {
      assert.equal(r.status, 0, r.err);
      assert.equal(untimed(r.out), untimed(want.out));
    }
  } finally {
    await inline.interrupt();
  }
});
