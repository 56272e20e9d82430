// Executing learn(): build the learned flow from the packet's current flow, as
// OVS lib/learn.c learn_execute does, and install it with the semantics of
// ofproto_flow_mod_init_for_learn + ofproto_flow_mod_learn: an identical flow
// (same match, priority, timeouts, cookie and actions) is only refreshed (its
// `modified` time restarts the hard timeout); one that differs is modified in
// place (actions and cookie change; timeouts, counters and creation stay);
// otherwise a new flow is added. The steady state (refresh) allocates nothing:
// the match is built in a scratch Match and compared through a numeric
// signature of the values the actions were made from.
import type { Action, LearnSpec, Subfield } from './actions.js';
import { OFPP } from './actions.js';
import { ones } from './fields.js';
import type { FlowSpec } from './flow.js';
import { newKey, type FlowKey } from './flow-key.js';
import type { Match } from './match.js';
import type { FlowEntry, FlowTables } from './flow-table.js';
import { maskId } from './classifier.js';
import { applyConstWrite, constWrite, fromHalves, readSegs, subfieldSegs, val, writeSegs, type Segs } from './key-bits.js';

type ActItem =
  | { kind: 'load'; dst: Subfield; src: Segs }
  | { kind: 'loadImm'; action: Action }
  | { kind: 'output'; src: Segs };

export type LearnResult = 'refresh' | 'modify' | 'add';

export class LearnProg {
  private readonly matchSrc: Segs[] = [];
  private readonly matchDst: Segs[] = [];
  private readonly immValue: Uint32Array[] = [];
  private readonly immMask: Uint32Array[] = [];
  private readonly acts: ActItem[] = [];
  /** The learned match, rebuilt per execution. */
  readonly scratch: Match = { value: newKey(), mask: newKey() };
  private readonly sig: Float64Array;
  /** Subtable key of the learned mask, which is the same for every packet. */
  private maskKey: string | null = null;

  constructor(readonly spec: LearnSpec) {
    for (const it of spec.items) {
      switch (it.kind) {
        case 'match':
          this.matchSrc.push(subfieldSegs(it.src));
          this.matchDst.push(subfieldSegs(it.dst));
          break;
        case 'matchImm': {
          const f = it.dst.field;
          const m = ones(it.dst.nBits) << BigInt(it.dst.ofs);
          this.immValue.push(constWrite(f, (it.value & ones(it.dst.nBits)) << BigInt(it.dst.ofs), m));
          this.immMask.push(constWrite(f, m, m));
          break;
        }
        case 'load':
          this.acts.push({ kind: 'load', dst: it.dst, src: subfieldSegs(it.src) });
          break;
        case 'loadImm':
          this.acts.push({ kind: 'loadImm', action: { kind: 'load', dst: it.dst, value: it.value & ones(it.dst.nBits) } });
          break;
        case 'output':
          this.acts.push({ kind: 'output', src: subfieldSegs(it.src) });
          break;
      }
    }
    this.sig = new Float64Array(this.acts.length * 2);
  }

  /** The key bits the flow is built from, to `use` (a recording's megaflow: OVS's learn_mask). */
  reads(use: (s: Segs) => void): void {
    for (const s of this.matchSrc) use(s);
    for (const a of this.acts) if (a.kind !== 'loadImm') use(a.src);
  }

  /** Build the learned match into `scratch` and the action signature from `key`. */
  private build(key: FlowKey): void {
    const v = this.scratch.value, m = this.scratch.mask;
    v.fill(0);
    m.fill(0);
    for (let i = 0; i < this.matchSrc.length; i++) {
      readSegs(key, this.matchSrc[i]!);
      writeSegs(v, this.matchDst[i]!, val.hi, val.lo);
      writeSegs(m, this.matchDst[i]!, 0xffffffff, 0xffffffff);
    }
    for (let i = 0; i < this.immValue.length; i++) {
      applyConstWrite(v, this.immValue[i]!);
      applyConstWrite(m, this.immMask[i]!);
    }
    for (let i = 0; i < this.acts.length; i++) {
      const a = this.acts[i]!;
      if (a.kind === 'loadImm') {
        this.sig[2 * i] = this.sig[2 * i + 1] = 0;
      } else {
        readSegs(key, a.src);
        this.sig[2 * i] = val.hi;
        this.sig[2 * i + 1] = val.lo;
      }
    }
  }

