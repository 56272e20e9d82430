// One OpenFlow table filled with Neutron-shaped flows (ovs-ofctl syntax, as
// the agents install them), for the classifier benchmarks. Real agents spread
// these over several tables; putting them in one table is the harder case:
// seven distinct masks, so a lookup may probe up to seven subtables, highest
// priority first.
import { parseFlow } from '../../src/ofproto/flow-parser.js';
import { FlowTables } from '../../src/ofproto/flow-table.js';
import { K, newKey, type FlowKey } from '../../src/ofproto/flow-key.js';
import type { FlowEntry } from '../../src/ofproto/flow-table.js';
import { emptyMatch, type Match } from '../../src/ofproto/match.js';

/** The mix: [share, template]. `i` numbers the flow; every flow is distinct. */
const SHAPES: [number, (i: number) => string][] = [
  // ovs firewall-style ingress rule: per-port register, source prefix, L4 port (priority 70)
  [0.15, (i) => `priority=70,udp,reg5=0x${((i >> 8) + 1).toString(16)},nw_src=10.${(i >> 8) & 255}.${i & 255}.0/24,tp_dst=${1024 + (i % 30000)} actions=resubmit(,92)`],
  // anti-spoofing: port + source MAC (table 25 shape, priority 2 -> here 50)
  [0.2, (i) => `priority=50,in_port=${(i % 60000) + 1},dl_src=${mac(0x3e000000 + i)} actions=resubmit(,30)`],
  // DVR / local delivery: VLAN + destination MAC (table 1/60 shape)
  [0.4, (i) => `priority=40,dl_vlan=${(i % 4000) + 1},dl_dst=${mac(0x3f000000 + i)} actions=strip_vlan,mod_dl_src:fa:16:3e:06:d8:7b,output:${(i % 200) + 1}`],
  // ARP responder (br-tun table 21 shape)
  [0.1, (i) => `priority=30,arp,dl_vlan=${(i % 4000) + 1},arp_tpa=172.${16 + ((i >> 16) & 15)}.${(i >> 8) & 255}.${i & 255} actions=resubmit(,22)`],
  // DVR routed subnet (ip, VLAN, destination prefix)
  [0.05, (i) => `priority=20,ip,dl_vlan=${(i % 4000) + 1},nw_dst=192.${168 - ((i >> 16) & 7)}.${(i >> 8) & 255}.0/24 actions=resubmit(,60)`],
  // tunnel id -> local VLAN (br-tun table 4 shape)
  [0.1, (i) => `priority=10,tun_id=0x${(i + 1).toString(16)} actions=mod_vlan_vid:${(i % 4000) + 1},resubmit(,9)`],
];

function mac(n: number): string {
  const b = [0xfa, 0x16, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** `n` flow lines (n >= 7: at least one of every shape plus the table-miss flow). */
export function neutronFlowLines(n: number): string[] {
  const out: string[] = ['priority=0 actions=drop'];
  const counts = SHAPES.map(([share]) => Math.max(1, Math.floor(share * (n - 1))));
  let sum = counts.reduce((a, b) => a + b, 0);
  for (let k = 2; sum < n - 1; sum++) counts[k]!++; // top up the biggest class
  for (let k = 0; sum > n - 1; sum--) {
    while (counts[k]! <= 1) k++;
    counts[k]!--;
  }
  SHAPES.forEach(([, make], k) => {
    for (let i = 0; i < counts[k]!; i++) out.push(make(i));
  });
  return out;
}

export interface FlowTableRig {
  tables: FlowTables;
  entries: FlowEntry[];
  /** One packet-like key per flow (hits that flow), in random order. */
  keys: FlowKey[];
  /** The entry each key must find. */
  expect: FlowEntry[];
}

/** A FlowTables whose table 0 holds `n` flows (added as ovs-ofctl add-flow would). */
export function buildFlowTables(n: number): { tables: FlowTables; entries: FlowEntry[] } {
  const tables = new FlowTables();
  const entries: FlowEntry[] = [];
  for (const line of neutronFlowLines(n)) entries.push(tables.add(parseFlow(line), 0));
  return { tables, entries };
}

/** Up to `maxKeys` lookup keys, each hitting a different flow, in random order. */
export function lookupKeys(entries: readonly FlowEntry[], maxKeys = 65536, seed = 1): { keys: FlowKey[]; expect: FlowEntry[] } {
  const rnd = lcg(seed);
  const order = entries.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const keys: FlowKey[] = [];
  const expect: FlowEntry[] = [];
  for (let i = 0; i < Math.min(maxKeys, order.length); i++) {
    const e = entries[order[i]!]!;
    keys.push(keyFor(e.match, rnd));
    expect.push(e);
  }
  return { keys, expect };
}

/** `n` packet-like keys with random fields: in the Neutron mix they reach the table-miss flow after probing every subtable. */
export function randomKeys(n: number, seed = 2): FlowKey[] {
  const rnd = lcg(seed);
  const any = emptyMatch();
  return Array.from({ length: n }, () => keyFor(any, rnd));
}

export function buildFlowTable(n: number, maxKeys = 65536, seed = 1): FlowTableRig {
  const t = buildFlowTables(n);
  return { ...t, ...lookupKeys(t.entries, maxKeys, seed) };
}

/** A packet's key that `m` matches: its matched bits, other fields as a plausible packet would carry. */
function keyFor(m: Match, rnd: () => number): FlowKey {
  const k = newKey();
  k[K.IN_PORT] = 1 + Math.floor(rnd() * 60000);
  k[K.DL_SRC_HI] = 0xfa16;
  k[K.DL_SRC_LO] = (rnd() * 2 ** 32) >>> 0;
  k[K.DL_DST_HI] = 0xfa16;
  k[K.DL_DST_LO] = (rnd() * 2 ** 32) >>> 0;
  k[K.DL_TYPE] = 0x0800;
  k[K.NW_PROTO] = 17;
  k[K.NW_TTL] = 64;
  k[K.NW_SRC] = (rnd() * 2 ** 32) >>> 0;
  k[K.NW_DST] = (rnd() * 2 ** 32) >>> 0;
  k[K.TP_SRC] = Math.floor(rnd() * 65536);
  k[K.TP_DST] = Math.floor(rnd() * 65536);
  for (let w = 0; w < K.WORDS; w++) k[w] = ((k[w]! & ~m.mask[w]!) | m.value[w]!) >>> 0;
  return k;
}

export function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
