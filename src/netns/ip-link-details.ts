// What `ip -d link|addr` adds to a device (iproute2 6.1 print_linkinfo's
// show_details branch) as Linux 6.x sets the devices up: the loopback, veth
// ends (drivers/net/veth.c), OVS internal ports (vport-internal_dev.c:
// linkinfo kind "openvswitch" with no data, iproute2 having no printer for
// that kind, and promiscuous once) and, where the device carries its
// LinkInfo (a hypervisor's root view: src/control/root-netns.ts), Linux
// bridges, TAPs (tun), vxlan devices, NICs and any device's master's slave
// data.

import { RtnlError } from './errors.js';
import { type Interface, infoKind } from './interfaces.js';
import { type JsonObject } from './json-writer.js';
import { infoJson, infoText, type LinkInfo } from './link-info.js';

interface Details extends LinkInfo {
  minMtu: number;
  maxMtu: number;
  /** IFLA_INFO_KIND; none for the loopback. */
  kind?: string;
  queues: number;
  /** dev->tso_max_size: veth and the loopback raise it to GSO_MAX_SIZE, other drivers keep GSO_LEGACY_MAX_SIZE. */
  tsoMaxSize: number;
}

const GSO_LEGACY_MAX_SIZE = 65536;
const GSO_MAX_SIZE = 524280;
const GSO_MAX_SEGS = 65535;

/**
 * A veth gets one TX and one RX queue per possible CPU of its host
 * (veth_get_num_queues); the node emulated has no CPU count, so dpemu
 * gives it the one queue pair of a single-CPU host.
 */
const VETH_QUEUES = 1;

/** tun's MAX_MTU: 65535 less the Ethernet header. */
const TUN_MAX_MTU = 65521;

const UNDETAILED: Record<string, string> = { tap: 'TAP', ether: 'physical NIC', bridge: 'Linux bridge', vxlan: 'vxlan device' };

/** What a device's driver fixes: MTU bounds, queues, TSO size. */
function driver(l: Interface): Omit<Details, keyof LinkInfo> {
  switch (l.kind) {
    case 'loopback':
      return { minMtu: 0, maxMtu: 0, queues: 1, tsoMaxSize: GSO_MAX_SIZE };
    case 'veth':
      return { minMtu: 68, maxMtu: 65535, kind: infoKind(l), queues: VETH_QUEUES, tsoMaxSize: GSO_MAX_SIZE };
    case 'tap':
      return { minMtu: 68, maxMtu: TUN_MAX_MTU, kind: infoKind(l), queues: 1, tsoMaxSize: GSO_LEGACY_MAX_SIZE };
    case 'ether':
      // A NIC's driver is not in the model: virtio_net's MTU bounds and one queue pair (the topology gives a node no CPU count).
      return { minMtu: 68, maxMtu: 65535, queues: 1, tsoMaxSize: GSO_LEGACY_MAX_SIZE };
    default:
      // internal (openvswitch), bridge, vxlan.
      return { minMtu: 68, maxMtu: 65535, kind: infoKind(l), queues: 1, tsoMaxSize: GSO_LEGACY_MAX_SIZE };
  }
}

function details(l: Interface): Details {
  // 802.1Q (the kernel's vlan kind, with its protocol, id and flags) is not emulated: this host has no 8021q module to check it against.
  if (l.vlanId !== undefined) throw new RtnlError('EINVAL', undefined, `Error: -details is not emulated for ${l.name} (a VLAN sub-interface here).`, 255);
  if (l.info) return { ...driver(l), ...l.info };
  // Without a LinkInfo (a namespace's device), a port's promiscuity and slave data are not known,
  // nor a TAP's, NIC's, bridge's or vxlan device's settings (read from pasted text).
  if (l.master !== undefined) throw new RtnlError('EINVAL', undefined, `Error: -details is not emulated for ${l.name} (a port of ${l.master} here).`, 255);
  if (l.kind in UNDETAILED) throw new RtnlError('EINVAL', undefined, `Error: -details is not emulated for ${l.name} (a ${UNDETAILED[l.kind]} here).`, 255);
  // internal_dev_create counts an OVS internal port promiscuous once (dev->promiscuity only, no PROMISC flag); a move to a namespace keeps it.
  return { ...driver(l), promiscuity: l.kind === 'internal' ? 1 : 0, allmulti: 0 };
}

/**
 * The text `-d` adds: the rest of the link/ether line (promiscuity to
 * maxmtu), then the kind on a line of its own where the device has one,
 * then the queue and offload sizes; `ip link` also prints the IPv6
 * address generation mode (the link dump of `ip addr` carries no
 * IFLA_AF_SPEC). The caller ends the line.
 */
export function formatLinkDetails(l: Interface, forIpAddr: boolean): string {
  const d = details(l);
  let s = ` promiscuity ${d.promiscuity}  allmulti ${d.allmulti} minmtu ${d.minMtu} maxmtu ${d.maxMtu} `;
  if (d.kind) s += `\n    ${d.kind} ` + infoText(d.data ?? []);
  if (d.slaveKind) s += `\n    ${d.slaveKind}_slave ` + infoText(d.slaveData ?? []);
  // inet6_fill_link_af: only a device with an inet6_dev (none below an MTU of 1280).
  if (!forIpAddr && l.idev6 !== 0) s += 'addrgenmode eui64 ';
  s += `numtxqueues ${d.queues} numrxqueues ${d.queues} gso_max_size ${GSO_LEGACY_MAX_SIZE} gso_max_segs ${GSO_MAX_SEGS} `;
  return s + `tso_max_size ${d.tsoMaxSize} tso_max_segs ${GSO_MAX_SEGS} gro_max_size ${GSO_LEGACY_MAX_SIZE} `;
}

/** The same as the members of the device's JSON object. */
export function linkDetailsJson(l: Interface, forIpAddr: boolean): JsonObject {
  const d = details(l);
  return {
    promiscuity: d.promiscuity,
    allmulti: d.allmulti,
    min_mtu: d.minMtu,
    max_mtu: d.maxMtu,
    linkinfo:
      d.kind || d.slaveKind
        ? {
            info_kind: d.kind,
            info_data: d.data && infoJson(d.data),
            info_slave_kind: d.slaveKind,
            info_slave_data: d.slaveData && infoJson(d.slaveData),
          }
        : undefined,
    inet6_addr_gen_mode: forIpAddr || l.idev6 === 0 ? undefined : 'eui64',
    num_tx_queues: d.queues,
    num_rx_queues: d.queues,
    gso_max_size: GSO_LEGACY_MAX_SIZE,
    gso_max_segs: GSO_MAX_SEGS,
    tso_max_size: d.tsoMaxSize,
    tso_max_segs: GSO_MAX_SEGS,
    gro_max_size: GSO_LEGACY_MAX_SIZE,
  };
}
