// Public surface of the netfilter half: iptables tables and rules, conntrack, NAT.

export * from './constants.js';
export { NfSyntaxError } from './errors.js';
export { type NfPacketInfo, newPacketInfo, fillPacketInfo, fillDatagramInfo, resetConntrackInfo, isIcmpQuery } from './packet-info.js';
export { formatIpv4, parseIpv4, parseIpv4Prefix } from './ipv4-addr.js';
export { Netfilter, HOOK_SEQUENCE, formatTrace, type NetfilterOptions, type NfHost, type HookResult } from './netfilter.js';
export { Ruleset, Table, Chain, BUILTIN_CHAINS } from './tables.js';
export { type Rule, ruleCounts } from './rule.js';
export type { ListNames, NfMatch } from './matches.js';
export type { NfTarget, NatRange, RejectType } from './targets.js';
export { loadIptables, type LoadOptions } from './iptables-parse.js';
export { iptablesSave, iptablesListRules, iptablesList, type SaveOptions, type ListRulesOptions, type ListOptions } from './iptables-print.js';
export { traverse, ruleMatches, type NfTraceEvent, type NfTracer, type TraversalResult } from './evaluate.js';
export { Conntrack, CT_DEFAULT_TIMEOUTS, EBUSY, type ConntrackOptions, type ConntrackStats, type CtChange, type CtTimeouts } from './conntrack.js';
export { CtEntry, type CtTuple } from './conntrack-entry.js';
export type { CtStoreBuffers } from './conntrack-store.js';
export { TCP_STATE_NAMES } from './conntrack-tcp.js';
export {
  conntrackList, conntrackEntryText, conntrackEventStamp, conntrackEventText, conntrackSummary, conntrackStatsText, CONNTRACK_TOOL, CONNTRACK_VERSION,
  type ConntrackEventOptions, type ConntrackListOptions,
} from './conntrack-print.js';
export { CT_EVENT_ALL, CT_EVENT_DESTROY, CT_EVENT_NEW, CT_EVENT_UPDATE, type CtEventListener } from './conntrack-events.js';
export { manipIpv4 } from './nat-rewrite.js';
export { seededRandom, type NfRandom } from './random.js';
