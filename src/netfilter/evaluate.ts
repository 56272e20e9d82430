// Chain traversal (ipt_do_table): rules in order, jumps push a return point,
// goto does not, RETURN or the end of a user chain pops, and at the bottom of
// the stack the built-in chain's policy decides (and counts).

import { CT_UNTRACKED, type TableName } from './constants.js';
import type { NfPacketInfo } from './packet-info.js';
import {
  INV_DST, INV_FRAG, INV_IN, INV_OUT, INV_PROTO, INV_SRC, RT_DST, RT_FRAG, RT_IN, RT_MATCHES, RT_OUT, RT_PROTO, RT_SRC, type Rule,
} from './rule.js';
import type { Chain, Table } from './tables.js';
import {
  CONNMARK_RESTORE, CONNMARK_SAVE, type ConnmarkTarget, type CtTarget, type MarkTarget,
  T_ACCEPT, T_CONNMARK, T_CONTINUE, T_CT, T_DNAT, T_DROP, T_GOTO, T_JUMP, T_MARK, T_MASQUERADE, T_REJECT, T_RETURN, T_SNAT,
} from './targets.js';

export const EV_DROP = 0;
export const EV_ACCEPT = 1;
export const EV_REJECT = 2;
/** A SNAT/DNAT/MASQUERADE rule matched: the caller sets up the binding from result.rule. */
export const EV_NAT = 3;

export interface TraversalResult {
  /** The rule whose target decided; null when a policy decided. */
  rule: Rule | null;
  chain: Chain | null;
  /** 1-based position of the rule (rules + 1 for the policy), as TRACE numbers it. */
  ruleNum: number;
}

export interface NfTraceEvent {
  table: TableName;
  hook: number;
  chain: string;
  ruleNum: number;
  /** 'rule': this rule matched; 'return': fell off a user chain; 'policy': the policy applied. */
  kind: 'rule' | 'return' | 'policy';
  rule: Rule | null;
}

export type NfTracer = (ev: NfTraceEvent) => void;

/**
 * What a traversal did, for the traversal cache to replay: the counter
 * blocks it bumped (matched rules, the policy) and the rules whose target
 * changed the packet or its connection (MARK, CONNMARK, CT), in order.
 */
export interface TraversalRecord {
  cells: Float64Array[];
  at: number[];
  effects: Rule[];
}

/** The IP part and every match of `r` against the packet (only the parts r.test names). */
export function ruleMatches(r: Rule, p: NfPacketInfo): boolean {
  const t = r.test;
  if (t === 0) return true;
  const inv = r.inv;
  if (t & RT_SRC && ((p.src & r.smsk) !== r.src) !== ((inv & INV_SRC) !== 0)) return false;
  if (t & RT_DST && ((p.dst & r.dmsk) !== r.dst) !== ((inv & INV_DST) !== 0)) return false;
  if (t & RT_IN) {
    const name = p.inIf ?? '';
    const hit = r.inWild ? name.startsWith(r.inIf) : name === r.inIf;
    if (hit === ((inv & INV_IN) !== 0)) return false;
  }
  if (t & RT_OUT) {
    const name = p.outIf ?? '';
    const hit = r.outWild ? name.startsWith(r.outIf) : name === r.outIf;
    if (hit === ((inv & INV_OUT) !== 0)) return false;
  }
  if (t & RT_PROTO && (p.proto !== r.proto) !== ((inv & INV_PROTO) !== 0)) return false;
  if (t & RT_FRAG && (r.fragment && !p.fragment) !== ((inv & INV_FRAG) !== 0)) return false;
  if (t & RT_MATCHES) {
    const ms = r.live;
    for (let i = 0; i < ms.length; i++) if (!ms[i]!.matches(p)) return false;
  }
  return true;
}

