// Flow, table, iptables rule and chain-policy counters live in shared memory
// (src/datapath/counter-cells.ts): another thread reading the cells sees what
// dump-flows and iptables -L -v print; blocks of deleted flows and rules go
// back and come out again zeroed; mod-flows keeps counts, clear-counters and
// -Z zero them, and a failed iptables load touches none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { CounterCells, type CellBlock } from '../../src/datapath/counter-cells.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { TABLE_ALL } from '../../src/ofproto/flow-table.js';
import { emptyMatch } from '../../src/ofproto/match.js';
import { clearCounters } from '../../src/control/admin-commands.js';
import { iptables, iptablesSaveCmd } from '../../src/control/iptables-commands.js';
import { ofctl } from '../../src/control/ovs-commands.js';
import type { ControlContext } from '../../src/control/command.js';
import { Ruleset, loadIptables, ruleCounts, iptablesSave, type Rule } from '../../src/netfilter/index.js';
import { M, SEED, golden, inject, type Golden } from '../helpers/golden.js';
import { rig, icmp, MAC } from './ofproto-bridge-fixtures.js';

const N = 300;

/** Reads [packets, bytes] of each block in a worker thread, from the posted SharedArrayBuffers only. */
async function readInWorker(buffers: SharedArrayBuffer[], at: { chunk: number; at: number }[]): Promise<[number, number][]> {
  const w = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const views = workerData.buffers.map((b) => new Float64Array(b));
     parentPort.postMessage(workerData.at.map((l) => [views[l.chunk][l.at], views[l.chunk][l.at + 1]]));`,
    { eval: true, workerData: { buffers, at } },
  );
  try {
    return await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  } finally {
    await w.terminate();
  }
}

async function readBlocks(cells: CounterCells, blocks: CellBlock[]): Promise<[number, number][]> {
  return readInWorker(cells.buffers(), blocks.map((b) => {
    const l = cells.locate(b);
    assert.ok(l, 'every live flow, table and rule has a block in shared memory');
    return l;
  }));
}

const ctx = (g: Golden): ControlContext => ({ emu: g.emu, invalidate: () => {} });
const stdout = async (r: ReturnType<typeof ofctl.run>): Promise<string> => (await r).stdout;

function seedRun(): Golden {
  const g = golden(SEED);
  g.emu.engine.tracer = null;
  return g;
}
const sendRequest = (g: Golden): Uint8Array =>
  inject(g, 'w07', 'tap2ab77d0f-99', { src: M.vm, dst: M.qr, ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 60691, seq: 1, data: 100 } });

test('allocator: chunks never move, released blocks are reused zeroed, locate() names chunk and offset', () => {
  const c = new CounterCells();
  const blocks: CellBlock[] = [];
  for (let i = 0; i < 5000; i++) {
    const b = { cells: new Float64Array(0), at: 0 };
    c.alloc(b, 2);
    b.cells[b.at] = i;
    blocks.push(b);
  }
  assert.ok(c.chunks.length > 1, 'grew by adding chunks');
  const first = c.chunks[0]!;
  assert.equal(c.live, 10_000);
  blocks.forEach((b, i) => assert.equal(b.cells[b.at], i, 'growth kept every earlier block where it was'));
  assert.equal(c.chunks[0], first);
  const gone = blocks[17]!;
  const where = c.locate(gone)!;
  c.release(gone, 2);
  assert.equal(c.live, 9998);
  assert.equal(gone.cells[gone.at], 17, 'a released owner keeps its last counts');
  assert.equal(c.locate(gone), null, 'but no longer in shared memory');
  gone.cells[gone.at]!++; // a late bump lands in the private copy
  assert.equal(c.chunks[where.chunk]![where.at], 17);
  const fresh = { cells: new Float64Array(0), at: 0 };
  c.alloc(fresh, 2);
  assert.deepEqual(c.locate(fresh), where, 'the freed block is reused');
  assert.equal(fresh.cells[fresh.at], 0, 'zeroed before reuse');
});

test('seed path, N requests: flow and table counters read from shared memory in a worker equal dump-flows', async () => {
  const g = seedRun();
  for (let i = 0; i < 3; i++) sendRequest(g);
  const brInt = g.emu.engine.element('w07', 'br-int') as OvsBridge;
  const entries = () => brInt.tables.select({ table: TABLE_ALL, match: emptyMatch(), strict: false });
  const before = await readBlocks(brInt.tables.counters, entries());
  for (let i = 0; i < N; i++) sendRequest(g);
  assert.equal(g.eth3!.frames.length, N + 3);
  const es = entries();
  const shared = await readBlocks(brInt.tables.counters, es);
  const dumped = (await stdout(ofctl.run(ctx(g), ['dump-flows', 'w07', 'br-int']))).split('\n').slice(1, -1).map((l) => {
    const m = /n_packets=(\d+), n_bytes=(\d+)/.exec(l);
    assert.ok(m, l);
    return [Number(m[1]), Number(m[2])];
  });
  assert.deepEqual(shared, dumped, 'each flow: the worker reads what dump-flows prints');
  const moved = shared.map(([p, b], i) => [p - before[i]![0], b - before[i]![1]]);
  // The request crosses br-int on w07 once in each table it visits (VM port in, patch-tun out): 142-byte frames.
  assert.ok(moved.some(([p, b]) => p === N && b === N * 142), `some flow counted exactly N: ${JSON.stringify(moved)}`);
  const tables = brInt.tables.existing();
  const tshared = await readBlocks(brInt.tables.counters, tables);
  assert.deepEqual(tshared, tables.map((t) => [t.lookups, t.matched]));
  assert.deepEqual(brInt.tableStats().map((s) => [s.lookups, s.matched]), tables.filter((t) => t.cls.size || t.lookups).map((t) => [t.lookups, t.matched]));
  assert.ok(tshared[0]![0]! >= N + 3, 'table 0 looked up for every request');

  // clear-counters zeroes flows and tables, in shared memory, cache hits not credited yet included.
  for (let i = 0; i < 3; i++) sendRequest(g);
  await clearCounters.run(ctx(g), []);
  assert.ok((await readBlocks(brInt.tables.counters, entries())).every(([p, b]) => p === 0 && b === 0));
  assert.ok((await readBlocks(brInt.tables.counters, tables)).every(([l, m]) => l === 0 && m === 0));
  assert.match(await stdout(ofctl.run(ctx(g), ['dump-flows', 'w07', 'br-int'])), /n_packets=0, n_bytes=0/);
  assert.doesNotMatch(await stdout(ofctl.run(ctx(g), ['dump-flows', 'w07', 'br-int'])), /n_packets=[1-9]/);
});

test('seed snat namespace, N requests: rule and policy counters read in a worker equal iptables -L -n -v -x', async () => {
  const g = seedRun();
  const snat = g.emu.engine.element('w02', 'snat-c4d4b760-41b9-45e1-a607-d054da99c479') as NetNamespace;
  // A rule without a target only counts (as on a real node): every request forwarded from the VM.
  await iptables.run(ctx(g), ['w02', '-n', snat.name, '-I', 'FORWARD', '-s', '192.168.1.7/32', '-p', 'icmp']);
  for (let i = 0; i < N; i++) sendRequest(g);
  assert.equal(g.eth3!.frames.length, N);
  const rs = snat.nf.rules;
  const fwd = rs.tables.filter.chains.get('FORWARD')!;
  const listed = (await stdout(iptables.run(ctx(g), ['w02', '-n', snat.name, '-L', 'FORWARD', '-n', '-v', '-x']))).split('\n');
  const [counter] = await readBlocks(rs.counters, [fwd.rules[0]!]);
  assert.deepEqual(counter, [N, N * 128], 'IP length 128 per request');
  assert.match(listed[2]!, new RegExp(`^ +${N} +${N * 128} +all|^ +${N} +${N * 128} +icmp`));
  // Every rule and built-in chain of every loaded table: the worker's view equals the listing.
  for (const t of Object.values(rs.tables).filter((x) => x.loaded)) {
    const text = (await stdout(iptables.run(ctx(g), ['w02', '-n', snat.name, '-t', t.name, '-L', '-n', '-v', '-x']))).split('\n');
    const fromText: [number, number][] = [];
    for (const l of text) {
      const pol = /\(policy \w+ (\d+) packets, (\d+) bytes\)/.exec(l);
      if (pol) fromText.push([Number(pol[1]), Number(pol[2])]);
      const rule = /^ +(\d+) +(\d+) /.exec(l);
      if (rule) fromText.push([Number(rule[1]), Number(rule[2])]);
    }
    const blocks: CellBlock[] = [];
    for (const c of t.chainOrder()) {
      if (c.builtin) blocks.push(c);
      blocks.push(...c.rules);
    }
    assert.deepEqual(await readBlocks(rs.counters, blocks), fromText, `table ${t.name}`);
  }
  assert.match((await stdout(iptablesSaveCmd.run(ctx(g), ['w02', '-n', snat.name, '-c']))), new RegExp(`\\[${N}:${N * 128}\\] -A FORWARD -s 192.168.1.7/32 -p icmp`));
  await clearCounters.run(ctx(g), []);
  assert.deepEqual(await readBlocks(rs.counters, [fwd.rules[0]!]), [[0, 0]], 'clear-counters zeroes iptables counters too');
});

test('flows: delete gives the block back and a later flow starts from 0; mod-flows keeps counts; add-flow resets them', async () => {
  const r = rig(1000);
  const br = r.bridge('br0', { failMode: 'secure' });
  const p1 = br.addOvsPort('p1', { ofport: 1 });
  const p2 = br.addOvsPort('p2', { ofport: 2 });
  r.sink(p2);
  const cells = br.tables.counters;
  br.addFlow('priority=5,in_port=1 actions=output:2');
  const [e] = br.findFlows('priority=5,in_port=1', { strict: true });
  for (let i = 0; i < 7; i++) r.send(p1, icmp(MAC.vm, MAC.qr));
  // Cache hits credit flows lazily: the owning thread pushes them (every tick, and before it reads them itself).
  br.tables.sync();
  assert.deepEqual(await readBlocks(cells, [e!]), [[7, 7 * 142]]);

  br.modFlows('priority=5,in_port=1 actions=output:2,output:2', { strict: true });
  assert.equal(br.findFlows('priority=5,in_port=1', { strict: true })[0], e, 'mod-flows keeps the entry');
  assert.deepEqual(await readBlocks(cells, [e!]), [[7, 7 * 142]], 'and its counts');

  // add-flow with the same match and priority replaces the flow: counters restart (OpenFlow 1.0), the old block goes back.
  const live = cells.live;
  const where = cells.locate(e!);
  br.addFlow('priority=5,in_port=1 actions=output:2');
  const [e2] = br.findFlows('priority=5,in_port=1', { strict: true });
  assert.notEqual(e2, e);
  assert.equal(cells.live, live, 'one block out, one in');
  assert.equal(e!.nPackets, 7, 'the replaced entry keeps its last counts');
  assert.match(br.dumpFlows()[0]!, /n_packets=0, n_bytes=0/);
  assert.deepEqual(cells.locate(e2!), where, 'the new flow got the freed block');
  assert.deepEqual(await readBlocks(cells, [e2!]), [[0, 0]]);

  r.send(p1, icmp(MAC.vm, MAC.qr));
  const before = cells.live;
  br.delFlows('priority=5,in_port=1', { strict: true });
  assert.equal(cells.live, before - 2, 'del-flows released the block');
  assert.equal(cells.locate(e2!), null);
  assert.equal(e2!.nPackets, 1);
  br.addFlow('priority=9,in_port=1 actions=drop');
  const [e3] = br.findFlows('priority=9,in_port=1', { strict: true });
  assert.deepEqual(cells.locate(e3!), where, 'reused');
  assert.deepEqual(await readBlocks(cells, [e3!]), [[0, 0]], 'no stale counts');
  assert.match(br.dumpFlows()[0]!, /n_packets=0, n_bytes=0/);

  // Idle timeouts give blocks back too.
  br.addFlow('priority=1,in_port=2,idle_timeout=1 actions=drop');
  const [timed] = br.findFlows('priority=1,in_port=2', { strict: true });
  const n = cells.live;
  r.advance(2000);
  br.tables.expire(r.clock.now());
  assert.equal(cells.live, n - 2);
  assert.equal(cells.locate(timed!), null);
});

test('iptables: -D and -F give blocks back, a new rule starts from 0, -Z zeroes, a failed load changes no counter', async () => {
  const rs = new Ruleset();
  loadIptables(rs, '-A FORWARD -s 10.0.0.1 -j ACCEPT\n-A FORWARD -s 10.0.0.2 -j ACCEPT');
  const t = rs.tables.filter; // the live table until the next load swaps in its working copy
  const fwd = () => rs.tables.filter.chains.get('FORWARD')!;
  const [a, b] = fwd().rules as [Rule, Rule];
  t.setCounts(a, 5, 500);
  t.setCounts(fwd(), 2, 200);
  const live = rs.counters.live;
  const whereA = rs.counters.locate(a);

  // A load that fails after a -Z and a -D leaves counters and blocks as they were.
  assert.throws(() => loadIptables(rs, '-Z\n-D FORWARD 1\n-A FORWARD -s 10.0.0.3 -j ACCEPT\n-A FORWARD -j NOSUCHCHAIN'));
  assert.deepEqual(ruleCounts(fwd().rules[0]!), [5, 500]);
  assert.deepEqual([fwd().pkts, fwd().bytes], [2, 200]);
  assert.equal(rs.counters.live, live, 'the failed load\'s new rule gave its block back');
  assert.deepEqual(rs.counters.locate(fwd().rules[0]!), whereA, 'the surviving rule keeps its block across a load');

  // Rules kept by a load keep their counts; -D gives the block back; -A reuses it from 0.
  loadIptables(rs, '-D FORWARD -s 10.0.0.1 -j ACCEPT');
  assert.equal(rs.counters.live, live - 2);
  assert.equal(rs.counters.locate(a), null);
  assert.equal(fwd().rules.length, 1);
  assert.equal(fwd().rules[0]!.cells, b.cells);
  loadIptables(rs, '-A FORWARD -s 10.0.0.9 -j DROP');
  const added = fwd().rules[1]!;
  assert.deepEqual(rs.counters.locate(added), whereA, 'reused');
  assert.deepEqual(await readBlocks(rs.counters, [added]), [[0, 0]], 'no stale counts');

  // iptables-restore -c sets counters; -Z zeroes them (policy too); -F releases.
  loadIptables(rs, '*filter\n:FORWARD DROP [4:40]\n[3:30] -A FORWARD -s 10.0.0.7 -j ACCEPT\nCOMMIT', { counters: true });
  assert.match(iptablesSave(rs, { counters: true }), /:FORWARD DROP \[4:40\]\n:OUTPUT ACCEPT \[0:0\]\n\[3:30\] -A FORWARD -s 10.0.0.7\/32 -j ACCEPT/);
  assert.deepEqual(await readBlocks(rs.counters, [fwd(), fwd().rules[0]!]), [[4, 40], [3, 30]]);
  loadIptables(rs, '-Z FORWARD');
  assert.deepEqual(await readBlocks(rs.counters, [fwd(), fwd().rules[0]!]), [[0, 0], [0, 0]]);
  const before = rs.counters.live;
  loadIptables(rs, '-F FORWARD');
  assert.equal(rs.counters.live, before - 2);
});
