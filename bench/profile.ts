// `npm run bench -- --profile`: where the pipeline's time and allocations go.
// Builds and warms the seed rig (10 k flows, 64-byte UDP payload) like the
// pipeline benchmark, then profiles only the steady state: a CPU profile
// (self time by function, mapped back to the TypeScript source; inclusive
// time per element), then a sampling heap profile that keeps collected
// objects too (bytes allocated per packet by allocation site), and counts
// minor collections. The raw CPU profile is written for Chrome DevTools.
// With --new, the pipeline's new-connection mode instead: every packet a new
// 5-tuple (a new conntrack entry with SNAT), the tables flushed every 100 k.
//   node dist/bench/profile.js [--quick] [--new]
import { Session } from 'node:inspector/promises';
import { SourceMap } from 'node:module';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { parseOptions, secondsSince } from './lib/harness.js';
import { buildRig, pump, pumpNew, repoRoot, udpRequest, warm } from './lib/seed.js';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfNode[]; samples: number[]; timeDeltas: number[] }
interface HeapNode { callFrame: CallFrame; selfSize: number; children: HeapNode[] }

const opts = parseOptions('node dist/bench/profile.js [--quick] [--new]', { new: { type: 'boolean' } });
const SECONDS = opts.quick ? 2 : 5;
const root = repoRoot();
const maps = new Map<string, SourceMap | null>();

/** `src/x/y.ts:fn:line` for a call frame of the compiled code. */
function where(cf: CallFrame): string {
  const fn = cf.functionName || '(anonymous)';
  if (!cf.url.startsWith('file:')) return `${fn} ${cf.url || '(native)'}`;
  const file = fileURLToPath(cf.url);
  let sm = maps.get(file);
  if (sm === undefined) {
    sm = existsSync(file + '.map') ? new SourceMap(JSON.parse(readFileSync(file + '.map', 'utf8'))) : null;
    maps.set(file, sm);
  }
  const e = sm?.findEntry(cf.lineNumber, cf.columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
  if (e?.originalSource) {
    const src = e.originalSource.startsWith('file:') ? fileURLToPath(e.originalSource) : join(dirname(file), e.originalSource);
    return `${relative(root, src)}:${(e.originalLine ?? 0) + 1} ${fn}`;
  }
  return `${relative(root, file)}:${cf.lineNumber + 1} ${fn}`;
}

const NEW = opts.flag('new');
const rig = buildRig({ flows: NEW ? 1 : 10_000, payload: 64 });
warm(rig, 64);
const conntracks = rig.emu.engine.elements.filter((e) => e.kind === 'netns').map((e) => (e as typeof rig.snat).nf.conntrack);
const frame = udpRequest(1024, 1, 64);
let at = 0;
/** 10 k packets: the steady state's flows round-robin, or 10 k new connections. */
const step = (): void => {
  if (!NEW) pump(rig, 10_000, at);
  else {
    if (at % 100_000 === 0) for (const ct of conntracks) ct.flush();
    pumpNew(rig, frame, 10_000, at);
  }
  at += 10_000;
};
const run = (seconds: number): number => {
  const t0 = process.hrtime.bigint();
  let n = 0;
  while (secondsSince(t0) < seconds) {
    step();
    n += 10_000;
  }
  return n;
};
run(1); // JIT warm-up

const s = new Session();
s.connect();

// ---- CPU ----
await s.post('Profiler.enable');
await s.post('Profiler.setSamplingInterval', { interval: 100 });
await s.post('Profiler.start');
const t0 = process.hrtime.bigint();
const nCpu = run(SECONDS);
const cpuS = secondsSince(t0);
const { profile } = (await s.post('Profiler.stop')) as unknown as { profile: CpuProfile };
const out = join(root, 'dist', 'bench', NEW ? 'pipeline-new.cpuprofile' : 'pipeline.cpuprofile');
writeFileSync(out, JSON.stringify(profile));

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<string, number>();
const incl = new Map<string, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const leaf = byId.get(profile.samples[i]!)!;
  const k = where(leaf.callFrame);
  self.set(k, (self.get(k) ?? 0) + dt);
  const seen = new Set<string>();
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName;
    if (name !== 'receive' && name !== 'run' && name !== 'hook' && name !== 'lookup') continue;
    const key = where(n.callFrame);
    if (!seen.has(key)) {
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + dt);
    }
  }
}
const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
console.log(`pipeline profile: seed request path, ${NEW ? 'every packet a new connection' : '10 k flows'}, 106-byte frames, ${nCpu} packets in ${cpuS.toFixed(2)} s under the profiler (${(nCpu / cpuS / 1e3).toFixed(1)} k packets/s)`);
console.log(`\nself time, top 30 (inlined callees count in their caller):`);
for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${pct(t)}  ${k}`);
console.log(`\ninclusive time of element receive / run / hook / lookup functions:`);
for (const [k, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${pct(t)}  ${k}`);
console.log(`\nraw profile (Chrome DevTools > Performance > Load): ${relative(process.cwd(), out)}`);

// ---- allocations ----
let minor = 0;
const obs = new PerformanceObserver((l) => {
  for (const e of l.getEntries()) if ((e as unknown as { detail?: { kind: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) minor++;
});
obs.observe({ entryTypes: ['gc'] });
await new Promise((r) => setTimeout(r, 10));
minor = 0;
const nGc = run(opts.quick ? 1 : 2);
await new Promise((r) => setTimeout(r, 10));
obs.disconnect();
console.log(`\nminor GCs: ${minor} in ${nGc} packets (${((minor / nGc) * 1e6).toFixed(0)} per million packets)`);

await s.post('HeapProfiler.enable');
await s.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
const nHeap = run(opts.quick ? 1 : 2);
const { profile: hp } = (await s.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: HeapNode } };
const sites = new Map<string, number>();
let bytes = 0;
const walk = (n: HeapNode) => {
  if (n.selfSize) {
    const k = where(n.callFrame);
    sites.set(k, (sites.get(k) ?? 0) + n.selfSize);
    bytes += n.selfSize;
  }
  for (const c of n.children) walk(c);
};
walk(hp.head);
console.log(`\nallocated (sampling heap profiler, collected objects included): about ${(bytes / nHeap).toFixed(0)} bytes per packet; top sites:`);
for (const [k, b] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${(b / nHeap).toFixed(0).padStart(6)} B/packet  ${k}`);
s.disconnect();
