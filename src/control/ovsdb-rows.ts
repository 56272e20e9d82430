// A node's Open_vSwitch, Bridge, Port and Interface rows as a real node's
// database would hold them, built from what dpemu knows (for ovs-vsctl list,
// find and get). Every column of the 3.1 schema is there; what dpemu cannot
// know (see docs/control.md, "ovs-vsctl list"):
// - _uuid: stable UUIDs derived from the topology, node, table and name
//   (`show` prints the Open_vSwitch row's), so the same row has the same one
//   in every command and every run;
// - what Neutron and the deployment write (external_ids iface-id,
//   attached-mac, iface-status, vm-uuid; Port other_config; Controller and
//   Manager rows; Open_vSwitch external_ids, system_type, ...): not in the
//   topology, so the schema's empty defaults;
// - what ovs-vswitchd reads from the kernel that dpemu has no device for
//   (link_resets, a NIC's speed): 0 and [] as OVS prints when it cannot
//   read them. ifindex is the device's in the node's root namespace view
//   (root-netns.ts): 0 for a patch port (no device) and for an internal
//   port moved into a namespace (netdev-linux reads no ifindex across
//   namespaces); a vxlan port's is its vxlan_sys_PORT device's.
import type { Emulator } from '../topology/builder.js';
import type { Node } from '../topology/model.js';
import type { OvsBridge, OvsPortDesc } from '../ofproto/bridge.js';
import { NetNamespace } from '../netns/namespace.js';
import { type Netns } from '../netns/netns.js';
import { isHypervisor, rootNetns } from './root-netns.js';
import { ovsBridges } from './resolve.js';
import { interfaceError, isVeth, portMac, rowUuid } from './ovs-show.js';
import { portCounters } from './ovs-dump-ports.js';
import { SCHEMA } from './ovsdb-schema.js';
import { datum, type Atom, type Datum } from './ovsdb-datum.js';

export interface Row {
  uuid: string;
  /** The record name ovs-vsctl finds it by: `name`, or "." for the Open_vSwitch row. */
  name: string;
  values: Record<string, Datum>;
}

type Entries = readonly (Atom | readonly [Atom, Atom])[];

/** A row of `table` with every column at its schema default but those `set` gives. */
export function row(table: string, uuid: string, name: string, set: Record<string, Entries>): Row {
  const values: Record<string, Datum> = {};
  for (const c of SCHEMA[table]!) {
    const given = set[c.name];
    if (given) values[c.name] = datum(c.type, given);
    else if (c.type.min === 0) values[c.name] = datum(c.type, []);
    else values[c.name] = datum(c.type, [{ s: '', i: 0, b: false, u: '' }[c.type.key.type]]);
  }
  return { uuid, name, values };
}

type PortModel = Node['ovsBridges'][number]['ports'][number];

const opt = <T extends Atom>(v: T | undefined | null): T[] => (v === undefined || v === null ? [] : [v]);

/** The netns end of an internal port that dpemu moved into a namespace (a qr-, qg-, sg- or fg- device). */
function nsLink(br: OvsBridge, d: OvsPortDesc) {
  const peer = br.portByName(d.name)?.port.peer;
  return peer && peer.element instanceof NetNamespace ? peer.element.ns.link(peer.name) : undefined;
}

/** The ifindex ovs-vswitchd reads for an interface: its device's (a tunnel's, the datapath's vxlan_sys_PORT) in `root`; 0 where it has none there. */
function ifindexOf(root: Netns | undefined, d: OvsPortDesc, model: PortModel | undefined): number {
  if (!root || d.type === 'patch') return 0;
  const dev = d.type !== 'vxlan' ? d.name : model?.tunnel ? `vxlan_sys_${model.tunnel.dstPort}` : undefined;
  return (dev !== undefined && root.link(dev)?.index) || 0;
}

