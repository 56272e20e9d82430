// DESIGN.md principle 4: the fast path (the OVS bridges' translation cache)
// gives the slow path's answers. The seed topology is built twice, one with
// the cache and one without; the same few thousand random-but-plausible
// packets (the write-up's request and reply, ARP, ICMP, TTL expiry, MACs
// appearing and moving, flows added, modified and deleted mid-run, time
// passing so flows and MACs age out) go through both, and every frame at
// every edge, in order, and every piece of state must be the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { conntrackList } from '../../src/netfilter/index.js';
import type { ManualClock } from '../../src/datapath/clock.js';
import type { Packet } from '../../src/datapath/packet.js';
import type { Port } from '../../src/datapath/element.js';

const VM_MAC = 'fa:16:3e:b2:ef:af';
const QR_MAC = 'fa:16:3e:06:d8:7b';
const GW_MAC = '5c:c9:99:60:d2:71';
const FIP_VIF_MAC = 'fa:17:3e:f7:cd:bc';
const SNAT_IP = '112.65.210.200';

interface Side {
  emu: Emulator;
  /** Every frame that left at a free edge: "node:port hex". */
  out: string[];
}

function side(fastpath: boolean): Side {
  const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'), { emulateHosts: true });
  emu.engine.fastpath = fastpath;
  const out: string[] = [];
  for (const e of emu.topology.edges) {
    const p = emu.engine.element(e.port.node, e.port.element)?.port(e.port.port);
    if (p && !p.peer && !p.edge) {
      emu.engine.attachEdge(p, { emit: (pkt: Packet, port: Port) => out.push(`${port.element.node}:${port.name} ${Buffer.from(pkt.bytes()).toString('hex')}`) });
    }
  }
  return { emu, out };
}

/** mulberry32: the same stream for both sides, and the same run on every machine. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Flow changes applied to both sides at random points. */
const FLOW_CHANGES: ((e: Emulator) => void)[] = [
  (e) => e.bridge('w07', 'br-int').addFlow('table=0,priority=20,udp,tp_dst=5353,actions=drop'),
  (e) => e.bridge('w07', 'br-int').delFlows('table=0,udp,tp_dst=5353'),
  (e) => e.bridge('w02', 'br-ex').addFlow('priority=50,in_port=5,udp,tp_dst=7777,actions=mod_vlan_vid:103,output:1,mod_nw_tos:16,output:1'),
  (e) => e.bridge('w02', 'br-ex').modFlows('priority=50,in_port=5,udp,tp_dst=7777,actions=mod_vlan_vid:103,mod_dl_src:02:00:00:00:00:77,output:1'),
  (e) => e.bridge('w02', 'br-ex').addFlow('priority=50,in_port=5,udp,tp_dst=7778,actions=dec_ttl,mod_vlan_vid:103,output:1'),
  (e) => e.bridge('w02', 'br-ex').addFlow('priority=40,idle_timeout=3,in_port=5,udp,tp_dst=7779,actions=NORMAL'),
  (e) => e.bridge('w02', 'br-ex').delFlows('udp,tp_dst=7777'),
  (e) => e.bridge('w07', 'br-tun').addFlow('table=0,priority=30,in_port=1,dl_src=02:00:00:00:00:01,actions=drop'),
  (e) => e.bridge('w07', 'br-tun').delFlows('table=0,in_port=1,dl_src=02:00:00:00:00:01'),
];

const DSTS = ['8.8.8.8', '8.8.4.4', '1.1.1.1', '192.168.1.6', '192.168.1.2', '192.168.1.1'];
const EXT_MACS = [GW_MAC, GW_MAC, GW_MAC, '02:00:00:00:00:01', '02:00:00:00:00:02'];

/** One random packet: where it enters and its bytes. */
function nextPacket(r: () => number, sports: number[]): { node: string; port: string; frame: Uint8Array } {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const sport = pick(sports);
  const ttl = pick([64, 64, 64, 64, 2, 1]);
  const id = Math.floor(r() * 65536);
  const k = r();
  const vm = { node: 'w07', port: 'tap2ab77d0f-99' };
  const eth3 = { node: 'w02', port: 'eth3' };
  let spec: FrameSpec;
  let at = vm;
  if (k < 0.35) {
    spec = { src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: pick(DSTS), ttl, id }, udp: { sport, dport: pick([53, 53, 53, 123, 5353]), payload: Math.floor(r() * 80) } };
  } else if (k < 0.45) {
    spec = { src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: pick(DSTS), ttl, id }, icmp: { id: sport, seq: Math.floor(r() * 4) } };
  } else if (k < 0.7) {
    at = eth3;
    spec = {
      src: pick(EXT_MACS), dst: FIP_VIF_MAC, vlans: [103],
      ip: { src: pick(['8.8.8.8', '8.8.4.4']), dst: SNAT_IP, ttl: pick([60, 60, 1]), id }, udp: { sport: 53, dport: sport, payload: Math.floor(r() * 80) },
    };
  } else if (k < 0.78) {
    at = eth3;
    spec = { src: pick(EXT_MACS), dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 58, id }, icmp: { type: 0, id: sport, seq: 1 } };
  } else if (k < 0.85) {
    spec = { src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: '192.168.1.7', tpa: pick(['192.168.1.1', '192.168.1.6', '192.168.1.2']) } };
  } else if (k < 0.92) {
    at = eth3;
    const src = pick(EXT_MACS);
    spec = { src, dst: pick(['ff:ff:ff:ff:ff:ff', FIP_VIF_MAC]), vlans: [103], arp: { sha: src, spa: '10.206.221.193', tpa: '10.206.221.195' } };
  } else {
    // Traffic from fip-vif towards the flows FLOW_CHANGES installs on br-ex (and to unknown MACs: flooding).
    at = eth3;
    spec = { src: pick(EXT_MACS), dst: pick([FIP_VIF_MAC, '02:00:00:00:00:09']), vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id }, udp: { sport: 53, dport: pick([7777, 7778, 7779]), payload: 8 } };
  }
  return { ...at, frame: buildFrame(spec) };
}

