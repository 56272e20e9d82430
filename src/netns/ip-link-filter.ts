// The selectors of `ip link|addr show` (iproute2 6.1
// ipaddr_list_flush_or_save, print_linkinfo's filter, ipaddr_filter and
// print_addrinfo's): the device ones (dev, up, master, nomaster, type),
// whose devices are printed in full, and the address ones (to, scope,
// label, the address flags), which `ip addr` prints the matching
// addresses of.

import { RtnlError, invarg, nextArg } from './errors.js';
import { type IfAddr, type Interface, infoKind } from './interfaces.js';
import { type If6Addr } from './inet6.js';
import { type AddrFamily, type AddrShown } from './ip-addr-syntax.js';
import { type Family, type Prefix6, routeShowPrefix } from './ip-tokens.js';
import { type Prefix } from './addr.js';
import { inPrefix6, prefixMask } from '../wire/addr.js';
import { scopeFromName } from './names.js';
import { type Netns } from './netns.js';

export interface LinkShow {
  dev?: string;
  /** IFF_UP only. */
  up?: boolean;
  /** The ports of this device; null: only devices without a master (nomaster). The last of the two given wins. */
  master?: string | null;
  /** IFLA_INFO_KIND to match (`type KIND`). */
  kind?: string;
  /** IFLA_INFO_SLAVE_KIND, the master's kind, to match (`type KIND_slave`). */
  slaveKind?: string;
  /** The address selectors; `ip link` (and `ip -0 addr`) reads them and selects nothing by them. */
  addr?: AddrSelect;
}

/** ipaddr_filter's address selectors: what ip's filter holds. */
export interface AddrSelect {
  /** `scope S`: undefined, any (`scope all` too). */
  scope?: number;
  /** The IFA_F_ bits flagMask covers must equal flags' (`FLAG`, `-FLAG`, primary, dynamic). */
  flags: number;
  flagMask: number;
  /** `label PATTERN`, an fnmatch(3) pattern: an IPv6 address, which has no label, matches by its device's name. */
  label?: RegExp;
  /** `to PREFIX`: also the family of what is listed where none was given. */
  to?: { v4: Prefix } | { v6: Prefix6 };
}

/** Selectors ip takes that are not emulated (device groups, VRFs). */
const NOT_EMULATED = new Set(['group', 'vrf']);

const IFA_F_SECONDARY = 0x01, IFA_F_PERMANENT = 0x80, IFA_F_NOPREFIXROUTE = 0x200;
/** iproute2's ifa_flag_names: the flags an address selector names (`-NAME`: without it). */
const IFA_FLAG_NAMES = new Map([
  ['secondary', IFA_F_SECONDARY], ['temporary', IFA_F_SECONDARY], ['nodad', 0x02], ['optimistic', 0x04], ['dadfailed', 0x08], ['home', 0x10], ['deprecated', 0x20],
  ['tentative', 0x40], ['permanent', IFA_F_PERMANENT], ['mngtmpaddr', 0x100], ['noprefixroute', IFA_F_NOPREFIXROUTE], ['autojoin', 0x400], ['stable-privacy', 0x800],
]);

/** get_filter: the flag bit a word selects by, and whether it must be set (primary and dynamic are -secondary and -permanent); undefined for any other word. */
function flagSelector(word: string): { bit: number; set: boolean } | undefined {
  const inv = word.startsWith('-');
  const w = inv ? word.slice(1) : word;
  const bit = w === 'primary' ? IFA_F_SECONDARY : w === 'dynamic' ? IFA_F_PERMANENT : IFA_FLAG_NAMES.get(w);
  return bit === undefined ? undefined : { bit, set: inv === (w === 'primary' || w === 'dynamic') };
}

