// ping's command line as iputils 20221126 reads it (getopt with GNU
// permutation, its optstring, strtol_or_err and ping_strtod), checked
// against the real ping on Debian bookworm: the same messages and exit
// statuses. Options dpemu does not emulate (socket options it has no
// model for: -b -C -L -r, and IPv6's -F and -N) are refused as getopt
// refuses an unknown one. The destination is what getaddrinfo(AF_UNSPEC)
// answers for it: a number (an IPv6 one with an optional %scope, a device's
// name or index, which the daemon checks as getaddrinfo does), or a name's
// hosts lines of either family, which ping takes in getaddrinfo's order
// (sortAnswers, pingRun), -4 and -6 picking among them.
import { getopt, GetoptError } from './getopt.js';
import { inetAton } from '../control/inet-aton.js';
import { NetDb, type HostAddr } from '../control/netdb.js';
import { parseIpv4, parseIpv6, ipToString } from '../wire/addr.js';
import { ip6ToString } from '../wire/tcpdump-text.js';

/** iputils 20221126's optstring (ping.c main): options that take an argument are followed by ':'. */
const OPTSTRING = 'h?4bRT:6F:N:aABc:CdDe:fi:I:l:Lm:M:nOp:qQ:rs:S:t:UvVw:W:';
/**
 * What dpemu emulates (-U only how ping reads the receive
 * time; -d's SO_DEBUG nothing a namespace shows). With an IPv6 target -R and -T are ignored, as ping6_run ignores them, and
 * so are -m, -M, -B and -S (no IPv6 netfilter, fragments or ENOBUFS modelled).
 */
const SUPPORTED = 'aABcdDefiIlmMnOpqQRsStTUvVwW46';
/** -M's words: IP_MTU_DISCOVER's values (20221126 knows no `probe`). */
export const PMTUDISC = { dont: 0, want: 1, do: 2 } as const;
/** ping -V on Debian bookworm. */
const VERSION = ['ping from iputils 20221126', 'libcap: yes, IDN: yes, NLS: no, error.h: yes, getrandom(): yes, __fpending(): yes'];
/** MAX_DUP_CHK: the most -l takes. */
const MAX_PRELOAD = 0x10000;
const INT_MAX = 2147483647;
const LONG_MAX = '9223372036854775807';

export interface PingArgs {
  /** The header's hostname (getaddrinfo's canonical name: a number as typed) and the address as a dotted quad (IPv6: as inet_ntop writes it). */
  target: string;
  dst: string;
  /** The target is IPv6: `dst` its address, `scope` what followed its %. */
  ipv6: boolean;
  scope?: string;
  /** Where replies' addresses get names (pr_addr): the target was a name and -n was not given; absent, numbers. */
  names?: NetDb;
  /** -c; 0: until interrupted. */
  count: number;
  /** -i in ms. */
  interval: number;
  /** -i given (-f without it floods: interval 0). */
  intervalSet: boolean;
  /** -l */
  preload: number;
  /** -p: the pattern's bytes (at most 16), null without -p. */
  pattern: Uint8Array | null;
  /** -Q: the IP TOS byte (IP_TOS keeps the low 8 bits of the int). */
  tos: number;
  flood: boolean;
  adaptive: boolean;
  /** -D */
  timestamps: boolean;
  /** -O */
  outstanding: boolean;
  /** -a */
  audible: boolean;
  verbose: boolean;
  /** -4 */
  inet4: boolean;
  /** -6 */
  inet6: boolean;
  /** -W in ms (MAXWAIT, 10 s, by default). */
  linger: number;
  /** -w in s; 0: none. */
  deadline: number;
  /** -s */
  size: number;
  /** -m: SO_MARK; unset, none. */
  mark?: number;
  /** -e: the echo identifier; unset, a random one. */
  ident?: number;
  /** -S: SO_SNDBUF; unset, ping's estimate of a request's memory (sock_setbufs). */
  sndbuf?: number;
  /** -t */
  ttl?: number;
  /** -I: an interface, or a source address. */
  device?: string;
  source?: string;
  /** -M: IP_MTU_DISCOVER (PMTUDISC's values); unset, the socket keeps the namespace's default. */
  pmtudisc?: number;
  /** -B (or -I ADDR): F_STRICTSOURCE, the socket is bound to its source. */
  strictSource: boolean;
  /** -R, or -T's timestamp kind: the IP_OPTIONS each request carries. */
  ipOptions?: IpOptionsKind;
  quiet: boolean;
}

