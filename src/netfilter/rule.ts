// One iptables rule (struct ipt_entry): the IP part, matches, target, counters.

import type { ListNames, NfMatch } from './matches.js';
import type { NfTarget } from './targets.js';
import type { Chain } from './tables.js';
import { formatIpv4, formatPrefixSave, maskListText } from './ipv4-addr.js';
import { T_GOTO } from './targets.js';

export const INV_SRC = 0x08; // IPT_INV_SRCIP
export const INV_DST = 0x10; // IPT_INV_DSTIP
export const INV_IN = 0x01; // IPT_INV_VIA_IN
export const INV_OUT = 0x02; // IPT_INV_VIA_OUT
export const INV_PROTO = 0x40; // XT_INV_PROTO
export const INV_FRAG = 0x20; // IPT_INV_FRAG

export interface Rule {
  /** Address already masked, as iptables stores it; int32 so it compares with `&`. */
  src: number;
  smsk: number;
  dst: number;
  dmsk: number;
  /** Interface name without the trailing '+'; '' = any. */
  inIf: string;
  inWild: boolean;
  outIf: string;
  outWild: boolean;
  proto: number;
  fragment: boolean;
  inv: number;
  matches: NfMatch[];
  /** The matches traversal runs: `matches` less the inert ones (comments). */
  live: NfMatch[];
  target: NfTarget;
  /** target.kind, kept on the rule so traversal reads one object shape (targets are many classes). */
  kind: number;
  /** RT_* bits: the parts of the rule a packet must be tested against (ruleTests); 0 matches every packet. */
  test: number;
  /** The chain a jump/goto target enters, linked when the ruleset is committed. */
  jump: Chain | null;
  /** Packets at `at`, bytes at `at + 1`, in the ruleset's CounterCells (given when the rule is inserted). */
  cells: Float64Array;
  at: number;
  /** Where the rule came from, for error messages and traces. */
  line: number;
  targetColumn: number;
}

export const RT_SRC = 1, RT_DST = 2, RT_IN = 4, RT_OUT = 8, RT_PROTO = 16, RT_FRAG = 32, RT_MATCHES = 64;

/**
 * Which parts of the rule can fail a packet: most Neutron rules are a bare
 * `-j CHAIN` or test one interface, and traversal skips the rest unread.
 */
export function ruleTests(r: Omit<Rule, 'test' | 'kind'>): number {
  let t = 0;
  if (r.src !== 0 || r.smsk !== 0 || r.inv & INV_SRC) t |= RT_SRC;
  if (r.dst !== 0 || r.dmsk !== 0 || r.inv & INV_DST) t |= RT_DST;
  if (r.inIf !== '' || r.inWild) t |= RT_IN;
  if (r.outIf !== '' || r.outWild) t |= RT_OUT;
  if (r.proto !== 0) t |= RT_PROTO;
  if (r.fragment || r.inv & INV_FRAG) t |= RT_FRAG;
  if (r.live.length > 0) t |= RT_MATCHES;
  return t;
}

/** A rule's packets and bytes. */
export function ruleCounts(r: Rule): [number, number] {
  return [r.cells[r.at]!, r.cells[r.at + 1]!];
}

/** Protocol names iptables prints (xtables_chain_protos, then /etc/protocols). */
const PROTO_NAMES: Record<number, string> = {
  1: 'icmp', 2: 'igmp', 4: 'ipencap', 6: 'tcp', 17: 'udp', 33: 'dccp', 41: 'ipv6', 47: 'gre', 50: 'esp', 51: 'ah',
  58: 'ipv6-icmp', 89: 'ospf', 103: 'pim', 112: 'vrrp', 132: 'sctp', 136: 'udplite',
};

/** xtables_chain_protos: names -L prints without a /etc/protocols lookup (with -n, the only names). */
const CHAIN_PROTOS = new Set([0, 1, 6, 17, 50, 51, 58, 132, 136]);

export function protoByName(name: string): number {
  if (name === 'all') return 0;
  if (/^\d+$/.test(name)) return Number(name) <= 255 ? Number(name) : -1;
  const lower = name.toLowerCase();
  if (lower === 'icmpv6') return 58;
  for (const [num, n] of Object.entries(PROTO_NAMES)) if (n === lower) return Number(num);
  return -1;
}

export function protoSaveName(proto: number): string {
  return PROTO_NAMES[proto] ?? String(proto);
}

/**
 * proto_to_name: the built-in names, then (without -n) /etc/protocols, else
 * the number. That is 1.8.9's order; 1.8.7 asked /etc/protocols first, which
 * gives the built-in numbers the same names.
 */
export function protoListName(proto: number, names: ListNames | null = null): string {
  if (proto === 0) return 'all';
  if (CHAIN_PROTOS.has(proto)) return PROTO_NAMES[proto]!;
  return names?.protocolByNumber(proto) ?? String(proto);
}

