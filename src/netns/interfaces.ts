// Network interfaces of a namespace and their IPv4 address lists, kept in
// the order and with the primary/secondary marking net/ipv4/devinet.c gives
// them (__inet_insert_ifa, __inet_del_ifa); the FIB routes that addresses
// imply are derived in netns.ts.

import { type Ip4, type Mac, inPrefix, prefixMask, maskAddr } from './addr.js';
import { RtnlError } from './errors.js';
import { RT_SCOPE_HOST, RT_SCOPE_UNIVERSE } from './names.js';
import { type DevConf, type DevConfKey } from './sysctl.js';
import { type LinkInfo } from './link-info.js';
import { type DevConf6, type If6Addr } from './inet6.js';
import type { Mld6State } from './mld6.js';

/**
 * What kind of device: an OVS internal port (qr-, sg-, qg-, fg-,
 * fip-vif.N; in a hypervisor's root namespace also ovs-system and the
 * bridges' own ports), one end of a veth pair (rfp-/fpr-, qvb/qvo), a TAP,
 * a physical NIC, the loopback, a Linux bridge (qbr) or OVS's VXLAN
 * device (vxlan_sys_4789). It decides flags, qdisc and operstate as shown.
 */
export type LinkKind = 'loopback' | 'internal' | 'veth' | 'tap' | 'ether' | 'bridge' | 'vxlan';

export interface IfAddr {
  local: Ip4;
  prefixLen: number;
  /** 0 when none was assigned (kernel ifa_broadcast). */
  broadcast: Ip4;
  scope: number;
  label: string;
  secondary: boolean;
  noprefixroute: boolean;
  /** Metric of the prefix route (ifa_rt_priority). */
  metric: number;
}

export interface VethPeer {
  ifindex: number;
  /** The peer's name where it is in the same namespace: ip prints `NAME@PEER` then, not `@ifN`. */
  name?: string;
  /** Name of the namespace holding the peer, for `link-netns`. */
  netns?: string;
  netnsId?: number;
}

export interface Interface {
  readonly name: string;
  readonly index: number;
  readonly kind: LinkKind;
  mac: Mac;
  mtu: number;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** Carrier (IFF_LOWER_UP). A veth has carrier when its peer is up. */
  carrier: boolean;
  /**
   * IFLA_CARRIER_CHANGES (carrier up + down events). A veth starts with the
   * netif_carrier_off of its creation and, once both ends are up, one on.
   */
  carrierChanges: number;
  /** IFF_NOARP. */
  noarp: boolean;
  /** Set once the device has been up: a qdisc is then attached. */
  everUp: boolean;
  addrs: IfAddr[];
  /** Its IPv6 addresses in the kernel's order (inet6.ts): addrconf's link-local (lo's ::1) and those `ip -6 addr add` gave it. */
  addrs6: If6Addr[];
  /** Up with IPv6 on at addrconf's last look: going down then takes its addresses. */
  v6Up?: boolean;
  /** When it last came up with IPv6 on: the addresses older than that were given it while down. */
  v6UpSeq?: number;
  /** When addrconf set the device up (its link-local, the ff00::/8 route): their order; 0 while it has not. */
  v6Ready: number;
  conf: DevConf;
  /** net.ipv6.conf.DEV. */
  conf6: DevConf6;
  /**
   * Its inet6_dev's place in the order the namespace made them (ipv6_add_dev:
   * at registration, again when the MTU comes back to 1280 or more after
   * going below, which took it away); 0: none (an MTU below 1280).
   */
  idev6: number;
  /** That inet6_dev was made anew (not at registration): its ndisc_cache parms are newer than the other devices'. */
  idev6Remade?: boolean;
  /**
   * It was made anew while the device was up (true: IPv4's all-hosts group
   * is older than its groups, bridge fdb show), or while down and the
   * device has not come up since (false: it left no group going down).
   */
  idev6WhileUp?: boolean;
  /** It went down with IPv6 on (leaving its multicast groups): up again, it joins them in another order (bridge fdb show). */
  mc6Rejoined?: boolean;
  /** When IPv6 forwarding was last turned on for it at runtime (dev_forward_change's joins: ff05::2 too; mld6.ts). */
  fwd6Seq?: number;
  /** Its MLD work (mld6.ts); none while nothing is to be sent. */
  mld6?: Mld6State;
  /** conf/ keys written for this device, all of them once it had an address (the kernel's cnf.state bits): a conf/default write no longer reaches them. */
  confWritten?: Set<DevConfKey>;
  qlen: number;
  peer?: VethPeer;
  /** An 802.1Q sub-interface (of a device of this namespace): its VLAN id. Shown as its kind shows it, not as a VLAN device (`-d` refuses it). */
  vlanId?: number;
  /** The upper device (IFLA_MASTER): a bridge port's bridge, an OVS vport's ovs-system. */
  master?: string;
  /** IFF_PROMISC as user space set it (dev->gflags; a bridge's own promiscuity is not shown). */
  promisc?: boolean;
  /** What `ip -d` prints beyond the kind's constants, where the view knows it (a hypervisor's root namespace). */
  info?: LinkInfo;
  /** Multicast groups joined beyond 224.0.0.1 (which every multicast device joins), e.g. 224.0.0.5 for ospfd. */
  mcGroups?: Set<Ip4>;
}

export interface AddrSpec {
  local: Ip4;
  prefixLen: number;
  /** Omitted: computed as `brd +` does for /30 and shorter (as Neutron sets it); 0: none. */
  broadcast?: Ip4;
  scope?: number;
  label?: string;
  noprefixroute?: boolean;
  metric?: number;
}

