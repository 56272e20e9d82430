// DESIGN.md principle 4: the fast path (the OVS bridges' translation cache)
// gives the slow path's answers. The seed topology is built twice, one with
// the cache and one without; the same few thousand random-but-plausible
// packets (the write-up's request and reply, ARP, ICMP, TTL expiry, MACs
// appearing and moving, flows added, modified and deleted mid-run, time
// passing so flows and MACs age out) go through both, and every frame at
// every edge, in order, and every piece of state must be the same. A flow
// change invalidates only the cached entries it can affect (xlate-deps.ts),
// so a second run churns flows hard: adds that shadow cached translations
// (matching, higher or equal priority), adds that cannot, ties between
// equal-priority rules of different masks (and changes that reorder their
// subtables), a table that appears after entries looked it up, deletes and
// modifies of the path's own flows, and flows that time out. A fast-check
// property interleaves all of it with fdb learning, moves, ageing and
// flushes, and ports added, deleted and taken up and down; the cache's
// entries span megaflows (every packet agreeing on the bits a translation
// read), so fdb and port changes too remove only the entries that used them.
// The path crosses two patch pairs (w07 br-int -> br-tun, w02 br-tun ->
// br-int), where one entry spans both bridges: the churn changes flows on the
// peer bridges too, and the property attaches and removes captures on the
// patch ports (a hit then goes through the engine and the peer's own cache).
// The namespaces' forwarding caches (src/netns/route-cache.ts) get the same
// treatment: a run interleaves route, rule, address, link, MTU and neighbour
// changes in the three namespaces on the path, and a test checks that each
// change removes only the cached decisions it can affect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { composeFrame, parseTraceFlow } from '../../src/ofproto/trace-flow.js';
import { parseFlow } from '../../src/ofproto/flow-parser.js';
import { formatMatch } from '../../src/ofproto/flow-printer.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import type { XcEntry } from '../../src/ofproto/xlate-cache.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { conntrackList, iptablesSave } from '../../src/netfilter/index.js';
import type { ManualClock } from '../../src/datapath/clock.js';
import { logEdges } from '../helpers/sink.js';
import type { Port } from '../../src/datapath/element.js';
import { mulberry32Unit } from '../../src/datapath/random.js';
import { runCommand, showNeigh } from '../../src/netns/ip-text.js';
import { NUD_SHOW_ALL, parseNeighArgs } from '../../src/netns/ip-neigh-syntax.js';
import { FIP, FIP_VIF_MAC, GW_MAC, QROUTER as QR, QR_MAC, SNAT, SNAT_IP, VM_MAC } from '../helpers/seed-names.js';

interface Side {
  emu: Emulator;
  /** Every frame that left at a free edge: "node:port hex". */
  out: string[];
}

function side(fastpath: boolean): Side {
  const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'), { emulateHosts: true });
  emu.engine.fastpath = fastpath;
  const out = logEdges(emu);
  return { emu, out };
}

/** mulberry32: the same stream for both sides, and the same run on every machine. */
const rng = mulberry32Unit;

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

/** Rules for the churn run: [add, delete] on a bridge; index i, so the same choice on both sides. */
const VM = 'in_port=41'; // the VM's port on w07 br-int
const CHURN: [node: string, bridge: string, add: string, del: string][] = [
  // Shadowing the request's table-0 flow (priority 9, in_port): higher priority, same and other masks.
  ['w07', 'br-int', `table=0,priority=20,${VM},udp,tp_dst=53,actions=drop`, `table=0,${VM},udp,tp_dst=53`],
  ['w07', 'br-int', `table=0,priority=30,${VM},udp,tp_dst=123,actions=mod_nw_tos:8,resubmit(,25)`, `table=0,${VM},udp,tp_dst=123`],
  ['w07', 'br-int', `table=0,priority=40,udp,nw_dst=8.8.8.8,actions=mod_nw_tos:16,resubmit(,25)`, 'table=0,udp,nw_dst=8.8.8.8'],
  // Equal priority to the path's rule, another mask: a tie (OVS leaves the winner unspecified; both sides must agree).
  ['w07', 'br-int', `table=0,priority=9,udp,tp_dst=53,actions=mod_nw_tos:4,resubmit(,25)`, 'table=0,udp,tp_dst=53'],
  // Same mask as the tie rule, not matching the path, high priority: its subtable moves ahead.
  ['w07', 'br-int', 'table=0,priority=200,udp,tp_dst=9999,actions=drop', 'table=0,udp,tp_dst=9999'],
  // Not matching any packet sent, at every priority around the path's (the churn bench's kind).
  ['w07', 'br-int', `table=0,priority=50,${VM},dl_src=fa:16:3e:ee:00:01,actions=drop`, `table=0,${VM},dl_src=fa:16:3e:ee:00:01`],
  ['w07', 'br-int', `table=25,priority=2,${VM},dl_src=fa:16:3e:ee:00:02,actions=resubmit(,30)`, `table=25,${VM},dl_src=fa:16:3e:ee:00:02`],
  ['w07', 'br-int', 'table=60,priority=2,dl_vlan=11,dl_dst=fa:16:3e:ee:00:03,actions=strip_vlan,output:41', 'table=60,dl_vlan=11,dl_dst=fa:16:3e:ee:00:03'],
  // Lower priority than the winner but matching: cannot change a thing.
  ['w07', 'br-int', 'table=60,priority=0,actions=drop', 'table=60'],
  // The path's own flows: modified (new actions), deleted (the next lower rule or a miss wins), put back.
  ['w07', 'br-int', `table=25,priority=2,${VM},dl_src=${VM_MAC},actions=mod_nw_tos:32,resubmit(,30)`, `table=25,${VM},dl_src=${VM_MAC}`],
  ['w07', 'br-int', `table=25,priority=2,${VM},dl_src=${VM_MAC},actions=resubmit(,30)`, 'table=30'],
  ['w07', 'br-int', 'table=30,priority=0,actions=resubmit(,58)', `table=0,${VM}`],
  ['w07', 'br-int', `table=0,priority=9,${VM},actions=resubmit(,25)`, 'table=60'],
  ['w07', 'br-int', 'table=60,priority=1,actions=NORMAL', 'table=60'],
  // A table looked up before it holds a flow, then filled and emptied.
  ['w07', 'br-int', `table=0,priority=60,${VM},udp,tp_dst=5353,actions=resubmit(,78),resubmit(,25)`, `table=0,${VM},udp,tp_dst=5353`],
  ['w07', 'br-int', 'table=78,priority=1,udp,actions=mod_nw_tos:12', 'table=78'],
  ['w07', 'br-int', 'table=78,priority=1,tcp,actions=drop', 'table=78,tcp'],
  // A shadowing flow that times out by itself.
  ['w07', 'br-int', `table=0,priority=70,hard_timeout=2,${VM},icmp,actions=drop`, `table=0,${VM},icmp`],
  // The tunnel bridge and the external bridge: shadowing and not.
  ['w07', 'br-tun', 'table=22,priority=5,dl_vlan=10,udp,tp_dst=53,actions=drop', 'table=22,dl_vlan=10,udp,tp_dst=53'],
  ['w07', 'br-tun', 'table=1,priority=1,dl_vlan=10,dl_src=fa:16:3e:06:d8:7b,actions=mod_dl_src:fa:16:3f:13:77:c5,mod_nw_tos:20,resubmit(,2)', 'table=1,dl_vlan=10,dl_src=fa:16:3e:06:d8:7b'],
  ['w07', 'br-tun', 'table=1,priority=1,dl_vlan=10,dl_src=fa:16:3e:06:d8:7b,actions=mod_dl_src:fa:16:3f:13:77:c5,resubmit(,2)', 'table=20,dl_vlan=99'],
  ['w02', 'br-ex', 'priority=10,in_port=5,udp,tp_dst=53,actions=mod_vlan_vid:103,mod_nw_tos:24,output:1', 'in_port=5,udp,tp_dst=53'],
  ['w02', 'br-ex', 'priority=10,in_port=1,dl_src=02:00:00:00:00:02,actions=drop', 'in_port=1,dl_src=02:00:00:00:00:02'],
  // w02 br-int, the peer of br-tun's entries from the tunnel: shadowing port 53, the path's own flow
  // changed, deleted (the drop below it wins) and put back, a flow matching nothing; br-tun before it.
  ['w02', 'br-int', 'table=0,priority=3,in_port=1,dl_src=fa:16:3f:13:77:c5,udp,tp_dst=53,actions=mod_nw_tos:8,resubmit(,1)', 'table=0,in_port=1,dl_src=fa:16:3f:13:77:c5,udp,tp_dst=53'],
  ['w02', 'br-int', 'table=1,priority=4,dl_vlan=20,dl_dst=fa:16:3e:d1:d8:49,actions=strip_vlan,mod_dl_src:fa:16:3e:06:d8:7b,mod_nw_tos:4,output:74', 'table=1,dl_vlan=20,dl_dst=fa:16:3e:d1:d8:49'],
  ['w02', 'br-int', 'table=1,priority=4,dl_vlan=20,dl_dst=fa:16:3e:d1:d8:49,actions=strip_vlan,mod_dl_src:fa:16:3e:06:d8:7b,output:74', 'table=1,dl_src=02:00:00:00:ee:01'],
  ['w02', 'br-int', 'table=1,priority=9,dl_src=02:00:00:00:ee:01,actions=drop', 'table=1,dl_src=02:00:00:00:ee:01'],
  ['w02', 'br-tun', 'table=9,priority=2,dl_src=fa:16:3f:13:77:c5,udp,tp_dst=123,actions=drop', 'table=9,dl_src=fa:16:3f:13:77:c5,udp,tp_dst=123'],
];

