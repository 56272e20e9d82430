// Learned state across a reload. The new topology is built into fresh
// elements, each handed what the element of the same node, name and kind in
// the running engine had, where it still applies to its new configuration
// (entries on ports that still exist, for instance):
// - what it learned from traffic (fdb entries, neighbours, learned flows) as
//   the journal's records (KeepsLearned: learnedRecords, then restoreLearned),
//   so an inline reload carries exactly what a worker-mode one does, with the
//   same ages and times;
// - the rest (conntrack) through `adoptState(old)`.
// Elements with neither start empty, as after a restart.
import type { Element } from '../datapath/element.js';
import type { Engine } from '../datapath/engine.js';
import { keepsLearned, learnedRecords } from '../datapath/learned-journal.js';

export interface AdoptsState {
  adoptState(old: Element): void;
}

function adopts(el: Element): el is Element & AdoptsState {
  return typeof (el as Partial<AdoptsState>).adoptState === 'function';
}

/** Elements that hold packets (ARP queues, delayed replies) give them back when they are replaced. */
export interface ReleasesPackets {
  release(): void;
}

/** Drop what the replaced engine's elements still hold, so their slots return to the shared slab. */
export function releaseHeld(old: Engine): void {
  for (const el of old.elements) {
    const r = (el as Partial<ReleasesPackets>).release;
    if (typeof r === 'function') r.call(el);
  }
}

/** Hand `to`'s elements what `from`'s learned: the elements that took state (node:name), those that could not, and the learned entries restored. */
export function carryState(from: Engine, to: Engine): { carried: string[]; notCarried: string[]; learned: number } {
  const carried: string[] = [], notCarried: string[] = [];
  let n = 0;
  for (const el of to.elements) {
    const old = from.element(el.node, el.name);
    if (!old || old.kind !== el.kind) continue;
    const id = `${el.node}:${el.name}`;
    const learned = keepsLearned(el) && keepsLearned(old);
    if (!learned && !adopts(el)) {
      notCarried.push(id);
      continue;
    }
    if (adopts(el)) el.adoptState(old);
    if (learned) n += el.restoreLearned(learnedRecords(old), to.now);
    carried.push(id);
  }
  return { carried, notCarried, learned: n };
}
