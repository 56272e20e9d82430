// A flow table entry as parsed from (and printed to) ovs-ofctl syntax.
import type { Action } from './actions.js';
import type { Match } from './match.js';
import { emptyMatch } from './match.js';

export const DEFAULT_PRIORITY = 0x8000;

/** OFPFF_* flags as ovs-ofctl spells them. */
export interface FlowFlags {
  sendFlowRem: boolean;
  checkOverlap: boolean;
  resetCounts: boolean;
  noPacketCounts: boolean;
  noByteCounts: boolean;
}

/** The stats part of a `dump-flows` line; present only when the line had them. */
export interface FlowStats {
  durationSec: number; // whole seconds
  durationNsec: number; // 0..999999999 (printed as OVS ofp_print_duration does)
  nPackets: bigint;
  nBytes: bigint;
  idleAge?: number; // whole seconds
  hardAge?: number;
}

export interface FlowSpec {
  table: number; // 0..254; default 0
  priority: number; // 0..65535; default 32768
  cookie: bigint; // 64-bit
  /** Only for flow-matching commands (del-flows cookie=v/mask); undefined otherwise. */
  cookieMask?: bigint;
  idleTimeout: number; // 0 = none
  hardTimeout: number;
  importance: number;
  flags: FlowFlags;
  match: Match;
  actions: Action[];
  /** out_port=/out_group= filters of flow-matching commands, when given. */
  outPort?: number;
  outGroup?: number;
  /** The OpenFlow versions (ofp-protocols.ts bits) whose flow_mod can carry it, where not all. */
  usable?: number;
  stats?: FlowStats;
}

export function noFlags(): FlowFlags {
  return { sendFlowRem: false, checkOverlap: false, resetCounts: false, noPacketCounts: false, noByteCounts: false };
}

export function newFlowSpec(): FlowSpec {
  return {
    table: 0,
    priority: DEFAULT_PRIORITY,
    cookie: 0n,
    idleTimeout: 0,
    hardTimeout: 0,
    importance: 0,
    flags: noFlags(),
    match: emptyMatch(),
    actions: [],
  };
}
