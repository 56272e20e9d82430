// The routing state of one network namespace: interfaces and addresses,
// sysctls, route tables, policy rules and the neighbour table, kept
// consistent the way the kernel keeps them (an address brings its local,
// broadcast and prefix routes; a device going down takes its routes and
// neighbours along; a route is validated like fib_create_info does).
// The per-packet decisions live in route-input.ts, route-output.ts,
// forward.ts and arp.ts; this class is their data.

import { type Ip4, type Mac, isZeronet, maskAddr, prefixMask } from './addr.js';
import { type AddrView, addrType, localAddrDev } from './addr-select.js';
import { arpAnnounceSource } from './arp-policy.js';
import { type PmtuException, pmtuDeviceMtu } from './pmtu.js';
import { RtnlError } from './errors.js';
import { type Route, FibTables, type InsertMode, isErrorType } from './fib.js';
import { type AddrSpec, type Interface, type LinkKind, type VethPeer, deleteAddr, insertAddr, primaryFor } from './interfaces.js';
import {
  type RouteType, RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE, RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN,
  RTPROT_BOOT, RTPROT_KERNEL, RTPROT_UNSPEC,
} from './names.js';
import { type NeighAction, NeighbourTable, NUD, seededRandom } from './neighbour.js';
import { NEIGH6_KEYS, NEIGH_KEYS } from './neigh-sysctl.js';
import { ANY6, DEFAULT_RULES4, DEFAULT_RULES6, type FibResult, type Flow, type FibRule, type FibRule6, type RuleAddr, RuleSet, newRule } from './rules.js';
import { type NeighSpec, type RouteSpec, type RuleSpec } from './specs.js';
import { dadReady } from './dad6.js';
import { mldChange, mldGroups, mldStop } from './mld6.js';
import { DEV_CONF6_KEYS, type DevConf6, IPV6_MIN_MTU, type Route6, addAddr6, delAddr6, devConf6, routes6, syncInet6 } from './inet6.js';
import { type Route6Request, type UserRoute6, addRoute6, delRoute6, ifdownRoutes6, table6 } from './route6.js';
import { Nd6Cache } from './nd6-cache.js';
import {
  type ConfPair, type DevConf, type DevConfKey, type NetSysctls, DEV_CONF_KEYS, inDev, kernelDevConf, kernelNetSysctls,
} from './sysctl.js';

export const LOOPBACK_IFINDEX = 1;

export interface LinkSpec {
  name: string;
  kind: LinkKind;
  mac: Mac;
  mtu?: number;
  /** Fixed ifindex (devices moved into a namespace keep theirs); default: next free. */
  index?: number;
  up?: boolean;
  /** Default: true (a veth whose peer is down has none). */
  carrier?: boolean;
  noarp?: boolean;
  peer?: VethPeer;
  /** An 802.1Q sub-interface: its VLAN id (IFLA_VLAN_ID). */
  vlanId?: number;
  master?: string;
  promisc?: boolean;
}

export interface NetnsOptions {
  name?: string;
  /** Emulated time at creation, ms. */
  now?: number;
  /** Seed for the neighbour table's random reachable_time. */
  seed?: number;
  random?: () => number;
  /** Bring lo up with 127.0.0.1/8, as Neutron does for every namespace. Default true. */
  loopbackUp?: boolean;
  /** IPv6 on (inet6.ts); default off: net.ipv6.conf.{all,default}.disable_ipv6 start at 1. */
  ipv6?: boolean;
}

/**
 * What a forwarding cache (route-cache.ts) hears of besides routes and
 * rules (which come through fib.watch and rules.watch): each names what a
 * routing decision could have read that changed.
 */
export interface NetnsWatch {
  /** A route for dst/len was inserted, replaced or removed (any table). */
  route(dst: Ip4, len: number): void;
  /** A rule was added or removed, or changed its device resolution (twice: before and after); null: all of them. */
  rule(r: FibRule | null): void;
  /** Device ifindex went up or down, changed its MTU or conf sysctls, or gained its first or lost its last address. */
  link(ifindex: number): void;
  /** Anything may have changed (conf/all, the custom rules and local routes flags). */
  all(): void;
}

const DEFAULT_MTU: Record<LinkKind, number> = { loopback: 65536, internal: 1500, veth: 1500, tap: 1500, ether: 1500, bridge: 1500, vxlan: 1500 };

/** The table a route type goes to when none is given (iproute2 iproute_modify). */
function defaultTable(type: RouteType): number {
  return type === 'local' || type === 'broadcast' || type === 'nat' || type === 'anycast' ? RT_TABLE_LOCAL : RT_TABLE_MAIN;
}

/** ip_rt_error_cost and ip_rt_error_burst, in ms (HZ and 5 * HZ). */
export interface RouteError {
  error_cost: number;
  error_burst: number;
}

/** fib_props[type].scope: the widest scope a route of this type may have. */
const TYPE_SCOPE: Record<RouteType, number> = {
  unicast: RT_SCOPE_UNIVERSE, local: RT_SCOPE_HOST, broadcast: RT_SCOPE_LINK, anycast: RT_SCOPE_LINK,
  multicast: RT_SCOPE_UNIVERSE, blackhole: RT_SCOPE_UNIVERSE, unreachable: RT_SCOPE_UNIVERSE,
  prohibit: RT_SCOPE_UNIVERSE, throw: RT_SCOPE_UNIVERSE, nat: RT_SCOPE_NOWHERE,
};

/** What `ip rule del` gave, as rule_find compares it. */
function ruleMatch<A extends RuleAddr>(spec: RuleSpec<A>): Partial<FibRule<A>> {
  const m: Partial<FibRule<A>> = {};
  for (const [k, v] of Object.entries(spec)) if (v !== undefined) (m as Record<string, unknown>)[k] = v;
  return m;
}

/** One of the kernel's default rules, as a pasted list holds it. */
const isDefaultRule = <A extends RuleAddr>(r: FibRule<A>): boolean =>
  r.action === 'lookup' && !r.invert && !r.srcLen && !r.dstLen && !r.tos && !r.fwmask && r.iif === undefined &&
  r.oif === undefined && !r.ipproto && !r.sport && !r.dport && !r.uidrange && r.suppressPrefixLen === -1 &&
  ((r.priority === 0 && r.table === RT_TABLE_LOCAL) || (r.priority === 32766 && r.table === RT_TABLE_MAIN) ||
    (r.priority === 32767 && r.table === RT_TABLE_DEFAULT));

