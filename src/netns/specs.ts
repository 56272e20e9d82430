// Requests as `ip route|rule|neigh add ...` expresses them: what the syntax
// modules produce and the namespace validates and applies. Devices are by
// name here, as on the command line.

import { type Ip4, type Mac } from './addr.js';
import { type RouteMetric } from './fib.js';
import { type RouteType } from './names.js';
import { type PortRange, type RuleAction, type RuleAddr } from './rules.js';

export interface RouteSpec {
  type?: RouteType;
  dst: Ip4;
  dstLen: number;
  tos?: number;
  table?: number;
  protocol?: number;
  scope?: number;
  metric?: number;
  gateway?: Ip4;
  dev?: string;
  src?: Ip4;
  onlink?: boolean;
  mtu?: number;
  mtuLock?: boolean;
  metrics?: RouteMetric[];
}

/** An `ip rule` of IPv4 (Ip4 prefixes) or of IPv6 (`ip -6 rule`: 16 bytes). */
export interface RuleSpec<A extends RuleAddr = Ip4> {
  priority?: number;
  invert?: boolean;
  src?: A;
  srcLen?: number;
  dst?: A;
  dstLen?: number;
  tos?: number;
  fwmark?: number;
  fwmask?: number;
  iif?: string;
  oif?: string;
  ipproto?: number;
  sport?: PortRange;
  dport?: PortRange;
  uidrange?: PortRange;
  action?: RuleAction;
  table?: number;
  gotoTarget?: number;
  suppressPrefixLen?: number;
  suppressIfgroup?: number;
  protocol?: number;
}

export interface NeighSpec {
  /** An IPv4 neighbour's address (0 for an IPv6 one). */
  ip: Ip4;
  /** An IPv6 neighbour's address (`ip -6 neigh`, or a word with a `:`). */
  ip6?: Uint8Array;
  dev?: string;
  lladdr?: Mac;
  /** NUD_* bits; `ip neigh add` defaults to PERMANENT. */
  state?: number;
  router?: boolean;
  proxy?: boolean;
}
