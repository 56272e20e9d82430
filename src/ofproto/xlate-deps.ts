// What each cached translation depended on in the flow tables, the fdb and
// the port set, so that a change removes only the entries it can affect, as
// OVS's revalidators reason (instead of flushing the bridge's whole cache).
//
// Flows. An entry records every table lookup it made: the table, the key it
// was looked up with (in_port as the resubmit set it; only the bits of the
// entry's megaflow mask are fixed, the others are any packet's) and the flow
// that won (null: a miss). A flow F added to, deleted from or modified in
// table T can change that lookup's outcome only if F matches some key of
// the megaflow (F agrees with it on the bits both masks hold) and F's
// priority is at least the winner's: a higher one beats it, an equal one
// may (ties are unspecified, as in OVS), and a deleted or modified winner is
// F itself. A flow that does not match the key cannot win, and deleting one
// that did not win cannot make another rule win, with one exception: among
// equal-priority overlapping rules in different subtables the classifier
// takes the first subtable in its order, and any change can reorder
// subtables. So a lookup whose winner's priority is held by rules of two or
// more masks in T is a "tie risk" and any change to T invalidates it.
//
// Finding the entries a change affects without scanning them all: per table,
// per megaflow mask M of the entries and per mask F of the flows changed
// there, the entries are bucketed by the hash of their lookup key under
// M & F (built on the first change with that mask, kept up to date on
// insert); the changed flow's value hashes to the only bucket that can hold
// keys it matches.
//
// The fdb. NORMAL records each (MAC, VLAN) it looked up, with the port found
// or none (it flooded), and the source it learned. Learning a MAC, moving
// it, ageing it out, evicting it, or fdb/add and fdb/del of a static entry
// remove the entries that looked it up; fdb/flush removes every entry that
// used the fdb. A refresh on the same port changes no decision.
//
// Ports. An entry records the ofports it looked up (its in_port, whose VLAN
// settings NORMAL reads; outputs; NORMAL's learned port; an output to a port
// that did not exist) and whether it iterated the port list (FLOOD, ALL,
// NORMAL's flood). Adding or deleting a port, or a port_mod changing its
// config (no-flood, no-receive, no-forward: OVS revalidates every datapath
// flow then), removes the entries that looked its number up and the ones
// that flooded. A port going up or down changes no translation (the engine
// drops at a down port, packet by packet; OVS still outputs to it).
//
// Fragments. A set-frags that changes how the bridge looks fragments up
// removes the entries of fragments (fragsChanged).
//
// An entry that spans patch ports (xlate-cache.ts) is indexed here for its
// segment in this bridge only, and killed in the cache that holds it.
import { maskId } from './classifier.js';
import { K } from './flow-key.js';
import type { FlowEntry, FlowTables, FlowWatch } from './flow-table.js';
import type { FdbWatch } from './fdb.js';
import type { Match } from './match.js';
import { EV_LOOKUP, type XcEntry, type XcGroup, type XcSeg, type XlateCache } from './xlate-cache.js';

/** One flow mask's buckets over one megaflow group's entries in one table. */
class MaskIndex {
  /** Positions in the group's words where both masks hold bits, those words, and the common masks. */
  private readonly pos: number[] = [];
  private readonly words: number[] = [];
  private readonly masks: number[] = [];
  readonly buckets = new Map<number, XcEntry[]>();
  constructor(
    readonly group: XcGroup,
    mask: Uint32Array,
  ) {
    const ws = group.words, ms = group.masks;
    for (let j = 0; j < ws.length; j++) {
      const m = ms[j]! & mask[ws[j]!]!;
      if (m !== 0) {
        this.pos.push(j);
        this.words.push(ws[j]!);
        this.masks.push(m);
      }
    }
  }

  /** Hash of the group-ordered key at `off` in `c`, under the common mask. */
  hashAt(c: Int32Array, off: number): number {
    let h = 0x811c9dc5;
    const ps = this.pos, ms = this.masks;
    for (let j = 0; j < ps.length; j++) h = Math.imul(h ^ (c[off + ps[j]!]! & ms[j]!), 0x01000193);
    return h;
  }

  /** The same hash of a flow's (masked) value: equal when it matches the key. */
  hashValue(v: Uint32Array): number {
    let h = 0x811c9dc5;
    const ws = this.words, ms = this.masks;
    for (let j = 0; j < ws.length; j++) h = Math.imul(h ^ (v[ws[j]!]! & ms[j]!), 0x01000193);
    return h;
  }

  add(e: XcEntry, off: number): void {
    const h = this.hashAt(e.code, off);
    const b = this.buckets.get(h);
    if (b === undefined) this.buckets.set(h, [e]);
    else if (b[b.length - 1] !== e) b.push(e); // the same entry's second lookup of the table, same bucket
  }
}

