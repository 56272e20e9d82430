// Micro benchmarks (benny): frame parsing, classifier lookup at 10 / 1 k /
// 100 k flows, conntrack lookup and insert, an iptables traversal (walked
// and cached), VXLAN encap and decap, checksum update, ring enqueue/dequeue.
// Every case runs a batch of operations over varied inputs (so caches and
// branch predictors see realistic spread) and reports nanoseconds per
// operation: the median sample, with benny's relative margin of error.
//   node dist/bench/micro.js [--quick]
import { loadavg } from 'node:os';
import { add, configure, suite } from 'benny';
import { type Figure, emit, parseOptions, progress, quietStdout, target } from './lib/harness.js';
import { buildFlowTable } from './lib/flows.js';
import { udpRequest } from './lib/seed.js';
import { Decoded, decode } from '../src/wire/decode.js';
import { FrameLayout, extractFrame } from '../src/ofproto/flow-extract.js';
import { newKey } from '../src/ofproto/flow-key.js';
import { Conntrack } from '../src/netfilter/conntrack.js';
import { HOOK_FORWARD, HOOK_PREROUTING, VERDICT_ACCEPT } from '../src/netfilter/constants.js';
import { Netfilter } from '../src/netfilter/netfilter.js';
import { type TraversalResult, traverse } from '../src/netfilter/evaluate.js';
import { fillPacketInfo, newPacketInfo, type NfPacketInfo } from '../src/netfilter/packet-info.js';
import { VXLAN_OVERHEAD, VxlanTunnel, vxlanDecapCheck, vxlanEncap, vxlanInnerLen, vxlanInnerOff } from '../src/wire/vxlan.js';
import { checksum, csumUpdate32 } from '../src/wire/checksum.js';
import { buildFrame } from '../src/wire/frame.js';
import { Engine } from '../src/datapath/engine.js';
import { Element, type Port } from '../src/datapath/element.js';
import type { Packet } from '../src/datapath/packet.js';

const opts = parseOptions('node dist/bench/micro.js [--quick]');
quietStdout();

/** A benny case: `batch` operations per call. */
interface Case {
  name: string;
  label: string;
  batch: number;
  conditions: Figure['conditions'];
  fn: () => void;
  /** Checked once before timing: a wrong setup must not produce a figure. */
  check?: () => string | null;
  targetNs?: number;
}

const cases: Case[] = [];
const PAYLOAD = 64;
const N_FRAMES = 1024;

// ---- frames -------------------------------------------------------------

// N_FRAMES request frames (the VM's UDP, 64-byte payload: 106-byte frames) laid in one buffer, like slab slots.
const SLOT = 256;
const HEAD = 128;
const slab = new Uint8Array(N_FRAMES * SLOT);
const frameLen = udpRequest(10000, 53, PAYLOAD).length;
for (let i = 0; i < N_FRAMES; i++) slab.set(udpRequest(10000 + i, 53 + (i % 7), PAYLOAD), i * SLOT + HEAD);

{
  const d = new Decoded();
  cases.push({
    name: 'micro.parse.decode', label: 'decode (wire/decode.ts): Ethernet/IPv4/UDP', batch: N_FRAMES,
    conditions: { frameBytes: frameLen, frames: N_FRAMES },
    check: () => (decode(slab, HEAD, frameLen, d) === 0 && d.sport === 10000 ? null : 'decode failed'),
    fn: () => {
      for (let i = 0; i < N_FRAMES; i++) decode(slab, i * SLOT + HEAD, frameLen, d);
    },
  });
  const key = newKey();
  const lay = new FrameLayout();
  cases.push({
    name: 'micro.parse.extractFrame', label: 'flow key extraction (ofproto/flow-extract.ts)', batch: N_FRAMES,
    conditions: { frameBytes: frameLen, frames: N_FRAMES },
    fn: () => {
      for (let i = 0; i < N_FRAMES; i++) extractFrame(slab, i * SLOT + HEAD, frameLen, key, lay);
    },
  });
}

