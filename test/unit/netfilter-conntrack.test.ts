// Conntrack: the TCP state machine and its timeouts, UDP/ICMP tracking,
// expiry, and a bounded table.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CT_ESTABLISHED, CT_INVALID, CT_NEW, Conntrack, type CtEntry, type ConntrackOptions, HOOK_OUTPUT, HOOK_PREROUTING, IPS_ASSURED,
  Netfilter, type NfPacketInfo, TCP_STATE_NAMES, VERDICT_ACCEPT, VERDICT_DROP, conntrackStatsText,
} from '../../src/netfilter/index.js';
import { ACK, FIN, PSH, RST, SYN, icmpEcho, info, ip, ipv4, tcp, udp } from './netfilter-helpers.js';
import { conntrackTool } from '../../src/control/conntrack-commands.js';

/** Runs a packet through conntrack in + confirm, as PREROUTING then POSTROUTING would. */
function track(ct: Conntrack, pkt: Uint8Array, now: number, hook = HOOK_PREROUTING): NfPacketInfo {
  const p = info(pkt, 'eth0', 'eth1');
  assert.equal(ct.in(p, hook, now), VERDICT_ACCEPT, ct.lastDropReason ?? '');
  ct.confirm(p, now);
  return p;
}

/** The packet's conntrack entry. */
function entryOf(p: NfPacketInfo): CtEntry {
  return (p.ctTable as Conntrack).entry(p.ct);
}

function state(p: NfPacketInfo): string {
  return TCP_STATE_NAMES[entryOf(p).tcpState]!;
}

const C = '10.0.0.1', S = '10.0.0.2';
const c2s = (flags: number, seq: number, ack: number, data = 0) => tcp(C, S, 40000, 80, flags, seq, ack, new Uint8Array(data));
const s2c = (flags: number, seq: number, ack: number, data = 0) => tcp(S, C, 80, 40000, flags, seq, ack, new Uint8Array(data));

interface Step {
  pkt: Uint8Array;
  state: string;
  timeout: number;
  ctState?: number;
  assured?: boolean;
}

test('TCP: handshake, data, close; states and timeouts as nf_conntrack_tcp_timeout_*', () => {
  const ct = new Conntrack();
  const steps: Step[] = [
    { pkt: c2s(SYN, 1000, 0), state: 'SYN_SENT', timeout: 120, ctState: CT_NEW },
    { pkt: s2c(SYN | ACK, 5000, 1001), state: 'SYN_RECV', timeout: 60, ctState: CT_ESTABLISHED },
    { pkt: c2s(ACK, 1001, 5001), state: 'ESTABLISHED', timeout: 432000, assured: true },
    { pkt: c2s(PSH | ACK, 1001, 5001, 100), state: 'ESTABLISHED', timeout: 300 }, // unacknowledged data
    { pkt: s2c(ACK, 5001, 1101), state: 'ESTABLISHED', timeout: 432000 },
    { pkt: c2s(FIN | ACK, 1101, 5001), state: 'FIN_WAIT', timeout: 120 },
    { pkt: s2c(ACK, 5001, 1102), state: 'CLOSE_WAIT', timeout: 60 },
    { pkt: s2c(FIN | ACK, 5001, 1102), state: 'LAST_ACK', timeout: 30 },
    { pkt: c2s(ACK, 1102, 5002), state: 'TIME_WAIT', timeout: 120 },
  ];
  let now = 0;
  for (const s of steps) {
    now += 10;
    const p = track(ct, s.pkt, now);
    assert.equal(state(p), s.state);
    assert.equal(entryOf(p).deadline - now, s.timeout * 1000, `${s.state} timeout`);
    if (s.ctState !== undefined) assert.equal(p.ctState, s.ctState);
    if (s.assured) assert.ok(entryOf(p).status & IPS_ASSURED);
  }
  assert.equal(ct.count, 1);
  // A new SYN on the same tuple reopens from TIME_WAIT: the old entry goes, a new one starts.
  const old = ct.list()[0]!.id;
  const p = track(ct, c2s(SYN, 90000, 0), now + 10);
  assert.equal(state(p), 'SYN_SENT');
  assert.notEqual(entryOf(p).id, old);
  assert.equal(ct.count, 1);
});