/** Spanning entries of every bridge cache (they keep their hit counts once dead). */
function spanning(emu: Emulator): XcEntry[] {
  return emu.engine.elements.flatMap((el) => (el instanceof OvsBridge ? (el.xcache?.entries() ?? []).filter((e) => e.spans) : []));
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
      s[`${id} iptables`] = iptablesSave(el.nf.rules, { counters: true });
      s[`${id} neigh`] = showNeigh(el.ns, { states: NUD_SHOW_ALL });
      s[`${id} neigh stats`] = { ...el.ns.neigh.stats };
      s[`${id} neigh used`] = el.ns.neigh.entries().map((n) => [n.used, n.confirmed, n.updated, n.probes, n.queue.length]);
    }
  }
  // Every counter (ports, drops by reason), except the caches' own.
  const st = emu.engine.stats;
  s.counters = st.desc.map((d, i) => (d.name.startsWith('fastpath_') ? '' : `${d.name} ${JSON.stringify(d.labels)} ${st.v[i]}`));
  s.consumed = emu.engine.consumed;
  return s;
}

/**
 * Run `n` random packets through both sides; `churn` is the chance of a flow
 * change before each. `spans`: the fast side's spanning entries, gathered
 * before each time step (an entry idle past max-idle is deleted) and at the end.
 */
function differential(
  seed: number, n: number, churn: number, change: (r: () => number, e: Emulator[]) => void,
  opts: { setup?: (e: Emulator) => void; next?: typeof nextPacket } = {},
): { fast: Side; slow: Side; spans: Set<XcEntry> } {
  const fast = side(true), slow = side(false), spans = new Set<XcEntry>();
  const next = opts.next ?? nextPacket;
  for (const s of [fast, slow]) opts.setup?.(s.emu);
  const gather = () => {
    for (const e of spanning(fast.emu)) spans.add(e);
  };
  const r = rng(seed);
  const sports = Array.from({ length: 12 }, (_, i) => 40000 + i * 7);
  for (let i = 0; i < n; i++) {
    if (r() < churn) change(r, [fast.emu, slow.emu]);
    const x = r();
    // Before time moves, the state too must be the same (a later slow-path packet could hide a difference).
    if (x >= 0.01 && x < 0.08) assert.deepEqual(state(fast.emu), state(slow.emu), `state before packet ${i}`);
    if (x < 0.01) {
      const c = FLOW_CHANGES[Math.floor(r() * FLOW_CHANGES.length)]!;
      c(fast.emu);
      c(slow.emu);
    } else if (x < 0.03) {
      // Time passes: sometimes long enough for flows' idle timeouts, neighbours and MACs (300 s) to age,
      // and sometimes without a timer run, so the packets themselves meet what has expired.
      const ms = r() < 0.2 ? 301_000 : Math.floor(r() * 4000);
      const tick = r() < 0.5;
      gather();
      for (const s of [fast, slow]) {
        (s.emu.engine.clock as ManualClock).advance(ms);
        if (tick) s.emu.engine.tick();
      }
    } else if (x < 0.08) {
      // A second or so: MAC learning refreshes an entry at most once a second, idle ages move.
      const ms = 1000 + Math.floor(r() * 500);
      gather();
      for (const s of [fast, slow]) (s.emu.engine.clock as ManualClock).advance(ms);
    } else if (x < 0.085) {
      sports[Math.floor(r() * sports.length)] = 1024 + Math.floor(r() * 60000);
    }
    const p = next(r, sports);
    for (const s of [fast, slow]) {
      const port = s.emu.findPort(p.node, p.port)!;
      s.emu.engine.inject(s.emu.engine.pool.allocFrom(p.frame)!, port);
    }
    assert.equal(fast.out.length, slow.out.length, `packet ${i}: edge frame counts differ`);
  }
  assert.deepEqual(fast.out, slow.out);
  assert.deepEqual(state(fast.emu), state(slow.emu));
  gather();
  return { fast, slow, spans };
}

