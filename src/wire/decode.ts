// One-pass frame parser into a reusable struct (no allocation per packet).
//
//   const d = new Decoded();                   // once per worker/element
//   const err = decode(buf, off, len, d);      // per packet; never throws
//   if (err) drop(decodeErrorName(err));       // or look at how deep it got
//
// decode() stops at the first thing wrong and returns its code (also in
// d.error); fields of the layers before it stay valid, so an L2 switch can
// still forward a frame whose IP header is bad (OVS does: it just sees no L3
// fields), while a router drops it. decodeErrorLayer() says which layer failed.
// The IPv4 header checksum is always checked but never an error by itself:
// d.ipCsumOk records it and the caller decides (ip_rcv drops, bridges don't).
// L4 checksums are not checked here (forwarding never does): see l4ChecksumOk.
import { readMacHi, readMacLo, readMacLoI32, readU16, readU32, writeU16 } from './addr.js';
import { ARP_HLEN, ARPHRD_ETHER } from './arp.js';
import { checksum } from './checksum.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETH_HLEN } from './ethernet.js';
import { icmpChecksumOk, icmpComputeChecksum, icmpIsError, ICMP_HLEN } from './icmp.js';
import { FRAG_LATER, FRAG_NONE, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_MIN_HLEN, fragKindOf } from './ipv4.js';
import { TCP_MIN_HLEN, tcpChecksumOk, tcpComputeChecksum } from './tcp.js';
import { UDP_HLEN, udpChecksumOk, udpComputeChecksum } from './udp.js';
import { isVlanTpid, VLAN_HLEN, VLAN_MAX_DEPTH } from './vlan.js';

// vxlan.ts's VXLAN_PORT / VXLAN_HLEN, repeated so vxlan.ts (which uses decode) sits above this file.
const VXLAN_PORT = 4789;
const VXLAN_HLEN = 8;

/** Decode error codes (0 = fine). Ordered by layer: see decodeErrorLayer. */
export const enum DecodeError {
  OK = 0,
  // L2
  TRUNCATED_ETH = 1,
  TRUNCATED_VLAN = 2,
  // L3
  TRUNCATED_ARP = 3,
  BAD_ARP_LENGTHS = 4, // hlen != 6 or plen != 4 (arp_rcv drops these)
  BAD_ARP_FORMAT = 5, // not Ethernet/IPv4 (htype != 1 or ptype != 0x0800)
  TRUNCATED_IP = 6, // fewer than 20 (or IHL * 4) bytes
  BAD_IP_VERSION = 7,
  BAD_IHL = 8, // IHL < 5
  BAD_TOT_LEN = 9, // total length < IHL * 4, or longer than the frame
  BAD_IP_CHECKSUM = 10, // never returned by decode(): see Decoded.ipCsumOk
  // L4
  TRUNCATED_L4 = 11, // an unfragmented datagram too short for its L4 header
  BAD_UDP_LEN = 12, // UDP length < 8 or beyond the IP datagram
  BAD_TCP_HLEN = 13, // data offset < 5 or beyond the IP datagram
  BAD_L4_CHECKSUM = 14, // never returned by decode(): see l4ChecksumOk
  // Tunnel (vxlanDecapCheck)
  NOT_VXLAN = 15, // not IPv4/UDP to the VXLAN port
  TRUNCATED_VXLAN = 16, // no room for the VXLAN header + an inner Ethernet header
  BAD_VXLAN_FLAGS = 17, // I flag clear
}

const ERROR_NAMES = [
  'ok',
  'truncated_eth',
  'truncated_vlan',
  'truncated_arp',
  'bad_arp_lengths',
  'bad_arp_format',
  'truncated_ip',
  'bad_ip_version',
  'bad_ihl',
  'bad_tot_len',
  'bad_ip_checksum',
  'truncated_l4',
  'bad_udp_len',
  'bad_tcp_hlen',
  'bad_l4_checksum',
  'not_vxlan',
  'truncated_vxlan',
  'bad_vxlan_flags',
] as const;

export type DecodeErrorName = (typeof ERROR_NAMES)[number];
export const DECODE_ERROR_NAMES: readonly DecodeErrorName[] = ERROR_NAMES;

