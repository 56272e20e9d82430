// The OpenFlow classifier: tuple space search, as OVS lib/classifier.c does it.
// Rules with the same mask share a subtable; a subtable is a hash table keyed
// by a numeric hash of the key words its mask selects. Subtables are kept in
// descending order of the highest priority they hold, so a lookup stops as
// soon as no remaining subtable can beat the best match found. Lookups build
// no strings and allocate nothing.
import { K, type FlowKey } from './flow-key.js';
import type { Match } from './match.js';

export interface ClsRule {
  readonly match: Match;
  readonly priority: number;
}

// Mixing as in OVS hash.h (murmur3 steps): fast, and good with few words.
function mix(h: number, w: number): number {
  w = Math.imul(w, 0xcc9e2d51);
  w = (w << 15) | (w >>> 17);
  w = Math.imul(w, 0x1b873593);
  h ^= w;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

// 30 bits: small integers stay unboxed as Map keys (no allocation per lookup).
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

class Subtable<R extends ClsRule> {
  /** Indices of the key words this mask selects (non-zero mask words). */
  readonly words: Int32Array;
  readonly maskWords: Uint32Array;
  /** hash -> rules with that hash, highest priority first. */
  readonly buckets = new Map<number, R[]>();
  /** priority -> number of rules with it, to keep maxPriority on removal. */
  private readonly prioCount = new Map<number, number>();
  maxPriority = -1;
  count = 0;

  constructor(readonly mask: Uint32Array, readonly id: string) {
    const w: number[] = [];
    for (let i = 0; i < K.WORDS; i++) if (mask[i] !== 0) w.push(i);
    this.words = Int32Array.from(w);
    this.maskWords = Uint32Array.from(w.map((i) => mask[i]!));
  }

  hashValue(value: Uint32Array): number {
    const ws = this.words;
    let h = ws.length;
    for (let i = 0; i < ws.length; i++) h = mix(h, value[ws[i]!]!);
    return finish(h);
  }

  hashKey(key: FlowKey): number {
    const ws = this.words, mw = this.maskWords;
    let h = ws.length;
    for (let i = 0; i < ws.length; i++) h = mix(h, key[ws[i]!]! & mw[i]!);
    return finish(h);
  }

  /** The highest-priority rule of this subtable matching `key`, or null. */
  find(key: FlowKey): R | null {
    const bucket = this.buckets.get(this.hashKey(key));
    if (bucket === undefined) return null;
    const ws = this.words, mw = this.maskWords;
    outer: for (let b = 0; b < bucket.length; b++) {
      const v = bucket[b]!.match.value;
      for (let i = 0; i < ws.length; i++) {
        const w = ws[i]!;
        if (((key[w]! & mw[i]!) >>> 0) !== v[w]) continue outer;
      }
      return bucket[b]!;
    }
    return null;
  }

  insert(rule: R): void {
    const h = this.hashValue(rule.match.value);
    let bucket = this.buckets.get(h);
    if (!bucket) this.buckets.set(h, (bucket = []));
    // Stable: a new rule goes after existing rules of the same priority.
    let i = bucket.length;
    while (i > 0 && bucket[i - 1]!.priority < rule.priority) i--;
    bucket.splice(i, 0, rule);
    this.count++;
    this.prioCount.set(rule.priority, (this.prioCount.get(rule.priority) ?? 0) + 1);
    if (rule.priority > this.maxPriority) this.maxPriority = rule.priority;
  }

  remove(rule: R): boolean {
    const h = this.hashValue(rule.match.value);
    const bucket = this.buckets.get(h);
    if (!bucket) return false;
    const i = bucket.indexOf(rule);
    if (i < 0) return false;
    bucket.splice(i, 1);
    if (bucket.length === 0) this.buckets.delete(h);
    this.count--;
    const n = this.prioCount.get(rule.priority)! - 1;
    if (n === 0) {
      this.prioCount.delete(rule.priority);
      if (rule.priority === this.maxPriority) {
        let m = -1;
        for (const p of this.prioCount.keys()) if (p > m) m = p;
        this.maxPriority = m;
      }
    } else {
      this.prioCount.set(rule.priority, n);
    }
    return true;
  }

  /** The rule with exactly this value and priority, if any. */
  findExact(value: Uint32Array, priority: number): R | null {
    const bucket = this.buckets.get(this.hashValue(value));
    if (!bucket) return null;
    for (let i = 0; i < bucket.length; i++) {
      const r = bucket[i]!;
      if (r.priority === priority && sameWords(r.match.value, value)) return r;
    }
    return null;
  }
}

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
   * If `wc` is given, the mask bits of every subtable consulted are OR-ed
   * into it (the megaflow wildcards, as OVS un-wildcards them).
   */
  lookup(key: FlowKey, wc?: Uint32Array): R | null {
    const sts = this.subtables;
    let best: R | null = null;
    let bestPri = -1;
    for (let i = 0; i < sts.length; i++) {
      const st = sts[i]!;
      if (st.maxPriority <= bestPri) break;
      if (wc !== undefined) {
        const ws = st.words, mw = st.maskWords;
        for (let j = 0; j < ws.length; j++) wc[ws[j]!] = (wc[ws[j]!]! | mw[j]!) >>> 0;
      }
      const r = st.find(key);
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

  /** Every rule, highest priority first (insertion order among equals within a subtable). */
  rules(): R[] {
    const out: R[] = [];
    for (const st of this.subtables) for (const b of st.buckets.values()) for (const r of b) out.push(r);
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