// ---- classifier -----------------------------------------------------------

for (const [n, label] of [[10, '10'], [1000, '1k'], [100_000, '100k']] as const) {
  progress(`building a ${label}-flow table`);
  const rig = buildFlowTable(n);
  const t = rig.tables.table(0);
  const cls = t.cls;
  const keys = rig.keys;
  const nk = keys.length;
  const batch = 1024;
  let j = 0;
  cases.push({
    name: `micro.classifier.lookup.${label}`, label: `classifier lookup, ${label} flows, ${cls.subtableCount} masks`, batch,
    conditions: { flows: cls.size, masks: cls.subtableCount, distinctKeys: nk, hits: 'every key hits its flow' },
    check: () => {
      let bad = 0;
      for (let i = 0; i < nk; i++) if (cls.lookup(keys[i]!) !== rig.expect[i]) bad++;
      return bad ? `${bad} of ${nk} keys found the wrong flow` : null;
    },
    fn: () => {
      for (let i = 0; i < batch; i++) {
        cls.lookup(keys[j]!);
        if (++j === nk) j = 0;
      }
    },
    targetNs: n === 100_000 ? 2000 : undefined,
  });
}

// ---- conntrack --------------------------------------------------------------

/** A UDP packet info per flow, over its own bytes (IPv4 header onwards of a request frame). */
function udpInfos(count: number, base: number, zeroCsum: boolean): NfPacketInfo[] {
  const out: NfPacketInfo[] = [];
  for (let i = 0; i < count; i++) {
    const f = buildFrame({
      src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b',
      ip: { src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, dst: '8.8.8.8' },
      udp: { sport: base + (i % 50000), dport: 53, payload: PAYLOAD, csum: !zeroCsum },
    });
    const p = newPacketInfo();
    const bad = fillPacketInfo(p, f, 14, f.length - 14);
    if (bad) throw new Error(bad);
    p.inIf = 'sg-0';
    out.push(p);
  }
  return out;
}

for (const csum of [true, false]) {
  const FLOWS = 10_000;
  const ct = new Conntrack({ checksum: csum });
  const infos = udpInfos(FLOWS, 20000, false);
  for (const p of infos) {
    ct.in(p, HOOK_PREROUTING, 0);
    ct.confirm(p, 0);
  }
  let j = 0;
  const batch = 1024;
  cases.push({
    name: csum ? 'micro.conntrack.lookup' : 'micro.conntrack.lookupNoChecksum',
    label: `conntrack lookup, 10k entries${csum ? ' (PREROUTING, verifies UDP checksum)' : ' (nf_conntrack_checksum=0)'}`,
    batch,
    conditions: { entries: FLOWS, proto: 'udp', udpPayload: PAYLOAD, checksum: csum },
    check: () => (ct.count === FLOWS && ct.in(infos[5]!, HOOK_PREROUTING, 0) === VERDICT_ACCEPT && infos[5]!.ct !== 0 ? null : `table has ${ct.count}`),
    fn: () => {
      for (let i = 0; i < batch; i++) {
        ct.in(infos[j]!, HOOK_PREROUTING, 0);
        if (++j === FLOWS) j = 0;
      }
    },
  });
}

