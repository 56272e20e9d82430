// arp (net-tools 2.10) inside a namespace of the topology: `NODE -n NS
// [arp's options] [HOST]`, what `ip netns exec NS arp ...` runs. The listing
// is arp's own print of /proc/net/arp as the kernel writes it for the
// namespace's ARP table (arp_seq_show): every entry but NOARP and NONE ones,
// ATF_COM while the state is valid, ATF_PERM when PERMANENT, then the proxy
// entries (ATF_PUBL|ATF_PERM). Names are not looked up: an emulated namespace
// reaches no name server: without -n an address is named from /etc/hosts
// (netdb.ts, the files `ip netns exec` would show it), else printed as -n does.
// -s and -d change the table as SIOCSARP and SIOCDARP do: a PERMANENT entry
// (STALE with `temp`), on the device the words name or the one a link-scope
// route to the address leaves by; -d removes the entry.
import { getopt, GetoptError, longToShort } from '../cli/getopt.js';
import { formatIp4, formatMac, type Ip4, type Mac } from '../netns/addr.js';
import { RT_SCOPE_LINK } from '../netns/names.js';
import type { NetNamespace } from '../netns/namespace.js';
import { NUD, NUD_VALID } from '../netns/neighbour.js';
import { LOOPBACK_IFINDEX, type Netns } from '../netns/netns.js';
import { inetAton } from './inet-aton.js';
import { EAI_AGAIN, NetDb } from './netdb.js';
import { ARP_LONG, arpAccess } from './net-tools-argv.js';
import type { CommandResponse } from './protocol.js';
import { netToolsFamily } from './net-tools-family.js';

const ATF_COM = 0x02, ATF_PERM = 0x04, ATF_PUBL = 0x08;
const ARPHRD_ETHER = 1, ARPHRD_LOOPBACK = 772;

/** usage(): to stdout for -h (status 0), else to stderr (status 3); the hardware types always to stderr. */
const USAGE_HEAD = `Usage:
  arp [-vn]  [<HW>] [-i <if>] [-a] [<hostname>]             <-Display ARP cache
  arp [-v]          [-i <if>] -d  <host> [pub]               <-Delete ARP entry
  arp [-vnD] [<HW>] [-i <if>] -f  [<filename>]            <-Add entry from file
  arp [-v]   [<HW>] [-i <if>] -s  <host> <hwaddr> [temp]            <-Add entry
  arp [-v]   [<HW>] [-i <if>] -Ds <host> <if> [netmask <nm>] pub          <-''-

        -a                       display (all) hosts in alternative (BSD) style
        -e                       display (all) hosts in default (Linux) style
        -s, --set                set a new ARP entry
        -d, --delete             delete a specified entry
        -v, --verbose            be verbose
        -n, --numeric            don't resolve names
        -i, --device             specify network interface (e.g. eth0)
        -D, --use-device         read <hwaddr> from given device
        -A, -p, --protocol       specify protocol family
        -f, --file               read new entries from file or from /etc/ethers

  <HW>=Use '-H <hw>' to specify hardware address type. Default: ether
  List of possible hardware types (which support ARP):
`;
const HW_LIST = `    ash (Ash) ether (Ethernet) ax25 (AMPR AX.25) 
    netrom (AMPR NET/ROM) rose (AMPR ROSE) arcnet (ARCnet) 
    dlci (Frame Relay DLCI) fddi (Fiber Distributed Data Interface) hippi (HIPPI) 
    irda (IrLAP) x25 (generic X.25) eui64 (Generic EUI-64) 
`;
const USAGE = USAGE_HEAD + HW_LIST;
const VERSION = `net-tools 2.10
+I18N +SELINUX
AF: (inet) +UNIX +INET +INET6 +IPX +AX25 +NETROM +X25 +ATALK +ECONET +ROSE -BLUETOOTH
HW: (ether) +ETHER +ARC +SLIP +PPP +TUNNEL -TR +AX25 +NETROM +X25 +FR +ROSE +ASH +SIT +FDDI +HIPPI +HDLC/LAPB +EUI64 
`;
/** Hardware types net-tools knows that resolve addresses (print_hwlist(1)); only ether's type (1) is in a namespace's table. */
const ARP_HW = new Set(['ash', 'ether', 'ax25', 'netrom', 'rose', 'arcnet', 'dlci', 'fddi', 'hippi', 'irda', 'x25', 'eui64']);
/** The others this build knows (hw.c, the features -V lists): known, without ARP. */
const OTHER_HW = new Set(['unspec', 'loop', 'slip', 'cslip', 'slip6', 'cslip6', 'adaptive', 'ppp', 'tunnel', 'hdlc', 'lapb', 'frad', 'sit']);
/** Address families this build knows (-A, -p); the kernel's ARP takes inet only. */
const FAMILIES = new Set(['unix', 'local', 'inet', 'inet6', 'ipx', 'ax25', 'netrom', 'x25', 'ddp', 'ec', 'rose']);

