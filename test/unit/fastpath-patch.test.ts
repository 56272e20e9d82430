// Translation cache entries that span patch ports (xlate-cache.ts): a
// translation's one output to a patch port (its only one, or one of NORMAL's
// flood, before or after other outputs) goes on in the peer bridge within
// the same entry, and a hit replays both bridges without a queued hop or a
// second lookup. Two standalone bridges joined
// by a patch pair, each with edge ports and a few flows of their own, are
// built twice, with and without the cache; random packets, flow changes on
// both bridges (learn(), which a hit runs again, and dec_ttl, which keeps a
// translation out of the cache, among them), fdb flushes, ports added, deleted and taken down (the patch
// ports too), captures attached to the patch ports, time passing, and an
// edge that sends a frame back in while the engine runs (a packet queued
// ahead of a crossing) must give the same frames and the same state. A
// scripted run checks that a change on the peer bridge removes exactly the
// spanning entries it can affect.
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import type { Packet } from '../../src/datapath/packet.js';
import type { Port } from '../../src/datapath/element.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { EV_CROSS, EV_OUTPUT, type XcEntry } from '../../src/ofproto/xlate-cache.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';

const A1 = '02:00:00:00:0a:01', A2 = '02:00:00:00:0a:02', B1 = '02:00:00:00:0b:01', B2 = '02:00:00:00:0b:02';
const MACS = [A1, A2, B1, B2, '02:00:00:00:0c:01', 'ff:ff:ff:ff:ff:ff'];

interface Side {
  eng: Engine;
  clock: ManualClock;
  a: OvsBridge;
  b: OvsBridge;
  /** Frames at the edges and at captures, in order. */
  out: string[];
}

const hex = (p: Packet) => Buffer.from(p.bytes()).toString('hex');

/** `reflect`: frames to port 53 leaving b2 come back in at a1 (see below). */
function side(fastpath: boolean, reflect = false): Side {
  const clock = new ManualClock(1000);
  const eng = new Engine({ clock });
  eng.fastpath = fastpath;
  const a = OvsBridge.create(eng, 'n1', 'br-a'), b = OvsBridge.create(eng, 'n1', 'br-b');
  a.addOvsPort('a1', { ofport: 1 });
  a.addOvsPort('a2', { ofport: 2, tag: 10 });
  a.addOvsPort('pa', { ofport: 3, type: 'patch', options: { peer: 'pb' } });
  // After the patch port: NORMAL's flood outputs to pa before a3, so the copy made there crosses (not the last output).
  a.addOvsPort('a3', { ofport: 4 });
  b.addOvsPort('b1', { ofport: 1 });
  b.addOvsPort('b2', { ofport: 2 });
  b.addOvsPort('pb', { ofport: 3, type: 'patch', options: { peer: 'pa' } });
  // Flows beside NORMAL: br-b reads tp_dst and rewrites on the way in from the patch port; br-a tags one
  // port's traffic towards the patch port itself.
  b.addFlows(`
    table=0,priority=10,in_port=3,udp,tp_dst=53,actions=mod_nw_tos:8,resubmit(,1)
    table=0,priority=5,in_port=3,actions=resubmit(,1)
    table=1,priority=0,actions=NORMAL
  `);
  a.addFlow('table=0,priority=10,in_port=1,udp,tp_dst=7,actions=mod_vlan_vid:10,output:3');
  const out: string[] = [];
  const s: Side = { eng, clock, a, b, out };
  for (const [br, names] of [[a, ['a1', 'a2', 'a3']], [b, ['b1', 'b2']]] as const) {
    for (const n of names) {
      eng.attachEdge(br.portByName(n)!.port, {
        emit: (pkt: Packet, port: Port) => {
          out.push(`${port.element.name}:${port.name} ${hex(pkt)}`);
          // A reflector: a frame to port 53 leaving b2 comes back in at a1 (to port 54, so only once) while
          // the engine still runs, queued ahead of whatever follows.
          const f = pkt.bytes();
          if (reflect && port.name === 'b2' && f.length >= 42 && f[12] === 8 && f[13] === 0 && f[23] === 17 && f[36] === 0 && f[37] === 53) {
            const c = Uint8Array.from(f);
            c[37] = 54;
            c[40] = c[41] = 0; // no UDP checksum
            eng.inject(eng.pool.allocFrom(c)!, a.portByName('a1')!.port);
          }
        },
      });
    }
  }
  return s;
}