test('the translation cache gives the slow path answers: frames at every edge and all state', () => {
  const N = 3000;
  const { fast, slow, spans } = differential(0xd1ff, N, 0, () => {});
  const st = fast.emu.engine.stats;
  const hits = st.sum('fastpath_hits'), misses = st.sum('fastpath_misses');
  const span = [...spans].reduce((n, e) => n + e.packets, 0);
  if (process.env.FP_DEBUG) console.log({ hits, misses, span, inval: st.sum('fastpath_invalidations'), entries: st.sum('fastpath_entries'), out: fast.out.length });
  assert.ok(hits > N, `the cache must be exercised: ${hits} hits, ${misses} misses`);
  assert.ok(span > N / 10, `and its entries through patch ports: ${span} hits`);
  assert.ok(st.sum('fastpath_invalidations') > 0, 'flow changes must invalidate');
  assert.equal(slow.emu.engine.stats.sum('fastpath_hits') + slow.emu.engine.stats.sum('fastpath_misses'), 0);
  assert.ok(fast.out.length > N / 3, `frames must leave: ${fast.out.length}`);
});

// IPv6 flows on w07 br-int (in_port 41: the VM): neutron-dvr.md §5.7's ND anti-spoofing and
// matches on addresses (prefixes, an arbitrary mask), the flow label and ND's link-layer addresses.
const V6_FLOWS = [
  `table=0,priority=10,icmp6,${VM},icmp_type=136,actions=resubmit(,24)`,
  `table=0,priority=10,icmp6,${VM},icmp_type=135,actions=resubmit(,24)`,
  `table=24,priority=2,icmp6,${VM},icmp_type=136,nd_target=2001:db8::7,actions=resubmit(,25)`,
  `table=24,priority=2,icmp6,${VM},icmp_type=136,nd_target=fe80::/64,actions=mod_dl_src:02:00:00:00:00:a1,resubmit(,25)`,
  `table=24,priority=3,icmp6,${VM},icmp_type=136,nd_tll=fa:16:3e:00:00:09,actions=drop`,
  `table=24,priority=2,icmp6,${VM},icmp_type=135,nd_sll=fa:16:3e:00:00:00/ff:ff:ff:00:00:00,nd_target=2001:db8::/120,actions=resubmit(,25)`,
  `table=0,priority=12,ipv6,${VM},ipv6_src=2001:db8::/64,ipv6_dst=2001:db8:1::/ffff:ffff:0:ffff::,actions=mod_dl_dst:02:00:00:00:00:a3,resubmit(,25)`,
  `table=0,priority=11,ipv6,${VM},ipv6_label=0x10000/0xf0000,actions=mod_dl_dst:02:00:00:00:00:a4,resubmit(,25)`,
  `table=0,priority=13,udp6,${VM},ipv6_dst=2001:db8:2::5,tp_dst=53,actions=drop`,
];
const V6_CHURN: [string, string][] = [
  [`table=24,priority=5,icmp6,${VM},icmp_type=136,nd_target=2001:db8::7,actions=drop`, 'table=24,icmp6,icmp_type=136,nd_target=2001:db8::7'],
  [`table=0,priority=14,ipv6,${VM},ipv6_src=2001:db8::1,actions=mod_dl_dst:02:00:00:00:00:a5,resubmit(,25)`, 'table=0,ipv6,ipv6_src=2001:db8::1'],
  [`table=0,priority=14,ipv6,${VM},ipv6_label=0x12345,actions=drop`, 'table=0,ipv6,ipv6_label=0x12345'],
];
const V6_ADDRS = ['2001:db8::7', '2001:db8::1', '2001:db8::1:0:0:9', '2001:db8:1::5', '2001:db8:1:7:ffff::5', '2001:db8:2::5', 'fe80::f816:3eff:feb2:efaf', 'fe80::1', '::'];

/** IPv6 packets from the VM (ND with random targets and options, UDP with random addresses and labels), and the IPv4 ones. */
function nextPacket6(r: () => number, sports: number[]): { node: string; port: string; frame: Uint8Array } {
  if (r() < 0.25) return nextPacket(r, sports);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const mac = pick(['fa:16:3e:00:00:09', 'fa:16:3e:00:01:10', 'fa:17:3e:00:00:01']);
  const nd = r() < 0.5;
  // br_flow fields in prerequisite order: the protocol first.
  let flow = `${nd ? 'icmp6' : 'udp6'},dl_src=${VM_MAC},dl_dst=${pick([QR_MAC, '33:33:ff:00:00:07', '02:00:00:00:00:09'])},nw_ttl=255,ipv6_src=${pick(V6_ADDRS)},ipv6_dst=${pick(V6_ADDRS)}`;
  if (nd) {
    const type = pick([135, 136]);
    flow += `,icmpv6_type=${type},nd_target=${pick(V6_ADDRS)}`;
    if (r() < 0.7) flow += `,${type === 135 ? 'nd_sll' : 'nd_tll'}=${mac}`;
  } else {
    flow += `,ipv6_label=${pick(['0x12345', '0x1', '0x1ffff', '0'])},udp_src=${pick(sports)},udp_dst=${pick([53, 123])}`;
  }
  return { node: 'w07', port: 'tap2ab77d0f-99', frame: composeFrame(parseTraceFlow(flow)) };
}

