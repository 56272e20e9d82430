// Parses flows in ovs-ofctl syntax (lib/ofp-flow.c parse_ofp_str__): the
// add-flow form, lines pasted from `ovs-ofctl dump-flows` (cookie, duration,
// n_packets, ... are read into FlowStats), and the OpenFlow 1.3 spellings.
import { parseActionList, atToken, parseUint } from './action-parser.js';
import { parseFieldValue, parseIntString, ValueError } from './field-format.js';
import { fieldByMfName, ones } from './fields.js';
import { FlowSyntaxError, keyValues, syntaxError } from './flow-lexer.js';
import { newFlowSpec, type FlowSpec, type FlowStats } from './flow.js';
import { normalizeMatch, setMatchField, setMatchSubfield, ETH_TYPE, IPPROTO } from './match-edit.js';
import { parsePort, type PortResolver } from './port-names.js';
import { parseSubfield } from './subfield.js';
import { P_ANY, P_OF11_UP, P_OF13_UP, P_OXM } from './ofp-protocols.js';

export { FlowSyntaxError } from './flow-lexer.js';

export interface ParseOptions {
  /** Resolves port names (in_port=NAME, output:NAME, quoted or bare). */
  resolvePort?: PortResolver;
  /**
   * A match field whose prerequisites the match does not establish
   * (nw_src without ip or arp, tp_dst without tcp/udp...):
   * 'normalize' (default) does what OVS does — accepts the line, drops the
   * field and reports it through onWarning ("normalization changed
   * ofp_match"); 'error' rejects the line instead.
   */
  prereqs?: 'normalize' | 'error';
  onWarning?: (message: string) => void;
}

// ofp_parse_protocol's shorthands.
const PROTOCOLS: Record<string, [number, number?]> = {
  ip: [ETH_TYPE.IP],
  ipv4: [ETH_TYPE.IP],
  ip4: [ETH_TYPE.IP],
  arp: [ETH_TYPE.ARP],
  rarp: [ETH_TYPE.RARP],
  icmp: [ETH_TYPE.IP, IPPROTO.ICMP],
  igmp: [ETH_TYPE.IP, IPPROTO.IGMP],
  tcp: [ETH_TYPE.IP, IPPROTO.TCP],
  udp: [ETH_TYPE.IP, IPPROTO.UDP],
  sctp: [ETH_TYPE.IP, IPPROTO.SCTP],
  ipv6: [ETH_TYPE.IPV6],
  ip6: [ETH_TYPE.IPV6],
  icmp6: [ETH_TYPE.IPV6, IPPROTO.ICMPV6],
  tcp6: [ETH_TYPE.IPV6, IPPROTO.TCP],
  udp6: [ETH_TYPE.IPV6, IPPROTO.UDP],
  sctp6: [ETH_TYPE.IPV6, IPPROTO.SCTP],
  mpls: [ETH_TYPE.MPLS],
  mplsm: [ETH_TYPE.MPLSM],
};

const NW_PROTO = fieldByMfName('nw_proto')!;
const DL_TYPE = fieldByMfName('dl_type')!;

/** ofp_extract_actions: everything after the first "action...=" is the action list. */
function findActions(line: string): { keyAt: number; start: number } | undefined {
  const at = line.indexOf('action');
  if (at < 0) return undefined;
  const eq = line.indexOf('=', at);
  return eq < 0 ? undefined : { keyAt: at, start: eq + 1 };
}

/** "2591.058s" -> seconds and nanoseconds. */
function parseDuration(s: string): [number, number] {
  const m = /^(\d+)(?:\.(\d{1,9}))?s?$/.exec(s);
  if (!m) throw new ValueError(`invalid duration "${s}"`);
  return [Number(m[1]), m[2] ? Number(m[2].padEnd(9, '0')) : 0];
}

/**
 * A cookie or cookie mask: OVS reads it with strtoull, where a leading '-'
 * negates modulo 2^64, so cookie=V/-1 (ovs-ofctl(8): the exact match) works.
 */
function parseCookie(s: string): bigint {
  return s.startsWith('-') ? BigInt.asUintN(64, -parseIntString(s.slice(1), 8, 'cookie')) : parseIntString(s, 8, 'cookie');
}

/**
 * Parses one flow line (add-flow syntax or a dump-flows line). Throws
 * FlowSyntaxError naming the token and its column.
 */
export function parseFlow(line: string, opts: ParseOptions = {}): FlowSpec {
  return parseFlowText(line, opts, 'add');
}

