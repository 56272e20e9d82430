// `ip rule` text: the arguments of `ip [-6] rule add|del` (iproute2
// ip/iprule.c iprule_modify) and the lines `ip rule show` prints
// (print_rule): "PRIO:\tSELECTOR ACTION", fields joined by single spaces, no
// trailing space. IPv4's and IPv6's rules read and print alike but for
// their prefixes.

import { formatIp4, parsePrefix } from './addr.js';
import { type Family, type Token, TokenStream, familyPrefix, matches, parsePrefix6, tokenize } from './ip-tokens.js';
import { RTPROT_KERNEL, dsfieldFromName, dsfieldName, parseU32, protoFromName, protoName, tableFromName, tableName } from './names.js';
import { type FibRule, type PortRange, type RuleAddr } from './rules.js';
import { type RuleSpec } from './specs.js';
import { RtnlError, invarg, nextArg, notPrefix } from './errors.js';
import { inPrefix, inPrefix6 } from '../wire/addr.js';
import { ip6ToString } from '../wire/tcpdump-text.js';

const IP_PROTOS: Record<string, number> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, sctp: 132 };
export const ipprotoName = (n: number) => Object.entries(IP_PROTOS).find(([, v]) => v === n)?.[0] ?? String(n);

const KEYWORDS = [
  'not', 'from', 'to', 'preference', 'order', 'priority', 'tos', 'dsfield', 'fwmark', 'realms', 'protocol', 'tun_id',
  'table', 'lookup', 'suppress_prefixlength', 'suppress_ifgroup', 'dev', 'iif', 'oif', 'l3mdev', 'uidrange', 'nat',
  'map-to', 'ipproto', 'sport', 'dport', 'type', 'goto', 'nop', 'blackhole', 'unreachable', 'prohibit', 'unicast',
];

function portRange(ts: TokenStream, kw: Token): PortRange {
  const v = ts.value(kw);
  const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(v.text);
  const start = m ? Number(m[1]) : NaN;
  const end = m && m[2] !== undefined ? Number(m[2]) : start;
  if (!m || start > 65535 || end > 65535 || end < start) throw ts.error(v, `invalid port range '${v.text}'`);
  return { start, end };
}

/** A rule prefix of the family: IPv4's, or with `v6` IPv6's; undefined: not one. */
function rulePrefix(text: string, v6: boolean): { addr: RuleAddr; len: number } | undefined {
  if (!v6) return parsePrefix(text);
  const p = parsePrefix6(text);
  return p && { addr: p.bytes, len: p.len };
}

/**
 * Parse one rule: `ip [-6] rule add` arguments (after the verb) or a line
 * of `ip rule show` ("3232235777:\tfrom 192.168.1.1/24 lookup 3232235777").
 */
