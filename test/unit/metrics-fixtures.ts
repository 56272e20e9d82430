// A small hand-built path, used by the metrics tests only:
// w07 qbr -> br-int -> br-tun -> eth2 (VXLAN) -> fabric -> w02 eth2 -> br-tun
// -> br-int -> a stand-in for the snat namespace (IPv4 forwarding with TTL,
// a route list and the real netfilter conntrack, dropping under the kernel's
// reasons). The seed topology's real path is covered in metrics-seed.test.ts;
// this one keeps every counter of a test predictable by construction.
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { Element, type Port } from '../../src/datapath/element.js';
import type { Packet } from '../../src/datapath/packet.js';
import { LinuxBridge } from '../../src/l2/linux-bridge.js';
import { parseMacNum } from '../../src/wire/addr.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { Underlay, DEFAULT_TUNNEL } from '../../src/tunnel/underlay.js';
import { Fabric } from '../../src/tunnel/fabric.js';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { VERDICT_DROP } from '../../src/netfilter/constants.js';
import { fillPacketInfo, newPacketInfo } from '../../src/netfilter/packet-info.js';
import { checksum } from '../../src/wire/checksum.js';
import { parseIpv4, parseMac } from '../../src/wire/addr.js';
import { buildFrame, type FrameSpec } from '../../src/wire/frame.js';
import { CaptureSink } from '../helpers/sink.js';

const ip = (s: string): number => parseIpv4(s)!;
const mac = (s: string) => parseMac(s)!;

/** A namespace stand-in: IPv4 forwarding between two ports with TTL, a route list and conntrack. */
export class StandInRouter extends Element {
  readonly netfilter: Netfilter;
  private readonly info = newPacketInfo();

  constructor(node: string, name: string, private readonly routes: readonly [string, number][], ctMax = 262144) {
    super('netns', node, name);
    this.netfilter = new Netfilter({ alwaysTrack: true, max: ctMax });
  }

  override receive(pkt: Packet, port: Port): void {
    const e = this.engine;
    const b = pkt.buf;
    const l3 = pkt.off + 14;
    if (pkt.len < 14 || ((b[pkt.off + 12]! << 8) | b[pkt.off + 13]!) !== 0x0800) return e.drop(pkt, this, pkt.len < 14 ? 'malformed' : 'unknown_protocol');
    const p = this.info;
    if (fillPacketInfo(p, b, l3, pkt.len - 14) !== null || checksum(b, l3, (b[l3]! & 15) * 4) !== 0) return e.drop(pkt, this, 'malformed');
    if (b[l3 + 8]! <= 1) return e.drop(pkt, this, 'ttl_exceeded');
    if (!this.routes.some(([net, len]) => len === 0 || (p.dst >>> (32 - len)) === (ip(net) >>> (32 - len)))) return e.drop(pkt, this, 'no_route');
    const out = this.ports[port.index === 0 ? 1 : 0]!;
    p.inIf = port.name;
    p.outIf = null;
    if (this.netfilter.prerouting(p, e.now) === VERDICT_DROP) {
      return e.drop(pkt, this, this.netfilter.result.reason === 'conntrack_full' ? 'conntrack_full' : 'netfilter_drop');
    }
    p.outIf = out.name;
    if (this.netfilter.postrouting(p, e.now) === VERDICT_DROP) return e.drop(pkt, this, 'netfilter_drop');
    b[l3 + 8]!--;
    b[l3 + 10] = b[l3 + 11] = 0;
    const c = checksum(b, l3, (b[l3]! & 15) * 4);
    b[l3 + 10] = c >>> 8;
    b[l3 + 11] = c & 0xff;
    e.output(pkt, out);
  }
}

export const SNAT = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';

