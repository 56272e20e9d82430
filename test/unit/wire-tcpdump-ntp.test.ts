// NTP (print-ntp.c, ntp.c) against the real tcpdump 4.99: a chrony client
// request, server replies of each stratum kind (kiss code, primary
// reference, secondary, INFO_QUERY/REPLY), time stamps before 1970 and at
// the end of era 0, negative differences, the key id and digest trailers,
// control (mode 6) messages and messages cut at every length; at -nn, -v,
// -vv, -vvv, without -e and -q.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame } from '../../src/wire/frame.js';
import { type Captured, differences, FLAG_RUNS, formatterLines, hasTcpdump } from './wire-tcpdump-oracle.js';

const u32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
/** A 32.32 time stamp. */
const ts = (s: number, f: number): number[] => [...u32(s), ...u32(f)];
const ntp = (payload: number[], sport = 123): Uint8Array =>
  buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '192.0.2.123' }, udp: { sport, dport: 123, payload } });
/** A time message: status (LI, VN, mode), stratum, poll, precision, root delay and dispersion (16.16), reference id, then the four time stamps. */
const msg = (status: number, stratum: number, poll: number, prec: number, delay: number, disp: number, ref: number[], stamps: number[][]): number[] =>
  [status, stratum, poll & 255, prec & 255, ...u32(delay), ...u32(disp), ...ref, ...stamps.flat()];
/** 2024-03-17T18:19:47Z. */
const T0 = 0xe9a1b2c3;
const SERVER = msg(0x24, 2, 6, -25, 0x00000a3c, 0x00018000, [192, 0, 2, 1], [ts(T0 - 100, 0x12345678), ts(T0, 0x80000000), ts(T0 + 1, 1), ts(T0 + 1, 0x1000)]);
const DIGEST = Array.from({ length: 20 }, (_, i) => i + 0x34);
const CONTROL = [0x16, 0xe2, 0x12, 0x34, 0x06, 0x15, 0xab, 0xcd, 0, 4, 0, 4, 1, 2, 3, 4];

const CASES: [string, () => Uint8Array][] = [
  ['chrony client request: only the transmit time stamp', () => ntp(msg(0x23, 0, 0, 0, 0, 0, [0, 0, 0, 0], [ts(0, 0), ts(0, 0), ts(0, 0), ts(T0, 0xdeadbeef)]), 40000)],
  ['server reply, stratum 2', () => ntp(SERVER)],
  ['server reply, the originator later: negative differences', () => ntp(msg(0x24, 3, -3, 20, 0xffffffff, 0, [192, 0, 2, 1], [ts(T0, 0), ts(T0 + 5, 5), ts(T0, 0x10), ts(T0 - 2, 0xffffffff)]))],
  ['server reply, equal seconds', () => ntp(msg(0x24, 3, 17, 0, 0, 0, [192, 0, 2, 1], [ts(T0, 0), ts(T0, 5), ts(T0, 5), ts(T0, 4)]))],
  ['stratum 1, reference GPS', () => ntp(msg(0x1c, 1, 4, -20, 0, 0x10, [0x47, 0x50, 0x53, 0], [ts(T0, 0), ts(T0, 1), ts(T0, 2), ts(T0, 3)]))],
  ['stratum 0, kiss code RATE, alarm; 1900, 1970 and 2036 time stamps', () =>
    ntp(msg(0xe4, 0, 4, -20, 0, 0x10, [0x52, 0x41, 0x54, 0x45], [ts(1, 0), ts(2208988800, 1), ts(0xffffffff, 0xffffffff), ts(2, 3)]))],
  ['stratum 16, leap +1s, poll 31', () => ntp(msg(0x5c, 16, 31, 127, 0, 0x10, [1, 2, 3, 4], [ts(T0, 0), ts(T0, 1), ts(T0, 2), ts(T0, 3)]))],
  ['stratum 62 (INFO_QUERY), poll 32', () => ntp(msg(0x9c, 62, 32, -128, 0, 0x10, [1, 2, 3, 4], [ts(T0, 0), ts(T0, 1), ts(T0, 2), ts(T0, 3)]))],
  ['stratum 63 (INFO_REPLY), poll -32', () => ntp(msg(0x9c, 63, -32, -31, 0, 0x10, [1, 2, 3, 4], [ts(T0, 0), ts(T0, 1), ts(T0, 2), ts(T0, 3)]))],
  ['key id (crypto-NAK)', () => ntp([...SERVER, ...u32(42)])],
  ['key id and MD5 digest', () => ntp([...SERVER, ...u32(42), ...DIGEST.slice(0, 16)])],
  ['key id and SHA-1 digest', () => ntp([...SERVER, ...u32(42), ...DIGEST])],
  ['12 bytes after the header', () => ntp([...SERVER, ...new Array(12).fill(0)])],
  ['NTPv3 symmetric active', () => ntp(msg(0x19, 2, 6, -25, 0, 0, [192, 0, 2, 1], [ts(T0, 0), ts(T0, 1), ts(T0, 2), ts(T0, 3)]))],
  ['broadcast', () => ntp(msg(0x25, 2, 6, -25, 0, 0, [192, 0, 2, 1], [ts(T0, 0), ts(0, 0), ts(0, 0), ts(T0, 3)]))],
  ['mode 7', () => ntp([0x27, 0, 0, 0, 1, 2, 3, 4])],
  ['time message shorter than 48 bytes', () => ntp([0x20, 1, 2, 3])],
  ['control request, status 0', () => ntp([0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])],
  ['control response with data', () => ntp(CONTROL)],
  ['control message, count past the end', () => ntp([0x16, 0x82, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2])],
  ['control message shorter than its header', () => ntp([0x16, 0x82, 0, 1])],
  ['one byte', () => ntp([0x23])],
  ['empty', () => ntp([])],
];
/** Cut by the snaplen at every length from the UDP header on. */
const cut = (name: string, payload: number[]): [string, Captured][] => {
  const whole = ntp(payload);
  return Array.from({ length: whole.length - 40 }, (_, i): [string, Captured] => [`${name} cut at ${40 + i}`, { frame: whole.slice(0, 40 + i), wire: whole.length }]);
};
const ALL: [string, Captured][] = [
  ...CASES.map(([name, make]): [string, Captured] => [name, { frame: make() }]),
  ...cut('SHA-1 signed reply', [...SERVER, ...u32(42), ...DIGEST]),
  ...cut('control response', CONTROL),
];

