import { buildRig, warm, pump, totalDrops } from './lib/seed.js';
const rig = buildRig({ flows: 10000, payload: 64 });
warm(rig, 64);
console.log('frameLen', rig.frameLen, 'ct snat', rig.snat.nf.conntrack.count, 'ct qrouter', rig.qrouter.nf.conntrack.count, 'drops', totalDrops(rig.emu));
for (let r = 0; r < 5; r++) {
  const n = 300000;
  const t0 = process.hrtime.bigint();
  pump(rig, n);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log((n / dt / 1e3).toFixed(1), 'kpps', 'out', rig.out.n, 'other', rig.other.n, 'drops', totalDrops(rig.emu));
  rig.out.n = 0;
}
