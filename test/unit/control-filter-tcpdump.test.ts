// Capture filters, differential: for each expression the frames dpemu's
// filter takes must be the frames the real tcpdump 4.99 / libpcap 1.10 takes
// (`tcpdump -r IN -w OUT EXPR`), and a malformed filter must get libpcap's words.
//
// Tags: dpemu's filter looks through VLAN tags as a Linux live capture's
// socket filter does (the kernel takes the tag off before the filter runs),
// while libpcap reading a pcap file sees the tags in the data. So tcpdump reads
// the frames as that socket filter would see them, tags removed, and dpemu
// reads them as captured, tags in: the comparison then checks both the look
// through tags and every test after it. (dpemu removes every tag where the
// kernel removes the outer one; the view here removes every tag, so the QinQ
// frames check dpemu's rule, not the kernel's.) `vlan` itself reads the tag,
// which the view has lost, so its cases stay in control-filter.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFilter, decodeCookedFields, decodeFields, FilterSyntaxError } from '../../src/control/capture-filter.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { pcapFile, pcapHeader, pcapRecord, readPcap } from '../../src/wire/pcap.js';
import { cookedPayloadAt, cookedProtocol, LINKTYPE_LINUX_SLL2, packetType, SLL2_HDR_LEN, writeSll2Header } from '../../src/wire/sll2.js';
import { CASES, QR, SYN, VM, err, PROBE } from './wire-tcpdump-cases.js';

const A = '192.168.1.7';
const B = '203.0.113.5';
const tcp = (t: Partial<NonNullable<FrameSpec['tcp']>>, o: Partial<NonNullable<FrameSpec['ip']>> = {}, vlans?: number[]): Uint8Array =>
  buildFrame({ src: VM, dst: QR, vlans, ip: { src: A, dst: B, ...o }, tcp: { sport: 51000, dport: 80, seq: 100, ack: 200, flags: 'P.', win: 500, ...t } });
const udp = (sport: number, dport: number, o: Partial<NonNullable<FrameSpec['ip']>> = {}, payload = 12, vlans?: number[]): Uint8Array =>
  buildFrame({ src: VM, dst: QR, vlans, ip: { src: A, dst: B, ...o }, udp: { sport, dport, payload } });
const icmp = (type: number, code = 0, vlans?: number[]): Uint8Array =>
  buildFrame({ src: QR, dst: VM, vlans, ip: { src: '192.168.1.1', dst: A }, icmp: { type, code, id: 7, seq: 1, data: 8 } });
const ip6 = (nh: number, l4: number[]): Uint8Array =>
  buildFrame({ src: VM, dst: '33:33:00:00:00:01', ethertype: 0x86dd, payload: [0x60, 0, 0, 0, 0, l4.length, nh, 64, ...new Array(15).fill(0), 1, 0xff, 2, ...new Array(13).fill(0), 1, ...l4] });
const cut = (f: Uint8Array, n: number) => f.slice(0, n);
/** 2001:db8::n. */
const DOC6 = (n: number): number[] => [0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), n];
const LL6 = [0xfe, 0x80, ...new Array(6).fill(0), 0xf8, 0x16, 0x3e, 0xff, 0xfe, 0xb2, 0xef, 0xaf];
/** IPv6 from `src` to `dst`: extension headers `ext` (the first of type `first`), then `l4`. */
const ip6x = (first: number, src: number[], dst: number[], ext: number[], l4: number[]): Uint8Array =>
  buildFrame({ src: VM, dst: QR, ethertype: 0x86dd, payload: [0x60, 0, 0, 0, 0, ext.length + l4.length, first, 64, ...src, ...dst, ...ext, ...l4] });
const UDP6 = [0x9c, 0x40, 0x13, 0x88, 0, 8, 0, 0];
const ECHO6 = [128, 0, 0, 0, 0, 1, 0, 1];

