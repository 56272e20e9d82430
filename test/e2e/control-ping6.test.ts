// `dpemu ip NODE netns exec NS ping` over IPv6 against the lab daemon
// (configs/lab-dvr-snat.yaml, default datapath workers): from w07's qrouter
// to the real VM namespace's link-local over the qr- device, and the cases
// ping refuses or gets no answer for. Each compared with a real ping in
// real namespaces made as the qrouter's twin (dpe-… names, a veth named as
// the qr- device with the qrouter's MAC, its peer eth0 with the VM's MAC:
// the same link-locals): the same text but for the times and identifiers,
// the same exit statuses (a neighbour that never answers: the address
// unreachable errors once it FAILED). tcpdump in the VM namespace sees what the
// emulated namespace sends: a neighbour solicitation first for a neighbour
// it does not know, the echo request's hop limit (-t) and checksum.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { requireTool } from '../helpers/tools.js';
import { DaemonProcess } from './daemon-process.js';
import { QR_DEV, QR_LL, QR_MAC, UniqueLab, VM_LL, VM_MAC, qrouterVmTwin } from './lab-dvr.js';
import { KernelObjects, run, sh, uniqueTag, runApart, type Ran, tcpdumpIn } from './lab-names.js';

const QROUTER = 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479';

let lab: UniqueLab;
let d: DaemonProcess;
const real = new KernelObjects();
const tag = uniqueTag();
const nsA = `dpe-${tag}-6a`, nsB = `dpe-${tag}-6b`;

before(async () => {
  requireRoot('dpemu ping -6 end-to-end tests');
  requireTool('ping', 'iputils-ping');
  requireTool('tcpdump', 'tcpdump');
  lab = new UniqueLab();
  d = new DaemonProcess([lab.file, '--lab']);
  await d.forwarding();
  await qrouterVmTwin(real, tag, nsA, nsB, lab.nsVm);
});

after(async () => {
  await d?.interrupt();
  lab?.cleanup();
  real.cleanup();
});

const inQrouter = (args: string[]): Promise<Ran> => d.apart(['ip', 'w07', 'netns', 'exec', QROUTER, 'ping', ...args]);
const realPing = (args: string[]): Promise<Ran> => runApart('ip', ['netns', 'exec', nsA, 'ping', ...args]);

/** A run's text with what differs from run to run made constant: times, the statistics' time, -v's identifier. */
function form(r: Ran): string {
  const text = `${r.out}\n--stderr--\n${r.err}\n--status ${r.status}`;
  return text
    .replace(/time=\d+(\.\d+)? ms/g, 'time=T ms')
    .replace(/rtt min\/avg\/max\/mdev = [\d./]+ ms/g, 'rtt min/avg/max/mdev = RTT ms')
    .replace(/, time \d+ms/g, ', time Nms')
    .replace(/ident=\d+/g, 'ident=N');
}

test('ping -6 from an emulated namespace: a neighbour solicitation first for an unknown neighbour, then the echo request (hop limit, checksum)', { timeout: 60_000 }, async () => {
  // An address nobody has: the emulated namespace solicits it (the VM's tcpdump sees the flooded multicast) and sends no echo.
  let dump = (await tcpdumpIn(lab.nsVm, ['-nnee', '-vv', '-l', '-c', '1', '-i', 'eth0', 'icmp6 and ip6[40] == 135 and ip6[48:4] == 0xfe800000 and ip6[60:4] == 0x99'], 20_000)).ended;
  const none = await inQrouter(['-c', '1', '-W', '1', `fe80::99%${QR_DEV}`]);
  assert.equal(none.status, 1, form(none));
  let seen = (await dump).out;
  assert.match(seen, new RegExp(`${QR_MAC} > 33:33:ff:00:00:99, ethertype IPv6 \\(0x86dd\\), length 86: \\(hlim 255, next-header ICMPv6 \\(58\\) payload length: 32\\) ${QR_LL} > ff02::1:ff00:99: \\[icmp6 sum ok\\] ICMP6, neighbor solicitation, length 32, who has fe80::99`), seen);

  // The VM: its echo request with -t's hop limit and a right checksum, answered (ttl: the VM kernel's 64).
  dump = (await tcpdumpIn(lab.nsVm, ['-nnee', '-vv', '-l', '-c', '2', '-i', 'eth0', 'icmp6 and (ip6[40] == 128 or ip6[40] == 129)'], 20_000)).ended;
  const one = await inQrouter(['-c', '1', '-t', '7', `${VM_LL}%${QR_DEV}`]);
  assert.equal(one.status, 0, form(one));
  assert.match(one.out, new RegExp(`^64 bytes from ${VM_LL}%${QR_DEV}: icmp_seq=1 ttl=64 time=`, 'm'), one.out);
  seen = (await dump).out;
  assert.match(seen, new RegExp(`${QR_MAC} > ${VM_MAC}, ethertype IPv6 \\(0x86dd\\), length 118: \\(flowlabel 0x[0-9a-f]+, hlim 7, next-header ICMPv6 \\(58\\) payload length: 64\\) ${QR_LL} > ${VM_LL}: \\[icmp6 sum ok\\] ICMP6, echo request, id \\d+, seq 1`), seen);
  assert.match(seen, new RegExp(`${VM_MAC} > ${QR_MAC}, .*hlim 64, .*${VM_LL} > ${QR_LL}: \\[icmp6 sum ok\\] ICMP6, echo reply, id \\d+, seq 1`), seen);
});

