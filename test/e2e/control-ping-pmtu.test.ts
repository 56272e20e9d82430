// `dpemu ping -M do|want|dont` (and -B) against the lab daemon, beside the
// real ping in a kernel chain built as the emulated path is: the qrouter
// (192.168.1.1 on a device named as its qr- port) pings the internet host
// 203.0.113.8 through three routers, the first (192.168.1.6, the snat
// namespace's sg- address) with a 1300-byte link onward. The emulated snat
// namespace's rfp- link to the fip namespace gets the same MTU (its datagrams
// cross a VXLAN tunnel first: 1450 bytes at most). Both routers answer a
// longer DF datagram with fragmentation needed; the pinging namespace
// learns the path MTU (ip route get), and later sends fail locally, or leave
// in fragments, as -M says. Outputs compared with times masked, the echo
// requests' frames compared on the wire (DF, fragments) with tcpdump.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { DaemonProcess, dpemuTcpdump } from './daemon-process.js';
import { UniqueLab } from './lab-dvr.js';
import { KernelObjects, sh, uniqueTag, runApart, type Ran, tcpdumpIn } from './lab-names.js';
import { checksum } from '../../src/wire/checksum.js';

const QROUTER = 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479';
const SNAT = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
const QR_DEV = 'qr-178fc8e2-fd';
const FIP = 'fip-4617ac50-7b34-4b05-811d-b2afc741d446';
const RFP = 'rfp-c4d4b760-4', FPR = 'fpr-c4d4b760-4';

let lab: UniqueLab;
let d: DaemonProcess;
const real = new KernelObjects();
const tag = uniqueTag();
const nsA = `dpe-${tag}-ma`;