test('NTP -v lines, checked by hand', () => {
  const [reply, control] = formatterLines([{ frame: ntp(SERVER) }, { frame: ntp(CONTROL) }], { linkHeader: false, verbose: 1 });
  assert.equal(
    reply!.split('\n').slice(1).join('\n'),
    '    192.168.1.7.123 > 192.0.2.123.123: NTPv4, Server, length 48\n' +
      '\tLeap indicator:  (0), Stratum 2 (secondary reference), poll 6 (64s), precision -25\n' +
      '\tRoot Delay: 0.039978, Root dispersion: 1.500000, Reference-ID: 0xc0000201\n' +
      '\t  Reference Timestamp:  3919688287.071111110 (2024-03-17T18:18:07Z)\n' +
      '\t  Originator Timestamp: 3919688387.500000000 (2024-03-17T18:19:47Z)\n' +
      '\t  Receive Timestamp:    3919688388.000000000 (2024-03-17T18:19:48Z)\n' +
      '\t  Transmit Timestamp:   3919688388.000000953 (2024-03-17T18:19:48Z)\n' +
      '\t    Originator - Receive Timestamp:  +0.500000000\n' +
      '\t    Originator - Transmit Timestamp: +0.500000953',
  );
  assert.match(control!, /NTPv2, Control Message, length 16\n\tLeap indicator:  \(0\), Response, Error, More, OpCode=2\n\tSequence=4660, Status=0x615, Assoc\.=43981, Offset=4, Count=4\n\tTO-BE-DONE: data not interpreted$/);
  assert.match(formatterLines([{ frame: ntp(SERVER).slice(0, 56), wire: 90 }], { verbose: 1 })[0]!, /Root Delay: 0\.039978, Root dispersion: 1\.500000 \[\|ntp\]$/);
});

for (const [flags, opts] of FLAG_RUNS) {
  test(`live: tcpdump ${['-nn', ...flags].join(' ')} -r prints NTP as the formatter does`, { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
    assert.deepEqual(differences(ALL, flags, opts), []);
  });
}
