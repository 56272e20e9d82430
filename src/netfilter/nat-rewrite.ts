// Rewriting packet bytes for NAT, after net/netfilter/nf_nat_proto.c: the L4
// port (or ICMP id) and checksum first, then the IPv4 address and header
// checksum, all updated incrementally (RFC 1624). Works in place on a slab
// slot and never throws: truncation is reported as false.

import { checksum, csumUpdate16, csumUpdate32 } from '../wire/checksum.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, MANIP_SRC } from './constants.js';
import { isIcmpQuery } from './packet-info.js';
import { readI32 } from '../wire/addr.js';

function rd16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * nf_nat_ipv4_manip_pkt: sets the source (manip SRC) or destination address
 * (uint32 or its int32 bits) and port of the IPv4 packet at `l3`, `end` being
 * one past its last byte.
 * `l4proto` picks the transport rewrite (for ICMP the id of query messages).
 */
export function manipIpv4(buf: Uint8Array, l3: number, end: number, l4proto: number, manip: number, addr: number, port: number): boolean {
  if (l3 < 0 || l3 + 20 > end || end > buf.length) return false;
  const ihl = (buf[l3]! & 15) * 4;
  const l4 = l3 + ihl;
  const addrOff = manip === MANIP_SRC ? l3 + 12 : l3 + 16;
  const oldAddr = readI32(buf, addrOff);
  if (l4proto === IPPROTO_TCP) {
    if (l4 + 8 > end) return false;
    const po = manip === MANIP_SRC ? l4 : l4 + 2;
    const oldPort = rd16(buf, po);
    wr16(buf, po, port);
    // Inside an ICMP error only 8 bytes may be quoted: the checksum is then out of reach.
    if (l4 + 20 <= end) {
      let c = rd16(buf, l4 + 16);
      c = csumUpdate32(c, oldAddr, addr);
      c = csumUpdate16(c, oldPort, port);
      wr16(buf, l4 + 16, c);
    }
  } else if (l4proto === IPPROTO_UDP) {
    if (l4 + 8 > end) return false;
    const po = manip === MANIP_SRC ? l4 : l4 + 2;
    const oldPort = rd16(buf, po);
    let c = rd16(buf, l4 + 6);
    if (c !== 0) {
      c = csumUpdate32(c, oldAddr, addr);
      c = csumUpdate16(c, oldPort, port);
      wr16(buf, l4 + 6, c === 0 ? 0xffff : c);
    }
    wr16(buf, po, port);
  } else if (l4proto === IPPROTO_ICMP) {
    if (l4 + 8 > end) return false;
    if (isIcmpQuery(buf[l4]!)) {
      const oldId = rd16(buf, l4 + 4);
      wr16(buf, l4 + 2, csumUpdate16(rd16(buf, l4 + 2), oldId, port));
      wr16(buf, l4 + 4, port);
    }
  }
  wr16(buf, l3 + 10, csumUpdate32(rd16(buf, l3 + 10), oldAddr, addr));
  wr32(buf, addrOff, addr);
  return true;
}

/** Recomputes the ICMP checksum over the whole message at `off` (inner rewrites touch quoted bytes). */
export function icmpRecomputeChecksum(buf: Uint8Array, off: number, len: number): void {
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  wr16(buf, off + 2, checksum(buf, off, len));
}

/** Verifies an ICMP message checksum (nf_ip_checksum for IPPROTO_ICMP). */
export function icmpChecksumOk(buf: Uint8Array, off: number, len: number): boolean {
  return checksum(buf, off, len) === 0;
}