before(async () => {
  requireRoot('dpemu ping -M end-to-end tests');
  requireTool('ping', 'iputils-ping');
  requireTool('tcpdump', 'tcpdump');
  lab = new UniqueLab();
  d = new DaemonProcess([lab.file, '--lab']);
  // A - R1 - R2 - R3 - H: three hops as qrouter -> snat -> fip -> tor -> internet host; R1's link onward 1300.
  const ns = ['ma', 'm1', 'm2', 'm3', 'mh'].map((r) => real.addNetns(`dpe-${tag}-${r}`));
  const addrs = [['192.168.1.1/24', '192.168.1.6/24'], ['10.0.1.1/30', '10.0.1.2/30'], ['10.0.2.1/30', '10.0.2.2/30'], ['203.0.113.1/24', '203.0.113.8/24']];
  for (let i = 0; i < 4; i++) {
    const left = i === 0 ? QR_DEV : 'eth1';
    real.veth(`dpe${tag}${i}`, ns[i]!, left, ns[i + 1]!, 'eth0');
    sh('ip', ['-n', ns[i]!, 'addr', 'add', addrs[i]![0]!, 'dev', left]);
    sh('ip', ['-n', ns[i + 1]!, 'addr', 'add', addrs[i]![1]!, 'dev', 'eth0']);
  }
  for (const n of ns.slice(1, 4)) sh('ip', ['netns', 'exec', n, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  sh('ip', ['-n', ns[0]!, 'route', 'add', '203.0.113.0/24', 'via', '192.168.1.6']);
  sh('ip', ['-n', ns[1]!, 'route', 'add', 'default', 'via', '10.0.1.2']);
  sh('ip', ['-n', ns[2]!, 'route', 'add', '203.0.113.0/24', 'via', '10.0.2.2']);
  sh('ip', ['-n', ns[2]!, 'route', 'add', 'default', 'via', '10.0.1.1']);
  sh('ip', ['-n', ns[3]!, 'route', 'add', 'default', 'via', '10.0.2.1']);
  sh('ip', ['-n', ns[4]!, 'route', 'add', 'default', 'via', '203.0.113.1']);
  await d.forwarding();
  await narrow(1300);
});

after(async () => {
  await d?.interrupt();
  lab?.cleanup();
  real.cleanup();
});

const dpemu = (words: string[]): Promise<Ran> => d.apart(words);
/** A command in the kernel's qrouter twin, and in the emulated qrouter. */
const inA = (cmd: string[]): Promise<Ran> => runApart('ip', ['netns', 'exec', nsA, ...cmd]);
const inQrouter = (cmd: string[]): Promise<Ran> => dpemu(['ip', 'w07', 'netns', 'exec', QROUTER, ...cmd]);

/** A line as a terminal shows it (-f's backspaces). */
function screen(line: string): string {
  const cells: string[] = [];
  let col = 0;
  for (const ch of line) {
    if (ch === '\b') col = Math.max(0, col - 1);
    else cells[col++] = ch;
  }
  return cells.join('').trimEnd();
}

const untimed = (s: string) =>
  s.replace(/time=\S+ ms/g, 'time=T ms').replace(/time \d+ms/g, 'time Tms').replace(/^rtt .*$/m, 'rtt R').replace(/ipg\/ewma \S+ ms/, 'ipg/ewma G ms').split('\n').map(screen).join('\n');
/** ip route get's second line, its expiry masked (the first names the emulated qrouter's policy table). */
const cacheLine = (s: string) => (s.split('\n')[1] ?? '').replace(/expires \d+sec/, 'expires Nsec');

async function same(args: string[]): Promise<void> {
  const want = await inA(['ping', ...args]), got = await inQrouter(['ping', ...args]);
  const what = `ping ${args.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
  assert.equal(got.status, want.status, what);
  assert.equal(untimed(got.out), untimed(want.out), what);
  assert.equal(got.err, want.err, what);
}

async function sameRoute(): Promise<string> {
  const q = ['ip', 'route', 'get', '203.0.113.8', 'from', '192.168.1.1'];
  const want = await inA(q), got = await inQrouter(q);
  assert.equal(got.status, 0, got.err);
  assert.equal(cacheLine(got.out), cacheLine(want.out), `--- real:\n${want.out}--- dpemu:\n${got.out}`);
  // -j: from the cache flags on (the emulated qrouter's answer names its table before them).
  const j = ['ip', '-j', ...q.slice(1)];
  const tail = (s: string) => s.slice(s.indexOf('"cache"')).replace(/"expires":\d+/, '"expires":N');
  const [wj, gj] = [await inA(j), await inQrouter(j)];
  assert.equal(tail(gj.out), tail(wj.out));
  return cacheLine(got.out);
}

async function flush(): Promise<void> {
  sh('ip', ['-n', nsA, 'route', 'flush', 'cache']);
  const m = await inQrouter(['ip', 'route', 'flush', 'cache']);
  assert.equal(m.status, 0, m.err);
}

const P = ['-I', '192.168.1.1', '203.0.113.8'];

test('-M do: the router\'s fragmentation needed, the learned path MTU, then local errors; want and dont fragment to it', { timeout: 180_000 }, async () => {
  await flush();
  assert.equal(await sameRoute(), '    cache ');
  await same(['-c', '2', '-i', '0.2', '-M', 'do', '-s', '1400', ...P]);
  assert.equal(await sameRoute(), '    cache expires Nsec mtu 1300 ');
  for (const c of [
    ['-c', '2', '-i', '0.2', '-M', 'do', '-s', '1400', ...P],
    ['-c', '1', '-M', 'do', '-s', '1272', ...P],
    ['-c', '1', '-q', '-W', '1', '-M', 'do', '-s', '1273', ...P],
    ['-c', '3', '-f', '-M', 'do', '-s', '1400', ...P],
    ['-c', '1', '-M', 'want', '-s', '1400', ...P],
    ['-c', '1', '-M', 'dont', '-s', '3000', ...P],
    ['-c', '1', '-s', '1400', ...P],
  ]) await same(c);
  await flush();
  // WANT sets DF on what fits the link: the router answers it too.
  await same(['-c', '1', '-M', 'want', '-s', '1400', ...P]);
  assert.equal(await sameRoute(), '    cache expires Nsec mtu 1300 ');
  await flush();
  await same(['-c', '1', '-M', 'dont', '-s', '1400', ...P]);
  assert.equal(await sameRoute(), '    cache ');
});

test('-M probe (not in 20221126), -M missing, -B: as the real ping', { timeout: 60_000 }, async () => {
  for (const c of [['-M', 'probe', '203.0.113.8'], ['-M', 'x', '203.0.113.8'], ['-c', '1', '-M'], ['-c', '1', '-B', '192.168.1.6'], ['-c', '1', '-B', '-M', 'dont', '-s', '1400', '192.168.1.6']]) {
    await same(c);
  }
});

/** tcpdump's -v lines of the echo requests' frames, IP id masked but for 0 (DF from a DO socket). */
const framesOf = (s: string) => s.split('\n').filter((l) => l.startsWith('IP ')).map((l) => l.replace(/id [1-9]\d*/, 'id I')).join('\n');

/** Capture `count` of the pinging namespace's echo request frames on both sides while `act` runs: the real and the emulated lines. */
async function frames(count: number, act: () => Promise<void>): Promise<[string, string]> {
  const filter = ['-nn', '-t', '-v', '-c', String(count), 'ip proto 1 and src host 192.168.1.1'];
  const emu = await dpemuTcpdump(d, ['-i', `w07:${QROUTER}:${QR_DEV}`, ...filter]);
  const kern = (await tcpdumpIn(nsA, ['-i', QR_DEV, ...filter], 60_000)).ended;
  await act();
  return [framesOf((await kern).out), framesOf((await emu.ended).out)];
}

/** The first link onward (R1's in the kernel, the snat namespace's rfp- in the emulator) and its peer: MTU `mtu`. */
async function narrow(mtu: number): Promise<void> {
  for (const [n, dev] of [[`dpe-${tag}-m1`, 'eth1'], [`dpe-${tag}-m2`, 'eth0']]) sh('ip', ['-n', n!, 'link', 'set', dev!, 'mtu', String(mtu)]);
  for (const [n, dev] of [[SNAT, RFP], [FIP, FPR]]) {
    const m = await dpemu(['ip', 'w02', 'netns', 'exec', n!, 'ip', 'link', 'set', dev!, 'mtu', String(mtu)]);
    assert.equal(m.status, 0, m.err);
  }
}


test('on the wire: DF as -M sets it, fragments of the learned path MTU, nothing for a local error', { timeout: 180_000 }, async () => {
  // do (DF, ID 0, answered by the router); after a flush want (DF, 1428: answered too), dont (2 fragments of 1300),
  // do (a local error: nothing), want (2 fragments).
  const [want, got] = await frames(6, async () => {
    await flush();
    await same(['-c', '1', '-M', 'do', '-s', '1400', ...P]);
    await flush();
    for (const m of ['want', 'dont', 'do', 'want']) await same(['-c', '1', '-M', m, '-s', '1400', ...P]);
  });
  assert.equal(got, want);
  assert.match(want, /^IP \(tos 0x0, ttl 64, id 0, offset 0, flags \[DF\], proto ICMP \(1\), length 1428\)\nIP \(tos 0x0, ttl 64, id I, offset 0, flags \[DF\], proto ICMP \(1\), length 1428\)\n.*offset 0, flags \[\+\].*length 1300\)\n.*offset 1280, flags \[none\].*length 148\)\n/);
});

test('a path MTU below min_pmtu: 552, locked; WANT then sends without DF', { timeout: 120_000 }, async () => {
  await narrow(500);
  try {
    await flush();
    await same(['-c', '2', '-i', '0.2', '-M', 'do', '-s', '1000', ...P]);
    assert.equal(await sameRoute(), '    cache expires Nsec mtu lock 552 ');
    const [want, got] = await frames(1, () => same(['-c', '1', '-M', 'want', '-s', '400', ...P]));
    assert.equal(got, want);
    assert.match(want, /^IP \(tos 0x0, ttl 64, id I, offset 0, flags \[none\], proto ICMP \(1\), length 428\)/);
  } finally {
    await narrow(1300);
    await flush();
  }
});

/** Sends argv[1] (an IP datagram in hex) on a raw socket to argv[2]: the kernel fills in the header's checksum. */
const RAW_SEND = `import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(bytes.fromhex(sys.argv[1]), (sys.argv[2], 0))
`;

/** An ICMP fragmentation needed (MTU `mtu`) from `src` to 192.168.1.1 quoting an ICMP message of type `type` it sent to 203.0.113.8. */
function fragNeeded(src: string, type: number, mtu: number): string {
  const ip = (from: string, to: string, payload: number[]): number[] => {
    const len = 20 + payload.length, a = from.split('.').map(Number), b = to.split('.').map(Number);
    return [0x45, 0, len >> 8, len & 255, 0x12, 0x34, 0, 0, 64, 1, 0, 0, ...a, ...b, ...payload];
  };
  const quoted = ip('192.168.1.1', '203.0.113.8', [type, 0, 0, 0, 0x77, 0x77, 0, 1]);
  const icmp = new Uint8Array([3, 4, 0, 0, 0, 0, mtu >> 8, mtu & 255, ...quoted]);
  const c = checksum(icmp, 0, icmp.length);
  icmp[2] = c >> 8;
  icmp[3] = c & 255;
  return Buffer.from(ip(src, '192.168.1.1', [...icmp])).toString('hex');
}

test('a fragmentation needed about the stack\'s own echo reply teaches the path MTU with no socket open; one about an echo request does not', { timeout: 60_000 }, async () => {
  // icmp_err -> ipv4_update_pmtu for a quoted echo reply; ping_err (no ping socket) for anything else.
  for (const [type, want] of [[8, '    cache '], [0, '    cache expires Nsec mtu 1200 ']] as const) {
    await flush();
    assert.equal(await sameRoute(), '    cache ');
    sh('ip', ['netns', 'exec', `dpe-${tag}-m1`, 'python3', '-c', RAW_SEND, fragNeeded('192.168.1.6', type, 1200), '192.168.1.1']);
    sh('ip', ['netns', 'exec', lab.nsVm, 'python3', '-c', RAW_SEND, fragNeeded('192.168.1.7', type, 1200), '192.168.1.1']);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await sameRoute(), want);
  }
});
