// Prints action lists as OVS does. A dump shows the actions after the switch
// re-encoded them for the OpenFlow version ovs-ofctl speaks and ovs-ofctl
// decoded them again (lib/ofp-actions.c encode_* / decode_*), so printing in
// a dialect = reencode() then the stored-form printer (ofpacts_format).
import { OFPP, type Action, type Subfield } from './actions.js';
import { formatFieldValue, formatIpv4, formatMac, hex } from './field-format.js';
import { field, ones, type FieldDef } from './fields.js';
import { K } from './flow-key.js';
import { formatLearn } from './learn-syntax.js';
import type { Match } from './match.js';
import { IPPROTO } from './match-edit.js';
import { formatPort, type PortNamer } from './port-names.js';
import { formatSubfield } from './subfield.js';

/**
 * 'of10': default `ovs-ofctl dump-flows` (OpenFlow 1.0 + NXM): goto_table
 *   prints as resubmit(,N), push_vlan+set_field vlan_vid as mod_vlan_vid,
 *   set_field as mod_dl_src / load:...->NXM_...
 * 'of13': `ovs-ofctl -O OpenFlow13 dump-flows` (and 1.4).
 * 'of15': `-O OpenFlow15`: as 'of13', but every load is a set_field, a
 *   partial one with a mask (encode_SET_FIELD: OF1.5 drops reg_load).
 * 'stored': the actions as held by the switch (what ofproto/trace and
 *   `ovs-ofctl parse-flows` print).
 */
export type ActionDialect = 'of10' | 'of13' | 'of15' | 'stored';

export interface ActionPrintOptions {
  dialect?: ActionDialect;
  portName?: PortNamer;
  /** The flow's match: OF1.3 re-encoding depends on it (VLAN presence, L4 protocol). */
  match?: Match;
}

const F = {
  vlanVid: field('vlan_vid'),
  vlanPcp: field('vlan_pcp'),
  vlanTci: field('vlan_tci'),
  ethSrc: field('eth_src'),
  ethDst: field('eth_dst'),
  ipSrc: field('ip_src'),
  ipDst: field('ip_dst'),
  nwTos: field('nw_tos'),
  ipDscp: field('ip_dscp'),
  nwEcn: field('nw_ecn'),
  nwTtl: field('nw_ttl'),
  tunId: field('tun_id'),
  tcpSrc: field('tcp_src'),
  tcpDst: field('tcp_dst'),
  udpSrc: field('udp_src'),
  udpDst: field('udp_dst'),
  sctpSrc: field('sctp_src'),
  sctpDst: field('sctp_dst'),
};

function full(f: FieldDef): Subfield {
  return { field: f, ofs: 0, nBits: f.nBits };
}

/** next_load_segment: a set_field as load actions, one per contiguous run of mask bits (≤ 64). */
function loadSegments(f: FieldDef, value: bigint, mask: bigint): Action[] {
  const out: Action[] = [];
  let ofs = 0;
  while (ofs < f.nBits) {
    while (ofs < f.nBits && !((mask >> BigInt(ofs)) & 1n)) ofs++;
    if (ofs >= f.nBits) break;
    let end = ofs;
    while (end < f.nBits && end - ofs < 64 && (mask >> BigInt(end)) & 1n) end++;
    const n = end - ofs;
    out.push({ kind: 'load', dst: { field: f, ofs, nBits: n }, value: (value >> BigInt(ofs)) & ones(n) });
    ofs = end;
  }
  return out;
}

