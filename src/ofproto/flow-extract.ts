// Frame bytes + packet metadata -> FlowKey, as OVS lib/flow.c miniflow_extract
// does it: up to two VLAN tags (the key keeps the outermost TCI with the CFI
// bit set as "tag present"), the ethertype after them (LLC/SNAP decoded,
// 0x05ff for other 802.3 frames), IPv4 with fragment bits, IPv6 protocol /
// addresses / flow label / class / hop limit, L4 ports or ICMP type+code,
// ND's target and link-layer addresses, ARP. A header that is short
// or fails OVS's sanity checks leaves its fields 0: extraction never throws.
// Offsets are absolute (into pkt.buf) and survive VLAN push/pop, which move
// only the MACs.
import { K, type FlowKey } from './flow-key.js';
import type { Packet } from '../datapath/packet.js';

export const FLOW_DL_TYPE_NONE = 0x05ff;
export const VLAN_CFI = 0x1000;

/** Where the headers are, for actions that rewrite them (filled by extractFrame). */
export class FrameLayout {
  /** Tags parsed (0..2). */
  nTags = 0;
  /** L3 header (IPv4/IPv6/ARP) when its fields were extracted, else -1. */
  l3 = -1;
  /** L4 header when its fields were extracted (not for later fragments), else -1. */
  l4 = -1;

  reset(): void {
    this.nTags = 0;
    this.l3 = this.l4 = -1;
  }
}

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/**
 * A big-endian word as int32 bits, which the Uint32Array key stores as the
 * same unsigned word: a uint32 above 2^31 returned from a call the optimizer
 * did not inline would be a new heap number (16 bytes) per call.
 */
function u32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

function isVlanTpid(t: number): boolean {
  return t === 0x8100 || t === 0x88a8;
}

/**
 * Fill `key` from the frame buf[off, off+len); metadata words (in_port,
 * tunnel, regs, metadata, pkt_mark) are left for the caller.
 */
export function extractFrame(buf: Uint8Array, off: number, len: number, key: FlowKey, lay: FrameLayout): void {
  // IPv6's words are set only with dl_type IPv6 (no action writes either),
  // so an IPv4 or ARP key that follows one pays one compare, not 13 stores.
  if (key[K.DL_TYPE] === 0x86dd) for (let i = K.IPV6_SRC0; i <= K.ND_TARGET3; i++) key[i] = 0;
  for (let i = K.DL_SRC_HI; i <= K.ARP_THA_LO; i++) key[i] = 0;
  lay.reset();
  if (len < 14) return;
  let p = off;
  const end = off + len;
  key[K.DL_DST_HI] = u16(buf, p);
  key[K.DL_DST_LO] = u32(buf, p + 2);
  key[K.DL_SRC_HI] = u16(buf, p + 6);
  key[K.DL_SRC_LO] = u32(buf, p + 8);
  p += 12;
  // parse_vlan: a tag needs 4 bytes plus the following type.
  let n = 0;
  while (n < 2 && end - p >= 6 && isVlanTpid(u16(buf, p))) {
    if (n === 0) key[K.VLAN_TCI] = u16(buf, p + 2) | VLAN_CFI;
    p += 4;
    n++;
  }
  lay.nTags = n;
  // parse_ethertype
  let type = u16(buf, p);
  p += 2;
  if (type < 0x0600) {
    if (end - p >= 8 && buf[p] === 0xaa && buf[p + 1] === 0xaa && buf[p + 2] === 0x03 && buf[p + 3] === 0 && buf[p + 4] === 0 && buf[p + 5] === 0) {
      type = u16(buf, p + 6);
      p += 8;
      if (type < 0x0600) type = FLOW_DL_TYPE_NONE;
    } else {
      type = FLOW_DL_TYPE_NONE;
    }
  }
  key[K.DL_TYPE] = type;
  if (type === 0x0800) {
    extractIpv4(buf, p, end, key, lay);
  } else if (type === 0x0806 || type === 0x8035) {
    // ARP/RARP, Ethernet/IPv4 only; the opcode only if it fits 8 bits.
    if (end - p >= 28 && u16(buf, p) === 1 && u16(buf, p + 2) === 0x0800 && buf[p + 4] === 6 && buf[p + 5] === 4) {
      lay.l3 = p;
      const op = u16(buf, p + 6);
      key[K.NW_PROTO] = op <= 0xff ? op : 0;
      key[K.ARP_SHA_HI] = u16(buf, p + 8);
      key[K.ARP_SHA_LO] = u32(buf, p + 10);
      key[K.NW_SRC] = u32(buf, p + 14);
      key[K.ARP_THA_HI] = u16(buf, p + 18);
      key[K.ARP_THA_LO] = u32(buf, p + 20);
      key[K.NW_DST] = u32(buf, p + 24);
    }
  } else if (type === 0x86dd) {
    extractIpv6(buf, p, end, key, lay);
  }
}

