// One subtable of the classifier: every rule with one mask, in a compact
// open-addressing hash table keyed by the masked key words (OVS's
// cls_subtable over a cmap). A lookup is memory-bound, not compute-bound
// (100 k rules do not fit in cache), so the layout keeps what a probe reads
// in one place: each slot holds the hash tag, a node number and the node's
// masked values inline, so a probe reads one cache line of slots and a hit
// two more (the node's head rule pointer and the rule itself). Lookups
// allocate nothing and build no strings.
//
// Most probes miss (a lookup tries subtables until one matches), so each
// subtable also keeps a filter of 4 bits per slot, small enough to stay in
// the CPU's cache (bench/scale.ts's 100 k-flow table: 152 KiB of filters
// beside 6 MiB of slots): a key whose bit is clear misses without touching
// the slots. A bit is set for every node's hash and cleared only by a
// rebuild, so it never hides a rule.
//
// A node is one distinct masked value; the rules sharing it (different
// priorities, as OVS's cls_match list) hang off it highest priority first,
// insertion order among equals.
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

/** The slot tag of a hash: its high bit set, so 0 means an empty slot. */
function tagOf(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0x80000000;
}

const MIN_SLOTS = 8;

/**
 * OVS's lookup stages (classifier.c staged lookup over flow.h's
 * FLOW_SEGMENT_*): metadata (in_port, tunnel, metadata, registers, mark),
 * L2, L3 (ARP's hardware addresses included), L4.
 */
function stageOf(w: number): number {
  if (w === K.IN_PORT || w >= K.TUN_ID_HI) return 0;
  if (w <= K.DL_TYPE) return 1;
  return w === K.TP_SRC || w === K.TP_DST ? 3 : 2;
}

export class Subtable<R extends ClsRule> {
  /** Indices of the key words this mask selects (non-zero mask words). */
  readonly words: Int32Array;
  readonly maskWords: Int32Array;
  /** Int32 words per slot: tag, node, then the node's masked value words. */
  private readonly stride: number;
  private slots: Int32Array;
  private slotMask: number;
  private used = 0;
  private filter = new Int32Array(1);
  /** A hash's filter bit is (tag & 0x7fffffff) >>> filterShift: high bits, independent of the slot (low bits). */
  private filterShift = 31;
  /** Nodes removed since the filter was built (their bits may still be set). */
  private stale = 0;
  /** Node -> its highest-priority rule (null: free node). */
  private readonly heads: (R | null)[] = [];
  /** Node -> the node's other rules, highest priority first (null when none). */
  private readonly rest: (R[] | null)[] = [];
  private readonly freeNodes: number[] = [];
  /** priority -> number of rules with it, to keep maxPriority on removal. */
  private readonly prioCount = new Map<number, number>();
  maxPriority = -1;
  count = 0;
  /**
   * Staged lookup (find_match_wc): the mask's words stage by stage, and for
   * every stage but the last one it has, the hashes of the nodes' values
   * up to that stage (with how many nodes have each), so a key that no rule
   * agrees with that far misses on those stages' bits alone.
   */
  private readonly stageWords: Int32Array[] = [];
  private readonly stageMasks: Int32Array[] = [];
  private readonly stageIndex: Map<number, number>[] = [];

  constructor(readonly mask: Uint32Array, readonly id: string) {
    const w: number[] = [];
    for (let i = 0; i < K.WORDS; i++) if (mask[i] !== 0) w.push(i);
    this.words = Int32Array.from(w);
    this.maskWords = Int32Array.from(w.map((i) => mask[i]! | 0));
    for (let st = 0; st < 4; st++) {
      const sw = w.filter((i) => stageOf(i) === st);
      if (sw.length === 0) continue;
      this.stageWords.push(Int32Array.from(sw));
      this.stageMasks.push(Int32Array.from(sw.map((i) => mask[i]! | 0)));
    }
    for (let i = 0; i + 1 < this.stageWords.length; i++) this.stageIndex.push(new Map());
    this.stride = 2 + w.length;
    this.slots = new Int32Array(MIN_SLOTS * this.stride);
    this.slotMask = MIN_SLOTS - 1;
    this.buildFilter();
  }

