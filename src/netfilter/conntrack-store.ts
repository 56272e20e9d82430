// Conntrack entries in shared memory: fixed-stride records in typed arrays over
// SharedArrayBuffers, so a table built on one thread can be attached from
// another (a datapath worker) and both see every entry, and the state outlives
// a worker that dies. Numbers only: no string keys, no object per entry, no
// allocation per lookup.
//
// Slot 0 is never used, so 0 means "no entry" everywhere (zero-filled memory
// is an empty table). A hash node is slot * 2 + dir. Once the buffers are
// shared, every operation runs under one lock word (Atomics), taken by the
// Conntrack methods; the lock serialises the threads, it does not scale them.
// Buffers only kept for a successor (Conntrack.keptBuffers: a datapath
// worker's tables, held by its supervisor) are not shared: no lock.
//
// Sizing: a table starts with room for a few entries only (most namespaces
// never track a connection), and at its first full (or when its buffers are
// handed to another thread) takes the buffers for its whole limit. The OS
// commits pages only when first written (measured: a 1 GiB SharedArrayBuffer
// adds nothing to RSS until touched, and slots are handed out low to high), so
// sizing to the limit costs no more resident memory than chunks would, and the
// buffers never move under an attached thread. SharedArrayBuffers cannot grow
// in Node 20, so an unbounded table (max 0) or a raised limit beyond the
// capacity reallocates (grow()): attachments made before must attach again.

import { threadId } from 'node:worker_threads';

// ---- record layout: Uint32 words per slot, read also as Float64 (f) ---------
// What a lookup reads comes first: the first cache line holds the tuples,
// chain links, status and deadline; the second the counters and the UDP
// stream time, which the established path updates. A UDP entry's packet
// touches those two lines only (a pair the CPU's adjacent-line prefetch
// brings in together for every other slot); the TCP tracker follows.
// Addresses cross calls as int32 (`word | 0`), never as the uint32 the words
// hold: an int32 is a small integer V8 passes unboxed, whereas a uint32 at or
// above 2^31 (192.168.x.x, 203.0.113.x) becomes a 16-byte heap number at every
// call the optimizer did not inline, and which calls it inlines varies with
// the call tree and from run to run. Stores into the words keep the bits;
// comparisons normalise with `>>> 0` (findIn).
/** Tuple words: direction d at TUPLE + d * 3: src, dst, sport << 16 | dport. */
export const W_TUPLE = 0;
export const W_PROTO = 6;
/** Next hash node in the bucket, per direction. */
export const W_NEXT = 7;
export const W_STATUS = 9;
// words 10-11: the deadline (F_DEADLINE)
export const W_MARK = 12;
export const W_ID = 13;
/** Position in the dense entry list + 1; 0 while unconfirmed. */
export const W_INDEX = 14;
export const W_BYSRC_NEXT = 15;
// words 16-23: packets and bytes per direction (F_PKTS, F_BYTES); 24-25: F_UDP_STREAM
/** MASQUERADE output device: index + 1 in the name table; 0 none. */
export const W_MASQ = 26;
/** Position + 1 in its creator's unconfirmed ring. */
export const W_UNCONF = 27;
/** 1 when the TCP tracker is set up; the tracker's words follow. */
export const W_HAS_TCP = 28;
export const W_TCP = 29;
/** struct ip_ct_tcp: state, last_*, retrans, then two ip_ct_tcp_state. */
export const T_PACKED = 0, T_LAST_SEQ = 1, T_LAST_ACK = 2, T_LAST_END = 3, T_LAST_WIN = 4, T_LAST_FLAGS = 5, T_SEEN = 6;
/**
 * The small fields share T_PACKED: state (bits 0-3), last_dir (4),
 * last_index (5-7), last_wscale (8-11), retrans (12-31, saturating).
 */
