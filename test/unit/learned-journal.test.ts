// The learned-state journal's ring: records come back in order across the
// wrap, a record that does not fit is dropped and counted (the producer is
// told to write its tables whole again), and the mirror keeps the latest
// record of each entry, forgets removed ones and clears a kind on RESET.
// A worker's elements whose journal overflowed write their tables whole
// again once it was read empty (growing it when even that does not fit),
// after which the mirror is what a fresh journal would hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LJ, LearnedJournal, journalBuffer, journalCounts, readJournal, type LearnedRecord } from '../../src/datapath/learned-journal.js';
import { LearnedMirror } from '../../src/workers/learned-mirror.js';
import { LearnedKeepers } from '../../src/workers/learned-keepers.js';
import { buildEmulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { buildFrame } from '../../src/wire/frame.js';

test('records wrap around the ring in order; a full ring drops and counts', () => {
  const sab = journalBuffer(4096);
  const j = new LearnedJournal(sab);
  const got: LearnedRecord[] = [];
  let sent = 0;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 30; i++) {
      j.f[0] = sent;
      j.f[1] = -sent;
      assert.ok(j.put(LJ.LFDB, 7, 2, `port-${sent}`));
      sent++;
    }
    readJournal(sab, (el, r) => {
      assert.equal(el, 7);
      got.push(r);
    });
  }
  assert.equal(got.length, sent);
  got.forEach((r, i) => assert.deepEqual(r, { kind: LJ.LFDB, nums: [i, -i], text: `port-${i}` }));
  // Unread, the ring fills: the record that does not fit is dropped, counted, and `lost` set.
  let ok = 0;
  while (j.put(LJ.OFDB, 1, 5)) ok++;
  assert.ok(ok > 10 && ok < 4096 / 56 + 1, String(ok));
  assert.equal(j.lost, true);
  const { unread, ...counts } = journalCounts(sab);
  assert.deepEqual(counts, { records: sent + ok, overflows: 1, resyncs: 0, capacity: 4096 });
  assert.ok(unread > 4096 - 56 && unread <= 4096, `the ring is full: ${unread} bytes unread`);
  assert.equal(readJournal(sab, () => {}), ok);
  assert.equal(journalCounts(sab).unread, 0);
  j.resynced();
  assert.equal(journalCounts(sab).resyncs, 1);
});

test('a drained ring grows to twice what the dropped records wanted; records after the growth come back in order', () => {
  const sab = journalBuffer(4096);
  const j = new LearnedJournal(sab);
  j.rewriting();
  // 200 records of 56 bytes (11 KiB): about 73 fit.
  let ok = 0;
  for (let i = 0; i < 200; i++) {
    j.f.fill(i, 0, 5);
    if (j.put(LJ.OFDB, 1, 5)) ok++;
  }
  assert.equal(j.lost, true);
  assert.equal(j.grow(), false, 'not while the consumer has records to read');
  assert.equal(readJournal(sab, () => {}), ok);
  assert.equal(j.grow(), true);
  assert.equal(journalCounts(sab).capacity, 32768, 'the next power of two above 2 x (4096 + 127 x 56)');
  j.rewriting();
  for (let i = 0; i < 200; i++) {
    j.f.fill(i, 0, 5);
    assert.ok(j.put(LJ.OFDB, 1, 5, `p${i}`));
  }
  const got: number[] = [];
  readJournal(sab, (_el, r) => got.push(r.nums[0]!));
  assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i));
  assert.equal(j.grow(), false, 'nothing was dropped since: no growth');
});

