// Which TAPs a daemon runs for a topology: one per `kind: tap` edge whose
// port was built (the nodes this process runs), named as the edge says, with
// the MTU of the port it plugs into or, with --lab, of the host behind it.
import type { Port } from '../datapath/element.js';
import type { Edge, Host, PortRef, Topology } from '../topology/model.js';
import type { Emulator } from '../topology/builder.js';
import type { TapSpec } from '../io/tap-device.js';

export const DEFAULT_MTU = 1500;

export interface TapPlan {
  /** The device name: the key a reload matches TAPs by. */
  readonly dev: string;
  readonly edge: Edge;
  readonly port: Port;
  readonly mtu: number;
  /** The lab host plugged in (with --lab only). */
  readonly host: Host | null;
  readonly spec: TapSpec;
}

/** The MTU the topology gives the interface behind `ref` (1500 when it says none). */
export function portMtu(t: Topology, ref: PortRef): number {
  const node = t.nodes.find((n) => n.name === ref.node);
  switch (ref.kind) {
    case 'linux_bridge':
      return node?.linuxBridges.find((b) => b.name === ref.element)?.ports.find((p) => p.name === ref.port)?.mtu ?? DEFAULT_MTU;
    case 'ovs_bridge':
      return node?.ovsBridges.find((b) => b.name === ref.element)?.ports.find((p) => p.name === ref.port)?.mtu ?? DEFAULT_MTU;
    case 'netns':
      return node?.namespaces.find((n) => n.name === ref.element)?.interfaces.find((i) => i.name === ref.port)?.mtu ?? DEFAULT_MTU;
    case 'gateway':
      return t.gateways.find((g) => g.name === ref.node)?.interfaces.find((i) => i.name === ref.port)?.mtu ?? DEFAULT_MTU;
    default:
      return DEFAULT_MTU;
  }
}

export function planTaps(emu: Emulator, lab: boolean): TapPlan[] {
  const t = emu.topology;
  const plans: TapPlan[] = [];
  for (const edge of t.edges) {
    if (edge.kind !== 'tap') continue;
    const port = emu.engine.element(edge.port.node, edge.port.element)?.port(edge.port.port);
    if (!port) continue; // a node this process does not run
    const host = lab && edge.host ? (t.hosts.find((h) => h.name === edge.host) ?? null) : null;
    const mtu = host ? host.iface.mtu : portMtu(t, edge.port);
    const spec: TapSpec = host
      ? { dev: edge.dev, mtu, netns: host.netns, ifname: host.iface.name, ...(host.iface.mac ? { mac: host.iface.mac } : {}) }
      : { dev: edge.dev, mtu };
    plans.push({ dev: edge.dev, edge, port, mtu, host, spec });
  }
  return plans;
}

/** What must match for a running TAP to be kept as it is across a reload (MTU aside). */
export function planIdentity(p: TapPlan): string {
  const h = p.host;
  const host = h && {
    name: h.name,
    netns: h.netns,
    iface: { name: h.iface.name, mac: h.iface.mac, addresses: h.iface.addresses.map((a) => a.cidr) },
    sysctls: h.sysctls,
    routes: h.routes?.text ?? null,
    neighbours: h.neighbours?.text ?? null,
  };
  return JSON.stringify({ dev: p.dev, host });
}
