// A datapath worker's side of the learned-state journal: the elements of its
// engine that keep learned entries (KeepsLearned), restored from what the
// supervisor's mirror holds for them, then journaling every change. After a
// record was dropped for want of room, tick() writes their tables whole again
// once they fit, so the mirror is whole again.
import type { Element } from '../datapath/element.js';
import type { Engine } from '../datapath/engine.js';
import { LearnedJournal, keepsLearned, type KeepsLearned } from '../datapath/learned-journal.js';
import { learnedKey, type LearnedState } from './learned-mirror.js';

export class LearnedKeepers {
  readonly journal: LearnedJournal;
  private readonly keepers: (Element & KeepsLearned)[];

  constructor(
    private readonly engine: Engine,
    journal: SharedArrayBuffer,
  ) {
    this.journal = new LearnedJournal(journal);
    this.keepers = engine.elements.filter((e): e is Element & KeepsLearned => keepsLearned(e));
  }

  /** Each element takes back its entries of `state` (before it forwards). */
  restore(state: LearnedState): number {
    const m = new Map(state);
    let n = 0;
    for (const el of this.keepers) {
      const recs = m.get(learnedKey(el.node, el.name, el.kind));
      if (recs) n += el.restoreLearned(recs, this.engine.now);
    }
    return n;
  }

  /** Journal every element's whole tables (at the start, after a loss, and for a reload's exact hand-over). */
  journalAll(): void {
    const j = this.journal;
    j.lost = false;
    this.keepers.forEach((el, id) => {
      j.declare(id, learnedKey(el.node, el.name, el.kind));
      el.journalTo(j, id);
    });
  }

  /** Between batches: after a loss, write the tables whole again (counted once it fitted). */
  tick(): void {
    if (!this.journal.lost) return;
    this.journalAll();
    if (!this.journal.lost) this.journal.resynced();
  }
}
