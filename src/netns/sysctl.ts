// net.ipv4.* sysctls of one namespace. Per-interface values live in each
// interface's DevConf; the kernel combines them with conf/all the way
// include/linux/inetdevice.h says (OR, AND or MAX of the two, or the
// device's own value), and those combinations are the functions below.

export interface DevConf {
  forwarding: number;
  rp_filter: number;
  arp_ignore: number;
  arp_announce: number;
  arp_filter: number;
  arp_accept: number;
  arp_notify: number;
  arp_evict_nocarrier: number;
  proxy_arp: number;
  proxy_arp_pvlan: number;
  medium_id: number;
  send_redirects: number;
  accept_redirects: number;
  secure_redirects: number;
  shared_media: number;
  accept_local: number;
  route_localnet: number;
  drop_gratuitous_arp: number;
  promote_secondaries: number;
  src_valid_mark: number;
  bc_forwarding: number;
  log_martians: number;
}

export type DevConfKey = keyof DevConf;

/** ipv4_devconf / ipv4_devconf_dflt in net/ipv4/devinet.c. */
export function kernelDevConf(): DevConf {
  return {
    forwarding: 0, rp_filter: 0, arp_ignore: 0, arp_announce: 0, arp_filter: 0, arp_accept: 0,
    arp_notify: 0, arp_evict_nocarrier: 1, proxy_arp: 0, proxy_arp_pvlan: 0, medium_id: 0,
    send_redirects: 1, accept_redirects: 1, secure_redirects: 1, shared_media: 1, accept_local: 0,
    route_localnet: 0, drop_gratuitous_arp: 0, promote_secondaries: 0, src_valid_mark: 0,
    bc_forwarding: 0, log_martians: 0,
  };
}

export const DEV_CONF_KEYS = Object.keys(kernelDevConf()) as DevConfKey[];

/** The namespace-wide part: net.ipv4.* outside conf/ and neigh/. */
export interface NetSysctls {
  icmp_errors_use_inbound_ifaddr: number;
  ip_nonlocal_bind: number;
  fwmark_reflect: number;
  ip_default_ttl: number;
  ip_no_pmtu_disc: number;
  ip_forward_use_pmtu: number;
  icmp_echo_ignore_all: number;
  icmp_echo_ignore_broadcasts: number;
  icmp_ratelimit: number;
  icmp_ratemask: number;
  icmp_msgs_per_sec: number;
  icmp_msgs_burst: number;
}

export function kernelNetSysctls(): NetSysctls {
  return {
    icmp_errors_use_inbound_ifaddr: 0, ip_nonlocal_bind: 0, fwmark_reflect: 0, ip_default_ttl: 64,
    ip_no_pmtu_disc: 0, ip_forward_use_pmtu: 0, icmp_echo_ignore_all: 0, icmp_echo_ignore_broadcasts: 1,
    icmp_ratelimit: 1000, icmp_ratemask: 6168, icmp_msgs_per_sec: 1000, icmp_msgs_burst: 50,
  };
}

export interface ConfPair {
  all: DevConf;
  dev: DevConf;
}

// IN_DEV_* combiners.
const or = (p: ConfPair, k: DevConfKey) => p.all[k] !== 0 || p.dev[k] !== 0;
const and = (p: ConfPair, k: DevConfKey) => p.all[k] !== 0 && p.dev[k] !== 0;
const max = (p: ConfPair, k: DevConfKey) => Math.max(p.all[k], p.dev[k]);