export function parseRule(ts: TokenStream, show: boolean, v6 = false): RuleSpec<RuleAddr> {
  const r: RuleSpec<RuleAddr> = {};
  const first = ts.peek();
  if (first && /^[0-9]+:$/.test(first.text)) {
    ts.next();
    const p = parseU32(first.text.slice(0, -1));
    if (p === undefined) throw ts.error(first, `invalid priority '${first.text}'`);
    r.priority = p;
  } else if (show && first) {
    throw ts.error(first, `expected 'PRIORITY:' at the start of an \`ip rule\` line, found '${first.text}'`);
  }
  while (!ts.done) {
    const t = ts.next();
    const w = t.text;
    if (w === 'not') r.invert = true;
    else if (w === 'from' || w === 'to') {
      const v = ts.value(t);
      const p = rulePrefix(v.text, v6);
      if (!p && !show) {
        // ip sends an IPv6 prefix to IPv4's rules, which refuse its length; -6 wants an IPv6 one.
        if (v6) throw notPrefix(v.text, 'inet6');
        if (parsePrefix6(v.text)) throw new RtnlError('EINVAL', w === 'from' ? 'Invalid source address' : 'Invalid dst address');
      }
      if (!p) throw ts.error(v, `invalid prefix '${v.text}'`);
      if (w === 'from') {
        r.src = p.addr;
        r.srcLen = p.len;
      } else {
        r.dst = p.addr;
        r.dstLen = p.len;
      }
    } else if (matches(w, 'preference') || matches(w, 'order') || matches(w, 'priority')) {
      r.priority = ts.u32(t, 'preference');
    } else if (w === 'tos' || matches(w, 'dsfield')) {
      const v = ts.value(t);
      const n = dsfieldFromName(v.text);
      if (n === undefined) throw ts.error(v, `invalid tos '${v.text}'`);
      // fib6_rule_configure: the DSCP bits alone.
      if (v6 && n & 3 && !show) throw new RtnlError('EINVAL', 'Invalid dsfield (tos): ECN bits must be 0');
      r.tos = n;
    } else if (w === 'fwmark') {
      const v = ts.value(t);
      const [m, k] = v.text.split('/');
      const mark = parseU32(m!);
      const mask = k === undefined ? undefined : parseU32(k);
      if (mark === undefined || (k !== undefined && mask === undefined)) throw ts.error(v, `invalid fwmark '${v.text}'`);
      r.fwmark = mark;
      if (mask !== undefined) r.fwmask = mask;
    } else if (matches(w, 'protocol')) {
      const v = ts.value(t);
      const p = protoFromName(v.text);
      if (p === undefined) throw ts.error(v, `invalid protocol '${v.text}'`);
      r.protocol = p;
    } else if (matches(w, 'table') || w === 'lookup') {
      const v = ts.value(t);
      const id = tableFromName(v.text);
      if (id === undefined) throw ts.error(v, `invalid table '${v.text}'`);
      r.table = id;
    } else if (matches(w, 'suppress_prefixlength') || w === 'sup_pl') {
      const v = ts.value(t);
      const n = Number(v.text);
      if (!/^[0-9]+$/.test(v.text) || n > 0x7fff_ffff) throw ts.error(v, `invalid suppress_prefixlength '${v.text}'`);
      r.suppressPrefixLen = n;
    } else if (matches(w, 'suppress_ifgroup') || w === 'sup_group') {
      const v = ts.value(t);
      const n = v.text === 'default' ? 0 : parseU32(v.text);
      if (n === undefined) throw ts.error(v, `invalid suppress_ifgroup '${v.text}'`);
      r.suppressIfgroup = n;
    } else if (w === 'dev' || w === 'iif' || w === 'oif') {
      const v = ts.value(t);
      if (w === 'oif') r.oif = v.text;
      else r.iif = v.text;
      if (show && ts.peek()?.text === '[detached]') ts.next();
    } else if (w === 'uidrange') {
      const v = ts.value(t);
      const m = /^([0-9]+)-([0-9]+)$/.exec(v.text);
      if (!m) throw ts.error(v, `invalid UID range '${v.text}'`);
      r.uidrange = { start: Number(m[1]), end: Number(m[2]) };
    } else if (w === 'ipproto') {
      const v = ts.value(t);
      const n = IP_PROTOS[v.text] ?? parseU32(v.text);
      if (n === undefined || n > 255) throw ts.error(v, `invalid ipproto '${v.text}'`);
      r.ipproto = n;
    } else if (w === 'sport') r.sport = portRange(ts, t);
    else if (w === 'dport') r.dport = portRange(ts, t);
    else if (matches(w, 'realms') && v6) ts.value(t); // FRA_FLOW: IPv6's rules take it and keep nothing
    else if (matches(w, 'realms') || w === 'nat' || matches(w, 'map-to') || w === 'l3mdev' || matches(w, 'tun_id')) {
      throw ts.error(t, `'${w}' is not supported`);
    } else {
      let a: Token = t;
      if (a.text === 'type') a = ts.value(t);
      if (matches(a.text, 'goto')) {
        r.action = 'goto';
        r.gotoTarget = ts.u32(a, 'goto target');
        if (show && ts.peek()?.text === '[unresolved]') ts.next();
      } else if (matches(a.text, 'nop')) r.action = 'nop';
      else if (a.text === 'blackhole' || a.text === 'unreachable' || a.text === 'prohibit') r.action = a.text;
      else if (a.text === 'unicast') r.action = 'lookup';
      else throw ts.unknown(a, KEYWORDS);
    }
  }
  if (show && r.priority === undefined) throw ts.error(undefined, 'missing priority');
  return r;
}

export function parseRuleLine(line: string, lineNo = 1, source?: string): RuleSpec {
  return parseRule(new TokenStream(tokenize(line), lineNo, source), true) as RuleSpec;
}

export function parseRuleArgs(args: string, lineNo = 1, source?: string): RuleSpec {
  return parseRule(new TokenStream(tokenize(args), lineNo, source), false) as RuleSpec;
}

