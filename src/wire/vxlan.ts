// VXLAN (RFC 7348) and the outer headers a Linux/OVS VTEP writes.
//
// Header: flags(8) = 0x08 (I: VNI valid) | reserved(24) | VNI(24) | reserved(8).
// Encapsulation writes outer Ethernet + IPv4 + UDP + VXLAN (50 bytes) in the
// headroom in front of the inner frame: nothing is copied. What the kernel
// does (iptunnel_xmit / udp_tunnel_xmit_skb / vxlan_xmit_one), copied here:
//  - IP id from __ip_select_ident (a per-destination counter), even with DF:
//    here a per-tunnel counter, so it is non-zero and increasing.
//  - DF from the port's df_default (OVS default true), TTL 64 (OVS default),
//    TOS 0 with the inner ECN bits copied (CE becomes ECT(0)), as OVS does.
//  - UDP checksum 0 (OVS's default without options:csum=true).
//  - UDP source port from the inner flow's hash (udp_flow_src_port) scaled
//    into the local port range [32768, 61000). The kernel's flow hash is
//    jhash over the dissected flow with a per-boot random seed, symmetric in
//    direction; here jhash with a per-node seed (see vxlanSeedFor to make a
//    given flow land on a port a capture shows).
import { readI32, readU16, readU32, writeU32 } from './addr.js';
import { Decoded, DecodeError, decode, l4ChecksumOk } from './decode.js';
import { ETHERTYPE_IPV4, ETH_HLEN, writeEth } from './ethernet.js';
import { FRAG_NONE, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPV4_MIN_HLEN, IP_DF, IP_MF, IP_OFFMASK, writeIpv4 } from './ipv4.js';
import { UDP_HLEN, writeUdp } from './udp.js';
import { isVlanTpid } from './vlan.js';

export const VXLAN_PORT = 4789;
export const VXLAN_HLEN = 8;
/** Outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8: why the VM MTU is 1450. */
export const VXLAN_OVERHEAD = ETH_HLEN + IPV4_MIN_HLEN + UDP_HLEN + VXLAN_HLEN; // 50
export const VXLAN_FLAG_I = 0x08;
/** net.ipv4.ip_local_port_range default 32768 60999: the half-open [min, max). */
export const VXLAN_SPORT_MIN = 32768;
export const VXLAN_SPORT_MAX = 61000;

/** Flags byte of the VXLAN header at v. */
export function vxlanFlags(buf: Uint8Array, v: number): number {
  return buf[v]!;
}
export function vxlanVni(buf: Uint8Array, v: number): number {
  return ((buf[v + 4]! << 16) | (buf[v + 5]! << 8) | buf[v + 6]!) >>> 0;
}
/** Write the 8-byte header with only the I flag. Returns 8. */
export function writeVxlan(buf: Uint8Array, v: number, vni: number): number {
  writeU32(buf, v, VXLAN_FLAG_I << 24);
  writeU32(buf, v + 4, ((vni & 0xffffff) << 8) >>> 0);
  return VXLAN_HLEN;
}

// ---- jhash (include/linux/jhash.h, lookup3) ----

const JHASH_INITVAL = 0xdeadbeef;