export class Netns<P = unknown> implements AddrView {
  readonly name: string;
  readonly sys: NetSysctls = kernelNetSysctls();
  /**
   * net.ipv4.route.error_cost and error_burst (ms): ip_error's limit. The
   * kernel's are global, shown only in the initial namespace: the host's
   * values, which a topology file may give; sysctl in a namespace has none.
   */
  readonly routeError: RouteError = { error_cost: 1000, error_burst: 5000 };
  /** net.ipv6.icmp.ratelimit (ms, as written): a new namespace's on Linux 6.18. */
  icmp6Ratelimit = 100;
  /** net.ipv4.conf.all */
  readonly all: DevConf = kernelDevConf();
  /** net.ipv4.conf.default: what new devices start with. */
  readonly dflt: DevConf = kernelDevConf();
  readonly fib = new FibTables();
  readonly rules = new RuleSet<Ip4>(0, DEFAULT_RULES4);
  readonly neigh: NeighbourTable<P>;
  private readonly byIndex = new Map<number, Interface>();
  private readonly byName = new Map<string, Interface>();
  private sorted: Interface[] = [];
  /** fib4_has_custom_rules: set by any rule added, never cleared. */
  customRules = false;
  /** fib_has_custom_local_routes: a user added a `local` route. */
  customLocalRoutes = false;
  /** The learned path MTUs (pmtu.ts), per route and destination; a route deleted takes its own along. */
  readonly pmtu = new Map<Route, Map<number, PmtuException>>();
  /** Emulated time in ms for what keeps time off the packet path (the learned path MTUs): the element's engine clock. */
  clock: () => number = () => 0;
  private gen = 0;
  private watch: NetnsWatch | null = null;

  constructor(opts: NetnsOptions = {}) {
    this.name = opts.name ?? '';
    const tableOpts: { random: () => number; now?: number } = { random: opts.random ?? seededRandom(opts.seed ?? 1) };
    if (opts.now !== undefined) tableOpts.now = opts.now;
    this.neigh = new NeighbourTable<P>(
      {
        // arp_constructor uses inet_addr_type_dev_table: the local table, any device.
        addrType: (ip) => {
          const t = addrType(this, ip);
          return t === 'broadcast' || t === 'multicast' || t === 'local' ? t : 'unicast';
        },
        devMac: (i) => this.byIndex.get(i)?.mac ?? 0,
        devNoArp: (i) => {
          const l = this.byIndex.get(i);
          return !l || l.noarp || l.kind === 'loopback';
        },
        devKeyless: (i) => this.byIndex.get(i)?.kind === 'loopback',
        solicitSource: (i, target, pktSrc) => {
          const l = this.byIndex.get(i);
          return l ? arpAnnounceSource(this, l, target, pktSrc) : 0;
        },
      },
      tableOpts,
    );
    this.nd6 = new Nd6Cache<P>(opts.now !== undefined ? { now: opts.now } : {});
    const off6 = opts.ipv6 ? 0 : 1;
    this.all6 = devConf6(off6);
    this.dflt6 = devConf6(off6);
    this.addLink({ name: 'lo', kind: 'loopback', mac: 0, index: LOOPBACK_IFINDEX, noarp: true });
    if (opts.loopbackUp ?? true) {
      this.setLinkUp('lo', true);
      this.addAddr('lo', { local: 0x7f000001, prefixLen: 8, broadcast: 0 });
    }
  }

  /** Changes whenever links, addresses, routes or rules change: a cache keyed on it stays valid until then. */
  get generation(): number {
    return this.gen + this.fib.generation + this.rules.generation;
  }

  private touch(): void {
    this.gen++;
  }

  /** Tell `w` of every change a routing decision could depend on (one watcher). */
  setWatch(w: NetnsWatch | null): void {
    this.watch = w;
    this.fib.watch = w && ((dst, len) => w.route(dst, len));
    this.rules.watch = w && ((r) => w.rule(r));
  }

  // ---- links ---------------------------------------------------------

  links(): readonly Interface[] {
    return this.sorted;
  }

  link(name: string): Interface | undefined {
    return this.byName.get(name);
  }

  linkByIndex(ifindex: number): Interface | undefined {
    return this.byIndex.get(ifindex);
  }

  /** The device or iproute2's complaint about it. */
  mustLink(name: string): Interface {
    const l = this.byName.get(name);
    if (!l) throw new RtnlError('ENODEV', undefined, `Cannot find device "${name}"`, 1);
    return l;
  }

  confOf(iface: Interface): ConfPair {
    return { all: this.all, dev: iface.conf };
  }

  /** confOf written into `into` (the forwarding path's reused pair). */
  confInto(iface: Interface, into: ConfPair): ConfPair {
    into.all = this.all;
    into.dev = iface.conf;
    return into;
  }

  addLink(spec: LinkSpec): Interface {
    if (this.byName.has(spec.name)) throw new RtnlError('EEXIST');
    let index = spec.index;
    if (index === undefined) {
      index = 1;
      while (this.byIndex.has(index)) index++;
    } else if (this.byIndex.has(index)) {
      throw new RtnlError('EEXIST');
    }
    const iface: Interface = {
      name: spec.name,
      index,
      kind: spec.kind,
      mac: spec.mac,
      mtu: spec.mtu ?? DEFAULT_MTU[spec.kind],
      up: false,
      carrier: spec.carrier ?? true,
      carrierChanges: spec.kind === 'veth' ? (spec.carrier ?? true ? 2 : 1) : 0,
      noarp: spec.noarp ?? spec.kind === 'loopback',
      everUp: false,
      addrs: [],
      conf: { ...this.dflt },
      addrs6: [],
      v6Ready: 0,
      conf6: { ...this.dflt6 },
      idev6: 0,
      qlen: 1000,
    };
    if (spec.peer) iface.peer = spec.peer;
    if (spec.vlanId !== undefined) iface.vlanId = spec.vlanId;
    if (spec.master !== undefined) iface.master = spec.master;
    if (spec.promisc) iface.promisc = true;
    // ipv6_add_dev at registration refuses a device with an MTU below 1280; lo's accept_dad is -1.
    if (iface.mtu >= IPV6_MIN_MTU) iface.idev6 = this.nextIdev6();
    if (spec.kind === 'loopback') iface.conf6.accept_dad = -1;
    this.byIndex.set(index, iface);
    this.byName.set(spec.name, iface);
    this.sorted = [...this.byIndex.values()].sort((a, b) => a.index - b.index);
    this.rules.resolveDevices((n) => this.byName.get(n)?.index);
    this.rules6.resolveDevices((n) => this.byName.get(n)?.index);
    this.touch();
    if (spec.up) this.setLinkUp(spec.name, true);
    return iface;
  }