test('IPv6 frames through flows matching IPv6 addresses, the flow label and ND fields: the cache gives the slow path answers', () => {
  const N = 2500;
  const { fast } = differential(0x1b6, N, 0.04, (r, emus) => {
    const [add, del] = V6_CHURN[Math.floor(r() * V6_CHURN.length)]!;
    const op = r();
    for (const e of emus) {
      if (op < 0.5) e.bridge('w07', 'br-int').addFlow(add);
      else e.bridge('w07', 'br-int').delFlows(del);
    }
  }, { setup: (e) => V6_FLOWS.forEach((f) => e.bridge('w07', 'br-int').addFlow(f)), next: nextPacket6 });
  const st = fast.emu.engine.stats;
  assert.ok(st.sum('fastpath_hits') > N, `the cache must be exercised: ${st.sum('fastpath_hits')} hits`);
  // Every IPv6 flow of the setup that the churn left matched packets (so hits went through them).
  const dump = fast.emu.bridge('w07', 'br-int').dumpFlows();
  let present = 0;
  for (const f of V6_FLOWS) {
    const spec = parseFlow(f);
    const line = dump.find((l) => l.includes(` ${formatMatch(spec.match, spec.priority)} actions=`));
    if (!line) continue; // deleted by the churn (a del-flows is loose)
    present++;
    assert.ok(!/n_packets=0,/.test(line), `${f}: ${line}`);
  }
  assert.ok(present >= V6_FLOWS.length - 2, `${present} of the IPv6 flows left`);
});

test('precise invalidation under heavy flow churn: the same frames and state as the slow path', () => {
  const N = 4000;
  const { fast } = differential(0xc4a5e, N, 0.15, (r, emus) => {
    const [node, bridge, add, del] = CHURN[Math.floor(r() * CHURN.length)]!;
    const op = r();
    for (const e of emus) {
      const b = e.bridge(node, bridge);
      if (op < 0.55) b.addFlow(add);
      else if (op < 0.85) b.delFlows(del);
      else b.modFlows(add); // new actions for whatever the add's match selects (loosely)
    }
  });
  const st = fast.emu.engine.stats;
  const hits = st.sum('fastpath_hits'), inval = st.sum('fastpath_invalidations'), flushes = st.sum('fastpath_flushes');
  if (process.env.FP_DEBUG) console.log({ hits, misses: st.sum('fastpath_misses'), inval, flushes, entries: st.sum('fastpath_entries'), out: fast.out.length });
  assert.ok(hits > N / 2, `the cache must be exercised: ${hits} hits`);
  assert.ok(inval > 0, 'flow changes must invalidate');
});

test('a flow change removes only the cached translations it can change', () => {
  const fast = side(true), slow = side(false);
  const req = (dport: number) => buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id: 1 }, udp: { sport: 40000, dport, payload: 8 } });
  const st = fast.emu.engine.stats, BR = { node: 'w07', element: 'br-int' };
  const cell = (n: string) => st.sum(`fastpath_${n}`, BR);
  const send = (f: Uint8Array) => {
    for (const s of [fast, slow]) s.emu.engine.inject(s.emu.engine.pool.allocFrom(f)!, s.emu.findPort('w07', 'tap2ab77d0f-99')!);
    assert.deepEqual(fast.out, slow.out);
    assert.deepEqual(state(fast.emu), state(slow.emu));
  };
  const flow = (f: (b: OvsBridge) => void) => {
    for (const s of [fast, slow]) f(s.emu.bridge('w07', 'br-int'));
  };
  /** Hits on w07 br-int for one more request. */
  const hitsFor = (f: Uint8Array) => {
    const h = cell('hits');
    send(f);
    return cell('hits') - h;
  };
  // A rule on tp_dst probed before the path's (higher priority, matching nothing sent): from the VM port,
  // table 0's lookup agrees with it up to L4 and reads tp_dst, so each port is a megaflow of its own (else
  // one entry would serve both); from the qr- port it misses on in_port alone (OVS's staged lookup), so
  // one entry serves both ports there.
  flow((b) => b.addFlow(`table=0,priority=100,${VM},udp,tp_dst=9,actions=drop`));
  // The first packet learns MACs (not kept: the fdb changed under it); the next is kept; then hits
  // (br-int is crossed twice: VM port, then qr- port).
  for (const d of [53, 123]) for (let i = 0; i < 3; i++) send(req(d));
  assert.equal(hitsFor(req(53)), 2);
  const entries = cell('entries');
  assert.equal(entries, 3);

  // Not matching the packets (another dl_src), above and below the path's priority: nothing goes.
  const inv0 = cell('invalidations');
  flow((b) => b.addFlow(`table=0,priority=50,${VM},dl_src=fa:16:3e:ee:00:01,actions=drop`));
  flow((b) => b.addFlow('table=60,priority=0,actions=drop'));
  flow((b) => b.delFlows(`table=0,${VM},dl_src=fa:16:3e:ee:00:01`));
  assert.equal(cell('invalidations'), inv0);
  assert.equal(cell('entries'), entries);
  assert.equal(hitsFor(req(53)), 2);

  // Shadowing port 53 only (higher priority, matching): its first-pass entry goes, port 123's stays.
  flow((b) => b.addFlow(`table=0,priority=20,${VM},udp,tp_dst=53,actions=drop`));
  assert.equal(cell('invalidations'), inv0 + 1);
  assert.equal(cell('flushes'), 0);
  assert.equal(hitsFor(req(123)), 2);
  const out = fast.out.length;
  assert.equal(hitsFor(req(53)), 0);
  assert.equal(fast.out.length, out, 'the new flow drops it');
  flow((b) => b.delFlows(`table=0,${VM},udp,tp_dst=53`));
  for (let i = 0; i < 3; i++) send(req(53));
  assert.equal(hitsFor(req(53)), 2);

  // Modifying the flow both used (table 25's anti-spoofing rule): both go, and the new actions show.
  const inv1 = cell('invalidations');
  flow((b) => b.modFlows(`table=25,priority=2,${VM},dl_src=${VM_MAC},actions=mod_nw_tos:32,resubmit(,30)`, { strict: true }));
  assert.ok(cell('invalidations') >= inv1 + 2);
  send(req(53));
  send(req(123));

  // A tie: equal priority to the path's in_port rule, another mask. Whichever wins, the sides agree, also
  // after a flow that matches nothing moves the tie's subtable ahead of the path's.
  for (const d of [53, 123]) for (let i = 0; i < 3; i++) send(req(d));
  flow((b) => b.addFlow('table=0,priority=9,udp,tp_dst=53,actions=mod_nw_tos:4,resubmit(,25)'));
  for (let i = 0; i < 3; i++) send(req(53));
  flow((b) => b.addFlow('table=0,priority=200,udp,tp_dst=9999,actions=drop'));
  send(req(53));
  assert.match(fast.out.at(-1)!, /^w02:eth3 /);

  // A table looked up before it held a flow (it counts from the first lookup, as every OVS table exists), then given one matching nothing.
  flow((b) => b.addFlow(`table=0,priority=60,${VM},udp,tp_dst=123,actions=resubmit(,78),resubmit(,25)`));
  for (let i = 0; i < 3; i++) send(req(123));
  flow((b) => b.addFlow('table=78,priority=1,tcp,actions=drop'));
  send(req(123));
  send(req(123));
  assert.equal(cell('flushes'), 0, 'flow changes never flush');
});

