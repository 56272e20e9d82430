// A namespace interface's counters as the kernel keeps them for the device
// (what `ip -s link` prints), from the engine's per-port cells and the few
// the namespace counts itself. Plain numbers: the thread that runs the
// namespace bumps them and answers its commands.

import { PC, type Stats } from '../datapath/stats.js';
import { ETH_HLEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../wire/ethernet.js';
import { type LinkKind } from './interfaces.js';
import { type LinkStats64 } from './ip-link-stats.js';

export class IfCounters {
  /** Frames no protocol handler took: rx_dropped (__netif_receive_skb_core). */
  rxDropped = 0;
  /** IPv4/IPv6 frames for another MAC: rx_otherhost_dropped (ip_rcv_core, ip6_rcv_core). */
  rxOtherhost = 0;
  /**
   * A plain interface: frames its port took while the device was down. A
   * veth does not deliver them (the sender's tx_dropped); an OVS internal
   * port counts them as rx_dropped (internal_dev_recv).
   */
  downPackets = 0;
  downBytes = 0;
  /** Frames the port sent to a veth peer that was down: veth_xmit counts them as tx_dropped, not sent. */
  refusedPackets = 0;
  refusedBytes = 0;
  /** A VLAN sub-interface's own traffic (the parent's port cells count the tagged frames), or lo's. */
  rxPackets = 0;
  rxBytes = 0;
  txPackets = 0;
  txBytes = 0;
  /** lo's packets sent while it was down (__dev_queue_xmit). */
  txDropped = 0;

  /** What a received non-ARP frame of this ethertype adds: rx_dropped if no protocol takes it, otherhost if IP for another host. */
  countL3(type: number, otherhost: boolean): void {
    if (type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6) {
      if (otherhost) this.rxOtherhost++;
    } else if (type !== ETHERTYPE_ARP) this.rxDropped++; // ARP: arp_rcv drops another host's silently
  }
}

/**
 * The device's rtnl_link_stats64, for a plain interface (`statsBase`: its
 * port's cells) or a VLAN sub-interface (-1). Bytes are the frame's, Ethernet
 * header included (veth_xmit's skb->len), except what an OVS internal port
 * receives: internal_dev_recv counts after eth_type_trans has pulled it.
 */
export function linkStats64(c: IfCounters, stats: Stats, statsBase: number, kind: LinkKind, carrierChanges: number): LinkStats64 {
  const s: LinkStats64 = {
    rxPackets: c.rxPackets, rxBytes: c.rxBytes, rxDropped: c.rxDropped, rxOtherhost: c.rxOtherhost,
    txPackets: c.txPackets, txBytes: c.txBytes, txDropped: c.txDropped, carrierChanges,
  };
  if (statsBase < 0) return s;
  const v = stats.v;
  s.rxPackets = v[statsBase + PC.RX_PACKETS]! - c.downPackets;
  s.rxBytes = v[statsBase + PC.RX_BYTES]! - c.downBytes;
  if (kind === 'internal') {
    s.rxBytes -= ETH_HLEN * s.rxPackets;
    s.rxDropped += c.downPackets;
  }
  s.txPackets = v[statsBase + PC.TX_PACKETS]! - c.refusedPackets;
  s.txBytes = v[statsBase + PC.TX_BYTES]! - c.refusedBytes;
  s.txDropped = v[statsBase + PC.TX_DROPPED]! + c.refusedPackets;
  return s;
}
