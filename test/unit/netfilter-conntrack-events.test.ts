// conntrack -E's events from the model's table, against what conntrack-tools
// 1.4.7 printed for the same exchanges on a Linux 6.18 kernel (three dpe-
// namespaces, a router tracking real sockets' UDP, ICMP and TCP): which state
// changes make an event, and each line's words. The kernel's lines are
// quoted with its addresses (192.0.2.7 to 203.0.113.10, no NAT here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Conntrack, conntrackEventText, type ConntrackOptions, HOOK_PREROUTING, type NfPacketInfo, VERDICT_ACCEPT,
} from '../../src/netfilter/index.js';
import { ACK, FIN, PSH, RST, SYN, icmpEcho, info, ipv4, tcp, udp } from './netfilter-helpers.js';

const C = '192.0.2.7', S = '203.0.113.10';

/** A table and the lines its listener printed. */
function listened(opts: ConntrackOptions = {}): { ct: Conntrack; lines: string[]; stop: () => void } {
  const ct = new Conntrack(opts);
  const lines: string[] = [];
  const stop = ct.listen((type, e, now, portid) => lines.push(conntrackEventText(ct, type, e, now, portid)));
  return { ct, lines, stop };
}

function track(ct: Conntrack, pkt: Uint8Array, now: number): NfPacketInfo {
  const p = info(pkt, 'eth0', 'eth1');
  assert.equal(ct.in(p, HOOK_PREROUTING, now), VERDICT_ACCEPT);
  ct.confirm(p, now);
  return p;
}

const u = (C1: string, S1: string, sp: number, dp: number) => udp(C1, S1, sp, dp, new Uint8Array(30));
const c2s = (sport: number, flags: number, seq: number, ack: number, data = 0) => tcp(C, S, sport, 80, flags, seq, ack, new Uint8Array(data));
const s2c = (sport: number, flags: number, seq: number, ack: number, data = 0) => tcp(S, C, 80, sport, flags, seq, ack, new Uint8Array(data));
const UT = `src=${C} dst=${S} sport=40001 dport=5353`, UR = `src=${S} dst=${C} sport=5353 dport=40001`;

test('UDP: NEW when confirmed, UPDATE on the first reply, UPDATE when assured; nothing for other packets', () => {
  const { ct, lines } = listened();
  track(ct, u(C, S, 40001, 5353), 0);
  assert.deepEqual(lines, [`    [NEW] udp      17 30 ${UT} [UNREPLIED] ${UR}`], 'the NEW comes at confirm');
  track(ct, u(S, C, 5353, 40001), 10);
  track(ct, u(C, S, 40001, 5353), 1000); // replied, not yet a stream: no event
  track(ct, u(C, S, 40001, 5353), 2100);
  track(ct, u(S, C, 5353, 40001), 2110);
  track(ct, u(C, S, 40001, 5353), 2400);
  assert.deepEqual(lines, [
    `    [NEW] udp      17 30 ${UT} [UNREPLIED] ${UR}`,
    ` [UPDATE] udp      17 30 ${UT} ${UR}`,
    ` [UPDATE] udp      17 120 ${UT} ${UR} [ASSURED]`,
  ]);
});

test('an unconfirmed entry makes no event; a packet that never reaches confirm leaves none', () => {
  const { ct, lines } = listened();
  const p = info(u(C, S, 40002, 53), 'eth0', 'eth1');
  ct.in(p, HOOK_PREROUTING, 0);
  assert.deepEqual(lines, []);
});

