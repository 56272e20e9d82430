// A Linux bridge port's settings (struct net_bridge_port's state, priority,
// path cost and flags) as br_add_if leaves them and `bridge link set`
// (br_setport) changes them. With STP off the kernel makes an enabled port
// forwarding; the rest are its defaults (BR_LEARNING | BR_FLOOD |
// BR_MCAST_FLOOD | BR_BCAST_FLOOD, multicast_router 1). Those that change
// forwarding with STP and multicast snooping off (the qbr's) are read by
// LinuxBridge.receive: learning, flood, mcast_flood, bcast_flood, hairpin,
// isolated, locked and the state; the others are shown, not acted on
// (guard, root_block and the priority and cost are STP's, fastleave,
// mcast_router and mcast_to_unicast multicast snooping's, vlan_tunnel VLAN
// filtering's).

/** BR_STATE_*, as `bridge link` names them (port_states[]). */
export const PORT_STATES = ['disabled', 'listening', 'learning', 'forwarding', 'blocking'] as const;
export const BR_STATE_LEARNING = 2;
export const BR_STATE_FORWARDING = 3;
export const BR_STATE_BLOCKING = 4;

export interface BridgePortFlags {
  /** BR_STATE_*: the port's own, shown as `disabled` while it has no carrier. */
  state: number;
  priority: number;
  /** Set by the user; none: br_port_cost from the device's link speed (the view's). */
  cost?: number;
  hairpin: boolean;
  guard: boolean;
  root_block: boolean;
  fastleave: boolean;
  learning: boolean;
  /** BR_LEARNING_SYNC: taken, never reported (br_port_fill_attrs has no such attribute). */
  learning_sync: boolean;
  flood: boolean;
  mcast_flood: boolean;
  bcast_flood: boolean;
  mcast_to_unicast: boolean;
  neigh_suppress: boolean;
  vlan_tunnel: boolean;
  isolated: boolean;
  locked: boolean;
  /** MDB_RTR_TYPE_*: 1 (temp_query) by default. */
  mcast_router: number;
}

/** A port's default priority (br_init_port: 0x20). */
export const PORT_PRIORITY = 32;

export function defaultPortFlags(): BridgePortFlags {
  return {
    state: BR_STATE_FORWARDING,
    priority: PORT_PRIORITY,
    hairpin: false,
    guard: false,
    root_block: false,
    fastleave: false,
    learning: true,
    learning_sync: false,
    flood: true,
    mcast_flood: true,
    bcast_flood: true,
    mcast_to_unicast: false,
    neigh_suppress: false,
    vlan_tunnel: false,
    isolated: false,
    locked: false,
    mcast_router: 1,
  };
}

/** The on/off flags br_setport sets, in its order (br_set_port_flag). */
export type PortFlag = 'hairpin' | 'guard' | 'fastleave' | 'root_block' | 'learning' | 'learning_sync' | 'flood' | 'mcast_flood' | 'mcast_to_unicast' | 'bcast_flood' | 'vlan_tunnel' | 'isolated' | 'locked' | 'neigh_suppress';
