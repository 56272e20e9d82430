// Numeric constants shared by the netfilter modules. Values follow the kernel's
// uapi headers where one exists, so traces and tests read like the kernel.

/** Netfilter IPv4 hooks (NF_INET_*). */
export const HOOK_PREROUTING = 0;
export const HOOK_INPUT = 1;
export const HOOK_FORWARD = 2;
export const HOOK_OUTPUT = 3;
export const HOOK_POSTROUTING = 4;

export type HookName = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';
export const HOOK_NAMES: readonly HookName[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

export function hookByName(name: string): number {
  return HOOK_NAMES.indexOf(name as HookName);
}

export type TableName = 'raw' | 'mangle' | 'nat' | 'filter';
export const TABLE_NAMES: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter'];

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** Hook verdicts returned to the namespace stack. */
export const VERDICT_DROP = 0;
export const VERDICT_ACCEPT = 1;
/** Dropped by a REJECT rule: the stack sends the error named by result.rejectWith. */
export const VERDICT_REJECT = 2;

/**
 * Conntrack state bits as the conntrack/state matches test them
 * (XT_CONNTRACK_STATE_BIT(ctinfo) and friends).
 */
export const CT_INVALID = 1;
export const CT_ESTABLISHED = 2;
export const CT_RELATED = 4;
export const CT_NEW = 8;
export const CT_UNTRACKED = 16;
export const CT_SNAT = 64;
export const CT_DNAT = 128;

/** Conntrack entry status bits (enum ip_conntrack_status). */
export const IPS_EXPECTED = 1 << 0;
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;
export const IPS_NAT_MASK = IPS_SRC_NAT | IPS_DST_NAT;
export const IPS_SRC_NAT_DONE = 1 << 7;
export const IPS_DST_NAT_DONE = 1 << 8;
export const IPS_NAT_DONE_MASK = IPS_SRC_NAT_DONE | IPS_DST_NAT_DONE;
export const IPS_DYING = 1 << 9;
export const IPS_FIXED_TIMEOUT = 1 << 10;
export const IPS_OFFLOAD = 1 << 14;
export const IPS_HW_OFFLOAD = 1 << 15;

/** Conntrack directions. */
export const DIR_ORIGINAL = 0;
export const DIR_REPLY = 1;

/** NAT manipulation types (enum nf_nat_manip_type). */
export const MANIP_SRC = 0;
export const MANIP_DST = 1;

/** NAT range flags (NF_NAT_RANGE_*). */
export const NAT_MAP_IPS = 1 << 0;
export const NAT_PROTO_SPECIFIED = 1 << 1;
export const NAT_PROTO_RANDOM = 1 << 2;
export const NAT_PERSISTENT = 1 << 3;
export const NAT_PROTO_RANDOM_FULLY = 1 << 4;
export const NAT_PROTO_OFFSET = 1 << 5;
export const NAT_PROTO_RANDOM_ALL = NAT_PROTO_RANDOM | NAT_PROTO_RANDOM_FULLY;

/** TCP header flag bits: the wire layer's. */
export { TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR } from '../wire/tcp.js';

/** ICMP types that carry a quoted datagram (icmp_is_err). */
export function icmpIsError(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}