test('TCP: one UPDATE per state change (ESTABLISHED with ASSURED together), none for data', () => {
  const { ct, lines } = listened();
  const T = `src=${C} dst=${S} sport=41000 dport=80`, R = `src=${S} dst=${C} sport=80 dport=41000`;
  const seq: [Uint8Array, number][] = [
    [c2s(41000, SYN, 1000, 0), 0], [s2c(41000, SYN | ACK, 5000, 1001), 1], [c2s(41000, ACK, 1001, 5001), 2],
    [c2s(41000, PSH | ACK, 1001, 5001, 5), 3], [s2c(41000, ACK, 5001, 1006), 4], [s2c(41000, PSH | ACK, 5001, 1006, 5), 5],
    [c2s(41000, ACK, 1006, 5006), 6], [c2s(41000, FIN | ACK, 1006, 5006), 7], [s2c(41000, FIN | ACK, 5006, 1007), 8],
    [c2s(41000, ACK, 1007, 5007), 9],
  ];
  for (const [pkt, now] of seq) track(ct, pkt, now);
  // The kernel's lines for connect, send, recv, close against a server that echoes and closes.
  assert.deepEqual(lines, [
    `    [NEW] tcp      6 120 SYN_SENT ${T} [UNREPLIED] ${R}`,
    ` [UPDATE] tcp      6 60 SYN_RECV ${T} ${R}`,
    ` [UPDATE] tcp      6 432000 ESTABLISHED ${T} ${R} [ASSURED]`,
    ` [UPDATE] tcp      6 120 FIN_WAIT ${T} ${R} [ASSURED]`,
    ` [UPDATE] tcp      6 30 LAST_ACK ${T} ${R} [ASSURED]`,
    ` [UPDATE] tcp      6 120 TIME_WAIT ${T} ${R} [ASSURED]`,
  ]);
});

test('TCP: a reset after the handshake is an UPDATE to CLOSE; a refused SYN is destroyed at once, [UNREPLIED], its timeout not renewed', () => {
  const { ct, lines } = listened();
  const T = `src=${C} dst=${S} sport=41001 dport=80`, R = `src=${S} dst=${C} sport=80 dport=41001`;
  track(ct, c2s(41001, SYN, 1, 0), 0);
  track(ct, s2c(41001, SYN | ACK, 9, 2), 1);
  track(ct, c2s(41001, ACK, 2, 10), 2);
  track(ct, c2s(41001, RST | ACK, 2, 10), 3);
  assert.deepEqual(lines.slice(3), [` [UPDATE] tcp      6 10 CLOSE ${T} ${R} [ASSURED]`]);
  lines.length = 0;
  const T2 = `src=${C} dst=${S} sport=41002 dport=81`, R2 = `src=${S} dst=${C} sport=81 dport=41002`;
  track(ct, tcp(C, S, 41002, 81, SYN, 1, 0), 300);
  track(ct, tcp(S, C, 81, 41002, RST | ACK, 0, 2), 301);
  assert.deepEqual(lines, [
    `    [NEW] tcp      6 120 SYN_SENT ${T2} [UNREPLIED] ${R2}`,
    `[DESTROY] tcp      6 119 CLOSE ${T2} [UNREPLIED] ${R2}`,
  ]);
});

test('ICMP echo: NEW, then UPDATE on the reply; a second request of the same id is no event', () => {
  const { ct, lines } = listened();
  const T = `src=${C} dst=${S} type=8 code=0 id=5358`, R = `src=${S} dst=${C} type=0 code=0 id=5358`;
  track(ct, ipv4(C, S, 1, icmpEcho(8, 5358, 1)), 0);
  track(ct, ipv4(S, C, 1, icmpEcho(0, 5358, 1)), 1);
  track(ct, ipv4(C, S, 1, icmpEcho(8, 5358, 2)), 300);
  track(ct, ipv4(S, C, 1, icmpEcho(0, 5358, 2)), 301);
  assert.deepEqual(lines, [`    [NEW] icmp     1 30 ${T} [UNREPLIED] ${R}`, ` [UPDATE] icmp     1 30 ${T} ${R}`]);
});

