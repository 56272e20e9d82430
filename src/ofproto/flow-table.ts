// OpenFlow tables 0..254 of one bridge: flow entries with their counters and
// timeouts, and the flow_mod semantics of OVS ofproto.c (add with replace,
// modify and delete, loose and strict, cookie masks, out_port filters).
// Times are emulated milliseconds; timeouts are seconds as in OpenFlow.
import { Classifier, looseMatches } from './classifier.js';
import type { Action } from './actions.js';
import { OFPP } from './actions.js';
import type { FlowFlags, FlowSpec } from './flow.js';
import type { Match } from './match.js';
import type { FlowKey } from './flow-key.js';
import { CounterCells, NO_CELLS, type CellBlock } from '../datapath/counter-cells.js';

export const N_TABLES = 255;
/** OFPTT_ALL: "every table" in flow-matching commands. */
export const TABLE_ALL = 255;

/** Cells per flow (n_packets, n_bytes) and per table (lookup, matched). */
const FLOW_CELLS = 2;
const TABLE_CELLS = 2;

export class FlowEntry implements CellBlock {
  /** n_packets at `at`, n_bytes at `at + 1`, in the bridge's CounterCells. */
  cells = NO_CELLS;
  at = 0;
  /** Compiled form of `actions`, owned by execute.ts (rebuilt when actions change). */
  prog: unknown = null;
  removed = false;
  /** For learned flows: the learn() program that made it and the packet values it used (learn-exec.ts). */
  learnedBy: unknown = null;
  learnSig: Float64Array | null = null;
  /** When a learned flow was last journaled (FlowTables.learnLog), emulated ms. */
  journaled = 0;
  /**
   * Its add-flows line without statistics, kept by the runtime configuration
   * log's snapshots (src/workers/worker-control.ts) so that each snapshot
   * formats only the flows new since the last one; a flow added by
   * `ofctl add-flow(s)` has the line it was added with (it parses to the same
   * flow on the same bridge). Null when not made yet or its actions or cookie
   * changed since.
   */
  configText: string | null = null;

  constructor(
    readonly table: number,
    readonly match: Match,
    readonly priority: number,
    public cookie: bigint,
    public actions: Action[],
    public idleTimeout: number,
    public hardTimeout: number,
    public importance: number,
    public flags: FlowFlags,
    public created: number,
    public modified: number,
    public used: number,
  ) {}

  /** The expiry this entry has reached at `now`, if any (ofproto-dpif rule_expire). */
  expiredAt(now: number): 'hard' | 'idle' | null {
    if (this.hardTimeout && now > this.modified + this.hardTimeout * 1000) return 'hard';
    if (this.idleTimeout && now > this.used + this.idleTimeout * 1000) return 'idle';
    return null;
  }

  get nPackets(): number {
    return this.cells[this.at]!;
  }
  get nBytes(): number {
    return this.cells[this.at + 1]!;
  }

  /** The entry as a FlowSpec with dump-flows stats (for the printer). */
  toSpec(now: number): FlowSpec {
    const dur = Math.max(0, now - this.created);
    const spec: FlowSpec = {
      table: this.table,
      priority: this.priority,
      cookie: this.cookie,
      idleTimeout: this.idleTimeout,
      hardTimeout: this.hardTimeout,
      importance: this.importance,
      flags: { ...this.flags },
      match: this.match,
      actions: this.actions,
      stats: {
        durationSec: Math.floor(dur / 1000),
        // OVS keeps flow times in whole milliseconds (time_msec), so dumps show 3 decimals.
        durationNsec: Math.floor(dur % 1000) * 1e6,
        nPackets: BigInt(this.nPackets),
        nBytes: BigInt(this.nBytes),
        idleAge: Math.floor(Math.max(0, now - this.used) / 1000),
        hardAge: Math.floor(Math.max(0, now - this.modified) / 1000),
      },
    };
    return spec;
  }
}

/** OFPG_ANY: an out_group that selects every flow. */
export const OFPG_ANY = 0xffffffff;

/** Which flows a flow-matching command (mod/del/dump) selects. */
export interface FlowFilter {
  table: number; // TABLE_ALL for every table
  match: Match;
  priority?: number; // strict commands only
  strict: boolean;
  cookie?: bigint;
  cookieMask?: bigint; // 0 or absent: any cookie
  outPort?: number; // OFPP.NONE or absent: any
  outGroup?: number; // OFPG_ANY or absent: any; dpemu has no groups, so no flow outputs to another
}

export class FlowTable implements CellBlock {
  readonly cls = new Classifier<FlowEntry>();
  /** OVS table stats (dump-tables): lookups at `at`, matches at `at + 1`. */
  cells = NO_CELLS;
  at = 0;
  constructor(readonly id: number, counters: CounterCells) {
    counters.alloc(this, TABLE_CELLS);
  }

