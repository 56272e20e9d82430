// A device's IFLA_LINKINFO data as `ip -d` prints it (iproute2 6.1:
// iplink_bridge.c, iplink_bridge_slave.c, iptuntap.c, iplink_vxlan.c), for
// the devices of a hypervisor's root namespace, whose settings the view
// takes from the model (src/control/root-netns.ts) or, where the model has
// none, from how Nova/os-vif, libvirt and OVS create them on Linux 6.x.

import { JsonRaw, type JsonValue } from './json-writer.js';
import { formatMac, type Mac } from './addr.js';
import { PORT_STATES, type BridgePortFlags } from '../l2/bridge-port.js';

/** One attribute: its text (with the space iproute2 ends it with; '' where only JSON has it) and its JSON member (none where only the text has it). */
export interface InfoAttr {
  readonly text: string;
  readonly key?: string;
  readonly json?: JsonValue;
}

/** What the kernel reports of a device beyond its kind's constants. */
export interface LinkInfo {
  /** dev->promiscuity and dev->allmulti: user space's PROMISC, a Linux bridge's port (both), an OVS vport (promiscuity). */
  promiscuity: number;
  allmulti: number;
  /** IFLA_INFO_DATA as printed; none where iproute2 has no printer for the kind (veth, openvswitch) or it has no kind (a NIC). */
  data?: readonly InfoAttr[];
  /** The master's kind (IFLA_INFO_SLAVE_KIND) and its IFLA_INFO_SLAVE_DATA, none for openvswitch (no fill_slave_info). */
  slaveKind?: string;
  slaveData?: readonly InfoAttr[];
}

const num = (text: string, key: string, v: number): InfoAttr => ({ text: `${text} ${v} `, key, json: v });
const str = (text: string, key: string, v: string): InfoAttr => ({ text: `${text} ${v} `, key, json: v });
const onOff = (text: string, key: string | undefined, v: boolean): InfoAttr => ({ text: `${text} ${v ? 'on' : 'off'} `, ...(key ? { key, json: v } : {}) });
/** A timer in centiseconds: "%7.2f" seconds in the text, "%.2f" in JSON. */
const timer = (text: string, key: string, cs: number): InfoAttr => ({ text: `${text} ${(cs / 100).toFixed(2).padStart(7)} `, key, json: new JsonRaw((cs / 100).toFixed(2)) });
/** print_0xhex: "%#llx" (0 prints as 0). */
const hex = (v: number): string => (v ? `0x${v.toString(16)}` : '0');
/** An 802.1D bridge id as iproute2 prints it (br_dump_bridge_id: "%.2x%.2x.%x:%x:%x:%x:%x:%x", the MAC's bytes unpadded). */
const bridgeId = (priority: number, mac: Mac): string =>
  `${priority.toString(16).padStart(4, '0')}.${formatMac(mac).split(':').map((b) => parseInt(b, 16).toString(16)).join(':')}`;

/** The bridge priority (brctl setbridgeprio is never run: the kernel's default). */
const BRIDGE_PRIORITY = 0x8000;
/** The id a port's priority makes with its number (br_make_port_id: the number in the low 10 bits). */
const portId = (priority: number, portNo: number): number => (priority << 10) | portNo;

export interface BridgeSettings {
  mac: Mac;
  stp: boolean;
  /** All in centiseconds, as the kernel reports them (clock_t). */
  ageing: number;
  forwardDelay: number;
  mcastSnooping: boolean;
  /** Time left before the FDB garbage collection runs again. */
  gcTimer: number;
}

/**
 * A Linux bridge with STP off (the kernel's STP timers then stay stopped and
 * the bridge is its own root): its settings, then the kernel's defaults for
 * what nothing sets (hello 2 s, max age 20 s, the multicast querier's).
 */
