// The iptables traversal cache (src/netfilter/traversal-cache.ts) gives the
// chain walk's answers: the same random packets (addresses, interfaces,
// ports, ICMP types, TCP flags, fragments, conntrack state, direction and
// status, marks and connection marks) go through a Netfilter with the cache
// and one without, on a ruleset like Neutron's snat namespace plus jumps,
// gotos, RETURNs, MARK, CONNMARK (save, restore, set), CT --notrack, REJECT
// and policies; verdicts, the deciding rule, every rule and policy counter,
// the packet's mark and state and the connections' marks must be the same.
// Between rounds the ruleset changes (rules inserted, deleted, replaced,
// chains flushed and added, policies, counters zeroed) on both sides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_UNTRACKED, HOOK_FORWARD, HOOK_INPUT, HOOK_OUTPUT, HOOK_POSTROUTING, HOOK_PREROUTING,
  IPS_ASSURED, IPS_CONFIRMED, IPS_DST_NAT, IPS_SEEN_REPLY, IPS_SRC_NAT, Netfilter, type NfMatch, type NfPacketInfo, type NfTraceEvent,
  TABLE_NAMES, type TableName, iptablesSave, newPacketInfo, ruleCounts, traverse,
} from '../../src/netfilter/index.js';
import type { TraversalResult } from '../../src/netfilter/evaluate.js';
import { RT_MATCHES, ruleSaveText } from '../../src/netfilter/rule.js';
import { NFC_SLOTS } from '../../src/netfilter/traversal-cache.js';
import { mulberry32Unit } from '../../src/datapath/random.js';
import { buildEmulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { buildFrame } from '../../src/wire/frame.js';
import { openEdges } from '../../src/cli/trace.js';
import { registerCollectors } from '../../src/metrics/collectors.js';
import { ip } from './netfilter-helpers.js';
import { parseExposition, value } from './metrics-scrape.js';

const RULES = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:neutron-l3-agent-PREROUTING - [0:0]
-A PREROUTING -j neutron-l3-agent-PREROUTING
-A OUTPUT -o lo -j NOTRACK
-A neutron-l3-agent-PREROUTING -i fip-+ -j CT --notrack
-A neutron-l3-agent-PREROUTING -m conntrack --ctstate UNTRACKED -j ACCEPT
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:neutron-l3-agent-FORWARD - [0:0]
:neutron-l3-agent-INPUT - [0:0]
:neutron-l3-agent-OUTPUT - [0:0]
:neutron-l3-agent-POSTROUTING - [0:0]
:neutron-l3-agent-PREROUTING - [0:0]
:neutron-l3-agent-floatingip - [0:0]
:neutron-l3-agent-mark - [0:0]
:neutron-l3-agent-scope - [0:0]
-A PREROUTING -j neutron-l3-agent-PREROUTING
-A INPUT -j neutron-l3-agent-INPUT
-A FORWARD -j neutron-l3-agent-FORWARD
-A OUTPUT -j neutron-l3-agent-OUTPUT
-A POSTROUTING -j neutron-l3-agent-POSTROUTING
-A neutron-l3-agent-FORWARD -j neutron-l3-agent-scope
-A neutron-l3-agent-INPUT -m mark --mark 0x1/0xffff -j ACCEPT
-A neutron-l3-agent-POSTROUTING -o rfp-c4d4b760-4 -m connmark --mark 0x0/0xffff0000 -j CONNMARK --save-mark --nfmask 0xffff0000 --ctmask 0xffff0000
-A neutron-l3-agent-PREROUTING -j neutron-l3-agent-mark
-A neutron-l3-agent-PREROUTING -j neutron-l3-agent-scope
-A neutron-l3-agent-PREROUTING -m connmark ! --mark 0x0/0xffff0000 -j CONNMARK --restore-mark --nfmask 0xffff0000 --ctmask 0xffff0000
-A neutron-l3-agent-PREROUTING -j neutron-l3-agent-floatingip
-A neutron-l3-agent-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x1/0xffff
-A neutron-l3-agent-floatingip -s 192.168.1.0/28 -m conntrack --ctstate NEW -j CONNMARK --set-xmark 0x10000/0xffff0000
-A neutron-l3-agent-mark -i rfp-c4d4b760-4 -j MARK --set-xmark 0x2/0xffff
-A neutron-l3-agent-scope -i sg-499291dc-d8 -j MARK --set-xmark 0x4000000/0xffff0000
-A neutron-l3-agent-scope -m mark --mark 0x4000000/0xffff0000 -j RETURN
-A neutron-l3-agent-scope -i qr-+ -j MARK --or-mark 0x100
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:neutron-l3-agent-POSTROUTING - [0:0]
:neutron-l3-agent-snat - [0:0]
:neutron-postrouting-bottom - [0:0]
-A POSTROUTING -j neutron-l3-agent-POSTROUTING
-A POSTROUTING -j neutron-postrouting-bottom
-A neutron-l3-agent-POSTROUTING ! -i rfp-c4d4b760-4 ! -o rfp-c4d4b760-4 -m conntrack ! --ctstate DNAT -j ACCEPT
-A neutron-l3-agent-snat -o rfp-c4d4b760-4 -j SNAT --to-source 112.65.210.200
-A neutron-postrouting-bottom -m comment --comment "Perform source NAT on outgoing traffic." -j neutron-l3-agent-snat
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:dpe-goto - [0:0]
:dpe-sg - [0:0]
:neutron-filter-top - [0:0]
:neutron-l3-agent-FORWARD - [0:0]
:neutron-l3-agent-INPUT - [0:0]
:neutron-l3-agent-OUTPUT - [0:0]
:neutron-l3-agent-local - [0:0]
:neutron-l3-agent-scope - [0:0]
-A INPUT -j neutron-l3-agent-INPUT
-A FORWARD -j neutron-filter-top
-A FORWARD -j neutron-l3-agent-FORWARD
-A OUTPUT -j neutron-filter-top
-A OUTPUT -j neutron-l3-agent-OUTPUT
-A neutron-filter-top -j neutron-l3-agent-local
-A neutron-l3-agent-FORWARD -j neutron-l3-agent-scope
-A neutron-l3-agent-FORWARD -m conntrack --ctstate INVALID -j DROP
-A neutron-l3-agent-FORWARD -m conntrack --ctstatus ASSURED --ctdir REPLY -m comment --comment "assured" -j ACCEPT
-A neutron-l3-agent-FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -g dpe-goto
-A neutron-l3-agent-FORWARD -f -j DROP
-A neutron-l3-agent-FORWARD -s 10.0.0.0/8 ! -d 10.1.0.0/16 -j dpe-sg
-A neutron-l3-agent-FORWARD -m conntrack --ctstate DNAT -j ACCEPT
-A neutron-l3-agent-FORWARD -p icmp -m icmp --icmp-type 3/1 -j REJECT --reject-with icmp-host-prohibited
-A neutron-l3-agent-INPUT -m mark --mark 0x1/0xffff -j ACCEPT
-A neutron-l3-agent-INPUT -p tcp -m tcp --dport 9697 -j DROP
-A neutron-l3-agent-INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A neutron-l3-agent-INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A neutron-l3-agent-INPUT -p udp -m multiport --sports 67,123 -j ACCEPT
-A neutron-l3-agent-INPUT -p udp -m multiport --dports 53,67:68 -j REJECT --reject-with icmp-port-unreachable
-A neutron-l3-agent-OUTPUT -m mark --mark 0x100/0x100 -j DROP
-A neutron-l3-agent-scope -o qr-+ -m mark ! --mark 0x4000000/0xffff0000 -j DROP
-A dpe-goto -m connmark --mark 0x10000/0xffff0000 -j RETURN
-A dpe-goto -p tcp -m tcp --sport 1024:65535 -j ACCEPT
-A dpe-goto -j MARK --xor-mark 0x100
-A dpe-sg -p udp -m udp --dport 53 -j RETURN
-A dpe-sg -m state --state NEW -j REJECT --reject-with icmp-port-unreachable
-A dpe-sg -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff
-A dpe-sg -m mark --mark 0x2/0x3 -j DROP
COMMIT
`;

/** Every table and hook the cache serves (nat is never cached). */
const HOOKS: [TableName, number][] = [
  ['raw', HOOK_PREROUTING], ['raw', HOOK_OUTPUT],
  ['mangle', HOOK_PREROUTING], ['mangle', HOOK_INPUT], ['mangle', HOOK_FORWARD], ['mangle', HOOK_OUTPUT], ['mangle', HOOK_POSTROUTING],
  ['filter', HOOK_INPUT], ['filter', HOOK_FORWARD], ['filter', HOOK_OUTPUT],
];

/** Connection marks (ct->mark), by connection id: what CONNMARK and -m connmark reach through the packet. */
class CtMarks {
  readonly m: number[];
  constructor(init: number[]) {
    this.m = [...init];
  }
  mark(ct: number): number {
    return this.m[ct]!;
  }
  setMark(ct: number, v: number): void {
    this.m[ct] = v >>> 0;
  }
}

interface Side {
  nf: Netfilter;
  marks: CtMarks;
  p: NfPacketInfo;
  res: TraversalResult;
}

function side(cached: boolean, ctMarks: number[], text = RULES): Side {
  const nf = new Netfilter();
  nf.load(text);
  if (!cached) nf.cache.sw = { fastpath: false, tracer: null };
  return { nf, marks: new CtMarks(ctMarks), p: newPacketInfo(), res: { rule: null, chain: null, ruleNum: 0 } };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const IFS = [null, 'sg-499291dc-d8', 'rfp-c4d4b760-4', 'qr-1a2b3c4d-5e', 'qr-99', 'fip-4617ac50-7b', 'lo', 'eth0'];
const CONNS = 6;
/** Each field's values: both sides of the rules' boundaries. */
const VALUES: Record<string, readonly unknown[]> = {
  inIf: IFS,
  outIf: IFS,
  src: ['192.168.1.7', '192.168.1.15', '192.168.1.16', '10.0.0.5', '10.1.2.3', '10.9.9.9', '8.8.8.8', '112.65.210.200'].map(ip),
  dst: ['192.168.1.7', '10.0.0.5', '10.1.2.3', '10.2.0.1', '169.254.169.253', '169.254.169.254', '8.8.8.8', '112.65.210.200'].map(ip),
  proto: [1, 6, 17, 47],
  sport: [22, 53, 67, 1023, 1024, 40000],
  dport: [22, 53, 67, 69, 80, 9697],
  icmpType: [0, 3, 8, 11],
  icmpCode: [0, 1, 3],
  tcpFlags: [0x02, 0x12, 0x10, 0x06],
  fragment: [false, false, false, true],
  mark: [0, 1, 2, 3, 0x100, 0x4000000, 0x10000, 0x4000002, 0x10102],
  ctState: [0, CT_NEW, CT_ESTABLISHED, CT_RELATED, CT_INVALID, CT_UNTRACKED],
  ctStatus: [0, IPS_CONFIRMED, IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED, IPS_SRC_NAT | IPS_CONFIRMED, IPS_DST_NAT | IPS_ASSURED],
  ct: [0, 0, ...Array.from({ length: CONNS }, (_, i) => i + 1)],
  ctDir: [0, 1],
};
const FIELDS = Object.keys(VALUES);

/** Random fields for a packet (now and then any address or mark). */
function randomFields(r: () => number): Partial<NfPacketInfo> {
  const f: Record<string, unknown> = { len: 40 + Math.floor(r() * 1460) };
  for (const k of FIELDS) f[k] = pick(r, VALUES[k]!);
  for (const k of ['src', 'dst', 'mark']) if (r() < 0.1) f[k] = Math.floor(r() * 2 ** 32);
  return f;
}

function setPacket(fields: Partial<NfPacketInfo>, a: Side, b: Side): void {
  for (const s of [a, b]) {
    Object.assign(s.p, fields);
    s.p.ctTable = fields.ct === 0 ? null : s.marks;
  }
}

/** Flows: most packets repeat one of these (as traffic does), the rest are new. */
let flows: Partial<NfPacketInfo>[] = [];

/** Fills both sides' packet with the same random fields (each side's own connection marks). */
function randomPacket(r: () => number, a: Side, b: Side): void {
  if (flows.length === 0) flows = Array.from({ length: 150 }, () => randomFields(r));
  const x = r();
  // A flow's packet; or one that differs from a flow in one field only (the key must tell them apart); or a new one.
  const fields = x < 0.9 ? { ...pick(r, flows), len: 40 + Math.floor(r() * 1460) } : randomFields(r);
  if (x >= 0.6 && x < 0.9) {
    const k = pick(r, FIELDS);
    (fields as Record<string, unknown>)[k] = pick(r, VALUES[k]!);
  }
  setPacket(fields, a, b);
}

/** Every rule's and policy's counters, table by table, chain by chain. */
function counters(nf: Netfilter): string {
  const out: string[] = [];
  for (const n of TABLE_NAMES) {
    for (const c of nf.rules.tables[n].chainOrder()) {
      out.push(`${n} ${c.name} ${c.pkts}:${c.bytes} ${c.rules.map((x) => ruleCounts(x).join(':')).join(' ')}`);
    }
  }
  return out.join('\n');
}

function packetView(s: Side): unknown {
  const { ctTable: _t, buf: _b, ...rest } = s.p;
  return rest;
}

function hookResult(nf: Netfilter, v: number): unknown {
  const r = nf.result;
  return {
    v, reason: r.reason, table: r.table, chain: r.chain, ruleNum: r.ruleNum, rejectWith: r.rejectWith?.name ?? null,
    rule: r.rule ? ruleSaveText(r.chain!, r.rule, false) : null,
  };
}

/** Cache cells of `nf` (IPTABLES_CACHE_CELLS order), counted into a private array. */
function cells(nf: Netfilter): Float64Array {
  const v = new Float64Array(4);
  nf.cache.countInto(v, 0);
  return v;
}

/** What a traversal answered and changed, in short (the rule by its chain and number). */
function outcome(s: Side, ev: number): string {
  const r = s.res;
  return `${ev} ${r.chain?.name} ${r.ruleNum} ${r.rule === null} mark ${s.p.mark} state ${s.p.ctState} ct marks ${s.marks.m.join()}`;
}

/** The packet set on both sides through `table` at `hook` (null: the FORWARD hook); every answer and all state compared. */
function step(fast: Side, slow: Side, at: string, table: TableName | null, hook = 0, all = true): void {
  if (table === null) {
    // Through the Netfilter: FORWARD runs mangle and filter, and the hook's result says who dropped.
    const vf = fast.nf.forward(fast.p, 0), vs = slow.nf.forward(slow.p, 0);
    assert.deepEqual(hookResult(fast.nf, vf), hookResult(slow.nf, vs), at);
    assert.deepEqual([...fast.nf.drops], [...slow.nf.drops], at);
  } else {
    const ef = fast.nf.cache.traverse(fast.nf.rules.tables[table], hook, fast.p, fast.res);
    const es = traverse(slow.nf.rules.tables[table], hook, slow.p, slow.res, null, null);
    assert.equal(outcome(fast, ef), outcome(slow, es), `${at} (${table} ${hook})`);
  }
  if (!all) return;
  assert.deepEqual(packetView(fast), packetView(slow), at);
  assert.equal(counters(fast.nf), counters(slow.nf), at);
}

/** `n` random packets through both sides. */
function round(r: () => number, fast: Side, slow: Side, n: number, what: string): void {
  for (let i = 0; i < n; i++) {
    randomPacket(r, fast, slow);
    if (r() < 0.25) step(fast, slow, `${what}, packet ${i}`, null);
    else step(fast, slow, `${what}, packet ${i}`, ...pick(r, HOOKS));
  }
}

test('the cache gives the chain walk\'s verdicts, rules, counters, marks and states, also as the ruleset changes', () => {
  const r = mulberry32Unit(0x6e66);
  const ctMarks = Array.from({ length: CONNS + 1 }, () => pick(r, [0, 0x10000, 0x4000000, 0xffff0000, 0x10002, 0x12345678]));
  const fast = side(true, ctMarks), slow = side(false, ctMarks);
  const c = cells(fast.nf), off = cells(slow.nf);
  round(r, fast, slow, 3000, 'first load');
  assert.ok(c[0]! > 2 * c[1]!, `the cache answers most traversals (hits ${c[0]}, misses ${c[1]})`);
  // Each change on both sides; the cached outcomes must go with it.
  const changes = [
    '-t filter -I neutron-l3-agent-FORWARD 1 -s 10.0.0.5 -j DROP',
    '-t filter -P FORWARD DROP',
    '-t filter -R dpe-sg 1 -p udp -m udp --dport 67 -j RETURN',
    '-t filter -D neutron-l3-agent-FORWARD 1',
    // CONNMARK now moves the low bits too: the key's mark mask widens.
    '-t mangle -A neutron-l3-agent-mark -m mark --mark 0x2/0xffff -j CONNMARK --save-mark --nfmask 0xffff --ctmask 0xffff',
    '-t mangle -D neutron-l3-agent-PREROUTING -j neutron-l3-agent-scope',
    '-t raw -F neutron-l3-agent-PREROUTING',
    '-t filter -Z',
    '-t filter -N dpe-new\n-t filter -I FORWARD 1 -i eth0 -j dpe-new\n-t filter -A dpe-new -p udp -j ACCEPT',
    '-t filter -P FORWARD ACCEPT',
    '-t filter -D dpe-goto -p tcp -m tcp --sport 1024:65535 -j ACCEPT',
  ];
  for (const cmd of changes) {
    const inv = c[2]!;
    fast.nf.load(cmd);
    slow.nf.load(cmd);
    round(r, fast, slow, 600, cmd);
    assert.ok(c[2]! > inv, `${cmd}: entries invalidated`);
  }
  // A whole restore (the agent's iptables-restore of a changed ruleset).
  const text = RULES.replace('--dport 9697 -j DROP', '--dport 9697 -j ACCEPT').replace(':FORWARD ACCEPT', ':FORWARD DROP');
  fast.nf.load(text);
  slow.nf.load(text);
  round(r, fast, slow, 1000, 'restore');
  assert.equal(iptablesSave(fast.nf.rules, { counters: true }), iptablesSave(slow.nf.rules, { counters: true }));
  assert.deepEqual([...off], [0, 0, 0, 0], 'the cache of a Netfilter whose switch is off is not consulted');
  assert.ok(c[3]! > 0 && c[3]! <= NFC_SLOTS);
});

test('a packet that differs from a cached one in one field gets its own answer', () => {
  const r = mulberry32Unit(0x6b6579);
  const ctMarks = Array.from({ length: CONNS + 1 }, (_, i) => [0, 0x10000, 0x4000000, 0xffff0000, 0x10002, 0x12345678, 0x10001][i]!);
  const fast = side(true, ctMarks), slow = side(false, ctMarks);
  for (let f = 0; f < 100; f++) {
    const base = randomFields(r);
    for (const [table, hook] of HOOKS) {
      for (const k of FIELDS) {
        for (const v of VALUES[k]!) {
          setPacket(base, fast, slow);
          step(fast, slow, `flow ${f}`, table, hook, false);
          setPacket({ ...base, [k]: v }, fast, slow);
          step(fast, slow, `flow ${f}, ${k} ${String(v)}`, table, hook, false);
        }
      }
    }
    assert.equal(counters(fast.nf), counters(slow.nf), `flow ${f}`);
  }
});

test('a tracer or the fast path switched off bypasses the cache', () => {
  const fast = side(true, [0, 0]), slow = side(false, [0, 0]);
  const c = cells(fast.nf);
  const sw = { fastpath: true, tracer: null as unknown };
  fast.nf.cache.sw = sw;
  const r = mulberry32Unit(7);
  const events: Record<'fast' | 'slow', string[]> = { fast: [], slow: [] };
  const send = (n: number) => {
    for (let i = 0; i < n; i++) {
      randomPacket(r, fast, slow);
      assert.deepEqual(hookResult(fast.nf, fast.nf.forward(fast.p, 0)), hookResult(slow.nf, slow.nf.forward(slow.p, 0)));
    }
  };
  send(200);
  const lookups = c[0]! + c[1]!;
  assert.equal(lookups, 400, 'mangle and filter at FORWARD, each packet');
  // iptables TRACE: every rule the slow path matches is seen.
  const trace = (to: string[]) => (ev: NfTraceEvent) => to.push(`${ev.table}:${ev.chain}:${ev.kind}:${ev.ruleNum}`);
  fast.nf.tracer = trace(events.fast);
  slow.nf.tracer = trace(events.slow);
  send(100);
  assert.equal(c[0]! + c[1]!, lookups);
  assert.ok(events.fast.length > 100);
  assert.deepEqual(events.fast, events.slow);
  fast.nf.tracer = slow.nf.tracer = null;
  for (const s of [{ fastpath: false, tracer: null }, { fastpath: true, tracer: {} }]) {
    Object.assign(sw, s);
    send(100);
    assert.equal(c[0]! + c[1]!, lookups, JSON.stringify(s));
  }
  Object.assign(sw, { fastpath: true, tracer: null });
  send(100);
  assert.equal(c[0]! + c[1]!, lookups + 200);
  assert.equal(counters(fast.nf), counters(slow.nf));
});

test('entries are bounded: more keys than slots evict, and the answers stay exact', () => {
  const text = '*filter\n:FORWARD DROP [0:0]\n-A FORWARD -s 10.1.2.3/32 -j DROP\n-A FORWARD -s 10.0.0.0/8 -j ACCEPT\nCOMMIT\n';
  const fast = side(true, [0], text), slow = side(false, [0], text);
  const c = cells(fast.nf);
  for (let i = 0; i < 3 * NFC_SLOTS; i++) {
    for (const s of [fast, slow]) Object.assign(s.p, { src: (0x0a000000 + ((i * 7919) % (1 << 16))) >>> 0, len: 60 + (i % 50) });
    const ef = fast.nf.cache.traverse(fast.nf.rules.tables.filter, HOOK_FORWARD, fast.p, fast.res);
    const es = traverse(slow.nf.rules.tables.filter, HOOK_FORWARD, slow.p, slow.res, null, null);
    assert.equal(outcome(fast, ef), outcome(slow, es));
  }
  assert.ok(c[3]! <= NFC_SLOTS && c[3]! > NFC_SLOTS / 2, `entries ${c[3]}`);
  assert.equal(counters(fast.nf), counters(slow.nf));
});

test('a match that cannot say what it reads keeps its table and hook off the cache', () => {
  // A rate limit's answer is not a function of the packet: every other packet passes.
  const limit = (): NfMatch => {
    let n = 0;
    return { name: 'limit', needsConntrack: false, matches: () => n++ % 2 === 0, save: () => '', print: () => '' };
  };
  const text = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n-A INPUT -p icmp -j DROP\n-A FORWARD -p icmp -j DROP\nCOMMIT\n';
  const fast = side(true, [0], text), slow = side(false, [0], text);
  for (const s of [fast, slow]) {
    const rule = s.nf.rules.tables.filter.chains.get('FORWARD')!.rules[0]!;
    rule.live = [limit()];
    rule.test |= RT_MATCHES;
  }
  const c = cells(fast.nf);
  const verdicts: number[] = [];
  for (let i = 0; i < 10; i++) {
    for (const s of [fast, slow]) Object.assign(s.p, { proto: 1, len: 84, src: ip('192.0.2.1'), dst: ip('192.0.2.2') });
    const vf = fast.nf.forward(fast.p, 0);
    assert.equal(vf, slow.nf.forward(slow.p, 0));
    verdicts.push(vf);
    fast.nf.input(fast.p, 0);
    slow.nf.input(slow.p, 0);
  }
  assert.deepEqual(verdicts, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  assert.deepEqual([c[0], c[1]], [9, 1], 'INPUT is still cached; FORWARD is not looked up');
  assert.equal(counters(fast.nf), counters(slow.nf));
});

test('each namespace exports its cache\'s hits, misses, invalidations and entries; DPEMU_FASTPATH=0 leaves them at 0', async () => {
  for (const fastpath of [true, false]) {
    const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'));
    emu.engine.fastpath = fastpath;
    openEdges(emu);
    const req = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64 }, udp: { sport: 40001, dport: 53, payload: 8 } });
    const N = 5;
    const send = () => emu.engine.inject(emu.engine.pool.allocFrom(req)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
    for (let i = 0; i < N; i++) send();
    const snat = emu.namespace('w02', 'snat-c4d4b760-41b9-45e1-a607-d054da99c479');
    snat.nf.load('-t mangle -A neutron-l3-agent-FORWARD -p tcp -j ACCEPT');
    send();
    const c = registerCollectors({ engine: emu.engine, processMetrics: false });
    c.sync();
    const s = parseExposition(await c.registry.metrics());
    const l = { node: 'w02', element: snat.name };
    const got = ['hits_total', 'misses_total', 'invalidations_total', 'entries'].map((n) => value(s, `dpemu_fastpath_iptables_${n}`, l));
    // mangle at PREROUTING, FORWARD and POSTROUTING for each packet (nat only for the first: never cached);
    // each hook's rules read no field that differs between these packets: one entry each.
    assert.deepEqual(got, fastpath ? [3 * N - 3, 3 + 3, 3, 3] : [0, 0, 0, 0], `fastpath ${fastpath}`);
    assert.equal(emu.engine.stats.sum('port_tx_packets', { node: 'w02', element: 'br-ex' }) > 0, true);
  }
});
