import { Session } from 'node:inspector';
import { buildRig, warm, pump } from './lib/seed.js';
const rig = buildRig({ flows: 10000, payload: 64 });
warm(rig, 64);
pump(rig, 200000);
const s = new Session(); s.connect();
const post = (m: string, p?: object) => new Promise<any>((res, rej) => s.post(m, p ?? {}, (e, r) => (e ? rej(e) : res(r))));
await post('HeapProfiler.enable');
await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const N = 200000;
pump(rig, N);
const { profile } = await post('HeapProfiler.stopSampling');
const rows = new Map<string, number>();
let total = 0;
const walk = (n: any, stack: string[]) => {
  const cf = n.callFrame; const k = `${cf.functionName || '(anon)'} ${cf.url.replace(/.*\/dist\//, '')}:${cf.lineNumber + 1}`;
  if (n.selfSize) { rows.set(k, (rows.get(k) ?? 0) + n.selfSize); total += n.selfSize; }
  for (const c of n.children) walk(c, [...stack, k]);
};
walk(profile.head, []);
console.log('sampled bytes per packet', (total / N).toFixed(0));
for (const [k, v] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log((v / N).toFixed(1).padStart(8), 'B/pkt ', k);
