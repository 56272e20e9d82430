// devinet_ioctl's SIOCSIFADDR, SIOCSIFNETMASK and SIOCSIFBRDADDR (Linux
// 6.18, net/ipv4/devinet.c), what ifconfig sets IPv4 addresses with. Each
// acts on the first address labelled with the name given (DEV, or DEV:LABEL
// for an alias): a change takes it off (inet_del_ifa: its routes, the
// secondaries it held unless promoted, the device's IP where it was the
// last) and puts it back changed (inet_insert_ifa), as `ip addr del` then
// `ip addr add` would.
import { RtnlError } from './errors.js';
import type { AddrSpec } from './interfaces.js';
import { prefixMask } from './addr.js';
import { RT_SCOPE_HOST } from './names.js';
import type { Netns } from './netns.js';

export type DevinetSet = 'SIOCSIFADDR' | 'SIOCSIFNETMASK' | 'SIOCSIFBRDADDR';

/** inet_abc_len: the classful prefix of an address (0.0.0.0/8 and 255.255.255.255: 0; class E: 32); -1 for multicast. */
export function inetAbcLen(a: number): number {
  a >>>= 0;
  if (a >>> 24 === 0 || a === 0xffff_ffff) return 0;
  if (a >>> 31 === 0) return 8;
  if (a >>> 30 === 2) return 16;
  if (a >>> 29 === 6) return 24;
  return a >>> 28 === 15 ? 32 : -1;
}

/** bad_mask(mask, 0): a mask whose ones are not contiguous from the top. */
const badMask = (mask: number): boolean => {
  const h = ~mask >>> 0;
  return ((h & (h + 1)) >>> 0) !== 0;
};

/** The prefix length of a contiguous mask (inet_mask_len). */
const maskLen = (mask: number): number => (mask === 0 ? 0 : 32 - Math.log2((~mask >>> 0) + 1));

/**
 * The ioctl `cmd` with `value` on `name` in `ns`; throws the RtnlError of
 * its errno (after the address came off, where putting it back failed).
 * `drop` takes the packets the device's neighbours held where taking the
 * address off took its last one.
 */
export function devinetSet<P>(ns: Netns<P>, name: string, cmd: DevinetSet, value: number, drop: (held: P[]) => void): void {
  value >>>= 0;
  const colon = name.indexOf(':');
  const dev = colon < 0 ? name : name.slice(0, colon);
  const l = ns.link(dev);
  if (!l) throw new RtnlError('ENODEV');
  const ifa = l.addrs.find((a) => a.label === name);
  if (!ifa && cmd !== 'SIOCSIFADDR') throw new RtnlError('EADDRNOTAVAIL');
  // IFF_BROADCAST: every device dpemu has but the loopback.
  const brdFlag = l.kind !== 'loopback';
  const spec: AddrSpec = ifa
    ? { local: ifa.local, prefixLen: ifa.prefixLen, broadcast: ifa.broadcast, scope: ifa.scope, label: ifa.label, noprefixroute: ifa.noprefixroute, metric: ifa.metric }
    : { local: 0, prefixLen: 0, broadcast: 0, scope: 0, label: name };
  if (cmd === 'SIOCSIFADDR') {
    const len = inetAbcLen(value);
    if (len < 0) throw new RtnlError('EINVAL');
    if (ifa?.local === value) return;
    spec.local = value;
    spec.prefixLen = len;
    spec.broadcast = brdFlag && len < 31 ? (value | ~prefixMask(len)) >>> 0 : 0;
    // inet_set_ifa: scope 0, host for 127/8.
    spec.scope = value >>> 24 === 127 ? RT_SCOPE_HOST : 0;
  } else if (cmd === 'SIOCSIFNETMASK') {
    if (badMask(value)) throw new RtnlError('EINVAL');
    const old = prefixMask(spec.prefixLen);
    if (old === value) return;
    spec.prefixLen = maskLen(value);
    // A broadcast that followed the old mask follows the new one; any other is the user's.
    if (brdFlag && spec.prefixLen < 31 && spec.broadcast === (spec.local | ~old) >>> 0) spec.broadcast = (spec.local | ~value) >>> 0;
  } else {
    if (spec.broadcast === value) return;
    spec.broadcast = value;
  }
  if (ifa) drop(ns.delAddr(dev, ifa.local, ifa.prefixLen));
  // __inet_insert_ifa: 0.0.0.0 is not put back (`ifconfig DEV 0.0.0.0` takes the address away).
  if (spec.local !== 0) ns.addAddr(dev, spec);
}
