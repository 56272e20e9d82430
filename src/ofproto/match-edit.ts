// Setting fields in a Match with OVS's semantics (lib/match.c match_set_*),
// field prerequisites (mf_are_prereqs_ok) and the normalisation that drops
// fields whose prerequisites the match does not establish
// (ofputil_normalize_match: ovs-ofctl accepts `nw_src=1.2.3.4` without `ip`,
// logs "normalization changed ofp_match" and the switch never sees nw_src).
import type { Subfield } from './actions.js';
import { K } from './flow-key.js';
import { ones, readField, writeField, type FieldDef, type Prereq } from './fields.js';
import type { Match } from './match.js';

export const ETH_TYPE = { IP: 0x0800, ARP: 0x0806, RARP: 0x8035, IPV6: 0x86dd, VLAN: 0x8100, MPLS: 0x8847, MPLSM: 0x8848 } as const;
export const IPPROTO = { ICMP: 1, IGMP: 2, TCP: 6, UDP: 17, SCTP: 132, ICMPV6: 58 } as const;

/** ICMPv6 neighbour solicitation and advertisement types. */
export const ND_SOLICIT = 135;
export const ND_ADVERT = 136;

const VLAN_CFI = 0x1000;
const VLAN_VID_MASK = 0x0fff;
const VLAN_PCP_MASK = 0xe000;

/** Sets value/mask bits of a field as OVS mf_set does (mask right-aligned; all ones = exact). */
export function setMatchField(m: Match, f: FieldDef, value: bigint, mask: bigint = ones(f.nBits)): void {
  const v = m.value as Uint32Array;
  const mk = m.mask as Uint32Array;
  switch (f.name) {
    case 'dl_vlan': {
      // match_set_dl_vlan: 0xffff means "no tag".
      if (value === 0xffffn) {
        v[K.VLAN_TCI] = 0;
        mk[K.VLAN_TCI] = 0xffff;
      } else {
        v[K.VLAN_TCI] = ((v[K.VLAN_TCI]! & ~VLAN_VID_MASK) | VLAN_CFI | (Number(value) & VLAN_VID_MASK)) & 0xffff;
        mk[K.VLAN_TCI] = mk[K.VLAN_TCI]! | VLAN_VID_MASK | VLAN_CFI;
      }
      return;
    }
    case 'dl_vlan_pcp':
    case 'vlan_pcp': {
      // match_set_dl_vlan_pcp: implies a tag.
      v[K.VLAN_TCI] = ((v[K.VLAN_TCI]! & ~VLAN_PCP_MASK) | ((Number(value) & 7) << 13) | VLAN_CFI) & 0xffff;
      mk[K.VLAN_TCI] = mk[K.VLAN_TCI]! | VLAN_PCP_MASK | VLAN_CFI;
      return;
    }
    case 'vlan_vid': {
      // match_set_vlan_vid_masked: VID and the CFI ("present") bit only.
      const vm = Number(mask) & (VLAN_VID_MASK | VLAN_CFI);
      v[K.VLAN_TCI] = (v[K.VLAN_TCI]! & ~(VLAN_VID_MASK | VLAN_CFI)) | (Number(value) & vm);
      mk[K.VLAN_TCI] = vm | (mk[K.VLAN_TCI]! & VLAN_PCP_MASK);
      return;
    }
    case 'nw_tos': {
      // match_set_nw_dscp: the DSCP bits of the TOS byte.
      v[K.NW_TOS] = (v[K.NW_TOS]! & ~0xfc) | (Number(value) & 0xfc);
      mk[K.NW_TOS] = mk[K.NW_TOS]! | 0xfc;
      return;
    }
    case 'arp_op':
      // Stored in nw_proto's 8 bits, as OVS does.
      value &= 0xffn;
      mask &= 0xffn;
      break;
    case 'icmp_type':
    case 'icmp_code':
    case 'icmpv6_type':
    case 'icmpv6_code': {
      // match_set_icmp_type: tp_src/tp_dst exactly, all 16 bits.
      const w = f.words[0]!;
      v[w] = Number(value) & 0xff;
      mk[w] = 0xffff;
      return;
    }
  }
  writeField(mk, f, mask);
  writeField(v, f, value & mask);
}

