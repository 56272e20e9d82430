// A light reader of ovs-ofctl flow text: enough to check names (match
// fields, actions) and to find every port a flow names, with its line and
// column. The real parser (src/ofproto/flow-parser.ts) decides semantics;
// this one only feeds the topology's cross-reference checks.
import type { BlockIssue } from './text-blocks.js';

/** A port a flow names: in_port=, output:, resubmit(port,..), enqueue, or a bare port action. */
export interface PortUse {
  readonly text: string; // as written, quotes included
  readonly name: string; // unquoted
  readonly line: number;
  readonly col: number;
}

export interface FlowFacts {
  readonly line: number;
  readonly table: number;
  readonly priority: number;
  readonly ports: readonly PortUse[];
}

// Keys of a flow that are not match fields (ovs-ofctl(8) "Flow Syntax", dump-flows stats).
const NON_MATCH = new Set([
  'table', 'priority', 'cookie', 'idle_timeout', 'hard_timeout', 'importance', 'out_port', 'out_group',
  'send_flow_rem', 'check_overlap', 'reset_counts', 'no_packet_counts', 'no_byte_counts',
  'duration', 'n_packets', 'n_bytes', 'idle_age', 'hard_age',
]);

const SHORTHANDS = new Set([
  'eth', 'ip', 'ipv6', 'icmp', 'icmp6', 'tcp', 'tcp6', 'udp', 'udp6', 'sctp', 'sctp6', 'arp', 'rarp', 'mpls', 'mplsm',
]);

const MATCH_FIELDS = new Set([
  'in_port', 'in_port_oxm', 'dl_src', 'dl_dst', 'eth_src', 'eth_dst', 'dl_type', 'eth_type', 'dl_vlan', 'dl_vlan_pcp',
  'vlan_tci', 'vlan_vid', 'vlan_pcp', 'nw_src', 'nw_dst', 'ip_src', 'ip_dst', 'nw_proto', 'ip_proto', 'nw_tos', 'ip_dscp',
  'nw_ecn', 'ip_ecn', 'nw_ttl', 'nw_frag', 'ip_frag', 'tp_src', 'tp_dst', 'tcp_src', 'tcp_dst', 'udp_src', 'udp_dst',
  'sctp_src', 'sctp_dst', 'tcp_flags', 'icmp_type', 'icmp_code', 'icmpv6_type', 'icmpv6_code', 'arp_op', 'arp_spa',
  'arp_tpa', 'arp_sha', 'arp_tha', 'ipv6_src', 'ipv6_dst', 'ipv6_label', 'nd_target', 'nd_sll', 'nd_tll', 'tun_id',
  'tunnel_id', 'tun_src', 'tun_dst', 'tun_flags', 'tun_tos', 'tun_ttl', 'metadata', 'pkt_mark', 'skb_priority',
  'ct_state', 'ct_zone', 'ct_mark', 'ct_label', 'ct_nw_src', 'ct_nw_dst', 'ct_nw_proto', 'ct_tp_src', 'ct_tp_dst',
  'conj_id', 'recirc_id', 'dp_hash', 'actset_output', 'packet_type', 'mpls_label', 'mpls_tc', 'mpls_bos', 'mpls_ttl',
  ...Array.from({ length: 16 }, (_, i) => `reg${i}`),
  ...Array.from({ length: 8 }, (_, i) => `xreg${i}`),
  ...Array.from({ length: 4 }, (_, i) => `xxreg${i}`),
]);

// ovs-actions(7), plus the OF1.0 spellings dumps use.
const ACTIONS = new Set([
  'output', 'enqueue', 'controller', 'drop', 'normal', 'flood', 'all', 'local', 'in_port', 'mod_vlan_vid', 'mod_vlan_pcp',
  'set_vlan_vid', 'set_vlan_pcp', 'strip_vlan', 'push_vlan', 'pop_vlan', 'push_mpls', 'pop_mpls', 'mod_dl_src',
  'mod_dl_dst', 'mod_nw_src', 'mod_nw_dst', 'mod_nw_tos', 'mod_nw_ecn', 'mod_nw_ttl', 'mod_tp_src', 'mod_tp_dst',
  'set_field', 'load', 'move', 'resubmit', 'goto_table', 'set_tunnel', 'set_tunnel64', 'set_queue', 'pop_queue',
  'dec_ttl', 'dec_mpls_ttl', 'set_mpls_label', 'set_mpls_tc', 'set_mpls_ttl', 'note', 'learn', 'conjunction',
  'multipath', 'bundle', 'bundle_load', 'fin_timeout', 'ct', 'ct_clear', 'exit', 'write_metadata', 'meter', 'clone',
  'sample', 'group', 'write_actions', 'clear_actions', 'check_pkt_larger', 'encap', 'decap', 'dec_nsh_ttl',
  'set_mpls_label', 'delete_field',
]);

const RESERVED_PORTS = new Set(['IN_PORT', 'TABLE', 'NORMAL', 'FLOOD', 'ALL', 'CONTROLLER', 'LOCAL', 'NONE', 'ANY']);

interface Tok {
  text: string;
  col: number; // 1-based
}

