// ping's command line as iputils 20221126 reads it (getopt with GNU
// permutation, its optstring, strtol_or_err and ping_strtod), checked
// against the real ping on Debian bookworm: the same messages and exit
// statuses. dpemu emulates the options a reachability check uses; ping's
// other valid options are refused with a message saying so.
import { inetAton } from '../control/inet-aton.js';
import { parseIpv4, ipToString } from '../wire/addr.js';

/** iputils 20221126's optstring (ping.c main): options that take an argument are followed by ':'. */
const OPTSTRING = 'h?4bRT:6F:N:aABc:CdDe:fi:I:l:Lm:M:nOp:qQ:rs:S:t:UvVw:W:';
/** What dpemu emulates (and -4 and -n, which change nothing here: IPv4 only, and a numeric target prints numerically). */
const SUPPORTED = 'ciIqstwW4n';
const INT_MAX = 2147483647;
const LONG_MAX = '9223372036854775807';

export interface PingArgs {
  /** The destination as typed (the header's hostname) and as a dotted quad. */
  target: string;
  dst: string;
  /** -c; 0: until interrupted. */
  count: number;
  /** -i in ms. */
  interval: number;
  /** -W in ms (MAXWAIT, 10 s, by default). */
  linger: number;
  /** -w in s; 0: none. */
  deadline: number;
  /** -s */
  size: number;
  /** -t */
  ttl?: number;
  /** -I: an interface, or a source address. */
  device?: string;
  source?: string;
  quiet: boolean;
}

/** How ping ends without running: its message lines on stderr and exit status. */
export class PingExit extends Error {
  constructor(
    readonly lines: string[],
    readonly exit: number,
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

/** strtol_or_err: a whole decimal number in [min, max], else `invalid argument: 'X'` (exit 1). */
function integer(text: string, min: number, max: number, maxText = String(max)): number {
  if (!/^[ \t]*[+-]?\d+$/.test(text)) throw new PingExit([`ping: invalid argument: '${text}'`], 1);
  const n = Number(text);
  if (n < min || n > max) throw new PingExit([`ping: invalid argument: '${text}': out of range: ${min} <= value <= ${maxText}`], 1);
  return n;
}

/** ping_strtod as 20221126 has it: a number, or its leading part with a warning about the rest ("garbage"). */
function seconds(text: string, warn: string[]): number {
  const m = /^[ \t]*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text);
  const n = m ? Number(m[0]) : 0;
  const rest = text.slice(m ? m[0].length : 0);
  if (rest !== '') warn.push(`ping: option argument contains garbage: ${rest}`, 'ping: this will become fatal error in the future');
  return n;
}

/** Parse ping's words; `warn` gets the warnings it prints and goes on after. */
export function parsePingArgs(argv: readonly string[], warn: string[]): PingArgs {
  const a: Omit<PingArgs, 'target' | 'dst'> = { count: 0, interval: 1000, linger: 10_000, deadline: 0, size: 56, quiet: false };
  const operands: string[] = [];
  const usage = (first: string): PingExit => new PingExit([first, ...USAGE.split('\n')], 2);
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (!w.startsWith('-') || w === '-') {
      operands.push(w);
      continue;
    }
    // Clustered flags (-nq), and an argument attached (-c3) or in the next word.
    for (let j = 1; j < w.length; j++) {
      const c = w[j]!;
      const at = OPTSTRING.indexOf(c);
      if (c === ':' || at < 0) throw usage(`ping: invalid option -- '${c}'`);
      let arg: string | undefined;
      if (OPTSTRING[at + 1] === ':') {
        arg = j + 1 < w.length ? w.slice(j + 1) : argv[++i];
        if (arg === undefined) throw usage(`ping: option requires an argument -- '${c}'`);
        j = w.length;
      }
      if (c === 'h' || c === '?') throw new PingExit(USAGE.split('\n'), 2);
      if (!SUPPORTED.includes(c)) {
        throw new PingExit([`ping: -${c}: not emulated by dpemu (an emulated namespace's ping takes -c -i -I -n -q -s -t -w -W)`], 2);
      }
      switch (c) {
        case 'c':
          a.count = integer(arg!, 1, Number(LONG_MAX), LONG_MAX);
          break;
        case 'i': {
          const s = seconds(arg!, warn);
          if (s > INT_MAX / 1000) throw new PingExit([`ping: bad timing interval: ${arg}`], 2);
          a.interval = Math.max(0, Math.trunc(s * 1000));
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
        case 't':
          a.ttl = integer(arg!, 0, 255);
          break;
        case 'I':
          // An address (inet_pton) binds the socket; anything else is a device.
          if (parseIpv4(arg!) !== null) a.source = arg!;
          else a.device = arg!;
          break;
        case 'q':
          a.quiet = true;
          break;
      }
    }
  }
  if (operands.length === 0) throw new PingExit(['ping: usage error: Destination address required'], 1);
  const target = operands[operands.length - 1]!;
  if (operands.length > 1) throw new PingExit([`ping: ${operands.length - 1} gateways (a source route): not emulated by dpemu`], 2);
  const addr = inetAton(target);
  if (addr < 0) throw new PingExit([`ping: ${target}: dpemu pings addresses only (an emulated namespace looks up no names)`], 2);
  return { ...a, target, dst: ipToString(addr) };
}
