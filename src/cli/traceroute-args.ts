// traceroute's command line as Debian's traceroute 2.1.2 reads it (its CLIF
// parser: short options grouped, an argument joined to the first letter of
// a word or in the next word, long options with `=`; then main()'s checks),
// with its messages and exit status 2. dpemu emulates the options a path
// check uses; traceroute's other valid options are refused with a message
// saying so.
import { NetDb, notFound } from '../control/netdb.js';
import { inetAton } from '../control/inet-aton.js';
import { ipToString, parseIpv6 } from '../wire/addr.js';
import { ip6ToString } from '../wire/tcpdump-text.js';
import { TCP_PROBE_HLEN } from '../netns/trace-socket.js';

export interface TracerouteArgs {
  /** The host as typed (the header's name) and its address as a dotted quad (IPv6: as inet_ntop writes it). */
  target: string;
  dst: string;
  /** -6, traceroute6, or an IPv6 host: AF_INET6. */
  v6: boolean;
  /** The default method (UDP, one port a probe), -U (UDP to one port), -I (ICMP echo) or -T (TCP SYN). */
  method: 'default' | 'udp' | 'icmp' | 'tcp';
  firstHop: number;
  maxHops: number;
  simProbes: number;
  probesPerHop: number;
  /** -w MAX,HERE,NEAR */
  waitSecs: number;
  hereFactor: number;
  nearFactor: number;
  /** -z in seconds. */
  sendSecs: number;
  /** -p: the first UDP port or echo sequence, -U's and -T's port; 0: the method's default. */
  port: number;
  numeric: boolean;
  /** Where hops' addresses get names (getnameinfo's, from the hosts file: no name server is in reach); absent with -n. */
  names?: NetDb;
  /** -s, as a dotted quad (IPv6: as inet_ntop writes it) */
  source?: string;
  /** -i */
  device?: string;
  /** The IP header and the method's (UDP: 8), and the data after them (-T's: its TCP header and options). */
  headerLen: number;
  dataLen: number;
  /** -F: IP_PMTUDISC_PROBE (DF); --mtu: that, and the data cut to each MTU an answer names (F=NNNN). */
  dontfrag: boolean;
  mtudisc: boolean;
}

/** How traceroute ends without tracing: its message lines (on stderr, -V's too), and exit status. */
export class TracerouteExit extends Error {
  constructor(
    readonly lines: string[],
    readonly exit: number,
  ) {
    super(lines.join('\n'));
  }
}

type Kind = 'af' | 'flag' | 'method' | 'uint' | 'double' | 'string' | 'wait' | 'host';
interface Opt {
  short?: string;
  long?: string;
  /** CLIF's arg_name, as its messages show it; none: a flag. */
  arg?: string;
  /** Where the value goes; a method option's: the module it names (set_module, the last one given wins). */
  key?: string;
  kind: Kind;
  /** What dpemu does not emulate. */
  refused?: boolean;
}

/** traceroute 2.1.2's option_list (traceroute.c), in its order. */
const OPTIONS: Opt[] = [
  { short: '4', key: '4', kind: 'af' },
  { short: '6', key: '6', kind: 'af' },
  { short: 'd', long: 'debug', kind: 'flag', refused: true },
  { short: 'F', long: 'dont-fragment', key: 'dontfrag', kind: 'flag' },
  { short: 'f', long: 'first', arg: 'first_ttl', key: 'firstHop', kind: 'uint' },
  { short: 'g', long: 'gateway', arg: 'gate', kind: 'string', refused: true },
  { short: 'I', long: 'icmp', key: 'icmp', kind: 'method' },
  { short: 'T', long: 'tcp', key: 'tcp', kind: 'method' },
  { short: 'i', long: 'interface', arg: 'device', key: 'device', kind: 'string' },
  { short: 'm', long: 'max-hops', arg: 'max_ttl', key: 'maxHops', kind: 'uint' },
  { short: 'N', long: 'sim-queries', arg: 'squeries', key: 'simProbes', kind: 'uint' },
  { short: 'n', key: 'numeric', kind: 'flag' },
  { short: 'p', long: 'port', arg: 'port', key: 'port', kind: 'uint' },
  { short: 't', long: 'tos', arg: 'tos', kind: 'uint', refused: true },
  { short: 'l', long: 'flowlabel', arg: 'flow_label', kind: 'uint', refused: true },
  { short: 'w', long: 'wait', arg: 'MAX,HERE,NEAR', kind: 'wait' },
  { short: 'q', long: 'queries', arg: 'nqueries', key: 'probesPerHop', kind: 'uint' },
  { short: 'r', kind: 'flag', refused: true },
  { short: 's', long: 'source', arg: 'src_addr', key: 'source', kind: 'host' },
  { short: 'z', long: 'sendwait', arg: 'sendwait', key: 'sendSecs', kind: 'double' },
  { short: 'e', long: 'extensions', kind: 'flag', refused: true },
  { short: 'A', long: 'as-path-lookups', kind: 'flag', refused: true },
  { short: 'M', long: 'module', arg: 'name', kind: 'string', refused: true },
  { short: 'O', long: 'options', arg: 'OPTS', kind: 'string', refused: true },
  { long: 'sport', arg: 'num', kind: 'uint', refused: true },
  { long: 'fwmark', arg: 'num', kind: 'uint', refused: true },
  { short: 'U', long: 'udp', key: 'udp', kind: 'method' },
  { short: 'D', long: 'dccp', kind: 'flag', refused: true },
  { short: 'P', long: 'protocol', arg: 'prot', kind: 'string', refused: true },
  { long: 'mtu', key: 'mtudisc', kind: 'flag' },
  { long: 'back', kind: 'flag', refused: true },
  { short: 'V', long: 'version', key: 'version', kind: 'flag' },
];