const STRERROR: Record<string, string> = { ENETUNREACH: 'Network is unreachable', ENODEV: 'No such device', EINVAL: 'Invalid argument', EHOSTUNREACH: 'No route to host', EACCES: 'Permission denied' };

class ArpExit extends Error {
  constructor(readonly stdout: string, readonly stderr: string, readonly exit: number) {
    super(stderr);
  }
}
const fail = (stderr: string, exit = 255, stdout = ''): never => {
  throw new ArpExit(stdout, stderr, exit);
};

interface ArpOpts {
  what: 'show' | 'all' | 'file' | 'delete' | 'set';
  linux: boolean;
  verbose: boolean;
  useDevice: boolean;
  numeric: boolean;
  hw?: string;
  device: string;
}

/** getopt_long over "A:H:adfp:nsei:t:vh?DNV": the options in order, the operands after. */
function parseArp(rest: readonly string[], warn: (s: string) => void): { o: ArpOpts; args: string[] } {
  const o: ArpOpts = { what: 'show', linux: false, verbose: false, useDevice: false, numeric: false, device: '' };
  let family = 'inet';
  let args: string[];
  try {
    args = getopt('arp', longToShort('arp', rest, ARP_LONG, 'AHi'), 'A:H:adfp:nsei:t:vh?DNV', (c, arg) => {
      if (c === 'a') o.what = 'all';
      else if (c === 'f') o.what = 'file';
      else if (c === 'd') o.what = 'delete';
      else if (c === 's') o.what = 'set';
      else if (c === 'e') o.linux = true;
      else if (c === 'D') o.useDevice = true;
      else if (c === 'N') warn('arp: -N not yet supported.\n');
      else if (c === 'v') o.verbose = true;
      else if (c === 'A' || c === 'p') {
        if (!FAMILIES.has(arg!)) fail(`arp: ${arg}: unknown address family.\n`);
        family = arg!;
      } else if (c === 'H' || c === 't') {
        if (!ARP_HW.has(arg!) && !OTHER_HW.has(arg!)) fail(`arp: ${arg}: unknown hardware type.\n`);
        o.hw = arg!;
      } else if (c === 'i') o.device = arg!.slice(0, 15);
      else if (c === 'V') fail('', 0, VERSION);
      else if (c === 'n') o.numeric = true;
      else if (c === 'h') fail(HW_LIST, 0, USAGE_HEAD);
      else fail(USAGE, 3); // -?
    });
  } catch (e) {
    if (e instanceof GetoptError) fail(`${e.message}\n${USAGE}`, 3);
    throw e;
  }
  if (family !== 'inet') fail(`arp: ${family}: kernel only supports 'inet'.\n`);
  if (o.hw !== undefined && !ARP_HW.has(o.hw)) fail(`arp: ${o.hw}: hardware type without ARP support.\n`);
  return { o, args: args! };
}

/** A host as INET_input reads it: "default", an address inet_aton takes, or a name /etc/hosts gives (herror's words when none does). */
function inetInput(host: string, db: NetDb): Ip4 {
  if (host === 'default') return 0;
  const a = inetAton(host);
  if (a >= 0) return a;
  const named = db.hostByName(host);
  if (typeof named === 'string') fail(`${host}: ${named === EAI_AGAIN ? 'Host name lookup failure' : 'Unknown host'}\n`);
  return named as number;
}

