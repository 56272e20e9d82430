// Metrics read from engine and element objects at scrape time rather than
// from Stats cells: OpenFlow table counters, conntrack occupancy, the packet
// slab, and (on request only) per-flow counters. They are read on the thread
// that owns the elements, so this holds while elements live on the exporter's
// thread; state that moves to a worker moves into Stats cells (catalog.ts).
import type { Engine } from '../datapath/engine.js';
import type { Element } from '../datapath/element.js';
import { OvsBridge } from '../ofproto/bridge.js';
import { formatMatch } from '../ofproto/flow-printer.js';
import { Conntrack } from '../netfilter/conntrack.js';
import { CELL_METRICS, FLOW_METRICS, SCRAPE_METRICS, type MetricSpec } from './catalog.js';
import { family, labelKey, type Family, type Labels } from './stats-reader.js';

export function put(into: Map<string, Family>, spec: MetricSpec, labels: Labels, value: number): void {
  const f = family(into, spec);
  const key = labelKey(labels);
  const cur = f.scalars.get(key);
  if (cur) cur.value += value;
  else f.scalars.set(key, { labels, value });
}

/** The Conntrack an element holds, if any: a namespace's `nf.conntrack` (NetNamespace), `netfilter.conntrack`, or its own `conntrack`. */
export function conntrackOf(el: Element): Conntrack | null {
  const o = el as unknown as { nf?: { conntrack?: unknown }; netfilter?: { conntrack?: unknown }; conntrack?: unknown };
  const ct = o.nf?.conntrack ?? o.netfilter?.conntrack ?? o.conntrack;
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

/** n_packets/n_bytes of every OpenFlow flow: as many series as flows, hence only on request. */
export function readFlows(engine: Engine, into: Map<string, Family>): void {
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