/** The broadcast `brd +` computes: none for /31 and /32. */
export function autoBroadcast(local: Ip4, prefixLen: number): Ip4 {
  return prefixLen <= 30 ? (local | ~prefixMask(prefixLen)) >>> 0 : 0;
}

/** iproute2 default_scope(): 127/8 addresses get scope host. */
export function defaultAddrScope(local: Ip4): number {
  return local >>> 24 === 127 ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE;
}

const ifaMatch = (a: IfAddr, addr: Ip4) => inPrefix(addr, a.local, a.prefixLen);

/**
 * __inet_insert_ifa: an address in the same subnet (same mask) as an
 * existing one becomes secondary and goes to the end; a primary goes after
 * the last primary whose scope is not narrower than its own.
 */
export function insertAddr(iface: Interface, spec: AddrSpec): IfAddr {
  const ifa: IfAddr = {
    local: spec.local >>> 0,
    prefixLen: spec.prefixLen,
    broadcast: spec.broadcast ?? autoBroadcast(spec.local, spec.prefixLen),
    scope: spec.scope ?? defaultAddrScope(spec.local),
    label: spec.label ?? iface.name,
    secondary: false,
    noprefixroute: spec.noprefixroute ?? false,
    metric: spec.metric ?? 0,
  };
  let lastPrimary = 0;
  for (let i = 0; i < iface.addrs.length; i++) {
    const a = iface.addrs[i]!;
    if (!a.secondary && ifa.scope <= a.scope) lastPrimary = i + 1;
    if (a.prefixLen === ifa.prefixLen && ifaMatch(ifa, a.local)) {
      if (a.local === ifa.local) throw new RtnlError('EEXIST', 'ipv4: Address already assigned'); // __inet_insert_ifa
      if (a.scope !== ifa.scope) throw new RtnlError('EINVAL', 'ipv4: Invalid scope value');
      ifa.secondary = true;
    }
  }
  if (ifa.secondary) iface.addrs.push(ifa);
  else iface.addrs.splice(lastPrimary, 0, ifa);
  return ifa;
}

/**
 * inet_rtm_deladdr + __inet_del_ifa: deleting a primary deletes the
 * secondaries of its subnet, unless promote_secondaries makes the first of
 * them primary. Returns the removed addresses.
 */
export function deleteAddr(
  iface: Interface,
  local: Ip4,
  prefixLen: number | undefined,
  promote: boolean,
  label?: string,
): IfAddr[] {
  const i = iface.addrs.findIndex(
    (a) =>
      a.local === local >>> 0 &&
      (label === undefined || a.label === label) &&
      (prefixLen === undefined || a.prefixLen === prefixLen),
  );
  if (i < 0) throw new RtnlError('EADDRNOTAVAIL');
  const victim = iface.addrs[i]!;
  const removed = [victim];
  iface.addrs.splice(i, 1);
  if (!victim.secondary) {
    const sameNet = (a: IfAddr) => a.secondary && a.prefixLen === victim.prefixLen && ifaMatch(victim, a.local);
    if (promote) {
      const p = iface.addrs.find(sameNet);
      if (p) p.secondary = false;
    } else {
      for (let j = iface.addrs.length - 1; j >= 0; j--) {
        if (sameNet(iface.addrs[j]!)) removed.push(...iface.addrs.splice(j, 1));
      }
    }
  }
  return removed;
}

/** inet_ifa_byprefix: the primary address holding prefix/len. */
export function primaryFor(iface: Interface, prefix: Ip4, len: number): IfAddr | undefined {
  return iface.addrs.find((a) => !a.secondary && a.prefixLen === len && maskAddr(a.local, len) === prefix);
}

/**
 * Operational state as `ip link` prints it. `byIndex` finds a device of the
 * same namespace by ifindex: a veth without carrier is LOWERLAYERDOWN only
 * when the device numbered like its peer *in its own namespace* exists and
 * has no carrier either (default_operstate since Linux 6.12, commit
 * 8c55facecd7a: it looks the iflink up in dev_net(dev), even when the peer
 * lives in another namespace); otherwise DOWN.
 */
export function operState(iface: Interface, byIndex?: (ifindex: number) => Interface | undefined): string {
  if (!iface.up) return 'DOWN';
  switch (iface.kind) {
    case 'loopback':
    case 'internal':
    case 'vxlan':
      return 'UNKNOWN';
    case 'veth': {
      if (iface.carrier) return 'UP';
      const iflink = iface.peer?.ifindex ?? iface.index;
      if (iflink === iface.index) return 'DOWN';
      const lower = byIndex?.(iflink);
      return lower && !lower.carrier ? 'LOWERLAYERDOWN' : 'DOWN';
    }
    case 'tap':
      // tun turns the carrier on when a process attaches, which leaves the operstate unset (checked on Linux 6.18).
      return iface.carrier ? 'UNKNOWN' : 'DOWN';
    default:
      return iface.carrier ? 'UP' : 'DOWN';
  }
}

/** The device's IFLA_INFO_KIND: none for the loopback and a physical NIC. */
export function infoKind(l: Interface): string | undefined {
  if (l.vlanId !== undefined) return 'vlan';
  switch (l.kind) {
    case 'internal':
      return 'openvswitch';
    case 'tap':
      return 'tun';
    case 'veth':
    case 'bridge':
    case 'vxlan':
      return l.kind;
    default:
      return undefined;
  }
}
