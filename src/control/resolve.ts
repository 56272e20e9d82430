// Names a user types (NODE, NS, BRIDGE, IFACE) to elements, with errors that
// list what exists, so a typo is answered with the right spelling.
import type { Emulator } from '../topology/builder.js';
import type { Element, Port } from '../datapath/element.js';
import { OvsBridge } from '../ofproto/bridge.js';
import { LinuxBridge } from '../l2/linux-bridge.js';
import { NetNamespace } from '../netns/namespace.js';
import { operState } from '../netns/interfaces.js';
import { LINKTYPE_ETHERNET } from '../wire/pcap.js';
import { LINKTYPE_LINUX_SLL2 } from '../wire/sll2.js';
import type { TapPoint } from './capture.js';
import { ControlError, type CaptureSource } from './protocol.js';
import type { Scope } from './command.js';

const list = (xs: string[]): string => (xs.length ? xs.join(', ') : 'none');

/** Nodes as the engine knows them (topology nodes, gateways and emulated hosts). */
export function nodeNames(emu: Emulator): string[] {
  const s = new Set<string>();
  for (const e of emu.engine.elements) if (e.kind !== 'fabric') s.add(e.node);
  return [...s];
}

/** Every node a command may name: the emulation's, where `emu` holds only some. */
export const allNodeNames = (s: Scope): readonly string[] => s.allNodes ?? nodeNames(s.emu);

export function mustNode(s: Scope, node: string | undefined): string {
  const all = allNodeNames(s);
  if (!node) throw new ControlError(`missing NODE (nodes: ${list([...all])})`);
  if (!all.includes(node)) throw new ControlError(`unknown node '${node}' (nodes: ${list([...all])})`);
  // A known node another thread owns: the command was sent to the wrong worker (CommandFamily.target is wrong).
  if (s.allNodes && !nodeNames(s.emu).includes(node)) throw new Error(`node ${node} is not in this datapath worker`);
  return node;
}

const ofNode = (emu: Emulator, node: string, pred: (e: Element) => boolean): Element[] =>
  emu.engine.elements.filter((e) => e.node === node && pred(e));

export function ovsBridges(emu: Emulator, node: string): OvsBridge[] {
  return ofNode(emu, node, (e) => e instanceof OvsBridge) as OvsBridge[];
}

export function mustOvsBridge(s: Scope, node: string | undefined, name: string | undefined): OvsBridge {
  const n = mustNode(s, node);
  const all = ovsBridges(s.emu, n);
  if (!name) throw new ControlError(`missing BRIDGE (bridges on ${n}: ${list(all.map((b) => b.name))})`);
  const br = all.find((b) => b.name === name);
  // ovs-ofctl's own wording, with the node and what exists added.
  if (!br) throw new ControlError(`ovs-ofctl: ${name} is not a bridge or a socket (bridges on ${n}: ${list(all.map((b) => b.name))})`);
  return br;
}

export function linuxBridges(emu: Emulator, node: string): LinuxBridge[] {
  return ofNode(emu, node, (e) => e instanceof LinuxBridge) as LinuxBridge[];
}

export function namespaces(emu: Emulator, node: string): NetNamespace[] {
  return ofNode(emu, node, (e) => e instanceof NetNamespace) as NetNamespace[];
}

/**
 * `-n NS` on NODE. Without -n: a node that is a single namespace (an
 * emulated host, a gateway) answers for itself; a hypervisor's root
 * namespace is no element (only `ip` shows a view of it), so the user must
 * name one.
 */
export function mustNamespace(s: Scope, node: string | undefined, ns: string | undefined): NetNamespace {
  const { emu } = s;
  const n = mustNode(s, node);
  const all = namespaces(emu, n);
  const names = list(all.map((x) => x.name));
  if (ns === undefined) {
    if (all.length === 1 && !emu.topology.nodes.some((x) => x.name === n)) return all[0]!;
    throw new ControlError(`${n}: the root namespace is not emulated; name one with -n NS (namespaces: ${names})`);
  }
  const found = all.find((x) => x.name === ns);
  // ip -n and ip netns exec exit 255 on it (netns_switch fails: exit(-1)).
  if (!found) throw new ControlError(`Cannot open network namespace "${ns}" on ${n}: No such file or directory (namespaces: ${names})`, 255);
  return found;
}

