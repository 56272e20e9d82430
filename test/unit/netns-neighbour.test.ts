// The neighbour state machine over emulated time with the kernel's default
// timers, the held-packet queue, and administrative entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp4 } from '../../src/netns/addr.js';
import { type NeighAction, type NeighHooks, NeighbourTable, NEIGH_F, NUD, nudName, seededRandom } from '../../src/netns/neighbour.js';

const ip = (s: string) => parseIp4(s)!;
const GW = ip('10.0.0.254');
const DEV = 2;
const DEV_MAC = 0x02000000000a;
const GW_MAC = 0x0200000000fe;

const hooks: NeighHooks = {
  addrType: (a) => (a === ip('10.0.0.255') ? 'broadcast' : a >>> 28 === 0xe ? 'multicast' : 'unicast'),
  devMac: () => DEV_MAC,
  devNoArp: () => false,
  solicitSource: () => ip('10.0.0.1'),
};

const table = (seed = 7) => new NeighbourTable<string>(hooks, { random: seededRandom(seed) });
const held = (pkt: string, bytes = 1000) => ({ pkt, bytes, src: ip('10.0.0.1') });
const kinds = (as: NeighAction<string>[]) => as.map((a) => `${a.kind}@${a.at}${a.kind === 'solicit' ? (a.dstMac === undefined ? ':bcast' : ':ucast') : ''}`);

test('INCOMPLETE: three broadcast probes a second apart, FAILED at 3 s, held packets back for ICMP', () => {
  const t = table();
  const r = t.resolve(GW, DEV, 0, held('p1'));
  assert.equal(r.kind, 'queued');
  assert.ok(r.kind === 'queued' && r.solicit && r.solicit.dstMac === undefined && r.solicit.senderMac === DEV_MAC);
  assert.equal(t.get(GW, DEV)?.state, NUD.INCOMPLETE);
  assert.deepEqual(t.resolve(GW, DEV, 500, held('p2')), { kind: 'queued', dropped: [] }, 'no extra probe for a second packet');
  assert.deepEqual(kinds(t.tick(2500)), ['solicit@1000:bcast', 'solicit@2000:bcast']);
  const last = t.tick(3000);
  assert.deepEqual(last, [{ kind: 'failed', at: 3000, ifindex: DEV, ip: GW, packets: ['p1', 'p2'] }]);
  assert.equal(t.get(GW, DEV)?.state, NUD.FAILED);
  assert.equal(t.stats.res_failed, 1);
  // A new packet starts over.
  const again = t.resolve(GW, DEV, 4000, held('p3'));
  assert.ok(again.kind === 'queued' && again.solicit);
});

test('a reply while INCOMPLETE: REACHABLE, queued packets released in order', () => {
  const t = table();
  t.resolve(GW, DEV, 0, held('a'));
  t.resolve(GW, DEV, 10, held('b'));
  const e = t.get(GW, DEV)!;
  const acts = t.update(e, GW_MAC, NUD.REACHABLE, 0, 20);
  assert.deepEqual(acts, [{ kind: 'flush', at: 20, ifindex: DEV, ip: GW, mac: GW_MAC, packets: ['a', 'b'] }]);
  assert.deepEqual(t.resolve(GW, DEV, 30), { kind: 'send', mac: GW_MAC });
  assert.deepEqual(t.tick(2000), [], 'the retransmit timer was cancelled');
});

