// How `dpemu conntrack` reads its words: NODE and -n NS, then conntrack-tools'
// command, table and options, checked as conntrack 1.4.7 checks them while it
// reads them (the first bad one is the one named). Apart from the
// implementation (conntrack-commands.ts) so that the CLI loads only this to
// route a command (family-access.ts), not the netfilter code.
import { CONNTRACK_TOOL as TOOL } from '../netfilter/conntrack-print.js';
import { TCP_STATE_NAMES, TCP_SYN_SENT2 } from '../netfilter/conntrack-tcp.js';
import { inetAton, prefixLength } from './inet-aton.js';
import { strtoulU32 } from './c-numbers.js';
import { BadParameter, EVENT_NAMES, parseNames, STATUS_NAMES } from './conntrack-params.js';
import type { Access } from './command.js';
import { ControlError } from './protocol.js';

const PROTOS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17 };
const COMMANDS: Record<string, string> = {
  '-L': '-L', '--dump': '-L', '-C': '-C', '--count': '-C', '-S': '-S', '--stats': '-S',
  '-D': '-D', '--delete': '-D', '-F': '-F', '--flush': '-F', '-E': '-E', '--event': '-E', '-G': '-G', '--get': '-G',
  '-U': '-U', '--update': '-U',
  '-h': '-h', '--help': '-h', '-V': '-V', '--version': '-V',
};
/** The tables a command may name; dpemu runs no helpers, so `expect` is always empty, as are the transient ones. */
const TABLES = new Set(['conntrack', 'expect', 'dying', 'unconfirmed']);
/**
 * The options dpemu knows, by conntrack-tools' long name, in its optflags
 * order: the first illegal one in this order is the one the error names.
 */
const OPT_NAMES: Record<string, string> = {
  '-s': 'src', '-d': 'dst', '-r': 'reply-src', '-q': 'reply-dst', '-p': 'protonum', '-t': 'timeout', '-u': 'status', '-e': 'event-mask',
  '/s': 'mask-src', '/d': 'mask-dst', '-m': 'mark', '-f': 'family', snat: 'src-nat', dnat: 'dst-nat', '-o': 'output', any: 'any-nat',
};
const OPT_ORDER = Object.keys(OPT_NAMES);
/** Options each command (and table) allows: conntrack-tools' commands_v_options (1.4.6 and 1.4.7 agree). */
const LEGAL: Record<string, Set<string>> = {
  '-L': new Set(OPT_ORDER.filter((o) => o !== '-e' && o !== '-t')),
  '-D': new Set(OPT_ORDER.filter((o) => o !== 'any' && o !== '-e')),
  '-U': new Set(OPT_ORDER.filter((o) => o !== 'any' && o !== '-e')),
  // -G names one entry: its original tuple (the reply addresses filter what it finds), -p compulsory.
  '-G': new Set(['-s', '-d', '-r', '-q', '-p', '-o']),
  '-E': new Set(OPT_ORDER.filter((o) => o !== '-u' && o !== '-t')),
  '-F': new Set(['-f']),
  '-L expect': new Set(['-f', '-o']),
  '-E expect': new Set(['-f', '-o']),
};
/** Options taking a value, by the name the filter reads them under. */
const VALUE_OPTS: Record<string, string> = {
  '-s': '-s', '--src': '-s', '--orig-src': '-s', '-d': '-d', '--dst': '-d', '--orig-dst': '-d',
  '-r': '-r', '--reply-src': '-r', '-q': '-q', '--reply-dst': '-q', '-p': '-p', '--proto': '-p', '--protonum': '-p',
  '-f': '-f', '--family': '-f', '-o': '-o', '--output': '-o', '-u': '-u', '--status': '-u', '-m': '-m', '--mark': '-m',
  '-e': '-e', '--event-mask': '-e', '-t': '-t', '--timeout': '-t',
};
/** Compulsory options of a command (conntrack-tools' commands_v_options 1), checked with the illegal ones. */
const NEEDED: Record<string, Set<string>> = { '-G': new Set(['-p']) };
/** Options that exist only once -p names a protocol with ports (conntrack-tools' protocol extensions). */
const PORT_OPTS: Record<string, string> = {
  '--sport': 'sport', '--orig-port-src': 'sport', '--dport': 'dport', '--orig-port-dst': 'dport',
  '--reply-port-src': 'rsport', '--reply-port-dst': 'rdport',
};
/**
 * TCP's --state (-p tcp; libct_proto_tcp.c): the state by its exact name, LISTEN
 * too (SYN_SENT2's old name, kernels before 2.6.31).
 */