/** Stages of the request path in order: element, ingress port, egress port, frame size in and out. */
export const PATH: readonly { node: string; element: string; in: string; out: string; bytesIn: number; bytesOut: number }[] = [
  { node: 'w07', element: 'qbr2ab77d0f-99', in: 'tap2ab77d0f-99', out: 'qvb2ab77d0f-99', bytesIn: 142, bytesOut: 142 },
  { node: 'w07', element: 'br-int', in: 'qvo2ab77d0f-99', out: 'patch-tun', bytesIn: 142, bytesOut: 142 },
  { node: 'w07', element: 'br-tun', in: 'patch-int', out: 'vxlan-0ace6b9c', bytesIn: 142, bytesOut: 142 },
  { node: 'w07', element: 'eth2', in: 'vxlan-0ace6b9c', out: 'eth2', bytesIn: 142, bytesOut: 192 },
  { node: 'fabric', element: 'fabric', in: 'w07', out: 'w02', bytesIn: 192, bytesOut: 192 },
  { node: 'w02', element: 'eth2', in: 'eth2', out: 'vxlan-0ace6bee', bytesIn: 192, bytesOut: 142 },
  { node: 'w02', element: 'br-tun', in: 'vxlan-0ace6bee', out: 'patch-int', bytesIn: 142, bytesOut: 142 },
  { node: 'w02', element: 'br-int', in: 'patch-tun', out: 'sg-499291dc-d8', bytesIn: 142, bytesOut: 142 },
  { node: 'w02', element: SNAT, in: 'sg-499291dc-d8', out: 'rfp-c4d4b760-4', bytesIn: 142, bytesOut: 142 },
];

/** The VM's echo request (SCENARIO.md row 1): 142 bytes. */
export function request(over: Partial<FrameSpec['ip']> & { icmpId?: number } = {}): Uint8Array {
  const { icmpId, ...ipOver } = over;
  return buildFrame({
    src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b',
    ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64, ...ipOver },
    icmp: { id: icmpId ?? 60691, seq: 1, data: 100 },
  });
}

export interface PathOptions {
  ctMax?: number;
  /** The snat stand-in's routes (default: its subnet and a default route). */
  routes?: [string, number][];
  engine?: Engine;
}

