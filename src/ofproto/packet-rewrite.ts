// Writing a flow's changes into the frame in place: MACs, the VLAN tag (push
// and pop move only the 12 MAC bytes into or out of the headroom), IPv4/ARP
// fields with incremental checksum updates (RFC 1624, L4 pseudo-header
// included), tunnel metadata and the mark.
import { K, type FlowKey } from './flow-key.js';
import { VLAN_CFI, type FrameLayout } from './flow-extract.js';
import { D_ARP_SHA, D_ARP_THA, D_ETH_DST, D_ETH_SRC, D_MARK, D_NW_DST, D_NW_PROTO, D_NW_SRC, D_TOS, D_TP_DST, D_TP_SRC, D_TTL, D_TUN, D_VLAN } from './action-compile.js';
import type { Packet } from '../datapath/packet.js';
import { readU16, readU32, writeMac, writeU16, writeU32 } from '../wire/addr.js';
import { setIpv4Dst, setIpv4Src, setIpv4Tos, setIpv4Ttl } from '../wire/ipv4.js';
import { setTcpDst, setTcpSrc, tcpCsumReplace32 } from '../wire/tcp.js';
import { setUdpDst, setUdpSrc, udpCsumReplace32 } from '../wire/udp.js';
import { csumUpdate16 } from '../wire/checksum.js';
import { moveMacs } from '../wire/vlan.js';

function isVlanTpid(t: number): boolean {
  return t === 0x8100 || t === 0x88a8;
}

/**
 * Write the flow's packet-visible fields named in `dirty` into the frame, as
 * the datapath's set actions would (checksums updated incrementally). False
 * if a VLAN tag had to be pushed and there was no headroom.
 */
export function applyDirty(pkt: Packet, key: FlowKey, lay: FrameLayout, dirty: number, slotSize: number): boolean {
  const b = pkt.buf;
  if (dirty & D_ETH_DST) writeMac(b, pkt.off, key[K.DL_DST_HI]!, key[K.DL_DST_LO]!);
  if (dirty & D_ETH_SRC) writeMac(b, pkt.off + 6, key[K.DL_SRC_HI]!, key[K.DL_SRC_LO]!);
  if (dirty & D_VLAN) {
    const before = pkt.len;
    if (!applyVlan(pkt, key[K.VLAN_TCI]!, slotSize)) return false;
    if (pkt.len > before) lay.nTags++;
    else if (pkt.len < before && --lay.nTags > 0) {
      // Popped the outer of two tags: the inner one is now the flow's (flow_pop_vlan).
      key[K.VLAN_TCI] = readU16(b, pkt.off + 14) | VLAN_CFI;
    }
  }
  if (dirty & D_TUN) {
    pkt.tunId = key[K.TUN_ID_HI]! * 2 ** 32 + key[K.TUN_ID_LO]!;
    pkt.tunSrc = key[K.TUN_SRC]!;
    pkt.tunDst = key[K.TUN_DST]!;
  }
  if (dirty & D_MARK) pkt.mark = key[K.PKT_MARK]!;
  const l3 = lay.l3;
  if (l3 < 0 || (dirty & ~(D_ETH_DST | D_ETH_SRC | D_VLAN | D_TUN | D_MARK)) === 0) return true;
  const type = key[K.DL_TYPE]!;
  if (type === 0x0800) applyIpv4(b, key, lay.l4, dirty, l3);
  else if (type === 0x0806 || type === 0x8035) {
    if (dirty & D_NW_PROTO) writeU16(b, l3 + 6, key[K.NW_PROTO]!);
    if (dirty & D_ARP_SHA) writeMac(b, l3 + 8, key[K.ARP_SHA_HI]!, key[K.ARP_SHA_LO]!);
    if (dirty & D_NW_SRC) writeU32(b, l3 + 14, key[K.NW_SRC]!);
    if (dirty & D_ARP_THA) writeMac(b, l3 + 18, key[K.ARP_THA_HI]!, key[K.ARP_THA_LO]!);
    if (dirty & D_NW_DST) writeU32(b, l3 + 24, key[K.NW_DST]!);
  } else if (type === 0x86dd && dirty & (D_TTL | D_TOS)) {
    if (dirty & D_TTL) b[l3 + 7] = key[K.NW_TTL]!;
    if (dirty & D_TOS) {
      const tc = key[K.NW_TOS]!;
      b[l3] = (b[l3]! & 0xf0) | (tc >>> 4);
      b[l3 + 1] = (b[l3 + 1]! & 0x0f) | ((tc & 15) << 4);
    }
  }
  return true;
}

