// A light reader of `ip route`, `ip rule` and `ip neigh` text: the facts the
// topology checks need (devices, gateways, tables, addresses) with columns.
// The real parsers (src/netns/ip-*-syntax.ts) decide everything else.
import type { BlockIssue } from './text-blocks.js';
import { parseIp } from './addr.js';

export interface Word {
  readonly text: string;
  readonly col: number;
}

export interface RouteFacts {
  readonly line: number;
  readonly type: string; // unicast, local, broadcast, blackhole, ...
  readonly dst: { readonly ip: number; readonly len: number }; // default = 0/0
  readonly dstCol: number;
  readonly via?: Word & { readonly ip: number };
  readonly dev?: Word;
  readonly table: number; // 254 = main
  readonly scope?: string;
  readonly proto?: string;
  readonly src?: Word & { readonly ip: number };
  readonly onlink: boolean;
  /** With the table and destination, what makes a route the kernel's one (fib_table_insert: EEXIST). */
  readonly metric: number;
  readonly tos: number;
}

export interface RuleFacts {
  readonly line: number;
  readonly priority?: number;
  readonly table?: number;
  readonly iif?: Word;
  readonly oif?: Word;
}

export interface NeighFacts {
  readonly line: number;
  readonly ip: Word & { readonly ip: number };
  readonly dev?: Word;
  readonly lladdr?: Word;
  readonly state: string;
}

export const TABLES: Readonly<Record<string, number>> = { default: 253, main: 254, local: 255 };
const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat']);
const NUD = new Set(['permanent', 'noarp', 'reachable', 'stale', 'delay', 'probe', 'failed', 'incomplete', 'none']);

/** Words of a line with their 1-based columns. */
export function words(line: string): Word[] {
  const out: Word[] = [];
  const re = /\S+/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push({ text: m[0], col: m.index + 1 });
  return out;
}

function u32(s: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s, 16);
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    return n <= 0xffffffff ? n : undefined;
  }
  return undefined;
}

function tableOf(s: string): number | undefined {
  return TABLES[s] ?? u32(s);
}

function content(raw: string): string {
  return raw.replace(/\r$/, '').replace(/#.*$/, '');
}

/** Each non-empty line's words (comments cut), its number, and a way to report an issue at a column of it. */
function eachLine(text: string, issues: BlockIssue[], fn: (w: Word[], line: number, issue: (col: number, message: string) => void) => void): void {
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const w = words(content(raw));
    if (w.length) fn(w, line, (col, message) => void issues.push({ line, col, message }));
  });
}

/** A prefix: `default`, `a.b.c.d` or `a.b.c.d/len`. */
function prefix(s: string): { ip: number; len: number } | undefined {
  if (s === 'default' || s === 'all' || s === 'any') return { ip: 0, len: 0 };
  const [a, l] = s.split('/');
  const ip = parseIp(a ?? '');
  const len = l === undefined ? 32 : /^\d+$/.test(l) ? Number(l) : NaN;
  if (ip === undefined || !(len >= 0 && len <= 32)) return undefined;
  return { ip, len };
}

// Route keywords taking one argument (ip-route(8)); flags take none.
const ROUTE_ARG = new Set([
  'via', 'dev', 'oif', 'table', 'proto', 'protocol', 'scope', 'src', 'metric', 'preference', 'priority', 'mtu', 'advmss',
  'tos', 'dsfield', 'realm', 'realms', 'expires', 'rtt', 'rttvar', 'reordering', 'window', 'cwnd', 'initcwnd',
  'initrwnd', 'ssthresh', 'hoplimit', 'features', 'quickack', 'congctl', 'fastopen_no_cookie', 'pref', 'nhid', 'error',
  'weight', 'from', 'iif', 'ipid', 'used', 'age', 'users',
]);
const ROUTE_FLAG = new Set(['onlink', 'linkdown', 'dead', 'pervasive', 'offload', 'trap', 'rt_offload', 'rt_trap', 'notify', 'cache', 'lock', 'nexthop']);

export function readRoutes(text: string): { routes: RouteFacts[]; issues: BlockIssue[] } {
  const routes: RouteFacts[] = [];
  const issues: BlockIssue[] = [];
  eachLine(text, issues, (w, line, issue) => {
    let k = 0;
    let type = 'unicast';
    if (ROUTE_TYPES.has(w[0]!.text)) type = w[k++]!.text;
    const d = w[k];
    const dst = d && prefix(d.text);
    if (!d || !dst) return issue(d?.col ?? w[0]!.col, `expected a destination prefix or "default", got ${JSON.stringify(d?.text ?? '')}`);
    const r: { -readonly [K in keyof RouteFacts]: RouteFacts[K] } = { line, type, dst, dstCol: d.col, table: type === 'local' || type === 'broadcast' ? 255 : 254, onlink: false, metric: 0, tos: 0 };
    for (k++; k < w.length; k++) {
      const key = w[k]!.text;
      if (ROUTE_FLAG.has(key)) {
        if (key === 'onlink') r.onlink = true;
        continue;
      }
      if (!ROUTE_ARG.has(key)) return issue(w[k]!.col, `unknown route keyword ${JSON.stringify(key)}`);
      const v = w[++k];
      if (!v) return issue(w[k - 1]!.col, `expected a value after ${JSON.stringify(key)}`);
      if (key === 'via' || key === 'src') {
        const ipText = key === 'via' && v.text === 'inet' && w[k + 1] ? w[++k]! : v;
        const ip = parseIp(ipText.text);
        if (ip === undefined) return issue(ipText.col, `expected an IPv4 address after "${key}", got ${JSON.stringify(ipText.text)}`);
        r[key] = { ...ipText, ip };
      } else if (key === 'dev' || key === 'oif') r.dev = v;
      else if (key === 'table') {
        const t = tableOf(v.text);
        if (t === undefined) return issue(v.col, `expected a table id or local/main/default, got ${JSON.stringify(v.text)}`);
        r.table = t;
      } else if (key === 'scope') r.scope = v.text;
      else if (key === 'proto' || key === 'protocol') r.proto = v.text;
      else if (key === 'metric' || key === 'priority' || key === 'preference') r.metric = Number(v.text) || 0;
      else if (key === 'tos' || key === 'dsfield') r.tos = Number(/^[0-9a-f]+$/i.test(v.text) ? `0x${v.text}` : v.text) || 0;
      else if (key === 'mtu' && v.text === 'lock') k++;
    }
    routes.push(r);
  });
  return { routes, issues };
}