test('REACHABLE -> STALE after reachable_time (random in [15 s, 45 s)); use -> DELAY -> PROBE (unicast) -> FAILED', () => {
  const t = table(11);
  t.resolve(GW, DEV, 0, held('a'));
  t.update(t.get(GW, DEV)!, GW_MAC, NUD.REACHABLE, 0, 100);
  const reach = t.reachableTime(DEV);
  assert.ok(reach >= 15000 && reach < 45000, `reachable_time ${reach}`);
  t.tick(100 + reach - 1);
  assert.equal(t.get(GW, DEV)!.state, NUD.REACHABLE);
  // At exactly confirmed + reachable_time the kernel re-arms (time_before_eq) for HZ/100 more.
  t.tick(100 + reach);
  assert.equal(t.get(GW, DEV)!.state, NUD.REACHABLE);
  t.tick(100 + reach + 10);
  assert.equal(t.get(GW, DEV)!.state, NUD.STALE);
  // Sending to a STALE entry sends at once and arms the 5 s delay.
  const t0 = 60_000;
  assert.deepEqual(t.resolve(GW, DEV, t0), { kind: 'send', mac: GW_MAC });
  assert.equal(t.get(GW, DEV)!.state, NUD.DELAY);
  assert.deepEqual(t.resolve(GW, DEV, t0 + 1), { kind: 'send', mac: GW_MAC }, 'DELAY still sends');
  assert.deepEqual(kinds(t.tick(t0 + 5000)), [`solicit@${t0 + 5000}:ucast`]);
  assert.equal(t.get(GW, DEV)!.state, NUD.PROBE);
  assert.deepEqual(kinds(t.tick(t0 + 7000)), [`solicit@${t0 + 6000}:ucast`, `solicit@${t0 + 7000}:ucast`]);
  assert.deepEqual(kinds(t.tick(t0 + 8000)), [`failed@${t0 + 8000}`]);
  assert.equal(t.get(GW, DEV)!.state, NUD.FAILED);
});

test('DELAY confirmed within 5 s goes back to REACHABLE without probing', () => {
  const t = table();
  t.adminSet(GW, DEV, GW_MAC, NUD.STALE, 'replace', 0);
  t.resolve(GW, DEV, 1000);
  assert.equal(t.get(GW, DEV)!.state, NUD.DELAY);
  t.confirm(GW, DEV, 3000);
  assert.deepEqual(t.tick(6000), []);
  assert.equal(t.get(GW, DEV)!.state, NUD.REACHABLE);
});

test('a unicast probe answered in PROBE: REACHABLE again', () => {
  const t = table();
  t.adminSet(GW, DEV, GW_MAC, NUD.STALE, 'replace', 0);
  t.resolve(GW, DEV, 0);
  t.tick(5000);
  assert.equal(t.get(GW, DEV)!.state, NUD.PROBE);
  t.update(t.get(GW, DEV)!, GW_MAC, NUD.REACHABLE, 0, 5200);
  assert.equal(t.get(GW, DEV)!.state, NUD.REACHABLE);
  assert.deepEqual(t.tick(9000), []);
});

test('the held-packet queue is bounded in bytes; overflow drops the oldest and counts it', () => {
  const t = table();
  t.setParam(DEV, 'unres_qlen_bytes', 3000);
  t.resolve(GW, DEV, 0, held('p1'));
  t.resolve(GW, DEV, 1, held('p2'));
  t.resolve(GW, DEV, 2, held('p3'));
  const r = t.resolve(GW, DEV, 3, held('p4'));
  assert.deepEqual(r, { kind: 'queued', dropped: ['p1'] });
  assert.equal(t.stats.unres_discards, 1);
  assert.deepEqual(t.get(GW, DEV)!.queue.map((h) => h.pkt), ['p2', 'p3', 'p4']);
  // Default limit: 212992 bytes, about 101 full-size frames.
  const d = table();
  for (let i = 0; i < 150; i++) d.resolve(GW, DEV, i, held(`f${i}`, 2090));
  assert.equal(d.get(GW, DEV)!.queue.length, 101);
  assert.equal(d.get(GW, DEV)!.queue[0]!.pkt, 'f49');
});

test('PERMANENT entries ignore ARP and timers; only an admin change or delete moves them', () => {
  const t = table();
  t.adminSet(GW, DEV, GW_MAC, NUD.PERMANENT, 'add', 0);
  assert.deepEqual(t.update(t.get(GW, DEV)!, 0x02000000beef, NUD.REACHABLE, NEIGH_F.OVERRIDE, 10), []);
  assert.equal(t.get(GW, DEV)!.mac, GW_MAC);
  assert.deepEqual(t.tick(1_000_000).filter((a) => a.kind !== 'solicit'), []);
  assert.equal(t.get(GW, DEV)!.state, NUD.PERMANENT);
  assert.throws(() => t.adminSet(GW, DEV, GW_MAC, NUD.PERMANENT, 'add', 0), /File exists/);
  t.adminSet(GW, DEV, 0x020000000077, NUD.PERMANENT, 'replace', 0);
  assert.equal(t.get(GW, DEV)!.mac, 0x020000000077);
  assert.throws(() => t.adminSet(ip('10.0.0.9'), DEV, GW_MAC, NUD.PERMANENT, 'change', 0), /No such file or directory/);
  assert.throws(() => t.adminSet(ip('10.0.0.9'), DEV, undefined, NUD.PERMANENT, 'add', 0), /No link layer address given/);
  t.adminDelete(GW, DEV, 0);
  assert.equal(t.get(GW, DEV), undefined);
});

