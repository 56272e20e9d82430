// Turns a validated topology (model.ts) into a running element graph: one
// element per device, ports linked as the model's links say, edges left free
// for TAPs, captures or emulated hosts. The only module that knows every
// element class; a new element kind is registered here.
import { Engine, type EngineOptions } from '../datapath/engine.js';
import type { Element, Port } from '../datapath/element.js';
import { OvsBridge } from '../ofproto/bridge.js';
import { LinuxBridge } from '../l2/linux-bridge.js';
import { Underlay, DEFAULT_TUNNEL, type TunnelOptions } from '../tunnel/underlay.js';
import { Fabric } from '../tunnel/fabric.js';
import { NetNamespace, rootDeviceMac } from '../netns/namespace.js';
import type { CtStoreBuffers } from '../netfilter/index.js';
import { parseIpv4, parseIpv6, parseMac, parseMacNum } from '../wire/addr.js';
import { IFA_F_NODAD } from '../netns/inet6.js';
import type { Topology, PortRef, IpStack, OvsPort as ModelOvsPort, NsInterface, Link } from './model.js';

export interface BuildOptions extends EngineOptions {
  /** Emulate the topology's lab hosts as namespaces inside the engine (trace, tests) instead of leaving their edges free for TAPs. */
  emulateHosts?: boolean;
  /** Build only these nodes (the rest of a multi-node file runs elsewhere). */
  nodes?: readonly string[];
  /** Build only these gateways (default all: a node's daemon emulates the routers it is cabled to). */
  gateways?: readonly string[];
  /**
   * Conntrack tables to continue, by conntrackKey(node, namespace): those a
   * datapath worker that died left in shared memory (src/workers/supervisor.ts).
   */
  conntrackTables?: ReadonlyMap<string, CtStoreBuffers>;
}

export class Emulator {
  /** Per node: its Open_vSwitch row's other_config as ovs-vsctl wrote it (src/control/ovsdb-honoured.ts). */
  readonly ovsOtherConfig = new Map<string, Map<string, string>>();
  /** Per node: the last ifindex its root namespace gave a device created at runtime (src/control/root-netns.ts plugIfindex). */
  readonly rootIfindex = new Map<string, number>();

  constructor(
    readonly engine: Engine,
    readonly topology: Topology,
  ) {}

  element(node: string, name: string): Element {
    const el = this.engine.element(node, name);
    if (!el) throw new Error(`no element ${name} on ${node}`);
    return el;
  }

  port(ref: { node: string; element: string; port: string }): Port {
    const p = this.element(ref.node, ref.element).port(ref.port);
    if (!p) throw new Error(`no port ${ref.port} on ${ref.node}:${ref.element}`);
    return p;
  }

  /** A port by NODE and interface name (what `--in w07:tap2ab77d0f-99` names); edges first. */
  findPort(node: string, name: string): Port | undefined {
    const edge = this.topology.edges.find((e) => e.port.node === node && e.port.port === name);
    if (edge) return this.port(edge.port);
    return this.engine.ports.find((p) => p.element.node === node && p.name === name);
  }

  namespace(node: string, name: string): NetNamespace {
    const el = this.element(node, name);
    if (!(el instanceof NetNamespace)) throw new Error(`${node}:${name} is not a namespace`);
    return el;
  }

  bridge(node: string, name: string): OvsBridge {
    const el = this.element(node, name);
    if (!(el instanceof OvsBridge)) throw new Error(`${node}:${name} is not an OVS bridge`);
    return el;
  }

  linuxBridge(node: string, name: string): LinuxBridge {
    const el = this.element(node, name);
    if (!(el instanceof LinuxBridge)) throw new Error(`${node}:${name} is not a Linux bridge`);
    return el;
  }
}

const ip = (s: string): number => parseIpv4(s)!;
const mac = (s: string): { hi: number; lo: number } => parseMac(s)!;

function tunnelOptions(p: ModelOvsPort): TunnelOptions {
  const t = p.tunnel!;
  return {
    ...DEFAULT_TUNNEL,
    remoteIp: t.remoteIp === 'flow' ? null : ip(t.remoteIp),
    localIp: t.localIp === null ? null : ip(t.localIp),
    inKey: t.inKey,
    outKey: t.outKey,
    df: t.dfDefault,
    dstPort: t.dstPort,
  };
}