export const P_STATE = 0, P_LAST_DIR = 4, P_LAST_INDEX = 5, P_LAST_WSCALE = 8, P_RETRANS = 12;
/** ip_ct_tcp_state words. */
export const SEEN_END = 0, SEEN_MAXEND = 1, SEEN_MAXWIN = 2, SEEN_MAXACK = 3, SEEN_SCALE = 4, SEEN_FLAGS = 5, SEEN_WORDS = 6;
export const T_WORDS = T_SEEN + 2 * SEEN_WORDS;
// ---- Float64 per slot (f index slot * FSTRIDE + F_*): times in emulated ms and counters past 2^32
/** Emulated time (ms) at which the entry expires: words 10-11. */
export const F_DEADLINE = 5;
/** Counters: + dir * 2 (words 16-23). */
export const F_PKTS = 8, F_BYTES = 9;
/** Emulated time after which a replied UDP flow counts as a stream: words 24-25. */
export const F_UDP_STREAM = 12;
/** 48 words, 192 bytes: a record starts on a cache line. */
export const FSTRIDE = 24;
export const STRIDE = FSTRIDE * 2;
if (W_MASQ < (F_UDP_STREAM + 1) * 2 || W_TCP + T_WORDS > STRIDE) throw new Error('conntrack record layout: fields overlap');

// ---- header: Int32 words, then Float64 stats, then interface names ----------
const OWNER = threadId + 1;
const CONTENDED = 1 << 30;
const H_LOCK = 0, H_COUNT = 1, H_HWM = 2, H_FREE = 3, H_MAX = 4, H_NEXT_ID = 5, H_NAMES = 6;
const STATS_OFF = 64;
export const STAT_NAMES = ['found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart'] as const;
const NAMES_OFF = STATS_OFF + 8 * STAT_NAMES.length;
const IFNAMSIZ = 16;
const MAX_NAMES = 256;
const HEADER_BYTES = NAMES_OFF + IFNAMSIZ * MAX_NAMES;

/** Slots a table keeps for entries not yet confirmed, per attached table (see Conntrack). */
export const UNCONFIRMED_RING = 16;
/** Room for that many attached tables' unconfirmed entries beyond the limit. */
const UNCONFIRMED_RESERVE = UNCONFIRMED_RING * 16;

/** What another thread needs to attach to a table (post it to the worker). */
export interface CtStoreBuffers {
  header: SharedArrayBuffer;
  rec: SharedArrayBuffer;
  buckets: SharedArrayBuffer;
  bysrc: SharedArrayBuffer;
  order: SharedArrayBuffer;
}

