// Conntrack events (ctnetlink's NEW / UPDATE / DESTROY multicast groups, what
// `conntrack -E` listens to). A table has no hub until someone listens, so
// the packet path pays one null test; with listeners, only changes the
// kernel reports make an event: an entry confirmed (NEW), a reply seen, the
// entry assured, a TCP state change, a new mark or conntrack -U (UPDATE), an entry removed
// by timeout, flush, deletion or a kill (DESTROY).

import type { CtEntry } from './conntrack-entry.js';

export const CT_EVENT_NEW = 1;
export const CT_EVENT_UPDATE = 2;
export const CT_EVENT_DESTROY = 4;
export const CT_EVENT_ALL = CT_EVENT_NEW | CT_EVENT_UPDATE | CT_EVENT_DESTROY;

/**
 * Receives an event while the entry still holds the state it reports (a
 * DESTROY's slot is freed right after): read what it needs now. `now` is
 * the table's emulated time; `portid` is the netlink port of the process
 * whose request made it (conntrack -D, -F, -U), else 0; `markChanged`: the
 * event reports the mark (IPCT_MARK: a CONNMARK or conntrack -U), which
 * ctnetlink then sends even when it is 0.
 */
export type CtEventListener = (type: number, e: CtEntry, now: number, portid: number, markChanged: boolean) => void;

/** The listeners of one table. */
export class CtEventHub {
  readonly listeners: CtEventListener[] = [];

  emit(type: number, e: CtEntry, now: number, portid: number, markChanged: boolean): void {
    for (const l of this.listeners) l(type, e, now, portid, markChanged);
  }
}
