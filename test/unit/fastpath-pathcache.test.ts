// DESIGN.md principle 4 for the whole-path cache (src/datapath/path-cache.ts):
// the seed topology twice, both with the per-element caches on, one with the
// path cache and one without (DPEMU_PATHCACHE=0's switch). Random requests of
// a few flows (so most are path cache hits), their replies, bad checksums,
// TTL expiry, ICMP echoes, TCP connections (established streams with SYNs,
// FINs, RSTs and segments out of the window among them), replies flooded at
// w02's br-int (a copy dropped at its down LOCAL port) and time passing go
// through both, while flows,
// routes, rules, neighbours, iptables rules, conntrack entries, ports, MACs
// and captures change mid-stream; every frame at every edge and every piece
// of state (all counter cells, the element caches' own among them, flow and
// rule counters, conntrack timeouts and counters, neighbour and fdb times,
// OVS port byte corrections, the tunnels' IP ids) must be the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { NodeDatapath } from '../../src/ofproto/datapath-ports.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { LinuxBridge } from '../../src/l2/linux-bridge.js';
import type { BridgePortFlags } from '../../src/l2/bridge-port.js';
import { Underlay } from '../../src/tunnel/underlay.js';
import { iptablesSave } from '../../src/netfilter/index.js';
import type { ManualClock } from '../../src/datapath/clock.js';
import { logEdges } from '../helpers/sink.js';
import { Fabric } from '../../src/tunnel/fabric.js';
import { parseIpv4, parseMacNum } from '../../src/wire/addr.js';
import { ipv4SetChecksum } from '../../src/wire/ipv4.js';
import { checksumsGood, sentChecksumsGood, sentKeyHint } from '../../src/datapath/handoff.js';
import { keyHint, type PathCache, type PathEntry, type PathOp } from '../../src/datapath/path-cache.js';
import type { Port } from '../../src/datapath/element.js';
import { CSUM_HEADERS } from '../../src/datapath/packet.js';
import { mulberry32Unit } from '../../src/datapath/random.js';
import { runCommand, showNeigh } from '../../src/netns/ip-text.js';
import { NUD_SHOW_ALL, parseNeighArgs } from '../../src/netns/ip-neigh-syntax.js';
import { enableLatencySampling } from '../../src/metrics/latency.js';
import { FIP, FIP_VIF_MAC, GW_MAC, QROUTER as QR, QR_MAC, SNAT, SNAT_IP, VM_MAC } from '../helpers/seed-names.js';

interface Side {
  emu: Emulator;
  out: string[];
}

const BE_LIBERAL = 'net.netfilter.nf_conntrack_tcp_be_liberal';

/** `strict`: TCP window tracking's verdicts not be_liberal's (snat's conntrack may ignore or refuse a segment). */
/** `hosts` false: the VM's guest not emulated (its TAP an edge: the replies leave there, as to a real VM). */
function side(pathcache: boolean, strict = false, hosts = true): Side {
  const topo = loadTopologyOrThrow('configs/seed-dvr-snat.yaml');
  if (strict) for (const n of topo.nodes) for (const ns of n.namespaces) if (ns.sysctls[BE_LIBERAL] !== undefined) (ns.sysctls as Record<string, string>)[BE_LIBERAL] = '0';
  const emu = buildEmulator(topo, { emulateHosts: hosts });
  emu.engine.fastpath = true;
  emu.engine.pathcache = pathcache;
  // Nothing answers ARP at eth3: the gateway is a permanent neighbour of fip (CHANGES makes it reachable for a while).
  nsChange(emu, 'w02', FIP, `neigh replace ${GW_IP} dev fip-vif.103 lladdr ${GW_MAC} nud permanent`);
  // The VM's stack knows nothing of the TCP connections the test plays: it must not reset them.
  if (hosts) nsChange(emu, 'vm', 'dpe-vm', 'iptables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP');
  return { emu, out: logEdges(emu) };
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
      s[`${id} port adj`] = el.portList.map((p) => [p.name, p.rxBytesAdj, p.txBytesAdj]);
    } else if (el instanceof NetNamespace) {
      s[`${id} conntrack`] = el.nf.conntrack.list().map((e) => [e.id, e.status, e.mark, e.deadline, JSON.stringify(e.orig), JSON.stringify(e.reply), JSON.stringify(e)]);
      s[`${id} iptables`] = iptablesSave(el.nf.rules, { counters: true });
      s[`${id} neigh`] = showNeigh(el.ns, { states: NUD_SHOW_ALL });
      s[`${id} neigh stats`] = { ...el.ns.neigh.stats };
      s[`${id} neigh used`] = el.ns.neigh.entries().map((n) => [n.used, n.confirmed, n.updated, n.probes, n.state, n.queue.length]);
    } else if (el instanceof LinuxBridge) {
      s[`${id} macs`] = el.showmacs(now);
    } else if (el instanceof Underlay) {
      s[`${id} ip ids`] = (el as unknown as { tunnels: { hdr: { nextIpId: number } }[] }).tunnels.map((t) => t.hdr.nextIpId);
    }
  }
  // Every counter cell but the path cache's own (the element caches' hits and misses too: a hit replays them).
  const st = emu.engine.stats;
  s.counters = st.desc.map((d, i) => (d.name.startsWith('fastpath_path_') ? '' : `${d.name} ${JSON.stringify(d.labels)} ${st.v[i]}`));
  s.consumed = emu.engine.consumed;
  for (const node of ['w07', 'w02']) {
    s[`${node} dpctl show`] = new NodeDatapath(emu.engine.elements.filter((el): el is OvsBridge => el instanceof OvsBridge && el.node === node)).dpctlShow(emu.engine.now, null);
  }
  return s;
}

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
    m = /^iptables (.*)$/s.exec(cmd);
    if (m) {
      el.nf.load(m[1]!);
      return '';
    }
    if (cmd === 'conntrack -F') {
      el.nf.conntrack.flush(now);
      return '';
    }
    return runCommand(el.ns, cmd, now);
  } catch (err) {
    return (err as Error).message;
  }
}

const QR_DEV = 'qr-178fc8e2-fd';
const GW_IP = '10.206.221.193';
const RFP = 'rfp-c4d4b760-4';
const T = 'table 3232235777';
const VMP = 'tap2ab77d0f-99';

/** What changes mid-stream, the same on both sides. */
const CHANGES: ((e: Emulator) => string)[] = [
  (e) => (e.bridge('w07', 'br-int').addFlow('table=0,priority=20,in_port=41,udp,tp_dst=123,actions=drop'), ''),
  (e) => (e.bridge('w07', 'br-int').delFlows('table=0,in_port=41,udp,tp_dst=123'), ''),
  (e) => (e.bridge('w02', 'br-ex').addFlow('priority=50,in_port=5,udp,tp_dst=53,actions=mod_vlan_vid:103,mod_nw_tos:16,output:1'), ''),
  (e) => (e.bridge('w02', 'br-ex').delFlows('in_port=5,udp,tp_dst=53'), ''),
  (e) => (e.bridge('w07', 'br-tun').addFlow('table=1,priority=1,dl_vlan=10,dl_src=fa:16:3e:06:d8:7b,actions=mod_dl_src:fa:16:3f:13:77:c5,mod_nw_tos:20,resubmit(,2)'), ''),
  (e) => (e.bridge('w07', 'br-tun').addFlow('table=1,priority=1,dl_vlan=10,dl_src=fa:16:3e:06:d8:7b,actions=mod_dl_src:fa:16:3f:13:77:c5,resubmit(,2)'), ''),
  (e) => (e.bridge('w07', 'br-int').fdbFlush(), ''),
  (e) => nsChange(e, 'w07', QR, `ip route add 8.8.4.4/32 via 192.168.1.2 dev ${QR_DEV} ${T}`),
  (e) => nsChange(e, 'w07', QR, `ip route del 8.8.4.4/32 ${T}`),
  (e) => nsChange(e, 'w07', QR, 'ip rule add ipproto udp dport 123 prohibit prio 102'),
  (e) => nsChange(e, 'w07', QR, 'ip rule del prio 102'),
  (e) => nsChange(e, 'w07', QR, `neigh replace 192.168.1.6 dev ${QR_DEV} lladdr fa:16:3e:00:00:66 nud permanent`),
  (e) => nsChange(e, 'w07', QR, `neigh replace 192.168.1.6 dev ${QR_DEV} lladdr fa:16:3e:d1:d8:49 nud permanent`),
  (e) => nsChange(e, 'w02', SNAT, `neigh replace 169.254.96.33 dev ${RFP} lladdr 82:99:8f:5a:6b:ec nud stale`),
  (e) => nsChange(e, 'w02', SNAT, `neigh replace 169.254.96.33 dev ${RFP} lladdr 82:99:8f:5a:6b:ec nud reachable`),
  (e) => nsChange(e, 'w02', SNAT, 'ip route add prohibit 8.8.4.4/32'),
  (e) => nsChange(e, 'w02', SNAT, 'ip route del 8.8.4.4/32'),
  (e) => nsChange(e, 'w02', SNAT, 'iptables -I FORWARD -p udp --dport 123 -j DROP'),
  (e) => nsChange(e, 'w02', SNAT, 'iptables -D FORWARD -p udp --dport 123 -j DROP'),
  (e) => nsChange(e, 'w02', SNAT, 'iptables -t mangle -I FORWARD -p udp -j MARK --set-xmark 0x10000/0xffff0000'),
  (e) => nsChange(e, 'w02', SNAT, 'iptables -t mangle -F FORWARD'),
  (e) => nsChange(e, 'w02', SNAT, 'conntrack -F'),
  (e) => nsChange(e, 'w02', FIP, 'ip route add blackhole 8.8.4.4/32'),
  (e) => nsChange(e, 'w02', FIP, 'ip route del 8.8.4.4/32'),
  (e) => nsChange(e, 'w02', FIP, `neigh replace ${GW_IP} dev fip-vif.103 lladdr 02:00:00:00:00:01 nud reachable`),
  (e) => nsChange(e, 'w02', FIP, `neigh replace ${GW_IP} dev fip-vif.103 lladdr ${GW_MAC} nud reachable`),
  (e) => nsChange(e, 'w02', FIP, `neigh replace ${GW_IP} dev fip-vif.103 lladdr ${GW_MAC} nud permanent`),
  (e) => nsChange(e, 'w02', FIP, 'iptables -t raw -I PREROUTING -p udp --dport 5353 -j DROP'),
  (e) => nsChange(e, 'w02', FIP, 'iptables -t raw -D PREROUTING -p udp --dport 5353 -j DROP'),
  // A port on the way down and up again; a capture on one.
  (e) => (e.findPort('w07', 'qvb2ab77d0f-99')!.up = false, ''),
  (e) => (e.findPort('w07', 'qvb2ab77d0f-99')!.up = true, ''),
  (e) => (e.bridge('w02', 'br-int').portList.find((p) => p.type === 'patch')!.port.taps.push(() => {}), ''),
  (e) => (e.bridge('w02', 'br-int').portList.find((p) => p.type === 'patch')!.port.taps.splice(0), ''),
];