export const VERSION = 'Modern traceroute for Linux, version 2.1.2\nCopyright (c) 2016  Dmitry Butskoy,   License: GPL v2 or any later';
const USAGE = 'usage: dpemu traceroute NODE [-n NS] [-4|-6] [-I|-T|-U] [-n] [-F] [--mtu] [-f first_ttl] [-m max_ttl] [-N squeries] [-p port] [-q nqueries] [-s src_addr] [-i device] [-w MAX,HERE,NEAR] [-z sendwait] host [packetlen]';
const EMULATED = '-4 -6 -F -I -T -U -f -i -m -N -n -p -q -s -w -z --mtu';
/** What an IPv6 trace refuses (dpemu models no IPv6 fragments). */
const NOT_V6 = '-F and --mtu';

/** gai_strerror(EAI_ADDRFAMILY): a number of the other family than -4's or -6's. */
const EAI_ADDRFAMILY = 'Address family for hostname not supported';

/** traceroute.c's MAX_PACKET_LEN. */
const MAX_PACKET_LEN = 65000;

/** strtoul(arg, &q, 0) as an unsigned int, or null when CLIF refuses it (nothing read, or something left). */
function strtoul(text: string): number | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return null;
  let v = m[2]!.startsWith('0x') || m[2]!.startsWith('0X') ? BigInt(m[2]!) : m[2]!.length > 1 && m[2]!.startsWith('0') ? BigInt('0o' + m[2]!.slice(1)) : BigInt(m[2]!);
  if (v > 0xffff_ffff_ffff_ffffn) v = 0xffff_ffff_ffff_ffffn;
  if (m[1] === '-') v = (0x1_0000_0000_0000_0000n - v) & 0xffff_ffff_ffff_ffffn;
  return Number(v & 0xffff_ffffn);
}

/** strtod's leading number and what it left. */
function strtod(text: string): { n: number; rest: string } | null {
  const m = /^[ \t\n\v\f\r]*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text);
  return m ? { n: Number(m[0]), rest: text.slice(m[0].length) } : null;
}

/** set_wait_specs: MAX[,HERE[,NEAR]] (any one character between them), the factors 0 unless given. */
function waitSpecs(text: string): [number, number, number] | null {
  let d = strtod(text);
  if (!d) return null;
  const max = d.n;
  if (d.rest === '') return [max, 0, 0];
  d = strtod(d.rest.slice(1));
  if (!d) return null;
  const here = d.n;
  if (d.rest === '') return [max, here, 0];
  d = strtod(d.rest.slice(1));
  return d && d.rest === '' ? [max, here, d.n] : null;
}

