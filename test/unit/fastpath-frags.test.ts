// The translation cache gives the slow path's answers for IP fragments under
// every set-frags mode (DESIGN.md principle 4, as fastpath-differential.test.ts
// for whole packets): the seed topology built with the cache and without,
// flows on L4 ports added to the bridges the VM's traffic crosses, and the
// same first and later fragments, whole datagrams and ICMP from the VM and
// from outside go through both while each bridge's mode changes at random.
// Every frame at every edge, in order, and all state (flows and their
// counters, tables' lookup and match counts, fdb, conntrack) must be the
// same; the fast side must have served fragments from the cache under each
// mode, and the mode changes must have removed entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { conntrackList } from '../../src/netfilter/index.js';
import { setFrags } from '../../src/control/ovs-switch-replies.js';
import type { ManualClock } from '../../src/datapath/clock.js';
import { logEdges } from '../helpers/sink.js';
import { mulberry32Unit } from '../../src/datapath/random.js';
import { GW_MAC, FIP_VIF_MAC, QR_MAC, SNAT_IP, VM_MAC } from '../helpers/seed-names.js';

interface Side {
  emu: Emulator;
  out: string[];
}

/** Flows whose outcome a fragment's ports decide, on the bridges both directions cross. */
const FLOWS: [node: string, bridge: string, flow: string][] = [
  ['w07', 'br-int', 'table=0,priority=30,in_port=41,udp,tp_dst=53,actions=mod_nw_tos:8,resubmit(,25)'],
  ['w07', 'br-int', 'table=0,priority=29,in_port=41,udp,tp_dst=0,actions=mod_nw_tos:4,resubmit(,25)'],
  ['w07', 'br-int', 'table=0,priority=28,in_port=41,udp,tp_src=0x9c40/0xfff0,actions=drop'],
  ['w07', 'br-int', 'table=25,priority=3,in_port=41,icmp,icmp_type=0,actions=drop'],
  ['w07', 'br-tun', 'table=22,priority=5,dl_vlan=10,udp,tp_dst=123,actions=drop'],
  ['w02', 'br-ex', 'priority=10,in_port=5,udp,tp_dst=53,actions=mod_vlan_vid:103,mod_nw_tos:24,output:1'],
  ['w02', 'br-ex', 'priority=9,in_port=1,udp,tp_dst=40100,actions=drop'],
];

function side(fastpath: boolean): Side {
  const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'), { emulateHosts: true });
  emu.engine.fastpath = fastpath;
  const out = logEdges(emu);
  for (const [node, br, f] of FLOWS) emu.bridge(node, br).addFlow(f);
  return { emu, out };
}

function state(emu: Emulator): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  for (const el of emu.engine.elements) {
    const id = `${el.node}:${el.name}`;
    if (el instanceof OvsBridge) {
      s[`${id} flows`] = el.dumpFlows();
      s[`${id} fdb`] = el.fdbShow();
      s[`${id} tables`] = el.tableStats();
    } else if (el instanceof NetNamespace) {
      s[`${id} conntrack`] = conntrackList(el.nf.conntrack, emu.engine.now);
    }
  }
  const st = emu.engine.stats;
  s.counters = st.desc.map((d, i) => (d.name.startsWith('fastpath_') ? '' : `${d.name} ${JSON.stringify(d.labels)} ${st.v[i]}`));
  return s;
}

const BRIDGES: [string, string][] = [['w07', 'br-int'], ['w07', 'br-tun'], ['w02', 'br-tun'], ['w02', 'br-int'], ['w02', 'br-ex']];
const MODES = ['normal', 'drop', 'nx-match'];

/** One datagram's worth of frames (a fragment of it, or it whole): from the VM to the internet, or a reply from outside. */
function frames(r: () => number, n: number): { node: string; port: string; frame: Uint8Array }[] {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const out = r() < 0.6;
  const id = n & 0xffff;
  const ip = out ? { src: '192.168.1.7', dst: pick(['8.8.8.8', '1.1.1.1']), ttl: 64, id, df: false } : { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id, df: false };
  const l2: Pick<FrameSpec, 'src' | 'dst' | 'vlans'> = out ? { src: VM_MAC, dst: QR_MAC } : { src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103] };
  const at = out ? { node: 'w07', port: 'tap2ab77d0f-99' } : { node: 'w02', port: 'eth3' };
  const sport = out ? pick([40000, 40001, 40007, 40100]) : 53, dport = out ? pick([53, 53, 123, 0]) : pick([40000, 40100]);
  const icmp = r() < 0.2;
  const first: FrameSpec = icmp ? { ...l2, ip: { ...ip, mf: true }, icmp: { type: out ? 8 : 0, id: 7, seq: n & 0xff, data: 16 } }
    : { ...l2, ip: { ...ip, mf: true }, udp: { sport, dport, payload: 16 } };
  const later: FrameSpec = { ...l2, ip: { ...ip, fragOffset: 24, proto: icmp ? 1 : 17 }, payload: new Uint8Array(8) };
  const whole: FrameSpec = icmp ? { ...l2, ip, icmp: { type: out ? 8 : 0, id: 7, seq: n & 0xff, data: 16 } } : { ...l2, ip, udp: { sport, dport, payload: 16 } };
  const k = r();
  const specs = k < 0.35 ? [first] : k < 0.55 ? [later] : k < 0.8 ? [first, later] : [whole];
  return specs.map((s) => ({ ...at, frame: buildFrame(s) }));
}