/** The snat namespace's sg- port (192.168.1.6). */
const SG_MAC = 'fa:16:3e:d1:d8:49';

const DSTS = ['8.8.4.4', '1.1.1.1'];

/** One random frame: mostly requests of a few flows, some broken, some replies. */
function nextPacket(r: () => number, sports: number[]): { node: string; port: string; frame: Uint8Array } {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const sport = pick(sports);
  const id = Math.floor(r() * 65536);
  const k = r();
  const payload = r() < 0.9 ? 8 : 30;
  const data = Uint8Array.from({ length: payload }, () => Math.floor(r() * 256));
  let spec: FrameSpec;
  if (k < 0.8) {
    const ttl = r() < 0.9 ? 64 : pick([2, 1, 63]);
    const dst = r() < 0.8 ? '8.8.8.8' : pick(DSTS);
    spec = r() < 0.85
      ? { src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst, ttl, id, tos: r() < 0.9 ? 0 : 16 }, udp: { sport, dport: r() < 0.8 ? 53 : pick([123, 5353]), payload: data } }
      : { src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst, ttl, id }, icmp: { id: sport, seq: Math.floor(r() * 3), data } };
    const frame = buildFrame(spec);
    const x = r();
    if (x < 0.03) frame[24]! ^= 0x40; // bad IPv4 header checksum
    else if (x < 0.06) frame[frame.length - 1]! ^= 0x01; // bad UDP or ICMP checksum
    else if (x < 0.09 && frame[23] === 17) frame[40] = frame[41] = 0; // no UDP checksum
    return { node: 'w07', port: VMP, frame };
  }
  if (k < 0.97) {
    spec = { src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id }, udp: { sport: 53, dport: sport, payload: data } };
    return { node: 'w02', port: 'eth3', frame: buildFrame(spec) };
  }
  spec = { src: VM_MAC, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: VM_MAC, spa: '192.168.1.7', tpa: '192.168.1.1' } };
  return { node: 'w07', port: VMP, frame: buildFrame(spec) };
}

/** A TCP connection the generator plays both ends of (client 192.168.1.7 at the VM, server 8.8.8.8:80 behind eth3). */
interface TcpConn {
  cseq: number;
  sseq: number;
  /** 0: the client's SYN next, 1: the server's SYN/ACK next, 2: open (data, ACKs, a FIN or RST now and then). */
  phase: number;
}

const TCP_PAYLOADS = [0, 0, 8, 30, 1200];

/**
 * One random TCP segment or ICMP echo of the flows `sports`: mostly an
 * established stream's data and ACKs both ways (the path cache's hits, its
 * numbers moving), now and then a handshake again, a FIN, an RST, a segment
 * out of the window or with a bad checksum, an echo request or reply.
 */
function nextStream(r: () => number, sports: number[], conns: Map<number, TcpConn>): { node: string; port: string; frame: Uint8Array } {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const sport = pick(sports);
  const id = Math.floor(r() * 65536);
  if (r() < 0.15) {
    const seq = Math.floor(r() * 65536), reply = r() < 0.5;
    const frame = reply
      ? buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id }, icmp: { type: 0, id: sport, seq, data: 16 } })
      : buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id }, icmp: { id: sport, seq, data: 16 } });
    return reply ? { node: 'w02', port: 'eth3', frame } : { node: 'w07', port: VMP, frame };
  }
  let c = conns.get(sport);
  if (c === undefined || (c.phase === 2 && r() < 0.01)) conns.set(sport, (c = { cseq: Math.floor(r() * 2 ** 32), sseq: Math.floor(r() * 2 ** 32), phase: 0 }));
  const fromServer = c.phase === 1 || (c.phase === 2 && r() < 0.45);
  const x = r();
  let flags = r() < 0.5 ? '.' : 'P.';
  let payload = pick(TCP_PAYLOADS);
  let seq = fromServer ? c.sseq : c.cseq;
  const ack = fromServer ? c.cseq : c.sseq;
  if (c.phase < 2) {
    flags = fromServer ? 'S.' : 'S';
    payload = 0;
    c.phase++;
  } else if (x < 0.01) {
    flags = 'F.';
    payload = 0;
  } else if (x < 0.02) {
    flags = r() < 0.5 ? 'R' : 'R.';
    payload = 0;
    c.phase = 0;
  } else if (x < 0.04) {
    seq = (seq + 0x40000000) >>> 0; // out of the window
  }
  const tcp = { sport: fromServer ? 80 : sport, dport: fromServer ? sport : 80, seq, ack: flags === 'S' || flags === 'R' ? 0 : ack, flags, win: 502, payload };
  if (seq === (fromServer ? c.sseq : c.cseq)) {
    const adv = (flags.startsWith('S') || flags === 'F.' ? 1 : 0) + payload;
    if (fromServer) c.sseq = (c.sseq + adv) >>> 0;
    else c.cseq = (c.cseq + adv) >>> 0;
  }
  const frame = fromServer
    ? buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id }, tcp })
    : buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id }, tcp });
  if (r() < 0.02) frame[frame.length - 1]! ^= 0x01; // a bad TCP checksum
  return fromServer ? { node: 'w02', port: 'eth3', frame } : { node: 'w07', port: VMP, frame };
}

/**
 * The VM's frame to the snat's sg- port (192.168.1.6): br-int on w02 learns
 * the VM's MAC from it, so the replies to the VM leave there unicast (else
 * they flood, as OVS floods them, and are not kept).
 */
const VM_TO_SG = buildFrame({ src: VM_MAC, dst: SG_MAC, ip: { src: '192.168.1.7', dst: '192.168.1.6', ttl: 64, id: 7 }, udp: { sport: 7, dport: 9, payload: 8 } });

/** More changes for the tagged replies: br-ex's flows reading and rewriting their tag (VID, PCP), w02 br-int's fdb. */
const TAG_CHANGES: ((e: Emulator) => string)[] = [
  (e) => (e.bridge('w02', 'br-ex').addFlow('priority=60,in_port=1,dl_vlan_pcp=3,actions=drop'), ''),
  (e) => (e.bridge('w02', 'br-ex').addFlow('priority=61,in_port=1,dl_vlan_pcp=3,udp,actions=mod_vlan_vid:105,IN_PORT'), ''), // back out tagged
  (e) => (e.bridge('w02', 'br-ex').addFlow('priority=60,in_port=1,dl_vlan=103,udp,tp_src=53,actions=mod_vlan_pcp:5,NORMAL'), ''),
  (e) => (e.bridge('w02', 'br-ex').addFlow('priority=60,in_port=1,dl_vlan=103,icmp,actions=strip_vlan,output:5'), ''),
  (e) => (e.bridge('w02', 'br-ex').addFlow('priority=60,in_port=1,vlan_tci=0x1068/0x1fff,actions=mod_vlan_vid:103,NORMAL'), ''),
  (e) => (e.bridge('w02', 'br-ex').addFlow('priority=60,in_port=1,dl_vlan=103,tcp,actions=pop_vlan,output:5'), ''),
  (e) => (e.bridge('w02', 'br-ex').delFlows('in_port=1'), ''),
  (e) => (e.bridge('w02', 'br-ex').delFlows('in_port=1'), ''),
  (e) => (e.bridge('w02', 'br-int').fdbFlush(), ''),
];

/**
 * For the flooded replies: br-int's LOCAL port on w02 (down, where a flood's
 * copy is dropped) up and down again, and w02 br-int's fdb flushed (it
 * forgets the VM's MAC: the replies flood again).
 */
const FLOOD_CHANGES: ((e: Emulator) => string)[] = [
  (e) => (e.findPort('w02', 'br-int')!.up = true, ''),
  (e) => (e.findPort('w02', 'br-int')!.up = false, ''),
  (e) => (e.findPort('w02', 'br-int')!.up = false, ''),
  (e) => (e.bridge('w02', 'br-int').fdbFlush(), ''),
];

/** The port_down drops at w02's br-int (a flood's copy to its LOCAL port). */
const floodDrops = (e: Emulator): number => e.engine.stats.sum('drops', { node: 'w02', element: 'br-int', reason: 'port_down' });

/**
 * A tagged reply at eth3 as the switch might send it: mostly VLAN 103 as
 * built, else another PCP, the DEI set, VID 104, or under a second tag
 * (QinQ: 0x88a8 or 0x8100 outside).
 */
