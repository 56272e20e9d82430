// `dpemu ofctl dump-tables NODE BRIDGE [-O OpenFlow13]`: OVS 2.5's OFPST_TABLE
// reply text from the bridge's per-table counters, after the write-up's
// request crossed w07 (VM -> br-int -> qrouter -> br-int -> br-tun -> VXLAN).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ofctl } from '../../src/control/ovs-commands.js';
import { clearCounters } from '../../src/control/admin-commands.js';
import { ControlError } from '../../src/control/protocol.js';
import { requireTool } from '../helpers/tools.js';
import { ofctlText, send, seed } from '../helpers/seed-ofctl.js';

// OVS 2.5's layout: a table that differs from the one before gets a block and
// a blank line; one that equals it (stats and features) is one ditto line.
const stats = (a: number, l: number, m: number): string => `    active=${a}, lookup=${l}, matched=${m}`;
const of10 = (id: number, a: number, l: number, m: number): string[] => [`  table ${id} ("table${id}"):`, stats(a, l, m), '    (same features)', ''];
const of10Ditto = (from: number, to = from): string[] => Array.from({ length: to - from + 1 }, (_, i) => `  table ${from + i} ("table${from + i}"): ditto`);
const of13 = (id: number, a: number, l: number, m: number): string[] => [`  table ${id}:`, stats(a, l, m), ''];
const of13Ditto = (from: number, to = from): string[] => Array.from({ length: to - from + 1 }, (_, i) => `  table ${from + i}: ditto`);
const text = (lines: string[]): string => lines.join('\n') + '\n';

for (const fastpath of [false, true]) {
  test(`w07 br-tun, OpenFlow 1.0, after 3 requests: OVS 2.5's lines, lookups as the packets crossed (fast path ${fastpath ? 'on' : 'off'})`, () => {
    const emu = seed(fastpath);
    send(emu, 3);
    // Table 0 and 1 see the 3 routed requests and the first one NORMAL flooded
    // (br-int had not learned the qr- MAC yet; table 1 drops it), 2 and 20 the 3.
    assert.equal(
      ofctlText(emu, ['dump-tables', 'w07', 'br-tun']),
      text([
        'OFPST_TABLE reply (xid=0x2):',
        '  table 0 ("classifier"):',
        '    active=3, lookup=4, matched=4',
        '    max_entries=1000000',
        '    matching:',
        '      in_port: exact match or wildcard',
        '      eth_src: exact match or wildcard',
        '      eth_dst: exact match or wildcard',
        '      eth_type: exact match or wildcard',
        '      vlan_vid: exact match or wildcard',
        '      vlan_pcp: exact match or wildcard',
        '      ip_src: exact match or wildcard',
        '      ip_dst: exact match or wildcard',
        '      nw_proto: exact match or wildcard',
        '      nw_tos: exact match or wildcard',
        '      tcp_src: exact match or wildcard',
        '      tcp_dst: exact match or wildcard',
        '',
        ...of10Ditto(1),
        ...of10(2, 3, 3, 3),
        ...of10(3, 1, 0, 0),
        ...of10(4, 2, 0, 0),
        ...of10(5, 0, 0, 0),
        ...of10(6, 1, 0, 0),
        ...of10(7, 0, 0, 0),
        ...of10Ditto(8),
        ...of10(9, 2, 0, 0),
        ...of10(10, 1, 0, 0),
        ...of10(11, 0, 0, 0),
        ...of10Ditto(12, 19),
        ...of10(20, 2, 3, 3),
        ...of10(21, 2, 0, 0),
        ...of10(22, 3, 0, 0),
        ...of10(23, 0, 0, 0),
        ...of10Ditto(24, 253), // 254 is OVS's hidden internal table
      ]),
    );
    send(emu, 2);
    const after = ofctlText(emu, ['dump-tables', 'w07', 'br-tun']);
    assert.match(after, /table 0 \("classifier"\):\n {4}active=3, lookup=6, matched=6\n/);
    assert.match(after, /table 20 \("table20"\):\n {4}active=2, lookup=5, matched=5\n/);
  });
}

