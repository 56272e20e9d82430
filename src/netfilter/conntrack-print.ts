// `conntrack -L` / `conntrack -S` output, after libnetfilter_conntrack's
// default format (snprintf_default.c).

import type { Conntrack } from './conntrack.js';
import type { CtEntry, CtTuple } from './conntrack-entry.js';
import { IPPROTO_ICMP, IPS_ASSURED, IPS_SEEN_REPLY } from './constants.js';
import { TCP_STATE_NAMES } from './conntrack-tcp.js';
import { formatIpv4 } from './ipv4-addr.js';

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 33: 'dccp', 47: 'gre', 132: 'sctp', 136: 'udplite' };

export interface ConntrackListOptions {
  /** -o extended: prefix each line with the layer 3 protocol. */
  extended?: boolean;
  /** Print packets=/bytes= (nf_conntrack_acct=1); defaults to the table's acct setting. */
  acct?: boolean;
}

function tupleText(t: CtTuple): string {
  let s = `src=${formatIpv4(t.src)} dst=${formatIpv4(t.dst)} `;
  if (t.proto === IPPROTO_ICMP) s += `type=${t.dport >>> 8} code=${t.dport & 0xff} id=${t.sport} `;
  else if (t.proto === 6 || t.proto === 17) s += `sport=${t.sport} dport=${t.dport} `;
  return s;
}

/** One entry as conntrack -L prints it. */
export function conntrackEntryText(ct: Conntrack, e: CtEntry, now: number, opts: ConntrackListOptions = {}): string {
  const acct = opts.acct ?? ct.acct;
  const proto = e.proto;
  let s = opts.extended ? 'ipv4     2 ' : '';
  s += `${(PROTO_NAMES[proto] ?? 'unknown').padEnd(8)} ${proto} ${ct.secondsLeft(e, now)} `;
  if (e.tcpState >= 0) s += `${TCP_STATE_NAMES[e.tcpState]} `;
  s += tupleText(e.orig);
  if (acct) s += `packets=${e.packets(0)} bytes=${e.bytes(0)} `;
  if (!(e.status & IPS_SEEN_REPLY)) s += '[UNREPLIED] ';
  s += tupleText(e.reply);
  if (acct) s += `packets=${e.packets(1)} bytes=${e.bytes(1)} `;
  if (e.status & IPS_ASSURED) s += '[ASSURED] ';
  s += `mark=${e.mark} use=1`;
  return s;
}

/** conntrack -L: one line per live entry (expired ones are not shown). */
export function conntrackList(ct: Conntrack, now: number, opts: ConntrackListOptions = {}): string[] {
  return ct.list().filter((e) => e.deadline > now).map((e) => conntrackEntryText(ct, e, now, opts));
}

/** The summary conntrack prints on stderr after -L. */
export function conntrackSummary(shown: number): string {
  return `conntrack v1.4.6 (conntrack-tools): ${shown} flow entries have been shown.`;
}

/** conntrack -S (one cpu). */
export function conntrackStatsText(ct: Conntrack): string {
  const s = ct.stats;
  return `cpu=0   \tfound=${s.found} invalid=${s.invalid} insert=${s.insert} insert_failed=${s.insert_failed} ` +
    `drop=${s.drop} early_drop=${s.early_drop} error=${s.error} search_restart=${s.search_restart}`;
}
