// tcpdump -v / -vv / -vvv lines (and -nnee, -S -vv, without -e, -q), differential: the real
// tcpdump 4.99 reads a pcap of varied frames (the -nnee cases plus frames
// that exercise what -v adds: checksums right and wrong, ToS/ECN, TTL 0 and
// 1, IP flags and fragments, IP and TCP options, ICMP errors quoting packets
// and their RFC 4884 extensions, ARP, 802.1Q, VXLAN, OSPF, IPv6, frames cut
// short) and the formatter must print the same text, line for line. A few
// lines checked by hand keep the test meaningful where tcpdump is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checksum, onesSum } from '../../src/wire/checksum.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { pcapFile } from '../../src/wire/pcap.js';
import { Tcpdump } from '../../src/wire/tcpdump.js';
import { CASES, INNER, PROBE, QR, REQ, SYN, VM, VX, err } from './wire-tcpdump-cases.js';

const A = '192.168.1.7';
const B = '203.0.113.5';
const ip = (o: Partial<NonNullable<FrameSpec['ip']>> = {}) => ({ src: A, dst: B, ...o });
const udp = (o: Partial<NonNullable<FrameSpec['ip']>> = {}, payload: number | number[] = 12): Uint8Array =>
  buildFrame({ src: VM, dst: QR, ip: ip(o), udp: { sport: 40000, dport: 50000, payload } });
const echo = (o: Partial<NonNullable<FrameSpec['ip']>> = {}, data = 8): Uint8Array => buildFrame({ src: VM, dst: QR, ip: ip(o), icmp: { id: 7, seq: 1, data } });
const tcp = (t: Partial<NonNullable<FrameSpec['tcp']>> = {}, o: Partial<NonNullable<FrameSpec['ip']>> = {}): Uint8Array =>
  buildFrame({ src: VM, dst: QR, ip: ip(o), tcp: { sport: 51000, dport: 5201, seq: 100, ack: 200, flags: 'P.', win: 500, ...t } });
const mutate = (f: Uint8Array, at: number, v: number): Uint8Array => {
  f[at] = v;
  return f;
};

/** An IPv6 frame with a correct upper-layer checksum at `csumAt` in the payload (-1: none). */
function ip6(nh: number, l4: number[], csumAt: number, opts: { flow?: number; hlim?: number; dst?: number[] } = {}): Uint8Array {
  const src = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xf8, 0x16, 0x3e, 0xff, 0xfe, 0xb2, 0xef, 0xaf];
  const dst = opts.dst ?? [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const flow = 0x60000000 | (opts.flow ?? 0);
  const h = [flow >>> 24, (flow >>> 16) & 255, (flow >>> 8) & 255, flow & 255, l4.length >> 8, l4.length & 255, nh, opts.hlim ?? 64, ...src, ...dst];
  const pkt = Uint8Array.from([...h, ...l4]);
  if (csumAt >= 0) {
    const pseudo = onesSum(pkt, 8, 32, nh + l4.length);
    const c = checksum(pkt, 40, l4.length, pseudo);
    pkt[40 + csumAt] = c >> 8;
    pkt[40 + csumAt + 1] = c & 255;
  }
  return buildFrame({ src: VM, dst: '33:33:00:00:00:01', ethertype: 0x86dd, payload: [...pkt] });
}

