// ifconfig (net-tools 2.10) inside a namespace of the topology: `NODE -n NS
// [-a] [-v] [DEV]`, what `ip netns exec NS ifconfig ...` runs. It prints
// ife_print_long for each device, sorted by name as if_readlist keeps them
// (nstrcmp), only those up without -a: the flags SIOCGIFFLAGS gives
// (RUNNING while the operstate is UP or UNKNOWN, PROMISC as user space set
// it), the first IPv4 address labelled with the device's name (SIOCGIFADDR,
// its netmask and broadcast), the IPv6 addresses as /proc/net/if_inet6
// lists them, the hardware line with txqueuelen, and /proc/net/dev's
// counters (the device counters `ip -s link` prints); -s one line a device
// (ife_print_short). DEV up, down, mtu N, an address ...: ifconfig-write.ts.
import { formatIp4, formatMac, prefixMask } from '../netns/addr.js';
import { type Interface, operState } from '../netns/interfaces.js';
import type { NetNamespace } from '../netns/namespace.js';
import { RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_SITE } from '../netns/names.js';
import { aroundChange } from '../netns/netlink-events.js';
import { ifconfigAccess } from './net-tools-argv.js';
import { ifconfigWrite } from './ifconfig-write.js';
import type { CommandResponse } from './protocol.js';
import { netToolsFamily } from './net-tools-family.js';
import { NetDb } from './netdb.js';

const USAGE = `Usage:
  ifconfig [-a] [-v] [-s] <interface> [[<AF>] <address>]
  [add <address>[/<prefixlen>]]
  [del <address>[/<prefixlen>]]
  [[-]broadcast [<address>]]  [[-]pointopoint [<address>]]
  [netmask <address>]  [dstaddr <address>]  [tunnel <address>]
  [outfill <NN>] [keepalive <NN>]
  [hw <HW> <address>]  [mtu <NN>]
  [[-]trailers]  [[-]arp]  [[-]allmulti]
  [multicast]  [[-]promisc]
  [mem_start <NN>]  [io_addr <NN>]  [irq <NN>]  [media <type>]
  [txqueuelen <NN>]
  [name <newname>]
  [[-]dynamic]
  [up|down] ...

  <HW>=Hardware Type.
  List of possible hardware types:
  <AF>=Address family. Default: inet
  List of possible address families:
`;
/** print_hwlist(0) and print_aflist(0): to stderr. */
const LISTS = `    loop (Local Loopback) slip (Serial Line IP) cslip (VJ Serial Line IP) 
    slip6 (6-bit Serial Line IP) cslip6 (VJ 6-bit Serial Line IP) adaptive (Adaptive Serial Line IP) 
    ash (Ash) ether (Ethernet) ax25 (AMPR AX.25) 
    netrom (AMPR NET/ROM) rose (AMPR ROSE) tunnel (IPIP Tunnel) 
    ppp (Point-to-Point Protocol) hdlc ((Cisco)-HDLC) lapb (LAPB) 
    arcnet (ARCnet) dlci (Frame Relay DLCI) frad (Frame Relay Access Device) 
    sit (IPv6-in-IPv4) fddi (Fiber Distributed Data Interface) hippi (HIPPI) 
    irda (IrLAP) ec (Econet) x25 (generic X.25) 
    eui64 (Generic EUI-64) 
    unix (UNIX Domain) inet (DARPA Internet) inet6 (IPv6) 
    ax25 (AMPR AX.25) netrom (AMPR NET/ROM) rose (AMPR ROSE) 
    ipx (Novell IPX) ddp (Appletalk DDP) ec (Econet) 
    ash (Ash) x25 (CCITT X.25) 
`;

/** usage(E_OPTERR): the same text all on stderr, each list after its title. */
const AF_AT = USAGE.indexOf('  <AF>='), AF_LIST_AT = LISTS.indexOf('    unix ');
const USAGE_ERR = USAGE.slice(0, AF_AT) + LISTS.slice(0, AF_LIST_AT) + USAGE.slice(AF_AT) + LISTS.slice(AF_LIST_AT);

const IFF = { UP: 0x1, BROADCAST: 0x2, LOOPBACK: 0x8, RUNNING: 0x40, NOARP: 0x80, PROMISC: 0x100, MULTICAST: 0x1000 } as const;
/** ife_print_long's order (those a namespace's devices can have). */
const FLAG_NAMES: [number, string][] = [[IFF.UP, 'UP'], [IFF.BROADCAST, 'BROADCAST'], [IFF.LOOPBACK, 'LOOPBACK'], [IFF.RUNNING, 'RUNNING'],
  [IFF.NOARP, 'NOARP'], [IFF.PROMISC, 'PROMISC'], [IFF.MULTICAST, 'MULTICAST']];

