// `ip link` / `ip addr` text: the arguments of `ip addr add|del`
// (iproute2 ipaddr_modify) and what `ip link show` / `ip addr show` print
// (print_linkinfo, print_addrinfo), both ways. The inet6 lines printed are
// the kernel's own addresses (inet6.ts); those of a real dump are skipped
// when reading.

import { type Ip4, type Mac, formatIp4, formatMac, parseMac, prefixMask } from './addr.js';
import { IpSyntaxError, RtnlError, notPrefix } from './errors.js';
import { type AddrSpec, type IfAddr, type Interface, type LinkKind, autoBroadcast, operState } from './interfaces.js';
import { IFA6_FLAGS, IFA6_SETTABLE, type If6Addr } from './inet6.js';
import { formatLinkDetails } from './ip-link-details.js';
import { type Family, TokenStream, matches, parsePrefix6, tokenize } from './ip-tokens.js';
import { scopeFromName, scopeName } from './names.js';

/** The device's flags in print_link_flags order. */
export function linkFlagList(l: Interface): string[] {
  const f: string[] = [];
  if (l.up && !l.carrier) f.push('NO-CARRIER');
  if (l.kind === 'loopback') f.push('LOOPBACK');
  else f.push('BROADCAST', 'MULTICAST');
  if (l.noarp && l.kind !== 'loopback') f.push('NOARP');
  if (l.promisc) f.push('PROMISC');
  if (l.up) f.push('UP');
  if (l.up && l.carrier) f.push('LOWER_UP');
  return f;
}

/** NAME, NAME@ifN (a veth whose peer is elsewhere) or NAME@PEER (its peer in the same namespace). */
const shownName = (l: Interface): string => (l.peer ? `${l.name}@${l.peer.name ?? `if${l.peer.ifindex}`}` : l.name);

/**
 * The peer's name as ip resolves IFLA_LINK in the AF_INET6 link dump, which
 * carries no IFLA_LINK_NETNSID: the device of that ifindex in *this*
 * namespace (another device than the peer, where one has it), else ifN.
 */
export const inet6DumpPeer = (l: Interface, byIndex?: LinkByIndex): string | undefined =>
  l.peer && (l.peer.name ?? byIndex?.(l.peer.ifindex)?.name ?? `if${l.peer.ifindex}`);
const inet6DumpName = (l: Interface, byIndex?: LinkByIndex): string => {
  const peer = inet6DumpPeer(l, byIndex);
  return peer === undefined ? l.name : `${l.name}@${peer}`;
};

/** `<BROADCAST,MULTICAST,UP,LOWER_UP>`. */
export const linkFlags = (l: Interface): string => `<${linkFlagList(l).join(',')}>`;

export function qdisc(l: Interface): string {
  if (!l.everUp) return 'noop';
  // Loopback, OVS internal ports, veths, bridges and vxlan devices are IFF_NO_QUEUE devices.
  return l.kind === 'tap' || l.kind === 'ether' ? 'fq_codel' : 'noqueue';
}

/** Finds a device of the same namespace by ifindex (the operstate of a veth reads one). */
export type LinkByIndex = (ifindex: number) => Interface | undefined;

/**
 * The two lines `ip link show` prints for a device (`mode DEFAULT` only there, not in `ip addr`); `-d` adds a line or two.
 * `ip -4 addr` (a family, no -d) prints no `link/` line: the first line then ends with the peer's netns.
 */
export function formatLink(l: Interface, byIndex?: LinkByIndex, forIpAddr = false, details = false, linkLine = true, inet6Dump = false): string {
  // The AF_INET6 link dump (inet6_fill_ifinfo) that `ip -6 addr` reads without -d or -s carries no qdisc or group.
  let s = `${l.index}: ${inet6Dump ? inet6DumpName(l, byIndex) : shownName(l)}: ${linkFlags(l)} mtu ${l.mtu} ${inet6Dump ? '' : `qdisc ${qdisc(l)} `}`;
  if (l.master !== undefined) s += `master ${l.master} `;
  s += `state ${operState(l, byIndex)} `;
  if (!forIpAddr) s += 'mode DEFAULT ';
  s += `${inet6Dump ? '' : 'group default '}qlen ${l.qlen}`;
  if (linkLine || details) s += l.kind === 'loopback' ? `\n    link/loopback ${formatMac(l.mac)} brd 00:00:00:00:00:00` : `\n    link/ether ${formatMac(l.mac)} brd ff:ff:ff:ff:ff:ff`;
  if (inet6Dump) { /* no IFLA_LINK_NETNSID in that dump */ }
  else if (l.peer?.netns !== undefined) s += ` link-netns ${l.peer.netns}`;
  else if (l.peer?.netnsId !== undefined) s += ` link-netnsid ${l.peer.netnsId}`;
  if (details) s += formatLinkDetails(l, forIpAddr);
  return s + '\n';
}

