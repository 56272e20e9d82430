// Prints matches and flows exactly as ovs-ofctl does: the match in
// lib/match.c match_format order and spelling, the flow line as
// lib/ofp-flow.c ofputil_flow_stats_format (dump-flows, --no-stats).
import { formatActions, type ActionDialect } from './action-printer.js';
import { formatIpv4Masked, formatIpv6Masked, formatMacMasked } from './field-format.js';
import { K } from './flow-key.js';
import { DEFAULT_PRIORITY, type FlowSpec } from './flow.js';
import type { Match } from './match.js';
import { ETH_TYPE, IPPROTO, ND_ADVERT, ND_SOLICIT } from './match-edit.js';
import { formatPort, type PortNamer } from './port-names.js';

const hx = (n: number): string => '0x' + (n >>> 0).toString(16);
/** C's "%#x": 0 prints as "0". */
const sharpX = (n: number | bigint): string => (BigInt(n) === 0n ? '0' : '0x' + BigInt(n).toString(16));

function mac(m: Match, hi: K, lo: K): [bigint, bigint] {
  const v = (BigInt(m.value[hi]! & 0xffff) << 32n) | BigInt(m.value[lo]! >>> 0);
  const k = (BigInt(m.mask[hi]! & 0xffff) << 32n) | BigInt(m.mask[lo]! >>> 0);
  return [v, k];
}

function u64(m: Match, hi: K, lo: K): [bigint, bigint] {
  return [
    (BigInt(m.value[hi]! >>> 0) << 32n) | BigInt(m.value[lo]! >>> 0),
    (BigInt(m.mask[hi]! >>> 0) << 32n) | BigInt(m.mask[lo]! >>> 0),
  ];
}

/**
 * match_format: the match (and priority unless 32768) as a comma-separated
 * list, empty for a catch-all at the default priority.
 */
