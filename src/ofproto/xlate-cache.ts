// The per-bridge translation cache, OVS's exact-match cache (EMC): the key is
// every word of the packet's FlowKey (in_port included); the value is what
// Xlate did for that key, recorded as a list of primitive steps (table hits
// to credit, fdb refreshes, header rewrites, snapshots, outputs) that Xlate
// replays on the next packet with the same key. Everything a step reads
// besides the key and the packet lives in the flow tables, the fdb or the
// port set. A flow change invalidates only the entries whose lookups it can
// change (xlate-deps.ts); the fdb and the port set are tracked by
// generations compared on every lookup, and a change there flushes the whole
// cache (NORMAL's decisions and port lists are not recorded finely enough to
// do better). Timeouts (flow idle/hard, fdb aging) do not bump a generation
// until something expires, so a hit checks them live.
import { K, type FlowKey } from './flow-key.js';
import type { FlowEntry, FlowTable } from './flow-table.js';
import type { MacLearning } from './fdb.js';
import type { OvsPort } from './ovs-port.js';
import type { DropReason } from '../datapath/drop-reasons.js';
import type { Stats } from '../datapath/stats.js';
import { FC } from '../datapath/stats.js';

const W = K.WORDS;

// Recorded steps, replayed in order.
/** beforeChange(): the pending output keeps the packet as it is now. */
export const EV_SNAP = 0;
/** applyChanges(arg): write dirty key fields into the packet. */
export const EV_APPLY = 1;
/** Push a VLAN header with TPID arg. */
export const EV_PUSH = 2;
/** Output to `port` with flow TCI arg (-1: as is). */
export const EV_OUTPUT = 3;
/** A table lookup (arg: table id; snapshot: the key looked up): credit the table's stats and the flow hit (the step's refs; the table is null if it did not exist). */
export const EV_LOOKUP = 4;
/** NORMAL's learning of the source MAC (a refresh: fdb quadruple arg). */
export const EV_LEARN = 5;

// Layout of XcEntry.code: one contiguous array per entry, because on a hit
// memory latency, not arithmetic, is what costs (10 k flows x 5 bridges of
// entries are cold in the CPU caches; an entry spread over a dozen small
// arrays was 2x slower than the slow path's few hot flow tables).
/** code[0..41]: the key the packet arrived with. */
const C_NEV = W; // steps
const C_FINAL = W + 1; // offset of the final key's snapshot, -1: the arrival key
const C_NFDB = W + 2; // fdb quadruples
const C_NTIMED = W + 3; // timed flows at refs[2 * nEv ...]
export const C_HDR = W + 4; // then fdb quadruples (hi, lo, vlan, port), steps (op, arg, snapshot offset), snapshots

/** The recorded translation of one key. */
export class XcEntry {
  packets = 0;
  bytes = 0;
  /** Emulated ms of the last hit; -1: never. */
  used = -1;
  /** Invalidated or evicted: no longer in the cache (lists in xlate-deps.ts drop it lazily). */
  dead = false;
  constructor(
    /** See C_HDR. Int32, half the bytes of Float64: key words > 2^31 are stored as their int32 bit pattern (compare with `| 0`). */
    readonly code: Int32Array,
    /** Per step i: refs[2i], refs[2i+1] (table and flow of a lookup, port of an output); then the timed flows. */
    readonly refs: (FlowTable | FlowEntry | OvsPort | null)[],
    readonly dropReason: DropReason,
  ) {}

  get nSteps(): number {
    return this.code[C_NEV]!;
  }

  /** First step's offset in code. */
  get stepsAt(): number {
    return C_HDR + 4 * this.code[C_NFDB]!;
  }

  get finalAt(): number {
    return this.code[C_FINAL]!;
  }

  /** Can a packet with this key take the recorded steps now? (What no generation covers: timeouts.) */
  live(nowMs: number, nowS: number, fdb: MacLearning): boolean {
    const c = this.code;
    const nt = c[C_NTIMED]!;
    if (nt !== 0) {
      const at = 2 * c[C_NEV]!;
      for (let i = 0; i < nt; i++) if ((this.refs[at + i] as FlowEntry).expiredAt(nowMs) !== null) return false;
    }
    const end = C_HDR + 4 * c[C_NFDB]!;
    for (let i = C_HDR; i < end; i += 4) {
      const e = fdb.peek(c[i]!, c[i + 1]!, c[i + 2]!);
      if (e === null || nowS >= e.expires || e.port !== c[i + 3]) return false;
    }
    return true;
  }
}

/**
 * Writes down one translation (reused: a miss allocates only the entry it
 * keeps). Snapshots of the key are kept only when it changed since the last
 * one (most translations keep 0 to 2).
 */
