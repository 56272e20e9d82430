// The learned-state journal: what elements learn from traffic (OVS NORMAL's
// and Linux bridges' fdb entries, neighbours, flows added by learn()),
// written as it changes into a SharedArrayBuffer, so that it outlives the
// thread that learned it. One producer (the thread running the elements)
// appends records; one consumer (the thread that started it) reads them and
// keeps the latest record of each entry (src/workers/learned-mirror.ts), which
// a successor's elements restore (KeepsLearned). Because the journal is
// shared memory, a record written before the producer died is still there to
// read after its exit.
//
// Only changes are written, never a refresh per packet: an entry learned,
// moved, changed state or removed, plus a refresh at most once a second per
// entry (so a restored entry's age is at most that much older than it was).
// A record does not fit: it is dropped, `overflows` counted and `lost` set;
// the producer then writes its elements' whole tables again (a RESET and
// every entry) once the consumer has read the ring empty (`resyncs` counted).
// Tables too big for even the empty ring make the producer grow it (a
// growable SharedArrayBuffer, doubled past what the rewrite wanted, up to
// MAX_JOURNAL_BYTES), so the journal is whole again after one more rewrite.
//
// Layout: HDR_BYTES of Int32 header words, then a byte ring of CAP bytes
// (a power of two; the producer grows it only while the ring is empty, and
// stores CAP before it publishes a HEAD past the growth). A record is
// 8-aligned: u32 length (0: skip to the ring's start), u8 kind, u8 number
// count, u16 element id, u32 text length, u32 unused, then the numbers as
// Float64 and the text as UTF-8. HEAD and TAIL
// count bytes from the start (mod 2^32); the producer publishes HEAD after a
// record's bytes, the consumer TAIL after reading them.

/** Record kinds. */
export const LJ = {
  /** Element id `el` is the element of text `node/name/kind` (LearnedJournal.declare). */
  DECL: 1,
  /** Element `el` forgets every entry of kind [kind] (the records of that kind that follow are its whole table). */
  RESET: 2,
  /** OVS NORMAL fdb entry: [macHi, macLo, vlan, ofport, expires (s)], text: the port's name. */
  OFDB: 3,
  /** OVS NORMAL fdb entry gone: [macHi, macLo, vlan]. */
  OFDB_DEL: 4,
  /** Linux bridge fdb entry: [macHi, macLo, updated (ms)], text: the port's name. */
  LFDB: 5,
  LFDB_DEL: 6,
  /** Neighbour: [ip, ifindex, state, mac, confirmed, updated, used, probes, router], text: the device's name. */
  NEIGH: 7,
  NEIGH_DEL: 8,
  /** A flow learn() added or changed: [created, modified, used (ms)], text: key '\n' flow (LearnedFlowText). */
  FLOW: 9,
  /** Learned flow gone: text: its key. */
  FLOW_DEL: 10,
  /** IPv6 neighbour: [address as four u32 words, ifindex, state, mac, router], text: the device's name. */
  NEIGH6: 11,
  NEIGH6_DEL: 12,
} as const;

/** Header words (Int32). */
const H = { HEAD: 0, TAIL: 1, OVERFLOWS: 2, RECORDS: 3, RESYNCS: 4, CAP: 5 } as const;
const HDR_BYTES = 32;
const REC_HDR = 16;
/** Largest text a record carries (a learned flow's key and text). */
const MAX_TEXT = 8192;
export const DEFAULT_JOURNAL_BYTES = 4 << 20;
/** Largest ring a journal grows to (address space reserved, memory used only once grown to). */
export const MAX_JOURNAL_BYTES = 256 << 20;

export function journalBuffer(capacity = DEFAULT_JOURNAL_BYTES): SharedArrayBuffer {
  if (capacity & (capacity - 1) || capacity < 4096 || capacity > MAX_JOURNAL_BYTES) throw new Error(`journal capacity: a power of two from 4096 to ${MAX_JOURNAL_BYTES}`);
  const sab = new SharedArrayBuffer(HDR_BYTES + capacity, { maxByteLength: HDR_BYTES + MAX_JOURNAL_BYTES });
  new Int32Array(sab, 0, HDR_BYTES / 4)[H.CAP] = capacity;
  return sab;
}