test('TCP: RST closes with the 10 s timeout; a SYN retransmit does not renew the timeout', () => {
  const ct = new Conntrack();
  track(ct, c2s(SYN, 1000, 0), 0);
  const again = track(ct, c2s(SYN, 1000, 0), 5000);
  assert.equal(entryOf(again).deadline, 120000, 'not renewed');
  track(ct, s2c(SYN | ACK, 5000, 1001), 6000);
  track(ct, c2s(ACK, 1001, 5001), 7000);
  const rst = track(ct, s2c(RST | ACK, 5001, 1001), 8000);
  assert.equal(state(rst), 'CLOSE');
  assert.equal(entryOf(rst).deadline - 8000, 10000);
});

test('TCP: a RST answering a SYN (no reply seen) deletes the entry', () => {
  const ct = new Conntrack();
  track(ct, c2s(SYN, 1000, 0), 0);
  track(ct, s2c(RST | ACK, 0, 1001), 1);
  assert.equal(ct.count, 0);
});

test('TCP: mid-stream pickup depends on nf_conntrack_tcp_loose (0 in the snat namespace)', () => {
  const strict = new Conntrack({ tcpLoose: false });
  const p = track(strict, c2s(ACK, 1001, 5001, 10), 0);
  assert.equal(p.ctState, CT_INVALID);
  assert.equal(strict.count, 0);
  assert.equal(strict.invalidReasons.get('invalid new'), 1);

  const loose = new Conntrack();
  const q = track(loose, c2s(ACK, 1001, 5001, 10), 0);
  assert.equal(q.ctState, CT_NEW);
  assert.equal(state(q), 'ESTABLISHED');
  assert.equal(entryOf(q).deadline, 300000, 'picked up without a reply: the unacknowledged timeout');
});

test('TCP: invalid flag combinations and out-of-state packets are INVALID; be_liberal accepts out-of-window', () => {
  const ct = new Conntrack();
  assert.equal(track(ct, c2s(SYN | FIN, 1, 0), 0).ctState, CT_INVALID);
  assert.equal(track(ct, c2s(SYN | ACK, 1, 0), 0).ctState, CT_INVALID, 'SYN/ACK cannot open a connection');
  assert.equal(ct.invalidReasons.get('invalid tcp flag combination'), 1);

  for (const liberal of [true, false]) {
    const t = new Conntrack({ tcpBeLiberal: liberal });
    track(t, c2s(SYN, 1000, 0), 0);
    track(t, s2c(SYN | ACK, 5000, 1001), 1);
    track(t, c2s(ACK, 1001, 5001), 2);
    const wild = track(t, c2s(ACK, 900000000, 5001, 10), 3);
    assert.equal(wild.ctState, liberal ? CT_ESTABLISHED : CT_INVALID, `be_liberal=${liberal}`);
  }
});

/** A strict table (be_liberal 0) with 10.0.0.1:40000 -> 10.0.0.2:80 opened and assured by 3 ms. */
function established(): Conntrack {
  const ct = new Conntrack({ tcpBeLiberal: false });
  track(ct, c2s(SYN, 1000, 0), 1);
  track(ct, s2c(SYN | ACK, 5000, 1001), 2);
  track(ct, c2s(ACK, 1001, 5001), 3);
  return ct;
}

test('TCP: an out-of-window FIN is noted; an out-of-window RST answering it shortens the timeout to 300 s (nf_tcp_handle_invalid)', () => {
  const ct = established();
  const fin = track(ct, s2c(FIN | ACK, 900_005_001, 1001), 10);
  assert.equal(fin.ctState, CT_INVALID);
  assert.equal(ct.list()[0]!.deadline, 3 + 432000_000, 'the first one only noted');
  const rst = track(ct, c2s(RST, 900_001_001, 0), 20);
  assert.equal(rst.ctState, CT_INVALID);
  const e = ct.list()[0]!;
  assert.equal(TCP_STATE_NAMES[e.tcpState], 'ESTABLISHED');
  assert.equal(e.deadline - 20, 300_000);
});

