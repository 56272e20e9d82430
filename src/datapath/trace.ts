// The slow path's memory of one run: for each packet branch, every port it
// crossed (with the frame there) and every decision an element reported.
// Only allocated when tracing; the data path checks `engine.tracer` once.
//
// It also keeps where each traced delivery stood in the engine's FIFO, so
// that a run split over datapath workers can be numbered as one engine
// numbers it (src/workers/trace-merge.ts): from one inject, a FIFO of
// deliveries is a breadth-first walk of the tree "delivery -> deliveries it
// queued", so a delivery's place is its path in that tree (the child index
// at each level), and branches are numbered in the order of the deliveries
// that created them. Paths are relative to the run's inject (`root`).
import type { DropReason } from './drop-reasons.js';

export type TraceEvent =
  | { kind: 'in' | 'out'; branch: number; node: string; element: string; port: string; frame: Uint8Array }
  | { kind: 'note'; branch: number; node: string; element: string; text: string; detail?: Record<string, unknown> }
  | { kind: 'drop'; branch: number; node: string; element: string; reason: DropReason; text?: string }
  | { kind: 'consume'; branch: number; node: string; element: string; text: string }
  | { kind: 'edge'; branch: number; node: string; element: string; port: string; frame: Uint8Array }
  | { kind: 'branch'; branch: number; parent: number; node: string; element: string; cause: string };

/** A delivery's place: the inject it descends from (in this tracer, from 0) and its path below it. */
export interface DeliveryKey {
  root: number;
  path: number[];
}

export class Tracer {
  readonly events: TraceEvent[] = [];
  /** Branch of each inject, by root. */
  readonly roots: number[] = [];
  /** Branches created by a delivery (clone, alloc): [branch, the delivery's key], in creation order. */
  readonly births: [number, DeliveryKey][] = [];
  private next = 1;
  /** Traced deliveries queued and not yet taken, oldest first (the engine's FIFO, traced entries only). */
  private readonly queue: DeliveryKey[] = [];
  private qHead = 0;
  /** The delivery running now, and how many deliveries it has queued so far. */
  private cur: DeliveryKey | null = null;
  private kids = 0;

  /** A new branch, created by the current delivery. */
  newBranch(): number {
    const id = this.next++;
    if (this.cur !== null) this.births.push([id, this.cur]);
    return id;
  }

  add(e: TraceEvent): void {
    this.events.push(e);
  }

  /** Events of one branch, in order. */
  branch(id: number): TraceEvent[] {
    return this.events.filter((e) => e.branch === id);
  }

  // ---- the engine's FIFO, mirrored (Engine calls these for traced packets) ----

  /** A packet is injected (`branch` 0: it starts a branch of its own); answers its branch. */
  injected(branch: number): number {
    const id = branch === 0 ? this.next++ : branch;
    this.queue.push({ root: this.roots.length, path: [] });
    this.roots.push(id);
    return id;
  }

  /** The current delivery queued a traced packet for delivery. */
  queued(): void {
    this.queue.push(this.child());
  }

  /** The engine takes the oldest traced delivery off its queue. */
  delivering(): void {
    // Never empty when every traced enqueue was mirrored; should one not be, its deliveries go under the last inject.
    this.cur = this.qHead < this.queue.length ? this.queue[this.qHead++]! : { root: Math.max(0, this.roots.length - 1), path: [] };
    this.kids = 0;
    if (this.qHead === this.queue.length) this.queue.length = this.qHead = 0;
  }

  /** The current delivery passed a packet on to be delivered elsewhere (another datapath worker): the key it would have had here. */
  handedOff(): DeliveryKey {
    return this.child();
  }

  private child(): DeliveryKey {
    const c = this.cur!;
    return { root: c.root, path: [...c.path, this.kids++] };
  }
}
