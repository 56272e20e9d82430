// Engine batches (beginBatch/endBatch): frames injected together run element
// by element, as the kernel's backlog runs them, and independent flows come
// out as they do one frame at a time. A patch crossing passes inline unless a
// delivery waits on its own link; packets made because of a frame carry its
// read stamp; a sampled inject is timed to the end of its batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, type LatencyProbe } from '../../src/datapath/engine.js';
import { Element, type Port } from '../../src/datapath/element.js';
import type { Packet } from '../../src/datapath/packet.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { buildFrame } from '../../src/wire/frame.js';
import { conntrackList } from '../../src/netfilter/index.js';
import type { NetNamespace } from '../../src/netns/namespace.js';
import { recordEdges } from '../helpers/sink.js';
import { ETH3, FIP_VIF_MAC, GW_MAC, QR_MAC, SEED_FILE, SNAT, SNAT_IP, VM_EDGE, VM_IP, VM_MAC } from '../helpers/seed-names.js';

/** Logs each arrival, then passes the packet out of its other port (or consumes it without one). */
class Hop extends Element {
  constructor(name: string, private readonly log: string[]) {
    super('linux_bridge', 'host', name);
  }
  receive(pkt: Packet, port: Port): void {
    this.log.push(`${this.name}:${pkt.buf[pkt.off]}`);
    const out = this.ports.find((p) => p !== port);
    if (out) this.engine.output(pkt, out);
    else this.engine.consume(pkt, this, 'end');
  }
}

function chain(log: string[]) {
  const e = new Engine({});
  const a = e.add(new Hop('a', log)), b = e.add(new Hop('b', log)), c = e.add(new Hop('c', log));
  const ain = e.addPort(a, 'in');
  e.link(e.addPort(a, 'out'), e.addPort(b, 'in'), 'veth');
  e.link(e.addPort(b, 'out'), e.addPort(c, 'in'), 'veth');
  return { e, ain };
}

const frameN = (n: number) => Uint8Array.from({ length: 60 }, (_, i) => (i === 0 ? n : 0));

test('injects in a batch wait for endBatch, then run element by element; alone, each runs to completion', () => {
  const log: string[] = [];
  const { e, ain } = chain(log);
  e.beginBatch();
  for (let i = 0; i < 3; i++) e.inject(e.pool.allocFrom(frameN(i))!, ain);
  assert.deepEqual(log, [], 'nothing runs while the batch is open');
  e.endBatch();
  assert.deepEqual(log, ['a:0', 'a:1', 'a:2', 'b:0', 'b:1', 'b:2', 'c:0', 'c:1', 'c:2']);
  log.length = 0;
  for (let i = 0; i < 2; i++) e.inject(e.pool.allocFrom(frameN(i))!, ain);
  assert.deepEqual(log, ['a:0', 'b:0', 'c:0', 'a:1', 'b:1', 'c:1']);
  // Nested batches run once, when the outer one ends.
  log.length = 0;
  e.beginBatch();
  e.beginBatch();
  e.inject(e.pool.allocFrom(frameN(7))!, ain);
  e.endBatch();
  assert.deepEqual(log, []);
  e.endBatch();
  assert.deepEqual(log, ['a:7', 'b:7', 'c:7']);
});

test('a sampled inject in a batch is timed to the end of the batch, once', () => {
  const log: string[] = [];
  const { e, ain } = chain(log);
  const seen: { port: string; ms: number; logged: number }[] = [];
  const probe: LatencyProbe = {
    every: 2, hopLeft: 1e9, injectLeft: 1,
    stage: () => {},
    pipeline: (port, ms) => seen.push({ port: port.name, ms, logged: log.length }),
  };
  e.latency = probe;
  e.beginBatch();
  for (let i = 0; i < 4; i++) e.inject(e.pool.allocFrom(frameN(i))!, ain);
  e.endBatch();
  // The first inject was due (1 left), the third too (every 2), but one sample is timed at a time.
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.port, 'in');
  assert.equal(seen[0]!.logged, 12, 'reported after the whole batch ran');
  assert.ok(seen[0]!.ms >= 0);
});

/** Floods a copy out of every other port and makes one packet of its own because of the frame. */
class Maker extends Element {
  constructor() {
    super('linux_bridge', 'host', 'maker');
  }
  receive(pkt: Packet, port: Port): void {
    const e = this.engine;
    const made = e.alloc(pkt, this, 'reply')!;
    made.len = 60;
    const outs = this.ports.filter((p) => p !== port);
    for (const p of outs.slice(1)) e.output(e.clone(pkt, this, 'copy')!, p);
    e.output(pkt, outs[0]!);
    e.output(made, outs[0]!);
  }
}

