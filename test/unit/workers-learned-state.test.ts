// Learned state outlives a datapath worker. The seed topology runs in two
// workers (w07, w02); traffic teaches the Linux bridge (qbr) and OVS NORMAL
// (br-int, br-ex) their MACs, br-tun its learn() flows and the namespaces
// their neighbours. Then each worker is killed mid-traffic and restarted:
// brctl showmacs, fdb/show, ip neigh and the learned flows must read as
// before (the clock is manual, so no time passes), and the same request and
// reply must leave exactly as they did before the kill: no flooding (which
// would show as more frames at the edges, more hand-offs between workers and
// more drops) and no ARP request for a neighbour already known. A reload's
// next datapath must carry the same state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame } from '../../src/wire/frame.js';
import { PartitionedDatapath } from '../../src/workers/supervisor.js';
import type { ControlAnswer } from '../../src/workers/worker-control.js';
import { PartitionedMetrics } from '../../src/workers/remote-metrics.js';
import { registerCollectors } from '../../src/metrics/index.js';
import { Stats } from '../../src/datapath/stats.js';
import { DEFAULT_JOURNAL_BYTES, LJ } from '../../src/datapath/learned-journal.js';
import { workers as workersCommand } from '../../src/control/worker-commands.js';
import { parseExposition } from './metrics-scrape.js';
import { SEED_FILE, QROUTER, SNAT, FIP, VM_MAC, QR_MAC, GW_MAC, FIP_VIF_MAC, VM_IP, SNAT_IP, VM_EDGE, ETH3 } from '../helpers/seed-names.js';

const DNS = '198.51.100.77';
const ASSIGNMENT = new Map([['w07', 0], ['w02', 1]]);

const request = (n: number): Uint8Array => buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: VM_IP, dst: DNS, id: n }, udp: { sport: 41000, dport: 53, payload: 64 } });
const reply = (dport: number): Uint8Array =>
  buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: DNS, dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport, payload: 64 } });

/** What each worker learned, as the tools show it (learned flows without their counters, which restart at 0). */
const VIEWS: [number, string, string[]][] = [
  [0, 'brctl', ['showmacs', 'w07', 'qbr2ab77d0f-99']],
  [0, 'bridge', ['w07', 'fdb', 'show', 'br', 'qbr2ab77d0f-99']],
  [0, 'appctl', ['fdb/show', 'w07', 'br-int']],
  [1, 'appctl', ['fdb/show', 'w02', 'br-int']],
  [1, 'appctl', ['fdb/show', 'w02', 'br-ex']],
  [0, 'ip', ['-n', QROUTER, 'w07', 'neigh']],
  [1, 'ip', ['-n', SNAT, 'w02', 'neigh']],
  [1, 'ip', ['-n', FIP, 'w02', 'neigh']],
  [0, 'ofctl', ['dump-flows', '--no-stats', 'w07', 'br-tun', 'table=20']],
  [1, 'ofctl', ['dump-flows', '--no-stats', 'w02', 'br-tun', 'table=20']],
];

async function views(dp: PartitionedDatapath): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [w, family, argv] of VIEWS) {
    const a = await dp.request<ControlAnswer>(w, { op: 'control', family, argv });
    assert.ok(a.response, `${family} ${argv.join(' ')}: ${JSON.stringify(a.error)}`);
    out[`${family} ${argv.join(' ')}`] = a.response.stdout;
  }
  return out;
}

const isArp = (f: Uint8Array): boolean => {
  const at = f[12] === 0x81 && f[13] === 0x00 ? 16 : 12;
  return f[at] === 0x08 && f[at + 1] === 0x06;
};

