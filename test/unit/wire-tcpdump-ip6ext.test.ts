// IPv6 routing headers (print-rt6.c: type 0, type 2 of Mobile IPv6, type 4
// segment routing) and mobility headers (print-mobility.c: every message
// type and option) against the real tcpdump 4.99, chained after the other
// extension headers as ip6_print does, with the upper-layer checksum taken
// over the routing header's final destination (ip6_finddst); a hop-by-hop
// header out of place, an empty ICMPv6 payload, IGMP over IPv6; frames cut
// at every length. At -nn, -v, -vv, -vvv, without -e and -q.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksum, onesSum } from '../../src/wire/checksum.js';
import { buildFrame } from '../../src/wire/frame.js';
import { type Captured, differences, FLAG_RUNS, formatterLines, hasTcpdump } from './wire-tcpdump-oracle.js';

/** 2001:db8::n. */
const A = (n: number): number[] => [0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), n];
/**
 * 2001:db8::7 to 2001:db8::8: extension headers `ext` (the first of type
 * `first`), then `l4` of protocol `nh`, its checksum at `csumAt` (-1: left
 * 0) over a pseudo header with destination `finalDst`.
 */
function ip6x(first: number, ext: number[], nh: number, l4: number[], csumAt = -1, finalDst = A(8)): Uint8Array {
  const plen = ext.length + l4.length;
  const pkt = Uint8Array.from([0x60, 0, 0, 0, plen >> 8, plen & 255, first, 64, ...A(7), ...A(8), ...ext, ...l4]);
  if (csumAt >= 0) {
    const at = 40 + ext.length;
    const c = checksum(pkt, at, l4.length, onesSum(Uint8Array.from([...A(7), ...finalDst]), 0, 32, nh + l4.length));
    pkt[at + csumAt] = c >> 8;
    pkt[at + csumAt + 1] = c & 255;
  }
  return buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ethertype: 0x86dd, payload: [...pkt] });
}
const UDP = [0x9c, 0x40, 0x13, 0x88, 0, 12, 0, 0, 1, 2, 3, 4];
const ECHO = [128, 0, 0, 0, 0, 1, 0, 1];
const TCP_SYN = [0xc7, 0x38, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0];
/** Routing header type 0 through 2001:db8::1 to 2001:db8::2, then UDP summed to the last hop. */
const RT0_UDP = (): Uint8Array => ip6x(43, [17, 4, 0, 1, 0, 0, 0, 0, ...A(1), ...A(2)], 17, UDP, 6, A(2));
/** Segment routing header, two segments, tag 5, then an echo request summed to the first segment. */
const SRH_ECHO = (): Uint8Array => ip6x(43, [58, 4, 4, 1, 1, 0, 0, 5, ...A(1), ...A(2)], 58, ECHO, 2, A(1));
/** A binding update with every option type (refresh, alternate care-of address, nonce indices, authorization, padding, unknown). */
const BU_OPTS = (): Uint8Array =>
  ip6x(135, [59, 7, 5, 0, 0, 0, 1, 2, 0x30, 0, 0, 10, 2, 2, 0, 5, 3, 16, ...A(9), 4, 4, 0, 1, 0, 2, 5, 10, ...new Array(10).fill(0), 1, 0, 99, 1, 0, ...new Array(7).fill(0)], 59, [0]);
const empty6 = (nh: number): Uint8Array => ip6x(nh, [], nh, []);

