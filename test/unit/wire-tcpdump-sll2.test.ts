// Linux cooked v2 (what `-i any` captures) against the real tcpdump -r of
// the same frames in a LINKTYPE_LINUX_SLL2 pcap: the interface column (an
// ifindex no device here has, so "?" in both), each packet type, the header
// with -e (and -q), ethertypes tcpdump does not decode, 802.2 LLC and SNAP,
// an inner VLAN tag, frames cut by the snaplen or shorter than the header,
// and the -x/-X dumps. The cooked frames are built as the capture builds
// them from Ethernet frames (src/wire/sll2.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame } from '../../src/wire/frame.js';
import { cookedPayloadAt, cookedProtocol, LINKTYPE_LINUX_SLL2, packetType, SLL2_HDR_LEN, writeSll2Header } from '../../src/wire/sll2.js';
import { type Captured, differences, FLAG_RUNS, hasTcpdump } from './wire-tcpdump-oracle.js';
import type { TcpdumpOptions } from '../../src/wire/tcpdump.js';

const A = '02:00:00:00:00:01', B = '02:00:00:00:00:02';
/** B's MAC as packetType takes it. */
const [B_HI, B_LO] = [0x0200, 0x00000002];
/** No device here has it: tcpdump -r names it "?". */
const IFINDEX = 0x7ffffff0;

/** The cooked frame of Ethernet frame `eth` seen at B's interface (received unless `out`); `pkttype` overrides the packet type. */
function cooked(eth: Uint8Array, out = false, pkttype?: number): Uint8Array {
  const at = cookedPayloadAt(eth, 0, eth.length);
  const c = new Uint8Array(SLL2_HDR_LEN + eth.length - at);
  writeSll2Header(c, cookedProtocol(eth, at, eth.length), IFINDEX, pkttype ?? packetType(eth, 0, !out, B_HI, B_LO), eth, 0);
  c.set(eth.subarray(at), SLL2_HDR_LEN);
  return c;
}

const ip = { src: '192.0.2.1', dst: '198.51.100.2' };
const udp = { sport: 40000, dport: 9999, payload: 12 };
const snap = (oui: number, type: number) => [0xaa, 0xaa, 0x03, oui >> 16, (oui >> 8) & 0xff, oui & 0xff, type >> 8, type & 0xff, 1, 2, 3, 4];
const llc = (bytes: number[]) => buildFrame({ src: A, dst: B, ethertype: bytes.length, payload: bytes });
const icmp = cooked(buildFrame({ src: A, dst: B, ip, icmp: { id: 7, seq: 1, data: 56 } }));
const CASES: [string, Captured][] = [
  ['icmp echo, to this host', { frame: icmp }],
  ['icmp echo, sent', { frame: cooked(buildFrame({ src: B, dst: A, ip, icmp: { id: 7, seq: 1, data: 56 } }), true) }],
  ['arp, broadcast', { frame: cooked(buildFrame({ src: A, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: A, spa: '192.0.2.1', tpa: '192.0.2.2' } })) }],
  ['udp, multicast', { frame: cooked(buildFrame({ src: A, dst: '01:00:5e:00:00:fb', ip: { src: '192.0.2.1', dst: '224.0.0.251' }, udp })) }],
  ['udp, to another host', { frame: cooked(buildFrame({ src: A, dst: '02:00:00:00:00:99', ip, udp })) }],
  ['tcp, tagged (the tag is gone)', { frame: cooked(buildFrame({ src: A, dst: B, vlans: [103], ip, tcp: { sport: 1, dport: 80, flags: 'S' } })) }],
  ['an inner tag left in', { frame: cooked(buildFrame({ src: A, dst: B, vlans: [{ vid: 5, tpid: 0x88a8 }, 10], ip, udp })) }],
  ['an unknown packet type', { frame: cooked(buildFrame({ src: A, dst: B, ip, udp }), false, 7) }],
  ['unknown ethertype', { frame: cooked(buildFrame({ src: A, dst: B, ethertype: 0x88b5, payload: [1, 2, 3, 4, 5] })) }],
  ['stp bpdu (802.2)', { frame: cooked(llc([0x42, 0x42, 0x03, ...Array<number>(35).fill(0)])) }],
  ['llc, an unknown sap', { frame: cooked(llc([0xf0, 0xf0, 0x03, 1, 2, 3])) }],
  ['snap, an unknown ethertype', { frame: cooked(llc(snap(0, 0x88b5))) }],
  ['snap, ipv4', { frame: cooked(llc([0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, ...buildFrame({ src: A, dst: B, ip, udp }).subarray(14)])) }],
  ['snap, an unknown oui', { frame: cooked(llc(snap(0x00000c, 0x1234))) }],
  ['cut by the snaplen', { frame: icmp.subarray(0, 50), wire: icmp.length }],
  ['shorter than the cooked header', { frame: icmp.subarray(0, 12) }],
];

const RUNS: [string[], TcpdumpOptions][] = [
  ...FLAG_RUNS,
  [['-e', '-q'], { quiet: true }],
  [['-x'], { linkHeader: false, dump: { kind: 'x', withLink: false } }],
  [['-XX'], { linkHeader: false, dump: { kind: 'X', withLink: true } }],
  [['-e', '-X'], { dump: { kind: 'X', withLink: false } }],
];

test('Linux cooked v2 frames print as tcpdump -r prints them', { skip: !hasTcpdump && 'tcpdump is not installed' }, () => {
  for (const [flags, opts] of RUNS) {
    assert.deepEqual(differences(CASES, flags, { ...opts, cooked: { ifname: () => undefined } }, LINKTYPE_LINUX_SLL2), [], flags.join(' '));
  }
});