test('w07 br-int with -O OpenFlow13: no names or features, equal neighbours collapse to ditto (flows or not)', () => {
  const emu = seed(false);
  send(emu, 3);
  // Table 0 twice per request (from the VM, then routed back in from qr-), 58-60 likewise.
  assert.equal(
    ofctlText(emu, ['dump-tables', 'w07', 'br-int', '-O', 'OpenFlow13']),
    text([
      'OFPST_TABLE reply (OF1.3) (xid=0x2):',
      ...of13(0, 7, 6, 6),
      ...of13(1, 2, 0, 0),
      ...of13(2, 1, 0, 0),
      ...of13Ditto(3),
      ...of13(4, 0, 0, 0),
      ...of13Ditto(5, 22),
      ...of13(23, 1, 0, 0),
      ...of13(24, 2, 0, 0),
      ...of13(25, 1, 3, 3),
      ...of13(26, 0, 0, 0),
      ...of13Ditto(27, 29),
      ...of13(30, 1, 3, 3),
      ...of13(31, 1, 0, 0),
      ...of13(32, 0, 0, 0),
      ...of13Ditto(33, 57),
      ...of13(58, 1, 6, 6),
      ...of13Ditto(59, 60),
      ...of13(61, 0, 0, 0),
      ...of13(62, 1, 0, 0),
      ...of13(63, 0, 0, 0),
      ...of13Ditto(64, 253),
    ]),
  );
  assert.match(ofctlText(emu, ['dump-tables', 'w07', 'br-int', '--protocols=OpenFlow10,OpenFlow14']), /^OFPST_TABLE reply \(OF1\.4\) \(xid=0x2\):\n {2}table 0:\n/);
  clearCounters.run({ emu, invalidate: () => {} }, []);
  assert.match(ofctlText(emu, ['dump-tables', 'w07', 'br-int', '-O', 'OpenFlow13']), /^ {2}table 58:\n {4}active=1, lookup=0, matched=0\n/m, 'clear-counters zeroes the table counters');
});

test('a lookup that finds no flow counts in lookup, not in matched', () => {
  const emu = seed(false);
  // Without br-int's table-0 catch-all, the request routed back in from qr- misses (and is dropped).
  ofctl.run({ emu, invalidate: () => {} }, ['del-flows', 'w07', 'br-int', '--strict', 'table=0,priority=0']);
  send(emu, 3);
  const out = ofctlText(emu, ['dump-tables', 'w07', 'br-int']);
  assert.match(out, /^ {2}table 0 \("classifier"\):\n {4}active=6, lookup=6, matched=3\n/m);
  assert.match(out, /^ {2}table 58 \("table58"\):\n {4}active=1, lookup=3, matched=3\n/m);
});

for (const fastpath of [false, true]) {
  test(`a lookup in a table that never held a flow counts there, as in OVS where every table exists (fast path ${fastpath ? 'on' : 'off'})`, () => {
    const emu = seed(fastpath);
    // Table 77 of br-int holds nothing; the VM's requests pass through it on the way to 25.
    ofctl.run({ emu, invalidate: () => {} }, ['mod-flows', 'w07', 'br-int', '--strict', 'table=0,priority=9,in_port=41', 'actions=resubmit(,77),resubmit(,25)']);
    send(emu, 3);
    const out = ofctlText(emu, ['dump-tables', 'w07', 'br-int', '-O', 'OpenFlow13']);
    assert.match(out, /^ {2}table 77:\n {4}active=0, lookup=3, matched=0\n/m);
    assert.match(out, /^ {2}table 25:\n {4}active=1, lookup=3, matched=3\n/m);
  });
}