/**
 * `ip -brief link|addr show` for one device (print_linkinfo's brief branch):
 * the name with its link padded to 16, the operstate to 14, then the MAC and
 * flags (link) or each address with its prefix and any metric (addr), each
 * followed by a space.
 */
export function formatBrief(l: Interface, what: 'link' | 'addr', byIndex?: LinkByIndex, family?: AddrFamily, inet6Dump = false, shown?: AddrShown): string {
  let s = `${(inet6Dump ? inet6DumpName(l, byIndex) : shownName(l)).padEnd(16)} ${operState(l, byIndex).padEnd(14)} `;
  if (what === 'link') s += `${formatMac(l.mac)} ${linkFlags(l)} `;
  else {
    if (family !== 'inet6') for (const a of l.addrs) if (!shown || shown(l, a)) s += `${formatIp4(a.local)}/${a.prefixLen} ${a.metric ? `metric ${a.metric} ` : ''}`;
    if (family !== 'inet') for (const a of l.addrs6) if (!shown || shown(l, a)) s += `${a.text}/${a.prefixLen} ${a.metric ? `metric ${a.metric} ` : ''}`;
  }
  return s + '\n';
}

/** One address's inet block in `ip addr show` (print_addrinfo): its line and its lifetimes' line. */
export function formatAddr(a: IfAddr): string {
  let s = `    inet ${formatIp4(a.local)}/${a.prefixLen} `;
  // print_addrinfo: the prefix route's metric (IFA_RT_PRIORITY) comes before brd.
  if (a.metric) s += `metric ${a.metric} `;
  if (a.broadcast) s += `brd ${formatIp4(a.broadcast)} `;
  s += `scope ${scopeName(a.scope)} `;
  if (a.secondary) s += 'secondary ';
  if (a.noprefixroute) s += 'noprefixroute ';
  return s + `${a.label}\n       valid_lft forever preferred_lft forever\n`;
}

/** One IPv6 address's inet6 block (print_addrinfo: the metric before the scope, the flags after it; no label). */
export function formatAddr6(a: If6Addr): string {
  let s = `    inet6 ${a.text}/${a.prefixLen} ${a.metric ? `metric ${a.metric} ` : ''}scope ${scopeName(a.scope)} `;
  for (const [bit, name] of IFA6_FLAGS) if (a.flags & bit) s += `${name} `;
  return `${s}\n       valid_lft forever preferred_lft forever\n`;
}

/** The family `ip addr` was asked for (-4, -6): its addresses alone. */
export type AddrFamily = 'inet' | 'inet6' | undefined;

/** Does the address selector print this address of device `l`? (ip-link-filter.ts) */
export type AddrShown = (l: Interface, a: IfAddr | If6Addr) => boolean;

/** The device's address blocks in the order ip prints a dump of them: inet, then inet6; those `shown` selects. */
export const formatAddrBlocks = (l: Interface, family?: AddrFamily, shown?: AddrShown): string[] => [
  ...(family !== 'inet6' ? l.addrs.filter((a) => !shown || shown(l, a)).map(formatAddr) : []),
  ...(family !== 'inet' ? l.addrs6.filter((a) => !shown || shown(l, a)).map(formatAddr6) : []),
];

/** `ip addr show` for one device: the link lines and an inet or inet6 block per address. */
export const formatAddrs = (l: Interface, byIndex?: LinkByIndex, details = false, linkLine = true, family?: AddrFamily, inet6Dump = false, shown?: AddrShown): string =>
  formatLink(l, byIndex, true, details, linkLine, inet6Dump) + formatAddrBlocks(l, family, shown).join('');

export interface AddrCommand {
  dev?: string;
  spec: AddrSpec;
}

/**
 * Parse `ip addr add|del` arguments. As with iproute2, no broadcast is
 * assigned unless `brd` is given (`brd +` computes it for /30 and shorter).
 */
