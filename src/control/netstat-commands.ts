// netstat (net-tools 2.10) inside a namespace of the topology: `NODE -n NS
// -r|-i [netstat's options]`, what `ip netns exec NS netstat -rn` or
// `netstat -i` runs. -r is route's listing (route-commands.ts) with
// netstat's widths: MSS, Window and irtt by default, Metric, Ref and Use
// with -e, both with -ee. -i is one line a device as ife_print_short
// (ifconfig-commands.ts), up ones only without -a; -ie ifconfig's long
// form. The socket listings (-t, -u, -l, -p, -s, ...) are not emulated: an
// emulated namespace has no sockets but the tools dpemu runs.
import { getopt, GetoptError } from '../cli/getopt.js';
import type { NetNamespace } from '../netns/namespace.js';
import { alwaysRead } from './command.js';
import { listed, printLong, printShort } from './ifconfig-commands.js';
import { NetDb } from './netdb.js';
import type { CommandResponse } from './protocol.js';
import { AF_LIST, cache, fib, mainMade } from './route-commands.js';
import { netToolsFamily } from './net-tools-family.js';

/** usage(): to stdout for -h (status 0), else to stderr (status 3); the families always to stderr. */
const USAGE = `usage: netstat [-vWeenNcCF] [<Af>] -r         netstat {-V|--version|-h|--help}
       netstat [-vWnNcaeol] [<Socket> ...]
       netstat { [-vWeenNac] -i | [-cnNe] -M | -s [-6tuw] }

        -r, --route              display routing table
        -i, --interfaces         display interface table
        -g, --groups             display multicast group memberships
        -s, --statistics         display networking statistics (like SNMP)
        -M, --masquerade         display masqueraded connections

        -v, --verbose            be verbose
        -W, --wide               don't truncate IP addresses
        -n, --numeric            don't resolve names
        --numeric-hosts          don't resolve host names
        --numeric-ports          don't resolve port names
        --numeric-users          don't resolve user names
        -N, --symbolic           resolve hardware names
        -e, --extend             display other/more information
        -p, --programs           display PID/Program name for sockets
        -o, --timers             display timers
        -c, --continuous         continuous listing

        -l, --listening          display listening server sockets
        -a, --all                display all sockets (default: connected)
        -F, --fib                display Forwarding Information Base (default)
        -C, --cache              display routing cache instead of FIB
        -Z, --context            display SELinux security context for sockets

  <Socket>={-t|--tcp} {-u|--udp} {-U|--udplite} {-S|--sctp} {-w|--raw}
           {-x|--unix} --ax25 --ipx --netrom
  <AF>=Use '-6|-4' or '-A <af>' or '--<af>'; default: inet
  List of possible address families (which support routing):
`;
const VERSION = `net-tools 2.10
Fred Baumgarten, Alan Cox, Bernd Eckenfels, Phil Blundell, Tuan Hoang, Brian Micek and others
+NEW_ADDRT +RTF_IRTT +RTF_REJECT +FW_MASQUERADE +I18N +SELINUX
AF: (inet) +UNIX +INET +INET6 +IPX +AX25 +NETROM +X25 +ATALK +ECONET +ROSE -BLUETOOTH
HW:  +ETHER +ARC +SLIP +PPP +TUNNEL -TR +AX25 +NETROM +X25 +FR +ROSE +ASH +SIT +FDDI +HIPPI +HDLC/LAPB +EUI64 
`;
const LONG: Readonly<Record<string, string>> = {
  route: 'r', interfaces: 'i', numeric: 'n', symbolic: 'N', extend: 'e', all: 'a', verbose: 'v', wide: 'W', fib: 'F', cache: 'C',
  inet: '4', version: 'V', help: 'h',
};
/** netstat -r's route widths for 0, 1 and 2 -e (rprint_fib's ext). */
const ROUTE_EXT = [2, 1, 3];

const refuse = (what: string): CommandResponse => ({
  ok: false, stdout: '', stderr: `netstat: ${what} is not emulated by dpemu's netstat (an emulated namespace has no sockets); it lists -r (routes) and -i (devices)\n`, exit: 1,
});

/** `netstat ...` in `el`'s namespace: netstat's output and exit status. */
export function runNetstat(el: NetNamespace, rest: readonly string[], db = new NetDb('/etc', el.name)): CommandResponse {
  const words: string[] = [];
  for (const w of rest) {
    if (!w.startsWith('--') || w === '--') words.push(w);
    else if (LONG[w.slice(2)] !== undefined) words.push(`-${LONG[w.slice(2)]}`);
    else return refuse(w);
  }
  let route = false, iface = false, numeric = false, all = false, fibToo = false, cacheToo = false, ext = 0;
  let stop: CommandResponse | undefined;
  try {
    const operands = getopt('netstat', words, 'A:CFMacdeghilnNoprsStuUvVWw2fx64?Z', (c, arg) => {
      if (stop) return;
      if (c === 'r') route = true;
      else if (c === 'i') iface = true;
      else if (c === 'n') numeric = true;
      else if (c === 'N' || c === 'v' || c === 'W' || c === '4') return;
      else if (c === 'e') ext++;
      else if (c === 'a') all = true;
      else if (c === 'F') fibToo = true;
      else if (c === 'C') cacheToo = true;
      else if (c === 'A' && arg === 'inet') return;
      else if (c === 'V') stop = { ok: true, stdout: VERSION, stderr: '', exit: 0 };
      else if (c === 'h' || c === '?') stop = { ok: true, stdout: USAGE, stderr: AF_LIST, exit: 0 };
      else stop = refuse(c === 'A' ? `-A ${arg}` : `-${c}`);
    });
    if (!stop && operands.length > 0) stop = refuse(`'${operands[0]}'`);
  } catch (e) {
    if (!(e instanceof GetoptError)) throw e;
    return { ok: false, stdout: '', stderr: `${e.message}\n${USAGE}${AF_LIST}`, exit: 3 };
  }
  if (stop) return stop;
  if (route && iface) return { ok: false, stdout: '', stderr: USAGE + AF_LIST, exit: 3 };
  if (route) {
    const level = ROUTE_EXT[Math.min(ext, 2)]!;
    let out = '';
    if (fibToo || !cacheToo) {
      out += fib(el.ns, level, numeric ? undefined : db);
      // rprint_fib's status 1 where /proc/net/route is empty (no table main): netstat exits with it.
      if (!mainMade(el.ns)) return { ok: false, stdout: out, stderr: '', exit: 1 };
    }
    if (cacheToo) out += cache(level);
    return { ok: true, stdout: out, stderr: '', exit: 0 };
  }
  if (iface) {
    const links = listed(el, all);
    const body = ext > 0 ? links.map((l) => printLong(el, l)).join('')
      : `Iface             MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg\n${links.map((l) => printShort(el, l)).join('')}`;
    return { ok: true, stdout: `Kernel Interface table\n${body}`, stderr: '', exit: 0 };
  }
  return refuse('a socket listing');
}

export const netstat = netToolsFamily('netstat', alwaysRead, (el, rest) => runNetstat(el, rest));
