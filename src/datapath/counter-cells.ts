// Counter cells for things that come and go (OpenFlow flows and tables,
// iptables rules and chain policies), in shared memory like Stats (DESIGN.md
// principle 7) so another thread can read them. A SharedArrayBuffer cannot
// grow, so cells live in chunks that are added and never moved or dropped:
// a reader's view of a chunk stays valid. Blocks that deleted flows and
// rules give back are reused, zeroed first.

/** An owner of a block: the data path bumps `cells[at + k]` (no lookup, no allocation). */
export interface CellBlock {
  cells: Float64Array;
  at: number;
}

/** What an owner holds before it is given a block. */
export const NO_CELLS = new Float64Array(0);

const FIRST_CHUNK = 64; // cells: an empty ruleset's built-in chains need 28
const MAX_CHUNK = 1 << 16; // 512 KiB

export class CounterCells {
  /** In allocation order; index i is buffers()[i]. */
  readonly chunks: Float64Array[] = [];
  /** Cells handed out of the last chunk. */
  private top = 0;
  /** Free blocks by width: their chunks and offsets, side by side. */
  private readonly free = new Map<number, { cells: Float64Array[]; at: number[] }>();
  /** Cells in blocks now owned. */
  live = 0;

  /** Give `owner` a block of `width` zeroed cells. */
  alloc(owner: CellBlock, width: number): void {
    const f = this.free.get(width);
    if (f !== undefined && f.at.length > 0) {
      owner.cells = f.cells.pop()!;
      owner.at = f.at.pop()!;
      owner.cells.fill(0, owner.at, owner.at + width);
    } else {
      let last = this.chunks[this.chunks.length - 1];
      if (last === undefined || this.top + width > last.length) {
        const size = Math.max(width, Math.min(MAX_CHUNK, FIRST_CHUNK << this.chunks.length));
        last = new Float64Array(new SharedArrayBuffer(size * 8));
        this.chunks.push(last);
        this.top = 0;
      }
      owner.cells = last;
      owner.at = this.top;
      this.top += width;
    }
    this.live += width;
  }

  /**
   * Take back `owner`'s block. The owner keeps its last counts in a private
   * copy (a deleted flow still reports what it counted; a late bump lands there).
   */
  release(owner: CellBlock, width: number): void {
    if (!this.chunks.includes(owner.cells)) return; // none, or already released
    let f = this.free.get(width);
    if (f === undefined) this.free.set(width, (f = { cells: [], at: [] }));
    f.cells.push(owner.cells);
    f.at.push(owner.at);
    const own = owner.cells.slice(owner.at, owner.at + width);
    owner.cells = own;
    owner.at = 0;
    this.live -= width;
  }

  /** `to` takes over `from`'s block (and counts); `from` keeps a private copy, as after release(). */
  handOver(from: CellBlock, to: CellBlock, width: number): void {
    to.cells = from.cells;
    to.at = from.at;
    from.cells = from.cells.slice(from.at, from.at + width);
    from.at = 0;
  }

  /** Zero every cell (clear-counters). */
  zeroAll(): void {
    for (const c of this.chunks) c.fill(0);
  }

  /** The memory a reader on another thread needs (post it; chunks added later need a new post). */
  buffers(): SharedArrayBuffer[] {
    return this.chunks.map((c) => c.buffer as SharedArrayBuffer);
  }

  /** Where `b`'s block is in buffers(): chunk index and cell offset; null for a released or unallocated owner. */
  locate(b: CellBlock): { chunk: number; at: number } | null {
    const chunk = this.chunks.indexOf(b.cells);
    return chunk < 0 ? null : { chunk, at: b.at };
  }
}