/** -T's words. */
const TS_TYPES = ['tsonly', 'tsandaddr', 'tsprespec'] as const;
export type IpOptionsKind = 'rr' | (typeof TS_TYPES)[number];

/** How ping ends without running: its message lines (on stderr, or stdout) and exit status. */
export class PingExit extends Error {
  constructor(
    readonly lines: string[],
    readonly exit: number,
    readonly stdout = false,
  ) {
    super(lines.join('\n'));
  }
}

/** usage() of iputils 20221126 (stderr, exit 2). */
export const USAGE = `
Usage
  ping [options] <destination>

Options:
  <destination>      dns name or ip address
  -a                 use audible ping
  -A                 use adaptive ping
  -B                 sticky source address
  -c <count>         stop after <count> replies
  -C                 call connect() syscall on socket creation
  -D                 print timestamps
  -d                 use SO_DEBUG socket option
  -e <identifier>    define identifier for ping session, default is random for
                     SOCK_RAW and kernel defined for SOCK_DGRAM
                     Imply using SOCK_RAW (for IPv4 only for identifier 0)
  -f                 flood ping
  -h                 print help and exit
  -I <interface>     either interface name or address
  -i <interval>      seconds between sending each packet
  -L                 suppress loopback of multicast packets
  -l <preload>       send <preload> number of packages while waiting replies
  -m <mark>          tag the packets going out
  -M <pmtud opt>     define mtu discovery, can be one of <do|dont|want>
  -n                 no dns name resolution
  -O                 report outstanding replies
  -p <pattern>       contents of padding byte
  -q                 quiet output
  -Q <tclass>        use quality of service <tclass> bits
  -s <size>          use <size> as number of data bytes to be sent
  -S <size>          use <size> as SO_SNDBUF socket option value
  -t <ttl>           define time to live
  -U                 print user-to-user latency
  -v                 verbose output
  -V                 print version and exit
  -w <deadline>      reply wait <deadline> in seconds
  -W <timeout>       time to wait for response

IPv4 options:
  -4                 use IPv4
  -b                 allow pinging broadcast
  -R                 record route
  -T <timestamp>     define timestamp, can be one of <tsonly|tsandaddr|tsprespec>

IPv6 options:
  -6                 use IPv6
  -F <flowlabel>     define flow label, default is random
  -N <nodeinfo opt>  use icmp6 node info query, try <help> as argument

For more details see ping(8).`;

/** iputils' strtol_or_err: a whole decimal number in [min, max], else `PROG: invalid argument: 'X'` (exit 1). */
export function strtolOrErr(prog: string, text: string, min: number, max: number, maxText = String(max)): number {
  if (!/^[ \t]*[+-]?\d+$/.test(text)) throw new PingExit([`${prog}: invalid argument: '${text}'`], 1);
  const n = Number(text);
  if (n < min || n > max) throw new PingExit([`${prog}: invalid argument: '${text}': out of range: ${min} <= value <= ${maxText}`], 1);
  return n;
}

const integer = (text: string, min: number, max: number, maxText = String(max)): number => strtolOrErr('ping', text, min, max, maxText);

/** ping_strtod as 20221126 has it: a number, or its leading part with a warning about the rest ("garbage"). */
function seconds(text: string, warn: string[]): number {
  const m = /^[ \t]*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text);
  const n = m ? Number(m[0]) : 0;
  const rest = text.slice(m ? m[0].length : 0);
  if (rest !== '') warn.push(`ping: option argument contains garbage: ${rest}`, 'ping: this will become fatal error in the future');
  return n;
}

/** parsetos: strtol in base 16 after a 0x, else 10, the whole word; its int (a long cast down), at most 255. */
function tosValue(text: string): number {
  const hex = /^0[xX]/.test(text);
  const body = hex ? text.slice(2) : text;
  const m = (hex ? /^[ \t\n\v\f\r]*([+-]?)(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)/ : /^[ \t\n\v\f\r]*([+-]?)(\d+)/).exec(body);
  if ((m ? m[0].length : 0) !== body.length) throw new PingExit([`ping: bad TOS value: ${text}`], 2);
  let v = m ? BigInt((hex ? '0x' : '') + m[2]!) : 0n;
  if (m?.[1] === '-') v = -v;
  const LONG = 1n << 63n;
  v = v >= LONG ? LONG - 1n : v < -LONG ? -LONG : v; // strtol's ERANGE
  const tos = Number(BigInt.asIntN(32, v));
  if (tos > 255) throw new PingExit([`ping: the decimal value of TOS bits must be in range 0-255: ${tos}`], 2);
  return tos;
}

