// Every metric dpemu exports: its Prometheus name, type, help and labels,
// keyed by the cell name elements and workers use in Stats. A component that
// adds counters allocates cells under one of these names (the *_COUNTERS
// lists below) and the exporter finds them; a name missing here is still
// exported, as a gauge called dpemu_<name>, and a unit test flags it.
import { HIST_BOUNDS_SECONDS } from './histogram.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
  /** How the values of several threads' registries combine (AggregatorRegistry.aggregate); default: summed. */
  aggregator?: 'sum' | 'max';
}

const PORT = ['node', 'element', 'kind', 'port'] as const;
const ELEMENT = ['node', 'element', 'kind'] as const;
const TAP = ['node', 'port', 'worker'] as const;

const c = (name: string, help: string, labels: readonly string[]): MetricSpec => ({ name, type: 'counter', help, labels });
const g = (name: string, help: string, labels: readonly string[]): MetricSpec => ({ name, type: 'gauge', help, labels });
const h = (name: string, help: string, labels: readonly string[]): MetricSpec => ({ name, type: 'histogram', help, labels });

/** Cell name (Stats.desc[i].name; for histograms the name before _bucket/_sum) -> metric. */
export const CELL_METRICS: Readonly<Record<string, MetricSpec>> = {
  // The engine, per element port (src/datapath/engine.ts).
  port_rx_packets: c('dpemu_port_rx_packets_total', 'Frames delivered into an element through this port.', PORT),
  port_rx_bytes: c('dpemu_port_rx_bytes_total', 'Bytes of the frames delivered into an element through this port.', PORT),
  port_tx_packets: c('dpemu_port_tx_packets_total', 'Frames an element sent out of this port.', PORT),
  port_tx_bytes: c('dpemu_port_tx_bytes_total', 'Bytes of the frames an element sent out of this port.', PORT),
  port_tx_dropped: c('dpemu_port_tx_dropped_packets_total', 'Frames an element could not send out of this port (port down).', PORT),
  // The engine, per element and drop reason (src/datapath/drop-reasons.ts).
  drops: c('dpemu_dropped_packets_total', 'Packets an element dropped, by reason (the kernel\'s drop reasons).', [...ELEMENT, 'reason']),
  // Latency, sampled (src/metrics/latency.ts; what is sampled is in its header).
  stage_latency: h('dpemu_stage_latency_seconds', 'Time a sampled packet spends inside one element (one delivery).', ELEMENT),
  pipeline_latency: h('dpemu_pipeline_latency_seconds', 'Time from a sampled inject until the engine was idle again: its last output, or the end of the batch it ran in.', ['node']),
  e2e_latency: h('dpemu_e2e_latency_seconds', 'Time from a TAP read to the TAP write of what it became (every frame, timed by the TAP workers).', ['node']),
  // TAP ports (src/io): allocate TAP_COUNTERS per TAP and worker.
  tap_rx_packets: c('dpemu_tap_rx_packets_total', 'Frames read from a TAP device.', TAP),
  tap_rx_bytes: c('dpemu_tap_rx_bytes_total', 'Bytes read from a TAP device.', TAP),
  tap_rx_errors: c('dpemu_tap_rx_errors_total', 'Failed reads from a TAP device.', TAP),
  tap_rx_dropped: c('dpemu_tap_rx_dropped_packets_total', 'Frames read from a TAP device and dropped before the pipeline (no buffer, ring full).', TAP),
  tap_tx_packets: c('dpemu_tap_tx_packets_total', 'Frames written to a TAP device.', TAP),
  tap_tx_bytes: c('dpemu_tap_tx_bytes_total', 'Bytes written to a TAP device.', TAP),
  tap_tx_errors: c('dpemu_tap_tx_errors_total', 'Failed writes to a TAP device.', TAP),
  tap_tx_dropped: c('dpemu_tap_tx_dropped_packets_total', 'Frames meant for a TAP device and dropped (device gone, queue full).', TAP),
  // Rings between threads: allocate RING_COUNTERS per ring.
  ring_enqueued: c('dpemu_ring_enqueued_total', 'Descriptors put on a ring.', ['ring']),
  ring_drops: c('dpemu_ring_dropped_packets_total', 'Packets dropped because a ring was full.', ['ring']),
  ring_occupancy: g('dpemu_ring_occupancy', 'Descriptors on a ring at the last update.', ['ring']),
  ring_capacity: g('dpemu_ring_capacity', 'Descriptors a ring can hold.', ['ring']),
  // Workers: allocate WORKER_COUNTERS per worker; utilisation is rate(busy seconds).
  worker_busy_seconds: c('dpemu_worker_busy_seconds_total', 'Seconds a worker spent processing (rate() of it is the utilisation).', ['worker']),
  worker_batches: c('dpemu_worker_batches_total', 'Batches a worker ran through the pipeline.', ['worker']),
  worker_packets: c('dpemu_worker_packets_total', 'Packets a worker ran through the pipeline.', ['worker']),
  // Fast path: each OVS bridge's translation cache (src/ofproto/xlate-cache.ts) and each namespace's forwarding cache (src/netns/route-cache.ts) allocate FASTPATH_COUNTERS.
  fastpath_hits: c('dpemu_fastpath_hits_total', 'Packets an OVS bridge\'s translation cache or a namespace\'s forwarding cache decided.', ['node', 'element']),
  fastpath_misses: c('dpemu_fastpath_misses_total', 'Packets that missed an OVS bridge\'s translation cache or a namespace\'s forwarding cache and took the slow path.', ['node', 'element']),
  fastpath_invalidations: c('dpemu_fastpath_invalidations_total', 'Fast-path cache entries removed because what they depended on changed (a flow, fdb entry or port; a route, rule, address, link or sysctl).', ['node', 'element']),
  fastpath_flushes: c('dpemu_fastpath_flushes_total', 'Whole-cache flushes (an OVS bridge\'s never flushes; a namespace\'s does when a rule widens its key or a conf/all sysctl changes; other changes invalidate entry by entry).', ['node', 'element']),
  fastpath_entries: g('dpemu_fastpath_entries', 'Entries in an OVS bridge\'s translation cache or a namespace\'s forwarding cache.', ['node', 'element']),
  // Each namespace's iptables traversal cache (src/netfilter/traversal-cache.ts) allocates IPTABLES_CACHE_COUNTERS.
  fastpath_iptables_hits: c('dpemu_fastpath_iptables_hits_total', 'raw, mangle and filter table traversals a namespace\'s iptables traversal cache decided (its rule and policy counters bumped as the traversal would).', ['node', 'element']),
  fastpath_iptables_misses: c('dpemu_fastpath_iptables_misses_total', 'Table traversals that missed a namespace\'s iptables traversal cache and walked the chains.', ['node', 'element']),
  fastpath_iptables_invalidations: c('dpemu_fastpath_iptables_invalidations_total', 'iptables traversal cache entries dropped because the namespace\'s ruleset changed (any iptables command or restore flushes the cache).', ['node', 'element']),
  fastpath_iptables_entries: g('dpemu_fastpath_iptables_entries', 'Entries in a namespace\'s iptables traversal cache.', ['node', 'element']),
  // Each engine's whole-path cache (src/datapath/path-cache.ts) allocates PATH_CACHE_COUNTERS.
  fastpath_path_hits: c('dpemu_fastpath_path_hits_total', 'Injected frames the whole-path cache served from the inject port to the edge they left at (every element\'s counters and state bumped as its own path would).', []),
  fastpath_path_misses: c('dpemu_fastpath_path_misses_total', 'Injected IPv4 UDP and ICMP echo frames the whole-path cache had no live entry for (they took the element path; a flow\'s second such frame is recorded).', []),
  fastpath_path_invalidations: c('dpemu_fastpath_path_invalidations_total', 'Whole-path cache entries removed at a hit because an element entry they hold changed (a flow, route, rule, neighbour, fdb entry, iptables ruleset or conntrack entry).', []),
  fastpath_path_entries: g('dpemu_fastpath_path_entries', 'Entries in the whole-path cache.', []),
  // Conntrack, when a worker keeps it in shared memory (else read from the elements, below).
  conntrack_entries: g('dpemu_conntrack_entries', 'Conntrack entries (nf_conntrack_count).', ['node', 'element']),
  conntrack_max: g('dpemu_conntrack_entries_limit', 'Conntrack table limit (nf_conntrack_max; 0 = unbounded).', ['node', 'element']),
};

