// Tables, chains and the per-namespace ruleset (what iptables-save shows).

import { HOOK_NAMES, type HookName, TABLE_NAMES, type TableName, hookByName } from './constants.js';
import { NfSyntaxError } from './errors.js';
import type { Rule } from './rule.js';
import { T_GOTO, T_JUMP } from './targets.js';

export class Chain {
  rules: Rule[] = [];
  /** Policy counters (built-in chains): packets that took the policy. */
  pkts = 0;
  bytes = 0;
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

  clone(): Chain {
    const c = new Chain(this.name, this.builtin, this.policy);
    c.pkts = this.pkts;
    c.bytes = this.bytes;
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

  constructor(readonly name: TableName) {
    for (const h of BUILTIN_CHAINS[name]) {
      const c = new Chain(h, true, 'ACCEPT');
      this.chains.set(h, c);
      this.hookChains[hookByName(h)] = c;
    }
  }

  /** Built-ins in hook order, then user chains sorted as libiptc keeps them. */
  chainOrder(): Chain[] {
    const builtins = BUILTIN_CHAINS[this.name].map((h) => this.chains.get(h)!);
    const users = [...this.chains.values()].filter((c) => !c.builtin)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return [...builtins, ...users];
  }

  clone(): Table {
    const t = new Table(this.name);
    t.loaded = this.loaded;
    t.chains.clear();
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
      c.pkts = 0;
      c.bytes = 0;
      for (const r of c.rules) {
        r.pkts = 0;
        r.bytes = 0;
      }
    }
  }
}

export class Ruleset {
  tables: Record<TableName, Table>;
  /** Bumped on every change, so caches keyed on rule decisions can be invalidated. */
  generation = 0;
  /** Some loaded rule or table makes the kernel track connections (nf_ct_netns_get). */
  conntrackNeeded = false;
  /** Tables in the order they were first loaded (iptables-save order). */
  loadOrder: TableName[] = [];

  constructor() {
    this.tables = { raw: new Table('raw'), mangle: new Table('mangle'), nat: new Table('nat'), filter: new Table('filter') };
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

  clone(): Ruleset {
    const r = new Ruleset();
    for (const n of TABLE_NAMES) r.tables[n] = this.tables[n].clone();
    r.loadOrder = [...this.loadOrder];
    r.generation = this.generation;
    r.conntrackNeeded = this.conntrackNeeded;
    return r;
  }

  /** Takes over `other`'s tables (after a successful commit), keeping this object's identity. */
  adopt(other: Ruleset): void {
    this.tables = other.tables;
    this.loadOrder = other.loadOrder;
    this.conntrackNeeded = other.conntrackNeeded;
    this.generation++;
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
            if (!dest) {
              const hint = /^[A-Z]+$/.test(r.target.name) ? ' (nor is it a target this emulator knows)' : '';
              throw new NfSyntaxError(r.line, r.targetColumn, r.target.name, `chain '${r.target.name}' does not exist${hint}`);
            }
            if (dest.builtin) throw new NfSyntaxError(r.line, r.targetColumn, r.target.name, `cannot jump to built-in chain '${r.target.name}'`);
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

function checkTarget(t: Table, c: Chain, r: Rule): void {
  const tg = r.target;
  if (tg.table && tg.table !== t.name) {
    throw new NfSyntaxError(r.line, r.targetColumn, tg.name, `${tg.name} target: only valid in ${tg.table} table, not ${t.name}`);
  }
  if (tg.hooks && c.hookMask & ~tg.hooks) {
    throw new NfSyntaxError(r.line, r.targetColumn, tg.name,
      `${tg.name} target: used from hooks ${hookList(c.hookMask & ~tg.hooks)}, but only usable from ${hookList(tg.hooks)}`);
  }
}