export class XcRecorder {
  private readonly ops: number[] = [];
  private readonly refs: (FlowTable | FlowEntry | OvsPort | null)[] = [];
  private readonly timed: FlowEntry[] = [];
  private readonly fdb: number[] = [];
  private readonly snaps: number[] = [];
  private last = -1; // snapshot index of the latest step
  readonly start = new Uint32Array(W);
  /** learn(), dec_ttl or an error happened: the translation is not kept. */
  uncacheable = false;

  begin(key: FlowKey): void {
    this.start.set(key);
    this.ops.length = this.refs.length = this.timed.length = this.fdb.length = this.snaps.length = 0;
    this.last = -1;
    this.uncacheable = false;
  }

  /** A step; `key` (null for steps that do not read it) is the key it runs with. */
  step(op: number, arg: number, r0: FlowTable | OvsPort | null, r1: FlowEntry | null, key: FlowKey | null): void {
    if (key !== null) this.snap(key);
    this.ops.push(op, arg, this.last);
    this.refs.push(r0, r1);
  }

  timedFlow(e: FlowEntry): void {
    this.timed.push(e);
  }

  /** The fdb entry (hi, lo, vlan) -> port was relied on; returns its index for a learn step. */
  fdbUsed(hi: number, lo: number, vlan: number, port: number): number {
    this.fdb.push(hi, lo >>> 0, vlan, port);
    return this.fdb.length / 4 - 1;
  }

  private snap(key: FlowKey): void {
    const s = this.snaps, last = this.last;
    let i = 0;
    if (last < 0) {
      const ref = this.start;
      while (i < W && key[i] === ref[i]) i++;
    } else {
      const o = last * W;
      while (i < W && key[i] === s[o + i]) i++;
    }
    if (i === W) return;
    for (let j = 0; j < W; j++) s.push(key[j]!);
    this.last = s.length / W - 1;
  }

  /** The entry, with `key` as the final key. */
  finish(key: FlowKey, dropReason: DropReason): XcEntry {
    this.snap(key);
    const nEv = this.ops.length / 3, nFdb = this.fdb.length / 4;
    const stepsAt = C_HDR + 4 * nFdb, snapsAt = stepsAt + 3 * nEv;
    const c = new Int32Array(snapsAt + this.snaps.length);
    for (let i = 0; i < W; i++) c[i] = this.start[i]!;
    c[C_NEV] = nEv;
    c[C_FINAL] = this.last < 0 ? -1 : snapsAt + this.last * W;
    c[C_NFDB] = nFdb;
    c[C_NTIMED] = this.timed.length;
    for (let i = 0; i < this.fdb.length; i++) c[C_HDR + i] = this.fdb[i]!;
    for (let i = 0; i < nEv; i++) {
      const o = stepsAt + 3 * i, k = this.ops[3 * i + 2]!;
      c[o] = this.ops[3 * i]!;
      c[o + 1] = this.ops[3 * i + 1]!;
      c[o + 2] = k < 0 ? -1 : snapsAt + k * W;
    }
    for (let i = 0; i < this.snaps.length; i++) c[snapsAt + i] = this.snaps[i]!;
    return new XcEntry(c, [...this.refs, ...this.timed], dropReason);
  }
}

/** At most this many slots per bridge (64 k keys at half load: the bench's 10 k flows, both directions, twice through br-int, fit). */
export const XC_MAX_SLOTS = 1 << 17;
const PROBE = 16;

/** What indexes the kept entries by their dependencies (xlate-deps.ts). */
export interface XcIndex {
  add(e: XcEntry): void;
  clear(): void;
  stale: number;
}

export class XlateCache {
  // Open addressing, linear probing; a slot holds the key's hash and its entry (which holds the key).
  private cap = 1024;
  private hashes = new Int32Array(this.cap);
  private vals: (XcEntry | null)[] = new Array(this.cap).fill(null);
  /** Live entries. */
  count = 0;
  hits = 0;
  misses = 0;
  /** Entries removed because something they depended on changed (flushes included). */
  invalidations = 0;
  /** Whole-cache flushes (fdb or port set changes). */
  flushes = 0;
  deps: XcIndex | null = null;
  /**
   * Admission filter: a key is recorded only on its second miss (its hash is
   * remembered on the first). Recording and keeping an entry cost several
   * slow paths here; without the filter every new connection paid that on
   * each bridge (new connections/s fell 3-4x). OVS limits EMC insertion for
   * the same reason (emc-insert-inv-prob). 64 k slots: a 4 k filter forgot
   * the bench's 10 k round-robin flows before their second miss (5 % hits).
   */
  private readonly seen = new Int32Array(1 << 16);
  /** Hash of the key of the last lookup(), and the slot of its (dead or not live) entry, -1: none. */
  private lastHash = 0;
  private lastSlot = -1;
  // Generations the entries were recorded under.
  private tGen = -1;
  private fGen = -1;
  private pGen = -1;

  /** `base`: this cache's FASTPATH_CELLS. */
  constructor(private readonly stats: Stats, readonly base: number) {}