export function buildPath(opts: PathOptions = {}) {
  const clock = new ManualClock(0);
  const e = opts.engine ?? new Engine({ clock });
  // w07
  const qbr = e.add(new LinuxBridge('w07', 'qbr2ab77d0f-99'));
  const tap = e.addPort(qbr, 'tap2ab77d0f-99');
  const qvb = e.addPort(qbr, 'qvb2ab77d0f-99');
  qbr.setPortMac(qvb, parseMacNum('96:6e:9b:a8:b1:fc')!);
  qbr.setPortMac(tap, parseMacNum('fe:16:3e:b2:ef:af')!);
  const int07 = OvsBridge.create(e, 'w07', 'br-int', { failMode: 'secure' });
  const qvo = int07.addOvsPort('qvo2ab77d0f-99', { ofport: 41, tag: 10 });
  int07.addOvsPort('patch-tun', { ofport: 1, type: 'patch', options: { peer: 'patch-int' } });
  int07.addFlows('table=0,priority=1,in_port=41,actions=output:1\ntable=0,priority=1,in_port=1,actions=output:41');
  const tun07 = OvsBridge.create(e, 'w07', 'br-tun', { failMode: 'secure' });
  tun07.addOvsPort('patch-int', { ofport: 1, type: 'patch', options: { peer: 'patch-tun' } });
  const vx07 = tun07.addOvsPort('vxlan-0ace6b9c', { ofport: 5, type: 'vxlan', options: { remote_ip: '10.206.107.156', local_ip: '10.206.107.238', in_key: 'flow', out_key: 'flow' } });
  tun07.addFlows('table=0,priority=1,in_port=1,actions=mod_dl_src:fa:16:3f:13:77:c5,set_tunnel:103,output:5\ntable=0,priority=1,in_port=5,actions=output:1');
  e.link(qvb, qvo.port, 'veth');
  const ul07 = e.add(new Underlay('w07', { nic: 'eth2', ip: ip('10.206.107.238'), prefixLen: 26, mac: mac('b4:96:91:5a:31:78'), mtu: 1500, gateway: ip('10.206.107.193'), gatewayMac: mac('5c:c9:99:60:e0:3c') }));
  const nic07 = e.addPort(ul07, 'eth2');
  const t07 = e.addPort(ul07, 'vxlan-0ace6b9c');
  ul07.addTunnel(t07, { ...DEFAULT_TUNNEL, remoteIp: ip('10.206.107.156'), localIp: ip('10.206.107.238'), inKey: 'flow', outKey: 'flow' });
  e.link(vx07.port, t07, 'tunnel');
  // w02
  const ul02 = e.add(new Underlay('w02', { nic: 'eth2', ip: ip('10.206.107.156'), prefixLen: 26, mac: mac('b4:96:91:5a:32:54'), mtu: 1500, gateway: ip('10.206.107.129'), gatewayMac: mac('5c:c9:99:db:69:c9') }));
  const nic02 = e.addPort(ul02, 'eth2');
  const t02 = e.addPort(ul02, 'vxlan-0ace6bee');
  ul02.addTunnel(t02, { ...DEFAULT_TUNNEL, remoteIp: ip('10.206.107.238'), localIp: ip('10.206.107.156'), inKey: 'flow', outKey: 'flow' });
  const tun02 = OvsBridge.create(e, 'w02', 'br-tun', { failMode: 'secure' });
  tun02.addOvsPort('patch-int', { ofport: 1, type: 'patch', options: { peer: 'patch-tun' } });
  const vx02 = tun02.addOvsPort('vxlan-0ace6bee', { ofport: 4, type: 'vxlan', options: { remote_ip: '10.206.107.238', local_ip: '10.206.107.156', in_key: 'flow', out_key: 'flow' } });
  tun02.addFlows('table=0,priority=1,in_port=4,actions=output:1\ntable=0,priority=1,in_port=1,actions=set_tunnel:103,output:4');
  e.link(vx02.port, t02, 'tunnel');
  const int02 = OvsBridge.create(e, 'w02', 'br-int', { failMode: 'secure' });
  int02.addOvsPort('patch-tun', { ofport: 1, type: 'patch', options: { peer: 'patch-int' } });
  const sg = int02.addOvsPort('sg-499291dc-d8', { ofport: 74, type: 'internal' });
  int02.addFlows('table=0,priority=1,in_port=1,actions=mod_dl_src:fa:16:3e:06:d8:7b,mod_dl_dst:fa:16:3e:d1:d8:49,output:74\ntable=0,priority=1,in_port=74,actions=output:1');
  const snat = e.add(new StandInRouter('w02', SNAT, opts.routes ?? [['192.168.1.0', 24], ['0.0.0.0', 0]], opts.ctMax));
  const sgNs = e.addPort(snat, 'sg-499291dc-d8');
  const rfp = e.addPort(snat, 'rfp-c4d4b760-4');
  e.link(sg.port, sgNs, 'internal');
  // The routed underlay between the nodes.
  const fab = e.add(new Fabric());
  const f07 = e.addPort(fab, 'w07');
  const f02 = e.addPort(fab, 'w02');
  fab.attach(f07, parseMacNum('5c:c9:99:60:e0:3c')!, ip('10.206.107.238'), parseMacNum('b4:96:91:5a:31:78')!);
  fab.attach(f02, parseMacNum('5c:c9:99:db:69:c9')!, ip('10.206.107.156'), parseMacNum('b4:96:91:5a:32:54')!);
  e.link(nic07, f07, 'wire');
  e.link(nic02, f02, 'wire');
  // Edges: the VM's TAP and the way out of the snat namespace.
  const vm = new CaptureSink();
  const out = new CaptureSink();
  e.attachEdge(tap, vm);
  e.attachEdge(rfp, out);
  const send = (frame: Uint8Array, at: Port = tap): void => {
    const p = e.pool.allocFrom(frame);
    if (!p) throw new Error('pool exhausted');
    e.inject(p, at);
  };
  return { e, clock, tap, rfp, snat, qbr, vm, out, send };
}