test('ping -6 from an emulated namespace prints as the real ping in a twin namespace', { timeout: 120_000 }, async () => {
  const cases: string[][] = [
    ['-6', '-c', '2', '-i', '0.3', `${VM_LL}%${QR_DEV}`],
    ['-c', '1', '-I', QR_DEV, VM_LL],
    ['-c', '1', '-I', QR_DEV, `${VM_LL}%${QR_DEV}`],
    ['-v', '-6', '-c', '1', `${VM_LL}%${QR_DEV}`],
    ['-c', '1', '-s', '10', `${VM_LL}%${QR_DEV}`],
    ['-c', '1', `${QR_LL}%${QR_DEV}`],
    // Not the first test's fe80::99: the model's entry for it may still be INCOMPLETE (it fails 3 s after the first
    // solicitation) and would fail this run's requests, as the kernel's would; the twin never asked for it.
    ['-c', '2', '-i', '0.3', '-W', '1', `fe80::97%${QR_DEV}`],
    // No neighbour answers: three solicitations, FAILED at 3 s, an address unreachable for each queued request (+3 errors).
    ['-c', '3', '-i', '0.5', `fe80::98%${QR_DEV}`],
    ['-c', '1', '2001:db8::1'],
    ['-6', '-c', '1', '-I', QR_DEV, '2001:db8::1'],
    ['-c', '1', `${VM_LL}%nosuch`],
    ['-c', '1', 'fe80::zz'],
    ['-4', '-c', '1', `${VM_LL}%${QR_DEV}`],
    ['-6', '-c', '1', '192.0.2.1'],
    ['-4', '-6', '-c', '1', VM_LL],
  ];
  for (const words of cases) {
    const [emu, kernel] = [await inQrouter(words), await realPing(words)];
    assert.equal(form(emu), form(kernel), `ping ${words.join(' ')}`);
  }
});