const FRAMES: [string, () => Uint8Array][] = [
  ...CASES,
  ...['S', 'S.', '.', 'P.', 'F.', 'R', 'R.', 'FPU', 'SEW', 'U.'].map((fl): [string, () => Uint8Array] => [`tcp ${fl}`, () => tcp({ flags: fl })]),
  ['tcp SYN with options', SYN],
  ['tcp GET', () => tcp({ payload: [...Buffer.from('GET / HTTP/1.1\r\n')] })],
  ['tcp to 443, tagged', () => tcp({ dport: 443, flags: 'S' }, {}, [103])],
  ['tcp from 8080 with IP options', () => tcp({ sport: 8080, dport: 51000, flags: 'S.' }, { options: [0x94, 4, 0, 0] })],
  ['tcp first fragment', () => tcp({ flags: 'S' }, { mf: true, df: false })],
  ['tcp later fragment', () => buildFrame({ src: VM, dst: QR, ip: { src: A, dst: B, proto: 6, fragOffset: 1480, df: false }, payload: [0, 80, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 2, 0, 0] })],
  ['udp dns', () => udp(40000, 53)],
  ['udp dns reply, tagged', () => udp(53, 40000, {}, 40, [7])],
  ['udp vxlan', () => udp(58650, 4789, {}, 50)],
  ['udp quic', () => udp(50000, 443, {}, 30)],
  ['udp to the broadcast address', () => udp(68, 67, { src: '0.0.0.0', dst: '255.255.255.255' })],
  ['udp to a multicast group', () => buildFrame({ src: VM, dst: '01:00:5e:00:00:fb', ip: { src: A, dst: '224.0.0.251', ttl: 1 }, udp: { sport: 5353, dport: 5353, payload: 20 } })],
  ['sctp', () => buildFrame({ src: VM, dst: QR, ip: { src: A, dst: B, proto: 132 }, payload: [0x13, 0x88, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0] })],
  ...[0, 3, 4, 5, 8, 11, 12, 13, 17].map((t): [string, () => Uint8Array] => [`icmp type ${t}`, () => icmp(t, t === 3 ? 3 : 0)]),
  ['icmp echo, tagged', () => icmp(8, 0, [103])],
  ['icmp unreachable quoting a probe', () => err(3, 3, PROBE().subarray(14))],
  ['ipv6 tcp', () => ip6(6, [0xc8, 0, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 0xff, 0xff, 0, 0, 0, 0])],
  ['ipv6 udp dns', () => ip6(17, [0x9c, 0x40, 0, 53, 0, 8, 0, 0])],
  ['ipv6 fragment header then tcp', () => ip6(44, [6, 0, 0, 0, 0, 0, 0, 1, 0xc8, 0, 0, 80])],
  ['ipv6 icmp6 echo', () => ip6(58, [128, 0, 0, 0, 0, 1, 0, 1])],
  ['ipv6 2001:db8::7 > 2001:db8::8 udp', () => ip6x(17, DOC6(7), DOC6(8), [], UDP6)],
  ['ipv6 link-local > 2001:db8::1:8 echo', () => ip6x(58, LL6, [0x20, 1, 0xd, 0xb8, 0, 1, ...new Array(9).fill(0), 8], [], ECHO6)],
  ['ipv6 2001:db9::7 > ff02::16 mld report', () => ip6x(58, [0x20, 1, 0xd, 0xb9, ...new Array(11).fill(0), 7], [0xff, 2, ...new Array(13).fill(0), 0x16], [], [143, 0, 0, 0, 0, 0, 0, 0])],
  ['ipv6 :: > 2001:db8::8 neighbour solicitation', () => ip6x(58, new Array(16).fill(0), DOC6(8), [], [135, 0, 0, 0, 0, 0, 0, 0, ...DOC6(8)])],
  ['ipv6 ::ffff:192.0.2.1 > 2001:db8::7 tcp', () => ip6x(6, [...new Array(10).fill(0), 0xff, 0xff, 192, 0, 2, 1], DOC6(7), [], [0, 80, 0xc8, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 0xff, 0xff, 0, 0, 0, 0])],
  ['ipv6 2001:db8::8 > 2001:db8::8 udp', () => ip6x(17, DOC6(8), DOC6(8), [], UDP6)],
  ['ipv6 2001:db8::7 > :: udp', () => ip6x(17, DOC6(7), new Array(16).fill(0), [], UDP6)],
  ['ipv6 hop-by-hop then udp', () => ip6x(0, DOC6(7), DOC6(8), [17, 0, 1, 4, 0, 0, 0, 0], UDP6)],
  ['ipv6 hop-by-hop, routing, fragment, destination options then icmp6', () =>
    ip6x(0, DOC6(7), DOC6(8), [43, 0, 1, 4, 0, 0, 0, 0, 44, 2, 0, 1, 0, 0, 0, 0, ...DOC6(9), 60, 0, 0, 1, 0, 0, 0, 9, 58, 0, 1, 4, 0, 0, 0, 0], ECHO6)],
  ['ipv6 ah then tcp', () => ip6x(51, DOC6(7), DOC6(8), [6, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1], [0, 80, 0xc8, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 0xff, 0xff, 0, 0, 0, 0])],
  ['ipv6 fragment then icmp6', () => ip6x(44, DOC6(7), DOC6(8), [58, 0, 0, 1, 0, 0, 0, 1], ECHO6)],
  ['ipv6 no next header', () => ip6x(59, DOC6(7), DOC6(8), [], [])],
  ['ipv6 hop-by-hop running past the frame', () => ip6x(0, DOC6(7), DOC6(8), [17, 9, 1, 4, 0, 0, 0, 0], UDP6)],
  ['ipv6 two AHs then udp (libpcap reads the second from the wrong place)', () => ip6x(51, DOC6(7), DOC6(8), [51, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1], UDP6)],
  ['ipv4 two AHs then udp', () => buildFrame({ src: VM, dst: QR, ip: { src: A, dst: B, proto: 51 }, payload: [51, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x9c, 0x40, 0, 53, 0, 8, 0, 0] })],
  ['ipv4 ah then udp', () => buildFrame({ src: VM, dst: QR, ip: { src: A, dst: B, proto: 51 }, payload: [17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x9c, 0x40, 0, 53, 0, 8, 0, 0] })],
  ...[20, 24, 30, 38, 46, 54, 56, 58, 62, 66, 70].map((n): [string, () => Uint8Array] => [`ipv6 udp cut to ${n}`, () => cut(ip6x(17, DOC6(7), DOC6(8), [], UDP6), n)]),
  // Cut short: before the ethertype, in the IP header, in the ports, in the TCP flags.
  ...[10, 13, 14, 20, 23, 24, 30, 34, 36, 38, 40, 47].map((n): [string, () => Uint8Array] => [`tcp cut to ${n}`, () => cut(tcp({ flags: 'S' }), n)]),
  ['tagged tcp cut to 40', () => cut(tcp({ flags: 'S' }, {}, [103]), 40)],
  ['udp cut to 40', () => cut(udp(40000, 53), 40)],
  ['arp cut to 40', () => cut(buildFrame({ src: QR, dst: VM, arp: { op: 2, sha: QR, spa: '192.168.1.1', tha: VM, tpa: A } }), 40)],
];

