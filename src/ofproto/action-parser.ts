// Parses an ovs-ofctl action list (the text after `actions=`), as OVS's
// ofpacts_parse (lib/ofp-actions.c), including its consistency checks
// against the flow's match (ofpacts_check: set_field/load/move prerequisites,
// instruction order, goto_table going forward).
import { OFPP, type Action, type Subfield } from './actions.js';
import { parseFieldValue, parseIntString, parseIpv4, parseMac, ValueError } from './field-format.js';
import { fieldByName, ones } from './fields.js';
import { keyValues, splitTopLevel, syntaxError, FlowSyntaxError } from './flow-lexer.js';
import { parseLearn, checkLearn } from './learn-syntax.js';
import type { Match } from './match.js';
import { matchFacts, prereqOk, type FlowFacts } from './match-edit.js';
import { parsePort, type PortResolver } from './port-names.js';
import { parseSubfield, parseSubfieldPrefix } from './subfield.js';
import { P_OF10, P_OF11_UP } from './ofp-protocols.js';

export interface ActionParseContext {
  resolvePort?: PortResolver;
  /** The flow's match, for consistency checks; none skips them. */
  match?: Match;
  /** The flow's table, when given (goto_table must move forward). */
  table?: number;
  /**
   * With a match: the versions the flow can go in (ofp-protocols.ts), which
   * the actions narrow as ofpacts_check does: OpenFlow 1.0 only for an action
   * whose match does not establish what it acts on (inconsistent_match),
   * push_vlan 1.1 on. None left: the actions are inconsistent.
   */
  usable?: { p: number };
}

/** Runs fn, turning a ValueError into a FlowSyntaxError at `at`. */
export function atToken<T>(at: number, token: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ValueError) throw syntaxError(e.message, at, token);
    throw e;
  }
}

/** str_to_u8/u16/u32 (base 0, like strtol). */
export function parseUint(s: string, max: number, what: string): number {
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0[0-7]+$/.test(s)) v = parseInt(s.slice(1), 8);
  else if (/^[0-9]+$/.test(s)) v = Number(s);
  else throw new ValueError(`invalid ${what} "${s}"`);
  if (v > max) throw new ValueError(`invalid ${what} "${s}"`);
  return v;
}

function parseU64(s: string): bigint {
  try {
    return parseIntString(s, 8, 'value');
  } catch {
    throw new ValueError(`invalid numeric format ${s}`);
  }
}

// Instruction order OVS enforces (ovs_instruction_type); plain actions are apply_actions.
const INSTRUCTION_ORDER: Record<string, number> = { apply_actions: 1, write_metadata: 4, goto_table: 5 };

const PACKET_IN_REASONS = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'];

function instructionOf(a: Action): string {
  return a.kind === 'gotoTable' ? 'goto_table' : a.kind === 'writeMetadata' ? 'write_metadata' : 'apply_actions';
}