export function formatMatch(m: Match, priority: number = DEFAULT_PRIORITY, namer?: PortNamer): string {
  const out: string[] = [];
  const V = m.value;
  const M = m.mask;
  const put = (s: string): void => {
    out.push(s);
  };
  const u32masked = (name: string, w: K): void => {
    const mk = M[w]! >>> 0;
    if (!mk) return;
    put(`${name}=${sharpX(V[w]! >>> 0)}${mk !== 0xffffffff ? `/${sharpX(mk)}` : ''}`);
  };
  const be16masked = (name: string, w: K): void => {
    const mk = M[w]! & 0xffff;
    if (!mk) return;
    const v = V[w]! & 0xffff;
    put(mk === 0xffff ? `${name}=${v}` : `${name}=${hx(v)}/${hx(mk)}`);
  };
  const ipMasked = (name: string, w: K): void => {
    if (M[w]) put(`${name}=${formatIpv4Masked(V[w]! >>> 0, M[w]! >>> 0)}`);
  };
  const ethMasked = (name: string, hi: K, lo: K): void => {
    const [v, k] = mac(m, hi, lo);
    if (k) put(`${name}=${formatMacMasked(v, k)}`);
  };
  /** format_ipv6_netmask: four words from `w0`, most significant first. */
  const ipv6Masked = (name: string, w0: K): void => {
    let v = 0n, k = 0n;
    for (let i = 0; i < 4; i++) {
      v = (v << 32n) | BigInt(V[w0 + i]! >>> 0);
      k = (k << 32n) | BigInt(M[w0 + i]! >>> 0);
    }
    if (k) put(`${name}=${formatIpv6Masked(v, k)}`);
  };
  const be64masked = (name: string, hi: K, lo: K): void => {
    const [v, k] = u64(m, hi, lo);
    if (k) put(`${name}=${sharpX(v)}${k !== 0xffffffffffffffffn ? `/${sharpX(k)}` : ''}`);
  };

  if (priority !== DEFAULT_PRIORITY) put(`priority=${priority}`);
  u32masked('pkt_mark', K.PKT_MARK);

  const dlType = V[K.DL_TYPE]! & M[K.DL_TYPE]!;
  const proto = V[K.NW_PROTO]! & 0xff;
  let skipType = false;
  let skipProto = false;
  if (M[K.DL_TYPE]) {
    skipType = true;
    const hasProto = M[K.NW_PROTO] !== 0;
    if (dlType === ETH_TYPE.IP) {
      const names: Record<number, string> = { [IPPROTO.ICMP]: 'icmp', [IPPROTO.IGMP]: 'igmp', [IPPROTO.TCP]: 'tcp', [IPPROTO.UDP]: 'udp', [IPPROTO.SCTP]: 'sctp' };
      const n = hasProto ? names[proto] : undefined;
      put(n ?? 'ip');
      skipProto = n !== undefined;
    } else if (dlType === ETH_TYPE.IPV6) {
      const names: Record<number, string> = { [IPPROTO.ICMPV6]: 'icmp6', [IPPROTO.TCP]: 'tcp6', [IPPROTO.UDP]: 'udp6', [IPPROTO.SCTP]: 'sctp6' };
      const n = hasProto ? names[proto] : undefined;
      put(n ?? 'ipv6');
      skipProto = n !== undefined;
    } else if (dlType === ETH_TYPE.ARP) put('arp');
    else if (dlType === ETH_TYPE.RARP) put('rarp');
    else if (dlType === ETH_TYPE.MPLS) put('mpls');
    else if (dlType === ETH_TYPE.MPLSM) put('mplsm');
    else skipType = false;
  }

  for (let i = 0; i < 16; i++) u32masked(`reg${i}`, K.REG0 + i);
  be64masked('tun_id', K.TUN_ID_HI, K.TUN_ID_LO);
  ipMasked('tun_src', K.TUN_SRC);
  ipMasked('tun_dst', K.TUN_DST);
  be64masked('metadata', K.METADATA_HI, K.METADATA_LO);
  if (M[K.IN_PORT]) put(`in_port=${formatPort(V[K.IN_PORT]!, namer)}`);

  const tciMask = M[K.VLAN_TCI]! & 0xffff;
  if (tciMask) {
    const tci = V[K.VLAN_TCI]! & 0xffff;
    const vidMask = tciMask & 0x0fff;
    const pcpMask = tciMask & 0xe000;
    const cfi = tciMask & 0x1000;
    if (cfi && tci & 0x1000 && (!vidMask || vidMask === 0x0fff) && (!pcpMask || pcpMask === 0xe000) && (vidMask || pcpMask)) {
      if (vidMask) put(`dl_vlan=${tci & 0xfff}`);
      if (pcpMask) put(`dl_vlan_pcp=${tci >> 13}`);
    } else if (tciMask === 0xffff) {
      put(`vlan_tci=0x${tci.toString(16).padStart(4, '0')}`);
    } else {
      put(`vlan_tci=0x${tci.toString(16).padStart(4, '0')}/0x${tciMask.toString(16).padStart(4, '0')}`);
    }
  }

  ethMasked('dl_src', K.DL_SRC_HI, K.DL_SRC_LO);
  ethMasked('dl_dst', K.DL_DST_HI, K.DL_DST_LO);
  if (!skipType && M[K.DL_TYPE]) put(`dl_type=0x${dlType.toString(16).padStart(4, '0')}`);

  const isArp = dlType === ETH_TYPE.ARP || dlType === ETH_TYPE.RARP;
  if (dlType === ETH_TYPE.IPV6) {
    ipv6Masked('ipv6_src', K.IPV6_SRC0);
    ipv6Masked('ipv6_dst', K.IPV6_DST0);
    const lm = M[K.IPV6_LABEL]! & 0xfffff;
    const lv = (V[K.IPV6_LABEL]! & 0xfffff).toString(16).padStart(5, '0');
    if (lm) put(lm === 0xfffff ? `ipv6_label=0x${lv}` : `ipv6_label=0x${lv}/0x${lm.toString(16).padStart(5, '0')}`);
  } else if (isArp) {
    ipMasked('arp_spa', K.NW_SRC);
    ipMasked('arp_tpa', K.NW_DST);
  } else {
    ipMasked('nw_src', K.NW_SRC);
    ipMasked('nw_dst', K.NW_DST);
  }
  if (!skipProto && M[K.NW_PROTO]) put(`${isArp ? 'arp_op' : 'nw_proto'}=${proto}`);
  if (isArp) {
    ethMasked('arp_sha', K.ARP_SHA_HI, K.ARP_SHA_LO);
    ethMasked('arp_tha', K.ARP_THA_HI, K.ARP_THA_LO);
  }
  if (M[K.NW_TOS]! & 0xfc) put(`nw_tos=${V[K.NW_TOS]! & 0xfc}`);
  if (M[K.NW_TOS]! & 0x03) put(`nw_ecn=${V[K.NW_TOS]! & 0x03}`);
  if (M[K.NW_TTL]) put(`nw_ttl=${V[K.NW_TTL]}`);
  const fragMask = M[K.NW_FRAG]! & 3;
  if (fragMask) {
    const f = V[K.NW_FRAG]! & 3;
    if (fragMask === 3) put(`nw_frag=${f & 1 ? (f & 2 ? 'later' : 'first') : f & 2 ? '<error>' : 'no'}`);
    else if (fragMask === 1) put(`nw_frag=${f & 1 ? 'yes' : 'no'}`);
    else put(`nw_frag=${f & 2 ? 'later' : 'not_later'}`);
  }
  if ((dlType === ETH_TYPE.IP && proto === IPPROTO.ICMP) || (dlType === ETH_TYPE.IPV6 && proto === IPPROTO.ICMPV6)) {
    be16masked('icmp_type', K.TP_SRC);
    be16masked('icmp_code', K.TP_DST);
    // is_nd: an ICMPv6 neighbour solicitation or advertisement, code 0.
    const type = V[K.TP_SRC]! & 0xffff;
    if (dlType === ETH_TYPE.IPV6 && (V[K.TP_DST]! & 0xffff) === 0 && (type === ND_SOLICIT || type === ND_ADVERT)) {
      ipv6Masked('nd_target', K.ND_TARGET0);
      ethMasked('nd_sll', K.ARP_SHA_HI, K.ARP_SHA_LO);
      ethMasked('nd_tll', K.ARP_THA_HI, K.ARP_THA_LO);
    }
  } else if (dlType === ETH_TYPE.IP && proto === IPPROTO.IGMP) {
    be16masked('igmp_type', K.TP_SRC);
    be16masked('igmp_code', K.TP_DST);
  } else {
    be16masked('tp_src', K.TP_SRC);
    be16masked('tp_dst', K.TP_DST);
  }
  return out.join(',');
}

