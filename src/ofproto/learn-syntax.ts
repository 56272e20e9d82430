// The learn() action: parsing and printing its specification exactly as OVS
// (lib/learn.c learn_parse / learn_format), its consistency check
// (learn_check), and building the flow it learns from a packet
// (learn_execute) — here because it is field semantics, not execution.
import { OFPP, defaultLearnSpec, type Action, type LearnItem, type LearnSpec, type Subfield } from './actions.js';
import { formatFieldValue, hex, parseFieldValue, parseIntString, ValueError } from './field-format.js';
import { ones, type FieldDef } from './fields.js';
import { keyValues, syntaxError } from './flow-lexer.js';
import { newFlowSpec, type FlowSpec } from './flow.js';
import { emptyMatch, type Match } from './match.js';
import { matchFacts, prereqOk, setMatchSubfield, type FlowFacts } from './match-edit.js';
import type { PortNamer, PortResolver } from './port-names.js';
import { formatSubfield, parseSubfield, parseSubfieldPrefix } from './subfield.js';

function atoi(s: string): number {
  const m = /^\s*[+-]?\d+/.exec(s);
  return m ? parseInt(m[0], 10) : 0;
}

function wrap<T>(at: number, token: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ValueError) throw syntaxError(e.message, at, token);
    throw e;
  }
}

/** Parses the inside of learn(...) found at s[start, end). */
export function parseLearn(s: string, start: number, end: number, resolvePort?: PortResolver): LearnSpec {
  const spec = defaultLearnSpec();
  const orig = s.slice(start, end);
  for (const kv of keyValues(s, start, end)) {
    const { key, value } = kv;
    const token = s.slice(kv.keyAt, kv.delim ? kv.valueAt + value.length : kv.keyAt + key.length);
    const err = (msg: string): never => {
      throw syntaxError(msg, kv.keyAt, token);
    };
    switch (key) {
      case 'table': {
        if (!/^\d+$/.test(value) || Number(value) > 255) err(`unknown table "${value}"`);
        spec.table = Number(value);
        if (spec.table === 255) err(`${orig}: table id 255 not valid for \`learn' action`);
        continue;
      }
      case 'priority':
        spec.priority = atoi(value) & 0xffff;
        continue;
      case 'idle_timeout':
        spec.idleTimeout = atoi(value) & 0xffff;
        continue;
      case 'hard_timeout':
        spec.hardTimeout = atoi(value) & 0xffff;
        continue;
      case 'fin_idle_timeout':
        spec.finIdleTimeout = atoi(value) & 0xffff;
        continue;
      case 'fin_hard_timeout':
        spec.finHardTimeout = atoi(value) & 0xffff;
        continue;
      case 'cookie':
        spec.cookie = wrap(kv.valueAt, value, () => parseIntString(value, 8, 'cookie'));
        continue;
      case 'send_flow_rem':
        spec.sendFlowRem = true;
        continue;
      case 'delete_learned':
        spec.deleteLearned = true;
        continue;
      case 'limit':
        spec.limit = atoi(value) >>> 0;
        continue;
      case 'result_dst': {
        const sf = wrap(kv.valueAt, value, () => parseSubfield(value));
        if (!sf.field.writable) err(`${value} is read-only`);
        if (sf.nBits !== 1) err("result_dst in 'learn' action must be a single bit");
        spec.resultDst = sf;
        continue;
      }
    }
    spec.items.push(parseLearnItem(orig, key, value, kv.keyAt, kv.valueAt, token, resolvePort));
  }
  return spec;
}