{
  // NEW + confirm of a fresh tuple; the oldest entry goes, so the table stays at 10 k.
  const HELD = 10_000;
  const ct = new Conntrack({ max: 0 });
  const p = newPacketInfo();
  const f = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '10.0.0.1', dst: '8.8.8.8' }, udp: { sport: 40000, dport: 53, payload: PAYLOAD, csum: false } });
  const fifo = new Int32Array(HELD);
  let seq = 0;
  const insertOne = () => {
    const s = seq++;
    // A new tuple: source 10.x.y.z from the sequence (16 M before it wraps; 10 k are ever live).
    f[14 + 13] = (s >>> 16) & 255;
    f[14 + 14] = (s >>> 8) & 255;
    f[14 + 15] = s & 255;
    fillPacketInfo(p, f, 14, f.length - 14);
    ct.in(p, HOOK_PREROUTING, 0);
    ct.confirm(p, 0);
    const slot = s % HELD;
    const old = fifo[slot];
    if (old !== 0) ct.destroy(old);
    fifo[slot] = p.ct;
  };
  for (let i = 0; i < HELD; i++) insertOne();
  const batch = 256;
  cases.push({
    name: 'micro.conntrack.insert', label: 'conntrack insert (NEW + confirm) + delete oldest, 10k held', batch,
    conditions: { entries: HELD, proto: 'udp', nat: false },
    check: () => (ct.count === HELD ? null : `table has ${ct.count}, want ${HELD}`),
    fn: () => {
      for (let i = 0; i < batch; i++) insertOne();
    },
  });
}

// ---- iptables ---------------------------------------------------------------

{
  // A qrouter's filter table as Neutron writes it (neutron-l3-agent-scope holds a rule per router port):
  // at FORWARD a packet tests 12 rules and bumps 4 counters; through the traversal cache, one key lookup.
  const ports = Array.from({ length: 8 }, (_, i) => `qr-${(0x1a2b3c00 + i).toString(16)}-5e`);
  const nf = new Netfilter();
  nf.load(['*filter', ':FORWARD ACCEPT [0:0]', ':neutron-filter-top - [0:0]', ':neutron-l3-agent-FORWARD - [0:0]',
    ':neutron-l3-agent-local - [0:0]', ':neutron-l3-agent-scope - [0:0]',
    '-A FORWARD -j neutron-filter-top', '-A FORWARD -j neutron-l3-agent-FORWARD', '-A neutron-filter-top -j neutron-l3-agent-local',
    '-A neutron-l3-agent-FORWARD -j neutron-l3-agent-scope',
    ...ports.map((p) => `-A neutron-l3-agent-scope -o ${p} -m mark ! --mark 0x4000000/0xffff0000 -j DROP`), 'COMMIT', ''].join('\n'));
  const t = nf.rules.tables.filter;
  const infos = udpInfos(N_FRAMES, 30000, false);
  // Out of the gateway port, or a router port (scope-marked or not: the last drops).
  infos.forEach((p, i) => Object.assign(p, { outIf: i % 3 === 0 ? 'qg-77' : ports[i % 8], mark: i % 5 === 0 ? 0 : 0x4000000 }));
  const res: TraversalResult = { rule: null, chain: null, ruleNum: 0 };
  for (const cached of [false, true]) {
    const walk = cached ? (p: NfPacketInfo) => nf.cache.traverse(t, HOOK_FORWARD, p, res) : (p: NfPacketInfo) => traverse(t, HOOK_FORWARD, p, res, null, null);
    cases.push({
      name: cached ? 'micro.iptables.traverseCached' : 'micro.iptables.traverse',
      label: `iptables filter FORWARD, a qrouter's 12 rules (${cached ? 'traversal cache hit' : 'chain walk'})`,
      batch: N_FRAMES,
      conditions: { rulesTested: 12, countersBumped: 4, keys: 18, cached },
      check: () => (walk(infos[1]!) === traverse(t, HOOK_FORWARD, infos[1]!, res, null, null) ? null : 'verdicts differ'),
      fn: () => {
        for (let i = 0; i < N_FRAMES; i++) walk(infos[i]!);
      },
    });
  }
}

// ---- VXLAN ------------------------------------------------------------------