/** One step of the property below; the same on both sides. */
type Op =
  | { k: 'pkt'; at: number; src: number; dst: number; vlan: number; l4: number; dport: number; times: number }
  | { k: 'flow'; i: number; op: number }
  | { k: 'time'; ms: number; tick: boolean }
  | { k: 'fdbFlush'; br: number }
  | { k: 'addPort'; br: number; tag: number }
  | { k: 'delPort' }
  | { k: 'up'; up: boolean }
  | { k: 'tap'; port: number };

const MACS = [VM_MAC, QR_MAC, GW_MAC, FIP_VIF_MAC, '02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:09', 'ff:ff:ff:ff:ff:ff'];
/** Bridges that get ports, flushes: NORMAL on both. */
const PORT_BRIDGES: [string, string][] = [['w02', 'br-ex'], ['w07', 'br-int']];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ k: fc.constant('pkt' as const), at: fc.nat(3), src: fc.nat(MACS.length - 2), dst: fc.nat(MACS.length - 1), vlan: fc.constantFrom(0, 103, 104), l4: fc.nat(2), dport: fc.constantFrom(53, 123, 7777, 7779), times: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('flow' as const), i: fc.nat(FLOW_CHANGES.length + CHURN.length - 1), op: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('time' as const), ms: fc.constantFrom(300, 1100, 4000, 301_000), tick: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('fdbFlush' as const), br: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('addPort' as const), br: fc.nat(1), tag: fc.constantFrom(0, 10, 103) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delPort' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('up' as const), up: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('tap' as const), port: fc.nat(3) }) },
);

/** Patch ports a capture goes on: both ends of the pairs the request crosses. */
const PATCHES: [node: string, bridge: string, port: string][] = [['w07', 'br-int', 'patch-tun'], ['w07', 'br-tun', 'patch-int'], ['w02', 'br-tun', 'patch-int'], ['w02', 'br-int', 'patch-tun']];

/** Ports the property added, per side, newest last. */
interface Added { br: OvsBridge; name: string }

function apply(s: Side, op: Op, added: Added[], n: number): void {
  const emu = s.emu;
  switch (op.k) {
    case 'pkt': {
      // From the VM mostly as the VM to its router (else its port's anti-spoofing drops it).
      const src = op.at === 0 && op.src > 1 ? VM_MAC : MACS[op.src]!, dst = op.at === 0 && op.dst > 1 ? QR_MAC : MACS[op.dst]!;
      const ip = { src: op.at === 0 ? '192.168.1.7' : '8.8.8.8', dst: op.at === 0 ? '8.8.8.8' : SNAT_IP, ttl: 60, id: n & 0xffff };
      const spec: FrameSpec = op.l4 === 0 ? { src, dst, ip, udp: { sport: 40000 + (n % 3), dport: op.dport, payload: 8 } }
        : op.l4 === 1 ? { src, dst, ip, icmp: { id: 7, seq: n & 0xff } }
        : { src, dst, arp: { sha: src, spa: ip.src, tpa: ip.dst } };
      if (op.at !== 0 && op.vlan !== 0) spec.vlans = [op.vlan];
      let port: Port | undefined;
      if (op.at === 0) port = emu.findPort('w07', 'tap2ab77d0f-99');
      else if (op.at === 1 || added.length === 0) port = emu.findPort('w02', 'eth3');
      else {
        const a = added[(op.at + n) % added.length]!;
        port = a.br.portByName(a.name)?.port;
      }
      const f = buildFrame(spec);
      if (port) for (let i = 0; i < op.times; i++) emu.engine.inject(emu.engine.pool.allocFrom(f)!, port);
      return;
    }
    case 'flow': {
      if (op.i < FLOW_CHANGES.length) {
        FLOW_CHANGES[op.i]!(emu);
        return;
      }
      const [node, bridge, add, del] = CHURN[op.i - FLOW_CHANGES.length]!;
      const b = emu.bridge(node, bridge);
      if (op.op === 0) b.addFlow(add);
      else if (op.op === 1) b.delFlows(del);
      else b.modFlows(add);
      return;
    }
    case 'time':
      (emu.engine.clock as ManualClock).advance(op.ms);
      if (op.tick) emu.engine.tick();
      return;
    case 'fdbFlush': {
      const [node, br] = PORT_BRIDGES[op.br]!;
      emu.bridge(node, br).fdbFlush();
      return;
    }
    case 'addPort': {
      const [node, br] = PORT_BRIDGES[op.br]!;
      const b = emu.bridge(node, br), name = `dpe-fp${n}`;
      b.addOvsPort(name, op.tag ? { tag: op.tag } : {});
      added.push({ br: b, name });
      return;
    }
    case 'delPort': {
      const a = added.pop();
      if (a) a.br.delOvsPort(a.name);
      return;
    }
    case 'tap': {
      // tcpdump on a patch port: attached, or taken off.
      const [node, br, name] = PATCHES[op.port]!;
      const p = emu.bridge(node, br).portByName(name)!.port;
      if (p.taps.length) p.taps.length = 0;
      else p.taps.push((pkt, port, dir) => s.out.push(`tap ${node}:${port.name} ${dir} ${Buffer.from(pkt.bytes()).toString('hex')}`));
      return;
    }
    case 'up': {
      const a = added.at(-1);
      const p = a ? a.br.portByName(a.name)?.port : emu.findPort('w02', 'eth3');
      if (p) p.up = op.up;
      return;
    }
  }
}

test('property: random packets, flow, fdb and port changes interleaved give the same frames and state with the cache on and off', () => {
  let hits = 0, inval = 0;
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 40, maxLength: 250 }), (ops) => {
      const fast = side(true), slow = side(false);
      const addedF: Added[] = [], addedS: Added[] = [];
      ops.forEach((op, n) => {
        apply(fast, op, addedF, n);
        apply(slow, op, addedS, n);
        assert.equal(fast.out.length, slow.out.length, `op ${n} (${op.k}): edge frame counts differ`);
      });
      assert.deepEqual(fast.out, slow.out);
      assert.deepEqual(state(fast.emu), state(slow.emu));
      const st = fast.emu.engine.stats;
      hits += st.sum('fastpath_hits');
      inval += st.sum('fastpath_invalidations');
      assert.equal(st.sum('fastpath_flushes'), 0, 'nothing flushes a whole cache');
    }),
    { numRuns: 25, seed: 0x5eed },
  );
  assert.ok(hits > 500, `the cache must be exercised: ${hits} hits`);
  assert.ok(inval > 0, `changes must invalidate: ${inval}`);
});

