// ip_forward() (net/ipv4/ip_forward.c) once the route is known: the TTL
// check, the MTU check for DF packets, and the TTL decrement with the
// kernel's incremental checksum update (ip_decrease_ttl).

export type ForwardVerdict =
  | { ok: true; fragment: boolean }
  /** ICMP time exceeded, code 0 (TTL exceeded in transit). */
  | { ok: false; reason: 'ttl_exceeded'; icmp: { type: 11; code: 0 } }
  /** ICMP destination unreachable, fragmentation needed, with the next-hop MTU. */
  | { ok: false; reason: 'mtu_exceeded'; icmp: { type: 3; code: 4; mtu: number } };

export interface ForwardHeader {
  ttl: number;
  /** IPv4 total length. */
  totalLength: number;
  /** The DF bit. */
  df: boolean;
}

/**
 * The checks of ip_forward in their order: TTL <= 1 first, then a packet
 * longer than the route MTU with DF set. A long packet without DF is
 * forwarded and fragmented on output (`fragment`).
 */
export function forwardCheck(h: ForwardHeader, mtu: number): ForwardVerdict {
  if (h.ttl <= 1) return { ok: false, reason: 'ttl_exceeded', icmp: { type: 11, code: 0 } };
  if (h.totalLength > mtu) {
    if (h.df) return { ok: false, reason: 'mtu_exceeded', icmp: { type: 3, code: 4, mtu } };
    return { ok: true, fragment: true };
  }
  return { ok: true, fragment: false };
}

/**
 * ip_decrease_ttl on the header at `off`: TTL minus one and the checksum
 * adjusted by adding 0x0100, computed the way x86 computes it (the carry
 * test runs on the byte-swapped word, so a sum of 0xffff is stored as
 * 0x0000, exactly as a Linux router on x86 emits it). Returns the new TTL.
 */
export function decreaseTtl(buf: Uint8Array, off: number): number {
  const hi = buf[off + 10]!;
  const lo = buf[off + 11]!;
  // The checksum as a little-endian host sees it.
  let check = (lo << 8) | hi;
  check += 0x0001; // htons(0x0100)
  check = (check + (check >= 0xffff ? 1 : 0)) & 0xffff;
  buf[off + 10] = check & 0xff;
  buf[off + 11] = check >>> 8;
  const ttl = (buf[off + 8]! - 1) & 0xff;
  buf[off + 8] = ttl;
  return ttl;
}

/** TOS byte of an ICMP error (icmp_send): the original TOS bits with IPTOS_PREC_INTERNETCONTROL. */
export function icmpErrorTos(origTos: number): number {
  return (origTos & 0x1e) | 0xc0;
}