/** Parses s[start,end) as an action list. */
export function parseActionList(s: string, start: number, end: number, ctx: ActionParseContext): Action[] {
  const out: Action[] = [];
  let drop: { at: number } | undefined;
  let prevInst = 0;
  let prevInstName = '';
  const facts: FlowFacts | undefined = ctx.match ? matchFacts(ctx.match) : undefined;
  const inconsistent = (at: number, token: string): FlowSyntaxError =>
    syntaxError('actions are invalid with specified match (OFPBAC_MATCH_INCONSISTENT)', at, token);
  /** Narrows the usable versions to OpenFlow 1.0 unless `ok`. */
  const of10Unless = (ok: boolean): void => {
    if (facts && ctx.usable && !ok) ctx.usable.p &= P_OF10;
  };
  const ipAny = (): boolean => facts !== undefined && prereqOk('ipAny', facts);
  const checkSf = (sf: Subfield, at: number, token: string): void => {
    if (facts && !prereqOk(sf.field.prereq, facts)) throw inconsistent(at, token);
  };

  for (const kv of keyValues(s, start, end)) {
    const key = kv.key.toLowerCase();
    const arg = kv.value;
    const at = kv.keyAt;
    const token = s.slice(kv.keyAt, kv.delim === '(' ? kv.valueAt + arg.length + 1 : kv.valueAt + arg.length);
    const argAt = kv.valueAt;
    const v = <T>(fn: () => T): T => atToken(argAt, arg || token, fn);
    let a: Action | undefined;

    switch (key) {
      case 'drop':
        drop = { at };
        continue;
      case 'output': {
        if (arg.includes('port') && arg.includes('max_len')) throw syntaxError('output(port=...,max_len=...) is not supported', at, token);
        const port = parsePort(arg, ctx.resolvePort);
        if (port !== undefined) {
          a = port === OFPP.CONTROLLER ? { kind: 'output', port, maxLen: 0xffff } : { kind: 'output', port };
        } else {
          let src: Subfield;
          try {
            src = parseSubfield(arg);
          } catch {
            throw syntaxError(`${arg}: output to unknown port`, argAt, arg);
          }
          checkSf(src, argAt, arg);
          a = { kind: 'outputReg', src, maxLen: 0xffff };
        }
        break;
      }
      case 'controller':
        a = v(() => parseController(arg));
        break;
      case 'resubmit':
        a = v(() => parseResubmit(arg, ctx.resolvePort));
        break;
      case 'goto_table': {
        const table = v(() => parseUint(arg, 254, 'table'));
        if (ctx.table !== undefined && table <= ctx.table) {
          throw syntaxError('actions are invalid with specified match (OFPBRC_BAD_TABLE_ID)', at, token);
        }
        a = { kind: 'gotoTable', table };
        break;
      }
      case 'mod_vlan_vid':
      case 'set_vlan_vid': {
        const vid = v(() => parseUint(arg, 0xffff, 'VLAN VID'));
        if (vid & ~0xfff) throw syntaxError(`${arg}: not a valid VLAN VID`, argAt, arg);
        a = { kind: 'modVlanVid', vid, pushIfNeeded: key === 'mod_vlan_vid' };
        of10Unless(a.pushIfNeeded || (facts?.vlan ?? true));
        if (facts) facts.vlan = true;
        break;
      }
      case 'mod_vlan_pcp':
      case 'set_vlan_pcp': {
        const pcp = v(() => parseUint(arg, 0xff, 'VLAN PCP'));
        if (pcp & ~7) throw syntaxError(`${arg}: not a valid VLAN PCP`, argAt, arg);
        a = { kind: 'modVlanPcp', pcp, pushIfNeeded: key === 'mod_vlan_pcp' };
        of10Unless(a.pushIfNeeded || (facts?.vlan ?? true));
        if (facts) facts.vlan = true;
        break;
      }
      case 'strip_vlan':
      case 'pop_vlan':
        a = { kind: 'stripVlan', pop: key === 'pop_vlan' };
        of10Unless(facts?.vlan ?? true);
        if (facts) facts.vlan = false;
        break;
      case 'push_vlan': {
        const ethertype = v(() => parseUint(arg, 0xffff, 'ethertype'));
        if (ethertype !== 0x8100 && ethertype !== 0x88a8) throw syntaxError(`${arg}: not a valid VLAN ethertype`, argAt, arg);
        a = { kind: 'pushVlan', ethertype };
        if (ctx.usable) ctx.usable.p &= P_OF11_UP;
        if (facts) facts.vlan = true;
        break;
      }
      case 'mod_dl_src':
      case 'mod_dl_dst': {
        const mac = parseMac(arg);
        if (mac === undefined) throw syntaxError(`invalid mac address ${arg}`, argAt, arg);
        a = { kind: key === 'mod_dl_src' ? 'modDlSrc' : 'modDlDst', mac };
        break;
      }
      case 'mod_nw_src':
      case 'mod_nw_dst': {
        const ip = parseIpv4(arg);
        if (ip === undefined) throw syntaxError(`${arg}: could not convert to IP address`, argAt, arg);
        a = { kind: key === 'mod_nw_src' ? 'modNwSrc' : 'modNwDst', ip };
        of10Unless(facts !== undefined && prereqOk('ip', facts));
        break;
      }
      case 'mod_nw_tos': {
        const tos = v(() => parseUint(arg, 0xff, 'TOS'));
        if (tos & ~0xfc) throw syntaxError(`${arg}: not a valid TOS`, argAt, arg);
        a = { kind: 'modNwTos', tos };
        of10Unless(ipAny());
        break;
      }
      case 'mod_nw_ecn': {
        const ecn = v(() => parseUint(arg, 0xff, 'ECN'));
        if (ecn & ~3) throw syntaxError(`${arg}: not a valid ECN`, argAt, arg);
        a = { kind: 'modNwEcn', ecn };
        of10Unless(ipAny());
        break;
      }
      case 'mod_nw_ttl':
      case 'set_nw_ttl':
        a = { kind: 'modNwTtl', ttl: v(() => parseUint(arg, 0xff, 'TTL')) };
        of10Unless(ipAny());
        break;
      case 'mod_tp_src':
      case 'mod_tp_dst': {
        const port = v(() => parseUint(arg, 0xffff, key === 'mod_tp_src' ? 'source port' : 'destination port'));
        a = { kind: key === 'mod_tp_src' ? 'modTpSrc' : 'modTpDst', port };
        of10Unless(facts !== undefined && (prereqOk('tcp', facts) || prereqOk('udp', facts) || prereqOk('sctp', facts)));
        break;
      }
      case 'set_field': {
        const arrow = arg.indexOf('->');
        if (arrow < 0) throw syntaxError(`${arg}: missing \`->'`, argAt, arg);
        const name = arg.slice(arrow + 2);
        if (!name) throw syntaxError(`${arg}: missing field name following \`->'`, argAt, arg);
        const field = fieldByName(name);
        if (!field) throw syntaxError(`${name} is not a valid OXM field name`, argAt + arrow + 2, name);
        if (!field.writable || field.name === 'in_port_oxm') throw syntaxError(`${name} is read-only`, argAt + arrow + 2, name);
        const valueText = arg.slice(0, arrow);
        const fv = atToken(argAt, valueText, () => parseFieldValue(field, valueText, ctx.resolvePort));
        if (facts) {
          // check_SET_FIELD: OXM_OF_VLAN_VID needs an existing tag.
          if (!prereqOk(field.prereq, facts) || (field.name === 'vlan_vid' && !facts.vlan)) throw inconsistent(at, token);
        }
        a = { kind: 'setField', field, value: fv.value, mask: fv.mask };
        break;
      }
      case 'load': {
        const arrow = arg.indexOf('->');
        if (arrow < 0) throw syntaxError(`${arg}: missing \`->'`, argAt, arg);
        const dstText = arg.slice(arrow + 2);
        const dst = atToken(argAt + arrow + 2, dstText, () => parseSubfield(dstText));
        if (!dst.field.writable) throw syntaxError(`${dstText}: destination field is not writable`, argAt + arrow + 2, dstText);
        const valueText = arg.slice(0, arrow);
        const value = atToken(argAt, valueText, () => {
          let n: bigint;
          try {
            n = parseIntString(valueText, 16, 'value');
          } catch {
            throw new ValueError(`${arg}: cannot parse integer value`);
          }
          if (n > ones(dst.nBits)) throw new ValueError(`${arg}: value ${valueText} does not fit into ${dst.nBits} bits`);
          return n;
        });
        checkSf(dst, at, token);
        a = { kind: 'load', dst, value };
        break;
      }
      case 'move': {
        const { src, dst } = atToken(argAt, arg, () => parseMove(arg));
        checkSf(src, at, token);
        checkSf(dst, at, token);
        a = { kind: 'move', src, dst };
        break;
      }
      case 'set_tunnel':
      case 'set_tunnel64':
        a = { kind: 'setTunnel', id: v(() => parseU64(arg)), wide: key === 'set_tunnel64' };
        break;
      case 'dec_ttl': {
        if (kv.delim !== '(') {
          a = { kind: 'decTtl', ids: [] };
        } else {
          const ids = arg.split(/[, ]+/).filter((x) => x !== '').map((x) => v(() => parseUint(x, 0xffff, 'controller id')));
          if (ids.length === 0) throw syntaxError('dec_ttl_cnt_ids: expected at least one controller id.', at, token);
          a = { kind: 'decTtl', ids };
        }
        of10Unless(ipAny());
        break;
      }
      case 'note':
        a = { kind: 'note', data: v(() => parseNote(arg)) };
        break;
      case 'learn': {
        const spec = parseLearn(s, argAt, argAt + arg.length, ctx.resolvePort);
        if (facts) checkLearn(spec, facts, at, token);
        a = { kind: 'learn', spec };
        break;
      }
      case 'write_metadata': {
        const [val, mask] = arg.split('/');
        const value = v(() => parseU64(val!));
        const m = mask === undefined ? ones(64) : v(() => parseU64(mask));
        a = { kind: 'writeMetadata', value: value & m, mask: m };
        break;
      }
      case 'ct':
        a = parseCt(s, kv.delim === '(' ? argAt : at, kv.delim === '(' ? argAt + arg.length : at, ctx);
        break;
      case 'ct_clear':
        a = { kind: 'ctClear' };
        break;
      case 'apply_actions':
        throw syntaxError('apply_actions is the default instruction', at, token);
      default: {
        const port = parsePort(kv.key, ctx.resolvePort);
        if (port === undefined) throw syntaxError(`unknown action ${kv.key}`, at, kv.key);
        a = port === OFPP.CONTROLLER ? { kind: 'output', port, maxLen: 0xffff } : { kind: 'output', port };
      }
    }

    if (!a) continue;
    // Instructions must come in OVS's order, each once; plain actions first.
    const inst = instructionOf(a);
    const order = INSTRUCTION_ORDER[inst]!;
    if (inst !== 'apply_actions' && order === prevInst) throw syntaxError(`instruction ${inst} may be specified only once`, at, token);
    if (order < prevInst) throw syntaxError(`instruction ${inst} must be specified before ${prevInstName}`, at, token);
    prevInst = order;
    prevInstName = inst;
    out.push(a);
  }
  // No version left (strip_vlan and push_vlan; a 1.2+ flag and a 1.0-only action): ofpacts_check's verdict.
  if (facts && ctx.usable?.p === 0) throw inconsistent(start, s.slice(start, end));
  if (drop && out.length > 0) {
    throw syntaxError('"drop" must not be accompanied by any other action or instruction', drop.at, 'drop');
  }
  return out;
}