{
  const t = new VxlanTunnel();
  t.srcIp = 0x0ace6bee;
  t.dstIp = 0x0ace6b9c;
  t.srcMacHi = 0xb496;
  t.srcMacLo = 0x915a3178;
  t.dstMacHi = 0x5cc9;
  t.dstMacLo = 0x9960e03c;
  const enc = new Uint8Array(slab); // inner frames with headroom in front
  cases.push({
    name: 'micro.vxlan.encap', label: 'VXLAN encap (outer Eth/IPv4/UDP/VXLAN, flow-hash sport)', batch: N_FRAMES,
    conditions: { innerFrameBytes: frameLen, outerFrameBytes: frameLen + VXLAN_OVERHEAD, frames: N_FRAMES },
    fn: () => {
      for (let i = 0; i < N_FRAMES; i++) vxlanEncap(enc, i * SLOT + HEAD, frameLen, 103, t);
    },
  });
  const dec = new Uint8Array(slab);
  for (let i = 0; i < N_FRAMES; i++) vxlanEncap(dec, i * SLOT + HEAD, frameLen, 103, t);
  const d = new Decoded();
  const outerLen = frameLen + VXLAN_OVERHEAD;
  let sink = 0;
  cases.push({
    name: 'micro.vxlan.decap', label: 'VXLAN decap (validate outer headers, find inner frame)', batch: N_FRAMES,
    conditions: { innerFrameBytes: frameLen, outerFrameBytes: outerLen, frames: N_FRAMES },
    check: () => (vxlanDecapCheck(dec, HEAD - VXLAN_OVERHEAD, outerLen, d) === 0 && vxlanInnerOff(d) === HEAD && vxlanInnerLen(dec, d) === frameLen ? null : 'decap check failed'),
    fn: () => {
      for (let i = 0; i < N_FRAMES; i++) {
        if (vxlanDecapCheck(dec, i * SLOT + HEAD - VXLAN_OVERHEAD, outerLen, d) === 0) sink += vxlanInnerOff(d) + vxlanInnerLen(dec, d);
      }
    },
  });
  void sink;
}

// ---- checksums --------------------------------------------------------------

{
  const olds = new Uint32Array(N_FRAMES), news = new Uint32Array(N_FRAMES), hcs = new Uint16Array(N_FRAMES);
  for (let i = 0; i < N_FRAMES; i++) {
    olds[i] = (0xc0a80100 + i) >>> 0;
    news[i] = (0x7041d2c8 + (i & 3)) >>> 0;
    hcs[i] = (i * 7919) & 0xffff;
  }
  let acc = 0;
  cases.push({
    name: 'micro.checksum.update32', label: 'checksum update, RFC 1624, one IPv4 address (SNAT)', batch: N_FRAMES,
    conditions: { values: N_FRAMES },
    fn: () => {
      for (let i = 0; i < N_FRAMES; i++) acc ^= csumUpdate32(hcs[i]!, olds[i]!, news[i]!);
    },
  });
  cases.push({
    name: 'micro.checksum.full20', label: 'checksum, full, 20-byte IPv4 header', batch: N_FRAMES,
    conditions: { bytes: 20, headers: N_FRAMES },
    fn: () => {
      for (let i = 0; i < N_FRAMES; i++) acc ^= checksum(slab, i * SLOT + HEAD + 14, 20);
    },
  });
  void acc;
}

// ---- ring -------------------------------------------------------------------

interface RingLike {
  push(a: number, b?: number, c?: number): boolean;
  shift(): number;
}
let ringSkip: string | null = null;
try {
  // Loaded at run time: src/datapath/ring.ts is new and owned elsewhere; without it the case is skipped.
  const mod = (await import(new URL('../src/datapath/ring.js', import.meta.url).href)) as { SpscRing?: new (cap: number, width: number) => RingLike };
  if (!mod.SpscRing) throw new Error('src/datapath/ring.ts exports no SpscRing');
  const ring = new mod.SpscRing(1024, 2);
  const batch = 256;
  let acc = 0;
  cases.push({
    name: 'micro.ring.pushShift', label: 'SPSC ring (datapath/ring.ts) push + shift, one thread', batch,
    conditions: { capacity: 1024, entryWords: 2, burst: batch },
    check: () => (ring.push(7, 60) && ring.shift() === 7 ? null : 'ring push/shift failed'),
    fn: () => {
      for (let i = 0; i < batch; i++) ring.push(i, 60);
      for (let i = 0; i < batch; i++) acc += ring.shift();
    },
  });
  void acc;
} catch (e) {
  ringSkip = `skipped: ${(e as Error).message}`;
  progress(`ring: ${ringSkip}`);
}