  /** The learned actions for the current signature (allocates; only when a flow changes). */
  private actions(): Action[] {
    const out: Action[] = [];
    for (let i = 0; i < this.acts.length; i++) {
      const a = this.acts[i]!;
      const hi = this.sig[2 * i]!, lo = this.sig[2 * i + 1]!;
      if (a.kind === 'loadImm') out.push(a.action);
      else if (a.kind === 'load') out.push({ kind: 'load', dst: a.dst, value: fromHalves(hi, lo) });
      else if (hi === 0 && lo <= 0xffff && (lo < OFPP.MAX || lo === OFPP.IN_PORT || lo === OFPP.FLOOD || lo === OFPP.LOCAL || lo === OFPP.ALL)) {
        // learn_execute only outputs to a real or one of these reserved ports.
        out.push({ kind: 'output', port: lo });
      }
    }
    return out;
  }

  private sameAttrs(e: FlowEntry): boolean {
    const s = this.spec;
    return e.idleTimeout === s.idleTimeout && e.hardTimeout === s.hardTimeout && e.importance === 0 && e.cookie === s.cookie && e.flags.sendFlowRem === s.sendFlowRem;
  }

  private sameSig(e: FlowEntry): boolean {
    const a = e.learnSig;
    if (e.learnedBy !== this || a === null || a.length !== this.sig.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== this.sig[i]) return false;
    return true;
  }

  /** What the last execute() did. */
  result: LearnResult = 'add';

  /** Run learn() for a packet whose flow is `key`; returns the learned flow (see `result`). */
  execute(key: FlowKey, tables: FlowTables, now: number): FlowEntry {
    this.build(key);
    const s = this.spec;
    if (this.maskKey === null) this.maskKey = maskId(this.scratch.mask);
    const e = tables.table(s.table).cls.findExact(this.scratch, s.priority, this.maskKey);
    if (e !== null && this.sameAttrs(e) && this.sameSig(e)) {
      e.modified = now;
      // Journaled at most once a second: a restored flow's hard_age is at most that much older.
      if (tables.learnLog !== null && now - e.journaled >= 1000) tables.learnLog(e, false);
      this.result = 'refresh';
      return e;
    }
    const acts = this.actions();
    if (e !== null) {
      if (this.sameAttrs(e) && sameActions(e.actions, acts)) {
        e.modified = now;
      } else {
        // A modify: timeouts, counters and creation time are the old flow's (replace_rule_create).
        e.actions = acts;
        e.prog = null;
        e.cookie = s.cookie;
        e.modified = now;
        tables.changed(e);
      }
      e.learnedBy = this;
      e.learnSig = Float64Array.from(this.sig);
      tables.learnLog?.(e, false);
      this.result = e.actions === acts ? 'modify' : 'refresh';
      return e;
    }
    const spec: FlowSpec = {
      table: s.table,
      priority: s.priority,
      cookie: s.cookie,
      idleTimeout: s.idleTimeout,
      hardTimeout: s.hardTimeout,
      importance: 0,
      flags: { sendFlowRem: s.sendFlowRem, checkOverlap: false, resetCounts: false, noPacketCounts: false, noByteCounts: false },
      match: this.scratch,
      actions: acts,
    };
    const ne = tables.add(spec, now);
    ne.learnedBy = this;
    ne.learnSig = Float64Array.from(this.sig);
    tables.learnLog?.(ne, false);
    this.result = 'add';
    return ne;
  }
}

function sameActions(a: readonly Action[], b: readonly Action[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (x.kind !== y.kind) return false;
    if (x.kind === 'output' && y.kind === 'output') {
      if (x.port !== y.port) return false;
    } else if (x.kind === 'load' && y.kind === 'load') {
      if (x.value !== y.value || x.dst.field !== y.dst.field || x.dst.ofs !== y.dst.ofs || x.dst.nBits !== y.dst.nBits) return false;
    } else {
      return false;
    }
  }
  return true;
}