/** fill(): hex digits only, read two at a time (sscanf's %2x), 16 bytes at most. */
function patternBytes(text: string): Uint8Array {
  const bad = /[^0-9a-fA-F]/.exec(text);
  if (bad) throw new PingExit([`ping: patterns must be specified as hex digits: ${text.slice(bad.index)}`], 2);
  const bytes = text.match(/.{1,2}/g) ?? [];
  return Uint8Array.from(bytes.slice(0, 16), (b) => parseInt(b, 16));
}

/** The data ping sends after the ICMP header (what it checks a reply's against): bytes counting up, or -p's pattern over and over. */
export function payload(size: number, pattern: Uint8Array | null): Uint8Array {
  const d = new Uint8Array(size);
  for (let i = 0; i < size; i++) d[i] = pattern === null ? i & 0xff : pattern.length ? pattern[i % pattern.length]! : 0;
  return d;
}

/** One of getaddrinfo's answers for the target: its address and, for an IPv6 number typed with one, its %scope. */
export type PingAddr = HostAddr & { scope?: string };

/** ping's words up to its loop over getaddrinfo's answers (main): the options, the destination and what getaddrinfo answered for it. */
export interface PingLine extends Omit<PingArgs, 'target' | 'dst' | 'ipv6' | 'scope' | 'names'> {
  /** The destination as typed, and how many operands there were (gateways before it). */
  host: string;
  operands: number;
  /** -n */
  numeric: boolean;
  /** getaddrinfo(AF_UNSPEC)'s answers before its sort (one for a number; a name's hosts lines in the file's order), and AI_CANONNAME's name. */
  ai: PingAddr[];
  canon: string;
  /** Where names are looked up (as the real ping would, in the namespace). */
  db: NetDb;
}

/**
 * Parse ping's words; `warn` gets what it prints on stderr and goes on
 * after, `out` what it prints on stdout before it sends (-p's PATTERN line),
 * also when it ends before running. getaddrinfo's failure ends it here.
 */