test('ping -6 to global addresses: on-link (the solicitation from the global source), via a gateway, its own, unanswered and without a route print and send as in the twin', { timeout: 120_000 }, async () => {
  // The same on both sides: 2001:db8:7::1/64 on the qr- device and a route to 2001:db8:50::/64 via the VM, which has
  // 2001:db8:7::5/64 and 2001:db8:50::9/64 on its eth0 (all nodad: no DAD to wait for).
  for (const ns of [lab.nsVm, nsB]) for (const a of ['2001:db8:7::5/64', '2001:db8:50::9/64']) sh('ip', ['-n', ns, 'addr', 'add', a, 'dev', 'eth0', 'nodad']);
  const writes = [['addr', 'add', '2001:db8:7::1/64', 'dev', QR_DEV, 'nodad'], ['route', 'add', '2001:db8:50::/64', 'via', '2001:db8:7::5']];
  for (const w of writes) {
    sh('ip', ['-n', nsA, '-6', ...w]);
    const r = await d.apart(['ip', 'w07', 'netns', 'exec', QROUTER, 'ip', '-6', ...w]);
    assert.equal(r.status, 0, r.err);
  }
  // The first ping to the VM's global address, seen from the VM's side of each: the solicitation from 2001:db8:7::1, the requests and replies.
  const wire = (r: Ran) => r.out.replace(/flowlabel 0x[0-9a-f]+, /g, '').replace(/, id \d+,/g, ', id N,');
  const dumpArgs = ['-t', '-nnee', '-vv', '-l', '-c', '6', '-i', 'eth0', 'icmp6 and (ip6[40] == 135 or ip6[40] == 136 or ip6[40] == 128 or ip6[40] == 129)'];
  const [emuDump, realDump] = [(await tcpdumpIn(lab.nsVm, dumpArgs, 30_000)).ended, (await tcpdumpIn(nsB, dumpArgs, 30_000)).ended];
  const first = ['-6', '-c', '2', '-i', '0.3', '2001:db8:7::5'];
  const [emu, kernel] = [await inQrouter(first), await realPing(first)];
  assert.equal(form(emu), form(kernel), `ping ${first.join(' ')}`);
  const [seenEmu, seenReal] = [wire(await emuDump), wire(await realDump)];
  assert.match(seenReal, /2001:db8:7::1 > ff02::1:ff00:5: \[icmp6 sum ok\] ICMP6, neighbor solicitation/, seenReal);
  assert.equal(seenEmu, seenReal);
  const cases: string[][] = [
    ['-c', '2', '-i', '0.3', '-s', '20', '2001:db8:50::9'],
    ['-c', '1', '-I', QR_DEV, '2001:db8:7::5'],
    ['-c', '1', '2001:db8:7::1'],
    ['-c', '2', '-i', '0.5', '2001:db8:7::77'],
    ['-c', '1', '2001:db8:99::1'],
    ['-c', '1', '-I', 'lo', '2001:db8:7::5'],
  ];
  for (const words of cases) {
    const [e, k] = [await inQrouter(words), await realPing(words)];
    assert.equal(form(e), form(k), `ping ${words.join(' ')}`);
  }
});