// OFPAT_SET_NW_TOS etc. for OF1.0 (set_field_to_legacy_openflow).
function setFieldToOf10(a: Extract<Action, { kind: 'setField' }>): Action[] {
  const v = a.value;
  switch (a.field.name) {
    case 'vlan_tci': {
      const tci = Number(v);
      if (tci & 0x1000) {
        return [
          { kind: 'modVlanVid', vid: tci & 0xfff, pushIfNeeded: true },
          { kind: 'modVlanPcp', pcp: tci >> 13, pushIfNeeded: true },
        ];
      }
      return [{ kind: 'stripVlan', pop: false }];
    }
    case 'vlan_vid':
      return [{ kind: 'modVlanVid', vid: Number(v) & 0xfff, pushIfNeeded: true }];
    case 'vlan_pcp':
      return [{ kind: 'modVlanPcp', pcp: Number(v), pushIfNeeded: true }];
    case 'eth_src':
      return [{ kind: 'modDlSrc', mac: Number(v) }];
    case 'eth_dst':
      return [{ kind: 'modDlDst', mac: Number(v) }];
    case 'ip_src':
      return [{ kind: 'modNwSrc', ip: Number(v) }];
    case 'ip_dst':
      return [{ kind: 'modNwDst', ip: Number(v) }];
    case 'nw_tos':
      return [{ kind: 'modNwTos', tos: Number(v) }];
    case 'ip_dscp':
      return [{ kind: 'modNwTos', tos: (Number(v) << 2) & 0xff }];
    case 'nw_ecn':
      return [{ kind: 'load', dst: full(F.nwEcn), value: v }];
    case 'tcp_src':
    case 'udp_src':
      return [{ kind: 'modTpSrc', port: Number(v) }];
    case 'tcp_dst':
    case 'udp_dst':
      return [{ kind: 'modTpDst', port: Number(v) }];
    default:
      return loadSegments(a.field, a.value, a.mask);
  }
}

/** An OpenFlow 1.5 set_field for a load: the subfield's bits as the mask. */
function loadAsSetField(a: Extract<Action, { kind: 'load' }>): Action {
  const { field, ofs, nBits } = a.dst;
  const mask = ones(nBits) << BigInt(ofs);
  return { kind: 'setField', field, value: a.value << BigInt(ofs), mask, ...(mask === ones(field.nBits) && field.nBits % 8 ? { bitsMask: true as const } : {}) };
}

/** Pads a note's payload as the NXAST_NOTE encoding does (action length a multiple of 8). */
function padNote(data: Uint8Array): Uint8Array {
  const len = Math.ceil((10 + data.length) / 8) * 8 - 10;
  const out = new Uint8Array(len);
  out.set(data);
  return out;
}

