// route (net-tools 2.10) inside a namespace of the topology: `NODE -n NS
// [route's options]`, what `ip netns exec NS route ...` runs. It prints
// rprint_fib's reading of /proc/net/route as the kernel writes it for the
// namespace (fib_route_seq_show): table main only, in the trie's order,
// without broadcast and multicast routes; flags U, G (a gateway), H (a /32)
// and ! (unreachable, prohibit); Metric, Ref and Use (both 0), Iface (`*`
// without a device); MSS, Window and irtt (-e, -ee) from the route's advmss,
// window and rtt. -C prints the routing cache's titles: the kernel has kept
// no cache since 3.6. Without -n a destination is named from /etc/networks
// (a /32 from /etc/hosts) and a gateway from /etc/hosts (netdb.ts), as route
// does where no name server answers. A namespace whose table main the kernel
// never made (Netns.tableMade: lo never up, no route asked into main) has an empty
// /proc/net/route: the titles, and status 1. add and del: route-write.ts.
import { getopt, GetoptError, longToShort } from '../cli/getopt.js';
import { formatIp4, prefixMask } from '../netns/addr.js';
import { RT_TABLE_MAIN } from '../netns/names.js';
import type { Netns } from '../netns/netns.js';
import type { Route } from '../netns/fib.js';
import { NetDb } from './netdb.js';
import type { CommandResponse } from './protocol.js';
import { netToolsFamily } from './net-tools-family.js';
import { routeAccess } from './net-tools-argv.js';
import { routeWrite } from './route-write.js';
import { aroundChange } from '../netns/netlink-events.js';

const RTF_UP = 0x1, RTF_GATEWAY = 0x2, RTF_HOST = 0x4, RTF_REJECT = 0x200;

/** usage(): the text to stdout (stderr for a stray word), the address families always to stderr. */
const USAGE = `Usage: route [-nNvee] [-FC] [<AF>]           List kernel routing tables
       route [-v] [-FC] {add|del|flush} ...  Modify routing table for AF.

       route {-h|--help} [<AF>]              Detailed usage syntax for specified AF.
       route {-V|--version}                  Display version/author and exit.

        -v, --verbose            be verbose
        -n, --numeric            don't resolve names
        -e, --extend             display other/more information
        -F, --fib                display Forwarding Information Base (default)
        -C, --cache              display routing cache instead of FIB

  <AF>=Use -4, -6, '-A <af>' or '--<af>'; default: inet
  List of possible address families (which support routing):
`;
export const AF_LIST = `    inet (DARPA Internet) inet6 (IPv6) ax25 (AMPR AX.25) 
    netrom (AMPR NET/ROM) rose (AMPR ROSE) ipx (Novell IPX) 
    ddp (Appletalk DDP) x25 (CCITT X.25) 
`;
const VERSION = `net-tools 2.10
+NEW_ADDRT +RTF_IRTT +RTF_REJECT +I18N +SELINUX
AF: (inet) +UNIX +INET +INET6 +IPX +AX25 +NETROM +X25 +ATALK +ECONET +ROSE -BLUETOOTH
HW:  +ETHER +ARC +SLIP +PPP +TUNNEL -TR +AX25 +NETROM +X25 +FR +ROSE +ASH +SIT +FDDI +HIPPI +HDLC/LAPB +EUI64 
`;
const LONG: Readonly<Record<string, string>> = {
  extend: 'e', verbose: 'v', version: 'V', numeric: 'n', symbolic: 'N', protocol: 'A', cache: 'C', fib: 'F', help: 'h', inet: '4', inet6: '6',
};
/** Families route knows (-A); it routes inet here, and dpemu emulates no other's table. */
const FAMILIES = new Set(['inet', 'inet6', 'ax25', 'netrom', 'rose', 'ipx', 'ddp', 'x25']);

const usage = (first: string): CommandResponse => ({ ok: true, stdout: USAGE, stderr: first + AF_LIST, exit: 0 });