export const TAP_COUNTERS = ['tap_rx_packets', 'tap_rx_bytes', 'tap_rx_errors', 'tap_rx_dropped', 'tap_tx_packets', 'tap_tx_bytes', 'tap_tx_errors', 'tap_tx_dropped'] as const;
export const RING_COUNTERS = ['ring_enqueued', 'ring_drops', 'ring_occupancy', 'ring_capacity'] as const;
export const WORKER_COUNTERS = ['worker_busy_seconds', 'worker_batches', 'worker_packets'] as const;
/** Each OVS bridge's translation cache cells, as the data path allocates them. */
export { FASTPATH_CELLS as FASTPATH_COUNTERS } from '../datapath/stats.js';
/** Each namespace's iptables traversal cache cells. */
export { IPTABLES_CACHE_CELLS as IPTABLES_CACHE_COUNTERS } from '../netfilter/traversal-cache.js';
/** Each engine's whole-path cache cells. */
export { PATH_CACHE_CELLS as PATH_CACHE_COUNTERS } from '../datapath/path-cache.js';

/**
 * A datapath worker's loop counters (src/workers/layout.ts WORKER_COUNTERS,
 * by the same names; the supervisor keeps them in shared memory), labelled
 * worker="datapath-N", and its restarts.
 */
export const DATAPATH_WORKER_METRICS: Readonly<Record<string, MetricSpec>> = {
  replayed: c('dpemu_worker_replayed_packets_total', 'Frames a worker injected from a replay (a benchmark\'s traffic source).', ['worker']),
  handoff_out: c('dpemu_worker_handoff_out_packets_total', 'Frames a worker handed to another worker at the fabric.', ['worker']),
  handoff_in: c('dpemu_worker_handoff_in_packets_total', 'Frames a worker took from other workers at the fabric.', ['worker']),
  handoff_full: c('dpemu_worker_handoff_dropped_packets_total', 'Frames a worker dropped because the hand-off to another worker was full.', ['worker']),
  edge_out: c('dpemu_worker_edge_out_packets_total', 'Frames that left the emulator at the edge ports a worker owns.', ['worker']),
  edge_out_bytes: c('dpemu_worker_edge_out_bytes_total', 'Bytes of the frames that left the emulator at the edge ports a worker owns.', ['worker']),
  loops: c('dpemu_worker_loops_total', 'Rounds of a worker\'s loop.', ['worker']),
  idle_waits: c('dpemu_worker_idle_waits_total', 'Times an idle worker went to sleep.', ['worker']),
  busy_seconds: CELL_METRICS.worker_busy_seconds!,
  sleep_seconds: c('dpemu_worker_sleep_seconds_total', 'Seconds an idle worker slept (the rest of its idle time it polled).', ['worker']),
  restarts: c('dpemu_worker_restarts_total', 'Times a worker was started again after it died.', ['worker']),
  // Its learned-state journal (src/datapath/learned-journal.ts), kept across its restarts.
  journal_records: c('dpemu_learned_journal_records_total', 'Records a worker wrote to its learned-state journal (fdb entries, neighbours and learn() flows as they change; whole tables at its start and after a drop).', ['worker']),
  journal_dropped: c('dpemu_learned_journal_dropped_records_total', 'Learned-state journal records dropped because the journal was full (a restart then restores what was journaled before; the worker writes its tables whole again).', ['worker']),
  journal_rewrites: c('dpemu_learned_journal_rewrites_total', 'Times a worker wrote its learned tables whole to its journal again after records were dropped.', ['worker']),
  journal_unread: g('dpemu_learned_journal_unread_bytes', 'Bytes of records a worker\'s learned-state journal held when the supervisor last read it (it reads every 50 ms).', ['worker']),
  journal_capacity: g('dpemu_learned_journal_capacity_bytes', 'Bytes a worker\'s learned-state journal holds.', ['worker']),
};

