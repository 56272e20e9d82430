// tcpdump -x, -X, -A (and doubled: from the link-layer header on) against
// the real tcpdump -r of the same frames: the dump after each packet's line,
// past the Ethernet header and its VLAN tags, on even and odd lengths, frames
// cut by the snaplen, frames too short for an Ethernet header, CRs in text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame } from '../../src/wire/frame.js';
import { type Captured, differences, hasTcpdump } from './wire-tcpdump-oracle.js';
import type { TcpdumpOptions } from '../../src/wire/tcpdump.js';

const A = '02:00:00:00:00:01', B = '02:00:00:00:00:02';
const text = (s: string) => Array.from(Buffer.from(s));
const CASES: [string, Captured][] = [
  ['icmp echo', { frame: buildFrame({ src: A, dst: B, ip: { src: '192.0.2.1', dst: '198.51.100.2' }, icmp: { id: 7, seq: 1, data: 56 } }) }],
  ['udp, odd length, text with CR LF', { frame: buildFrame({ src: A, dst: B, ip: { src: '192.0.2.1', dst: '198.51.100.2' }, udp: { sport: 40000, dport: 9999, payload: text('GET / HTTP/1.1\r\nHost: x\r\n\r\nab\rc\r') } }) }],
  ['tagged tcp', { frame: buildFrame({ src: A, dst: B, vlans: [103], ip: { src: '192.0.2.1', dst: '198.51.100.2' }, tcp: { sport: 1, dport: 80, flags: 'S', payload: text('hello\tworld\x01\x7f') } }) }],
  ['two tags', { frame: buildFrame({ src: A, dst: B, vlans: [{ vid: 5, tpid: 0x88a8 }, 10], ip: { src: '192.0.2.1', dst: '198.51.100.2' }, udp: { sport: 1, dport: 2, payload: 3 } }) }],
  ['arp', { frame: buildFrame({ src: A, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: A, spa: '192.0.2.1', tpa: '192.0.2.2' } }) }],
  ['arp, an unknown operation', { frame: buildFrame({ src: A, dst: 'ff:ff:ff:ff:ff:ff', arp: { op: 42, sha: A, spa: '192.0.2.1', tpa: '192.0.2.2' } }) }],
  ['unknown ethertype', { frame: buildFrame({ src: A, dst: B, ethertype: 0x88b5, payload: [1, 2, 3, 4, 5] }) }],
  ['cut by the snaplen', { frame: buildFrame({ src: A, dst: B, ip: { src: '192.0.2.1', dst: '198.51.100.2' }, udp: { sport: 1, dport: 2, payload: 40 } }).subarray(0, 45), wire: 82 }],
  ['shorter than an Ethernet header', { frame: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) }],
  ['header only', { frame: buildFrame({ src: A, dst: B, ethertype: 0x0800 }) }],
];

const RUNS: [string[], TcpdumpOptions][] = [
  [['-x'], { linkHeader: false, dump: { kind: 'x', withLink: false } }],
  [['-xx'], { linkHeader: false, dump: { kind: 'x', withLink: true } }],
  [['-X'], { linkHeader: false, dump: { kind: 'X', withLink: false } }],
  [['-XX'], { linkHeader: false, dump: { kind: 'X', withLink: true } }],
  [['-A'], { linkHeader: false, dump: { kind: 'A', withLink: false } }],
  [['-AA'], { linkHeader: false, dump: { kind: 'A', withLink: true } }],
  [['-e', '-x'], { dump: { kind: 'x', withLink: false } }],
  [['-v', '-X'], { linkHeader: false, verbose: 1, dump: { kind: 'X', withLink: false } }],
  [['-q', '-XX'], { linkHeader: false, quiet: true, dump: { kind: 'X', withLink: true } }],
];

test('-x, -X, -A and their doubles print what tcpdump -r prints', { skip: !hasTcpdump && 'tcpdump is not installed' }, () => {
  for (const [flags, opts] of RUNS) assert.deepEqual(differences(CASES, flags, opts), [], flags.join(' '));
});
