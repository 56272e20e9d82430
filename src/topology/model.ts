// The validated in-memory topology the builder consumes. Everything here has
// passed the schema and the cross-reference checks (loader.ts): names
// resolve, links pair exactly two ports, addresses and MACs are canonical
// (lower-case MACs, dotted-quad IPv4, IPv6 as written). Text blocks (flows, routes, rules,
// neighbours, iptables) stay text plus position: text-blocks.ts parses them
// with the real parsers and maps their errors back to file positions.
import type { ElementKind, LinkKind } from '../datapath/element.js';

/** Where something is in the topology file (1-based line and column). */
export interface Loc {
  readonly file: string;
  readonly pointer: string; // JSON pointer, e.g. /nodes/w07/ovs/br-int
  readonly line: number;
  readonly col: number;
}

/** A text block in a tool's own syntax and where its lines are in the file. */
export interface TextBlock {
  readonly text: string;
  readonly loc: Loc; // the scalar (for `|`, the indicator)
  /** File line of the block's line 1. */
  readonly firstLine: number;
  /** File column of the block's column 1 (on every line for `|` blocks). */
  readonly firstCol: number;
}

export interface IfAddress {
  readonly ip: string;
  readonly prefixLen: number;
  readonly cidr: string; // ip/prefixLen as written (host bits kept)
  /** A namespace address's explicit `brd`; without it the broadcast `brd +` sets. */
  readonly broadcast?: string;
  /** An IPv6 address (`ip` as written): installed as `ip -6 addr add ... nodad` does. */
  readonly inet6?: true;
}

export interface Topology {
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  readonly nodes: readonly Node[];
  readonly gateways: readonly Gateway[];
  readonly fabric: Fabric | null;
  readonly hosts: readonly Host[];
  /** Every link: veth, patch, internal, tunnel and wire (incl. NIC <-> fabric). */
  readonly links: readonly Link[];
  /** Every port where frames enter or leave the emulator. */
  readonly edges: readonly Edge[];
}

export type AgentMode = 'legacy' | 'dvr' | 'dvr_snat' | 'dvr_no_external';

export interface Node {
  readonly name: string;
  readonly loc: Loc;
  readonly description?: string;
  readonly role?: string;
  readonly agentMode?: AgentMode;
  readonly dvrMac?: string;
  readonly ovsVersion?: string;
  readonly underlay: UnderlayNic | null;
  readonly ovsBridges: readonly OvsBridge[];
  readonly linuxBridges: readonly LinuxBridge[];
  readonly namespaces: readonly Namespace[];
  readonly veths: readonly VethPair[];
}

/** The underlay element: named after its NIC (element name = nic). */
export interface UnderlayNic {
  readonly nic: string;
  readonly address: IfAddress;
  readonly mac: string;
  readonly mtu: number; // default 1500
  readonly gateway: string;
  readonly gatewayMac: string;
  /** Seed of the kernel's flow hash (hashrnd) that picks VXLAN UDP source ports. */
  readonly hashSeed: number;
  readonly loc: Loc;
}

export type OvsPortType = 'system' | 'internal' | 'patch' | 'vxlan';
export type VlanMode = 'access' | 'trunk' | 'native-tagged' | 'native-untagged' | 'dot1q-tunnel';

export interface OvsBridge {
  readonly name: string;
  readonly loc: Loc;
  /** Unset: OVS's default (an empty column), which behaves as standalone. */
  readonly failMode?: 'secure' | 'standalone';
  readonly mac?: string;
  /** In ofport order; includes the implicit LOCAL port (name = bridge, ofport 65534, internal). */
  readonly ports: readonly OvsPort[];
  /** null: no flows given (a standalone bridge then has OVS's `priority=0 actions=NORMAL`). */
  readonly flows: TextBlock | null;
}

export const OFPP_LOCAL = 65534;

export interface OvsPort {
  readonly name: string;
  readonly loc: Loc;
  readonly ofport: number;
  readonly type: OvsPortType;
  readonly tag: number | null;
  readonly trunks: readonly number[]; // empty = all
  readonly vlanMode: VlanMode | null;
  /** OVSDB Interface.options as strings (ovs-vsctl spelling). */
  readonly options: Readonly<Record<string, string>>;
  readonly mac?: string;
  readonly mtu?: number;
  /** The bridge's own port (name = bridge, ofport 65534). */
  readonly local: boolean;
  /** type patch: the peer port's name (on another bridge of the node). */
  readonly patchPeer?: string;
  /** type vxlan: the options, decoded. */
  readonly tunnel?: VxlanOptions;
}

