// IPv4 record route and timestamp options (ping -R, -T tsonly|tsandaddr)
// through the lab's emulated routers, beside a kernel chain built as the
// emulated path is: the VM (192.168.1.7) and the qrouter (192.168.1.1) on
// one segment with the snat namespace (192.168.1.6, SNAT to 198.51.100.200
// out of 169.254.96.32), then the fip namespace (169.254.96.33,
// 10.206.221.195), the ToR (10.206.221.193, 203.0.113.1) and the internet
// host 203.0.113.8. Both the emulated qrouter's ping and the lab VM's real
// ping must print what the real ping prints in the kernel chain: each
// router's address of the way out in RR (later replies "(same route)": the
// routers' cached routes write them too), the receiving side's address and
// the time in TS, the overflow as unrecorded hops. tcpdump -v of the frames
// after SNAT is compared too (fragments, a time exceeded echoing the RR), and
// a bad option's parameter problem as the lab VM sees it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { DaemonProcess, dpemuTcpdump } from './daemon-process.js';
import { UniqueLab } from './lab-dvr.js';
import { KernelObjects, sh, uniqueTag, runApart, type Ran, tcpdumpIn } from './lab-names.js';

const QROUTER = 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479';
const SNAT = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
const RFP = 'rfp-c4d4b760-4';
const FIP = 'fip-4617ac50-7b34-4b05-811d-b2afc741d446';
const FPR = 'fpr-c4d4b760-4';

let lab: UniqueLab;
let d: DaemonProcess;
const real = new KernelObjects();
const tag = uniqueTag();
const ns = (r: string) => `dpe-${tag}-${r}`;

/** A veth from `a` (named `an` there) to `b` (named `bn`). */
const veth = (i: number, a: string, an: string, b: string, bn: string): void => real.veth(`dpe${tag}${i}`, a, an, b, bn);

const inNs = (n: string, cmd: string[]) => sh('ip', ['netns', 'exec', n, ...cmd]);

before(async () => {
  requireRoot('ping IP options end-to-end tests');
  requireTool('ping', 'iputils-ping');
  requireTool('tcpdump', 'tcpdump');
  requireTool('iptables', 'iptables');
  lab = new UniqueLab();
  d = new DaemonProcess([lab.file, '--lab']);
  const [l2, vm, qa, s1, f2, t3, h] = ['l2', 'vm', 'qa', 's1', 'f2', 't3', 'h'].map((r) => real.addNetns(ns(r)));
  sh('ip', ['-n', l2!, 'link', 'add', 'br0', 'type', 'bridge']);
  sh('ip', ['-n', l2!, 'link', 'set', 'br0', 'up']);
  [vm, qa, s1].forEach((n, i) => {
    veth(i, l2!, `p${i}`, n!, 'eth0');
    sh('ip', ['-n', l2!, 'link', 'set', `p${i}`, 'master', 'br0']);
  });
  veth(3, s1!, 'eth1', f2!, 'eth0');
  veth(4, f2!, 'eth1', t3!, 'eth0');
  veth(5, t3!, 'eth1', h!, 'eth0');
  const addr = (n: string, dev: string, a: string) => sh('ip', ['-n', n, 'addr', 'add', a, 'dev', dev]);
  const route = (n: string, ...r: string[]) => sh('ip', ['-n', n, 'route', 'add', ...r]);
  addr(vm!, 'eth0', '192.168.1.7/24');
  addr(qa!, 'eth0', '192.168.1.1/24');
  addr(s1!, 'eth0', '192.168.1.6/24');
  addr(s1!, 'eth1', '169.254.96.32/31');
  addr(s1!, 'eth1', '198.51.100.200/32');
  addr(f2!, 'eth0', '169.254.96.33/31');
  addr(f2!, 'eth1', '10.206.221.195/26');
  addr(t3!, 'eth0', '10.206.221.193/26');
  addr(t3!, 'eth1', '203.0.113.1/24');
  addr(h!, 'eth0', '203.0.113.8/24');
  for (const n of [qa, s1, f2, t3]) inNs(n!, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  // The qrouter sends the VM's packets back out of the segment to the snat namespace without a redirect, as the emulated one does.
  for (const k of ['all', 'eth0']) inNs(qa!, ['sysctl', '-qw', `net.ipv4.conf.${k}.send_redirects=0`]);
  route(vm!, 'default', 'via', '192.168.1.1');
  route(qa!, '203.0.113.0/24', 'via', '192.168.1.6');
  route(s1!, 'default', 'via', '169.254.96.33');
  route(f2!, '198.51.100.200', 'via', '169.254.96.32');
  route(f2!, 'default', 'via', '10.206.221.193');
  route(t3!, '198.51.100.200', 'via', '10.206.221.195');
  route(h!, 'default', 'via', '203.0.113.1');
  inNs(s1!, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '192.168.1.0/24', '-o', 'eth1', '-j', 'SNAT', '--to-source', '198.51.100.200']);
  await d.forwarding();
});