function interfaceRow(emu: Emulator, br: OvsBridge, d: OvsPortDesc, root: Netns | undefined): Row {
  const p = br.portByName(d.name)!;
  const model = emu.topology.nodes.find((n) => n.name === br.node)?.ovsBridges.find((b) => b.name === br.name)?.ports.find((x) => x.name === d.name);
  const veth = isVeth(emu, br, d);
  const noDevice = d.type === 'patch' || d.type === 'vxlan';
  const c = portCounters(p, emu.engine.stats);
  // netdev_get_stats: a kernel device's counters (the error ones 0 here, ovs-dump-ports.ts), a vport's four.
  const stats: [string, number][] = noDevice
    ? [['rx_bytes', c.rxBytes], ['rx_packets', c.rxPackets], ['tx_bytes', c.txBytes], ['tx_packets', c.txPackets]]
    : [['collisions', 0], ['rx_bytes', c.rxBytes], ['rx_crc_err', 0], ['rx_dropped', 0], ['rx_errors', 0], ['rx_frame_err', 0], ['rx_missed_errors', 0],
        ['rx_over_err', 0], ['rx_packets', c.rxPackets], ['tx_bytes', c.txBytes], ['tx_dropped', c.txDropped], ['tx_errors', 0], ['tx_packets', c.txPackets]];
  // ethtool's driver info (netdev_linux_get_status): a veth's, an OVS internal device's, a TAP's.
  const status: [string, string][] = veth
    ? [['driver_name', 'veth'], ['driver_version', '1.0'], ['firmware_version', '']]
    : d.type === 'internal' ? [['driver_name', 'openvswitch']] : d.type === 'tap' ? [['driver_name', 'tun'], ['driver_version', '1.6'], ['firmware_version', '']] : [];
  const state = d.up ? 'up' : 'down';
  const error = interfaceError(emu, br, d);
  return row('Interface', rowUuid(emu, br.node, 'Interface', d.name), d.name, {
    admin_state: [state],
    duplex: veth ? ['full'] : [],
    error: opt(error),
    external_ids: p.plugged?.externalIds ?? [],
    ifindex: [ifindexOf(root, d, model)],
    link_resets: [0],
    link_speed: veth ? [10_000_000_000] : [],
    link_state: [state],
    mac_in_use: [portMac(emu, br, d)],
    mtu: noDevice ? [] : [model?.mtu ?? nsLink(br, d)?.mtu ?? 1500],
    name: [d.name],
    ofport: [d.ofport],
    ofport_request: opt(p.plugged?.ofportRequest),
    options: Object.entries(d.options),
    statistics: stats,
    status,
    type: [d.type === 'tap' ? '' : d.type],
  });
}

function portRow(emu: Emulator, br: OvsBridge, d: OvsPortDesc): Row {
  return row('Port', rowUuid(emu, br.node, 'Port', d.name), d.name, {
    interfaces: [rowUuid(emu, br.node, 'Interface', d.name)],
    name: [d.name],
    tag: opt(d.tag),
    trunks: d.trunks ?? [],
    vlan_mode: opt(d.vlanMode),
  });
}

function bridgeRow(emu: Emulator, br: OvsBridge): Row {
  const local = br.portsDesc().find((d) => d.name === br.name);
  return row('Bridge', rowUuid(emu, br.node, 'Bridge', br.name), br.name, {
    // bridge_pick_datapath_id: the bridge's (its LOCAL port's) address.
    datapath_id: [(local ? portMac(emu, br, local) : '00:00:00:00:00:00').replaceAll(':', '').padStart(16, '0')],
    // The kernel datapath's version when its module has none to read (an upstream kernel's).
    datapath_version: ['<unknown>'],
    fail_mode: opt(br.failModeColumn),
    name: [br.name],
    other_config: [...br.otherConfig],
    ports: br.portsDesc().map((d) => rowUuid(emu, br.node, 'Port', d.name)),
  });
}

/** The interface types a Linux build of OVS 3.1 registers (Debian's: AF_XDP included). */
const IFACE_TYPES = ['afxdp', 'afxdp-nonpmd', 'bareudp', 'erspan', 'geneve', 'gre', 'gtpu', 'internal', 'ip6erspan', 'ip6gre', 'lisp', 'patch', 'stt', 'system', 'tap', 'vxlan'];

/** `node`'s rows of each table dpemu answers for, in its bridges' and ports' order. */
export function nodeRows(emu: Emulator, node: string): Record<string, Row[]> {
  const bridges = ovsBridges(emu, node);
  const model = emu.topology.nodes.find((n) => n.name === node);
  const ports = bridges.flatMap((br) => br.portsDesc().map((d) => ({ br, d })));
  const root = ports.length && isHypervisor(emu, node) ? rootNetns(emu, node, emu.engine.now) : undefined;
  return {
    Open_vSwitch: [row('Open_vSwitch', rowUuid(emu, node), '.', {
      bridges: bridges.map((b) => rowUuid(emu, node, 'Bridge', b.name)),
      datapath_types: ['netdev', 'system'],
      db_version: ['8.3.1'],
      dpdk_version: ['none'],
      iface_types: IFACE_TYPES,
      other_config: [...(emu.ovsOtherConfig.get(node) ?? [])],
      ovs_version: opt(model?.ovsVersion),
    })],
    Bridge: bridges.map((b) => bridgeRow(emu, b)),
    Port: ports.map(({ br, d }) => portRow(emu, br, d)),
    Interface: ports.map(({ br, d }) => interfaceRow(emu, br, d, root)),
  };
}