export interface FlowPrintOptions {
  /** Names ofports (--names); quoted per OVS's rule. Without it ports print as numbers. */
  portName?: PortNamer;
  /** Action spelling; 'of10' is plain `ovs-ofctl dump-flows`. */
  dialect?: ActionDialect;
  /** Print duration, n_packets, n_bytes, idle_age, hard_age (false = --no-stats). Default: true if flow.stats is set. */
  stats?: boolean;
  /** Print send_flow_rem/reset_counts/... (only OF1.3 replies carry them). Default: dialect !== 'of10'. */
  flags?: boolean;
  /** Print importance (only OF1.4+ replies carry it). Default false. */
  importance?: boolean;
  /**
   * With stats, the ages the reply carries: idle_age and hard_age (NXST_FLOW's flow-age extension),
   * idle_age alone (OF1.5's idle_time) or none. Default: both for 'of10', else none.
   */
  ages?: 'idle+hard' | 'idle' | 'none';
}

/** The OpenFlow versions dpemu's ovs-ofctl speaks: 1.0 (ovs-ofctl's default) and 1.3 to 1.5 (-O). */
export type OfVersion = 10 | 13 | 14 | 15;

/**
 * How ovs-ofctl 3.1 dump-flows prints a reply of `version`: OF1.1+ actions,
 * flags from OF1.3 on, importance from OF1.4 on. The flow-age extension's
 * ages come only with the NXST reply printed as it came, not with --names,
 * where ovs-ofctl decodes the flows itself without it (vconn_dump_flows);
 * OF1.5's idle_time is in every reply.
 */