function tcpState(v: string): number {
  const i = TCP_STATE_NAMES.indexOf(v);
  if (v === 'LISTEN') return TCP_SYN_SENT2;
  if (i < 0) throw paramError(`unknown TCP state \`${v}'`);
  return i;
}
/** ICMP's (-p icmp): type and code in 8 bits, the id in 16, as C's atoi reads them. */
const ICMP_OPTS: Record<string, [string, number]> = { '--icmp-type': ['itype', 0xff], '--icmp-code': ['icode', 0xff], '--icmp-id': ['iid', 0xffff] };
const NAT_FLAGS: Record<string, string> = { '-n': 'snat', '--src-nat': 'snat', '-g': 'dnat', '--dst-nat': 'dnat', '-j': 'any', '--any-nat': 'any' };
/** -o types conntrack-tools knows; with -E dpemu prints these, and refuses the others by name. */
const EVENT_OUTPUTS = new Set(['extended', 'timestamp', 'id', 'userspace']);
export const OTHER_OUTPUTS = new Set(['xml', 'ktimestamp', 'labels', 'save']);

/** conntrack-tools' exit_error(PARAMETER_PROBLEM, ...): the message, its hint, exit 2. */
export function paramError(msg: string): ControlError {
  return new ControlError(`${TOOL}: ${msg}\nTry \`conntrack -h' or 'conntrack --help' for more information.`, 2);
}

export interface ToolArgs {
  cmd: string | null;
  table: string;
  values: Map<string, string>;
  ports: Map<string, number>;
  nat: Set<string>;
  /** -u's bits, and those it wants clear (`!NAME`, UNREPLIED). */
  status?: { bits: number; clear: number };
  /** -e's events. */
  events?: number;
  /**
   * -m's VALUE/MASK: what -U sets, what the other commands' user-space check
   * wants; and as -m gave it, the filter -L and -D ask the kernel for.
   */
  mark?: { value: number; mask: number };
  markKernel?: { value: number; mask: number };
  /** Lines conntrack prints on stderr as it reads the options (-u or -e naming SRC_NAT or DST_NAT). */
  warnings: string[];
}

export function protoNumber(proto: string | undefined): number | undefined {
  return proto === undefined ? undefined : PROTOS[proto] ?? Number(proto);
}

export function hasPorts(proto: string | undefined): boolean {
  const n = protoNumber(proto);
  return n === 6 || n === 17;
}

export function parseTool(argv: readonly string[], warnings: string[] = []): ToolArgs {
  const out: ToolArgs = { cmd: null, table: 'conntrack', values: new Map(), ports: new Map(), nat: new Set(), warnings };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const cmd = COMMANDS[a];
    const value = VALUE_OPTS[a];
    const proto = protoNumber(out.values.get('-p'));
    const port = hasPorts(out.values.get('-p')) ? PORT_OPTS[a] ?? (proto === 6 && a === '--state' ? 'state' : undefined) : proto === 1 ? ICMP_OPTS[a]?.[0] : undefined;
    if (cmd) {
      if (out.cmd) throw paramError('Invalid commands combination');
      out.cmd = cmd;
      // An optional table name after the command.
      if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) {
        if (!TABLES.has(argv[i + 1]!)) throw paramError(`unknown type \`${argv[i + 1]}'`);
        out.table = argv[++i]!;
        if (cmd === '-U' && out.table === 'expect') throw paramError("Can't do --update on expectations");
      }
    } else if (value || port) {
      const v = argv[++i];
      if (v === undefined) throw paramError(`option \`${a}' requires an argument`);
      // The port options parse as C's atoi into 16 bits (99999 is 34463), as conntrack-tools does.
      if (port === 'state') out.ports.set(port, tcpState(v));
      else if (port) out.ports.set(port, (parseInt(v, 10) || 0) & (ICMP_OPTS[a]?.[1] ?? 0xffff));
      else out.values.set(value!, checkValue(value!, v, out));
    } else if (NAT_FLAGS[a]) out.nat.add(NAT_FLAGS[a]);
    else if (!a.startsWith('-')) throw paramError(`unknown type \`${a}'`);
    else throw paramError(`unknown option \`${a}'`);
  }
  return out;
}

/** An address option: inet_aton, and /LEN for -s and -d only (as conntrack 1.4.7 here). */
export function addrFilter(k: string, v: string): { addr: number; mask: number } {
  const slash = v.indexOf('/');
  const n = inetAton(slash < 0 ? v : v.slice(0, slash));
  if (n < 0) throw paramError(`Invalid IP address \`${v}'`);
  if (slash < 0) return { addr: n, mask: 0xffffffff };
  if (k === '-r' || k === '-q') throw paramError(`CIDR notation unavailable for \`--${OPT_NAMES[k]}'`);
  const len = prefixLength(v.slice(slash + 1));
  if (len < 0) throw paramError('Invalid netmask');
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { addr: (n & mask) >>> 0, mask };
}