function extractIpv4(buf: Uint8Array, p: number, end: number, key: FlowKey, lay: FrameLayout): void {
  // ipv4_sanity_check
  const size = end - p;
  if (size < 20) return;
  const vihl = buf[p]!;
  if (vihl >>> 4 !== 4) return;
  const hl = (vihl & 15) * 4;
  if (hl < 20 || size < hl) return;
  const tot = u16(buf, p + 2);
  if (tot > size || hl > tot) return;
  lay.l3 = p;
  key[K.NW_SRC] = u32(buf, p + 12);
  key[K.NW_DST] = u32(buf, p + 16);
  key[K.NW_TOS] = buf[p + 1]!;
  key[K.NW_TTL] = buf[p + 8]!;
  const proto = buf[p + 9]!;
  key[K.NW_PROTO] = proto;
  const fo = u16(buf, p + 6);
  let frag = 0;
  if (fo & 0x3fff) {
    frag = 1; // FLOW_NW_FRAG_ANY: MF set or an offset
    if (fo & 0x1fff) frag = 3; // | FLOW_NW_FRAG_LATER
  }
  key[K.NW_FRAG] = frag;
  if (frag & 2) return;
  extractL4(buf, p + hl, p + tot, proto, key, lay);
}

// IPv6 extension headers OVS skips in parse_ipv6_ext_hdrs.
function extractIpv6(buf: Uint8Array, p: number, end: number, key: FlowKey, lay: FrameLayout): void {
  if (end - p < 40 || buf[p]! >>> 4 !== 6) return;
  const plen = u16(buf, p + 4);
  if (plen > end - p - 40) return;
  lay.l3 = p;
  key[K.IPV6_LABEL] = u32(buf, p) & 0xfffff;
  for (let i = 0; i < 4; i++) {
    key[K.IPV6_SRC0 + i] = u32(buf, p + 8 + 4 * i);
    key[K.IPV6_DST0 + i] = u32(buf, p + 24 + 4 * i);
  }
  key[K.NW_TOS] = ((buf[p]! & 0x0f) << 4) | (buf[p + 1]! >>> 4);
  key[K.NW_TTL] = buf[p + 7]!;
  let next = buf[p + 6]!;
  let q = p + 40;
  const stop = p + 40 + plen;
  let frag = 0;
  for (;;) {
    if (next === 0 || next === 43 || next === 60) {
      if (stop - q < 8) return;
      const nn = buf[q]!;
      q += (buf[q + 1]! + 1) * 8;
      next = nn;
    } else if (next === 44) {
      if (stop - q < 8) return;
      const off = u16(buf, q + 2);
      frag = 1;
      if (off & 0xfff8) frag = 3;
      next = buf[q]!;
      q += 8;
    } else {
      break;
    }
  }
  key[K.NW_PROTO] = next;
  key[K.NW_FRAG] = frag;
  if (frag & 2) return;
  extractL4(buf, q, stop, next, key, lay);
  if (next === 58 && lay.l4 >= 0) extractNd(buf, q, stop, key);
}

