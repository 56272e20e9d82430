// A single-producer single-consumer ring of fixed-size entries (a few int32
// words each) over a SharedArrayBuffer: how threads pass packet descriptors
// (slot, length), never frames (DESIGN.md principle 6). Head and tail are
// free-running int32 counters; entries are indexed by `counter & mask`, so
// wrap-around at 2^32 is harmless as long as the capacity is a power of two.
//
// Ordering: the producer writes the entry words, then publishes with
// Atomics.store(tail); the consumer reads tail with Atomics.load, reads the
// words, then frees the entries with Atomics.store(head). Atomics on the
// counters order the plain word accesses around them (seq-cst), as a
// release/acquire pair would.
//
// A consumer that finds the ring empty may sleep on the tail word
// (Atomics.wait in a worker, Atomics.waitAsync on the main thread); the
// producer wakes it with notifyConsumer().
//
// Cross-core traffic: head and tail sit 128 bytes apart (and apart from the
// entries and from a ring laid out before this one), so the consumer's
// release and the producer's publish do not pull one cache line back and
// forth; and each side keeps the last value it read of the other's counter,
// reading it again only when the ring looks full (producer) or empty
// (consumer): about once a batch instead of once an entry.

/** 64-byte cache lines, in int32 words; head and tail are two lines apart (adjacent-line prefetch pairs lines). */
const LINE = 16;
const HEAD = LINE;
const TAIL = 3 * LINE;
const HEADER_WORDS = 5 * LINE;

export class SpscRing {
  readonly capacity: number;
  readonly width: number;
  /** Header (head, tail) and entries, all int32. */
  readonly words: Int32Array;
  private readonly mask: number;
  /** The producer's last read of head, the consumer's last read of tail (each object is one thread's view). */
  private headSeen: number;
  private tailSeen: number;
  /** Entries the producer appended and has not published yet (pushLater). */
  private unpublished = 0;

  /**
   * @param sab  buffer holding the ring (a fresh one when omitted)
   * @param byteOffset  where the ring starts in `sab` (a multiple of 4)
   */
  constructor(capacity: number, width: number, sab?: SharedArrayBuffer, byteOffset = 0) {
    if (!Number.isInteger(capacity) || capacity < 2 || capacity > 1 << 24 || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`ring capacity must be a power of two in [2, 2^24], not ${capacity}`);
    }
    if (!Number.isInteger(width) || width < 1 || width > 16) throw new RangeError(`ring entry width must be 1..16 words, not ${width}`);
    this.capacity = capacity;
    this.width = width;
    this.mask = capacity - 1;
    const buf = sab ?? new SharedArrayBuffer(SpscRing.bytes(capacity, width));
    this.words = new Int32Array(buf, byteOffset, HEADER_WORDS + capacity * width);
    this.headSeen = Atomics.load(this.words, HEAD);
    this.tailSeen = Atomics.load(this.words, TAIL);
  }

  /** Bytes a ring of this shape occupies in a SharedArrayBuffer. */
  static bytes(capacity: number, width: number): number {
    return (HEADER_WORDS + capacity * width) * 4;
  }

  /** Entries waiting to be consumed (either side may ask). */
  get size(): number {
    return (Atomics.load(this.words, TAIL) - Atomics.load(this.words, HEAD)) | 0;
  }

  get empty(): boolean {
    return this.size === 0;
  }

  // ---- producer side -----------------------------------------------------

  /** Append one entry; false when full. Words beyond those given are left as they were. */
  push(a: number, b = 0, c = 0): boolean {
    if (!this.pushLater(a, b, c)) return false;
    this.publish();
    return true;
  }

  /**
   * As push(), but the consumer sees the entry only at publish(): a batch's
   * entries then cost one atomic store on the shared tail (and one transfer
   * of its cache line to this core) instead of one an entry.
   */
  pushLater(a: number, b = 0, c = 0, d = 0): boolean {
    const w = this.words;
    const tail = (w[TAIL]! + this.unpublished) | 0; // only the producer writes tail
    if (((tail - this.headSeen) | 0) >= this.capacity) {
      this.headSeen = Atomics.load(w, HEAD);
      if (((tail - this.headSeen) | 0) >= this.capacity) return false;
    }
    const base = HEADER_WORDS + (tail & this.mask) * this.width;
    w[base] = a;
    if (this.width > 1) w[base + 1] = b;
    if (this.width > 2) w[base + 2] = c;
    if (this.width > 3) w[base + 3] = d;
    this.unpublished++;
    return true;
  }

  /** Make what pushLater() appended visible to the consumer. */
  publish(): void {
    const n = this.unpublished;
    if (n === 0) return;
    this.unpublished = 0;
    Atomics.store(this.words, TAIL, (this.words[TAIL]! + n) | 0);
  }

  /** Wake a consumer sleeping in waitNonEmpty / waitNonEmptyAsync. */
  notifyConsumer(): void {
    Atomics.notify(this.words, TAIL);
  }

  // ---- consumer side -----------------------------------------------------

  /**
   * Index in `words` of the oldest entry's first word, or -1 when empty.
   * Read the entry's words, then call release(). Lets the consumer read
   * without allocating a tuple per entry.
   */
  peek(): number {
    return this.peekAt(0);
  }

  /** As peek(), the entry `k` places after the oldest (-1 when fewer wait): read a batch, then release(n). */
  peekAt(k: number): number {
    const w = this.words;
    const head = w[HEAD]!; // only the consumer writes head
    if (((this.tailSeen - head) | 0) <= k) {
      this.tailSeen = Atomics.load(w, TAIL);
      if (((this.tailSeen - head) | 0) <= k) return -1;
    }
    return HEADER_WORDS + ((head + k) & this.mask) * this.width;
  }

  /** Free the `n` oldest entries (those peek() and peekAt() read). */
  release(n = 1): void {
    Atomics.store(this.words, HEAD, (this.words[HEAD]! + n) | 0);
  }

  /** The first word of the oldest entry, removing it; -1 when empty (entries must then be >= 0). */
  shift(): number {
    const i = this.peek();
    if (i < 0) return -1;
    const v = this.words[i]!;
    this.release();
    return v;
  }

  /**
   * Block (worker threads only) until the ring is not empty or `timeoutMs`
   * passes. Returns whether an entry is there.
   */
  waitNonEmpty(timeoutMs: number): boolean {
    const w = this.words;
    const tail = Atomics.load(w, TAIL);
    if (tail !== w[HEAD]) return true;
    Atomics.wait(w, TAIL, tail, timeoutMs);
    return Atomics.load(w, TAIL) !== w[HEAD];
  }
}
