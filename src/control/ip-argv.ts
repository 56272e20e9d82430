// How `dpemu ip` reads its words: ip's options, NODE, the object, the
// `ip netns` verb, and whether a command writes. Apart from the
// implementation (ip-commands.ts, ip-netns.ts) so that the CLI loads only
// this to route a command (client.ts, cli/netns-exec.ts).
import { isBriefOption, isDetailsOption, isJsonOption, isOnelineOption, isPrettyOption, isStatsOption, matches } from '../netns/ip-tokens.js';
import type { Access } from './command.js';
import { ControlError } from './protocol.js';

/** iproute2 6.1's objects (ip.c's cmds[]): a word that begins none of them is refused as ip refuses it. */
const IPROUTE2_OBJECTS = ['address', 'addrlabel', 'maddress', 'route', 'rule', 'neighbor', 'neighbour', 'ntable', 'ntbl', 'link', 'l2tp', 'fou', 'ila', 'macsec', 'tunnel', 'tunl', 'tuntap', 'tap', 'token', 'tcpmetrics', 'tcp_metrics', 'monitor', 'xfrm', 'mroute', 'mrule', 'netns', 'netconf', 'vrf', 'sr', 'nexthop', 'mptcp', 'ioam', 'help', 'stats'];

/** iproute2 6.1's usage (ip.c), what ip prints on a -family without its word. */
const IP_USAGE = `Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }
       ip [ -force ] -batch filename
where  OBJECT := { address | addrlabel | amt | fou | help | ila | ioam | l2tp |
                   link | macsec | maddress | monitor | mptcp | mroute | mrule |
                   neighbor | neighbour | netconf | netns | nexthop | ntable |
                   ntbl | route | rule | sr | tap | tcpmetrics |
                   token | tunnel | tuntap | vrf | xfrm }
       OPTIONS := { -V[ersion] | -s[tatistics] | -d[etails] | -r[esolve] |
                    -h[uman-readable] | -iec | -j[son] | -p[retty] |
                    -f[amily] { inet | inet6 | mpls | bridge | link } |
                    -4 | -6 | -M | -B | -0 |
                    -l[oops] { maximum-addr-flush-attempts } | -br[ief] |
                    -o[neline] | -t[imestamp] | -ts[hort] | -b[atch] [filename] |
                    -rc[vbuf] [size] | -n[etns] name | -N[umeric] | -a[ll] |
                    -c[olor]}`;

const WRITE_VERBS = ['add', 'delete', 'change', 'chg', 'replace', 'append', 'prepend', 'flush', 'set'];

export interface IpArgv {
  ns?: string;
  node?: string;
  options: string[];
  words: string[];
  family?: string;
  /** -t[imestamp] or -ts[hort] (only ip monitor prints one). */
  timestamp?: 'long' | 'short';
}

/** -n NS, the family (-4, -6, -0, -f FAMILY) and ip's display options anywhere before OBJECT (passed on as given); the first other word is NODE. */
export function parseIpArgv(argv: readonly string[]): IpArgv {
  const out: IpArgv = { options: [], words: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    // ip.c reads "--opt" as "-opt".
    const o = a.startsWith('--') ? a.slice(1) : a;
    if (o === '-n' || o === '-netns') out.ns = argv[++i];
    else if (o === '-4' || o === '-6' || o === '-0') {
      out.options.push(o);
      out.family = o === '-4' ? 'inet' : o === '-6' ? 'inet6' : 'link';
    }
    else if (o.length > 1 && '-family'.startsWith(o)) {
      // ip.c's -family takes the next word whatever it is; without one (or with help) ip prints its usage.
      const f = argv[++i];
      if (f === undefined || f === 'help') throw new ControlError(IP_USAGE, 255);
      out.options.push(o, f);
      out.family = f;
    }
    // ip.c tries -timestamp before -tshort: -t is the first.
    else if (o.length > 1 && '-timestamp'.startsWith(o)) out.timestamp = 'long';
    else if (o.length > 2 && '-tshort'.startsWith(o)) out.timestamp = 'short';
    else if (o === '-M' || o === '-B') throw new ControlError(`Error: ${o === '-M' ? 'MPLS' : 'bridge'} (ip ${o}) is not emulated.`, 255);
    else if ([isStatsOption, isBriefOption, isDetailsOption, isJsonOption, isPrettyOption, isOnelineOption].some((is) => is(o))) out.options.push(o);
    else if (a.startsWith('-')) throw new ControlError(`Option "${o}" is unknown, try "ip -help".`, 255);
    else if (out.node === undefined) out.node = a;
    else break;
  }
  out.words = argv.slice(i) as string[];
  return out;
}

/** A write (add, delete, set, ... but not show) goes to the write path; the server checks with the same. */
export function ipAccess(argv: readonly string[]): Access {
  const { words } = parseIpArgv(argv);
  const verb = words[1];
  return verb !== undefined && WRITE_VERBS.some((v) => matches(verb, v)) && !matches(verb, 'show') ? 'write' : 'read';
}

/** The iproute2 object `word` names (its first prefix match in ip.c's order), or undefined. */
export const ipObject = (word: string): string | undefined => IPROUTE2_OBJECTS.find((o) => matches(word, o));

/** do_netns()'s verbs in the order it tries them: a prefix means the first it begins. */
const VERBS = ['list', 'show', 'lst', 'list-id', 'help', 'add', 'set', 'delete', 'identify', 'pids', 'exec', 'monitor', 'attach'] as const;
export type NetnsVerb = (typeof VERBS)[number];

/**
 * The verb `words[0]` means (none: list), after do_netns()'s check of the
 * name after it; throws ip's own errors (exit 255) for a bad name or verb.
 */
export function netnsVerb(words: readonly string[]): NetnsVerb {
  const [word, name] = words;
  if (word === undefined) return 'list';
  if (name !== undefined && (name.includes('/') || name === '.' || name === '..')) throw new ControlError(`Invalid netns name "${name}"`, 255);
  const v = VERBS.find((x) => matches(word, x));
  if (v === undefined) throw new ControlError(`Command "${word}" is unknown, try "ip netns help".`, 255);
  return v;
}
