// Tables, chains and the per-namespace ruleset (what iptables-save shows).

import { HOOK_NAMES, type HookName, TABLE_NAMES, type TableName, hookByName } from './constants.js';
import { NfSyntaxError } from './errors.js';
import type { Rule } from './rule.js';
import { T_GOTO, T_JUMP } from './targets.js';
import { CounterCells, NO_CELLS, type CellBlock } from '../datapath/counter-cells.js';

/** Cells of a rule and of a built-in chain's policy: packets, bytes. */
export const RULE_CELLS = 2;

export class Chain implements CellBlock {
  rules: Rule[] = [];
  /** Policy counters (built-in chains only; a user chain has no policy): packets at `at`, bytes at `at + 1`. */
  cells = NO_CELLS;
  at = 0;
  /** Hooks this chain can be reached from, computed at commit. */
  hookMask = 0;
  /** Rules that jump or go to this chain. */
  refs = 0;
  constructor(
    readonly name: string,
    readonly builtin: boolean,
    /** ACCEPT or DROP for built-in chains; null for user chains, which have none. */
    public policy: 'ACCEPT' | 'DROP' | null,
  ) {}

  get pkts(): number {
    return this.builtin ? this.cells[this.at]! : 0;
  }
  get bytes(): number {
    return this.builtin ? this.cells[this.at + 1]! : 0;
  }

  /** A working copy: its rules and policy share this chain's counter blocks. */
  clone(): Chain {
    const c = new Chain(this.name, this.builtin, this.policy);
    c.cells = this.cells;
    c.at = this.at;
    c.rules = this.rules.map((r) => ({ ...r }));
    return c;
  }
}