function state(s: Side): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  for (const br of [s.a, s.b]) {
    r[`${br.name} flows`] = br.dumpFlows();
    r[`${br.name} fdb`] = br.fdbShow();
    r[`${br.name} tables`] = br.tableStats();
  }
  const st = s.eng.stats;
  r.counters = st.desc.map((d, i) => (d.name.startsWith('fastpath_') ? '' : `${d.name} ${JSON.stringify(d.labels)} ${st.v[i]}`));
  return r;
}

function same(f: Side, s: Side, what: string): void {
  assert.deepEqual(f.out, s.out, `${what}: frames`);
  assert.deepEqual(state(f), state(s), `${what}: state`);
}

/** Flow changes on either bridge: [bridge, add, del]. */
const CHANGES: [br: 'a' | 'b', add: string, del: string][] = [
  ['b', 'table=0,priority=50,in_port=3,udp,tp_dst=53,actions=drop', 'table=0,in_port=3,udp,tp_dst=53'],
  ['b', 'table=0,priority=10,in_port=3,udp,tp_dst=53,actions=mod_nw_tos:16,resubmit(,1)', 'table=0,in_port=3,udp,tp_dst=53'],
  ['b', 'table=0,priority=200,dl_src=02:00:00:00:ee:01,actions=drop', 'table=0,dl_src=02:00:00:00:ee:01'],
  ['b', 'table=0,priority=20,hard_timeout=2,in_port=3,icmp,actions=drop', 'table=0,in_port=3,icmp'],
  ['b', 'table=0,priority=20,in_port=3,udp,tp_dst=123,actions=dec_ttl,resubmit(,1)', 'table=0,in_port=3,udp,tp_dst=123'],
  ['b', 'table=0,priority=20,in_port=3,udp,tp_dst=7,actions=learn(table=2,hard_timeout=300,priority=1,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:OXM_OF_IN_PORT[]),resubmit(,1)', 'table=0,in_port=3,udp,tp_dst=7'],
  ['b', 'table=1,priority=5,dl_vlan=10,actions=strip_vlan,output:2', 'table=1,dl_vlan=10'],
  ['b', 'table=1,priority=0,actions=drop', 'table=1'],
  ['b', 'table=1,priority=0,actions=NORMAL', 'table=5'],
  ['a', 'table=0,priority=30,in_port=1,udp,tp_dst=53,actions=mod_nw_tos:4,NORMAL', 'table=0,in_port=1,udp,tp_dst=53'],
  ['a', 'table=0,priority=30,in_port=2,actions=output:3', 'table=0,in_port=2'],
  // Idle timeouts judge by `used`, which cache hits credit lazily (XlateCache.credit).
  ['a', 'table=0,priority=25,idle_timeout=1,in_port=1,icmp,actions=NORMAL', 'table=0,in_port=1,icmp'],
  ['b', 'table=1,priority=3,idle_timeout=2,icmp,actions=NORMAL', 'table=1,icmp'],
  ['a', 'table=0,priority=10,in_port=1,udp,tp_dst=7,actions=mod_vlan_vid:10,output:3', 'table=0,in_port=1,udp,tp_dst=7'],
];