/** Lower-case reason name for counters and traces ('truncated_ip', ...); 'unknown' if out of range. */
export function decodeErrorName(code: number): string {
  return ERROR_NAMES[code] ?? 'unknown';
}

/** 2 for Ethernet/VLAN errors, 3 for ARP/IPv4, 4 for L4, 5 for the tunnel header, 0 for OK. */
export function decodeErrorLayer(code: number): number {
  if (code === 0) return 0;
  if (code <= DecodeError.TRUNCATED_VLAN) return 2;
  if (code <= DecodeError.BAD_IP_CHECKSUM) return 3;
  if (code <= DecodeError.BAD_L4_CHECKSUM) return 4;
  return 5;
}

/**
 * Everything one pass learns about a frame. Offsets are absolute (into buf);
 * -1 means "not present". Raw wire values throughout: TCIs as on the wire,
 * fragOff the whole flags+offset word. Reuse one instance; decode() resets it.
 */
export class Decoded {
  error = 0;
  /** Frame start and length as given. */
  l2 = 0;
  len = 0;
  dstHi = 0;
  dstLo = 0;
  srcHi = 0;
  srcLo = 0;
  /** VLAN tags parsed (0..2), outermost first. */
  nTags = 0;
  tpid0 = 0;
  tci0 = 0;
  tpid1 = 0;
  tci1 = 0;
  /** Type after the tags; < 0x0600 is an 802.3 length (then l3 is the LLC header). */
  ethertype = 0;
  l3 = -1;
  // IPv4
  ihl = 0; // words
  ipHlen = 0; // bytes
  tos = 0;
  totLen = 0;
  ipId = 0;
  fragOff = 0; // flags + offset word
  fragKind = 0; // FRAG_NONE / FRAG_FIRST / FRAG_LATER (OVS nw_frag values)
  ttl = 0;
  proto = 0;
  ipCsum = 0;
  src = 0;
  dst = 0;
  ipCsumOk = true;
  /** IPv4 options length (ipHlen - 20). */
  ipOptLen = 0;
  // L4 (absent for later fragments)
  l4 = -1;
  /** Bytes from l4 to the end of the IP datagram (totLen - ipHlen), even for fragments. */
  l4Len = 0;
  sport = 0;
  dport = 0;
  tcpFlags = 0;
  tcpSeq = 0;
  tcpAck = 0;
  icmpType = 0;
  icmpCode = 0;
  icmpId = 0; // echo/timestamp id, 0 otherwise
  icmpSeq = 0;
  /** Offset of the quoted IP header of an ICMP error (if at least 20 bytes are there), else -1. */
  icmpInnerL3 = -1;
  /** Payload after the L4 header (UDP 8, TCP data offset, ICMP 8), or -1. */
  l5 = -1;
  /** UDP to port 4789 with 8 bytes to spare: the VXLAN flags byte and VNI (else -1). */
  vxlanFlags = -1;
  vni = -1;
  // ARP (Ethernet/IPv4 only)
  arpOp = 0;
  arpShaHi = 0;
  arpShaLo = 0;
  arpSpa = 0;
  arpThaHi = 0;
  arpThaLo = 0;
  arpTpa = 0;

  reset(): void {
    this.error = 0;
    this.l2 = this.len = 0;
    this.dstHi = this.dstLo = this.srcHi = this.srcLo = 0;
    this.nTags = this.tpid0 = this.tci0 = this.tpid1 = this.tci1 = 0;
    this.ethertype = 0;
    this.l3 = -1;
    this.ihl = this.ipHlen = this.tos = this.totLen = this.ipId = this.fragOff = this.fragKind = 0;
    this.ttl = this.proto = this.ipCsum = this.src = this.dst = 0;
    this.ipCsumOk = true;
    this.ipOptLen = 0;
    this.l4 = -1;
    this.l4Len = 0;
    this.sport = this.dport = this.tcpFlags = this.tcpSeq = this.tcpAck = 0;
    this.icmpType = this.icmpCode = this.icmpId = this.icmpSeq = 0;
    this.icmpInnerL3 = -1;
    this.l5 = -1;
    this.vxlanFlags = this.vni = -1;
    this.arpOp = this.arpShaHi = this.arpShaLo = this.arpSpa = this.arpThaHi = this.arpThaLo = this.arpTpa = 0;
  }