  /** The highest-priority rule of this subtable matching `key`, or null. */
  find(key: FlowKey): R | null {
    const ws = this.words, mw = this.maskWords, nw = ws.length;
    let h = nw;
    for (let i = 0; i < nw; i++) h = mix(h, key[ws[i]!]! & mw[i]!);
    const tag = tagOf(h);
    const f = (tag & 0x7fffffff) >>> this.filterShift;
    if ((this.filter[f >>> 5]! & (1 << (f & 31))) === 0) return null;
    const slots = this.slots, stride = this.stride, m = this.slotMask;
    for (let s = tag & m; ; s = (s + 1) & m) {
      const b = s * stride;
      const t = slots[b]!;
      if (t === 0) return null;
      if (t !== tag) continue;
      let i = 0;
      while (i < nw && slots[b + 2 + i] === (key[ws[i]!]! & mw[i]!)) i++;
      if (i === nw) return this.heads[slots[b + 1]!]!;
    }
  }

  /**
   * find(), OR-ing into `wc` the mask bits the answer depends on: the
   * stages up to the first one no rule agrees with (the whole mask once
   * every stage does), as OVS un-wildcards them.
   */
  findWc(key: FlowKey, wc: Uint32Array): R | null {
    const idx = this.stageIndex;
    let h = 0;
    for (let i = 0; i < idx.length; i++) {
      h = this.stageHash(h, i, key);
      if (!idx[i]!.has(h)) {
        this.fold(wc, i);
        return null;
      }
    }
    this.fold(wc, this.stageWords.length - 1);
    return this.find(key);
  }

  /** `h` carried on over stage `i`'s words of `v` (masked). */
  private stageHash(h: number, i: number, v: Uint32Array): number {
    const ws = this.stageWords[i]!, ms = this.stageMasks[i]!;
    for (let j = 0; j < ws.length; j++) h = mix(h, v[ws[j]!]! & ms[j]!);
    return h;
  }

  /** OR stages 0..last's mask bits into `wc`. */
  private fold(wc: Uint32Array, last: number): void {
    for (let i = 0; i <= last; i++) {
      const ws = this.stageWords[i]!, ms = this.stageMasks[i]!;
      for (let j = 0; j < ws.length; j++) wc[ws[j]!] = (wc[ws[j]!]! | ms[j]!) >>> 0;
    }
  }

  /** A node with masked value `v` comes (+1) or goes (-1): the stage indexes follow. */
  private indexNode(v: Uint32Array, d: 1 | -1): void {
    const idx = this.stageIndex;
    let h = 0;
    for (let i = 0; i < idx.length; i++) {
      h = this.stageHash(h, i, v);
      const n = (idx[i]!.get(h) ?? 0) + d;
      if (n === 0) idx[i]!.delete(h);
      else idx[i]!.set(h, n);
    }
  }

  insert(rule: R): void {
    const v = rule.match.value;
    const s = this.slotOf(v);
    if (s >= 0) {
      const node = this.slots[s * this.stride + 1]!;
      const head = this.heads[node]!;
      const rest = this.rest[node] ?? [];
      if (rule.priority > head.priority) {
        rest.unshift(head);
        this.heads[node] = rule;
      } else {
        // Stable: a new rule goes after existing rules of the same priority.
        let i = rest.length;
        while (i > 0 && rest[i - 1]!.priority < rule.priority) i--;
        rest.splice(i, 0, rule);
      }
      this.rest[node] = rest;
    } else {
      this.addNode(rule);
    }
    this.count++;
    this.prioCount.set(rule.priority, (this.prioCount.get(rule.priority) ?? 0) + 1);
    if (rule.priority > this.maxPriority) this.maxPriority = rule.priority;
  }