/** mf_write_subfield: match `value` (right-aligned) exactly in the subfield's bits. */
export function setMatchSubfield(m: Match, sf: Subfield, value: bigint): void {
  const f = sf.field;
  const sh = BigInt(sf.ofs);
  const bits = ones(sf.nBits) << sh;
  const curV = readField(m.value, f);
  const curM = readField(m.mask, f);
  setMatchField(m, f, (curV & ~bits) | ((value << sh) & bits), curM | bits);
}

/** What the flow being built says about the packet, for prerequisite checks. */
export interface FlowFacts {
  dlType: number;
  nwProto: number;
  vlan: boolean; // a tag is known to be present
  /** tp_src/tp_dst as matched (ICMP type and code): what is_nd reads of the match's flow. */
  tpSrc: number;
  tpDst: number;
}

export function matchFacts(m: Match): FlowFacts {
  return {
    dlType: m.value[K.DL_TYPE]! & m.mask[K.DL_TYPE]!,
    nwProto: m.value[K.NW_PROTO]! & m.mask[K.NW_PROTO]! & 0xff,
    vlan: (m.value[K.VLAN_TCI]! & VLAN_CFI) !== 0,
    tpSrc: m.value[K.TP_SRC]! & 0xffff,
    tpDst: m.value[K.TP_DST]! & 0xffff,
  };
}

/** mf_are_prereqs_ok. */
export function prereqOk(p: Prereq, f: FlowFacts): boolean {
  const ip = f.dlType === ETH_TYPE.IP;
  const ip6 = f.dlType === ETH_TYPE.IPV6;
  switch (p) {
    case 'none':
      return true;
    case 'vlan':
      return f.vlan;
    case 'ip':
      return ip;
    case 'ipv6':
      return ip6;
    case 'ipAny':
      return ip || ip6;
    case 'arp':
      return f.dlType === ETH_TYPE.ARP || f.dlType === ETH_TYPE.RARP;
    case 'tcp':
      return (ip || ip6) && f.nwProto === IPPROTO.TCP;
    case 'udp':
      return (ip || ip6) && f.nwProto === IPPROTO.UDP;
    case 'sctp':
      return (ip || ip6) && f.nwProto === IPPROTO.SCTP;
    case 'icmp':
      return ip && f.nwProto === IPPROTO.ICMP;
    case 'icmp6':
      return ip6 && f.nwProto === IPPROTO.ICMPV6;
    case 'icmpAny':
      return (ip && f.nwProto === IPPROTO.ICMP) || (ip6 && f.nwProto === IPPROTO.ICMPV6);
    case 'nd':
    case 'ndSolicit':
    case 'ndAdvert': {
      // is_nd: ICMPv6 code 0, type NS or NA.
      if (!ip6 || f.nwProto !== IPPROTO.ICMPV6 || f.tpDst !== 0) return false;
      if (p === 'nd') return f.tpSrc === ND_SOLICIT || f.tpSrc === ND_ADVERT;
      return f.tpSrc === (p === 'ndSolicit' ? ND_SOLICIT : ND_ADVERT);
    }
  }
}

/**
 * ofputil_normalize_match: clears fields the match's dl_type/nw_proto do not
 * allow. Returns the names of the key groups it cleared (empty if none).
 */