  /** End of the IP datagram (l3 + totLen): frame bytes after it are padding. */
  get ipEnd(): number {
    return this.l3 + this.totLen;
  }

  /** Frame end (l2 + len). */
  get end(): number {
    return this.l2 + this.len;
  }
}

function fail(out: Decoded, code: number): number {
  out.error = code;
  return code;
}

/**
 * Parse the frame buf[off .. off+len) into `out`. Returns 0 or a DecodeError.
 * Never throws and never reads outside [off, off+len) (nor beyond buf).
 */
export function decode(buf: Uint8Array, off: number, len: number, out: Decoded): number {
  out.reset();
  // A caller's bad (off, len) is a truncation, not an exception.
  if (!(off >= 0 && off <= buf.length)) off = len = 0;
  if (!(len >= 0)) len = 0;
  if (off + len > buf.length) len = buf.length - off;
  out.l2 = off;
  out.len = len;
  if (len < ETH_HLEN) return fail(out, DecodeError.TRUNCATED_ETH);
  out.dstHi = readMacHi(buf, off);
  out.dstLo = readMacLoI32(buf, off) >>> 0; // int32 from the call, unsigned here
  out.srcHi = readMacHi(buf, off + 6);
  out.srcLo = readMacLoI32(buf, off + 6) >>> 0;
  let p = off + 12;
  const end = off + len;
  let type = readU16(buf, p);
  while (out.nTags < VLAN_MAX_DEPTH && isVlanTpid(type)) {
    if (end - p < 2 + VLAN_HLEN) return fail(out, DecodeError.TRUNCATED_VLAN);
    const tci = readU16(buf, p + 2);
    if (out.nTags === 0) {
      out.tpid0 = type;
      out.tci0 = tci;
    } else {
      out.tpid1 = type;
      out.tci1 = tci;
    }
    out.nTags++;
    p += VLAN_HLEN;
    type = readU16(buf, p);
  }
  out.ethertype = type;
  const l3 = p + 2;
  out.l3 = l3;
  if (type === ETHERTYPE_IPV4) return decodeIpv4(buf, l3, end, out);
  if (type === ETHERTYPE_ARP) return decodeArp(buf, l3, end, out);
  return 0;
}

function decodeArp(buf: Uint8Array, a: number, end: number, out: Decoded): number {
  // Check the lengths before the size: hlen/plen tell how long the body is.
  if (end - a < 8) return fail(out, DecodeError.TRUNCATED_ARP);
  if (buf[a + 4] !== 6 || buf[a + 5] !== 4) return fail(out, DecodeError.BAD_ARP_LENGTHS);
  if (end - a < ARP_HLEN) return fail(out, DecodeError.TRUNCATED_ARP);
  if (readU16(buf, a) !== ARPHRD_ETHER || readU16(buf, a + 2) !== ETHERTYPE_IPV4) return fail(out, DecodeError.BAD_ARP_FORMAT);
  out.arpOp = readU16(buf, a + 6);
  out.arpShaHi = readMacHi(buf, a + 8);
  out.arpShaLo = readMacLo(buf, a + 8);
  out.arpSpa = readU32(buf, a + 14);
  out.arpThaHi = readMacHi(buf, a + 18);
  out.arpThaLo = readMacLo(buf, a + 18);
  out.arpTpa = readU32(buf, a + 24);
  return 0;
}

/**
 * The IPv4 header at l3 with `avail` bytes readable, in ip_rcv_core's order:
 * header size, then version and IHL; fills every header field of `out`.
 * Returns 0 or a DecodeError (total length is the caller's to judge).
 */
function readIpv4Header(buf: Uint8Array, l3: number, avail: number, out: Decoded): number {
  if (avail < IPV4_MIN_HLEN) return fail(out, DecodeError.TRUNCATED_IP);
  const vihl = buf[l3]!;
  if (vihl >>> 4 !== 4) return fail(out, DecodeError.BAD_IP_VERSION);
  const ihl = vihl & 15;
  out.ihl = ihl;
  if (ihl < 5) return fail(out, DecodeError.BAD_IHL);
  const hl = ihl << 2;
  out.ipHlen = hl;
  out.ipOptLen = hl - IPV4_MIN_HLEN;
  if (avail < hl) return fail(out, DecodeError.TRUNCATED_IP);
  out.tos = buf[l3 + 1]!;
  out.totLen = readU16(buf, l3 + 2);
  out.ipId = readU16(buf, l3 + 4);
  out.fragOff = readU16(buf, l3 + 6);
  out.fragKind = fragKindOf(out.fragOff);
  out.ttl = buf[l3 + 8]!;
  out.proto = buf[l3 + 9]!;
  out.ipCsum = readU16(buf, l3 + 10);
  out.src = readU32(buf, l3 + 12);
  out.dst = readU32(buf, l3 + 16);
  out.ipCsumOk = checksum(buf, l3, hl) === 0;
  return 0;
}

