// ofproto/trace's br_flow: add-flow match syntax without masks, parsed as OVS
// parse_ofp_exact_flow does (fields in prerequisite order, each once), and
// the packet `--generate` makes of it (lib/flow.c flow_compose): every field
// not given is zero (TTL 0, no DF, TCP flags 0), as in OVS.
import { parseFieldValue } from './field-format.js';
import { fieldByMfName, ones, readField, type FieldDef } from './fields.js';
import { K, newKey, type FlowKey } from './flow-key.js';
import { keyValues } from './flow-lexer.js';
import { emptyMatch, type Match } from './match.js';
import { ETH_TYPE, IPPROTO, ND_ADVERT, ND_SOLICIT, matchFacts, prereqOk, setMatchField } from './match-edit.js';
import { OFPP } from './actions.js';
import type { PortResolver } from './port-names.js';
import { buildFrame, type FrameSpec } from '../wire/frame.js';
import { ipToString, macToString, writeMac, writeU16, writeU32 } from '../wire/addr.js';
import { onesSum } from '../wire/checksum.js';
import { IPV6_HLEN, ipv6PseudoSum, writeIpv6Head } from '../wire/ipv6.js';

export class TraceFlowError extends Error {}

// ofp_parse_protocol's shorthands (dl_type, nw_proto).
const PROTOCOLS: Record<string, [number, number?]> = {
  ip: [ETH_TYPE.IP], ipv4: [ETH_TYPE.IP], ip4: [ETH_TYPE.IP], arp: [ETH_TYPE.ARP], rarp: [ETH_TYPE.RARP],
  icmp: [ETH_TYPE.IP, IPPROTO.ICMP], igmp: [ETH_TYPE.IP, IPPROTO.IGMP], tcp: [ETH_TYPE.IP, IPPROTO.TCP],
  udp: [ETH_TYPE.IP, IPPROTO.UDP], sctp: [ETH_TYPE.IP, IPPROTO.SCTP], ipv6: [ETH_TYPE.IPV6], ip6: [ETH_TYPE.IPV6],
  icmp6: [ETH_TYPE.IPV6, IPPROTO.ICMPV6], tcp6: [ETH_TYPE.IPV6, IPPROTO.TCP], udp6: [ETH_TYPE.IPV6, IPPROTO.UDP],
  sctp6: [ETH_TYPE.IPV6, IPPROTO.SCTP], mpls: [ETH_TYPE.MPLS], mplsm: [ETH_TYPE.MPLSM],
};

const DL_TYPE = fieldByMfName('dl_type')!;
const NW_PROTO = fieldByMfName('nw_proto')!;

/**
 * The flow a br_flow describes, as a FlowKey. Errors carry OVS's wording
 * ("<flow>: unknown field x", "prerequisites not met for setting x", ...).
 */
export function parseTraceFlow(text: string, resolvePort?: PortResolver): FlowKey {
  const m = emptyMatch();
  const fail = (why: string): never => {
    throw new TraceFlowError(`${text}: ${why}`);
  };
  for (const kv of keyValues(text)) {
    const { key, value } = kv;
    const proto = PROTOCOLS[key];
    if (proto && kv.delim === '') {
      if (m.mask[K.DL_TYPE]) fail('Ethernet type set multiple times');
      setMatchField(m, DL_TYPE, BigInt(proto[0]));
      if (proto[1] !== undefined) {
        if (m.mask[K.NW_PROTO]) fail('network protocol set multiple times');
        setMatchField(m, NW_PROTO, BigInt(proto[1]));
      }
      continue;
    }
    const f = fieldByMfName(key);
    if (!f) fail(`unknown field ${key}`);
    if (!prereqOk(f!.prereq, matchFacts(m))) fail(`prerequisites not met for setting ${key}`);
    if (isSet(m, f!)) fail(`field ${key} set multiple times`);
    let fv;
    try {
      fv = parseFieldValue(f!, value, resolvePort);
    } catch (e) {
      return fail(`bad value for ${key} (${e instanceof Error ? e.message : String(e)})`);
    }
    // Exact flows only: mf_parse_value takes no mask.
    const full = f!.name === 'dl_vlan' ? 0xffffn : ones(f!.nBits);
    if (fv.mask !== full && f!.format !== 'frag') fail(`bad value for ${key} (masks are not allowed here)`);
    setMatchField(m, f!, fv.value, fv.mask);
  }
  const k = newKey();
  k.set(m.value);
  // parse_ofp_exact_flow: no in_port means OFPP_NONE.
  if (!m.mask[K.IN_PORT]) k[K.IN_PORT] = OFPP.NONE;
  return k;
}

// mf_is_set: any bit of the field already given.
function isSet(m: Match, f: FieldDef): boolean {
  if (f.name === 'dl_vlan' || f.name === 'vlan_vid') return (m.mask[K.VLAN_TCI]! & 0x1fff) !== 0;
  if (f.name === 'dl_vlan_pcp' || f.name === 'vlan_pcp') return (m.mask[K.VLAN_TCI]! & 0xe000) !== 0;
  return readField(m.mask, f) !== 0n;
}

const mac = (k: FlowKey, hi: K, lo: K): string => macToString(k[hi]!, k[lo]!);