export function normalizeMatch(m: Match): string[] {
  const v = m.value as Uint32Array;
  const mk = m.mask as Uint32Array;
  const dl = v[K.DL_TYPE]! & mk[K.DL_TYPE]!;
  const proto = v[K.NW_PROTO]! & mk[K.NW_PROTO]!;
  let nwAddr = false, tp = false, nwProto = false, ipvx = false, ipv6 = false, ndTarget = false, arpSha = false, arpTha = false;
  if (dl === ETH_TYPE.IP) {
    nwProto = ipvx = nwAddr = true;
    tp = proto === IPPROTO.TCP || proto === IPPROTO.UDP || proto === IPPROTO.SCTP || proto === IPPROTO.ICMP;
  } else if (dl === ETH_TYPE.IPV6) {
    nwProto = ipvx = ipv6 = true;
    tp = proto === IPPROTO.TCP || proto === IPPROTO.UDP || proto === IPPROTO.SCTP || proto === IPPROTO.ICMPV6;
    if (proto === IPPROTO.ICMPV6) {
      // ofputil_normalize_match__ reads the type alone (not the code, unlike is_nd).
      const type = v[K.TP_SRC]! & mk[K.TP_SRC]!;
      if (type === ND_SOLICIT) ndTarget = arpSha = true;
      else if (type === ND_ADVERT) ndTarget = arpTha = true;
    }
  } else if (dl === ETH_TYPE.ARP || dl === ETH_TYPE.RARP) {
    nwProto = nwAddr = arpSha = arpTha = true;
  }
  const dropped: string[] = [];
  const clear = (ok: boolean, what: string, words: K[]): void => {
    if (ok || words.every((w) => mk[w] === 0)) return;
    for (const w of words) v[w] = mk[w] = 0;
    dropped.push(what);
  };
  clear(nwAddr, 'nw_src/nw_dst', [K.NW_SRC, K.NW_DST]);
  clear(tp, 'tp_src/tp_dst', [K.TP_SRC, K.TP_DST]);
  clear(nwProto, 'nw_proto', [K.NW_PROTO]);
  clear(ipvx, 'nw_tos/nw_ttl/nw_frag', [K.NW_TOS, K.NW_TTL, K.NW_FRAG]);
  clear(ipv6, 'ipv6_src/ipv6_dst/ipv6_label', [K.IPV6_SRC0, K.IPV6_SRC1, K.IPV6_SRC2, K.IPV6_SRC3, K.IPV6_DST0, K.IPV6_DST1, K.IPV6_DST2, K.IPV6_DST3, K.IPV6_LABEL]);
  clear(ndTarget, 'nd_target', [K.ND_TARGET0, K.ND_TARGET1, K.ND_TARGET2, K.ND_TARGET3]);
  // ARP's hardware addresses, or ND's link-layer addresses in the same words.
  if (!arpSha && !arpTha) clear(false, dl === ETH_TYPE.IPV6 ? 'nd_sll/nd_tll' : 'arp_sha/arp_tha', [K.ARP_SHA_HI, K.ARP_SHA_LO, K.ARP_THA_HI, K.ARP_THA_LO]);
  else {
    clear(arpSha, 'nd_sll', [K.ARP_SHA_HI, K.ARP_SHA_LO]);
    clear(arpTha, 'nd_tll', [K.ARP_THA_HI, K.ARP_THA_LO]);
  }
  // nx_put_raw sends ND fields only where is_nd holds, code 0 included: with
  // another code the switch never sees them, and ovs-ofctl says nothing.
  if (ndTarget && (v[K.TP_DST]! & mk[K.TP_DST]!) !== 0) {
    for (const w of [K.ND_TARGET0, K.ND_TARGET1, K.ND_TARGET2, K.ND_TARGET3, K.ARP_SHA_HI, K.ARP_SHA_LO, K.ARP_THA_HI, K.ARP_THA_LO]) v[w] = mk[w] = 0;
  }
  return dropped;
}

/**
 * The match after an OXM round trip (OpenFlow 1.2+ flow_mods and replies,
 * nx_put_raw): the TCI goes as vlan_vid (VID and CFI bits) and, only where
 * that is nonzero and some PCP bit is matched, vlan_pcp (all 3 bits). So
 * vlan_tci=0 comes back as vlan_tci=0x0000/0x1fff. `m` itself if unchanged.
 */
export function oxmVlanTci(m: Match): Match {
  const v = m.value[K.VLAN_TCI]! & 0xffff;
  const k = m.mask[K.VLAN_TCI]! & 0xffff;
  const vid = v & 0x1fff;
  const pcp = vid !== 0 && (k & 0xe000) !== 0 ? 0xe000 : 0;
  const nk = (k & 0x1fff) | pcp;
  const nv = vid | (v & pcp);
  if (nk === k && nv === v) return m;
  const out = { value: m.value.slice(), mask: m.mask.slice() } as Match;
  out.value[K.VLAN_TCI] = nv;
  out.mask[K.VLAN_TCI] = nk;
  return out;
}