/** fnmatch(3) with no flags, as a RegExp: `*`, `?` and bracket expressions (`[!...]` negated); `\` quotes. */
function fnmatchRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^]*';
    else if (c === '?') re += '[^]';
    else if (c === '[' && pattern.indexOf(']', i + 2) > 0) {
      const end = pattern.indexOf(']', i + 2);
      let body = pattern.slice(i + 1, end);
      const neg = body.startsWith('!') || body.startsWith('^');
      if (neg) body = body.slice(1);
      re += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else {
      if (c === '\\' && i + 1 < pattern.length) i++;
      re += pattern[i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/**
 * Parse the words after `show`. ip resolves a master as it reads it
 * (invarg), a device after the whole line; any other word names the
 * device, once. `unsupported` builds the refusal of a selector not
 * emulated. `o`: the request's family (`ip link`'s AF_PACKET: link) and form.
 */
export function parseLinkShow(ns: Netns, words: readonly string[], unsupported: (word: string) => Error, o: { family?: Family; json?: unknown; brief?: boolean } = {}): LinkShow {
  const s: LinkShow = {};
  let family = o.family;
  let flag: ReturnType<typeof flagSelector>;
  const addr = (): AddrSelect => (s.addr ??= { flags: 0, flagMask: 0 });
  for (let i = 0; i < words.length; i++) {
    let w = words[i]!;
    if (w === 'to') {
      const v = nextArg(words, ++i);
      // default, all and any: a prefix of length 0, in no family unless one was given.
      const p = routeShowPrefix(v, family);
      if (!(v === 'default' || v === 'all' || v === 'any') || family !== undefined) {
        addr().to = p;
        family ??= 'v4' in p ? 'inet' : 'inet6';
      }
    } else if (w === 'scope') {
      const v = nextArg(words, ++i);
      const scope = scopeFromName(v);
      if (scope === undefined && v !== 'all') throw invarg('invalid "scope"\n', v);
      addr().scope = scope;
    } else if (w === 'up') s.up = true;
    else if ((flag = flagSelector(w))) {
      const a = addr();
      a.flags = flag.set ? a.flags | flag.bit : a.flags & ~flag.bit;
      a.flagMask |= flag.bit;
    } else if (w === 'label') {
      // What ip -j and -br print then (an empty object, or line, per address the label refuses) is not emulated.
      if (o.json || o.brief) throw unsupported(w);
      addr().label = fnmatchRegExp(nextArg(words, ++i));
    } else if (w === 'master') {
      const v = nextArg(words, ++i);
      if (!ns.link(v)) throw invarg('Device does not exist\n', v);
      s.master = v;
    } else if (w === 'nomaster') s.master = null;
    else if (w === 'type') {
      const v = nextArg(words, ++i);
      if (v === '_slave') throw unsupported(v); // an empty slave kind: what the kernel makes of it is not emulated
      if (v.endsWith('_slave')) s.slaveKind = v.slice(0, -'_slave'.length);
      else s.kind = v;
    } else if (NOT_EMULATED.has(w)) throw unsupported(w);
    else {
      if (w === 'dev') w = nextArg(words, ++i);
      if (s.dev !== undefined) throw new RtnlError('EINVAL', undefined, `Error: either "dev" is duplicate, or "${w}" is a garbage.`, 255);
      s.dev = w;
    }
  }
  return s;
}

/** The devices `ip link|addr show` prints for `s`, in index order; an unknown `dev` is refused in ip's words (exit 1). */
export function shownLinks(ns: Netns, s: LinkShow): readonly Interface[] {
  let links = ns.links();
  if (s.dev !== undefined) {
    const l = ns.link(s.dev);
    if (!l) throw new RtnlError('ENODEV', undefined, `Device "${s.dev}" does not exist.`, 1);
    links = [l];
  }
  const masterKind = (l: Interface) => {
    const m = l.master === undefined ? undefined : ns.link(l.master);
    return m && infoKind(m);
  };
  return links.filter(
    (l) =>
      (!s.up || l.up) &&
      (s.master === undefined || (s.master === null ? l.master === undefined : l.master === s.master)) &&
      (s.kind === undefined || infoKind(l) === s.kind) &&
      (s.slaveKind === undefined || masterKind(l) === s.slaveKind),
  );
}

/** The IFA_F_ flags the kernel gives an address (every one here is IFA_F_PERMANENT: no lifetimes). */
const ifaFlags = (a: IfAddr | If6Addr): number =>
  IFA_F_PERMANENT | ('bytes' in a ? a.flags : (a.secondary ? IFA_F_SECONDARY : 0) | (a.noprefixroute ? IFA_F_NOPREFIXROUTE : 0));

/** print_addrinfo's test of one address of device `dev`. */
export function addrMatches(s: AddrSelect, dev: Interface, a: IfAddr | If6Addr): boolean {
  if (s.scope !== undefined && a.scope !== s.scope) return false;
  if (((ifaFlags(a) ^ s.flags) & s.flagMask) !== 0) return false;
  if (s.label && !s.label.test('bytes' in a ? dev.name : a.label)) return false;
  const to = s.to;
  if (!to) return true;
  if ('v4' in to) return !('bytes' in a) && ((a.local ^ to.v4.addr) & prefixMask(to.v4.len)) === 0;
  return 'bytes' in a && inPrefix6(a.bytes, to.v6.bytes, to.v6.len);
}

/** The family `ip addr` lists: the request's, else that of `to PREFIX`. */
export const listedFamily = (family: Family | undefined, s: LinkShow): AddrFamily =>
  family === 'inet' || family === 'inet6' ? family : family === undefined && s.addr?.to ? ('v4' in s.addr.to ? 'inet' : 'inet6') : undefined;

/**
 * ipaddr_filter: the devices `ip addr` lists in `family`, each with an
 * address it selects; where no family is listed, also those with no
 * address at all. `shown`: the test print_addrinfo makes of each address.
 */
export function withSelectedAddrs(links: readonly Interface[], family: AddrFamily, s: AddrSelect | undefined): { links: readonly Interface[]; shown?: AddrShown } {
  const shown: AddrShown | undefined = s && ((l, a) => addrMatches(s, l, a));
  const has = (l: Interface, as: readonly (IfAddr | If6Addr)[]) => as.some((a) => !shown || shown(l, a));
  return {
    links: links.filter((l) =>
      family === undefined ? (l.addrs.length === 0 && l.addrs6.length === 0) || has(l, l.addrs) || has(l, l.addrs6) : has(l, family === 'inet' ? l.addrs : l.addrs6)),
    ...(shown ? { shown } : {}),
  };
}
