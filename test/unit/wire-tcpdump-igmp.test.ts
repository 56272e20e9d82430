// IGMP (print-igmp.c) against the real tcpdump 4.99: what Linux sends when
// it joins and leaves groups (v3 reports, v2 reports and leaves), the
// queries a multicast router or a bridge's querier sends (v1, v2, v3 with
// sources), mtrace, malformed lengths and a bad checksum, and frames cut by
// the snaplen at every length; at -nn, -v, -vv, -vvv, without -e and -q.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksum } from '../../src/wire/checksum.js';
import { buildFrame } from '../../src/wire/frame.js';
import { type Captured, differences, FLAG_RUNS, formatterLines, hasTcpdump } from './wire-tcpdump-oracle.js';

/** An IGMP message from 192.168.1.7 with the router alert option, its checksum made right unless `keepSum`. */
function igmp(body: number[], keepSum = false): Uint8Array {
  const b = Uint8Array.from(body);
  if (!keepSum && b.length >= 4) {
    b[2] = b[3] = 0;
    const c = checksum(b, 0, b.length);
    b[2] = c >> 8;
    b[3] = c & 255;
  }
  return buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: '01:00:5e:00:00:16', ip: { src: '192.168.1.7', dst: '224.0.0.22', proto: 2, ttl: 1, tos: 0xc0, options: [148, 4, 0, 0] }, payload: [...b] });
}
const G = [239, 1, 2, 3];
/** Linux joining 239.1.2.3 (change to exclude) and allowing 239.9.9.9 from two sources. */
const V3_REPORT = [0x22, 0, 0, 0, 0, 0, 0, 2, 4, 0, 0, 0, ...G, 5, 0, 0, 2, 239, 9, 9, 9, 192, 0, 2, 1, 192, 0, 2, 2];
/** A group-and-source-specific v3 query, max response code 0x8f (exponential). */
const V3_QUERY = [0x11, 0x8f, 0, 0, ...G, 0x0a, 125, 0, 2, 192, 0, 2, 1, 192, 0, 2, 2];

const CASES: [string, () => Uint8Array][] = [
  ['v2 report', () => igmp([0x16, 0, 0, 0, ...G])],
  ['v1 report', () => igmp([0x12, 0, 0, 0, ...G])],
  ['v1 report longer than 8 bytes', () => igmp([0x12, 0, 0, 0, ...G, 0, 0, 0, 0])],
  ['leave', () => igmp([0x17, 0, 0, 0, 224, 0, 0, 2])],
  ['v1 query', () => igmp([0x11, 0, 0, 0, 0, 0, 0, 0])],
  ['v2 general query, default response time', () => igmp([0x11, 100, 0, 0, 0, 0, 0, 0])],
  ['v2 group query, 1 s', () => igmp([0x11, 10, 0, 0, ...G])],
  ['v2 query of 10 bytes', () => igmp([0x11, 10, 0, 0, ...G, 0, 0])],
  ['v3 general query, default response time', () => igmp([0x11, 100, 0, 0, 0, 0, 0, 0, 2, 125, 0, 0])],
  ['v3 group query with sources', () => igmp(V3_QUERY)],
  ['v3 query, response time over a minute', () => igmp([0x11, 0xff, 0, 0, ...G, 0x0a, 125, 0, 0])],
  ['v3 query, length not a multiple of 4', () => igmp([0x11, 5, 0, 0, ...G, 0x0a, 125, 0, 0, 1, 2])],
  ['v3 query, more sources than it holds', () => igmp([0x11, 5, 0, 0, ...G, 0x0a, 125, 0, 9, 1, 2, 3, 4])],
  ['v3 report, two records', () => igmp(V3_REPORT)],
  ['v3 report, every record type', () => igmp([0x22, 0, 0, 0, 0, 0, 0, 7, ...[1, 2, 3, 4, 5, 6, 9].flatMap((t) => [t, 0, 0, 0, ...G])])],
  ['v3 report, more records than it holds', () => igmp([0x22, 0, 0, 0, 0, 0, 0, 3, 9, 0, 0, 0, ...G])],
  ['v3 report, more sources than it holds', () => igmp([0x22, 0, 0, 0, 0, 0, 0, 1, 9, 0, 0, 5, ...G])],
  ['v3 report shorter than 16 bytes', () => igmp([0x22, 0, 0, 0, 0, 0, 0, 1, 9, 0])],
  ['bad checksum', () => igmp([0x16, 0, 0x12, 0x34, ...G], true)],
  ['mtrace to a multicast response address', () => igmp([0x1f, 0, 0, 0, ...G, 192, 0, 2, 1, 192, 0, 2, 2, 224, 0, 1, 32, 64, 0, 0, 7])],
  ['mresp', () => igmp([0x1e, 0, 0, 0, ...G, 192, 0, 2, 1, 192, 0, 2, 2, 198, 51, 100, 1, 64, 1, 2, 7])],
  ['mtrace too short', () => igmp([0x1f, 0, 0, 0, ...G, 192, 0, 2, 1])],
  ['mtrace of one byte: too short for a checksum verdict', () => igmp([0x1f])],
  ['unknown type', () => igmp([0x99, 0, 0, 0, ...G])],
  ['one byte', () => igmp([0x16])],
  ['three bytes', () => igmp([0x16, 0, 0])],
  ['no payload', () => igmp([])],
];
/** Cut by the snaplen at every length from inside the IP header on. */
const cut = (name: string, body: number[], from: number): [string, Captured][] => {
  const whole = igmp(body);
  return Array.from({ length: whole.length - from }, (_, i): [string, Captured] => [`${name} cut at ${from + i}`, { frame: whole.slice(0, from + i), wire: whole.length }]);
};
const ALL: [string, Captured][] = [
  ...CASES.map(([name, make]): [string, Captured] => [name, { frame: make() }]),
  ...cut('v3 report', V3_REPORT, 30),
  ...cut('v3 query', V3_QUERY, 30),
];

test('IGMP lines, checked by hand', () => {
  const [report, query] = formatterLines([{ frame: igmp(V3_REPORT) }, { frame: igmp(V3_QUERY) }], { linkHeader: false, verbose: 2 });
  assert.match(report!, /\n {4}192\.168\.1\.7 > 224\.0\.0\.22: igmp v3 report, 2 group record\(s\) \[gaddr 239\.1\.2\.3 to_ex \{ \}\] \[gaddr 239\.9\.9\.9 allow \{ 192\.0\.2\.1 192\.0\.2\.2 \}\]$/);
  assert.match(query!, /igmp query v3 \[max resp time 24\.8s\] \[gaddr 239\.1\.2\.3 \{ 192\.0\.2\.1 192\.0\.2\.2 \}\]$/);
  const [leave, bad] = formatterLines([{ frame: igmp([0x17, 0, 0, 0, 224, 0, 0, 2]) }, { frame: igmp([0x16, 0, 0x12, 0x34, ...G], true) }], { linkHeader: false, verbose: 1 });
  assert.match(leave!, /igmp leave 224\.0\.0\.2$/);
  assert.match(bad!, /igmp v2 report 239\.1\.2\.3 bad igmp cksum 1234!$/);
  assert.equal(formatterLines([{ frame: igmp(V3_REPORT) }], { linkHeader: false, quiet: true })[0], 'IP 192.168.1.7 > 224.0.0.22: igmp');
});

for (const [flags, opts] of FLAG_RUNS) {
  test(`live: tcpdump ${['-nn', ...flags].join(' ')} -r prints IGMP as the formatter does`, { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
    assert.deepEqual(differences(ALL, flags, opts), []);
  });
}
