// The one place the topology loader meets the text parsers of the other
// packages (ovs-ofctl flows, ip route/rule/neigh, iptables-save). Each check
// returns the facts the cross-reference checks need and the syntax issues,
// positioned inside the block (1-based line and column).
//
// Syntax: the real parsers decide, wired in `REAL` below (flows:
// src/ofproto, ip route/rule/neigh: src/netns, iptables: src/netfilter); a
// kind set to null falls back to its light reader (light-*.ts). Facts always
// come from the light readers (they only pick names and addresses).
import { parseFlow, FlowSyntaxError } from '../ofproto/flow-parser.js';
import { loadIptables, NfSyntaxError, Ruleset } from '../netfilter/index.js';
import { checkNeighText, checkRoutesText, checkRulesText, loadRoutes6, loadRule6Line } from '../netns/ip-text.js';
import { IpSyntaxError } from '../netns/errors.js';
import { Netns } from '../netns/netns.js';
import { IFA_F_NODAD } from '../netns/inet6.js';
import { textLines } from '../netns/ip-tokens.js';
import { parseIpv6 } from '../wire/addr.js';
import type { NsInterface } from './model.js';
import { readFlows, type FlowFacts } from './light-flows.js';
import { readNeighbours, readRoutes, readRules, type NeighFacts, type RouteFacts, type RuleFacts } from './light-ip.js';
import { readIptables } from './light-iptables.js';

export interface BlockIssue {
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/** Port name -> ofport of one bridge, for resolving names in flows. */
export type PortMap = ReadonlyMap<string, number>;

type SyntaxCheck = (text: string) => BlockIssue[];

/**
 * Real parsers by block kind, each returning its syntax errors as
 * BlockIssues (their errors carry line/column/token). null: not available
 * yet, the light reader's issues stand.
 */
const REAL: {
  flows: ((text: string, ports: PortMap, portRefs: ReadonlySet<string>) => BlockIssue[]) | null;
  routes: SyntaxCheck | null;
  rules: SyntaxCheck | null;
  neighbours: SyntaxCheck | null;
  iptables: SyntaxCheck | null;
} = {
  flows: realFlows,
  // The show forms (`ip route|rule|neigh show` output): what the namespace loads.
  routes: checkRoutesText,
  rules: checkRulesText,
  neighbours: checkNeighText,
  iptables: realIptables,
};

/** A port number the real flow parser accepts for names the topology checks report themselves. */
const PLACEHOLDER_PORT = 0xfeff;

/** src/ofproto/flow-parser.ts, line by line so that every bad line is reported. */
function realFlows(text: string, ports: PortMap, portRefs: ReadonlySet<string>): BlockIssue[] {
  const issues: BlockIssue[] = [];
  // Unknown port names in port positions are reported by checks-flows.ts (with hints);
  // any other unknown word stays unresolved, so a typo'd action is still an error.
  const resolvePort = (n: string): number | undefined => ports.get(n) ?? (portRefs.has(n) ? PLACEHOLDER_PORT : undefined);
  text.split('\n').forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).replace(/\r$/, '');
    if (!line.trim() || /^\s*(NXST|OFPST)_\w+/.test(line)) return;
    try {
      parseFlow(line, { resolvePort });
    } catch (e) {
      if (!(e instanceof FlowSyntaxError)) throw e;
      issues.push({ line: i + 1, col: e.column, message: e.detail });
    }
  });
  return issues;
}

/** src/netfilter/iptables-parse.ts: atomic, so the first error of the block. */
function realIptables(text: string): BlockIssue[] {
  try {
    loadIptables(new Ruleset(), text);
    return [];
  } catch (e) {
    if (!(e instanceof NfSyntaxError)) throw e;
    return [{ line: e.line, col: e.column, message: e.summary }];
  }
}

function pick(real: BlockIssue[] | null, light: BlockIssue[]): BlockIssue[] {
  return real ?? light;
}

export function checkFlows(text: string, ports: PortMap): { flows: FlowFacts[]; issues: BlockIssue[] } {
  const r = readFlows(text, (n) => ports.has(n));
  const refs = new Set(r.flows.flatMap((f) => f.ports.map((p) => p.name)));
  return { flows: r.flows, issues: pick(REAL.flows?.(text, ports, refs) ?? null, r.issues) };
}

export function checkRoutes(text: string): { routes: RouteFacts[]; issues: BlockIssue[] } {
  const r = readRoutes(text);
  return { routes: r.routes, issues: pick(REAL.routes?.(text) ?? null, r.issues) };
}

export function checkRules(text: string): { rules: RuleFacts[]; issues: BlockIssue[] } {
  const r = readRules(text);
  return { rules: r.rules, issues: pick(REAL.rules?.(text) ?? null, r.issues) };
}

export function checkNeighbours(text: string): { neighbours: NeighFacts[]; issues: BlockIssue[] } {
  const r = readNeighbours(text);
  return { neighbours: r.neighbours, issues: pick(REAL.neighbours?.(text) ?? null, r.issues) };
}

export function checkIptables(text: string): { issues: BlockIssue[] } {
  const r = readIptables(text);
  return { issues: pick(REAL.iptables?.(text) ?? null, r.issues) };
}

/**
 * `routes6` and `rules6` (`ip -6 route` / `ip -6 rule` output), applied to a
 * scratch namespace with the stack's interfaces and IPv6 addresses, as the
 * builder applies them: the real loaders decide syntax and the kernel's
 * refusals (no device, gateway, File exists), every bad line reported.
 */
export function checkIp6(interfaces: readonly NsInterface[], sysctls: Readonly<Record<string, string>>, routes6: string | undefined, rules6: string | undefined): { routes6: BlockIssue[]; rules6: BlockIssue[] } {
  const ns = new Netns({ ipv6: true });
  for (const [k, v] of Object.entries(sysctls)) {
    try {
      ns.setSysctl(k, Number(v));
    } catch {
      // reported by the sysctl checks
    }
  }
  // Parents before VLAN sub-interfaces, as the builder adds them; a MAC the link-locals come from.
  for (const i of [...interfaces].sort((a, b) => Number(!!a.vlan) - Number(!!b.vlan))) {
    ns.addLink({ name: i.name, kind: 'veth', mac: 0x02_00_00_00_00_01, mtu: i.mtu, up: true });
    for (const a of i.addresses) if (a.inet6) ns.addAddr6(i.name, parseIpv6(a.ip)!, a.prefixLen, IFA_F_NODAD, 0);
  }
  const eachLine = (text: string | undefined, load: (line: string, no: number) => void): BlockIssue[] => {
    const issues: BlockIssue[] = [];
    for (const { line, no } of textLines(text ?? '')) {
      try {
        load(line, no);
      } catch (e) {
        if (!(e instanceof IpSyntaxError)) throw e;
        issues.push({ line: e.line, col: e.column, message: e.reason });
      }
    }
    return issues;
  };
  const r = eachLine(routes6, (line, no) => loadRoutes6(ns, line, { firstLine: no }));
  // A rules block is the whole list: each line onto the ones before it.
  ns.rules6.clear();
  const q = eachLine(rules6, (line, no) => loadRule6Line(ns, line, no));
  return { routes6: r, rules6: q };
}

export type { FlowFacts, PortUse } from './light-flows.js';
export type { RouteFacts, RuleFacts, NeighFacts } from './light-ip.js';