/** flow_compose: the frame of `k` (Ethernet, one VLAN tag if present, IPv4/ARP and L4 headers). */
export function composeFrame(k: FlowKey): Uint8Array {
  const tci = k[K.VLAN_TCI]!;
  const type = k[K.DL_TYPE]!;
  const spec: FrameSpec = { src: mac(k, K.DL_SRC_HI, K.DL_SRC_LO), dst: mac(k, K.DL_DST_HI, K.DL_DST_LO), ethertype: type };
  if (tci & 0x1000) spec.vlans = [{ vid: tci & 0xfff, pcp: tci >>> 13, dei: 0 }];
  if (type === ETH_TYPE.ARP || type === ETH_TYPE.RARP) {
    spec.arp = {
      op: k[K.NW_PROTO]!,
      sha: mac(k, K.ARP_SHA_HI, K.ARP_SHA_LO),
      spa: ipToString(k[K.NW_SRC]!),
      tha: mac(k, K.ARP_THA_HI, K.ARP_THA_LO),
      tpa: ipToString(k[K.NW_DST]!),
    };
  } else if (type === ETH_TYPE.IP) {
    composeIp(k, spec);
  } else if (type === ETH_TYPE.IPV6) {
    spec.payload = composeIpv6(k);
  }
  return buildFrame(spec);
}

/**
 * flow_compose's IPv6 packet: the header from the key (class, label, hop
 * limit, addresses), then as for IPv4 the L4 header of the protocol; an ND
 * message (ICMPv6 135/136, code 0) carries its target and a source /
 * target link-layer address option for each of nd_sll / nd_tll not zero.
 * The L4 checksum is set, as flow_compose_l4_csum does.
 */
function composeIpv6(k: FlowKey): Uint8Array {
  const proto = k[K.NW_PROTO]!, frag = k[K.NW_FRAG]! & 3;
  const sp = k[K.TP_SRC]!, dp = k[K.TP_DST]!;
  let l4 = 0;
  if (frag !== 3) {
    if (proto === IPPROTO.TCP) l4 = 20;
    else if (proto === IPPROTO.UDP) l4 = 8;
    else if (proto === IPPROTO.SCTP) l4 = 12;
    else if (proto === IPPROTO.ICMPV6) {
      l4 = 8;
      if (dp === 0 && (sp === ND_SOLICIT || sp === ND_ADVERT)) {
        l4 += 16;
        if (k[K.ARP_SHA_HI] || k[K.ARP_SHA_LO]) l4 += 8;
        if (k[K.ARP_THA_HI] || k[K.ARP_THA_LO]) l4 += 8;
      }
    }
  }
  const b = new Uint8Array(IPV6_HLEN + l4);
  writeIpv6Head(b, 0, ((k[K.NW_TOS]! & 0xff) << 20) | (k[K.IPV6_LABEL]! & 0xfffff), l4, proto, k[K.NW_TTL]!);
  for (let i = 0; i < 4; i++) {
    writeU32(b, 8 + 4 * i, k[K.IPV6_SRC0 + i]!);
    writeU32(b, 24 + 4 * i, k[K.IPV6_DST0 + i]!);
  }
  if (l4 === 0) return b;
  const q = IPV6_HLEN;
  let csumAt = -1;
  if (proto === IPPROTO.ICMPV6) {
    b[q] = sp;
    b[q + 1] = dp;
    csumAt = q + 2;
    if (l4 > 8) {
      for (let i = 0; i < 4; i++) writeU32(b, q + 8 + 4 * i, k[K.ND_TARGET0 + i]!);
      let o = q + 24;
      for (const [opt, hi] of [[1, K.ARP_SHA_HI], [2, K.ARP_THA_HI]] as const) {
        if (!k[hi] && !k[hi + 1]) continue;
        b[o] = opt;
        b[o + 1] = 1;
        writeMac(b, o + 2, k[hi]!, k[hi + 1]!);
        o += 8;
      }
    }
  } else {
    writeU16(b, q, sp);
    writeU16(b, q + 2, dp);
    if (proto === IPPROTO.TCP) {
      b[q + 12] = 5 << 4;
      csumAt = q + 16;
    } else if (proto === IPPROTO.UDP) {
      writeU16(b, q + 4, l4);
      csumAt = q + 6;
    }
  }
  if (csumAt >= 0 && frag === 0) {
    const sum = onesSum(b, q, l4, ipv6PseudoSum(b, 0, l4, proto));
    writeU16(b, csumAt, ~sum & 0xffff || (proto === IPPROTO.UDP ? 0xffff : 0));
  }
  return b;
}

function composeIp(k: FlowKey, spec: FrameSpec): void {
  const frag = k[K.NW_FRAG]! & 3;
  const proto = k[K.NW_PROTO]!;
  spec.ip = {
    src: ipToString(k[K.NW_SRC]!),
    dst: ipToString(k[K.NW_DST]!),
    ttl: k[K.NW_TTL]!,
    tos: k[K.NW_TOS]!,
    df: false,
    mf: frag === 1,
    fragOffset: frag === 3 ? 8 : 0,
    proto,
  };
  if (frag === 3) return; // a later fragment has no L4 header
  const sp = k[K.TP_SRC]!, dp = k[K.TP_DST]!;
  if (proto === IPPROTO.TCP) spec.tcp = { sport: sp, dport: dp, flags: 0, win: 0 };
  else if (proto === IPPROTO.UDP) spec.udp = { sport: sp, dport: dp };
  else if (proto === IPPROTO.ICMP) spec.icmp = { type: sp & 0xff, code: dp & 0xff };
  else if (proto === IPPROTO.SCTP) spec.payload = [sp >>> 8, sp & 0xff, dp >>> 8, dp & 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
  else if (proto === IPPROTO.IGMP) spec.payload = [sp & 0xff, dp & 0xff, 0, 0, 0, 0, 0, 0];
}