test('DESTROY: on expiry without a timeout, on -D and -F with the time left and the deleting process; the mark when set', () => {
  const { ct, lines } = listened();
  const T = `src=${C} dst=${S} sport=40000 dport=9999`, R = `src=${S} dst=${C} sport=9999 dport=40000`;
  track(ct, udp(C, S, 40000, 9999), 0);
  track(ct, u(C, S, 40001, 5353), 0);
  track(ct, u(S, C, 5353, 40001), 1);
  const m = info(u(C, S, 40001, 5353), 'eth0', 'eth1');
  ct.in(m, HOOK_PREROUTING, 2);
  ct.setMark(m.ct, 5);
  ct.setMark(m.ct, 5); // the same mark again: no change
  ct.confirm(m, 2);
  lines.length = 0;
  ct.gc(31_000);
  // In the table's order, as the kernel's gc walks its hash: compared as a set.
  assert.deepEqual(lines.sort(), [`[DESTROY] udp      17 ${UT} ${UR} mark=5`, `[DESTROY] udp      17 ${T} [UNREPLIED] ${R}`].sort());
  lines.length = 0;
  track(ct, u(C, S, 40001, 5353), 40_000);
  const q = track(ct, u(C, S, 40003, 5353), 40_000);
  ct.destroy(q.ct, 42_000, 4037);
  ct.flush(43_000, 4038);
  assert.deepEqual(lines, [
    `    [NEW] udp      17 30 ${UT} [UNREPLIED] ${UR}`,
    `    [NEW] udp      17 30 src=${C} dst=${S} sport=40003 dport=5353 [UNREPLIED] src=${S} dst=${C} sport=5353 dport=40003`,
    `[DESTROY] udp      17 28 src=${C} dst=${S} sport=40003 dport=5353 [UNREPLIED] src=${S} dst=${C} sport=5353 dport=40003 [USERSPACE] portid=4037 progname=conntrack`,
    `[DESTROY] udp      17 27 ${UT} [UNREPLIED] ${UR} [USERSPACE] portid=4038 progname=conntrack`,
  ]);
});

test('CONNMARK on the reply: one UPDATE with the reply seen and the mark, when the packet leaves (the kernel\'s)', () => {
  const { ct, lines } = listened();
  track(ct, u(C, S, 40005, 5353), 0);
  const reply = () => {
    const p = info(u(S, C, 5353, 40005), 'eth1', 'eth0');
    const before = lines.length;
    ct.in(p, HOOK_PREROUTING, 10);
    ct.setMark(p.ct, 5); // mangle PREROUTING: -p udp --sport 5353 -j CONNMARK --set-mark 5
    assert.equal(lines.length, before, 'nothing before the packet leaves');
    ct.confirm(p, 10);
  };
  reply();
  reply(); // the same mark, the reply already seen: no event
  const T = `src=${C} dst=${S} sport=40005 dport=5353`, R = `src=${S} dst=${C} sport=5353 dport=40005`;
  assert.deepEqual(lines, [`    [NEW] udp      17 30 ${T} [UNREPLIED] ${R}`, ` [UPDATE] udp      17 30 ${T} ${R} mark=5`]);
});

test('a mark set on a confirmed entry is an UPDATE; -o extended and -o id; counters on a DESTROY only (acct)', () => {
  const ct = new Conntrack({ acct: true });
  const lines: string[] = [];
  ct.listen((type, e, now, portid) => lines.push(conntrackEventText(ct, type, e, now, portid, { extended: true, id: true })));
  const p = track(ct, u(C, S, 40001, 5353), 0);
  const id = ct.entry(p.ct).id;
  const q = info(u(C, S, 40001, 5353), 'eth0', 'eth1');
  ct.in(q, HOOK_PREROUTING, 1);
  ct.setMark(q.ct, 7);
  ct.confirm(q, 1);
  ct.destroy(p.ct, 1000);
  assert.deepEqual(lines, [
    `    [NEW] ipv4     2 udp      17 30 ${UT} [UNREPLIED] ${UR} id=${id}`,
    ` [UPDATE] ipv4     2 udp      17 30 ${UT} [UNREPLIED] ${UR} mark=7 id=${id}`,
    `[DESTROY] ipv4     2 udp      17 29 ${UT} packets=2 bytes=116 [UNREPLIED] ${UR} packets=0 bytes=0 mark=7 id=${id}`,
  ]);
});

test('no listener left: the table stops calling; listeners are independent', () => {
  const { ct, lines, stop } = listened();
  const other: string[] = [];
  const stop2 = ct.listen((type) => other.push(String(type)));
  track(ct, u(C, S, 40001, 5353), 0);
  stop();
  track(ct, u(S, C, 5353, 40001), 1);
  assert.equal(lines.length, 1);
  assert.deepEqual(other, ['1', '2']);
  stop2();
  assert.equal((ct as unknown as { events: unknown }).events, null, 'no hub once nobody listens');
});