export function dumpFlowsPrintOptions(version: OfVersion, stats: boolean, names: boolean): FlowPrintOptions {
  if (version === 10) return { dialect: 'of10', stats, ages: names ? 'none' : 'idle+hard' };
  return { dialect: version === 15 ? 'of15' : 'of13', stats, importance: version >= 14, ages: version === 15 ? 'idle' : 'none' };
}

/** ofp_print_duration: whole seconds, 3 decimals for whole milliseconds, else up to 9. */
export function formatDuration(sec: number, nsec: number): string {
  if (nsec <= 0) return `${sec}s`;
  if (nsec % 1_000_000 === 0) return `${sec}.${String(nsec / 1_000_000).padStart(3, '0')}s`;
  return `${sec}.${String(nsec).padStart(9, '0').replace(/0+$/, '')}s`;
}

/**
 * One flow as ofputil_flow_stats_format prints it, without the leading space
 * ovs-ofctl puts before each dump line.
 */
export function formatFlow(flow: FlowSpec, opts: FlowPrintOptions = {}): string {
  const dialect = opts.dialect ?? 'of10';
  const showStats = opts.stats ?? flow.stats !== undefined;
  const showFlags = opts.flags ?? dialect !== 'of10';
  const st = flow.stats;
  let s = '';
  if (showStats || flow.cookie !== 0n) s += `cookie=0x${flow.cookie.toString(16)}, `;
  if (showStats) s += `duration=${formatDuration(st?.durationSec ?? 0, st?.durationNsec ?? 0)}, `;
  if (showStats || flow.table !== 0) s += `table=${flow.table}, `;
  if (showStats) s += `n_packets=${st?.nPackets ?? 0n}, n_bytes=${st?.nBytes ?? 0n}, `;
  if (flow.idleTimeout) s += `idle_timeout=${flow.idleTimeout}, `;
  if (flow.hardTimeout) s += `hard_timeout=${flow.hardTimeout}, `;
  if (showFlags) {
    const f = flow.flags;
    if (f.sendFlowRem) s += 'send_flow_rem ';
    if (f.checkOverlap) s += 'check_overlap ';
    if (f.resetCounts) s += 'reset_counts ';
    if (f.noPacketCounts) s += 'no_packet_counts ';
    if (f.noByteCounts) s += 'no_byte_counts ';
  }
  if (opts.importance && flow.importance) s += `importance=${flow.importance}, `;
  const ages = opts.ages ?? (dialect === 'of10' ? 'idle+hard' : 'none');
  if (showStats && ages !== 'none' && st) {
    if (st.idleAge !== undefined) s += `idle_age=${st.idleAge}, `;
    if (ages === 'idle+hard' && st.hardAge !== undefined && st.hardAge !== st.durationSec) s += `hard_age=${st.hardAge}, `;
  }
  const match = formatMatch(flow.match, flow.priority, opts.portName);
  if (match) s += match + ' ';
  s += 'actions=' + formatActions(flow.actions, { dialect, match: flow.match, ...(opts.portName ? { portName: opts.portName } : {}) });
  return s;
}

/** `ovs-ofctl dump-flows` body: each flow on its own line with OVS's leading space. */
export function formatDumpFlows(flows: readonly FlowSpec[], opts: FlowPrintOptions = {}): string {
  return flows.map((f) => ' ' + formatFlow(f, opts)).join('\n');
}

/** A flow in add-flow syntax (no stats; flags and importance kept) that parses back to the same flow. */
export function formatAddFlow(flow: FlowSpec, opts: Omit<FlowPrintOptions, 'stats' | 'flags' | 'importance'> = {}): string {
  return formatFlow(flow, { ...opts, stats: false, flags: true, importance: true });
}
