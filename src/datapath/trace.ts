// The slow path's memory of one run: for each packet branch, every port it
// crossed (with the frame there) and every decision an element reported.
// Only allocated when tracing; the data path checks `engine.tracer` once.
import type { DropReason } from './drop-reasons.js';

export type TraceEvent =
  | { kind: 'in' | 'out'; branch: number; node: string; element: string; port: string; frame: Uint8Array }
  | { kind: 'note'; branch: number; node: string; element: string; text: string; detail?: Record<string, unknown> }
  | { kind: 'drop'; branch: number; node: string; element: string; reason: DropReason; text?: string }
  | { kind: 'consume'; branch: number; node: string; element: string; text: string }
  | { kind: 'edge'; branch: number; node: string; element: string; port: string; frame: Uint8Array }
  | { kind: 'branch'; branch: number; parent: number; node: string; element: string; cause: string };

export class Tracer {
  readonly events: TraceEvent[] = [];
  private next = 1;

  newBranch(): number {
    return this.next++;
  }

  add(e: TraceEvent): void {
    this.events.push(e);
  }

  /** Events of one branch, in order. */
  branch(id: number): TraceEvent[] {
    return this.events.filter((e) => e.branch === id);
  }
}