export interface VxlanOptions {
  readonly remoteIp: string | 'flow';
  readonly localIp: string | null; // null: the underlay's address
  readonly inKey: 'flow' | number;
  readonly outKey: 'flow' | number;
  readonly dfDefault: boolean; // OVS default true
  readonly dstPort: number; // default 4789
}

export interface LinuxBridge {
  readonly name: string;
  readonly loc: Loc;
  readonly mac?: string;
  readonly stp: boolean;
  readonly ageingTime: number; // seconds, default 300
  readonly ports: readonly LinuxBridgePort[]; // in port_no order
}

export interface LinuxBridgePort {
  readonly name: string;
  readonly loc: Loc;
  readonly portNo: number;
  readonly mac?: string;
  readonly mtu?: number;
}

/** A namespace's IP stack state; also the body of a gateway. */
export interface IpStack {
  readonly sysctls: Readonly<Record<string, string>>;
  readonly interfaces: readonly NsInterface[];
  readonly routes: TextBlock | null;
  readonly rules: TextBlock | null;
  /** `ip -6 route` and `ip -6 rule` output: blocks of their own, as `ip -6 rule` lines read as IPv4's. */
  readonly routes6: TextBlock | null;
  readonly rules6: TextBlock | null;
  readonly neighbours: TextBlock | null;
  readonly iptables: TextBlock | null;
}

export interface Namespace extends IpStack {
  readonly name: string;
  readonly loc: Loc;
}

export interface NsInterface {
  readonly name: string;
  readonly loc: Loc;
  readonly mac?: string;
  readonly mtu: number; // default 1500
  readonly addresses: readonly IfAddress[];
  readonly ifindex?: number;
  /** Gateways only: a VLAN sub-interface of `parent`. */
  readonly vlan?: { readonly parent: string; readonly id: number };
}

export interface VethPair {
  readonly a: string;
  readonly b: string;
  readonly loc: Loc;
}

export interface Gateway extends IpStack {
  readonly name: string; // also its node name
  readonly loc: Loc;
  readonly description?: string;
}

export interface Fabric {
  readonly name: string; // element and node name, default 'fabric'
  readonly loc: Loc | null; // null when implied
  readonly mtu: number;
  readonly sides: readonly FabricSide[];
}

/** One side of the fabric: it answers as `ip`/`mac` on the subnet of node's NIC. */
export interface FabricSide {
  readonly node: string;
  readonly nic: string;
  readonly port: string; // the fabric's port name: the node's name
  readonly ip: string; // the node's underlay gateway
  readonly mac: string; // the node's underlay gateway_mac
  readonly subnet: string; // network/prefix of the node's NIC
  readonly nicIp: string;
  readonly nicMac: string;
}

export interface Host {
  readonly name: string;
  readonly loc: Loc;
  readonly description?: string;
  readonly edge: PortRef;
  readonly netns: string;
  readonly iface: NsInterface; // name default eth0
  readonly sysctls: Readonly<Record<string, string>>;
  readonly routes: TextBlock | null;
  readonly neighbours: TextBlock | null;
}

/** A port of an element: node, element name and kind, port name. */
export interface PortRef {
  readonly node: string;
  readonly element: string;
  readonly kind: ElementKind;
  readonly port: string;
}

export interface Link {
  readonly kind: LinkKind;
  readonly a: PortRef;
  readonly b: PortRef;
  readonly loc: Loc;
}

export type EdgeSpec =
  | { readonly kind: 'tap'; readonly dev: string }
  | { readonly kind: 'underlay'; readonly bind: string; readonly peers: Readonly<Record<string, string>> }
  | { readonly kind: 'none' };

export type Edge = EdgeSpec & {
  readonly port: PortRef;
  readonly loc: Loc;
  /** The lab host plugged into this (tap) edge, if any. */
  readonly host?: string;
};
