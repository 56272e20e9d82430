// `dpemu ping` and `dpemu ip NODE netns exec NS ping` against the lab daemon
// (configs/lab-dvr-snat.yaml, default datapath workers): echo requests from
// w07's qrouter namespace itself, across the emulated DVR path to the real
// internet host's namespace (SNAT on w02) and to the real VM namespace; the
// lines, statistics and exit statuses as iputils ping prints them. Then the
// same options through a real ping in real namespaces (dpe-… names, a veth
// named as the qrouter's qr- device, the same addresses): the same text but
// for the times, and the same exit statuses.
import { after, before, test } from 'node:test';
import { execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { DaemonProcess, DPEMU } from './daemon-process.js';
import { UniqueLab } from './lab-dvr.js';
import { KernelObjects, run, sh, uniqueTag } from './lab-names.js';

const QROUTER = 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479';
const SNAT = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
const QR_DEV = 'qr-178fc8e2-fd';

let lab: UniqueLab;
let d: DaemonProcess;
const real = new KernelObjects();
const tag = uniqueTag();
const nsA = `dpe-${tag}-pa`, nsB = `dpe-${tag}-pb`;

before(async () => {
  requireRoot('dpemu ping end-to-end tests');
  requireTool('ping', 'iputils-ping');
  lab = new UniqueLab();
  d = new DaemonProcess([lab.file, '--lab']);
  await d.waitLog((l) => l.msg === 'forwarding', 30_000);
  // The kernel's twin of the qrouter's subnet: A is the router's side (192.168.1.1 on a device named
  // as the qr- port), B the VM (192.168.1.7); nothing answers 192.168.1.99, no route leaves the subnet.
  real.addNetns(nsA);
  real.addNetns(nsB);
  const va = `dpe${tag}a`, vb = `dpe${tag}b`;
  real.ownLink(va);
  sh('ip', ['link', 'add', va, 'type', 'veth', 'peer', 'name', vb]);
  sh('ip', ['link', 'set', va, 'netns', nsA, 'name', QR_DEV]);
  sh('ip', ['link', 'set', vb, 'netns', nsB, 'name', 'eth0']);
  sh('ip', ['-n', nsA, 'addr', 'add', '192.168.1.1/24', 'dev', QR_DEV]);
  sh('ip', ['-n', nsB, 'addr', 'add', '192.168.1.7/24', 'dev', 'eth0']);
  sh('ip', ['-n', nsA, 'link', 'set', QR_DEV, 'up']);
  sh('ip', ['-n', nsB, 'link', 'set', 'eth0', 'up']);
});

after(async () => {
  if (d && d.exitCode === null) {
    d.signal('SIGINT');
    await d.exit(10_000).catch(() => d.child.kill('SIGKILL'));
  }
  lab?.cleanup();
  real.cleanup();
});

type Ran = { status: number | null; out: string; err: string };

/** Run a program without blocking the event loop: stdout, stderr and exit status apart. */
function exec(file: string, args: string[], timeoutMs = 20_000): Promise<Ran> {
  return new Promise((resolve) =>
    execFile(file, args, { encoding: 'utf8', timeout: timeoutMs }, (e, out, err) => {
      resolve({ status: e ? (typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : null) : 0, out, err });
    }),
  );
}

/** `dpemu WORDS` against a lab daemon (the file's, unless given). */
const dpemu = (words: string[], daemon = d): Promise<Ran> => exec(process.execPath, [DPEMU, ...words, '--socket', daemon.socket]);

/** The real ping in namespace A. */
const realPing = (args: string[]): Promise<Ran> => exec('ip', ['netns', 'exec', nsA, 'ping', ...args]);

const inQrouter = (args: string[]) => dpemu(['ip', 'w07', 'netns', 'exec', QROUTER, 'ping', ...args]);

const TIME = String.raw`time=\d+(\.\d{1,3})? ms`;
const RTT = String.raw`rtt min/avg/max/mdev = \d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3} ms`;

/** What `ping -c 2 -i INTERVAL -I 192.168.1.1 203.0.113.8` from the qrouter prints; `spent`: the statistics' time. */
const snatPing = (spent: RegExp): (string | RegExp)[] => [
  'PING 203.0.113.8 (203.0.113.8) from 192.168.1.1 : 56(84) bytes of data.',
  new RegExp(`^64 bytes from 203\\.0\\.113\\.8: icmp_seq=1 ttl=61 ${TIME}$`),
  new RegExp(`^64 bytes from 203\\.0\\.113\\.8: icmp_seq=2 ttl=61 ${TIME}$`),
  '',
  '--- 203.0.113.8 ping statistics ---',
  new RegExp(`^2 packets transmitted, 2 received, 0% packet loss, time ${spent.source}ms$`),
  new RegExp(`^${RTT}$`),
  '',
];

function lines(text: string, want: (string | RegExp)[]): void {
  const got = text.split('\n');
  assert.equal(got.length, want.length, text);
  want.forEach((w, i) => (typeof w === 'string' ? assert.equal(got[i], w, text) : assert.match(got[i]!, w, text)));
}

test('ping -I 192.168.1.1 from the qrouter reaches the internet host through SNAT, as iputils prints it', { timeout: 30_000 }, async () => {
  const dump = run('ip', ['netns', 'exec', lab.nsInet, 'tcpdump', '-nn', '-l', '-c', '1', '-i', 'eth0', 'icmp[icmptype] == icmp-echo'], 15_000);
  await new Promise((r) => setTimeout(r, 1500)); // tcpdump attaches
  const r = await inQrouter(['-c', '2', '-i', '0.3', '-I', '192.168.1.1', '203.0.113.8']);
  assert.equal(r.status, 0, r.err);
  assert.equal(r.err, '');
  lines(r.out, snatPing(/(29\d|3\d\d)/));
  // A real echo request left the emulator, from the SNAT address: the internet host's kernel saw it.
  const seen = await dump;
  assert.match(seen.out, /IP 198\.51\.100\.200 > 203\.0\.113\.8: ICMP echo request, id \d+, seq 1, length 64/, seen.out);
  // The snat namespace tracked it as the kernel does: an ICMP entry from the qrouter's address, NATed.
  const ct = await dpemu(['conntrack', 'w02', '-n', SNAT, '-L', '-s', '192.168.1.1', '-p', 'icmp']);
  assert.match(ct.out, /^icmp +1 \d+ src=192\.168\.1\.1 dst=203\.0\.113\.8 type=8 code=0 id=(\d+) src=203\.0\.113\.8 dst=198\.51\.100\.200 type=0 code=0 id=\1 /m, ct.out + ct.err);
});

test('without a source the qrouter has no route out: connect: Network is unreachable, exit 2', async () => {
  const r = await inQrouter(['-c', '1', '203.0.113.8']);
  assert.equal(r.status, 2);
  assert.equal(r.out, '');
  assert.equal(r.err, 'ping: connect: Network is unreachable\n');
});

test('-t 1: the snat namespace answers Time to live exceeded, counted as errors, exit 1', { timeout: 30_000 }, async () => {
  const r = await dpemu(['ping', 'w07', '-n', QROUTER, '-c', '2', '-i', '0.2', '-t', '1', '-I', '192.168.1.1', '203.0.113.8']);
  assert.equal(r.status, 1, r.err);
  lines(r.out, [
    'PING 203.0.113.8 (203.0.113.8) from 192.168.1.1 : 56(84) bytes of data.',
    'From 192.168.1.6 icmp_seq=1 Time to live exceeded',
    'From 192.168.1.6 icmp_seq=2 Time to live exceeded',
    '',
    '--- 203.0.113.8 ping statistics ---',
    /^2 packets transmitted, 0 received, \+2 errors, 100% packet loss, time (19\d|2\d\d)ms$/,
    '',
    '',
  ]);
});

test('refused: an option dpemu does not emulate, a namespace the node lacks', async () => {
  const f = await inQrouter(['-f', '192.168.1.7']);
  assert.equal(f.status, 2);
  assert.equal(f.err, 'ping: -f: not emulated by dpemu (an emulated namespace\'s ping takes -c -i -I -n -q -s -t -w -W)\n');
  const ns = await dpemu(['ip', 'w07', 'netns', 'exec', 'qrouter-nope', 'ping', '-c', '1', '192.168.1.7']);
  assert.equal(ns.status, 255);
  assert.match(ns.err, /^Cannot open network namespace "qrouter-nope" on w07: No such file or directory/);
});

test('with the engine inline (--workers 0): the same ping through SNAT', { timeout: 60_000 }, async () => {
  const lab2 = new UniqueLab();
  const d2 = new DaemonProcess([lab2.file, '--lab', '--workers', '0']);
  try {
    await d2.waitLog((l) => l.msg === 'forwarding', 30_000);
    const r = await dpemu(['ping', 'w07', '-n', QROUTER, '-c', '2', '-i', '0.2', '-I', '192.168.1.1', '203.0.113.8'], d2);
    assert.equal(r.status, 0, r.err);
    lines(r.out, snatPing(/(19\d|2\d\d)/));
  } finally {
    d2.signal('SIGINT');
    await d2.exit(10_000).catch(() => d2.child.kill('SIGKILL'));
    lab2.cleanup();
  }
});

/** Times out of the way: what may differ between two runs of the same ping. */
const untimed = (s: string) => s.replace(/time=\S+ ms/g, 'time=T ms').replace(/time \d+ms/g, 'time Tms').replace(/^rtt .*$/m, 'rtt R');

test('the same options through the real ping in a real namespace: the same text but for times, the same exit', { timeout: 60_000 }, async () => {
  const cases = [
    ['-c', '2', '-i', '0.2', '192.168.1.7'],
    ['-c', '2', '-i', '0.2', '-q', '192.168.1.7'],
    ['-c', '1', '-s', '4', '192.168.1.7'],
    ['-c', '1', '-s', '3000', '192.168.1.7'],
    ['-c', '1', '-s', '300', '-I', QR_DEV, '192.168.1.7'],
    ['-c', '1', '-I', '192.168.1.1', '-n', '192.168.1.7'],
    ['-c', '1', '-W', '1', '192.168.1.99'],
    ['-c', '2', '192.168.1.99'],
    ['-c', '1', '203.0.113.8'],
    ['-c', '1', '-t', '0', '192.168.1.7'],
    ['-c', '0', '192.168.1.7'],
    ['-t', '256', '192.168.1.7'],
    ['-w', 'x', '192.168.1.7'],
    ['-W', '-1', '192.168.1.7'],
    ['-c', '1'],
    ['-x', '192.168.1.7'],
  ];
  const results = await Promise.all(cases.map(async (c) => [c, await realPing(c), await inQrouter(c)] as const));
  // The deadline alone (what it cuts depends on time: 0.4 s either side of the third send).
  const w = ['-w', '1', '-i', '0.6', '192.168.1.99'];
  results.push([w, await realPing(w), await inQrouter(w)] as const);
  for (const [c, want, got] of results) {
    const what = `ping ${c.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
    assert.equal(got.status, want.status, what);
    assert.equal(untimed(got.out), untimed(want.out), what);
    assert.equal(got.err, want.err, what);
  }
});

test('a node that is one namespace needs no -n: the ToR gateway pings the internet host next to it', async () => {
  const r = await dpemu(['ping', 'tor', '-c', '1', '203.0.113.8']);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, new RegExp(`^PING 203\\.0\\.113\\.8 \\(203\\.0\\.113\\.8\\) 56\\(84\\) bytes of data\\.\\n64 bytes from 203\\.0\\.113\\.8: icmp_seq=1 ttl=64 ${TIME}\\n`));
});

test('a reload replaces the namespace under a running ping: it says so and prints its statistics', { timeout: 30_000 }, async () => {
  const running = dpemu(['ping', 'w07', '-n', QROUTER, '-c', '30', '-i', '0.2', '192.168.1.7']);
  await new Promise((r) => setTimeout(r, 1200));
  const rl = await dpemu(['reload']);
  assert.equal(rl.status, 0, rl.err);
  const r = await running;
  assert.equal(r.err, 'ping: dpemu: the daemon closed the socket (reloaded, stopping, or its datapath worker died)\n');
  // Cut short, with what it had (a request sent while the namespace was being replaced may be lost).
  const m = /\n--- 192\.168\.1\.7 ping statistics ---\n(\d+) packets transmitted, (\d+) received, /.exec(r.out);
  assert.ok(m && Number(m[1]) < 30 && Number(m[2]) >= Number(m[1]) - 1, r.out);
  assert.equal(r.status, 0);
});

test('REJECT and DROP in OUTPUT: the error from its own address, then sendmsg: Operation not permitted, as the real ping prints it', { timeout: 60_000 }, async () => {
  const rules = [
    ['-d', '192.168.1.91', '-j', 'REJECT'],
    ['-d', '192.168.1.92', '-j', 'REJECT', '--reject-with', 'icmp-admin-prohibited'],
    ['-d', '192.168.1.93', '-j', 'DROP'],
  ].map((r) => ['OUTPUT', '-p', 'icmp', '--icmp-type', 'echo-request', ...r]);
  const iptables = async (op: string, r: string[]): Promise<void> => {
    sh('ip', ['netns', 'exec', nsA, 'iptables', op, ...r]);
    const m = await dpemu(['ip', 'w07', 'netns', 'exec', QROUTER, 'iptables', op, ...r]);
    assert.equal(m.status, 0, m.err);
  };
  for (const r of rules) await iptables('-I', r);
  try {
    const cases = [
      ['-c', '2', '-i', '0.2', '192.168.1.91'],
      ['-c', '2', '-i', '0.2', '-q', '192.168.1.91'],
      ['-c', '1', '192.168.1.92'],
      ['-c', '2', '-i', '0.2', '-W', '1', '192.168.1.93'],
    ];
    for (const c of cases) {
      const want = await realPing(c), got = await inQrouter(c);
      const what = `ping ${c.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
      assert.equal(got.status, want.status, what);
      assert.equal(untimed(got.out), untimed(want.out), what);
      assert.equal(got.err, want.err, what);
    }
  } finally {
    for (const r of rules) await iptables('-D', r).catch(() => {});
  }
});
