// The supervisor's copy of what the workers' elements learned: it reads each
// worker's learned-state journal (src/datapath/learned-journal.ts) and keeps
// the latest record of every entry, by element (node/name/kind) and entry,
// in the order the elements keep them: an OVS fdb entry moves to the end with
// each of its records (OVS's LRU list, which fdb/show prints), the other
// kinds keep the place of their first record (the kernel's bridge fdb list
// does not reorder on a refresh either).
// A restarted worker, or the workers of a reload's next datapath, are given
// the entries of their nodes' elements to restore. Kept across restarts and
// reloads: a worker writes its elements' whole tables (RESET first) once it
// runs, so entries its elements did not take back (a port gone) leave here
// too, and elements a reload removed are forgotten (retain()).
import { LJ, readJournal, type LearnedRecord } from '../datapath/learned-journal.js';

/** Element key (node/name/kind) -> the latest record of each of its entries. */
export type LearnedState = [string, LearnedRecord[]][];

/** The entry a record is about, within its element: its kind (an entry's, for a removal) and its key. */
function entryKey(r: LearnedRecord): string {
  const n = r.nums;
  switch (r.kind) {
    case LJ.OFDB:
    case LJ.OFDB_DEL:
      return `${LJ.OFDB}:${n[0]}/${n[1]}/${n[2]}`;
    case LJ.LFDB:
    case LJ.LFDB_DEL:
      return `${LJ.LFDB}:${n[0]}/${n[1]}`;
    case LJ.NEIGH:
    case LJ.NEIGH_DEL:
      return `${LJ.NEIGH}:${n[0]}/${n[1]}`;
    case LJ.NEIGH6:
    case LJ.NEIGH6_DEL:
      return `${LJ.NEIGH6}:${n[0]}/${n[1]}/${n[2]}/${n[3]}/${n[4]}`;
    case LJ.FLOW:
      return `${LJ.FLOW}:${r.text.slice(0, r.text.indexOf('\n'))}`;
    default: // FLOW_DEL
      return `${LJ.FLOW}:${r.text}`;
  }
}

const DELETES = new Set<number>([LJ.OFDB_DEL, LJ.LFDB_DEL, LJ.NEIGH_DEL, LJ.FLOW_DEL, LJ.NEIGH6_DEL]);

export class LearnedMirror {
  private readonly els = new Map<string, Map<string, LearnedRecord>>();
  /** Per journal (worker index): element id -> key, from its DECL records. */
  private readonly ids: Map<number, string>[] = [];

  /** Apply what worker `w` wrote to `journal` since the last read. */
  drain(w: number, journal: SharedArrayBuffer): number {
    const ids = (this.ids[w] ??= new Map());
    return readJournal(journal, (el, r) => {
      if (r.kind === LJ.DECL) return void ids.set(el, r.text);
      const key = ids.get(el);
      if (key === undefined) return; // cannot happen: a worker declares an element before it writes for it
      let m = this.els.get(key);
      if (!m) this.els.set(key, (m = new Map()));
      if (r.kind === LJ.RESET) {
        for (const [k, x] of m) if (x.kind === r.nums[0]) m.delete(k);
        return;
      }
      const k = entryKey(r);
      if (DELETES.has(r.kind)) return void m.delete(k);
      // An OVS fdb record is also a move to the end of the bridge's LRU list (every move is
      // journaled): to the end here too, so an element's OFDB records stay in LRU order.
      if (r.kind === LJ.OFDB) m.delete(k);
      m.set(k, r);
    });
  }

  /** The entries of the elements on `nodes` (all, without it). */
  state(nodes?: readonly string[]): LearnedState {
    const out: LearnedState = [];
    for (const [key, m] of this.els) {
      if (m.size === 0 || (nodes && !nodes.includes(key.slice(0, key.indexOf('/'))))) continue;
      out.push([key, [...m.values()]]);
    }
    return out;
  }

  /** Take the entries of another datapath's mirror (a reload). */
  adopt(state: LearnedState): void {
    for (const [key, recs] of state) this.els.set(key, new Map(recs.map((r) => [entryKey(r), r])));
  }

  /** Forget the elements not in `keys` (those a reload removed: a later one must not bring their entries back). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.els.keys()) if (!keys.has(key)) this.els.delete(key);
  }

  /** Entries kept, all elements. */
  get size(): number {
    let n = 0;
    for (const m of this.els.values()) n += m.size;
    return n;
  }
}

/** The key of an element in the mirror. */
export function learnedKey(node: string, name: string, kind: string): string {
  return `${node}/${name}/${kind}`;
}