// ---- engine ----------------------------------------------------------------

{
  // The engine's own cost: a chain of HOPS pass-through elements (port 0 in, port 1 out) linked like
  // veths, a frame copied into a slot and injected at the first, counted at the last one's free edge.
  class Pass extends Element {
    override receive(pkt: Packet, port: Port): void {
      this.engine.output(pkt, this.ports[port.index ^ 1]!);
    }
  }
  const HOPS = 13;
  const engine = new Engine();
  const els = Array.from({ length: HOPS }, (_, i) => engine.add(new Pass('host', 'bench', `pass${i}`)));
  const ports = els.map((el) => [engine.addPort(el, 'a'), engine.addPort(el, 'b')] as const);
  for (let i = 0; i + 1 < HOPS; i++) engine.link(ports[i]![1], ports[i + 1]![0], 'veth');
  let out = 0;
  engine.attachEdge(ports[HOPS - 1]![1], { emit: () => void out++ });
  const frame = udpRequest(10000, 53, PAYLOAD);
  const first = ports[0]![0];
  const batch = 256;
  cases.push({
    name: 'micro.engine.hop', label: `engine: one hop of ${HOPS} pass-through elements (per hop: port counters, queue, dispatch)`, batch: batch * HOPS,
    conditions: { hops: HOPS, frameBytes: frame.length, includes: 'per packet: slot alloc + 106-byte copy + inject + edge emit + free, spread over the hops' },
    check: () => {
      const o = out;
      engine.inject(engine.pool.allocFrom(frame)!, first);
      return out === o + 1 ? null : 'frame did not reach the edge';
    },
    fn: () => {
      for (let i = 0; i < batch; i++) engine.inject(engine.pool.allocFrom(frame)!, first);
    },
  });
}

// ---- run ----------------------------------------------------------------------

const figures: Figure[] = [];
const failed: string[] = [];
const runnable = cases.filter((c) => {
  const err = c.check?.() ?? null;
  if (err) failed.push(`${c.name}: ${err}`);
  return err === null;
});
for (const f of failed) progress(`NOT RUN ${f}`);

const load0 = +loadavg()[0]!.toFixed(2);
const summary = await suite(
  'dpemu micro',
  configure({ cases: { minSamples: opts.quick ? 5 : 10, maxTime: opts.quick ? 0.4 : 1.2 } }),
  ...runnable.map((c) => add(c.name, () => c.fn)),
);
for (const r of summary.results) {
  const c = runnable.find((x) => x.name === r.name)!;
  const ns = (r.details.median * 1e9) / c.batch;
  const fig: Figure = {
    name: c.name, value: ns, unit: 'ns/op', spread: { min: (r.details.min * 1e9) / c.batch, max: (r.details.max * 1e9) / c.batch },
    conditions: { ...c.conditions, batch: c.batch, samples: r.samples, rmePct: r.margin, loadAvg1mBefore: load0, tool: 'benny' },
    note: c.label,
  };
  if (c.targetNs !== undefined) fig.target = target(ns, '<=', c.targetNs);
  figures.push(fig);
}
if (ringSkip) figures.push({ name: 'micro.ring.pushShift', value: NaN, unit: 'ns/op', conditions: {}, note: ringSkip });
for (const f of failed) figures.push({ name: f.split(':')[0]!, value: NaN, unit: 'ns/op', conditions: {}, note: `not run: ${f}` });
emit('micro', figures);