  /** Unregister: routes, neighbours and addresses of the device go; rules naming it detach. */
  delLink(name: string): P[] {
    const l = this.mustLink(name);
    this.watch?.link(l.index);
    for (const t of this.fib.all()) t.removeWhere((r) => r.dev === l.index);
    ifdownRoutes6(this.userRoutes6, l);
    this.fib.generation++;
    const dropped = this.neigh.ifdown(l.index);
    this.nd6.ifdown(l.index, dropped);
    this.neigh.forgetDev(l.index);
    this.nd6.forgetDev(l.index);
    this.byIndex.delete(l.index);
    this.byName.delete(name);
    this.sorted = this.sorted.filter((x) => x !== l);
    this.rules.resolveDevices((n) => this.byName.get(n)?.index);
    this.rules6.resolveDevices((n) => this.byName.get(n)?.index);
    this.touch();
    return dropped;
  }

  /** ip link set DEV up|down. Going down drops the device's routes (except local ones) and its neighbours. */
  setLinkUp(name: string, up: boolean): P[] {
    const l = this.mustLink(name);
    if (l.up === up) return [];
    l.up = up;
    this.watch?.link(l.index);
    let dropped: P[] = [];
    if (up) {
      l.everUp = true;
    } else {
      // fib_sync_down_dev(NETDEV_DOWN): nexthops on the device die unless of scope nowhere (host routes).
      for (const t of this.fib.all()) t.removeWhere((r) => r.dev === l.index && r.nhScope !== RT_SCOPE_NOWHERE);
      dropped = this.neigh.ifdown(l.index);
      this.nd6.ifdown(l.index, dropped);
    }
    this.syncAddrRoutes(l);
    this.sync6(l);
    this.touch();
    return dropped;
  }

  /** The IPv6 neighbours (ndisc.ts fills it). */
  readonly nd6: Nd6Cache<P>;
  /** net.ipv6.conf.all and .default (each device has its own in conf6). */
  readonly all6: DevConf6;
  readonly dflt6: DevConf6;
  private seq6 = 0;
  private readonly nextSeq6 = (): number => ++this.seq6;
  private idevSeq = 0;
  private readonly nextIdev6 = (): number => ++this.idevSeq;

  /** addrconf's reaction to a change of the device's state or disable_ipv6; a device now ready begins the DAD of its tentative addresses. */
  private sync6(l: Interface): void {
    syncInet6(l, this.nextSeq6);
    if (!l.up || l.conf6.disable_ipv6 !== 0) {
      ifdownRoutes6(this.userRoutes6, l);
      mldStop(l);
    } else if (l.v6Ready !== 0 && dadReady(l)) this.dadDue = 0;
  }

  /** When the DAD work (dad6.ts) next has something to do: the namespace's tick runs it then (Infinity: nothing). */
  dadDue = Infinity;

  /** When the MLD work (mld6.ts) is next due. */
  mldDue = Infinity;
  /**
   * Whether MLD sends: not while the topology is built ('start': no frames
   * at start-up), from the namespace's first work on ('on'); never ('off':
   * a test whose kernel twin drops its own IPv6 output).
   */
  mld: 'start' | 'on' | 'off' = 'start';

  /** Run `change` of device `l`: at runtime, the groups it joins or leaves get their reports (`all`: every group's, ipv6_mc_up). */
  withMld<T>(l: Interface, all: boolean, change: () => T): T {
    const before = this.mld === 'on' ? mldGroups(l) : undefined;
    const r = change();
    if (before) this.mldDue = Math.min(this.mldDue, mldChange(l, before, all, this.clock()));
    return r;
  }

  /** An address of `l` came out of DAD (valid, or failed): its routes change. */
  dadSettled(l: Interface): void {
    this.watch?.link(l.index);
    this.touch();
  }

  /** IPv6 off on the device as net.ipv6.conf.DEV.disable_ipv6=1 sets it (DAD's accept_dad 2). */
  disable6(l: Interface): void {
    this.setConf6(l.name, 'disable_ipv6', 1, l.name);
  }

  /** The routes `ip -6 route add` made (route6.ts), in the order added. */
  readonly userRoutes6: UserRoute6[] = [];

  /** The IPv6 tables made (fib6_new_table; never freed), in a dump's order: by id & 255 (the table hash), the newest first within. */
  tables6: number[] = [RT_TABLE_MAIN, RT_TABLE_LOCAL];

  /** fib6_new_table: table `id` (0: main) exists from now on. */
  madeTable6(table: number): void {
    const id = table || RT_TABLE_MAIN;
    if (this.tables6.includes(id)) return;
    const h = (x: number) => x & 255;
    const at = this.tables6.findIndex((x) => h(x) >= h(id));
    this.tables6.splice(at < 0 ? this.tables6.length : at, 0, id);
    this.touch();
  }

  /** The IPv6 FIB as `ip -6 route show table all` lists it (inet6.ts's routes6). */
  routes6(): Route6[] {
    return routes6(this.sorted, (l) => l.conf6.forwarding !== 0, this.userRoutes6, this.tables6);
  }

  private fib6Now: Route6[] = [];
  private fib6Gen = -1;

  /** routes6(), made again only after a change (the generation): what the data path looks up, with no allocation per packet. */
  fib6(): readonly Route6[] {
    if (this.fib6Gen !== this.generation) {
      this.fib6Now = this.routes6();
      this.fib6Gen = this.generation;
    }
    return this.fib6Now;
  }

  /** ip -6 route add|replace. */
  addRoute6(q: Route6Request, replace: boolean): void {
    this.madeTable6(table6(q));
    addRoute6(this.userRoutes6, q, replace, this.sorted, this.routes6(), this.nextSeq6);
    this.touch();
  }

  /** ip -6 route del. */
  delRoute6(q: Route6Request): void {
    if (!this.tables6.includes(table6(q))) throw new RtnlError('ESRCH', 'FIB table does not exist');
    delRoute6(this.userRoutes6, q, this.sorted, this.routes6());
    this.touch();
  }

  /** ip -6 addr add (inet6.ts's addAddr6); with `dad`, a runtime command's, its DAD to run (dad6.ts). */
  addAddr6(dev: string, bytes: Uint8Array, prefixLen: number, flags: number, metric: number, dad = false): void {
    // inet6_addr_add's ipv6_find_idev: ipv6_mc_up reports every group of an up device again.
    const l = this.mustLink(dev);
    const a = this.withMld(l, dad, () => addAddr6(l, bytes, prefixLen, flags, metric, this.nextSeq6, dad));
    if (a.dadAt !== undefined) this.dadDue = 0;
    this.touch();
  }

  /** ip -6 addr del. */
  delAddr6(dev: string, bytes: Uint8Array, prefixLen: number): void {
    const l = this.mustLink(dev);
    this.withMld(l, false, () => delAddr6(l, bytes, prefixLen));
    this.touch();
  }

