// The one place the topology loader meets the text parsers of the other
// packages (ovs-ofctl flows, ip route/rule/neigh, iptables-save). Each check
// returns the facts the cross-reference checks need and the syntax issues,
// positioned inside the block (1-based line and column).
//
// Syntax: the real parsers decide when they are wired in `REAL` below;
// until then the light readers (light-*.ts) report what they can. Facts
// always come from the light readers (they only pick names and addresses).
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
 * Real parsers by block kind. Wire each as a function returning its syntax
 * errors mapped to BlockIssue (their errors carry line/column/token), e.g.
 *   flows: (text, ports) => parseFlowText(text, { resolvePort: (n) => ports.get(n) }).errors.map(...)
 * null: not available yet, the light reader's issues stand.
 */
const REAL: {
  flows: ((text: string, ports: PortMap) => BlockIssue[]) | null;
  routes: SyntaxCheck | null;
  rules: SyntaxCheck | null;
  neighbours: SyntaxCheck | null;
  iptables: SyntaxCheck | null;
} = { flows: null, routes: null, rules: null, neighbours: null, iptables: null };

function pick(real: BlockIssue[] | null, light: BlockIssue[]): BlockIssue[] {
  return real ?? light;
}

export function checkFlows(text: string, ports: PortMap): { flows: FlowFacts[]; issues: BlockIssue[] } {
  const r = readFlows(text, (n) => ports.has(n));
  return { flows: r.flows, issues: pick(REAL.flows?.(text, ports) ?? null, r.issues) };
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