/** -p's protocol number. */
export function protoFilter(pv: string): number {
  const proto = PROTOS[pv] ?? (/^\d+$/.test(pv) && Number(pv) < 256 ? Number(pv) : undefined);
  if (proto === undefined) throw paramError(`\`${pv}' unsupported protocol`);
  return proto;
}

/** -u's or -e's list (conntrack-params.ts), its warnings noted. */
function namesOf(v: string, t: ToolArgs, status: boolean): { bits: number; clear: number } {
  try {
    return parseNames(v, status ? STATUS_NAMES : EVENT_NAMES, status, t.warnings);
  } catch (e) {
    if (e instanceof BadParameter) throw paramError(e.message);
    throw e;
  }
}

/** -m's VALUE[/MASK] as strtoul reads them (no error: what is not a number is 0); no mask is all ones. */
function markOf(v: string): { value: number; mask: number } {
  const { value, rest } = strtoulU32(v);
  return { value, mask: rest[0] === '/' ? strtoulU32(rest.slice(1)).value : 0xffffffff };
}

/**
 * A value as conntrack-tools checks it while it reads the options, so that
 * the first bad one on the command line is the one named (the checks that
 * depend on the command come after).
 */
function checkValue(opt: string, v: string, t: ToolArgs): string {
  if (opt === '-s' || opt === '-d' || opt === '-r' || opt === '-q') addrFilter(opt, v);
  else if (opt === '-p') protoFilter(v);
  else if (opt === '-f' && v !== 'ipv4' && v !== 'ipv6') throw paramError(`\`${v}' unsupported protocol`);
  else if (opt === '-u') {
    t.status = namesOf(v, t, true);
    // 1.4.7's -u also overwrites -m's value with the status bits (fixed after 1.4.7: "mark from -m
    // was overriden by value from -u"): -U then sets those, and the user-space mark check wants them.
    if (t.mark) t.mark.value = t.status.bits;
  } else if (opt === '-m') {
    t.mark = markOf(v);
    t.markKernel = { ...t.mark };
  } else if (opt === '-e') t.events = namesOf(v, t, false).bits;
  else if (opt === '-o') {
    const bad = v.split(',').find((o) => o !== '' && !EVENT_OUTPUTS.has(o) && !OTHER_OUTPUTS.has(o));
    if (bad !== undefined) throw paramError(`Bad parameter \`${bad}'`);
  }
  return v;
}

/** conntrack-tools' checks after parsing: -j alone, then generic_opt_check (an option the command does not take is refused). */
export function checkLegal(t: ToolArgs): void {
  if (t.nat.has('any') && (t.nat.has('snat') || t.nat.has('dnat'))) throw paramError("cannot specify `--src-nat' or `--dst-nat' with `--any-nat'");
  if (t.cmd === '-h' || t.cmd === '-V' || (t.table === 'expect' && t.cmd === '-D')) return;
  if ((t.table === 'dying' || t.table === 'unconfirmed') && t.cmd !== '-L') {
    throw paramError("Can't do that command with tables `dying' and `unconfirmed'");
  }
  const legal = LEGAL[t.table === 'expect' ? `${t.cmd} expect` : t.cmd ?? ''] ?? new Set<string>();
  const needed = NEEDED[t.cmd ?? ''];
  for (const o of OPT_ORDER) {
    const given = o === 'snat' || o === 'dnat' || o === 'any' ? t.nat.has(o) : o[0] === '/' ? t.values.get(`-${o[1]}`)?.includes('/') : t.values.has(o);
    if (given && !legal.has(o)) throw paramError(`Illegal option \`--${OPT_NAMES[o]}' with this command`);
    if (!given && needed?.has(o)) throw paramError(`You need to supply the \`--${OPT_NAMES[o]}' option for this command`);
  }
}

/** NODE and -n NS come first (conntrack's own -n, after the command, is --src-nat); the tool's words follow. */
export function splitTarget(argv: readonly string[]): { node?: string; ns?: string; rest: string[] } {
  let node: string | undefined;
  let ns: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (ns === undefined && (a === '-n' || a === '--netns') && argv[i + 1] && !argv[i + 1]!.startsWith('-')) ns = argv[++i];
    else if (node === undefined && !a.startsWith('-')) node = a;
    else break;
  }
  return { node, ns, rest: argv.slice(i) };
}

/** -D, -F and -U change the table; the others read it. */
export function conntrackAccess(argv: readonly string[]): Access {
  const c = parseTool(splitTarget(argv).rest).cmd;
  return c === '-D' || c === '-F' || c === '-U' ? 'write' : 'read';
}
