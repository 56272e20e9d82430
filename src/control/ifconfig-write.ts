// ifconfig DEV [inet|inet6] WORDS... (net-tools 2.10): each word in turn, as
// ifconfig's loop sends its ioctl, the errors printed and the loop going on
// (the status: 1 from a failed ioctl, -1, 255, from a flag that failed after
// it or alone). up and down are SIOCGIFFLAGS then SIOCSIFFLAGS
// (dev_change_flags; on an alias DEV:LABEL devinet_ioctl's: flags without
// IFF_UP delete the address so labelled), mtu SIOCSIFMTU (dev_validate_mtu,
// the alias's device); an address SIOCSIFADDR (its classful mask, or
// ADDR/PLEN's, set after every other word), then the flags up; netmask
// SIOCSIFNETMASK, broadcast SIOCSIFBRDADDR (devinet-ioctl.ts), then the
// flag IFF_BROADCAST; -broadcast clears that flag (no device lets it go: a
// warning); add and del of an IPv6 address SIOCSIFADDR and SIOCDIFADDR on
// an inet6 socket; hw ether MAC SIOCSIFHWADDR. The other words (arp,
// promisc, other hardware types, IPv4 add/del ...) are refused before any
// change.
import type { Packet } from '../datapath/packet.js';
import { devinetSet, type DevinetSet } from '../netns/devinet-ioctl.js';
import { RtnlError, strerror } from '../netns/errors.js';
import type { NetNamespace } from '../netns/namespace.js';
import { parseIpv6 } from '../wire/addr.js';
import { etherInput } from './arp-commands.js';
import { atolU32, strtoulU32 } from './c-numbers.js';
import { inetResolve, type NetDb } from './netdb.js';
import type { CommandResponse } from './protocol.js';

/** The words ifconfig knows that dpemu's does not change a device with. */
const NOT_EMULATED = new Set(['arp', '-arp', 'media', 'port', 'trailers', '-trailers', 'promisc', '-promisc', 'multicast', '-multicast',
  'allmulti', '-allmulti', 'dynamic', '-dynamic', 'keepalive', 'outfill', 'dstaddr', 'txqueuelen', 'mem_start', 'io_addr', 'irq',
  'pointopoint', '-pointopoint', 'tunnel', 'name']);
/** Words taking the next word as their value (broadcast only where there is one). */
const WITH_VALUE = new Set(['mtu', 'netmask', 'broadcast', 'add', 'del', 'hw']);
const IFF_UP = 0x1, IFF_BROADCAST = 0x2;
/** The hardware types get_hwtype knows (print_hwlist's), but ether: ifconfig's usage for any other word. */
const OTHER_HW = new Set(['loop', 'slip', 'cslip', 'slip6', 'cslip6', 'adaptive', 'ash', 'ax25', 'netrom', 'rose', 'tunnel', 'ppp', 'hdlc', 'lapb',
  'arcnet', 'dlci', 'frad', 'sit', 'fddi', 'hippi', 'irda', 'ec', 'x25', 'eui64']);

/** The first word dpemu does not emulate, walking the words as ifconfig's loop takes them; undefined when none. */
function notEmulated(ws: readonly string[], inet6: boolean): string | undefined {
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    if (NOT_EMULATED.has(w)) return w;
    const v = WITH_VALUE.has(w) ? ws[++i] : undefined;
    // hw TYPE ADDR: Ethernet's alone.
    if (w === 'hw' && v !== undefined && OTHER_HW.has(v)) return `hw ${v}`;
    if (w === 'hw') i++;
    // add|del of an IPv4 address (an alias DEV:N set_ifstate makes); an inet6 socket's IPv4 words.
    if ((w === 'add' || w === 'del') && v !== undefined && !v.includes(':')) return `${w} ${v}`;
    if (inet6 && (w === 'netmask' || w === 'broadcast' || !(WITH_VALUE.has(w) || w === 'up' || w === 'down' || w === '-broadcast'))) return w;
  }
  return undefined;
}

/**
 * `ifconfig NAME WORDS...` (NAME as typed, cut to IFNAMSIZ - 1); `usage`:
 * ifconfig's usage and lists, to stderr with status 3, for a word without
 * its value, a second netmask or a bad prefix length (the words before it
 * have taken effect); `db`: the names INET_resolve reads; `verbose`: -v.
 */