  /**
   * Flush everything if the fdb or the port set changed since the entries
   * were recorded (flow changes invalidate precisely, as they happen); note
   * the flow tables' generation for same().
   */
  sync(tGen: number, fGen: number, pGen: number): void {
    this.tGen = tGen;
    if (fGen === this.fGen && pGen === this.pGen) return;
    this.fGen = fGen;
    this.pGen = pGen;
    if (this.count > 0) {
      this.flushes++;
      this.stats.v[this.base + FC.FLUSHES]!++;
      this.invalidations += this.count;
      this.stats.v[this.base + FC.INVALIDATIONS]! += this.count;
      this.clear();
    }
  }

  /** Whether the generations are still those sync() saw (nothing changed during a translation). */
  same(tGen: number, fGen: number, pGen: number): boolean {
    return tGen === this.tGen && fGen === this.fGen && pGen === this.pGen;
  }

  clear(): void {
    this.stats.v[this.base + FC.ENTRIES]! -= this.count;
    this.vals.fill(null);
    this.count = 0;
    this.deps?.clear();
  }

  /** Invalidate `e` (a flow it depended on changed). */
  kill(e: XcEntry): void {
    if (e.dead) return;
    this.drop(e);
    this.invalidations++;
    this.stats.v[this.base + FC.INVALIDATIONS]!++;
  }

  /** `e` leaves (its slot is free for the next insert). */
  private drop(e: XcEntry): void {
    e.dead = true;
    this.count--;
    this.stats.v[this.base + FC.ENTRIES]!--;
    if (this.deps !== null) this.deps.stale++;
  }

  lookup(key: FlowKey): XcEntry | null {
    const h = hashKey(key);
    this.lastHash = h;
    this.lastSlot = -1;
    const mask = this.cap - 1;
    for (let i = 0; i < PROBE; i++) {
      const s = (h + i) & mask;
      const v = this.vals[s]!;
      if (v === null) return null;
      if (this.hashes[s] !== h || v.dead) continue;
      const k = v.code;
      let j = 0;
      while (j < W && k[j] === (key[j]! | 0)) j++;
      if (j === W) {
        this.lastSlot = s;
        return v;
      }
    }
    return null;
  }

  /** After a lookup that missed: should this key's translation be recorded now? */
  admit(): boolean {
    const h = this.lastHash, i = h & (this.seen.length - 1);
    if (this.seen[i] === h) return true;
    this.seen[i] = h;
    return false;
  }

  /** Keep `e` for `key` (the key the packet arrived with, as in e.code), in place of the entry the last lookup() found for it (not live). */
  insert(key: FlowKey, e: XcEntry): void {
    const old = this.lastSlot >= 0 ? this.vals[this.lastSlot]! : null;
    if (old !== null && !old.dead && sameKey(old.code, key)) {
      this.drop(old);
      this.vals[this.lastSlot] = e;
      this.count++;
      this.stats.v[this.base + FC.ENTRIES]!++;
    } else {
      if (this.count >= this.cap >>> 1 && this.cap < XC_MAX_SLOTS) this.grow();
      this.put(hashKey(key), e);
    }
    this.lastSlot = -1;
    this.deps?.add(e);
  }

  private put(h: number, e: XcEntry): void {
    const mask = this.cap - 1;
    let s = h & mask;
    for (let i = 0; i < PROBE; i++) {
      const t = (h + i) & mask;
      const v = this.vals[t]!;
      if (v === null || v.dead) {
        s = t;
        break;
      }
    }
    // Every probed slot taken: the first is replaced (an EMC evicts the same way).
    const old = this.vals[s]!;
    if (old !== null && !old.dead) this.drop(old);
    this.hashes[s] = h;
    this.vals[s] = e;
    this.count++;
    this.stats.v[this.base + FC.ENTRIES]!++;
  }

  private grow(): void {
    const oldCap = this.cap, oldH = this.hashes, oldV = this.vals;
    this.cap *= 2;
    this.hashes = new Int32Array(this.cap);
    this.vals = new Array(this.cap).fill(null);
    this.stats.v[this.base + FC.ENTRIES]! -= this.count;
    this.count = 0;
    for (let s = 0; s < oldCap; s++) {
      const v = oldV[s]!;
      if (v !== null && !v.dead) this.put(oldH[s]!, v);
    }
  }

  /** The entries, for dpif/dump-flows. */
  entries(): XcEntry[] {
    return this.vals.filter((v): v is XcEntry => v !== null && !v.dead);
  }
}

function sameKey(code: Int32Array, key: FlowKey): boolean {
  for (let i = 0; i < W; i++) if (code[i] !== (key[i]! | 0)) return false;
  return true;
}

/** FNV-1a over the key's words, then murmur3's finaliser: a number, never a string (two operations a word: the key has 42). */
export function hashKey(key: FlowKey): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < W; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x3fffffff; // a small integer: no heap number
}
