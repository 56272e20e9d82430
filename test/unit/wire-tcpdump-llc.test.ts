// 802.3 frames with 802.2 LLC (print-llc.c: unnumbered, supervisory and
// information frames, XID, SNAP with an encapsulated Ethernet type, Cisco
// PVST and RFC 2684 bridged Ethernet) and spanning tree BPDUs
// (print-stp.c: what a Linux bridge with STP on sends, 802.1D config and
// topology change, RSTP, MSTP with MSTIs, SPB) against the real tcpdump
// 4.99; frames cut at every length. At -nn, -v, -vv, -vvv, without -e and -q.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame } from '../../src/wire/frame.js';
import { type Captured, differences, FLAG_RUNS, formatterLines, hasTcpdump } from './wire-tcpdump-oracle.js';

/** A bridge id: priority 0x8000 and fa:16:3e:b2:ef:af. */
const BRIDGE = [0x80, 0x00, 0xfa, 0x16, 0x3e, 0xb2, 0xef, 0xaf];
const ROOT = [0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
/** A BPDU's common part: root, cost 100, bridge, port 0x8001, message age 288/256 s, max age 20 s, hello 2 s, forward delay 15 s. */
const bpdu = (version: number, type: number, flags: number): number[] =>
  [0, 0, version, type, flags, ...ROOT, 0, 0, 0, 100, ...BRIDGE, 0x80, 0x01, 0x01, 0x20, 0x14, 0x00, 0x02, 0x00, 0x0f, 0x00];
/** An 802.3 frame to the bridge group address: LLC dsap, ssap, control, then `body`, padded to 60 bytes unless `pad` is false. */
function llc(dsap: number, ssap: number, control: number[], body: number[], pad = true): Uint8Array {
  const payload = [dsap, ssap, ...control, ...body];
  const len = payload.length;
  while (pad && payload.length < 46) payload.push(0);
  return buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: '01:80:c2:00:00:00', ethertype: len, payload });
}
const stp = (body: number[], pad = true): Uint8Array => llc(0x42, 0x42, [3], body, pad);
/** An MSTP BPDU (version 3, or 4 for SPB's start) of region "region1" with `n` MSTIs. */
function mstp(version: number, n: number): number[] {
  const b = [...bpdu(version, 2, 0x7c), 0, 0, 64 + 16 * n, 0, ...Buffer.from('region1'), ...new Array(25).fill(0), 0, 7, ...new Array(16).fill(0xab), 0, 0, 0, 5, ...BRIDGE, 20];
  for (let i = 1; i <= n; i++) b.push(0x3c, 0x80, i, 0xfa, 0x16, 0x3e, 0, 0, 1, 0, 0, 0, 9, 0x80, 0x90, 20);
  return b;
}
const SPB = [0, 85, 0, ...Buffer.from('aux'), ...new Array(29).fill(0), 0, 3, ...new Array(16).fill(0xcd), 0xfc, 0, 0x12, 0x34, 0, 9, ...new Array(8).fill(0), ...new Array(20).fill(0xee)];
const UDP4 = [0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, 0x9c, 0x40, 0x13, 0x88, 0, 8, 0, 0];
const CONFIG = (): Uint8Array => stp(bpdu(0, 0, 0));
const RSTP = (): Uint8Array => stp([...bpdu(2, 2, 0x7c), 0]);
const MSTP = (): Uint8Array => stp(mstp(3, 2), false);
const SNAP_IP = (): Uint8Array => llc(0xaa, 0xaa, [3], [0, 0, 0, 0x08, 0x00, ...UDP4]);

