// `dpemu ping` and `dpemu ip NODE netns exec NS ping` against the lab daemon
// (configs/lab-dvr-snat.yaml, default datapath workers): echo requests from
// w07's qrouter namespace itself, across the emulated DVR path to the real
// internet host's namespace (SNAT on w02) and to the real VM namespace; the
// lines, statistics and exit statuses as iputils ping prints them. Then the
// same options through a real ping in real namespaces (dpe-… names, a veth
// named as the qrouter's qr- device, the same addresses): the same text but
// for the times, and the same exit statuses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { DaemonProcess, DPEMU, dpemuTcpdump } from './daemon-process.js';
import { UniqueLab } from './lab-dvr.js';
import { KernelObjects, sh, uniqueTag, runApart, startUntil, type Ran, tcpdumpIn } from './lab-names.js';

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
  await d.forwarding();
  // The kernel's twin of the qrouter's subnet: A is the router's side (192.168.1.1 on a device named
  // as the qr- port), B the VM (192.168.1.7); nothing answers 192.168.1.99, no route leaves the subnet.
  real.addNetns(nsA);
  real.addNetns(nsB);
  real.veth(`dpe${tag}`, nsA, QR_DEV, nsB, 'eth0');
  sh('ip', ['-n', nsA, 'addr', 'add', '192.168.1.1/24', 'dev', QR_DEV]);
  sh('ip', ['-n', nsB, 'addr', 'add', '192.168.1.7/24', 'dev', 'eth0']);
});

after(async () => {
  await d?.interrupt();
  lab?.cleanup();
  real.cleanup();
});

/** `dpemu WORDS` against a lab daemon (the file's, unless given). */
const dpemu = (words: string[], daemon = d): Promise<Ran> => daemon.apart(words);

/** The real ping in namespace A. */
const realPing = (args: string[], timeoutMs?: number): Promise<Ran> => runApart('ip', ['netns', 'exec', nsA, 'ping', ...args], timeoutMs);

const inQrouter = (args: string[], timeoutMs?: number) => d.apart(['ip', 'w07', 'netns', 'exec', QROUTER, 'ping', ...args], timeoutMs);

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
  const dump = (await tcpdumpIn(lab.nsInet, ['-nn', '-l', '-c', '1', '-i', 'eth0', 'icmp[icmptype] == icmp-echo'], 30_000)).ended;
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

test('refused: an option dpemu does not emulate (as getopt refuses an unknown one), a namespace the node lacks', async () => {
  const f = await inQrouter(['-b', '192.168.1.7']);
  const x = await realPing(['-x', '192.168.1.7']);
  assert.equal(f.status, 2);
  assert.equal(f.err, x.err.replace("-- 'x'", "-- 'b'"));
  assert.match(f.err, /^ping: invalid option -- 'b'\n\nUsage\n/);
  const ns = await dpemu(['ip', 'w07', 'netns', 'exec', 'qrouter-nope', 'ping', '-c', '1', '192.168.1.7']);
  assert.equal(ns.status, 255);
  assert.match(ns.err, /^Cannot open network namespace "qrouter-nope" on w07: No such file or directory/);
});

test('with the engine inline (--workers 0): the same ping through SNAT', { timeout: 180_000 }, async () => {
  const lab2 = new UniqueLab();
  const d2 = new DaemonProcess([lab2.file, '--lab', '--workers', '0']);
  try {
    await d2.forwarding();
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
    // An unreachable host's errors come when the neighbour fails; on a loaded host the kernel's can come after the next send (a pipe).
    const unpiped = (s: string): string => (s.includes('Destination Host Unreachable') ? s.replace(/(, |\n)pipe \d+/, '') : s);
    assert.equal(unpiped(untimed(got.out)), unpiped(untimed(want.out)), what);
    assert.equal(got.err, want.err, what);
  }
});

