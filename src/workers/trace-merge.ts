// One trace out of the pieces datapath workers recorded for it (worker-
// trace.ts), numbered and ordered as one engine would have recorded it:
//
// - a worker's k-th continuation from worker A is A's k-th crossing to it
//   (a hand-off channel is FIFO), and continues the branch that crossed;
// - one engine's FIFO walks deliveries breadth-first from the inject
//   (src/datapath/trace.ts), so a delivery's place is its path from the
//   inject, and a continuation's deliveries sit below the delivery the
//   crossing would have been: paths compare by length, then child by child;
// - branches are numbered in the order of the deliveries that created them
//   (those of one delivery, all in one worker, in their own order), after
//   the injected packet's, which is 1;
// - a branch's events are its own worker's, then, where it crossed, those of
//   the worker it went on in.
//
// A worker runs what it is handed after it finished what it was running
// (each inject runs to completion), where one engine interleaves both by
// the FIFO: that changes nothing unless two pieces of one trace in the same
// worker touch the same state, which a trace's packets on their own path do
// not (a flood that reaches one worker twice could).
import type { TraceEvent } from '../datapath/trace.js';
import type { Crossing, TracePiece } from './worker-trace.js';

/** Everything one worker reported for one trace, its pieces joined in order. */
export interface TracePart {
  events: TraceEvent[];
  roots: TracePiece['roots'];
  births: TracePiece['births'];
  crossings: Crossing[];
}

/** A worker's pieces by their number, joined up to the first that has not arrived (messages of two ports may overtake). */
export function joinPieces(pieces: readonly (TracePiece | undefined)[]): TracePart {
  const part: TracePart = { events: [], roots: [], births: [], crossings: [] };
  for (const p of pieces) {
    if (!p) break;
    part.events.push(...p.events);
    part.roots.push(...p.roots);
    part.births.push(...p.births);
    part.crossings.push(...p.crossings);
  }
  return part;
}

export interface MergedTrace {
  /** The trace's events, branches numbered as one engine numbers them. */
  events: TraceEvent[];
  /** All crossings were taken up and every continuation placed. */
  complete: boolean;
  /** Workers a crossing went to that has not come back (yet). */
  owing: number[];
}

/** Paths in the order one engine's FIFO delivers them: shallower first, then child by child. */
function comparePaths(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Join the parts (by worker) of a trace whose packet was injected in worker `first`. */
export function mergeTrace(parts: ReadonlyMap<number, TracePart>, first: number): MergedTrace {
  // Match continuations to crossings, per (from, to) in order.
  const crossingsTo = new Map<string, { from: number; c: Crossing }[]>();
  for (const [w, p] of parts) {
    for (const c of p.crossings) {
      const k = `${w}>${c.to}`;
      if (!crossingsTo.has(k)) crossingsTo.set(k, []);
      crossingsTo.get(k)!.push({ from: w, c });
    }
  }
  /** (worker, root) -> the crossing it continues. */
  const source = new Map<string, { from: number; c: Crossing }>();
  const taken = new Map<string, number>();
  let complete = parts.get(first)?.roots[0]?.from === null;
  for (const [w, p] of parts) {
    p.roots.forEach((r, i) => {
      if (r.from === null) return;
      const k = `${r.from}>${w}`, n = taken.get(k) ?? 0;
      taken.set(k, n + 1);
      const x = crossingsTo.get(k)?.[n];
      if (x) source.set(`${w}/${i}`, x);
      else complete = false; // its sender's piece is still on its way
    });
  }
  const owing = new Set<number>();
  const open: { from: number; c: Crossing }[] = [];
  for (const [k, list] of crossingsTo) {
    const n = taken.get(k) ?? 0;
    for (const x of list.slice(n)) {
      complete = false;
      owing.add(x.c.to);
      open.push(x);
    }
  }

  // Absolute delivery paths: a root's is the crossing's (its sender's root's path, then the crossing's own).
  const rootPath = new Map<string, number[] | null>();
  const pathOf = (w: number, root: number): number[] | null => {
    const k = `${w}/${root}`;
    if (rootPath.has(k)) return rootPath.get(k)!;
    let p: number[] | null = null;
    const r = parts.get(w)?.roots[root];
    if (r && r.from === null) p = w === first && root === 0 ? [] : null;
    else if (r) {
      const x = source.get(k);
      const base = x ? pathOf(x.from, x.c.key.root) : null;
      p = base && x ? [...base, ...x.c.key.path] : null;
    }
    rootPath.set(k, p);
    return p;
  };

  // Global branch numbers.
  const gid = new Map<string, number>();
  /** Where in its branch's chain of workers a local branch is (0: where it was created). */
  const chain = new Map<string, number>();
  const firstRoot = parts.get(first)?.roots[0];
  if (firstRoot) {
    gid.set(`${first}/${firstRoot.branch}`, 1);
    chain.set(`${first}/${firstRoot.branch}`, 0);
  }
  const born: { w: number; b: number; path: number[] }[] = [];
  for (const [w, p] of parts) {
    for (const [b, key] of p.births) {
      const base = pathOf(w, key.root);
      if (base) born.push({ w, b, path: [...base, ...key.path] });
    }
  }
  born.sort((x, y) => comparePaths(x.path, y.path) || x.b - y.b);
  born.forEach((x, i) => {
    gid.set(`${x.w}/${x.b}`, i + 2);
    chain.set(`${x.w}/${x.b}`, 0);
  });
  // Continuation roots take their crossing's branch, sender first (they form chains).
  const resolveRoot = (w: number, i: number): string | null => {
    const r = parts.get(w)!.roots[i]!, k = `${w}/${r.branch}`;
    if (gid.has(k)) return k;
    const x = source.get(`${w}/${i}`);
    if (!x) return null;
    const sk = `${x.from}/${x.c.branch}`;
    if (!gid.has(sk)) {
      const si = parts.get(x.from)!.roots.findIndex((y) => y.branch === x.c.branch);
      if (si < 0 || resolveRoot(x.from, si) === null) return null;
    }
    gid.set(k, gid.get(sk)!);
    chain.set(k, chain.get(sk)! + 1);
    return k;
  };
  for (const [w, p] of parts) p.roots.forEach((_, i) => resolveRoot(w, i));

  // Events: each branch's, in its chain's order; a worker's own in the order it recorded them.
  const out: { e: TraceEvent; g: number; c: number; i: number }[] = [];
  let i = 0;
  for (const [w, p] of parts) {
    for (const e of p.events) {
      const k = `${w}/${e.branch}`, g = gid.get(k);
      if (g === undefined) continue; // in a piece that cannot be placed yet
      const ev: TraceEvent = e.kind === 'branch' ? { ...e, branch: g, parent: gid.get(`${w}/${e.parent}`) ?? 0 } : { ...e, branch: g };
      out.push({ e: ev, g, c: chain.get(k)!, i: i++ });
    }
  }
  // A crossing nobody took up ends its branch where it left, saying so.
  for (const x of open) {
    const g = gid.get(`${x.from}/${x.c.branch}`);
    if (g === undefined) continue;
    const c = chain.get(`${x.from}/${x.c.branch}`)!;
    out.push({ e: { kind: 'note', branch: g, node: x.c.node, element: x.c.element, text: `handed to datapath worker ${x.c.to}, which has not reported what it did with it` }, g, c, i: i++ });
  }
  out.sort((a, b) => a.g - b.g || a.c - b.c || a.i - b.i);
  return { events: out.map((x) => x.e), complete, owing: [...owing].sort((a, b) => a - b) };
}