/** Parse traceroute's words (argv[1..]: `argc` in its messages counts from 1). */
export function parseTracerouteArgs(argv: readonly string[], db = new NetDb(), v6 = false): TracerouteArgs {
  const v: Record<string, unknown> = {
    af: v6 ? 6 : 0, firstHop: 1, maxHops: 30, simProbes: 16, probesPerHop: 3, waitSecs: 5, hereFactor: 3, nearFactor: 10, sendSecs: 0, port: 0, numeric: false, method: 'default', dontfrag: false, mtudisc: false,
  };
  const operands: { word: string; at: number }[] = [];
  const fail = (line: string): TracerouteExit => new TracerouteExit([line], 2);
  /**
   * getaddr: getaddrinfo(af)'s first address (AF_UNSPEC: a number's own
   * family, a name's first hosts line), else its words and then the
   * option's or argument's refusal.
   */
  const lookup = (word: string, refusal: string): { v6: boolean; text: string } => {
    const af = v.af as 0 | 4 | 6, fail = (why: string): TracerouteExit => new TracerouteExit([`${word}: ${why}`, refusal], 2);
    const a6 = word.includes(':') ? parseIpv6(word) : null;
    if ((a6 !== null && af === 4) || (a6 === null && af === 6 && inetAton(word) >= 0)) throw fail(EAI_ADDRFAMILY);
    if (a6 !== null) return { v6: true, text: ip6ToString(a6, 0) };
    if (af === 4 || inetAton(word) >= 0) {
      const h = db.hostByName(word);
      if (typeof h === 'string') throw fail(h);
      return { v6: false, text: ipToString(h) };
    }
    const h = db.hostsByName(word);
    if (typeof h === 'string') throw fail(h);
    const first = h.addrs.find((x) => af !== 6 || x.v6);
    if (first === undefined) throw fail(notFound(word));
    return first.v6 ? { v6: true, text: ip6ToString(first.addr, 0) } : { v6: false, text: ipToString(first.addr) };
  };
  const shortName = (o: Opt, withArg: boolean): string => (o.short ? `-${o.short}` : `--${o.long}`) + (withArg && o.arg ? (o.short ? ` ${o.arg}` : `=${o.arg}`) : '');
  const apply = (o: Opt, arg: string | undefined, at: number, viaShort: boolean): void => {
    if (o.refused) throw new TracerouteExit([`traceroute: ${viaShort ? `-${o.short}` : `--${o.long}`}: not emulated by dpemu (an emulated namespace's traceroute takes ${EMULATED})`], 2);
    const name = viaShort ? `-${o.short}` : `--${o.long}`;
    const bad = (): TracerouteExit => fail(`Cannot handle \`${name}' option with arg \`${arg}' (argc ${at})`);
    switch (o.kind) {
      case 'af':
        v.af = Number(o.key);
        return;
      case 'flag':
        v[o.key!] = true;
        return;
      case 'method':
        v.method = o.key;
        return;
      case 'uint': {
        const n = strtoul(arg!);
        if (n === null) throw bad();
        v[o.key!] = n;
        return;
      }
      case 'double': {
        const d = strtod(arg!);
        if (!d || d.rest !== '') throw bad();
        v[o.key!] = d.n;
        return;
      }
      case 'host':
        v[o.key!] = lookup(arg!, `Cannot handle \`${name}' option with arg \`${arg}' (argc ${at})`);
        return;
      case 'wait': {
        const w = waitSpecs(arg!);
        if (!w) throw bad();
        [v.waitSecs, v.hereFactor, v.nearFactor] = w;
        return;
      }
      default:
        v[o.key!] = arg;
    }
  };
  let options = true;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!, at = i + 1;
    if (!options || !w.startsWith('-') || w === '-') {
      operands.push({ word: w, at });
      continue;
    }
    if (w.startsWith('--')) {
      if (w === '--') {
        options = false;
        continue;
      }
      const eq = w.indexOf('=');
      const name = w.slice(2, eq < 0 ? undefined : eq);
      const o = OPTIONS.find((x) => x.long === name);
      if (!o || (!o.arg && eq >= 0)) throw fail(eq >= 0 ? `Bad option \`${w}' (with arg \`${w.slice(eq + 1)}') (argc ${at})` : `Bad option \`${w}' (argc ${at})`);
      // Long options take their argument after `=' only (no CLIF_MAY_NOEQUAL).
      if (o.arg && eq < 0) throw fail(`Option \`--${o.long}' (argc ${at}) requires an argument: \`--${o.long}=${o.arg}'`);
      if (o.key === 'version') throw new TracerouteExit([VERSION], 0);
      apply(o, eq < 0 ? undefined : w.slice(eq + 1), at, false);
      continue;
    }
    for (let j = 1; j < w.length; j++) {
      const c = w[j]!;
      const o = OPTIONS.find((x) => x.short === c);
      if (!o) throw fail(`Bad option \`-${c}' (argc ${at})`);
      if (o.key === 'version') throw new TracerouteExit([VERSION], 0);
      if (!o.arg) {
        apply(o, undefined, at, true);
        continue;
      }
      let arg: string;
      let argAt = at;
      if (j + 1 === w.length) {
        if (i + 1 >= argv.length) throw fail(`Option \`-${c}' (argc ${at}) requires an argument: \`${shortName(o, true)}'`);
        arg = argv[++i]!;
        argAt = i + 1;
      } else if (j === 1) arg = w.slice(2);
      else throw fail(`Option \`-${c}' (argc ${at}) requires an argument: \`${shortName(o, true)}'`);
      apply(o, arg, argAt, true);
      break;
    }
  }
  if (operands.length === 0) throw new TracerouteExit([USAGE], 2);
  if (operands.length > 2) throw fail(`Extra arg \`${operands[2]!.word}' (position 3, argc ${operands[2]!.at})`);
  const host = operands[0]!;
  const addr = lookup(host.word, `Cannot handle "host" cmdline arg \`${host.word}' on position 1 (argc ${host.at})`);
  const source = v.source as { v6: boolean; text: string } | undefined;
  delete v.source;
  let packetLen = -1;
  if (operands[1]) {
    const m = /^[ \t\n\v\f\r]*[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(operands[1].word);
    if (!m) throw fail(`Cannot handle "packetlen" cmdline arg \`${operands[1].word}' on position 2 (argc ${operands[1].at})`);
    packetLen = Number(m[0].trim()) | 0;
  }
  const a = v as unknown as TracerouteArgs;
  // main()'s checks, in its order.
  if (!a.firstHop || a.firstHop > a.maxHops) throw fail('first hop out of range');
  if (a.maxHops > 255) throw fail('max hops cannot be more than 255');
  if (!a.probesPerHop || a.probesPerHop > 10) throw fail('no more than 10 probes per hop');
  if (a.waitSecs < 0 || a.hereFactor < 0 || a.nearFactor < 0) throw fail(`bad wait specifications \`${g(a.waitSecs)},${g(a.hereFactor)},${g(a.nearFactor)}' used`);
  if (packetLen > MAX_PACKET_LEN) throw fail(`too big packetlen ${packetLen} specified`);
  if (a.sendSecs < 0) throw fail(`bad sendtime \`${g(a.sendSecs)}' specified`);
  if (source !== undefined && source.v6 !== addr.v6) throw fail('IP version mismatch in addresses specified');
  if (addr.v6 && (a.dontfrag || a.mtudisc)) throw fail(`traceroute: ${NOT_V6}: not emulated by dpemu over IPv6 (an emulated namespace's traceroute -6 takes ${EMULATED.replace(/ -F| --mtu/g, '')})`);
  const sendSecs = a.sendSecs >= 10 ? a.sendSecs / 1000 : a.sendSecs;
  const method = a.method;
  const modHeader = method === 'udp' || method === 'default' ? 8 : 0;
  const headerLen = (addr.v6 ? 40 : 20) + modHeader;
  // --mtu: one probe at a time, DF, and by default traceroute's longest packet (MAX_PACKET_LEN).
  let simProbes = a.simProbes;
  if (a.mtudisc) {
    simProbes = 1;
    if (packetLen < 0) packetLen = MAX_PACKET_LEN;
  }
  let dataLen = 0;
  if (packetLen < 0) dataLen = 40 - modHeader;
  else if (packetLen >= headerLen) dataLen = packetLen - headerLen;
  // icmp_init: the data holds at least the ICMP header; tcp_init: the packet is its header and options.
  if (method === 'icmp' && dataLen < 8) dataLen = 8;
  if (method === 'tcp') dataLen = TCP_PROBE_HLEN;
  const out: TracerouteArgs = {
    target: host.word, dst: addr.text, v6: addr.v6, method, firstHop: a.firstHop, maxHops: a.maxHops, simProbes, probesPerHop: a.probesPerHop,
    waitSecs: a.waitSecs, hereFactor: a.hereFactor, nearFactor: a.nearFactor, sendSecs, port: a.port, numeric: a.numeric, headerLen, dataLen,
    dontfrag: a.dontfrag || a.mtudisc, mtudisc: a.mtudisc,
  };
  if (source !== undefined) out.source = source.text;
  if (!a.numeric) out.names = db;
  if (a.device !== undefined) out.device = a.device;
  return out;
}

/** printf's %g. */
function g(n: number): string {
  if (n === 0) return '0';
  const p = n.toPrecision(6);
  return p.includes('e') ? p.replace(/\.?0+e/, 'e').replace(/e([+-])(\d)$/, 'e$10$2') : p.includes('.') ? p.replace(/\.?0+$/, '') : p;
}