/** A line as a terminal shows it: a backspace moves back, a character overwrites; the bells counted. */
function screen(line: string): string {
  const cells: string[] = [];
  let col = 0, bells = 0;
  for (const ch of line) {
    if (ch === '\b') col = Math.max(0, col - 1);
    else if (ch === '\x07') bells++;
    else cells[col++] = ch;
  }
  return cells.join('').trimEnd() + (bells ? ` (${bells} bells)` : '');
}

/**
 * Also what differs with when a reply reaches ping: -D's stamps, -v's
 * identifier, -f's and -A's figures. A flood's dots and backspaces as a
 * terminal shows them (the replies reach dpemu's process later than the
 * emulator's RTT says, so its dots run ahead: more in flight, a pipe).
 */
const unpaced = (s: string, flood: boolean): string => {
  const t = untimed(s).replace(/^\[\d+\.\d{6}\] /gm, '[T] ').replace(/ ident=\d+ /g, ' ident=I ').replace(/ipg\/ewma \d+\.\d{3}\/\d+\.\d{3} ms/, 'ipg/ewma G ms');
  return flood ? t.split('\n').map(screen).join('\n').replace(/, pipe \d+/, '') : t;
};

test('-f -l -D -O -p -Q -A -a -U -v -V through the real ping in a real namespace: the same text but for times, the same exit', { timeout: 300_000 }, async () => {
  const cases = [
    ['-c', '2', '-i', '0.2', '-p', 'abc', '-D', '-a', '192.168.1.7'],
    ['-c', '1', '-q', '-p', 'ab', '192.168.1.7'],
    ['-c', '1', '-p', 'ab', '-q', '192.168.1.7'],
    ['-c', '1', '-p', '', '-s', '20', '192.168.1.7'],
    ['-c', '1', '-p', '0102030405060708090a0b0c0d0e0f1011', '-s', '100', '192.168.1.7'],
    ['-c', '1', '-p', 'abcdef0123', '-s', '0', '-a', '192.168.1.7'],
    ['-c', '1', '-p', '0xab', '192.168.1.7'],
    ['-c', '1', '-p', '1g', 'no.such.name'],
    ['-c', '1', '-Q', '0x10', '-U', '192.168.1.7'],
    ['-c', '1', '-Q', '-1', '-s', '4', '192.168.1.7'],
    ['-Q', '256', '192.168.1.7'],
    ['-Q', '12abc', '192.168.1.7'],
    ['-Q', '99999999999', '192.168.1.7'],
    ['-c', '1', '-v', '192.168.1.7'],
    ['-c', '1', '-v', '-4', '-q', '192.168.1.7'],
    ['-c', '3', '-i', '0.2', '-O', '-D', '-W', '0.3', '192.168.1.98'],
    ['-c', '2', '-i', '0.2', '-O', '-q', '-W', '0.3', '192.168.1.97'],
    ['-c', '1', '-D', '-W', '6', '192.168.1.96'],
    ['-c', '4', '-l', '3', '192.168.1.7'],
    ['-l', '0', '192.168.1.7'],
    ['-l', '65537', '192.168.1.7'],
    ['-c', '1', '-l', '2', '-i', '1073741.823', '192.168.1.7'],
    ['-c', '1', '-l', '65536', '-i', '40000', '192.168.1.7'],
    ['-c', '1', '-l', '3000', '-s', '2000', '-q', '192.168.1.7'],
    ['-V'],
  ];
  const floods = [
    ['-c', '3', '-f', '192.168.1.7'],
    ['-c', '2', '-f', '-a', '192.168.1.7'],
    ['-c', '3', '-f', '-W', '0.5', '192.168.1.95'],
    ['-c', '2', '-f', '-i', '0.2', '-q', '192.168.1.7'],
    ['-c', '3', '-A', '-i', '0.3', '192.168.1.7'],
  ];
  // Each unanswered address once (a neighbour that failed answers the next ping at once). Four at a time, the floods alone: a loaded box starts each dpemu process slowly.
  const results: (readonly [string[], Ran, Ran])[] = [];
  const both = async (c: string[]) => [c, await realPing(c, 60_000), await inQrouter(c, 60_000)] as const;
  for (let i = 0; i < cases.length; i += 4) results.push(...(await Promise.all(cases.slice(i, i + 4).map(both))));
  for (const c of floods) results.push(await both(c));
  for (const [c, want, got] of results) {
    const flood = c.includes('-f') || c.includes('-A');
    const what = `ping ${c.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
    assert.equal(got.status, want.status, what);
    assert.equal(unpaced(got.out, flood), unpaced(want.out, flood), what);
    assert.equal(got.err, want.err, what);
  }
});

test('-S, -d and -e through the real ping in a real namespace: a request cut into more fragments than SO_SNDBUF allows fails with ENOBUFS, as the kernel has it; -e the identifier', { timeout: 180_000 }, async () => {
  // -S 1 leaves SOCK_MIN_SNDBUF (4608): four 1500-byte fragments (5912 bytes of data) go, a fifth does not; ping tries again
  // every 500 ms (10 ms flooding) until -W's linger time, then says so and counts it sent.
  const cases = [
    ['-S', '0', '192.168.1.7'],
    ['-S', 'abc', '192.168.1.7'],
    ['-S', '2147483648', '192.168.1.7'],
    ['-c', '1', '-d', '192.168.1.7'],
    ['-c', '2', '-i', '0.2', '-S', '1', '192.168.1.7'],
    ['-c', '1', '-S', '1', '-s', '5912', '192.168.1.7'],
    ['-c', '1', '-S', '1', '-s', '5913', '-W', '1', '192.168.1.7'],
    ['-c', '2', '-S', '1', '-s', '10000', '-W', '1.2', '-O', '192.168.1.7'],
    ['-c', '1', '-S', '1', '-s', '10000', '-w', '1', '192.168.1.7'],
    ['-c', '1', '-S', '1', '-s', '10000', '-W', '1', '-q', '192.168.1.7'],
    ['-c', '1', '-S', '6000', '-s', '10000', '192.168.1.7'],
    ['-c', '2', '-f', '-S', '1', '-s', '10000', '-W', '0.5', '192.168.1.7'],
    ['-c', '1', '-e', '5', '-v', '192.168.1.7'],
    ['-c', '1', '-e', '0', '192.168.1.7'],
    ['-e', '65536', '192.168.1.7'],
    ['-e', 'abc', '192.168.1.7'],
  ];
  const results = await Promise.all(cases.map(async (c) => [c, await realPing(c, 60_000), await inQrouter(c, 60_000)] as const));
  for (const [c, want, got] of results) {
    const flood = c.includes('-f');
    const what = `ping ${c.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
    assert.equal(got.status, want.status, what);
    assert.equal(unpaced(got.out, flood), unpaced(want.out, flood), what);
    assert.equal(got.err, want.err, what);
    // The identifier on the wire: -v prints the one the reply carries.
    if (c.includes('-e') && c.includes('-v')) for (const r of [want, got]) assert.match(r.out, / icmp_seq=1 ident=5 ttl=64 /, what);
  }
});

test('two pings given one identifier (-e): each takes the replies to both, as every raw socket gets its copy in the kernel', { timeout: 180_000 }, async () => {
  // The second's request 1 goes out after the first has had its reply 1 (printed it: a fixed pause was outrun by
  // a loaded box, where starting the dpemu CLI takes seconds): to the first, that reply is a duplicate. The first
  // lasts 19 s, so the second, started after it, still finds it.
  const pair = async (argv: (args: string[]) => [string, string[]]): Promise<[Ran, Ran]> => {
    const first = await startUntil(...argv(['-c', '20', '-i', '1', '-e', '4242', '192.168.1.7']), (out) => / icmp_seq=1 /.test(out), 60_000);
    const second = await runApart(...argv(['-c', '1', '-W', '3', '-e', '4242', '192.168.1.7']), 60_000);
    return [await first.ended, second];
  };
  const real = (args: string[]): [string, string[]] => ['ip', ['netns', 'exec', nsA, 'ping', ...args]];
  const model = (args: string[]): [string, string[]] => [process.execPath, [DPEMU, 'ip', 'w07', 'netns', 'exec', QROUTER, 'ping', ...args, '--socket', d.socket]];
  for (const [who, [r, second]] of [['real', await pair(real)], ['dpemu', await pair(model)]] as const) {
    // The second has a reply too (its own, or one of the first's that came before it).
    assert.equal(second.status, 0, `${who}: ${second.out}${second.err}`);
    assert.match(second.out, /^1 packets transmitted, 1 received/m, `${who}: ${second.out}`);
    assert.equal(r.status, 0, `${who}: ${r.out}${r.err}`);
    assert.match(r.out, /^64 bytes from 192\.168\.1\.7: icmp_seq=1 ttl=64 time=\S+ ms \(DUP!\)$/m, `${who}: ${r.out}`);
    assert.match(r.out, /^20 packets transmitted, 20 received, \+1 duplicates, 0% packet loss/m, `${who}: ${r.out}`);
  }
});

test('-m MARK: the connect() probe and each request carry it, so an ip rule fwmark routes them, as in the kernel', { timeout: 120_000 }, async () => {
  // Only table 100 (by the mark) has a way to 203.0.113.0/24: via 192.168.1.7, which forwards nothing.
  const rule = ['rule', 'add', 'fwmark', '7', 'lookup', '100'];
  const route = ['route', 'add', '203.0.113.0/24', 'via', '192.168.1.7', 'table', '100'];
  const inQ = (args: string[]) => dpemu(['ip', 'w07', 'netns', 'exec', QROUTER, 'ip', ...args]);
  for (const args of [rule, route]) {
    sh('ip', ['-n', nsA, ...args]);
    const r = await inQ(args);
    assert.equal(r.status, 0, r.err);
  }
  try {
    const cases = [
      ['-m', '7', '-c', '1', '-W', '1', '203.0.113.8'],
      ['-m', '8', '-c', '1', '203.0.113.8'],
      ['-c', '1', '-m', '7', '-I', '192.168.1.1', '-W', '1', '203.0.113.8'],
      ['-m', '4294967295', '-c', '1', '192.168.1.7'],
      ['-m', 'abc', '192.168.1.7'],
      ['-m', '-1', '192.168.1.7'],
      ['-m', '4294967296', '192.168.1.7'],
    ];
    for (const c of cases) {
      const [want, got] = await Promise.all([realPing(c, 60_000), inQrouter(c, 60_000)]);
      const what = `ping ${c.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
      assert.equal(got.status, want.status, what);
      assert.equal(untimed(got.out), untimed(want.out), what);
      assert.equal(got.err, want.err, what);
    }
  } finally {
    for (const args of [route, rule]) {
      const del = args.map((w) => (w === 'add' ? 'del' : w));
      sh('ip', ['-n', nsA, ...del]);
      await inQ(del);
    }
  }
});

/** The first packet's bytes from the hex lines of `tcpdump -x` (from the IP header). */
function firstPacket(text: string): Buffer {
  const hex: string[] = [];
  for (const l of text.split('\n').slice(1)) {
    const m = /^\t0x[0-9a-f]{4}: +((?:[0-9a-f]{2,4} ?)+)/.exec(l);
    if (!m) break;
    hex.push(m[1]!.replace(/ /g, ''));
  }
  return Buffer.from(hex.join(''), 'hex');
}


test('-p and -Q on the wire: the TOS byte and the data as the real ping sends them', { timeout: 180_000 }, async () => {
  const echo = ['-nn', '-x', '-c', '1', 'icmp[icmptype] == icmp-echo'];
  const send = async (opts: string[]): Promise<[Buffer, Buffer]> => {
    const emu = await dpemuTcpdump(d, ['-i', `w07:${QROUTER}:${QR_DEV}`, ...echo]);
    const real = (await tcpdumpIn(nsB, ['-i', 'eth0', ...echo], 60_000)).ended;
    const args = ['-c', '1', '-q', '-s', '40', ...opts, '192.168.1.7'];
    const [want, got] = [await realPing(args, 30_000), await inQrouter(args, 30_000)];
    assert.equal(got.status, 0, got.out + got.err);
    assert.equal(want.status, 0, want.out + want.err);
    return [firstPacket((await real).out), firstPacket((await emu.ended).out)];
  };
  // The IP header's TOS, length, flags and TTL, and the data after the timeval (the ICMP header and the timeval vary).
  const shape = (p: Buffer): string => `${p.subarray(0, 4).toString('hex')} ${p.subarray(6, 9).toString('hex')} ${p.subarray(20 + 8 + 16).toString('hex')}`;
  const [realPlain, emuPlain] = await send([]);
  const [realSet, emuSet] = await send(['-Q', '0x2e', '-p', 'a1b2c']);
  assert.equal(shape(realSet), `452e0044 400040 ${'b20ca1'.repeat(8)}`);
  assert.equal(shape(emuSet), shape(realSet));
  assert.equal(shape(emuPlain), shape(realPlain));
  assert.notEqual(shape(emuPlain), shape(emuSet));
});

test('-Q and an ip rule with tos: the connect() probe and each send are routed with the TOS, as the kernel routes them', { timeout: 120_000 }, async () => {
  const rule = ['rule', 'add', 'tos', '0x10', 'pref', '100', 'unreachable'];
  const ip = async (words: string[]): Promise<void> => {
    sh('ip', ['-n', nsA, ...words]);
    const m = await dpemu(['ip', 'w07', 'netns', 'exec', QROUTER, 'ip', ...words]);
    assert.equal(m.status, 0, m.err);
  };
  await ip(rule);
  try {
    for (const c of [['-c', '1', '-Q', '0x10', '192.168.1.7'], ['-c', '1', '-Q', '0x11', '192.168.1.7'], ['-c', '1', '-Q', '0x14', '-q', '192.168.1.7']]) {
      const want = await realPing(c, 30_000), got = await inQrouter(c, 30_000);
      const what = `ping ${c.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
      assert.equal(got.status, want.status, what);
      assert.equal(untimed(got.out), untimed(want.out), what);
      assert.equal(got.err, want.err, what);
    }
  } finally {
    await ip(['rule', 'del', 'pref', '100']).catch(() => {});
  }
});

test('a node that is one namespace needs no -n: the ToR gateway pings the internet host next to it', async () => {
  const r = await dpemu(['ping', 'tor', '-c', '1', '203.0.113.8']);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, new RegExp(`^PING 203\\.0\\.113\\.8 \\(203\\.0\\.113\\.8\\) 56\\(84\\) bytes of data\\.\\n64 bytes from 203\\.0\\.113\\.8: icmp_seq=1 ttl=64 ${TIME}\\n`));
});

test('a reload replaces the namespace under a running ping: it says so and prints its statistics', { timeout: 120_000 }, async () => {
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
      // A flood: no dot for a dropped one (as a terminal shows it). A REJECT's E's land where dpemu learns of them, after later sends.
      ['-c', '3', '-f', '-W', '0.5', '192.168.1.93'],
    ];
    for (const c of cases) {
      const want = await realPing(c), got = await inQrouter(c);
      const what = `ping ${c.join(' ')}\n--- real:\n${want.out}${want.err}--- dpemu:\n${got.out}${got.err}`;
      assert.equal(got.status, want.status, what);
      assert.equal(unpaced(got.out, c.includes('-f')), unpaced(want.out, c.includes('-f')), what);
      assert.equal(got.err, want.err, what);
    }
  } finally {
    for (const r of rules) await iptables('-D', r).catch(() => {});
  }
});