export function parsePingArgs(argv: readonly string[], warn: string[], out: string[], uid: number, db = new NetDb()): PingLine {
  const a: Omit<PingArgs, 'target' | 'dst' | 'ipv6'> = {
    count: 0, interval: 1000, intervalSet: false, preload: 1, linger: 10_000, deadline: 0, size: 56, pattern: null, tos: 0,
    quiet: false, flood: false, adaptive: false, timestamps: false, outstanding: false, audible: false, verbose: false, inet4: false, inet6: false,
    strictSource: false,
  };
  let fill: string | null = null;
  let numeric = false;
  const usage = (first: string): PingExit => new PingExit([first, ...USAGE.split('\n')], 2);
  let operands: string[];
  try {
    operands = getopt('ping', argv, OPTSTRING, (c, arg) => {
      if (c === 'h' || c === '?') throw new PingExit(USAGE.split('\n'), 2);
      if (!SUPPORTED.includes(c)) throw usage(`ping: invalid option -- '${c}'`);
      switch (c) {
        case 'c':
          a.count = integer(arg!, 1, Number(LONG_MAX), LONG_MAX);
          break;
        case 'i': {
          const s = seconds(arg!, warn);
          if (s > INT_MAX / 1000) throw new PingExit([`ping: bad timing interval: ${arg}`], 2);
          a.interval = Math.max(0, Math.trunc(s * 1000));
          a.intervalSet = true;
          break;
        }
        case 'W': {
          const s = seconds(arg!, warn);
          if (s < 0 || s > INT_MAX / 1000) throw new PingExit([`ping: bad linger time: ${arg}`], 2);
          a.linger = Math.trunc(s * 1000);
          break;
        }
        case 'w':
          a.deadline = integer(arg!, 0, INT_MAX);
          break;
        case 's':
          a.size = integer(arg!, 0, INT_MAX);
          break;
        case 'S':
          a.sndbuf = integer(arg!, 1, INT_MAX);
          break;
        case 'e':
          a.ident = integer(arg!, 0, 0xffff);
          break;
        case 'm':
          a.mark = integer(arg!, 0, 0xffffffff);
          break;
        case 't':
          a.ttl = integer(arg!, 0, 255);
          break;
        case 'I':
          // An address (inet_pton) binds the socket; anything else is a device.
          if (parseIpv4(arg!) !== null) {
            a.source = arg!;
            a.strictSource = true;
          } else a.device = arg!;
          break;
        case 'B':
          a.strictSource = true;
          break;
        case 'R':
        case 'T':
          if (a.ipOptions !== undefined && (a.ipOptions === 'rr') !== (c === 'R')) throw new PingExit(['ping: only one of -T or -R may be used'], 2);
          if (c === 'R') a.ipOptions = 'rr';
          else if ((TS_TYPES as readonly string[]).includes(arg!)) a.ipOptions = arg as IpOptionsKind;
          else throw new PingExit([`ping: invalid timestamp type: ${arg}`], 2);
          break;
        case 'M':
          if (!Object.hasOwn(PMTUDISC, arg!)) throw new PingExit([`ping: invalid -M argument: ${arg}`], 2);
          a.pmtudisc = PMTUDISC[arg as keyof typeof PMTUDISC];
          break;
        case 'q':
          a.quiet = true;
          break;
        case 'l':
          a.preload = integer(arg!, 1, MAX_PRELOAD);
          if (uid && a.preload > 3) throw new PingExit([`ping: cannot set preload to value greater than 3: ${a.preload}`], 2);
          break;
        case 'p':
          fill = arg!;
          break;
        case 'Q':
          a.tos = tosValue(arg!) & 0xff;
          break;
        case 'f':
          a.flood = true;
          break;
        case 'A':
          a.adaptive = true;
          break;
        case 'D':
          a.timestamps = true;
          break;
        case 'O':
          a.outstanding = true;
          break;
        case 'a':
          a.audible = true;
          break;
        case 'v':
          a.verbose = true;
          break;
        case 'n':
          numeric = true;
          break;
        case '4':
        case '6':
          if (a[c === '4' ? 'inet6' : 'inet4']) throw new PingExit(['ping: only one -4 or -6 option may be specified'], 2);
          a[c === '4' ? 'inet4' : 'inet6'] = true;
          break;
        case 'V':
          throw new PingExit(VERSION, 0, true);
      }
    });
  } catch (err) {
    throw err instanceof GetoptError ? usage(err.message) : err;
  }
  if (operands.length === 0) throw new PingExit(['ping: usage error: Destination address required'], 1);
  const target = operands[operands.length - 1]!;
  if (fill !== null) {
    a.pattern = patternBytes(fill);
    if (!a.quiet) out.push(`PATTERN: 0x${Buffer.from(a.pattern).toString('hex')}`);
  }
  if (a.verbose) {
    const four = a.inet6 ? '-1 (socktype: 0)' : '3 (socktype: SOCK_RAW)';
    const six = a.inet4 ? '-1 (socktype: 0)' : `${a.inet6 ? 3 : 4} (socktype: SOCK_RAW)`;
    warn.push(`ping: sock4.fd: ${four}, sock6.fd: ${six}, hints.ai_family: ${a.inet4 ? 'AF_INET' : a.inet6 ? 'AF_INET6' : 'AF_UNSPEC'}`, '');
  }
  // getaddrinfo(AF_UNSPEC) (ping asks for both families and picks among the answers): a number is itself, its own canonical
  // name; an IPv6 one may carry a %scope; a name is the hosts file's (NetDb).
  const line = { ...a, host: target, operands: operands.length, numeric, db };
  const n4 = inetAton(target);
  if (n4 >= 0) return { ...line, ai: [{ v6: false, addr: n4 }], canon: target };
  const pct = target.indexOf('%');
  const n6 = parseIpv6(pct < 0 ? target : target.slice(0, pct));
  if (n6 !== null && pct !== target.length - 1) return { ...line, ai: [{ v6: true, addr: n6, ...(pct < 0 ? {} : { scope: target.slice(pct + 1) }) }], canon: target };
  if (target.includes(':')) throw new PingExit([`ping: ${target}: Name or service not known`], 2);
  const h = db.hostsByName(target);
  if (typeof h === 'string') throw new PingExit([`ping: ${target}: ${h}`], 2);
  return { ...line, ai: h.addrs, canon: h.canon };
}

/** glibc's default precedence table (RFC 3484, no gai.conf): ::1 50, ::/0 40, 2002::/16 30, ::/96 20; IPv4 (as ::ffff:0:0/96) 10. */
function precedence(a: PingAddr): number {
  if (!a.v6) return 10;
  const b = a.addr;
  const zeros = (n: number): boolean => b.subarray(0, n).every((x) => x === 0);
  if (zeros(15) && b[15] === 1) return 50;
  if (b[0] === 0x20 && b[1] === 0x02) return 30;
  if (zeros(12)) return 20;
  if (zeros(10) && b[10] === 0xff && b[11] === 0xff) return 10;
  return 40;
}