/** The frame as a Linux socket filter sees it: VLAN tags taken out (as dpemu's decodeFields reads them). */
function untagged(f: Uint8Array): Uint8Array {
  let p = 12;
  while (f.length >= 14 && (((f[p]! << 8) | f[p + 1]!) === 0x8100 || ((f[p]! << 8) | f[p + 1]!) === 0x88a8) && p + 6 <= f.length) p += 4;
  return p === 12 ? f : Uint8Array.from([...f.subarray(0, 12), ...f.subarray(p)]);
}

const EXPRS = [
  // protocols, hosts, ports (the primitives dpemu had; now with names, SCTP, IPv6 and cut frames)
  'tcp', 'udp', 'icmp', 'arp', 'ip', 'ip6', 'not ip', 'ip proto 17', 'ether proto 0x0806', 'not tcp',
  'host 192.168.1.7', 'src host 192.168.1.1', 'net 192.168.0.0/16', 'not host 8.8.8.8', 'arp host 192.168.1.1', 'dst net 203.0.113',
  'port 80', 'not port 80', 'tcp port http', 'port http', 'port domain', 'udp port domain', 'port https or port 8080', 'src port 51234',
  'src portrange 50000-60000', 'dst portrange 1-1024', 'portrange 33000-34000', 'tcp dst port 8080', 'port 80 or 443', 'port 010',
  'portrange http-https', 'udp portrange http-https', 'tcp portrange domain-http', 'portrange 050-0100',
  // and/or alike, left to right
  'tcp or udp and port 53', 'udp and port 53 or icmp', 'not tcp and udp or arp', 'icmp or arp and not ip',
  // link layer
  'ether host ff:ff:ff:ff:ff:ff', 'ether src fa:16:3e:b2:ef:af', 'ether dst fa:16:3e:06:d8:7b', 'ether broadcast', 'ether multicast',
  'broadcast', 'multicast', 'not multicast', 'ip multicast', 'ip broadcast', 'ip6 multicast',
  // packet data
  'tcp[13] = 2', 'tcp[13] & 2 != 0', 'tcp[13] != 2', 'not tcp[13] = 2', 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn',
  'tcp[tcpflags] & tcp-rst != 0', 'tcp[tcpflags] & (tcp-fin|tcp-push|tcp-urg|tcp-ece|tcp-cwr) != 0', 'tcp[tcpflags] = tcp-syn|tcp-ack',
  'tcp[12] >> 4 > 5', 'tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420', 'tcp[2:2] = 80', 'tcp[0:2] > 1023 and tcp[2:2] < 1024',
  '(tcp[13] & 2) != 0', '(tcp[13] = 2)', 'tcp and tcp[13] & tcp-syn != 0 and not tcp[13] & tcp-ack != 0',
  'icmp[icmptype] = icmp-echo', 'icmp[0] == icmp-echoreply', 'icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply',
  'icmp[icmptype] = icmp-unreach or icmp[icmptype] = icmp-timxceed', 'icmp[icmpcode] = 3', 'icmp[4:2] = 7', 'icmp[0] = icmp-redirect or icmp[0] = icmp-paramprob',
  'ip[0] & 0xf > 5', 'ip[0] & 0xf != 5', 'ip[6:2] & 0x1fff != 0', 'ip[6] & 0x20 != 0', 'ip[8] < 2', 'ip[010] = 64', 'ip[2:2] > 100',
  'ip[9] = 17', 'ip[16:4] = 0xffffffff', 'ip[12:4] & 0xffffff00 = 0xc0a80100', 'ip and (ip[0] & 0xf) * 4 > 20', 'ip[2:2] - ((ip[0] & 0xf) << 2) > 100',
  'udp[2:2] = 4789', 'udp[0:2] >= 1024 and udp[2:2] < 1024', 'udp[8] & 0x08 = 8', 'udp[4:2] - 8 = 12',
  'arp[6:2] = 1', 'arp[7] = 2', 'arp[24:4] = 0xc0a80101', 'rarp[0] = 0', 'ip6[6] = 58', 'ip6[40] = 128', 'ip6[6] = 44 or ip6[6] = 6',
  'ether[0] & 1 != 0', 'ether[12:2] = 0x0806', 'ether[12:2] = 0x86dd', 'ether[0:4] = 0xffffffff', 'ether[6:4] = 0xfa163eb2',
  'ether[10:4] = 0xefaf0800', 'ether[11:2] = 0xaf08', 'link[12:2] = 0x800', 'ether[14] = 0x45',
  'len > 100', 'len <= 60', 'len - 14 > 64', 'len % 2 = 1', 'len / 2 > 40', 'len * 2 > 200', 'len & 0xf0 = 0x40', 'len ^ 0x40 < 0x20',
  'len << 1 > 300', '(len >> 2) - 1 = 14', '-len < 0xffffff00', 'length >= 98', 'greater 100', 'less 64', '1 + 2 * 3 = 7', '6 & 3 ^ 1 = 2',
  // loads past the end reject the frame, whatever surrounds them; so does a division by zero
  'ip[100] = 0', 'not ip[100] = 0', 'tcp[100] = 0 or udp', 'udp or tcp[100] = 0', 'not (tcp[0:4] / tcp[100] = 1)', 'not ether[70] = 1',
  'not tcp[0] / (tcp[13] & 0x80) = 0', 'tcp[100] * 0 = 0', 'tcp[100] & 0 != 0', 'ip[0] << (ip[1] + 28) = 0x50000000', 'ip[1] >> ip[0] = 0 and ip', 'ether[0xffffffff] = 0 or ip',
  // IPv6 hosts and nets, protocols and header chains, ICMPv6 data
  'host 2001:db8::7', 'src host 2001:db8::7', 'dst host 2001:db8::8', 'not host 2001:db8::8', 'ip6 host 2001:db8::7 or 2001:db8::1:8', 'src and dst host 2001:db8::8',
  'host ::ffff:192.0.2.1', 'dst host ::', 'ip6 src host ::', 'not src host ::', 'host fe80::f816:3eff:feb2:efaf', 'host 2001:db8::7/128',
  'net 2001:db8::/32', 'src net 2001:db8::/32', 'dst net 2001:db8::/48', 'net fe80::/10', 'dst net ff00::/8', 'not net 2001:db8::/32', 'net ::/0', 'net 2001:db8::8',
  'net 2001:db8::/32 or net 192.168.0.0/16', 'host 2001:db8::8 and udp', 'ip6 net 2001:db8:1::/48',
  'ip6 proto 17', 'ip6 proto 58', 'ip6 proto 0', 'ip6 proto 59', 'ip6 proto 44', 'ip6 proto \\tcp', 'proto 17', 'proto 6', 'proto 51', 'not proto 17',
  'icmp6', 'not icmp6', 'icmp6 or icmp', 'ip6 and not icmp6',
  'icmp6[0] = 128', 'icmp6[icmp6type] = icmp6-echo', 'icmp6[icmp6type] = icmp6-neighborsolicit', 'icmp6[0] = icmp6-multicastlistenerreportv2',
  'icmp6[icmp6type] != icmp6-echo', 'icmp6[4:2] = 1', 'icmp6[8:4] = 0x20010db8', 'not icmp6[100] = 0',
  'protochain 17', 'protochain 58', 'protochain 6', 'ip6 protochain 17', 'ip6 protochain 58', 'ip protochain 17', 'ip6 protochain 43', 'protochain 59', 'not protochain 17', 'protochain 51', 'ip protochain 192', 'ip6 protochain 32',
];

