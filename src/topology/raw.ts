// The topology file's data as the schema admits it (snake_case, as written).
// Only used between schema validation and the model (assemble.ts).

export type Scalar = string | number | boolean;

export interface RawFile {
  version?: 1;
  name?: string;
  description?: string;
  nodes: Record<string, RawNode>;
  fabric?: RawFabric;
  gateways?: Record<string, RawGateway>;
  wires?: [string, string][];
  hosts?: Record<string, RawHost>;
}

export interface RawNode {
  description?: string;
  role?: string;
  agent_mode?: 'legacy' | 'dvr' | 'dvr_snat' | 'dvr_no_external';
  dvr_mac?: string;
  ovs_version?: string;
  underlay?: RawUnderlay;
  ovs?: Record<string, RawOvsBridge>;
  linux_bridges?: Record<string, RawLinuxBridge>;
  veths?: [string, string][];
  namespaces?: Record<string, RawNamespace>;
  edges?: Record<string, RawEdge>;
}

export interface RawUnderlay {
  nic: string;
  ip: string;
  mac: string;
  mtu?: number;
  gateway: string;
  gateway_mac: string;
  hash_seed?: number;
}

export interface RawOvsBridge {
  fail_mode?: 'secure' | 'standalone';
  mac?: string;
  ports?: Record<string, RawOvsPort>;
  flows?: string;
}

export interface RawOvsPort {
  ofport?: number;
  type?: 'system' | 'internal' | 'patch' | 'vxlan';
  tag?: number;
  trunks?: number[];
  vlan_mode?: 'access' | 'trunk' | 'native-tagged' | 'native-untagged' | 'dot1q-tunnel';
  options?: Record<string, Scalar>;
  mac?: string;
  mtu?: number;
}

export interface RawLinuxBridge {
  mac?: string;
  stp?: boolean;
  ageing_time?: number;
  ports?: Record<string, { port_no?: number; mac?: string; mtu?: number }>;
}

export interface RawInterface {
  mac?: string;
  mtu?: number;
  addresses?: string[];
  ifindex?: number;
  parent?: string;
  vlan?: number;
}

export interface RawIpStack {
  sysctls?: Record<string, string | number>;
  interfaces?: Record<string, RawInterface>;
  routes?: string;
  rules?: string;
  routes6?: string;
  rules6?: string;
  neighbours?: string;
  iptables?: string;
}

export type RawNamespace = RawIpStack;

export interface RawGateway extends RawIpStack {
  description?: string;
  edges?: Record<string, RawEdge>;
}

export type RawEdge =
  | { kind: 'tap'; dev?: string }
  | { kind: 'underlay'; bind: string; peers?: Record<string, string> }
  | { kind: 'none' };

export interface RawFabric {
  name?: string;
  nodes?: string[];
  mtu?: number;
}

export interface RawHost {
  description?: string;
  edge: string;
  netns: string;
  interface: { name?: string; mac?: string; mtu?: number; addresses: string[] };
  sysctls?: Record<string, string | number>;
  routes?: string;
  neighbours?: string;
}