type Op =
  | { k: 'pkt'; at: number; src: number; dst: number; vlan: number; l4: number; dport: number; times: number }
  | { k: 'conv'; a: number; b: number; dport: number; times: number }
  | { k: 'flow'; i: number; op: number }
  | { k: 'time'; ms: number; tick: boolean }
  | { k: 'fdbFlush'; br: number }
  | { k: 'addPort'; br: number }
  | { k: 'delPort' }
  | { k: 'up'; port: number; up: boolean }
  | { k: 'tap'; port: number };

const IN = ['a1', 'a2', 'b1', 'b2'];
const UPS = ['pa', 'pb', 'b1', 'a1'];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 14, arbitrary: fc.record({ k: fc.constant('pkt' as const), at: fc.nat(IN.length - 1), src: fc.nat(MACS.length - 2), dst: fc.nat(MACS.length - 1), vlan: fc.constantFrom(0, 0, 10), l4: fc.nat(2), dport: fc.constantFrom(53, 7, 123, 9), times: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 10, arbitrary: fc.record({ k: fc.constant('conv' as const), a: fc.nat(1), b: fc.nat(1), dport: fc.constantFrom(53, 7, 123, 9), times: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('flow' as const), i: fc.nat(CHANGES.length - 1), op: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('time' as const), ms: fc.constantFrom(300, 2500, 301_000), tick: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('fdbFlush' as const), br: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('addPort' as const), br: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delPort' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('up' as const), port: fc.nat(UPS.length - 1), up: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('tap' as const), port: fc.nat(1) }) },
);

function portOf(s: Side, name: string): Port {
  return (s.a.portByName(name) ?? s.b.portByName(name))!.port;
}

function apply(s: Side, op: Op, added: OvsBridge[], n: number): void {
  switch (op.k) {
    case 'pkt': {
      const src = MACS[op.src]!, dst = MACS[op.dst]!;
      const ip = { src: '192.0.2.1', dst: '198.51.100.7', ttl: 2 + (n % 3), id: n & 0xffff };
      const spec: FrameSpec = op.l4 === 0 ? { src, dst, ip, udp: { sport: 40000 + (n % 2), dport: op.dport, payload: 8 } }
        : op.l4 === 1 ? { src, dst, ip, icmp: { id: 7, seq: n & 0xff } }
        : { src, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: src, spa: ip.src, tpa: ip.dst } };
      if (op.vlan !== 0 && op.at !== 1) spec.vlans = [op.vlan];
      const f = buildFrame(spec);
      for (let i = 0; i < op.times; i++) s.eng.inject(s.eng.pool.allocFrom(f)!, portOf(s, IN[op.at]!));
      return;
    }
    case 'conv': {
      // Between a host behind each bridge: the answer first (so both bridges know both MACs), then requests.
      const am = [A1, A2][op.a]!, bm = [B1, B2][op.b]!;
      const ip = { src: '192.0.2.1', dst: '198.51.100.7', ttl: 9, id: n & 0xffff };
      const inject = (f: Uint8Array, at: string) => s.eng.inject(s.eng.pool.allocFrom(f)!, portOf(s, at));
      inject(buildFrame({ src: bm, dst: am, ip, udp: { sport: op.dport, dport: 40000, payload: 8 } }), `b${op.b + 1}`);
      const req = buildFrame({ src: am, dst: bm, ip, udp: { sport: 40000, dport: op.dport, payload: 8 } });
      for (let i = 0; i < op.times; i++) inject(req, `a${op.a + 1}`);
      return;
    }
    case 'flow': {
      const [br, add, del] = CHANGES[op.i]!;
      const b = br === 'a' ? s.a : s.b;
      if (op.op === 0) b.addFlow(add);
      else if (op.op === 1) b.delFlows(del);
      else b.modFlows(add);
      return;
    }
    case 'time':
      s.clock.advance(op.ms);
      if (op.tick) s.eng.tick();
      return;
    case 'fdbFlush':
      (op.br === 0 ? s.a : s.b).fdbFlush();
      return;
    case 'addPort': {
      const b = op.br === 0 ? s.a : s.b;
      b.addOvsPort(`dpe-p${n}`);
      added.push(b);
      return;
    }
    case 'delPort': {
      const b = added.pop();
      if (b) b.delOvsPort(b.portList.filter((p) => p.name.startsWith('dpe-p')).at(-1)!.name);
      return;
    }
    case 'up':
      portOf(s, UPS[op.port]!).up = op.up;
      return;
    case 'tap': {
      // A capture on a patch port (tcpdump -i pa): attached, or taken off.
      const p = portOf(s, op.port === 0 ? 'pa' : 'pb');
      if (p.taps.length) p.taps.length = 0;
      else p.taps.push((pkt, port, dir) => s.out.push(`tap ${port.name} ${dir} ${hex(pkt)}`));
      return;
    }
  }
}

/** Does `e` cross from a copy: an output after its patch output (NORMAL's flood to pa, then a3)? */
function crossesFromCopy(e: XcEntry): boolean {
  const op = (i: number) => e.code[e.stepsAt + 3 * i];
  let c = 0;
  while (c < e.nSteps && op(c) !== EV_CROSS) c++;
  let after = false;
  for (let i = 0; i < c; i++) if (op(i) === EV_OUTPUT) after = e.refs[2 * i] !== e.refs[2 * c];
  return c < e.nSteps && after;
}

/** br-a's and br-b's spanning entries. */
const spanning = (br: OvsBridge): XcEntry[] => (br.xcache?.entries() ?? []).filter((e) => e.spans);

test('property: through a patch pair, random packets and changes on both bridges give the same frames and state with the cache on and off', () => {
  const seen = new Set<XcEntry>();
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 30, maxLength: 200 }), (ops) => {
      const fast = side(true, true), slow = side(false, true);
      const addF: OvsBridge[] = [], addS: OvsBridge[] = [];
      ops.forEach((op, n) => {
        apply(fast, op, addF, n);
        apply(slow, op, addS, n);
        assert.equal(fast.out.length, slow.out.length, `op ${n} (${op.k}): frame counts differ`);
        for (const e of [...spanning(fast.a), ...spanning(fast.b)]) seen.add(e);
      });
      same(fast, slow, 'end');
      assert.equal(fast.eng.stats.sum('fastpath_flushes'), 0);
    }),
    { numRuns: 60, seed: 0x9a7c4 },
  );
  let hits = 0, dead = 0, copyHits = 0;
  for (const e of seen) {
    hits += e.packets;
    if (e.dead) dead++;
    if (crossesFromCopy(e)) copyHits += e.packets;
  }
  if (process.env.FP_DEBUG) console.log({ entries: seen.size, hits, dead, copyHits });
  assert.ok(hits > 300, `spanning entries must be exercised: ${hits} hits`);
  assert.ok(copyHits > 20, `floods crossing from a copy too: ${copyHits} hits`);
  assert.ok(dead > 20, `and invalidated: ${dead} of ${seen.size}`);
});

