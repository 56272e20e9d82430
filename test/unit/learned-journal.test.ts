// The learned-state journal's ring: records come back in order across the
// wrap, a record that does not fit is dropped and counted (the producer is
// told to write its tables whole again), and the mirror keeps the latest
// record of each entry, forgets removed ones and clears a kind on RESET.
// A worker's elements whose journal overflowed write their tables whole
// again once it was read empty (growing it when even that does not fit),
// after which the mirror is what a fresh journal would hold. A restarted
// worker's elements list their entries in the order the live ones did: OVS's
// fdb in LRU order even for entries refreshed within one second, the Linux
// bridge's in the order they were learned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LJ, LearnedJournal, journalBuffer, journalCounts, readJournal, type LearnedRecord } from '../../src/datapath/learned-journal.js';
import { LearnedMirror } from '../../src/workers/learned-mirror.js';
import { LearnedKeepers } from '../../src/workers/learned-keepers.js';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { buildFrame } from '../../src/wire/frame.js';
import type { Packet } from '../../src/datapath/packet.js';
import { SEED_FILE, VM_MAC, QR_MAC, GW_MAC, FIP_VIF_MAC, VM_IP, SNAT_IP, VM_EDGE, ETH3 } from '../helpers/seed-names.js';

/** The seed topology in one engine on `clock`, its free ports edges; `sent` gets what leaves at w02's eth3. */
function seedEmulator(clock: ManualClock): { emu: Emulator; sent: Uint8Array[] } {
  const emu = buildEmulator(loadTopologyOrThrow(SEED_FILE), { clock });
  const sent: Uint8Array[] = [];
  for (const e of emu.topology.edges) {
    const p = emu.engine.element(e.port.node, e.port.element)?.port(e.port.port);
    const eth3 = e.port.node === ETH3[0] && e.port.port === ETH3[1];
    if (p && !p.peer && !p.edge) emu.engine.attachEdge(p, { emit: (pkt: Packet) => void (eth3 && sent.push(pkt.buf.slice(pkt.off, pkt.off + pkt.len))) });
  }
  return { emu, sent };
}

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

test('the mirror keeps OVS fdb entries in the order of their latest records (LRU), Linux bridge ones in the order of their first', () => {
  const sab = journalBuffer(4096);
  const j = new LearnedJournal(sab);
  const m = new LearnedMirror();
  j.declare(0, 'w07/br-int/ovs_bridge');
  j.declare(1, 'w07/qbr/linux_bridge');
  // The same MACs to both, learned 1, 2, 3, then refreshed 3, 1.
  for (const lo of [1, 2, 3, 3, 1]) {
    j.f.set([0xfa16, lo, 10, 41, 305]);
    j.put(LJ.OFDB, 0, 5, 'p');
    j.put(LJ.LFDB, 1, 3, 'p');
  }
  m.drain(0, sab);
  const order = new Map(m.state().map(([k, recs]) => [k, recs.map((r) => r.nums[1])]));
  assert.deepEqual(order.get('w07/br-int/ovs_bridge'), [2, 3, 1]);
  assert.deepEqual(order.get('w07/qbr/linux_bridge'), [1, 2, 3]);
});

test('a worker whose journal overflowed writes its tables whole again: the mirror is whole after the resync', () => {
  const clock = new ManualClock();
  const { emu } = seedEmulator(clock);
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

test('a restarted worker lists fdb/show in the LRU order, also for entries refreshed within one second, and qbr\'s entries in learning order', () => {
  const DNS = '198.51.100.77';
  const request = (n: number): Uint8Array => buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: VM_IP, dst: DNS, id: n }, udp: { sport: 41000, dport: 53, payload: 64 } });
  const reply = (dport: number): Uint8Array => buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: DNS, dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport, payload: 64 } });
  const clock = new ManualClock(5000);
  const { emu, sent } = seedEmulator(clock);
  const send = (at: readonly [string, string], f: Uint8Array): void => emu.engine.inject(emu.engine.pool.allocFrom(f)!, emu.findPort(...at)!);
  const sab = journalBuffer();
  const keepers = new LearnedKeepers(emu.engine, sab);
  keepers.journalAll();
  // Second 5: w07's br-int learns the VM (port 41), its router's qr- port (40), then the snat's sg- port behind the tunnel (1).
  send(VM_EDGE, buildFrame({ src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: VM_IP, tpa: '192.168.1.1' } }));
  send(ETH3, buildFrame({ src: GW_MAC, dst: 'ff:ff:ff:ff:ff:ff', vlans: [103], arp: { sha: GW_MAC, spa: '10.206.221.193', tpa: '10.206.221.195' } }));
  send(VM_EDGE, request(0));
  const f = sent.at(-1)!;
  const port = (f[38]! << 8) | f[39]!;
  send(ETH3, reply(port));
  const brInt = emu.bridge('w07', 'br-int');
  const macs = (): string[] => brInt.fdbShow().trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[2]!);
  const learned = macs();
  // Second 6: the reply first, then the next request: each entry is refreshed (moved to the end), all to the same expiry.
  clock.advance(1000);
  send(ETH3, reply(port));
  send(VM_EDGE, request(1));
  const before = views(emu);
  assert.deepEqual(macs(), [learned[2], learned[0], learned[1]], 'the LRU list is not the learning order');
  assert.match(before['w07/br-int']!, /^( .*  0\n){3}$/m, 'every entry refreshed in the same second');

  const mirror = new LearnedMirror();
  mirror.drain(0, sab);
  // The successor (the worker restarted at the same instant) restores what the mirror kept, as datapath-worker.ts does.
  const next = seedEmulator(new ManualClock(clock.now())).emu;
  assert.ok(new LearnedKeepers(next.engine, journalBuffer()).restore(mirror.state(['w07', 'w02'])) > 0);
  assert.deepEqual(views(next), before);
});

/** What the tools print of every bridge's learned MACs, and qbr's entries in the order it keeps them (the kernel's fdb list keeps creation order). */
function views(emu: Emulator): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [node, name] of [['w07', 'br-int'], ['w02', 'br-int'], ['w02', 'br-ex']] as const) out[`${node}/${name}`] = emu.bridge(node, name).fdbShow();
  const qbr = emu.linuxBridge('w07', 'qbr2ab77d0f-99');
  out.qbr = qbr.showmacs();
  out['qbr learned'] = JSON.stringify(qbr.learned());
  return out;
}