/** The actions as they come back after encoding for `dialect` and decoding. */
export function reencode(actions: readonly Action[], dialect: ActionDialect, match?: Match): Action[] {
  if (dialect === 'stored') return [...actions];
  const out: Action[] = [];
  let hasVlan = match ? (match.value[K.VLAN_TCI]! & 0x1000) !== 0 : false;
  const proto = match ? match.value[K.NW_PROTO]! & match.mask[K.NW_PROTO]! : 0;
  const of10 = dialect === 'of10';
  const of15 = dialect === 'of15';
  for (const a of actions) {
    switch (a.kind) {
      case 'gotoTable':
        out.push(of10 ? { kind: 'resubmit', table: a.table } : a);
        break;
      case 'modVlanVid':
        if (of10) out.push({ ...a, pushIfNeeded: true });
        else {
          if (a.pushIfNeeded && !hasVlan) out.push({ kind: 'pushVlan', ethertype: 0x8100 });
          out.push({ kind: 'setField', field: F.vlanVid, value: BigInt(a.vid | 0x1000), mask: ones(F.vlanVid.nBits) });
        }
        if (a.pushIfNeeded) hasVlan = true;
        break;
      case 'modVlanPcp':
        if (of10) out.push({ ...a, pushIfNeeded: true });
        else {
          if (a.pushIfNeeded && !hasVlan) out.push({ kind: 'pushVlan', ethertype: 0x8100 });
          out.push({ kind: 'setField', field: F.vlanPcp, value: BigInt(a.pcp), mask: ones(3) });
        }
        if (a.pushIfNeeded) hasVlan = true;
        break;
      case 'stripVlan':
        out.push({ kind: 'stripVlan', pop: !of10 });
        hasVlan = false;
        break;
      case 'pushVlan':
        if (!of10) out.push(a); // OF1.0 has no push: the following mod_vlan_vid carries it
        hasVlan = true;
        break;
      case 'modDlSrc':
      case 'modDlDst':
        out.push(of10 ? a : { kind: 'setField', field: a.kind === 'modDlSrc' ? F.ethSrc : F.ethDst, value: BigInt(a.mac), mask: ones(48) });
        break;
      case 'modNwSrc':
      case 'modNwDst':
        out.push(of10 ? a : { kind: 'setField', field: a.kind === 'modNwSrc' ? F.ipSrc : F.ipDst, value: BigInt(a.ip >>> 0), mask: ones(32) });
        break;
      case 'modNwTos':
        out.push(of10 ? a : { kind: 'setField', field: F.ipDscp, value: BigInt(a.tos >> 2), mask: ones(6) });
        break;
      case 'modNwEcn':
        out.push(of10 ? { kind: 'load', dst: full(F.nwEcn), value: BigInt(a.ecn) } : { kind: 'setField', field: F.nwEcn, value: BigInt(a.ecn), mask: ones(2) });
        break;
      case 'modNwTtl':
        out.push(of10 ? { kind: 'load', dst: full(F.nwTtl), value: BigInt(a.ttl) } : a);
        break;
      case 'modTpSrc':
      case 'modTpDst': {
        const src = a.kind === 'modTpSrc';
        const f = proto === IPPROTO.TCP ? (src ? F.tcpSrc : F.tcpDst) : proto === IPPROTO.UDP ? (src ? F.udpSrc : F.udpDst) : proto === IPPROTO.SCTP ? (src ? F.sctpSrc : F.sctpDst) : undefined;
        out.push(of10 || !f ? a : { kind: 'setField', field: f, value: BigInt(a.port), mask: ones(16) });
        break;
      }
      case 'setField':
        if (of10) out.push(...setFieldToOf10(a));
        else if (of15 || (a.mask === ones(a.field.nBits) && !a.bitsMask)) out.push(a);
        else out.push(...loadSegments(a.field, a.value, a.mask));
        if (a.field === F.vlanTci) hasVlan = (Number(a.value) & 0x1000) !== 0;
        break;
      case 'setTunnel':
        out.push(of10 ? { ...a, wide: a.wide || a.id > 0xffffffffn } : { kind: 'setField', field: F.tunId, value: a.id, mask: ones(64) });
        break;
      case 'load':
        out.push(of15 ? loadAsSetField(a) : a);
        break;
      case 'note':
        out.push({ kind: 'note', data: padNote(a.data) });
        break;
      case 'ct':
        out.push({ ...a, exec: reencode(a.exec, dialect) });
        break;
      default:
        out.push(a);
    }
  }
  return out;
}

