// Flow actions compiled once per flow into numeric operations for the
// executor: constants pre-split into per-key-word (keep-mask, value) triples,
// subfields into bit segments, so no bigint is touched per packet. Each write
// also records which packet-visible parts of the flow it dirties.
import { OFPP, type Action } from './actions.js';
import type { FieldDef, Prereq as FieldPrereq } from './fields.js';
import { field, ones } from './fields.js';
import { K, type FlowKey } from './flow-key.js';
import { VLAN_CFI } from './flow-extract.js';
import type { FlowEntry } from './flow-table.js';
import { constWrite, segWords, subfieldSegs, type Segs } from './key-bits.js';
import { LearnProg } from './learn-exec.js';

/** Field prerequisites, plus 'l4' for OF1.0 mod_tp_*: TCP, UDP or SCTP and not a later fragment. */
export type Prereq = FieldPrereq | 'l4';

// Operation codes of a compiled action (plain numbers: cheap to switch on).
export const OP_NOP = 0;
export const OP_OUTPUT = 1;
export const OP_OUTPUT_REG = 2;
export const OP_RESUBMIT = 3;
export const OP_GOTO = 4;
export const OP_MOD_VID = 5;
export const OP_MOD_PCP = 6;
export const OP_STRIP = 7;
export const OP_PUSH = 8;
export const OP_SET_CONST = 9;
export const OP_MOVE = 10;
export const OP_DEC_TTL = 11;
export const OP_LEARN = 12;
export const OP_CT = 13;

// Packet-visible parts of the flow a write can touch.
export const D_ETH_SRC = 1 << 0;
export const D_ETH_DST = 1 << 1;
export const D_VLAN = 1 << 2;
export const D_NW_SRC = 1 << 3;
export const D_NW_DST = 1 << 4;
export const D_NW_PROTO = 1 << 5;
export const D_TOS = 1 << 6;
export const D_TTL = 1 << 7;
export const D_TP_SRC = 1 << 8;
export const D_TP_DST = 1 << 9;
export const D_ARP_SHA = 1 << 10;
export const D_ARP_THA = 1 << 11;
export const D_TUN = 1 << 12;
export const D_MARK = 1 << 13;

function wordDirty(w: number): number {
  switch (w) {
    case K.DL_SRC_HI:
    case K.DL_SRC_LO:
      return D_ETH_SRC;
    case K.DL_DST_HI:
    case K.DL_DST_LO:
      return D_ETH_DST;
    case K.VLAN_TCI:
      return D_VLAN;
    case K.NW_SRC:
      return D_NW_SRC;
    case K.NW_DST:
      return D_NW_DST;
    case K.NW_PROTO:
      return D_NW_PROTO;
    case K.NW_TOS:
      return D_TOS;
    case K.NW_TTL:
      return D_TTL;
    case K.TP_SRC:
      return D_TP_SRC;
    case K.TP_DST:
      return D_TP_DST;
    case K.ARP_SHA_HI:
    case K.ARP_SHA_LO:
      return D_ARP_SHA;
    case K.ARP_THA_HI:
    case K.ARP_THA_LO:
      return D_ARP_THA;
    case K.TUN_ID_HI:
    case K.TUN_ID_LO:
    case K.TUN_SRC:
    case K.TUN_DST:
      return D_TUN;
    case K.PKT_MARK:
      return D_MARK;
    default:
      return 0; // in_port, registers, metadata: flow only
  }
}

export class COp {
  n = 0;
  n2 = 0;
  t: Uint32Array | null = null;
  s1: Segs | null = null;
  s2: Segs | null = null;
  dirty = 0;
  pre: Prereq = 'none';
  pre2: Prereq = 'none';
  learn: LearnProg | null = null;
  constructor(
    readonly op: number,
    readonly a: Action,
  ) {}
}

function dirtyOfTriples(t: Uint32Array): number {
  let d = 0;
  for (let i = 0; i < t.length; i += 3) d |= wordDirty(t[i]!);
  return d;
}

function constOp(a: Action, f: FieldDef, value: bigint, mask: bigint, pre: Prereq): COp {
  const c = new COp(OP_SET_CONST, a);
  c.t = constWrite(f, value, mask);
  c.dirty = dirtyOfTriples(c.t);
  c.pre = pre;
  return c;
}

