// MLDv2 (net/ipv6/mcast.c) for the groups a device with IPv6 joins, run
// off the namespace's tick as DAD is (dad6.ts): no timer of its own, state
// on the device (Interface.mld6). The groups reported are addrconf's (all
// but ff02::1 and the interface-local ones, MAF_NOREPORT): each address's
// solicited-node group (joined at add, tentative or not), and with
// forwarding ff02::2, ff05::2 when forwarding was turned on later (the
// kernel's registration joins ff02::2 alone) and, once DAD is over, the
// solicited-node group of each prefix's subnet-router anycast (below /127).
// A report lists them newest first (the kernel's mc_list). A change at
// runtime (mldChange) gives each group joined a change record (CHANGE_TO_
// EXCLUDE) and each one left its CHANGE_TO_INCLUDE (the mc_tomb, newest
// left first), robustness (2, mc_qrv) times: the interface change work sends
// them now, then robustness-1 more after a random delay below the device's
// mldv2_unsolicited_report_interval (1000 ms). `ip -6 addr add` on an up device
// (ipv6_find_idev's ipv6_mc_up) gives every group its records again, as the
// carrier coming back to a device addrconf had set up does (NETDEV_CHANGE). A
// general query (from a link-local, hop limit 1, router alert) is answered
// after a random delay below its maximum response delay with one report of
// every group (MODE_IS_EXCLUDE); a group-specific one with that group's.
// The source is the device's link-local (ipv6_get_lladdr), `::` while it
// has none; the frame: to ff02::16 (33:33:00:00:00:16), hop limit 1, a
// hop-by-hop header with the router alert (MLD) and PadN, no sources.
// Measured against Linux 6.18 (test/e2e/mld-kernel.test.ts). Not modelled:
// MLDv1 (force_mld_version, a v1 query's fallback), a query's robustness and
// interval, source-specific queries, the reports of a device coming up or
// getting its first carrier (the kernel's link-local runs DAD first:
// dpemu's is valid at once), a
// report's split past the MTU, the groups' order after the device went
// down and up (the kernel's rejoin reorders them).

import { ip6Equal } from '../wire/ipv6.js';
import { ip6ToString } from '../wire/tcpdump-text.js';
import { IFA_F_TENTATIVE, prefixOf } from './inet6.js';
import type { Interface } from './interfaces.js';

/** MLD2 record types (RFC 3810 5.2.12). */
export const MLD2_MODE_IS_EXCLUDE = 2, MLD2_CHANGE_TO_INCLUDE = 3, MLD2_CHANGE_TO_EXCLUDE = 4;
/** mc_qrv (sysctl_mld_qrv's default, RFC 3810's robustness). */
const MLD_QRV = 2;

/** A group the device reports, with the order it joined in (a larger `seq` is newer). */
export interface Mld6Group {
  bytes: Uint8Array;
  text: string;
  seq: number;
}

/** A record of a report: its type and group. */
export interface Mld6Record {
  type: number;
  group: Uint8Array;
}

/** A device's MLD state (the kernel's inet6_dev mc_* fields and each group's mca_crcount). */
export interface Mld6State {
  /** The change records each group joined still sends (by group text). */
  cr: Map<string, number>;
  /** The groups left whose CHANGE_TO_INCLUDE records are still to go, newest left first (mc_tomb). */
  tomb: { group: Mld6Group; left: number }[];
  /** mc_ifc_count and when the interface change work runs next (Infinity: not). */
  ifcLeft: number;
  ifcAt: number;
  /** The general query's answer (mc_gq_work): when due, Infinity none. */
  gqAt: number;
  /** Group-specific queries' answers (each group's mca_work): group text to when due. */
  gsq: Map<string, number>;
}

const ff = (scope: number, last: number): Uint8Array => new Uint8Array([0xff, scope, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]);
const ALL_ROUTERS = ff(2, 2), SITE_ROUTERS = ff(5, 2);

/** ff02::1:ffXX:XXXX for the last three bytes of `b`. */
function solicited(b: Uint8Array): Uint8Array {
  const g = new Uint8Array(16);
  g[0] = 0xff;
  g[1] = 2;
  g[11] = 1;
  g[12] = 0xff;
  g[13] = b[13]!;
  g[14] = b[14]!;
  g[15] = b[15]!;
  return g;
}

/** The groups the device reports now, newest first (empty: none, the device down or without IPv6). */
export function mldGroups(l: Interface): Mld6Group[] {
  // addrconf_join_solict skips lo and NOARP devices; a device down or without IPv6 reports nothing.
  if (!l.up || l.kind === 'loopback' || l.noarp || l.idev6 === 0 || l.conf6.disable_ipv6 !== 0) return [];
  const by = new Map<string, Mld6Group>();
  const join = (bytes: Uint8Array, seq: number) => {
    const text = ip6ToString(bytes, 0), g = by.get(text);
    if (!g) by.set(text, { bytes, text, seq });
    else if (seq < g.seq) g.seq = seq;
  };
  const fwd = l.conf6.forwarding !== 0, fwdSeq = l.fwd6Seq ?? 0;
  if (fwd) {
    join(ALL_ROUTERS, fwdSeq);
    if (l.fwd6Seq !== undefined) join(SITE_ROUTERS, fwdSeq + 0.2);
  }
  for (const a of l.addrs6) {
    join(solicited(a.bytes), a.seq);
    // addrconf_join_anycast once DAD is over: the prefix's subnet-router anycast's group, after the address's.
    if (fwd && a.prefixLen < 127 && (a.flags & IFA_F_TENTATIVE) === 0) {
      join(solicited(prefixOf(a.bytes, a.prefixLen)), Math.max(a.seq, fwdSeq) + 0.5);
    }
  }
  return [...by.values()].sort((x, y) => y.seq - x.seq);
}