function retag(r: () => number, f: Uint8Array): Uint8Array {
  const x = r();
  if (x < 0.7) return f;
  if (x < 0.8) f[14] = (f[14]! & 0x1f) | 0x60; // PCP 3
  else if (x < 0.85) f[14]! |= 0x10; // DEI
  else if (x < 0.93) f[15] = 104;
  else {
    const q = new Uint8Array(f.length + 4);
    q.set(f.subarray(0, 12));
    q.set([x < 0.96 ? 0x88 : 0x81, x < 0.96 ? 0xa8 : 0x00, 0x00, 0x64], 12);
    q.set(f.subarray(12), 16);
    return q;
  }
  return f;
}

/**
 * `streams`: the share of frames from nextStream (TCP and ICMP echo
 * streams). `tagged`: the VM's guest not emulated (the replies, tagged at
 * eth3, reach its TAP), some replies retagged (retag), TAG_CHANGES among the
 * changes, and now and then the VM's frame to the sg- port (VM_TO_SG).
 * `flood` (with `tagged`): VM_TO_SG rarer and not first, FLOOD_CHANGES among
 * the changes, so many replies flood at w02's br-int; `floodHits` counts the
 * reply hits that dropped a flood's copy at its LOCAL port.
 */
function run(seed: number, n: number, churn: number, streams = 0, strict = false, tagged = false, flood = false): { on: Side; off: Side; tcpHits: number; replyHits: number; floodHits: number } {
  const on = side(true, strict, !tagged), off = side(false, strict, !tagged);
  const changes = tagged ? [...CHANGES, ...TAG_CHANGES, ...(flood ? FLOOD_CHANGES : [])] : CHANGES;
  const rt = mulberry32Unit(seed ^ 0x8100);
  const r = mulberry32Unit(seed);
  const sports = [40000, 40007, 40014, 40021, 40028];
  const conns = new Map<number, TcpConn>();
  let tcpHits = 0, replyHits = 0, floodHits = 0;
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < churn) {
      const c = changes[Math.floor(r() * changes.length)]!;
      assert.equal(c(on.emu), c(off.emu));
    } else if (x < churn + 0.006) {
      assert.deepEqual(state(on.emu), state(off.emu), `state before packet ${i}`);
      // Time passes: UDP streams become assured (2 s), conntrack entries expire (30 s), MACs and neighbours age.
      const ms = r() < 0.1 ? 301_000 : r() < 0.4 ? 31_000 : Math.floor(r() * 3000);
      const tick = r() < 0.5;
      for (const s of [on, off]) {
        (s.emu.engine.clock as ManualClock).advance(ms);
        if (tick) s.emu.engine.tick();
      }
    } else if (x < churn + 0.01) {
      sports[Math.floor(r() * sports.length)] = 1024 + Math.floor(r() * 60000);
    }
    const p = streams > 0 && r() < streams ? nextStream(r, sports, conns) : nextPacket(r, sports);
    if (flood && p.frame[12] === 0x08 && p.frame[13] === 0x06) continue; // the VM's broadcast ARP would teach w02 its MAC
    // Nor a frame of the VM's that floods at w07 (its qr- MAC unknown there) to w02 for long: w02 forgets it now and then.
    if (flood && i % 700 === 0) for (const s of [on, off]) s.emu.bridge('w02', 'br-int').fdbFlush();
    if (tagged && p.port === 'eth3') p.frame = retag(rt, p.frame);
    if (tagged && (flood ? churn > 0 && rt() < 0.001 : i === 0 || rt() < 0.01)) for (const s of [on, off]) s.emu.engine.inject(s.emu.engine.pool.allocFrom(VM_TO_SG)!, s.emu.findPort('w07', VMP)!);
    const h = on.emu.engine.path?.hits ?? 0, d = floodDrops(on.emu);
    for (const s of [on, off]) s.emu.engine.inject(s.emu.engine.pool.allocFrom(p.frame)!, s.emu.findPort(p.node, p.port)!);
    const hit = on.emu.engine.path !== null && on.emu.engine.path.hits > h;
    if (p.frame[23] === 6 && hit) tcpHits++;
    if (p.port === 'eth3' && hit) replyHits++;
    if (p.port === 'eth3' && hit && floodDrops(on.emu) > d) floodHits++;
    assert.equal(on.out.length, off.out.length, `packet ${i}: edge frame counts differ`);
  }
  assert.deepEqual(on.out, off.out);
  assert.deepEqual(state(on.emu), state(off.emu));
  return { on, off, tcpHits, replyHits, floodHits };
}

test('the path cache gives the element path\'s frames and state, every change mid-stream', () => {
  const { on, off } = run(0x9a7c, 6000, 0.03);
  const pc = on.emu.engine.path!;
  if (process.env.FP_DEBUG) console.log({ hits: pc.hits, misses: pc.misses, invalidations: pc.invalidations, entries: pc.count });
  assert.equal(off.emu.engine.path, null, 'off: never made');
  assert.ok(pc.hits > 300, `the path cache must be exercised: ${pc.hits} hits, ${pc.misses} misses`);
  assert.ok(pc.invalidations > 0, 'changes must invalidate');
  const st = on.emu.engine.stats;
  assert.equal(st.sum('fastpath_path_hits'), pc.hits);
  assert.equal(st.sum('fastpath_path_entries'), pc.count);
});

test('the path cache under no changes: every request of a flow after its second is a hit', () => {
  const { on } = run(0x51ee, 3000, 0);
  const pc = on.emu.engine.path!;
  assert.ok(pc.hits > 1000, `${pc.hits} hits`);
});

test('TCP and ICMP echo streams mixed in (SYN, FIN, RST, out of the window, bad checksums), every change mid-stream: frames and state as the element path\'s', () => {
  const { on, tcpHits } = run(0x9a7c, 5000, 0.005, 0.6);
  const pc = on.emu.engine.path!;
  if (process.env.FP_DEBUG) console.log({ hits: pc.hits, tcpHits, misses: pc.misses, invalidations: pc.invalidations, entries: pc.count });
  assert.ok(pc.hits > 150 && tcpHits > 50, `${pc.hits} hits (TCP ${tcpHits}), ${pc.misses} misses`);
});

test('TCP and ICMP echo streams under no changes: their segments and requests after a key\'s second are hits', () => {
  const { on, tcpHits } = run(0x7c95, 3000, 0, 0.6);
  const pc = on.emu.engine.path!;
  if (process.env.FP_DEBUG) console.log({ hits: pc.hits, tcpHits, misses: pc.misses, invalidations: pc.invalidations, entries: pc.count });
  assert.ok(pc.hits > 400 && tcpHits > 150, `${pc.hits} hits (TCP ${tcpHits}), ${pc.misses} misses`);
});

test('TCP streams with window tracking strict (be_liberal 0: segments out of the window ignored or INVALID): frames and state as the element path\'s', () => {
  const { on, tcpHits } = run(0x5171, 5000, 0.004, 0.7, true);
  const pc = on.emu.engine.path!;
  if (process.env.FP_DEBUG) console.log({ hits: pc.hits, tcpHits, misses: pc.misses, invalidations: pc.invalidations, entries: pc.count });
  assert.ok(pc.hits > 200 && tcpHits > 30, `${pc.hits} hits (TCP ${tcpHits}), ${pc.misses} misses`);
});

test('tagged replies at eth3 (VLAN 103, another PCP, the DEI, VID 104, QinQ) reaching the VM\'s TAP, br-ex\'s tag flows among the changes mid-stream: frames and state as the element path\'s', () => {
  const { on, replyHits } = run(0x8103, 5000, 0.03, 0.5, false, true);
  const pc = on.emu.engine.path!;
  if (process.env.FP_DEBUG) console.log({ hits: pc.hits, replyHits, misses: pc.misses, invalidations: pc.invalidations, entries: pc.count });
  assert.ok(replyHits > 20, `${replyHits} reply hits, ${pc.hits} hits`);
});

test('tagged replies at eth3 under no changes: UDP, TCP and echo replies after a key\'s second are hits', () => {
  const { on, replyHits } = run(0x0103, 3000, 0, 0.5, false, true);
  const pc = on.emu.engine.path!;
  if (process.env.FP_DEBUG) console.log({ hits: pc.hits, replyHits, misses: pc.misses, invalidations: pc.invalidations, entries: pc.count });
  assert.ok(replyHits > 100, `${replyHits} reply hits, ${pc.hits} hits`);
});

test('flooded replies (w02\'s br-int not knowing the VM\'s MAC, a copy dropped at its LOCAL port), its fdb flushed, LOCAL up and down among the changes mid-stream: frames and state as the element path\'s', () => {
  const { on, replyHits, floodHits } = run(0xf10d, 5000, 0.01, 0.5, false, true, true);
  const pc = on.emu.engine.path!;
  if (process.env.FP_DEBUG) console.log({ hits: pc.hits, replyHits, floodHits, misses: pc.misses, invalidations: pc.invalidations, entries: pc.count});
  assert.ok(floodHits > 20, `${floodHits} flooded reply hits (${replyHits} reply hits, ${pc.hits} hits)`);
});

test('flooded replies under no changes: UDP, TCP and echo replies after a key\'s second are hits, their copies dropped at LOCAL', () => {
  const { on, replyHits, floodHits } = run(0x0f1d, 3000, 0, 0.5, false, true, true);
  const pc = on.emu.engine.path!;
  if (process.env.FP_DEBUG) console.log({ hits: pc.hits, replyHits, floodHits, misses: pc.misses, invalidations: pc.invalidations, entries: pc.count});
  assert.ok(floodHits > 50, `${floodHits} flooded reply hits (${replyHits} reply hits, ${pc.hits} hits)`);
});