// Rule keywords taking one argument (ip-rule(8)).
const RULE_ARG = new Set([
  'from', 'to', 'iif', 'oif', 'fwmark', 'tos', 'dsfield', 'priority', 'preference', 'pref', 'lookup', 'table',
  'suppress_prefixlength', 'suppress_ifgroup', 'realms', 'goto', 'uidrange', 'ipproto', 'sport', 'dport', 'protocol',
  'proto', 'nat', 'map-to', 'tun_id',
]);
const RULE_FLAG = new Set(['not', 'nop', 'l3mdev', 'blackhole', 'unreachable', 'prohibit', '[detached]', 'unicast']);

export function readRules(text: string): { rules: RuleFacts[]; issues: BlockIssue[] } {
  const rules: RuleFacts[] = [];
  const issues: BlockIssue[] = [];
  eachLine(text, issues, (w, line, issue) => {
    const r: { -readonly [K in keyof RuleFacts]: RuleFacts[K] } = { line };
    let k = 0;
    const pm = /^(\d+):$/.exec(w[0]!.text);
    if (pm) {
      r.priority = Number(pm[1]);
      k = 1;
    }
    for (; k < w.length; k++) {
      const key = w[k]!.text;
      if (RULE_FLAG.has(key)) continue;
      if (!RULE_ARG.has(key)) return issue(w[k]!.col, `unknown rule keyword ${JSON.stringify(key)}`);
      const v = w[++k];
      if (!v) return issue(w[k - 1]!.col, `expected a value after ${JSON.stringify(key)}`);
      if ((key === 'from' || key === 'to') && !prefix(v.text)) return issue(v.col, `expected a prefix or "all", got ${JSON.stringify(v.text)}`);
      if (key === 'lookup' || key === 'table') {
        const t = tableOf(v.text);
        if (t === undefined) return issue(v.col, `expected a table id or local/main/default, got ${JSON.stringify(v.text)}`);
        r.table = t;
      } else if (key === 'priority' || key === 'preference' || key === 'pref') {
        const n = u32(v.text);
        if (n === undefined) return issue(v.col, `expected a priority 0..4294967295, got ${JSON.stringify(v.text)}`);
        r.priority = n;
      } else if (key === 'iif') r.iif = v;
      else if (key === 'oif') r.oif = v;
    }
    rules.push(r);
  });
  return { rules, issues };
}

export function readNeighbours(text: string): { neighbours: NeighFacts[]; issues: BlockIssue[] } {
  const neighbours: NeighFacts[] = [];
  const issues: BlockIssue[] = [];
  eachLine(text, issues, (w, line, issue) => {
    let k = 0;
    if (w[0]!.text === 'proxy') k++;
    const a = w[k];
    const ip = a && parseIp(a.text);
    if (!a || ip === undefined) return issue(a?.col ?? 1, `expected an IPv4 address, got ${JSON.stringify(a?.text ?? '')}`);
    const n: { -readonly [K in keyof NeighFacts]: NeighFacts[K] } = { line, ip: { ...a, ip }, state: 'PERMANENT' };
    let stateSeen = false;
    for (k++; k < w.length; k++) {
      const t = w[k]!;
      const key = t.text;
      if (key === 'dev' || key === 'lladdr' || key === 'nud') {
        const v = w[++k];
        if (!v) return issue(t.col, `expected a value after ${JSON.stringify(key)}`);
        if (key === 'dev') n.dev = v;
        else if (key === 'lladdr') {
          if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v.text)) return issue(v.col, `expected a MAC address, got ${JSON.stringify(v.text)}`);
          n.lladdr = v;
        } else {
          if (!NUD.has(v.text.toLowerCase())) return issue(v.col, `expected a NUD state (${[...NUD].join(', ')}), got ${JSON.stringify(v.text)}`);
          n.state = v.text.toUpperCase();
          stateSeen = true;
        }
      } else if (NUD.has(key.toLowerCase()) && key === key.toUpperCase()) {
        n.state = key;
        stateSeen = true;
      } else if (!['router', 'proxy', 'extern_learn', 'managed', 'use', 'probes'].includes(key) && !/^\d+$/.test(key)) {
        return issue(t.col, `unknown neighbour keyword ${JSON.stringify(key)}`);
      }
    }
    if (!n.dev) return issue(a.col, 'expected "dev IFNAME"');
    if (!stateSeen && !n.lladdr) return issue(a.col, 'expected "lladdr MAC"');
    neighbours.push(n);
  });
  return { neighbours, issues };
}