/** ether.c's in_ether: pairs of hex digits (or one before a colon), colons optional, six bytes at most. */
export function etherInput(text: string): Mac | undefined {
  const bytes = [0, 0, 0, 0, 0, 0];
  let p = 0, i = 0;
  const hex = (c: string | undefined) => (c !== undefined && /^[0-9a-fA-F]$/.test(c) ? parseInt(c, 16) : -1);
  while (p < text.length && i < 6) {
    let v = hex(text[p++]);
    if (v < 0) return undefined;
    const c = text[p];
    const lo = hex(c);
    if (lo >= 0) v = (v << 4) | lo;
    else if (c !== ':' && c !== undefined) return undefined;
    if (c !== undefined) p++;
    bytes[i++] = v;
    if (text[p] === ':') p++;
  }
  if (i === 6 && p < text.length) return undefined;
  return bytes.reduce((m, b) => m * 256 + b, 0);
}

/** One /proc/net/arp line as arp reads it. */
interface ArpRow {
  ip: string;
  type: number;
  flags: number;
  hwa: string;
  dev: string;
}

/** /proc/net/arp's lines (arp_seq_show): the table's entries, then the proxy ones. */
function procArp(ns: Netns): ArpRow[] {
  const devName = (i: number) => ns.linkByIndex(i)?.name ?? '*';
  const rows: ArpRow[] = [];
  for (const e of ns.neigh.entries()) {
    if (!(e.state & ~NUD.NOARP)) continue; // NEIGH_SEQ_SKIP_NOARP: NOARP and NONE entries
    const flags = e.state & NUD.PERMANENT ? ATF_PERM | ATF_COM : e.state & NUD_VALID ? ATF_COM : 0;
    rows.push({ ip: formatIp4(e.ip), type: e.ifindex === LOOPBACK_IFINDEX ? ARPHRD_LOOPBACK : ARPHRD_ETHER, flags, hwa: formatMac(e.mac), dev: devName(e.ifindex) });
  }
  for (const p of ns.neigh.proxyEntries()) rows.push({ ip: formatIp4(p.ip), type: ARPHRD_ETHER, flags: ATF_PUBL | ATF_PERM, hwa: '00:00:00:00:00:00', dev: devName(p.ifindex) });
  return rows;
}

const HW_NAMES: Record<number, string> = { [ARPHRD_ETHER]: 'ether', [ARPHRD_LOOPBACK]: 'loop' };

/** arp_disp_2: the Linux style (-e, and the default), its title before the first line. */
function linuxLine(name: string, r: ArpRow): string {
  let flags = '';
  if (r.flags & ATF_COM) flags += 'C';
  if (r.flags & ATF_PERM) flags += 'M';
  if (r.flags & ATF_PUBL) flags += 'P';
  const hw = !(r.flags & ATF_COM) ? (r.flags & ATF_PUBL ? `${'*'.padEnd(8)}${'<from_interface>'.padEnd(20)}` : `${''.padEnd(8)}${'(incomplete)'.padEnd(20)}`)
    : `${(HW_NAMES[r.type] ?? 'ether').padEnd(8)}${r.hwa.padEnd(20)}`;
  return `${name.slice(0, 23).padEnd(23)}  ${hw}${flags.padEnd(6)}${''.padEnd(15)} ${r.dev}\n`;
}

/** arp_disp: the BSD style (-a). */
function bsdLine(name: string, r: ArpRow): string {
  let s = `${name} (${r.ip}) at `;
  if (!(r.flags & ATF_COM)) s += r.flags & ATF_PUBL ? '<from_interface> ' : '<incomplete> ';
  else s += `${r.hwa} [${HW_NAMES[r.type] ?? 'ether'}] `;
  if (r.flags & ATF_PERM) s += 'PERM ';
  if (r.flags & ATF_PUBL) s += 'PUB ';
  return `${s}on ${r.dev}\n`;
}