export function parseAddrArgs(args: string, lineNo = 1, source?: string): AddrCommand {
  const ts = new TokenStream(tokenize(args), lineNo, source);
  let local: Ip4 | undefined;
  let prefixLen = 32;
  let brd: string | undefined;
  const out: AddrCommand = { spec: { local: 0, prefixLen: 32, broadcast: 0 } };
  let brdTok: { text: string; col: number } | undefined;
  while (!ts.done) {
    const t = ts.next();
    const w = t.text;
    if (w === 'dev') out.dev = ts.value(t).text;
    else if (matches(w, 'broadcast') || w === 'brd') {
      brdTok = ts.value(t);
      brd = brdTok.text;
    } else if (w === 'scope') {
      const v = ts.value(t);
      const s = scopeFromName(v.text);
      if (s === undefined) throw ts.error(v, `invalid scope '${v.text}'`);
      out.spec.scope = s;
    } else if (w === 'label') out.spec.label = ts.value(t).text;
    else if (matches(w, 'metric') || matches(w, 'priority')) out.spec.metric = ts.u32(t, 'metric');
    else if (w === 'noprefixroute') out.spec.noprefixroute = true;
    else if (w === 'valid_lft' || w === 'preferred_lft') ts.value(t);
    else if (w === 'nodad' || w === 'optimistic' || w === 'home' || w === 'mngtmpaddr' || w === 'autojoin') continue;
    else if (w === 'peer' || w === 'remote' || w === 'anycast') throw ts.error(t, `'${w}' is not supported`);
    else {
      const a = w === 'local' ? ts.value(t) : t;
      if (local !== undefined) throw ts.unknown(a, ['dev', 'brd', 'broadcast', 'scope', 'label', 'metric', 'noprefixroute']);
      const p = ts.prefix(a);
      local = p.addr;
      prefixLen = p.len;
    }
  }
  if (local === undefined) throw ts.error(undefined, 'missing address');
  out.spec.local = local;
  out.spec.prefixLen = prefixLen;
  if (brd === '+' || brd === '-') {
    const hostBits = ~prefixMask(prefixLen) >>> 0;
    out.spec.broadcast = prefixLen <= 30 ? (brd === '+' ? autoBroadcast(local, prefixLen) : (local & ~hostBits) >>> 0) : 0;
  } else if (brd !== undefined) {
    const b = ts.prefix(brdTok!);
    out.spec.broadcast = b.addr;
  }
  return out;
}

export interface Addr6Command {
  dev?: string;
  bytes: Uint8Array;
  /** 128 when ip was given no length (get_prefix's). */
  prefixLen: number;
  /** IFA6_FLAGS' bits. */
  flags: number;
  metric: number;
}

/**
 * `ip addr add|del` of an IPv6 address (ipaddr_modify in AF_INET6): under
 * -6, or in no family when the address has a ':' (undefined: not one, the
 * IPv4 parser's). The kernel keeps no scope (the address's own), label or
 * broadcast of an IPv6 address: they are read and dropped, as is
 * `optimistic` (without optimistic_dad), and lifetimes but `forever` are
 * not modelled.
 */
export function parseAddr6Args(args: string, family: Family | undefined, lineNo = 1, source?: string): Addr6Command | undefined {
  const ts = new TokenStream(tokenize(args), lineNo, source);
  let out: Addr6Command | undefined;
  let dev: string | undefined, flags = 0, metric = 0;
  while (!ts.done) {
    const t = ts.next();
    const w = t.text;
    const flag = IFA6_FLAGS.find(([bit, name]) => name === w && bit & IFA6_SETTABLE);
    if (w === 'dev') dev = ts.value(t).text;
    else if (flag) flags |= flag[0];
    else if (matches(w, 'metric') || matches(w, 'priority')) metric = ts.u32(t, 'metric');
    else if (w === 'scope' || w === 'label' || matches(w, 'broadcast') || w === 'brd') ts.value(t);
    else if (w === 'optimistic') continue;
    else if (w === 'valid_lft' || w === 'preferred_lft') {
      const v = ts.value(t);
      if (v.text !== 'forever') throw ts.error(v, 'address lifetimes are not emulated (only forever)');
    } else if (w === 'autojoin') throw new RtnlError('EINVAL', undefined, 'autojoin needs multicast address', 1);
    else if (w === 'peer' || w === 'remote' || w === 'anycast') throw ts.error(t, `'${w}' is not supported`);
    else {
      const a = w === 'local' ? ts.value(t) : t;
      if (out) throw ts.unknown(a, ['dev', 'scope', 'metric', 'nodad', 'noprefixroute', 'home', 'mngtmpaddr']);
      if (family === undefined && !a.text.includes(':')) return undefined;
      const p = parsePrefix6(a.text);
      if (!p || a.text === 'default' || a.text === 'all' || a.text === 'any') throw notPrefix(a.text, family === 'inet6' ? 'inet6' : 'any valid');
      out = { bytes: p.bytes, prefixLen: p.len, flags: 0, metric: 0 };
    }
  }
  if (!out) throw ts.error(undefined, 'missing address');
  if (dev === undefined) throw new RtnlError('EINVAL', undefined, 'Not enough information: "dev" argument is required.', 1);
  return { ...out, dev, flags, metric };
}