function compileOne(a: Action): COp {
  switch (a.kind) {
    case 'output': {
      const c = new COp(OP_OUTPUT, a);
      c.n = a.port;
      return c;
    }
    case 'outputReg': {
      const c = new COp(OP_OUTPUT_REG, a);
      c.s1 = subfieldSegs(a.src);
      c.pre = a.src.field.prereq;
      return c;
    }
    case 'resubmit': {
      const c = new COp(a.ct ? OP_CT : OP_RESUBMIT, a);
      c.n = a.port ?? OFPP.IN_PORT;
      c.n2 = a.table ?? 255;
      return c;
    }
    case 'gotoTable': {
      const c = new COp(OP_GOTO, a);
      c.n2 = a.table;
      return c;
    }
    case 'modVlanVid': {
      const c = new COp(OP_MOD_VID, a);
      c.n = a.vid & 0xfff;
      c.n2 = a.pushIfNeeded ? 1 : 0;
      return c;
    }
    case 'modVlanPcp': {
      const c = new COp(OP_MOD_PCP, a);
      c.n = a.pcp & 7;
      c.n2 = a.pushIfNeeded ? 1 : 0;
      return c;
    }
    case 'stripVlan':
      return new COp(OP_STRIP, a);
    case 'pushVlan': {
      const c = new COp(OP_PUSH, a);
      c.n = a.ethertype;
      return c;
    }
    case 'modDlSrc':
      return constOp(a, field('eth_src'), BigInt(a.mac), ones(48), 'none');
    case 'modDlDst':
      return constOp(a, field('eth_dst'), BigInt(a.mac), ones(48), 'none');
    case 'modNwSrc':
      return constOp(a, field('ip_src'), BigInt(a.ip >>> 0), ones(32), 'ip');
    case 'modNwDst':
      return constOp(a, field('ip_dst'), BigInt(a.ip >>> 0), ones(32), 'ip');
    case 'modNwTos': // DSCP bits only
      return constOp(a, field('nw_tos'), BigInt(a.tos & 0xfc), 0xfcn, 'ipAny');
    case 'modNwEcn':
      return constOp(a, field('nw_tos'), BigInt(a.ecn & 3), 3n, 'ipAny');
    case 'modNwTtl':
      return constOp(a, field('nw_ttl'), BigInt(a.ttl & 0xff), 0xffn, 'ipAny');
    case 'modTpSrc':
      return constOp(a, field('tcp_src'), BigInt(a.port & 0xffff), 0xffffn, 'l4');
    case 'modTpDst':
      return constOp(a, field('tcp_dst'), BigInt(a.port & 0xffff), 0xffffn, 'l4');
    case 'setField': {
      const f = a.field;
      // OF1.0 dl_vlan / vlan_pcp set the "tag present" bit too (flow_set_dl_vlan, flow_set_vlan_pcp).
      if (f.name === 'dl_vlan') {
        const c = new COp(OP_MOD_VID, a);
        c.n = Number(a.value) & 0xfff;
        c.n2 = Number(a.value) === 0xffff ? 2 : 1;
        return c;
      }
      if (f.name === 'vlan_pcp' || f.name === 'dl_vlan_pcp') {
        const c = new COp(OP_MOD_PCP, a);
        c.n = Number(a.value) & 7;
        c.n2 = f.name === 'dl_vlan_pcp' ? 1 : 0;
        return c;
      }
      return constOp(a, f, a.value, a.mask, f.prereq);
    }
    case 'load': {
      const sf = a.dst;
      const m = ones(sf.nBits) << BigInt(sf.ofs);
      return constOp(a, sf.field, (a.value & ones(sf.nBits)) << BigInt(sf.ofs), m, sf.field.prereq);
    }
    case 'move': {
      const c = new COp(OP_MOVE, a);
      c.s1 = subfieldSegs(a.src);
      c.s2 = subfieldSegs(a.dst);
      for (const w of segWords(c.s2)) c.dirty |= wordDirty(w);
      c.pre = a.src.field.prereq;
      c.pre2 = a.dst.field.prereq;
      return c;
    }
    case 'setTunnel':
      return constOp(a, field('tun_id'), a.id, ones(64), 'none');
    case 'writeMetadata':
      return constOp(a, field('metadata'), a.value, a.mask, 'none');
    case 'decTtl':
      return new COp(OP_DEC_TTL, a);
    case 'learn': {
      const c = new COp(OP_LEARN, a);
      c.learn = new LearnProg(a.spec);
      return c;
    }
    case 'ct':
      return new COp(OP_CT, a);
    case 'controller':
    case 'note':
    case 'ctClear':
      return new COp(OP_NOP, a);
  }
}

/** The compiled program of a flow's actions (cached on the entry). */
export function programOf(e: FlowEntry): COp[] {
  let p = e.prog as COp[] | null;
  if (p === null) e.prog = p = e.actions.map(compileOne);
  return p;
}

export function prereqOk(p: Prereq, key: FlowKey): boolean {
  if (p === 'none') return true;
  const t = key[K.DL_TYPE]!;
  const proto = key[K.NW_PROTO]!;
  const ip4 = t === 0x0800, ip6 = t === 0x86dd, ipAny = ip4 || ip6;
  switch (p) {
    case 'vlan':
      return (key[K.VLAN_TCI]! & VLAN_CFI) !== 0;
    case 'ip':
      return ip4;
    case 'ipv6':
      return ip6;
    case 'ipAny':
      return ipAny;
    case 'arp':
      return t === 0x0806 || t === 0x8035;
    case 'tcp':
      return ipAny && proto === 6;
    case 'udp':
      return ipAny && proto === 17;
    case 'sctp':
      return ipAny && proto === 132;
    case 'l4':
      return ipAny && (proto === 6 || proto === 17 || proto === 132) && (key[K.NW_FRAG]! & 2) === 0;
    case 'icmp':
      return ip4 && proto === 1;
    case 'icmp6':
      return ip6 && proto === 58;
    case 'icmpAny':
      return (ip4 && proto === 1) || (ip6 && proto === 58);
    case 'nd':
    case 'ndSolicit':
    case 'ndAdvert': {
      // No action writes or reads an ND field (fields.ts matchOnly); is_nd for completeness.
      if (!ip6 || proto !== 58 || key[K.TP_DST] !== 0) return false;
      const type = key[K.TP_SRC];
      return p === 'nd' ? type === 135 || type === 136 : type === (p === 'ndSolicit' ? 135 : 136);
    }
  }
}