/**
 * nstrcmp (net-tools 2.10, lib/nstrcmp.c): a `:N` alias suffix cut off, the
 * names compared as strncmp over the shorter of their parts before a
 * trailing run of digits, the longer such part after, then the trailing
 * numbers, then the aliases (none: -1). Digits inside a name compare as
 * characters (qr-178... before qr-2...).
 */
export function nstrcmp(ap: string, bp: string): number {
  const cut = (n: string): [string, number] => {
    const m = /^(.*):(\d+)$/.exec(n);
    return m ? [m[1]!, Number(m[2])] : [n, -1];
  };
  const [a, aAlias] = cut(ap), [b, bAlias] = cut(bp);
  const ai = a.replace(/\d+$/, '').length, bi = b.replace(/\d+$/, '').length;
  const n = Math.min(ai, bi);
  for (let k = 0; k < n; k++) if (a[k] !== b[k]) return a.charCodeAt(k) - b.charCodeAt(k);
  if (ai !== bi) return ai > bi ? 1 : -1;
  const av = Number(a.slice(ai) || 0), bv = Number(b.slice(bi) || 0);
  if (av !== bv) return av < bv ? -1 : 1;
  return aAlias === bAlias ? 0 : aAlias < bAlias ? -1 : 1;
}

/** dev_get_flags' lower 16 bits, as SIOCGIFFLAGS returns them. */
function ifFlags(el: NetNamespace, l: Interface): number {
  let f = l.kind === 'loopback' ? IFF.LOOPBACK : IFF.BROADCAST | IFF.MULTICAST;
  if (l.up) f |= IFF.UP;
  const oper = operState(l, (i) => el.ns.linkByIndex(i));
  if (oper === 'UP' || oper === 'UNKNOWN') f |= IFF.RUNNING;
  if (l.noarp && l.kind !== 'loopback') f |= IFF.NOARP;
  if (l.promisc) f |= IFF.PROMISC;
  return f;
}

/** print_bytes_scaled's "(N.N UNIT)": binary units above each power of 1024, one decimal, truncated. */
function scaled(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let u = 0;
  while (u < units.length - 1 && bytes > 1024 ** (u + 1)) u++;
  const tenths = Math.floor((bytes * 10) / 1024 ** u);
  return `${Math.floor(tenths / 10)}.${tenths % 10} ${units[u]}`;
}

/** IPV6_ADDR_* scope bits of /proc/net/if_inet6 (ipv6_addr_scope), from the address's route scope. */
function scope6(scope: number): number {
  return scope === RT_SCOPE_HOST ? 0x10 : scope === RT_SCOPE_LINK ? 0x20 : scope === RT_SCOPE_SITE ? 0x40 : 0;
}

/** ifconfig -s's title (netstat -i's is wider). */
const SHORT_TITLE = 'Iface      MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg\n';

/** ife_print_long. */
export function printLong(el: NetNamespace, l: Interface): string {
  const flags = ifFlags(el, l);
  const names = FLAG_NAMES.filter(([b]) => flags & b).map(([, n]) => n);
  let s = `${l.name}: flags=${flags}${names.length ? `<${names.join(',')}>` : ''}  mtu ${l.mtu}\n`;
  const a = l.addrs.find((x) => x.label === l.name);
  if (a) {
    s += `        inet ${formatIp4(a.local)}  netmask ${formatIp4(prefixMask(a.prefixLen))}`;
    if (flags & IFF.BROADCAST) s += `  broadcast ${formatIp4(a.broadcast)}`;
    s += '\n';
  }
  for (const a6 of l.addrs6) {
    const sc = scope6(a6.scope);
    const tags = [sc === 0 ? 'global' : '', sc & 0x20 ? 'link' : '', sc & 0x40 ? 'site' : '', sc & 0x10 ? 'host' : ''].filter((t) => t);
    s += `        inet6 ${a6.text}  prefixlen ${a6.prefixLen}  scopeid 0x${sc.toString(16)}<${tags.join(',')}>\n`;
  }
  s += l.kind === 'loopback' ? `        loop  txqueuelen ${l.qlen}  (Local Loopback)\n` : `        ether ${formatMac(l.mac)}  txqueuelen ${l.qlen}  (Ethernet)\n`;
  // /proc/net/dev's fields: dpemu counts no errors, overruns, frame, carrier or collisions.
  const st = el.linkStats(l);
  s += `        RX packets ${st.rxPackets}  bytes ${st.rxBytes} (${scaled(st.rxBytes)})\n`;
  s += `        RX errors 0  dropped ${st.rxDropped}  overruns 0  frame 0\n`;
  s += `        TX packets ${st.txPackets}  bytes ${st.txBytes} (${scaled(st.txBytes)})\n`;
  s += `        TX errors 0  dropped ${st.txDropped} overruns 0  carrier 0  collisions 0\n\n`;
  return s;
}

