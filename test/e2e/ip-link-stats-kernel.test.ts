// `ip -s -s link` against the kernel: a veth dpe-a in one namespace gets
// pinged from its peer's namespace (ARP, three echoes), sent two echoes for
// another host's MAC, and (on an AF_PACKET socket) a frame of an ethertype
// nobody handles, IPv4 tagged for a VLAN dpe-a has none of, IPv6 and an ARP
// reply for another host; dpemu's namespace gets the same frames. The
// statistics blocks of dpe-a (and lo) must print the same, byte for byte.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { parseIpv4, parseMacNum } from '../../src/wire/addr.js';
import { buildFrame } from '../../src/wire/frame.js';
import { CaptureSink } from '../helpers/sink.js';
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
  sh('ip', ['-n', k1, 'link', 'add', 'dpe-a', 'type', 'veth', 'peer', 'name', 'dpe-b', 'netns', k2]);
  sh('ip', ['-n', k1, 'addr', 'add', '192.0.2.1/24', 'dev', 'dpe-a']);
  sh('ip', ['-n', k2, 'addr', 'add', '192.0.2.2/24', 'dev', 'dpe-b']);
  sh('ip', ['-n', k2, 'neigh', 'add', '192.0.2.9', 'lladdr', OTHER, 'dev', 'dpe-b']);
  sh('ip', ['-n', k1, 'link', 'set', 'dpe-a', 'up']);
  sh('ip', ['-n', k2, 'link', 'set', 'dpe-b', 'up']);
});

after(() => objs.cleanup());

test('ip -s -s link: the kernel and dpemu print the same counters in the same layout for the same frames', () => {
  const macA = macOf(k1, 'dpe-a'), macB = macOf(k2, 'dpe-b');
  sh('ip', ['netns', 'exec', k2, 'ping', '-n', '-q', '-c', '3', '-i', '0.2', '-W', '1', '192.0.2.1']);
  // Nobody answers 192.0.2.9: ping exits 1 once its wait is over.
  sh('ip', ['netns', 'exec', k2, 'sh', '-c', 'ping -n -q -c 2 -i 0.2 -W 1 192.0.2.9 || true']);
  const raw = [
    buildFrame({ src: macB, dst: macA, ethertype: 0x88b5, payload: [1, 2, 3, 4], padTo: 60 }), // rx_dropped
    buildFrame({ src: macB, dst: macA, vlans: [777], ip: { src: '192.0.2.2', dst: '192.0.2.1' }, udp: { sport: 1, dport: 9, payload: 4 } }), // otherhost
    buildFrame({ src: macB, dst: macA, ethertype: 0x86dd, payload: [0x60, ...Array<number>(39).fill(0)] }), // IPv6 (disabled): no device counter
    buildFrame({ src: macB, dst: OTHER, arp: { op: 2, sha: macB, spa: '192.0.2.2', tha: OTHER, tpa: '192.0.2.9' } }), // dropped by arp_rcv, uncounted
  ];
  const hex = raw.map((f) => Buffer.from(f).toString('hex'));
  sh('ip', ['netns', 'exec', k2, 'python3', '-c', SEND, 'dpe-b', ...hex]);
  const kernel = sh('ip', ['-n', k1, '-s', '-s', 'link', 'show']);

  const e = new Engine({ clock: new ManualClock(0) });
  const el = e.add(new NetNamespace('lab', 'k1'));
  const port = el.addInterface('dpe-a', { mac: parseMacNum(macA)!, addresses: [{ ip: parseIpv4('192.0.2.1')!, prefixLen: 24 }] });
  const wire = new CaptureSink();
  e.attachEdge(port, wire);
  const echo = (dst: string, seq: number) => buildFrame({ src: macB, dst, ip: { src: '192.0.2.2', dst: dst === OTHER ? '192.0.2.9' : '192.0.2.1' }, icmp: { id: 1, seq, data: 56 } });
  const frames = [
    buildFrame({ src: macB, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: macB, spa: '192.0.2.2', tpa: '192.0.2.1' } }),
    echo(macA, 1), echo(macA, 2), echo(macA, 3), echo(OTHER, 1), echo(OTHER, 2), ...raw,
  ];
  for (const f of frames) e.inject(e.pool.allocFrom(f)!, port);
  assert.equal(wire.frames.length, 4, 'dpemu answered the ARP request and the three echoes');
  const ours = runCommand(el.ns, 'ip -s -s link show', 0, { linkStats: (l) => el.linkStats(l) });

  const kb = blocks(kernel), ob = blocks(ours);
  assert.equal(kb.length, 2, `lo and dpe-a in the kernel's namespace:\n${kernel}`);
  const rxBytes = 532 + raw.reduce((n, f) => n + f.length, 0);
  assert.match(kb[1]!, new RegExp(`\n +${rxBytes} +10 +0 +1 .*\n.* otherhost\n.* 3 \n`), `the kernel counted what the test sent:\n${kernel}`);
  assert.equal(ob[0], kb[0], 'lo');
  assert.equal(ob[1], kb[1], 'dpe-a');
  // One -s: the RX and TX lines only; `ip -s addr` prints them after the addresses.
  const one = (text: string) => blocks(text)[0]!;
  const statsOf = (cmd: string) => runCommand(el.ns, cmd, 0, { linkStats: (l) => el.linkStats(l) });
  assert.equal(one(statsOf('ip -s link show dpe-a')), one(sh('ip', ['-n', k1, '-s', 'link', 'show', 'dpe-a'])), 'ip -s link show dpe-a');
  const afterAddrs = (text: string) => text.slice(text.lastIndexOf('valid_lft'));
  assert.equal(afterAddrs(statsOf('ip -s addr show dpe-a')), afterAddrs(sh('ip', ['-n', k1, '-s', 'addr', 'show', 'dpe-a'])), 'ip -s addr show dpe-a');
});