test('fdb and port changes remove only the cached translations that used them', () => {
  const fast = side(true), slow = side(false);
  const st = fast.emu.engine.stats, BR = { node: 'w02', element: 'br-ex' };
  const cell = (n: string) => st.sum(`fastpath_${n}`, BR);
  const frame = (src: string, dst: string) => buildFrame({ src, dst, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id: 1 }, udp: { sport: 53, dport: 40000, payload: 8 } });
  const req = buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id: 1 }, udp: { sport: 40000, dport: 53, payload: 8 } });
  const send = (f: Uint8Array, node = 'w02', port = 'eth3') => {
    for (const s of [fast, slow]) s.emu.engine.inject(s.emu.engine.pool.allocFrom(f)!, s.emu.findPort(node, port)!);
    assert.deepEqual(fast.out, slow.out);
    assert.deepEqual(state(fast.emu), state(slow.emu));
  };
  /** br-ex hits for one more frame. */
  const hitsFor = (f: Uint8Array, node?: string, port?: string) => {
    const h = cell('hits');
    send(f, node, port);
    return cell('hits') - h;
  };
  const reply = frame(GW_MAC, FIP_VIF_MAC), flood = frame(GW_MAC, '02:00:00:00:00:09');
  for (let i = 0; i < 3; i++) {
    send(req, 'w07', 'tap2ab77d0f-99');
    send(reply);
    send(flood); // to a MAC nobody learned: NORMAL floods
  }
  assert.ok(hitsFor(req, 'w07', 'tap2ab77d0f-99') > 0);
  // Every br-ex crossing hits (a frame may cross it more than once).
  const R = hitsFor(reply), F = hitsFor(flood);
  assert.ok(R > 0 && F > 0);
  const inv0 = cell('invalidations');

  // A MAC nobody looked up appears: nothing goes (the frame itself learns, so it is not kept).
  send(frame('02:00:00:00:00:55', FIP_VIF_MAC));
  assert.equal(cell('invalidations'), inv0);
  assert.equal(hitsFor(reply), R);

  // The flooded-to MAC appears: only the flood's entry goes.
  send(frame('02:00:00:00:00:09', FIP_VIF_MAC));
  assert.equal(cell('invalidations'), inv0 + 1);
  assert.ok(hitsFor(req, 'w07', 'tap2ab77d0f-99') > 0);
  assert.equal(hitsFor(reply), R);
  send(flood);
  assert.ok(hitsFor(flood) > 0, 'to the learned MAC now, cached again');

  // A port is added (and goes down, and up: no translation reads that): entries that flooded would go; none did.
  const inv1 = cell('invalidations');
  for (const s of [fast, slow]) s.emu.bridge('w02', 'br-ex').addOvsPort('dpe-fp-a', { tag: 103 });
  for (const s of [fast, slow]) s.emu.bridge('w02', 'br-ex').portByName('dpe-fp-a')!.port.up = false;
  for (const s of [fast, slow]) s.emu.bridge('w02', 'br-ex').portByName('dpe-fp-a')!.port.up = true;
  assert.equal(cell('invalidations'), inv1);
  assert.equal(hitsFor(reply), R);

  // The gateway's MAC moves to the new port: the entries that learned or forwarded to it go, and the next
  // request leaves through the new port, as the slow path sends it.
  const inv2 = cell('invalidations');
  const moved = buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id: 2 }, udp: { sport: 53, dport: 40000, payload: 8 } }); // untagged: an access port
  for (const s of [fast, slow]) s.emu.engine.inject(s.emu.engine.pool.allocFrom(moved)!, s.emu.bridge('w02', 'br-ex').portByName('dpe-fp-a')!.port);
  assert.ok(cell('invalidations') > inv2);
  send(req, 'w07', 'tap2ab77d0f-99');
  assert.ok(hitsFor(req, 'w07', 'tap2ab77d0f-99') > 0);

  // The port is deleted: its MACs are forgotten, and what used them or the port goes.
  const inv3 = cell('invalidations');
  for (const s of [fast, slow]) s.emu.bridge('w02', 'br-ex').delOvsPort('dpe-fp-a');
  assert.ok(cell('invalidations') > inv3);
  send(req, 'w07', 'tap2ab77d0f-99');

  // fdb/flush: every entry that used the fdb goes, entry by entry; ageing out does the same.
  for (const s of [fast, slow]) s.emu.bridge('w02', 'br-ex').fdbFlush();
  assert.equal(cell('entries'), 0, 'every br-ex entry relied on NORMAL');
  send(reply);
  send(reply);
  for (const s of [fast, slow]) {
    (s.emu.engine.clock as ManualClock).advance(301_000);
    s.emu.engine.tick();
  }
  assert.equal(cell('entries'), 0, 'aged out');
  send(reply);
  assert.equal(cell('flushes'), 0, 'fdb and port changes never flush');
});

const QR_DEV = 'qr-178fc8e2-fd';
const RFP = 'rfp-c4d4b760-4';
const T = 'table 3232235777';

/**
 * One change inside a namespace, the way `dpemu ip` makes it: neighbour
 * writes and link state through the element (held packets leave or fail),
 * the rest through the namespace's `ip`. A refusal (EEXIST, ESRCH) is part
 * of the outcome both sides must agree on.
 */
function nsChange(e: Emulator, node: string, ns: string, cmd: string): string {
  const el = e.namespace(node, ns);
  const now = e.engine.now;
  try {
    let m = /^neigh (add|replace|change|del) (.*)$/.exec(cmd);
    if (m) {
      const spec = parseNeighArgs(m[2]!);
      el.runNeigh(m[1] === 'del' ? el.ns.neighDel(spec, now) : el.ns.neighSet(spec, m[1] as 'add' | 'replace' | 'change', now));
      return '';
    }
    m = /^link (\S+) (up|down)$/.exec(cmd);
    if (m) {
      el.setLinkUp(m[1]!, m[2] === 'up');
      return '';
    }
    m = /^carrier (\S+) (on|off)$/.exec(cmd);
    if (m) {
      // The peer's side went away: neighbours go (neigh_carrier_down) without changing their state.
      for (const p of el.ns.setCarrier(m[1]!, m[2] === 'on')) e.engine.drop(p, el, 'port_down', 'carrier lost');
      return '';
    }
    return runCommand(el.ns, cmd, now);
  } catch (err) {
    return (err as Error).message;
  }
}