/** ife_print_short's flag letters, in its order. */
const SHORT_FLAGS: [number, string][] = [[IFF.BROADCAST, 'B'], [IFF.LOOPBACK, 'L'], [IFF.MULTICAST, 'M'], [IFF.PROMISC, 'P'], [IFF.NOARP, 'O'], [IFF.RUNNING, 'R'], [IFF.UP, 'U']];

/** ife_print_short: one line a device (ifconfig -s, netstat -i). */
export function printShort(el: NetNamespace, l: Interface): string {
  const flags = ifFlags(el, l);
  const st = el.linkStats(l);
  const n = (w: number, v: number) => String(v).padStart(w);
  const letters = flags === 0 ? '[NO FLAGS]' : SHORT_FLAGS.filter(([b]) => flags & b).map(([, c]) => c).join('');
  return `${l.name.padEnd(15)} ${n(5, l.mtu)} ${n(8, st.rxPackets)} ${n(6, 0)} ${n(6, st.rxDropped)} ${'0'.padEnd(6)} ${n(8, st.txPackets)} ${n(6, 0)} ${n(6, st.txDropped)} ${n(6, 0)} ${letters}\n`;
}

/** The devices a listing shows: sorted by name as if_readlist keeps them, only those up unless `all`. */
export function listed(el: NetNamespace, all: boolean): Interface[] {
  return [...el.ns.links()].sort((a, b) => nstrcmp(a.name, b.name)).filter((l) => all || l.up);
}

/** `ifconfig ...` in `el`'s namespace: ifconfig's output and exit status. */
export function runIfconfig(el: NetNamespace, rest: readonly string[], db = new NetDb('/etc', el.name)): CommandResponse {
  let all = false, short = false, verbose = false;
  let i = 0;
  for (; i < rest.length && rest[i]!.startsWith('-'); i++) {
    const w = rest[i]!;
    if (w === '-a') all = true;
    else if (w === '-v') verbose = true;
    else if (w === '-s') short = true;
    else if (w === '-V' || w === '-version' || w === '--version') return { ok: true, stdout: 'net-tools 2.10\n', stderr: '', exit: 0 };
    else if (w === '-?' || w === '-h' || w === '-help' || w === '--help') return { ok: true, stdout: USAGE, stderr: LISTS, exit: 0 };
    else return { ok: false, stdout: '', stderr: `ifconfig: option \`${w}' not recognised.\nifconfig: \`--help' gives usage information.\n`, exit: 1 };
  }
  const words = rest.slice(i);
  if (words.length === 0) {
    const links = listed(el, all);
    const out = short ? `${SHORT_TITLE}${links.map((l) => printShort(el, l)).join('')}` : links.map((l) => printLong(el, l)).join('');
    return { ok: true, stdout: out, stderr: '', exit: 0 };
  }
  const name = words[0]!.slice(0, 15);
  if (words.length > 1) return ifconfigWrite(el, name, words.slice(1), USAGE_ERR, db, verbose);
  const l = el.ns.link(name);
  if (!l) return { ok: false, stdout: '', stderr: `${name}: error fetching interface information: Device not found\n`, exit: 1 };
  return { ok: true, stdout: short ? `${SHORT_TITLE}${printShort(el, l)}` : printLong(el, l), stderr: '', exit: 0 };
}

/** The words that change addresses (beside an address itself, a word with a dot). */
const ADDR_WORDS = new Set(['netmask', 'broadcast', '-broadcast', 'add', 'del']);

export const ifconfig = netToolsFamily('ifconfig', ifconfigAccess, (el, rest, ctx, argv) => {
  const write = ifconfigAccess(argv) === 'write';
  // ip monitor's listeners hear what a write changes: a device's flags and MTU, or (an alias named, an address word) its addresses.
  const addrs = rest.find((w) => !w.startsWith('-'))?.includes(':') || rest.some((w) => w.includes('.') || ADDR_WORDS.has(w));
  const notify = write ? aroundChange(el.ns, addrs ? 'address' : 'link') : null;
  try {
    const r = runIfconfig(el, rest);
    // Whatever the status: the words before a failing one took effect.
    if (write) ctx.invalidate(`${el.node}:${el.name} link`);
    return r;
  } finally {
    notify?.();
    // addrconf's DAD work for an IPv6 address added (as ip addr add's), after the change is told.
    if (write) el.dadWork();
  }
});
