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
import { checkNeighText, checkRoutesText, checkRulesText } from '../netns/ip-text.js';
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

export type { FlowFacts, PortUse } from './light-flows.js';
export type { RouteFacts, RuleFacts, NeighFacts } from './light-ip.js';