const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;

test('live: the filter takes the frames tcpdump -r takes', { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpe-pcf-'));
  try {
    const frames = FRAMES.map(([, make]) => make());
    const file = join(dir, 'in.pcap');
    const out = join(dir, 'out.pcap');
    writeFileSync(file, pcapFile(frames.map((f, i) => ({ tsMs: 1700000000000 + i * 1000, frame: untagged(f) }))));
    const fields = frames.map((f) => decodeFields(f, 0, f.length));
    const differ: { expr: string; onlyOurs: string[]; onlyTcpdump: string[] }[] = [];
    for (const expr of EXPRS) {
      execFileSync('tcpdump', ['-r', file, '-w', out, '--', expr], { stdio: ['ignore', 'ignore', 'pipe'] });
      const theirs = new Set(readPcap(readFileSync(out))!.records.map((r) => (r.tsMs - 1700000000000) / 1000));
      const pred = compileFilter(expr);
      const ours = new Set(fields.flatMap((f, i) => (pred(f) ? [i] : [])));
      const onlyOurs = [...ours].filter((i) => !theirs.has(i)).map((i) => FRAMES[i]![0]);
      const onlyTcpdump = [...theirs].filter((i) => !ours.has(i)).map((i) => FRAMES[i]![0]);
      if (onlyOurs.length || onlyTcpdump.length) differ.push({ expr, onlyOurs, onlyTcpdump });
    }
    assert.deepEqual(differ, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * `-i any`: the frames as Linux cooked v2 (the outer tag gone, as the kernel
 * takes it off; sent or received, at two ifindexes), every expression above
 * and some of the cooked header's own, against tcpdump -r of a
 * LINKTYPE_LINUX_SLL2 file: the same frames taken, or libpcap's refusal in its
 * words. Not `len` and what tests it: reading a file libpcap counts the
 * cooked header, live it does not (test/e2e/tcpdump-any-kernel.test.ts).
 */
test('live: on -i any the filter takes the cooked frames tcpdump -r takes, or is refused as libpcap refuses it', { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpe-pcf-'));
  try {
    const named = FRAMES.map(([name, make]): [string, Uint8Array] => [name, make()]).filter(([, f]) => f.length >= 14);
    const frames = named.map(([, f], i) => {
      const at = cookedPayloadAt(f, 0, f.length);
      const c = new Uint8Array(SLL2_HDR_LEN + f.length - at);
      writeSll2Header(c, cookedProtocol(f, at, f.length), 2 + (i % 2), packetType(f, 0, i % 3 !== 1, 0xfa16, 0x3e06d87b), f, 0);
      c.set(f.subarray(at), SLL2_HDR_LEN);
      return c;
    });
    const file = join(dir, 'in.pcap');
    const out = join(dir, 'out.pcap');
    writeFileSync(file, Buffer.concat([pcapHeader(undefined, LINKTYPE_LINUX_SLL2), ...frames.map((f, i) => pcapRecord(1700000000000 + i * 1000, f))]));
    const fields = frames.map((f) => decodeCookedFields(f, 0, f.length));
    const own = ['inbound', 'outbound', 'not inbound and udp', 'ether[10] = 4', 'ether[10] = 1', 'ether[4:4] = 3', 'ether[0:2] = 0x86dd', 'link[12:4] = 0xfa163eb2', 'ether[18:2] = 0', 'ether[20] = 0x45', 'ether[21] = 0', 'vlan', 'vlan 103', 'host fa:16:3e:b2:ef:af'];
    const differ: { expr: string; onlyOurs: string[]; onlyTcpdump: string[] }[] = [];
    for (const expr of [...EXPRS.filter((e) => !/len|less|greater/.test(e)), ...own]) {
      const r = spawnSync('tcpdump', ['-r', file, '-w', out, '--', expr], { encoding: 'utf8' });
      let pred;
      try {
        pred = compileFilter(expr, undefined, true);
      } catch (e) {
        assert.ok(e instanceof FilterSyntaxError, expr);
        assert.equal(`tcpdump: ${e.message}`, r.stderr.split('\n').find((l) => l.startsWith('tcpdump: ')), expr);
        continue;
      }
      assert.equal(r.status, 0, `${expr}: ${r.stderr}`);
      const theirs = new Set(readPcap(readFileSync(out))!.records.map((rec) => (rec.tsMs - 1700000000000) / 1000));
      const ours = new Set(fields.flatMap((f, i) => (pred(f) ? [i] : [])));
      const onlyOurs = [...ours].filter((i) => !theirs.has(i)).map((i) => named[i]![0]);
      const onlyTcpdump = [...theirs].filter((i) => !ours.has(i)).map((i) => named[i]![0]);
      if (onlyOurs.length || onlyTcpdump.length) differ.push({ expr, onlyOurs, onlyTcpdump });
    }
    assert.deepEqual(differ, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Expressions meant to take all frames or none (constants, loads that always fail, no such frame). */
const CONSTANT = ['port 010', 'rarp[0] = 0', '-len < 0xffffff00', '1 + 2 * 3 = 7', '6 & 3 ^ 1 = 2', 'tcp[100] & 0 != 0', 'ether[0xffffffff] = 0 or ip'];

test('the frames tell the expressions apart (so the comparison above can fail)', () => {
  const fields = FRAMES.map(([, make]) => make()).map((f) => decodeFields(f, 0, f.length));
  const constant = EXPRS.filter((e) => {
    const n = fields.filter(compileFilter(e)).length;
    return n === 0 || n === fields.length;
  });
  assert.deepEqual(constant, CONSTANT);
});

const BAD = [
  'tcp[1:3] = 0', 'ether[0:3] = 1', 'tcp[0] / 0 = 1', 'tcp[0] % 0 = 1', 'tcp[0] << 32 = 1', 'tcp[0] / (2 & 1) = 1', 'not udp[0] % (udp[8] & 0) = 1', 'udp port http',
  'port nosuchservice', '08', 'ip[08] = 1', 'tcp[0] = 99999999999', '0x100000000 = 1', 'tcp[', 'a or', 'tcp[0]', 'tcp[0] = 1 = 2',
  'vlan[0] = 1', 'len-4 > 0', 'tcp net 10.0.0.0/8', 'ip port 80', 'ip portrange 1-2', 'ether host 1.2.3.4', 'arp broadcast',
  'ip host 2001:db8::1', 'tcp host 2001:db8::1', 'ether host 2001:db8::1', 'arp net 2001:db8::/32', 'ip6 host 10.1.2.3', 'ip6 net 10.0.0.0/8',
  'net 2001:db8::1/64', 'net 2001:db8::/129', 'ip6 proto \\icmp6', 'protochain udp', 'ip proto udp', 'ether proto ip', 'ip net 2001:db8::/32', 'ether net 2001:db8::/32',
  'ip6 host 2001:db8::1 mask ffff::', 'host 22:c4:00:00:00:01', 'src fa:16:3e:b2:ef:af', 'ip host fa:16:3e:b2:ef:af', 'arp src fa:16:3e:b2:ef:af',
  'ether host 22:c4:00:00:00:01 or src fa:16:3e:b2:ef:af', 'fa:16:3e:b2:ef:af',
  'port 65536', 'portrange 1-foo', 'portrange ftp-data-ftp', 'udp portrange http-http', '(tcp[0] = 1', 'tcp[0] = 1)', 'tcp[0] = 1 or', 'icmp[0] <', 'host', '(udp', 'udp )', 'vlan 5000',
];

test('live: malformed filters get tcpdump\'s words', { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
  const differ: { expr: string; ours: string; tcpdump: string }[] = [];
  for (const expr of BAD) {
    const r = spawnSync('tcpdump', ['-d', expr], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, expr);
    const theirs = r.stderr.split('\n').find((l) => l.startsWith('tcpdump: '))!.slice('tcpdump: '.length);
    let ours = '(accepted)';
    try {
      compileFilter(expr);
    } catch (e) {
      assert.ok(e instanceof FilterSyntaxError, expr);
      ours = e.message;
    }
    if (ours !== theirs) differ.push({ expr, ours, tcpdump: theirs });
  }
  assert.deepEqual(differ, []);
});

test('live: the named constants are libpcap\'s', { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
  const names: [string, number][] = [
    ['icmptype', 0], ['icmpcode', 1], ['icmp-echoreply', 0], ['icmp-unreach', 3], ['icmp-sourcequench', 4], ['icmp-redirect', 5], ['icmp-echo', 8],
    ['icmp-routeradvert', 9], ['icmp-routersolicit', 10], ['icmp-timxceed', 11], ['icmp-paramprob', 12], ['icmp-tstamp', 13], ['icmp-tstampreply', 14],
    ['icmp-ireq', 15], ['icmp-ireqreply', 16], ['icmp-maskreq', 17], ['icmp-maskreply', 18], ['tcpflags', 13], ['tcp-fin', 1], ['tcp-syn', 2],
    ['tcp-rst', 4], ['tcp-push', 8], ['tcp-ack', 16], ['tcp-urg', 32], ['tcp-ece', 64], ['tcp-cwr', 128],
    ['icmp6type', 0], ['icmp6code', 1], ['icmp6-destinationunreach', 1], ['icmp6-packettoobig', 2], ['icmp6-timeexceeded', 3], ['icmp6-parameterproblem', 4],
    ['icmp6-echo', 128], ['icmp6-echoreply', 129], ['icmp6-multicastlistenerquery', 130], ['icmp6-multicastlistenerreportv1', 131], ['icmp6-multicastlistenerdone', 132],
    ['icmp6-routersolicit', 133], ['icmp6-routeradvert', 134], ['icmp6-neighborsolicit', 135], ['icmp6-neighboradvert', 136], ['icmp6-redirect', 137],
    ['icmp6-routerrenum', 138], ['icmp6-nodeinformationquery', 139], ['icmp6-nodeinformationresponse', 140], ['icmp6-ineighbordiscoverysolicit', 141],
    ['icmp6-ineighbordiscoveryadvert', 142], ['icmp6-multicastlistenerreportv2', 143], ['icmp6-homeagentdiscoveryrequest', 144], ['icmp6-homeagentdiscoveryreply', 145],
    ['icmp6-mobileprefixsolicit', 146], ['icmp6-mobileprefixadvert', 147], ['icmp6-certpathsolicit', 148], ['icmp6-certpathadvert', 149],
    ['icmp6-multicastrouteradvert', 151], ['icmp6-multicastroutersolicit', 152], ['icmp6-multicastrouterterm', 153],
  ];
  const any = decodeFields(new Uint8Array(60), 0, 60);
  for (const [name, v] of names) {
    // libpcap folds a constant relation to "ret #262144" (all) or refuses it ("rejects all packets").
    const r = spawnSync('tcpdump', ['-d', `${name} = ${v}`], { encoding: 'utf8' });
    assert.match(r.stdout, /ret\s+#262144/, `${name} = ${v} in libpcap`);
    assert.equal(compileFilter(`${name} = ${v}`)(any), true, name);
    assert.equal(compileFilter(`${name} = ${v + 1}`)(any), false, name);
  }
});