test('TCP: a RST from the side whose SYN was last seen does not close by the noted SYN (6.18.y direction check)', () => {
  const ct = new Conntrack({ tcpBeLiberal: false });
  track(ct, c2s(SYN, 1_000_000, 0), 1);
  // A SYN/ACK acking far below the SYN: out of window, ignored (but the reply is seen).
  track(ct, s2c(SYN | ACK, 5_000_000, 400_000), 2);
  const rst = track(ct, c2s(RST, 400_000, 0), 3);
  assert.equal(state(rst), 'SYN_SENT', 'ignored, not CLOSE');
  assert.equal(entryOf(rst).deadline, 1 + 120_000);
});

test('conntrack -U naming -p tcp turns window tracking off for the entries it updates (conntrack-tools sends be_liberal)', () => {
  const ct = established();
  const overAck = () => track(ct, c2s(ACK, 1001, 6001), 10).ctState;
  assert.equal(overAck(), CT_INVALID, 'acks data never sent');
  assert.equal(conntrackTool(ct, 10, ['-U', '-f', 'ipv4', '-m', '2']).exit, 0);
  assert.equal(overAck(), CT_INVALID, 'not without -p tcp');
  assert.equal(conntrackTool(ct, 10, ['-U', '-p', 'tcp', '-f', 'ipv4', '-m', '1']).exit, 0);
  assert.equal(overAck(), CT_ESTABLISHED);
});

test('UDP: 30 s unreplied, 30 s replied, 120 s and ASSURED once a stream (after 2 s)', () => {
  const ct = new Conntrack();
  const a = track(ct, udp(C, S, 5000, 53), 0);
  assert.equal(entryOf(a).deadline, 30000);
  const r = track(ct, udp(S, C, 53, 5000), 100);
  assert.equal(r.ctState, CT_ESTABLISHED);
  assert.equal(entryOf(r).deadline, 30100);
  assert.equal(entryOf(r).status & IPS_ASSURED, 0);
  const later = track(ct, udp(C, S, 5000, 53), 2500);
  assert.equal(entryOf(later).deadline, 2500 + 120000);
  assert.ok(entryOf(later).status & IPS_ASSURED);
});

test('ICMP: echo keyed by id, 30 s; an echo reply without a request is INVALID', () => {
  const ct = new Conntrack();
  const req = track(ct, ipv4(C, S, 1, icmpEcho(8, 42, 1)), 0);
  assert.equal(entryOf(req).deadline, 30000);
  const other = track(ct, ipv4(C, S, 1, icmpEcho(8, 43, 1)), 0);
  assert.notEqual(other.ct, req.ct, 'another id is another connection');
  const rep = track(ct, ipv4(S, C, 1, icmpEcho(0, 42, 1)), 10);
  assert.equal(rep.ct, req.ct);
  assert.equal(rep.ctDir, 1);
  const stray = track(ct, ipv4(S, C, 1, icmpEcho(0, 99, 1)), 10);
  assert.equal(stray.ctState, CT_INVALID);
  assert.equal(ct.count, 2);
});

