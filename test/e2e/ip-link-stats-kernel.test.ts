// `ip -s -s link` against the kernel: a veth dpe-a in one namespace gets
// pinged from its peer's namespace (ARP, three echoes), sent two echoes for
// another host's MAC, and (on an AF_PACKET socket) a frame of an ethertype
// nobody handles, IPv4 tagged for a VLAN dpe-a has none of, IPv6 and an ARP
// reply for another host; dpemu's namespace gets the same frames. The
// statistics blocks of dpe-a (and lo) must print the same, byte for byte,
// as text and as `ip -j`'s stats64 members.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requireRoot } from '../helpers/root.js';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { parseIpv4, parseMacNum } from '../../src/wire/addr.js';
import { buildFrame } from '../../src/wire/frame.js';
import { KernelObjects, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const k1 = `dpe-${tag}-s1`;
const k2 = `dpe-${tag}-s2`;
const objs = new KernelObjects();
const OTHER = '02:00:00:00:00:99';
/** Sends the hex frames given after the device name on an AF_PACKET socket bound to it. */
const SEND = 'import socket, sys\ns = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\ns.bind((sys.argv[1], 0))\nfor h in sys.argv[2:]: s.send(bytes.fromhex(h))';

const macOf = (ns: string, dev: string): string => /link\/ether (\S+)/.exec(sh('ip', ['-n', ns, 'link', 'show', dev]))![1]!;
/** The statistics lines of each device's block (its first two lines are the link's own). */
const blocks = (text: string): string[] => text.split(/\n(?=\d+: )/).map((b) => b.split('\n').slice(2).join('\n'));

before(() => {
  requireRoot('ip -s link against the kernel');
  for (const ns of [k1, k2]) {
    objs.addNetns(ns);
    // No IPv6: its router solicitations and MLD reports would add frames the test does not send.
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  objs.veth(`dpe${tag}`, k1, 'dpe-a', k2, 'dpe-b');
  sh('ip', ['-n', k1, 'addr', 'add', '192.0.2.1/24', 'dev', 'dpe-a']);
  sh('ip', ['-n', k2, 'addr', 'add', '192.0.2.2/24', 'dev', 'dpe-b']);
  sh('ip', ['-n', k2, 'neigh', 'add', '192.0.2.9', 'lladdr', OTHER, 'dev', 'dpe-b']);
});

after(() => objs.cleanup());

/** dpemu's side: namespaces k1 (dpe-a) and k2 (dpe-b) on a veth, with the kernel's MACs; `send` puts a frame out of dpe-b. */
function model(macA: string, macB: string) {
  const e = new Engine({ clock: new ManualClock(0) });
  const a = e.add(new NetNamespace('lab', 'k1'));
  const b = e.add(new NetNamespace('lab', 'k2'));
  const pa = a.addInterface('dpe-a', { mac: parseMacNum(macA)!, addresses: [{ ip: parseIpv4('192.0.2.1')!, prefixLen: 24 }] });
  const pb = b.addInterface('dpe-b', { mac: parseMacNum(macB)!, addresses: [{ ip: parseIpv4('192.0.2.2')!, prefixLen: 24 }] });
  e.link(pa, pb, 'veth');
  const send = (f: Uint8Array): void => {
    e.output(e.pool.allocFrom(f)!, pb);
    e.run();
  };
  const show = (el: NetNamespace, cmd: string) => runCommand(el.ns, cmd, 0, { linkStats: (l) => el.linkStats(l) });
  return { a, b, send, show };
}

test('ip -s -s link: the kernel and dpemu print the same counters in the same layout for the same frames', () => {
  const macA = macOf(k1, 'dpe-a'), macB = macOf(k2, 'dpe-b');
  const m = model(macA, macB);
  const both = (cmd: string) => {
    const kernel = [k1, k2].map((ns) => sh('ip', ['-n', ns, ...cmd.split(' ').slice(1)]));
    return { kernel, ours: [m.show(m.a, cmd), m.show(m.b, cmd)] };
  };

  // ping from k2: ARP, three echoes answered; two echoes for another host's MAC (nobody answers: ping exits 1).
  sh('ip', ['netns', 'exec', k2, 'ping', '-n', '-q', '-c', '3', '-i', '0.2', '-W', '1', '192.0.2.1']);
  sh('ip', ['netns', 'exec', k2, 'sh', '-c', 'ping -n -q -c 2 -i 0.2 -W 1 192.0.2.9 || true']);
  const echo = (dst: string, seq: number) => buildFrame({ src: macB, dst, ip: { src: '192.0.2.2', dst: dst === OTHER ? '192.0.2.9' : '192.0.2.1' }, icmp: { id: 1, seq, data: 56 } });
  m.send(buildFrame({ src: macB, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: macB, spa: '192.0.2.2', tpa: '192.0.2.1' } }));
  for (const f of [echo(macA, 1), echo(macA, 2), echo(macA, 3), echo(OTHER, 1), echo(OTHER, 2)]) m.send(f);
  // Raw frames on an AF_PACKET socket, the same into dpemu.
  const raw = [
    buildFrame({ src: macB, dst: macA, ethertype: 0x88b5, payload: [1, 2, 3, 4], padTo: 60 }), // rx_dropped
    buildFrame({ src: macB, dst: macA, vlans: [777], ip: { src: '192.0.2.2', dst: '192.0.2.1' }, udp: { sport: 1, dport: 9, payload: 4 } }), // otherhost
    buildFrame({ src: macB, dst: macA, ethertype: 0x86dd, payload: [0x60, ...Array<number>(39).fill(0)] }), // IPv6 (disabled): no device counter
    buildFrame({ src: macB, dst: OTHER, arp: { op: 2, sha: macB, spa: '192.0.2.2', tha: OTHER, tpa: '192.0.2.9' } }), // dropped by arp_rcv, uncounted
  ];
  const sendRaw = (frames: Uint8Array[]) => {
    sh('ip', ['netns', 'exec', k2, 'python3', '-c', SEND, 'dpe-b', ...frames.map((f) => Buffer.from(f).toString('hex'))]);
    frames.forEach(m.send);
  };
  sendRaw(raw);

  const s2 = both('ip -s -s link show');
  const [ka, kb] = s2.kernel.map(blocks), [oa, ob] = s2.ours.map(blocks);
  assert.equal(ka!.length, 2, `lo and dpe-a in the kernel's namespace:\n${s2.kernel[0]}`);
  const rxBytes = 532 + raw.reduce((n, f) => n + f.length, 0);
  assert.match(ka![1]!, new RegExp(`\n +${rxBytes} +10 +0 +1 .*\n.* otherhost\n.* 3 \n`), `the kernel counted what the test sent:\n${s2.kernel[0]}`);
  assert.equal(oa![0], ka![0], 'lo');
  assert.equal(oa![1], ka![1], 'dpe-a');
  assert.equal(ob![1], kb![1], 'dpe-b');
  // One -s: the RX and TX lines only; `ip -s addr` prints them after the addresses.
  const s1 = both('ip -s link show');
  assert.deepEqual(s1.ours.map((t) => blocks(t)[1]), s1.kernel.map((t) => blocks(t)[1]), 'ip -s link show');
  const afterAddrs = (text: string) => text.slice(text.lastIndexOf('valid_lft'));
  const sa = both('ip -s addr show');
  assert.deepEqual(sa.ours.map(afterAddrs), sa.kernel.map(afterAddrs), 'ip -s addr show');
  // The same counters under -j: each device's "stats64" member, as printed (otherhost only when counted, as in print_stats64).
  const stats64 = (t: string) => t.match(/"stats64":\{"rx":\{[^}]*\},"tx":\{[^}]*\}\}/g);
  for (const cmd of ['ip -j -s -s link show', 'ip -j -s link show', 'ip -j -s addr show']) {
    const j = both(cmd);
    if (cmd.includes('-s -s')) assert.match(j.kernel[0]!, /"otherhost":3\}/, `${cmd}: the kernel shows the frames for other hosts`);
    assert.deepEqual(j.ours.map(stats64), j.kernel.map(stats64), cmd);
  }

  // dpe-a down: what dpe-b sends is dropped there (tx_dropped), dpe-a receives nothing, both lose carrier.
  sh('ip', ['-n', k1, 'link', 'set', 'dpe-a', 'down']);
  m.a.setLinkUp('dpe-a', false);
  // Only once linkwatch has taken dpe-b's carrier away is the frame dropped at dpe-b; before that (up to a second)
  // veth_xmit hands it to the down dpe-a, which counts it as its rx_dropped and the sender gets ENOBUFS.
  for (let i = 0; i < 60 && !/NO-CARRIER/.test(sh('ip', ['-n', k2, 'link', 'show', 'dpe-b'])); i++) spawnSync('sleep', ['0.05']);
  sendRaw([buildFrame({ src: macB, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: macB, spa: '192.0.2.2', tpa: '192.0.2.1' } })]);
  const down = both('ip -s -s link show');
  assert.match(blocks(down.kernel[1]!)[1]!, /\n {4}TX: .*\n +\d+ +10 +0 +1 /, `the kernel dropped it at dpe-b:\n${down.kernel[1]}`);
  assert.deepEqual(down.ours.map((t) => blocks(t)[1]), down.kernel.map((t) => blocks(t)[1]), 'dpe-a down: dpe-a and dpe-b');
});
