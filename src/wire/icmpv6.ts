// ICMPv6 (RFC 4443) and Neighbour Discovery (RFC 4861): plain functions over
// (buf, l4), l4 = offset of the type byte. The checksum covers the IPv6
// pseudo-header and the whole message.
import { writeMac } from './addr.js';
import { checksum } from './checksum.js';
import { NEXTHDR_ICMP, ipv6PseudoSum } from './ipv6.js';

export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PKT_TOOBIG = 2;
export const ICMPV6_TIME_EXCEED = 3;
export const ICMPV6_PARAMPROB = 4;
/** ICMPV6_DEST_UNREACH's codes: no route, administratively prohibited (a `prohibit` rule), a link-local source leaving its link, a neighbour that did not answer (ndisc_error_report), no socket on the port. */
export const ICMPV6_NOROUTE = 0;
export const ICMPV6_ADM_PROHIBITED = 1;
export const ICMPV6_NOT_NEIGHBOUR = 2;
export const ICMPV6_ADDR_UNREACH = 3;
export const ICMPV6_PORT_UNREACH = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const NDISC_ROUTER_SOLICITATION = 133;
export const NDISC_ROUTER_ADVERTISEMENT = 134;
export const NDISC_NEIGHBOUR_SOLICITATION = 135;
export const NDISC_NEIGHBOUR_ADVERTISEMENT = 136;
export const NDISC_REDIRECT = 137;

export const ND_OPT_SOURCE_LL_ADDR = 1;
export const ND_OPT_TARGET_LL_ADDR = 2;
/** RFC 7527's nonce option (enhanced DAD): 6 bytes in an 8-byte option. */
export const ND_OPT_NONCE = 14;

/** NS and NA: type, code, checksum, 4 bytes (NA: the flags), the 16-byte target; options follow. */
export const ND_MSG_LEN = 24;
/** A link-layer address option for Ethernet: type, length 1 (8 bytes), the MAC. */
export const ND_OPT_LL_LEN = 8;

export const NA_ROUTER = 0x80;
export const NA_SOLICITED = 0x40;
export const NA_OVERRIDE = 0x20;

/** Fill the checksum of the ICMPv6 message of `len` bytes at l4 whose IPv6 header is at l3. */
export function icmpv6SetChecksum(buf: Uint8Array, l3: number, l4: number, len: number): void {
  buf[l4 + 2] = 0;
  buf[l4 + 3] = 0;
  const c = checksum(buf, l4, len, ipv6PseudoSum(buf, l3, len, NEXTHDR_ICMP));
  buf[l4 + 2] = c >>> 8;
  buf[l4 + 3] = c & 0xff;
}

/** Whether the message's checksum is right (icmpv6_rcv: the sum over all of it comes to zero). */
export const icmpv6ChecksumOk = (buf: Uint8Array, l3: number, l4: number, len: number): boolean =>
  checksum(buf, l4, len, ipv6PseudoSum(buf, l3, len, NEXTHDR_ICMP)) === 0;

/**
 * The offset of the link-layer address in the first option of `type` among
 * the options at [from, end) (ndisc_parse_options), -1 when there is none,
 * -2 when an option is malformed (length 0 or past the end: the message is dropped).
 */
export function ndOptLinkAddr(buf: Uint8Array, from: number, end: number, type: number): number {
  let found = -1;
  for (let o = from; o < end;) {
    if (end - o < 2) return -2;
    const len = buf[o + 1]! << 3;
    if (len === 0 || o + len > end) return -2;
    if (buf[o] === type && found === -1) {
      // ndisc_opt_addr_data: an Ethernet address option is 8 bytes.
      if (len !== ND_OPT_LL_LEN) return -2;
      found = o + 2;
    }
    o += len;
  }
  return found;
}

/** A link-layer address option of `type` with `mac` at `off`; returns its length. */
export function writeNdOptLinkAddr(buf: Uint8Array, off: number, type: number, macHi: number, macLo: number): number {
  buf[off] = type;
  buf[off + 1] = 1;
  writeMac(buf, off + 2, macHi, macLo);
  return ND_OPT_LL_LEN;
}
