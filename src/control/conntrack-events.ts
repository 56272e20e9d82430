// A live `conntrack -E` on one namespace's table. The table calls the
// listener only when an entry changes as the kernel would report it (see
// src/netfilter/conntrack-events.ts); the listener filters, formats the line
// at once (a DESTROY's slot is reused right after) and queues it, bounded:
// when the queue is full or the reader is slow it drops and counts (the
// netlink socket's ENOBUFS), never waits. Delivery and the summary follow
// Capture's (capture.ts): deferred off the packet path, in batches.
import { conntrackEventStamp, conntrackEventText, type Conntrack, type CtEntry } from '../netfilter/index.js';
import { nowUs, type CaptureOptions } from './capture.js';
import type { EventWords } from './conntrack-commands.js';

/** One line as conntrack -E prints it. */
export interface EventLine {
  text: string;
}

export class ConntrackEvents {
  /** Events shown (conntrack's "N flow events have been shown"). */
  captured = 0;
  /** Events lost to a full queue or a slow reader. */
  dropped = 0;
  private queue: EventLine[] = [];
  private scheduled = false;
  private readonly unlisten: () => void;
  private readonly maxQueue: number;
  private readonly defer: (fn: () => void) => void;

  constructor(
    private readonly ct: Conntrack,
    private readonly words: EventWords,
    private readonly opts: Pick<CaptureOptions, 'maxQueue' | 'congested' | 'defer'>,
    private readonly deliver: (lines: EventLine[]) => void,
  ) {
    this.maxQueue = opts.maxQueue ?? 4096;
    this.defer = opts.defer ?? setImmediate;
    // The expectation table's events never come: dpemu runs no conntrack helpers.
    this.unlisten = words.table === 'conntrack' ? ct.listen((type, e, now, portid) => this.onEvent(type, e, now, portid)) : () => {};
  }

  /** conntrack or expect. */
  get table(): string {
    return this.words.table;
  }

  private onEvent(type: number, e: CtEntry, now: number, portid: number): void {
    const w = this.words;
    if (!(w.mask & type) || !w.select(e)) return;
    if (this.queue.length >= this.maxQueue || this.opts.congested?.()) {
      this.dropped++;
      return;
    }
    let text = conntrackEventText(this.ct, type, e, now, portid, w);
    if (w.timestamp) text = conntrackEventStamp(nowUs()) + text;
    this.queue.push({ text });
    this.captured++;
    if (!this.scheduled) {
      this.scheduled = true;
      this.defer(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    if (q.length) this.deliver(q);
  }

  /** Stop listening now (the reader went away); queued lines are discarded. */
  stop(): void {
    this.unlisten();
    this.queue = [];
  }
}

/** What conntrack prints on stderr when -E ends. */
export function conntrackEventsSummary(table: string, shown: number): string {
  return `conntrack v1.4.6 (conntrack-tools): ${shown} ${table === 'expect' ? 'expectation' : 'flow'} events have been shown.`;
}
