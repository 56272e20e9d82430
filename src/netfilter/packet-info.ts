// The per-packet view netfilter matches on (the skb metadata the kernel's
// xtables and conntrack read). The namespace stack owns one object per worker
// and refills it for each packet: no allocation per packet.

import { CT_UNTRACKED, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from './constants.js';
import { readI32 } from '../wire/addr.js';

export interface NfPacketInfo {
  /** Input interface name (state->in); null when locally generated. */
  inIf: string | null;
  /**
   * Output interface name (state->out); null before routing. In POSTROUTING of
   * a forwarded packet inIf still names the input device, as in the kernel.
   */
  outIf: string | null;
  /** IPv4 addresses, unsigned 32-bit host-order numbers. */
  src: number;
  dst: number;
  proto: number;
  /** TCP/UDP ports; for ICMP queries sport is the echo id and dport 0. */
  sport: number;
  dport: number;
  icmpType: number;
  icmpCode: number;
  /** TCP flag byte (FIN=1 ... CWR=0x80). */
  tcpFlags: number;
  /** A non-first fragment (fragment offset != 0): no L4 header. */
  fragment: boolean;
  /** skb->mark; MARK/CONNMARK write it. Reset to 0 when a frame crosses a namespace. */
  mark: number;
  /** IPv4 total length: what iptables and conntrack count as bytes. */
  len: number;
  /**
   * -1, or the datagram was reassembled: its L4 one's-complement sum (folded,
   * not inverted) for checksum checks, and only its first fragment, `seg`
   * bytes with the transport header, is at l3Off (the rest is in other slots).
   */
  l4Sum: number;
  seg: number;
  /** Conntrack view, written by conntrack (one of CT_NEW/ESTABLISHED/RELATED/INVALID/UNTRACKED). */
  ctState: number;
  /** Status bits (IPS_*) of the packet's entry, kept current through NAT. */
  ctStatus: number;
  /** The entry's slot in its table (Conntrack.entry() reads it); 0 for none. */
  ct: number;
  /** The table p.ct belongs to (CONNMARK reads and writes the entry's mark through it). */
  ctTable: CtMarks | null;
  /** 0 original, 1 reply. */
  ctDir: number;
  /** The bytes, needed by conntrack (TCP window, ICMP errors) and NAT rewriting. */
  buf: Uint8Array | null;
  /** Offset of the IPv4 header in buf. */
  l3Off: number;
  /** Offset of the L4 header in buf. */
  l4Off: number;
}

/** What xtables needs of a conntrack table: ct->mark of an entry. */
export interface CtMarks {
  mark(ct: number): number;
  setMark(ct: number, v: number): void;
}

export function newPacketInfo(): NfPacketInfo {
  return {
    inIf: null, outIf: null, src: 0, dst: 0, proto: 0, sport: 0, dport: 0,
    icmpType: 0, icmpCode: 0, tcpFlags: 0, fragment: false, mark: 0, len: 0, seg: 0, l4Sum: -1,
    ctState: 0, ctStatus: 0, ct: 0, ctTable: null, ctDir: 0, buf: null, l3Off: 0, l4Off: 0,
  };
}

/** Forgets the conntrack attachment (skb_scrub_packet when crossing a namespace). */
export function resetConntrackInfo(p: NfPacketInfo): void {
  p.ctState = 0;
  p.ctStatus = 0;
  p.ct = 0;
  p.ctTable = null;
  p.ctDir = 0;
}

export function isUntracked(p: NfPacketInfo): boolean {
  return p.ctState === CT_UNTRACKED;
}

/**
 * Fills the L3/L4 fields of `p` from an IPv4 packet at buf[l3Off], with `avail`
 * bytes readable from there. Leaves inIf/outIf/mark to the caller and clears the
 * conntrack view. Returns null, or the reason the header cannot be used (the
 * packet should then be dropped and counted under that reason).
 */
export function fillPacketInfo(p: NfPacketInfo, buf: Uint8Array, l3Off: number, avail: number): string | null {
  return fill(p, buf, l3Off, avail, -1);
}

/**
 * fillPacketInfo for a reassembled datagram: its header (the whole length)
 * and first fragment's `seg` bytes at buf[l3Off], `l4Sum` the sum of its
 * whole L4 part.
 */
export function fillDatagramInfo(p: NfPacketInfo, buf: Uint8Array, l3Off: number, seg: number, l4Sum: number): string | null {
  return fill(p, buf, l3Off, seg, l4Sum);
}

function fill(p: NfPacketInfo, buf: Uint8Array, l3Off: number, avail: number, l4Sum: number): string | null {
  resetConntrackInfo(p);
  p.buf = buf;
  p.l3Off = l3Off;
  p.sport = 0; p.dport = 0; p.icmpType = 0; p.icmpCode = 0; p.tcpFlags = 0;
  if (avail < 20 || l3Off + 20 > buf.length) return 'ip_truncated';
  const vihl = buf[l3Off]!;
  if (vihl >> 4 !== 4) return 'ip_bad_version';
  const ihl = (vihl & 15) * 4;
  if (ihl < 20) return 'ip_bad_ihl';
  const tot = (buf[l3Off + 2]! << 8) | buf[l3Off + 3]!;
  let seg = tot;
  if (l4Sum < 0) {
    if (tot < ihl || tot > avail || l3Off + tot > buf.length) return 'ip_bad_length';
  } else {
    seg = avail;
    if (seg < ihl || seg > tot || l3Off + seg > buf.length) return 'ip_bad_length';
  }
  p.len = tot;
  p.seg = seg;
  p.l4Sum = l4Sum;
  p.proto = buf[l3Off + 9]!;
  p.src = readI32(buf, l3Off + 12) >>> 0;
  p.dst = readI32(buf, l3Off + 16) >>> 0;
  p.fragment = (((buf[l3Off + 6]! << 8) | buf[l3Off + 7]!) & 0x1fff) !== 0;
  const l4 = l3Off + ihl;
  p.l4Off = l4;
  if (p.fragment) return null;
  const l4len = seg - ihl; // readable: a reassembled datagram's transport header is in its first fragment
  if (p.proto === IPPROTO_TCP || p.proto === IPPROTO_UDP) {
    if (l4len >= 4) {
      p.sport = (buf[l4]! << 8) | buf[l4 + 1]!;
      p.dport = (buf[l4 + 2]! << 8) | buf[l4 + 3]!;
    }
    if (p.proto === IPPROTO_TCP && l4len >= 14) p.tcpFlags = buf[l4 + 13]!;
  } else if (p.proto === IPPROTO_ICMP && l4len >= 2) {
    p.icmpType = buf[l4]!;
    p.icmpCode = buf[l4 + 1]!;
    if (l4len >= 8 && isIcmpQuery(p.icmpType)) p.sport = (buf[l4 + 4]! << 8) | buf[l4 + 5]!;
  }
  return null;
}

/** ICMP types conntrack tracks by id (echo, timestamp, info, address mask). */
export function isIcmpQuery(type: number): boolean {
  return type === 0 || type === 8 || (type >= 13 && type <= 18);
}

