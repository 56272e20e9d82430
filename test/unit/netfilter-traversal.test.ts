// Chain traversal as ipt_do_table does it: jumps, goto, RETURN, policies,
// counters, interface wildcards and negation, marks, REJECT, tracing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CT_ESTABLISHED, CT_NEW, CT_UNTRACKED, HOOK_FORWARD, IPS_DST_NAT, Netfilter, type NfPacketInfo, type NfTraceEvent,
  Ruleset, VERDICT_ACCEPT, ruleCounts, VERDICT_DROP, VERDICT_REJECT, formatTrace, loadIptables, newPacketInfo, traverse,
} from '../../src/netfilter/index.js';
import { EV_ACCEPT, EV_DROP, EV_REJECT } from '../../src/netfilter/evaluate.js';
import { ip } from './netfilter-helpers.js';

function pkt(fields: Partial<NfPacketInfo>): NfPacketInfo {
  return Object.assign(newPacketInfo(), { len: 100, proto: 6, src: ip('10.0.0.1'), dst: ip('10.0.0.2'), sport: 1234, dport: 80 }, fields);
}

function run(rs: Ruleset, p: NfPacketInfo, hook = HOOK_FORWARD): { ev: number; ruleNum: number; chain: string | null } {
  const res = { rule: null, chain: null, ruleNum: 0 } as { rule: null; chain: { name: string } | null; ruleNum: number };
  const ev = traverse(rs.tables.filter, hook, p, res as never, null);
  return { ev, ruleNum: res.ruleNum, chain: res.chain?.name ?? null };
}

test('jumps, RETURN, fall-through to the policy, and counters', () => {
  const rs = new Ruleset();
  loadIptables(rs, [
    '-P FORWARD DROP',
    '-N web', '-N empty', '-N deny',
    '-A FORWARD -j empty',
    '-A FORWARD -p tcp -j web',
    '-A FORWARD -s 10.0.0.9 -j ACCEPT',
    '-A web -p tcp --dport 22 -j RETURN',
    '-A web -p tcp --dport 80 -j ACCEPT',
    '-A web -j deny',
    '-A deny -s 10.0.0.1 -j DROP',
  ].join('\n'));
  const fwd = rs.tables.filter.chains.get('FORWARD')!;
  const web = rs.tables.filter.chains.get('web')!;
  // port 80: empty chain returns at once, web accepts.
  assert.deepEqual(run(rs, pkt({ dport: 80 })), { ev: EV_ACCEPT, ruleNum: 2, chain: 'web' });
  // port 22: RETURN from web, then no rule matches 10.0.0.1: policy DROP, counted on FORWARD.
  assert.deepEqual(run(rs, pkt({ dport: 22 })), { ev: EV_DROP, ruleNum: 4, chain: 'FORWARD' });
  assert.equal(fwd.pkts, 1);
  assert.equal(fwd.bytes, 100);
  // port 443 from 10.0.0.1: web -> deny -> DROP by rule.
  assert.deepEqual(run(rs, pkt({ dport: 443 })), { ev: EV_DROP, ruleNum: 1, chain: 'deny' });
  // port 443 from 10.0.0.9: deny falls off, web falls off, FORWARD rule 3 accepts.
  assert.deepEqual(run(rs, pkt({ dport: 443, src: ip('10.0.0.9') })), { ev: EV_ACCEPT, ruleNum: 3, chain: 'FORWARD' });
  assert.equal(ruleCounts(fwd.rules[0]!)[0], 4, 'a jump to an empty chain counts as a match');
  assert.equal(ruleCounts(web.rules[0]!)[0], 1);
  assert.equal(ruleCounts(web.rules[2]!)[0], 2);
  assert.equal(fwd.pkts, 1, 'the policy counted only the policy decision');
});