export function bridgeData(b: BridgeSettings): InfoAttr[] {
  const id = bridgeId(BRIDGE_PRIORITY, b.mac);
  return [
    num('forward_delay', 'forward_delay', b.forwardDelay),
    num('hello_time', 'hello_time', 200),
    num('max_age', 'max_age', 2000),
    num('ageing_time', 'ageing_time', b.ageing),
    num('stp_state', 'stp_state', b.stp ? 1 : 0),
    num('priority', 'priority', BRIDGE_PRIORITY),
    num('vlan_filtering', 'vlan_filtering', 0),
    str('bridge_id', 'bridge_id', id),
    str('designated_root', 'root_id', id),
    num('root_port', 'root_port', 0),
    num('root_path_cost', 'root_path_cost', 0),
    num('topology_change', 'topology_change', 0),
    num('topology_change_detected', 'topology_change_detected', 0),
    timer('hello_timer', 'hello_timer', 0),
    timer('tcn_timer', 'tcn_timer', 0),
    timer('topology_change_timer', 'topology_change_timer', 0),
    timer('gc_timer', 'gc_timer', b.gcTimer),
    str('group_fwd_mask', 'group_fwd_mask', hex(0)),
    str('group_address', 'group_addr', '01:80:c2:00:00:00'),
    num('mcast_snooping', 'mcast_snooping', b.mcastSnooping ? 1 : 0),
    num('no_linklocal_learn', 'no_linklocal_learn', 0),
    num('mcast_vlan_snooping', 'mcast_vlan_snooping', 0),
    num('mcast_router', 'mcast_router', 1),
    num('mcast_query_use_ifaddr', 'mcast_query_use_ifaddr', 0),
    num('mcast_querier', 'mcast_querier', 0),
    num('mcast_hash_elasticity', 'mcast_hash_elasticity', 16),
    num('mcast_hash_max', 'mcast_hash_max', 4096),
    num('mcast_last_member_count', 'mcast_last_member_cnt', 2),
    num('mcast_startup_query_count', 'mcast_startup_query_cnt', 2),
    num('mcast_last_member_interval', 'mcast_last_member_intvl', 100),
    num('mcast_membership_interval', 'mcast_membership_intvl', 26000),
    num('mcast_querier_interval', 'mcast_querier_intvl', 25500),
    num('mcast_query_interval', 'mcast_query_intvl', 12500),
    num('mcast_query_response_interval', 'mcast_query_response_intvl', 1000),
    num('mcast_startup_query_interval', 'mcast_startup_query_intvl', 3124),
    num('mcast_stats_enabled', 'mcast_stats_enabled', 0),
    num('mcast_igmp_version', 'mcast_igmp_version', 2),
    num('mcast_mld_version', 'mcast_mld_version', 1),
    num('nf_call_iptables', 'nf_call_iptables', 0),
    num('nf_call_ip6tables', 'nf_call_ip6tables', 0),
    num('nf_call_arptables', 'nf_call_arptables', 0),
  ];
}

export interface BridgePortSettings {
  portNo: number;
  bridgeMac: Mac;
  /** The port and its bridge are up with carrier; without, the port is disabled (br_stp_disable_port). */
  carrier: boolean;
  /** br_port_cost from the device's link speed (veth and tun report 10 Gb/s: 2), unless the port's settings give one. */
  cost: number;
  /** The port's settings (`bridge link set`): with STP off a port with carrier forwards unless set otherwise. */
  flags: Readonly<BridgePortFlags>;
}