export interface ShownLink {
  name: string;
  index: number;
  kind: LinkKind;
  mac: Mac;
  mtu: number;
  up: boolean;
  carrier: boolean;
  peerIfindex?: number;
  netns?: string;
  addrs: AddrSpec[];
  line: number;
}

/** Read pasted `ip addr show` (or `ip link show`) output. */
export function parseIpAddrShow(text: string, source?: string): ShownLink[] {
  const links: ShownLink[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const no = i + 1;
    if (!raw.trim()) return;
    const head = /^(\d+):\s+([^:@\s]+)(?:@(\S+?))?:\s+<([^>]*)>\s*(.*)$/.exec(raw);
    if (head) {
      const [, idx, name, peer, flagText, rest] = head as unknown as [string, string, string, string | undefined, string, string];
      const flags = flagText.split(',');
      const mtu = /\bmtu (\d+)/.exec(rest);
      const kind: LinkKind = flags.includes('LOOPBACK')
        ? 'loopback'
        : peer && /^if\d+$/.test(peer)
          ? 'veth'
          : /^tap/.test(name)
            ? 'tap'
            : /^(eth|en|em|bond)/.test(name)
              ? 'ether'
              : 'internal';
      const l: ShownLink = {
        name, index: Number(idx), kind, mac: 0, mtu: mtu ? Number(mtu[1]) : 1500,
        up: flags.includes('UP'), carrier: flags.includes('LOWER_UP') || !flags.includes('UP'), addrs: [], line: no,
      };
      if (peer && /^if\d+$/.test(peer)) l.peerIfindex = Number(peer.slice(2));
      links.push(l);
      return;
    }
    const cur = links[links.length - 1];
    const ts = new TokenStream(tokenize(raw), no, source);
    const first = ts.peek();
    if (!first) return;
    if (!cur) throw new IpSyntaxError(no, first.col, first.text, 'expected an interface line ("N: NAME: <FLAGS> ...")', source);
    if (first.text.startsWith('link/')) {
      ts.next();
      const m = ts.value(first);
      const mac = parseMac(m.text);
      if (mac === undefined) throw ts.error(m, `invalid link address '${m.text}'`);
      cur.mac = mac;
      while (!ts.done) {
        const t = ts.next();
        if (t.text === 'link-netns') cur.netns = ts.value(t).text;
      }
      return;
    }
    if (first.text !== 'inet') return; // inet6, valid_lft, altname, link details
    ts.next();
    const a = ts.value(first);
    const p = ts.prefix(a);
    const spec: AddrSpec = { local: p.addr, prefixLen: p.len, broadcast: 0 };
    while (!ts.done) {
      const t = ts.next();
      if (t.text === 'brd') spec.broadcast = ts.prefix(ts.value(t)).addr;
      else if (t.text === 'scope') {
        const v = ts.value(t);
        const s = scopeFromName(v.text);
        if (s === undefined) throw ts.error(v, `invalid scope '${v.text}'`);
        spec.scope = s;
      } else if (t.text === 'metric') spec.metric = ts.u32(t);
      else if (t.text === 'noprefixroute') spec.noprefixroute = true;
      else if (['secondary', 'dynamic', 'tentative', 'deprecated', 'nodad', 'home', 'mngtmpaddr', 'permanent'].includes(t.text)) continue;
      else if (ts.done) spec.label = t.text;
      else throw ts.unknown(t, ['brd', 'scope', 'metric', 'secondary', 'noprefixroute']);
    }
    cur.addrs.push(spec);
  });
  return links;
}