test('RETURN in a built-in chain applies the policy; goto does not come back', () => {
  const rs = new Ruleset();
  loadIptables(rs, [
    '-P FORWARD DROP', '-N g', '-N h',
    '-A FORWARD -p udp -j RETURN',
    '-A FORWARD -p tcp -g g',
    '-A FORWARD -j ACCEPT',
    '-A g -p tcp --dport 80 -j h',
    '-A h -j RETURN',
  ].join('\n'));
  assert.deepEqual(run(rs, pkt({ proto: 17 })), { ev: EV_DROP, ruleNum: 4, chain: 'FORWARD' });
  // tcp/80: goto g, jump h, RETURN to g, end of g: back to the bottom of the stack, i.e. the policy.
  assert.deepEqual(run(rs, pkt({ proto: 6, dport: 80 })), { ev: EV_DROP, ruleNum: 4, chain: 'FORWARD' });
  assert.deepEqual(run(rs, pkt({ proto: 1 })), { ev: EV_ACCEPT, ruleNum: 3, chain: 'FORWARD' });
  assert.equal(rs.tables.filter.chains.get('FORWARD')!.pkts, 2);
});

interface IfCase {
  rule: string;
  inIf: string | null;
  outIf: string | null;
  hit: boolean;
}

const IFACE_CASES: IfCase[] = [
  { rule: '-i qr-+', inIf: 'qr-178fc8e2-fd', outIf: null, hit: true },
  { rule: '-i qr-+', inIf: 'qg-1', outIf: null, hit: false },
  { rule: '-i qr-+', inIf: null, outIf: null, hit: false },
  { rule: '! -i qr-+', inIf: 'sg-499291dc-d8', outIf: null, hit: true },
  { rule: '! -i qr-+', inIf: 'qr-x', outIf: null, hit: false },
  { rule: '-i eth0', inIf: 'eth01', outIf: null, hit: false },
  { rule: '-i eth0', inIf: 'eth0', outIf: null, hit: true },
  { rule: '-i +', inIf: null, outIf: null, hit: true },
  { rule: '! -o rfp-c4d4b760-4', inIf: null, outIf: 'rfp-c4d4b760-4', hit: false },
  { rule: '! -o rfp-c4d4b760-4', inIf: null, outIf: 'sg-499291dc-d8', hit: true },
  { rule: '! -i rfp-c4d4b760-4 ! -o rfp-c4d4b760-4', inIf: 'sg-499291dc-d8', outIf: 'sg-499291dc-d8', hit: true },
  { rule: '! -i rfp-c4d4b760-4 ! -o rfp-c4d4b760-4', inIf: 'rfp-c4d4b760-4', outIf: 'sg-499291dc-d8', hit: false },
  { rule: '! -i rfp-c4d4b760-4 ! -o rfp-c4d4b760-4', inIf: 'sg-499291dc-d8', outIf: 'rfp-c4d4b760-4', hit: false },
  { rule: '! -i rfp-c4d4b760-4', inIf: null, outIf: 'x', hit: true },
  { rule: '-s 192.168.1.0/24 ! -d 192.168.1.0/24', inIf: null, outIf: null, hit: false },
  { rule: '! -p tcp', inIf: null, outIf: null, hit: false },
  { rule: '-p tcp ! --dport 22', inIf: null, outIf: null, hit: true },
  { rule: '-p tcp -m multiport --dports 22,70:90', inIf: null, outIf: null, hit: true },
  { rule: '-m mark --mark 0x1/0xffff', inIf: null, outIf: null, hit: true },
  { rule: '-m mark ! --mark 0x2/0xffff', inIf: null, outIf: null, hit: true },
  { rule: '-m mark --mark 0x1', inIf: null, outIf: null, hit: false },
];

for (const c of IFACE_CASES) {
  test(`match '${c.rule}' with in=${c.inIf} out=${c.outIf}: ${c.hit ? 'hit' : 'miss'}`, () => {
    const rs = new Ruleset();
    loadIptables(rs, `-N probe\n-A probe ${c.rule} -j ACCEPT\n-A FORWARD -j probe\n-A FORWARD -j DROP`);
    const p = pkt({ inIf: c.inIf, outIf: c.outIf, src: ip('192.168.1.7'), dst: ip('192.168.1.8'), mark: 0x10001 });
    assert.equal(run(rs, p).ev, c.hit ? EV_ACCEPT : EV_DROP);
  });
}

