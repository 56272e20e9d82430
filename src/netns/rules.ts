// Policy routing rules (net/core/fib_rules.c, net/ipv4/fib_rules.c,
// net/ipv6/fib6_rules.c): an ordered list walked from the lowest priority;
// a rule whose selector matches runs its action; a `lookup` that finds
// nothing (or hits a `throw` route, or is refused by suppress_*) falls
// through to the next rule. Nothing matching at all is ENETUNREACH. The
// list and its changes are one family's, IPv4's (an Ip4 prefix) or IPv6's
// (16 bytes); the walk over IPv4's tables is here, IPv6's in
// route6-output.ts.

import { type Ip4, inPrefix } from './addr.js';
import { ip6Equal } from '../wire/ipv6.js';
import { RtnlError } from './errors.js';
import { type FibTables, type Route, type TableFlow, IPTOS_RT_MASK } from './fib.js';
import { RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN, RTPROT_KERNEL } from './names.js';

export type RuleAction = 'lookup' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';

export interface PortRange {
  start: number;
  end: number;
}

/** A rule's address: IPv4's as a number, IPv6's as its 16 bytes. */
export type RuleAddr = Ip4 | Uint8Array;

export interface FibRule<A extends RuleAddr = Ip4> {
  priority: number;
  /** `not`: the selector's result is inverted. */
  invert: boolean;
  /** Source prefix as given; host bits are kept (and printed), the match masks them. */
  src: A;
  srcLen: number;
  dst: A;
  dstLen: number;
  tos: number;
  fwmark: number;
  /** mark_mask: 0xffffffff when a nonzero fwmark came without a mask. */
  fwmask: number;
  iif?: string;
  oif?: string;
  /** Resolved ifindex of iif/oif: 0 none, -1 detached (no such device: never matches). */
  iifIndex: number;
  oifIndex: number;
  ipproto: number;
  sport?: PortRange;
  dport?: PortRange;
  uidrange?: PortRange;
  action: RuleAction;
  table: number;
  gotoTarget: number;
  /** -1: unset. */
  suppressPrefixLen: number;
  suppressIfgroup: number;
  /** FRA_PROTOCOL; 0 when not given. */
  protocol: number;
}

/** The fields of struct flowi4 that rules and tables read. */
export interface Flow extends TableFlow, RuleFlow {
  src: Ip4;
}

export type LookupErrno = 'ENETUNREACH' | 'EHOSTUNREACH' | 'EACCES' | 'EINVAL';

/** Result of fib_lookup: the route and where it came from, or the error and what raised it. */
export interface FibResult {
  route?: Route;
  /** Table the route (or error route) was found in; 0 when a rule action decided. */
  table: number;
  rule?: FibRule;
  error?: LookupErrno;
}

export type FibRule6 = FibRule<Uint8Array>;

/** An IPv6 rule's address when it has no prefix. */
export const ANY6 = new Uint8Array(16);

export function newRule<A extends RuleAddr = Ip4>(fields: Partial<FibRule<A>> & { priority: number; src: A; dst: A }): FibRule<A> {
  return {
    invert: false, srcLen: 0, dstLen: 0, tos: 0, fwmark: 0, fwmask: 0,
    iifIndex: 0, oifIndex: 0, ipproto: 0, action: 'lookup', table: RT_TABLE_MAIN, gotoTarget: 0,
    suppressPrefixLen: -1, suppressIfgroup: -1, protocol: 0, ...fields,
  };
}

const ROUTE_ERRNO: Record<string, LookupErrno> = {
  blackhole: 'EINVAL',
  unreachable: 'EHOSTUNREACH',
  prohibit: 'EACCES',
  nat: 'EINVAL',
};

/** The fields of a flow every family's rules select on (struct flowi_common, and the ports). */
export interface RuleFlow {
  /** Input ifindex; LOOPBACK_IFINDEX (1) for locally generated packets. */
  iif: number;
  oif: number;
  mark: number;
  /** L4 protocol and ports, for ipproto/sport/dport selectors (0 when unknown). */
  proto: number;
  sport: number;
  dport: number;
  uid: number;
}

/** fib_rule_match's selectors that are no family's (devices, mark, uid) and the protocol and ports both families test. */
export function commonMatch<A extends RuleAddr>(r: FibRule<A>, f: RuleFlow): boolean {
  let ok =
    (r.iifIndex === 0 || r.iifIndex === f.iif) &&
    (r.oifIndex === 0 || r.oifIndex === f.oif) &&
    ((r.fwmark ^ f.mark) & r.fwmask) === 0 &&
    (f.uid >= (r.uidrange?.start ?? 0) && f.uid <= (r.uidrange?.end ?? 0xffff_ffff)) &&
    (r.ipproto === 0 || r.ipproto === f.proto);
  if (ok && r.sport) ok = f.sport >= r.sport.start && f.sport <= r.sport.end;
  if (ok && r.dport) ok = f.dport >= r.dport.start && f.dport <= r.dport.end;
  return ok;
}