/** Split on top-level commas/whitespace, keeping (), [] and "" together. */
function split(s: string, base: number, seps: RegExp): Tok[] {
  const out: Tok[] = [];
  let depth = 0, quoted = false, start = -1;
  for (let i = 0; i <= s.length; i++) {
    const c = s[i];
    const end = i === s.length || (!quoted && depth === 0 && seps.test(c!));
    if (end) {
      if (start >= 0) out.push({ text: s.slice(start, i), col: base + start });
      start = -1;
      continue;
    }
    if (start < 0) start = i;
    if (c === '"' && s[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && (c === '(' || c === '[')) depth++;
    else if (!quoted && (c === ')' || c === ']')) depth--;
  }
  return out;
}

function unquote(s: string): string {
  if (s.startsWith('"') && s.endsWith('"') && s.length >= 2) {
    try {
      return JSON.parse(s) as string;
    } catch {
      return s.slice(1, -1);
    }
  }
  return s;
}

function intOf(s: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s, 16);
  if (/^[0-9]+$/.test(s)) return Number(s);
  return undefined;
}

/** Read flow text; `isPort` says whether a bare word names a port of the bridge. */
export function readFlows(text: string, isPort: (name: string) => boolean): { flows: FlowFacts[]; issues: BlockIssue[] } {
  const flows: FlowFacts[] = [];
  const issues: BlockIssue[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const body = raw.replace(/\r$/, '');
    const trimmed = body.trim();
    if (!trimmed || trimmed.startsWith('#') || /^(NXST|OFPST)_FLOW reply/.test(trimmed)) return;
    const issue = (col: number, message: string): void => void issues.push({ line, col, message });
    const am = /\bactions?\s*=/.exec(body);
    if (!am) return issue(body.length - body.trimStart().length + 1, 'expected "actions=" at the end of the flow');
    const ports: PortUse[] = [];
    let table = 0, priority = 32768;
    for (const t of split(body.slice(0, am.index), 1, /[,\s]/)) {
      const eq = t.text.indexOf('=');
      const key = (eq < 0 ? t.text : t.text.slice(0, eq)).toLowerCase();
      const val = eq < 0 ? '' : t.text.slice(eq + 1);
      const vcol = t.col + eq + 1;
      if (eq < 0) {
        if (!SHORTHANDS.has(key) && !NON_MATCH.has(key)) issue(t.col, `unknown keyword ${t.text}`);
        continue;
      }
      if (key === 'table') {
        const n = intOf(val);
        if (n === undefined || n > 254) issue(vcol, `expected a table number 0..254, got ${JSON.stringify(val)}`);
        else table = n;
      } else if (key === 'priority') {
        const n = intOf(val);
        if (n === undefined || n > 65535) issue(vcol, `expected a priority 0..65535, got ${JSON.stringify(val)}`);
        else priority = n;
      } else if (key === 'in_port' || key === 'in_port_oxm' || key === 'out_port') {
        ports.push({ text: val, name: unquote(val), line, col: vcol });
      } else if (!MATCH_FIELDS.has(key) && !NON_MATCH.has(key)) {
        issue(t.col, `unknown keyword ${key}`);
      }
    }
    const actBase = am.index + am[0].length;
    const acts = body.slice(actBase);
    if (!acts.trim()) issue(actBase + 1, 'expected actions after "actions="');
    readActions(acts, actBase + 1, line, isPort, ports, issue);
    flows.push({ line, table, priority, ports });
  });
  return { flows, issues };
}

function readActions(
  s: string,
  base: number,
  line: number,
  isPort: (name: string) => boolean,
  ports: PortUse[],
  issue: (col: number, message: string) => void,
): void {
  for (const t of split(s, base, /[,\s]/)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:([:=])(.*)|\((.*)\))?$/s.exec(t.text);
    const word = m?.[1] ?? '';
    const lower = word.toLowerCase();
    const arg = m?.[3] ?? m?.[4];
    const argCol = t.col + word.length + 1;
    const port = (text: string, col: number): void => {
      if (text) ports.push({ text, name: unquote(text), line, col });
    };
    if (!m || (!ACTIONS.has(lower) && !RESERVED_PORTS.has(word.toUpperCase()))) {
      // A bare number or port name outputs to that port (ofpacts_parse_action).
      if (/^[0-9]+$/.test(t.text) || t.text.startsWith('"') || isPort(t.text)) port(t.text, t.col);
      else issue(t.col, `unknown action ${word || t.text}`);
      continue;
    }
    if (arg === undefined) continue;
    if (lower === 'output' && m[4] === undefined) {
      if (!/\[.*\]$/.test(arg)) port(arg, argCol); // output:NXM_NX_REG0[] reads a field
    } else if (lower === 'output') {
      const pm = /(?:^|,)\s*port=([^,]+)/.exec(arg);
      if (pm && !/\[.*\]$/.test(pm[1]!)) port(pm[1]!.trim(), argCol + pm.index + pm[0].indexOf('=') + 1);
    } else if (lower === 'resubmit' || lower === 'enqueue') {
      const first = split(arg, argCol, m[4] !== undefined ? /,/ : /:/)[0];
      const atStart = arg.startsWith(',') || arg.startsWith(':');
      if (first && !atStart) port(first.text.trim(), first.col);
    }
  }
}