function parseLearnItem(orig: string, name: string, value: string, keyAt: number, valueAt: number, token: string, resolvePort?: PortResolver): LearnItem {
  let dst: Subfield | undefined;
  try {
    dst = parseSubfield(name);
  } catch {
    dst = undefined;
  }
  if (dst) {
    if (value === '') return { kind: 'match', dst, src: dst };
    let src: Subfield | undefined;
    let srcError = '';
    try {
      src = parseSubfield(value);
    } catch (e) {
      srcError = (e as Error).message;
    }
    if (src) {
      if (src.nBits !== dst.nBits) {
        throw syntaxError(`${orig}: bit widths of ${name} (${src.nBits}) and ${value} (${dst.nBits}) differ`, keyAt, token);
      }
      return { kind: 'match', dst, src };
    }
    // Not a subfield: an immediate value, in the field's own syntax when it is the whole field.
    const d = dst;
    let imm: bigint;
    try {
      if (d.ofs === 0 && d.nBits === d.field.nBits) {
        const fv = parseFieldValue(d.field, value, resolvePort);
        if (fv.mask !== ones(d.field.nBits)) throw new ValueError(`${value}: wildcards not allowed here`);
        imm = fv.value;
      } else {
        imm = parseIntString(value, (d.field.nBits + 7) >> 3, d.field.name);
        if (imm > ones(d.nBits)) throw new ValueError(`${orig}: value ${value} does not fit into ${d.nBits} bits`);
      }
    } catch (e) {
      const immError = (e as Error).message;
      throw syntaxError(`${orig}: ${name} value ${value} cannot be parsed as a subfield (${srcError}) or an immediate value (${immError})`, valueAt, value);
    }
    return { kind: 'matchImm', dst: d, value: imm };
  }
  if (name === 'load') {
    const arrow = value.indexOf('->');
    if (arrow === 0) throw syntaxError(`${name}: missing source before \`->' in \`${value}'`, valueAt, value);
    if (arrow < 0) throw syntaxError(`${name}: missing \`->' in \`${value}'`, valueAt, value);
    const srcText = value.slice(0, arrow);
    const dstText = value.slice(arrow + 2);
    if (/^[0-9]/.test(srcText)) {
      const imm = wrap(valueAt, srcText, () => {
        try {
          return parseIntString(srcText, 16, 'value');
        } catch {
          throw new ValueError(`${name}: garbage before \`->' in \`${value}'`);
        }
      });
      const d = wrap(valueAt + arrow + 2, dstText, () => parseSubfield(dstText));
      if (imm > ones(d.nBits)) throw syntaxError(`${value}: value does not fit into ${d.nBits} bits`, valueAt, value);
      return { kind: 'loadImm', dst: d, value: imm };
    }
    return wrap(valueAt, value, () => {
      const { sf: src, length } = parseSubfieldPrefix(value);
      if (length !== arrow) throw new ValueError(`${value}: missing \`->' following source`);
      const d = parseSubfield(dstText);
      if (src.nBits !== d.nBits) {
        throw new ValueError(`${value}: source field ${src.field.name} (${src.nBits} bits) and destination field ${d.field.name} (${d.nBits} bits) differ in width`);
      }
      return { kind: 'load', dst: d, src } as LearnItem;
    });
  }
  if (name === 'output') {
    const src = wrap(valueAt, value, () => parseSubfield(value));
    return { kind: 'output', src };
  }
  throw syntaxError(`${orig}: unknown keyword ${name}`, keyAt, token);
}

/**
 * learn_check: sources must exist in the flow that runs learn; match and load
 * destinations must have their prerequisites met by the learned match built
 * so far (immediate matches such as dl_type=0x0800 establish them).
 */
export function checkLearn(spec: LearnSpec, facts: FlowFacts, at: number, token: string): void {
  const learned = emptyMatch();
  const bad = (): never => {
    throw syntaxError('actions are invalid with specified match (OFPBAC_MATCH_INCONSISTENT)', at, token);
  };
  for (const it of spec.items) {
    if ((it.kind === 'match' || it.kind === 'load' || it.kind === 'output') && !prereqOk(it.src.field.prereq, facts)) bad();
    if (it.kind === 'match' || it.kind === 'matchImm' || it.kind === 'load' || it.kind === 'loadImm') {
      if (!prereqOk(it.dst.field.prereq, matchFacts(learned))) bad();
    }
    if (it.kind === 'matchImm') setMatchSubfield(learned, it.dst, it.value);
  }
}