function rol32(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * jhash_3words(a, b, c, initval) as the kernel computes it. Words in and the
 * result out are int32 (`>>> 0` gives the kernel's u32): a uint32 above 2^31
 * would be boxed in a heap number on every call that is not inlined.
 */
export function jhash3(a: number, b: number, c: number, initval: number): number {
  const iv = (initval + JHASH_INITVAL + (3 << 2)) | 0;
  a = (a + iv) | 0;
  b = (b + iv) | 0;
  c = (c + iv) | 0;
  // __jhash_final
  c ^= b; c = (c - rol32(b, 14)) | 0;
  a ^= c; a = (a - rol32(c, 11)) | 0;
  b ^= a; b = (b - rol32(a, 25)) | 0;
  c ^= b; c = (c - rol32(b, 16)) | 0;
  a ^= c; a = (a - rol32(c, 4)) | 0;
  b ^= a; b = (b - rol32(a, 14)) | 0;
  c ^= b; c = (c - rol32(b, 24)) | 0;
  return c;
}

/**
 * The inner frame's flow hash (never 0, like skb_get_hash): for IPv4 the
 * addresses, protocol and ports (ICMP: the echo id), ordered so both
 * directions hash alike (__flow_hash_consistentify); for anything else the
 * MACs and ethertype (udp_flow_src_port's use_eth fallback). An int32, as jhash3's.
 */
export function innerFlowHash(buf: Uint8Array, off: number, len: number, seed: number): number {
  let h = 0;
  if (len >= ETH_HLEN) {
    let p = off + 12;
    let type = readU16(buf, p);
    for (let i = 0; i < 2 && isVlanTpid(type) && p + 6 <= off + len; i++) {
      p += 4;
      type = readU16(buf, p);
    }
    const l3 = p + 2;
    const end = off + len;
    if (type === ETHERTYPE_IPV4 && end - l3 >= IPV4_MIN_HLEN && buf[l3]! >>> 4 === 4) {
      // Read as int32 (an unsigned result above 2^31 from a call not inlined is a heap number), compared unsigned.
      let src = readI32(buf, l3 + 12) >>> 0;
      let dst = readI32(buf, l3 + 16) >>> 0;
      const proto = buf[l3 + 9]!;
      const hl = (buf[l3]! & 15) << 2;
      const l4 = l3 + hl;
      let sport = 0;
      let dport = 0;
      const later = (readU16(buf, l3 + 6) & IP_OFFMASK) !== 0;
      if (!later && hl >= IPV4_MIN_HLEN) {
        if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP) && end - l4 >= 4) {
          sport = readU16(buf, l4);
          dport = readU16(buf, l4 + 2);
        } else if (proto === IPPROTO_ICMP && end - l4 >= 8) {
          const t = buf[l4]!;
          if (t === 0 || t === 8) sport = dport = readU16(buf, l4 + 4); // the echo id, both ways
        }
      }
      if (dst < src || (dst === src && dport < sport)) {
        const t = src; src = dst; dst = t;
        const u = sport; sport = dport; dport = u;
      }
      h = jhash3(src | 0, dst | 0, ((sport << 16) | dport) ^ (proto << 8), seed);
    } else {
      // jhash over 2 * ETH_ALEN bytes seeded with the protocol, in three words.
      const w0 = readI32(buf, off) ^ readI32(buf, off + 8);
      const w1 = readI32(buf, off + 4);
      h = jhash3(w0, w1, type, seed);
    }
  }
  return h === 0 ? 1 : h;
}

/** udp_flow_src_port: hash ^= hash << 16, then scaled into [min, max). */
export function vxlanSrcPort(buf: Uint8Array, off: number, len: number, seed: number, min = VXLAN_SPORT_MIN, max = VXLAN_SPORT_MAX): number {
  let h = innerFlowHash(buf, off, len, seed);
  h = (h ^ (h << 16)) >>> 0;
  return Math.floor((h * (max - min)) / 4294967296) + min;
}

/**
 * A seed for which the inner frame gets UDP source port `port` (so a topology
 * can reproduce a capture's ports); -1 if none among the first `tries`.
 * Config-time only: it loops.
 */
export function vxlanSeedFor(buf: Uint8Array, off: number, len: number, port: number, tries = 1 << 22): number {
  for (let s = 0; s < tries; s++) if (vxlanSrcPort(buf, off, len, s) === port) return s;
  return -1;
}

/** What one tunnel port (an OVS vxlan interface) puts around frames. Made once, reused. */
export class VxlanTunnel {
  /** Outer Ethernet: the underlay NIC's MAC and the next hop's. */
  srcMacHi = 0;
  srcMacLo = 0;
  dstMacHi = 0;
  dstMacLo = 0;
  srcIp = 0; // local_ip
  dstIp = 0; // remote_ip
  ttl = 64;
  tos = 0;
  df = true; // df_default
  dstPort = VXLAN_PORT;
  /** Per-node flow-hash seed (the kernel's hashrnd). */
  hashSeed = 0;
  portMin = VXLAN_SPORT_MIN;
  portMax = VXLAN_SPORT_MAX;
  /** Next outer IP id (__ip_select_ident stand-in); bumped per packet. */
  nextIpId = 1;
}

