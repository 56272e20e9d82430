// Flow churn: the write-up's request direction forwarded in memory (the seed
// rig, 10 k UDP flows, 64-byte payloads) at half load while flows are added
// and deleted on br-int of w07, a bridge the path crosses twice (VM port ->
// qr- port, then qr- port -> patch-tun). The target (issue 6): 1 k flows added
// and 1 k deleted per second lose no packet of the flows the change did not
// touch.
//
// Half load in memory: the engine runs in this thread, synchronously, so
// there is no queue to overflow. First the unpaced rate R is measured on the
// same rig, then packets are injected paced in time at R/2: the loop injects
// whatever is due by the clock (performance.now()), applies the flow changes
// due by the clock, and spins while nothing is due, so the thread is busy
// about half of the time and flow_mods land between packets as a control
// channel's would. A packet counts as lost when it does not leave at eth3
// (dropped, or sent out of another edge); sent and delivered must be equal.
// What churn could break here is semantic, not timing: a lookup that misses
// an untouched flow while a subtable grows, shrinks or is dropped, a delete
// that takes more than it names, or a fast-path entry that outlives the
// flows it was built from. Both modes run: the slow path (every packet
// through the classifier) and the OVS translation cache (invalidated by
// every flow change).
//
// The churned flows (bench/lib/churn-flows.ts) share tables and masks with
// the path's flows, at higher and lower priorities, and never match its
// packets. A window of 1000 of them is live at any time: each change adds
// the next flow and deletes (strict) the oldest. bench/tap-churn.ts does the
// same through TAPs and the running daemon's control socket.
//
//   node dist/bench/churn.js [--quick]
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { type Figure, emit, parseOptions, progress, target } from './lib/harness.js';
import { type Rig, buildRig, pump, totalDrops, warm } from './lib/seed.js';
import { OvsBridge } from '../src/ofproto/bridge.js';
import { churnFlow } from './lib/churn-flows.js';

const opts = parseOptions('node dist/bench/churn.js [--quick]');
const FLOWS = 10_000;
const PAYLOAD = 64;
const CHURN_PER_S = 1000; // adds per second, and as many deletes
const WINDOW = 1000; // churned flows live at once
const RATE_S = opts.quick ? 0.5 : 1.5;
const CHURN_S = opts.quick ? 2 : 5;
const BATCH = 32; // packets injected between clock reads

/** Unpaced packets/s of the rig right now (what "full load" is). */
function maxRate(rig: Rig, at: { n: number }): number {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < RATE_S * 1000) {
    pump(rig, 1000, at.n);
    at.n += 1000;
    n += 1000;
  }
  return n / ((performance.now() - t0) / 1000);
}

const figures: Figure[] = [];

