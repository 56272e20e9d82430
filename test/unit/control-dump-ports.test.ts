// `dpemu ofctl dump-ports NODE BRIDGE [PORT] [-O OpenFlow13]`: OVS 2.5's
// OFPST_PORT reply from the counters at each bridge port, after the
// write-up's request crossed w07 (VM -> br-int -> qrouter -> br-int -> br-tun
// -> VXLAN), in ofproto's hmap order; a PORT argument as ovs-ofctl reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ofctl } from '../../src/control/ovs-commands.js';
import { clearCounters } from '../../src/control/admin-commands.js';
import { hmapOrder, hashOfpPort } from '../../src/control/ovs-dump-ports.js';
import { ControlError } from '../../src/control/protocol.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { PC } from '../../src/datapath/stats.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { requireTool } from '../helpers/tools.js';
import { ofctlText, send, seed } from '../helpers/seed-ofctl.js';

const port = (no: string, rx: [number, number], tx: [number, number, number]): string[] => [
  `  port ${no.padStart(2)}: rx pkts=${rx[0]}, bytes=${rx[1]}, drop=0, errs=0, frame=0, over=0, crc=0`,
  `           tx pkts=${tx[0]}, bytes=${tx[1]}, drop=${tx[2]}, errs=0, coll=0`,
];
const text = (lines: string[]): string => lines.join('\n') + '\n';

for (const fastpath of [false, true]) {
  test(`w07 after 3 requests: each port's rx/tx as the packets crossed, in OVS's hmap order (fast path ${fastpath ? 'on' : 'off'})`, () => {
    const emu = seed(fastpath);
    send(emu, 3);
    // br-int: the VM's 3 requests come in on qvo (41). br-int has not learned
    // the qr- MAC for the first, so NORMAL floods it (qr- 40, patch-tun 1 with
    // VLAN 10's tag, and the down LOCAL port: a tx drop); the
    // next two go to qr- alone. The router sends each back in on qr- to the
    // SNAT node's MAC, which br-int has never seen: flooded to qvo, patch-tun
    // and LOCAL. A patch port counts the packet's length where it entered the
    // datapath (106), not the tagged frame crossing (110), as OVS does. Order
    // 41, LOCAL, 1, 40 is the real ovs-vswitchd's (test/e2e/ovs-oracle.test.ts).
    assert.equal(ofctlText(emu, ['dump-ports', 'w07', 'br-int']), text([
      'OFPST_PORT reply (xid=0x2): 4 ports',
      ...port('41', [3, 318], [3, 318, 0]),
      ...port('LOCAL', [0, 0], [0, 0, 4]),
      ...port('1', [0, 0], [4, 424, 0]),
      ...port('40', [3, 318], [3, 318, 0]),
    ]));
    // br-tun takes the 4 tagged frames from patch-int (the flooded first one
    // dies in table 1) and sends the 3 routed ones, untagged, to the VXLAN port.
    assert.equal(ofctlText(emu, ['dump-ports', 'w07', 'br-tun']), text([
      'OFPST_PORT reply (xid=0x2): 3 ports',
      ...port('LOCAL', [0, 0], [0, 0, 0]),
      ...port('1', [4, 424], [0, 0, 0]),
      ...port('5', [0, 0], [3, 318, 0]),
    ]));
  });
}

test("an internal port counts from the switch's side: its tx is what the namespace's interface received", () => {
  const emu = seed(false);
  send(emu, 2);
  const ns = emu.engine.elements.find((e): e is NetNamespace => e instanceof NetNamespace && e.node === 'w07' && e.name.startsWith('qrouter-'))!;
  const dev = ns.ports.find((p) => p.name === 'qr-178fc8e2-fd')!;
  const v = emu.engine.stats.v;
  const m = /^ {2}port 40: rx pkts=(\d+), bytes=(\d+),.*\n {11}tx pkts=(\d+), bytes=(\d+),/m.exec(ofctlText(emu, ['dump-ports', 'w07', 'br-int']))!;
  assert.deepEqual(m.slice(1).map(Number), [v[dev.statsBase + PC.TX_PACKETS], v[dev.statsBase + PC.TX_BYTES], v[dev.statsBase + PC.RX_PACKETS], v[dev.statsBase + PC.RX_BYTES]]);
  assert.deepEqual(m.slice(1).map(Number), [2, 212, 2, 212]);
});

