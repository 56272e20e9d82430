// A hypervisor's root namespace as `ip` shows it, built afresh from the
// topology and the live ports on each command: the wiring that Neutron,
// Nova/os-vif and OVS leave there (docs/control.md lists it). A view: no
// packet runs through it, and it is not kept, so ip may only read it.
import type { Emulator } from '../topology/builder.js';
import type { Node } from '../topology/model.js';
import type { Port } from '../datapath/element.js';
import { Netns } from '../netns/netns.js';
import { rootDeviceMac } from '../netns/namespace.js';
import { type Interface, type LinkKind } from '../netns/interfaces.js';
import { IfCounters, linkStats64 } from '../netns/if-counters.js';
import { PC, type Stats } from '../datapath/stats.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { type LinkStats64 } from '../netns/ip-link-stats.js';
import { parseIpv4, parseMacNum } from '../wire/addr.js';
import { loadNeighbours, loadRoutes } from '../netns/ip-text.js';
import { bridgeData, bridgePortData, ovsVxlanData, tapData, type LinkInfo } from '../netns/link-info.js';
import { OvsBridge } from '../ofproto/bridge.js';
import type { OvsPort } from '../ofproto/ovs-port.js';
import { pluggedMacText } from './ovs-show.js';
import { LinuxBridge } from '../l2/linux-bridge.js';
import { defaultPortFlags } from '../l2/bridge-port.js';

const OVS_SYSTEM = 'ovs-system';
/** What OVS asks for on the vxlan device it creates (dpif-netlink-rtnl: IFLA_MTU 65000, "to avoid fragmentation"). */
const OVS_VXLAN_MTU = 65000;

interface Dev {
  name: string;
  kind: LinkKind;
  mac: number;
  mtu: number;
  up: boolean;
  carrier: boolean;
  master?: string;
  promisc?: boolean;
  /** A veth's peer in this namespace. */
  peer?: string;
  /** The engine port whose counters are the device's (a bridge's port: the TAP, a veth end, a NIC). */
  port?: Port;
  /** What `ip -d` shows of it (kind data, master's slave data, promiscuity). */
  info?: LinkInfo;
  /** An internal device ovs-vswitchd destroyed (ovs-vsctl del-port): not listed, its ifindex not given again. */
  gone?: boolean;
  /** The ifindex of a device created at runtime (ovs-vsctl add-port of an internal port). */
  index?: number;
}

/** A root namespace and its devices' counters (`ip -s link`). */
export interface RootView {
  ns: Netns;
  linkStats: (l: Interface) => LinkStats64;
}

/** Whether `node` is a topology node (a hypervisor) whose root namespace this view stands for. */
export const isHypervisor = (emu: Emulator, node: string): boolean => emu.topology.nodes.some((n) => n.name === node);

/**
 * The root namespace of hypervisor `node`. Devices are numbered in the
 * order a node creates them (NICs at boot; ovs-vswitchd's ovs-system, its
 * bridges and vxlan device; then per VM os-vif's qbr, its veth pair, whose
 * peer the kernel registers first, and libvirt's TAP), skipping the
 * ifindexes that the OVS internal ports moved into namespaces keep. What
 * ovs-vsctl changed since shows: a deleted port's device leaves ovs-system
 * (an internal one is destroyed), an added internal port's is created DOWN
 * with the next ifindex (plugIfindex).
 */
export function rootNetns(emu: Emulator, node: string, now: number): Netns {
  return rootView(emu, node, now).ns;
}

/**
 * rootNetns with its devices' counters: a device that is a bridge's port
 * counts what its port counts (what the bridge took from it is what the
 * device received, as a TAP receives what the VM writes); vxlan_sys_N
 * what its OVS tunnel ports carried (tunnelCounts); the others (OVS's own
 * devices, qbr) carry nothing here and show zeros.
 */
