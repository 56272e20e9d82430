// A datapath worker's side of the learned-state journal: the elements of its
// engine that keep learned entries (KeepsLearned), restored from what the
// supervisor's mirror holds for them, then journaling every change. After a
// record was dropped for want of room, tick() writes their tables whole again
// once the supervisor has read the journal empty (the only time a rewrite can
// fit); one that does not fit even then grows the journal for the next try,
// so the mirror is whole again and no tick rewrites in vain.
import type { Element } from '../datapath/element.js';
import type { Engine } from '../datapath/engine.js';
import { LearnedJournal, keepsLearned, type KeepsLearned } from '../datapath/learned-journal.js';
import { learnedKey, type LearnedState } from './learned-mirror.js';

export class LearnedKeepers {
  readonly journal: LearnedJournal;
  private readonly keepers: (Element & KeepsLearned)[];
  /** The last rewrite did not fit the drained journal. */
  private outgrown = false;
  /** Ticks to let pass before the next rewrite: after one that failed at the journal's largest size, twice as many each time. */
  private wait = 0;
  private backoff = 1;

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

  /** The mirror's key of every element here that keeps learned entries. */
  keys(): string[] {
    return this.keepers.map((el) => learnedKey(el.node, el.name, el.kind));
  }

  /** Journal every element's whole tables (at the start, after a loss, and for a reload's exact hand-over). */
  journalAll(): void {
    const j = this.journal;
    j.rewriting();
    this.keys().forEach((key, id) => {
      j.declare(id, key);
      this.keepers[id]!.journalTo(j, id);
    });
  }

  /** Between batches: after a loss, write the tables whole again (counted once it fitted). */
  tick(): void {
    const j = this.journal;
    if (!j.lost || !j.drained || --this.wait > 0) return;
    // The last rewrite found the ring drained too and still did not fit: grow it first.
    if (this.outgrown && !j.grow()) this.wait = this.backoff = Math.min(2 * this.backoff, 1024);
    this.journalAll();
    this.outgrown = j.lost;
    if (!j.lost) {
      j.resynced();
      this.backoff = 1;
    }
  }
}
