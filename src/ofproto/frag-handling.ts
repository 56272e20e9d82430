// A bridge's IP fragment handling (OpenFlow's OFPC_FRAG_*, ofputil_frag_handling),
// as ofproto-dpif's rule_dpif_lookup_from_table applies it to every table
// lookup of a fragment (FLOW_NW_FRAG_ANY): `normal` looks it up with L4 ports
// 0, `drop` looks nothing up (ofproto's drop_frags_rule, counted as a match in
// the table), `nx-match` looks it up as it is (a first fragment keeps its
// ports, nw_frag tells the kinds apart). `reassemble` ofproto-dpif refuses.

export const FRAG_NORMAL = 0;
export const FRAG_DROP = 1;
export const FRAG_NX_MATCH = 2;
export type FragMode = typeof FRAG_NORMAL | typeof FRAG_DROP | typeof FRAG_NX_MATCH;

/** ofputil_frag_handling_to_string's names, by mode. */
export const FRAG_NAMES = ['normal', 'drop', 'nx-match'] as const;

/** ofproto/trace's table line for the drop_frags_rule (xlate_report_table). */
export const FRAG_DROP_TRACE = 'Packets are IP fragments and the fragment handling mode is "drop".';
/** The drop_frags_rule's match (the third internal flow, reg0=3), as a patch peer's trace prints it. */
export const FRAG_DROP_RULE = 'reg0=0x3, priority 0';