/**
 * A capture point: NODE:IFACE (an edge first, then any port of that name:
 * bridge ports, patch ports, the underlay NIC) or NODE:NS:IFACE (the port
 * inside that namespace, or the element of that name: NODE:br-int:patch-tun).
 */
export function mustCapturePort(s: Scope, spec: string): Port {
  const { emu } = s;
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new ControlError(`tcpdump: -i wants NODE:IFACE or NODE:NS:IFACE, not '${spec}'`);
  }
  const node = mustNode(s, parts[0]);
  const ports = emu.engine.ports.filter((p) => p.element.node === node);
  if (parts.length === 3) {
    const el = emu.engine.element(node, parts[1]!);
    if (!el) throw new ControlError(`tcpdump: no namespace or device '${parts[1]}' on ${node} (namespaces: ${list(namespaces(emu, node).map((x) => x.name))})`);
    const p = el.port(parts[2]!);
    if (!p) throw new ControlError(`tcpdump: ${parts[2]}: No such device exists in ${node}:${el.name} (interfaces: ${list(el.ports.map((x) => x.name))})`);
    return p;
  }
  const p = emu.findPort(node, parts[1]!);
  if (!p) throw new ControlError(`tcpdump: ${parts[1]}: No such device exists on ${node} (interfaces: ${list([...new Set(ports.map((x) => x.name))])})`);
  return p;
}

/** Where a capture taps, and what tcpdump says it listens on. */
export interface CaptureTarget {
  /** One port (Ethernet frames), or the interfaces of `-i any` (cooked frames). */
  at: Port | TapPoint[];
  source: CaptureSource;
}

/**
 * The capture `-i` names: NODE:[NS:]IFACE (mustCapturePort); NODE:NS:any,
 * every interface of namespace NS as tcpdump's `-i any` (VLAN
 * sub-interfaces at their parent's port); NODE:NS: (no IFACE,
 * tcpdump without -i in `ip netns exec NS`), the device tcpdump picks there.
 */
export function mustCaptureTarget(s: Scope, spec: string): CaptureTarget {
  const parts = spec.split(':');
  if (parts.length === 3 && parts[0] && parts[1] && (parts[2] === 'any' || parts[2] === '')) {
    const el = s.emu.engine.element(mustNode(s, parts[0]), parts[1]);
    if (el instanceof NetNamespace) {
      const dev = parts[2] || defaultDevice(el);
      if (dev === 'any') {
        const at: TapPoint[] = [];
        const ifnames: [number, string][] = [];
        for (const l of el.ns.links()) {
          ifnames.push([l.index, l.name]);
          const port = l.vlanId === undefined ? el.port(l.name) : undefined;
          if (port) at.push({ port, iface: l, vlans: new Map(el.vlanInterfaces(port).map((v) => [v.vlanId!, v])) });
        }
        return { at, source: { iface: `${parts[0]}:${parts[1]}:any`, linktype: LINKTYPE_LINUX_SLL2, ifnames } };
      }
      spec = `${parts[0]}:${parts[1]}:${dev}`;
    }
  }
  return { at: mustCapturePort(s, spec), source: { iface: spec, linktype: LINKTYPE_ETHERNET } };
}

/**
 * The device tcpdump 4.99 opens without -i: the first of pcap_findalldevs,
 * which libpcap 1.10 sorts by get_figure_of_merit (a bit each for not
 * running, not up, disconnected and loopback; "any" 0x08000000), keeping
 * ifindex order among equals: the first non-loopback device that is up,
 * running and has carrier, else "any".
 */
function defaultDevice(el: NetNamespace): string {
  const byIndex = (i: number) => el.ns.linkByIndex(i);
  for (const l of el.ns.links()) {
    const st = operState(l, byIndex);
    if (l.kind !== 'loopback' && (st === 'UP' || st === 'UNKNOWN') && l.carrier) return l.name;
  }
  return 'any';
}