/**
 * Encapsulate the frame buf[off .. off+len) for `vni`: writes the 50 outer
 * bytes at off - 50 (the caller checked the headroom) and returns the outer
 * frame's length (len + 50); the outer frame starts at off - VXLAN_OVERHEAD.
 */
export function vxlanEncap(buf: Uint8Array, off: number, len: number, vni: number, t: VxlanTunnel): number {
  const o = off - VXLAN_OVERHEAD;
  const l3 = o + ETH_HLEN;
  const l4 = l3 + IPV4_MIN_HLEN;
  const sport = vxlanSrcPort(buf, off, len, t.hashSeed | 0, t.portMin, t.portMax);
  // ECN is always inherited from an inner IPv4 header (CE -> ECT(0)).
  let tos = t.tos & 0xfc;
  if (len >= ETH_HLEN + IPV4_MIN_HLEN && readU16(buf, off + 12) === ETHERTYPE_IPV4) {
    const ecn = buf[off + ETH_HLEN + 1]! & 3;
    tos |= ecn === 3 ? 2 : ecn;
  }
  // Addresses passed as int32 (| 0): the writers take the bits, and a uint32 above 2^31 would be boxed.
  writeEth(buf, o, t.dstMacHi, t.dstMacLo | 0, t.srcMacHi, t.srcMacLo | 0, ETHERTYPE_IPV4);
  const udpLen = UDP_HLEN + VXLAN_HLEN + len;
  writeIpv4(buf, l3, IPV4_MIN_HLEN + udpLen, t.nextIpId, t.df ? IP_DF : 0, t.ttl, IPPROTO_UDP, t.srcIp | 0, t.dstIp | 0, tos);
  t.nextIpId = (t.nextIpId + 1) & 0xffff;
  writeUdp(buf, l4, sport, t.dstPort, udpLen, 0);
  writeVxlan(buf, l4 + UDP_HLEN, vni);
  return len + VXLAN_OVERHEAD;
}

/**
 * Validate a received outer frame as vxlan_rcv would (after ip_rcv/udp_rcv):
 * outer Ethernet/IPv4 sane with a good header checksum, not a fragment, UDP
 * to `port` with a consistent length and a good checksum if it has one,
 * VXLAN flags exactly I with the reserved bits zero, and room for an inner
 * Ethernet header. Returns 0 or a DecodeError; on success d describes the
 * outer headers, d.vni the VNI, and vxlanInnerOff/vxlanInnerLen the frame inside.
 */
export function vxlanDecapCheck(buf: Uint8Array, off: number, len: number, d: Decoded, port = VXLAN_PORT): number {
  const e = decode(buf, off, len, d);
  if (e !== 0) return e;
  if (d.ethertype !== ETHERTYPE_IPV4 || d.proto !== IPPROTO_UDP) return (d.error = DecodeError.NOT_VXLAN);
  if (!d.ipCsumOk) return (d.error = DecodeError.BAD_IP_CHECKSUM);
  if (d.fragKind !== FRAG_NONE || (d.fragOff & IP_MF) !== 0) return (d.error = DecodeError.NOT_VXLAN);
  if (d.dport !== port) return (d.error = DecodeError.NOT_VXLAN);
  if (!l4ChecksumOk(buf, d)) return (d.error = DecodeError.BAD_L4_CHECKSUM);
  const ulen = readU16(buf, d.l4 + 4);
  if (ulen < UDP_HLEN + VXLAN_HLEN + ETH_HLEN) return (d.error = DecodeError.TRUNCATED_VXLAN);
  const v = d.l4 + UDP_HLEN;
  if (readU32(buf, v) !== VXLAN_FLAG_I << 24 || buf[v + 7] !== 0) return (d.error = DecodeError.BAD_VXLAN_FLAGS);
  return 0;
}

/** Inner frame start after a successful vxlanDecapCheck. */
export function vxlanInnerOff(d: Decoded): number {
  return d.l4 + UDP_HLEN + VXLAN_HLEN;
}
/** Inner frame length after a successful vxlanDecapCheck (from the UDP length: outer padding excluded). */
export function vxlanInnerLen(buf: Uint8Array, d: Decoded): number {
  return readU16(buf, d.l4 + 4) - UDP_HLEN - VXLAN_HLEN;
}