export function rootView(emu: Emulator, node: string, now: number): RootView {
  const n = emu.topology.nodes.find((x) => x.name === node)!;
  const port = (element: string, name: string): Port | undefined => emu.engine.element(node, element)?.port(name);
  const moved = new Set(n.namespaces.flatMap((ns) => ns.interfaces.map((i) => i.name)));
  const veths = new Map(n.veths.flatMap((v) => [[v.a, v.b], [v.b, v.a]]));
  const edges = new Map(emu.topology.edges.filter((e) => e.port.node === node).map((e) => [e.port.port, e]));
  const mac = (name: string, given?: string): number => rootDeviceMac(node, name, given);
  // A TAP has carrier while something holds it open: here, while its edge has its real TAP or an emulated host.
  const tapCarrier = (p: Port | undefined): boolean => !!p && p.up && (p.edge !== null || p.peer !== null);
  const kindOf = (name: string): LinkKind => (veths.has(name) ? 'veth' : edges.get(name)?.kind === 'tap' || name.startsWith('tap') ? 'tap' : 'ether');
  const bridges = liveBridges(emu, node);
  /** The port named so on the bridge now (undefined: ovs-vsctl deleted it). */
  const live = (br: string, name: string): OvsPort | undefined => bridges.find((b) => b.name === br)?.portByName(name);

  const nics: Dev[] = [];
  const ovs: Dev[] = [];
  const vms: Dev[] = [];
  if (n.underlay) {
    const p = port(n.underlay.nic, n.underlay.nic);
    nics.push({ name: n.underlay.nic, kind: 'ether', mac: mac('', n.underlay.mac), mtu: n.underlay.mtu, up: true, carrier: !!p?.up, port: p, info: { promiscuity: 0, allmulti: 0 } });
  }
  const placed = new Set<string>();
  /** A bridge port: a veth end (with its peer), a TAP or a NIC. */
  const portDev = (element: string, name: string, master: string | undefined, mtu: number | undefined, given: string | undefined): Dev => {
    const kind = kindOf(name), p = port(element, name);
    const d: Dev = { name, kind, mac: mac(name, given), mtu: mtu ?? 1500, up: true, carrier: kind === 'tap' ? tapCarrier(p) : kind === 'veth' ? true : !!p?.up, master, port: p };
    // os-vif sets both ends of its veth pair promiscuous (linux_net.create_veth_pair).
    if (kind === 'veth') Object.assign(d, { peer: veths.get(name), promisc: true });
    const own = d.promisc ? 1 : 0;
    // A bridge port counts once more promiscuous and allmulti (br_add_if), an OVS vport promiscuous only (ovs_netdev_link).
    d.info = master === undefined ? { promiscuity: own, allmulti: 0 } : master === OVS_SYSTEM ? { promiscuity: own + 1, allmulti: 0, slaveKind: 'openvswitch' } : { promiscuity: own + 1, allmulti: 1, slaveKind: 'bridge' };
    if (kind === 'tap') d.info.data = tapData();
    placed.add(name);
    return d;
  };
  const ovsPorts = n.ovsBridges.flatMap((b) => b.ports.filter((p) => !p.local).map((p) => ({ b, p })));
  // ovs-vswitchd keeps a vxlan_sys_N device while a port of that UDP port is there.
  const vxlans = ovsPorts.filter(({ b, p }) => p.type === 'vxlan' && live(b.name, p.name));
  /** Each vxlan device's OVS tunnel ports (those of its UDP port). */
  const tunnels = new Map<string, Port[]>();
  if (n.ovsBridges.length) {
    // ovs-vswitchd leaves the datapath device and the bridges' own devices down (nothing sets them up on a Neutron node).
    ovs.push({ name: OVS_SYSTEM, kind: 'internal', mac: mac(OVS_SYSTEM), mtu: 1500, up: false, carrier: true });
    for (const b of n.ovsBridges) ovs.push({ name: b.name, kind: 'internal', mac: mac(b.name, b.mac), mtu: bridgeMtu(b), up: false, carrier: true });
    for (const { b, p } of vxlans) {
      const dev = `vxlan_sys_${p.tunnel!.dstPort}`, tp = port(b.name, p.name);
      if (tp) tunnels.set(dev, [...(tunnels.get(dev) ?? []), tp]);
    }
    for (const dst of new Set(vxlans.map(({ p }) => p.tunnel!.dstPort))) {
      const info = { promiscuity: 1, allmulti: 0, data: ovsVxlanData(dst), slaveKind: 'openvswitch' };
      ovs.push({ name: `vxlan_sys_${dst}`, kind: 'vxlan', mac: mac(`vxlan_sys_${dst}`), mtu: OVS_VXLAN_MTU, up: true, carrier: true, master: OVS_SYSTEM, info });
    }
  }
  for (const lb of n.linuxBridges) {
    const ports = lb.ports.map((p) => portDev(lb.name, p.name, lb.name, p.mtu, p.mac));
    // A bridge takes its ports' smallest MTU, and has carrier while one of them has.
    const mtu = ports.length ? Math.min(...ports.map((d) => d.mtu)) : 1500;
    const br: Dev = { name: lb.name, kind: 'bridge', mac: mac(lb.name, lb.mac), mtu, up: true, carrier: ports.some((d) => d.carrier) };
    // With STP on, port states and STP timers would move: not modelled, so -d is refused for that bridge and its ports.
    if (!lb.stp) {
      br.info = { promiscuity: 0, allmulti: 0, data: bridgeData(qbrSettings(br.mac, lb.ageingTime, now)) };
      const el = emu.engine.element(node, lb.name);
      lb.ports.forEach((lp, i) => {
        const d = ports[i]!;
        // With STP off a port forwards while it and its bridge are up with carrier (operstate UP or UNKNOWN), unless `bridge link set` said otherwise.
        const flags = d.port && el instanceof LinuxBridge ? el.portFlags(d.port) : defaultPortFlags();
        d.info!.slaveData = bridgePortData({ portNo: lp.portNo, bridgeMac: br.mac, carrier: d.carrier, cost: d.kind === 'ether' ? SPEED_UNKNOWN_COST : SPEED_10G_COST, flags });
      });
    } else for (const d of ports) delete d.info;
    vms.push(br);
    for (const d of ports) {
      if (d.peer === undefined) continue;
      const far = ovsPorts.find(({ p }) => p.name === d.peer);
      if (far) vms.push(portDev(far.b.name, far.p.name, live(far.b.name, far.p.name) ? OVS_SYSTEM : undefined, far.p.mtu, far.p.mac));
    }
    vms.push(...ports);
  }
  for (const { b, p } of ovsPorts) {
    if (placed.has(p.name) || p.type === 'patch' || p.type === 'vxlan' || moved.has(p.name)) continue;
    const lp = live(b.name, p.name);
    if (p.type === 'internal') ovs.push({ name: p.name, kind: 'internal', mac: mac(p.name, p.mac), mtu: p.mtu ?? 1500, up: false, carrier: true, gone: !lp || !!lp.plugged });
    else {
      const d = portDev(b.name, p.name, lp ? OVS_SYSTEM : undefined, p.mtu, p.mac);
      (d.kind === 'ether' ? nics : vms).push(d);
    }
  }

  const ns = new Netns({ name: node, now });
  const taken = new Set(n.namespaces.flatMap((x) => x.interfaces.flatMap((i) => (i.ifindex !== undefined && ovsPorts.some(({ p }) => p.name === i.name) ? [i.ifindex] : []))));
  const plugged = bridges.flatMap((b) => b.portList.filter((p) => p.plugged && p.type === 'internal').map((p) => ({ b, p })));
  const added = plugged.map(({ b, p }): Dev => ({ name: p.name, kind: 'internal', mac: pluggedMac(emu, b, p), mtu: 1500, up: false, carrier: true, index: p.plugged!.ifindex }));
  const all = [...nics, ...ovs, ...vms];
  const index = new Map<string, number>();
  let next = 2;
  for (const d of all) {
    while (taken.has(next)) next++;
    if (!d.gone) index.set(d.name, next);
    next++;
  }
  for (const d of added) index.set(d.name, d.index!);
  all.push(...added);
  for (const d of all) {
    if (d.gone) continue;
    const peer = d.peer !== undefined && index.has(d.peer) ? { ifindex: index.get(d.peer)!, name: d.peer } : undefined;
    const l = ns.addLink({ name: d.name, kind: d.kind, mac: d.mac, mtu: d.mtu, index: index.get(d.name)!, carrier: d.carrier, ...(d.master ? { master: d.master } : {}), ...(d.promisc ? { promisc: true } : {}), ...(peer ? { peer } : {}) });
    if (d.info) l.info = d.info;
    if (d.up) ns.setLinkUp(d.name, true);
  }
  if (n.underlay) underlayState(ns, n.underlay, now);
  const ports = new Map(all.flatMap((d) => (d.port ? [[d.name, d.port] as const] : [])));
  const none = new IfCounters();
  return {
    ns,
    linkStats: (l) => {
      const s = linkStats64(none, emu.engine.stats, ports.get(l.name)?.statsBase ?? -1, l.kind, l.carrierChanges);
      const tp = tunnels.get(l.name);
      if (tp) tunnelCounts(s, emu.engine.stats, tp);
      return s;
    },
  };
}