/** Both sides (path cache on and off, be_liberal as `strict` says), a frame sent to both, their edges' frames compared. */
function pair(strict = false, hosts = true) {
  const on = side(true, strict, hosts), off = side(false, strict, hosts);
  let id = 1;
  const send = (node: string, port: string, f: Uint8Array): void => {
    for (const s of [on, off]) s.emu.engine.inject(s.emu.engine.pool.allocFrom(f)!, s.emu.findPort(node, port)!);
    assert.deepEqual(on.out, off.out);
  };
  /** A segment of 192.168.1.7:`sport` <-> 8.8.8.8:80, from the VM or (`server`) from eth3 to the SNAT address. */
  const tcp = (server: boolean, sport: number, seq: number, ack: number, flags: string, payload = 0): void => {
    const t = { sport: server ? 80 : sport, dport: server ? sport : 80, seq, ack, flags, win: 502, payload };
    if (server) send('w02', 'eth3', buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id: id++ }, tcp: t }));
    else send('w07', VMP, buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id: id++ }, tcp: t }));
  };
  const snatEntry = (s: Side, sport: number) => s.emu.namespace('w02', SNAT).nf.conntrack.list().find((e) => e.orig.proto === 6 && e.orig.sport === sport)!;
  const same = (what: string) => assert.deepEqual(state(on.emu), state(off.emu), what);
  return { on, off, send, tcp, snatEntry, same, hits: () => on.emu.engine.path?.hits ?? 0 };
}

/** 20 UDP and 20 echo requests from the VM, each answered at eth3 (`udp(id)`'s reply, an echo reply) through `reply`, then 20 TCP segments each way. */
function replyMix(t: ReturnType<typeof pair>, reply: (f: Uint8Array) => void, udp: (id: number) => Uint8Array): void {
  for (let i = 1; i <= 20; i++) {
    t.send('w07', VMP, buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id: i }, udp: { sport: 41000, dport: 53, payload: 8 } }));
    reply(udp(i));
    t.send('w07', VMP, buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id: i }, icmp: { id: 77, seq: i, data: 56 } }));
    reply(buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id: i }, icmp: { type: 0, id: 77, seq: i, data: 56 } }));
  }
  let { c, s } = stream(t, 41001, 1);
  for (let i = 0; i < 20; i++) {
    t.tcp(false, 41001, c, s, 'P.', 1200);
    c += 1200;
    reply(buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id: 100 + i }, tcp: { sport: 80, dport: 41001, seq: s, ack: c, flags: '.', win: 502 } }));
  }
}

/** A handshake, then `n` rounds of 1200 bytes from the client and the server's ACK; the sequence numbers after. */
function stream(t: ReturnType<typeof pair>, sport: number, n: number): { c: number; s: number } {
  let c = 1000, s = 5000;
  t.tcp(false, sport, c++, 0, 'S');
  t.tcp(true, sport, s++, c, 'S.');
  t.tcp(false, sport, c, s, '.');
  for (let i = 0; i < n; i++) {
    t.tcp(false, sport, c, s, 'P.', 1200);
    c += 1200;
    t.tcp(true, sport, s, c, '.');
  }
  return { c, s };
}

test('TCP: an established connection\'s segments are path cache hits, tracked live (window, counters, timeout); a FIN after them gives the element path\'s state', () => {
  const t = pair();
  const h0 = t.hits();
  const { c, s } = stream(t, 41000, 30);
  t.same('after the stream');
  // The client's segments after the first few (the second records; the server's come tagged at eth3: not a cached kind).
  assert.ok(t.hits() - h0 >= 25, `${t.hits() - h0} hits`);
  assert.equal(t.snatEntry(t.on, 41000).tcpState, 3); // ESTABLISHED
  // The unacknowledged data's timeout (300 s) then the established one: the hits chose as tracking does.
  (t.on.emu.engine.clock as ManualClock).advance(1000);
  (t.off.emu.engine.clock as ManualClock).advance(1000);
  t.tcp(false, 41000, c, s, 'P.', 1200);
  t.same('data unacknowledged');
  t.tcp(true, 41000, s, c + 1200, '.');
  t.same('data acknowledged');
  const h1 = t.hits();
  t.tcp(false, 41000, c + 1200, s, 'F.');
  t.same('after the FIN');
  assert.equal(t.snatEntry(t.on, 41000).tcpState, 4); // FIN_WAIT
  // The server's ACK of the FIN has the key of its ACKs served before: now the element path's (CLOSE_WAIT).
  t.tcp(true, 41000, s, c + 1201, '.');
  t.same('after the ACK of the FIN');
  assert.equal(t.snatEntry(t.on, 41000).tcpState, 5); // CLOSE_WAIT
  t.tcp(true, 41000, s, c + 1201, 'F.');
  t.tcp(false, 41000, c + 1201, s + 1, '.');
  t.same('closed');
  assert.equal(t.snatEntry(t.on, 41000).tcpState, 7); // TIME_WAIT
  assert.equal(t.hits(), h1, 'nothing served once the FIN changed the state');
});

test('TCP: an RST after a run of hits gives the element path\'s state (CLOSE), and the segments after it are not served', () => {
  const t = pair();
  const { c, s } = stream(t, 41001, 10);
  const h1 = t.hits();
  assert.ok(h1 >= 7, `${h1} hits`);
  t.tcp(false, 41001, c, s, 'R.');
  t.same('after the RST');
  assert.equal(t.snatEntry(t.on, 41001).tcpState, 8); // CLOSE
  t.tcp(true, 41001, s, c, '.');
  t.tcp(false, 41001, c, s, 'P.', 1200);
  t.same('after the RST, segments of served keys');
  assert.equal(t.hits(), h1);
});

test('TCP with window tracking strict: a segment out of the window between hits is not served (ignored or INVALID as the element path finds it)', () => {
  const t = pair(true);
  const { c, s } = stream(t, 41002, 10);
  const h1 = t.hits();
  assert.ok(h1 >= 7, `${h1} hits`);
  const ct = () => t.on.emu.namespace('w02', SNAT).nf.conntrack;
  const inv0 = ct().stats.invalid;
  // The key of the data served so far, its sequence number far off: tcp_in_window refuses it.
  t.tcp(false, 41002, (c + 0x40000000) >>> 0, s, 'P.', 1200);
  t.same('after a segment out of the window');
  assert.equal(t.hits(), h1, 'not served');
  assert.equal(ct().stats.invalid, inv0 + 1, 'INVALID, as tracking found it');
  // In the window again: its key (whose entry it removed, and whose recording it failed) records again, then serves.
  for (let i = 0; i < 4; i++) {
    t.tcp(false, 41002, c + i * 1200, s, 'P.', 1200);
    t.tcp(true, 41002, s, c + (i + 1) * 1200, '.');
  }
  t.same('in the window again');
  assert.ok(t.hits() > h1, 'served again');
});

test('one engine: the tagged replies at eth3 (UDP, echo, TCP ACKs) are path cache hits to the VM\'s TAP, popped as the element path pops them; under two tags (QinQ) they are not', () => {
  const t = pair(false, false);
  t.send('w07', VMP, VM_TO_SG); // w02's br-int learns the VM's MAC
  let replyHits = 0;
  const reply = (f: Uint8Array): void => {
    const h = t.hits();
    t.send('w02', 'eth3', f);
    replyHits += t.hits() - h;
  };
  const rep = (id: number, vlans: FrameSpec['vlans']) => buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans, ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id }, udp: { sport: 53, dport: 41000, payload: 8 } });
  replyMix(t, reply, (i) => rep(i, [103]));
  // Another PCP, then the DEI set: keys of their own (the whole TCI is keyed), served from their second on too.
  for (let i = 0; i < 10; i++) reply(rep(400 + i, [{ vid: 103, pcp: 5 }]));
  for (let i = 0; i < 10; i++) reply(rep(500 + i, [{ vid: 103, dei: 1 }]));
  t.same('after the tagged replies');
  assert.ok(replyHits >= 65, `${replyHits} reply hits`);
  // The reply as it reaches the VM: untagged (br-ex's access port popped VLAN 103), 4 bytes shorter than at eth3.
  assert.match(t.on.out[t.on.out.length - 1]!, /^w07:tap2ab77d0f-99 fa163eb2efaffa163ed1d8490800/);
  // Tagged out again (br-ex's flow rewrites the VID and sends the frame back out of eth3): the TCI as the flow writes it.
  for (const s of [t.on, t.off]) s.emu.bridge('w02', 'br-ex').addFlow('priority=60,in_port=1,dl_vlan=103,udp,actions=mod_vlan_vid:105,IN_PORT');
  const h1 = t.hits();
  for (let i = 0; i < 6; i++) t.send('w02', 'eth3', rep(600 + i, [{ vid: 103, pcp: 2 }]));
  assert.ok(t.hits() - h1 >= 4, `${t.hits() - h1} hits tagged out`);
  assert.match(t.on.out[t.on.out.length - 1]!, /^w02:eth3 fa173ef7cdbc5cc99960d2718100406908004500/);
  for (const s of [t.on, t.off]) s.emu.bridge('w02', 'br-ex').delFlows('in_port=1');
  // QinQ: an 802.1ad or a second 802.1Q tag outside VLAN 103 is not a cached kind.
  const h = t.hits();
  for (let i = 0; i < 6; i++) {
    t.send('w02', 'eth3', rep(200 + i, [{ vid: 100, tpid: 0x88a8 }, 103]));
    t.send('w02', 'eth3', rep(300 + i, [100, 103]));
  }
  assert.equal(t.hits(), h, 'no QinQ hits');
  t.same('after the QinQ frames');
});

/**
 * w02's br-int before it knows the VM's MAC (the VM's frames reach w02
 * routed, from the DVR MAC): NORMAL floods a reply to patch-tun and to
 * br-int's LOCAL port, which is down (dropped there: port_down), as OVS
 * floods an unknown destination. The flood's entry serves the replies, each
 * hit counting the LOCAL copy's drop; the VM's MAC learned then stops it.
 */