const CASES: [string, () => Uint8Array][] = [
  ['type 0 to UDP, checksum over the last hop', RT0_UDP],
  ['type 0 to UDP, checksum over the header destination (wrong)', () => ip6x(43, [17, 4, 0, 1, 0, 0, 0, 0, ...A(1), ...A(2)], 17, UDP, 6)],
  ['type 2 (Mobile IPv6) to an echo request', () => ip6x(43, [58, 2, 2, 1, 0, 0, 0, 0, ...A(1)], 58, ECHO, 2, A(1))],
  ['type 4 (segment routing) to an echo request', SRH_ECHO],
  ['type 4 with flags and a tag', () => ip6x(43, [58, 4, 4, 1, 1, 0x80, 0xab, 0xcd, ...A(1), ...A(2)], 58, ECHO, 2, A(1))],
  ['type 4 with an odd length', () => ip6x(43, [58, 3, 4, 1, 1, 0, 0, 5, ...A(1), 0, 0, 0, 0, 0, 0, 0, 0], 58, ECHO)],
  ['type 4 with a TLV (printed as a segment) and nothing after it', () => ip6x(43, [58, 6, 4, 1, 1, 0, 0, 5, ...A(1), ...A(2), 1, 6, 0, 0, 0, 0, 0, 0], 58, ECHO)],
  ['type 4 of length 0: the checksum over the header destination', () => ip6x(43, [58, 0, 4, 0, 0, 0, 0, 0], 58, [...ECHO, ...new Array(16).fill(0)], 2)],
  ['unknown type', () => ip6x(43, [58, 2, 9, 1, 0, 0, 0, 0, ...A(1)], 58, ECHO)],
  ['type 0 with an odd length', () => ip6x(43, [58, 3, 0, 1, 0, 0, 0, 0, ...A(1), 0, 0, 0, 0, 0, 0, 0, 0], 58, ECHO)],
  ['type 0, reserved bits set, no addresses', () => ip6x(43, [58, 0, 0, 0, 1, 2, 3, 4], 58, ECHO, 2)],
  ['type 0 to TCP: ports only', () => ip6x(43, [6, 2, 0, 1, 0, 0, 0, 0, ...A(1)], 6, TCP_SYN, 16, A(1))],
  ['hop-by-hop, then type 0, then UDP', () => ip6x(0, [43, 0, 1, 4, 0, 0, 0, 0, 17, 2, 0, 1, 0, 0, 0, 0, ...A(1)], 17, UDP, 6, A(1))],
  ['two routing headers: the first names the destination', () => ip6x(43, [43, 2, 0, 1, 0, 0, 0, 0, ...A(1), 58, 0, 0, 0, 0, 0, 0, 0], 58, ECHO, 2, A(1))],
  ['a hop-by-hop header after a routing header', () => ip6x(43, [0, 0, 4, 0, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0], 17, UDP)],
  ['two hop-by-hop headers', () => ip6x(0, [0, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0], 17, UDP)],
  ['routing header type only', () => ip6x(43, [58, 2], 58, [])],
  ['binding refresh request, padding to the end', () => ip6x(135, [59, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 59, [])],
  ['binding refresh request, padding, more after it', () => ip6x(135, [59, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 59, [1, 2])],
  ['home test init too short for its type', () => ip6x(135, [59, 0, 1, 0, 0, 0, 1, 2], 59, [])],
  ['home test init', () => ip6x(135, [59, 1, 1, 0, 0, 0, 1, 2, 1, 2, 3, 4, 5, 6, 7, 8], 59, [0])],
  ['care-of test init', () => ip6x(135, [59, 1, 2, 0, 0, 0, 1, 2, 1, 2, 3, 4, 5, 6, 7, 8], 59, [0])],
  ['home test', () => ip6x(135, [59, 2, 3, 0, 0, 0, 1, 2, ...new Array(16).fill(9)], 59, [0])],
  ['care-of test', () => ip6x(135, [59, 2, 4, 0, 0, 0, 1, 2, ...new Array(16).fill(9)], 59, [0])],
  ['binding update, all flags', () => ip6x(135, [59, 1, 5, 0, 0, 0, 1, 2, 0xf0, 0, 0, 10, 1, 2, 0, 0], 59, [0])],
  ['binding update with every option', BU_OPTS],
  ['binding acknowledgement', () => ip6x(135, [59, 1, 6, 0, 0, 0, 3, 0x80, 0, 7, 0, 5, 1, 0, 0, 0], 59, [0])],
  ['binding error', () => ip6x(135, [59, 2, 7, 0, 0, 0, 1, 0, ...A(5)], 59, [0])],
  ['unknown mobility message', () => ip6x(135, [59, 0, 9, 0, 0, 0, 1, 0], 59, [0])],
  ['the old mobility protocol number, another payload protocol', () => ip6x(62, [6, 0, 0, 0, 0, 0, 1, 0], 59, [0])],
  ['refresh option too short', () => ip6x(135, [59, 1, 5, 0, 0, 0, 1, 2, 0x30, 0, 0, 10, 0, 0, 2, 0], 59, [0])],
  ['alternate care-of address option too short', () => ip6x(135, [59, 1, 5, 0, 0, 0, 1, 2, 0x30, 0, 0, 10, 0, 3, 1, 0], 59, [0])],
  ['an option type at the very end', () => ip6x(135, [59, 1, 5, 0, 0, 0, 1, 2, 0x30, 0, 0, 10, 0, 0, 0, 99], 59, [0])],
  ['empty routing header', () => empty6(43)],
  ['empty mobility header', () => empty6(135)],
  ['empty ICMPv6', () => empty6(58)],
  ['IGMP over IPv6', () => ip6x(2, [], 2, [0x16, 0, 0, 0, 239, 1, 2, 3])],
];
/** Cut by the snaplen at every length from the end of the IPv6 header on. */
const cut = (name: string, make: () => Uint8Array): [string, Captured][] => {
  const whole = make();
  return Array.from({ length: whole.length - 54 }, (_, i): [string, Captured] => [`${name} cut at ${54 + i}`, { frame: whole.slice(0, 54 + i), wire: whole.length }]);
};
const ALL: [string, Captured][] = [
  ...CASES.map(([name, make]): [string, Captured] => [name, { frame: make() }]),
  ...cut('type 0 to UDP', RT0_UDP),
  ...cut('segment routing', SRH_ECHO),
  ...cut('binding update', BU_OPTS),
];

test('routing and mobility headers, checked by hand', () => {
  const [rt0, srh, bu] = formatterLines([{ frame: RT0_UDP() }, { frame: SRH_ECHO() }, { frame: BU_OPTS() }], { linkHeader: false, verbose: 1 });
  assert.equal(
    rt0,
    'IP6 (hlim 64, next-header Routing (43) payload length: 52) 2001:db8::7 > 2001:db8::8: RT6 (len=4, type=0 [Deprecated], segleft=1, rsv=0x0, [0]2001:db8::1, [1]2001:db8::2) 40000 > 5000: [udp sum ok] UDP, length 4',
  );
  assert.match(srh!, /RT6 \(len=4, type=4, segleft=1, last-entry=1, flags=0x0, tag=5, \[0\]2001:db8::1, \[1\]2001:db8::2\) \[icmp6 sum ok\] ICMP6, echo request, id 1, seq 1$/);
  assert.match(bu!, /mobility: BU seq#=258 LK lifetime=40\(refresh: 20\)\(alt-CoA: 2001:db8::9\)\(ni: ho=0x0001 co=0x0002\)\(auth\)\(padn\)\(type-0x63: len=1\)(\(pad1\)){7}$/);
});

for (const [flags, opts] of FLAG_RUNS) {
  test(`live: tcpdump ${['-nn', ...flags].join(' ')} -r prints routing and mobility headers as the formatter does`, { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
    assert.deepEqual(differences(ALL, flags, opts), []);
  });
}