test('PORT: a number or LOCAL asks for that port, a name is looked up first (xid 0x4); -O OpenFlow13 adds the duration', () => {
  const clock = new ManualClock(1000);
  const emu = seed(false, clock);
  send(emu, 1);
  clock.advance(12_345);
  const one = text(['OFPST_PORT reply (xid=0x2): 1 ports', ...port('41', [1, 106], [1, 106, 0])]);
  assert.equal(ofctlText(emu, ['dump-ports', 'w07', 'br-int', '41']), one);
  assert.equal(ofctlText(emu, ['dump-ports', 'w07', 'br-int', 'qvo2ab77d0f-99']), one.replace('xid=0x2', 'xid=0x4'));
  assert.equal(ofctlText(emu, ['dump-ports', 'w07', 'br-int', 'local']), text(['OFPST_PORT reply (xid=0x2): 1 ports', ...port('LOCAL', [0, 0], [0, 0, 2])]));
  // ANY (OFPP_NONE in OpenFlow 1.0) is every port; a free number is none.
  assert.match(ofctlText(emu, ['dump-ports', 'w07', 'br-int', 'ANY']), /^OFPST_PORT reply \(xid=0x2\): 4 ports\n/);
  assert.equal(ofctlText(emu, ['dump-ports', 'w07', 'br-int', '99']), 'OFPST_PORT reply (xid=0x2): 0 ports\n');
  assert.equal(ofctlText(emu, ['dump-ports', 'w07', 'br-int', '1', '-O', 'OpenFlow13']), text([
    'OFPST_PORT reply (OF1.3) (xid=0x2): 1 ports',
    ...port('1', [0, 0], [2, 212, 0]), // the flooded request and the routed one
    '           duration=12.345s',
  ]));
  clearCounters.run({ emu, invalidate: () => {} }, []);
  // clear-counters zeroes them all, the patch port's byte correction too.
  assert.equal(ofctlText(emu, ['dump-ports', 'w07', 'br-int', '41']), text(['OFPST_PORT reply (xid=0x2): 1 ports', ...port('41', [0, 0], [0, 0, 0])]));
  assert.equal(ofctlText(emu, ['dump-ports', 'w07', 'br-int', '1']), text(['OFPST_PORT reply (xid=0x2): 1 ports', ...port('1', [0, 0], [0, 0, 0])]));
});

test("errors in ovs-ofctl's words: an unknown port name, a bad bridge, too many arguments", () => {
  const emu = seed(false);
  const refuse = (argv: string[], re: RegExp): void =>
    assert.throws(() => ofctl.run({ emu, invalidate: () => {} }, argv), (e: unknown) => e instanceof ControlError && e.exit === 1 && re.test(e.message));
  refuse(['dump-ports', 'w07', 'br-int', 'nope'], /^ovs-ofctl: br-int: couldn't find port `nope'$/);
  refuse(['dump-ports', 'w07', 'br-int', 'patch-int'], /couldn't find port `patch-int'/); // br-tun's port
  refuse(['dump-ports', 'w07', 'br-nope'], /^ovs-ofctl: br-nope is not a bridge or a socket/);
  refuse(['dump-ports', 'w07', 'br-int', '1', '2'], /^ovs-ofctl: 'dump-ports' command takes at most 2 arguments$/);
});

test('hmap order: hash_int buckets, head insertion, and the reversal an expansion makes', () => {
  const h = (x: number): number => x; // identity hash: bucket = x & mask
  // 4 then 8 share bucket 0; the second insert expands the table to 4 buckets,
  // reinserting 8 then 4 at the head: 4 comes first. 12 then goes in at the head.
  assert.deepEqual(hmapOrder([4, 8], h), [4, 8]);
  assert.deepEqual(hmapOrder([4, 8, 12], h), [12, 4, 8]);
  // Bucket order: 5 and 9 in bucket 1 (9 at the head), 2 in bucket 2.
  assert.deepEqual(hmapOrder([5, 1, 9, 2], h), [9, 5, 1, 2]);
  // hash_int(ofport, 0) puts w07 br-int's ports in buckets 0, 1, 1, 2: LOCAL and
  // 1 share one, LOCAL first since the expansion at the second insert reversed them.
  assert.deepEqual([41, 65534, 1, 40].map((p) => hashOfpPort(p) & 3), [0, 1, 1, 2]);
});