test('a change on the peer bridge removes exactly the spanning entries it can affect', () => {
  const fast = side(true), slow = side(false);
  const cell = (br: string, n: string) => fast.eng.stats.sum(`fastpath_${n}`, { element: br });
  const udp = (src: string, dst: string, dport: number) => buildFrame({ src, dst, ip: { src: '192.0.2.1', dst: '198.51.100.7', ttl: 9, id: 1 }, udp: { sport: 40000, dport, payload: 8 } });
  const send = (f: Uint8Array, at: string, what: string) => {
    for (const s of [fast, slow]) s.eng.inject(s.eng.pool.allocFrom(f)!, portOf(s, at));
    same(fast, slow, what);
  };
  const both = (fn: (s: Side) => void) => {
    for (const s of [fast, slow]) fn(s);
  };
  // br-b's table 0 reads tp_dst (a rule probed before the path's, matching nothing sent): each port is a megaflow.
  both((s) => s.b.addFlow('table=0,priority=100,in_port=3,udp,tp_dst=9,actions=drop'));
  // The MACs are learned on both bridges; then a1 -> B1 is br-a NORMAL -> pa -> br-b table 0 -> NORMAL -> b1.
  for (let i = 0; i < 2; i++) {
    send(udp(B1, A1, 1), 'b1', 'learn B1');
    send(udp(A1, B1, 1), 'a1', 'learn A1');
  }
  const req53 = udp(A1, B1, 53), req123 = udp(A1, B1, 123);
  for (let i = 0; i < 3; i++) {
    send(req53, 'a1', 'first 53');
    send(req123, 'a1', 'first 123');
  }
  const span0 = spanning(fast.a);
  assert.equal(span0.length, 3, 'port 1, 53 and 123, each a spanning entry of br-a');
  /** br-a's and br-b's hits and misses for one more frame. */
  const delta = (f: Uint8Array, what: string) => {
    const h = [cell('br-a', 'hits'), cell('br-a', 'misses'), cell('br-b', 'hits'), cell('br-b', 'misses')];
    send(f, 'a1', what);
    return [cell('br-a', 'hits') - h[0]!, cell('br-a', 'misses') - h[1]!, cell('br-b', 'hits') - h[2]!, cell('br-b', 'misses') - h[3]!];
  };
  // One lookup, in br-a; br-b's cache is not consulted.
  assert.deepEqual(delta(req53, 'hit 53'), [1, 0, 0, 0]);
  assert.deepEqual(delta(req123, 'hit 123'), [1, 0, 0, 0]);
  assert.match(fast.out.at(-1)!, /^br-b:b1 /);

  // On the peer, matching nothing sent (another dl_src), above and below the path's priority: nothing goes.
  const inv0 = cell('br-a', 'invalidations');
  both((s) => s.b.addFlow('table=0,priority=200,dl_src=02:00:00:00:ee:01,actions=drop'));
  both((s) => s.b.addFlow('table=1,priority=0,dl_src=02:00:00:00:ee:01,actions=drop'));
  both((s) => s.b.delFlows('table=0,dl_src=02:00:00:00:ee:01'));
  assert.equal(cell('br-a', 'invalidations'), inv0);
  assert.equal(spanning(fast.a).length, 3);

  // On the peer, shadowing port 53 only: its spanning entry goes, 123's stays and still hits.
  both((s) => s.b.addFlow('table=0,priority=50,in_port=3,udp,tp_dst=53,actions=mod_nw_tos:4,resubmit(,1)'));
  assert.equal(cell('br-a', 'invalidations'), inv0 + 1);
  assert.ok(span0[1]!.dead !== span0[2]!.dead, 'exactly one of 53 and 123');
  assert.deepEqual(delta(req123, '123 after'), [1, 0, 0, 0]);
  assert.deepEqual(delta(req53, '53 new flow'), [0, 1, 0, 0]);
  assert.deepEqual(delta(req53, '53 cached again'), [1, 0, 0, 0]);

  // Modifying the peer flow both use (table 0's in_port rule for 123, NORMAL's table 1 for both): both go.
  const inv1 = cell('br-a', 'invalidations');
  both((s) => s.b.modFlows('table=1,priority=0,actions=mod_nw_tos:12,NORMAL', { strict: true }));
  assert.equal(cell('br-a', 'invalidations'), inv1 + 3);
  assert.equal(spanning(fast.a).length, 0);
  for (let i = 0; i < 2; i++) {
    send(req53, 'a1', 'after mod 53');
    send(req123, 'a1', 'after mod 123');
  }
  assert.equal(spanning(fast.a).length, 2);

  // The peer's fdb: B2 appearing (nobody looked it up) changes nothing; B1 moving to b2 removes both.
  const inv2 = cell('br-a', 'invalidations');
  send(udp(B2, A2, 1), 'b2', 'B2 appears');
  assert.equal(cell('br-a', 'invalidations'), inv2);
  send(udp(B1, A1, 1), 'b2', 'B1 moves');
  assert.equal(cell('br-a', 'invalidations'), inv2 + 2);
  send(req53, 'a1', 'to b2 now');
  send(req53, 'a1', 'to b2 now, cached');
  assert.match(fast.out.at(-1)!, /^br-b:b2 /);
  assert.equal(spanning(fast.a).length, 1);

  // A peer port added: only the entries that flooded there go. B9 is unknown to br-b (learned by br-a on pa).
  both((s) => s.a.fdb.learn(0x0200, 0x00000b09, 0, 3, Math.floor(s.eng.now / 1000)));
  const flood = udp(A1, '02:00:00:00:0b:09', 123);
  send(flood, 'a1', 'flood in the peer');
  send(flood, 'a1', 'flood in the peer, cached');
  assert.equal(spanning(fast.a).length, 2);
  const inv3 = cell('br-a', 'invalidations');
  both((s) => s.b.addOvsPort('dpe-px'));
  assert.equal(cell('br-a', 'invalidations'), inv3 + 1);
  assert.equal(spanning(fast.a).length, 1);

  // A capture on the patch port sees every frame; meanwhile br-b translates on its own (its own cache).
  both((s) => portOf(s, 'pb').taps.push((pkt, port, dir) => s.out.push(`tap ${port.name} ${dir} ${hex(pkt)}`)));
  send(req53, 'a1', 'captured');
  assert.deepEqual(delta(req53, 'captured again'), [1, 0, 1, 0]);
  assert.match(fast.out.at(-2)!, /^tap pb in /);
  both((s) => (portOf(s, 'pb').taps.length = 0));
  assert.deepEqual(delta(req53, 'capture off'), [1, 0, 0, 0]);

  // A peer flow that times out: the entry through it stops being used by itself.
  both((s) => s.b.addFlow('table=0,priority=60,hard_timeout=2,in_port=3,udp,tp_dst=53,actions=resubmit(,1)'));
  for (let i = 0; i < 3; i++) send(req53, 'a1', 'timed flow');
  both((s) => s.clock.advance(2500));
  assert.deepEqual(delta(req53, 'timed out'), [0, 1, 0, 0]);

  // The peer's patch port goes down, then is deleted: the hop drops as the queued one did; what went through it goes.
  both((s) => (portOf(s, 'pb').up = false));
  send(req53, 'a1', 'peer down');
  both((s) => (portOf(s, 'pb').up = true));
  send(req53, 'a1', 'peer up');
  send(req123, 'a1', 'peer up');
  send(req123, 'a1', 'peer up');
  const inv4 = cell('br-a', 'invalidations'), n = spanning(fast.a).length;
  assert.ok(n > 0);
  both((s) => s.b.delOvsPort('pb'));
  assert.equal(cell('br-a', 'invalidations'), inv4 + n);
  assert.equal(spanning(fast.a).length, 0);
  send(req53, 'a1', 'peer deleted');
  send(req53, 'a1', 'peer deleted, again');
  assert.equal(cell('br-a', 'flushes'), 0);
});