function parseController(arg: string): Action {
  let reason = 'action';
  let maxLen = 0xffff;
  let id = 0;
  if (arg === '') {
    // defaults
  } else if (/^[0-9]+$/.test(arg)) {
    maxLen = parseUint(arg, 0xffff, 'max_len');
  } else {
    for (const kv of keyValues(arg)) {
      if (kv.key === 'reason') {
        if (!PACKET_IN_REASONS.includes(kv.value)) throw new ValueError(`unknown reason "${kv.value}"`);
        reason = kv.value;
      } else if (kv.key === 'max_len') maxLen = parseUint(kv.value, 0xffff, 'max_len');
      else if (kv.key === 'id') id = parseUint(kv.value, 0xffff, 'id');
      else throw new ValueError(`unknown key "${kv.key}" parsing controller action`);
    }
  }
  // A plain controller action is OVS's output to CONTROLLER.
  if (reason === 'action' && id === 0) return { kind: 'output', port: OFPP.CONTROLLER, maxLen };
  return { kind: 'controller', maxLen, reason, id };
}

function parseResubmit(arg: string, resolve?: PortResolver): Action {
  const [portS = '', tableS = '', ctS = ''] = arg.split(',');
  let port: number | undefined;
  let table: number | undefined;
  if (portS !== '') {
    port = parsePort(portS, resolve);
    if (port === undefined) throw new ValueError(`${portS}: resubmit to unknown port`);
    if (port === OFPP.IN_PORT) port = undefined;
  }
  if (tableS !== '') {
    try {
      table = parseUint(tableS, 255, 'table');
    } catch {
      throw new ValueError(`${tableS}: resubmit to unknown table`);
    }
    if (table === 255) table = undefined;
  }
  if (ctS !== '' && ctS !== 'ct') throw new ValueError(`${ctS}: unknown parameter`);
  if (port === undefined && table === undefined) {
    throw new ValueError('at least one "in_port" or "table" must be specified  on resubmit');
  }
  const a: Action = { kind: 'resubmit' };
  if (port !== undefined) a.port = port;
  if (table !== undefined) a.table = table;
  if (ctS === 'ct') a.ct = true;
  return a;
}

