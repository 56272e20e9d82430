// A node's underlay IP stack, as far as VXLAN needs it: the physical NIC
// (e.g. eth2) with its address, and the kernel's VXLAN device that OVS vxlan
// ports use (vxlan_sys_4789). Output to an OVS vxlan port arrives here on the
// matching tunnel port and leaves the NIC encapsulated; VXLAN frames to the
// NIC's address are checked, stripped and handed to the tunnel port whose
// remote_ip/local_ip/key match, with tun_id/tun_src/tun_dst set.
import { Element, type Port } from '../datapath/element.js';
import type { Packet } from '../datapath/packet.js';
import { ipToString, inPrefix, readMacHi, readMacLoI32, readU16, readU32, writeU16, writeU32 } from '../wire/addr.js';
import { ETH_HLEN, ETHERTYPE_IPV4, ethSwapMacs } from '../wire/ethernet.js';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, icmpSetChecksum } from '../wire/icmp.js';
import { IP_DF, IPPROTO_ICMP, ipv4SetChecksum } from '../wire/ipv4.js';
import { Decoded, decode, decodeErrorName } from '../wire/decode.js';
import type { PathOp } from '../datapath/path-cache.js';
import { VxlanTunnel, vxlanEncap, vxlanDecapCheck, vxlanInnerOff, vxlanInnerLen, VXLAN_OVERHEAD, VXLAN_PORT } from '../wire/vxlan.js';

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

/** icmp_is_err: the types no error answers. */
const ICMP_ERRORS = [3, 4, 5, 11, 12];

export const DEFAULT_TUNNEL: TunnelOptions = { remoteIp: null, localIp: null, inKey: 0, outKey: 0, df: true, dstPort: VXLAN_PORT };

export interface UnderlayConfig {
  nic: string; // interface name, e.g. eth2
  ip: number;
  prefixLen: number;
  mac: { hi: number; lo: number };
  mtu: number;
  gateway: number; // next hop for off-subnet peers
  gatewayMac: { hi: number; lo: number };
  /** Static on-link neighbours (ip -> mac) for peers inside the NIC's subnet. */
  neighbours?: Map<number, { hi: number; lo: number }>;
  /** The kernel's per-boot flow-hash seed; fixing it reproduces a capture's UDP source ports. */
  hashSeed?: number;
}

interface Tunnel {
  port: Port;
  opt: TunnelOptions;
  hdr: VxlanTunnel; // outer header template, filled once
}

export class Underlay extends Element {
  /** The NIC: the first port added (engine.addPort(underlay, cfg.nic)). */
  nicPort!: Port;
  private readonly tunnels: Tunnel[] = [];
  /** Tunnels listen on more than one UDP port (checked per packet only then: a closure per packet costs). */
  private mixedPorts = false;
  private readonly d = new Decoded();
  /** The NIC's MAC as hi16 and int32 lo (never a 48-bit double on the data path). */
  private readonly nicHi: number;
  private readonly nicLo: number;

  constructor(node: string, readonly cfg: UnderlayConfig) {
    super('underlay', node, cfg.nic);
    this.nicHi = cfg.mac.hi;
    this.nicLo = cfg.mac.lo | 0;
  }

  override portAdded(port: Port): void {
    if (!this.nicPort) this.nicPort = port;
  }

  /** Bind an OVS vxlan port (linked to `port`) with its options. */
  addTunnel(port: Port, opt: TunnelOptions): void {
    const hdr = new VxlanTunnel();
    hdr.srcMacHi = this.cfg.mac.hi;
    hdr.srcMacLo = this.cfg.mac.lo;
    hdr.srcIp = opt.localIp ?? this.cfg.ip;
    hdr.df = opt.df;
    hdr.dstPort = opt.dstPort;
    hdr.hashSeed = this.cfg.hashSeed ?? 0;
    if (opt.remoteIp !== null) this.setNextHop(hdr, opt.remoteIp);
    this.tunnels.push({ port, opt, hdr });
    if (opt.dstPort !== this.tunnels[0]!.opt.dstPort) this.mixedPorts = true;
  }

  private setNextHop(hdr: VxlanTunnel, remote: number): void {
    hdr.dstIp = remote;
    const c = this.cfg;
    const nh = inPrefix(remote, c.ip, c.prefixLen) ? c.neighbours?.get(remote) ?? c.gatewayMac : c.gatewayMac;
    hdr.dstMacHi = nh.hi;
    hdr.dstMacLo = nh.lo;
  }

  receive(pkt: Packet, port: Port): void {
    if (port === this.nicPort) this.decap(pkt);
    else this.encap(pkt, port);
  }