function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class CtStore {
  readonly buffers: CtStoreBuffers;
  /** Slots 1 .. capacity - 1 exist. */
  readonly capacity: number;
  readonly h: Int32Array;
  readonly stats: Float64Array;
  readonly r: Uint32Array;
  readonly f: Float64Array;
  private readonly names: Uint8Array;
  private readonly buckets: Int32Array;
  private readonly bmask: number;
  private readonly bysrc: Int32Array;
  private readonly smask: number;
  /** Slots of confirmed entries, dense (conntrack -L order). */
  readonly order: Int32Array;
  private readonly nameCache = new Map<string, number>();
  /**
   * No other thread has the buffers yet (they are handed out by share()):
   * the lock is skipped, since uncontended Atomics on a SharedArrayBuffer
   * still cost 40 to 100 ns a lock/unlock pair here.
   */
  private exclusive: boolean;

  /**
   * A new table with room for `slots` entries, whose limit is `max` (0:
   * unbounded), or one attached to existing buffers; `exclusive` when no
   * other thread uses them (a new table, or one whose only user died).
   */
  constructor(max: number, from?: CtStoreBuffers, slots = max > 0 ? max : 1 << 16, exclusive = !from) {
    this.exclusive = exclusive;
    if (from) {
      this.buffers = from;
    } else {
      const cap = slots + UNCONFIRMED_RESERVE + 1;
      const nb = pow2AtLeast(cap * 2);
      this.buffers = {
        header: new SharedArrayBuffer(HEADER_BYTES),
        rec: new SharedArrayBuffer(cap * STRIDE * 4),
        buckets: new SharedArrayBuffer(nb * 4),
        bysrc: new SharedArrayBuffer((nb / 2) * 4),
        order: new SharedArrayBuffer(cap * 4),
      };
    }
    const b = this.buffers;
    this.h = new Int32Array(b.header, 0, STATS_OFF / 4);
    this.stats = new Float64Array(b.header, STATS_OFF, STAT_NAMES.length);
    this.names = new Uint8Array(b.header, NAMES_OFF);
    this.r = new Uint32Array(b.rec);
    this.f = new Float64Array(b.rec);
    this.buckets = new Int32Array(b.buckets);
    this.bmask = this.buckets.length - 1;
    this.bysrc = new Int32Array(b.bysrc);
    this.smask = this.bysrc.length - 1;
    this.order = new Int32Array(b.order);
    this.capacity = this.order.length;
    if (!from) {
      this.h[H_HWM] = 1;
      this.h[H_NEXT_ID] = 1;
      this.h[H_MAX] = max;
    }
  }

  /** The buffers, for another thread to attach: from now on every mutation takes the lock. */
  share(): CtStoreBuffers {
    this.exclusive = false;
    return this.buffers;
  }

  get count(): number {
    return this.h[H_COUNT]!;
  }

  /** Slots below this have been handed out at least once. */
  get highWater(): number {
    return this.h[H_HWM]!;
  }

  get max(): number {
    return this.h[H_MAX]!;
  }

  set max(v: number) {
    this.h[H_MAX] = v;
  }

  /** Whether `max` confirmed entries plus the room unconfirmed ones need fit without reallocating. */
  fits(max: number): boolean {
    return max > 0 && max + UNCONFIRMED_RESERVE < this.capacity;
  }

  /** Close to full: the next entries may not find a slot. */
  get nearlyFull(): boolean {
    return this.count + UNCONFIRMED_RING >= this.capacity - 1;
  }

  // ---- lock ------------------------------------------------------------------

  /**
   * Holds the lock. The word says which thread holds it (threadId + 1), so a
   * dead holder's lock can be released, plus CONTENDED once another waits:
   * only then does unlock pay for a notify (a futex-style mutex).
   */
  lock(): void {
    if (this.exclusive) return;
    const h = this.h;
    if (Atomics.compareExchange(h, H_LOCK, 0, OWNER) === 0) return;
    for (;;) {
      const held = Atomics.load(h, H_LOCK);
      if (held !== 0) {
        Atomics.compareExchange(h, H_LOCK, held, held | CONTENDED);
        // Sleep until it lets go (1 ms at most) instead of spinning on a shared core.
        Atomics.wait(h, H_LOCK, held | CONTENDED, 1);
      }
      // Others may still wait: take it as contended so our unlock wakes them.
      if (Atomics.compareExchange(h, H_LOCK, 0, OWNER | CONTENDED) === 0) return;
    }
  }

  unlock(): void {
    if (this.exclusive) return;
    if (Atomics.exchange(this.h, H_LOCK, 0) & CONTENDED) Atomics.notify(this.h, H_LOCK);
  }

  /** A thread that died (terminated mid-operation) holding the lock: release it; true when it held it. */
  releaseLockOf(threadId: number): boolean {
    const held = Atomics.load(this.h, H_LOCK);
    if ((held & ~CONTENDED) !== threadId + 1 || Atomics.compareExchange(this.h, H_LOCK, held, 0) !== held) return false;
    Atomics.notify(this.h, H_LOCK);
    return true;
  }

  // ---- slots -----------------------------------------------------------------

  /** A zeroed slot, or 0 when every slot is taken. */
  alloc(): number {
    const h = this.h;
    let s = h[H_FREE]!;
    if (s !== 0) h[H_FREE] = this.r[s * STRIDE + W_NEXT]!;
    else if (h[H_HWM]! < this.capacity) s = h[H_HWM]!++;
    else return 0;
    // A loop, not fill(0, from, to): the builtin's argument handling costs more than 48 stores.
    const r = this.r;
    for (let i = s * STRIDE, end = i + STRIDE; i < end; i++) r[i] = 0;
    this.r[s * STRIDE + W_ID] = h[H_NEXT_ID]!++;
    return s;
  }

  /**
   * Takes over every entry of a smaller store (grow), each in the same slot,
   * so slot numbers held by packets in flight stay valid; the hash is built
   * again for the new size, the by-source chains in their old order (NAT
   * reuses the first mapping it finds there).
   */
  copyFrom(old: CtStore): void {
    new Uint8Array(this.buffers.header).set(new Uint8Array(old.buffers.header));
    this.h[H_LOCK] = 0;
    this.r.set(old.r);
    this.order.set(old.order);
    for (let i = 0; i < this.count; i++) {
      const s = this.order[i]!;
      this.hashIn(s, 0);
      this.hashIn(s, 1);
    }
    const chain: number[] = [];
    for (const head of old.bysrc) {
      for (let s = head; s !== 0; s = old.bySourceNext(s)) chain.push(s);
      while (chain.length > 0) this.bysrcIn(chain.pop()!);
    }
  }

  free(s: number): void {
    this.r[s * STRIDE + W_NEXT] = this.h[H_FREE]!;
    this.r[s * STRIDE + W_ID] = 0;
    this.h[H_FREE] = s;
  }

  // ---- tuples ----------------------------------------------------------------

  setTuple(s: number, dir: number, src: number, dst: number, proto: number, sport: number, dport: number): void {
    const o = s * STRIDE + W_TUPLE + dir * 3;
    const r = this.r;
    r[o] = src;
    r[o + 1] = dst;
    r[o + 2] = (sport << 16) | dport;
    r[s * STRIDE + W_PROTO] = proto;
  }

  src(s: number, dir: number): number {
    return this.r[s * STRIDE + W_TUPLE + dir * 3]!;
  }

  dst(s: number, dir: number): number {
    return this.r[s * STRIDE + W_TUPLE + dir * 3 + 1]!;
  }

  sport(s: number, dir: number): number {
    return this.r[s * STRIDE + W_TUPLE + dir * 3 + 2]! >>> 16;
  }

  dport(s: number, dir: number): number {
    return this.r[s * STRIDE + W_TUPLE + dir * 3 + 2]! & 0xffff;
  }

  proto(s: number): number {
    return this.r[s * STRIDE + W_PROTO]!;
  }

  // ---- tuple hash: both directions of every confirmed entry -------------------

  /** The hash node (slot * 2 + dir) holding exactly this tuple (addresses as uint32 or int32), or 0. */
  find(src: number, dst: number, proto: number, sport: number, dport: number): number {
    return this.findIn(tupleHash(src, dst, proto, sport, dport) & this.bmask, src, dst, proto, sport, dport);
  }

  /** find() in a bucket already computed (bucketOf): confirm looks up and then links the same tuple. */
  findIn(b: number, src: number, dst: number, proto: number, sport: number, dport: number): number {
    const r = this.r;
    const s0 = src >>> 0;
    const d0 = dst >>> 0;
    const ports = ((sport << 16) | dport) >>> 0;
    let n = this.buckets[b]!;
    while (n !== 0) {
      const s = n >>> 1;
      const o = s * STRIDE + W_TUPLE + (n & 1) * 3;
      if (r[o] === s0 && r[o + 1] === d0 && r[o + 2] === ports && r[s * STRIDE + W_PROTO] === proto) return n;
      n = r[s * STRIDE + W_NEXT + (n & 1)]!;
    }
    return 0;
  }

  /** find() for the tuple entry `s` holds in direction `dir`, in its bucket `b` (bucketOf). */
  findTupleOf(b: number, s: number, dir: number): number {
    const r = this.r;
    const o = s * STRIDE + W_TUPLE + dir * 3;
    return this.findIn(b, r[o]! | 0, r[o + 1]! | 0, r[s * STRIDE + W_PROTO]!, r[o + 2]! >>> 16, r[o + 2]! & 0xffff);
  }

  /** The bucket of an entry's tuple in one direction. */
  bucketOf(s: number, dir: number): number {
    const r = this.r;
    const o = s * STRIDE + W_TUPLE + dir * 3;
    const ports = r[o + 2]!;
    return tupleHash(r[o]! | 0, r[o + 1]! | 0, r[s * STRIDE + W_PROTO]!, ports >>> 16, ports & 0xffff) & this.bmask;
  }

  hashIn(s: number, dir: number): void {
    this.hashAt(this.bucketOf(s, dir), s, dir);
  }

  /** Links the entry's node for `dir` at the head of bucket `b` (its bucketOf). */
  hashAt(b: number, s: number, dir: number): void {
    this.r[s * STRIDE + W_NEXT + dir] = this.buckets[b]!;
    this.buckets[b] = s * 2 + dir;
  }

  unhash(s: number, dir: number): void {
    const b = this.bucketOf(s, dir);
    const node = s * 2 + dir;
    const r = this.r;
    const next = r[s * STRIDE + W_NEXT + dir]!;
    let n = this.buckets[b]!;
    if (n === node) this.buckets[b] = next;
    else {
      while (n !== 0) {
        const at = (n >>> 1) * STRIDE + W_NEXT + (n & 1);
        if (r[at] === node) {
          r[at] = next;
          break;
        }
        n = r[at]!;
      }
    }
    r[s * STRIDE + W_NEXT + dir] = 0;
  }

  // ---- by original source (nf_nat_bysource) ------------------------------------

  private srcBucket(src: number, sport: number, proto: number): number {
    return tupleHash(src, 0, proto, sport, 0) & this.smask;
  }

  /** First entry in the chain that holds every entry with this original source (others too: compare). */
  bySource(src: number, sport: number, proto: number): number {
    return this.bysrc[this.srcBucket(src, sport, proto)]!;
  }

  bySourceNext(s: number): number {
    return this.r[s * STRIDE + W_BYSRC_NEXT]!;
  }

  /** srcBucket of an entry's original source. */
  private srcBucketOf(s: number): number {
    const r = this.r;
    return this.srcBucket(r[s * STRIDE + W_TUPLE]! | 0, r[s * STRIDE + W_TUPLE + 2]! >>> 16, r[s * STRIDE + W_PROTO]!);
  }

  bysrcIn(s: number): void {
    const b = this.srcBucketOf(s);
    this.r[s * STRIDE + W_BYSRC_NEXT] = this.bysrc[b]!;
    this.bysrc[b] = s;
  }

  bysrcOut(s: number): void {
    const b = this.srcBucketOf(s);
    const r = this.r;
    const next = r[s * STRIDE + W_BYSRC_NEXT]!;
    let q = this.bysrc[b]!;
    if (q === s) this.bysrc[b] = next;
    else {
      while (q !== 0 && r[q * STRIDE + W_BYSRC_NEXT] !== s) q = r[q * STRIDE + W_BYSRC_NEXT]!;
      if (q !== 0) r[q * STRIDE + W_BYSRC_NEXT] = next;
    }
    r[s * STRIDE + W_BYSRC_NEXT] = 0;
  }

  // ---- dense list ----------------------------------------------------------------

  listAdd(s: number): void {
    const i = this.h[H_COUNT]!++;
    this.order[i] = s;
    this.r[s * STRIDE + W_INDEX] = i + 1;
  }

  /** Swap-with-last removal, as the list always did (conntrack -L order depends on it). */
  listRemove(s: number): void {
    const i = this.r[s * STRIDE + W_INDEX]! - 1;
    const last = this.order[--this.h[H_COUNT]!]!;
    if (last !== s) {
      this.order[i] = last;
      this.r[last * STRIDE + W_INDEX] = i + 1;
    }
    this.r[s * STRIDE + W_INDEX] = 0;
  }

  // ---- interface names (MASQUERADE) ---------------------------------------------

  /** Index + 1 of `name` in the shared name table, or 0 when it is not there. */
  knownNameId(name: string): number {
    const cached = this.nameCache.get(name);
    if (cached !== undefined) return cached;
    const n = this.h[H_NAMES]!;
    for (let i = 0; i < n; i++) {
      if (this.nameAt(i + 1) === name) {
        this.nameCache.set(name, i + 1);
        return i + 1;
      }
    }
    return 0;
  }

  /** Index + 1 of `name` in the shared name table, added when new (call under the lock); 0 when the table is full. */
  nameId(name: string): number {
    const known = this.knownNameId(name);
    if (known !== 0) return known;
    const n = this.h[H_NAMES]!;
    if (n >= MAX_NAMES) return 0;
    const bytes = new TextEncoder().encode(name).subarray(0, IFNAMSIZ);
    this.names.set(bytes, n * IFNAMSIZ);
    this.h[H_NAMES] = n + 1;
    this.nameCache.set(name, n + 1);
    return n + 1;
  }

  nameAt(id: number): string {
    const o = (id - 1) * IFNAMSIZ;
    let end = o;
    while (end < o + IFNAMSIZ && this.names[end] !== 0) end++;
    return String.fromCharCode(...this.names.subarray(o, end));
  }
}

/** Hash of a tuple for the conntrack table (any good 32-bit mix will do); the same for an address as uint32 or int32. */
export function tupleHash(src: number, dst: number, proto: number, sport: number, dport: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ ((sport << 16) | dport), 0x85ebca6b);
  h ^= proto << 7;
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f);
  return h ^ (h >>> 15);
}
