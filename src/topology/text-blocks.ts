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
import { checkNeighText, checkRoutesText, checkRulesText, loadRoute6Line, loadRule6Line } from '../netns/ip-text.js';
import { IpSyntaxError, RtnlError } from '../netns/errors.js';
import { NetNamespace } from '../netns/namespace.js';
import { Engine } from '../datapath/engine.js';
import { PacketPool } from '../datapath/packet.js';
import { textLines } from '../netns/ip-tokens.js';
import { configureInterfaces } from './builder.js';
import type { IpStack } from './model.js';
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
 * scratch namespace made as the builder makes it (defaults, sysctls,
 * interfaces, addresses): the real loaders decide syntax and the kernel's
 * refusals (no device, gateway, File exists), every bad line reported.
 */
export function checkIp6(node: string, name: string, stack: Pick<IpStack, 'sysctls' | 'interfaces'>, routes6: string | undefined, rules6: string | undefined): { routes6: BlockIssue[]; rules6: BlockIssue[] } {
  // An engine of its own (a one-slot pool: nothing is sent) to give the namespace its ports.
  const el = new Engine({ pool: new PacketPool(1) }).add(new NetNamespace(node, name));
  try {
    configureInterfaces(el, stack);
  } catch {
    // What the builder could not apply is reported by the other checks (sysctls, ifindexes, VLANs).
    return { routes6: [], rules6: [] };
  }
  const ns = el.ns;
  // Syntax errors as the parsers word them; the kernel's refusals (route6.ts, rules.ts) as what it would say.
  const eachLine = (text: string | undefined, what: string, load: (line: string, no: number) => void): BlockIssue[] => {
    const issues: BlockIssue[] = [];
    for (const { line, no } of textLines(text ?? '')) {
      try {
        load(line, no);
      } catch (e) {
        if (e instanceof IpSyntaxError) issues.push({ line: e.line, col: e.column, message: e.reason });
        else if (e instanceof RtnlError) issues.push({ line: no, col: line.search(/\S/) + 1, message: `expected ${what} the kernel accepts (it would say: ${e.message.trim()})` });
        else throw e;
      }
    }
    return issues;
  };
  const r = eachLine(routes6, 'a route', (line, no) => loadRoute6Line(ns, line, no));
  // A rules block is the whole list: each line onto the ones before it.
  ns.rules6.clear();
  const q = eachLine(rules6, 'a rule', (line, no) => loadRule6Line(ns, line, no));
  return { routes6: r, rules6: q };
}

export type { FlowFacts, PortUse } from './light-flows.js';
export type { RouteFacts, RuleFacts, NeighFacts } from './light-ip.js';
