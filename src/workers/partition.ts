// Which datapath worker owns which node. A worker owns its nodes outright
// (their conntrack, fdb, neighbours, learned flows), so a node is never split;
// frames cross workers only at the routed fabric, where they cross the
// underlay in reality. Nodes joined by anything but the fabric (a gateway
// cabled to a node's eth3, say) form one group and go to one worker.
import { availableParallelism } from 'node:os';
import type { Topology } from '../topology/model.js';

/** Node name (gateways included) -> worker index. */
export type Assignment = ReadonlyMap<string, number>;

/**
 * The default worker count: one per core, less one for the thread that
 * feeds them (TAP I/O, the control socket), at least one.
 */
export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** Every node and gateway, grouped by the non-fabric links between them. */
export function nodeGroups(t: Topology): string[][] {
  const names = [...t.nodes.map((n) => n.name), ...t.gateways.map((g) => g.name)];
  const parent = new Map(names.map((n) => [n, n]));
  const find = (n: string): string => {
    let r = n;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(n, r);
    return r;
  };
  for (const l of t.links) {
    if (l.a.kind === 'fabric' || l.b.kind === 'fabric') continue;
    if (!parent.has(l.a.node) || !parent.has(l.b.node)) continue;
    parent.set(find(l.a.node), find(l.b.node));
  }
  const groups = new Map<string, string[]>();
  for (const n of names) {
    const r = find(n);
    if (!groups.has(r)) groups.set(r, []);
    groups.get(r)!.push(n);
  }
  return [...groups.values()];
}

/** How heavy a node's share of the work may be: its devices, as a first guess. */
function weight(t: Topology, node: string): number {
  const n = t.nodes.find((x) => x.name === node);
  if (!n) return 1; // a gateway: one small IP stack
  return 1 + n.ovsBridges.length + n.linuxBridges.length + n.namespaces.length;
}

/**
 * Spread the node groups over at most `workers` workers, heaviest group
 * first onto the least loaded worker. With more workers than groups the
 * extra workers would own nothing: the result uses only as many as there
 * are groups (count the distinct values to see how many).
 */
export function balancedAssignment(t: Topology, workers: number): Map<string, number> {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, not ${workers}`);
  const groups = nodeGroups(t)
    .map((g) => ({ g, w: g.reduce((s, n) => s + weight(t, n), 0) }))
    .sort((a, b) => b.w - a.w || a.g[0]!.localeCompare(b.g[0]!));
  const k = Math.min(workers, groups.length);
  const load = new Array<number>(k).fill(0);
  const out = new Map<string, number>();
  for (const { g, w } of groups) {
    let best = 0;
    for (let i = 1; i < k; i++) if (load[i]! < load[best]!) best = i;
    load[best]! += w;
    for (const n of g) out.set(n, best);
  }
  return out;
}

/**
 * Check a given assignment: every node and gateway placed, workers numbered
 * 0..k-1 without gaps, and no group split (only the fabric is a hand-off).
 */
export function checkAssignment(t: Topology, a: Assignment): number {
  const groups = nodeGroups(t);
  const used = new Set<number>();
  for (const g of groups) {
    for (const n of g) {
      const w = a.get(n);
      if (w === undefined) throw new Error(`node ${n} is not assigned to a worker`);
      if (w !== a.get(g[0]!)) throw new Error(`nodes ${g.join(', ')} are linked other than through the fabric and must share a worker (${n} is on ${w}, ${g[0]} on ${a.get(g[0]!)})`);
      used.add(w);
    }
  }
  for (const n of a.keys()) if (!groups.some((g) => g.includes(n))) throw new Error(`unknown node ${n} in the assignment`);
  const k = used.size;
  for (let i = 0; i < k; i++) if (!used.has(i)) throw new Error(`workers must be numbered 0..${k - 1}; ${i} owns nothing`);
  return k;
}