/** nxm_parse_reg_move: "src->dst" of equal widths. */
export function parseMove(arg: string): { src: Subfield; dst: Subfield } {
  const { sf: src, length } = parseSubfieldPrefix(arg);
  if (!arg.startsWith('->', length)) throw new ValueError(`${arg}: missing \`->' following source`);
  const dst = parseSubfield(arg.slice(length + 2));
  if (src.nBits !== dst.nBits) {
    throw new ValueError(`${arg}: source field ${src.field.name} (${src.nBits} bits) and destination field ${dst.field.name} (${dst.nBits} bits) differ in width`);
  }
  if (!dst.field.writable) throw new ValueError(`${arg}: destination field ${dst.field.name} is not writable`);
  return { src, dst };
}

function parseNote(arg: string): Uint8Array {
  const bytes: number[] = [];
  for (let i = 0; i < arg.length; ) {
    if (arg[i] === '.') {
      i++;
      continue;
    }
    const pair = arg.slice(i, i + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) throw new ValueError("bad hex digit in `note' argument");
    bytes.push(parseInt(pair, 16));
    i += 2;
  }
  return Uint8Array.from(bytes);
}

function parseCt(s: string, start: number, end: number, ctx: ActionParseContext): Action {
  const a: Extract<Action, { kind: 'ct' }> = { kind: 'ct', commit: false, force: false, exec: [] };
  for (const kv of keyValues(s, start, end)) {
    const tok = s.slice(kv.keyAt, kv.valueAt + kv.value.length);
    switch (kv.key) {
      case 'commit':
        a.commit = true;
        break;
      case 'force':
        a.force = true;
        break;
      case 'table':
        a.table = atToken(kv.valueAt, kv.value, () => parseUint(kv.value, 254, 'table'));
        break;
      case 'zone':
        if (/^[0-9]/.test(kv.value)) a.zone = atToken(kv.valueAt, kv.value, () => parseUint(kv.value, 0xffff, 'zone'));
        else a.zoneSrc = atToken(kv.valueAt, kv.value, () => parseSubfield(kv.value));
        break;
      case 'alg':
        if (kv.value === 'ftp') a.alg = 21;
        else if (kv.value === 'tftp') a.alg = 69;
        else throw syntaxError(`unknown ALG "${kv.value}"`, kv.valueAt, kv.value);
        break;
      case 'nat':
        a.nat = kv.delim === '(' ? kv.value : '';
        break;
      case 'exec':
        a.exec = parseActionList(s, kv.valueAt, kv.valueAt + kv.value.length, { resolvePort: ctx.resolvePort });
        break;
      default:
        throw syntaxError(`invalid argument to "ct" action: \`${kv.key}'`, kv.keyAt, tok);
    }
  }
  return a;
}

/** Re-export for callers that only need to split argument lists. */
export { splitTopLevel };