function applyIpv4(b: Uint8Array, key: FlowKey, l4: number, dirty: number, l3: number): void {
  const proto = key[K.NW_PROTO]!;
  if (dirty & D_NW_SRC) {
    const old = readU32(b, l3 + 12), nw = key[K.NW_SRC]!;
    if (old !== nw) {
      setIpv4Src(b, l3, nw);
      l4AddrCsum(b, l4, proto, old, nw);
    }
  }
  if (dirty & D_NW_DST) {
    const old = readU32(b, l3 + 16), nw = key[K.NW_DST]!;
    if (old !== nw) {
      setIpv4Dst(b, l3, nw);
      l4AddrCsum(b, l4, proto, old, nw);
    }
  }
  if (dirty & D_TOS) setIpv4Tos(b, l3, key[K.NW_TOS]!);
  if (dirty & D_TTL) setIpv4Ttl(b, l3, key[K.NW_TTL]!);
  if (l4 < 0 || !(dirty & (D_TP_SRC | D_TP_DST))) return;
  if (proto === 6) {
    if (dirty & D_TP_SRC) setTcpSrc(b, l4, key[K.TP_SRC]!);
    if (dirty & D_TP_DST) setTcpDst(b, l4, key[K.TP_DST]!);
  } else if (proto === 17) {
    if (dirty & D_TP_SRC) setUdpSrc(b, l4, key[K.TP_SRC]!);
    if (dirty & D_TP_DST) setUdpDst(b, l4, key[K.TP_DST]!);
  } else if (proto === 132) {
    if (dirty & D_TP_SRC) writeU16(b, l4, key[K.TP_SRC]!);
    if (dirty & D_TP_DST) writeU16(b, l4 + 2, key[K.TP_DST]!);
  } else if (proto === 1) {
    const old = readU16(b, l4);
    const nw = ((key[K.TP_SRC]! & 0xff) << 8) | (key[K.TP_DST]! & 0xff);
    writeU16(b, l4, nw);
    writeU16(b, l4 + 2, csumUpdate16(readU16(b, l4 + 2), old, nw));
  }
}

function l4AddrCsum(b: Uint8Array, l4: number, proto: number, old: number, nw: number): void {
  if (l4 < 0) return;
  if (proto === 6) tcpCsumReplace32(b, l4, old, nw);
  else if (proto === 17) udpCsumReplace32(b, l4, old, nw);
}

/**
 * Make the frame's outer VLAN match flow TCI `tci` (CFI = tag present; the
 * wire TCI has the CFI/DEI bit clear, as the datapath pushes it). False if
 * there is no headroom for a tag.
 */
export function applyVlan(pkt: Packet, tci: number, slotSize: number): boolean {
  const b = pkt.buf, o = pkt.off;
  const tagged = pkt.len >= 18 && isVlanTpid(readU16(b, o + 12));
  if (tci & VLAN_CFI) {
    const wire = tci & ~VLAN_CFI & 0xffff;
    if (tagged) {
      writeU16(b, o + 14, wire);
      return true;
    }
    if (!pkt.push(4, slotSize)) return false;
    moveMacs(b, o, o - 4);
    writeU16(b, o + 8, 0x8100);
    writeU16(b, o + 10, wire);
    return true;
  }
  if (tagged) {
    moveMacs(b, o, o + 4);
    pkt.pull(4);
  }
  return true;
}