/** The ring's views over `sab` at its current capacity. */
function ringViews(sab: SharedArrayBuffer, cap: number): { u8: Uint8Array; u32: Uint32Array; f64: Float64Array } {
  return { u8: new Uint8Array(sab, HDR_BYTES, cap), u32: new Uint32Array(sab, HDR_BYTES, cap / 4), f64: new Float64Array(sab, HDR_BYTES, cap / 8) };
}

/** A record as the consumer reads it. */
export interface LearnedRecord {
  kind: number;
  nums: number[];
  text: string;
}

/** Where an element writes its learned entries as records: the journal, or memory (learnedRecords). */
export interface LearnedSink {
  /** Numbers of the next record: fill f[0..n-1], then put(kind, el, n). */
  readonly f: Float64Array;
  /** Append a record of kind `kind` for element `el` with numbers f[0..n-1] and `text`; false when it was dropped. */
  put(kind: number, el: number, n: number, text?: string): boolean;
}

/** Most numbers a record carries. */
const MAX_NUMS = 12;

/**
 * Elements whose learned entries survive their thread (journaled, then
 * restored by a successor) and a reload (the next datapath's, or the inline
 * reload's next element, restores them): the records are the one form of an
 * element's learned state.
 */
export interface KeepsLearned {
  /** Write every entry to `out` as element `id` (a RESET of each kind first), with its exact times. */
  writeLearned(out: LearnedSink, id: number): void;
  /** writeLearned to `j`, and journal every change from now on. */
  journalTo(j: LearnedJournal, id: number): void;
  /** Take over a predecessor's entries (the latest record of each, LearnedMirror, or learnedRecords); returns how many were restored. */
  restoreLearned(recs: readonly LearnedRecord[], now: number): number;
}

export function keepsLearned(el: object): el is KeepsLearned {
  return typeof (el as Partial<KeepsLearned>).journalTo === 'function';
}

/** `el`'s entries as records, in memory: what the mirror holds after it was journaled whole (an inline reload hands them on). */
export function learnedRecords(el: KeepsLearned): LearnedRecord[] {
  const out: LearnedRecord[] = [];
  const f = new Float64Array(MAX_NUMS);
  const put = (kind: number, _el: number, n: number, text = ''): boolean => {
    if (kind !== LJ.RESET) out.push({ kind, nums: Array.from(f.subarray(0, n)), text });
    return true;
  };
  el.writeLearned({ f, put }, 0);
  return out;
}

/** The producer's side. */
export class LearnedJournal implements LearnedSink {
  readonly f = new Float64Array(MAX_NUMS);
  /** A record was dropped since the last full write of the tables. */
  lost = false;
  /** Bytes of the records dropped since the last rewrite began (what a rewrite lacked). */
  private short = 0;
  private readonly hdr: Int32Array;
  private u8!: Uint8Array;
  private u32!: Uint32Array;
  private f64!: Float64Array;
  private mask = 0;
  private head: number;
  private readonly enc = new TextEncoder();
  private readonly text = new Uint8Array(MAX_TEXT);

  constructor(readonly sab: SharedArrayBuffer) {
    this.hdr = new Int32Array(sab, 0, HDR_BYTES / 4);
    this.map(Atomics.load(this.hdr, H.CAP));
    this.head = Atomics.load(this.hdr, H.HEAD);
  }

  private map(cap: number): void {
    ({ u8: this.u8, u32: this.u32, f64: this.f64 } = ringViews(this.sab, cap));
    this.mask = cap - 1;
  }

  /** The consumer has read every record. */
  get drained(): boolean {
    return Atomics.load(this.hdr, H.TAIL) === this.head;
  }

  /** Start writing the tables whole: a rewrite that does not fit counts what it lacked. */
  rewriting(): void {
    this.lost = false;
    this.short = 0;
  }

  /**
   * A rewrite did not fit the drained ring (records were dropped since it
   * began): make the ring twice what the rewrite wanted (a power of two, up
   * to MAX_JOURNAL_BYTES). Only while drained, so the consumer is reading
   * nothing. False when it cannot grow.
   */
  grow(): boolean {
    const cap = this.mask + 1;
    let want = cap;
    while (want < 2 * (cap + this.short) && want < MAX_JOURNAL_BYTES) want *= 2;
    if (this.short === 0 || want === cap || !this.drained) return false;
    this.sab.grow(HDR_BYTES + want);
    this.map(want);
    Atomics.store(this.hdr, H.CAP, want);
    return true;
  }

  /** Name element id `id` (its node/name/kind) for the consumer. */
  declare(id: number, key: string): void {
    this.put(LJ.DECL, id, 0, key);
  }