class Stamps extends Element {
  got: number[] = [];
  constructor(name: string) {
    super('linux_bridge', 'host', name);
  }
  receive(pkt: Packet): void {
    this.got.push(pkt.stamp);
    this.engine.consume(pkt, this, 'end');
  }
}

test('copies and packets made because of a frame carry its read stamp; a new frame starts without one', () => {
  const e = new Engine({});
  const m = e.add(new Maker()), s1 = e.add(new Stamps('s1')), s2 = e.add(new Stamps('s2'));
  const min = e.addPort(m, 'in');
  e.link(e.addPort(m, 'o1'), e.addPort(s1, 'in'), 'veth');
  e.link(e.addPort(m, 'o2'), e.addPort(s2, 'in'), 'veth');
  const p = e.pool.allocFrom(frameN(1))!;
  assert.equal(p.stamp, 0);
  p.stamp = 1234.5;
  e.inject(p, min);
  assert.deepEqual(s1.got, [1234.5, 1234.5]);
  assert.deepEqual(s2.got, [1234.5]);
  assert.equal(e.pool.allocFrom(frameN(2))!.stamp, 0, 'a slot reused for a new frame has no stamp');
});

// ---- the seed path ------------------------------------------------------------

const FLOWS = 40;
const request = (f: number, n: number) => buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: VM_IP, dst: `198.51.100.${1 + f}`, id: n }, udp: { sport: 30000 + f, dport: 53, payload: 16 + (n % 7) } });
const reply = (f: number) => buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: `198.51.100.${1 + f}`, dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport: 30000 + f, payload: 20 } });

/** The seed topology with every edge's frames recorded, each flow answered once (its MACs learned, conntrack ESTABLISHED). */
function seed(): { emu: Emulator; out: Map<string, string[]> } {
  const emu = buildEmulator(loadTopologyOrThrow(SEED_FILE), { clock: new ManualClock() });
  const out = recordEdges(emu);
  const vm = emu.findPort(...VM_EDGE)!, eth3 = emu.findPort(...ETH3)!;
  for (let f = 0; f < FLOWS; f++) {
    emu.engine.inject(emu.engine.pool.allocFrom(request(f, 0))!, vm);
    emu.engine.inject(emu.engine.pool.allocFrom(reply(f))!, eth3);
  }
  for (const v of out.values()) v.length = 0;
  return { emu, out };
}

test('the seed path: independent flows in batches give the frames, conntrack and drops of one frame at a time, through spanning patch crossings', () => {
  const one = seed(), batched = seed();
  const frames = Array.from({ length: 600 }, (_, n) => request((n * 7) % FLOWS, n + 1));
  const st = batched.emu.engine.stats;
  const hits0 = st.sum('fastpath_hits') + st.sum('fastpath_misses');
  for (const f of frames) one.emu.engine.inject(one.emu.engine.pool.allocFrom(f)!, one.emu.findPort(...VM_EDGE)!);
  const vm = batched.emu.findPort(...VM_EDGE)!, eng = batched.emu.engine;
  for (let i = 0; i < frames.length; i += 64) {
    eng.beginBatch();
    for (const f of frames.slice(i, i + 64)) eng.inject(eng.pool.allocFrom(f)!, vm);
    eng.endBatch();
  }
  assert.equal(one.out.get('w02:eth3')!.length, frames.length);
  assert.deepEqual(batched.out, one.out);
  const ns = (emu: Emulator) => emu.namespace('w02', SNAT) as NetNamespace;
  assert.deepEqual(conntrackList(ns(batched.emu).nf.conntrack, eng.now), conntrackList(ns(one.emu).nf.conntrack, one.emu.engine.now));
  assert.equal(st.sum('drops'), one.emu.engine.stats.sum('drops'));
  // In a batch other deliveries always wait in the queue, yet the bridge translations still span the patch
  // pairs (w07 br-int -> br-tun, w02 br-tun -> br-int): 7 cache lookups a packet, not 9.
  const lookups = st.sum('fastpath_hits') + st.sum('fastpath_misses') - hits0;
  assert.equal(lookups, 7 * frames.length);
});