/** arp_show. */
function show(ns: Netns, o: ArpOpts, name: string | undefined, db: NetDb): string {
  const host = name === undefined ? '' : formatIp4(inetInput(name, db));
  const rows = procArp(ns);
  const hwType = o.hw === undefined ? undefined : o.hw === 'ether' ? ARPHRD_ETHER : -1;
  let out = '';
  let showed = 0;
  const linux = o.linux || o.what === 'show';
  for (const r of rows) {
    if (hwType !== undefined && r.type !== hwType) continue;
    if (host && r.ip !== host) continue;
    if (o.device && r.dev !== o.device) continue;
    if (linux && showed === 0) out += 'Address                  HWtype  HWaddress           Flags Mask            Iface\n';
    showed++;
    // Without -n: the address's name, "?" (the address, in Linux style) where it has none.
    const named = o.numeric ? undefined : db.hostByAddr(inetAton(r.ip));
    out += linux ? linuxLine(named ?? r.ip, r) : bsdLine(named ?? '?', r);
  }
  if (o.verbose) out += `Entries: ${rows.length}\tSkipped: ${rows.length - showed}\tFound: ${showed}\n`;
  if (!showed) {
    if (host && o.what !== 'all') out += `${name} (${host}) -- no entry\n`;
    else if (o.hw !== undefined || host || o.device) out += `arp: in ${rows.length} entries no match found.\n`;
  }
  return out;
}

/** The device of a SIOCSARP/SIOCDARP request: the one named, else where a link-scope route to the address leads (lo for a local one). */
function arpDevice(ns: Netns, ip: Ip4, device: string, call: string): number {
  if (device) {
    const l = ns.link(device);
    if (!l) fail(`${call}: ${STRERROR.ENODEV}\n`);
    return l!.index;
  }
  const r = ns.lookup({ dst: ip, tos: 0, scope: RT_SCOPE_LINK, oif: 0, src: 0, iif: LOOPBACK_IFINDEX, mark: 0, proto: 0, sport: 0, dport: 0, uid: 0 });
  if (r.error || !r.route) fail(`${call}: ${STRERROR[r.error ?? 'ENETUNREACH'] ?? r.error}\n`);
  // A local address's output route leads to lo (ip_route_output_key: dev_out = loopback).
  return r.route!.type === 'local' ? LOOPBACK_IFINDEX : r.route!.dev;
}

/** arp -s HOST HWADDR [temp] [dev IF] ...: SIOCSARP. */
function set(el: NetNamespace, o: ArpOpts, args: string[], db: NetDb): void {
  const ns = el.ns;
  if (args[0] === undefined) fail('arp: need host name\n');
  const ip = inetInput(args[0]!, db);
  if (args[1] === undefined) fail('arp: need hardware address\n');
  let mac: Mac | undefined;
  if (o.useDevice) {
    const l = ns.link(args[1]!);
    if (!l) fail(`arp: cant get HW-Address for \`${args[1]}': ${STRERROR.ENODEV}.\n`);
    mac = l!.mac;
    if (o.hw !== undefined && (o.hw !== 'ether' || l!.kind === 'loopback')) fail('arp: protocol type mismatch.\n');
  } else {
    mac = o.hw === undefined || o.hw === 'ether' ? etherInput(args[1]!) : undefined;
    if (mac === undefined) fail('arp: invalid hardware address\n');
  }
  let perm = true;
  let device = o.device;
  for (let i = 2; i < args.length; i++) {
    const w = args[i]!;
    if (w === 'temp') perm = false;
    else if (w === 'priv' || w === 'trail') continue; // trail: a flag the kernel does not read
    else if (w === 'dev') {
      if (args[++i] === undefined) fail(USAGE, 3);
      device = args[i]!.slice(0, 15);
    } else if (w === 'pub' || w === 'dontpub' || w === 'auto' || w === 'netmask') fail(`arp: '${w}' (a proxy ARP entry) is not supported by dpemu's arp; use ip neigh add proxy ADDR dev DEV\n`);
    else fail(USAGE, 3);
  }
  const ifindex = arpDevice(ns, ip, device, 'SIOCSARP');
  // arp_req_set: the hardware type must be the device's.
  const l = ns.linkByIndex(ifindex)!;
  if (l.kind === 'loopback' || (o.hw !== undefined && o.hw !== 'ether')) fail(`SIOCSARP: ${STRERROR.EINVAL}\n`);
  el.runNeigh(ns.neighSet({ ip, dev: l.name, lladdr: mac, state: perm ? NUD.PERMANENT : NUD.STALE }, 'replace', el.engine.now));
}