  /** Carrier change (a veth peer going up/down, a TAP opened/closed). */
  setCarrier(name: string, carrier: boolean): P[] {
    const l = this.mustLink(name);
    if (l.carrier === carrier) return [];
    l.carrier = carrier;
    l.carrierChanges++;
    // NETDEV_CHANGE on a device addrconf had set up (IF_READY): ipv6_mc_up reports every group again.
    if (carrier && l.up && l.v6Ready !== 0) this.withMld(l, true, () => this.sync6(l));
    else this.sync6(l);
    this.touch();
    // neigh_carrier_down, when arp_evict_nocarrier (all AND dev) allows it.
    if (!carrier && this.all.arp_evict_nocarrier && l.conf.arp_evict_nocarrier) return this.neigh.carrierDown(l.index);
    return [];
  }

  /** dev_validate_mtu: a veth or an OVS internal port takes 68..65535 (ETH_MIN_MTU, ETH_MAX_MTU), the loopback any size. */
  validateMtu(name: string, mtu: number): void {
    const loopback = this.mustLink(name).kind === 'loopback';
    if (mtu < (loopback ? 0 : 68)) throw new RtnlError('EINVAL', 'mtu less than device minimum');
    if (!loopback && mtu > 65535) throw new RtnlError('EINVAL', 'mtu greater than device maximum');
  }

  /** ip link set DEV mtu N; returns the packets an inet6_dev going away held on its IPv6 neighbours (the caller drops them). */
  setMtu(name: string, mtu: number): P[] {
    const l = this.mustLink(name);
    if (l.mtu === mtu) return [];
    if (this.pmtu.size !== 0) pmtuDeviceMtu(this, l.index, mtu, l.mtu);
    l.mtu = mtu;
    this.watch?.link(l.index);
    const dropped: P[] = [];
    // addrconf_notify(NETDEV_CHANGEMTU).
    if (mtu < IPV6_MIN_MTU) this.ifdown6(l, dropped);
    else if (l.idev6 === 0) {
      // A new inet6_dev (ipv6_add_dev), with net.ipv6.conf.default's values and nd_tbl's parms; addrconf then sets it up if the device is.
      l.idev6 = this.nextIdev6();
      l.idev6Remade = true;
      l.idev6WhileUp = l.up;
      l.conf6 = { ...this.dflt6 };
      l.mc6Rejoined = false;
      this.sync6(l);
    }
    this.touch();
    return dropped;
  }

  /**
   * SIOCSIFHWADDR (dev_set_mac_address): the loopback takes no Ethernet
   * address, a multicast or all-zero one is refused; then NETDEV_CHANGEADDR,
   * even for the same address: both neighbour tables forget the device's
   * entries (neigh_changeaddr; the packets they held are returned).
   */
  setMac(name: string, mac: number): P[] {
    const l = this.link(name);
    if (!l) throw new RtnlError('ENODEV');
    if (l.kind === 'loopback') throw new RtnlError('EINVAL');
    if (mac === 0 || Math.floor(mac / 2 ** 40) & 1) throw new RtnlError('EADDRNOTAVAIL');
    l.mac = mac;
    this.watch?.link(l.index);
    const dropped = this.neigh.changeAddr(l.index);
    this.nd6.ifdown(l.index, dropped);
    this.touch();
    return dropped;
  }

  /**
   * An MTU below 1280: addrconf_ifdown, its addresses, routes and IPv6
   * neighbours gone; the inet6_dev itself too (its conf/ and neigh/ sysctls,
   * its ndisc_cache parms, its groups) but lo's, which only loses ::1 until
   * it next comes up.
   */
  private ifdown6(l: Interface, dropped: P[]): void {
    if (l.idev6 === 0) return;
    l.addrs6.length = 0;
    l.v6Up = false;
    l.v6Ready = 0;
    ifdownRoutes6(this.userRoutes6, l);
    this.nd6.ifdown(l.index, dropped);
    if (l.kind === 'loopback') return;
    l.idev6 = 0;
    this.nd6.forgetDev(l.index);
  }

  // ---- addresses -----------------------------------------------------

  /** ip addr add: the address and the routes fib_add_ifaddr derives from it. */
  addAddr(dev: string, spec: AddrSpec): void {
    const l = this.mustLink(dev);
    if (spec.prefixLen < 0 || spec.prefixLen > 32) throw new RtnlError('EINVAL');
    insertAddr(l, spec);
    // inet_rtm_newaddr (and lo's 127.0.0.1 on NETDEV_UP): ipv4_devconf_setall, every conf/ key the device's own.
    l.confWritten = new Set(DEV_CONF_KEYS);
    if (l.addrs.length === 1) this.watch?.link(l.index); // fib_validate_source reads whether it has any
    this.syncAddrRoutes(l);
    this.touch();
  }

  /**
   * ip addr del. Main-table routes preferring a vanished address are flushed
   * (fib_sync_down_addr). The device's last address going takes IP off it
   * (fib_disable_ip): every route through it, in any table, and its
   * neighbours go; the packets those held are returned.
   */
  delAddr(dev: string, local: Ip4, prefixLen?: number): P[] {
    const l = this.mustLink(dev);
    const removed = deleteAddr(l, local, prefixLen, inDev.promoteSecondaries(this.confOf(l)));
    let dropped: P[] = [];
    if (l.addrs.length === 0) {
      this.watch?.link(l.index);
      for (const t of this.fib.all()) t.removeWhere((r) => r.dev === l.index);
      dropped = this.neigh.ifdown(l.index);
      this.nd6.ifdown(l.index, dropped);
    }
    this.syncAddrRoutes(l);
    for (const a of removed) {
      if (localAddrDev(this, a.local, true)) continue;
      this.fib.get(RT_TABLE_MAIN)?.removeWhere((r) => r.prefsrc === a.local);
    }
    this.fib.generation++;
    this.touch();
    return dropped;
  }

