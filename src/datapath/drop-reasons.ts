// Every packet that does not leave the emulator is counted under a named
// reason, per element, like the kernel's skb drop reasons (include/net/dropreason-core.h).
export const DROP_REASONS = [
  'malformed', // a header is short, has a bad length or a bad version
  'no_carrier', // output to a port that is not linked to anything
  'port_down',
  'loop', // too many hops: a forwarding loop
  'resubmit_limit', // OVS: resubmit depth (64) exceeded
  'table_miss', // OVS: no flow matched (OpenFlow 1.0 behaviour in OVS: drop)
  'ovs_drop', // OVS: a flow's actions ended without output
  'vlan_mismatch', // NORMAL: VLAN not allowed on the input port
  'no_output', // NORMAL/bridge: nowhere to send (e.g. only back to the input port)
  'mtu_exceeded', // frame larger than the egress MTU
  'vxlan_bad_header', // decap: not VXLAN, I flag clear, unknown tunnel
  'vxlan_no_port', // decap: no tunnel port for the outer addresses / key
  'not_for_us', // L2 destination is not ours (namespace interface, host NIC)
  'no_route', // ENETUNREACH
  'unreachable_route', // blackhole/unreachable/prohibit route or rule
  'ttl_exceeded',
  'neigh_failed', // neighbour resolution failed
  'neigh_queue_full', // held-packet queue overflow
  'ip_forward_off',
  'netfilter_drop', // iptables DROP/REJECT
  'conntrack_full',
  'conntrack_invalid',
  'consumed', // not a drop: delivered to a local socket/stack (counted apart)
  'no_buffer', // the slab is exhausted
  'frame_over_slot', // a frame longer than a slab slot holds (the emulator's limit, not the kernel's: slots are sized for the largest TAP MTU)
  'frag_unsupported',
  'unknown_protocol',
  'filtered', // Linux bridge / port security filters
  'internal_error', // an element threw: a bug, counted instead of crashing the worker
  // IPv4 reassembly (net/ipv4/ip_fragment.c):
  'frag_dup', // SKB_DROP_REASON_DUP_FRAG: a fragment within one already queued
  'frag_overlap', // overlapping fragments: the whole queue goes (REASM_OVERLAPS)
  'frag_bad', // bad geometry (zero length, beyond the end, over 64 KiB, ECN mix): the queue goes
  'frag_timeout', // SKB_DROP_REASON_FRAG_REASM_TIMEOUT: ipfrag_time passed
  'frag_queue_full', // ipfrag_high_thresh, or the namespace's share of the slab, reached
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

export const DROP_REASON_ID: Record<DropReason, number> = Object.fromEntries(
  DROP_REASONS.map((r, i) => [r, i]),
) as Record<DropReason, number>;