export function ifconfigWrite(el: NetNamespace, name: string, words: readonly string[], usage: string, db: NetDb, verbose = false): CommandResponse {
  const inet6 = words[0] === 'inet6';
  const ws = words[0] === 'inet' || inet6 ? words.slice(1) : words;
  const odd = notEmulated(ws, inet6);
  if (odd !== undefined) {
    return { ok: false, stdout: '', stderr: `ifconfig: '${odd}' is not emulated by dpemu's ifconfig (up, down, mtu, an IPv4 address, netmask, broadcast, IPv6 add and del, hw ether are); use ip link set, ip addr add|del\n`, exit: 1 };
  }
  const ns = el.ns;
  const colon = name.indexOf(':');
  const devName = colon < 0 ? name : name.slice(0, colon);
  const drop = (why: string) => (held: Packet[]) => held.forEach((p) => el.engine.drop(p, el, 'neigh_failed', why));
  const lost = drop(`${devName} lost its last address`);
  let err = '';
  let goterr = 0;
  let didnetmask = false;
  let neednetmask: number | undefined;
  const usageExit = (): CommandResponse => ({ ok: false, stdout: '', stderr: err + usage, exit: 3 });
  /** An ioctl: its perror line where the kernel refuses it; whether it did. */
  const ioctl = (what: string, f: () => void): boolean => {
    try {
      f();
      return true;
    } catch (e) {
      if (!(e instanceof RtnlError)) throw e;
      err += `${what}: ${strerror(e.errno)}\n`;
      return false;
    }
  };
  const devinet = (cmd: DevinetSet, value: number): boolean => ioctl(cmd, () => devinetSet(ns, name, cmd, value, lost));
  /** INET_resolve with herror's line where it fails. */
  const resolve = (text: string): number | undefined => {
    const r = inetResolve(text, false, db);
    if (typeof r !== 'string') return r.addr;
    err += `${text}: ${r}\n`;
    return undefined;
  };
  /** set_flag / clr_flag: SIOCGIFFLAGS (the device under an alias's name), then SIOCSIFFLAGS; 0 or -1. */
  const flag = (bit: number, on: boolean): number => {
    const l = ns.link(devName);
    if (!l) {
      err += `${name}: ERROR while getting interface flags: ${strerror('ENODEV')}\n`;
      return -1;
    }
    // An alias's flags go to devinet_ioctl: clr_flag always (it takes an AF_INET socket), set_flag unless inet6's socket sends it (dev_ioctl: the device's).
    if (colon >= 0 && (!on || !inet6)) {
      const a = l.addrs.find((x) => x.label === name);
      if (!a) {
        err += `SIOCSIFFLAGS: ${strerror('EADDRNOTAVAIL')}\n`;
        return -1;
      }
      // The device's flags with the bit changed: without IFF_UP, the address so labelled goes.
      if (!(on ? l.up || bit & IFF_UP : l.up && !(bit & IFF_UP))) lost(ns.delAddr(devName, a.local, a.prefixLen));
      return 0;
    }
    // dev_change_flags: IFF_BROADCAST is the driver's, not changed.
    if (bit & IFF_UP) el.setLinkUp(devName, on);
    return 0;
  };
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    if (w === 'up' || w === 'down') {
      goterr |= flag(IFF_UP, w === 'up');
      continue;
    }
    if (w === 'mtu') {
      const v = ws[++i];
      if (v === undefined) return usageExit();
      const done = ioctl('SIOCSIFMTU', () => {
        if (!ns.link(devName)) throw new RtnlError('ENODEV');
        const mtu = atolU32(v) | 0;
        ns.validateMtu(devName, mtu);
        drop(`${devName} lost IPv6 (an MTU below 1280)`)(ns.setMtu(devName, mtu));
      });
      if (!done) goterr = 1; // set, not or-ed (a flag's -1 before it is lost)
      continue;
    }
    if (w === '-broadcast') {
      goterr |= flag(IFF_BROADCAST, false);
      // test_flag: a device dpemu has keeps IFF_BROADCAST but the loopback, which never had it.
      const l = ns.link(devName);
      if (!l) err += `${name}: ERROR while testing interface flags: ${strerror('ENODEV')}\n`;
      else if (l.kind !== 'loopback') err += `Warning: Interface ${name} still in BROADCAST mode.\n`;
      continue;
    }
    if (w === 'broadcast') {
      const v = ws[++i];
      if (v !== undefined) {
        const b = resolve(v);
        if (b === undefined || !devinet('SIOCSIFBRDADDR', b)) goterr = 1;
        if (b === undefined) continue;
      }
      goterr |= flag(IFF_BROADCAST, true);
      continue;
    }
    if (w === 'netmask') {
      const v = ws[++i];
      if (v === undefined || didnetmask) return usageExit();
      const m = resolve(v);
      if (m === undefined) {
        goterr = 1;
        continue;
      }
      didnetmask = true;
      if (!devinet('SIOCSIFNETMASK', m)) goterr |= 1;
      continue;
    }
    if (w === 'hw') {
      // get_hwtype, then the address (in_ether); SIOCSIFHWADDR on the device (an alias's name is its device's).
      if (ws[++i] !== 'ether') return usageExit();
      const v = ws[++i];
      if (v === undefined) return usageExit();
      const mac = etherInput(v);
      if (mac === undefined) err += `${v}: invalid ether address.\n`;
      if (mac === undefined || !ioctl('SIOCSIFHWADDR', () => drop(`${devName} changed its MAC`)(ns.setMac(devName, mac)))) goterr = 1;
      continue;
    }
    if (w === 'add' || w === 'del') {
      const v = ws[++i];
      if (v === undefined) return usageExit();
      const slash = v.indexOf('/');
      const plen = slash < 0 ? 128 : atolU32(v.slice(slash + 1)) | 0;
      if (plen < 0 || plen > 128) return usageExit();
      const host = slash < 0 ? v : v.slice(0, slash);
      const bytes = parseIpv6(host);
      // INET6_reserror: herror with no lookup behind it.
      if (!bytes) err += `${host}: Resolver Error 0 (no error)\n`;
      const l = bytes ? ns.link(devName) : undefined;
      if (bytes && !l) err += `SIOGIFINDEX: ${strerror('ENODEV')}\n`;
      if (!bytes || !l) {
        goterr = 1;
        continue;
      }
      if (w === 'del' && verbose) err += `now deleting: ioctl(SIOCDIFADDR,{ifindex=${l.index},prefixlen=${plen}})\n`;
      const done = w === 'del'
        ? ioctl('SIOCDIFADDR', () => ns.delAddr6(devName, bytes, plen))
        : ioctl('SIOCSIFADDR', () => {
          // ipv6_add_addr (the ioctl's path, no IFA_F_MCAUTOJOIN to ask): a multicast address is not available.
          if (bytes[0] === 0xff && l.idev6 !== 0 && l.conf6.disable_ipv6 === 0) throw new RtnlError('EADDRNOTAVAIL');
          ns.addAddr6(devName, bytes, plen, 0, 0, true);
        });
      if (!done) goterr = 1;
      continue;
    }
    // An address, ADDR/PLEN (INET_getnetmask: the mask is set after the loop).
    let host = w;
    const slash = w.indexOf('/');
    if (slash >= 0) {
      const p = strtoulU32(w.slice(slash + 1));
      if (p.rest !== '' || didnetmask) return usageExit();
      neednetmask = (~(0xffff_ffff >>> (p.value | 0))) >>> 0;
      host = w.slice(0, slash);
    }
    const a = resolve(host);
    if (a === undefined) return { ok: false, stdout: '', stderr: `${err}ifconfig: \`--help' gives usage information.\n`, exit: 1 };
    if (!devinet('SIOCSIFADDR', a)) goterr = 1;
    // An alias name ending in '-' is one deleted already: no flags for it.
    if (!(colon >= 0 && name.endsWith('-'))) goterr |= flag(IFF_UP, true);
  }
  if (neednetmask !== undefined && !devinet('SIOCSIFNETMASK', neednetmask)) goterr |= 1;
  if (verbose && goterr) err += `WARNING: at least one error occured. (${goterr})\n`;
  return { ok: goterr === 0, stdout: '', stderr: err, exit: goterr & 0xff };
}