/** Frames at every edge, ARP among them, hand-offs and drops: what one exchange costs. */
async function footprint(dp: PartitionedDatapath, run: () => Promise<void>): Promise<Record<string, number>> {
  const edges = dp.topology.edges.map((e) => dp.frames(e.port.node, e.port.port).length);
  const arps = dp.topology.edges.map((e) => dp.frames(e.port.node, e.port.port).filter(isArp).length);
  const hand = [dp.counter(0, 'HANDOFF_OUT'), dp.counter(1, 'HANDOFF_OUT')];
  const drops = Object.values(await dp.drops()).reduce((a, b) => a + b, 0);
  await run();
  const out: Record<string, number> = {};
  dp.topology.edges.forEach((e, i) => {
    const now = dp.frames(e.port.node, e.port.port);
    out[`${e.port.node}:${e.port.port} frames`] = now.length - edges[i]!;
    out[`${e.port.node}:${e.port.port} arp`] = now.filter(isArp).length - arps[i]!;
  });
  out['handoff w07'] = dp.counter(0, 'HANDOFF_OUT') - hand[0]!;
  out['handoff w02'] = dp.counter(1, 'HANDOFF_OUT') - hand[1]!;
  out.drops = Object.values(await dp.drops()).reduce((a, b) => a + b, 0) - drops;
  return out;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Teach both workers: ARP both ways, a UDP exchange through SNAT; returns the SNAT source port. Waits for the first timers (loaded neighbours move on). */
async function learn(dp: PartitionedDatapath): Promise<number> {
  const send = async (at: readonly [string, string], f: Uint8Array): Promise<void> => {
    assert.ok(dp.inject(at[0], at[1], f));
    await dp.settle();
  };
  await send(VM_EDGE, buildFrame({ src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: VM_IP, tpa: '192.168.1.1' } }));
  await send(ETH3, buildFrame({ src: GW_MAC, dst: 'ff:ff:ff:ff:ff:ff', vlans: [103], arp: { sha: GW_MAC, spa: '10.206.221.193', tpa: '10.206.221.195' } }));
  await send(VM_EDGE, request(0));
  const f = dp.frames(...ETH3).at(-1)!;
  const port = (f[38]! << 8) | f[39]!;
  await send(ETH3, reply(port));
  await pause(300); // the workers' element timers run (every 100 ms)
  await send(VM_EDGE, request(1));
  await send(ETH3, reply(port));
  await dp.settle();
  return port;
}

test('fdb entries, neighbours and learned flows survive a worker killed mid-traffic: nothing floods, nothing is asked again', async () => {
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual' });
  try {
    const port = await learn(dp);
    const exchange = async (): Promise<void> => {
      assert.ok(dp.inject(...VM_EDGE, request(2)));
      await dp.settle();
      assert.ok(dp.inject(...ETH3, reply(port)));
      await dp.settle();
    };
    const steady = await footprint(dp, exchange);
    assert.equal(steady['w02:eth3 frames'], 1, JSON.stringify(steady));
    assert.equal(steady['w07:tap2ab77d0f-99 frames'], 1, JSON.stringify(steady));
    const before = await views(dp);
    // Learned: the VM's MAC on qbr and br-int (w07), the gateway's on br-ex (w02), br-tun learn() flows on both, neighbours.
    assert.match(before['brctl showmacs w07 qbr2ab77d0f-99']!, /fa:16:3e:b2:ef:af\tno/);
    assert.match(before['appctl fdb/show w07 br-int']!, /fa:16:3e:b2:ef:af/);
    assert.match(before['appctl fdb/show w02 br-ex']!, /5c:c9:99:60:d2:71/);
    assert.match(before[`ip -n ${SNAT} w02 neigh`]!, /192\.168\.1\.7 dev \S+ lladdr fa:16:3e:b2:ef:af .*REACHABLE/);
    assert.match(before['ofctl dump-flows --no-stats w02 br-tun table=20']!, /dl_dst=fa:16:3e:b2:ef:af/);
    assert.match(before['ofctl dump-flows --no-stats w07 br-tun table=20']!, /hard_timeout=300, .*dl_dst=fa:16:3e:d1:d8:49/);

    for (const w of [0, 1]) {
      // Mid-traffic: requests are in the rings and in the worker when it dies.
      for (let i = 0; i < 200; i++) assert.ok(dp.inject(...VM_EDGE, request(100 + i)));
      const back = dp.restarted(w);
      await dp.kill(w);
      await back;
      assert.equal(dp.restarts[w], 1);
      await pause(300);
      await dp.settle();
      assert.deepEqual(await views(dp), before, `after worker ${w}'s restart`);
      // The same exchange leaves as it did before: the learned ports are used, no ARP asks again.
      assert.deepEqual(await footprint(dp, exchange), steady, `after worker ${w}'s restart`);
    }
    // The restored learned flow forwards: the reply to the VM hit it in w02's br-tun.
    const a = await dp.request<ControlAnswer>(1, { op: 'control', family: 'ofctl', argv: ['dump-flows', 'w02', 'br-tun', 'table=20,dl_dst=fa:16:3e:b2:ef:af'] });
    assert.match(a.response!.stdout, /n_packets=[1-9]/);
    const st = dp.journalStats();
    assert.equal(st.overflows, 0);
    assert.ok(st.records > 0 && st.kept > 0, JSON.stringify(st));
  } finally {
    await dp.stop();
  }
});

