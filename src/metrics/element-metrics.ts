// Metrics read through engine and element objects at scrape time rather than
// from Stats cells: OpenFlow table counters, conntrack occupancy and its
// `conntrack -S` counters, iptables
// policy counters, the packet slab, and (on request only) per-flow and
// per-rule counters. Flow, table, rule and policy counters are themselves in
// shared memory (each bridge's and ruleset's CounterCells), but which flows
// and rules exist, and their labels, is known only on the thread that owns
// the elements, so this holds while elements live on the exporter's thread.
import type { Engine } from '../datapath/engine.js';
import type { Element } from '../datapath/element.js';
import { OvsBridge } from '../ofproto/bridge.js';
import { formatMatch } from '../ofproto/flow-printer.js';
import { Conntrack } from '../netfilter/conntrack.js';
import { Netfilter } from '../netfilter/netfilter.js';
import { ruleCounts } from '../netfilter/rule.js';
import { CELL_METRICS, CONNTRACK_STAT_METRICS, FLOW_METRICS, SCRAPE_METRICS, type MetricSpec } from './catalog.js';
import { family, labelKey, type Family, type Labels } from './stats-reader.js';

export function put(into: Map<string, Family>, spec: MetricSpec, labels: Labels, value: number): void {
  const f = family(into, spec);
  const key = labelKey(labels);
  const cur = f.scalars.get(key);
  if (cur) cur.value += value;
  else f.scalars.set(key, { labels, value });
}

/** The Netfilter an element holds, if any: a NetNamespace's `nf`, or a `netfilter` property. */
export function netfilterOf(el: Element): Netfilter | null {
  const o = el as unknown as { nf?: unknown; netfilter?: unknown };
  const nf = o.nf ?? o.netfilter;
  return nf instanceof Netfilter ? nf : null;
}

/** The Conntrack an element holds, if any: its netfilter's, or its own `conntrack`. */
export function conntrackOf(el: Element): Conntrack | null {
  const ct = netfilterOf(el)?.conntrack ?? (el as unknown as { conntrack?: unknown }).conntrack;
  return ct instanceof Conntrack ? ct : null;
}

export function readEngine(engine: Engine, into: Map<string, Family>): void {
  const S = SCRAPE_METRICS;
  put(into, S.localDelivered, {}, engine.consumed);
  put(into, S.buffersFree, {}, engine.pool.available);
  put(into, S.buffersCapacity, {}, engine.pool.slots);
  put(into, S.samplingRatio, {}, engine.latency ? 1 / engine.latency.every : 0);
  for (const el of engine.elements) {
    if (el instanceof OvsBridge) readBridge(el, into);
    const ct = conntrackOf(el);
    if (ct) {
      const l = { element: el.name, node: el.node };
      put(into, CELL_METRICS.conntrack_entries!, l, ct.count);
      put(into, CELL_METRICS.conntrack_max!, l, ct.max);
      const st = ct.stats;
      for (const k of Object.keys(CONNTRACK_STAT_METRICS) as (keyof typeof CONNTRACK_STAT_METRICS)[]) put(into, CONNTRACK_STAT_METRICS[k], l, st[k]);
    }
    const nf = netfilterOf(el);
    if (nf) {
      for (const t of Object.values(nf.rules.tables)) {
        if (!t.loaded) continue;
        for (const ch of t.chains.values()) {
          if (!ch.builtin) continue;
          const l = { chain: ch.name, element: el.name, node: el.node, table: t.name };
          put(into, S.iptablesPolicyPackets, l, ch.pkts);
          put(into, S.iptablesPolicyBytes, l, ch.bytes);
        }
      }
    }
  }
}

function readBridge(br: OvsBridge, into: Map<string, Family>): void {
  const S = SCRAPE_METRICS;
  for (const t of br.tables.existing()) {
    const l = { element: br.name, node: br.node, table: String(t.id) };
    put(into, S.ovsTableLookups, l, t.lookups);
    put(into, S.ovsTableMatched, l, t.matched);
    put(into, S.ovsTableFlows, l, t.cls.size);
  }
}

/** n_packets/n_bytes of every OpenFlow flow and iptables rule: a series each, hence only on request. */
export function readFlows(engine: Engine, into: Map<string, Family>): void {
  for (const el of engine.elements) {
    const nf = netfilterOf(el);
    if (!nf) continue;
    for (const t of Object.values(nf.rules.tables)) {
      if (!t.loaded) continue;
      for (const ch of t.chains.values()) {
        ch.rules.forEach((r, i) => {
          const l = { chain: ch.name, element: el.name, node: el.node, rule: String(i + 1), table: t.name };
          const [pkts, bytes] = ruleCounts(r);
          put(into, FLOW_METRICS.rulePackets, l, pkts);
          put(into, FLOW_METRICS.ruleBytes, l, bytes);
        });
      }
    }
  }
  for (const br of engine.elements) {
    if (!(br instanceof OvsBridge)) continue;
    for (const t of br.tables.existing()) {
      for (const e of t.cls.rules()) {
        const l = {
          cookie: `0x${e.cookie.toString(16)}`, element: br.name, match: formatMatch(e.match, e.priority),
          node: br.node, priority: String(e.priority), table: String(t.id),
        };
        put(into, FLOW_METRICS.packets, l, e.nPackets);
        put(into, FLOW_METRICS.bytes, l, e.nBytes);
      }
    }
  }
}