/** Metrics read from engine and element objects at scrape time (not Stats cells). */
export const SCRAPE_METRICS = {
  ovsTableLookups: c('dpemu_ovs_table_lookups_total', 'OpenFlow table lookups (ovs-ofctl dump-tables "lookup").', ['node', 'element', 'table']),
  ovsTableMatched: c('dpemu_ovs_table_matched_total', 'OpenFlow table lookups that matched a flow (dump-tables "matched").', ['node', 'element', 'table']),
  ovsTableFlows: g('dpemu_ovs_table_flows', 'Flows installed in an OpenFlow table (dump-tables "active").', ['node', 'element', 'table']),
  localDelivered: c('dpemu_local_delivered_packets_total', 'Packets that ended at a local stack (echo answered, ARP learned): not drops.', []),
  buffersFree: g('dpemu_packet_buffers_free', 'Free slots in the packet slab.', []),
  buffersCapacity: g('dpemu_packet_buffers_capacity', 'Slots in the packet slab.', []),
  // A setting, the same in every datapath worker: not summed over them.
  samplingRatio: { ...g('dpemu_latency_sampling_ratio', 'Fraction of deliveries and injects timed for the latency histograms (0 = off).', []), aggregator: 'max' },
  mainBusy: c('dpemu_worker_busy_seconds_total', 'Seconds a worker spent processing (rate() of it is the utilisation).', ['worker']),
  iptablesPolicyPackets: c('dpemu_iptables_policy_packets_total', 'Packets that took a built-in chain\'s policy (iptables -L -v, "policy").', ['node', 'element', 'table', 'chain']),
  iptablesPolicyBytes: c('dpemu_iptables_policy_bytes_total', 'Bytes of the packets that took a built-in chain\'s policy.', ['node', 'element', 'table', 'chain']),
} as const;