  /**
   * Rebuild the kernel-made routes of one device from its addresses, as
   * fib_add_ifaddr makes them: `local A` for every address (up or not);
   * when up, a broadcast route for an assigned broadcast, and for each
   * primary (unless /32 or noprefixroute) the prefix route in main and,
   * below /31, the subnet broadcast. Secondaries borrow the primary's src.
   */
  private syncAddrRoutes(l: Interface): void {
    // Most of what is rebuilt comes back as it was: the watcher hears only of the prefixes whose routes differ after.
    const watch = this.fib.watch;
    this.fib.watch = null;
    const before = watch ? this.autoPrefixes(l) : undefined;
    for (const id of [RT_TABLE_LOCAL, RT_TABLE_MAIN]) this.fib.get(id)?.removeWhere((r) => r.auto && r.dev === l.index);
    const magic = (type: RouteType, dst: Ip4, len: number, src: Ip4, metric = 0) => {
      const r: Route = {
        table: type === 'unicast' ? RT_TABLE_MAIN : RT_TABLE_LOCAL,
        type, dst, dstLen: len, tos: 0, priority: metric, protocol: RTPROT_KERNEL,
        scope: type === 'local' ? RT_SCOPE_HOST : RT_SCOPE_LINK,
        gateway: 0, dev: l.index, prefsrc: src, onlink: false, mtu: 0, mtuLock: false, metrics: [],
        nhScope: type === 'local' ? RT_SCOPE_NOWHERE : RT_SCOPE_HOST, auto: true,
      };
      try {
        this.tableMade(r.table);
        this.fib.create(r.table).insert(r, 'kernel');
      } catch (e) {
        if (!(e instanceof RtnlError)) throw e;
      }
    };
    for (const a of l.addrs) {
      const prefix = maskAddr(a.local, a.prefixLen);
      const prim = a.secondary ? primaryFor(l, prefix, a.prefixLen) : a;
      if (!prim) continue;
      magic('local', a.local, 32, prim.local);
      if (!l.up) continue;
      if (a.broadcast && a.broadcast !== 0xffff_ffff) magic('broadcast', a.broadcast, 32, prim.local);
      if (!isZeronet(prefix) && !a.secondary && (prefix !== a.local || a.prefixLen < 32)) {
        if (!a.noprefixroute) magic(l.kind === 'loopback' ? 'local' : 'unicast', prefix, a.prefixLen, prim.local, a.metric);
        if (a.prefixLen < 31) magic('broadcast', (prefix | ~prefixMask(a.prefixLen)) >>> 0, 32, prim.local);
      }
    }
    this.fib.generation++;
    if (!watch || !before) return;
    this.fib.watch = watch;
    const after = this.autoPrefixes(l);
    for (const [k, p] of after) if (before.get(k)?.aliases !== p.aliases) watch(p.dst, p.len);
    for (const [k, p] of before) if (!after.has(k)) watch(p.dst, p.len);
  }

  /** The prefixes holding kernel-made routes of `l`, each with its whole alias list as text (order included). */
  private autoPrefixes(l: Interface): Map<string, { dst: Ip4; len: number; aliases: string }> {
    const out = new Map<string, { dst: Ip4; len: number; aliases: string }>();
    for (const id of [RT_TABLE_LOCAL, RT_TABLE_MAIN]) {
      const t = this.fib.get(id);
      if (!t) continue;
      for (const r of t.routes()) {
        const k = `${id} ${r.dst}/${r.dstLen}`;
        if (!r.auto || r.dev !== l.index || out.has(k)) continue;
        const aliases = t.prefix(r.dst, r.dstLen).map((a) =>
          [a.type, a.tos, a.priority, a.protocol, a.scope, a.gateway, a.dev, a.prefsrc, a.onlink, a.mtu, a.nhScope, a.auto, a.metrics.join()].join(' '),
        ).join('|');
        out.set(k, { dst: r.dst, len: r.dstLen, aliases });
      }
    }
    return out;
  }

  // ---- routes --------------------------------------------------------

  /** fib_lookup: the policy rules over the tables (written into `out` when given). */
  lookup(flow: Flow, out?: FibResult): FibResult {
    return this.rules.lookup(flow, this.fib, undefined, out);
  }

  /**
   * ip route add|replace|change|append|prepend: iproute2's defaults, then
   * fib_create_info's checks (scope, nexthop reachability, prefsrc), then
   * fib_table_insert.
   */
  addRoute(spec: RouteSpec, mode: InsertMode = 'add'): Route {
    const type = spec.type ?? 'unicast';
    // fib_new_table maps table 0 to main.
    const table = spec.table || defaultTable(type);
    const hasGw = spec.gateway !== undefined && spec.gateway !== 0;
    const scope =
      spec.scope ??
      (type === 'local' || type === 'nat'
        ? RT_SCOPE_HOST
        : type === 'broadcast' || type === 'multicast' || type === 'anycast'
          ? RT_SCOPE_LINK
          : type === 'unicast' && !hasGw
            ? RT_SCOPE_LINK
            : RT_SCOPE_UNIVERSE);
    const devIface = spec.dev !== undefined ? this.mustLink(spec.dev) : undefined;
    // fib_new_table runs before fib_create_info's checks: a refused route still makes its table.
    this.tableMade(table);
    if (spec.dstLen < 32 && (spec.dst & ~prefixMask(spec.dstLen)) !== 0) {
      throw new RtnlError('EINVAL', 'Invalid prefix for given prefix length');
    }
    if (TYPE_SCOPE[type] > scope) throw new RtnlError('EINVAL', 'Invalid scope');
    const r: Route = {
      table, type, dst: spec.dst >>> 0, dstLen: spec.dstLen, tos: spec.tos ?? 0, priority: spec.metric ?? 0,
      protocol: spec.protocol ?? RTPROT_BOOT, scope, gateway: hasGw ? spec.gateway! >>> 0 : 0,
      dev: devIface?.index ?? 0, prefsrc: spec.src ?? 0, onlink: spec.onlink ?? false,
      mtu: spec.mtu ?? 0, mtuLock: spec.mtuLock ?? false, metrics: spec.metrics ?? [],
      nhScope: RT_SCOPE_HOST, auto: false,
    };
    if (isErrorType(type)) {
      if (hasGw || devIface) {
        throw new RtnlError('EINVAL', 'Gateway, device and multipath can not be specified for this route type');
      }
      r.nhScope = RT_SCOPE_NOWHERE;
    } else if (scope === RT_SCOPE_HOST) {
      if (hasGw) throw new RtnlError('EINVAL', 'Route with host scope can not have a gateway');
      if (!devIface) throw new RtnlError('ENODEV');
      r.nhScope = RT_SCOPE_NOWHERE;
    } else if (hasGw) {
      this.checkGateway(r, devIface);
    } else {
      // fib_check_nh_nongw
      if (r.onlink) throw new RtnlError('EINVAL', 'Invalid flags for nexthop - PERVASIVE and DEAD can not be set');
      if (!devIface) throw new RtnlError('ENODEV');
      if (!devIface.up) throw new RtnlError('ENETDOWN', 'Device for nexthop is not up');
      r.nhScope = RT_SCOPE_HOST;
    }
    if (r.prefsrc && !this.validPrefsrc(r)) throw new RtnlError('EINVAL', 'Invalid prefsrc address');
    this.fib.create(table).insert(r, mode);
    if (type === 'local' && !this.customLocalRoutes) {
      this.customLocalRoutes = true;
      this.watch?.all(); // fib_validate_source takes the long way from now on
    }
    this.fib.generation++;
    return r;
  }