const ARPS = [
  { node: 'w02', port: 'eth3', frame: buildFrame({ src: GW_MAC, dst: 'ff:ff:ff:ff:ff:ff', vlans: [103], arp: { sha: GW_MAC, spa: '10.206.221.193', tpa: '10.206.221.195' } }) },
  { node: 'w07', port: 'tap2ab77d0f-99', frame: buildFrame({ src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: '192.168.1.7', tpa: '192.168.1.1' } }) },
];

test('fragments under each set-frags mode, the mode changing on each bridge: the cache gives the slow path answers', () => {
  const fast = side(true), slow = side(false);
  const r = mulberry32Unit(0xf4a6);
  const st = fast.emu.engine.stats;
  const hitsBy = new Map<string, number>();
  let changed = 0;
  for (let n = 0; n < 3000; n++) {
    // The gateway's and the VM's addresses, now and then (neighbours age as time passes).
    if (n % 200 === 0) for (const p of ARPS) for (const s of [fast, slow]) s.emu.engine.inject(s.emu.engine.pool.allocFrom(p.frame)!, s.emu.findPort(p.node, p.port)!);
    const x = r();
    if (x < 0.02) {
      const [node, br] = BRIDGES[Math.floor(r() * BRIDGES.length)]!, mode = MODES[Math.floor(r() * MODES.length)]!;
      const inv = st.sum('fastpath_invalidations');
      for (const s of [fast, slow]) setFrags(s.emu.bridge(node, br), mode);
      changed += st.sum('fastpath_invalidations') - inv;
    } else if (x < 0.05) {
      const ms = r() < 0.1 ? 31_000 : Math.floor(r() * 3000);
      for (const s of [fast, slow]) {
        (s.emu.engine.clock as ManualClock).advance(ms);
        s.emu.engine.tick();
      }
    }
    const mode = fast.emu.bridge('w07', 'br-int').fragMode;
    const h = st.sum('fastpath_hits');
    for (const p of frames(r, n)) {
      for (const s of [fast, slow]) s.emu.engine.inject(s.emu.engine.pool.allocFrom(p.frame)!, s.emu.findPort(p.node, p.port)!);
      assert.equal(fast.out.length, slow.out.length, `datagram ${n}: edge frame counts differ`);
    }
    hitsBy.set(MODES[mode]!, (hitsBy.get(MODES[mode]!) ?? 0) + st.sum('fastpath_hits') - h);
    if (n % 100 === 99) assert.deepEqual(state(fast.emu), state(slow.emu), `state after datagram ${n}`);
  }
  assert.deepEqual(fast.out, slow.out);
  assert.deepEqual(state(fast.emu), state(slow.emu));
  for (const m of MODES) assert.ok((hitsBy.get(m) ?? 0) > 100, `the cache must serve packets under ${m}: ${JSON.stringify([...hitsBy])}`);
  assert.ok(changed > 0, 'set-frags must remove entries');
  if (process.env.FP_DEBUG) console.log({ hitsBy: [...hitsBy], changed, out: fast.out.length });
  assert.ok(fast.out.length > 500, `frames must leave: ${fast.out.length}`);
});

test('set-frags removes only fragments\' entries, and between normal and nx-match only first fragments\'', () => {
  const fast = side(true);
  const br = fast.emu.bridge('w07', 'br-int'), BR = { node: 'w07', element: 'br-int' };
  const cell = (n: string) => fast.emu.engine.stats.sum(`fastpath_${n}`, BR);
  const send = (s: FrameSpec) => fast.emu.engine.inject(fast.emu.engine.pool.allocFrom(buildFrame(s))!, fast.emu.findPort('w07', 'tap2ab77d0f-99')!);
  const ip = { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id: 1, df: false };
  const l2 = { src: VM_MAC, dst: QR_MAC };
  const kinds: Record<string, FrameSpec> = {
    whole: { ...l2, ip, udp: { sport: 40001, dport: 53, payload: 8 } },
    first: { ...l2, ip: { ...ip, mf: true }, udp: { sport: 40001, dport: 53, payload: 8 } },
    later: { ...l2, ip: { ...ip, fragOffset: 16, proto: 17 }, payload: new Uint8Array(8) },
  };
  /** Hits on br-int for one more of each kind. */
  const hits = (): Record<string, number> => Object.fromEntries(Object.entries(kinds).map(([k, s]) => {
    const h = cell('hits');
    send(s);
    return [k, cell('hits') - h];
  }));
  const warm = () => {
    for (let i = 0; i < 3; i++) hits();
  };
  warm();
  assert.deepEqual(hits(), { whole: 2, first: 2, later: 2 }); // br-int is crossed twice (VM port, then qr- port)
  setFrags(br, 'nx-match');
  assert.deepEqual(hits(), { whole: 2, first: 0, later: 2 });
  warm();
  setFrags(br, 'drop');
  assert.deepEqual(hits(), { whole: 2, first: 0, later: 0 });
  warm();
  assert.deepEqual(hits(), { whole: 2, first: 1, later: 1 }); // dropped at the VM port: one crossing
  setFrags(br, 'drop');
  assert.deepEqual(hits(), { whole: 2, first: 1, later: 1 }); // no change, nothing goes
  setFrags(br, 'normal');
  assert.deepEqual(hits(), { whole: 2, first: 0, later: 0 });
});