/**
 * ip_rcv_core's length checks of the IPv4 header at l3 with `avail` bytes
 * readable (header size, version, IHL, total length), in decodeIpv4's order
 * and with its codes, without filling a Decoded: for a stack that only
 * needs the verdict (the namespaces' receive path, once per hop).
 */
export function ipv4HeaderError(buf: Uint8Array, l3: number, avail: number): number {
  if (avail < IPV4_MIN_HLEN) return DecodeError.TRUNCATED_IP;
  const vihl = buf[l3]!;
  if (vihl >>> 4 !== 4) return DecodeError.BAD_IP_VERSION;
  const hl = (vihl & 15) << 2;
  if (hl < IPV4_MIN_HLEN) return DecodeError.BAD_IHL;
  if (avail < hl) return DecodeError.TRUNCATED_IP;
  const tot = readU16(buf, l3 + 2);
  if (tot < hl || tot > avail) return DecodeError.BAD_TOT_LEN;
  return 0;
}

function decodeIpv4(buf: Uint8Array, l3: number, end: number, out: Decoded): number {
  const avail = end - l3;
  const err = readIpv4Header(buf, l3, avail, out);
  if (err !== 0) return err;
  const hl = out.ipHlen, tot = out.totLen, fk = out.fragKind;
  if (tot < hl || tot > avail) return fail(out, DecodeError.BAD_TOT_LEN);
  const l4 = l3 + hl;
  const l4len = tot - hl;
  out.l4Len = l4len;
  if (fk === FRAG_LATER) return 0; // no L4 header in this fragment
  const strict = fk === FRAG_NONE; // a first fragment may be cut anywhere: no L4 error
  switch (out.proto) {
    case IPPROTO_UDP: {
      if (l4len < UDP_HLEN) return strict ? fail(out, DecodeError.TRUNCATED_L4) : 0;
      out.l4 = l4;
      out.sport = readU16(buf, l4);
      out.dport = readU16(buf, l4 + 2);
      const ulen = readU16(buf, l4 + 4);
      if (strict && (ulen < UDP_HLEN || ulen > l4len)) return fail(out, DecodeError.BAD_UDP_LEN);
      out.l5 = l4 + UDP_HLEN;
      if (out.dport === VXLAN_PORT && l4len >= UDP_HLEN + VXLAN_HLEN) {
        out.vxlanFlags = buf[l4 + 8]!;
        out.vni = ((buf[l4 + 12]! << 16) | (buf[l4 + 13]! << 8) | buf[l4 + 14]!) >>> 0;
      }
      return 0;
    }
    case IPPROTO_TCP: {
      if (l4len < TCP_MIN_HLEN) return strict ? fail(out, DecodeError.TRUNCATED_L4) : 0;
      out.l4 = l4;
      out.sport = readU16(buf, l4);
      out.dport = readU16(buf, l4 + 2);
      out.tcpSeq = readU32(buf, l4 + 4);
      out.tcpAck = readU32(buf, l4 + 8);
      out.tcpFlags = buf[l4 + 13]!;
      const doff = (buf[l4 + 12]! >>> 4) << 2;
      if (doff < TCP_MIN_HLEN || doff > l4len) return strict ? fail(out, DecodeError.BAD_TCP_HLEN) : 0;
      out.l5 = l4 + doff;
      return 0;
    }
    case IPPROTO_ICMP: {
      if (l4len < ICMP_HLEN) return strict ? fail(out, DecodeError.TRUNCATED_L4) : 0;
      out.l4 = l4;
      const t = buf[l4]!;
      out.icmpType = t;
      out.icmpCode = buf[l4 + 1]!;
      out.l5 = l4 + ICMP_HLEN;
      if (icmpIsError(t)) {
        if (l4len >= ICMP_HLEN + IPV4_MIN_HLEN) out.icmpInnerL3 = l4 + ICMP_HLEN;
      } else if (t === 0 || t === 8 || (t >= 13 && t <= 18)) {
        out.icmpId = readU16(buf, l4 + 4);
        out.icmpSeq = readU16(buf, l4 + 6);
      }
      return 0;
    }
    default:
      out.l4 = l4;
      return 0;
  }
}

