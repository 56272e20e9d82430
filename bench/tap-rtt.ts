// Round trips through the running daemon at fixed rates (issue 6, latency
// through TAPs): UDP from the lab VM's namespace to an echo in the internet
// host's (bench/lib/udp-peer.ts), paced at each rate for --seconds after a
// warm-up of half that, with the daemon's own read-to-write time per pass
// (dpemu_e2e_latency_seconds). bench/tap.ts paces its round trips at a
// quarter of the loss-free rate it finds, which moves with the box; fixed
// rates let two checkouts be compared in one window:
//
//   sudo node dist/bench/tap-rtt.js [--workers 1] [--rates 5000,10000] [--seconds 4]
//        [--daemon-repo DIR]     another checkout's daemon (its `npx tsc -p tsconfig.json` built)
//        [--json]
//
// Not part of `npm run bench`: a diagnostic, one line per rate.
import { loadavg } from 'node:os';
import { progress } from './lib/harness.js';
import { cli } from './lib/args.js';
import { LAB_OPTIONS, LAB_USAGE, TapLab, bucketPercentile, labSettings } from './lib/tap-lab.js';

const opts = cli(`node dist/bench/tap-rtt.js [--workers 1] [--rates 5000,10000] [--seconds 4] [--json] ${LAB_USAGE}`, {
  workers: { type: 'string' }, rates: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'boolean' }, ...LAB_OPTIONS,
});
const WORKERS = opts.num('workers', 1);
const RATES = opts.nums('rates', '5000,10000', 1);
const SECONDS = opts.num('seconds', 4, 0.1, true);
const JSON_OUT = opts.flag('json');
const settings = labSettings(opts);

if (process.getuid?.() !== 0) {
  progress('tap-rtt: needs root (network namespaces and TAP devices)');
  process.exit(0);
}

const daemon = settings.daemonRepo ?? 'this checkout';
const lab = await TapLab.start('tap-rtt', { workers: WORKERS, direct: false, settings });
const rows = [];
try {
  for (const rate of RATES) {
    await lab.ping(lab.ns.vm, lab.ns.inet, rate, Math.round((rate * SECONDS) / 2));
    const e0 = await lab.e2eBuckets();
    const r = await lab.ping(lab.ns.vm, lab.ns.inet, rate, rate * SECONDS);
    const e1 = await lab.e2eBuckets();
    const row = {
      rate, p50: r.p50, p99: r.p99, p999: r.p999, lost: r.sent - r.answered, sent: r.sent,
      daemonP50: bucketPercentile(e0, e1, 0.5), daemonP99: bucketPercentile(e0, e1, 0.99), load: +loadavg()[0]!.toFixed(2),
    };
    rows.push(row);
    if (!JSON_OUT) {
      console.log(`${daemon}: ${rate} round trips/s: p50 ${row.p50} µs, p99 ${row.p99}, p99.9 ${row.p999}, ${row.lost} of ${row.sent} lost; daemon per pass p50 <= ${row.daemonP50} µs, p99 <= ${row.daemonP99}; load ${row.load}`);
    }
  }
} finally {
  await lab.close();
}
if (JSON_OUT) console.log(JSON.stringify({ daemon, workers: WORKERS, seconds: SECONDS, rows }));