/** fib_rule_match + fib4_rule_match. */
export function ruleMatches(r: FibRule, f: Flow): boolean {
  const ok =
    commonMatch(r, f) &&
    (r.srcLen === 0 || inPrefix(f.src, r.src, r.srcLen)) &&
    (r.dstLen === 0 || inPrefix(f.dst, r.dst, r.dstLen)) &&
    (r.tos === 0 || r.tos === (f.tos & IPTOS_RT_MASK));
  return r.invert ? !ok : ok;
}

/** The kernel's default rules (fib_default_rules_init, fib6_rules_net_init): priority and table. */
export const DEFAULT_RULES4: readonly (readonly [number, number])[] = [[0, RT_TABLE_LOCAL], [32766, RT_TABLE_MAIN], [32767, RT_TABLE_DEFAULT]];
export const DEFAULT_RULES6: readonly (readonly [number, number])[] = [[0, RT_TABLE_LOCAL], [32766, RT_TABLE_MAIN]];

/** Two rule addresses are the same. */
const sameAddr = (a: RuleAddr, b: RuleAddr): boolean =>
  typeof a === 'number' || typeof b === 'number' ? a === b : ip6Equal(a, 0, b, 0);

export class RuleSet<A extends RuleAddr = Ip4> {
  private list: FibRule<A>[] = [];
  generation = 0;
  /**
   * Told of each rule added or removed, and of a rule before and after its
   * iif/oif resolution changes; null: the whole list changed.
   */
  watch: ((r: FibRule<A> | null) => void) | null = null;

  /** The family's default rules (IPv4's: 0 local, 32766 main, 32767 default); `any` is its address of no prefix. */
  constructor(any: A, defaults: readonly (readonly [number, number])[]) {
    for (const [priority, table] of defaults) this.list.push(newRule<A>({ priority, table, protocol: RTPROT_KERNEL, src: any, dst: any }));
  }

  rules(): readonly FibRule<A>[] {
    return this.list;
  }

  /** Remove every rule, priority 0 included (which `ip rule flush` spares). */
  clear(): void {
    this.list = [];
    this.generation++;
    this.watch?.(null);
  }

  /** fib_default_rule_pref: one below the second rule's priority. */
  defaultPriority(): number {
    const second = this.list[1];
    return second && second.priority ? second.priority - 1 : 0;
  }

  /**
   * fib_nl_newrule: validate, refuse an identical rule (NLM_F_EXCL), insert
   * after every rule of the same or lower priority.
   */
  add(rule: FibRule<A>): void {
    if (rule.action === 'goto') {
      if (rule.gotoTarget <= rule.priority) throw new RtnlError('EINVAL', 'Backward goto not supported');
    }
    if (rule.action === 'lookup' && rule.table === 0) throw new RtnlError('EINVAL', 'Invalid table');
    if (this.list.some((r) => sameRule(r, rule))) throw new RtnlError('EEXIST');
    let at = 0;
    while (at < this.list.length && this.list[at]!.priority <= rule.priority) at++;
    this.list.splice(at, 0, rule);
    this.generation++;
    this.watch?.(rule);
  }

  /** fib_nl_delrule/rule_find: delete the first rule matching the fields given. */
  delete(m: Partial<FibRule<A>>, userPriority: boolean): FibRule<A> {
    const i = this.list.findIndex(
      (r) =>
        (m.action === undefined || r.action === m.action) &&
        (!m.table || r.table === m.table) &&
        (!userPriority || r.priority === m.priority) &&
        (!m.iif || r.iif === m.iif) &&
        (!m.oif || r.oif === m.oif) &&
        (!m.fwmark || r.fwmark === m.fwmark) &&
        (!m.fwmask || r.fwmask === m.fwmask) &&
        (m.suppressPrefixLen === undefined || m.suppressPrefixLen === -1 || r.suppressPrefixLen === m.suppressPrefixLen) &&
        (!m.ipproto || r.ipproto === m.ipproto) &&
        (!m.protocol || r.protocol === m.protocol) &&
        (!m.srcLen || (r.srcLen === m.srcLen && sameAddr(r.src, m.src!))) &&
        (!m.dstLen || (r.dstLen === m.dstLen && sameAddr(r.dst, m.dst!))) &&
        (!m.tos || r.tos === m.tos),
    );
    if (i < 0) throw new RtnlError('ENOENT');
    const [r] = this.list.splice(i, 1);
    this.generation++;
    this.watch?.(r!);
    return r!;
  }