  /** fib_new_table: the kernel makes a table on first use, and main with local while no rule was added (local's trie is main's then). */
  private tableMade(id: number): void {
    this.fib.create(id).created = true;
    if (id === RT_TABLE_LOCAL && !this.customRules) this.fib.create(RT_TABLE_MAIN).created = true;
  }

  /** fib_check_nh_v4_gw. Sets the nexthop device and scope on `r`. */
  private checkGateway(r: Route, dev: Interface | undefined): void {
    if (r.onlink) {
      if (r.scope >= RT_SCOPE_LINK) throw new RtnlError('EINVAL', 'Nexthop has invalid scope');
      if (!dev) throw new RtnlError('ENODEV', 'Nexthop device required for onlink');
      if (!dev.up) throw new RtnlError('ENETDOWN', 'Nexthop device is not up');
      if (addrType(this, r.gateway) !== 'unicast') throw new RtnlError('EINVAL', 'Nexthop has invalid gateway');
      r.nhScope = RT_SCOPE_LINK;
      return;
    }
    const flow: Flow = {
      dst: r.gateway, src: 0, tos: 0, scope: Math.max(r.scope + 1, RT_SCOPE_LINK), oif: dev?.index ?? 0,
      iif: LOOPBACK_IFINDEX, mark: 0, proto: 0, sport: 0, dport: 0, uid: 0,
    };
    let found: Route | undefined;
    const tbl = r.table !== RT_TABLE_MAIN ? this.fib.get(r.table) : undefined;
    if (tbl) {
      const hit = tbl.lookup(flow);
      if (hit && !isErrorType(hit.type)) found = hit;
    }
    if (!found) {
      const res = this.lookup(flow);
      // fib_lookup's own error (ENETUNREACH where nothing matched): route's SIOCADDRT prints it, ip the message.
      if (res.error || !res.route) throw new RtnlError(res.error ?? 'ENETUNREACH', 'Nexthop has invalid gateway');
      found = res.route;
    }
    if (found.type !== 'unicast' && found.type !== 'local') throw new RtnlError('EINVAL', 'Nexthop has invalid gateway');
    r.nhScope = found.scope;
    r.dev = found.dev;
    const nhDev = this.byIndex.get(found.dev);
    if (!nhDev) throw new RtnlError('EINVAL', 'No egress device for nexthop gateway');
    if (!nhDev.up) throw new RtnlError('ENETDOWN');
  }

  /** fib_valid_prefsrc: src must be a local address (in this table's local view, or the local table). */
  private validPrefsrc(r: Route): boolean {
    if (r.type === 'local' && r.dstLen === 32 && r.prefsrc === r.dst) return true;
    const tb = r.table === RT_TABLE_MAIN ? RT_TABLE_LOCAL : r.table;
    if (addrType(this, r.prefsrc, 0, tb) === 'local') return true;
    return tb !== RT_TABLE_LOCAL && addrType(this, r.prefsrc, 0, RT_TABLE_LOCAL) === 'local';
  }

  /** ip route del: the first route matching what was given (ESRCH when none). */
  delRoute(spec: RouteSpec): Route {
    const table = spec.table || defaultTable(spec.type ?? 'unicast');
    const t = this.fib.get(table);
    if (!t) throw new RtnlError('ESRCH', 'FIB table does not exist');
    const m: Parameters<typeof t.delete>[0] = { dst: spec.dst >>> 0, dstLen: spec.dstLen };
    if (spec.tos !== undefined) m.tos = spec.tos;
    if (spec.type !== undefined) m.type = spec.type;
    if (spec.scope !== undefined) m.scope = spec.scope;
    if (spec.src !== undefined) m.prefsrc = spec.src;
    if (spec.protocol !== undefined) m.protocol = spec.protocol;
    if (spec.metric !== undefined) m.priority = spec.metric;
    if (spec.dev !== undefined) m.dev = this.mustLink(spec.dev).index;
    if (spec.gateway !== undefined) m.gateway = spec.gateway;
    const r = t.delete(m);
    this.pmtu.delete(r);
    this.fib.generation++;
    return r;
  }

  // ---- rules ---------------------------------------------------------

  /** ip rule add. Without a priority the kernel picks one below the second rule's. */
  addRule(spec: RuleSpec): FibRule {
    const rule = this.ruleFrom(this.rules, spec, 0);
    this.rules.add(rule);
    this.setCustomRules(true);
    return rule;
  }

  delRule(spec: RuleSpec): FibRule {
    return this.rules.delete(ruleMatch(spec), spec.priority !== undefined);
  }

  /**
   * Replace the whole rule list (a pasted `ip rule` output is the complete
   * state). Only rules beyond the three defaults count as custom rules.
   */
  setRules(specs: RuleSpec[]): void {
    const wasCustom = this.customRules;
    this.rules.clear();
    for (const s of specs) this.addRule(s);
    // `ip rule show` hides `proto kernel`: the three defaults a pasted list holds are the kernel's own (fib_default_rules_init).
    for (const r of this.rules.rules()) if (r.protocol === RTPROT_UNSPEC && isDefaultRule(r)) r.protocol = RTPROT_KERNEL;
    this.customRules = wasCustom;
    this.setCustomRules(wasCustom || !this.rules.rules().every(isDefaultRule));
  }

  /**
   * The IPv6 rules (`ip -6 rule`: fib6_rules.c): 0 local and 32766 main to
   * begin with, even with disable_ipv6. The lookups walk them always
   * (fib6_has_custom_rules only saves the kernel that walk).
   */
  readonly rules6 = new RuleSet<Uint8Array>(ANY6, DEFAULT_RULES6);

  /** ip -6 rule add: fib6_rule_configure makes the table a rule looks up. */
  addRule6(spec: RuleSpec<Uint8Array>): FibRule6 {
    const rule = this.ruleFrom(this.rules6, spec, ANY6);
    this.rules6.add(rule);
    if (rule.action === 'lookup') this.madeTable6(rule.table);
    this.touch();
    return rule;
  }

  /** After loading a pasted `ip -6 rule` list (the complete state): the defaults it holds (0 local, 32766 main) are the kernel's own, whose `proto kernel` `ip rule show` hides. */
  markDefaultRules6(): void {
    for (const r of this.rules6.rules()) if (r.protocol === RTPROT_UNSPEC && r.priority !== 32767 && isDefaultRule(r)) r.protocol = RTPROT_KERNEL;
  }

  /** ip -6 rule del. */
  delRule6(spec: RuleSpec<Uint8Array>): FibRule6 {
    const r = this.rules6.delete(ruleMatch(spec), spec.priority !== undefined);
    this.touch();
    return r;
  }

