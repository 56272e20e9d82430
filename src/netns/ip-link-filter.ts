// The device selectors of `ip link|addr show` (iproute2 6.1
// ipaddr_list_flush_or_save and print_linkinfo's filter): dev, up,
// master, nomaster and type. What they select is printed in full, as
// without them.

import { RtnlError, invarg, nextArg } from './errors.js';
import { type Interface, infoKind } from './interfaces.js';
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
}

/** Selectors ip takes that are not emulated (address scope, prefix, label and flags; device groups; VRFs). */
const NOT_EMULATED = new Set(['to', 'scope', 'label', 'group', 'vrf', 'secondary', 'temporary', 'primary', 'nodad', 'optimistic', 'dadfailed', 'home', 'deprecated', 'tentative', 'permanent', 'dynamic', 'mngtmpaddr', 'noprefixroute', 'autojoin', 'stable-privacy']);

/**
 * Parse the words after `show`. ip resolves a master as it reads it
 * (invarg), a device after the whole line; any other word names the
 * device, once. `unsupported` builds the refusal of a selector not emulated.
 */
export function parseLinkShow(ns: Netns, words: readonly string[], unsupported: (word: string) => Error): LinkShow {
  const s: LinkShow = {};
  for (let i = 0; i < words.length; i++) {
    let w = words[i]!;
    if (w === 'up') s.up = true;
    else if (w === 'master') {
      const v = nextArg(words, ++i);
      if (!ns.link(v)) throw invarg('Device does not exist\n', v);
      s.master = v;
    } else if (w === 'nomaster') s.master = null;
    else if (w === 'type') {
      const v = nextArg(words, ++i);
      if (v === '_slave') throw unsupported(v); // an empty slave kind: what the kernel makes of it is not emulated
      if (v.endsWith('_slave')) s.slaveKind = v.slice(0, -'_slave'.length);
      else s.kind = v;
    } else if (NOT_EMULATED.has(w.replace(/^-/, ''))) throw unsupported(w);
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
