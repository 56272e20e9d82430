// `ovs-ofctl dump-tables BRIDGE` as OVS 2.5 prints it (the write-up's node runs
// OVS 2.5.5, so the seed's other dumps follow 2.5 too): ofproto sends every
// table but the hidden 254 (query_tables, handle_table_stats_request) and
// ovs-ofctl prints the reply with ofp_print_table_stats_reply /
// ofp_print_table_features (lib/ofp-print.c of 2.5). A table whose stats and
// features equal the previous table's prints as "  table N: ditto", one line
// each; the "tables N...M: ditto" ranges came with OVS 2.8 and are not used.
// lookup counts every lookup in the table and matched the hits (ofproto-dpif
// keeps n_matched and n_missed; lookup = both).
import type { OvsBridge } from '../ofproto/bridge.js';
import { N_TABLES } from '../ofproto/flow-table.js';
import type { OfVersion } from '../ofproto/flow-printer.js';

/** Fields an OF1.0 table stats reply's wildcards name, in OVS's mf_field order (mf_bitmap_from_of10). */
const OF10_MATCHING = ['in_port', 'eth_src', 'eth_dst', 'eth_type', 'vlan_vid', 'vlan_pcp', 'ip_src', 'ip_dst', 'nw_proto', 'nw_tos', 'tcp_src', 'tcp_dst'];

/**
 * OF1.0's ofp10_table_stats carries a name (ofproto-dpif names table 0
 * "classifier", ofproto the others "tableN"), max_entries and the wildcards;
 * OF1.3's ofp13_table_stats carries only the counts, so there are no feature
 * lines and every table after the first has the same (empty) features.
 */
function features(version: OfVersion): string[] {
  if (version !== 10) return [];
  return ['    max_entries=1000000', '    matching:', ...OF10_MATCHING.map((f) => `      ${f}: exact match or wildcard`)];
}

export function dumpTables(br: OvsBridge, version: OfVersion): string {
  const head = version === 10 ? 'OFPST_TABLE reply (xid=0x2):' : `OFPST_TABLE reply (OF1.${version - 10}) (xid=0x2):`;
  let out = head;
  let prev = '';
  br.tables.sync();
  // Table 254 (TBL_INTERNAL) is hidden, so the reply holds tables 0..253.
  for (let id = 0; id < N_TABLES - 1; id++) {
    const t = br.tables.peek(id);
    const stats = `    active=${t?.cls.size ?? 0}, lookup=${t?.lookups ?? 0}, matched=${t?.matched ?? 0}`;
    const name = version === 10 ? ` ("${id === 0 ? 'classifier' : `table${id}`}")` : '';
    out += `\n  table ${id}${name}:`;
    if (id > 0 && stats === prev) out += ' ditto';
    else if (id === 0) out += `\n${[stats, ...features(version)].join('\n')}\n`;
    // Same features as the table before: OF1.0 says so, OF1.3's empty ones print nothing.
    else out += `\n${stats}\n${version === 10 ? '    (same features)\n' : ''}`;
    prev = stats;
  }
  return out.endsWith('\n') ? out : out + '\n';
}
