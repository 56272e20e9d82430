// A live `conntrack -E` on one namespace's table. The table calls the
// listener only when an entry changes as the kernel would report it (see
// src/netfilter/conntrack-events.ts); the listener filters, formats the line
// at once (a DESTROY's slot is reused right after) and queues it, bounded:
// when the queue is full or the reader is slow it drops and counts (the
// netlink socket's ENOBUFS), never waits. Delivery and the summary follow
// Capture's (capture.ts): deferred off the packet path, in batches.
import { conntrackEventStamp, conntrackEventText, type Conntrack, type CtEntry } from '../netfilter/index.js';
import { DeferredBatches, nowUs, type CaptureOptions } from './capture.js';
import type { EventWords } from './conntrack-commands.js';

/** One line as conntrack -E prints it. */
export interface EventLine {
  text: string;
}

export class ConntrackEvents {
  private readonly unlisten: () => void;
  private readonly out: DeferredBatches<EventLine>;

  constructor(
    private readonly ct: Conntrack,
    private readonly words: EventWords,
    opts: Pick<CaptureOptions, 'maxQueue' | 'congested' | 'defer'>,
    deliver: (lines: EventLine[]) => void,
  ) {
    this.out = new DeferredBatches(opts, deliver);
    // The expectation table's events never come: dpemu runs no conntrack helpers.
    this.unlisten = words.table === 'conntrack' ? ct.listen((type, e, now, portid, mark) => this.onEvent(type, e, now, portid, mark)) : () => {};
  }

  /** conntrack or expect. */
  get table(): string {
    return this.words.table;
  }

  /** Events shown (conntrack's "N flow events have been shown"). */
  get captured(): number {
    return this.out.captured;
  }

  /** Events lost to a full queue or a slow reader. */
  get dropped(): number {
    return this.out.dropped;
  }

  private onEvent(type: number, e: CtEntry, now: number, portid: number, markChanged: boolean): void {
    const w = this.words;
    if (!(w.mask & type) || !w.select(e) || !this.out.room()) return;
    let text = conntrackEventText(this.ct, type, e, now, portid, w, markChanged);
    if (w.timestamp) text = conntrackEventStamp(nowUs()) + text;
    this.out.push({ text });
  }

  /** Stop listening now (the reader went away); queued lines are discarded. */
  stop(): void {
    this.unlisten();
    this.out.clear();
  }
}