test('a reload hands the learned state to the next datapath with the conntrack', async () => {
  const old = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual' });
  let next: PartitionedDatapath | null = null;
  try {
    const port = await learn(old);
    const exchange = (dp: PartitionedDatapath) => async (): Promise<void> => {
      assert.ok(dp.inject(...VM_EDGE, request(2)));
      await dp.settle();
      assert.ok(dp.inject(...ETH3, reply(port)));
      await dp.settle();
    };
    const steady = await footprint(old, exchange(old));
    const before = await views(old);
    next = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual', adoptLater: true });
    const tables = await old.retire();
    // Plus an element the reload removed: its entries are not kept for a later reload that brings it back.
    const gone = 'w02/qrouter-gone/netns';
    await next.adopt(tables, [...old.learnedState(), [gone, [{ kind: LJ.NEIGH, nums: [0x0a000001, 2, 2, 0x5cc999000001, 0, 0, 0, 0, 0], text: 'qr-gone' }]]]);
    assert.ok(!new Map(next.learnedState()).has(gone), 'the removed element is forgotten');
    await pause(300);
    assert.deepEqual(await views(next), before);
    // The exchange leaves as it did before the reload (the reply un-NATed to the VM by the carried conntrack).
    assert.deepEqual(await footprint(next, exchange(next)), steady);
  } finally {
    await old.stop();
    await next?.stop();
  }
});

test('on the wall clock a restored entry keeps its age: fdb/show and brctl showmacs count on from the last journaled learn', async () => {
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT });
  try {
    await learn(dp);
    await pause(2100); // no traffic: the entries age
    const ages = async (): Promise<Map<string, number>> => {
      const v = await views(dp);
      const out = new Map<string, number>();
      for (const l of v['appctl fdb/show w07 br-int']!.split('\n').slice(1)) {
        const m = /^\s*(\S+)\s+(\d+)\s+(\S+)\s+(\d+)$/.exec(l);
        if (m) out.set(`br-int ${m[1]} ${m[2]} ${m[3]}`, Number(m[4]));
      }
      for (const l of v['brctl showmacs w07 qbr2ab77d0f-99']!.split('\n').slice(1)) {
        const m = /^\s*(\d+)\t(\S+)\tno\t\t\s*([\d.]+)$/.exec(l);
        if (m) out.set(`qbr ${m[1]} ${m[2]}`, Number(m[3]));
      }
      return out;
    };
    const t0 = performance.now();
    const before = await ages();
    assert.ok(before.size >= 4 && [...before.values()].every((a) => a >= 2), JSON.stringify([...before]));
    const back = dp.restarted(0);
    await dp.kill(0);
    await back;
    const after = await ages();
    const waited = (performance.now() - t0) / 1000;
    assert.deepEqual([...after.keys()], [...before.keys()]);
    for (const [k, a] of after) {
      // Counted on, not restarted: at least the age it had, at most that plus the time the restart took (and a second of rounding).
      assert.ok(a >= before.get(k)! && a <= before.get(k)! + waited + 1, `${k}: ${before.get(k)} then ${a} (${waited.toFixed(2)} s later)`);
    }
  } finally {
    await dp.stop();
  }
});

/** `dpemu workers`, as the daemon answers it, by worker: its journal columns. */
async function journalColumns(dp: PartitionedDatapath): Promise<{ journaled: number; dropped: number; rewrites: number }[]> {
  const r = await workersCommand.run({ invalidate: () => {}, workers: dp }, []);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^WORKER +ALIVE +RESTARTS +JOURNALED +DROPPED +REWRITES +CONFIG +UNKEPT +REPLAYED +NODES$/);
  return lines.slice(1).map((l) => {
    const m = /^\d+ +(?:yes|no) +\d+ +(\d+) +(\d+) +(\d+) +\d+ +\d+ +\d+ +\S+$/.exec(l);
    assert.ok(m, l);
    return { journaled: Number(m[1]), dropped: Number(m[2]), rewrites: Number(m[3]) };
  });
}

/** The journal's families in /metrics of the datapath, by worker. */
async function journalMetrics(dp: PartitionedDatapath): Promise<Map<string, number>> {
  const source = new PartitionedMetrics(dp, registerCollectors({ stats: new Stats(16), processMetrics: false }), { sampleEvery: null });
  const s = parseExposition((await source.exposition(false)).body);
  const out = new Map<string, number>();
  for (const x of s.samples) if (x.name.startsWith('dpemu_learned_journal_')) out.set(`${x.name} ${x.labels.worker}`, x.value);
  return out;
}

/** A frame from station `i` behind eth3 to the gateway, whose MAC br-ex learned on eth3 too: NORMAL learns the station and drops the frame (its destination is on the port it came in on). */
const STATIONS = 300;
const station = (i: number): Uint8Array => buildFrame({ src: `5c:c9:99:61:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`, dst: GW_MAC, vlans: [103], ip: { src: '10.206.221.200', dst: '10.206.221.193' }, udp: { sport: 1000, dport: 1000, payload: 16 } });