const state = (l: Interface): Mld6State => (l.mld6 ??= { cr: new Map(), tomb: [], ifcLeft: 0, ifcAt: Infinity, gqAt: Infinity, gsq: new Map() });

/**
 * After a runtime change of the device (`before`: its groups then): the
 * groups joined get their change records (`all`: every group, ipv6_mc_up),
 * those left their tomb records, and the interface change work runs now
 * (mld_ifc_event). Returns when it is due (Infinity: nothing to send).
 */
export function mldChange(l: Interface, before: readonly Mld6Group[], all: boolean, now: number): number {
  const after = mldGroups(l);
  if (after.length === 0 && !l.up) {
    delete l.mld6;
    return Infinity;
  }
  const had = new Set(before.map((g) => g.text)), has = new Set(after.map((g) => g.text));
  const joined = after.filter((g) => all || !had.has(g.text)), left = before.filter((g) => !has.has(g.text));
  if (joined.length === 0 && left.length === 0) return Infinity;
  const s = state(l);
  for (const g of joined) {
    s.cr.set(g.text, MLD_QRV);
    // mld_del_delrec: a group joined again sends no leave.
    s.tomb = s.tomb.filter((t) => t.group.text !== g.text);
  }
  for (const g of left) s.cr.delete(g.text);
  s.tomb = [...left.map((group) => ({ group, left: MLD_QRV })), ...s.tomb];
  s.ifcLeft = MLD_QRV;
  s.ifcAt = now;
  return now;
}

/** The device went down or lost IPv6 (ipv6_mc_down): its MLD work stops, nothing sent. */
export function mldStop(l: Interface): void {
  delete l.mld6;
}

/** What the MLD work needs of its namespace. */
export interface MldHost {
  /** Send a report of these records out of the device. */
  report(l: Interface, records: Mld6Record[]): void;
  /** A random integer in [0, n). */
  randomBelow(n: number): number;
}

/** The MLD work due by `now` on each device; returns the next deadline (Infinity: none). */
export function mldRun(links: readonly Interface[], now: number, host: MldHost): number {
  let next = Infinity;
  for (const l of links) {
    const s = l.mld6;
    if (!s) continue;
    if (s.ifcAt <= now) ifcWork(l, s, now, host);
    if (s.gqAt <= now) {
      s.gqAt = Infinity;
      const recs = mldGroups(l).map((g) => ({ type: MLD2_MODE_IS_EXCLUDE, group: g.bytes }));
      if (recs.length !== 0) host.report(l, recs);
    }
    for (const [text, at] of s.gsq) {
      if (at > now) continue;
      s.gsq.delete(text);
      const g = mldGroups(l).find((x) => x.text === text);
      if (g) host.report(l, [{ type: MLD2_MODE_IS_EXCLUDE, group: g.bytes }]);
    }
    if (s.ifcAt === Infinity && s.gqAt === Infinity && s.gsq.size === 0 && s.tomb.length === 0) delete l.mld6;
    else next = Math.min(next, s.ifcAt, s.gqAt, ...s.gsq.values());
  }
  return next;
}

/** mld_ifc_work: mld_send_cr (the tomb's records, then the groups', newest first), then the next run. */
function ifcWork(l: Interface, s: Mld6State, now: number, host: MldHost): void {
  const recs: Mld6Record[] = [];
  for (const t of s.tomb) {
    recs.push({ type: MLD2_CHANGE_TO_INCLUDE, group: t.group.bytes });
    t.left--;
  }
  s.tomb = s.tomb.filter((t) => t.left > 0);
  for (const g of mldGroups(l)) {
    const n = s.cr.get(g.text) ?? 0;
    if (n === 0) continue;
    recs.push({ type: MLD2_CHANGE_TO_EXCLUDE, group: g.bytes });
    if (n > 1) s.cr.set(g.text, n - 1);
    else s.cr.delete(g.text);
  }
  if (recs.length !== 0) host.report(l, recs);
  s.ifcLeft--;
  // unsolicited_report_interval: the device's mldv2_unsolicited_report_interval, at least a jiffy.
  s.ifcAt = s.ifcLeft > 0 ? now + host.randomBelow(Math.max(1, l.conf6.mldv2_unsolicited_report_interval)) : Infinity;
}

/**
 * An MLDv2 query for `group` (all zeros: general) with its maximum
 * response delay (ms): the answer's work is due at a random time below it
 * (a group-specific one only for a group the device reports, and not later
 * than one already due). Returns when.
 */
export function mldQuery(l: Interface, group: Uint8Array, goff: number, maxDelayMs: number, now: number, host: MldHost): number {
  const general = group.subarray(goff, goff + 16).every((x) => x === 0);
  const groups = mldGroups(l);
  if (groups.length === 0) return Infinity;
  const at = now + host.randomBelow(Math.max(1, maxDelayMs));
  const s = state(l);
  if (general) return (s.gqAt = at);
  const g = groups.find((x) => ip6Equal(x.bytes, 0, group, goff));
  if (!g) return Infinity;
  const was = s.gsq.get(g.text);
  const due = was !== undefined && was < at ? was : at;
  s.gsq.set(g.text, due);
  return due;
}

/** mldv2_mrc: the query's Maximum Response Code in ms (RFC 3810 5.1.3's exponential form from 32768). */
export function mldv2Mrc(code: number): number {
  return code < 0x8000 ? code : ((code & 0x0fff) | 0x1000) << (((code >> 12) & 7) + 3);
}