/** The entries that looked up one table. */
class TableUsers {
  readonly all: XcEntry[] = [];
  /** A lookup here is a tie risk (see the header). */
  readonly ties: XcEntry[] = [];
  /** The megaflow groups of `all`. */
  readonly groups = new Set<XcGroup>();
  /** By group uid and flow mask id. */
  readonly byMask = new Map<string, MaskIndex>();
}

/** Can `m` match a key of the megaflow whose group-ordered lookup key is at `off` in x.code? */
function overlaps(m: Match, x: XcEntry, off: number): boolean {
  const c = x.code, ws = x.group.words, ms = x.group.masks, v = m.value, mk = m.mask;
  for (let j = 0; j < ws.length; j++) {
    const w = ws[j]!;
    if (((c[off + j]! ^ v[w]!) & mk[w]! & ms[j]!) !== 0) return false;
  }
  return true;
}

/** A number for (MAC, VLAN): the fdb lists' key (a collision only checks one more entry). */
function macKey(hi: number, lo: number, vlan: number): number {
  return (Math.imul(lo | 0, 0x9e3779b1) ^ Math.imul((hi << 12) | vlan, 0x85ebca6b)) & 0x3fffffff;
}

/** Push `e` on the list `k` of `m` (once: an entry adds its dependencies in a row). */
function push(m: Map<number, XcEntry[]>, k: number, e: XcEntry): void {
  const l = m.get(k);
  if (l === undefined) m.set(k, [e]);
  else if (l[l.length - 1] !== e) l.push(e);
}

export class XcDeps implements FlowWatch, FdbWatch {
  private readonly users = new Map<number, TableUsers>();
  /** table * 65536 + priority -> mask id -> flows: a priority held by 2+ masks can tie. */
  private readonly prioMasks = new Map<number, Map<string, number>>();
  /** Entries by the (MAC, VLAN) they looked up or learned. */
  private readonly macs = new Map<number, XcEntry[]>();
  /** Entries by the ofports they looked up. */
  private readonly ports = new Map<number, XcEntry[]>();
  /** Entries that iterated the port list. */
  private readonly floods: XcEntry[] = [];
  /** Entries of IP fragments (their lookups here follow the bridge's set-frags). */
  private readonly frags: XcEntry[] = [];
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

  /** Index segment `s` (this bridge's part) of a kept entry under every table, MAC and port it looked up. */
  add(e: XcEntry, s: XcSeg): void {
    // Entries die by eviction too, not only by changes.
    if (this.stale > 2 * this.cache.count + 4096) this.compact();
    if (!this.active) {
      this.active = true;
      for (const t of this.tables.existing()) for (const r of t.cls.rules()) this.count(r, 1);
    }
    const c = e.code, refs = e.refs;
    for (let i = s.step0, o = e.stepsAt + 3 * s.step0; i < s.step1; i++, o += 3) {
      if (c[o] !== EV_LOOKUP) continue;
      const id = c[o + 1]!;
      let u = this.users.get(id);
      if (u === undefined) this.users.set(id, (u = new TableUsers()));
      if (u.all[u.all.length - 1] !== e) u.all.push(e);
      u.groups.add(e.group);
      const r = refs[2 * i + 1] as FlowEntry | null;
      if (r !== null && this.tie(id, r.priority) && u.ties[u.ties.length - 1] !== e) u.ties.push(e);
      const off = keyAt(c, o);
      for (const idx of u.byMask.values()) if (idx.group === e.group) idx.add(e, off);
    }
    for (let q = e.fdbAt + 4 * s.fdb0, end = e.fdbAt + 4 * s.fdb1; q < end; q += 4) push(this.macs, macKey(c[q]!, c[q + 1]!, c[q + 2]!), e);
    for (let p = e.portsAt + s.port0, end = e.portsAt + s.port1; p < end; p++) push(this.ports, c[p]!, e);
    if (s.flooded) this.floods.push(e);
    if (fragOf(e) !== 0) this.frags.push(e);
  }