  /** ip [-6] rule flush: each rule of `set` that `sel` selects, in order, but those of priority 0 (iproute2 deletes the rules that have a priority attribute). */
  flushRules<A extends RuleAddr>(set: RuleSet<A>, sel: (r: FibRule<A>) => boolean): void {
    for (const r of set.rules().filter((x) => x.priority !== 0 && sel(x))) set.remove(r);
    this.touch();
  }

  /** A rule of the list `set` from `ip rule add`'s spec; `any`: the family's address of no prefix. */
  private ruleFrom<A extends RuleAddr>(set: RuleSet<A>, spec: RuleSpec<A>, any: A): FibRule<A> {
    const fields: Partial<FibRule<A>> & { priority: number; src: A; dst: A } = {
      priority: spec.priority ?? set.defaultPriority(),
      invert: spec.invert ?? false,
      src: spec.src ?? any,
      srcLen: spec.srcLen ?? 0,
      dst: spec.dst ?? any,
      dstLen: spec.dstLen ?? 0,
      tos: spec.tos ?? 0,
      fwmark: spec.fwmark ?? 0,
      fwmask: spec.fwmask ?? (spec.fwmark ? 0xffff_ffff : 0),
      ipproto: spec.ipproto ?? 0,
      action: spec.action ?? 'lookup',
      table: spec.table ?? (spec.action === undefined || spec.action === 'lookup' ? RT_TABLE_MAIN : 0),
      gotoTarget: spec.gotoTarget ?? 0,
      suppressPrefixLen: spec.suppressPrefixLen ?? -1,
      suppressIfgroup: spec.suppressIfgroup ?? -1,
      protocol: spec.protocol ?? 0,
    };
    if (spec.iif !== undefined) fields.iif = spec.iif;
    if (spec.oif !== undefined) fields.oif = spec.oif;
    if (spec.sport) fields.sport = spec.sport;
    if (spec.dport) fields.dport = spec.dport;
    if (spec.uidrange) fields.uidrange = spec.uidrange;
    const rule = newRule<A>(fields);
    rule.iifIndex = rule.iif === undefined ? 0 : (this.byName.get(rule.iif)?.index ?? -1);
    rule.oifIndex = rule.oif === undefined ? 0 : (this.byName.get(rule.oif)?.index ?? -1);
    return rule;
  }

  private setCustomRules(v: boolean): void {
    if (v === this.customRules) return;
    this.customRules = v;
    this.watch?.all(); // fib_validate_source's shortcut depends on it
  }

  // ---- neighbours ----------------------------------------------------

  /**
   * ip neigh add|replace|change. An IPv6 entry's changes are the cache's
   * (nd6-cache.ts: its held packets wait in `released` and `failedHeld`).
   */
  neighSet(spec: NeighSpec, mode: 'add' | 'replace' | 'change', now: number): NeighAction<P>[] {
    if (spec.dev === undefined) throw new RtnlError('EINVAL', undefined, 'Device and destination are required arguments.', 255);
    const l = this.mustLink(spec.dev);
    if (spec.ip6) {
      // ndisc_allow_add.
      if (l.idev6 === 0 || l.conf6.disable_ipv6 !== 0) throw new RtnlError('EINVAL', 'IPv6 is disabled on this device');
      this.nd6.adminSet(l.index, spec.ip6, spec.lladdr, spec.state ?? NUD.PERMANENT, mode, spec.router, now);
      return [];
    }
    if (spec.proxy) {
      this.neigh.addProxy(spec.ip, l.index, mode === 'add' ? 'add' : 'replace');
      return [];
    }
    return this.neigh.adminSet(spec.ip, l.index, spec.lladdr, spec.state ?? NUD.PERMANENT, mode, now, spec.router);
  }

  neighDel(spec: NeighSpec, now: number): NeighAction<P>[] {
    if (spec.dev === undefined) throw new RtnlError('EINVAL', undefined, 'Device and destination are required arguments.', 255);
    const l = this.mustLink(spec.dev);
    if (spec.ip6) {
      this.nd6.adminDelete(l.index, spec.ip6, now);
      return [];
    }
    if (spec.proxy) {
      this.neigh.deleteProxy(spec.ip, l.index);
      return [];
    }
    return this.neigh.adminDelete(spec.ip, l.index, now);
  }

  // ---- sysctl --------------------------------------------------------

  /**
   * Write a sysctl by its dotted name. Interface names containing dots
   * (fip-vif.103) may be written as they are or with '/' as sysctl(8) does.
   */
  /** A learned path MTU to `dst` came or changed: the forwarding decisions to it that read one (pmtu.ts) go. */
  pmtuChanged(dst: number): void {
    this.watch?.route(dst, 32);
  }