  get lookups(): number {
    return this.cells[this.at]!;
  }
  get matched(): number {
    return this.cells[this.at + 1]!;
  }
  /** Put back counts saved earlier (a trace is not traffic). */
  setCounts(lookups: number, matched: number): void {
    this.cells[this.at] = lookups;
    this.cells[this.at + 1] = matched;
  }
}

/** Does an action list output to `port` (ofpacts_output_to_port)? */
export function outputsTo(actions: readonly Action[], port: number): boolean {
  for (const a of actions) {
    if (a.kind === 'output' && a.port === port) return true;
    if (a.kind === 'ct' && outputsTo(a.exec, port)) return true;
  }
  return false;
}

/** Told of every flow change, after the tables show it (the translation cache invalidates what it affects). */
export interface FlowWatch {
  /** `e` was added; `replaced` is the flow with the same match and priority it took the place of. */
  flowAdded(e: FlowEntry, replaced: FlowEntry | null): void;
  /** `e`'s actions (or cookie) changed. */
  flowChanged(e: FlowEntry): void;
  /** `e` left its table (delete or timeout). */
  flowRemoved(e: FlowEntry): void;
}

export class FlowTables {
  private readonly tables: (FlowTable | undefined)[] = new Array(N_TABLES);
  /** Every flow's and table's counters (a flow's block is released when it leaves). */
  readonly counters = new CounterCells();
  /** Entries with a timeout, checked by expire(). */
  private readonly timed = new Set<FlowEntry>();
  /** Bumped on every flow change, so a cache keyed on lookups knows it is stale. */
  generation = 0;
  /** Called when an entry leaves (timeout or delete), e.g. for tracing. */
  onRemove: ((e: FlowEntry, reason: 'hard' | 'idle' | 'delete') => void) | null = null;
  watch: FlowWatch | null = null;
  /** Told when a flow learn() made is added or changed (`gone` false) or leaves (true): the learned-state journal's hook. */
  learnLog: ((e: FlowEntry, gone: boolean) => void) | null = null;
  /**
   * Brings every table's and flow's counters and `used` up to date: cache
   * hits credit them lazily (XlateCache.credit), so whatever reads or resets
   * them, or judges a timeout by them, calls this first (set by the bridge:
   * it pushes every bridge's cache of the engine, since a translation
   * through patch ports credits the peer's flows too).
   */
  sync: () => void = () => {};

  table(id: number): FlowTable {
    let t = this.tables[id];
    if (!t) this.tables[id] = t = new FlowTable(id, this.counters);
    return t;
  }

  /** Table `id` if it exists (never creates one). */
  peek(id: number): FlowTable | undefined {
    return this.tables[id];
  }

  /** clear-counters: every flow and table counter to 0 (hits not credited yet included: they would land after). */
  zeroCounters(): void {
    this.sync();
    this.counters.zeroAll();
  }

  /** Tables that exist (have held flows or been looked up), in id order, their counters synced. */
  existing(): FlowTable[] {
    this.sync();
    return this.tables.filter((t): t is FlowTable => t !== undefined);
  }

  get flowCount(): number {
    let n = 0;
    for (const t of this.tables) if (t) n += t.cls.size;
    return n;
  }

  /**
   * The highest-priority live entry of table `id` matching `key`; an entry
   * whose timeout has passed is removed on the way (OVS removes it on its
   * next expiry run; a packet never revives an expired flow here).
   */
  lookup(id: number, key: FlowKey, now: number, wc?: Uint32Array): FlowEntry | null {
    // Every OVS table exists from the start and counts its misses: a lookup creates the table it counts in.
    const t = this.tables[id] ?? this.table(id);
    const c = t.cells, at = t.at;
    c[at]!++;
    for (;;) {
      const e = t.cls.lookup(key, wc);
      if (e === null) return null;
      if ((e.idleTimeout | e.hardTimeout) !== 0 && e.expiredAt(now) !== null) {
        this.sync(); // idle, or only not credited yet?
        const why = e.expiredAt(now);
        if (why !== null) {
          this.removeEntry(e, why);
          continue;
        }
      }
      c[at + 1]!++;
      return e;
    }
  }

  /** A lookup of table `id` that matched no flow of it (ofproto-dpif's drop_frags_rule): looked up and matched. */
  countMatch(id: number): void {
    const t = this.tables[id] ?? this.table(id);
    t.cells[t.at]!++;
    t.cells[t.at + 1]!++;
  }