/**
 * A namespace's sysctls and interfaces with their addresses, in the order the
 * kernel needs them. The checks of `routes6`/`rules6` (text-blocks.ts) apply
 * them to a scratch namespace made this same way.
 */
export function configureInterfaces(ns: NetNamespace, stack: Pick<IpStack, 'sysctls' | 'interfaces'>, internal: ReadonlySet<string> = new Set()): void {
  // The ifindexes the topology gives are taken; the others get the lowest free ones, as a fresh namespace numbers them.
  const taken = new Set(stack.interfaces.flatMap((i) => i.ifindex ?? []));
  let next = 2; // 1 is lo
  // Conntrack settings come first (they shape the table); per-device ones need their device.
  const sysctls = Object.entries(stack.sysctls);
  const isNf = ([k]: [string, unknown]) => k.startsWith('net.netfilter.');
  for (const [k, v] of sysctls.filter(isNf)) ns.setSysctl(k, v);
  // Parents before VLAN sub-interfaces.
  const ifs = [...stack.interfaces].sort((a, b) => Number(!!a.vlan) - Number(!!b.vlan));
  for (const i of ifs) {
    let index = i.ifindex;
    if (index === undefined) {
      while (taken.has(next)) next++;
      index = next++;
    }
    ns.addInterface(i.name, {
      kind: internal.has(i.name) ? 'internal' : 'veth',
      index,
      mac: i.mac ? parseMacNum(i.mac)! : undefined,
      mtu: i.mtu,
      addresses: i.addresses.filter((a) => !a.inet6).map((a) => ({ ip: ip(a.ip), prefixLen: a.prefixLen, ...(a.broadcast ? { broadcast: ip(a.broadcast) } : {}) })),
      vlan: i.vlan,
    });
    // As `ip -6 addr add ... nodad`: valid at once, as the file's own state is.
    for (const a of i.addresses) if (a.inet6) ns.ns.addAddr6(i.name, parseIpv6(a.ip)!, a.prefixLen, IFA_F_NODAD, 0);
  }
  for (const [k, v] of sysctls.filter((kv) => !isNf(kv))) ns.setSysctl(k, v);
}

function buildIpStack(engine: Engine, node: string, name: string, stack: IpStack | { sysctls: IpStack['sysctls']; interfaces: readonly NsInterface[]; routes: IpStack['routes']; neighbours: IpStack['neighbours']; rules?: null; routes6?: null; rules6?: null; iptables?: null }, tables?: ReadonlyMap<string, CtStoreBuffers>, links: readonly Link[] = []): NetNamespace {
  const ns = engine.add(new NetNamespace(node, name));
  // Ports of an OVS bridge with type internal are internal devices, not veth ends.
  const internal = new Set(links.filter((l) => l.kind === 'internal').flatMap((l) => [l.a, l.b]).filter((r) => r.node === node && r.element === name).map((r) => r.port));
  configureInterfaces(ns, stack, internal);
  if (stack.routes) ns.loadRoutes(stack.routes.text);
  if (stack.rules) ns.loadRules(stack.rules.text);
  if (stack.routes6) ns.loadRoutes6(stack.routes6.text);
  if (stack.rules6) ns.loadRules6(stack.rules6.text);
  if (stack.neighbours) ns.loadNeighbours(stack.neighbours.text);
  if (stack.iptables) ns.loadIptables(stack.iptables.text);
  const kept = tables?.get(conntrackKey(node, name));
  if (kept) ns.adoptConntrackTable(kept);
  return ns;
}

/** A veth between two namespaces: each end shows the other (`NAME@ifN`, `link-netns NS`). */
function vethPeers(a: NetNamespace, devA: string, b: NetNamespace, devB: string): void {
  const ia = a.ns.mustLink(devA), ib = b.ns.mustLink(devB);
  ia.peer = { ifindex: ib.index, netns: b.name };
  ib.peer = { ifindex: ia.index, netns: a.name };
}

