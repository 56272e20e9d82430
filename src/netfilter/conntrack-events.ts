// Conntrack events (ctnetlink's NEW / UPDATE / DESTROY multicast groups, what
// `conntrack -E` listens to). A table has no hub until someone listens, so
// the packet path pays one null test; with listeners, only changes the
// kernel reports make an event: an entry confirmed (NEW), a reply seen, the
// entry assured, a TCP state change or a new mark (UPDATE), an entry removed
// by timeout, flush, deletion or a kill (DESTROY).

import type { CtEntry } from './conntrack-entry.js';

export const CT_EVENT_NEW = 1;
export const CT_EVENT_UPDATE = 2;
export const CT_EVENT_DESTROY = 4;
export const CT_EVENT_ALL = CT_EVENT_NEW | CT_EVENT_UPDATE | CT_EVENT_DESTROY;

/**
 * Receives an event while the entry still holds the state it reports (a
 * DESTROY's slot is freed right after): read what it needs now. `now` is
 * the table's emulated time; `portid` is the deleting process's netlink
 * port for a deletion asked from user space, else 0.
 */
export type CtEventListener = (type: number, e: CtEntry, now: number, portid: number) => void;

/** The listeners of one table. */
export class CtEventHub {
  readonly listeners: CtEventListener[] = [];

  emit(type: number, e: CtEntry, now: number, portid: number): void {
    for (const l of this.listeners) l(type, e, now, portid);
  }
}