function formatOne(a: Action, namer?: PortNamer): string {
  switch (a.kind) {
    case 'output': {
      const p = formatPort(a.port, namer);
      if (a.port === OFPP.CONTROLLER) return `${p}:${a.maxLen ?? 0xffff}`;
      return a.port < OFPP.MAX ? `output:${p}` : p;
    }
    case 'outputReg':
      return `output:${formatSubfield(a.src)}`;
    case 'controller': {
      const parts: string[] = [];
      if (a.reason !== 'action') parts.push(`reason=${a.reason}`);
      if (a.maxLen !== 0xffff) parts.push(`max_len=${a.maxLen}`);
      if (a.id !== 0) parts.push(`id=${a.id}`);
      return `controller(${parts.join(',')})`;
    }
    case 'resubmit':
      if (a.port !== undefined && a.table === undefined) return `resubmit:${formatPort(a.port, namer)}`;
      return `resubmit(${a.port !== undefined ? formatPort(a.port, namer) : ''},${a.table ?? ''}${a.ct ? ',ct' : ''})`;
    case 'gotoTable':
      return `goto_table:${a.table}`;
    case 'modVlanVid':
      return `${a.pushIfNeeded ? 'mod_vlan_vid' : 'set_vlan_vid'}:${a.vid}`;
    case 'modVlanPcp':
      return `${a.pushIfNeeded ? 'mod_vlan_pcp' : 'set_vlan_pcp'}:${a.pcp}`;
    case 'stripVlan':
      return a.pop ? 'pop_vlan' : 'strip_vlan';
    case 'pushVlan':
      return `push_vlan:${hex(a.ethertype)}`;
    case 'modDlSrc':
      return `mod_dl_src:${formatMac(a.mac)}`;
    case 'modDlDst':
      return `mod_dl_dst:${formatMac(a.mac)}`;
    case 'modNwSrc':
      return `mod_nw_src:${formatIpv4(a.ip)}`;
    case 'modNwDst':
      return `mod_nw_dst:${formatIpv4(a.ip)}`;
    case 'modNwTos':
      return `mod_nw_tos:${a.tos}`;
    case 'modNwEcn':
      return `mod_nw_ecn:${a.ecn}`;
    case 'modNwTtl':
      return `mod_nw_ttl:${a.ttl}`;
    case 'modTpSrc':
      return `mod_tp_src:${a.port}`;
    case 'modTpDst':
      return `mod_tp_dst:${a.port}`;
    case 'setField':
      if (a.bitsMask) return `set_field:${formatFieldValue(a.field, a.value, undefined, namer)}/${hex(a.mask)}->${a.field.name}`;
      return `set_field:${formatFieldValue(a.field, a.value, a.mask, namer)}->${a.field.name}`;
    case 'load':
      return `load:${hex(a.value)}->${formatSubfield(a.dst)}`;
    case 'move':
      return `move:${formatSubfield(a.src)}->${formatSubfield(a.dst)}`;
    case 'setTunnel':
      return `set_tunnel${a.wide || a.id > 0xffffffffn ? '64' : ''}:${hex(a.id)}`;
    case 'decTtl':
      return a.ids.length ? `dec_ttl(${a.ids.join(',')})` : 'dec_ttl';
    case 'note':
      return `note:${[...a.data].map((b) => b.toString(16).padStart(2, '0')).join('.')}`;
    case 'learn':
      return formatLearn(a.spec, namer);
    case 'writeMetadata':
      return `write_metadata:${hex(a.value)}${a.mask !== ones(64) ? `/${hex(a.mask)}` : ''}`;
    case 'ct': {
      const parts: string[] = [];
      if (a.commit) parts.push('commit');
      if (a.force) parts.push('force');
      if (a.table !== undefined) parts.push(`table=${a.table}`);
      if (a.zoneSrc) parts.push(`zone=${formatSubfield(a.zoneSrc)}`);
      else if (a.zone) parts.push(`zone=${a.zone}`);
      if (a.nat !== undefined) parts.push(a.nat ? `nat(${a.nat})` : 'nat');
      if (a.exec.length) parts.push(`exec(${formatActionList(a.exec, namer)})`);
      if (a.alg) parts.push(`alg=${a.alg === 21 ? 'ftp' : a.alg === 69 ? 'tftp' : a.alg}`);
      return `ct(${parts.join(',')})`;
    }
    case 'ctClear':
      return 'ct_clear';
  }
}

function formatActionList(actions: readonly Action[], namer?: PortNamer): string {
  return actions.map((a) => formatOne(a, namer)).join(',');
}

/** ofpacts_format after re-encoding for the dialect; an empty list prints as "drop". */
export function formatActions(actions: readonly Action[], opts: ActionPrintOptions = {}): string {
  const list = reencode(actions, opts.dialect ?? 'of10', opts.match);
  return list.length ? formatActionList(list, opts.portName) : 'drop';
}