/** Runs the table's chain for `hook`. Returns EV_*; `res` says which rule decided; `rec`, when given, what it did. */
export function traverse(t: Table, hook: number, p: NfPacketInfo, res: TraversalResult, tracer: NfTracer | null, rec: TraversalRecord | null = null): number {
  const base = t.hookChains[hook];
  if (!base) return EV_ACCEPT;
  const stackC = t.stackChain;
  const stackI = t.stackIdx;
  let chain: Chain = base;
  let i = 0;
  let depth = 0;
  for (;;) {
    const rules = chain.rules;
    let r: Rule | undefined;
    if (i < rules.length) {
      r = rules[i]!;
      if (!ruleMatches(r, p)) {
        i++;
        continue;
      }
      const c = r.cells, at = r.at;
      c[at]!++;
      c[at + 1]! += p.len;
      if (rec !== null) {
        rec.cells.push(c);
        rec.at.push(at);
      }
      if (tracer) tracer({ table: t.name, hook, chain: chain.name, ruleNum: i + 1, kind: 'rule', rule: r });
      const kind = r.kind;
      switch (kind) {
        case T_CONTINUE:
          i++;
          continue;
        case T_JUMP:
          stackC[depth] = chain;
          stackI[depth] = i + 1;
          depth++;
          chain = r.jump!;
          i = 0;
          continue;
        case T_GOTO:
          chain = r.jump!;
          i = 0;
          continue;
        case T_MARK:
        case T_CONNMARK:
        case T_CT:
          applyEffect(r, p);
          if (rec !== null) rec.effects.push(r);
          i++;
          continue;
        case T_ACCEPT:
        case T_DROP:
        case T_REJECT:
        case T_SNAT:
        case T_DNAT:
        case T_MASQUERADE:
          res.rule = r;
          res.chain = chain;
          res.ruleNum = i + 1;
          return kind === T_ACCEPT ? EV_ACCEPT : kind === T_DROP ? EV_DROP : kind === T_REJECT ? EV_REJECT : EV_NAT;
        case T_RETURN:
          break;
        default:
          i++;
          continue;
      }
    } else if (tracer && !chain.builtin) {
      tracer({ table: t.name, hook, chain: chain.name, ruleNum: rules.length + 1, kind: 'return', rule: null });
    }
    // RETURN, or the end of a chain.
    if (depth === 0) {
      const c = base.cells, at = base.at;
      c[at]!++;
      c[at + 1]! += p.len;
      if (rec !== null) {
        rec.cells.push(c);
        rec.at.push(at);
      }
      res.rule = null;
      res.chain = base;
      res.ruleNum = base.rules.length + 1;
      if (tracer) tracer({ table: t.name, hook, chain: base.name, ruleNum: res.ruleNum, kind: 'policy', rule: null });
      return base.policy === 'DROP' ? EV_DROP : EV_ACCEPT;
    }
    depth--;
    chain = stackC[depth]!;
    i = stackI[depth]!;
  }
}

/** What a MARK, CONNMARK or CT rule does to the packet or its connection (a cache hit replays it). */
export function applyEffect(r: Rule, p: NfPacketInfo): void {
  const kind = r.kind;
  if (kind === T_MARK) {
    const m = r.target as MarkTarget;
    p.mark = ((p.mark & ~m.mask) ^ m.value) >>> 0;
  } else if (kind === T_CONNMARK) {
    applyConnmark(r.target as ConnmarkTarget, p);
  } else if ((r.target as CtTarget).notrack && p.ct === 0) {
    // Only a packet without a conntrack yet can be marked untracked.
    p.ctState = CT_UNTRACKED;
  }
}

function applyConnmark(t: ConnmarkTarget, p: NfPacketInfo): void {
  const ct = p.ct;
  const table = p.ctTable;
  if (ct === 0 || table === null) return;
  const mark = table.mark(ct);
  if (t.mode === CONNMARK_SAVE) table.setMark(ct, ((mark & ~t.ctmask) ^ (p.mark & t.nfmask)) >>> 0);
  else if (t.mode === CONNMARK_RESTORE) p.mark = ((p.mark & ~t.nfmask) ^ (mark & t.ctmask)) >>> 0;
  else table.setMark(ct, ((mark & ~t.ctmask) ^ t.ctmark) >>> 0);
}
