// A hash map keyed by (MAC, tag) for the bridges' forwarding databases: the
// Linux bridge's (tag 0) and OVS NORMAL's (tag = VLAN). A 48-bit MAC as one
// JavaScript number is not a small integer, so every Map<number, …> lookup
// boxed it in a heap number; here a key stays two int32 words (the low 32
// bits, and the top 16 bits with the tag above them) in typed arrays, and a
// lookup allocates nothing.
//
// The layout is CPython's compact dict: an open-addressed index (linear
// probing, at most half full) points at entries kept in the order they were
// first set, so iteration visits them as a Map would (`learned()` and tests
// rely on that order). Each index slot holds the key beside the entry number,
// so a probe reads one 16-byte slot and a hit one value. A delete leaves a
// hole in the entries and a tombstone in the index; the next growth compacts
// both.

const W = 4; // index slot words: key lo, key hi | tag << 16, entry number + 1 (or EMPTY / DELETED), unused
const EMPTY = 0; // index slot never used (probing stops here)
const DELETED = -1; // index slot whose entry was deleted (probing goes on)
const HOLE = -1; // keyHi of a deleted entry (a live one is hi16 | tag << 16, never negative)
const MIN_INDEX = 8;

/** The index hash of a key: `lo` the MAC's low word as int32, `hiTag` its top 16 bits | tag << 16 (exported for tests that need colliding keys). */
export function macKeyHash(lo: number, hiTag: number): number {
  let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b);
  h ^= Math.imul(hiTag, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x27d4eb2d);
  return h ^ (h >>> 13);
}

export class MacTable<V> {
  /** W words per slot; `mask` is the slot count less one. */
  private index: Int32Array;
  private mask: number;
  /** Entries in insertion order: the MAC's low 32 bits (as int32), hi16 | tag << 16 (HOLE once deleted), the value. */
  private keyLo: Int32Array;
  private keyHi: Int32Array;
  private vals: (V | undefined)[];
  /** Entries used so far, holes included; entries beyond it are free. */
  private used = 0;
  private live = 0;

  constructor(capacity = MIN_INDEX / 2) {
    let size = MIN_INDEX;
    while (size < capacity * 2) size *= 2;
    this.index = new Int32Array(size * W);
    this.mask = size - 1;
    this.keyLo = new Int32Array(size >> 1);
    this.keyHi = new Int32Array(size >> 1);
    this.vals = new Array<V | undefined>(size >> 1).fill(undefined);
  }

  get size(): number {
    return this.live;
  }

  /** `hi`: the MAC's top 16 bits; `lo`: its low 32 (signed or unsigned); `tag`: 0 .. 0x7fff. */
  get(hi: number, lo: number, tag: number): V | undefined {
    const s = this.slot(lo | 0, (hi & 0xffff) | (tag << 16));
    return s < 0 ? undefined : this.vals[this.index[s + 2]! - 1];
  }

  has(hi: number, lo: number, tag: number): boolean {
    return this.slot(lo | 0, (hi & 0xffff) | (tag << 16)) >= 0;
  }

  /** Insert or replace; a replaced key keeps its place in the order. */
  set(hi: number, lo: number, tag: number, v: V): void {
    lo |= 0;
    const ht = (hi & 0xffff) | (tag << 16);
    const s = this.slot(lo, ht);
    if (s >= 0) {
      this.vals[this.index[s + 2]! - 1] = v;
      return;
    }
    if (this.used === this.keyLo.length) this.resize();
    const i = this.used++;
    this.keyLo[i] = lo;
    this.keyHi[i] = ht;
    this.vals[i] = v;
    this.place(lo, ht, i);
    this.live++;
  }

  delete(hi: number, lo: number, tag: number): boolean {
    const s = this.slot(lo | 0, (hi & 0xffff) | (tag << 16));
    if (s < 0) return false;
    const i = this.index[s + 2]! - 1;
    this.index[s + 2] = DELETED;
    this.keyHi[i] = HOLE;
    this.vals[i] = undefined;
    this.live--;
    return true;
  }

  clear(): void {
    this.index.fill(EMPTY);
    this.vals.fill(undefined, 0, this.used);
    this.used = this.live = 0;
  }

  // Iteration without a closure or an iterator object (ageing runs on the
  // data path's tick): for (let i = t.next(0); i >= 0; i = t.next(i + 1)).
  // Deleting during it is safe; setting a new key is not (it may compact).

  /** The first live entry at or after entry number `i`, or -1. */
  next(i: number): number {
    const kh = this.keyHi;
    for (; i < this.used; i++) if (kh[i] !== HOLE) return i;
    return -1;
  }
  valueAt(i: number): V {
    return this.vals[i]!;
  }
  hiAt(i: number): number {
    return this.keyHi[i]! & 0xffff;
  }
  /** Unsigned, as the wire layer's readMacLo gives it. */
  loAt(i: number): number {
    return this.keyLo[i]! >>> 0;
  }
  tagAt(i: number): number {
    return this.keyHi[i]! >>> 16;
  }

  /** The offset in `index` of the key's slot, or -1. */
  private slot(lo: number, ht: number): number {
    const idx = this.index, m = this.mask;
    for (let s = macKeyHash(lo, ht) & m; ; s = (s + 1) & m) {
      const o = s * W;
      const x = idx[o + 2]!;
      if (x === EMPTY) return -1;
      if (x !== DELETED && idx[o] === lo && idx[o + 1] === ht) return o;
    }
  }

  /** Point the first empty slot on the key's probe path at entry `i`. */
  private place(lo: number, ht: number, i: number): void {
    const idx = this.index, m = this.mask;
    let s = macKeyHash(lo, ht) & m;
    while (idx[s * W + 2] !== EMPTY) s = (s + 1) & m;
    idx[s * W] = lo;
    idx[s * W + 1] = ht;
    idx[s * W + 2] = i + 1;
  }

  /** Compact the entries and rebuild the index with room for as many again as are live. */
  private resize(): void {
    let size = MIN_INDEX;
    while (size < this.live * 4) size *= 2;
    const kl = this.keyLo, kh = this.keyHi, vs = this.vals;
    const cap = size >> 1;
    const nl = cap === kl.length ? kl : new Int32Array(cap);
    const nh = cap === kh.length ? kh : new Int32Array(cap);
    const nv = cap === vs.length ? vs : new Array<V | undefined>(cap).fill(undefined);
    this.index = cap === kl.length ? this.index.fill(EMPTY) : new Int32Array(size * W);
    this.mask = size - 1;
    let j = 0;
    for (let i = 0; i < this.used; i++) {
      if (kh[i] === HOLE) continue;
      nl[j] = kl[i]!;
      nh[j] = kh[i]!;
      nv[j] = vs[i];
      this.place(kl[i]!, kh[i]!, j);
      j++;
    }
    nv.fill(undefined, j, this.used);
    this.keyLo = nl;
    this.keyHi = nh;
    this.vals = nv;
    this.used = j;
  }
}
