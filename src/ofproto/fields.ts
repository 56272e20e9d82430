// OpenFlow match/set fields (OVS meta-flow): every name and alias a flow may use,
// its width, and where its bits live in the FlowKey words, so that matches,
// load/move/set_field and learn() all read and write through this one table.
import { K } from './flow-key.js';

/** Which packets a field exists for (OVS mf_prereqs). */
export type Prereq =
  | 'none'
  | 'vlan' // an 802.1Q tag (vlan_pcp in OF1.2+ needs vlan_vid; we do not enforce it)
  | 'ip'
  | 'ipv6'
  | 'ipAny'
  | 'arp' // ARP or RARP
  | 'tcp'
  | 'udp'
  | 'sctp'
  | 'icmp'
  | 'icmp6'
  | 'icmpAny'
  | 'nd' // ICMPv6 neighbour solicitation or advertisement (OVS MFP_ND: type 135 or 136, code 0)
  | 'ndSolicit'
  | 'ndAdvert';

/** How mf_format prints a value (OVS enum mf_string). */
export type FieldFormat = 'dec' | 'hex' | 'mac' | 'ipv4' | 'ipv6' | 'port' | 'frag';

export interface FieldDef {
  /** OVS's canonical name (mf_field.name), printed by set_field and match. */
  readonly name: string;
  /** Name printed in subfield syntax (`NXM_OF_ETH_SRC[]`): the NXM name, else the OXM name. */
  readonly nxm: string;
  /** Every accepted spelling (name, aliases, NXM and OXM names). */
  readonly names: readonly string[];
  /** The name and its aliases (what a match key may be, as OVS mf_from_name). */
  readonly mfNames: readonly string[];
  readonly nBits: number;
  /** Bytes it occupies in OpenFlow (mf_field.n_bytes): the bits rounded up, but 4 for ipv6_label's 20. */
  readonly nBytes: number;
  /**
   * Key words holding the field, most significant first. The field is bits
   * [shift, shift+nBits) of the big-endian concatenation of these words.
   */
  readonly words: readonly K[];
  readonly shift: number;
  readonly maskable: boolean;
  readonly writable: boolean;
  readonly prereq: Prereq;
  readonly format: FieldFormat;
  /**
   * Matched only: set_field, load, move, learn and subfield syntax do not
   * know it (writing it would need its header rewritten in the packet).
   */
  readonly matchOnly: boolean;
}

interface FieldInit {
  name: string;
  aliases?: string[];
  nxm?: string;
  oxm?: string;
  nBits: number;
  nBytes?: number;
  words: K[];
  shift?: number;
  maskable?: boolean;
  writable?: boolean;
  prereq?: Prereq;
  format: FieldFormat;
  matchOnly?: boolean;
}

function def(f: FieldInit): FieldDef {
  const mfNames = [f.name, ...(f.aliases ?? [])];
  const names = [...mfNames];
  if (f.nxm) names.push(f.nxm);
  if (f.oxm) names.push(f.oxm);
  return {
    name: f.name,
    nxm: f.nxm ?? f.oxm ?? f.name,
    names,
    mfNames,
    nBits: f.nBits,
    nBytes: f.nBytes ?? (f.nBits + 7) >> 3,
    words: f.words,
    shift: f.shift ?? 0,
    maskable: f.maskable ?? true,
    writable: f.writable ?? true,
    prereq: f.prereq ?? 'none',
    format: f.format,
    matchOnly: f.matchOnly ?? false,
  };
}