test('a new address from an existing entry without override is ignored; with override taken, and STALE', () => {
  const t = table();
  t.resolve(GW, DEV, 0, held('a'));
  const e = t.get(GW, DEV)!;
  t.update(e, GW_MAC, NUD.REACHABLE, 0, 10);
  t.update(e, 0x020000000099, NUD.STALE, 0, 20);
  assert.equal(e.mac, GW_MAC);
  assert.equal(e.state, NUD.REACHABLE);
  t.update(e, GW_MAC, NUD.STALE, NEIGH_F.OVERRIDE, 30);
  assert.equal(e.state, NUD.REACHABLE, 'same address, STALE proposed: state kept');
  t.update(e, 0x020000000099, NUD.STALE, NEIGH_F.OVERRIDE, 40);
  assert.equal(e.mac, 0x020000000099);
  assert.equal(e.state, NUD.STALE);
});

test('broadcast and multicast neighbours need no ARP', () => {
  const t = table();
  assert.deepEqual(t.resolve(ip('10.0.0.255'), DEV, 0), { kind: 'send', mac: 0xffffffffffff });
  assert.deepEqual(t.resolve(ip('224.0.0.5'), DEV, 0), { kind: 'send', mac: 0x01005e000005 });
  assert.equal(t.get(ip('224.0.0.5'), DEV)!.state, NUD.NOARP);
});

test('mcast_solicit=0 and app_solicit=0: resolution fails at once', () => {
  const t = table();
  t.setParam(0, 'mcast_solicit', 0);
  assert.deepEqual(t.resolve(GW, DEV, 0, held('x')), { kind: 'drop', reason: 'neigh_failed' });
});

test('GC: nothing collected below gc_thresh1; above it, stale and failed entries go', () => {
  const t = new NeighbourTable<string>(hooks, { gcThresh1: 2, random: seededRandom(1) });
  t.adminSet(ip('10.0.0.20'), DEV, 0x020000000020, NUD.STALE, 'replace', 0);
  t.tick(200_000);
  assert.ok(t.get(ip('10.0.0.20'), DEV), 'one entry: below gc_thresh1, kept forever');
  t.adminSet(ip('10.0.0.21'), DEV, 0x020000000021, NUD.STALE, 'replace', 200_000);
  t.adminSet(ip('10.0.0.22'), DEV, 0x020000000022, NUD.PERMANENT, 'replace', 200_000);
  t.tick(215_000);
  assert.equal(t.get(ip('10.0.0.20'), DEV), undefined, 'unused for more than gc_stale_time');
  assert.ok(t.get(ip('10.0.0.21'), DEV));
  assert.ok(t.get(ip('10.0.0.22'), DEV));
});

test('reachable_time is reproducible from the seed and re-drawn by the periodic work after 300 s', () => {
  const a = table(42), b = table(42), c = table(43);
  assert.equal(a.reachableTime(DEV), b.reachableTime(DEV));
  assert.notEqual(a.reachableTime(DEV), c.reachableTime(DEV));
  const first = a.reachableTime(DEV);
  a.tick(300_000);
  assert.equal(a.reachableTime(DEV), first);
  a.tick(315_000); // the first periodic run (every base_reachable_time/2) strictly after 300 s
  assert.notEqual(a.reachableTime(DEV), first);
  assert.equal(a.reachableTime(5) === a.reachableTime(5), true);
});

test('ifdown drops every entry of the device with its queue; carrier loss keeps PERMANENT ones', () => {
  const t = table();
  t.resolve(GW, DEV, 0, held('q'));
  t.adminSet(ip('10.0.0.5'), DEV, 0x020000000005, NUD.PERMANENT, 'add', 0);
  assert.deepEqual(t.carrierDown(DEV), ['q']);
  assert.ok(t.get(ip('10.0.0.5'), DEV));
  assert.deepEqual(t.ifdown(DEV), []);
  assert.equal(t.size, 0);
});

