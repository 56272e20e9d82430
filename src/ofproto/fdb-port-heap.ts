// The MAC learning table's ports by how many entries each has, as OVS keeps
// them (ml->ports_by_usage, a lib/heap.c max-heap, 1-based, of
// mac_learning_ports): evict_mac_entry_fairly takes heap_max(), so among
// ports with equally many entries the one the heap's history puts on top,
// which only the same insertions, changes and removals reproduce.

interface Node {
  readonly port: number;
  count: number;
  idx: number;
}

export class FdbPortHeap {
  private readonly a: Node[] = [null as unknown as Node]; // a[0] unused, as heap->array
  private readonly byPort = new Map<number, Node>();

  /** mac_entry_set_port's gain: a port's first entry (heap_insert at 1) or one more (heap_change). */
  inc(port: number): void {
    const x = this.byPort.get(port);
    if (x !== undefined) return this.change(x, x.count + 1);
    const n: Node = { port, count: 1, idx: this.a.length };
    this.byPort.set(port, n);
    this.a.push(n);
    this.floatUp(n.idx);
  }

  /** mac_entry_set_port's loss: one entry fewer, the port's node gone with its last (heap_remove). */
  dec(port: number): void {
    const x = this.byPort.get(port);
    if (x === undefined) return;
    if (x.count > 1) return this.change(x, x.count - 1);
    this.byPort.delete(port);
    const i = x.idx, last = this.a.pop()!;
    if (i < this.a.length) {
      this.put(last, i);
      this.upOrDown(i);
    }
  }

  /** heap_max(): the port evict_mac_entry_fairly takes from; -1 when empty. */
  max(): number {
    return this.a.length > 1 ? this.a[1]!.port : -1;
  }

  private change(x: Node, count: number): void {
    x.count = count;
    this.upOrDown(x.idx);
  }

  private put(x: Node, i: number): void {
    this.a[i] = x;
    x.idx = i;
  }

  private swap(i: number, j: number): void {
    const x = this.a[i]!, y = this.a[j]!;
    this.put(y, i);
    this.put(x, j);
  }

  private floatUp(i: number): boolean {
    let moved = false;
    for (; i > 1; i = i >> 1) {
      if (this.a[i >> 1]!.count >= this.a[i]!.count) break;
      this.swap(i >> 1, i);
      moved = true;
    }
    return moved;
  }

  private floatDown(i: number): void {
    const n = this.a.length - 1;
    while (2 * i <= n) {
      const l = 2 * i, r = l + 1;
      let m = i;
      if (this.a[l]!.count > this.a[m]!.count) m = l;
      if (r <= n && this.a[r]!.count > this.a[m]!.count) m = r;
      if (m === i) break;
      this.swap(m, i);
      i = m;
    }
  }

  private upOrDown(i: number): void {
    if (!this.floatUp(i)) this.floatDown(i);
  }
}