test('one engine: flooded replies (w02\'s br-int not knowing the VM\'s MAC: a copy to patch-tun, one dropped at its down LOCAL port) are path cache hits; learning the MAC stops the flood\'s entry', () => {
  const t = pair(false, false);
  const local = t.on.emu.findPort('w02', 'br-int')!;
  assert.equal(local.up, false, 'br-int\'s LOCAL port down, as on the write-up\'s nodes');
  let replyHits = 0;
  const reply = (f: Uint8Array): void => {
    const h = t.hits();
    t.send('w02', 'eth3', f);
    replyHits += t.hits() - h;
  };
  const udp = (id: number) => buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id }, udp: { sport: 53, dport: 41000, payload: 8 } });
  const drops = () => t.on.emu.engine.stats.sum('drops', { node: 'w02', element: 'br-int', reason: 'port_down' });
  replyMix(t, reply, udp);
  t.same('after the flooded replies');
  if (process.env.FP_DEBUG) console.log({ replyHits, drops: drops() });
  assert.ok(replyHits >= 50, `${replyHits} reply hits`);
  assert.ok(drops() >= 60, `${drops()} copies dropped at br-int's LOCAL port`);
  assert.equal(t.on.emu.bridge('w02', 'br-int').fdbShow().includes('fa:16:3e:b2:ef:af'), false, 'still flooding');
  // The VM's MAC learned on w02's br-int: its replies go to patch-tun alone, no longer served by the flood's entry.
  t.send('w07', VMP, VM_TO_SG);
  const d0 = drops(), h0 = t.hits();
  reply(udp(300));
  assert.equal(t.hits(), h0, 'the flood\'s entry is dead');
  for (let i = 0; i < 5; i++) reply(udp(301 + i));
  assert.equal(drops(), d0, 'no copy to LOCAL once the MAC is known');
  assert.ok(t.hits() - h0 >= 3, 'the unicast path served in turn');
  // br-int's LOCAL port up: the flood's copy would leave there (no carrier), so the flood's entry must not serve.
  for (const side of [t.on, t.off]) side.emu.bridge('w02', 'br-int').fdbFlush();
  const hf = t.hits();
  for (let i = 0; i < 8; i++) reply(udp(400 + i));
  const h1 = t.hits();
  assert.ok(h1 - hf >= 3, `${h1 - hf} flooded hits again after the fdb's flush`);
  for (const side of [t.on, t.off]) side.emu.findPort('w02', 'br-int')!.up = true;
  for (let i = 0; i < 4; i++) reply(udp(500 + i));
  assert.equal(t.hits(), h1, 'not served with LOCAL up');
  t.same('after LOCAL went up');
  // Down again, and no slot left for the flood's copy: the element path counts no_buffer, so no hit serves it.
  for (const side of [t.on, t.off]) side.emu.findPort('w02', 'br-int')!.up = false;
  for (let i = 0; i < 8; i++) reply(udp(600 + i));
  const h2 = t.hits();
  assert.ok(h2 > h1, 'served again with LOCAL down');
  const held = [t.on, t.off].map((side) => {
    const pool = side.emu.engine.pool, ps = [];
    while (pool.available > 1) ps.push(pool.alloc()!);
    return ps;
  });
  reply(udp(700));
  assert.equal(t.hits(), h2, 'not served without a slot for the copy');
  [t.on, t.off].forEach((side, i) => held[i]!.forEach((p) => side.emu.engine.pool.free(p)));
  reply(udp(701));
  assert.equal(t.hits(), h2 + 1);
  t.same('after the pool ran dry');
});

test('ICMP echo: a ping stream (its sequence numbers moving) is served, frames and checksums as the element path\'s', () => {
  const t = pair();
  const h0 = t.hits();
  for (let seq = 1; seq <= 20; seq++) {
    t.send('w07', VMP, buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id: seq }, icmp: { id: 77, seq, data: 56 } }));
    t.send('w02', 'eth3', buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id: seq }, icmp: { type: 0, id: 77, seq, data: 56 } }));
  }
  t.same('after the pings');
  // Requests from the few first on (the replies come tagged at eth3: not a cached kind).
  assert.ok(t.hits() - h0 >= 15, `${t.hits() - h0} hits`);
});

/** A UDP flow's request from the VM (source port `sport`) to 8.8.8.8, and the reply to it as it arrives at w02's eth3 (to snat's address). */
function udpFlow(sport: number): { req: Uint8Array; rep: Uint8Array } {
  return {
    req: buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id: 7 }, udp: { sport, dport: 53, payload: 8 } }),
    rep: buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id: 9 }, udp: { sport: 53, dport: sport, payload: 8 } }),
  };
}

test('time passing between hits: each hit refreshes what its element path would (fdb entries, neighbours in DELAY, conntrack)', () => {
  const on = side(true), off = side(false);
  const { req, rep } = udpFlow(41000);
  const send = (f: Uint8Array, node: string, port: string) => {
    for (const s of [on, off]) s.emu.engine.inject(s.emu.engine.pool.allocFrom(f)!, s.emu.findPort(node, port)!);
  };
  const step = (ms: number) => {
    for (const s of [on, off]) (s.emu.engine.clock as ManualClock).advance(ms);
  };
  send(req, 'w07', VMP);
  send(rep, 'w02', 'eth3');
  for (let i = 0; i < 3; i++) send(req, 'w07', VMP);
  const h0 = on.emu.engine.path!.hits;
  for (let i = 0; i < 12; i++) {
    // The snat router's next hop goes to DELAY now and then (its timers do not run: no tick).
    if (i % 4 === 0) for (const s of [on, off]) nsChange(s.emu, 'w02', SNAT, `neigh replace 169.254.96.33 dev ${RFP} lladdr 82:99:8f:5a:6b:ec nud delay`);
    step(1700);
    send(req, 'w07', VMP);
    assert.deepEqual(on.out, off.out);
    assert.deepEqual(state(on.emu), state(off.emu), `after hit ${i}`);
  }
  assert.ok(on.emu.engine.path!.hits - h0 >= 8, `${on.emu.engine.path!.hits - h0} hits`);
});

test('a qbr port\'s settings changed between hits (bridge link set: learning, isolated, port states): a cached flow goes, stops and refreshes as the element path', () => {
  const on = side(true), off = side(false);
  const { req, rep } = udpFlow(41100);
  const send = (f: Uint8Array, node: string, port: string) => {
    for (const s of [on, off]) s.emu.engine.inject(s.emu.engine.pool.allocFrom(f)!, s.emu.findPort(node, port)!);
  };
  const set = (port: string, change: Partial<BridgePortFlags>) => {
    for (const s of [on, off]) (s.emu.engine.element('w07', 'qbr2ab77d0f-99') as LinuxBridge).setPortFlags(s.emu.findPort('w07', port)!, change);
  };
  send(req, 'w07', VMP);
  send(rep, 'w02', 'eth3');
  for (let i = 0; i < 3; i++) send(req, 'w07', VMP);
  const QVB = 'qvb2ab77d0f-99';
  const steps: [string, Partial<BridgePortFlags>][] = [
    [VMP, { learning: false }],
    [VMP, { isolated: true }],
    [QVB, { isolated: true }],
    [VMP, { isolated: false }],
    [VMP, { state: 2 }],
    [VMP, { state: 1 }],
    [VMP, { state: 3 }],
    [QVB, { state: 0 }],
    [QVB, { state: 3, isolated: false }],
    [VMP, { learning: true }],
  ];
  const h0 = on.emu.engine.path!.hits;
  let dropped = 0;
  for (const [port, change] of steps) {
    set(port, change);
    for (let i = 0; i < 3; i++) {
      for (const s of [on, off]) (s.emu.engine.clock as ManualClock).advance(1700);
      const n = on.out.length;
      send(req, 'w07', VMP);
      if (on.out.length === n) dropped++;
      assert.deepEqual(on.out, off.out, `${port} ${JSON.stringify(change)}`);
      assert.deepEqual(state(on.emu), state(off.emu), `${port} ${JSON.stringify(change)}`);
    }
  }
  // Not vacuous: the isolated ports and the states dropped the flow, the others let it go by hits.
  assert.equal(dropped, 12);
  assert.ok(on.emu.engine.path!.hits - h0 >= 4, `${on.emu.engine.path!.hits - h0} hits`);
});

/**
 * Batches (Engine.beginBatch) as workers run them, both sides with the path
 * cache: `ref` moves its generation before every frame, so each of its hits
 * checks its shape in full; `on` checks a shape once for a batch's run of
 * hits at one generation and `now`: the two must decide every hit and miss
 * alike. Each change of CHANGES comes between two batches of a fresh flow's
 * requests and replies; then, within a batch of its requests, a frame from
 * the VM's MAC at the Linux bridge's other port, its second (it records: the
 * element path runs mid-batch and moves the MAC, which the batch's earlier
 * hits' shape holds).
 */