test('the fast path is on by default and DPEMU_FASTPATH=0 turns it off', () => {
  const fastpath = (v: string | undefined): string => {
    const env = { ...process.env };
    if (v === undefined) delete env.DPEMU_FASTPATH;
    else env.DPEMU_FASTPATH = v;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', "import { Engine } from './src/datapath/engine.ts'; console.log(new Engine().fastpath)"], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  assert.equal(fastpath(undefined), 'true');
  assert.equal(fastpath('1'), 'true');
  assert.equal(fastpath('0'), 'false');
});

test('cache hits credit tables and flows lazily, yet every read is exact and a busy idle-timeout flow never looks idle', () => {
  const fast = side(true), slow = side(false);
  const udp = (dport: number) => buildFrame({ src: A1, dst: B1, ip: { src: '192.0.2.1', dst: '198.51.100.7', ttl: 9, id: 1 }, udp: { sport: 40000, dport, payload: 8 } });
  const both = (fn: (s: Side) => void) => {
    for (const s of [fast, slow]) fn(s);
  };
  const send = (f: Uint8Array, at: string) => both((s) => s.eng.inject(s.eng.pool.allocFrom(f)!, portOf(s, at)));
  // Both bridges learn both MACs (twice, as the test above: a translation that learns is not kept).
  for (let i = 0; i < 2; i++) {
    send(buildFrame({ src: B1, dst: A1, ip: { src: '198.51.100.7', dst: '192.0.2.1', ttl: 9, id: 1 }, udp: { sport: 53, dport: 40000, payload: 8 } }), 'b1');
    send(udp(1), 'a1');
  }
  // Idle flows on both bridges, on the path of a spanning entry (br-a NORMAL -> pa -> br-b table 0 -> table 1).
  both((s) => {
    s.a.addFlow('table=0,priority=40,idle_timeout=1,in_port=1,udp,tp_dst=53,actions=NORMAL');
    s.b.addFlow('table=1,priority=7,idle_timeout=2,udp,actions=NORMAL');
  });
  const idle = (s: Side) => [s.a.findFlows('table=0,priority=40,in_port=1,udp,tp_dst=53', { strict: true }).length, s.b.findFlows('table=1,priority=7,udp', { strict: true }).length];
  const xa = fast.a.xcache!;
  // 12 packets 400 ms apart (4.4 s: longer than either idle timeout), no tick: the flows are busy all along.
  for (let i = 0; i < 12; i++) {
    send(udp(53), 'a1');
    both((s) => s.clock.advance(400));
  }
  assert.ok(xa.hits >= 10, `the fast side hits its cache (${xa.hits} hits)`);
  assert.deepEqual(idle(fast), [1, 1], 'no busy flow taken for idle');
  assert.deepEqual(fast.out, slow.out, 'frames');
  assert.deepEqual(state(fast), state(slow), 'dump-flows (n_packets, n_bytes, idle_age), dump-tables, fdb and counters');
  assert.match(fast.b.dumpFlows().find((l) => l.includes('priority=7'))!, /n_packets=12, n_bytes=600, idle_timeout=2, idle_age=0,/, 'the peer flow got the spanning hits');
  // Idle for real: both go at the next tick after their timeouts.
  both((s) => {
    s.clock.advance(2_500);
    s.eng.tick();
  });
  assert.deepEqual(idle(fast), [0, 0]);
  assert.deepEqual(state(fast), state(slow), 'after expiry');
});

test('an engine never ticked keeps at most 4096 entries waiting to credit their flows, and the counts stay exact', () => {
  const fast = side(true);
  const br = fast.a;
  // A flow on tp_dst makes every destination port a megaflow of its own.
  br.addFlow('table=0,priority=60,in_port=1,udp,tp_dst=1,actions=drop');
  const f = (dport: number) => buildFrame({ src: A1, dst: B1, ip: { src: '192.0.2.1', dst: '198.51.100.7', ttl: 9, id: 1 }, udp: { sport: 40000, dport, payload: 8 } });
  const frames = Array.from({ length: 5000 }, (_, i) => f(1000 + i));
  for (let round = 0; round < 2; round++) for (const fr of frames) fast.eng.inject(fast.eng.pool.allocFrom(fr)!, portOf(fast, 'a1'));
  const xc = br.xcache!;
  assert.ok(xc.hits >= 4000, `hits: ${xc.hits}`);
  assert.ok((xc as unknown as { nQueued: number }).nQueued <= 4096, 'the waiting list is bounded');
  const normal = br.dumpFlows().find((l) => l.includes('priority=0 '))!;
  assert.match(normal, /n_packets=10000, n_bytes=500000,/, 'every packet credited once');
});