/**
 * parse_icmpv6: a neighbour solicitation or advertisement (code 0) gives its
 * target and the first source / target link-layer address option each; a
 * second one of either makes the message invalid (no target, no addresses).
 */
function extractNd(buf: Uint8Array, q: number, stop: number, key: FlowKey): void {
  const type = buf[q]!;
  if (buf[q + 1] !== 0 || (type !== 135 && type !== 136) || stop - q < 24) return;
  let o = q + 24;
  let shaHi = 0, shaLo = 0, thaHi = 0, thaLo = 0;
  while (stop - o >= 8) {
    const len = buf[o + 1]! * 8;
    if (len === 0 || len > stop - o) break;
    const opt = buf[o]!;
    if (len === 8 && (opt === 1 || opt === 2)) {
      const hi = u16(buf, o + 2), lo = u32(buf, o + 4);
      if (opt === 1) {
        if (shaHi !== 0 || shaLo !== 0) return;
        shaHi = hi;
        shaLo = lo;
      } else {
        if (thaHi !== 0 || thaLo !== 0) return;
        thaHi = hi;
        thaLo = lo;
      }
    }
    o += len;
  }
  for (let i = 0; i < 4; i++) key[K.ND_TARGET0 + i] = u32(buf, q + 8 + 4 * i);
  key[K.ARP_SHA_HI] = shaHi;
  key[K.ARP_SHA_LO] = shaLo;
  key[K.ARP_THA_HI] = thaHi;
  key[K.ARP_THA_LO] = thaLo;
}

function extractL4(buf: Uint8Array, q: number, stop: number, proto: number, key: FlowKey, lay: FrameLayout): void {
  const size = stop - q;
  switch (proto) {
    case 6: // TCP: the data offset must be sane too
      if (size >= 20) {
        const doff = (buf[q + 12]! >>> 4) * 4;
        if (doff >= 20 && size >= doff) {
          key[K.TP_SRC] = u16(buf, q);
          key[K.TP_DST] = u16(buf, q + 2);
          lay.l4 = q;
        }
      }
      return;
    case 17: // UDP
      if (size >= 8) {
        key[K.TP_SRC] = u16(buf, q);
        key[K.TP_DST] = u16(buf, q + 2);
        lay.l4 = q;
      }
      return;
    case 132: // SCTP
      if (size >= 12) {
        key[K.TP_SRC] = u16(buf, q);
        key[K.TP_DST] = u16(buf, q + 2);
        lay.l4 = q;
      }
      return;
    case 1: // ICMP
    case 2: // IGMP (OVS stores its type/code the same way)
    case 58: // ICMPv6 (OVS wants the 4-byte header)
      if (size >= (proto === 58 ? 4 : 8)) {
        key[K.TP_SRC] = buf[q]!;
        key[K.TP_DST] = buf[q + 1]!;
        lay.l4 = q;
      }
      return;
  }
}

/**
 * The whole key of a packet entering a bridge on `inPort`: frame fields,
 * tunnel metadata as decap left it, registers and metadata zero (every
 * bridge starts a packet with clean registers), pkt_mark from skb->mark.
 */
export function extractFlow(pkt: Packet, inPort: number, key: FlowKey, lay: FrameLayout): void {
  extractFrame(pkt.buf, pkt.off, pkt.len, key, lay);
  key[K.IN_PORT] = inPort;
  const id = pkt.tunId;
  key[K.TUN_ID_HI] = Math.floor(id / 0x100000000) >>> 0;
  key[K.TUN_ID_LO] = id >>> 0;
  key[K.TUN_SRC] = pkt.tunSrc >>> 0;
  key[K.TUN_DST] = pkt.tunDst >>> 0;
  key[K.METADATA_HI] = 0;
  key[K.METADATA_LO] = 0;
  for (let i = 0; i < 16; i++) key[K.REG0 + i] = 0;
  key[K.PKT_MARK] = pkt.mark >>> 0;
}
