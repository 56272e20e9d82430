// Application protocols tcpdump decodes by port, differential: the real
// tcpdump 4.99 reads a pcap and the formatter must print the same text, line
// for line. DNS (print-domain.c) at -nn -e, -v, -vv and -vvv: messages over
// UDP 53, mDNS (5353) and TCP 53 - queries and responses of every record
// type the printer decodes, EDNS0 options, compression pointers good and
// bad, bit-string and reserved labels, names over 255 characters, odd header
// flags and counts, and several messages cut short at every length; BOOTP
// and DHCP likewise (the options a Neutron DHCP server and a cloud-init
// client exchange, special and unknown tags, short and cut options), and a
// few NTP messages. A few lines checked by hand keep the test meaningful
// where tcpdump is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFrame } from '../../src/wire/frame.js';
import { PCAP_RECORD_HEADER_LEN, pcapHeader, writePcapRecordHeader } from '../../src/wire/pcap.js';
import { Tcpdump } from '../../src/wire/tcpdump.js';

const VM = 'fa:16:3e:b2:ef:af';
const QR = 'fa:16:3e:06:d8:7b';
const u16 = (n: number): number[] => [(n >> 8) & 255, n & 255];
const u32 = (n: number): number[] => [n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255];
/** A name as labels ("" for the root). */
const name = (s: string): number[] => [...s.split('.').filter(Boolean).flatMap((l) => [l.length, ...Buffer.from(l, 'latin1')]), 0];
const ptr = (off: number): number[] => [0xc0 | (off >> 8), off & 255];
const hdr = (id: number, flags: number, qd: number, an: number, ns: number, ar: number): number[] => [...u16(id), ...u16(flags), ...u16(qd), ...u16(an), ...u16(ns), ...u16(ar)];
const q = (n: number[] | string, type = 1, cls = 1): number[] => [...(typeof n === 'string' ? name(n) : n), ...u16(type), ...u16(cls)];
const rr = (n: number[] | string, type: number, cls: number, ttl: number, rdata: number[]): number[] => [...(typeof n === 'string' ? name(n) : n), ...u16(type), ...u16(cls), ...u32(ttl), ...u16(rdata.length), ...rdata];
const opt = (size: number, extRcode: number, flags: number, options: number[] = []): number[] => [0, ...u16(41), ...u16(size), extRcode, 0, ...u16(flags), ...u16(options.length), ...options];
const eo = (code: number, data: number[]): number[] => [...u16(code), ...u16(data.length), ...data];

const QUERY = 0x0100; // RD
const RESPONSE = 0x8180; // QR RD RA

/** UDP from the VM's resolver port to 53 (a query) or back (a response), or between other ports. */
const udp = (msg: number[], sport = 40000, dport = 53): Uint8Array =>
  buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '198.51.100.53' }, udp: { sport, dport, payload: msg } });
const reply = (msg: number[]): Uint8Array => udp(msg, 53, 40000);
const tcp = (payload: number[], sport = 40001, dport = 53): Uint8Array =>
  buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '198.51.100.53' }, tcp: { sport, dport, seq: 1000, ack: 2000, flags: 'P.', win: 502, payload } });
const overTcp = (msg: number[]): number[] => [...u16(msg.length), ...msg];

