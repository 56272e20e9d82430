// `conntrack -L` / `conntrack -E` / `conntrack -S` output, after libnetfilter_conntrack's
// default format (snprintf_default.c).

import type { Conntrack } from './conntrack.js';
import type { CtEntry, CtTuple } from './conntrack-entry.js';
import { IPPROTO_ICMP, IPS_ASSURED, IPS_SEEN_REPLY } from './constants.js';
import { CT_EVENT_DESTROY, CT_EVENT_NEW, CT_EVENT_UPDATE } from './conntrack-events.js';
import { TCP_STATE_NAMES } from './conntrack-tcp.js';
import { formatIpv4 } from './ipv4-addr.js';

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 33: 'dccp', 47: 'gre', 132: 'sctp', 136: 'udplite' };

export interface ConntrackListOptions {
  /** -o extended: prefix each line with the layer 3 protocol. */
  extended?: boolean;
  /** Print packets=/bytes= (nf_conntrack_acct=1); defaults to the table's acct setting. */
  acct?: boolean;
  /** The reference count shown: 1 in a dump, 2 for conntrack -G (the kernel's get holds one more while it answers). */
  use?: number;
}

function tupleText(t: CtTuple): string {
  let s = `src=${formatIpv4(t.src)} dst=${formatIpv4(t.dst)} `;
  if (t.proto === IPPROTO_ICMP) s += `type=${t.dport >>> 8} code=${t.dport & 0xff} id=${t.sport} `;
  else if (t.proto === 6 || t.proto === 17) s += `sport=${t.sport} dport=${t.dport} `;
  return s;
}

/**
 * An entry's fields up to its status flags, as libnetfilter_conntrack's
 * default format prints them (each followed by a space). `timeoutIfZero`:
 * a dump always carries the timeout, an event only when some is left
 * (ctnetlink_dump_timeout skips 0).
 */
function entryFields(ct: Conntrack, e: CtEntry, now: number, extended: boolean, acct: boolean, timeoutIfZero: boolean): string {
  const proto = e.proto;
  const left = ct.secondsLeft(e, now);
  let s = extended ? 'ipv4     2 ' : '';
  s += `${(PROTO_NAMES[proto] ?? 'unknown').padEnd(8)} ${proto} `;
  if (left > 0 || timeoutIfZero) s += `${left} `;
  if (e.tcpState >= 0) s += `${TCP_STATE_NAMES[e.tcpState]} `;
  s += tupleText(e.orig);
  if (acct) s += `packets=${e.packets(0)} bytes=${e.bytes(0)} `;
  if (!(e.status & IPS_SEEN_REPLY)) s += '[UNREPLIED] ';
  s += tupleText(e.reply);
  if (acct) s += `packets=${e.packets(1)} bytes=${e.bytes(1)} `;
  if (e.status & IPS_ASSURED) s += '[ASSURED] ';
  return s;
}

/** One entry as conntrack -L prints it. */
export function conntrackEntryText(ct: Conntrack, e: CtEntry, now: number, opts: ConntrackListOptions = {}): string {
  return `${entryFields(ct, e, now, opts.extended ?? false, opts.acct ?? ct.acct, true)}mark=${e.mark} use=${opts.use ?? 1}`;
}

export interface ConntrackEventOptions {
  /** -o extended */
  extended?: boolean;
  /** -o id: the entry's id last. */
  id?: boolean;
}

const EVENT_NAMES: Record<number, string> = { [CT_EVENT_NEW]: '[NEW]', [CT_EVENT_UPDATE]: '[UPDATE]', [CT_EVENT_DESTROY]: '[DESTROY]' };

/**
 * One event as conntrack -E prints it (checked against conntrack-tools 1.4.7
 * on Linux 6.x): the type right-aligned in 9 columns; no use= (events do not
 * carry it), the mark when set or `markChanged` (CtEventListener), the
 * counters (acct) on a DESTROY alone, as ctnetlink fills its event messages;
 * a change asked from user space names the process's netlink port
 * (conntrack -D, -F, -U).
 */
export function conntrackEventText(
  ct: Conntrack, type: number, e: CtEntry, now: number, portid: number, opts: ConntrackEventOptions = {}, markChanged = false,
): string {
  let s = `${EVENT_NAMES[type]!.padStart(9)} `;
  s += entryFields(ct, e, now, opts.extended ?? false, ct.acct && type === CT_EVENT_DESTROY, false);
  if (e.mark !== 0 || markChanged) s += `mark=${e.mark} `;
  if (opts.id) s += `id=${e.id} `;
  s = s.trimEnd();
  if (portid !== 0) s += ` [USERSPACE] portid=${portid} progname=conntrack`;
  return s;
}

/** conntrack -E -o timestamp's prefix: when the event was read, `[seconds.microseconds]` and a tab. */
export function conntrackEventStamp(us: number): string {
  return `[${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}]\t`;
}

/** conntrack -L: one line per live entry (expired ones are not shown). */
export function conntrackList(ct: Conntrack, now: number, opts: ConntrackListOptions = {}): string[] {
  return ct.list().filter((e) => e.deadline > now).map((e) => conntrackEntryText(ct, e, now, opts));
}

/** The conntrack-tools whose behaviour dpemu's conntrack has (and whose version it names: -V, -h, every summary and error). */
export const CONNTRACK_VERSION = '1.4.7';
/** How conntrack names itself: -V's line, the prefix of its summaries and errors. */
export const CONNTRACK_TOOL = `conntrack v${CONNTRACK_VERSION} (conntrack-tools)`;

/** The summary conntrack prints on stderr after -L. */
export function conntrackSummary(shown: number): string {
  return `${CONNTRACK_TOOL}: ${shown} flow entries have been shown.`;
}

/** What conntrack prints on stderr when -E ends. */
export function conntrackEventsSummary(table: string, shown: number): string {
  return `${CONNTRACK_TOOL}: ${shown} ${table === 'expect' ? 'expectation' : 'flow'} events have been shown.`;
}

/** conntrack -S (one cpu). */
export function conntrackStatsText(ct: Conntrack): string {
  const s = ct.stats;
  return `cpu=0   \tfound=${s.found} invalid=${s.invalid} insert=${s.insert} insert_failed=${s.insert_failed} ` +
    `drop=${s.drop} early_drop=${s.early_drop} error=${s.error} search_restart=${s.search_restart}`;
}
