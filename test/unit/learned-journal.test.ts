// The learned-state journal's ring: records come back in order across the
// wrap, a record that does not fit is dropped and counted (the producer is
// told to write its tables whole again), and the mirror keeps the latest
// record of each entry, forgets removed ones and clears a kind on RESET.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LJ, LearnedJournal, journalBuffer, journalCounts, readJournal, type LearnedRecord } from '../../src/datapath/learned-journal.js';
import { LearnedMirror } from '../../src/workers/learned-mirror.js';

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
  assert.deepEqual(journalCounts(sab), { records: sent + ok, overflows: 1, resyncs: 0 });
  assert.equal(readJournal(sab, () => {}), ok);
  j.resynced();
  assert.equal(journalCounts(sab).resyncs, 1);
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