/** IPv6 with extension headers `ext` (chained, the first's type `first`) before an upper layer `l4` of protocol `nh` (checksum at `csumAt`, -1: none). */
function ip6x(first: number, ext: number[], nh: number, l4: number[], csumAt = -1): Uint8Array {
  const src = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xf8, 0x16, 0x3e, 0xff, 0xfe, 0xb2, 0xef, 0xaf];
  const dst = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16];
  const plen = ext.length + l4.length;
  const pkt = Uint8Array.from([0x60, 0, 0, 0, plen >> 8, plen & 255, first, 1, ...src, ...dst, ...ext, ...l4]);
  if (csumAt >= 0) {
    const at = 40 + ext.length;
    const c = checksum(pkt, at, l4.length, onesSum(pkt, 8, 32, nh + l4.length));
    pkt[at + csumAt] = c >> 8;
    pkt[at + csumAt + 1] = c & 255;
  }
  return buildFrame({ src: VM, dst: '33:33:00:00:00:16', ethertype: 0x86dd, payload: [...pkt] });
}
/** A hop-by-hop or destination options header holding `opts` (a multiple of 8 bytes with the first two). */
const opts6 = (next: number, opts: number[]): number[] => [next, (opts.length + 2) / 8 - 1, ...opts];
const RTALERT_PADN = [5, 2, 0, 0, 1, 0];
/** What Linux sends on link up: an MLDv2 report, one record (change to exclude, no sources). */
const MLD2 = [143, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0x8c, 0xf2, 0x8c];
const mld2 = (): Uint8Array => ip6x(0, opts6(58, RTALERT_PADN), 58, MLD2, 2);
const frag6 = (): Uint8Array => ip6x(0, [...opts6(44, [1, 4, 0, 0, 0, 0]), 17, 0, 0, 1, 0, 0, 0, 9], 17, [0x9c, 0x40, 0x13, 0x88, 0, 12, 0, 0, 1, 2, 3, 4], 6);
/** An IPv6 packet from 2001:db8::7 to 2001:db8::8 for an ICMPv6 error to quote. */
const quoted6 = (nh: number, ext: number[], l4: number[]): number[] => {
  const len = ext.length + l4.length;
  return [0x60, 0, 0, 0, len >> 8, len & 255, nh, 64, 0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 7, 0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 8, ...ext, ...l4];
};
const UDP53 = [0x9c, 0x40, 0, 53, 0, 20, 0, 0];
const err6 = (type: number, code: number, word: number[], quote: number[]): Uint8Array => ip6x(58, [], 58, [type, code, 0, 0, ...word, ...quote], 2);
// Neighbour discovery options: link-layer address, prefix information, MTU, RDNSS, DNSSL, advertisement interval, home agent, route information.
const LLA = [1, 1, 0xfa, 0x16, 0x3e, 0xb2, 0xef, 0xaf];
const PREFIX = [3, 4, 64, 0xc0, 0, 0, 0x0e, 0x10, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x20, 1, 0xd, 0xb8, 0, 1, ...new Array(10).fill(0)];
const MTU = [5, 1, 0, 0, 0, 0, 0x05, 0xaa];
const RDNSS = [25, 3, 0, 0, 0, 0, 0x0e, 0x10, 0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 0x53];
const DNSSL = [31, 3, 0, 0, 0, 0, 0x0e, 0x10, 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 0, 0, 0, 0];
const ROUTE = (units: number): number[] => [24, units, 48, 0x08, 0, 0, 0x0e, 0x10, ...[0x20, 1, 0xd, 0xb8, 0, 2, 0, 0, ...new Array(8).fill(0)].slice(0, (units - 1) * 8)];
/** A router advertisement: hop limit 64, `flags`, lifetime 1800 s, reachable 30 s, retransmit 1 s, then `opts`. */
const ra = (flags: number, opts: number[]): Uint8Array => ip6x(58, [], 58, [134, 0, 0, 0, 64, flags, 0x07, 0x08, 0, 0, 0x75, 0x30, 0, 0, 0x03, 0xe8, ...opts], 2);
const mldQuery2 = [130, 0, 0, 0, 0x27, 0x10, 0, 0, ...new Array(16).fill(0), 0x0a, 125, 0, 2, ...new Array(32).fill(1)];

const ospf = (payload: number[]): Uint8Array =>
  buildFrame({ src: 'fa:17:3e:f7:cd:bc', dst: '01:00:5e:00:00:05', ip: { src: '10.0.0.1', dst: '224.0.0.5', proto: 89, ttl: 1, tos: 0xc0 }, payload });

/** A 128-byte quote and an RFC 4884 extension (version byte `ver`) holding `objects`. */
function extension(objects: number[], ver = 0x20): number[] {
  const quote = [...PROBE().subarray(14)];
  const body = [...quote, ...new Array(128 - quote.length).fill(0)];
  const ext = [ver, 0, 0, 0, ...objects];
  const c = checksum(Uint8Array.from(ext), 0, ext.length);
  ext[2] = c >> 8;
  ext[3] = c & 255;
  return [...body, ...ext];
}
/** One MPLS label stack entry: label 1000, bottom of stack, TTL 1. */
const mplsExtension = (): number[] => extension([0, 8, 1, 1, 0x00, 0x3e, 0x81, 0x01]);