/** A Linux bridge port with STP off: its settings (the kernel's defaults: learning, flooding) and itself as designated port. */
export function bridgePortData(p: BridgePortSettings): InfoAttr[] {
  const f = p.flags;
  const id = bridgeId(BRIDGE_PRIORITY, p.bridgeMac), pid = portId(f.priority, p.portNo);
  return [
    str('state', 'state', p.carrier ? PORT_STATES[f.state]! : 'disabled'),
    num('priority', 'priority', f.priority),
    num('cost', 'cost', f.cost ?? p.cost),
    onOff('hairpin', 'hairpin', f.hairpin),
    onOff('guard', 'guard', f.guard),
    onOff('root_block', 'root_block', f.root_block),
    onOff('fastleave', 'fastleave', f.fastleave),
    onOff('learning', 'learning', f.learning),
    onOff('flood', 'flood', f.flood),
    str('port_id', 'id', hex(pid)),
    str('port_no', 'no', hex(p.portNo)),
    num('designated_port', 'designated_port', pid),
    num('designated_cost', 'designated_cost', 0),
    str('designated_bridge', 'bridge_id', id),
    str('designated_root', 'root_id', id),
    timer('hold_timer', 'hold_timer', 0),
    timer('message_age_timer', 'message_age_timer', 0),
    timer('forward_delay_timer', 'forward_delay_timer', 0),
    num('topology_change_ack', 'topology_change_ack', 0),
    num('config_pending', 'config_pending', 0),
    onOff('proxy_arp', 'proxy_arp', false),
    onOff('proxy_arp_wifi', 'proxy_arp_wifi', false),
    num('mcast_router', 'multicast_router', f.mcast_router),
    // IFLA_BRPORT_FAST_LEAVE a second time, in the text only.
    onOff('mcast_fast_leave', undefined, f.fastleave),
    onOff('mcast_flood', 'mcast_flood', f.mcast_flood),
    onOff('bcast_flood', 'bcast_flood', f.bcast_flood),
    onOff('mcast_to_unicast', 'mcast_to_unicast', f.mcast_to_unicast),
    onOff('neigh_suppress', 'neigh_suppress', f.neigh_suppress),
    str('group_fwd_mask', 'group_fwd_mask', hex(0)),
    str('group_fwd_mask_str', 'group_fwd_mask_str', '0x0'),
    onOff('vlan_tunnel', 'vlan_tunnel', f.vlan_tunnel),
    onOff('isolated', 'isolated', f.isolated),
    onOff('locked', 'locked', f.locked),
  ];
}

/**
 * A TAP as libvirt opens it for a Nova VM (virNetDevTapCreate: IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR for a virtio NIC, one queue, not persistent, no
 * owner or group set). multi_queue is printed in JSON only when off.
 */
export function tapData(): InfoAttr[] {
  return [
    str('type', 'type', 'tap'),
    onOff('pi', 'pi', false),
    onOff('vnet_hdr', 'vnet_hdr', true),
    { text: '', key: 'multi_queue', json: false },
    onOff('persist', 'persist', false),
  ];
}

/**
 * The vxlan device OVS's dpif-netlink-rtnl creates for a VXLAN UDP port:
 * COLLECT_METADATA (external), no learning, UDP_ZERO_CSUM6_RX, the port;
 * the rest the kernel's defaults (VNI 0, source ports from the flow hash,
 * TTL 0 = auto, DF unset, ageing 300 s, IPv4 UDP checksums on).
 */
export function ovsVxlanData(dstPort: number): InfoAttr[] {
  return [
    { text: 'external ', key: 'external', json: true },
    num('id', 'id', 0),
    { text: 'srcport 0 0 ', key: 'port_range', json: { low: 0, high: 0 } },
    num('dstport', 'port', dstPort),
    { text: 'nolearning ', key: 'learning', json: false },
    { text: 'ttl auto ', key: 'ttl', json: 0 },
    { text: '', key: 'df', json: 'unset' },
    num('ageing', 'ageing', 300),
    { text: 'udpcsum ', key: 'udp_csum', json: true },
    { text: 'noudp6zerocsumtx ', key: 'udp_zero_csum6_tx', json: false },
    { text: 'udp6zerocsumrx ', key: 'udp_zero_csum6_rx', json: true },
  ];
}

/** The text of attributes, joined as iproute2 prints them. */
export const infoText = (attrs: readonly InfoAttr[]): string => attrs.map((a) => a.text).join('');

/** Their JSON members. */
export function infoJson(attrs: readonly InfoAttr[]): { [key: string]: JsonValue } {
  const o: { [key: string]: JsonValue } = {};
  for (const a of attrs) if (a.key !== undefined) o[a.key] = a.json!;
  return o;
}
