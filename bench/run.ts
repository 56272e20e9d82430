// `npm run bench`: compiles with tsc (bench/tsconfig.json, into dist/) and runs
// this file, which runs each benchmark group in its own node process (a fresh
// heap and JIT, so RSS figures are the group's own) and prints one table, or
// with --json one JSON object of named figures.
//
//   npm run bench                       # every group (about 2 to 3 minutes)
//   npm run bench -- --quick            # shorter runs, fewer samples (under a minute)
//   npm run bench -- --json > out.json  # one JSON object: machine, options, figures by name
//   npm run bench -- --only micro,scale # some groups: micro, pipeline, workers, scale, churn
//   sudo npm run bench -- --only tap    # through real TAPs (root; not run by default)
//   sudo npm run bench -- --only tap-churn  # flow churn through real TAPs and the daemon's control socket (root)
//   sudo npm run bench -- --only soak   # 15 minutes of the running daemon: memory under endless new connections (root)
//   npm run bench -- --profile          # CPU and allocation profile of the pipeline instead
//   npm run bench -- --profile --new    # ... of its new-connection mode (every packet a new conntrack entry with SNAT)
//
// Why compiled JS and not tsx: tsx (esbuild) compiles file by file, so a
// `const enum` imported from another file (K in ofproto/flow-key.ts,
// DecodeError ...) becomes a property load on a module object instead of a
// constant, and the hot paths run measurably slower. tsc inlines them.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { type Figure, machine } from './lib/harness.js';
import { cli } from './lib/args.js';

const here = dirname(fileURLToPath(import.meta.url));
const GROUPS = ['micro', 'pipeline', 'workers', 'scale', 'churn', 'tap', 'tap-churn', 'soak'] as const;
/** Run without --only: tap, tap-churn and soak need root and create namespaces, so only on request. */
const DEFAULT_GROUPS: readonly Group[] = ['micro', 'pipeline', 'workers', 'scale', 'churn'];
type Group = (typeof GROUPS)[number];
const NODE_FLAGS: Record<Group, string[]> = {
  micro: [],
  pipeline: ['--expose-gc'],
  workers: [],
  scale: ['--expose-gc'],
  churn: [],
  tap: [],
  'tap-churn': [],
  soak: [],
};

const opts = cli('npm run bench -- [--quick] [--json] [--only GROUP,...] | --profile [--new] [--quick]', {
  quick: { type: 'boolean' }, json: { type: 'boolean' }, only: { type: 'string' }, profile: { type: 'boolean' }, new: { type: 'boolean' },
});
const json = opts.flag('json');
const quick = opts.flag('quick');
const only = opts.str('only')?.split(',').filter(Boolean) ?? [...DEFAULT_GROUPS];
for (const g of only) {
  if (!(GROUPS as readonly string[]).includes(g)) opts.fail(`bench: unknown group ${g} (groups: ${GROUPS.join(', ')})`);
}

if (opts.flag('profile')) {
  const r = spawnSync(process.execPath, [join(here, 'profile.js'), ...(quick ? ['--quick'] : []), ...(opts.flag('new') ? ['--new'] : [])], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const started = new Date();
const load0 = loadavg();
const figures: Figure[] = [];
let failed = false;
for (const g of only as Group[]) {
  if (!json) process.stderr.write(`[${g}]\n`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [...NODE_FLAGS[g], join(here, `${g}.js`), ...(quick ? ['--quick'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20,
  });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) {
    failed = true;
    process.stderr.write(`bench: group ${g} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''})\n`);
    continue;
  }
  const out = JSON.parse(line) as { figures: Figure[] };
  for (const f of out.figures) f.conditions = { ...f.conditions, group: g };
  figures.push(...out.figures);
  if (!json) process.stderr.write(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
}

if (json) {
  const byName: Record<string, Omit<Figure, 'name'>> = {};
  for (const { name, ...rest } of figures) byName[name] = rest;
  process.stdout.write(JSON.stringify({
    dpemu: 'bench', date: started.toISOString(), quick, groups: only, machine: machine(),
    loadAvgAtStart: load0.map((x) => +x.toFixed(2)), loadAvgAtEnd: loadavg().map((x) => +x.toFixed(2)),
    build: 'tsc -p bench/tsconfig.json -> dist/, run with node (not tsx)',
    figures: byName,
  }, null, 2) + '\n');
} else {
  printTable(figures);
}
process.exit(failed ? 1 : 0);

function fmt(v: number): string {
  if (!Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)} k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function printTable(fs: Figure[]): void {
  const m = machine();
  console.log(`dpemu bench, ${started.toISOString()}, node ${m.node}, ${m.cores} x ${m.cpu}${quick ? ', --quick' : ''}`);
  console.log(`load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  const rows = fs.map((f) => {
    const spread = !f.spread ? '' : 'rmePct' in f.spread ? `±${f.spread.rmePct.toFixed(1)}%` : `${fmt(f.spread.min)}..${fmt(f.spread.max)}`;
    const tgt = f.target ? `${f.target.op} ${fmt(f.target.value)} ${f.target.met ? 'met' : 'MISSED'}` : '';
    const cond = Object.entries(f.conditions).filter(([k]) => k !== 'group' && k !== 'tool' && k !== 'from').map(([k, v]) => `${k}=${v}`).join(' ');
    return [f.name, fmt(f.value), f.unit, spread, tgt, f.note ? `${f.note}; ${cond}` : cond];
  });
  const head = ['figure', 'value', 'unit', 'spread', 'target', 'conditions'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  w[5] = head[5]!.length;
  const line = (r: string[]) => r.map((c, i) => (i === 1 ? c.padStart(w[i]!) : i === 5 ? c : c.padEnd(w[i]!))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}