/** arp -d HOST [pub|priv] [dev IF]: SIOCDARP (the entry, then a proxy entry of that address). */
function del(el: NetNamespace, o: ArpOpts, args: string[], db: NetDb): string {
  const ns = el.ns;
  if (args[0] === undefined) fail('arp: need host name\n');
  const ip = inetInput(args[0]!, db);
  let device = o.device;
  let which = 0;
  for (let i = 1; i < args.length; i++) {
    const w = args[i]!;
    if (w === 'pub') which |= 1;
    else if (w === 'priv') which |= 2;
    else if (w === 'temp' || w === 'trail' || w === 'dontpub' || w === 'auto') continue;
    else if (w === 'dev') {
      if (args[++i] === undefined) fail(USAGE, 3);
      device = args[i]!.slice(0, 15);
    } else if (w === 'netmask') fail(`arp: 'netmask' (a proxy ARP entry) is not supported by dpemu's arp\n`);
    else fail(USAGE, 3);
  }
  if (which === 0) which = 3;
  const none = `No ARP entry for ${args[0]}\n`;
  if (which & 2) {
    const ifindex = arpDevice(ns, ip, device, 'SIOCDARP(dontpub)');
    // neigh_lookup, counted once: by neighDel's own lookup when the entry is there.
    const e = ns.neigh.get(ip, ifindex) ?? ns.neigh.lookup(ip, ifindex);
    if (e) {
      const noarp = e.state === NUD.NOARP;
      el.runNeigh(ns.neighDel({ ip, dev: ns.linkByIndex(ifindex)!.name }, el.engine.now));
      // arp_invalidate removes a NOARP entry without updating it, and answers ENXIO.
      if (!noarp) return '';
    }
    if (!(which & 1)) return fail('', 255, none);
  }
  // ATF_PUBL: pneigh_delete, on the device named (none: an entry without one, which a namespace's never is).
  const l = device ? ns.link(device) : undefined;
  if (device && !l) fail(`SIOCDARP(pub): ${STRERROR.ENODEV}\n`);
  if (l && ns.neigh.hasProxy(ip, l.index)) {
    ns.neigh.deleteProxy(ip, l.index);
    return '';
  }
  return fail('', 255, none);
}

/** `arp ...` in `el`'s namespace: arp's output and exit status. */
export function runArp(el: NetNamespace, rest: readonly string[], db = new NetDb('/etc', el.name)): CommandResponse {
  let warned = '';
  try {
    const { o, args } = parseArp(rest, (s) => (warned += s));
    let out = '';
    if (o.what === 'show' || o.what === 'all') out = show(el.ns, o, args[0], db);
    else if (o.what === 'set') set(el, o, args, db);
    else if (o.what === 'delete') out = del(el, o, args, db);
    else fail("arp: -f (entries from /etc/ethers) is not supported by dpemu's arp; use arp -s HOST HWADDR\n");
    return { ok: true, stdout: out, stderr: warned, exit: 0 };
  } catch (e) {
    if (!(e instanceof ArpExit)) throw e;
    return { ok: e.exit === 0, stdout: e.stdout, stderr: warned + e.stderr, exit: e.exit };
  }
}

export const arp = netToolsFamily('arp', arpAccess, (el, rest, ctx, argv) => {
  const r = runArp(el, rest);
  if (r.exit === 0 && arpAccess(argv) === 'write') ctx.invalidate(`${el.node}:${el.name} neigh`);
  return r;
});
