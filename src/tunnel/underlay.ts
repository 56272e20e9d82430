// A node's underlay IP stack, as far as VXLAN needs it: the physical NIC
// (e.g. eth2) with its address, and the kernel's VXLAN device that OVS vxlan
// ports use (vxlan_sys_4789). Output to an OVS vxlan port arrives here on the
// matching tunnel port and leaves the NIC encapsulated; VXLAN frames to the
// NIC's address are checked, stripped and handed to the tunnel port whose
// remote_ip/local_ip/key match, with tun_id/tun_src/tun_dst set.
import { Element, type Port } from '../datapath/element.js';
import type { Packet } from '../datapath/packet.js';
import { writeMacKey, macKey } from '../l2/mac.js';
import { checksum } from '../wire/checksum.js';
import { readU32 as r32, writeU32 as w32, ipToString as ipToStr } from '../wire/addr.js';
import { vxlanSourcePort } from './vxlan-port-hash.js';

export const VXLAN_UDP_PORT = 4789;
export const VXLAN_OVERHEAD = 50; // outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8

export interface TunnelOptions {
  /** remote_ip: a fixed peer, or null for remote_ip=flow (taken from tun_dst). */
  remoteIp: number | null;
  /** local_ip: the source address, or null to use the NIC's. */
  localIp: number | null;
  /** in_key/out_key: 'flow' takes/sets tun_id; a number is a fixed VNI. */
  inKey: 'flow' | number;
  outKey: 'flow' | number;
  /** df_default: set DF on the outer header (OVS default true). */
  df: boolean;
  dstPort: number;
}

export interface UnderlayConfig {
  nic: string; // interface name, e.g. eth2
  ip: number;
  prefixLen: number;
  mac: number;
  mtu: number;
  gateway: number; // next hop for off-subnet peers
  gatewayMac: number;
  /** Static on-link neighbours (ip -> mac) for peers inside the NIC's subnet. */
  neighbours?: Map<number, number>;
}

export class Underlay extends Element {
  /** The NIC: the first port added (engine.addPort(underlay, cfg.nic)). */
  nicPort!: Port;
  private readonly tunnels: { port: Port; opt: TunnelOptions }[] = [];
  private ipId = 0;

  constructor(node: string, readonly cfg: UnderlayConfig) {
    super('underlay', node, cfg.nic);
  }

  override portAdded(port: Port): void {
    if (!this.nicPort) this.nicPort = port;
  }

  /** The kernel side of an OVS vxlan port named `name`. */
  addTunnel(port: Port, opt: TunnelOptions): void {
    this.tunnels.push({ port, opt });
  }

  tunnelOptions(port: Port): TunnelOptions | undefined {
    return this.tunnels.find((t) => t.port === port)?.opt;
  }

  receive(pkt: Packet, port: Port): void {
    if (port === this.nicPort) this.decap(pkt);
    else this.encap(pkt, port);
  }

  private encap(pkt: Packet, port: Port): void {
    const e = this.engine;
    const t = this.tunnels.find((x) => x.port === port);
    if (!t) return e.drop(pkt, this, 'no_carrier', 'not a tunnel port');
    const o = t.opt;
    const remote = o.remoteIp ?? pkt.tunDst;
    if (!remote) return e.drop(pkt, this, 'vxlan_no_port', 'remote_ip=flow and no tun_dst set');
    const local = o.localIp ?? (pkt.tunSrc || this.cfg.ip);
    const vni = o.outKey === 'flow' ? pkt.tunId : o.outKey;
    const innerLen = pkt.len;
    const ipLen = innerLen + 36;
    if (o.df && ipLen > this.cfg.mtu) {
      return e.drop(pkt, this, 'mtu_exceeded', `encapsulated length ${ipLen} exceeds ${this.cfg.nic} MTU ${this.cfg.mtu} with DF set`);
    }
    const sport = vxlanSourcePort(pkt.buf, pkt.off, innerLen);
    if (!pkt.push(VXLAN_OVERHEAD, e.pool.slotSize)) return e.drop(pkt, this, 'no_buffer', 'no headroom for VXLAN');
    const b = pkt.buf, p = pkt.off;
    const onLink = ((remote ^ this.cfg.ip) >>> (32 - this.cfg.prefixLen)) === 0 && this.cfg.prefixLen > 0;
    const nhMac = onLink ? this.cfg.neighbours?.get(remote) ?? this.cfg.gatewayMac : this.cfg.gatewayMac;
    writeMacKey(b, p, nhMac);
    writeMacKey(b, p + 6, this.cfg.mac);
    b[p + 12] = 0x08; b[p + 13] = 0x00;
    // IPv4
    const ip = p + 14;
    b[ip] = 0x45; b[ip + 1] = 0;
    b[ip + 2] = ipLen >>> 8; b[ip + 3] = ipLen & 0xff;
    this.ipId = (this.ipId + 1) & 0xffff;
    b[ip + 4] = this.ipId >>> 8; b[ip + 5] = this.ipId & 0xff;
    b[ip + 6] = o.df ? 0x40 : 0; b[ip + 7] = 0;
    b[ip + 8] = 64; b[ip + 9] = 17;
    b[ip + 10] = 0; b[ip + 11] = 0;
    w32(b, ip + 12, local);
    w32(b, ip + 16, remote);
    const cs = checksum(b, ip, 20);
    b[ip + 10] = cs >>> 8; b[ip + 11] = cs & 0xff;
    // UDP, checksum 0 (OVS vxlan ports default to csum=false)
    const u = ip + 20;
    b[u] = sport >>> 8; b[u + 1] = sport & 0xff;
    b[u + 2] = o.dstPort >>> 8; b[u + 3] = o.dstPort & 0xff;
    const ulen = innerLen + 16;
    b[u + 4] = ulen >>> 8; b[u + 5] = ulen & 0xff;
    b[u + 6] = 0; b[u + 7] = 0;
    // VXLAN: flags I, reserved, VNI, reserved
    const x = u + 8;
    b[x] = 0x08; b[x + 1] = 0; b[x + 2] = 0; b[x + 3] = 0;
    b[x + 4] = (vni >>> 16) & 0xff; b[x + 5] = (vni >>> 8) & 0xff; b[x + 6] = vni & 0xff; b[x + 7] = 0;
    if (e.tracing) e.note(pkt, this, `vxlan encap: vni ${vni}, ${ipToStr(local)}:${sport} > ${ipToStr(remote)}:${o.dstPort}, DF ${o.df ? 'set' : 'clear'}, out ${this.cfg.nic}`);
    e.output(pkt, this.nicPort);
  }

