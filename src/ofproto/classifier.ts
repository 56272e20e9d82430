// The OpenFlow classifier: tuple space search, as OVS lib/classifier.c does it.
// Rules with the same mask share a subtable (classifier-subtable.ts: a
// compact hash table keyed by a numeric hash of the key words its mask
// selects). Subtables are kept in descending order of the highest priority
// they hold, so a lookup stops as soon as no remaining subtable can beat the
// best match found. Lookups build no strings and allocate nothing.
import { K, type FlowKey } from './flow-key.js';
import type { Match } from './match.js';
import { Subtable, type ClsRule } from './classifier-subtable.js';

export type { ClsRule };

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < K.WORDS; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The subtable key of a mask (built at insert/remove time, or once by a caller that reuses it). */
export function maskId(mask: Uint32Array): string {
  return mask.join(',');
}

export class Classifier<R extends ClsRule> {
  /** Subtables in descending maxPriority order. */
  private subtables: Subtable<R>[] = [];
  private readonly byMask = new Map<string, Subtable<R>>();
  private n = 0;
  /** Bumped on every change, so caches built on lookups can tell they are stale. */
  generation = 0;

  get size(): number {
    return this.n;
  }

  /** Distinct masks in use (OVS's "n_subtables"). */
  get subtableCount(): number {
    return this.subtables.length;
  }

  /**
   * The highest-priority rule matching `key` (null on a miss). Among
   * overlapping rules of equal priority the winner is unspecified, as in OVS.
   * If `wc` is given, the mask bits each subtable consulted read to decide
   * are OR-ed into it (the megaflow wildcards, as OVS's staged lookup
   * un-wildcards them: Subtable.findWc).
   */
  lookup(key: FlowKey, wc?: Uint32Array): R | null {
    const sts = this.subtables;
    let best: R | null = null;
    let bestPri = -1;
    for (let i = 0; i < sts.length; i++) {
      const st = sts[i]!;
      if (st.maxPriority <= bestPri) break;
      const r = wc === undefined ? st.find(key) : st.findWc(key, wc);
      if (r !== null && r.priority > bestPri) {
        best = r;
        bestPri = r.priority;
      }
    }
    return best;
  }

  /** Insert `rule`; a rule with identical match and priority is replaced and returned (classifier_replace). */
  insert(rule: R): R | null {
    const id = maskId(rule.match.mask);
    let st = this.byMask.get(id);
    let old: R | null = null;
    if (!st) {
      st = new Subtable<R>(Uint32Array.from(rule.match.mask), id);
      this.byMask.set(id, st);
      this.subtables.push(st);
    } else {
      old = st.findExact(rule.match.value, rule.priority);
      if (old) {
        st.remove(old);
        this.n--;
      }
    }
    st.insert(rule);
    this.n++;
    this.generation++;
    this.sort();
    return old;
  }

  remove(rule: R): boolean {
    const st = this.byMask.get(maskId(rule.match.mask));
    if (!st || !st.remove(rule)) return false;
    this.n--;
    this.generation++;
    if (st.count === 0) {
      this.byMask.delete(st.id);
      this.subtables = this.subtables.filter((s) => s !== st);
    } else {
      this.sort();
    }
    return true;
  }

  /** The rule with exactly this match and priority (strict matching). */
  findExact(match: Match, priority: number, id: string = maskId(match.mask)): R | null {
    const st = this.byMask.get(id);
    return st ? st.findExact(match.value, priority) : null;
  }

  /** Every rule, highest priority first (among equals: by subtable, then by node, see Subtable.rules). */
  rules(): R[] {
    const out: R[] = [];
    for (const st of this.subtables) st.rules(out);
    return out.sort((a, b) => b.priority - a.priority);
  }

  clear(): void {
    this.subtables = [];
    this.byMask.clear();
    this.n = 0;
    this.generation++;
  }

  private sort(): void {
    // Few subtables (one per distinct mask): a sort per change is cheap.
    this.subtables.sort((a, b) => b.maxPriority - a.maxPriority);
  }
}

/**
 * Loose matching, as ovs-ofctl del-flows/dump-flows without --strict use it:
 * does `rule` match at least everything `crit` asks for?
 */
export function looseMatches(rule: Match, crit: Match): boolean {
  const rv = rule.value, rm = rule.mask, cv = crit.value, cm = crit.mask;
  for (let i = 0; i < K.WORDS; i++) {
    const m = cm[i]!;
    if (m === 0) continue;
    if (((rm[i]! & m) >>> 0) !== m) return false;
    if (((rv[i]! & m) >>> 0) !== cv[i]) return false;
  }
  return true;
}

export function sameMatch(a: Match, b: Match): boolean {
  return sameWords(a.mask, b.mask) && sameWords(a.value, b.value);
}