/** Built-in chains of each table, in the order iptables lists them. */
export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly HookName[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

export class Table {
  readonly chains = new Map<string, Chain>();
  /** The built-in chain entered at each hook, or null. */
  readonly hookChains: (Chain | null)[] = [null, null, null, null, null];
  /** Whether the table exists in the namespace (iptables touched it); unloaded tables are not traversed. */
  loaded = false;
  /** Traversal return stack, sized at commit. */
  stackChain: Chain[] = [];
  stackIdx = new Int32Array(1);
  /**
   * Counter writes made on a working copy (-Z, restore's [p:b], -c), done
   * when it is adopted: its blocks are shared with the live rules, and a load
   * that fails must change nothing. null on a live table (writes go through).
   */
  private deferred: { b: CellBlock; pkts: number; bytes: number }[] | null = null;

  /** `builtins` false: no chains (clone() fills them). */
  constructor(readonly name: TableName, readonly counters: CounterCells, builtins = true) {
    if (!builtins) return;
    for (const h of BUILTIN_CHAINS[name]) {
      const c = new Chain(h, true, 'ACCEPT');
      counters.alloc(c, RULE_CELLS);
      this.chains.set(h, c);
      this.hookChains[hookByName(h)] = c;
    }
  }

  /** Sets a rule's or built-in chain's counters (deferred on a working copy). */
  setCounts(b: CellBlock, pkts: number, bytes: number): void {
    if (this.deferred !== null) {
      this.deferred.push({ b, pkts, bytes });
      return;
    }
    b.cells[b.at] = pkts;
    b.cells[b.at + 1] = bytes;
  }

  /** The working copy goes live: its deferred counter writes are done. */
  goLive(): void {
    const d = this.deferred;
    this.deferred = null;
    if (d !== null) for (const w of d) this.setCounts(w.b, w.pkts, w.bytes);
  }

  /** Rules and built-in chains: every counter block this table holds. */
  *blocks(): Generator<CellBlock> {
    for (const c of this.chains.values()) {
      if (c.builtin) yield c;
      yield* c.rules;
    }
  }

  /** Built-ins in hook order, then user chains sorted as libiptc keeps them. */
  chainOrder(): Chain[] {
    const builtins = BUILTIN_CHAINS[this.name].map((h) => this.chains.get(h)!);
    const users = [...this.chains.values()].filter((c) => !c.builtin)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return [...builtins, ...users];
  }

  /** A working copy for a load: shares counter blocks, defers counter writes. */
  clone(): Table {
    const t = new Table(this.name, this.counters, false);
    t.loaded = this.loaded;
    t.deferred = [];
    for (const [name, c] of this.chains) t.chains.set(name, c.clone());
    for (let h = 0; h < 5; h++) {
      const b = this.hookChains[h];
      t.hookChains[h] = b ? t.chains.get(b.name)! : null;
    }
    return t;
  }

  /** Zeroes rule and policy counters (iptables -Z). */
  zero(chain?: Chain): void {
    for (const c of chain ? [chain] : this.chains.values()) {
      if (c.builtin) this.setCounts(c, 0, 0);
      for (const r of c.rules) this.setCounts(r, 0, 0);
    }
  }
}

export class Ruleset {
  tables: Record<TableName, Table>;
  /** Bumped on every change, so caches keyed on rule decisions can be invalidated. */
  generation = 0;
  /** Some loaded rule or table makes the kernel track connections (nf_ct_netns_get). */
  conntrackNeeded = false;
  /** Tables in the order they were first loaded (iptables-save prints them newest first). */
  loadOrder: TableName[] = [];

  /** Counters of every rule and built-in chain, shared with working copies. */
  readonly counters: CounterCells;

  /** `counters` given: a working copy (clone() fills the tables). */
  constructor(counters?: CounterCells) {
    this.counters = counters ?? new CounterCells();
    const c = this.counters, b = counters === undefined;
    this.tables = { raw: new Table('raw', c, b), mangle: new Table('mangle', c, b), nat: new Table('nat', c, b), filter: new Table('filter', c, b) };
  }

  table(name: TableName): Table {
    return this.tables[name];
  }

  /** Marks a table as existing in the namespace. */
  load(name: TableName): Table {
    const t = this.tables[name];
    if (!t.loaded) {
      t.loaded = true;
      this.loadOrder.push(name);
    }
    return t;
  }

  /** A working copy for a load (adopt() or discard() it). */
  clone(): Ruleset {
    const r = new Ruleset(this.counters);
    for (const n of TABLE_NAMES) r.tables[n] = this.tables[n].clone();
    r.loadOrder = [...this.loadOrder];
    r.generation = this.generation;
    r.conntrackNeeded = this.conntrackNeeded;
    return r;
  }

  /** Takes over `other`'s tables (after a successful commit), keeping this object's identity. */
  adopt(other: Ruleset): void {
    for (const n of TABLE_NAMES) other.tables[n].goLive();
    releaseBlocksNotIn(this, other);
    this.tables = other.tables;
    this.loadOrder = other.loadOrder;
    this.conntrackNeeded = other.conntrackNeeded;
    this.generation++;
  }

  /** A working copy that failed: the blocks only it holds (new rules) go back. */
  discard(work: Ruleset): void {
    releaseBlocksNotIn(work, this);
  }

  /**
   * Links jumps, computes which hooks reach each chain, and applies the kernel's
   * checks (loops, targets outside their table or hooks). Throws NfSyntaxError
   * naming the rule's line and target.
   */
  commit(): void {
    let needCt = false;
    for (const name of TABLE_NAMES) {
      const t = this.tables[name];
      if (!t.loaded) continue;
      if (name === 'nat') needCt = true;
      for (const c of t.chains.values()) {
        c.refs = 0;
        c.hookMask = 0;
      }
      for (const c of t.chains.values()) {
        for (const r of c.rules) {
          r.jump = null;
          if (r.target.kind === T_JUMP || r.target.kind === T_GOTO) {
            const dest = t.chains.get(r.target.name);
            // (Each line's jump was checked as it was read: this is a guard.)
            if (!dest) throw noTargetError(r.line, r.targetColumn, r.target.name, r.target.kind === T_GOTO);
            // The kernel's refusal (translate_table: a verdict may not name a hook's entry), which iptables prints as libiptc's EINVAL.
            if (dest.builtin) throw new NfSyntaxError(r.line, r.targetColumn, r.target.name, `cannot jump to built-in chain '${r.target.name}'`, undefined, KERNEL_EINVAL);
            r.jump = dest;
            dest.refs++;
          }
          if (r.target.needsConntrack) needCt = true;
          for (const m of r.matches) if (m.needsConntrack) needCt = true;
        }
      }
      for (let h = 0; h < 5; h++) {
        const b = t.hookChains[h];
        if (b) markHooks(b, 1 << h, new Set([b]));
      }
      for (const c of t.chains.values()) {
        for (const r of c.rules) checkTarget(t, c, r);
      }
      t.stackChain = new Array<Chain>(t.chains.size + 1);
      t.stackIdx = new Int32Array(t.chains.size + 1);
    }
    this.conntrackNeeded = needCt;
  }
}

/** What iptables-legacy prints for the kernel's EINVAL at commit (`iptables: ...`). */
const KERNEL_EINVAL = "Invalid argument. Run `dmesg' for more information";

/**
 * A jump or goto to a name the table has no chain of, as iptables refuses it
 * once it has read the line (do_command4, after the -i/-o checks and before
 * libiptc looks up the rule's own chain): a jump is taken for a target
 * extension, which it fails to load; a goto is not.
 */
export function noTargetError(line: number, column: number, name: string, isGoto: boolean): NfSyntaxError {
  if (isGoto) return new NfSyntaxError(line, column, name, `goto '${name}' is not a chain`, `no chain '${name}'`);
  const note = /^[A-Z]+$/.test(name) ? `no chain '${name}', nor a target this emulator knows` : `no chain '${name}'`;
  return new NfSyntaxError(line, column, name, `Couldn't load target \`${name}':No such file or directory\n`, note);
}

/** Releases the counter blocks `from` holds that `keep` does not (rules deleted, or never committed). */
function releaseBlocksNotIn(from: Ruleset, keep: Ruleset): void {
  // Blocks seen, by chunk and offset: those `keep` holds, then each one released (never twice).
  const seen = new Map<Float64Array, Set<number>>();
  const mark = (b: CellBlock): boolean => {
    let s = seen.get(b.cells);
    if (!s) seen.set(b.cells, (s = new Set()));
    if (s.has(b.at)) return false;
    s.add(b.at);
    return true;
  };
  for (const n of TABLE_NAMES) for (const b of keep.tables[n].blocks()) mark(b);
  const gone: CellBlock[] = [];
  for (const n of TABLE_NAMES) for (const b of from.tables[n].blocks()) if (mark(b)) gone.push(b);
  for (const b of gone) from.counters.release(b, RULE_CELLS);
}

function markHooks(c: Chain, bit: number, path: Set<Chain>): void {
  c.hookMask |= bit;
  for (const r of c.rules) {
    const d = r.jump;
    if (!d) continue;
    if (path.has(d)) {
      throw new NfSyntaxError(r.line, r.targetColumn, d.name, `loop detected: chain '${d.name}' is entered again from '${c.name}'`);
    }
    if (d.hookMask & bit) continue;
    path.add(d);
    markHooks(d, bit, path);
    path.delete(d);
  }
}

function hookList(mask: number): string {
  return HOOK_NAMES.filter((_, i) => mask & (1 << i)).join('/');
}

/** xt_check_target's refusals (and the target's own checkentry's): said on dmesg, EINVAL to iptables. */
function checkTarget(t: Table, c: Chain, r: Rule): void {
  const tg = r.target;
  const refuse = (dmesg: string): never => {
    throw new NfSyntaxError(r.line, r.targetColumn, tg.name, dmesg, undefined, KERNEL_EINVAL);
  };
  if (tg.table && tg.table !== t.name) refuse(`${tg.name} target: only valid in ${tg.table} table, not ${t.name}`);
  if (tg.hooks && c.hookMask & ~tg.hooks) refuse(`${tg.name} target: used from hooks ${hookList(c.hookMask & ~tg.hooks)}, but only usable from ${hookList(tg.hooks)}`);
  if (tg.refused) refuse(tg.refused);
}