/** learn_format. `namer` prints ports in immediate in_port matches. */
export function formatLearn(spec: LearnSpec, namer?: PortNamer): string {
  let s = `learn(table=${spec.table}`;
  if (spec.idleTimeout) s += `,idle_timeout=${spec.idleTimeout}`;
  if (spec.hardTimeout) s += `,hard_timeout=${spec.hardTimeout}`;
  if (spec.finIdleTimeout) s += `,fin_idle_timeout=${spec.finIdleTimeout}`;
  if (spec.finHardTimeout) s += `,fin_hard_timeout=${spec.finHardTimeout}`;
  if (spec.priority !== 0x8000) s += `,priority=${spec.priority}`;
  if (spec.sendFlowRem) s += ',send_flow_rem';
  if (spec.deleteLearned) s += ',delete_learned';
  if (spec.cookie !== 0n) s += `,cookie=${hex(spec.cookie)}`;
  if (spec.limit) s += `,limit=${spec.limit}`;
  if (spec.resultDst) s += `,result_dst=${formatSubfield(spec.resultDst)}`;
  for (const it of spec.items) {
    s += ',';
    switch (it.kind) {
      case 'matchImm':
        if (it.dst.ofs === 0 && it.dst.nBits === it.dst.field.nBits) {
          s += `${it.dst.field.name}=${formatFieldValue(it.dst.field, it.value, undefined, namer)}`;
        } else {
          s += `${formatSubfield(it.dst)}=${hex(it.value)}`;
        }
        break;
      case 'match':
        s += formatSubfield(it.dst);
        if (it.src.field !== it.dst.field || it.src.ofs !== it.dst.ofs) s += `=${formatSubfield(it.src)}`;
        break;
      case 'loadImm':
        s += `load:${hex(it.value)}->${formatSubfield(it.dst)}`;
        break;
      case 'load':
        s += `load:${formatSubfield(it.src)}->${formatSubfield(it.dst)}`;
        break;
      case 'output':
        s += `output:${formatSubfield(it.src)}`;
        break;
    }
  }
  return s + ')';
}

/** Reads `nBits` bits at `ofs` of a field of the packet being processed. */
export type SubfieldReader = (field: FieldDef, ofs: number, nBits: number) => bigint | number;

/**
 * learn_execute: the flow that `spec` learns from the packet `read` describes.
 * Loads become `load:` actions with the packet's values (OVS keeps them as
 * NXAST_REG_LOAD, which is why they print as load:); output becomes an output
 * to the port read, when it is a valid one. The caller installs it
 * (OVS: modify-strict, so an identical match and priority replaces).
 */
export function instantiateLearn(spec: LearnSpec, read: SubfieldReader): FlowSpec {
  const flow = newFlowSpec();
  flow.table = spec.table;
  flow.priority = spec.priority;
  flow.cookie = spec.cookie;
  flow.idleTimeout = spec.idleTimeout;
  flow.hardTimeout = spec.hardTimeout;
  flow.flags.sendFlowRem = spec.sendFlowRem;
  const match: Match = flow.match;
  const actions: Action[] = [];
  const get = (sf: Subfield): bigint => BigInt(read(sf.field, sf.ofs, sf.nBits)) & ones(sf.nBits);
  for (const it of spec.items) {
    switch (it.kind) {
      case 'match':
        setMatchSubfield(match, it.dst, get(it.src));
        break;
      case 'matchImm':
        setMatchSubfield(match, it.dst, it.value);
        break;
      case 'load':
        actions.push({ kind: 'load', dst: it.dst, value: get(it.src) });
        break;
      case 'loadImm':
        actions.push({ kind: 'load', dst: it.dst, value: it.value });
        break;
      case 'output': {
        const v = get(it.src);
        if (v > 0xffffn) break;
        const port = Number(v);
        if (port < OFPP.MAX || port === OFPP.IN_PORT || port === OFPP.FLOOD || port === OFPP.LOCAL || port === OFPP.ALL) {
          actions.push({ kind: 'output', port });
        }
        break;
      }
    }
  }
  flow.actions = actions;
  return flow;
}