/** [node, namespace, command]: what the namespaces on the path are put through, both sides alike. */
const NS_CHURN: [string, string, string][] = [
  // Routes in the router's own table: another nexthop for one destination, error routes (ICMP or silence).
  ['w07', QR, `ip route add 8.8.4.4/32 via 192.168.1.2 dev ${QR_DEV} ${T}`],
  ['w07', QR, `ip route del 8.8.4.4/32 ${T}`],
  ['w07', QR, `ip route add unreachable 1.1.1.1/32 ${T}`],
  ['w07', QR, `ip route add blackhole 1.1.1.0/24 ${T}`],
  ['w07', QR, `ip route del 1.1.1.1/32 ${T}`],
  ['w07', QR, `ip route del 1.1.1.0/24 ${T}`],
  ['w07', QR, `ip route replace default via 192.168.1.6 dev ${QR_DEV} ${T}`],
  ['w07', QR, `ip route replace default via 192.168.1.6 dev ${QR_DEV} mtu 120 ${T}`],
  // Rules: matching some flows, none, and ones that widen the key (mark, protocol and ports).
  ['w07', QR, 'ip rule add from 192.168.1.7 to 8.8.4.4 lookup main prio 100'],
  ['w07', QR, 'ip rule del prio 100'],
  ['w07', QR, 'ip rule add from 10.9.0.0/16 prohibit prio 101'],
  ['w07', QR, 'ip rule del prio 101'],
  ['w07', QR, 'ip rule add ipproto udp dport 123 prohibit prio 102'],
  ['w07', QR, 'ip rule del prio 102'],
  ['w07', QR, 'ip rule add fwmark 0x1/0x1 blackhole prio 103'],
  ['w07', QR, 'ip rule del prio 103'],
  ['w07', QR, 'ip rule add tos 0x10 unreachable prio 104'],
  ['w07', QR, 'ip rule del prio 104'],
  // A goto over the rules above, and its target coming and going (re-entry there changes every walk).
  ['w07', QR, 'ip rule add from 192.168.1.7 goto 200 prio 90'],
  ['w07', QR, 'ip rule del prio 90'],
  ['w07', QR, 'ip rule add to 10.0.0.0/8 prohibit prio 200'],
  ['w07', QR, 'ip rule del prio 200'],
  // Addresses: one of the destinations becomes local (port unreachable from here), and goes.
  ['w07', QR, `ip addr add 8.8.4.4/32 dev ${QR_DEV}`],
  ['w07', QR, `ip addr del 8.8.4.4/32 dev ${QR_DEV}`],
  ['w07', QR, `ip link set dev ${QR_DEV} mtu 100`],
  ['w07', QR, `ip link set dev ${QR_DEV} mtu 1500`],
  // Neighbours: the nexthop's MAC changes, goes (ARP, held packets) and comes back.
  ['w07', QR, `neigh replace 192.168.1.6 dev ${QR_DEV} lladdr fa:16:3e:00:00:66 nud permanent`],
  ['w07', QR, `neigh replace 192.168.1.6 dev ${QR_DEV} lladdr fa:16:3e:d1:d8:49 nud permanent`],
  ['w07', QR, `neigh del 192.168.1.6 dev ${QR_DEV}`],
  ['w07', QR, `neigh replace 192.168.1.2 dev ${QR_DEV} lladdr fa:16:3e:93:a3:f2 nud reachable`],
  ['w02', SNAT, `neigh replace 169.254.96.33 dev ${RFP} lladdr 82:99:8f:5a:6b:ec nud stale`],
  ['w02', SNAT, `neigh del 169.254.96.33 dev ${RFP}`],
  ['w02', SNAT, `neigh replace 192.168.1.7 dev sg-499291dc-d8 lladdr fa:16:3e:b2:ef:af nud delay`],
  ['w02', SNAT, 'ip route add prohibit 8.8.4.4/32'],
  ['w02', SNAT, 'ip route del 8.8.4.4/32'],
  ['w02', SNAT, `ip route add 1.1.1.1/32 via 169.254.96.33 dev ${RFP} table 7`],
  ['w02', SNAT, 'ip rule add to 1.1.1.0/24 lookup 7 prio 50'],
  ['w02', SNAT, 'ip rule del prio 50'],
  ['w02', SNAT, 'ip rule add fwmark 0x2/0xffff lookup main prio 60'],
  ['w02', SNAT, 'ip rule del prio 60'],
  ['w02', SNAT, `ip addr add 1.1.1.1/32 dev ${RFP}`],
  ['w02', SNAT, `ip addr del 1.1.1.1/32 dev ${RFP}`],
  ['w02', SNAT, 'sysctl -w net.ipv4.conf.all.rp_filter=1'],
  ['w02', SNAT, 'sysctl -w net.ipv4.conf.all.rp_filter=0'],
  // Neighbour timers: entries go STALE (and fail their probes) sooner, then as before.
  ['w02', SNAT, `sysctl -w net.ipv4.neigh.${RFP}.base_reachable_time_ms=200 net.ipv4.neigh.${RFP}.delay_first_probe_time=0 net.ipv4.neigh.${RFP}.retrans_time_ms=100`],
  ['w02', SNAT, `sysctl -w net.ipv4.neigh.${RFP}.base_reachable_time_ms=30000 net.ipv4.neigh.${RFP}.delay_first_probe_time=5 net.ipv4.neigh.${RFP}.retrans_time_ms=1000`],
  ['w02', FIP, 'ip route add blackhole 8.8.4.4/32'],
  ['w02', FIP, 'ip route del 8.8.4.4/32'],
  ['w02', FIP, 'neigh replace 10.206.221.193 dev fip-vif.103 lladdr 02:00:00:00:00:01 nud reachable'],
  ['w02', FIP, 'neigh replace 10.206.221.193 dev fip-vif.103 lladdr 5c:c9:99:60:d2:71 nud reachable'],
  ['w02', FIP, 'neigh del 10.206.221.193 dev fip-vif.103'],
  ['w02', FIP, 'carrier fip-vif.103 off'],
  ['w02', FIP, 'carrier fip-vif.103 on'],
  ['w02', FIP, 'link fpr-c4d4b760-4 down'],
  ['w02', FIP, 'link fpr-c4d4b760-4 up'],
  ['w02', FIP, 'ip route replace 112.65.210.200 via 169.254.96.32 dev fpr-c4d4b760-4'],
];

