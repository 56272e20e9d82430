// `ovs-vsctl show` and `ovs-ofctl dump-ports-desc` text for a node's OVS
// bridges, in the layout of utilities/ovs-vsctl.c cmd_show and
// ofp-print.c ofp_print_phy_port (OpenFlow 1.0, as ovs-ofctl 2.5 prints it).
import type { Emulator } from '../topology/builder.js';
import type { OvsBridge, OvsPortDesc } from '../ofproto/bridge.js';
import { NetNamespace } from '../netns/namespace.js';
import { macNumToString } from '../wire/addr.js';
import { ovsBridges } from './resolve.js';
import { ovsdbMap, ovsdbString, stableMac, stableUuid } from './ovsdb-text.js';

const OFPP_LOCAL = 65534;

export function vsctlShow(emu: Emulator, node: string): string {
  const model = emu.topology.nodes.find((n) => n.name === node);
  let out = `${stableUuid(`dpemu/${emu.topology.name}/${node}`)}\n`;
  for (const br of ovsBridges(emu, node)) {
    out += `    Bridge ${ovsdbString(br.name)}\n`;
    if (br.failMode === 'secure') out += '        fail_mode: secure\n';
    for (const p of br.portsDesc()) {
      out += `        Port ${ovsdbString(p.name)}\n`;
      if (p.tag !== undefined) out += `            tag: ${p.tag}\n`;
      if (p.trunks?.length) out += `            trunks: [${p.trunks.join(', ')}]\n`;
      if (p.vlanMode) out += `            vlan_mode: ${p.vlanMode}\n`;
      out += `            Interface ${ovsdbString(p.name)}\n`;
      if (p.type) out += `                type: ${p.type}\n`;
      if (Object.keys(p.options).length) out += `                options: ${ovsdbMap(p.options)}\n`;
    }
  }
  if (model?.ovsVersion) out += `    ovs_version: ${ovsdbString(model.ovsVersion)}\n`;
  return out;
}

/** The port's hardware address: the topology's, else the namespace end of an internal port, else a stable invented one. */
function portMac(emu: Emulator, br: OvsBridge, d: OvsPortDesc): string {
  const m = emu.topology.nodes.find((n) => n.name === br.node)?.ovsBridges.find((b) => b.name === br.name)?.ports.find((p) => p.name === d.name)?.mac;
  if (m) return m;
  const peer = br.portByName(d.name)?.port.peer;
  if (peer && peer.element instanceof NetNamespace) {
    const l = peer.element.ns.link(peer.name);
    if (l) return macNumToString(l.mac);
  }
  return stableMac(`${br.node}/${br.name}/${d.name}`);
}

export function dumpPortsDesc(emu: Emulator, br: OvsBridge): string {
  const rows = br.portsDesc().sort((a, b) => a.ofport - b.ofport);
  const veths = emu.topology.nodes.find((n) => n.name === br.node)?.veths ?? [];
  let out = 'OFPST_PORT_DESC reply (xid=0x2):\n';
  for (const d of rows) {
    const no = d.ofport === OFPP_LOCAL ? 'LOCAL' : String(d.ofport);
    out += ` ${no}(${d.name}): addr:${portMac(emu, br, d)}\n`;
    out += `     config:     ${d.up ? '0' : 'PORT_DOWN'}\n`;
    out += `     state:      ${d.up ? '0' : 'LINK_DOWN'}\n`;
    // A veth answers ethtool with 10000 Mb/s, full duplex, twisted pair (veth_get_link_ksettings),
    // which netdev_linux_read_features reads as 10GB-FD COPPER (checked with a veth on ovs-vswitchd 3.1).
    // Internal, patch and tunnel ports have no features; an underlay NIC's are its hardware's, unknown here.
    if (!d.type && veths.some((v) => v.a === d.name || v.b === d.name)) {
      out += '     current:    10GB-FD COPPER\n     speed: 10000 Mbps now, 0 Mbps max\n';
    } else {
      out += '     speed: 0 Mbps now, 0 Mbps max\n';
    }
  }
  return out;
}