// Order and names follow include/openvswitch/meta-flow.h.
const FIELDS: FieldDef[] = [
  def({ name: 'tun_id', aliases: ['tunnel_id'], nxm: 'NXM_NX_TUN_ID', oxm: 'OXM_OF_TUNNEL_ID', nBits: 64, words: [K.TUN_ID_HI, K.TUN_ID_LO], format: 'hex' }),
  def({ name: 'tun_src', aliases: ['tun_ipv4_src'], nxm: 'NXM_NX_TUN_IPV4_SRC', nBits: 32, words: [K.TUN_SRC], format: 'ipv4' }),
  def({ name: 'tun_dst', aliases: ['tun_ipv4_dst'], nxm: 'NXM_NX_TUN_IPV4_DST', nBits: 32, words: [K.TUN_DST], format: 'ipv4' }),
  def({ name: 'metadata', oxm: 'OXM_OF_METADATA', nBits: 64, words: [K.METADATA_HI, K.METADATA_LO], format: 'hex' }),
  def({ name: 'in_port', nxm: 'NXM_OF_IN_PORT', nBits: 16, words: [K.IN_PORT], maskable: false, format: 'port' }),
  // The OXM in_port reads the same 16-bit OpenFlow 1.0 port number (OVS maps OF1.1 32-bit ports into it).
  def({ name: 'in_port_oxm', oxm: 'OXM_OF_IN_PORT', nBits: 32, words: [K.IN_PORT], maskable: false, format: 'port' }),
  def({ name: 'pkt_mark', nxm: 'NXM_NX_PKT_MARK', nBits: 32, words: [K.PKT_MARK], format: 'hex' }),
  def({ name: 'eth_src', aliases: ['dl_src'], nxm: 'NXM_OF_ETH_SRC', oxm: 'OXM_OF_ETH_SRC', nBits: 48, words: [K.DL_SRC_HI, K.DL_SRC_LO], format: 'mac' }),
  def({ name: 'eth_dst', aliases: ['dl_dst'], nxm: 'NXM_OF_ETH_DST', oxm: 'OXM_OF_ETH_DST', nBits: 48, words: [K.DL_DST_HI, K.DL_DST_LO], format: 'mac' }),
  def({ name: 'eth_type', aliases: ['dl_type'], nxm: 'NXM_OF_ETH_TYPE', oxm: 'OXM_OF_ETH_TYPE', nBits: 16, words: [K.DL_TYPE], maskable: false, writable: false, format: 'hex' }),
  def({ name: 'vlan_tci', nxm: 'NXM_OF_VLAN_TCI', nBits: 16, words: [K.VLAN_TCI], format: 'hex' }),
  // OF1.0 dl_vlan / dl_vlan_pcp: not in meta-flow's NXM table, matched specially (flow-parser.ts).
  def({ name: 'dl_vlan', nBits: 12, words: [K.VLAN_TCI], maskable: false, format: 'dec' }),
  def({ name: 'dl_vlan_pcp', nBits: 3, words: [K.VLAN_TCI], shift: 13, maskable: false, format: 'dec' }),
  // OF1.2+ vlan_vid: the 12-bit VID plus OFPVID_PRESENT (0x1000, the CFI bit).
  def({ name: 'vlan_vid', oxm: 'OXM_OF_VLAN_VID', nBits: 13, words: [K.VLAN_TCI], format: 'dec' }),
  def({ name: 'vlan_pcp', oxm: 'OXM_OF_VLAN_PCP', nBits: 3, words: [K.VLAN_TCI], shift: 13, maskable: false, prereq: 'vlan', format: 'dec' }),
  def({ name: 'ip_src', aliases: ['nw_src'], nxm: 'NXM_OF_IP_SRC', oxm: 'OXM_OF_IPV4_SRC', nBits: 32, words: [K.NW_SRC], prereq: 'ip', format: 'ipv4' }),
  def({ name: 'ip_dst', aliases: ['nw_dst'], nxm: 'NXM_OF_IP_DST', oxm: 'OXM_OF_IPV4_DST', nBits: 32, words: [K.NW_DST], prereq: 'ip', format: 'ipv4' }),
  def({ name: 'nw_proto', aliases: ['ip_proto'], nxm: 'NXM_OF_IP_PROTO', oxm: 'OXM_OF_IP_PROTO', nBits: 8, words: [K.NW_PROTO], maskable: false, writable: false, prereq: 'ipAny', format: 'dec' }),
  // nw_tos is the whole TOS byte with the ECN bits zero (OVS MFF_IP_DSCP).
  def({ name: 'nw_tos', nxm: 'NXM_OF_IP_TOS', nBits: 8, words: [K.NW_TOS], maskable: false, prereq: 'ipAny', format: 'dec' }),
  def({ name: 'ip_dscp', oxm: 'OXM_OF_IP_DSCP', nBits: 6, words: [K.NW_TOS], shift: 2, maskable: false, prereq: 'ipAny', format: 'dec' }),
  def({ name: 'nw_ecn', aliases: ['ip_ecn'], nxm: 'NXM_NX_IP_ECN', oxm: 'OXM_OF_IP_ECN', nBits: 2, words: [K.NW_TOS], maskable: false, prereq: 'ipAny', format: 'dec' }),
  def({ name: 'nw_ttl', nxm: 'NXM_NX_IP_TTL', nBits: 8, words: [K.NW_TTL], maskable: false, prereq: 'ipAny', format: 'dec' }),
  def({ name: 'ip_frag', aliases: ['nw_frag'], nxm: 'NXM_NX_IP_FRAG', nBits: 2, words: [K.NW_FRAG], writable: false, prereq: 'ipAny', format: 'frag' }),
  def({ name: 'arp_op', nxm: 'NXM_OF_ARP_OP', oxm: 'OXM_OF_ARP_OP', nBits: 16, words: [K.NW_PROTO], maskable: false, prereq: 'arp', format: 'dec' }),
  def({ name: 'arp_spa', nxm: 'NXM_OF_ARP_SPA', oxm: 'OXM_OF_ARP_SPA', nBits: 32, words: [K.NW_SRC], prereq: 'arp', format: 'ipv4' }),
  def({ name: 'arp_tpa', nxm: 'NXM_OF_ARP_TPA', oxm: 'OXM_OF_ARP_TPA', nBits: 32, words: [K.NW_DST], prereq: 'arp', format: 'ipv4' }),
  def({ name: 'arp_sha', nxm: 'NXM_NX_ARP_SHA', oxm: 'OXM_OF_ARP_SHA', nBits: 48, words: [K.ARP_SHA_HI, K.ARP_SHA_LO], prereq: 'arp', format: 'mac' }),
  def({ name: 'arp_tha', nxm: 'NXM_NX_ARP_THA', oxm: 'OXM_OF_ARP_THA', nBits: 48, words: [K.ARP_THA_HI, K.ARP_THA_LO], prereq: 'arp', format: 'mac' }),
  def({ name: 'ipv6_src', nxm: 'NXM_NX_IPV6_SRC', oxm: 'OXM_OF_IPV6_SRC', nBits: 128, words: [K.IPV6_SRC0, K.IPV6_SRC1, K.IPV6_SRC2, K.IPV6_SRC3], prereq: 'ipv6', format: 'ipv6', matchOnly: true }),
  def({ name: 'ipv6_dst', nxm: 'NXM_NX_IPV6_DST', oxm: 'OXM_OF_IPV6_DST', nBits: 128, words: [K.IPV6_DST0, K.IPV6_DST1, K.IPV6_DST2, K.IPV6_DST3], prereq: 'ipv6', format: 'ipv6', matchOnly: true }),
  def({ name: 'ipv6_label', nxm: 'NXM_NX_IPV6_LABEL', oxm: 'OXM_OF_IPV6_FLABEL', nBits: 20, nBytes: 4, words: [K.IPV6_LABEL], prereq: 'ipv6', format: 'hex', matchOnly: true }),
  // tp_src/tp_dst are OVS's aliases of tcp_src/tcp_dst; the storage is shared with udp/sctp.
  def({ name: 'tcp_src', aliases: ['tp_src'], nxm: 'NXM_OF_TCP_SRC', oxm: 'OXM_OF_TCP_SRC', nBits: 16, words: [K.TP_SRC], prereq: 'tcp', format: 'dec' }),
  def({ name: 'tcp_dst', aliases: ['tp_dst'], nxm: 'NXM_OF_TCP_DST', oxm: 'OXM_OF_TCP_DST', nBits: 16, words: [K.TP_DST], prereq: 'tcp', format: 'dec' }),
  def({ name: 'udp_src', nxm: 'NXM_OF_UDP_SRC', oxm: 'OXM_OF_UDP_SRC', nBits: 16, words: [K.TP_SRC], prereq: 'udp', format: 'dec' }),
  def({ name: 'udp_dst', nxm: 'NXM_OF_UDP_DST', oxm: 'OXM_OF_UDP_DST', nBits: 16, words: [K.TP_DST], prereq: 'udp', format: 'dec' }),
  def({ name: 'sctp_src', oxm: 'OXM_OF_SCTP_SRC', nBits: 16, words: [K.TP_SRC], prereq: 'sctp', format: 'dec' }),
  def({ name: 'sctp_dst', oxm: 'OXM_OF_SCTP_DST', nBits: 16, words: [K.TP_DST], prereq: 'sctp', format: 'dec' }),
  def({ name: 'icmp_type', aliases: ['icmpv4_type'], nxm: 'NXM_OF_ICMP_TYPE', oxm: 'OXM_OF_ICMPV4_TYPE', nBits: 8, words: [K.TP_SRC], maskable: false, prereq: 'icmp', format: 'dec' }),
  def({ name: 'icmp_code', aliases: ['icmpv4_code'], nxm: 'NXM_OF_ICMP_CODE', oxm: 'OXM_OF_ICMPV4_CODE', nBits: 8, words: [K.TP_DST], maskable: false, prereq: 'icmp', format: 'dec' }),
  def({ name: 'icmpv6_type', nxm: 'NXM_NX_ICMPV6_TYPE', oxm: 'OXM_OF_ICMPV6_TYPE', nBits: 8, words: [K.TP_SRC], maskable: false, prereq: 'icmp6', format: 'dec' }),
  def({ name: 'icmpv6_code', nxm: 'NXM_NX_ICMPV6_CODE', oxm: 'OXM_OF_ICMPV6_CODE', nBits: 8, words: [K.TP_DST], maskable: false, prereq: 'icmp6', format: 'dec' }),
  def({ name: 'nd_target', nxm: 'NXM_NX_ND_TARGET', oxm: 'OXM_OF_IPV6_ND_TARGET', nBits: 128, words: [K.ND_TARGET0, K.ND_TARGET1, K.ND_TARGET2, K.ND_TARGET3], prereq: 'nd', format: 'ipv6', matchOnly: true }),
  def({ name: 'nd_sll', nxm: 'NXM_NX_ND_SLL', oxm: 'OXM_OF_IPV6_ND_SLL', nBits: 48, words: [K.ARP_SHA_HI, K.ARP_SHA_LO], prereq: 'ndSolicit', format: 'mac', matchOnly: true }),
  def({ name: 'nd_tll', nxm: 'NXM_NX_ND_TLL', oxm: 'OXM_OF_IPV6_ND_TLL', nBits: 48, words: [K.ARP_THA_HI, K.ARP_THA_LO], prereq: 'ndAdvert', format: 'mac', matchOnly: true }),
];