/**
 * What a flow text is for (parse_ofp_str__'s command): add-flow, mod-flows,
 * del-flows, del-flows --strict, dump-flows. It decides which keywords the
 * text may hold; ovs-ofctl 3.1 refuses the others as unknown (or, given
 * without a value, as missing one).
 */
export type FlowCommand = 'add' | 'modify' | 'delete' | 'delete-strict' | 'stats';

const F_ACTIONS = 1;
const F_TIMEOUT = 2;
const F_PRIORITY = 4;
const F_FLAGS = 8;
const F_IMPORTANCE = 16;
const F_OUT_PORT = 32;
const COMMAND_FIELDS: Record<FlowCommand, number> = {
  add: F_ACTIONS | F_TIMEOUT | F_PRIORITY | F_FLAGS | F_IMPORTANCE,
  modify: F_ACTIONS | F_TIMEOUT | F_PRIORITY | F_FLAGS,
  delete: F_OUT_PORT,
  'delete-strict': F_OUT_PORT | F_PRIORITY,
  stats: F_OUT_PORT,
};

/**
 * Parses a flow as `command` takes it: mod-flows the match and its new
 * actions; dump-flows and del-flows a filter (no actions, no priority unless
 * strict; cookie=value/mask and out_port= allowed).
 */
export function parseFlowMod(line: string, command: FlowCommand, opts: ParseOptions = {}): FlowSpec {
  return parseFlowText(line, opts, command);
}

// Known OVS fields the dpemu flow key does not hold (conntrack, MPLS...).
const UNSUPPORTED_FIELDS = new Set([
  'ct_state', 'ct_zone', 'ct_mark', 'ct_label',
  'ct_nw_src', 'ct_nw_dst', 'ct_nw_proto', 'ct_tp_src', 'ct_tp_dst', 'tun_flags', 'tun_ttl', 'tun_tos', 'mpls_label',
  'mpls_tc', 'mpls_bos', 'mpls_ttl', 'tcp_flags', 'conj_id', 'actset_output', 'skb_priority', 'dp_hash', 'recirc_id',
  'packet_type', 'arp_sha_masked', 'igmp_type', 'igmp_code', 'ipv6_exthdr', 'dl_vlan1', 'vlan_tci1',
]);