/**
 * Decode the datagram quoted in an ICMP error (at d.icmpInnerL3, up to the
 * outer datagram's end) into `out`, for conntrack (RELATED) and NAT of errors:
 * the quote is usually cut, so a total length beyond it is fine, and ports or
 * the echo id are filled when their bytes are there (4 and 8 bytes of L4).
 * out.l2 = out.l3 = l3, ethertype 0x0800. Returns 0 or an L3 DecodeError.
 */
export function decodeQuoted(buf: Uint8Array, l3: number, len: number, out: Decoded): number {
  out.reset();
  if (!(l3 >= 0 && l3 <= buf.length)) l3 = len = 0;
  if (!(len >= 0)) len = 0;
  if (l3 + len > buf.length) len = buf.length - l3;
  out.l2 = l3;
  out.len = len;
  out.ethertype = ETHERTYPE_IPV4;
  out.l3 = l3;
  const err = readIpv4Header(buf, l3, len, out);
  if (err !== 0) return err;
  const hl = out.ipHlen;
  if (out.totLen < hl) return fail(out, DecodeError.BAD_TOT_LEN);
  const l4 = l3 + hl;
  const have = (out.totLen < len ? out.totLen : len) - hl;
  out.l4Len = have;
  if (out.fragKind === FRAG_LATER) return 0;
  out.l4 = l4;
  const p = out.proto;
  if ((p === IPPROTO_UDP || p === IPPROTO_TCP) && have >= 4) {
    out.sport = readU16(buf, l4);
    out.dport = readU16(buf, l4 + 2);
    if (p === IPPROTO_TCP && have >= 8) out.tcpSeq = readU32(buf, l4 + 4);
  } else if (p === IPPROTO_ICMP && have >= 2) {
    out.icmpType = buf[l4]!;
    out.icmpCode = buf[l4 + 1]!;
    const t = out.icmpType;
    if (have >= 8 && (t === 0 || t === 8 || (t >= 13 && t <= 18))) {
      out.icmpId = readU16(buf, l4 + 4);
      out.icmpSeq = readU16(buf, l4 + 6);
    }
  }
  return 0;
}

// ---- L4 checksums over a decoded frame ----

/**
 * True if the L4 checksum of an unfragmented TCP/UDP/ICMP datagram is right
 * (UDP 0 = none = right). Fragments and other protocols answer true: only
 * the reassembled datagram can be checked.
 */
export function l4ChecksumOk(buf: Uint8Array, d: Decoded): boolean {
  if (d.l4 < 0 || d.fragKind !== FRAG_NONE) return true;
  switch (d.proto) {
    case IPPROTO_UDP:
      return udpChecksumOk(buf, d.l3, d.l4);
    case IPPROTO_TCP:
      return tcpChecksumOk(buf, d.l3, d.l4, d.l4Len);
    case IPPROTO_ICMP:
      return icmpChecksumOk(buf, d.l4, d.l4Len);
    default:
      return true;
  }
}

/** Recompute the L4 checksum of an unfragmented datagram (UDP: only if it had one). */
export function l4SetChecksum(buf: Uint8Array, d: Decoded): void {
  if (d.l4 < 0 || d.fragKind !== FRAG_NONE) return;
  switch (d.proto) {
    case IPPROTO_UDP:
      if (readU16(buf, d.l4 + 6) !== 0) writeU16(buf, d.l4 + 6, udpComputeChecksum(buf, d.l4, readU16(buf, d.l4 + 4), d.src, d.dst));
      return;
    case IPPROTO_TCP:
      writeU16(buf, d.l4 + 16, tcpComputeChecksum(buf, d.l4, d.l4Len, d.src, d.dst));
      return;
    case IPPROTO_ICMP:
      writeU16(buf, d.l4 + 2, icmpComputeChecksum(buf, d.l4, d.l4Len));
      return;
  }
}
