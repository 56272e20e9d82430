// `ovs-vsctl show`, `ovs-ofctl show` and `ovs-ofctl dump-ports-desc` text for
// a node's OVS bridges, in the layout of utilities/ovs-vsctl.c cmd_show,
// ovs-ofctl.c ofctl_show and ofp-print.c ofp_print_phy_port (checked
// against ovs-ofctl 3.1 and a real ovs-vswitchd: test/e2e/ovs-oracle.test.ts).
import type { Emulator } from '../topology/builder.js';
import type { OvsBridge, OvsPortDesc } from '../ofproto/bridge.js';
import { NetNamespace } from '../netns/namespace.js';
import { macNumToString } from '../wire/addr.js';
import { ovsBridges } from './resolve.js';
import { ovsdbMap, ovsdbString, stableMac, stableUuid, uuidMac } from './ovsdb-text.js';
import type { OfVersion } from '../ofproto/flow-printer.js';
import { OFPPC } from '../ofproto/ovs-port.js';
import { FRAG_NAMES } from '../ofproto/frag-handling.js';

const OFPP_LOCAL = 65534;

/** The stable UUID dpemu gives a row of `node`'s database (the Open_vSwitch row's key is empty). */
export const rowUuid = (emu: Emulator, node: string, table = '', key = ''): string =>
  stableUuid(`dpemu/${emu.topology.name}/${node}${table ? `/${table}/${key}` : ''}`);

export function vsctlShow(emu: Emulator, node: string): string {
  const model = emu.topology.nodes.find((n) => n.name === node);
  let out = `${rowUuid(emu, node)}\n`;
  for (const br of ovsBridges(emu, node)) {
    out += `    Bridge ${ovsdbString(br.name)}\n`;
    if (br.failModeColumn) out += `        fail_mode: ${br.failModeColumn}\n`;
    for (const p of br.portsDesc()) {
      out += `        Port ${ovsdbString(p.name)}\n`;
      if (p.tag !== undefined) out += `            tag: ${p.tag}\n`;
      if (p.trunks?.length) out += `            trunks: [${p.trunks.join(', ')}]\n`;
      if (p.vlanMode) out += `            vlan_mode: ${p.vlanMode}\n`;
      out += `            Interface ${ovsdbString(p.name)}\n`;
      if (p.type) out += `                type: ${p.type}\n`;
      if (Object.keys(p.options).length) out += `                options: ${ovsdbMap(p.options)}\n`;
      const error = interfaceError(emu, br, p);
      if (error) out += `                error: ${ovsdbString(error)}\n`;
    }
  }
  if (model?.ovsVersion) out += `    ovs_version: ${ovsdbString(model.ovsVersion)}\n`;
  return out;
}

/** The Interface row's error: a patch port's whose peer ovs-vsctl deleted (ofproto-dpif's ofport_update_peer finds none). */
export function interfaceError(emu: Emulator, br: OvsBridge, d: OvsPortDesc): string | undefined {
  const peer = d.options.peer;
  if (d.type !== 'patch' || ovsBridges(emu, br.node).some((b) => b.portByName(peer!)?.type === 'patch')) return undefined;
  return `No usable peer '${peer}' exists in 'system' datapath.`;
}

/** The port's hardware address: the topology's, else the namespace end of an internal port, else a stable invented one. */
export function portMac(emu: Emulator, br: OvsBridge, d: OvsPortDesc): string {
  // A port ovs-vsctl added (root-netns.ts pluggedMac: its device's address).
  if (br.portByName(d.name)?.plugged) return pluggedMacText(emu, br, d.name);
  const m = emu.topology.nodes.find((n) => n.name === br.node)?.ovsBridges.find((b) => b.name === br.name)?.ports.find((p) => p.name === d.name)?.mac;
  if (m) return m;
  const peer = br.portByName(d.name)?.port.peer;
  if (peer && peer.element instanceof NetNamespace) {
    const l = peer.element.ns.link(peer.name);
    if (l) return macNumToString(l.mac);
  }
  return stableMac(`${br.node}/${br.name}/${d.name}`);
}

/** The address of a device ovs-vsctl created: an added bridge's own (add-br) is its default_ea, an internal port's a stable one. */
export const pluggedMacText = (emu: Emulator, br: OvsBridge, name: string): string =>
  name === br.name ? uuidMac(rowUuid(emu, br.node, 'Bridge', br.name)) : stableMac(`${br.node}/${br.name}/${name}`);

/** A system port that is one end of one of the node's veths (a kernel veth's link features and driver). */
export function isVeth(emu: Emulator, br: OvsBridge, d: OvsPortDesc): boolean {
  const veths = emu.topology.nodes.find((n) => n.name === br.node)?.veths ?? [];
  return !d.type && veths.some((x) => x.a === d.name || x.b === d.name);
}