/** An address column: with -n the number, without it `anywhere` for /0, else the address's name (or number) and the mask. */
function addrListText(addr: number, mask: number, names: ListNames | null): string {
  if (names !== null && mask === 0) return 'anywhere';
  return (names?.addrName(addr) ?? formatIpv4(addr)) + maskListText(mask);
}

function ifaceText(name: string, wild: boolean): string {
  return wild ? name + '+' : name;
}

/** The rule as `-A CHAIN ...` (iptables-save / iptables -S); counters as `-c p b` when asked. */
export function ruleSaveText(chain: string, r: Rule, counters: boolean): string {
  let s = `-A ${chain}`;
  if (r.smsk !== 0 || r.src !== 0 || r.inv & INV_SRC) s += `${r.inv & INV_SRC ? ' !' : ''} -s ${formatPrefixSave(r.src >>> 0, r.smsk >>> 0)}`;
  if (r.dmsk !== 0 || r.dst !== 0 || r.inv & INV_DST) s += `${r.inv & INV_DST ? ' !' : ''} -d ${formatPrefixSave(r.dst >>> 0, r.dmsk >>> 0)}`;
  if (r.inIf !== '' || r.inWild) s += `${r.inv & INV_IN ? ' !' : ''} -i ${ifaceText(r.inIf, r.inWild)}`;
  if (r.outIf !== '' || r.outWild) s += `${r.inv & INV_OUT ? ' !' : ''} -o ${ifaceText(r.outIf, r.outWild)}`;
  if (r.proto !== 0) s += `${r.inv & INV_PROTO ? ' !' : ''} -p ${protoSaveName(r.proto)}`;
  if (r.fragment) s += `${r.inv & INV_FRAG ? ' !' : ''} -f`;
  for (const m of r.matches) s += ` -m ${m.name}${m.save()}`;
  if (counters) s += ` -c ${ruleCounts(r).join(' ')}`;
  if (r.target.name !== '') s += ` -${r.target.kind === T_GOTO ? 'g' : 'j'} ${r.target.alias ?? r.target.name}${r.target.save()}`;
  return s;
}

export interface ListFormat {
  verbose: boolean;
  exact: boolean;
  lineNumbers: boolean;
  /** Where names come from; null for -n (numbers only). */
  names: ListNames | null;
}

/** xtables_print_num: numbers as `iptables -L -v` prints them (K/M/G/T unless -x). */
export function listNumber(n: number, f: ListFormat, notable = false): string {
  if (f.exact) return notable ? `${n} ` : `${String(n).padStart(8)} `;
  const fmt = (v: number, suffix: string, width: number) => (notable ? `${v}${suffix} ` : `${String(v).padStart(width)}${suffix} `);
  if (n <= 99999) return fmt(n, '', 5);
  n = Math.floor((n + 500) / 1000);
  if (n <= 9999) return fmt(n, 'K', 4);
  n = Math.floor((n + 500) / 1000);
  if (n <= 9999) return fmt(n, 'M', 4);
  n = Math.floor((n + 500) / 1000);
  if (n <= 9999) return fmt(n, 'G', 4);
  n = Math.floor((n + 500) / 1000);
  return fmt(n, 'T', 4);
}

/** One rule line of `iptables -L [-n] [-v]` (print_firewall, iptables 1.8.7 legacy layout). */
export function ruleListText(r: Rule, num: number, f: ListFormat): string {
  let s = '';
  if (f.lineNumbers) s += `${String(num).padEnd(4)} `;
  if (f.verbose) {
    const [pkts, bytes] = ruleCounts(r);
    s += listNumber(pkts, f) + listNumber(bytes, f);
  }
  s += `${r.target.name.padEnd(9)} `;
  s += r.inv & INV_PROTO ? '!' : ' ';
  s += protoListName(r.proto, f.names).padEnd(5);
  s += `${r.inv & INV_FRAG ? '!' : '-'}${r.fragment ? 'f' : '-'} `;
  if (f.verbose) {
    const any = f.names === null ? '*' : 'any';
    const inName = (r.inv & INV_IN ? '!' : '') + (r.inIf !== '' || r.inWild ? ifaceText(r.inIf, r.inWild) : any);
    const outName = (r.inv & INV_OUT ? '!' : '') + (r.outIf !== '' || r.outWild ? ifaceText(r.outIf, r.outWild) : any);
    s += ` ${inName.padEnd(6)} ${outName.padEnd(6)} `;
  }
  s += (r.inv & INV_SRC ? '!' : ' ') + addrListText(r.src >>> 0, r.smsk >>> 0, f.names).padEnd(19) + ' ';
  s += (r.inv & INV_DST ? '!' : ' ') + addrListText(r.dst >>> 0, r.dmsk >>> 0, f.names).padEnd(19) + ' ';
  if (r.target.kind === T_GOTO) s += '[goto] ';
  for (const m of r.matches) s += m.print(f.names);
  s += r.target.print();
  return s;
}