/**
 * `conntrack -S`'s counters, one metric each as node_exporter exports
 * /proc/net/stat/nf_conntrack (node_nf_conntrack_stat_*): read from each
 * table's shared stats cells at scrape time.
 */
export const CONNTRACK_STAT_METRICS = Object.fromEntries(
  (['found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart'] as const).map((k) => [
    k,
    c(`dpemu_conntrack_stat_${k}_total`, `Conntrack "${k}" events (conntrack -S).`, ['node', 'element']),
  ]),
) as Record<'found' | 'invalid' | 'insert' | 'insert_failed' | 'drop' | 'early_drop' | 'error' | 'search_restart', MetricSpec>;

/** Per-flow and per-rule counters: a series per OpenFlow flow or iptables rule, so exported only on request (/metrics?flows=1). */
export const FLOW_METRICS = {
  packets: c('dpemu_ovs_flow_packets_total', 'Packets that matched one OpenFlow flow (n_packets).', ['node', 'element', 'table', 'priority', 'cookie', 'match']),
  bytes: c('dpemu_ovs_flow_bytes_total', 'Bytes that matched one OpenFlow flow (n_bytes).', ['node', 'element', 'table', 'priority', 'cookie', 'match']),
  rulePackets: c('dpemu_iptables_rule_packets_total', 'Packets that matched one iptables rule (iptables -L -v --line-numbers).', ['node', 'element', 'table', 'chain', 'rule']),
  ruleBytes: c('dpemu_iptables_rule_bytes_total', 'Bytes of the packets that matched one iptables rule.', ['node', 'element', 'table', 'chain', 'rule']),
} as const;

/** Buckets of every latency histogram, for the docs and tests. */
export const LATENCY_BUCKETS = HIST_BOUNDS_SECONDS;
