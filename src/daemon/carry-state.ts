// Learned state across a reload. The new topology is built into fresh
// elements; an element that knows how to take over what its predecessor
// learned (fdb entries, neighbours, conntrack, learned flows) implements
// `adoptState(old)`, and is handed the element of the same node, name and
// kind from the running engine. It keeps what still applies to its new
// configuration (entries on ports that still exist, for instance). Elements
// without the method start empty, as after a restart.
import type { Element } from '../datapath/element.js';
import type { Engine } from '../datapath/engine.js';

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

export function carryState(from: Engine, to: Engine): { carried: string[]; notCarried: string[] } {
  const carried: string[] = [], notCarried: string[] = [];
  for (const el of to.elements) {
    const old = from.element(el.node, el.name);
    if (!old || old.kind !== el.kind) continue;
    const id = `${el.node}:${el.name}`;
    if (!adopts(el)) {
      notCarried.push(id);
      continue;
    }
    el.adoptState(old);
    carried.push(id);
  }
  return { carried, notCarried };
}