  flowAdded(e: FlowEntry, replaced: FlowEntry | null): void {
    if (!this.active) return;
    if (replaced === null) this.count(e, 1);
    const u = this.users.get(e.table);
    if (u !== undefined) this.affect(u, e);
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

  /** (MAC, VLAN) was learned, moved or removed. */
  macChanged(hi: number, lo: number, vlan: number): void {
    const k = macKey(hi, lo, vlan), l = this.macs.get(k);
    if (l === undefined) return;
    let j = 0;
    for (const x of l) {
      if (x.dead) continue;
      if (usesMac(x, this.segOf(x), hi, lo, vlan)) kill(x);
      else l[j++] = x;
    }
    if (j === 0) this.macs.delete(k);
    else l.length = j;
  }

  /** Every MAC was forgotten (fdb/flush). */
  fdbFlushed(): void {
    for (const l of this.macs.values()) for (const x of l) kill(x);
    this.macs.clear();
  }

  /** The port numbered `ofport` was added, deleted or reconfigured. */
  portChanged(ofport: number): void {
    const l = this.ports.get(ofport);
    if (l !== undefined) this.killAll(l);
    this.ports.delete(ofport);
    this.killAll(this.floods);
  }

  /**
   * The bridge's fragment handling changed (set-frags; OVS revalidates every
   * datapath flow): the entries of fragments go, only first fragments' when
   * it went between normal and nx-match (a later fragment has no ports to
   * look up, so both look it up alike).
   */
  fragsChanged(firstOnly: boolean): void {
    let j = 0;
    for (const x of this.frags) {
      if (x.dead) continue;
      if (!firstOnly || fragOf(x) === 1) kill(x);
      else this.frags[j++] = x;
    }
    this.frags.length = j;
  }

  private killAll(list: XcEntry[]): void {
    for (const x of list) kill(x);
    list.length = 0;
  }

  /** This bridge's segment of `x`. */
  private segOf(x: XcEntry): XcSeg {
    const ss = x.segs;
    for (let i = 1; i < ss.length; i++) if (ss[i]!.deps === this) return ss[i]!;
    return ss[0]!;
  }

  /** Invalidate the entries of table `u` whose outcome flow `f` (added, changed or removed) can change. */
  private affect(u: TableUsers, f: FlowEntry): void {
    this.killAll(u.ties);
    const fid = maskId(f.match.mask);
    for (const g of u.groups) {
      const key = g.uid + '|' + fid;
      let idx = u.byMask.get(key);
      if (idx === undefined) {
        u.byMask.set(key, (idx = new MaskIndex(g, f.match.mask)));
        let j = 0;
        for (const x of u.all) {
          if (x.dead) continue;
          u.all[j++] = x;
          if (x.group === g) forLookups(x, this.segOf(x), f.table, (off) => idx!.add(x, off));
        }
        u.all.length = j;
      }
      const h = idx.hashValue(f.match.value);
      const b = idx.buckets.get(h);
      if (b === undefined) continue;
      let j = 0;
      for (const x of b) {
        if (x.dead) continue;
        if (affected(x, this.segOf(x), f)) kill(x);
        else b[j++] = x;
      }
      if (j === 0) idx.buckets.delete(h);
      else b.length = j;
    }
    if (this.stale > 2 * this.cache.count + 4096) this.compact();
  }

  /** Drop dead entries from every list; the mask indexes are rebuilt on their next use. */
  private compact(): void {
    const live = (l: XcEntry[]): XcEntry[] => {
      let j = 0;
      for (const x of l) if (!x.dead) l[j++] = x;
      l.length = j;
      return l;
    };
    for (const u of this.users.values()) {
      live(u.all);
      live(u.ties);
      u.groups.clear();
      for (const x of u.all) u.groups.add(x.group);
      u.byMask.clear();
    }
    for (const m of [this.macs, this.ports]) for (const [k, l] of m) if (live(l).length === 0) m.delete(k);
    live(this.floods);
    live(this.frags);
    this.stale = 0;
  }
}

/** Offset in `c` of the key the lookup step at `o` used. */
function keyAt(c: Int32Array, o: number): number {
  const k = c[o + 2]!;
  return k < 0 ? 0 : k;
}

/** `x`'s nw_frag (0: not a fragment, 1: a first one, 3: a later one; never rewritten on the way). */
function fragOf(x: XcEntry): number {
  const j = x.group.words.indexOf(K.NW_FRAG);
  return j < 0 ? 0 : x.code[j]! & 3;
}

/** Invalidate `x` in the cache that holds it. */
function kill(x: XcEntry): void {
  x.group.cache.kill(x);
}

/** Call `fn` with the key offset of each of segment `s`'s lookups of `table`. */
function forLookups(x: XcEntry, s: XcSeg, table: number, fn: (off: number) => void): void {
  const c = x.code;
  for (let i = s.step0, o = x.stepsAt + 3 * s.step0; i < s.step1; i++, o += 3) if (c[o] === EV_LOOKUP && c[o + 1] === table) fn(keyAt(c, o));
}

/** Can `f` change the outcome of one of segment `s`'s lookups of f's table? */
function affected(x: XcEntry, s: XcSeg, f: FlowEntry): boolean {
  const c = x.code, refs = x.refs;
  for (let i = s.step0, o = x.stepsAt + 3 * s.step0; i < s.step1; i++, o += 3) {
    if (c[o] !== EV_LOOKUP || c[o + 1] !== f.table) continue;
    const r = refs[2 * i + 1] as FlowEntry | null;
    if ((r === null || f.priority >= r.priority) && overlaps(f.match, x, keyAt(c, o))) return true;
  }
  return false;
}

/** Did segment `s` of `x` look up or learn (MAC, VLAN)? */
function usesMac(x: XcEntry, s: XcSeg, hi: number, lo: number, vlan: number): boolean {
  const c = x.code;
  for (let q = x.fdbAt + 4 * s.fdb0, end = x.fdbAt + 4 * s.fdb1; q < end; q += 4) if (c[q] === hi && c[q + 1] === (lo | 0) && c[q + 2] === vlan) return true;
  return false;
}