function state(emu: Emulator): Record<string, unknown> {
  const now = emu.engine.now;
  const s: Record<string, unknown> = {};
  for (const el of emu.engine.elements) {
    const id = `${el.node}:${el.name}`;
    if (el instanceof OvsBridge) {
      s[`${id} flows`] = el.dumpFlows();
      s[`${id} fdb`] = el.fdbShow();
      s[`${id} tables`] = el.tableStats();
    } else if (el instanceof NetNamespace) {
      s[`${id} conntrack`] = conntrackList(el.nf.conntrack, now);
    }
  }
  // Every counter (ports, drops by reason), except the caches' own.
  const st = emu.engine.stats;
  s.counters = st.desc.map((d, i) => (d.name.startsWith('fastpath_') ? '' : `${d.name} ${JSON.stringify(d.labels)} ${st.v[i]}`));
  s.consumed = emu.engine.consumed;
  return s;
}

test('the translation cache gives the slow path answers: frames at every edge and all state', () => {
  const fast = side(true), slow = side(false);
  const r = rng(0xd1ff);
  const sports = Array.from({ length: 12 }, (_, i) => 40000 + i * 7);
  const N = 3000;
  for (let i = 0; i < N; i++) {
    const x = r();
    // Before time moves, the state too must be the same (a later slow-path packet could hide a difference).
    if (x >= 0.01 && x < 0.08) assert.deepEqual(state(fast.emu), state(slow.emu), `state before packet ${i}`);
    if (x < 0.01) {
      const change = FLOW_CHANGES[Math.floor(r() * FLOW_CHANGES.length)]!;
      change(fast.emu);
      change(slow.emu);
    } else if (x < 0.03) {
      // Time passes: sometimes long enough for flows' idle timeouts, neighbours and MACs (300 s) to age,
      // and sometimes without a timer run, so the packets themselves meet what has expired.
      const ms = r() < 0.2 ? 301_000 : Math.floor(r() * 4000);
      const tick = r() < 0.5;
      for (const s of [fast, slow]) {
        (s.emu.engine.clock as ManualClock).advance(ms);
        if (tick) s.emu.engine.tick();
      }
    } else if (x < 0.08) {
      // A second or so: MAC learning refreshes an entry at most once a second, idle ages move.
      const ms = 1000 + Math.floor(r() * 500);
      for (const s of [fast, slow]) (s.emu.engine.clock as ManualClock).advance(ms);
    } else if (x < 0.085) {
      sports[Math.floor(r() * sports.length)] = 1024 + Math.floor(r() * 60000);
    }
    const p = nextPacket(r, sports);
    for (const s of [fast, slow]) {
      const port = s.emu.findPort(p.node, p.port)!;
      s.emu.engine.inject(s.emu.engine.pool.allocFrom(p.frame)!, port);
    }
    assert.equal(fast.out.length, slow.out.length, `packet ${i}: edge frame counts differ`);
  }
  assert.deepEqual(fast.out, slow.out);
  assert.deepEqual(state(fast.emu), state(slow.emu));
  const st = fast.emu.engine.stats;
  const hits = st.sum('fastpath_hits'), misses = st.sum('fastpath_misses');
  if (process.env.FP_DEBUG) console.log({ hits, misses, inval: st.sum('fastpath_invalidations'), entries: st.sum('fastpath_entries'), out: fast.out.length });
  assert.ok(hits > N, `the cache must be exercised: ${hits} hits, ${misses} misses`);
  assert.ok(st.sum('fastpath_invalidations') > 0, 'flow changes must invalidate');
  assert.equal(slow.emu.engine.stats.sum('fastpath_hits') + slow.emu.engine.stats.sum('fastpath_misses'), 0);
  assert.ok(fast.out.length > N / 3, `frames must leave: ${fast.out.length}`);
});