  private encap(pkt: Packet, port: Port): void {
    const e = this.engine;
    let t: Tunnel | undefined;
    for (const x of this.tunnels) if (x.port === port) t = x;
    if (!t) return e.drop(pkt, this, 'no_carrier', 'not a tunnel port');
    const o = t.opt;
    if (o.remoteIp === null) {
      if (!pkt.tunDst) return e.drop(pkt, this, 'vxlan_no_port', 'remote_ip=flow and no tun_dst set');
      this.setNextHop(t.hdr, pkt.tunDst);
    }
    const vni = o.outKey === 'flow' ? pkt.tunId : o.outKey;
    const ipLen = pkt.len + VXLAN_OVERHEAD - 14;
    if (ipLen > this.cfg.mtu && this.pmtuReply(pkt, t, vni)) return;
    if (o.df && ipLen > this.cfg.mtu) {
      return e.drop(pkt, this, 'mtu_exceeded', `encapsulated length ${ipLen} exceeds ${this.cfg.nic} MTU ${this.cfg.mtu} with DF set`);
    }
    if (pkt.headroom(e.pool.slotSize) < VXLAN_OVERHEAD) return e.drop(pkt, this, 'no_buffer', 'no headroom for VXLAN');
    vxlanEncap(pkt.buf, pkt.off, pkt.len, vni, t.hdr);
    pkt.push(VXLAN_OVERHEAD, e.pool.slotSize);
    const rec = e.recording;
    if (rec !== null) {
      // An outer header at the path's end (a worker's hand-off) is kept but for its IP id, written live from this
      // tunnel's counter; one around another is not kept, nor one whose next hop follows tun_dst.
      if (o.remoteIp === null || rec.tunnels !== 0) rec.fail(true);
      rec.op(new EncapPathOp(t.hdr));
      rec.outer = t.hdr;
      rec.outerId = (t.hdr.nextIpId - 1) & 0xffff;
      rec.tunnels++;
      rec.ack();
    }
    if (e.tracing) {
      const sport = (pkt.buf[pkt.off + 34]! << 8) | pkt.buf[pkt.off + 35]!;
      e.note(pkt, this, `vxlan encap: vni ${vni}, ${ipToString(t.hdr.srcIp)}.${sport} > ${ipToString(t.hdr.dstIp)}.${o.dstPort}, DF ${o.df ? 'set' : 'clear'}, out ${this.cfg.nic}`);
    }
    e.output(pkt, this.nicPort);
  }

  /**
   * skb_tunnel_check_pmtu for a frame bridged onto the tunnel (an OVS port
   * is a bridge port: netif_is_any_bridge_port) whose IPv4 datagram, DF and
   * not a fragment, does not fit the underlay's MTU less the VXLAN headroom:
   * iptunnel_pmtud_build_icmp turns it into fragmentation needed (that MTU)
   * from its destination to its source, MACs swapped, quoting at most 548
   * bytes; vxlan_encap_bypass hands it back in on the port as if the remote
   * end had sent it. False where none is due (the frame is then dropped).
   */
  private pmtuReply(pkt: Packet, t: Tunnel, vni: number): boolean {
    const e = this.engine, b = pkt.buf, p = pkt.off, l3 = p + ETH_HLEN, mtu = this.cfg.mtu - VXLAN_OVERHEAD;
    if (mtu < 576 || pkt.len < ETH_HLEN + 28 || readU16(b, p + 12) !== ETHERTYPE_IPV4 || readU16(b, l3 + 6) !== IP_DF) return false;
    const src = readU32(b, l3 + 12), dst = readU32(b, l3 + 16), ihl = (b[l3]! & 15) << 2;
    // iptunnel_pmtud_check_icmp: no answer to broadcast or multicast, from a bogus source, or to an ICMP error.
    if (dst === 0xffffffff || dst >>> 28 === 14 || src >>> 24 === 0 || src >>> 24 === 127 || src === 0xffffffff || src >>> 28 === 14) return false;
    if (b[l3 + 9] === IPPROTO_ICMP && ICMP_ERRORS.includes(b[l3 + ihl]!)) return false;
    if (pkt.headroom(e.pool.slotSize) < 28) return false;
    const ttl = b[l3 + 8]!, inner = pkt.len - ETH_HLEN, quoted = Math.min(inner, 576 - 28);
    ethSwapMacs(b, p);
    pkt.push(28, e.pool.slotSize);
    const o = pkt.off, n3 = o + ETH_HLEN;
    b.copyWithin(o, p, p + 12);
    writeU16(b, o + 12, ETHERTYPE_IPV4);
    b[n3] = 0x45;
    b[n3 + 1] = 0;
    writeU16(b, n3 + 2, 28 + quoted);
    writeU32(b, n3 + 4, IP_DF); // id 0
    b[n3 + 8] = ttl;
    b[n3 + 9] = IPPROTO_ICMP;
    writeU16(b, n3 + 10, 0);
    writeU32(b, n3 + 12, dst);
    writeU32(b, n3 + 16, src);
    ipv4SetChecksum(b, n3);
    b[n3 + 20] = ICMP_DEST_UNREACH;
    b[n3 + 21] = ICMP_FRAG_NEEDED;
    writeU32(b, n3 + 24, mtu); // unused 0, then the MTU
    icmpSetChecksum(b, n3 + 20, 8 + quoted);
    pkt.len = ETH_HLEN + 28 + quoted;
    const hops = pkt.hops, stamp = pkt.stamp;
    pkt.resetMeta();
    pkt.hops = hops;
    pkt.stamp = stamp;
    pkt.tunId = vni;
    pkt.tunSrc = t.hdr.dstIp;
    pkt.tunDst = t.hdr.srcIp;
    if (e.tracing) e.note(pkt, this, `vxlan: ${inner}-byte datagram too long for ${this.cfg.nic} MTU ${this.cfg.mtu}: ICMP fragmentation needed (mtu ${mtu}) back in on ${t.port.name}`);
    e.output(pkt, t.port);
    return true;
  }