/** The node's OVS bridges as they are now (ovs-vsctl may have changed their ports since the topology). */
const liveBridges = (emu: Emulator, node: string): OvsBridge[] =>
  emu.engine.elements.filter((e): e is OvsBridge => e instanceof OvsBridge && e.node === node);

/** The address of an internal port ovs-vsctl added: the one `ofctl show` prints for it (ovs-show.ts portMac). */
export const pluggedMac = (emu: Emulator, b: OvsBridge, p: OvsPort): number => parseMacNum(pluggedMacText(emu, b, p.name))!;

/**
 * The ifindex the kernel gives a device created in the root namespace now:
 * one past the last it gave (dev_new_index), which here is the highest in
 * the view (those moved into namespaces included) or of a device created
 * before at runtime.
 */
export function plugIfindex(emu: Emulator, node: string, now: number): number {
  let last = emu.rootIfindex.get(node);
  if (last === undefined) {
    const n = emu.topology.nodes.find((x) => x.name === node)!;
    const ports = new Set(n.ovsBridges.flatMap((b) => b.ports.map((p) => p.name)));
    const moved = n.namespaces.flatMap((x) => x.interfaces.flatMap((i) => (i.ifindex !== undefined && ports.has(i.name) ? [i.ifindex] : [])));
    last = Math.max(1, ...rootNetns(emu, node, now).links().map((l) => l.index), ...moved);
  }
  emu.rootIfindex.set(node, last + 1);
  return last + 1;
}