/** Table id -> "active,lookup,matched" from dump-tables text (2.5's or 3.x's), dittos resolved. */
function perTable(out: string): Map<number, string> {
  const m = new Map<number, string>();
  const lines = out.split('\n');
  let last = '';
  lines.forEach((l, i) => {
    const range = /^ {2}tables? (\d+)(?:\.\.\.(\d+))?(?: \("[^"]*"\))?:( ditto)?$/.exec(l);
    if (!range) return;
    if (!range[3]) last = /^ {4}active=(\d+), lookup=(\d+), matched=(\d+)$/.exec(lines[i + 1]!)!.slice(1).join(',');
    for (let t = Number(range[1]); t <= Number(range[2] ?? range[1]); t++) m.set(t, last);
  });
  return m;
}

/** The OFPST_TABLE / OFPMP_TABLE reply OVS would send for these per-table counts. */
function encodeReply(rows: string[], version: 1 | 4): string {
  const body: Buffer[] = [];
  rows.forEach((r, id) => {
    const [a, l, m] = r.split(',').map(Number) as [number, number, number];
    const b = Buffer.alloc(version === 1 ? 64 : 24);
    b[0] = id;
    let at = 4;
    if (version === 1) {
      b.write(id === 0 ? 'classifier' : `table${id}`, 4, 'latin1');
      b.writeUInt32BE(0x3fffff, 36); // every OF1.0 field wildcardable
      b.writeUInt32BE(1000000, 40); // max_entries
      at = 44;
    }
    b.writeUInt32BE(a, at);
    b.writeBigUInt64BE(BigInt(l), at + 4);
    b.writeBigUInt64BE(BigInt(m), at + 12);
    body.push(b);
  });
  const mp = version === 1 ? Buffer.from([0, 3, 0, 0]) : Buffer.from([0, 3, 0, 0, 0, 0, 0, 0]);
  const head = Buffer.alloc(8);
  head[0] = version;
  head[1] = version === 1 ? 17 : 19; // OFPT10_STATS_REPLY / OFPT13_MULTIPART_REPLY
  head.writeUInt16BE(8 + mp.length + body.reduce((n, b) => n + b.length, 0), 2);
  head.writeUInt32BE(2, 4);
  return Buffer.concat([head, mp, ...body]).toString('hex');
}

test("real ovs-ofctl prints the same per-table counts from the reply OVS would send (its 3.x ditto ranges aside)", () => {
  requireTool('ovs-ofctl', 'openvswitch-common');
  const emu = seed(false);
  send(emu, 3);
  for (const [br, version, opt] of [['br-int', 1, []], ['br-tun', 4, ['-O', 'OpenFlow13']], ['br-int', 4, ['-O', 'OpenFlow13']]] as const) {
    const ours = ofctlText(emu, ['dump-tables', 'w07', br, ...opt]);
    const mine = perTable(ours);
    assert.equal(mine.size, 254);
    const rows = [...mine.keys()].sort((a, b) => a - b).map((id) => mine.get(id)!);
    const p = spawnSync('ovs-ofctl', ['ofp-print', encodeReply(rows, version)], { encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    assert.equal(p.stdout.split('\n')[0], ours.split('\n')[0], 'the header line');
    assert.deepEqual(perTable(p.stdout), mine, `${br} OF${version}`);
    // Our rows came from the bridge: the same counters the tables hold.
    for (const t of emu.bridge('w07', br).tables.existing()) assert.equal(mine.get(t.id), `${t.cls.size},${t.lookups},${t.matched}`);
  }
});

test('a bad bridge or node is refused with ovs-ofctl\'s words; OpenFlow 1.1/1.2 are not spoken here', () => {
  const emu = seed(false);
  const refuse = (argv: string[], re: RegExp): void =>
    assert.throws(() => ofctl.run({ emu, invalidate: () => {} }, argv), (e: unknown) => e instanceof ControlError && e.exit === 1 && re.test(e.message));
  refuse(['dump-tables', 'w07', 'br-nope'], /^ovs-ofctl: br-nope is not a bridge or a socket/);
  refuse(['dump-tables', 'w99', 'br-int'], /^unknown node 'w99'/);
  refuse(['dump-tables', 'w07'], /^missing BRIDGE/);
  refuse(['dump-tables', 'w07', 'br-int', '-O', 'OpenFlow12'], /OpenFlow12/);
});
