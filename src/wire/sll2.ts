// libpcap's Linux cooked capture v2 (DLT_LINUX_SLL2, LINKTYPE 276): what
// tcpdump 4.99 with libpcap 1.10 captures on `-i any`. Each frame is a
// 20-byte header (protocol, reserved, ifindex, ARPHRD type, packet type,
// address length, source address padded to 8) and the frame past its
// Ethernet header. The kernel took the outer VLAN tag off (skb_vlan_untag:
// veth and OVS ports hand it out of band) and libpcap puts no tag back in
// cooked mode, so the header's protocol is the inner ethertype.

export const LINKTYPE_LINUX_SLL2 = 276;
export const SLL2_HDR_LEN = 20;
const ARPHRD_ETHER = 1;

/** The packet types (sll2_pkttype: the kernel's PACKET_*), as tcpdump names them. */
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;
export const PKTTYPE_NAMES = ['In', 'B', 'M', 'P', 'Out'] as const;

/**
 * The packet type of a frame seen at an interface with MAC `macHi:macLo`
 * (16 + 32 bits): what eth_type_trans sets on one received, OUTGOING on one
 * sent (dev_queue_xmit_nit).
 */
export function packetType(frame: Uint8Array, off: number, received: boolean, macHi: number, macLo: number): number {
  if (!received) return PACKET_OUTGOING;
  if (frame[off]! & 1) {
    let all = 0xff;
    for (let i = 0; i < 6; i++) all &= frame[off + i]!;
    return all === 0xff ? PACKET_BROADCAST : PACKET_MULTICAST;
  }
  const hi = (frame[off]! << 8) | frame[off + 1]!;
  const lo = ((frame[off + 2]! << 24) | (frame[off + 3]! << 16) | (frame[off + 4]! << 8) | frame[off + 5]!) >>> 0;
  return hi === macHi && lo === macLo ? PACKET_HOST : PACKET_OTHERHOST;
}

/** Where the payload of the frame buf[off, off+len) (at least 14 bytes) starts: past its Ethernet header and outer VLAN tag. */
export function cookedPayloadAt(frame: Uint8Array, off: number, len: number): number {
  const type = (frame[off + 12]! << 8) | frame[off + 13]!;
  return (type === 0x8100 || type === 0x88a8) && len >= 18 ? off + 18 : off + 14;
}

/** The cooked header's protocol for a payload at `at` (cookedPayloadAt) of a frame ending at `end`: eth_type_trans's skb->protocol. */
export function cookedProtocol(frame: Uint8Array, at: number, end: number): number {
  const type = (frame[at - 2]! << 8) | frame[at - 1]!;
  if (type >= 0x600) return type;
  // A length field: 802.3 raw (IPX) behind 0xffff, else 802.2 (LLC).
  return at + 2 <= end && frame[at] === 0xff && frame[at + 1] === 0xff ? 0x0001 : 0x0004;
}

/** Set the ifindex of the cooked header in out[0, 20). */
export function setIfindex(out: Uint8Array, ifindex: number): void {
  out[4] = ifindex >>> 24;
  out[5] = (ifindex >>> 16) & 0xff;
  out[6] = (ifindex >>> 8) & 0xff;
  out[7] = ifindex & 0xff;
}

/**
 * Write the cooked header of a frame (at least 14 bytes) into out[0, 20): its
 * protocol, the interface's ifindex, the packet type and the frame's source MAC.
 */
export function writeSll2Header(out: Uint8Array, protocol: number, ifindex: number, pkttype: number, frame: Uint8Array, off: number): void {
  out[0] = protocol >>> 8;
  out[1] = protocol & 0xff;
  out[2] = out[3] = 0;
  setIfindex(out, ifindex);
  out[8] = 0;
  out[9] = ARPHRD_ETHER;
  out[10] = pkttype;
  out[11] = 6;
  for (let i = 0; i < 6; i++) out[12 + i] = frame[off + 6 + i]!;
  out[18] = out[19] = 0;
}
