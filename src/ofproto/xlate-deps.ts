// What each cached translation depended on in the flow tables, so that a
// flow change removes only the entries it can affect, as OVS's revalidators
// reason (instead of flushing the bridge's whole cache on every flow_mod).
//
// An entry records every table lookup it made: the table, the key it was
// looked up with (in_port as the resubmit set it) and the flow that won
// (null: a miss). A flow F added to, deleted from or modified in table T
// can change that lookup's outcome only if F matches the key and F's
// priority is at least the winner's: a higher one beats it, an equal one
// may (ties are unspecified, as in OVS), and a deleted or modified winner is
// F itself. A flow that does not match the key cannot win, and deleting one
// that did not win cannot make another rule win, with one exception: among
// equal-priority overlapping rules in different subtables the classifier
// takes the first subtable in its order, and any change can reorder
// subtables. So a lookup whose winner's priority is held by rules of two or
// more masks in T is a "tie risk" and any change to T invalidates it. A
// lookup of a table that did not exist yet (no counters to credit) is
// invalidated by the first flow added there.
//
// Finding the entries a change affects without scanning them all: per table,
// per mask of the flows changed there, the entries are bucketed by the hash
// of their lookup key under that mask (built on the first change with that
// mask, kept up to date on insert); the changed flow's masked value hashes
// to the only bucket that can hold keys it matches.
import { K } from './flow-key.js';
import { maskId } from './classifier.js';
import type { FlowEntry, FlowTable, FlowTables, FlowWatch } from './flow-table.js';
import type { Match } from './match.js';
import { EV_LOOKUP, type XcEntry, type XlateCache } from './xlate-cache.js';

const W = K.WORDS;

/** One mask's buckets in one table. */
class MaskIndex {
  /** The words the mask selects, and their masks. */
  readonly words: number[] = [];
  readonly masks: number[] = [];
  readonly buckets = new Map<number, XcEntry[]>();
  constructor(mask: Uint32Array) {
    for (let i = 0; i < W; i++) {
      if (mask[i] !== 0) {
        this.words.push(i);
        this.masks.push(mask[i]! | 0);
      }
    }
  }

  /** Hash of the `W` words at `off` in `k`, masked (a flow's value is already masked: the same hash when it matches). */
  hash(k: Int32Array | Uint32Array, off: number): number {
    let h = 0x811c9dc5;
    const ws = this.words, ms = this.masks;
    for (let j = 0; j < ws.length; j++) h = Math.imul(h ^ (k[off + ws[j]!]! & ms[j]!), 0x01000193);
    return h;
  }

  add(e: XcEntry, off: number): void {
    const h = this.hash(e.code, off);
    const b = this.buckets.get(h);
    if (b === undefined) this.buckets.set(h, [e]);
    else if (b[b.length - 1] !== e) b.push(e); // the same entry's second lookup of the table, same bucket
  }
}

/** The entries that looked up one table. */
class TableUsers {
  readonly all: XcEntry[] = [];
  /** Looked it up before it existed. */
  readonly absent: XcEntry[] = [];
  /** A lookup here is a tie risk (see the header). */
  readonly ties: XcEntry[] = [];
  readonly byMask = new Map<string, MaskIndex>();
}

/** Does `m` match the key at `off` in `code` (key words stored as int32 bit patterns)? */
function matchesAt(m: Match, code: Int32Array, off: number): boolean {
  const v = m.value, mk = m.mask;
  for (let i = 0; i < W; i++) if ((code[off + i]! & mk[i]!) !== (v[i]! | 0)) return false;
  return true;
}

export class XcDeps implements FlowWatch {
  private readonly users = new Map<number, TableUsers>();
  /** table * 65536 + priority -> mask id -> flows: a priority held by 2+ masks can tie. */
  private readonly prioMasks = new Map<number, Map<string, number>>();
  /** Off until the cache keeps its first entry (then the tables are read once): a bridge with the fast path off pays nothing. */
  private active = false;
  /** Dead entries still in the lists (dropped lazily; compacted when they outnumber the live). */
  stale = 0;

  constructor(
    private readonly cache: XlateCache,
    private readonly tables: FlowTables,
  ) {}

  private tie(table: number, priority: number): boolean {
    const m = this.prioMasks.get(table * 65536 + priority);
    return m !== undefined && m.size >= 2;
  }

  private count(e: FlowEntry, d: number): void {
    const k = e.table * 65536 + e.priority, id = maskId(e.match.mask);
    let m = this.prioMasks.get(k);
    if (m === undefined) this.prioMasks.set(k, (m = new Map()));
    const n = (m.get(id) ?? 0) + d;
    if (n > 0) m.set(id, n);
    else m.delete(id);
    if (m.size === 0) this.prioMasks.delete(k);
  }