const CASES: [string, () => Uint8Array][] = [
  ['802.1D config BPDU (a Linux bridge)', CONFIG],
  ['config BPDU, topology change and its ACK', () => stp(bpdu(0, 0, 0x81))],
  ['config BPDU shorter than 35 bytes', () => stp(bpdu(0, 0, 0).slice(0, 30))],
  ['topology change notification', () => stp([0, 0, 0, 0x80])],
  ['RSTP BPDU, designated, learning and forwarding', RSTP],
  ['RSTP BPDU without the version 1 length', () => stp(bpdu(2, 2, 0x7c))],
  ['RSTP BPDU, alternate, proposal', () => stp([...bpdu(2, 2, 0x06), 0])],
  ['version 0 with the RSTP type', () => stp([...bpdu(0, 2, 0x06), 0])],
  ['MSTP BPDU with two MSTIs', MSTP],
  ['MSTP BPDU without MSTIs', () => stp(mstp(3, 0), false)],
  ['MSTP BPDU with a version 1 length', () => stp(mstp(3, 0).map((x, i) => (i === 35 ? 1 : x)), false)],
  ['SPB BPDU', () => stp([...mstp(4, 1), ...SPB], false)],
  ['SPB BPDU, its part too short', () => stp([...mstp(4, 1), ...SPB.slice(0, 40)], false)],
  ['unknown BPDU type', () => stp([0, 0, 0, 0x33])],
  ['unknown protocol id', () => stp([0, 1, 0, 0])],
  ['unknown STP version', () => stp([0, 0, 9, 0])],
  ['a BPDU of 3 bytes', () => stp([0, 0, 0], false)],
  ['STP SAPs in an information frame', () => llc(0x42, 0x42, [0, 0], [0, 0, 0, 0])],
  ['SNAP, IPv4', SNAP_IP],
  ['SNAP, ARP', () => llc(0xaa, 0xaa, [3], [0, 0, 0, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1, 0xfa, 0x16, 0x3e, 0xb2, 0xef, 0xaf, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 192, 0, 2, 2])],
  ['SNAP, an ethertype not decoded', () => llc(0xaa, 0xaa, [3], [0, 0, 0, 0x88, 0xb5, 1, 2, 3])],
  ['SNAP, Cisco PVST', () => llc(0xaa, 0xaa, [3], [0, 0, 0x0c, 0x01, 0x0b, ...bpdu(0, 0, 0)])],
  ['SNAP, Cisco, an unknown protocol id', () => llc(0xaa, 0xaa, [3], [0, 0, 0x0c, 0x01, 0x99, 1, 2])],
  ['SNAP, RFC 2684 bridged Ethernet', () => llc(0xaa, 0xaa, [3], [0, 0x80, 0xc2, 0, 7, 0, 0, ...buildFrame({ src: 'fa:16:3e:00:00:01', dst: 'fa:16:3e:00:00:02', ethertype: 0x88b5, payload: [1, 2, 3, 4] })])],
  ['SNAP, an unknown OUI', () => llc(0xaa, 0xaa, [3], [0x12, 0x34, 0x56, 0, 1, 1, 2])],
  ['SNAP header cut short', () => llc(0xaa, 0xaa, [3], [0, 0, 0], false)],
  ['IP SAP', () => llc(0x06, 0x06, [3], UDP4)],
  ['XID response', () => llc(0x00, 0x01, [0xaf], [0x81, 1, 0])],
  ['XID without a payload', () => llc(0x00, 0x01, [0xaf], [], false)],
  ['XID with the final bit, too short', () => llc(0x00, 0x01, [0xbf], [0x81, 1], false)],
  ['XID of another format', () => llc(0x00, 0x00, [0xbf], [0x01, 1, 2])],
  ['TEST with the poll bit, group DSAP', () => llc(0x04, 0x05, [0xf3], [1, 2, 3])],
  ['UI between unknown SAPs', () => llc(0x12, 0x34, [0x03], [1, 2, 3])],
  ['supervisory frame, response', () => llc(0x42, 0x43, [0x05, 0x13], [])],
  ['supervisory frame, poll', () => llc(0x42, 0x42, [0x09, 0x01], [])],
  ['information frame', () => llc(0x7e, 0x7f, [0x10, 0x21], [1, 2])],
  ['LLC of 2 bytes', () => llc(0x42, 0x42, [], [], false)],
  ['information frame of 3 bytes', () => llc(0x42, 0x42, [0], [], false)],
];
/** Cut by the snaplen at every length from the 802.3 header on. */
const cut = (name: string, make: () => Uint8Array): [string, Captured][] => {
  const whole = make();
  return Array.from({ length: whole.length - 14 }, (_, i): [string, Captured] => [`${name} cut at ${14 + i}`, { frame: whole.slice(0, 14 + i), wire: whole.length }]);
};
const ALL: [string, Captured][] = [
  ...CASES.map(([name, make]): [string, Captured] => [name, { frame: make() }]),
  ...cut('config BPDU', CONFIG),
  ...cut('RSTP BPDU', RSTP),
  ...cut('MSTP BPDU', MSTP),
  ...cut('SNAP IPv4', SNAP_IP),
];

test('LLC and STP lines, checked by hand', () => {
  const [config, tcn] = formatterLines([{ frame: CONFIG() }, { frame: stp([0, 0, 0, 0x80]) }], { verbose: 1 });
  assert.equal(
    config,
    'fa:16:3e:b2:ef:af > 01:80:c2:00:00:00, 802.3, length 38: LLC, dsap STP (0x42) Individual, ssap STP (0x42) Command, ctrl 0x03: ' +
      'STP 802.1d, Config, Flags [none], bridge-id 8000.fa:16:3e:b2:ef:af.8001, length 35\n' +
      '\tmessage-age 1.12s, max-age 20.00s, hello-time 2.00s, forwarding-delay 15.00s\n' +
      '\troot-id 1000.02:00:00:00:00:01, root-pathcost 100',
  );
  assert.match(tcn!, /ctrl 0x03: STP 802\.1d, Topology Change$/);
  const [plain] = formatterLines([{ frame: RSTP() }], { linkHeader: false });
  assert.equal(plain, 'STP 802.1w, Rapid STP, Flags [Learn, Forward, Agreement], bridge-id 8000.fa:16:3e:b2:ef:af.8001, length 36');
});

for (const [flags, opts] of FLAG_RUNS) {
  test(`live: tcpdump ${['-nn', ...flags].join(' ')} -r prints LLC and STP as the formatter does`, { skip: !hasTcpdump && 'tcpdump not installed' }, () => {
    assert.deepEqual(differences(ALL, flags, opts), []);
  });
}