test('in batches: a shape checked once for a batch\'s hits gives what checking every hit gives, each change between batches and a recording within', () => {
  const on = side(true), ref = side(true);
  const vm = (sport: number, id: number) => buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id }, udp: { sport, dport: 53, payload: 8 } });
  const gw = (sport: number, id: number) => buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id }, udp: { sport: 53, dport: sport, payload: 8 } });
  let id = 0;
  const send = (frames: [string, string, Uint8Array][], batched: boolean, what: string) => {
    if (batched) for (const s of [on, ref]) s.emu.engine.beginBatch();
    try {
      for (const [node, port, f] of frames) {
        ref.emu.engine.stateChanged();
        for (const s of [on, ref]) s.emu.engine.inject(s.emu.engine.pool.allocFrom(f)!, s.emu.findPort(node, port)!);
      }
    } finally {
      if (batched) for (const s of [on, ref]) s.emu.engine.endBatch();
    }
    const pcs = [on, ref].map((s) => s.emu.engine.path!).map((pc) => [pc.hits, pc.misses, pc.invalidations, pc.count]);
    assert.deepEqual(pcs[0], pcs[1], `${what}: path cache hits, misses, invalidations, entries`);
    assert.deepEqual(on.out, ref.out, what);
    assert.deepEqual(state(on.emu), state(ref.emu), what);
  };
  const flow = (sport: number): [string, string, Uint8Array][] =>
    [...[0, 1, 2].map((): [string, string, Uint8Array] => ['w07', VMP, vm(sport, id++)]), ['w02', 'eth3', gw(sport, id++)], ['w02', 'eth3', gw(sport, id++)], ['w07', VMP, vm(sport, id++)]];
  CHANGES.forEach((c, i) => {
    const sport = 41000 + i;
    send([['w07', VMP, vm(sport, id++)], ['w02', 'eth3', gw(sport, id++)], ['w07', VMP, vm(sport, id++)], ['w02', 'eth3', gw(sport, id++)]], false, `flow ${i}`);
    send(flow(sport), true, `before change ${i}`);
    assert.equal(c(on.emu), c(ref.emu));
    send(flow(sport), true, `after change ${i}`);
    const mover = vm(50000 + i, 1), req = (): [string, string, Uint8Array] => ['w07', VMP, vm(sport, id++)];
    send([['w07', 'qvb2ab77d0f-99', mover], req(), req(), req()], false, `mover seen ${i}`);
    send([req(), req(), ['w07', 'qvb2ab77d0f-99', mover], req(), req()], true, `mover ${i}`);
  });
  const pc = on.emu.engine.path!;
  if (process.env.FP_DEBUG) console.log({ hits: pc.hits, misses: pc.misses, invalidations: pc.invalidations, entries: pc.count });
  assert.ok(pc.hits > 100, `the path cache must be exercised: ${pc.hits} hits, ${pc.misses} misses`);
});

test('latency sampling on: a batch of a cached flow is served whole by the path cache, its sampled injects timed as pipeline latency', () => {
  const on = side(true);
  const eng = on.emu.engine;
  const { req, rep } = udpFlow(41000);
  eng.inject(eng.pool.allocFrom(req)!, on.emu.findPort('w07', VMP)!);
  eng.inject(eng.pool.allocFrom(rep)!, on.emu.findPort('w02', 'eth3')!);
  eng.inject(eng.pool.allocFrom(req)!, on.emu.findPort('w07', VMP)!); // recorded
  assert.equal(eng.path!.count, 1);
  enableLatencySampling(eng, 16); // a sampled hop would fall inside most packets' 13
  const pipelineSamples = () => eng.stats.sum('pipeline_latency_bucket');
  const h0 = eng.path!.hits, s0 = pipelineSamples(), out0 = on.out.length;
  eng.beginBatch();
  try {
    for (let i = 0; i < 64; i++) eng.inject(eng.pool.allocFrom(req)!, on.emu.findPort('w07', VMP)!);
  } finally {
    eng.endBatch();
  }
  assert.equal(on.out.length - out0, 64);
  assert.equal(eng.path!.hits - h0, 64);
  assert.equal(pipelineSamples() - s0, 4);
});

// ---- partitioned as the datapath workers run it (src/workers/datapath-worker.ts) ----

interface Parts {
  a: Emulator; // w07
  b: Emulator; // w02
  /** Every frame at an edge or a hand-off, in order (hops with a hand-off's: the tag carries them). */
  out: string[];
  /** Dispatches a change to the emulator owning its node. */
  facade: Emulator;
  inject(node: string, port: string, frame: Uint8Array): void;
  /** `node`'s NIC, where the fabric delivers (and the hand-off injects). */
  nic(node: string): Port;
  /** The key hint a hand-off sends is the frame's own (a test that plants a wrong one in an entry clears it). */
  exactHints: boolean;
}

/**
 * The seed in two engines joined at the fabric as two workers join them:
 * the other node's fabric side is an edge port whose frame, hops and the
 * sender's checksum verdict (checksumsGood, Packet.csumGood) carried, is
 * injected at the owning engine's NIC (after the inject that sent it).
 * `hints`: the sender's key hint (keyHint, Packet.keyHint) carried too, the
 * receiver's entry warmed by it first as a worker's drain does ('wrong':
 * every other frame's hint with one bit flipped, a bit of its own; 'none':
 * no hint).
 */
function parts(pathcache: boolean, emulateHosts = true, hints: 'right' | 'wrong' | 'none' = 'right'): Parts {
  const topo = loadTopologyOrThrow('configs/seed-dvr-snat.yaml');
  const a = buildEmulator(topo, { emulateHosts, nodes: ['w07'] }), b = buildEmulator(topo, { emulateHosts, nodes: ['w02'] });
  const owner = (node: string): Emulator => (node === 'w07' ? a : b);
  const out: string[] = [];
  const self = { exactHints: true } as Parts;
  const queue: { to: Emulator; side: string; frame: Uint8Array; hops: number; good: number; hint: number }[] = [];
  let sent = 0;
  for (const emu of [a, b]) {
    emu.engine.fastpath = true;
    emu.engine.pathcache = pathcache;
    const fab = emu.engine.elements.find((e): e is Fabric => e instanceof Fabric)!;
    for (const s of topo.fabric!.sides) {
      if (owner(s.node) === emu) continue;
      const port = emu.engine.addPort(fab, s.port);
      fab.attach(port, parseMacNum(s.mac)!, parseIpv4(s.nicIp)!, parseMacNum(s.nicMac)!);
      emu.engine.attachEdge(port, {
        emit: (pkt) => {
          const frame = pkt.bytes();
          out.push(`handoff ${s.port} hops ${pkt.hops} ${Buffer.from(frame).toString('hex')}`);
          // What a worker's hand-off sends (a hit's frame comes with both): as computing them from the frame gives.
          const good = sentChecksumsGood(pkt) ? 1 : 0, sentHint = sentKeyHint(pkt);
          assert.equal(good, checksumsGood(pkt.buf, pkt.off, pkt.len) ? 1 : 0, 'the checksum verdict sent');
          if (self.exactHints) assert.equal(sentHint, keyHint(pkt.buf, pkt.off, pkt.len), 'the key hint sent');
          const hint = hints === 'none' ? -1 : sentHint;
          queue.push({ to: owner(s.node), side: s.port, frame, hops: pkt.hops, good, hint: hints === 'wrong' && hint >= 0 && (sent++ & 1) === 0 ? hint ^ (1 << (sent % 30)) : hint });
        },
      });
    }
    for (const e of topo.edges) {
      const p = emu.engine.element(e.port.node, e.port.element)?.port(e.port.port);
      if (p && !p.peer && !p.edge) emu.engine.attachEdge(p, { emit: (pkt, port) => out.push(`${port.element.node}:${port.name} ${Buffer.from(pkt.bytes()).toString('hex')}`) });
    }
  }
  nsChange(b, 'w02', FIP, `neigh replace ${GW_IP} dev fip-vif.103 lladdr ${GW_MAC} nud permanent`);
  if (emulateHosts) nsChange(a, 'vm', 'dpe-vm', 'iptables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP'); // as side()
  const facade = {
    bridge: (n: string, x: string) => owner(n).bridge(n, x),
    namespace: (n: string, x: string) => owner(n).namespace(n, x),
    findPort: (n: string, x: string) => owner(n).findPort(n, x),
    engine: a.engine,
  } as unknown as Emulator;
  const send = (to: Emulator, port: Port, frame: Uint8Array, hops: number, good: number, hint = -1) => {
    const pkt = to.engine.pool.allocFrom(frame)!;
    pkt.hops = hops;
    pkt.csumGood = good;
    pkt.keyHint = hint;
    const pc = to.engine.path;
    if (hint >= 0 && pc !== null) {
      pc.warmSlot(hint, port);
      pc.warmEntries();
    }
    to.engine.inject(pkt, port);
  };
  const inject = (node: string, port: string, frame: Uint8Array) => {
    send(owner(node), owner(node).findPort(node, port)!, frame, 0, 0);
    while (queue.length) {
      const q = queue.shift()!;
      const fab = q.to.engine.elements.find((e): e is Fabric => e instanceof Fabric)!;
      send(q.to, fab.port(q.side)!.peer!, q.frame, q.hops, q.good, q.hint);
    }
  };
  const nic = (node: string): Port => {
    const side = topo.fabric!.sides.find((x) => x.node === node)!;
    return owner(node).engine.elements.find((e): e is Fabric => e instanceof Fabric)!.port(side.port)!.peer!;
  };
  Object.assign(self, { a, b, out, facade, inject, nic });
  return self;
}

function partState(p: Parts): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state(p.a))) s[`A ${k}`] = v;
  for (const [k, v] of Object.entries(state(p.b))) s[`B ${k}`] = v;
  return s;
}