/** A namespace's key in BuildOptions.conntrackTables. */
export const conntrackKey = (node: string, ns: string): string => `${node}/${ns}`;

export function buildEmulator(t: Topology, opts: BuildOptions = {}): Emulator {
  const engine = new Engine(opts);
  const emu = new Emulator(engine, t);
  const only = opts.nodes ? new Set(opts.nodes) : null;
  const underlays = new Map<string, Underlay>();

  for (const n of t.nodes) {
    if (only && !only.has(n.name)) continue;
    if (n.underlay) {
      const u = n.underlay;
      const ul = engine.add(new Underlay(n.name, {
        nic: u.nic,
        ip: ip(u.address.ip),
        prefixLen: u.address.prefixLen,
        mac: mac(u.mac),
        mtu: u.mtu,
        gateway: ip(u.gateway),
        gatewayMac: mac(u.gatewayMac),
        hashSeed: u.hashSeed,
      }));
      engine.addPort(ul, u.nic);
      underlays.set(n.name, ul);
    }
    for (const lb of n.linuxBridges) {
      const br = engine.add(new LinuxBridge(n.name, lb.name, { ageingMs: lb.ageingTime * 1000, stp: lb.stp }));
      // Each port's own entry and the bridge's, with the addresses the root view gives the devices.
      for (const p of lb.ports) br.setPortMac(engine.addPort(br, p.name), rootDeviceMac(n.name, p.name, p.mac));
      br.setBridgeMac(rootDeviceMac(n.name, lb.name, lb.mac));
    }
    for (const b of n.ovsBridges) {
      const br = OvsBridge.create(engine, n.name, b.name, { failMode: b.failMode });
      for (const p of b.ports) {
        if (p.local) continue;
        br.addOvsPort(p.name, {
          ofport: p.ofport,
          type: p.type,
          tag: p.tag ?? undefined,
          trunks: p.trunks.length ? [...p.trunks] : undefined,
          vlanMode: p.vlanMode === 'dot1q-tunnel' ? undefined : p.vlanMode ?? undefined,
          options: p.options as Record<string, string>,
        });
        if (p.type === 'vxlan') {
          const ul = underlays.get(n.name);
          if (ul) ul.addTunnel(engine.addPort(ul, p.name), tunnelOptions(p));
        }
      }
      if (b.flows) br.addFlows(b.flows.text);
    }
    for (const ns of n.namespaces) buildIpStack(engine, n.name, ns.name, ns, opts.conntrackTables, t.links);
  }

  for (const g of t.gateways) if (!opts.gateways || opts.gateways.includes(g.name)) buildIpStack(engine, g.name, g.name, g, opts.conntrackTables);

  if (t.fabric) {
    const fab = engine.add(new Fabric(t.fabric.name));
    for (const s of t.fabric.sides) {
      if (only && !only.has(s.node)) continue; // that node runs elsewhere
      const port = engine.addPort(fab, s.port);
      fab.attach(port, parseMacNum(s.mac)!, ip(s.nicIp), parseMacNum(s.nicMac)!);
    }
  }

  const portOf = (r: PortRef): Port | undefined => {
    if (only && !only.has(r.node) && !t.gateways.some((g) => g.name === r.node) && r.kind !== 'fabric') return undefined;
    return engine.element(r.node, r.element)?.port(r.port);
  };
  for (const l of t.links) {
    const a = portOf(l.a), b = portOf(l.b);
    if (!a || !b) continue;
    if (a.peer === b) continue; // patch pairs link themselves when both ends exist
    engine.link(a, b, l.kind);
    if (l.kind === 'veth' && a.element instanceof NetNamespace && b.element instanceof NetNamespace) vethPeers(a.element, l.a.port, b.element, l.b.port);
  }

  if (opts.emulateHosts) {
    for (const h of t.hosts) {
      const edge = portOf(h.edge);
      if (!edge) continue;
      const ns = buildIpStack(engine, h.name, h.netns, { sysctls: h.sysctls, interfaces: [h.iface], routes: h.routes, neighbours: h.neighbours }, opts.conntrackTables);
      engine.link(ns.port(h.iface.name)!, edge, 'veth');
    }
  }
  return emu;
}