test('the mirror keeps the latest record of each entry, by element and kind', () => {
  const sab = journalBuffer(4096);
  const j = new LearnedJournal(sab);
  const m = new LearnedMirror();
  j.declare(0, 'w07/br-int/ovs_bridge');
  const fdb = (kind: number, port: number, expires: number): void => {
    j.f.set([0xfa16, 0x3eb2efaf, 10, port, expires]);
    j.put(kind, 0, kind === LJ.OFDB ? 5 : 3);
  };
  fdb(LJ.OFDB, 41, 300);
  fdb(LJ.OFDB, 42, 301); // moved
  j.put(LJ.FLOW, 0, 3, 'table=20,priority=1,dl_dst=fa:16:3e:b2:ef:af\ntable=20, priority=1,dl_dst=fa:16:3e:b2:ef:af actions=output:5');
  m.drain(0, sab);
  assert.deepEqual(m.state().map(([k, r]) => [k, r.map((x) => x.kind)]), [['w07/br-int/ovs_bridge', [LJ.OFDB, LJ.FLOW]]]);
  assert.equal(m.state()[0]![1][0]!.nums[3], 42);
  // A RESET of the fdb leaves the flows; a removal removes.
  j.f[0] = LJ.OFDB;
  j.put(LJ.RESET, 0, 1);
  j.put(LJ.FLOW_DEL, 0, 0, 'table=20,priority=1,dl_dst=fa:16:3e:b2:ef:af');
  fdb(LJ.OFDB, 43, 302);
  fdb(LJ.OFDB_DEL, 0, 0);
  m.drain(0, sab);
  assert.deepEqual(m.state(), []);
  assert.deepEqual(m.state(['w02']), []);
});

test('a worker whose journal overflowed writes its tables whole again: the mirror is whole after the resync', () => {
  const clock = new ManualClock();
  const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'), { clock });
  for (const e of emu.topology.edges) {
    const p = emu.engine.element(e.port.node, e.port.element)?.port(e.port.port);
    if (p && !p.peer && !p.edge) emu.engine.attachEdge(p, { emit: () => {} });
  }
  const sab = journalBuffer(16384);
  const keepers = new LearnedKeepers(emu.engine, sab);
  const mirror = new LearnedMirror();
  keepers.journalAll();
  mirror.drain(0, sab);
  // Ten stations behind the VM's port, each refreshing once a (emulated) second: a journal record per
  // refresh in qbr (br-int's anti-spoofing drops them before NORMAL), far more than the ring holds while nobody reads it.
  const macs = Array.from({ length: 10 }, (_, i) => `fa:16:3e:00:00:${(16 + i).toString(16)}`);
  for (let s = 0; s < 100; s++) {
    clock.advance(1000);
    for (const m of macs) {
      const f = buildFrame({ src: m, dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '198.51.100.9' }, udp: { sport: 40000, dport: 53, payload: 16 } });
      emu.engine.inject(emu.engine.pool.allocFrom(f)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
    }
  }
  assert.equal(keepers.journal.lost, true);
  assert.ok(journalCounts(sab).overflows > 0);
  const written = journalCounts(sab).records;
  keepers.tick();
  assert.equal(journalCounts(sab).records, written, 'no rewrite while the ring holds unread records: it could not fit');
  mirror.drain(0, sab);
  keepers.tick();
  assert.equal(keepers.journal.lost, false);
  assert.equal(journalCounts(sab).resyncs, 1);
  mirror.drain(0, sab);
  // What a fresh journal of the same elements holds now.
  const whole = new LearnedMirror();
  const sab2 = journalBuffer();
  new LearnedKeepers(emu.engine, sab2).journalAll();
  whole.drain(0, sab2);
  assert.deepEqual(mirror.state(), whole.state());
  const qbr = new Map(mirror.state()).get('w07/qbr2ab77d0f-99/linux_bridge')!;
  for (const m of macs) {
    const hex = m.replaceAll(':', '');
    const r = qbr.find((x) => x.kind === LJ.LFDB && x.nums[0] === parseInt(hex.slice(0, 4), 16) && x.nums[1] === parseInt(hex.slice(4), 16));
    assert.equal(r?.nums[2], 100_000, `${m}: updated by its last refresh`);
  }
});