function runParts(seed: number, n: number, churn: number, streams = 0, emulateHosts = true, hints: 'right' | 'wrong' | 'none' = 'right'): { on: Parts; off: Parts; replyHits: number; floodHits: number } {
  const on = parts(true, emulateHosts, hints), off = parts(false, emulateHosts);
  const r = mulberry32Unit(seed);
  const sports = [40000, 40007, 40014, 40021, 40028];
  const conns = new Map<number, TcpConn>();
  let replyHits = 0, floodHits = 0;
  for (let i = 0; i < n; i++) {
    const x = r();
    if (x < churn) {
      const c = CHANGES[Math.floor(r() * CHANGES.length)]!;
      assert.equal(c(on.facade), c(off.facade));
    } else if (x < churn + 0.006) {
      assert.deepEqual(partState(on), partState(off), `state before packet ${i}`);
      const ms = r() < 0.1 ? 301_000 : r() < 0.4 ? 31_000 : Math.floor(r() * 3000);
      const tick = r() < 0.5;
      for (const s of [on.a, on.b, off.a, off.b]) {
        (s.engine.clock as ManualClock).advance(ms);
        if (tick) s.engine.tick();
      }
    } else if (x < churn + 0.01) {
      sports[Math.floor(r() * sports.length)] = 1024 + Math.floor(r() * 60000);
    }
    const p = streams > 0 && r() < streams ? nextStream(r, sports, conns) : nextPacket(r, sports);
    const h = on.a.engine.path?.hits ?? 0, hb = on.b.engine.path?.hits ?? 0, d = floodDrops(on.b);
    on.inject(p.node, p.port, p.frame);
    if (p.node === 'w02') replyHits += (on.a.engine.path?.hits ?? 0) - h; // w07's part of a reply
    if (p.node === 'w02' && (on.b.engine.path?.hits ?? 0) > hb && floodDrops(on.b) > d) floodHits++; // w02's, flooded at its br-int
    off.inject(p.node, p.port, p.frame);
    assert.equal(on.out.length, off.out.length, `packet ${i}: edge frame counts differ`);
    assert.equal(on.out[on.out.length - 1], off.out[off.out.length - 1], `packet ${i}: last edge frame`);
  }
  assert.deepEqual(on.out, off.out);
  assert.deepEqual(partState(on), partState(off));
  return { on, off, replyHits, floodHits };
}

test('partitioned as two workers (w07 | fabric | w02), every change mid-stream: frames at every edge and hand-off (outer IP ids too) and state as the element path\'s', () => {
  const { on } = runParts(0x2b07, 5000, 0.02);
  const pa = on.a.engine.path!, pb = on.b.engine.path!;
  if (process.env.FP_DEBUG) console.log({ w07: [pa.hits, pa.misses, pa.count], w02: [pb.hits, pb.misses, pb.count] });
  assert.ok(pa.hits > 50 && pb.hits > 200, `w07: ${pa.hits} hits, w02: ${pb.hits}`);
});

test('partitioned under no changes: w07\'s requests hit to the hand-off, encapsulated, and w02\'s from its VXLAN frame (and the replies back)', () => {
  const { on } = runParts(0x51ee, 3000, 0);
  const pa = on.a.engine.path!, pb = on.b.engine.path!;
  if (process.env.FP_DEBUG) console.log({ w07: [pa.hits, pa.misses, pa.count], w02: [pb.hits, pb.misses, pb.count] });
  // Requests are 80 % of the frames (2400), replies 17 %: each worker serves many.
  assert.ok(pa.hits > 500, `w07: ${pa.hits} hits, ${pa.misses} misses`);
  assert.ok(pb.hits > 900, `w02: ${pb.hits} hits, ${pb.misses} misses`);
});

test('partitioned, TCP and ICMP echo streams mixed in: w02 serves the client\'s segments from their VXLAN frames, tracked live', () => {
  const { on } = runParts(0x7c95, 3000, 0.003, 0.7);
  const pa = on.a.engine.path!, pb = on.b.engine.path!;
  if (process.env.FP_DEBUG) console.log({ w07: [pa.hits, pa.misses, pa.count], w02: [pb.hits, pb.misses, pb.count] });
  assert.ok(pa.hits > 400 && pb.hits > 100, `w07: ${pa.hits} hits, w02: ${pb.hits}`);
});

test('partitioned, the VM\'s TAP an edge (replies leave there: br-tun\'s learn() and br-int\'s NORMAL on the path), every change mid-stream: frames, learned flows, fdb and conntrack as the element path\'s', () => {
  const { on, replyHits, floodHits } = runParts(0x4e7a, 5000, 0.02, 0.4, false);
  const pa = on.a.engine.path!;
  if (process.env.FP_DEBUG) console.log({ w07: [pa.hits, pa.misses, pa.count], replyHits, floodHits });
  assert.ok(replyHits > 50, `w07: ${replyHits} of its ${pa.hits} hits replies`);
  // w02's br-int floods them (it never learns the VM's MAC here): w02's part served all the same, to the hand-off.
  assert.ok(floodHits > 10, `w02: ${floodHits} flooded replies served`);
});

test('partitioned: a VXLAN frame differing from a served one only in its outer header (VNI, source address, MACs, TTL) is not served by its entry', () => {
  const on = parts(true), off = parts(false);
  const { req, rep } = udpFlow(41000);
  for (const s of [on, off]) {
    s.inject('w07', VMP, req);
    s.inject('w02', 'eth3', rep);
  }
  for (let i = 0; i < 6; i++) for (const s of [on, off]) s.inject('w07', VMP, req);
  assert.ok(on.a.engine.path!.hits >= 1 && on.b.engine.path!.hits >= 1, `both parts served: ${on.a.engine.path!.hits}, ${on.b.engine.path!.hits}`);
  const last = on.out.filter((l) => l.startsWith('handoff')).pop()!;
  const vx = Uint8Array.from(Buffer.from(last.split(' ').pop()!, 'hex'));
  const variants: [string, (f: Uint8Array) => void][] = [
    ['outer source', (f) => (f[29]! ^= 1)],
    ['outer destination MAC', (f) => (f[5]! ^= 1)],
    ['vni', (f) => (f[48]! ^= 1)],
    ['outer TTL 1 more', (f) => (f[22]! += 1)],
  ];
  for (const [what, change] of variants) {
    const f = vx.slice();
    change(f);
    ipv4SetChecksum(f, 14);
    for (const s of [on, off]) {
      for (let i = 0; i < 3; i++) s.b.engine.inject(s.b.engine.pool.allocFrom(f)!, s.nic('w02'));
    }
    assert.deepEqual(on.out, off.out, what);
    assert.deepEqual(partState(on), partState(off), what);
    for (let i = 0; i < 4; i++) for (const s of [on, off]) s.inject('w07', VMP, req); // the entry served again
  }
});

/** A UDP flow's request and reply through two workers, then requests w02 serves: its path cache and the last hand-off's VXLAN frame. */
function handedOff(sport: number): { on: Parts; pb: PathCache; vx: Uint8Array } {
  const on = parts(true);
  const { req, rep } = udpFlow(sport);
  on.inject('w07', VMP, req);
  on.inject('w02', 'eth3', rep);
  for (let i = 0; i < 4; i++) on.inject('w07', VMP, req);
  const pb = on.b.engine.path!;
  assert.ok(pb.hits >= 1, `w02 served its VXLAN frames: ${pb.hits}`);
  const last = on.out.filter((l) => l.startsWith('handoff')).pop()!;
  const vx = Uint8Array.from(Buffer.from(last.split(' ').pop()!, 'hex'));
  return { on, pb, vx };
}

test('partitioned: the sender\'s checksum verdict (Packet.csumGood) stands for the hit\'s checks; without it a bad inner UDP checksum keeps the frame from its entry', () => {
  const { on, pb, vx } = handedOff(41001);
  assert.ok(checksumsGood(vx, 0, vx.length), 'the hand-off\'s frame has good checksums');
  const bad = vx.slice();
  bad[bad.length - 1]! ^= 1; // the inner UDP checksum no longer adds up
  assert.ok(!checksumsGood(bad, 0, bad.length));
  const at = (good: number): number => {
    const h = pb.hits;
    const pkt = on.b.engine.pool.allocFrom(bad)!;
    pkt.csumGood = good;
    on.b.engine.inject(pkt, on.nic('w02'));
    return pb.hits - h;
  };
  assert.equal(at(0), 0, 'checked on the hit: not served');
  assert.equal(at(1), 1, 'the verdict trusted: served without checking');
});

test('partitioned: the sender\'s key hints (keyHint, Packet.keyHint), right, wrong or none, every change mid-stream: frames and state as the element path\'s, and the same hits and misses', () => {
  const counts = (['right', 'wrong', 'none'] as const).map((hints) => {
    const { on } = runParts(0x9a11, 3000, 0.003, 0.3, true, hints);
    return [on.a.engine.path!.hits, on.a.engine.path!.misses, on.b.engine.path!.hits, on.b.engine.path!.misses, on.b.engine.path!.invalidations];
  });
  if (process.env.FP_DEBUG) console.log(counts);
  assert.ok(counts[0]![2]! > 100, `w02 served: ${counts[0]}`);
  assert.deepEqual(counts[1], counts[0], 'a wrong hint costs a second probe, not a hit');
  assert.deepEqual(counts[2], counts[0]);
});

test('partitioned: w07\'s hit hands its frame off with its entry\'s key hint and its checksums\' verdict (nothing computed at the hand-off); a wrong hint in the entry costs w02 a probe, not its output', () => {
  const on = parts(true), off = parts(false);
  const { req, rep } = udpFlow(41003);
  for (const s of [on, off]) {
    s.inject('w07', VMP, req);
    s.inject('w02', 'eth3', rep);
    for (let i = 0; i < 4; i++) s.inject('w07', VMP, req);
  }
  const pa = on.a.engine.path!, pb = on.b.engine.path!, vmp = on.a.findPort('w07', VMP)!;
  assert.ok(pa.hits >= 1 && pb.hits >= 1, `both parts served: ${pa.hits}, ${pb.hits}`);
  const e = pa.lookup(on.a.engine.pool.allocFrom(req)!, vmp, on.a.engine.now, -1)!;
  assert.ok(e !== null, 'w07\'s entry');
  // The frame as the hit hands it off: the hint and verdict already on it (sentKeyHint and sentChecksumsGood compute nothing).
  const side = on.a.engine.elements.find((x): x is Fabric => x instanceof Fabric)!.ports.find((p) => p.edge !== null)!;
  const sink = side.edge!;
  let seen: [number, number, string] | null = null;
  side.edge = { emit: (pkt, port) => {
    seen = [pkt.keyHint, pkt.csumGood, Buffer.from(pkt.bytes()).toString('hex')];
    sink.emit(pkt, port);
  } };
  const h = pa.hits;
  on.inject('w07', VMP, req);
  off.inject('w07', VMP, req);
  assert.equal(pa.hits - h, 1, 'a hit');
  const [hint, good, hex] = seen!;
  const vx = Uint8Array.from(Buffer.from(hex, 'hex'));
  assert.ok(hint >= 0 && hint === keyHint(vx, 0, vx.length), `the entry's hint on the frame: ${hint}`);
  assert.equal(good, CSUM_HEADERS, 'its verdict on the frame: the IPv4 headers good (w07 checks no L4 checksum)');
  assert.ok(checksumsGood(vx, 0, vx.length));
  assert.equal(e.outHint, hint);
  // A wrong hint kept in the entry: w02 looks again by the frame's own hash and serves it, as the element path does.
  e.outHint = hint ^ 0x155;
  on.exactHints = false;
  for (let i = 0; i < 3; i++) {
    const hb = pb.hits;
    on.inject('w07', VMP, req);
    off.inject('w07', VMP, req);
    assert.equal(pb.hits - hb, 1, 'w02 served it');
  }
  assert.deepEqual(on.out, off.out);
  assert.deepEqual(partState(on), partState(off));
});