/** The OFPST_PORT (OF1.0) / OFPMP_PORT_STATS (OF1.3) reply OVS would send for these rows. */
function encodeReply(rows: { no: number; c: number[]; dur?: [number, number] }[], version: 1 | 4, xid: number): string {
  const body = rows.map((r) => {
    const b = Buffer.alloc(version === 1 ? 104 : 112);
    if (version === 1) b.writeUInt16BE(r.no, 0);
    else b.writeUInt32BE(r.no >= 0xff00 ? r.no + 0xffff0000 : r.no, 0);
    r.c.forEach((v, i) => b.writeBigUInt64BE(BigInt(v), 8 + i * 8));
    if (version === 4) {
      b.writeUInt32BE(r.dur![0], 104);
      b.writeUInt32BE(r.dur![1], 108);
    }
    return b;
  });
  const mp = version === 1 ? Buffer.from([0, 4, 0, 0]) : Buffer.from([0, 4, 0, 0, 0, 0, 0, 0]);
  const head = Buffer.alloc(8);
  head[0] = version;
  head[1] = version === 1 ? 17 : 19; // OFPT10_STATS_REPLY / OFPT13_MULTIPART_REPLY
  head.writeUInt16BE(8 + mp.length + body.reduce((n, b) => n + b.length, 0), 2);
  head.writeUInt32BE(xid, 4);
  return Buffer.concat([head, mp, ...body]).toString('hex');
}

/** Our text back to rows: port number and the 12 counters in ofp_port_stats order. */
function rows(out: string): { no: number; c: number[]; dur?: [number, number] }[] {
  const re = /^ {2}port +(\S+): rx pkts=(\d+), bytes=(\d+), drop=(\d+), errs=(\d+), frame=(\d+), over=(\d+), crc=(\d+)\n {11}tx pkts=(\d+), bytes=(\d+), drop=(\d+), errs=(\d+), coll=(\d+)\n(?: {11}duration=(\d+)(?:\.(\d+))?s\n)?/gm;
  return [...out.matchAll(re)].map((m) => {
    const n = m.slice(2, 14).map(Number);
    const [rxp, rxb, rxd, rxe, fr, ov, crc, txp, txb, txd, txe, coll] = n as [number, number, number, number, number, number, number, number, number, number, number, number];
    const row: { no: number; c: number[]; dur?: [number, number] } = { no: m[1] === 'LOCAL' ? 0xfffe : Number(m[1]), c: [rxp, txp, rxb, txb, rxd, txd, rxe, txe, fr, ov, crc, coll] };
    if (m[14] !== undefined) row.dur = [Number(m[14]), Number((m[15] ?? '').padEnd(9, '0'))];
    return row;
  });
}

test("real ovs-ofctl prints the same text from the reply OVS would send (OpenFlow 1.0 and 1.3)", () => {
  requireTool('ovs-ofctl', 'openvswitch-common');
  const clock = new ManualClock(0);
  const emu = seed(false, clock);
  send(emu, 3);
  clock.advance(7_250);
  for (const [argv, version, xid] of [[['dump-ports', 'w07', 'br-int'], 1, 2], [['dump-ports', 'w07', 'br-tun', '-O', 'OpenFlow13'], 4, 2], [['dump-ports', 'w07', 'br-int', 'patch-tun'], 1, 4]] as const) {
    const ours = ofctlText(emu, [...argv]);
    const rs = rows(ours);
    assert.equal(rs.length, Number(/: (\d+) ports\n/.exec(ours)![1]));
    const p = spawnSync('ovs-ofctl', ['ofp-print', encodeReply(rs, version, xid)], { encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    assert.equal(p.stdout, ours, argv.join(' '));
  }
});