  setSysctl(name: string, value: number): void {
    const key = name.replace(/^\/proc\/sys\//, '').replaceAll('/', '.');
    if (key === 'net.ipv4.ip_forward' || key === 'net.ipv4.conf.all.forwarding') {
      // devinet_sysctl_forward -> inet_forward_change, on a change only: all, default and every device, and
      // conf/all/accept_redirects becomes its opposite.
      if (this.all.forwarding === value) return;
      this.all.forwarding = value;
      this.all.accept_redirects = value === 0 ? 1 : 0;
      this.dflt.forwarding = value;
      for (const l of this.sorted) l.conf.forwarding = value;
      this.watch?.all();
      this.touch();
      return;
    }
    const m6 = CONF6_KEY.exec(key);
    if (m6) return this.setConf6(m6[1]!, m6[2] as keyof DevConf6, value, name);
    let m = /^net\.ipv4\.conf\.(.+)\.([a-z_0-9]+)$/.exec(key);
    if (m) {
      const [, dev, k] = m as unknown as [string, string, string];
      if (!(DEV_CONF_KEYS as string[]).includes(k)) throw new RtnlError('ENOENT', undefined, `sysctl: cannot stat ${name}`);
      const l = dev === 'all' || dev === 'default' ? undefined : this.mustLink(dev);
      const conf = l ? l.conf : dev === 'all' ? this.all : this.dflt;
      conf[k as DevConfKey] = value;
      // devinet_conf_proc (every key here but forwarding, whose handler is devinet_sysctl_forward, and the flushing
      // promote_secondaries and route_localnet): a device's write marks the key its own; one to conf/default
      // reaches every device whose key is not (devinet_copy_dflt_conf), and seeds devices created later.
      const copies = k !== 'forwarding' && k !== 'promote_secondaries' && k !== 'route_localnet';
      if (l) {
        if (copies) (l.confWritten ??= new Set()).add(k as DevConfKey);
        this.watch?.link(l.index);
      } else if (dev === 'all') this.watch?.all();
      else if (copies) {
        for (const d of this.sorted) {
          if (d.confWritten?.has(k as DevConfKey)) continue;
          d.conf[k as DevConfKey] = value;
          this.watch?.link(d.index);
        }
      }
      this.touch();
      return;
    }
    m = /^net\.ipv([46])\.neigh\.(.+)\.([a-z_0-9]+)$/.exec(key);
    if (m) {
      const [, v, dev, k] = m as unknown as [string, string, string, string];
      this.setNeighSysctl(v === '6', dev, k, value, name);
      return;
    }
    m = /^net\.ipv4\.route\.(error_cost|error_burst)$/.exec(key);
    if (m) {
      this.routeError[m[1] as keyof RouteError] = value;
      return;
    }
    if (key === 'net.ipv6.icmp.ratelimit') {
      this.icmp6Ratelimit = value;
      return;
    }
    m = /^net\.ipv4\.([a-z_0-9]+)$/.exec(key);
    if (m && m[1]! in this.sys) {
      const k = m[1] as keyof NetSysctls;
      // The forwarding cache keeps each decision's MTU: this one says whether a learned path MTU is it (pmtu.ts).
      if (k === 'ip_forward_use_pmtu' && !this.sys[k] !== !value) this.watch?.all();
      this.sys[k] = value;
      this.touch();
      return;
    }
    throw new RtnlError('ENOENT', undefined, `sysctl: cannot stat ${name}`);
  }

  getSysctl(name: string): number {
    const key = name.replace(/^\/proc\/sys\//, '').replaceAll('/', '.');
    const m6 = CONF6_KEY.exec(key);
    if (m6) return (m6[1] === 'all' ? this.all6 : m6[1] === 'default' ? this.dflt6 : this.inet6Link(m6[1]!, name).conf6)[m6[2] as keyof DevConf6];
    if (key === 'net.ipv4.ip_forward') return this.all.forwarding;
    let m = /^net\.ipv4\.conf\.(.+)\.([a-z_0-9]+)$/.exec(key);
    if (m) {
      const conf = m[1] === 'all' ? this.all : m[1] === 'default' ? this.dflt : this.mustLink(m[1]!).conf;
      const v = conf[m[2] as DevConfKey];
      if (v !== undefined) return v;
    }
    m = /^net\.ipv([46])\.neigh\.(.+)\.([a-z_0-9]+)$/.exec(key);
    if (m) {
      const [, v, dev, k] = m as unknown as [string, string, string, string];
      const t = v === '6' ? this.nd6 : this.neigh;
      const gc = dev === 'default' ? GC.get(k) : undefined;
      if (gc) return t[gc];
      const conv = (v === '6' ? NEIGH6_KEYS : NEIGH_KEYS).get(k);
      if (conv) return Number(conv.read(t.params(dev === 'default' ? 0 : v === '6' ? this.inet6Link(dev, name).index : this.mustLink(dev).index)[conv.param]));
    }
    m = /^net\.ipv4\.route\.(error_cost|error_burst)$/.exec(key);
    if (m) return this.routeError[m[1] as keyof RouteError];
    if (key === 'net.ipv6.icmp.ratelimit') return this.icmp6Ratelimit;
    m = /^net\.ipv4\.([a-z_0-9]+)$/.exec(key);
    if (m && m[1]! in this.sys) return this.sys[m[1] as keyof NetSysctls];
    throw new RtnlError('ENOENT', undefined, `sysctl: cannot stat ${name}`);
  }

  /**
   * net.ipv6.conf.X.disable_ipv6|forwarding: all's write reaches default and
   * every device (addrconf_disable_change, addrconf_forward_change), default's
   * only the devices made later, a device's that device.
   */
  private setConf6(dev: string, k: keyof DevConf6, value: number, name: string): void {
    // DAD's keys (proc_dointvec): the one directory written.
    if (k !== 'disable_ipv6' && k !== 'forwarding') {
      (dev === 'all' ? this.all6 : dev === 'default' ? this.dflt6 : this.inet6Link(dev, name).conf6)[k] = value;
      return;
    }
    const devs = dev === 'all' ? this.sorted.filter((l) => l.idev6 !== 0) : dev === 'default' ? [] : [this.inet6Link(dev, name)];
    if (dev === 'all') this.all6[k] = value;
    if (dev === 'all' || dev === 'default') this.dflt6[k] = value;
    for (const l of devs) {
      if (k === 'forwarding') {
        // dev_forward_change: the routers' groups (ff05::2 too) and the anycasts' joined or left.
        if (value !== 0 && l.conf6.forwarding === 0) l.fwd6Seq = this.nextSeq6();
        this.withMld(l, false, () => (l.conf6[k] = value));
      } else l.conf6[k] = value;
      if (k === 'disable_ipv6') this.sync6(l);
    }
    this.touch();
  }

  /** net.ipv4.neigh.* (the ARP table's) or net.ipv6.neigh.* (the IPv6 cache's: `v6`). */
  private setNeighSysctl(v6: boolean, dev: string, k: string, value: number, name: string): void {
    const t = v6 ? this.nd6 : this.neigh;
    const gc = dev === 'default' ? GC.get(k) : undefined;
    if (gc) {
      t[gc] = value;
      return;
    }
    const conv = (v6 ? NEIGH6_KEYS : NEIGH_KEYS).get(k);
    if (!conv) throw new RtnlError('ENOENT', undefined, `sysctl: cannot stat ${name}`);
    const ifindex = dev === 'default' ? 0 : v6 ? this.inet6Link(dev, name).index : this.mustLink(dev).index;
    t.setParam(ifindex, conv.param, conv.write(value));
  }

  /** A device with an inet6_dev, whose net.ipv6.conf and neigh directories `name` is under; none there (no device, or one without). */
  private inet6Link(dev: string, name: string): Interface {
    const l = this.link(dev);
    if (!l || l.idev6 === 0) throw new RtnlError('ENOENT', undefined, `sysctl: cannot stat ${name}`);
    return l;
  }
}

/** A net.ipv6.conf key the model reads (DEV_CONF6_KEYS). */
const CONF6_KEY = new RegExp(`^net\\.ipv6\\.conf\\.(.+)\\.(${DEV_CONF6_KEYS.join('|')})$`);

/** The table-wide keys only neigh/default has (in the kernel, only the initial namespace's). */
const GC = new Map<string, 'gcThresh1' | 'gcThresh2' | 'gcThresh3'>([
  ['gc_thresh1', 'gcThresh1'], ['gc_thresh2', 'gcThresh2'], ['gc_thresh3', 'gcThresh3'],
]);