function parseFlowText(line: string, opts: ParseOptions, command: FlowCommand): FlowSpec {
  const flow = newFlowSpec();
  const fields = COMMAND_FIELDS[command];
  const has = (f: number): boolean => (fields & f) !== 0;
  // Without F_ACTIONS, "actions=..." is one more keyword, and an unknown one.
  const acts = has(F_ACTIONS) ? findActions(line) : undefined;
  if (has(F_ACTIONS) && !acts) throw syntaxError('must specify an action', line.length, line.trim().split(/[\s,]+/).pop() ?? '');
  const matchEnd = acts ? acts.keyAt : line.length;
  let tableGiven = false;
  let outGroup: number | undefined;
  let stats: Partial<FlowStats> | undefined;
  const dropped = new Map<string, [number, string]>(); // field group -> where it was written

  for (const kv of keyValues(line, 0, matchEnd)) {
    const { key, value } = kv;
    const token = kv.delim ? line.slice(kv.keyAt, kv.valueAt + value.length) : key;
    const at = kv.keyAt;
    const v = <T>(fn: () => T): T => atToken(kv.valueAt, value || token, fn);
    /** A keyword only some commands take (parse_ofp_str__'s fields): the others refuse it as unknown. */
    const allowed = (f: number): void => {
      if (!has(f)) throw syntaxError(`unknown keyword ${key}`, at, key);
    };
    const proto = PROTOCOLS[key];
    if (proto) {
      setMatchField(flow.match, DL_TYPE, BigInt(proto[0]));
      if (proto[1] !== undefined) setMatchField(flow.match, NW_PROTO, BigInt(proto[1]));
      continue;
    }
    switch (has(F_FLAGS) ? key : '') {
      case 'send_flow_rem':
        flow.flags.sendFlowRem = true;
        continue;
      case 'check_overlap':
        flow.flags.checkOverlap = true;
        continue;
      case 'reset_counts':
        flow.flags.resetCounts = true;
        continue;
      case 'no_packet_counts':
        flow.flags.noPacketCounts = true;
        continue;
      case 'no_byte_counts':
        flow.flags.noByteCounts = true;
        continue;
    }
    if (key === 'eth' || key === 'no_readonly_table' || key === 'allow_hidden_fields') continue;
    const field = fieldByMfName(key);
    if (field) {
      // "field" alone: OVS parses it as "0/0" (nothing matched, or refused where the syntax has no such value).
      const bare = value === '' && kv.delim === '';
      const fv = v(() => parseFieldValue(field, bare ? '0/0' : value, opts.resolvePort));
      if (bare) continue;
      setMatchField(flow.match, field, fv.value, fv.mask);
      dropped.set(field.name, [at, token]);
      continue;
    }
    if (key.includes('[')) {
      const sf = atToken(at, key, () => parseSubfield(key));
      const n = v(() => {
        const x = parseIntString(value, (sf.field.nBits + 7) >> 3, key);
        if (x > ones(sf.nBits)) throw new ValueError(`${key}: value ${value} does not fit into ${sf.nBits} bits`);
        return x;
      });
      setMatchSubfield(flow.match, sf, n);
      dropped.set(sf.field.name, [at, token]);
      continue;
    }
    if (UNSUPPORTED_FIELDS.has(key)) throw syntaxError(`field ${key} is not supported by dpemu`, at, token);
    if (value === '' && kv.delim === '') throw syntaxError(`field ${key} missing value`, at, key);
    switch (key) {
      case 'table': {
        const t = v(() => {
          try {
            return parseUint(value, 255, 'table');
          } catch {
            throw new ValueError(`unknown table "${value}"`);
          }
        });
        flow.table = t === 255 ? 0 : t;
        tableGiven = t !== 255;
        break;
      }
      case 'priority':
        allowed(F_PRIORITY);
        flow.priority = v(() => parseUint(value, 0xffff, 'priority'));
        break;
      case 'idle_timeout':
        allowed(F_TIMEOUT);
        flow.idleTimeout = v(() => parseUint(value, 0xffff, 'idle_timeout'));
        break;
      case 'hard_timeout':
        allowed(F_TIMEOUT);
        flow.hardTimeout = v(() => parseUint(value, 0xffff, 'hard_timeout'));
        break;
      case 'importance':
        // Only an add sets it (parse_ofp_str__'s F_IMPORTANCE); mod-flows, del-flows and dump-flows do not know it.
        allowed(F_IMPORTANCE);
        flow.importance = v(() => parseUint(value, 0xffff, 'importance'));
        break;
      case 'out_group':
        // OpenFlow 1.1+ only; dpemu has no groups, so no flow outputs to one (OFPG_ANY: no filter).
        allowed(F_OUT_PORT);
        outGroup = v(() => (value === 'any' || value === 'ANY' ? 0xffffffff : parseUint(value, 0xffffffff, 'group')));
        break;
      case 'out_port': {
        allowed(F_OUT_PORT);
        const p = parsePort(value, opts.resolvePort);
        if (p === undefined) throw syntaxError(`${value} is not a valid OpenFlow port`, kv.valueAt, value);
        flow.outPort = p;
        break;
      }
      case 'cookie': {
        const slash = value.indexOf('/');
        const cv = slash < 0 ? value : value.slice(0, slash);
        // Without a mask a cookie is the one to set: only an add or a modify sets one.
        if (slash < 0 && !has(F_ACTIONS)) {
          throw syntaxError(`cannot set cookie (to match on a cookie, specify a mask, e.g. cookie=${value}/-1)`, at, token);
        }
        flow.cookie = v(() => parseCookie(cv));
        if (slash >= 0) {
          if (command === 'add') throw syntaxError('flow additions cannot use a cookie mask', at, token);
          flow.cookieMask = v(() => parseCookie(value.slice(slash + 1)));
        }
        break;
      }
      // dump-flows output fed back in: OVS ignores these; we keep them as stats.
      case 'duration': {
        const [sec, nsec] = v(() => parseDuration(value));
        stats = { ...stats, durationSec: sec, durationNsec: nsec };
        break;
      }
      case 'n_packets':
        stats = { ...stats, nPackets: v(() => parseIntString(value, 8, 'n_packets')) };
        break;
      case 'n_bytes':
        stats = { ...stats, nBytes: v(() => parseIntString(value, 8, 'n_bytes')) };
        break;
      case 'idle_age':
        stats = { ...stats, idleAge: v(() => parseUint(value, 0xffffffff, 'idle_age')) };
        break;
      case 'hard_age':
        stats = { ...stats, hardAge: v(() => parseUint(value, 0xffffffff, 'hard_age')) };
        break;
      default:
        throw syntaxError(`unknown keyword ${key}`, at, key);
    }
  }

  if (stats) {
    flow.stats = {
      durationSec: stats.durationSec ?? 0,
      durationNsec: stats.durationNsec ?? 0,
      nPackets: stats.nPackets ?? 0n,
      nBytes: stats.nBytes ?? 0n,
      ...(stats.idleAge !== undefined ? { idleAge: stats.idleAge } : {}),
      ...(stats.hardAge !== undefined ? { hardAge: stats.hardAge } : {}),
    };
  }

  // Fields the match's protocol does not allow: OVS drops them (see ParseOptions.prereqs).
  const cleared = normalizeMatch(flow.match);
  if (cleared.length) {
    const where = firstWritten(cleared, dropped);
    if (opts.prereqs === 'error') {
      throw syntaxError(`prerequisites not met for ${cleared.join(', ')}`, where?.[0] ?? 0, where?.[1] ?? line);
    }
    opts.onWarning?.(`normalization changed ofp_match: dropped ${cleared.join(', ')} (prerequisites not met)`);
  }

  // The versions the flags allow (parse_ofp_str__), then the actions (ofpacts_check).
  const usable = { p: outGroup ? P_OF11_UP : P_ANY };
  if (flow.flags.resetCounts) usable.p &= P_OXM;
  if (flow.flags.noPacketCounts || flow.flags.noByteCounts) usable.p &= P_OF13_UP;
  if (acts) {
    flow.actions = parseActionList(line, acts.start, line.length, {
      resolvePort: opts.resolvePort,
      match: flow.match,
      ...(tableGiven ? { table: flow.table } : {}),
      usable,
    });
  }
  if (usable.p !== P_ANY) flow.usable = usable.p;
  if (outGroup !== undefined) flow.outGroup = outGroup;
  return flow;
}