test('addresses above 2^31: entries hold them unsigned, and find takes them as uint32 or as their int32 bits', () => {
  // The packet path passes addresses between functions as int32 (never boxed); the words and the API stay unsigned.
  const ct = new Conntrack();
  const a = track(ct, udp('192.0.2.1', '203.0.113.5', 5000, 53), 0);
  const src = ip('192.0.2.1'), dst = ip('203.0.113.5');
  assert.ok(src > 2 ** 31 && dst > 2 ** 31);
  assert.deepEqual(entryOf(a).orig, { src, dst, proto: 17, sport: 5000, dport: 53 });
  assert.deepEqual(entryOf(a).reply, { src: dst, dst: src, proto: 17, sport: 53, dport: 5000 });
  const n = ct.find(src, dst, 17, 5000, 53, 0);
  assert.equal(n, a.ct * 2);
  assert.equal(ct.find(src | 0, dst | 0, 17, 5000, 53, 0), n);
  assert.equal(ct.find(dst | 0, src, 17, 53, 5000, 0), n + 1);
  const r = track(ct, udp('203.0.113.5', '192.0.2.1', 53, 5000), 10);
  assert.equal(r.ct, a.ct);
  assert.equal(r.ctState, CT_ESTABLISHED);
});

test('expiry: lazily on lookup and by gc(now)', () => {
  const ct = new Conntrack();
  track(ct, udp(C, S, 1, 53), 0);
  track(ct, udp(C, S, 2, 53), 0);
  track(ct, udp(C, S, 3, 53), 20000);
  const p = track(ct, udp(C, S, 1, 53), 30000);
  assert.equal(p.ctState, CT_NEW, 'the expired entry was replaced');
  assert.equal(ct.gc(30000), 1, 'port 2 expired');
  assert.equal(ct.count, 2);
  assert.equal(ct.gc(60001), 2);
});

test('conntrack table full: new connections dropped with reason conntrack_full, established flows go on', () => {
  const nf = new Netfilter({ alwaysTrack: true, max: 3 });
  const pass = (pkt: Uint8Array, now: number): number => {
    const p = info(pkt, 'eth0', null);
    const v = nf.prerouting(p, now);
    if (v !== VERDICT_ACCEPT) return v;
    p.outIf = 'eth1';
    nf.forward(p, now);
    return nf.postrouting(p, now);
  };
  for (let i = 0; i < 3; i++) {
    const port = 41000 + i;
    assert.equal(pass(tcp(C, S, port, 80, SYN, 1, 0), 0), VERDICT_ACCEPT);
    assert.equal(pass(tcp(S, C, 80, port, SYN | ACK, 9, 2), 1), VERDICT_ACCEPT);
    assert.equal(pass(tcp(C, S, port, 80, ACK, 2, 10), 2), VERDICT_ACCEPT);
  }
  assert.equal(nf.conntrack.count, 3);
  assert.equal(pass(tcp(C, S, 42000, 80, SYN, 1, 0), 3), VERDICT_DROP);
  assert.equal(nf.result.reason, 'conntrack_full');
  assert.equal(pass(udp(C, S, 5353, 53), 3), VERDICT_DROP);
  assert.equal(nf.drops.get('conntrack_full'), 2);
  assert.equal(nf.conntrack.stats.drop, 2);
  assert.equal(pass(tcp(C, S, 41001, 80, PSH | ACK, 2, 10), 4), VERDICT_ACCEPT, 'an established flow goes on');
  assert.match(conntrackStatsText(nf.conntrack), /drop=2 early_drop=0/);
});

test('a full table evicts a non-assured entry (early_drop) before refusing', () => {
  const ct = new Conntrack({ max: 2 });
  track(ct, udp(C, S, 1, 53), 0);
  track(ct, udp(C, S, 2, 53), 0);
  const p = info(udp(C, S, 3, 53), 'eth0', null);
  assert.equal(ct.in(p, HOOK_OUTPUT, 1), VERDICT_ACCEPT);
  ct.confirm(p, 1);
  assert.equal(ct.count, 2);
  assert.equal(ct.stats.early_drop, 1);
});

test('options: timeouts and nf_conntrack_max are configurable', () => {
  const opts: ConntrackOptions = { timeouts: { icmp: 5, udp: 7 }, max: 1 };
  const ct = new Conntrack(opts);
  assert.equal(entryOf(track(ct, ipv4(C, S, 1, icmpEcho(8, 1, 1)), 0)).deadline, 5000);
  assert.equal(ct.max, 1);
});
