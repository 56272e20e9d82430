// The OpenFlow action list of a flow, as dpemu stores it (OVS's "ofpacts").
//
// Contract for the executor (bridge.ts) and the printers:
// - Actions are stored as parsed, in the spelling family they came in (an
//   OF1.3 `push_vlan`+`set_field:4097->vlan_vid` stays two actions; an OF1.0
//   `mod_vlan_vid:1` stays one). The printers convert between OF1.0 and OF1.3
//   the way OVS re-encodes actions (flow-printer.ts), so execution never has to.
// - Reserved ports are plain port numbers on `output` (OFPP below): `NORMAL`,
//   `output:NORMAL` and `output:65530` are the same action, as in OVS.
//   `controller` has its own kind because it carries arguments.
// - `drop` is an empty list (OVS stores nothing for it).
// - Values wider than 32 bits (tun_id, metadata, MACs in set_field/load) are
//   bigint; single MACs in mod_dl_* and IPv4 addresses are plain numbers
//   (a 48-bit MAC is exact in a double).
// - `setField` and `load` both write `(field & ~mask) | value` (value is
//   pre-shifted into place and pre-masked); `load` keeps its subfield form
//   because OVS prints it back as `load:` (it remembers the raw action).
import type { FieldDef } from './fields.js';

/** OpenFlow 1.0 reserved port numbers (OVS ofp_port_t, 16 bits). */
export const OFPP = {
  MAX: 0xff00,
  UNSET: 0xfff7, // OVS internal: "no port"
  IN_PORT: 0xfff8,
  TABLE: 0xfff9,
  NORMAL: 0xfffa,
  FLOOD: 0xfffb,
  ALL: 0xfffc,
  CONTROLLER: 0xfffd,
  LOCAL: 0xfffe,
  NONE: 0xffff, // a.k.a. ANY
} as const;

/** `field[ofs..ofs+nBits-1]` as in `NXM_NX_REG0[0..15]`; `field[]` is the whole field. */
export interface Subfield {
  readonly field: FieldDef;
  readonly ofs: number;
  readonly nBits: number;
}

export type Action =
  /** Output to a port, including reserved ones (OFPP.NORMAL, LOCAL, IN_PORT, FLOOD, ALL, CONTROLLER). */
  | { kind: 'output'; port: number; maxLen?: number }
  /** output:NXM_NX_REG0[0..15] / output:OXM_OF_IN_PORT[]: the port is read from a subfield. */
  | { kind: 'outputReg'; src: Subfield; maxLen?: number }
  /** controller(max_len=..,reason=..,id=..) / controller:max_len. */
  | { kind: 'controller'; maxLen: number; reason: string; id: number }
  /** resubmit(port,table[,ct]); port undefined = the packet's in_port; table undefined = the current table. */
  | { kind: 'resubmit'; port?: number; table?: number; ct?: boolean }
  /** goto_table:N (an OF1.1+ instruction; printed as resubmit(,N) in OF1.0 dumps). */
  | { kind: 'gotoTable'; table: number }
  /** mod_vlan_vid (pushIfNeeded=true, OF1.0: pushes a tag if none) / set_vlan_vid (false). */
  | { kind: 'modVlanVid'; vid: number; pushIfNeeded: boolean }
  /** mod_vlan_pcp / set_vlan_pcp, same rule as modVlanVid. */
  | { kind: 'modVlanPcp'; pcp: number; pushIfNeeded: boolean }
  /** strip_vlan / pop_vlan; `pop` remembers which spelling came in (OVS prints it back). */
  | { kind: 'stripVlan'; pop: boolean }
  /** push_vlan:0x8100 (pushes a tag copying the current outer TCI, with CFI set). */
  | { kind: 'pushVlan'; ethertype: number }
  | { kind: 'modDlSrc'; mac: number }
  | { kind: 'modDlDst'; mac: number }
  | { kind: 'modNwSrc'; ip: number }
  | { kind: 'modNwDst'; ip: number }
  /** mod_nw_tos:<tos byte with ECN bits zero> (sets the DSCP bits only). */
  | { kind: 'modNwTos'; tos: number }
  | { kind: 'modNwEcn'; ecn: number }
  | { kind: 'modNwTtl'; ttl: number }
  | { kind: 'modTpSrc'; port: number }
  | { kind: 'modTpDst'; port: number }
  /** set_field:value[/mask]->field; value/mask are right-aligned in the field (mask all ones when none given). */
  /**
   * `bitsMask`: a whole-field load of a field narrower than its bytes (nw_ecn), come as an OpenFlow 1.5
   * masked set_field: OVS prints its mask, which covers the field's bits but not its bytes.
   */
  | { kind: 'setField'; field: FieldDef; value: bigint; mask: bigint; bitsMask?: true }
  /** load:value->dst[ofs..]; value is right-aligned within the subfield. */
  | { kind: 'load'; dst: Subfield; value: bigint }
  /** move:src[]->dst[] (same nBits). */
  | { kind: 'move'; src: Subfield; dst: Subfield }
  /** set_tunnel:id (32-bit form) / set_tunnel64:id. */
  | { kind: 'setTunnel'; id: bigint; wide: boolean }
  /** dec_ttl / dec_ttl(id,...) (controller ids; empty means [0]). */
  | { kind: 'decTtl'; ids: number[] }
  /** note:hex bytes (OVS zero-pads the payload; we keep the bytes as given). */
  | { kind: 'note'; data: Uint8Array }
  | { kind: 'learn'; spec: LearnSpec }
  /** write_metadata:value[/mask] (OF1.1+ instruction). */
  | { kind: 'writeMetadata'; value: bigint; mask: bigint }
  /** ct(...) and ct_clear are parsed and printed so real dumps load; the fields are OVS's. */
  | { kind: 'ct'; commit: boolean; force: boolean; zone?: number; zoneSrc?: Subfield; table?: number; alg?: number; nat?: string; exec: Action[] }
  | { kind: 'ctClear' };

export type ActionKind = Action['kind'];

/** One item of a learn() specification (OVS struct ofpact_learn_spec). */
export type LearnItem =
  /** `dst=src` or `dst` (src = dst): match the learned flow on dst = packet's src bits. */
  | { kind: 'match'; dst: Subfield; src: Subfield }
  /** `dst=value`: match on an immediate. */
  | { kind: 'matchImm'; dst: Subfield; value: bigint }
  /** `load:src->dst`: learned flow gets load:<packet's src bits>->dst. */
  | { kind: 'load'; dst: Subfield; src: Subfield }
  /** `load:value->dst`. */
  | { kind: 'loadImm'; dst: Subfield; value: bigint }
  /** `output:src`: learned flow outputs to the port in the packet's src bits. */
  | { kind: 'output'; src: Subfield };

export interface LearnSpec {
  table: number; // default 1
  idleTimeout: number; // 0 = permanent
  hardTimeout: number;
  finIdleTimeout: number;
  finHardTimeout: number;
  priority: number; // default 32768
  cookie: bigint;
  sendFlowRem: boolean;
  deleteLearned: boolean;
  limit: number; // 0 = none
  resultDst?: Subfield; // write_result
  items: LearnItem[];
}

export function defaultLearnSpec(): LearnSpec {
  return {
    table: 1,
    idleTimeout: 0,
    hardTimeout: 0,
    finIdleTimeout: 0,
    finHardTimeout: 0,
    priority: 0x8000,
    cookie: 0n,
    sendFlowRem: false,
    deleteLearned: false,
    limit: 0,
    items: [],
  };
}