/** One /proc/net/route line's fields. */
function procFields(ns: Netns, r: Route): { iface: string; flags: number; mss: number; window: number; irtt: number } {
  let flags = RTF_UP;
  if (r.type === 'unreachable' || r.type === 'prohibit') flags |= RTF_REJECT;
  if (r.gateway !== 0) flags |= RTF_GATEWAY;
  if (r.dstLen === 32) flags |= RTF_HOST;
  const value = (name: string) => r.metrics.find((m) => m[0] === name)?.[2] ?? '0';
  const advmss = Number(value('advmss'));
  // rtt as ip-route-syntax.ts keeps it: whole ms ("100ms"), or seconds from 1000 ms on; /proc prints fib_rtt >> 3, the ms.
  const rtt = /^([\d.]+)(m?)s$/.exec(value('rtt'));
  const irtt = rtt ? Math.floor(Number(rtt[1]) * (rtt[2] ? 1 : 1000)) : 0;
  return { iface: (r.dev && ns.linkByIndex(r.dev)?.name) || '*', flags, mss: advmss ? advmss + 40 : 0, window: Number(value('window')), irtt };
}

function flagText(f: number): string {
  let s = '';
  if (f & RTF_UP) s += 'U';
  if (f & RTF_GATEWAY) s += 'G';
  if (f & RTF_REJECT) s = '!';
  if (f & RTF_HOST) s += 'H';
  return s;
}

/** Whether the kernel's namespace has table main (Netns.tableMade). */
export const mainMade = (ns: Netns): boolean => !!ns.fib.get(RT_TABLE_MAIN)?.created;

/** rprint_fib; `ext` 1 (the default), 2 (-e), 3 (-ee) or 0 (the titles alone). */
export function fib(ns: Netns, ext: number, db: NetDb | undefined): string {
  let out = 'Kernel IP routing table\n';
  out += ['', 'Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n',
    'Destination     Gateway         Genmask         Flags   MSS Window  irtt Iface\n',
    'Destination     Gateway         Genmask         Flags Metric Ref    Use Iface    MSS   Window irtt\n'][ext]!;
  const routes = (ns.fib.get(RT_TABLE_MAIN)?.routes() ?? []).filter((r) => r.type !== 'broadcast' && r.type !== 'multicast');
  for (const r of routes) {
    const f = procFields(ns, r);
    // INET_sprintmask / INET_rresolve without -n: 0.0.0.0 is "default"; a host from /etc/hosts, a network from /etc/networks.
    const net = (!db ? formatIp4(r.dst) : r.dst === 0 ? 'default' : (f.flags & RTF_HOST ? db.hostByAddr(r.dst) : db.netByAddr(r.dst)) ?? formatIp4(r.dst)).slice(0, 15);
    const gate = (db && r.gateway !== 0 ? db.hostByAddr(r.gateway) ?? formatIp4(r.gateway) : formatIp4(r.gateway)).slice(0, 15);
    const mask = formatIp4(prefixMask(r.dstLen));
    const flags = flagText(f.flags);
    const reject = f.flags & RTF_REJECT;
    if (ext === 1) {
      out += reject ? `${net.padEnd(15)} -               ${mask.padEnd(15)} ${flags.padEnd(5)} ${String(r.priority).padEnd(6)} -  ${'0'.padStart(7)} -\n`
        : `${net.padEnd(15)} ${gate.padEnd(15)} ${mask.padEnd(15)} ${flags.padEnd(5)} ${String(r.priority).padEnd(6)} ${'0'.padEnd(2)} ${'0'.padStart(7)} ${f.iface}\n`;
    } else if (ext === 2) {
      out += reject ? `${net.padEnd(15)} -               ${mask.padEnd(15)} ${flags.padEnd(5)}     - -          - -\n`
        : `${net.padEnd(15)} ${gate.padEnd(15)} ${mask.padEnd(15)} ${flags.padEnd(5)} ${String(f.mss).padStart(5)} ${String(f.window).padEnd(5)} ${String(f.irtt).padStart(6)} ${f.iface}\n`;
    } else if (ext === 3) {
      out += reject ? `${net.padEnd(15)} -               ${mask.padEnd(15)} ${flags.padEnd(5)} ${String(r.priority).padEnd(6)} -  ${'0'.padStart(7)} -        -     -      -\n`
        : `${net.padEnd(15)} ${gate.padEnd(15)} ${mask.padEnd(15)} ${flags.padEnd(5)} ${String(r.priority).padEnd(6)} ${'0'.padEnd(3)} ${'0'.padStart(6)} ${f.iface.slice(0, 6).padEnd(6)}   ${String(f.mss).padEnd(5)} ${String(f.window).padEnd(6)} ${f.irtt}\n`;
    }
  }
  return out;
}