test('/metrics and dpemu workers count each worker\'s journal records: one per MAC br-ex learns', async () => {
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual' });
  try {
    await learn(dp);
    const at0 = await journalMetrics(dp);
    const rows0 = await journalColumns(dp);
    assert.equal(at0.get('dpemu_learned_journal_records_total datapath-1'), dp.journal(1).records);
    assert.equal(rows0[1]!.journaled, dp.journal(1).records);
    assert.ok(dp.journal(1).records > 0);
    assert.equal(at0.get('dpemu_learned_journal_capacity_bytes datapath-0'), DEFAULT_JOURNAL_BYTES);
    const N = 40;
    for (let i = 0; i < N; i++) assert.ok(dp.inject(...ETH3, station(i)));
    await dp.settle();
    const at1 = await journalMetrics(dp);
    const rows1 = await journalColumns(dp);
    // Exactly N on w02's worker (emulated time stands still: no refresh, no expiry, no neighbour timer), none on w07's.
    assert.equal(at1.get('dpemu_learned_journal_records_total datapath-1')! - at0.get('dpemu_learned_journal_records_total datapath-1')!, N);
    assert.equal(at1.get('dpemu_learned_journal_records_total datapath-0'), at0.get('dpemu_learned_journal_records_total datapath-0'));
    assert.equal(rows1[1]!.journaled - rows0[1]!.journaled, N);
    for (const w of [0, 1]) {
      assert.equal(at1.get(`dpemu_learned_journal_dropped_records_total datapath-${w}`), 0);
      assert.equal(at1.get(`dpemu_learned_journal_rewrites_total datapath-${w}`), 0);
      assert.deepEqual({ ...rows1[w]!, journaled: 0 }, { journaled: 0, dropped: 0, rewrites: 0 });
    }
  } finally {
    await dp.stop();
  }
});

test('a journal too small for a burst drops records, counts them, grows and writes the tables whole again', async () => {
  const losses: [number, number][] = [];
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: ASSIGNMENT, clock: 'manual', journalBytes: 4096, onJournalLoss: (w, n) => losses.push([w, n]) });
  try {
    await learn(dp);
    assert.equal(dp.journal(1).overflows, 0, 'the tables fit at the start');
    // 300 stations at once: about 18 KiB of records before the supervisor reads any, and a whole table
    // that no longer fits the 4 KiB ring even empty: the worker grows it, then rewrites once.
    for (let i = 0; i < STATIONS; i++) assert.ok(dp.inject(...ETH3, station(i)));
    await dp.settle();
    assert.ok(dp.journal(1).overflows > 0, JSON.stringify(dp.journal(1)));
    // The mirror holds the whole table again once the supervisor read the rewrite: every station br-ex learned (5c:c9:99:61:xx:xx).
    const stations = (): number => (new Map(dp.learnedState()).get('w02/br-ex/ovs_bridge') ?? [])
      .filter((r) => r.kind === LJ.OFDB && r.nums[0] === 0x5cc9 && r.nums[1]! >>> 16 === 0x9961).length;
    const t0 = Date.now();
    while ((dp.journal(1).resyncs === 0 || stations() < STATIONS) && Date.now() - t0 < 5000) await pause(50);
    assert.equal(stations(), STATIONS);
    const m = await journalMetrics(dp);
    const rows = await journalColumns(dp);
    const j = dp.journal(1);
    assert.equal(j.resyncs, 1);
    assert.ok(j.capacity > 4096 && (j.capacity & (j.capacity - 1)) === 0, `grown to a power of two: ${j.capacity}`);
    assert.equal(m.get('dpemu_learned_journal_rewrites_total datapath-1'), 1);
    assert.equal(m.get('dpemu_learned_journal_dropped_records_total datapath-1'), j.overflows);
    assert.equal(m.get('dpemu_learned_journal_capacity_bytes datapath-1'), j.capacity);
    assert.equal(m.get('dpemu_learned_journal_capacity_bytes datapath-0'), 4096);
    assert.deepEqual(rows[1], { journaled: j.records, dropped: j.overflows, rewrites: 1 });
    assert.deepEqual({ ...rows[0]!, journaled: 0 }, { journaled: 0, dropped: 0, rewrites: 0 });
    // The supervisor was told (the daemon logs it).
    assert.ok(losses.length > 0 && losses.every(([w]) => w === 1), JSON.stringify(losses));
  } finally {
    await dp.stop();
  }
});