test('statistics where the kernel counts them: neigh_lookup (ARP input, ip neigh) counts lookups and hits, the output path none; the hash grows past 8, 16, ... entries; periodic runs skipped over an idle gap still count', () => {
  const t = table();
  t.resolve(GW, DEV, 0, held('p1'));
  t.resolve(GW, DEV, 10, held('p2'));
  assert.deepEqual([t.stats.allocs, t.stats.lookups, t.stats.hits], [1, 0, 0], '__ipv4_neigh_lookup_noref counts nothing');
  t.lookupOrCreate(GW, DEV, 20);
  t.lookupOrCreate(ip('10.0.0.7'), DEV, 20);
  t.adminSet(ip('10.0.0.8'), DEV, GW_MAC, NUD.PERMANENT, 'add', 20);
  assert.deepEqual([t.stats.allocs, t.stats.lookups, t.stats.hits], [3, 3, 1]);
  assert.deepEqual([t.hashShift, t.stats.hash_grows], [3, 0]);
  const rnd = t.hashRnd;
  for (let i = 10; i < 16; i++) t.lookupOrCreate(ip(`10.0.0.${i}`), DEV, 30);
  assert.deepEqual([t.size, t.hashShift, t.stats.hash_grows], [9, 4, 1], 'nine entries in eight buckets');
  assert.notEqual(t.hashRnd, rnd, 'a new hash table, a new hash_rnd');
  t.tick(15_000);
  assert.equal(t.stats.periodic_gc_runs, 1);
  t.tick(15_000 + 10 * 15_000);
  assert.equal(t.stats.periodic_gc_runs, 11, 'one every base_reachable_time / 2');
});

test('an answered probe counts as a use: with reachable_time within delay_first_probe_time the entry cycles REACHABLE, DELAY, PROBE, REACHABLE and never goes STALE', () => {
  // Linux 6.18, two namespaces over a veth, net.ipv4.neigh.DEV.base_reachable_time_ms=500 and
  // delay_first_probe_time=1 on the pinging side only, one `ping -c 1`: `ip -ts monitor neigh` there prints
  // REACHABLE, then PROBE and REACHABLE together each reachable time plus 1 s for as long as it runs, tcpdump one unicast
  // request and its reply each time, and `ip -s neigh` the entry's `used` age back to 0 with each reply
  // (neigh_add_timer lifts `used` to `confirmed`). With base_reachable_time_ms=1000 the drawn reachable
  // time was 1.26 s, past the 1 s: REACHABLE, then STALE, and no probe.
  const run = (base: number) => {
    const t = new NeighbourTable<string>(hooks, { random: seededRandom(5), params: { base_reachable_time_ms: base, delay_first_probe_time_ms: 1000 } });
    t.resolve(GW, DEV, 0, held('ping'));
    const e = t.get(GW, DEV)!;
    t.update(e, GW_MAC, NUD.REACHABLE, 0, 0);
    const seen: string[] = [];
    let probes = 0;
    for (let now = 10; now <= 10_000; now += 10) {
      const before = e.state;
      for (const a of t.tick(now)) {
        assert.ok(a.kind === 'solicit' && a.dstMac === GW_MAC, `a unicast probe, not ${a.kind}`);
        probes++;
        seen.push('PROBE');
        // The peer answers at once: a unicast reply.
        t.update(e, GW_MAC, NUD.REACHABLE, 0, a.at);
      }
      if (e.state !== before) seen.push(nudName(e.state));
    }
    return { seen, probes, reach: t.reachableTime(DEV) };
  };
  const fast = run(500);
  assert.ok(fast.reach < 1000, `reachable_time ${fast.reach}`);
  // Each round: reachable_time (+ the handler's 10 ms), the 1 s DELAY, the probe answered at once.
  assert.ok(fast.probes >= Math.floor(10_000 / (fast.reach + 1010)), `${fast.probes} probes`);
  assert.ok(!fast.seen.includes('STALE'), fast.seen.join(' '));
  assert.deepEqual(fast.seen.slice(0, 4), ['DELAY', 'PROBE', 'REACHABLE', 'DELAY']);
  const slow = run(3000);
  assert.ok(slow.reach > 1000, `reachable_time ${slow.reach}`);
  assert.deepEqual(slow.seen, ['STALE']);
  assert.equal(slow.probes, 0);
});