const VERBOSE_CASES: [string, () => Uint8Array][] = [
  ['bad IP header checksum', () => echo({ csum: 0x1234 })],
  ['ToS 0xb8, ECT(0)', () => echo({ tos: 0xba })],
  ['ToS ECT(1)', () => echo({ tos: 0x01 })],
  ['ToS CE', () => echo({ tos: 0x03 })],
  ['TTL 0', () => echo({ ttl: 0 })],
  ['TTL 1, no DF', () => echo({ ttl: 1, df: false })],
  ['DF and MF', () => udp({ mf: true, df: true, id: 4660 })],
  ['reserved flag', () => mutate(echo(), 20, 0xc0)],
  ['UDP bad checksum', () => mutate(udp(), 40, 0x12)],
  ['UDP first fragment: no checksum check', () => mutate(udp({ mf: true, df: false }), 40, 0x12)],
  ['UDP later fragment', () => buildFrame({ src: VM, dst: QR, ip: ip({ fragOffset: 8, df: false, proto: 17 }), payload: [1, 2, 3, 4] })],
  ['UDP cut short by the capture', () => udp({}, 200).slice(0, 60)],
  ['TCP bad checksum', () => mutate(tcp({ payload: 10 }), 51, 0)],
  ['TCP first fragment', () => tcp({ payload: 10 }, { mf: true, df: false })],
  ['TCP ACK: -vv prints seq', () => tcp({ flags: '.', payload: 0 })],
  ['TCP RST with data', () => tcp({ flags: 'R.', payload: [...Buffer.from('no such port\r\n\u0001\u00ff'), ...new Array(20).fill(0x41)] })],
  ['TCP RST with short data', () => tcp({ flags: 'R', payload: [...Buffer.from('bye')] })],
  ['HTTP response', () => tcp({ sport: 80, dport: 51000, payload: [...Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi')] })],
  ['HTTP body without a line end', () => tcp({ sport: 80, dport: 51000, payload: [...Buffer.from('abc\ndef')] })],
  ['HTTP binary', () => tcp({ dport: 80, payload: [0x47, 0x45, 0x54, 0x20, 1, 2, 3] })],
  ['SSH version line', () => tcp({ sport: 22, dport: 51000, payload: [...Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n')] })],
  ['SSH version line, LF only, then a packet', () => tcp({ dport: 22, payload: [...Buffer.from('SSH-2.0-dpe\n'), 0, 0, 1, 0x2c, 5, 20] })],
  ['SSH version line, CR last', () => tcp({ dport: 22, payload: [...Buffer.from('SSH-2.0-dpe\r')] })],
  ['SSH version line, CR then text', () => tcp({ dport: 22, payload: [...Buffer.from('SSH-2.0-dpe\rx\n')] })],
  ['SSH version line without an end', () => tcp({ dport: 22, payload: [...Buffer.from('SSH-2.0-dpe')] })],
  ['SSH version line with a control character', () => tcp({ dport: 22, payload: [...Buffer.from('SSH-2.0-d\tpe\r\n')] })],
  ['SSH binary packet', () => tcp({ sport: 22, dport: 51000, payload: [0, 0, 5, 0xdc, 10, 20, ...new Array(30).fill(0xab)] })],
  ['SSH, two bytes of payload (then padding)', () => tcp({ dport: 22, payload: [...Buffer.from('SS')] })],
  ['SSH version line cut by the capture', () => tcp({ sport: 22, dport: 51000, payload: [...Buffer.from('SSH-2.0-OpenSSH_9.2p1\r\n')] }).slice(0, 70)],
  ['SSH to the HTTP port: SSH wins', () => tcp({ sport: 22, dport: 80, payload: [...Buffer.from('SSH-2.0-x\r\n')] })],
  ['TCP MSS/SACK/TS on a VLAN', () => buildFrame({ src: VM, dst: QR, vlans: [{ vid: 103, pcp: 5 }], ip: ip({ tos: 0x10 }), tcp: { sport: 1, dport: 2, seq: 1, flags: 'S', options: [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7] } })],
  ['TCP MD5 signature', () => tcp({ options: [19, 18, ...Array.from({ length: 16 }, (_, i) => i + 1), 0, 0] })],
  ['TCP MD5 signature, payload cut short', () => tcp({ options: [19, 18, ...Array.from({ length: 16 }, (_, i) => i + 1), 0, 0], payload: 20 }).slice(0, 80)],
  ['TCP MD5 signature too short', () => tcp({ options: [19, 10, 1, 2, 3, 4, 5, 6, 7, 8] })],
  ['TCP fast open cookie', () => tcp({ flags: 'S', options: [34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0] })],
  ['TCP fast open cookie cut short', () => tcp({ flags: 'S', options: [34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0] }).slice(0, 60)],
  ['TCP fast open cookie request', () => tcp({ flags: 'S', options: [34, 2, 1, 1] })],
  ['TCP fast open, odd cookie', () => tcp({ flags: 'S', options: [34, 5, 1, 2, 3, 0] })],
  ['TCP experimental fast open', () => tcp({ flags: 'S', options: [254, 12, 0xf9, 0x89, 1, 2, 3, 4, 5, 6, 7, 8] })],
  ['TCP experimental fast open request', () => tcp({ flags: 'S', options: [254, 4, 0xf9, 0x89] })],
  ['TCP experimental option, other magic', () => tcp({ flags: 'S', options: [254, 6, 0x12, 0x34, 1, 2, 0, 0] })],
  ['TCP experimental option too short', () => tcp({ flags: 'S', options: [254, 3, 0x12, 0] })],
  ['TCP user timeout', () => tcp({ options: [28, 4, 0x01, 0x2d] })],
  ['IP options: NOP, EOL', () => echo({ options: [1, 1, 0, 0] })],
  ['IP options: RR', () => echo({ options: [7, 11, 8, 192, 0, 2, 1, 0, 0, 0, 0, 0] })],
  ['IP options: LSRR to the checksum destination', () => buildFrame({ src: VM, dst: QR, ip: ip({ options: [131, 11, 4, 192, 0, 2, 1, 198, 51, 100, 7, 0] }), udp: { sport: 1, dport: 2, payload: 4 } })],
  ['IP options: SSRR, bad pointer', () => echo({ options: [137, 7, 2, 192, 0, 2, 1, 1] })],
  ['IP options: timestamps only', () => echo({ options: [68, 12, 9, 0, 0, 0, 0, 1, 0, 0, 0, 2] })],
  ['IP options: timestamps and addresses, overflow', () => echo({ options: [68, 12, 5, 0x31, 192, 0, 2, 1, 0, 0, 1, 0] })],
  ['IP options: bad timestamp type', () => echo({ options: [68, 8, 5, 0x02, 0, 0, 0, 0] })],
  ['IP options: RA with a value, security, unknown', () => echo({ options: [148, 4, 0, 5, 130, 3, 0, 99, 2, 1, 0, 0] })],
  ['IP options: bad length', () => echo({ options: [7, 40, 4, 0] })],
  ['IP options: length 1', () => echo({ options: [25, 1, 0, 0] })],
  ['IP options cut short by the capture', () => echo({ options: [7, 11, 8, 192, 0, 2, 1, 0, 0, 0, 0, 0] }).slice(0, 40)],
  ['ICMP bad checksum', () => mutate(echo(), 36, 0)],
  ['ICMP first fragment', () => echo({ mf: true, df: false }, 100)],
  ['ICMP error quoting 8 bytes of TCP', () => err(3, 3, SYN().subarray(14, 42))],
  ['ICMP error quoting an echo request', () => err(11, 0, buildFrame(REQ).subarray(14, 90))],
  ['ICMP error quoting a packet with a bad checksum', () => err(3, 1, mutate(udp(), 24, 0).subarray(14))],
  ['ICMP source quench', () => err(4, 0, PROBE().subarray(14))],
  ['ICMP error, 140 bytes (short of the extension struct)', () => err(11, 0, udp({ ttl: 1 }, 104).subarray(14))],
  ['ICMP error, 200 bytes: "Multi-Part extension" of the payload', () => err(11, 0, udp({ ttl: 1 }, 164).subarray(14))],
  ['ICMP error, Linux-sized 576', () => err(3, 3, udp({}, 1000).subarray(14, 14 + 548))],
  ['ICMP error with an MPLS extension', () => err(11, 0, Uint8Array.from(mplsExtension()))],
  ['ICMP error, extension with a bad checksum', () => mutate(err(11, 0, Uint8Array.from(mplsExtension())), 178, 0x99)],
  ['ICMP error, interface identification object', () => err(11, 0, Uint8Array.from(extension([0, 10, 2, 3, 1, 2, 3, 4, 5, 0])))],
  ['ICMP error, extension version 1', () => err(3, 1, Uint8Array.from(extension([0, 8, 1, 1, 0, 0x3e, 0x81, 1], 0x10)))],
  ['ICMP error quoting a header with total length 9', () => err(11, 0, mutate(PROBE().subarray(14).slice(), 3, 9))],
  ['ICMP error, 140 bytes, cut inside the quoted UDP header', () => err(11, 0, udp({ ttl: 1 }, 104).subarray(14)).slice(0, 62 + 4)],
  ['echo request, odd length', () => echo({}, 7)],
  ['ARP request on a VLAN', () => buildFrame({ src: VM, dst: 'ff:ff:ff:ff:ff:ff', vlans: [7], arp: { sha: VM, spa: A, tpa: '192.168.1.1' } })],
  ['ARP reverse request', () => buildFrame({ src: VM, dst: QR, arp: { op: 3, sha: VM, spa: A, tha: VM, tpa: A } })],
  ['ARP for IPv6 addresses', () => buildFrame({ src: VM, dst: QR, ethertype: 0x0806, payload: [0, 1, 0x86, 0xdd, 6, 16, 0, 1, ...new Array(44).fill(1)] })],
  ['ARP with 4-byte protocol addresses of another type', () => buildFrame({ src: VM, dst: QR, ethertype: 0x0806, payload: [0, 1, 0x12, 0x34, 6, 4, 0, 2, ...new Array(20).fill(2)] })],
  ['OSPF hello with neighbours and DR/BDR', () => ospf([2, 1, 0, 52, 10, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, ...new Array(8).fill(0), 255, 255, 255, 0, 0, 10, 0x12, 1, 0, 0, 0, 40, 10, 0, 0, 1, 10, 0, 0, 2, 10, 0, 0, 2, 10, 0, 0, 3])],
  ['OSPF hello, simple password, length field short', () => ospf([2, 1, 0, 44, 10, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0, 0, 255, 255, 255, 0, 0, 10, 0x02, 1, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 9])],
  ['OSPF hello, MD5, length field long', () => ospf([2, 1, 0, 60, 10, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 16, 0, 0, 0, 42, 255, 255, 255, 0, 0, 10, 0, 1, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 0])],
  ...[47, 50, 58, 62, 66, 70, 74].map((n): [string, () => Uint8Array] => [`OSPF hello cut at ${n} bytes`, () => CASES.find(([c]) => c.startsWith('OSPF'))![1]().slice(0, n)]),
  ['OSPF unknown packet type', () => ospf([2, 9, 0, 24, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
  ['OSPF hello with LLS', () => ospf([2, 1, 0, 44, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, ...new Array(8).fill(0), 255, 255, 255, 0, 0, 10, 0x12, 1, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xf6, 0, 7, 0, 1, 0, 4, 0, 0, 0, 3, 0, 2, 0, 8, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4])],
  ['OSPF hello with LLS, MD5 auth data past the end', () => ospf([2, 1, 0, 44, 10, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 16, 0, 0, 0, 42, 255, 255, 255, 0, 0, 10, 0x10, 1, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 0, ...new Array(12).fill(0xab)])],
  ['OSPF hello with LLS cut short', () => ospf([2, 1, 0, 44, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, ...new Array(8).fill(0), 255, 255, 255, 0, 0, 10, 0x10, 1, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xf6, 0, 3, 0, 1, 0, 4, 0, 0, 0, 1]).slice(0, 94)],
  ['ICMP parameter problem quoting 8 bytes', () => err(12, 0, buildFrame(REQ).subarray(14, 22))],
  ...[0, 3, 4].map((n): [string, () => Uint8Array] => [`ICMP error quoting a header with total length ${n}`, () => err(12, 0, Uint8Array.from([0x45, 0, 0, n, 0, 0, 0, 0]))]),
  ['VXLAN carrying TCP', () => VX(tcp({ payload: 5 }))],
  ['VXLAN with a bad inner IP checksum', () => VX(mutate(INNER(), 24, 0))],
  ['IPv6 UDP', () => ip6(17, [0x9c, 0x40, 0x13, 0x88, 0, 12, 0, 0, 1, 2, 3, 4], 6, { flow: 0x0b812345 })],
  ['IPv6 UDP bad checksum', () => mutate(ip6(17, [0x9c, 0x40, 0x13, 0x88, 0, 12, 0, 0, 1, 2, 3, 4], 6), 61, 0)],
  ['IPv6 TCP', () => ip6(6, [0xc7, 0x38, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0], 16, { flow: 0x00100000 })],
  ['ICMP6 neighbor solicitation cut short', () => ip6(58, [135, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0xfa, 0x16, 0x3e, 0xb2, 0xef, 0xaf], 2).slice(0, 90)],
  ['ICMP6 unknown type', () => ip6(58, [34, 0, 0, 0, 1, 2, 3, 4], 2)],
  ['ICMP6 echo request', () => ip6(58, [128, 0, 0, 0, 0, 5, 0, 1, 9, 9], 2)],
  ['ICMP6 neighbor solicitation with a source address', () => ip6(58, [135, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0xfa, 0x16, 0x3e, 0xb2, 0xef, 0xaf], 2, { hlim: 255 })],
  ['ICMP6 neighbor advertisement', () => ip6(58, [136, 0, 0, 0, 0x60, 0, 0, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0xfa, 0x16, 0x3e, 0x06, 0xd8, 0x7b], 2, { hlim: 255 })],
  ['ICMP6 neighbor advertisement, unknown option', () => ip6(58, [136, 0, 0, 0, 0x80, 0, 0, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 99, 1, 1, 2, 3, 4, 5, 6], 2, { hlim: 255 })],
  ['IPv6 HBH router alert, MLDv2 report (Linux at link up)', mld2],
  ['IPv6 HBH PadN only', () => ip6x(0, opts6(58, [1, 4, 0, 0, 0, 0]), 58, MLD2, 2)],
  ['IPv6 HBH Pad1s', () => ip6x(0, opts6(58, [0, 0, 0, 0, 0, 0]), 58, MLD2, 2)],
  ['IPv6 HBH router alert, bad length', () => ip6x(0, opts6(58, [5, 3, 0, 0, 0, 0]), 58, MLD2, 2)],
  ['IPv6 HBH PadN past the header', () => ip6x(0, opts6(58, [1, 9, 0, 0, 0, 0]), 58, MLD2, 2)],
  ['IPv6 HBH unknown option', () => ip6x(0, opts6(58, [0x1e, 4, 1, 2, 3, 4]), 58, MLD2, 2)],
  ['IPv6 HBH option type without a length', () => ip6x(0, opts6(58, [0, 0, 0, 0, 0, 1]), 58, MLD2, 2)],
  ['IPv6 HBH jumbo with a payload length', () => ip6x(0, opts6(58, [0xc2, 4, 0, 1, 0, 0]), 58, MLD2, 2)],
  ['IPv6 HBH home address too short', () => ip6x(0, opts6(58, [0xc9, 4, 0, 1, 0, 0]), 58, MLD2, 2)],
  ['IPv6 HBH home address with sub-options', () => ip6x(0, opts6(58, [0xc9, 20, ...new Array(15).fill(0), 1, 0, 1, 0, 0x33, 0]), 58, MLD2, 2)],
  ['IPv6 destination options', () => ip6x(60, opts6(58, RTALERT_PADN), 58, MLD2, 2)],
  ['IPv6 HBH then destination options', () => ip6x(0, [...opts6(60, [1, 4, 0, 0, 0, 0]), ...opts6(58, [1, 4, 0, 0, 0, 0])], 58, MLD2, 2)],
  ['IPv6 HBH header longer than the packet', () => ip6x(0, [58, 3, 1, 4, 0, 0, 0, 0], 58, [])],
  ['IPv6 first fragment of UDP', () => ip6x(44, [17, 0, 0, 1, 0, 0, 0x12, 0x34], 17, [0x9c, 0x40, 0x13, 0x88, 0, 12, 0, 0, 1, 2, 3, 4], 6)],
  ['IPv6 later fragment', () => ip6x(44, [17, 0, 0x05, 0xa8, 0, 0, 0x12, 0x34], 17, [1, 2, 3, 4, 5, 6, 7, 8])],
  ['IPv6 fragment header, nothing after it', () => ip6x(44, [17, 0, 0, 1, 0, 0, 0x12, 0x34], 17, [])],
  ['IPv6 HBH, fragment, ICMPv6 echo (no checksum check)', () => ip6x(0, [...opts6(44, [1, 4, 0, 0, 0, 0]), 58, 0, 0, 1, 0, 0, 0, 9], 58, [128, 0, 0, 0, 0, 1, 0, 1], 2)],
  ['IPv6 HBH, fragment, UDP: ports only', frag6],
  ['IPv6 HBH, TCP: ports only', () => ip6x(0, opts6(6, [1, 4, 0, 0, 0, 0]), 6, [0xc7, 0x38, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0], 16)],
  ['MLDv1 query', () => ip6x(0, opts6(58, [1, 4, 0, 0, 0, 0]), 58, [130, 0, 0, 0, 0x27, 0x10, 0, 0, ...new Array(16).fill(0)], 2)],
  ['MLDv2 query with sources', () => ip6x(0, opts6(58, [1, 4, 0, 0, 0, 0]), 58, mldQuery2, 2)],
  ['MLDv2 query, exponential codes', () => ip6x(0, opts6(58, [1, 4, 0, 0, 0, 0]), 58, [130, 0, 0, 0, 0xf0, 0x01, 0, 0, ...new Array(16).fill(0), 0x07, 0xff, 0, 0], 2)],
  ['MLDv2 query, more sources than it holds', () => ip6x(0, opts6(58, [1, 4, 0, 0, 0, 0]), 58, [...mldQuery2.slice(0, 27), 9, ...mldQuery2.slice(28)], 2)],
  ['MLD query of an unknown version', () => ip6x(0, opts6(58, [1, 4, 0, 0, 0, 0]), 58, [130, 0, 0, 0, 0, 0, 0, 0, ...new Array(18).fill(0)], 2)],
  ['MLDv1 report and done', () => ip6x(0, opts6(58, [1, 4, 0, 0, 0, 0]), 58, [131, 0, 0, 0, 0, 0, 0, 0, 0xff, 2, ...new Array(13).fill(0), 0xfb], 2)],
  ['MLDv1 done', () => ip6x(0, opts6(58, [1, 4, 0, 0, 0, 0]), 58, [132, 0, 0, 0, 0, 0, 0, 0, 0xff, 2, ...new Array(13).fill(0), 0xfb], 2)],
  ['MLDv1 report cut short', () => ip6x(0, opts6(58, [1, 4, 0, 0, 0, 0]), 58, [131, 0, 0, 0, 0, 0, 0, 0, 0xff, 2], 2)],
  ['MLDv2 report, two records with sources', () =>
    ip6x(0, opts6(58, [1, 4, 0, 0, 0, 0]), 58, [143, 0, 0, 0, 0, 0, 0, 2, 4, 0, 0, 2, 0xff, 2, ...new Array(13).fill(0), 0xfb, ...new Array(32).fill(7), 1, 0, 0, 0, 0xff, 5, ...new Array(13).fill(0), 1], 2)],
  ['MLDv2 report, unknown record type, too few bytes for its sources', () => ip6x(0, opts6(58, [1, 4, 0, 0, 0, 0]), 58, [143, 0, 0, 0, 0, 0, 0, 2, 9, 0, 0, 0, ...new Array(16).fill(2), 3, 0, 0, 5, ...new Array(16).fill(3)], 2)],
  ['MLDv2 report shorter than its header', () => ip6x(58, [], 58, [143, 0, 0, 0, 0, 0], 2)],
  ['router solicitation with a source address option', () => ip6x(58, [], 58, [133, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0xfa, 0x16, 0x3e, 0xb2, 0xef, 0xaf], 2)],
  ['router advertisement: link-layer address, prefix, MTU', () => ra(0, [...LLA, ...PREFIX, ...MTU])],
  ['router advertisement, managed and other: prefix, RDNSS, DNSSL', () => ra(0xc0, [...PREFIX, ...RDNSS, ...DNSSL])],
  ['router advertisement, home agent, high preference: interval, home agent, route information', () => ra(0x28 | 0x02, [7, 1, 0, 0, 0, 0, 0x27, 0x10, 8, 1, 0, 0, 0, 5, 0, 60, ...ROUTE(1), ...ROUTE(2), ...ROUTE(3)])],
  ['router advertisement, reserved preference, unknown option', () => ra(0x18, [99, 1, 1, 2, 3, 4, 5, 6, ...LLA])],
  ['router advertisement, option of length 0', () => ra(0, [...LLA, 3, 0, 0, 0, 0, 0, 0, 0])],
  ['router advertisement cut inside the prefix option', () => ra(0, [...LLA, ...PREFIX]).slice(0, 88)],
  ['router advertisement, MTU option of length 2', () => ra(0, [5, 2, 0, 0, 0, 0, 5, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0])],
  ['router advertisement, route information of length 4', () => ra(0, [24, 4, ...new Array(30).fill(0)])],
  ['redirect with a target address and a redirected header', () =>
    ip6x(58, [], 58, [137, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0x80, ...new Array(13).fill(0), 1, 0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 9, 2, 1, 0xfa, 0x16, 0x3e, 6, 0xd8, 0x7b, 4, 2, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], 2)],
  ...[63, 64].map((n): [string, () => Uint8Array] => [`router solicitation cut at ${n}`, () => ip6x(58, [], 58, [133, 0, 0, 0, 0, 0, 0, 0, ...LLA], 2).slice(0, n)]),
  ...[0, 1, 2, 3, 4, 5].map((c): [string, () => Uint8Array] => [`ICMPv6 destination unreachable, code ${c}`, () => err6(1, c, [0, 0, 0, 0], quoted6(17, [], UDP53))]),
  ['ICMPv6 port unreachable quoting TCP', () => err6(1, 4, [0, 0, 0, 0], quoted6(6, [], [0xc7, 0x38, 0, 22, 0, 0, 0, 1]))],
  ['ICMPv6 port unreachable quoting UDP after a hop-by-hop header', () => err6(1, 4, [0, 0, 0, 0], quoted6(0, [17, 0, 1, 4, 0, 0, 0, 0], UDP53))],
  ['ICMPv6 port unreachable quoting a first fragment', () => err6(1, 4, [0, 0, 0, 0], quoted6(44, [17, 0, 0, 1, 0, 0, 0, 1], UDP53))],
  ['ICMPv6 port unreachable quoting a later fragment', () => err6(1, 4, [0, 0, 0, 0], quoted6(44, [17, 0, 0, 9, 0, 0, 0, 1], UDP53))],
  ['ICMPv6 port unreachable quoting UDP after AH', () => err6(1, 4, [0, 0, 0, 0], quoted6(51, [17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], UDP53))],
  ['ICMPv6 port unreachable quoting ICMPv6', () => err6(1, 4, [0, 0, 0, 0], quoted6(58, [], [128, 0, 0, 0, 0, 1, 0, 1]))],
  ['ICMPv6 port unreachable, quote cut short', () => err6(1, 4, [0, 0, 0, 0], quoted6(17, [], []).slice(0, 30))],
  ['ICMPv6 packet too big', () => err6(2, 0, [0, 0, 5, 0], quoted6(17, [], UDP53))],
  ...[0, 1, 7].map((c): [string, () => Uint8Array] => [`ICMPv6 time exceeded, code ${c}`, () => err6(3, c, [0, 0, 0, 0], quoted6(17, [], UDP53))]),
  ...[0, 1, 2, 3, 4].map((c): [string, () => Uint8Array] => [`ICMPv6 parameter problem, code ${c}`, () => err6(4, c, [0, 0, 0, 40], quoted6(17, [], UDP53))]),
  ['ICMPv6 parameter problem, quote cut short', () => err6(4, 0, [0, 0, 0, 40], quoted6(17, [], []).slice(0, 20))],
  ...[55, 60, 62, 64, 66, 70, 80, 90, 100].map((n): [string, () => Uint8Array] => [`MLDv2 report cut at ${n}`, () => mld2().slice(0, n)]),
  ...[55, 60, 62, 64, 70, 74, 80].map((n): [string, () => Uint8Array] => [`HBH, fragment, UDP cut at ${n}`, () => frag6().slice(0, n)]),
  // Later fragments of every protocol number: the -v header names them all (ipproto_values).
  ...Array.from({ length: 256 }, (_, p): [string, () => Uint8Array] => [`protocol ${p}`, () => buildFrame({ src: VM, dst: QR, ip: ip({ proto: p, fragOffset: 1480, df: false }), payload: [0, 0, 0, 0] })]),
];

const ALL: [string, () => Uint8Array][] = [...CASES, ...VERBOSE_CASES];

/** The text for each frame with one printer (one capture's TCP state). */
function ours(frames: Uint8Array[], verbose: number, absoluteSeq = false, linkHeader = true, quiet = false): string[] {
  const td = new Tcpdump({ verbose, absoluteSeq, linkHeader, quiet });
  return frames.map((f) => td.format(f, 0, f.length));
}

test('tcpdump -v lines, checked by hand', () => {
  const [req, bad, probeErr] = [buildFrame(REQ), echo({ csum: 0x1234 }), err(11, 0, PROBE().subarray(14, 42))];
  const [r, b, e] = ours([req, bad, probeErr], 1);
  assert.equal(
    r,
    'fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 142: (tos 0x0, ttl 64, id 4660, offset 0, flags [DF], proto ICMP (1), length 128)\n' +
      '    192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108',
  );
  assert.match(b!, /proto ICMP \(1\), length 36, bad cksum 1234 \(->[0-9a-f]+\)!\)\n {4}192\.168\.1\.7 > 203\.0\.113\.5: ICMP echo request/);
  assert.match(e!, /ICMP time exceeded in-transit, length 36\n\t\(tos 0x0, ttl 1, id 1234, offset 0, flags \[none\], proto UDP \(17\), length 60\)\n {4}192\.168\.1\.7\.45000 > 8\.8\.8\.8\.33434: UDP, length 32$/);
  const tcpBad = ours([mutate(tcp({ payload: 10 }), 51, 0)], 1)[0]!;
  assert.match(tcpBad, /Flags \[P\.\], cksum 0x[0-9a-f]{2}00 \(incorrect -> 0x[0-9a-f]{4}\), seq 100:110, ack 200/);
  // -vv checks UDP over IPv4 too.
  assert.match(ours([udp()], 2)[0]!, /40000 > 203\.0\.113\.5\.50000: \[udp sum ok\] UDP, length 12$/);
  assert.match(ours([udp()], 1)[0]!, /40000 > 203\.0\.113\.5\.50000: UDP, length 12$/);
});

test('without -v nothing changes', () => {
  const frames = ALL.map(([, make]) => make());
  const plain = new Tcpdump();
  const zero = new Tcpdump({ verbose: 0 });
  for (const f of frames) assert.equal(zero.format(f, 0, f.length), plain.format(f, 0, f.length));
});

const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;

// With -e (the printer's default) at each -v level, then without -e (tcpdump's default: "IP ...", "ARP, ...") and with -q.
const RUNS: [string[], number, boolean, boolean, boolean][] = [
  [['-e'], 0, false, true, false],
  [['-e', '-v'], 1, false, true, false],
  [['-e', '-vv'], 2, false, true, false],
  [['-e', '-vvv'], 3, false, true, false],
  [['-e', '-S', '-vv'], 2, true, true, false],
  [[], 0, false, false, false],
  [['-v'], 1, false, false, false],
  [['-q'], 0, false, false, true],
  [['-e', '-q'], 0, false, true, true],
  [['-q', '-vv'], 2, false, false, true],
];
for (const [flags, level, absoluteSeq, linkHeader, quiet] of RUNS) {
  test(`live: tcpdump ${['-nn', ...flags].join(' ')} -r prints what the formatter prints`, { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpe-tcpv-'));
    try {
      const frames = ALL.map(([, make]) => make());
      const file = join(dir, 'cases.pcap');
      writeFileSync(file, pcapFile(frames.map((frame, i) => ({ tsMs: 1700000000000 + i * 1000, frame }))));
      const out = execFileSync('tcpdump', ['-tt', '-nn', ...flags, '-r', file], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 }).toString();
      const theirs = out.split(/^\d+\.\d{6} /m).slice(1).map((s) => s.replace(/\n$/, ''));
      assert.equal(theirs.length, frames.length);
      const mine = ours(frames, level, absoluteSeq, linkHeader, quiet);
      const differ = ALL.map(([name], i) => ({ name, ours: mine[i], tcpdump: theirs[i] })).filter((d) => d.ours !== d.tcpdump);
      assert.deepEqual(differ, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
