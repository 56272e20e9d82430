import { buildRig, warm, pump } from './lib/seed.js';
import { Classifier } from '../src/ofproto/classifier.js';
const rig = buildRig({ flows: 1000, payload: 64 });
warm(rig, 64);
let lookups = 0, probes = 0;
const proto = Classifier.prototype as any;
const orig = proto.lookup;
proto.lookup = function (key: Uint32Array, wc?: Uint32Array) {
  lookups++;
  const sts = this.subtables; let bestPri = -1;
  for (const st of sts) { if (st.maxPriority <= bestPri) break; probes++; const r = st.find(key); if (r && r.priority > bestPri) bestPri = r.priority; }
  return orig.call(this, key, wc);
};
const st = rig.emu.engine.stats;
const rx0 = st.sum('port_rx_packets');
const n = 10000;
pump(rig, n);
console.log('per packet: classifier lookups', lookups / n, 'subtable probes', probes / n, 'port deliveries', (st.sum('port_rx_packets') - rx0) / n);
const perEl = new Map<string, number>();
st.desc.forEach((d, i) => { if (d.name === 'port_rx_packets') { const k = `${d.labels.node}:${d.labels.element}`; perEl.set(k, (perEl.get(k) ?? 0) + st.v[i]!); } });
console.log([...perEl].map(([k, v]) => `${k}=${v}`).join('\n'));
for (const el of rig.emu.engine.elements) { const t = (el as any).tables; if (t) for (const tb of t.existing()) if (tb.cls.size) console.log(el.node, el.name, 'table', tb.id, 'flows', tb.cls.size, 'subtables', tb.cls.subtableCount, 'lookups', tb.lookups); }