  /**
   * OFPFC_ADD: a flow with identical match and priority is replaced. Its
   * counters restart (OpenFlow 1.0/1.1, as ovs-ofctl speaks by default)
   * unless `keepCounts` (OpenFlow 1.2+ without reset_counts).
   */
  add(spec: FlowSpec, now: number, keepCounts = false): FlowEntry {
    this.sync(); // a replaced flow's counts end or carry over whole
    const t = this.table(spec.table);
    const e = new FlowEntry(
      spec.table,
      cloneMatch(spec.match),
      spec.priority,
      spec.cookie,
      spec.actions,
      spec.idleTimeout,
      spec.hardTimeout,
      spec.importance,
      { ...spec.flags },
      now,
      now,
      now,
    );
    const old = t.cls.insert(e);
    if (old) {
      old.removed = true;
      this.timed.delete(old);
      if (old.learnedBy !== null) this.learnLog?.(old, true);
      if (keepCounts && !spec.flags.resetCounts) {
        this.counters.handOver(old, e, FLOW_CELLS);
        e.used = old.used;
      } else {
        this.counters.release(old, FLOW_CELLS);
      }
    }
    if (e.cells === NO_CELLS) this.counters.alloc(e, FLOW_CELLS);
    if (e.idleTimeout || e.hardTimeout) this.timed.add(e);
    this.generation++;
    this.watch?.flowAdded(e, old);
    return e;
  }

  /** Entries selected by a flow-matching command, in table then priority order. */
  select(f: FlowFilter, now?: number): FlowEntry[] {
    this.sync();
    const out: FlowEntry[] = [];
    const from = f.table === TABLE_ALL ? 0 : f.table;
    const to = f.table === TABLE_ALL ? N_TABLES - 1 : f.table;
    for (let id = from; id <= to; id++) {
      const t = this.tables[id];
      if (!t || t.cls.size === 0) continue;
      let cands: FlowEntry[];
      if (f.strict) {
        const e = t.cls.findExact(f.match, f.priority ?? 0x8000);
        cands = e ? [e] : [];
      } else {
        cands = t.cls.rules().filter((e) => looseMatches(e.match, f.match));
      }
      for (const e of cands) {
        if (now !== undefined && e.expiredAt(now)) continue;
        if (f.cookieMask && ((e.cookie ^ (f.cookie ?? 0n)) & f.cookieMask) !== 0n) continue;
        if (f.outPort !== undefined && f.outPort !== OFPP.NONE && !outputsTo(e.actions, f.outPort)) continue;
        if (f.outGroup !== undefined && f.outGroup !== OFPG_ANY) continue;
        out.push(e);
      }
    }
    return out;
  }

  /**
   * OFPFC_MODIFY[_STRICT]: new actions (and cookie, when `newCookie` is
   * given) for the selected flows; counters (unless `resetCounts`), timeouts
   * and creation time stay, `modified` restarts (hard timeout and hard_age
   * count from it). Returns the entries changed.
   */
  modify(f: FlowFilter, actions: Action[], now: number, newCookie?: bigint, resetCounts = false): FlowEntry[] {
    const sel = this.select(f, now); // synced: no hit lands after the reset
    for (const e of sel) {
      if (resetCounts) e.cells.fill(0, e.at, e.at + FLOW_CELLS);
      e.actions = actions;
      e.prog = null;
      e.learnSig = null;
      e.configText = null;
      e.modified = now;
      if (newCookie !== undefined) e.cookie = newCookie;
      this.watch?.flowChanged(e);
      if (e.learnedBy !== null) this.learnLog?.(e, false);
    }
    if (sel.length) this.generation++;
    return sel;
  }

  /** `e`'s actions were changed in place (learn()'s modify). */
  changed(e: FlowEntry): void {
    e.configText = null;
    this.generation++;
    this.watch?.flowChanged(e);
  }

  /** OFPFC_DELETE[_STRICT]. */
  delete(f: FlowFilter, now?: number): FlowEntry[] {
    const sel = this.select(f, now);
    for (const e of sel) this.removeEntry(e, 'delete');
    return sel;
  }

  /** Remove every flow of every table. */
  clear(): void {
    this.sync();
    for (const t of this.tables) if (t) for (const e of t.cls.rules()) this.removeEntry(e, 'delete');
  }

  /** Remove entries whose idle or hard timeout has passed (ofproto's expiry run). */
  expire(now: number): number {
    this.sync();
    let n = 0;
    for (const e of this.timed) {
      const why = e.expiredAt(now);
      if (why) {
        this.removeEntry(e, why);
        n++;
      }
    }
    return n;
  }

  removeEntry(e: FlowEntry, why: 'hard' | 'idle' | 'delete'): void {
    if (e.removed) return;
    e.removed = true;
    this.tables[e.table]?.cls.remove(e);
    this.timed.delete(e);
    this.generation++;
    this.counters.release(e, FLOW_CELLS);
    this.watch?.flowRemoved(e);
    this.onRemove?.(e, why);
    if (e.learnedBy !== null) this.learnLog?.(e, true);
  }

  /** A flow with timeouts was created or changed its timeouts. */
  track(e: FlowEntry): void {
    if (e.idleTimeout || e.hardTimeout) this.timed.add(e);
    else this.timed.delete(e);
  }
}

export function cloneMatch(m: Match): Match {
  return { value: Uint32Array.from(m.value), mask: Uint32Array.from(m.mask) };
}

