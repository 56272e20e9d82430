// What `ip -d link|addr` adds to a device (iproute2 6.1 print_linkinfo's
// show_details branch) for the devices a namespace holds, as Linux 6.x
// sets them up: the loopback, veth ends (drivers/net/veth.c) and OVS
// internal ports (net/openvswitch/vport-internal_dev.c, linkinfo kind
// "openvswitch" with no data: iproute2 has no printer for that kind).

import { RtnlError } from './errors.js';
import { type Interface, infoKind } from './interfaces.js';
import { type JsonObject } from './json-writer.js';

interface Details {
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

const UNDETAILED: Record<string, string> = { tap: 'TAP', ether: 'physical NIC', bridge: 'Linux bridge', vxlan: 'vxlan device' };

function details(l: Interface): Details {
  // 802.1Q (the kernel's vlan kind, with its protocol, id and flags) is not emulated: this host has no 8021q module to check it against.
  if (l.vlanId !== undefined) throw new RtnlError('EINVAL', undefined, `Error: -details is not emulated for ${l.name} (a VLAN sub-interface here).`, 255);
  // A port's promiscuity and allmulti counts and its bridge_slave / openvswitch_slave data are not modelled.
  if (l.master !== undefined) throw new RtnlError('EINVAL', undefined, `Error: -details is not emulated for ${l.name} (a port of ${l.master} here).`, 255);
  switch (l.kind) {
    case 'loopback':
      return { minMtu: 0, maxMtu: 0, queues: 1, tsoMaxSize: GSO_MAX_SIZE };
    case 'veth':
      return { minMtu: 68, maxMtu: 65535, kind: infoKind(l), queues: VETH_QUEUES, tsoMaxSize: GSO_MAX_SIZE };
    case 'internal':
      return { minMtu: 68, maxMtu: 65535, kind: infoKind(l), queues: 1, tsoMaxSize: GSO_LEGACY_MAX_SIZE };
    default:
      // A TAP or a NIC (its driver, tun or a NIC's, is not modelled), a Linux bridge or a vxlan device (their attributes are not).
      throw new RtnlError('EINVAL', undefined, `Error: -details is not emulated for ${l.name} (a ${UNDETAILED[l.kind]} here).`, 255);
  }
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
  let s = ` promiscuity 0  allmulti 0 minmtu ${d.minMtu} maxmtu ${d.maxMtu} `;
  if (d.kind) s += `\n    ${d.kind} `;
  if (!forIpAddr) s += 'addrgenmode eui64 ';
  s += `numtxqueues ${d.queues} numrxqueues ${d.queues} gso_max_size ${GSO_LEGACY_MAX_SIZE} gso_max_segs ${GSO_MAX_SEGS} `;
  return s + `tso_max_size ${d.tsoMaxSize} tso_max_segs ${GSO_MAX_SEGS} gro_max_size ${GSO_LEGACY_MAX_SIZE} `;
}

/** The same as the members of the device's JSON object. */
export function linkDetailsJson(l: Interface, forIpAddr: boolean): JsonObject {
  const d = details(l);
  return {
    promiscuity: 0,
    allmulti: 0,
    min_mtu: d.minMtu,
    max_mtu: d.maxMtu,
    linkinfo: d.kind ? { info_kind: d.kind } : undefined,
    inet6_addr_gen_mode: forIpAddr ? undefined : 'eui64',
    num_tx_queues: d.queues,
    num_rx_queues: d.queues,
    gso_max_size: GSO_LEGACY_MAX_SIZE,
    gso_max_segs: GSO_MAX_SEGS,
    tso_max_size: d.tsoMaxSize,
    tso_max_segs: GSO_MAX_SEGS,
    gro_max_size: GSO_LEGACY_MAX_SIZE,
  };
}