test('IPv6 forwarding: the VM\'s real ping through the qrouter gets its time exceeded and no route as through a kernel router twin', { timeout: 120_000 }, async () => {
  // After the previous test's addresses: the VM (and its twin) route everything via 2001:db8:7::1; the routers send
  // 2001:db8:60::/64 back to the VM (a host: it drops what is not its own) and have no route to 2001:db8:99::/64.
  // The twin forwards and limits no errors, as the emulated qrouter (Neutron's forwarding, net.ipv6.icmp.ratelimit 0).
  sh('ip', ['netns', 'exec', nsA, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1', 'net.ipv6.icmp.ratelimit=0']);
  for (const ns of [lab.nsVm, nsB]) sh('ip', ['-n', ns, '-6', 'route', 'add', 'default', 'via', '2001:db8:7::1']);
  const back = ['route', 'add', '2001:db8:60::/64', 'via', '2001:db8:7::5'];
  sh('ip', ['-n', nsA, '-6', ...back]);
  const r = await d.apart(['ip', 'w07', 'netns', 'exec', QROUTER, 'ip', '-6', ...back]);
  assert.equal(r.status, 0, r.err);
  const fromVm = (args: string[]): Promise<Ran> => runApart('ip', ['netns', 'exec', lab.nsVm, 'ping', ...args]);
  const fromTwin = (args: string[]): Promise<Ran> => runApart('ip', ['netns', 'exec', nsB, 'ping', ...args]);
  for (const words of [['-c', '2', '-i', '0.3', '-t', '1', '2001:db8:60::1'], ['-c', '1', '-W', '1', '-t', '2', '2001:db8:60::1'], ['-c', '2', '-i', '0.3', '2001:db8:99::1']]) {
    const [e, k] = [await fromVm(words), await fromTwin(words)];
    assert.equal(form(e), form(k), `ping ${words.join(' ')}`);
  }
  assert.match(form(await fromVm(['-c', '1', '-t', '1', '2001:db8:60::1'])), /From 2001:db8:7::1 icmp_seq=1 Time exceeded: Hop limit/);
});

test('ip -6 neigh add|replace|change|del|flush in the qrouter print, refuse and list as in the twin', { timeout: 120_000 }, async () => {
  // Neighbours of 2001:db8:70::/64 on the qr- device (not on-link: nothing else ever resolves them). Not nud reachable
  // (it ages into STALE on the kernel's clock) nor a second write to an address a refused add left in NUD_NONE.
  const N = ['-6', 'neigh'];
  const writes: string[][] = [
    [...N, 'add', '2001:db8:70::1', 'lladdr', '02:00:00:00:70:01', 'dev', QR_DEV],
    [...N, 'add', '2001:db8:70::1', 'lladdr', '02:00:00:00:70:01', 'dev', QR_DEV],
    [...N, 'add', '2001:db8:70::2', 'dev', QR_DEV],
    [...N, 'add', '2001:db8:70::3', 'lladdr', '02:00:00:00:70:03', 'dev', QR_DEV, 'nud', 'stale', 'router'],
    [...N, 'add', '2001:db8:70::4', 'lladdr', '02:00:00:00:70:04', 'dev', QR_DEV, 'nud', 'noarp'],
    [...N, 'show', '2001:db8:70::3'],
    // Without `router` a replace clears the flag.
    [...N, 'replace', '2001:db8:70::3', 'lladdr', '02:00:00:00:70:03', 'dev', QR_DEV, 'nud', 'stale'],
    ['neigh', 'add', '2001:db8:70::5', 'lladdr', '02:00:00:00:70:05', 'dev', QR_DEV],
    [...N, 'change', '2001:db8:70::9', 'lladdr', '02:00:00:00:70:09', 'dev', QR_DEV],
    [...N, 'replace', '2001:db8:70::9', 'lladdr', '02:00:00:00:70:09', 'dev', QR_DEV],
    [...N, 'change', '2001:db8:70::9', 'lladdr', '02:00:00:00:70:0a', 'dev', QR_DEV, 'nud', 'stale'],
    [...N, 'show', '2001:db8:70::9'],
    [...N, 'del', '2001:db8:70::9', 'dev', QR_DEV],
    [...N, 'del', '2001:db8:70::9', 'dev', QR_DEV],
    [...N, 'add', '2001:db8:70::6', 'lladdr', '02:00:00:00:70:06'],
    [...N, 'add', '192.0.2.6', 'lladdr', '02:00:00:00:70:06', 'dev', QR_DEV],
    ['-4', 'neigh', 'add', '2001:db8:70::6', 'lladdr', '02:00:00:00:70:06', 'dev', QR_DEV],
    ['neigh', 'add', '2001:db8:70:zz::6', 'lladdr', '02:00:00:00:70:06', 'dev', QR_DEV],
    [...N, 'add', '2001:db8:70::6', 'lladdr', 'zz', 'dev', QR_DEV],
    [...N, 'add', '2001:db8:70::6', 'lladdr', '02:00:00:00:70', 'dev', QR_DEV],
    [...N, 'add', '2001:db8:70::6', 'lladdr', '02:00:00:00:70:06', 'dev', 'nosuch'],
    [...N, 'show', '2001:db8:70::/64'],
    [...N, 'show', 'to', '2001:db8:70::/64', 'nud', 'noarp'],
    [...N, 'flush'],
    [...N, 'flush', '2001:db8:70::/64'],
    [...N, 'show', '2001:db8:70::/64'],
    [...N, 'flush', 'to', '2001:db8:70::/64', 'nud', 'all'],
    [...N, 'show', '2001:db8:70::/64', 'nud', 'all'],
  ];
  const sorted = (t: string) => t.split('\n').sort().join('\n');
  for (const w of writes) {
    const [e, k] = [await d.apart(['ip', 'w07', 'netns', 'exec', QROUTER, 'ip', ...w]), await runApart('ip', ['-n', nsA, ...w])];
    // Several entries list in the kernel's hash order: as a set.
    assert.equal(`${sorted(e.out)}\n--stderr--\n${e.err}--status ${e.status}`, `${sorted(k.out)}\n--stderr--\n${k.err}--status ${k.status}`, `ip ${w.join(' ')}`);
  }
});

test('ping -6 over a PERMANENT neighbour from ip -6 neigh add: the echo request goes to its address, no solicitation first', { timeout: 60_000 }, async () => {
  // The VM gets 2001:db8:7::6 too; the qrouter is told its MAC. The first frame the qrouter sends toward it is the echo request.
  sh('ip', ['-n', lab.nsVm, 'addr', 'add', '2001:db8:7::6/64', 'dev', 'eth0', 'nodad']);
  const add = ['-6', 'neigh', 'add', '2001:db8:7::6', 'lladdr', VM_MAC, 'dev', QR_DEV];
  const r = await d.apart(['ip', 'w07', 'netns', 'exec', QROUTER, 'ip', ...add]);
  assert.equal(r.status, 0, r.err);
  const dump = (await tcpdumpIn(lab.nsVm, ['-nnee', '-vv', '-l', '-c', '1', '-i', 'eth0', `ether src ${QR_MAC} and icmp6 and (ip6[40] == 135 or ip6[40] == 128)`], 20_000)).ended;
  const one = await inQrouter(['-c', '1', '2001:db8:7::6']);
  assert.equal(one.status, 0, form(one));
  const seen = (await dump).out;
  assert.match(seen, new RegExp(`${QR_MAC} > ${VM_MAC}, ethertype IPv6 .* 2001:db8:7::1 > 2001:db8:7::6: \\[icmp6 sum ok\\] ICMP6, echo request`), seen);
  const listed = await d.apart(['ip', 'w07', 'netns', 'exec', QROUTER, 'ip', '-6', 'neigh', 'show', '2001:db8:7::6']);
  assert.equal(listed.out, `2001:db8:7::6 dev ${QR_DEV} lladdr ${VM_MAC} PERMANENT \n`);
});

test('ping -6 from an emulated namespace gets the ICMPv6 errors a kernel router sends (time exceeded, no route, packet too big) as the real one in the twin', { timeout: 120_000 }, async () => {
  // After the previous tests' addresses and routes: the VM (and its twin) forward, with no error limit, and send
  // 2001:db8:60::/64 back to the routers (hop limit 1: time exceeded), have no route to 2001:db8:60:0:1::/80 and send
  // 2001:db8:60:0:2::/80 out of a veth of MTU 1280 (a 1348-byte request: packet too big).
  // The twin gets the address the previous test gave the VM: the errors' source is the same.
  const small = `dpe-${tag}-sm`, peer = `dpe-${tag}-sp`;
  sh('ip', ['-n', nsB, 'addr', 'add', '2001:db8:7::6/64', 'dev', 'eth0', 'nodad']);
  try {
    for (const ns of [lab.nsVm, nsB]) {
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1', 'net.ipv6.icmp.ratelimit=0']);
      sh('ip', ['-n', ns, 'link', 'add', small, 'mtu', '1280', 'type', 'veth', 'peer', 'name', peer, 'mtu', '1280']);
      sh('ip', ['-n', ns, 'link', 'set', small, 'up']);
      sh('ip', ['-n', ns, '-6', 'route', 'add', 'unreachable', '2001:db8:60:0:1::/80']);
      sh('ip', ['-n', ns, '-6', 'route', 'add', '2001:db8:60:0:2::/80', 'dev', small]);
    }
    const cases: string[][] = [
      ['-c', '2', '-i', '0.3', '-t', '1', '2001:db8:60::1'],
      ['-c', '2', '-i', '0.3', '2001:db8:60:0:1::1'],
      ['-c', '1', '-M', 'do', '-s', '1300', '2001:db8:60:0:2::1'],
      ['-c', '1', '-I', QR_DEV, '-t', '1', '2001:db8:60::1'],
      ['-c', '2', '-i', '0.3', '-q', '-t', '1', '2001:db8:60::1'],
      // -w: ping stops at the first error.
      ['-c', '2', '-i', '0.3', '-w', '3', '-t', '1', '2001:db8:60::1'],
    ];
    for (const words of cases) {
      const [e, k] = [await inQrouter(words), await realPing(words)];
      assert.equal(form(e), form(k), `ping ${words.join(' ')}`);
    }
    const one = await inQrouter(['-c', '1', '-t', '1', '2001:db8:60::1']);
    assert.match(one.out, /^From 2001:db8:7::[56] icmp_seq=1 Time exceeded: Hop limit$/m, form(one));
    assert.match(one.out, /1 packets transmitted, 0 received, \+1 errors, 100% packet loss/, form(one));
  } finally {
    for (const ns of [lab.nsVm, nsB]) {
      await run('ip', ['-n', ns, 'link', 'del', small]);
      await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=0']);
    }
  }
});