test('the namespaces\' forwarding caches give the slow path answers under route, rule, address, link and neighbour churn', () => {
  const N = 4000;
  const outcomes: string[] = [];
  const { fast } = differential(0x5eed, N, 0.05, (r, emus) => {
    const [node, ns, cmd] = NS_CHURN[Math.floor(r() * NS_CHURN.length)]!;
    const res = emus.map((e) => nsChange(e, node, ns, cmd));
    assert.equal(res[0], res[1], cmd);
    outcomes.push(res[0]!);
  });
  const st = fast.emu.engine.stats;
  for (const ns of [QR, SNAT, FIP]) {
    const hits = st.sum('fastpath_hits', { element: ns }), misses = st.sum('fastpath_misses', { element: ns });
    if (process.env.FP_DEBUG) console.log(ns, { hits, misses, inval: st.sum('fastpath_invalidations', { element: ns }), flushes: st.sum('fastpath_flushes', { element: ns }), entries: st.sum('fastpath_entries', { element: ns }) });
    assert.ok(hits > misses, `${ns}: the cache must be exercised: ${hits} hits, ${misses} misses`);
    assert.ok(st.sum('fastpath_invalidations', { element: ns }) > 0, `${ns}: changes must invalidate`);
  }
  assert.ok(outcomes.filter((o) => o === '').length > outcomes.length / 2, 'most changes must apply');
});

test('a namespace change removes only the cached decisions it can affect', () => {
  const fast = side(true), slow = side(false);
  const req = (dst: string, dport = 53) => buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst, ttl: 64, id: 1 }, udp: { sport: 40000, dport, payload: 8 } });
  const st = fast.emu.engine.stats, QRL = { node: 'w07', element: QR };
  const cell = (n: string) => st.sum(`fastpath_${n}`, QRL);
  const send = (f: Uint8Array) => {
    for (const s of [fast, slow]) s.emu.engine.inject(s.emu.engine.pool.allocFrom(f)!, s.emu.findPort('w07', 'tap2ab77d0f-99')!);
    assert.deepEqual(fast.out, slow.out);
    assert.deepEqual(state(fast.emu), state(slow.emu));
  };
  const change = (cmd: string) => assert.equal(nsChange(fast.emu, 'w07', QR, cmd), nsChange(slow.emu, 'w07', QR, cmd));
  /** Hits in qrouter for one more request. */
  const hitsFor = (f: Uint8Array) => {
    const h = cell('hits');
    send(f);
    return cell('hits') - h;
  };
  // The first packet of a key misses and is kept; ports are not in the key while no rule reads them.
  for (const d of ['8.8.8.8', '8.8.4.4']) send(req(d));
  assert.equal(cell('entries'), 2);
  assert.equal(hitsFor(req('8.8.8.8', 123)), 1);
  const inv0 = cell('invalidations');

  // Changes no decision here can see: a route elsewhere, a rule matching neither flow, a neighbour on the path (re-checked live).
  change(`ip route add 10.1.0.0/16 via 192.168.1.2 dev ${QR_DEV} ${T}`);
  change('ip rule add from 10.9.0.0/16 prohibit prio 101');
  change(`neigh replace 192.168.1.6 dev ${QR_DEV} lladdr fa:16:3e:00:00:66 nud permanent`);
  assert.equal(cell('invalidations'), inv0);
  let sentTo = '';
  fast.emu.engine.element('w07', QR)!.port(QR_DEV)!.taps.push((p, _port, dir) => {
    if (dir === 'out') sentTo = Buffer.from(p.bytes().subarray(0, 6)).toString('hex');
  });
  assert.equal(hitsFor(req('8.8.8.8')), 1);
  assert.equal(sentTo, 'fa163e000066', 'the new neighbour address is on the frame');
  change(`neigh replace 192.168.1.6 dev ${QR_DEV} lladdr fa:16:3e:d1:d8:49 nud permanent`);

  // A route for one destination: only its decision goes.
  change(`ip route add 8.8.4.4/32 via 192.168.1.2 dev ${QR_DEV} ${T}`);
  assert.equal(cell('invalidations'), inv0 + 1);
  assert.equal(hitsFor(req('8.8.8.8')), 1);
  assert.equal(hitsFor(req('8.8.4.4')), 0);
  assert.equal(hitsFor(req('8.8.4.4')), 1);

  // A rule matching one flow: that one; an address of one destination: that one.
  change('ip rule add from 192.168.1.7 to 8.8.4.4 lookup main prio 100');
  assert.equal(cell('invalidations'), inv0 + 2);
  send(req('8.8.4.4'));
  change(`ip addr add 8.8.4.4/32 dev ${QR_DEV}`);
  assert.equal(cell('invalidations'), inv0 + 3);
  assert.equal(hitsFor(req('8.8.8.8')), 1);
  send(req('8.8.4.4'));
  assert.equal(cell('flushes'), 0);

  // A rule reading ports widens the key: everything goes, and ports then tell keys apart.
  change('ip rule add ipproto udp dport 123 prohibit prio 102');
  assert.equal(cell('flushes'), 1);
  assert.equal(cell('entries'), 0);
  send(req('8.8.8.8', 53));
  assert.equal(hitsFor(req('8.8.8.8', 123)), 0);
  assert.equal(hitsFor(req('8.8.8.8', 53)), 1);

  // A goto's target appears: it matches nothing, but the walk now jumps over rule 102 from the goto on.
  change('ip rule add from 192.168.1.7 goto 200 prio 90');
  assert.equal(cell('entries'), 0, 'a goto (unresolved: skipped) matching the flows: their entries go');
  send(req('8.8.8.8', 53));
  change('ip rule add to 10.0.0.0/8 prohibit prio 200');
  assert.equal(cell('flushes'), 2);
  send(req('8.8.8.8', 123));
  assert.equal(hitsFor(req('8.8.8.8', 123)), 1, 'forwarded past rule 102 and kept');
  change('ip rule del prio 200');
  assert.equal(cell('flushes'), 3);
  send(req('8.8.8.8', 123));
  assert.equal(cell('entries'), 0, 'prohibited again: nothing kept');
  change('ip rule del prio 90');
  send(req('8.8.8.8', 53));

  // The MTU of the output device: the decisions through it.
  const inv1 = cell('invalidations'), kept = cell('entries');
  assert.ok(kept > 0);
  change(`ip link set dev ${QR_DEV} mtu 1400`);
  assert.equal(cell('invalidations'), inv1 + kept);
  assert.equal(cell('entries'), 0);
  send(req('8.8.8.8', 53));
});