for (let i = 0; i < 16; i++) {
  FIELDS.push(def({ name: `reg${i}`, nxm: `NXM_NX_REG${i}`, nBits: 32, words: [K.REG0 + i], format: 'hex' }));
}
for (let i = 0; i < 8; i++) {
  // xregN is regs 2N (high half) and 2N+1 (low half), as OVS flow_get_xreg.
  FIELDS.push(def({ name: `xreg${i}`, oxm: `OXM_OF_PKT_REG${i}`, nBits: 64, words: [K.REG0 + 2 * i, K.REG0 + 2 * i + 1], format: 'hex' }));
}

const BY_NAME = new Map<string, FieldDef>();
const BY_MF_NAME = new Map<string, FieldDef>();
for (const f of FIELDS) {
  if (!f.matchOnly) for (const n of f.names) BY_NAME.set(n, f);
  for (const n of f.mfNames) BY_MF_NAME.set(n, f);
}

/**
 * A field by any spelling, as subfield syntax (`NXM_OF_ETH_SRC[]`,
 * `eth_src[0..7]`) and set_field accept: OVS names and aliases exactly,
 * NXM/OXM names case-insensitively.
 */
export function fieldByName(name: string): FieldDef | undefined {
  return BY_NAME.get(name) ?? (/^(nxm|oxm)_/i.test(name) ? BY_NAME.get(name.toUpperCase()) : undefined);
}

