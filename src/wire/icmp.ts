// ICMP for IPv4 (RFC 792): plain functions over (buf, l4), l4 = offset of the
// ICMP type byte. The checksum covers the whole ICMP message (no pseudo-header).
// Error messages quote the offending datagram; Linux (__icmp_send) quotes as
// much as fits in a 576-byte reply (and the route MTU): min(len, 576-20-8),
// where RFC 792 only requires the IP header + 8 bytes.
import { readU16, readU32, writeU16, writeU32 } from './addr.js';
import { checksum, csumUpdate16 } from './checksum.js';
import {
  IPDEFTTL,
  IPPROTO_ICMP,
  IPV4_MIN_HLEN,
  IP_OFFMASK,
  ipv4HeaderLen,
  writeIpv4,
} from './ipv4.js';

export const ICMP_HLEN = 8;

export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_ROUTERADVERT = 9;
export const ICMP_ROUTERSOLICIT = 10;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;
export const ICMP_TIMESTAMP = 13;
export const ICMP_TIMESTAMPREPLY = 14;
export const ICMP_INFO_REQUEST = 15;
export const ICMP_INFO_REPLY = 16;
export const ICMP_ADDRESS = 17;
export const ICMP_ADDRESSREPLY = 18;

// Codes for ICMP_DEST_UNREACH.
export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROT_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const ICMP_SR_FAILED = 5;
export const ICMP_NET_UNKNOWN = 6;
export const ICMP_HOST_UNKNOWN = 7;
export const ICMP_HOST_ISOLATED = 8;
export const ICMP_NET_ANO = 9;
export const ICMP_HOST_ANO = 10;
export const ICMP_NET_UNR_TOS = 11;
export const ICMP_HOST_UNR_TOS = 12;
export const ICMP_PKT_FILTERED = 13; // iptables REJECT --reject-with icmp-admin-prohibited
export const ICMP_PREC_VIOLATION = 14;
export const ICMP_PREC_CUTOFF = 15;
// Codes for ICMP_TIME_EXCEEDED.
export const ICMP_EXC_TTL = 0;
export const ICMP_EXC_FRAGTIME = 1;
// Codes for ICMP_REDIRECT.
export const ICMP_REDIR_NET = 0;
export const ICMP_REDIR_HOST = 1;

/** Linux caps an error reply at 576 bytes of IP (RFC 1812 4.3.2.3). */
export const ICMP_ERROR_MAX_IP = 576;
/** IPTOS_PREC_INTERNETCONTROL: the precedence Linux gives error messages. */
export const IPTOS_PREC_INTERNETCONTROL = 0xc0;

export function icmpType(buf: Uint8Array, l4: number): number {
  return buf[l4]!;
}
export function icmpCode(buf: Uint8Array, l4: number): number {
  return buf[l4 + 1]!;
}
export function icmpCsum(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4 + 2);
}
/** Echo / timestamp / info identifier. */
export function icmpId(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4 + 4);
}
export function icmpSeq(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4 + 6);
}
/** The 4 bytes after the checksum: redirect gateway, or (unused << 16 | next-hop MTU), or pointer << 24. */
export function icmpRestOfHeader(buf: Uint8Array, l4: number): number {
  return readU32(buf, l4 + 4);
}
/** Next-hop MTU of a fragmentation-needed message (RFC 1191). */
export function icmpNextHopMtu(buf: Uint8Array, l4: number): number {
  return readU16(buf, l4 + 6);
}

/** Error messages carry a quoted datagram (Linux's icmp_pointers[type].error). */
export function icmpIsError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACH ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETERPROB
  );
}

/** Types Linux knows as "informational" (it answers/forwards them and may send errors about them). */
export function icmpIsInfo(type: number): boolean {
  return type === ICMP_ECHOREPLY || type === ICMP_ECHO || (type >= ICMP_TIMESTAMP && type <= ICMP_ADDRESSREPLY);
}

/** Checksum to store for `len` bytes of ICMP message at l4. */
export function icmpComputeChecksum(buf: Uint8Array, l4: number, len: number): number {
  // Sum around the checksum field: the buffer is only read.
  return checksum(buf, l4 + 4, len - 4, readU16(buf, l4));
}
export function icmpSetChecksum(buf: Uint8Array, l4: number, len: number): void {
  writeU16(buf, l4 + 2, icmpComputeChecksum(buf, l4, len));
}
export function icmpChecksumOk(buf: Uint8Array, l4: number, len: number): boolean {
  return checksum(buf, l4, len) === 0;
}

/** Set the echo identifier (NAT of pings) with an incremental checksum update. */
export function setIcmpId(buf: Uint8Array, l4: number, id: number): void {
  const old = readU16(buf, l4 + 4);
  writeU16(buf, l4 + 4, id);
  writeU16(buf, l4 + 2, csumUpdate16(readU16(buf, l4 + 2), old, id & 0xffff));
}