  private decap(pkt: Packet): void {
    const e = this.engine;
    const b = pkt.buf, p = pkt.off, d = this.d;
    if (pkt.len < 14) return e.drop(pkt, this, 'malformed', 'short Ethernet header');
    if ((readMacHi(b, p) !== this.nicHi || readMacLoI32(b, p) !== this.nicLo) && !(b[p]! & 1)) return e.drop(pkt, this, 'not_for_us', 'destination MAC is not the NIC');
    // The UDP port the tunnels listen on (dst_port, 4789 unless configured).
    let port = this.tunnels.length ? this.tunnels[0]!.opt.dstPort : VXLAN_PORT;
    if (this.mixedPorts && decode(b, p, pkt.len, d) === 0 && this.tunnels.some((t) => t.opt.dstPort === d.dport)) port = d.dport;
    const err = vxlanDecapCheck(b, p, pkt.len, d, port);
    if (err !== 0) {
      const name = decodeErrorName(err);
      const malformed = d.ethertype === 0x0800 && d.proto === 17 && d.dport === VXLAN_PORT;
      return e.drop(pkt, this, malformed ? 'vxlan_bad_header' : name.startsWith('NOT_VXLAN') ? 'unknown_protocol' : 'malformed', name);
    }
    if (d.dst !== this.cfg.ip) return e.drop(pkt, this, 'not_for_us', `IPv4 destination ${ipToString(d.dst)} is not ${this.cfg.nic}'s address`);
    const vni = d.vni;
    // A port with this exact remote_ip wins over a remote_ip=flow one (OVS tnl_find).
    let tun: Tunnel | undefined;
    for (let pass = 0; pass < 2 && !tun; pass++) {
      for (const t of this.tunnels) {
        const o = t.opt;
        if (o.dstPort !== port) continue;
        if (pass === 0 ? o.remoteIp !== d.src : o.remoteIp !== null) continue;
        if (o.localIp !== null && o.localIp !== d.dst) continue;
        if (o.inKey !== 'flow' && o.inKey !== vni) continue;
        tun = t;
        break;
      }
    }
    if (!tun) return e.drop(pkt, this, 'vxlan_no_port', `no vxlan port for ${ipToString(d.src)} -> ${ipToString(d.dst)} vni ${vni}`);
    const innerOff = vxlanInnerOff(d);
    const innerLen = vxlanInnerLen(b, d);
    const src = d.src, dst = d.dst;
    pkt.pull(innerOff - p);
    pkt.len = innerLen;
    const hops = pkt.hops, stamp = pkt.stamp; // a loop through a tunnel is still a loop
    pkt.resetMeta();
    pkt.hops = hops;
    pkt.stamp = stamp;
    pkt.tunId = vni;
    pkt.tunSrc = src;
    pkt.tunDst = dst;
    if (e.tracing) e.note(pkt, this, `vxlan decap: vni ${vni} from ${ipToString(src)}, to ${tun.port.name}`);
    const rec = e.recording;
    if (rec !== null) {
      // Decapsulating what was encapsulated on the way, or the injected frame whose outer header the key holds.
      if (rec.tunnels > 0) rec.tunnels--;
      else if (rec.outerIn) rec.outerIn = false;
      else rec.fail();
      rec.ack();
    }
    e.output(pkt, tun.port);
  }
}

/** An encapsulation as the path cache replays it: the tunnel's outer IP id counts on (__ip_select_ident). */
class EncapPathOp implements PathOp {
  constructor(private readonly hdr: VxlanTunnel) {}

  share(id: (o: object) => number): string {
    return `encap ${id(this.hdr)}`;
  }

  readonly steady = true;

  live(): boolean {
    return true;
  }

  hit(): void {
    this.hdr.nextIpId = (this.hdr.nextIpId + 1) & 0xffff;
  }
}