test('conntrack state and DNAT matches read the packet view', () => {
  const rs = new Ruleset();
  loadIptables(rs, [
    '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A FORWARD -m conntrack --ctstate DNAT -j ACCEPT',
    '-A FORWARD -m state --state INVALID -j DROP',
    '-A FORWARD -j REJECT --reject-with icmp-port-unreachable',
  ].join('\n'));
  assert.equal(run(rs, pkt({ ctState: CT_ESTABLISHED })).ev, EV_ACCEPT);
  assert.equal(run(rs, pkt({ ctState: CT_NEW, ctStatus: IPS_DST_NAT })).ev, EV_ACCEPT);
  assert.equal(run(rs, pkt({ ctState: 0 })).ev, EV_DROP, 'no conntrack entry counts as INVALID');
  assert.equal(run(rs, pkt({ ctState: CT_NEW })).ev, EV_REJECT);
  assert.equal(run(rs, pkt({ ctState: CT_UNTRACKED })).ev, EV_REJECT);
});

test('MARK and CONNMARK targets continue; the mark set is matched further down', () => {
  const nf = new Netfilter({ alwaysTrack: true });
  nf.load([
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    '-A PREROUTING -i qg-+ -j MARK --set-xmark 0x2/0xffff',
    '-A PREROUTING -m mark --mark 0x2/0xffff -j CONNMARK --save-mark --nfmask 0xffff --ctmask 0xffff',
    'COMMIT',
  ].join('\n'));
  const p = pkt({ inIf: 'qg-abc', mark: 0x30000 });
  const buf = new Uint8Array(100);
  buf[0] = 0x45;
  Object.assign(p, { buf, l3Off: 0, l4Off: 20, proto: 47 });
  assert.equal(nf.prerouting(p, 0), VERDICT_ACCEPT);
  assert.equal(p.mark, 0x30002);
  assert.equal(nf.conntrack.entry(p.ct).mark, 0x2);
});

test('REJECT reports the reply to send; DROP is counted with its rule', () => {
  const nf = new Netfilter();
  nf.load('-A FORWARD -p tcp --dport 23 -j REJECT --reject-with tcp-reset\n-A FORWARD -p udp -j DROP');
  const r1 = nf.forward(pkt({ dport: 23 }), 0);
  assert.equal(r1, VERDICT_REJECT);
  assert.equal(nf.result.rejectWith!.name, 'tcp-reset');
  assert.equal(nf.result.ruleNum, 1);
  assert.equal(nf.forward(pkt({ proto: 17 }), 0), VERDICT_DROP);
  assert.equal(nf.result.reason, 'iptables_drop');
  assert.equal(nf.result.chain, 'FORWARD');
  assert.equal(nf.drops.get('iptables_drop'), 1);
  assert.equal(nf.drops.get('iptables_reject'), 1);
});

test('the tracer sees every matched rule, implicit returns and the policy, as TRACE numbers them', () => {
  const nf = new Netfilter();
  nf.load('-N a\n-A a -p udp -j ACCEPT\n-A FORWARD -j a\n-A FORWARD -s 1.1.1.1 -j DROP');
  const seen: string[] = [];
  nf.tracer = (e: NfTraceEvent) => seen.push(formatTrace(e));
  nf.forward(pkt({}), 0);
  assert.deepEqual(seen, ['TRACE: filter:FORWARD:rule:1', 'TRACE: filter:a:return:2', 'TRACE: filter:FORWARD:policy:3']);
});

test('CT --notrack in raw PREROUTING leaves the packet untracked (fip namespace)', () => {
  const nf = new Netfilter();
  nf.load('-t raw -A PREROUTING -j CT --notrack\n-t nat -A POSTROUTING -j MASQUERADE');
  const buf = new Uint8Array(100);
  buf[0] = 0x45;
  const p = pkt({ buf, l3Off: 0, l4Off: 20, proto: 47 });
  assert.equal(nf.prerouting(p, 0), VERDICT_ACCEPT);
  assert.equal(p.ctState, CT_UNTRACKED);
  assert.equal(p.ct, 0, "no entry");
  assert.equal(nf.postrouting(p, 0), VERDICT_ACCEPT, 'no NAT for untracked packets');
  assert.equal(nf.conntrack.count, 0);
});