/** A line of `ip -6 rule show` output. */
export function parseRule6Line(line: string, lineNo = 1, source?: string): RuleSpec<Uint8Array> {
  return parseRule(new TokenStream(tokenize(line), lineNo, source), true, true) as RuleSpec<Uint8Array>;
}

/** `ip -6 rule add|del` arguments. */
export function parseRule6Args(args: string, lineNo = 1, source?: string): RuleSpec<Uint8Array> {
  return parseRule(new TokenStream(tokenize(args), lineNo, source), false, true) as RuleSpec<Uint8Array>;
}

/** A rule's prefix as print_rule prints it: the address, and the length unless the address's own. */
export function rulePrefixText(addr: RuleAddr, len: number): string {
  if (typeof addr === 'number') return `${formatIp4(addr)}${len !== 32 ? `/${len}` : ''}`;
  return `${ip6ToString(addr, 0)}${len !== 128 ? `/${len}` : ''}`;
}

/** print_0xhex's "%#llx": 0 without the prefix. */
export const ruleHex = (n: number): string => (n === 0 ? '0' : `0x${n.toString(16)}`);

/** A line as print_rule prints it (no trailing newline). `unresolved`: a goto whose target is missing; `details`: -d, the protocol always. */
export function formatRule<A extends RuleAddr>(r: FibRule<A>, unresolved = false, details = false): string {
  let s = `${r.priority}:\t`;
  if (r.invert) s += 'not ';
  s += r.srcLen ? `from ${rulePrefixText(r.src, r.srcLen)}` : 'from all';
  if (r.dstLen) s += ` to ${rulePrefixText(r.dst, r.dstLen)}`;
  if (r.tos) s += ` tos ${dsfieldName(r.tos)}`;
  if (r.fwmark || r.fwmask) {
    s += ` fwmark ${ruleHex(r.fwmark)}`;
    if (r.fwmask !== 0xffff_ffff) s += `/${ruleHex(r.fwmask)}`;
  }
  if (r.iif !== undefined) s += ` iif ${r.iif}${r.iifIndex === -1 ? ' [detached]' : ''}`;
  if (r.oif !== undefined) s += ` oif ${r.oif}${r.oifIndex === -1 ? ' [detached]' : ''}`;
  if (r.uidrange) s += ` uidrange ${r.uidrange.start}-${r.uidrange.end}`;
  if (r.ipproto) s += ` ipproto ${ipprotoName(r.ipproto)}`;
  for (const [k, p] of [['sport', r.sport], ['dport', r.dport]] as const) {
    if (p) s += p.start === p.end ? ` ${k} ${p.start}` : ` ${k} ${p.start}-${p.end}`;
  }
  if (r.table) {
    s += ` lookup ${tableName(r.table)}`;
    if (r.suppressPrefixLen !== -1) s += ` suppress_prefixlength ${r.suppressPrefixLen}`;
    if (r.suppressIfgroup !== -1) s += ` suppress_ifgroup ${r.suppressIfgroup === 0 ? 'default' : r.suppressIfgroup}`;
  }
  if (r.action === 'goto') s += ` goto ${r.gotoTarget}${unresolved ? ' [unresolved]' : ''}`;
  else if (r.action === 'nop') s += ' nop';
  else if (r.action !== 'lookup') s += ` ${r.action}`;
  if ((r.protocol && r.protocol !== RTPROT_KERNEL) || details) s += ` proto ${protoName(r.protocol)}`;
  return s;
}

/** A goto whose target priority no rule has. */
export const gotoUnresolved = <A extends RuleAddr>(r: FibRule<A>, all: readonly FibRule<A>[]): boolean => r.action === 'goto' && !all.some((x) => x.priority === r.gotoTarget);

/**
 * `ip rule show|flush SELECTOR` (iprule_list_flush_or_save's words,
 * filter_nlmsg's tests): which rules to list, or with `flush` to delete (the
 * protocol too). A prefix selects the rules whose own prefix is at least as
 * long and agrees on its bits; `table` the rules that look it up.
 */