after(async () => {
  await d?.interrupt();
  lab?.cleanup();
  real.cleanup();
});

const dpemu = (words: string[]): Promise<Ran> => d.apart(words);
const inKernel = (n: string, cmd: string[]): Promise<Ran> => runApart('ip', ['netns', 'exec', ns(n), ...cmd]);

/** The times masked: RTTs, TS's first time ("A absolute") and the differences after it ("D"). */
const untimed = (s: string) =>
  s
    .replace(/time=\S+ ms/g, 'time=T ms')
    .replace(/time \d+ms/g, 'time Tms')
    .replace(/^rtt .*$/m, 'rtt R')
    .replace(/\t\d+ absolute/g, '\tA absolute')
    .replace(/\t-?\d+$/gm, '\tD');

/** Every "N absolute" is a time of day: milliseconds since midnight UTC, now (inet_current_timestamp). */
function timesOfDay(s: string): void {
  for (const m of s.matchAll(/\t(\d+) absolute/g)) {
    const ago = (Date.now() % 86_400_000) - Number(m[1]);
    assert.ok(ago >= 0 && ago < 60_000, `${m[1]} is not a time of day just before ${Date.now() % 86_400_000}`);
  }
}

function same(args: string[], want: Ran, got: Ran): void {
  const what = `ping ${args.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
  assert.equal(got.status, want.status, what);
  assert.equal(untimed(got.out), untimed(want.out), what);
  assert.equal(got.err, want.err, what);
  timesOfDay(want.out);
  timesOfDay(got.out);
}

/** The emulated qrouter's ping beside the kernel one's. */
async function sameFromQrouter(args: string[]): Promise<string> {
  const want = await inKernel('qa', ['ping', ...args]);
  const got = await dpemu(['ip', 'w07', 'netns', 'exec', QROUTER, 'ping', ...args]);
  same(args, want, got);
  return want.out;
}

const P = ['-I', '192.168.1.1', '203.0.113.8'];

/** tcpdump -t -v's frame lines, IP ids and TS times masked. */
const frameLines = (s: string) =>
  s
    .split('\n')
    .filter((l) => l.startsWith('IP ') || l.startsWith('    '))
    .map((l) => l.replace(/\bid \d+/g, 'id I').replace(/\b[1-9]\d*@/g, 'T@'));

test('-R: each router records its way out; the host twice; later replies "(same route)"', { timeout: 120_000 }, async () => {
  const out = await sameFromQrouter(['-R', '-c', '3', '-i', '0.2', ...P]);
  assert.match(out, / 56\(124\) bytes of data\.\n/);
  assert.match(out, /RR: \t192\.168\.1\.1\n\t169\.254\.96\.32\n\t10\.206\.221\.195\n\t203\.0\.113\.1\n\t203\.0\.113\.8\n\t203\.0\.113\.8\n\t10\.206\.221\.193\n\t169\.254\.96\.33\n\t192\.168\.1\.6\n\n/);
  assert.equal(out.match(/\t\(same route\)\n/g)?.length, 2);
});

/** The link between the snat namespace and the fip namespace (s1-f2 in the kernel): MTU `mtu` on both sides. */
async function narrow(mtu: number): Promise<void> {
  for (const [n, dev] of [[ns('s1'), 'eth1'], [ns('f2'), 'eth0']]) sh('ip', ['-n', n!, 'link', 'set', dev!, 'mtu', String(mtu)]);
  for (const [n, dev] of [[SNAT, RFP], [FIP, FPR]]) {
    const m = await dpemu(['ip', 'w02', 'netns', 'exec', n!, 'ip', 'link', 'set', dev!, 'mtu', String(mtu)]);
    assert.equal(m.status, 0, m.err);
  }
}

test('-R in fragments: RR only in the first (not copied), NOPs after; reassembled, echoed, cut again on the way back', { timeout: 120_000 }, async () => {
  await narrow(1300);
  try {
    const filter = ['-nn', '-t', '-v', '-c', '4', 'icmp'];
    const emu = await dpemuTcpdump(d, ['-i', `w02:${SNAT}:${RFP}`, ...filter]);
    const kern = (await tcpdumpIn(ns('s1'), ['-i', 'eth1', ...filter], 60_000)).ended;
    const out = await sameFromQrouter(['-R', '-c', '1', '-M', 'dont', '-s', '1350', ...P]);
    assert.match(out, /RR: \t192\.168\.1\.1\n/);
    const [want, got] = [frameLines((await kern).out), frameLines((await emu.ended).out)];
    assert.deepEqual(got, want);
    assert.match(want.join('\n'), /offset 1240, flags \[none\], proto ICMP \(1\), length 178, options \(NOP,NOP,/);
  } finally {
    await narrow(1500);
  }
});

test('-T tsonly and tsandaddr: times of day, the receiving addresses, unrecorded hops', { timeout: 120_000 }, async () => {
  const only = await sameFromQrouter(['-T', 'tsonly', '-c', '2', '-i', '0.2', ...P]);
  assert.match(only, /Unrecorded hops: 1\n/);
  const addr = await sameFromQrouter(['-T', 'tsandaddr', '-c', '2', '-i', '0.2', ...P]);
  assert.match(addr, /TS: \t192\.168\.1\.1\t\d+ absolute\n\t192\.168\.1\.6\t\d+\n\t169\.254\.96\.33\t\d+\n\t10\.206\.221\.193\t\d+\nUnrecorded hops: 5\n/);
  // Through a single router (the snat namespace) and back; and -T tsprespec without gateways (a 4-byte option nobody fills).
  await sameFromQrouter(['-T', 'tsandaddr', '-c', '1', '-I', '192.168.1.1', '192.168.1.6']);
  await sameFromQrouter(['-R', '-c', '1', '-I', '192.168.1.1', '192.168.1.6']);
  await sameFromQrouter(['-T', 'tsprespec', '-c', '1', ...P]);
  // To its own address: through lo, compiled on the way in as any received packet.
  for (const o of [['-R'], ['-T', 'tsandaddr']]) await sameFromQrouter([...o, '-c', '1', '-I', '192.168.1.1', '192.168.1.1']);
});

test('-R, -T: the same refusals as iputils', { timeout: 60_000 }, async () => {
  for (const c of [['-R', '-T', 'tsonly', '203.0.113.8'], ['-T', 'tsonly', '-R', '203.0.113.8'], ['-T', 'foo', '203.0.113.8'], ['-c', '1', '-R', '192.168.1.6', '203.0.113.8'], ['-c', '1', '-T', 'tsonly', '192.168.1.6', '203.0.113.8']]) {
    const want = await inKernel('qa', ['ping', ...c]);
    const got = await dpemu(['ip', 'w07', 'netns', 'exec', QROUTER, 'ping', ...c]);
    assert.equal(got.status, want.status, c.join(' '));
    assert.equal(got.out, want.out, c.join(' '));
    assert.equal(got.err, want.err, c.join(' '));
  }
});

test("the lab VM's own ping -R and -T tsandaddr record the emulated routers as kernel routers would", { timeout: 120_000 }, async () => {
  for (const args of [['-R', '-c', '2', '-i', '0.2', '203.0.113.8'], ['-T', 'tsandaddr', '-c', '2', '-i', '0.2', '203.0.113.8']]) {
    const want = await inKernel('vm', ['ping', ...args]);
    const got = await runApart('ip', ['netns', 'exec', lab.nsVm, 'ping', ...args]);
    same(args, want, got);
  }
});

/** An echo request from 0.0.0.0 (the kernel fills in the source) with a record route whose pointer is 3 (IP_HDRINCL). */
const BAD_RR = `
import socket, struct, sys
dst = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
icmp = struct.pack('!BBHHH', 8, 0, 0, 0x4242, 1) + bytes(range(16))
c = sum(struct.unpack('!12H', icmp)); c = (c >> 16) + (c & 0xffff); c += c >> 16
icmp = icmp[:2] + struct.pack('!H', ~c & 0xffff) + icmp[4:]
hdr = struct.pack('!BBHHHBBH4s4s', 0x47, 0, 0, 0x1234, 0, 64, 1, 0, bytes(4), socket.inet_aton(dst))
s.sendto(hdr + bytes([7, 7, 3, 0, 0, 0, 0, 0]) + icmp, (dst, 0))
`;

test('a bad option (RR pointer 3): parameter problem pointing at it, from a router and from the destination', { timeout: 120_000 }, async () => {
  requireTool('python3', 'python3');
  for (const dst of ['192.168.1.1', '203.0.113.8']) {
    const filter = ['-nn', '-t', '-v', '-c', '2', 'icmp'];
    const emu = (await tcpdumpIn(lab.nsVm, ['-i', 'eth0', ...filter], 30_000)).ended;
    const kern = (await tcpdumpIn(ns('vm'), ['-i', 'eth0', ...filter], 30_000)).ended;
    for (const n of [lab.nsVm, ns('vm')]) sh('ip', ['netns', 'exec', n, 'python3', '-c', BAD_RR, dst]);
    const [want, got] = [frameLines((await kern).out), frameLines((await emu).out)];
    assert.deepEqual(got, want, dst);
    assert.match(want.join('\n'), /192\.168\.1\.1 > 192\.168\.1\.7: ICMP parameter problem - octet 22/);
  }
});

test('tcpdump -v after SNAT: the options as the real tcpdump decodes them, echoed in a time exceeded too', { timeout: 120_000 }, async () => {
  const filter = ['-nn', '-t', '-v', '-c', '6', 'icmp'];
  const emu = await dpemuTcpdump(d, ['-i', `w02:${SNAT}:${RFP}`, ...filter]);
  const kern = (await tcpdumpIn(ns('s1'), ['-i', 'eth1', ...filter], 60_000)).ended;
  for (const o of [['-R'], ['-T', 'tsandaddr'], ['-R', '-t', '2']]) await sameFromQrouter([...o, '-c', '1', ...P]);
  const [want, got] = [frameLines((await kern).out), frameLines((await emu.ended).out)];
  assert.deepEqual(got, want);
  assert.match(want.join('\n'), /options \(NOP,RR 192\.168\.1\.1, 169\.254\.96\.32, 0\.0\.0\.0 /);
  // The fip namespace's time exceeded: the request's RR echoed with its address twice (input, then the error's own).
  assert.match(want.join('\n'), /options \(RR 192\.168\.1\.1, 169\.254\.96\.32, 169\.254\.96\.33, 169\.254\.96\.33, 0\.0\.0\.0 .*\n {4}169\.254\.96\.33 > 198\.51\.100\.200: ICMP time exceeded in-transit/);
});