// Maps a cleared key group back to the first field the user wrote in it, for the error position.
function firstWritten(groups: string[], written: Map<string, [number, string]>): [number, string] | undefined {
  const names = groups.flatMap((g) => g.split('/'));
  const aliases: Record<string, string[]> = {
    nw_src: ['ip_src', 'arp_spa'],
    nw_dst: ['ip_dst', 'arp_tpa'],
    tp_src: ['tcp_src', 'udp_src', 'sctp_src', 'icmp_type', 'icmpv6_type'],
    tp_dst: ['tcp_dst', 'udp_dst', 'sctp_dst', 'icmp_code', 'icmpv6_code'],
    nw_proto: ['nw_proto', 'arp_op'],
    nw_tos: ['nw_tos', 'ip_dscp', 'nw_ecn'],
    nw_frag: ['ip_frag'],
  };
  let best: [number, string] | undefined;
  for (const n of names) {
    for (const f of aliases[n] ?? [n]) {
      const w = written.get(f);
      if (w && (!best || w[0] < best[0])) best = w;
    }
  }
  return best;
}

/** A header line of ovs-ofctl's raw reply printing, e.g. "NXST_FLOW reply (xid=0x4):". */
function isHeader(line: string): boolean {
  return /^\s*[A-Z][A-Z0-9_]*(?: reply| request)?\b.*\):\s*$/.test(line) || /^\s*(NXST|OFPST)_\w+/.test(line);
}

/**
 * Parses several flows, one a line: blank lines, '#' comments and
 * dump-flows header lines are skipped. An error is re-thrown with the line
 * number in front of its message (`line` property set).
 */
export function parseFlows(text: string, opts: ParseOptions = {}): FlowSpec[] {
  const out: FlowSpec[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const hash = raw.indexOf('#');
    const line = hash >= 0 ? raw.slice(0, hash) : raw;
    if (line.trim() === '' || isHeader(line)) continue;
    try {
      out.push(parseFlow(line, opts));
    } catch (e) {
      if (e instanceof FlowSyntaxError) {
        const err = new FlowSyntaxError(`line ${i + 1}: ${e.detail}`, e.column, e.token);
        (err as FlowSyntaxError & { line: number }).line = i + 1;
        throw err;
      }
      throw e;
    }
  }
  return out;
}

/** Parses an action list alone (the text after actions=), without match checks. */
export function parseActions(text: string, opts: ParseOptions = {}): FlowSpec['actions'] {
  return parseActionList(text, 0, text.length, { resolvePort: opts.resolvePort });
}