  private decap(pkt: Packet): void {
    const e = this.engine;
    const b = pkt.buf, p = pkt.off;
    if (pkt.len < 14) return e.drop(pkt, this, 'malformed', 'short Ethernet header');
    const dmac = macKey(b, p);
    if (dmac !== this.cfg.mac && !(b[p]! & 1)) return e.drop(pkt, this, 'not_for_us', 'destination MAC is not the NIC');
    const etype = (b[p + 12]! << 8) | b[p + 13]!;
    if (etype !== 0x0800) return e.drop(pkt, this, 'unknown_protocol', `ethertype 0x${etype.toString(16).padStart(4, '0')} is not handled by the underlay`);
    const ip = p + 14;
    if (pkt.len < 34) return e.drop(pkt, this, 'malformed', 'short IPv4 header');
    const ihl = (b[ip]! & 0x0f) * 4;
    if (b[ip]! >> 4 !== 4 || ihl < 20) return e.drop(pkt, this, 'malformed', 'bad IPv4 version or IHL');
    const totLen = (b[ip + 2]! << 8) | b[ip + 3]!;
    if (totLen < ihl || 14 + totLen > pkt.len) return e.drop(pkt, this, 'malformed', 'IPv4 total length beyond the frame');
    if (checksum(b, ip, ihl) !== 0) return e.drop(pkt, this, 'malformed', 'bad IPv4 header checksum');
    const dst = r32(b, ip + 16);
    const src = r32(b, ip + 12);
    if (dst !== this.cfg.ip) return e.drop(pkt, this, 'not_for_us', `IPv4 destination ${ipToStr(dst)} is not ${this.cfg.nic}'s address`);
    if ((b[ip + 6]! & 0x3f) | b[ip + 7]! || b[ip + 6]! & 0x20) return e.drop(pkt, this, 'frag_unsupported', 'fragmented outer packet');
    if (b[ip + 9] !== 17) return e.drop(pkt, this, 'unknown_protocol', `IP protocol ${b[ip + 9]} to the underlay address`);
    const u = ip + ihl;
    if (totLen < ihl + 16) return e.drop(pkt, this, 'vxlan_bad_header', 'too short for UDP + VXLAN');
    const dport = (b[u + 2]! << 8) | b[u + 3]!;
    const x = u + 8;
    const vni = (b[x + 4]! << 16) | (b[x + 5]! << 8) | b[x + 6]!;
    let tun: { port: Port; opt: TunnelOptions } | undefined;
    for (const t of this.tunnels) {
      const o = t.opt;
      if (o.dstPort !== dport) continue;
      if (o.remoteIp !== null && o.remoteIp !== src) continue;
      if (o.localIp !== null && o.localIp !== dst) continue;
      if (o.inKey !== 'flow' && o.inKey !== vni) continue;
      tun = t;
      break;
    }
    if (!tun) {
      if (!this.tunnels.some((t) => t.opt.dstPort === dport)) return e.drop(pkt, this, 'unknown_protocol', `UDP port ${dport} is not a tunnel port`);
      return e.drop(pkt, this, 'vxlan_no_port', `no vxlan port for ${ipToStr(src)} -> ${ipToStr(dst)} vni ${vni}`);
    }
    if (!(b[x]! & 0x08)) return e.drop(pkt, this, 'vxlan_bad_header', 'VXLAN I flag clear');
    const inner = totLen - ihl - 16;
    if (inner < 14) return e.drop(pkt, this, 'vxlan_bad_header', 'inner frame shorter than an Ethernet header');
    pkt.pull(14 + ihl + 16);
    pkt.len = inner;
    pkt.resetMeta();
    pkt.tunId = vni;
    pkt.tunSrc = src;
    pkt.tunDst = dst;
    if (e.tracing) e.note(pkt, this, `vxlan decap: vni ${vni} from ${ipToStr(src)}, to ${tun.port.name}`);
    e.output(pkt, tun.port);
  }
}
