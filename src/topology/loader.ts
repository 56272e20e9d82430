// Loading a topology file: YAML -> schema -> model -> cross-references.
// Every error is collected (not just the first) and positioned; a file with
// errors yields no model, so a broken file never starts anything.
//
// Phases: YAML syntax errors stop everything (nothing else can be trusted).
// Schema errors are reported together with the text blocks' syntax errors;
// the cross-reference checks run only on schema-valid data.
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Topology } from './model.js';
import type { RawFile } from './raw.js';
import { ErrorList, TopologyLoadError, formatError, type TopologyError } from './errors.js';
import { YamlSource } from './yaml-source.js';
import { validateSchema } from './schema.js';
import { assembleGateway, assembleNode, type Ctx } from './assemble.js';
import { resolveLinks } from './links.js';
import { checkIpStack, reportBlock } from './checks-ip.js';
import { checkBridgeFlows } from './checks-flows.js';
import { checkFlows, checkIptables, checkNeighbours, checkRoutes, checkRules } from './text-blocks.js';

export type LoadResult =
  | { readonly ok: true; readonly topology: Topology; readonly errors: readonly [] }
  | { readonly ok: false; readonly topology: null; readonly errors: readonly TopologyError[] };

/** Load and validate `text` as the topology file `file` (the name errors carry). */
export function loadTopologyText(text: string, file: string): LoadResult {
  const errors = new ErrorList();
  const src = new YamlSource(file, text);
  src.syntaxErrors(errors);
  if (errors.size) return fail(errors);
  let data: unknown;
  try {
    data = src.doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // The yaml library's ReferenceError for aliases that expand too far (a "billion laughs" file).
    if (!(e instanceof ReferenceError)) throw e;
    errors.add({ file, pointer: '', line: 1, col: 1 }, `YAML error: ${e.message} (maxAliasCount 100)`);
    return fail(errors);
  }
  const ctx: Ctx = { src, errors };
  if (!validateSchema(data ?? {}, src, errors)) {
    blockSyntaxOnly(ctx, data);
    return fail(errors);
  }
  const topology = build(ctx, data as RawFile, file);
  return errors.size ? fail(errors) : { ok: true, topology, errors: [] };
}

/** Load and validate a topology file from disk. */
export function loadTopologyFile(path: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const msg = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    return { ok: false, topology: null, errors: [{ file: path, line: 1, col: 1, pointer: '', message: `cannot read the file: ${msg}` }] };
  }
  return loadTopologyText(text, path);
}

/** loadTopologyFile, throwing TopologyLoadError (all errors, one per line) on failure. */
export function loadTopologyOrThrow(path: string): Topology {
  const r = loadTopologyFile(path);
  if (!r.ok) throw new TopologyLoadError(r.errors);
  return r.topology;
}

/** `dpemu check FILE`: the errors as lines (empty when valid). */
export function checkTopologyFile(path: string): string[] {
  return loadTopologyFile(path).errors.map(formatError);
}

function fail(errors: ErrorList): LoadResult {
  return { ok: false, topology: null, errors: errors.sorted() };
}

function build(ctx: Ctx, raw: RawFile, file: string): Topology {
  const nodes = Object.entries(raw.nodes).map(([n, rn]) => assembleNode(ctx, n, rn));
  const gateways = Object.entries(raw.gateways ?? {}).map(([g, rg]) => assembleGateway(ctx, g, rg));
  const { links, edges, fabric, hosts } = resolveLinks(ctx, raw, nodes, gateways);
  for (const n of nodes) {
    for (const b of n.ovsBridges) checkBridgeFlows(ctx, n, b);
    for (const ns of n.namespaces) checkIpStack(ctx, ['nodes', n.name, 'namespaces', ns.name], `namespace ${ns.name}`, ns);
  }
  for (const g of gateways) checkIpStack(ctx, ['gateways', g.name], `gateway ${g.name}`, g);
  for (const h of hosts) {
    checkIpStack(ctx, ['hosts', h.name], `host ${h.name}`, { sysctls: h.sysctls, interfaces: [h.iface], routes: h.routes, neighbours: h.neighbours });
  }
  return {
    file,
    name: raw.name ?? basename(file, extname(file)),
    description: raw.description,
    nodes,
    gateways,
    fabric,
    hosts,
    links,
    edges,
  };
}

/** With schema errors, still report the text blocks' own syntax errors (they need no model). */
function blockSyntaxOnly(ctx: Ctx, data: unknown): void {
  const walk = (v: unknown, path: (string | number)[]): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, [...path, i]));
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const p = [...path, k];
      if (typeof x !== 'string') walk(x, p);
      else if (k === 'routes' || k === 'rules' || k === 'neighbours' || k === 'iptables' || (k === 'flows' && path.at(-2) === 'ovs')) {
        const b = ctx.src.textBlock(p, ctx.errors);
        if (!b) continue;
        const issues =
          k === 'routes' ? checkRoutes(x).issues
          : k === 'rules' ? checkRules(x).issues
          : k === 'neighbours' ? checkNeighbours(x).issues
          : k === 'iptables' ? checkIptables(x).issues
          : checkFlows(x, new Map(Object.entries(portsOf(data, path)))).issues;
        reportBlock(ctx, b, issues);
      }
    }
  };
  walk(data, []);
}

function portsOf(data: unknown, bridgePath: (string | number)[]): Record<string, number> {
  let v: unknown = data;
  for (const s of bridgePath) v = (v as Record<string, unknown> | undefined)?.[s as string];
  const ports = (v as { ports?: Record<string, { ofport?: unknown }> } | undefined)?.ports ?? {};
  // The schema has already reported an ofport that is not an integer; the flows only need some number.
  const ofport = (p: string, i: number): number => {
    const o = ports[p]?.ofport;
    return Number.isInteger(o) ? (o as number) : i + 1;
  };
  return Object.fromEntries(Object.keys(ports).map((p, i) => [p, ofport(p, i)]));
}