/**
 * An echo request/reply IPv4 packet at l3 (no Ethernet header): `dataLen`
 * bytes of payload filled as iputils ping does (a 16-byte timeval, zero here,
 * then bytes counting up from 0x10), unless `fill` is false (the caller wrote
 * the payload at l3 + 28 already). DF set as Linux ping sends it (PMTU
 * discovery on); IP id 0 as the kernel gives unconnected DF packets.
 * Returns the IP length (28 + dataLen).
 */
export function buildIcmpEcho(
  buf: Uint8Array,
  l3: number,
  type: number,
  id: number,
  seq: number,
  dataLen: number,
  src: number,
  dst: number,
  ttl = IPDEFTTL,
  ipId = 0,
  fragOff = 0x4000,
  fill = true,
): number {
  const l4 = l3 + IPV4_MIN_HLEN;
  const icmpLen = ICMP_HLEN + dataLen;
  writeIpv4(buf, l3, IPV4_MIN_HLEN + icmpLen, ipId, fragOff, ttl, IPPROTO_ICMP, src, dst);
  buf[l4] = type;
  buf[l4 + 1] = 0;
  writeU16(buf, l4 + 2, 0);
  writeU16(buf, l4 + 4, id);
  writeU16(buf, l4 + 6, seq);
  if (fill) {
    const d = l4 + ICMP_HLEN;
    for (let i = 0; i < dataLen; i++) buf[d + i] = i < 16 ? 0 : i & 0xff;
  }
  icmpSetChecksum(buf, l4, icmpLen);
  return IPV4_MIN_HLEN + icmpLen;
}

/**
 * Bytes of the offending datagram Linux quotes: all of it up to 576 - 20 - 8
 * (or the route MTU if smaller), from its IP header on.
 */
export function icmpQuoteLen(origIpLen: number, mtu = 1500): number {
  const room = (mtu < ICMP_ERROR_MAX_IP ? mtu : ICMP_ERROR_MAX_IP) - IPV4_MIN_HLEN - ICMP_HLEN;
  return origIpLen < room ? origIpLen : room < 0 ? 0 : room;
}

/**
 * Whether Linux's icmp_send would answer this datagram with an error at all:
 * not for a later fragment, not about an ICMP error (or unknown type) message.
 * (Broadcast/multicast destinations are the router's check: it knows its routes.)
 * `len` is the IP length available at l3.
 */
export function icmpErrorAllowed(buf: Uint8Array, l3: number, len: number): boolean {
  if (len < IPV4_MIN_HLEN) return false;
  if ((readU16(buf, l3 + 6) & IP_OFFMASK) !== 0) return false;
  if (buf[l3 + 9] === IPPROTO_ICMP) {
    const hl = ipv4HeaderLen(buf, l3);
    if (len < hl + 1) return false; // cannot read the type: Linux drops it
    const t = buf[l3 + hl]!;
    if (t > ICMP_ADDRESSREPLY || icmpIsError(t)) return false;
  }
  return true;
}

/**
 * An ICMP error IPv4 packet at l3 quoting `quoteLen` bytes of the offending
 * IP datagram at (qbuf, qoff) (use icmpQuoteLen). The quote may overlap the
 * output in the same buffer (copyWithin), so an element can turn a packet
 * into its error in place: put l3 = origL3 - 28 and nothing moves.
 * `info` is the rest-of-header word: next-hop MTU for FRAG_NEEDED,
 * pointer << 24 for PARAMETERPROB, gateway for REDIRECT, else 0.
 * TOS is (orig TOS & 0x1e) | 0xc0 as Linux sets it; DF clear (the ICMP
 * socket does no PMTU discovery). Returns the IP length (28 + quoteLen).
 */
export function buildIcmpError(
  buf: Uint8Array,
  l3: number,
  type: number,
  code: number,
  info: number,
  src: number,
  dst: number,
  qbuf: Uint8Array,
  qoff: number,
  quoteLen: number,
  ttl = IPDEFTTL,
  ipId = 0,
): number {
  const l4 = l3 + IPV4_MIN_HLEN;
  const d = l4 + ICMP_HLEN;
  const tos = ((quoteLen >= 2 ? qbuf[qoff + 1]! : 0) & 0x1e) | IPTOS_PREC_INTERNETCONTROL;
  // Move the quote first: the headers may overlap where it came from.
  // (Two different views of the same memory are not detected: pass the same view.)
  if (qbuf === buf) buf.copyWithin(d, qoff, qoff + quoteLen);
  else for (let i = 0; i < quoteLen; i++) buf[d + i] = qbuf[qoff + i]!;
  const icmpLen = ICMP_HLEN + quoteLen;
  writeIpv4(buf, l3, IPV4_MIN_HLEN + icmpLen, ipId, 0, ttl, IPPROTO_ICMP, src, dst, tos);
  buf[l4] = type;
  buf[l4 + 1] = code;
  writeU16(buf, l4 + 2, 0);
  writeU32(buf, l4 + 4, info);
  icmpSetChecksum(buf, l4, icmpLen);
  return IPV4_MIN_HLEN + icmpLen;
}

/** Offset of the quoted IP header in an error message at l4 (it follows the 8-byte header). */
export function icmpQuotedL3(l4: number): number {
  return l4 + ICMP_HLEN;
}