  /** Index a kept entry under every table it looked up. */
  add(e: XcEntry): void {
    // Entries die by eviction too (new connections replace old ones), not only by flow changes.
    if (this.stale > 2 * this.cache.count + 4096) this.compact();
    if (!this.active) {
      this.active = true;
      for (const t of this.tables.existing()) for (const r of t.cls.rules()) this.count(r, 1);
    }
    const c = e.code, refs = e.refs, n = e.nSteps;
    for (let i = 0, o = e.stepsAt; i < n; i++, o += 3) {
      if (c[o] !== EV_LOOKUP) continue;
      const id = c[o + 1]!;
      let u = this.users.get(id);
      if (u === undefined) this.users.set(id, (u = new TableUsers()));
      const first = u.all[u.all.length - 1] !== e;
      if (first) u.all.push(e);
      const r = refs[2 * i + 1] as FlowEntry | null;
      if ((refs[2 * i] as FlowTable | null) === null) {
        if (u.absent[u.absent.length - 1] !== e) u.absent.push(e);
      } else if (r !== null && this.tie(id, r.priority) && u.ties[u.ties.length - 1] !== e) {
        u.ties.push(e);
      }
      const off = keyAt(c, o);
      for (const idx of u.byMask.values()) idx.add(e, off);
    }
  }

  /** The cache was emptied. */
  clear(): void {
    this.users.clear();
    this.stale = 0;
  }

  flowAdded(e: FlowEntry, replaced: FlowEntry | null): void {
    if (!this.active) return;
    if (replaced === null) this.count(e, 1);
    const u = this.users.get(e.table);
    if (u === undefined) return;
    this.killAll(u.absent);
    this.affect(u, e);
  }

  flowChanged(e: FlowEntry): void {
    if (!this.active) return;
    const u = this.users.get(e.table);
    if (u !== undefined) this.affect(u, e);
  }

  flowRemoved(e: FlowEntry): void {
    if (!this.active) return;
    this.count(e, -1);
    const u = this.users.get(e.table);
    if (u !== undefined) this.affect(u, e);
  }

  private killAll(list: XcEntry[]): void {
    for (const x of list) this.cache.kill(x);
    list.length = 0;
  }

  /** Invalidate the entries of table `u` whose outcome flow `f` (added, changed or removed) can change. */
  private affect(u: TableUsers, f: FlowEntry): void {
    this.killAll(u.ties);
    const id = maskId(f.match.mask);
    let idx = u.byMask.get(id);
    if (idx === undefined) {
      u.byMask.set(id, (idx = new MaskIndex(f.match.mask)));
      let j = 0;
      for (const x of u.all) {
        if (x.dead) continue;
        u.all[j++] = x;
        forLookups(x, f.table, (off) => idx!.add(x, off));
      }
      u.all.length = j;
    }
    const h = idx.hash(f.match.value, 0);
    const b = idx.buckets.get(h);
    if (b === undefined) return;
    let j = 0;
    for (const x of b) {
      if (x.dead) continue;
      if (affected(x, f)) this.cache.kill(x);
      else b[j++] = x;
    }
    if (j === 0) idx.buckets.delete(h);
    else b.length = j;
    if (this.stale > 2 * this.cache.count + 4096) this.compact();
  }

  /** Drop dead entries from every list; the mask indexes are rebuilt on their next use. */
  private compact(): void {
    for (const u of this.users.values()) {
      for (const l of [u.all, u.absent, u.ties]) {
        let j = 0;
        for (const x of l) if (!x.dead) l[j++] = x;
        l.length = j;
      }
      u.byMask.clear();
    }
    this.stale = 0;
  }
}

/** Offset in `c` of the key the lookup step at `o` used. */
function keyAt(c: Int32Array, o: number): number {
  const k = c[o + 2]!;
  return k < 0 ? 0 : k;
}

/** Call `fn` with the key offset of each of `x`'s lookups of `table`. */
function forLookups(x: XcEntry, table: number, fn: (off: number) => void): void {
  const c = x.code, n = x.nSteps;
  for (let i = 0, o = x.stepsAt; i < n; i++, o += 3) if (c[o] === EV_LOOKUP && c[o + 1] === table) fn(keyAt(c, o));
}

/** Can `f` change the outcome of one of `x`'s lookups of f's table? */
function affected(x: XcEntry, f: FlowEntry): boolean {
  const c = x.code, refs = x.refs, n = x.nSteps;
  for (let i = 0, o = x.stepsAt; i < n; i++, o += 3) {
    if (c[o] !== EV_LOOKUP || c[o + 1] !== f.table) continue;
    const r = refs[2 * i + 1] as FlowEntry | null;
    if ((r === null || f.priority >= r.priority) && matchesAt(f.match, c, keyAt(c, o))) return true;
  }
  return false;
}