  remove(rule: R): boolean {
    const s = this.slotOf(rule.match.value);
    if (s < 0) return false;
    const node = this.slots[s * this.stride + 1]!;
    const rest = this.rest[node];
    if (this.heads[node] === rule) {
      if (rest) {
        this.heads[node] = rest.shift()!;
        if (rest.length === 0) this.rest[node] = null;
      } else {
        this.heads[node] = null;
        this.freeNodes.push(node);
        this.clearSlot(s);
        this.indexNode(rule.match.value, -1);
      }
    } else {
      const i = rest ? rest.indexOf(rule) : -1;
      if (i < 0) return false;
      rest!.splice(i, 1);
      if (rest!.length === 0) this.rest[node] = null;
    }
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

  /** The rule with exactly this (masked) value and priority, if any. */
  findExact(value: Uint32Array, priority: number): R | null {
    const s = this.slotOf(value);
    if (s < 0) return null;
    const node = this.slots[s * this.stride + 1]!;
    const head = this.heads[node]!;
    if (head.priority === priority) return head;
    const rest = this.rest[node];
    if (rest) for (const r of rest) if (r.priority === priority) return r;
    return null;
  }

  /** Every rule, node by node (node numbers are handed out in insertion order, then reused). */
  rules(out: R[]): void {
    for (let n = 0; n < this.heads.length; n++) {
      const h = this.heads[n];
      if (!h) continue;
      out.push(h);
      const rest = this.rest[n];
      if (rest) for (const r of rest) out.push(r);
    }
  }

  private hashValue(v: Uint32Array): number {
    const ws = this.words;
    let h = ws.length;
    for (let i = 0; i < ws.length; i++) h = mix(h, v[ws[i]!]!);
    return tagOf(h);
  }

  /** The slot holding masked value `v`, or -1. */
  private slotOf(v: Uint32Array): number {
    const tag = this.hashValue(v);
    const ws = this.words, nw = ws.length, slots = this.slots, stride = this.stride, m = this.slotMask;
    for (let s = tag & m; ; s = (s + 1) & m) {
      const b = s * stride;
      const t = slots[b]!;
      if (t === 0) return -1;
      if (t !== tag) continue;
      let i = 0;
      while (i < nw && slots[b + 2 + i] === (v[ws[i]!]! | 0)) i++;
      if (i === nw) return s;
    }
  }

  private addNode(rule: R): void {
    let node = this.freeNodes.pop();
    if (node === undefined) {
      node = this.heads.length;
      this.heads.push(rule);
      this.rest.push(null);
    } else {
      this.heads[node] = rule;
      this.rest[node] = null;
    }
    // Load factor at most 1/2, so linear probes stay short.
    if (2 * (this.used + 1) > this.slotMask + 1) this.resize(2 * (this.slotMask + 1));
    const v = rule.match.value, ws = this.words, stride = this.stride, m = this.slotMask;
    const tag = this.hashValue(v);
    let s = tag & m;
    while (this.slots[s * stride] !== 0) s = (s + 1) & m;
    const b = s * stride;
    this.slots[b] = tag;
    this.slots[b + 1] = node;
    for (let i = 0; i < ws.length; i++) this.slots[b + 2 + i] = v[ws[i]!]! | 0;
    this.used++;
    const f = (tag & 0x7fffffff) >>> this.filterShift;
    this.filter[f >>> 5] |= 1 << (f & 31);
    this.indexNode(v, 1);
  }

  /** Empty slot `s`, shifting later entries of its probe run back (no tombstones). */
  private clearSlot(s: number): void {
    const slots = this.slots, stride = this.stride, m = this.slotMask;
    let hole = s;
    for (let j = (s + 1) & m; slots[j * stride] !== 0; j = (j + 1) & m) {
      const home = slots[j * stride]! & m;
      // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      slots.copyWithin(hole * stride, j * stride, (j + 1) * stride);
      hole = j;
    }
    slots.fill(0, hole * stride, (hole + 1) * stride);
    this.used--;
    if (this.slotMask + 1 > MIN_SLOTS && 8 * this.used < this.slotMask + 1) this.resize((this.slotMask + 1) / 2);
    else if (++this.stale > this.used) this.buildFilter();
  }

  private resize(n: number): void {
    const old = this.slots, stride = this.stride, m = n - 1;
    const slots = new Int32Array(n * stride);
    for (let b = 0; b < old.length; b += stride) {
      const t = old[b]!;
      if (t === 0) continue;
      let s = t & m;
      while (slots[s * stride] !== 0) s = (s + 1) & m;
      for (let i = 0; i < stride; i++) slots[s * stride + i] = old[b + i]!;
    }
    this.slots = slots;
    this.slotMask = m;
    this.buildFilter();
  }

  private buildFilter(): void {
    const bits = 4 * (this.slotMask + 1); // a power of two, at least 32
    const filter = new Int32Array(bits >>> 5);
    const shift = 31 - Math.log2(bits);
    const slots = this.slots;
    for (let b = 0; b < slots.length; b += this.stride) {
      const t = slots[b]!;
      if (t === 0) continue;
      const f = (t & 0x7fffffff) >>> shift;
      filter[f >>> 5] |= 1 << (f & 31);
    }
    this.filter = filter;
    this.filterShift = shift;
    this.stale = 0;
  }
}