/** A field by its OVS name or alias only (mf_from_name), as match keys are looked up. */
export function fieldByMfName(name: string): FieldDef | undefined {
  return BY_MF_NAME.get(name);
}

/** Bytes the field occupies in OpenFlow (mf_field.n_bytes). */
export function fieldBytes(f: FieldDef): number {
  return f.nBytes;
}

/** The canonical field of a given OVS name; throws for a name not in the table (a programming error). */
export function field(name: string): FieldDef {
  const f = BY_NAME.get(name);
  if (!f) throw new Error(`no field ${name}`);
  return f;
}

export const ALL_FIELDS: readonly FieldDef[] = FIELDS;

/** All-ones bigint of n bits. */
export function ones(n: number): bigint {
  return (1n << BigInt(n)) - 1n;
}

/** Bits [lo, lo+n) of a Match/FlowKey word array as a bigint, per a field's layout. */
function readBits(words: ArrayLike<number>, f: FieldDef): bigint {
  let v = 0n;
  for (const w of f.words) v = (v << 32n) | BigInt(words[w]! >>> 0);
  return v >> BigInt(f.shift);
}

/** The field's value in a key (or a match's value/mask arrays), right-aligned. */
export function readField(words: ArrayLike<number>, f: FieldDef): bigint {
  return readBits(words, f) & ones(f.nBits);
}

/** Writes `(field & ~mask) | (value & mask)` into key words (mask right-aligned, default all ones). */
export function writeField(words: Uint32Array, f: FieldDef, value: bigint, mask: bigint = ones(f.nBits)): void {
  const m = (mask & ones(f.nBits)) << BigInt(f.shift);
  const v = (value << BigInt(f.shift)) & m;
  for (let i = f.words.length - 1, sh = 0n; i >= 0; i--, sh += 32n) {
    const wm = Number((m >> sh) & 0xffffffffn);
    if (wm === 0) continue;
    const wv = Number((v >> sh) & 0xffffffffn);
    const w = f.words[i]!;
    words[w] = ((words[w]! & ~wm) | wv) >>> 0;
  }
}

/** Reads `field[ofs..ofs+nBits)` right-aligned. */
export function readSubfield(words: ArrayLike<number>, sf: { field: FieldDef; ofs: number; nBits: number }): bigint {
  return (readBits(words, sf.field) >> BigInt(sf.ofs)) & ones(sf.nBits);
}

/** Writes `value` (right-aligned) into `field[ofs..ofs+nBits)`. */
export function writeSubfield(words: Uint32Array, sf: { field: FieldDef; ofs: number; nBits: number }, value: bigint): void {
  writeField(words, sf.field, value << BigInt(sf.ofs), ones(sf.nBits) << BigInt(sf.ofs));
}