export function parseRuleFilter<A extends RuleAddr>(words: readonly string[], family: Family = 'inet', flush = false): (r: FibRule<A>) => boolean {
  const tests: ((r: FibRule<A>) => boolean)[] = [];
  const within = (p: { addr: RuleAddr; len: number }, addr: RuleAddr, len: number) =>
    p.len <= len && (typeof addr === 'number' ? typeof p.addr === 'number' && inPrefix(addr, p.addr, p.len) : typeof p.addr !== 'number' && inPrefix6(addr, p.addr, p.len));
  // A selector's prefix: IPv6's under -6 (ip's get_prefix of AF_INET6), else familyPrefix's.
  const prefix = (w: string): { addr: RuleAddr; len: number } => {
    if (family !== 'inet6') return familyPrefix(w, family);
    const p = parsePrefix6(w);
    if (!p) throw notPrefix(w, 'inet6');
    return { addr: p.bytes, len: p.len };
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const next = (): string => nextArg(words, ++i);
    if (matches(w, 'preference') || matches(w, 'order') || matches(w, 'priority')) {
      const v = next(), pref = parseU32(v);
      if (pref === undefined) throw invarg('preference value is invalid\n', v);
      tests.push((r) => r.priority === pref);
    } else if (w === 'not') tests.push((r) => r.invert);
    else if (w === 'fwmark') {
      const v = next(), [m, k] = v.split('/', 2) as [string, string | undefined];
      const mark = parseU32(m);
      if (mark === undefined) throw invarg('fwmark value is invalid\n', m);
      const mask = k === undefined ? undefined : parseU32(k);
      if (k !== undefined && mask === undefined) throw invarg('fwmask value is invalid\n', k);
      // A zero value selects nothing (filter.fwmark is only a test when set).
      if (mark !== 0) tests.push((r) => r.fwmark === mark);
      if (mask) tests.push((r) => (r.fwmark || r.fwmask ? r.fwmask : 0) === mask);
    } else if (w === 'dev' || w === 'iif') {
      const v = next();
      tests.push((r) => r.iif === v);
    } else if (w === 'oif') {
      const v = next();
      tests.push((r) => r.oif === v);
    } else if (matches(w, 'lookup') || matches(w, 'table')) {
      const v = next(), t = tableFromName(v);
      if (t === undefined) throw invarg('table id value is invalid\n', v);
      if (t > 0) tests.push((r) => r.action === 'lookup' && r.table === t);
    } else if (matches(w, 'from') || matches(w, 'src')) {
      const p = prefix(next());
      tests.push((r) => within(p, r.src, r.srcLen));
    } else if (w === 'tos') {
      const v = next(), tos = dsfieldFromName(v);
      if (tos === undefined) throw invarg('TOS value is invalid\n', v);
      tests.push((r) => r.tos === tos);
    } else if (w === 'l3mdev' || matches(w, 'tun_id')) {
      // dpemu's rules have neither: such a selector lists none (a tun_id's value must still parse).
      if (w !== 'l3mdev' && parseU32(next()) === undefined) throw invarg('"tun_id" value is invalid\n', words[i]!);
      tests.push(() => false);
    } else if (w === 'uidrange') {
      const v = next(), m = /^([0-9]+)-([0-9]+)/.exec(v);
      if (!m) throw invarg('invalid UID range\n', v);
      tests.push((r) => r.uidrange?.start === Number(m[1]) && r.uidrange?.end === Number(m[2]));
    } else if (w === 'sport' || w === 'dport') {
      const v = next(), m = /^([0-9]+)(?:-([0-9]+))?/.exec(v);
      if (!m) throw invarg(w === 'sport' ? 'invalid port range\n' : 'invalid dport range\n', v);
      const start = Number(m[1]) & 0xffff, end = Number(m[2] ?? m[1]) & 0xffff;
      if (start !== 0) tests.push((r) => r[w]?.start === start && r[w]?.end === end);
    } else if (matches(w, 'protocol')) {
      // Only a flush tests the protocol (flush_rule); a listing reads the word and lists as without it.
      const v = next(), p = protoFromName(v);
      if (p === undefined && v !== 'all') throw invarg('invalid "protocol"\n', v);
      if (flush && p !== undefined) tests.push((r) => r.protocol === p);
    } else if (w === 'ipproto') {
      const v = next(), n = IP_PROTOS[v] ?? parseU32(v);
      if (n === undefined || n > 255) throw invarg('Invalid "ipproto" value\n', v);
      if (n !== 0) tests.push((r) => r.ipproto === n);
    } else {
      const p = prefix(matches(w, 'dst') || matches(w, 'to') ? next() : w);
      tests.push((r) => within(p, r.dst, r.dstLen));
    }
  }
  return (r) => tests.every((t) => t(r));
}