/** br_port_cost: 2 for a port whose device reports 10 Gb/s (veth, tun), 100 for an unknown speed (a virtio NIC's). */
const SPEED_10G_COST = 2;
const SPEED_UNKNOWN_COST = 100;

/**
 * A qbr as os-vif's ensure_bridge leaves it (brctl addbr; setfd 0; stp
 * off; multicast_snooping 0: the bridge floods all multicast, as the model
 * does), with the topology's ageing time. Its FDB garbage collection first
 * runs 0.1 s after the bridge comes up (br_stp_enable_bridge) and then once
 * an ageing time (br_fdb_cleanup); the view takes the bridge as up since
 * the emulated clock's start and does not shorten the wait for entries
 * that expire sooner, which the kernel does.
 */
function qbrSettings(mac: number, ageingS: number, now: number) {
  const periodMs = Math.max(ageingS * 1000, 10);
  const leftMs = now < 100 ? 100 - now : periodMs - ((now - 100) % periodMs);
  return { mac, stp: false, ageing: ageingS * 100, forwardDelay: 0, mcastSnooping: false, gcTimer: Math.floor(leftMs / 10) };
}

/**
 * A vxlan device counts the frames it decapsulated (received) and
 * encapsulated (sent), each by its inner frame less the inner Ethernet
 * header: vxlan_rcv counts skb->len after eth_type_trans pulled it, and
 * iptunnel_xmit counts from the inner network header (checked on Linux
 * 6.x: 3 pings of 128-byte IP packets count 384 bytes each way). OVS's
 * tunnel ports carry those inner frames: what the underlay delivered to
 * one, what one handed the underlay.
 */
function tunnelCounts(s: LinkStats64, stats: Stats, tunnelPorts: readonly Port[]): void {
  const v = stats.v;
  for (const p of tunnelPorts) {
    const rx = v[p.statsBase + PC.RX_PACKETS]!, tx = v[p.statsBase + PC.TX_PACKETS]!;
    s.rxPackets += rx;
    s.rxBytes += v[p.statsBase + PC.RX_BYTES]! - ETH_HLEN * rx;
    s.txPackets += tx;
    s.txBytes += v[p.statsBase + PC.TX_BYTES]! - ETH_HLEN * tx;
  }
}

/**
 * An OVS bridge's own device takes the smallest MTU of its system ports
 * (ofproto's find_min_mtu: internal, patch and tunnel ports do not count),
 * 1500 when it has none.
 */
function bridgeMtu(b: Node['ovsBridges'][number]): number {
  const mtus = b.ports.filter((p) => !p.local && p.type === 'system').map((p) => p.mtu ?? 1500);
  return mtus.length ? Math.min(...mtus) : 1500;
}

/**
 * The NIC's address (whose prefix route the kernel adds), the default route
 * via the underlay's gateway, and that gateway's ARP entry: the underlay
 * sends all its tunnel traffic there, resolved once and never aged, as a
 * node whose traffic keeps going there shows it (REACHABLE).
 */
function underlayState(ns: Netns, u: NonNullable<Node['underlay']>, now: number): void {
  ns.addAddr(u.nic, { local: parseIpv4(u.address.ip)!, prefixLen: u.address.prefixLen });
  loadRoutes(ns, `default via ${u.gateway} dev ${u.nic}\n`);
  loadNeighbours(ns, `${u.gateway} dev ${u.nic} lladdr ${u.gatewayMac} REACHABLE\n`, now);
}
