// Two builds of dpemu side by side in one process: the seed's request path
// (bench/lib/seed.ts: 10 k flows, 64-byte UDP payload, warmed) from each
// tree's dist/, two rigs each, run in alternated chunks, CPU time a packet
// per chunk. On a
// box whose load moves by 2x from one run to the next, separate runs cannot
// resolve a few per cent; chunks alternated within a second share the load,
// so the median of the pairwise ratios can. Not part of `npm run bench`: a
// tool for judging a change against the tree before it.
//
//   git worktree add /tmp/base main && ln -s $PWD/node_modules /tmp/base/ && (cd /tmp/base && npx tsc -p bench/tsconfig.json)
//   npx tsc -p bench/tsconfig.json && node dist/bench/ab.js /tmp/base . [--pairs 40] [--chunk 20000] [--new]
//
// --new: every packet a new connection (pipeline.newConnections' mode).
import { resolve } from 'node:path';
import { loadavg } from 'node:os';
import { median } from './lib/harness.js';
import { cli } from './lib/args.js';

type Seed = typeof import('./lib/seed.js');

const opts = cli('node dist/bench/ab.js TREE_A TREE_B [--pairs N] [--chunk N] [--new]', {
  pairs: { type: 'string' }, chunk: { type: 'string' }, new: { type: 'boolean' },
}, true);
const dirs = opts.positionals;
if (dirs.length !== 2) opts.fail(`two trees to compare, not ${dirs.length}`);
const PAIRS = opts.num('pairs', 40, 1), CHUNK = opts.num('chunk', 20_000, 1), NEW = opts.flag('new');

interface Side {
  run(): number;
}

async function side(dir: string): Promise<Side> {
  const seed = (await import(resolve(dir, 'dist/bench/lib/seed.js'))) as Seed;
  const rig = seed.buildRig({ flows: 10_000, payload: 64 });
  seed.warm(rig, 64);
  const frame = seed.udpRequest(1024, 1, 64);
  const pool = rig.emu.engine.pool;
  let seq = 0;
  // Each tree's own way of injecting (a tree before pumpNew ran frame by frame).
  const pump = NEW
    ? seed.pumpNew
      ? () => {
          seed.pumpNew(rig, frame, CHUNK, seq);
          seq += CHUNK;
        }
      : () => {
          for (let i = 0; i < CHUNK; i++) {
            seed.newTuple(frame, seq++);
            rig.emu.engine.inject(pool.allocFrom(frame)!, rig.vmPort);
          }
        }
    : () => seed.pump(rig, CHUNK);
  return {
    run() {
      const t = process.cpuUsage();
      pump();
      const u = process.cpuUsage(t);
      return (u.user + u.system) / CHUNK;
    },
  };
}

// Two rigs a tree, built A, B, B, A: whichever is built later runs a few per cent faster here
// (heap layout), so each side's mean of its two cancels it; the order within a round alternates too.
const a1 = await side(dirs[0]!), b1 = await side(dirs[1]!), b2 = await side(dirs[1]!), a2 = await side(dirs[0]!);
const all = [a1, b1, b2, a2];
for (let i = 0; i < 5; i++) for (const s of all) s.run(); // all optimized before anything counts
const ta: number[] = [], tb: number[] = [], ratio: number[] = [];
for (let i = 0; i < PAIRS; i++) {
  const t = new Map<Side, number>();
  for (const s of i % 2 === 0 ? all : [b2, a2, a1, b1]) t.set(s, s.run());
  const x = (t.get(a1)! + t.get(a2)!) / 2, y = (t.get(b1)! + t.get(b2)!) / 2;
  ta.push(x);
  tb.push(y);
  ratio.push(y / x);
}
const fmt = (v: number): string => v.toFixed(3);
console.log(`${NEW ? 'new connections' : 'steady state'}, ${PAIRS} rounds of 4 x ${CHUNK} packets, load ${loadavg()[0]!.toFixed(1)}`);
console.log(`  A ${dirs[0]}: median ${fmt(median(ta))} µs CPU a packet`);
console.log(`  B ${dirs[1]}: median ${fmt(median(tb))} µs CPU a packet`);
console.log(`  B/A: median ratio ${fmt(median(ratio))}, B cheaper in ${ratio.filter((r) => r < 1).length} of ${PAIRS} rounds`);