  /** Remove this very rule (a flush's deletion of each in turn). */
  remove(r: FibRule<A>): void {
    const i = this.list.indexOf(r);
    if (i < 0) return;
    this.list.splice(i, 1);
    this.generation++;
    this.watch?.(r);
  }

  /** Re-resolve iif/oif names after a device appeared or went away. */
  resolveDevices(indexOf: (name: string) => number | undefined): void {
    for (const r of this.list) {
      const iif = r.iif === undefined ? 0 : (indexOf(r.iif) ?? -1);
      const oif = r.oif === undefined ? 0 : (indexOf(r.oif) ?? -1);
      if (iif === r.iifIndex && oif === r.oifIndex) continue;
      this.watch?.(r);
      r.iifIndex = iif;
      r.oifIndex = oif;
      this.watch?.(r);
    }
    this.generation++;
  }

  /**
   * fib_rules_lookup + fib4_rule_action + fib4_rule_suppress. `groupOf`
   * gives a device's group for suppress_ifgroup. With `out` the result is
   * written there and returned (the forwarding path's reused object).
   */
  lookup(this: RuleSet<Ip4>, flow: Flow, tables: FibTables, groupOf?: (ifindex: number) => number, out?: FibResult): FibResult {
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!;
      if (!ruleMatches(r, flow)) continue;
      if (r.action === 'goto') {
        const j = list.findIndex((x) => x.priority === r.gotoTarget);
        if (j < 0) continue; // unresolved goto: skip
        // The kernel re-enters its loop at the target: it must match too.
        i = j - 1;
        continue;
      }
      switch (r.action) {
        case 'nop':
          continue;
        case 'blackhole':
          return result(out, undefined, false, r, 'EINVAL');
        case 'unreachable':
          return result(out, undefined, false, r, 'ENETUNREACH');
        case 'prohibit':
          return result(out, undefined, false, r, 'EACCES');
      }
      const t = tables.get(r.table | 0); // int32: see FibTables
      if (!t) continue;
      const route = t.lookup(flow);
      if (!route || route.type === 'throw') continue;
      const err = ROUTE_ERRNO[route.type];
      if (err) return result(out, route, true, r, err);
      if (route.dstLen <= r.suppressPrefixLen) continue;
      if (r.suppressIfgroup !== -1 && groupOf && groupOf(route.dev) === r.suppressIfgroup) continue;
      return result(out, route, true, r, undefined);
    }
    return result(out, undefined, false, undefined, 'ENETUNREACH');
  }
}

/**
 * The result; `inTable`: the rule's table gave it. (The table id is not an
 * argument: one above 2^31 would be boxed on every call.)
 */
function result(out: FibResult | undefined, route: Route | undefined, inTable: boolean, rule: FibRule | undefined, error: LookupErrno | undefined): FibResult {
  const table = inTable ? rule!.table : 0;
  if (out === undefined) {
    // A fresh object holds only the fields that are set (callers and tests compare them whole).
    const o: FibResult = { table };
    if (route !== undefined) o.route = route;
    if (rule !== undefined) o.rule = rule;
    if (error !== undefined) o.error = error;
    return o;
  }
  out.route = route;
  out.table = table;
  out.rule = rule;
  out.error = error;
  return out;
}

/** A FibResult to reuse with lookup's `out`. */
export function newFibResult(): FibResult {
  return { route: undefined, table: 0, rule: undefined, error: undefined };
}

/** rule_exists: every field equal. */
function sameRule<A extends RuleAddr>(a: FibRule<A>, b: FibRule<A>): boolean {
  return (
    a.priority === b.priority && a.action === b.action && a.table === b.table && a.invert === b.invert &&
    a.srcLen === b.srcLen && sameAddr(a.src, b.src) &&
    a.dstLen === b.dstLen && sameAddr(a.dst, b.dst) && a.tos === b.tos && a.fwmark === b.fwmark &&
    a.fwmask === b.fwmask && a.iif === b.iif && a.oif === b.oif && a.gotoTarget === b.gotoTarget &&
    a.suppressPrefixLen === b.suppressPrefixLen && a.suppressIfgroup === b.suppressIfgroup &&
    a.ipproto === b.ipproto && a.protocol === b.protocol &&
    a.sport?.start === b.sport?.start && a.sport?.end === b.sport?.end &&
    a.dport?.start === b.dport?.start && a.dport?.end === b.dport?.end &&
    a.uidrange?.start === b.uidrange?.start && a.uidrange?.end === b.uidrange?.end
  );
}