export const inDev = {
  forward: (p: ConfPair) => p.dev.forwarding !== 0,
  rpFilter: (p: ConfPair) => max(p, 'rp_filter'),
  srcVmark: (p: ConfPair) => or(p, 'src_valid_mark'),
  acceptLocal: (p: ConfPair) => or(p, 'accept_local'),
  proxyArp: (p: ConfPair) => or(p, 'proxy_arp'),
  proxyArpPvlan: (p: ConfPair) => or(p, 'proxy_arp_pvlan'),
  mediumId: (p: ConfPair) => p.dev.medium_id,
  sharedMedia: (p: ConfPair) => or(p, 'shared_media'),
  txRedirects: (p: ConfPair) => or(p, 'send_redirects'),
  routeLocalnet: (p: ConfPair) => or(p, 'route_localnet'),
  promoteSecondaries: (p: ConfPair) => or(p, 'promote_secondaries'),
  arpFilter: (p: ConfPair) => or(p, 'arp_filter'),
  arpAccept: (p: ConfPair) => max(p, 'arp_accept'),
  arpAnnounce: (p: ConfPair) => max(p, 'arp_announce'),
  arpIgnore: (p: ConfPair) => max(p, 'arp_ignore'),
  arpNotify: (p: ConfPair) => max(p, 'arp_notify'),
  dropGratuitousArp: (p: ConfPair) => or(p, 'drop_gratuitous_arp'),
  bcForward: (p: ConfPair) => and(p, 'bc_forwarding'),
  logMartians: (p: ConfPair) => or(p, 'log_martians'),
};

/**
 * What the Neutron L3 agent writes into each namespace it creates
 * (reference §8.1: namespaces.py Namespace.create, SnatNamespace.create,
 * FipNamespace.create, dvr_local_router.external_gateway_added). Per-device
 * settings (fg- proxy_arp, qr- send_redirects) are applied by whoever
 * creates those devices.
 */
export const NEUTRON_SYSCTLS: Record<'common' | 'qrouter' | 'snat' | 'fip', readonly [string, number][]> = {
  common: [
    ['net.ipv4.ip_forward', 1],
    ['net.ipv4.conf.all.arp_ignore', 1],
    ['net.ipv4.conf.all.arp_announce', 2],
  ],
  qrouter: [['net.ipv4.conf.all.send_redirects', 0]],
  snat: [['net.ipv4.ip_nonlocal_bind', 1]],
  fip: [['net.ipv4.ip_nonlocal_bind', 1]],
};

const INT_MAX = 2 ** 31 - 1;
const INT_MIN = -(2 ** 31);

/**
 * What the kernel's handler of each namespace-wide key accepts
 * (net/ipv4/sysctl_net_ipv4.c: proc_dou8vec_minmax with its extra1/extra2,
 * proc_dointvec_minmax from zero); ip_forward and conf/* keys take any int.
 */
export const NET_SYSCTL_RANGE: Record<keyof NetSysctls, readonly [number, number]> = {
  icmp_errors_use_inbound_ifaddr: [0, 1], icmp_echo_ignore_all: [0, 1], icmp_echo_ignore_broadcasts: [0, 1],
  ip_nonlocal_bind: [0, 255], fwmark_reflect: [0, 255], ip_no_pmtu_disc: [0, 255], ip_forward_use_pmtu: [0, 255],
  ip_default_ttl: [1, 255], icmp_ratelimit: [0, INT_MAX], icmp_ratemask: [INT_MIN, INT_MAX],
  icmp_msgs_per_sec: [0, INT_MAX], icmp_msgs_burst: [0, INT_MAX],
};

/**
 * A value written to an int sysctl as proc_get_long reads it: leading
 * spaces, an optional '-', a number in C's base 0 (0x hex, 0 octal), then
 * whitespace or the end (what follows the first number is ignored); within
 * [min, max] (an int's range by default). undefined: EINVAL.
 */
export function parseProcInt(text: string, [min, max]: readonly [number, number] = [INT_MIN, INT_MAX]): number | undefined {
  const m = /^\s*(-?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))(?:[ \t\n]|$)/.exec(text);
  if (!m) return undefined;
  const mag = m[2] !== undefined ? parseInt(m[2], 16) : m[3] !== undefined ? parseInt(m[3], 8) : Number(m[4]);
  const v = m[1] ? -mag : mag;
  return v < min || v > max || v < INT_MIN || v > INT_MAX ? undefined : v + 0;
}