/** rprint_cache: its titles (/proc/net/rt_cache has none but its own since 3.6). */
export function cache(ext: number): string {
  return 'Kernel IP routing cache\n' + ['', 'Source          Destination     Gateway         Flags Metric Ref    Use Iface\n',
    'Source          Destination     Gateway         Flags   MSS Window  irtt Iface\n',
    'Source          Destination     Gateway         Flags Metric Ref    Use Iface    MSS   Window irtt  TOS HHRef HHUptod     SpecDst\n'][ext]!;
}

/** `route ...` in `ns`: route's output and exit status. */
export function runRoute(ns: Netns, rest: readonly string[], db: NetDb | undefined = new NetDb('/etc', ns.name)): CommandResponse {
  let ext = 0, numeric = false, fibToo = false, cacheToo = false, family = 'inet';
  let stop: CommandResponse | undefined;
  let operands: string[];
  try {
    // route's main renames -net and -host (#net, #host) for getopt to leave them among the operands.
    const words = rest.map((w) => (w === '-net' || w === '-host' ? `#${w.slice(1)}` : w));
    operands = getopt('route', longToShort('route', words, LONG, 'A'), 'A:eCFhnN64Vv?', (c, arg) => {
      if (stop) return;
      if (c === 'e') ext++;
      else if (c === 'n') numeric = true;
      else if (c === 'F') fibToo = true;
      else if (c === 'C') cacheToo = true;
      else if (c === '4') family = 'inet';
      else if (c === '6') family = 'inet6';
      else if (c === 'A') family = arg!;
      else if (c === 'V') stop = { ok: true, stdout: VERSION, stderr: '', exit: 0 };
      else if (c === 'h' || c === '?') stop = usage('');
    });
  } catch (e) {
    if (e instanceof GetoptError) return usage(`${e.message}\n`);
    throw e;
  }
  if (stop) return stop;
  if (!FAMILIES.has(family)) return { ok: false, stdout: '', stderr: `Unknown address family \`${family}'.\n`, exit: 1 };
  if (family !== 'inet') return { ok: false, stdout: '', stderr: `route: dpemu's route lists and changes the inet (IPv4) routing table only; the ${family} one: ip -6 route\n`, exit: 1 };
  if (operands.length > 0) {
    const verb = operands[0] === 'delete' ? 'del' : operands[0]!;
    if (['add', 'del', 'flush'].includes(verb)) return routeWrite(ns, verb, operands.slice(1), cacheToo, db ?? new NetDb('/etc', ns.name));
    return { ok: false, stdout: '', stderr: USAGE + AF_LIST, exit: 3 };
  }
  // FLAG_EXT is two bits that each -e adds 1 to, from 1: a third -e makes it 0 (the titles alone), a fourth 1 again.
  const level = (ext + 1) & 3;
  const names = numeric ? undefined : db;
  let out = '';
  if (fibToo || !cacheToo) {
    out += fib(ns, level, names);
    if (!mainMade(ns)) return { ok: false, stdout: out, stderr: '', exit: 1 };
  }
  if (cacheToo) out += cache(level);
  return { ok: true, stdout: out, stderr: '', exit: 0 };
}

export const route = netToolsFamily('route', routeAccess, (el, rest, ctx, argv) => {
  const write = routeAccess(argv) === 'write';
  // ip monitor's listeners hear what a write changes.
  const notify = write ? aroundChange(el.ns, 'route') : null;
  try {
    const r = runRoute(el.ns, rest, new NetDb('/etc', el.name));
    if (r.exit === 0 && write) ctx.invalidate(`${el.node}:${el.name} route`);
    return r;
  } finally {
    notify?.();
  }
});