/** get_scope: IPv4 127/8 and 169.254/16 link-local (2), the rest global (14); IPv6 a multicast's own, fe80::/10 and ::1 link-local, fec0::/10 site-local (5), the rest global. */
function scopeOf(a: PingAddr): number {
  if (!a.v6) {
    const hi = a.addr >>> 16;
    return hi >>> 8 === 127 || hi === 0xa9fe ? 2 : 14;
  }
  const b = a.addr;
  if (b[0] === 0xff) return b[1]! & 15;
  if ((b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) || (b.subarray(0, 15).every((x) => x === 0) && b[15] === 1)) return 2;
  return b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0 ? 5 : 14;
}

/** A link-local or multicast IPv6 answer: a UDP socket cannot connect() to it without a scope (EINVAL), which a hosts line never has. */
export const needsScope = (a: PingAddr): boolean => a.v6 && a.scope === undefined && (a.addr[0] === 0xff || (a.addr[0] === 0xfe && (a.addr[1]! & 0xc0) === 0x80));

/**
 * getaddrinfo's RFC 3484 sort (rfc3484_sort, glibc 2.36) of answers whose
 * `usable` says a UDP socket connect()s to them (rule 1): usable ones
 * first, then higher precedence (rule 6), then smaller scope (rule 8), then
 * the order they came in. Rules 2 to 5 and 9 (source address scope, label
 * and prefix) tell none of an emulated namespace's answers apart but
 * several usable ones of one family, which keep their order.
 */
export function sortAnswers(ai: readonly PingAddr[], usable: readonly boolean[]): PingAddr[] {
  const k = ai.map((a, i) => ({ a, i, u: usable[i] ? 0 : 1, p: -precedence(a), s: scopeOf(a) }));
  k.sort((x, y) => x.u - y.u || x.p - y.p || x.s - y.s || x.i - y.i);
  return k.map((x) => x.a);
}

/**
 * ping's loop over the sorted answers, for answer `i`: -v's line, then
 * one of the other family than -4 or -6 asked for is skipped (null), the
 * last one ending ping (EAI_ADDRFAMILY); else what ping4_run or ping6_run
 * makes of it (their refusals, exit 2). AI_CANONNAME's name is on the first
 * answer only (ping4_run's header names none for a later one).
 */
export function pingRun(l: PingLine, ai: readonly PingAddr[], i: number, out: string[]): PingArgs | null {
  const t = ai[i]!;
  const { host, operands, numeric, ai: _ai, canon, db, ...a } = l;
  if (a.verbose) out.push(`ai->ai_family: ${t.v6 ? 'AF_INET6' : 'AF_INET'}, ai->ai_canonname: '${i === 0 ? canon : ''}'`);
  if ((a.inet4 && t.v6) || (a.inet6 && !t.v6)) {
    if (i === ai.length - 1) throw new PingExit([`ping: ${host}: Address family for hostname not supported`], 2);
    return null;
  }
  if (t.v6) {
    if (a.source !== undefined) throw new PingExit([`ping: -I ${a.source}: a source address with an IPv6 target: not emulated by dpemu`], 2);
    if (operands > 1) throw new PingExit([`ping: ${operands - 1} gateways (a source route): not emulated by dpemu`], 2);
    // ping6_run: the header and statistics name the target as typed; a target with a colon is a number (no names).
    const names = numeric || host.includes(':') ? {} : { names: db };
    return { ...a, target: host, dst: ip6ToString(t.addr, 0), ipv6: true, ...(t.scope === undefined ? {} : { scope: t.scope }), ...names };
  }
  // ping4_run: -R, and -T but tsprespec, take no gateways.
  if (operands > 1 && a.ipOptions !== undefined && a.ipOptions !== 'tsprespec') throw new PingExit(USAGE.split('\n'), 2);
  if (operands > 1) throw new PingExit([`ping: ${operands - 1} gateways (a source route): not emulated by dpemu`], 2);
  // inet_aton's numbers print numerically, as typed; a name's header has AI_CANONNAME's name (none after the first answer).
  if (inetAton(host) >= 0) return { ...a, target: host, dst: ipToString(t.addr), ipv6: false };
  return { ...a, target: i === 0 ? canon : '', dst: ipToString(t.addr), ipv6: false, ...(numeric ? {} : { names: db }) };
}