  /** LearnedSink.put; a record that does not fit is counted and `lost` set. */
  put(kind: number, el: number, n: number, text?: string): boolean {
    let tlen = 0;
    if (text !== undefined && text.length > 0) {
      const r = this.enc.encodeInto(text, this.text);
      if (r.read < text.length) return this.overflow(); // longer than any flow dpemu prints
      tlen = r.written;
    }
    const len = (REC_HDR + 8 * n + tlen + 7) & ~7;
    const cap = this.mask + 1;
    let head = this.head;
    let off = head & this.mask;
    const toEnd = cap - off;
    const need = toEnd < len ? len + toEnd : len;
    if (cap - ((head - Atomics.load(this.hdr, H.TAIL)) | 0) < need) return this.overflow(len);
    if (toEnd < len) {
      this.u32[off >>> 2] = 0;
      head = (head + toEnd) | 0;
      off = 0;
    }
    const w = off >>> 2;
    this.u32[w] = len;
    this.u32[w + 1] = kind | (n << 8) | (el << 16);
    this.u32[w + 2] = tlen;
    const fo = (off + REC_HDR) >>> 3;
    for (let i = 0; i < n; i++) this.f64[fo + i] = this.f[i]!;
    if (tlen) this.u8.set(this.text.subarray(0, tlen), off + REC_HDR + 8 * n);
    this.head = (head + len) | 0;
    Atomics.store(this.hdr, H.HEAD, this.head);
    Atomics.add(this.hdr, H.RECORDS, 1);
    return true;
  }

  /** The tables were written whole again after a loss. */
  resynced(): void {
    this.lost = false;
    Atomics.add(this.hdr, H.RESYNCS, 1);
  }

  private overflow(len = 0): false {
    this.lost = true;
    this.short += len;
    Atomics.add(this.hdr, H.OVERFLOWS, 1);
    return false;
  }
}

/** The consumer's side: every record written since the last read, oldest first. */
export function readJournal(sab: SharedArrayBuffer, each: (el: number, r: LearnedRecord) => void): number {
  const hdr = new Int32Array(sab, 0, HDR_BYTES / 4);
  // HEAD first: a HEAD past a growth comes with its CAP (stored before it).
  const head = Atomics.load(hdr, H.HEAD);
  const cap = Atomics.load(hdr, H.CAP);
  const { u8, u32, f64 } = ringViews(sab, cap);
  const dec = new TextDecoder();
  let tail = Atomics.load(hdr, H.TAIL), n = 0;
  while (tail !== head) {
    const off = tail & (cap - 1);
    const len = u32[off >>> 2]!;
    if (len === 0) {
      tail = (tail + cap - off) | 0;
      continue;
    }
    const word = u32[(off >>> 2) + 1]!, tlen = u32[(off >>> 2) + 2]!;
    const kind = word & 0xff, k = (word >>> 8) & 0xff, el = word >>> 16;
    const fo = (off + REC_HDR) >>> 3;
    const nums: number[] = [];
    for (let i = 0; i < k; i++) nums.push(f64[fo + i]!);
    // A copy: TextDecoder does not read a SharedArrayBuffer's view.
    const text = tlen ? dec.decode(u8.slice(off + REC_HDR + 8 * k, off + REC_HDR + 8 * k + tlen)) : '';
    each(el, { kind, nums, text });
    tail = (tail + len) | 0;
    n++;
  }
  Atomics.store(hdr, H.TAIL, tail);
  return n;
}

/** A journal's counts since it was made: records written, records dropped for want of room, full rewrites after a drop; bytes written and not yet read, and its ring's size. */
export interface JournalCounts {
  records: number;
  overflows: number;
  resyncs: number;
  unread: number;
  capacity: number;
}

export function journalCounts(sab: SharedArrayBuffer): JournalCounts {
  const hdr = new Int32Array(sab, 0, HDR_BYTES / 4);
  return {
    records: Atomics.load(hdr, H.RECORDS) >>> 0,
    overflows: Atomics.load(hdr, H.OVERFLOWS) >>> 0,
    resyncs: Atomics.load(hdr, H.RESYNCS) >>> 0,
    unread: (Atomics.load(hdr, H.HEAD) - Atomics.load(hdr, H.TAIL)) >>> 0,
    capacity: Atomics.load(hdr, H.CAP),
  };
}