function run(mode: 'slow' | 'fast'): void {
  progress(`churn (${mode} path): building the seed rig, warming ${FLOWS} flows`);
  const rig = buildRig({ flows: FLOWS, payload: PAYLOAD });
  const engine = rig.emu.engine;
  engine.fastpath = mode === 'fast';
  warm(rig, PAYLOAD);
  const br = engine.element('w07', 'br-int');
  if (!(br instanceof OvsBridge)) throw new Error('w07 br-int is not an OVS bridge');
  const base = br.tables.flowCount;
  for (let i = 0; i < WINDOW; i++) br.addFlow(churnFlow(i).add);
  const at = { n: 0 };
  // Warm-up with the window in place: JIT, and two passes over the flows so the
  // translation cache has admitted every key (it records a key on its second miss).
  pump(rig, 2 * FLOWS, at.n);
  at.n += 2 * FLOWS;
  const full = maxRate(rig, at);
  const offered = full / 2;
  progress(`churn (${mode} path): unpaced ${Math.round(full)} packets/s; pacing at ${Math.round(offered)} with ${CHURN_PER_S} adds + ${CHURN_PER_S} deletes/s`);

  const drops0 = totalDrops(rig.emu);
  const out0 = rig.out.n, other0 = rig.other.n;
  const st = engine.stats;
  const fp0 = { h: st.sum('fastpath_hits'), m: st.sum('fastpath_misses'), i: st.sum('fastpath_invalidations') };
  const load0 = loadavg()[0]!;
  let sent = 0, adds = 0, dels = 0;
  let next = WINDOW; // the next churned flow to add; next - WINDOW is the oldest live one
  let busy = 0;
  const t0 = performance.now();
  const end = t0 + CHURN_S * 1000;
  for (let now = t0; now < end; now = performance.now()) {
    const s = (now - t0) / 1000;
    const dueP = Math.floor(offered * s) - sent;
    const dueC = Math.floor(CHURN_PER_S * s) - adds;
    if (dueP <= 0 && dueC <= 0) continue; // idle: the other half of the time
    if (dueC > 0) {
      for (let k = 0; k < dueC; k++, next++) {
        br.addFlow(churnFlow(next).add);
        if (br.delFlows(churnFlow(next - WINDOW).del, { strict: true }).length !== 1) throw new Error(`churned flow ${next - WINDOW} was not deleted exactly once`);
        adds++;
        dels++;
      }
    }
    if (dueP > 0) {
      const n = Math.min(dueP, BATCH);
      pump(rig, n, at.n);
      at.n += n;
      sent += n;
    }
    busy += performance.now() - now;
  }
  const secs = (performance.now() - t0) / 1000;
  const delivered = rig.out.n - out0, elsewhere = rig.other.n - other0, dropped = totalDrops(rig.emu) - drops0;
  if (br.tables.flowCount !== base + WINDOW) throw new Error(`br-int holds ${br.tables.flowCount} flows, want ${base + WINDOW}`);
  const fp = { h: st.sum('fastpath_hits') - fp0.h, m: st.sum('fastpath_misses') - fp0.m, i: st.sum('fastpath_invalidations') - fp0.i };
  const cond = {
    path: mode === 'fast' ? 'OVS translation cache on' : 'slow path (translation cache off)',
    frameBytes: rig.frameLen, udpPayload: PAYLOAD, flows: FLOWS, workers: 1, seconds: +secs.toFixed(2),
    bridge: 'w07 br-int (tables 0, 25, 60)', churnWindow: WINDOW, loadAvg1mBefore: +load0.toFixed(2),
  };
  const name = `churn.${mode}`;
  figures.push({
    name: `${name}.lost`, value: sent - delivered, unit: 'packets', conditions: { ...cond, sent, delivered, elsewhere, dropped },
    target: target(sent - delivered, '<=', 0), note: 'packets of untouched flows not delivered at eth3 during churn',
  });
  figures.push({ name: `${name}.sent`, value: sent, unit: 'packets', conditions: { from: name } });
  figures.push({ name: `${name}.delivered`, value: delivered, unit: 'packets', conditions: { from: name, elsewhere, dropped } });
  figures.push({
    name: `${name}.churnRate`, value: adds / secs, unit: 'flows added/s', conditions: { from: name, deletesPerS: +(dels / secs).toFixed(0), flowModsPerS: +((adds + dels) / secs).toFixed(0) },
    target: target(adds / secs, '>=', CHURN_PER_S * 0.99), note: 'as many strict deletes as adds',
  });
  figures.push({
    name: `${name}.forwardingRate`, value: sent / secs, unit: 'packets/s', conditions: { from: name, offered: Math.round(offered), unpacedBefore: Math.round(full) },
    note: 'delivered packets per second while churning (offered: half the unpaced rate measured just before)',
  });
  figures.push({
    name: `${name}.busyFraction`, value: busy / (secs * 1000), unit: 'ratio', conditions: { from: name },
    note: 'share of the thread spent forwarding and changing flows (the rest spins waiting for the clock)',
  });
  if (mode === 'fast') {
    figures.push({
      name: `${name}.fastpathHitRate`, value: fp.h + fp.m ? fp.h / (fp.h + fp.m) : 0, unit: 'ratio',
      conditions: { from: name, hits: fp.h, misses: fp.m, invalidations: fp.i },
    });
  }
}

run('slow');
run('fast');
emit('churn', figures);