/** ` (OF1.x)` after a message's name, as ofp-print.c heads any version but 1.0. */
const ofTag = (v: OfVersion): string => (v === 10 ? '' : ` (OF1.${v - 10})`);

/** ofputil_port_config_to_name, in bit order; OpenFlow 1.1 on has no STP, RECV_STP or FLOOD bits (the reply leaves them out). */
const CONFIG_NAMES: readonly [number, string, boolean][] = [
  [OFPPC.PORT_DOWN, 'PORT_DOWN', true],
  [OFPPC.NO_STP, 'NO_STP', false],
  [OFPPC.NO_RECV, 'NO_RECV', true],
  [OFPPC.NO_RECV_STP, 'NO_RECV_STP', false],
  [OFPPC.NO_FLOOD, 'NO_FLOOD', false],
  [OFPPC.NO_FWD, 'NO_FWD', true],
  [OFPPC.NO_PACKET_IN, 'NO_PACKET_IN', true],
];

/** A port's config as ofp_print_port_config prints it in version `v`'s reply. */
function configText(config: number, v: OfVersion): string {
  const names = CONFIG_NAMES.filter(([bit, , of11]) => config & bit && (v === 10 || of11)).map(([, name]) => name);
  return names.length ? names.join(' ') : '0';
}

/** The ports as ofp_print_phy_port prints them, in ofport order (LOCAL last). */
function portsText(emu: Emulator, br: OvsBridge, v: OfVersion): string {
  const rows = br.portsDesc().sort((a, b) => a.ofport - b.ofport);
  let out = '';
  for (const d of rows) {
    const no = d.ofport === OFPP_LOCAL ? 'LOCAL' : String(d.ofport);
    out += ` ${no}(${d.name}): addr:${portMac(emu, br, d)}\n`;
    out += `     config:     ${configText(d.config, v)}\n`;
    // OpenFlow 1.1 on has a LIVE bit, which ofproto sets on a port with carrier.
    out += `     state:      ${d.up ? (v === 10 ? '0' : 'LIVE') : 'LINK_DOWN'}\n`;
    // A veth answers ethtool with 10000 Mb/s, full duplex, twisted pair (veth_get_link_ksettings),
    // which netdev_linux_read_features reads as 10GB-FD COPPER (checked with a veth on ovs-vswitchd 3.1).
    // Internal, patch and tunnel ports have no features; an underlay NIC's are its hardware's, unknown here.
    if (isVeth(emu, br, d)) {
      out += '     current:    10GB-FD COPPER\n     speed: 10000 Mbps now, 0 Mbps max\n';
    } else {
      out += '     speed: 0 Mbps now, 0 Mbps max\n';
    }
  }
  return out;
}

export function dumpPortsDesc(emu: Emulator, br: OvsBridge, v: OfVersion = 10): string {
  return `OFPST_PORT_DESC reply${ofTag(v)} (xid=0x2):\n${portsText(emu, br, v)}`;
}

/**
 * `ovs-ofctl show`: the features reply (its datapath id the LOCAL port's
 * MAC, as bridge_pick_datapath_id takes the bridge's address), in OpenFlow
 * 1.0 with the ports in it and from 1.3 on followed by a port description
 * request of its own (the xids count the requests), then the switch
 * config: its fragment handling (set-frags).
 */
export function ofctlShow(emu: Emulator, br: OvsBridge, v: OfVersion): string {
  const local = br.portsDesc().find((d) => d.ofport === OFPP_LOCAL);
  const dpid = (local ? portMac(emu, br, local) : '00:00:00:00:00:00').replaceAll(':', '').padStart(16, '0');
  const config = `frags=${FRAG_NAMES[br.fragMode]} miss_send_len=0`;
  let out = `OFPT_FEATURES_REPLY${ofTag(v)} (xid=0x2): dpid:${dpid}\nn_tables:254, n_buffers:0\n`;
  if (v === 10) {
    out += 'capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP\n';
    out += 'actions: output enqueue set_vlan_vid set_vlan_pcp strip_vlan mod_dl_src mod_dl_dst mod_nw_src mod_nw_dst mod_nw_tos mod_tp_src mod_tp_dst\n';
    return `${out}${portsText(emu, br, v)}OFPT_GET_CONFIG_REPLY (xid=0x4): ${config}\n`;
  }
  out += `capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS${v >= 14 ? ' BUNDLES' : ''}\n`;
  out += `OFPST_PORT_DESC reply${ofTag(v)} (xid=0x3):\n${portsText(emu, br, v)}`;
  return `${out}OFPT_GET_CONFIG_REPLY${ofTag(v)} (xid=0x5): ${config}\n`;
}