test('partitioned: a hand-off\'s key hint finds the receiver\'s entry (warmEntries reads it), one of another frame none', () => {
  const { on, pb, vx } = handedOff(41002);
  const hint = keyHint(vx, 0, vx.length);
  assert.ok(hint >= 0, 'a VXLAN frame of a key form has a hint');
  assert.equal(keyHint(vx, 0, 20), -1, 'a runt has none');
  pb.warmSlot(hint, on.nic('w02'));
  assert.notEqual(pb.warmEntries(), 0, 'its entry read');
  const other = vx.slice();
  other[other.length - 20]! ^= 1; // the inner destination address: another key
  pb.warmSlot(keyHint(other, 0, other.length), on.nic('w02'));
  assert.equal(pb.warmEntries(), 0, 'no entry for another key');
  const h = pb.hits;
  const pkt = on.b.engine.pool.allocFrom(vx)!;
  pkt.csumGood = 1;
  pkt.keyHint = hint;
  on.b.engine.inject(pkt, on.nic('w02'));
  assert.equal(pb.hits - h, 1, 'served with its hint');
});

test('partitioned: warmEntries reads each of an entry\'s own ops, the second (own2) among them', () => {
  const { on, pb, vx } = handedOff(41002);
  const hint = keyHint(vx, 0, vx.length);
  const slots = (pb as unknown as { slots: (PathEntry | null)[] }).slots;
  const e = slots.find((x) => x !== null && x.own !== null && x.own2 !== null)!;
  assert.ok(e, 'w02\'s entry has two own ops (its conntrack entry\'s, its connection mark\'s)');
  // Each own op in turn one whose warm() says it ran (a path through two conntracks has a CtPathOp second).
  const read: string[] = [];
  const spy = (o: PathOp, name: string): PathOp => Object.assign(Object.create(o) as PathOp, { warm: () => (read.push(name), 1) });
  const own = e.own!, own2 = e.own2!;
  e.own = spy(own, 'own');
  e.own2 = spy(own2, 'own2');
  pb.warmSlot(hint, on.nic('w02'));
  pb.warmEntries();
  e.own = own;
  e.own2 = own2;
  assert.deepEqual(read, ['own', 'own2']);
});

test('partitioned: the replies into w07 (VXLAN from the fabric, br-tun\'s learn(), br-int\'s NORMAL to the VM) are path cache hits, the learned flow refreshed as the element path does', () => {
  // The VM's TAP an edge (its guest not emulated: the replies leave there, as to a real VM).
  const on = parts(true, false), off = parts(false, false);
  const hitsA = () => on.a.engine.path!.hits;
  let replyHits = 0;
  for (let i = 0; i < 40; i++) {
    const sport = 41000 + (i % 2);
    const req = buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id: i }, udp: { sport, dport: 53, payload: 8 } });
    const rep = buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id: i }, udp: { sport: 53, dport: sport, payload: 8 } });
    const echo = buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id: i }, icmp: { type: 0, id: 77, seq: i, data: 56 } });
    for (const s of [on, off]) s.inject('w07', VMP, req);
    if (i === 0) for (const s of [on, off]) s.inject('w07', VMP, buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id: i }, icmp: { id: 77, seq: 0, data: 56 } }));
    for (const f of [rep, echo]) {
      const h = hitsA();
      for (const s of [on, off]) s.inject('w02', 'eth3', f);
      replyHits += hitsA() - h;
    }
    if (i % 8 === 7) {
      // Time passes (the learned flow's hard_timeout is 300 s: it is refreshed by every reply, never expires).
      for (const s of [on.a, on.b, off.a, off.b]) (s.engine.clock as ManualClock).advance(i === 31 ? 250_000 : 1500);
    }
    assert.deepEqual(on.out, off.out, `reply ${i}`);
  }
  assert.deepEqual(partState(on), partState(off));
  // Each flow's replies from its second on (the first recorded, the learned flow then added, the second records).
  assert.ok(replyHits >= 60, `${replyHits} reply hits at w07`);
  assert.ok(on.a.bridge('w07', 'br-tun').dumpFlows().some((l) => /table=20.*dl_dst=fa:16:3e:d1:d8:49/.test(l)), 'the learned flow');
});

test('partitioned: w02\'s part of a flooded reply (to the hand-off, a copy dropped at br-int\'s LOCAL port) is served; a first recording that failed on a passing cause (br-int learning again after its fdb\'s flush) records again', () => {
  const on = parts(true, false), off = parts(false, false);
  const hitsB = () => on.b.engine.path?.hits ?? 0;
  const send = (node: string, port: string, f: Uint8Array, what: string): void => {
    for (const s of [on, off]) s.inject(node, port, f);
    assert.deepEqual(on.out, off.out, what);
  };
  const req = (i: number) => buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id: i }, udp: { sport: 41000, dport: 53, payload: 8 } });
  const rep = (i: number) => buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id: i }, udp: { sport: 53, dport: 41000, payload: 8 } });
  let i = 0;
  const round = (n: number, what: string): number => {
    const h = hitsB(), d = floodDrops(on.b);
    for (let k = 0; k < n; k++, i++) {
      send('w07', VMP, req(i), `${what}: request ${k}`);
      send('w02', 'eth3', rep(i), `${what}: reply ${k}`);
    }
    assert.equal(floodDrops(on.b) - d, n, `${what}: every reply flooded`);
    return hitsB() - h;
  };
  const first = round(12, 'first');
  assert.ok(first >= 15, `${first} hits at w02 (requests and flooded replies)`);
  // br-int forgets the sg- port's MAC too: the next reply's translation learns it (not kept), the one after records.
  for (const s of [on, off]) s.facade.bridge('w02', 'br-int').fdbFlush();
  const again = round(12, 'after the flush');
  assert.ok(again >= 15, `${again} hits at w02 after the flush`);
  assert.deepEqual(partState(on), partState(off));
});

test('a CONNMARK effect that changes the mark a later traversal of the same connection reads (snat\'s PREROUTING toggles it, its POSTROUTING matches it): frames and state as the element path\'s', () => {
  const t = pair();
  for (const s of [t.on, t.off]) {
    nsChange(s.emu, 'w02', SNAT, 'iptables -t mangle -I PREROUTING -p udp --dport 53 -j CONNMARK --set-xmark 0x100/0x0');
    nsChange(s.emu, 'w02', SNAT, 'iptables -t mangle -I POSTROUTING -p udp -m connmark --mark 0x100/0x100 -j ACCEPT');
  }
  for (let i = 1; i <= 12; i++) {
    t.send('w07', VMP, buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, id: i }, udp: { sport: 41000, dport: 53, payload: 8 } }));
    if (i === 1) t.send('w02', 'eth3', buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60, id: i }, udp: { sport: 53, dport: 41000, payload: 8 } }));
    t.same(`after request ${i}`);
  }
});

test('flows recorded through the same CONNMARK rules share the array of them their mark op replays (no array of a flow\'s own on the hit path)', () => {
  const s = side(true);
  const req = (sport: number): void => {
    const f = buildFrame({ src: VM_MAC, dst: QR_MAC, ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64 }, udp: { sport, dport: 53, payload: 16 } });
    s.emu.engine.inject(s.emu.engine.pool.allocFrom(f)!, s.emu.findPort('w07', VMP)!);
  };
  const reply = (sport: number): void => {
    const f = buildFrame({ src: GW_MAC, dst: FIP_VIF_MAC, vlans: [103], ip: { src: '8.8.8.8', dst: SNAT_IP, ttl: 60 }, udp: { sport: 53, dport: sport, payload: 16 } });
    s.emu.engine.inject(s.emu.engine.pool.allocFrom(f)!, s.emu.findPort('w02', 'eth3')!);
  };
  const flows = [40001, 40002, 40003];
  for (const sport of flows) {
    req(sport);
    reply(sport);
  }
  for (let i = 0; i < 8; i++) for (const sport of flows) req(sport);
  // A flow's own ops: its conntrack entry's, then its connection mark's (CtMarkPathOp: snat's CONNMARK --save-mark).
  type Own = { effects?: readonly unknown[] } | null;
  const slots = (s.emu.engine.path as unknown as { slots: ({ own: Own; own2: Own } | null)[] }).slots;
  const marks = slots.filter((e) => e !== null && e.own2 !== null).map((e) => e!.own2!.effects);
  assert.equal(marks.length, 3);
  assert.equal(marks[0]!.length, 1);
  assert.ok(marks[1] === marks[0] && marks[2] === marks[0]);
});