const A_Q = [...hdr(4660, QUERY, 1, 0, 0, 0), ...q('www.example.com')];
/** A response with a CNAME chain through pointers, then an A record. */
const A_R = [...hdr(4660, RESPONSE, 1, 2, 0, 0), ...q('www.example.com'), ...rr(ptr(12), 5, 1, 300, [3, 119, 101, 98, ...ptr(16)]), ...rr(ptr(33), 1, 1, 3600, [192, 0, 2, 10])];
const SOA = (owner: number[] | string): number[] => rr(owner, 6, 1, 900, [...name('ns1.example'), ...name('hostmaster.example'), ...u32(2024010101), ...u32(7200), ...u32(3600), ...u32(1209600), ...u32(300)]);
const BIG = [
  ...hdr(7, 0x8580, 1, 6, 1, 2), ...q('example.com', 255),
  ...rr(ptr(12), 28, 1, 90061, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
  ...rr(ptr(12), 15, 1, 60, [0, 10, 4, 109, 97, 105, 108, ...ptr(12)]),
  ...rr(ptr(12), 16, 1, 0, [5, 104, 101, 108, 108, 111, 0, 3, 1, 0x7f, 0xff]),
  ...rr(ptr(12), 33, 1, 31536001, [0, 1, 0, 5, 0x13, 0xc4, 3, 115, 105, 112, ...ptr(12)]),
  ...rr(ptr(12), 2, 1, 604800, name('ns1.example.com')),
  ...rr(ptr(12), 99, 3, 86400, [1, 2, 3]),
  ...SOA(ptr(12)),
  ...rr(name('ns1.example.com'), 1, 1, 3600, [203, 0, 113, 53]),
  ...opt(4096, 0, 0x8000, [...eo(3, [0x61, 0x62]), ...eo(8, [0, 1, 24, 0, 198, 51, 100]), ...eo(12, [0, 0, 0])]),
];

const MESSAGES: [string, () => Uint8Array][] = [
  ['A query', () => udp(A_Q)],
  ['A response with a CNAME through pointers', () => reply(A_R)],
  ['response with every section and many types', () => reply(BIG)],
  ['NXDomain with an SOA in the authority section', () => reply([...hdr(9, 0x8183, 1, 0, 1, 0), ...q('nope.example.com'), ...SOA(ptr(21))])],
  ['PTR query, no RD', () => udp([...hdr(8, 0, 1, 0, 0, 0), ...q('10.2.0.192.in-addr.arpa', 12)])],
  ['PTR response', () => reply([...hdr(8, 0x8400, 1, 1, 0, 0), ...q('10.2.0.192.in-addr.arpa', 12), ...rr(ptr(12), 12, 1, 60, name('vm.example'))])],
  ['query with EDNS0: cookie, padding, keepalive, expire, key-tag, DAU/DHU/N3U, NSID, unknown', () =>
    udp([...hdr(4661, 0x0120, 1, 0, 0, 1), ...q('example.com', 28),
      ...opt(1232, 0, 0, [...eo(10, [1, 2, 3, 4, 5, 6, 7, 8]), ...eo(12, [0, 0]), ...eo(11, [0, 15]), ...eo(9, u32(86400)), ...eo(14, [0, 1, 0x4f, 0x66]),
        ...eo(5, [8, 13, 99]), ...eo(6, [1, 2, 4, 9]), ...eo(7, [1, 2]), ...eo(3, []), ...eo(65001, [0xde, 0xad])])])],
  ['EDNS0 options malformed: short cookie, keepalive, expire, odd key-tag, ECS', () =>
    udp([...hdr(4662, QUERY, 1, 0, 0, 1), ...q('example.com'),
      ...opt(512, 0, 0, [...eo(10, [1, 2, 3]), ...eo(11, [1]), ...eo(9, [1, 2]), ...eo(14, [1, 2, 3]), ...eo(8, [0, 3, 0, 0]), ...eo(8, [0, 1, 33, 0, 1, 2, 3, 4, 5]), ...eo(8, [0, 1])])])],
  ['EDNS0 client subnet IPv6, server cookie, chain', () =>
    udp([...hdr(4663, QUERY, 1, 0, 0, 1), ...q('example.com'),
      ...opt(1400, 0, 0, [...eo(8, [0, 2, 48, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1]), ...eo(10, Array.from({ length: 24 }, (_, i) => i)), ...eo(13, name('example.com'))])])],
  ['EDNS0 option cut by its length', () => udp([...hdr(4664, QUERY, 1, 0, 0, 1), ...q('example.com'), 0, ...u16(41), ...u16(512), 0, 0, 0, 0, ...u16(6), 0, 10, 0, 40, 1, 2])],
  ['extended RCODE BADVERS and BADCOOKIE', () => reply([...hdr(10, 0x8180, 1, 0, 0, 1), ...q('example.com'), ...opt(1232, 1, 0)])],
  ['extended RCODE 23 (BADCOOKIE)', () => reply([...hdr(11, 0x8187, 1, 0, 0, 1), ...q('example.com'), ...opt(1232, 1, 0)])],
  ['extended RCODE past the table', () => reply([...hdr(12, 0x8182, 1, 0, 0, 1), ...q('example.com'), ...opt(1232, 0xff, 0)])],
  ['every RCODE and opcode', () => reply([...hdr(13, 0x8000 | (5 << 11) | 0x0400 | 0x0200 | 0x0020 | 6, 1, 0, 0, 0), ...q('example.com')])],
  ...Array.from({ length: 16 }, (_, r): [string, () => Uint8Array] => [`rcode ${r}, opcode ${r}`, () => reply([...hdr(100 + r, 0x8000 | (r << 11) | r, 1, 0, 0, 0), ...q('e.example')])]),
  ['query flags: CD, AD, TC, AA, Z, RA set (the "b2&3" warning)', () => udp([...hdr(14, QUERY | 0x0010 | 0x0020 | 0x0200 | 0x0400 | 0x0040 | 0x0080 | 3, 1, 0, 0, 0), ...q('example.com')])],
  ['inverse query', () => udp([...hdr(15, 1 << 11, 0, 1, 0, 0), ...rr(name(''), 1, 1, 0, [192, 0, 2, 1])])],
  ['inverse query with a question and two answers', () => udp([...hdr(16, 1 << 11, 1, 2, 0, 0), ...q('x.example'), ...rr(ptr(12), 1, 1, 0, [192, 0, 2, 1]), ...rr(ptr(12), 1, 1, 0, [192, 0, 2, 2])])],
  ['query with two questions, an answer, authority and additional records', () =>
    udp([...hdr(17, QUERY, 2, 1, 1, 1), ...q('a.example'), ...q('b.example', 16), ...rr(ptr(12), 1, 1, 5, [192, 0, 2, 3]), ...rr(ptr(12), 2, 1, 5, name('ns.example')), ...rr(ptr(12), 1, 1, 5, [192, 0, 2, 4])])],
  ['query without a question', () => udp(hdr(18, QUERY, 0, 0, 0, 0))],
  ['response with no question and answers', () => reply([...hdr(19, RESPONSE, 0, 1, 0, 0), ...rr(name('x.example'), 1, 1, 5, [192, 0, 2, 5])])],
  ['response claiming more answers than it holds', () => reply([...hdr(20, RESPONSE, 1, 3, 0, 0), ...q('x.example'), ...rr(ptr(12), 1, 1, 5, [192, 0, 2, 6])])],
  ['unknown type and class, class ANY and HS', () => udp([...hdr(21, QUERY, 3, 0, 0, 0), ...q('x.example', 4242, 77), ...q('y.example', 65, 255), ...q('z.example', 257, 4)])],
  ['A6, URI, UNSPECA, TSIG, DNAME, HINFO records', () =>
    reply([...hdr(22, RESPONSE, 1, 7, 0, 0), ...q('x.example'),
      ...rr(ptr(12), 38, 1, 1, [64, 0, 0, 0, 0, 0, 0, 0, 1, ...name('pfx.example')]),
      ...rr(ptr(12), 38, 1, 1, [0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
      ...rr(ptr(12), 38, 1, 1, [200]),
      ...rr(ptr(12), 256, 1, 1, [0, 10, 0, 1, ...Buffer.from('https://example.com/')]),
      ...rr(ptr(12), 104, 1, 1, [...Buffer.from('long string\u0001')]),
      ...rr(ptr(12), 250, 255, 0, [...name('key.example'), 0, 0, 0x65, 0x5f, 0x8a, 0x40, 1, 44, 0, 2, 0xaa, 0xbb, 0, 22, 0, 0, 0, 0]),
      ...rr(ptr(12), 39, 1, 1, name('other.example'))])],
  ['URI shorter than its fixed part', () => reply([...hdr(23, RESPONSE, 1, 1, 0, 0), ...q('x.example'), ...rr(ptr(12), 256, 1, 1, [0, 1])])],
  ['a label with control and high-bit characters', () => udp([...hdr(24, QUERY, 1, 0, 0, 0), ...q([4, 0x61, 0x01, 0xe9, 0x7f, 7, ...Buffer.from('example'), 0])])],
  ['a name of 300 characters', () => udp([...hdr(25, QUERY, 1, 0, 0, 0), ...q(Array.from({ length: 5 }, () => [59, ...new Array(59).fill(0x61)]).flat().concat([0]))])],
  ['a forward compression pointer', () => udp([...hdr(26, QUERY, 1, 0, 0, 0), ...q(ptr(40)), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
  ['a pointer to itself', () => reply([...hdr(27, RESPONSE, 1, 1, 0, 0), ...q('x.example'), ...rr(ptr(12), 5, 1, 1, ptr(39))])],
  ['a pointer loop between two names', () => reply([...hdr(28, RESPONSE, 1, 1, 0, 0), ...q([1, 0x61, ...ptr(35)]), ...rr(ptr(12), 5, 1, 1, [1, 0x62, ...ptr(12)])])],
  ['a bit-string label', () => udp([...hdr(29, QUERY, 1, 0, 0, 0), ...q([0x41, 20, 0xab, 0xcd, 0xef, 7, ...Buffer.from('example'), 0])])],
  ['bit-string labels of 256, 8 and 3 bits', () => udp([...hdr(30, QUERY, 2, 0, 0, 0), ...q([0x41, 0, ...new Array(32).fill(0x5a), 0]), ...q([0x41, 8, 0xff, 0x41, 3, 0xff, 0])])],
  ['an unknown extended label type', () => udp([...hdr(31, QUERY, 1, 0, 0, 0), ...q([0x42, 1, 2, 0])])],
  ['a reserved label type', () => udp([...hdr(32, QUERY, 1, 0, 0, 0), ...q([0x80, 1, 2, 0])])],
  ['a reserved label type in an answer at -v', () => reply([...hdr(33, RESPONSE, 1, 1, 0, 0), ...q('x.example'), 0x90, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 192, 0, 2, 1])],
  ['a message shorter than its header', () => udp([1, 2, 3, 4, 5])],
  ['an empty payload', () => udp([])],
  ['a question cut short', () => udp([...hdr(34, QUERY, 1, 0, 0, 0), 3, 119, 119])],
  ['mDNS query, unicast response asked', () => udp([...hdr(0, 0, 2, 0, 0, 0), ...q('_http._tcp.local', 12, 0x8001), ...q('printer.local', 28, 1)], 5353, 5353)],
  ['mDNS response with cache flush', () =>
    udp([...hdr(0, 0x8400, 0, 2, 0, 1), ...rr(name('printer.local'), 1, 0x8001, 120, [192, 0, 2, 44]), ...rr(ptr(12), 16, 0x8001, 4500, [0]), ...opt(1440, 0, 0)], 5353, 5353)],
  ['mDNS class with the top bit alone', () => udp([...hdr(0, 0, 1, 0, 0, 0), ...q('x.local', 1, 0x8000)], 5353, 5353)],
  ['DNS from port 53 to the VXLAN port: DNS wins', () => udp(A_Q, 53, 4789)],
  ['mDNS source to the DNS port', () => udp(A_Q, 5353, 53)],
  ['DNS inside VXLAN', () => udp([8, 0, 0, 0, 0, 0, 0x65, 0, ...udp(A_Q)], 49555, 4789)],
  ['DNS over TCP, a query', () => tcp(overTcp(A_Q))],
  ['DNS over TCP, a response', () => tcp(overTcp(A_R), 53, 40001)],
  ['DNS over TCP, a wrong length prefix', () => tcp([0, 99, ...A_Q])],
  ['DNS over TCP, one byte', () => tcp([7])],
  ['DNS over TCP, to the HTTP port: HTTP wins', () => tcp(overTcp(A_Q), 53, 80)],
  ['DNS over TCP, a prefix and a short message', () => tcp(overTcp([1, 2, 3]))],
];

/** Messages cut at every length (the capture's snaplen): each truncation path in turn. */
const CUT: [string, () => Uint8Array][] = [
  ['A response', () => reply(A_R)],
  ['the big response', () => reply(BIG)],
  ['the EDNS0 query', () => MESSAGES[6]![1]()],
  ['A6/URI/TSIG', () => MESSAGES.find(([n]) => n.startsWith('A6'))![1]()],
  ['DNS over TCP', () => tcp(overTcp(A_R), 53, 40001)],
].flatMap(([label, make]) => {
  const whole = (make as () => Uint8Array)().length;
  return Array.from({ length: whole - 41 }, (_, i): [string, () => Uint8Array] => [`${label as string} cut at ${42 + i} of ${whole}`, () => (make as () => Uint8Array)().slice(0, 42 + i)]);
});

const ALL = [...MESSAGES, ...CUT];

const bcast = (sport: number, dport: number, payload: number[]): Uint8Array =>
  buildFrame({ src: VM, dst: 'ff:ff:ff:ff:ff:ff', ip: { src: '0.0.0.0', dst: '255.255.255.255' }, udp: { sport, dport, payload } });
/** A BOOTP message: the fixed header (client fa:16:3e:b2:ef:af, `o` overriding fields), the magic cookie (or `o.magic`), then `opts`. */
function bootp(op: number, opts: number[], o: { hops?: number; secs?: number; flags?: number; ci?: number[]; yi?: number[]; si?: number[]; gi?: number[]; sname?: string; file?: string; magic?: number[] } = {}): number[] {
  const b = new Array<number>(236).fill(0);
  b.splice(0, 12, op, 1, 6, o.hops ?? 0, 0x39, 0x03, 0xf3, 0x26, ...u16(o.secs ?? 0), ...u16(o.flags ?? 0));
  for (const [at, v] of [[12, o.ci], [16, o.yi], [20, o.si], [24, o.gi]] as const) if (v) b.splice(at, 4, ...v);
  b.splice(28, 6, 0xfa, 0x16, 0x3e, 0xb2, 0xef, 0xaf);
  if (o.sname) b.splice(44, o.sname.length, ...Buffer.from(o.sname));
  if (o.file) b.splice(108, o.file.length, ...Buffer.from(o.file));
  return [...b, ...(o.magic ?? [99, 130, 83, 99]), ...opts];
}
const text = (tag: number, s: string): number[] => [tag, s.length, ...Buffer.from(s)];
const OFFER = bootp(2, [53, 1, 2, 54, 4, 192, 168, 1, 2, 51, 4, 0, 1, 0x51, 0x80, 58, 4, 0, 0, 0xa8, 0xc0, 59, 4, 0, 1, 0x27, 0x50, 1, 4, 255, 255, 255, 0, 28, 4, 192, 168, 1, 255,
  ...text(15, 'openstacklocal'), ...text(12, 'host-192-168-1-7'), 3, 4, 192, 168, 1, 1, 6, 8, 192, 0, 2, 53, 192, 0, 2, 54, 26, 2, 5, 0xaa, 121, 14, 32, 169, 254, 169, 254, 192, 168, 1, 2, 0, 192, 168, 1, 1, 255], { yi: [192, 168, 1, 7], si: [192, 168, 1, 2], flags: 0x8000 });
const DHCP: [string, () => Uint8Array][] = [
  ['DHCP discover from cloud-init: client id, parameter request list, hostname, max size', () =>
    bcast(68, 67, bootp(1, [53, 1, 1, 61, 7, 1, 0xfa, 0x16, 0x3e, 0xb2, 0xef, 0xaf, 55, 13, 1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42, ...text(12, 'vm-1'), 57, 2, 5, 0xdc, 255, 0, 0, 0], { secs: 3 }))],
  ['DHCP offer from a Neutron dnsmasq: lease times, mask, DNS, MTU, classless routes to the metadata address', () => bcast(67, 68, OFFER)],
  ['DHCP request through a relay: requested address, server id, client FQDN, vendor class', () =>
    bcast(68, 67, bootp(1, [53, 1, 3, 50, 4, 192, 168, 1, 7, 54, 4, 192, 168, 1, 2, 81, 7, 0x05, 0, 0, ...Buffer.from('vm-1'), 60, 3, 0x61, 0x62, 0x63, 255], { hops: 1, gi: [10, 0, 0, 1] }))],
  ['DHCP ACK with server name and boot file, relay agent information, user class', () =>
    bcast(67, 68, bootp(2, [53, 1, 5, 82, 12, 1, 4, 0x65, 0x74, 0x68, 0x30, 2, 2, 0xab, 0xcd, 9, 0, 77, 6, 3, 0x61, 0x62, 0x63, 1, 0x78, 255], { sname: 'dhcp-server', file: 'pxelinux.0' }))],
  ['DHCP inform: pads, NetBIOS node, overload, booleans, address pairs, unknown and vendor options, client ids', () =>
    bcast(68, 67, bootp(1, [53, 1, 8, 0, 0, 0, 46, 1, 8, 52, 1, 3, 19, 2, 0, 1, 21, 8, 10, 0, 0, 0, 255, 0, 0, 0, 33, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2, 4, 255, 255, 0xf1, 0xf0, 99, 5, 1, 2, 3, 4, 5, 43, 3, 1, 2, 3, 61, 4, 0, 0x61, 0x62, 0x63, 61, 3, 9, 1, 2, 255]))],
  ['DHCP unknown message type, malformed classless routes, FQDN, user class and agent sub-option', () =>
    bcast(68, 67, bootp(1, [53, 1, 99, 121, 6, 33, 1, 2, 3, 4, 5, 121, 3, 1, 2, 3, 81, 2, 0, 0, 77, 1, 0, 77, 3, 0, 1, 2, 77, 3, 5, 1, 2, 82, 3, 1, 5, 1, 255]))],
  ['DHCP discover, end then padding (-vvv prints them)', () => bcast(68, 67, bootp(1, [53, 1, 1, 0, 0, 255, 0, 0, 0]))],
  ['BOOTP with a CMU vendor area', () => bcast(68, 67, bootp(1, [], { magic: [0x43, 0x4d, 0x55, 0, 1, 0, 0, 0, 255, 255, 255, 0, 10, 0, 0, 1, 0, 0, 0, 0, 8, 8, 8, 8, ...new Array<number>(20).fill(0)] }))],
  ['BOOTP with an unknown vendor area', () => bcast(68, 67, bootp(1, [], { magic: [1, 2, 3, 4] }))],
  ['DHCP with a server name filling its field', () => bcast(68, 67, bootp(1, [53, 1, 1, ...text(12, 'long'), 55, 4, 1, 3], { sname: 'x'.repeat(64) }))],
  ...[245, 250, 260, 280, 290, 300, 320].map((n): [string, () => Uint8Array] => [`DHCP offer cut at ${n}`, () => bcast(67, 68, OFFER).slice(0, n)]),
];

/** More BOOTP (67, 68), and NTP (123). */
const boot = (op: number, htype: number, hlen: number): number[] => {
  const b = new Array<number>(300).fill(0);
  b.splice(0, 3, op, htype, hlen);
  b.splice(28, 6, 0xfa, 0x16, 0x3e, 0xb2, 0xef, 0xaf);
  b.splice(236, 4, 99, 130, 83, 99); // the DHCP magic cookie
  return b;
};
const PLAIN: [string, () => Uint8Array][] = [
  ['DHCP request', () => bcast(68, 67, boot(1, 1, 6))],
  ['DHCP reply', () => bcast(67, 68, boot(2, 1, 6))],
  ['BOOTP request, another hardware type', () => bcast(68, 67, boot(1, 6, 6))],
  ['BOOTP request, 8-byte hardware address', () => bcast(68, 67, boot(1, 1, 8))],
  ['BOOTP, unknown op', () => bcast(68, 67, boot(7, 1, 6))],
  ['DHCP request cut inside the client address', () => bcast(68, 67, boot(1, 1, 6)).slice(0, 60)],
  ['BOOTP, one byte', () => bcast(68, 67, [1])],
  ['BOOTP port to the DNS port: DNS wins', () => bcast(67, 53, boot(1, 1, 6))],
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((m): [string, () => Uint8Array] => [`NTPv4 mode ${m}`, () => bcast(123, 123, [(4 << 3) | m, ...new Array<number>(47).fill(0)])]),
  ['NTPv3 client', () => bcast(40000, 123, [0x1b, ...new Array<number>(47).fill(0)])],
  ['NTP, one byte', () => bcast(40000, 123, [0x23])],
  ['NTP, empty', () => bcast(40000, 123, [])],
  ['NTP port to the BOOTP port: BOOTP wins', () => bcast(123, 68, boot(2, 1, 6))],
];

function ours(frames: { frame: Uint8Array; wire: number }[], verbose: number): string[] {
  const td = new Tcpdump({ verbose });
  return frames.map(({ frame, wire }) => td.format(frame, 0, frame.length, wire));
}

/** Each case's captured bytes and its length on the wire (a cut frame keeps its whole length, as a snaplen does). */
function cases(list: readonly [string, () => Uint8Array][]): { frame: Uint8Array; wire: number }[] {
  return list.map(([name, make]) => {
    const frame = make();
    const m = / of (\d+)$/.exec(name);
    return { frame, wire: m ? Number(m[1]) : frame.length };
  });
}

test('DNS lines, checked by hand', () => {
  const [query, response] = ours([{ frame: udp(A_Q), wire: udp(A_Q).length }, { frame: reply(A_R), wire: reply(A_R).length }], 0);
  assert.match(query!, /192\.168\.1\.7\.40000 > 198\.51\.100\.53\.53: 4660\+ A\? www\.example\.com\. \(33\)$/);
  assert.match(response!, /\.53 > 198\.51\.100\.53\.40000: 4660 2\/0\/0 CNAME web\.example\.com\., A 192\.0\.2\.10 \(\d+\)$/);
  const [vv] = ours([{ frame: reply(A_R), wire: reply(A_R).length }], 2);
  assert.match(vv!, /4660 q: A\? www\.example\.com\. 2\/0\/0 www\.example\.com\. CNAME web\.example\.com\., www\.example\.com\. A 192\.0\.2\.10/);
  const [vvv] = ours([{ frame: reply(A_R), wire: reply(A_R).length }], 3);
  assert.match(vvv!, /www\.example\.com\. \[5m\] CNAME web\.example\.com\., www\.example\.com\. \[1h\] A 192\.0\.2\.10/);
  const [bad] = ours([{ frame: udp([...hdr(26, QUERY, 1, 0, 0, 0), ...q(ptr(40)), ...new Array(22).fill(0)]), wire: 0 }], 0);
  assert.match(bad!, /26\+ A\? <BAD PTR> \[\|domain\]$/);
  const [dhcp, ntp] = ours(cases(PLAIN.slice(0, 1)).concat(cases(PLAIN.slice(11, 12))), 0);
  assert.match(dhcp!, /0\.0\.0\.0\.68 > 255\.255\.255\.255\.67: BOOTP\/DHCP, Request from fa:16:3e:b2:ef:af, length 300$/);
  assert.match(ntp!, /\.123: NTPv4, Client, length 48$/);
});

const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;

// Every case at every level (NTP's -v fields: wire-tcpdump-ntp.test.ts).
const EVERY_LEVEL = [...ALL, ...DHCP, ...PLAIN];
for (const [flags, level, list] of [[[], 0, EVERY_LEVEL], [['-v'], 1, EVERY_LEVEL], [['-vv'], 2, EVERY_LEVEL], [['-vvv'], 3, EVERY_LEVEL]] as const) {
  test(`live: tcpdump ${['-nn', '-e', ...flags].join(' ')} -r prints what the formatter prints`, { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpe-apps-'));
    try {
      const frames = cases(list);
      const file = join(dir, 'apps.pcap');
      writeFileSync(file, Buffer.concat([pcapHeader(), ...frames.map(({ frame, wire }, i) => {
        const rec = new Uint8Array(PCAP_RECORD_HEADER_LEN + frame.length);
        writePcapRecordHeader(rec, 0, 1700000000000 + i * 1000, frame.length, wire);
        rec.set(frame, PCAP_RECORD_HEADER_LEN);
        return rec;
      })]));
      const out = execFileSync('tcpdump', ['-tt', '-nn', '-e', ...flags, '-r', file], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 }).toString();
      const theirs = out.split(/^\d+\.\d{6} /m).slice(1).map((s) => s.replace(/\n$/, ''));
      assert.equal(theirs.length, frames.length);
      const mine = ours(frames, level);
      const differ = list.map(([name], i) => ({ name, ours: mine[i], tcpdump: theirs[i] })).filter((d) => d.ours !== d.tcpdump);
      assert.deepEqual(differ, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
