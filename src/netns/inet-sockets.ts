// The IPv4 sockets a namespace's own programs open through dpemu: ping's
// and traceroute's (raw ICMP, UDP and TCP probes, ping-socket.ts and
// trace-socket.ts) and arping's packet socket (arping-socket.ts). Each send
// is routed and goes out through the stack as a local packet (the host's
// localOut: OUTPUT, POSTROUTING, the neighbour); what the stack delivers is
// offered to them as the kernel's raw and packet sockets see it.
import type { Element } from '../datapath/element.js';
import type { Packet } from '../datapath/packet.js';
import type { Netns } from './netns.js';
import type { Interface } from './interfaces.js';
import type { OutputDecision } from './route-output.js';
import type { Conntrack } from '../netfilter/conntrack.js';
import { ARPOP_REPLY, ARPOP_REQUEST, ARP_FRAME_LEN, writeArp } from '../wire/arp.js';
import { ArpingError, type ArpingOpen, ArpingSocket } from './arping-socket.js';
import { ETHERTYPE_ARP, ETH_HLEN, writeEth } from '../wire/ethernet.js';
import { FragQueue } from './ip-frag.js';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED } from '../wire/icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IP_DF, ipv4SetChecksum } from '../wire/ipv4.js';
import { IP_PMTUDISC_DO, IP_PMTUDISC_DONT, IP_PMTUDISC_WANT, PingError, type PingItem, type PingOpen, PingSocket, fragmentsNoBufs, wallUs } from './ping-socket.js';
import { RT_SCOPE_LINK } from './names.js';
import { type TraceOpen, TraceSocket } from './trace-socket.js';
import { addrType, localAddrDev } from './addr-select.js';
import { ipToString, macHi, macLo, readU16, readU32, writeU16 } from '../wire/addr.js';
import { optionsBuild } from './ip-options.js';
import { routeOutput } from './route-output.js';
import { strerror } from './errors.js';
import { tcpSetChecksum } from '../wire/tcp.js';
import { udpSetChecksum } from '../wire/udp.js';
import { updatePmtu } from './pmtu.js';

/** What the sockets need of the namespace's stack (namespace.ts). */
export interface InetSocketHost {
  /** The namespace's element: what sockets' packets are allocated, noted and dropped as. */
  readonly element: Element;
  readonly ns: Netns<Packet>;
  /** The connection table when the namespace tracks connections, else null. */
  conntrack(): Conntrack | null;
  /** The datagram being handled in several slots (ip-frag.ts), its head the packet passed around; null for any other. */
  datagram(): FragQueue | null;
  setDatagram(q: FragQueue | null): void;
  /** A locally made packet through OUTPUT, POSTROUTING and the neighbour: false if a hook dropped it. */
  localOut(pkt: Packet, src: number, decided?: OutputDecision, related?: boolean, mark?: number): boolean;
  /** A header for a datagram of this stack's own (the namespace's IP id). */
  writeIpHeader(buf: Uint8Array, l3: number, totLen: number, proto: number, src: number, dst: number, tos: number, optLen?: number): void;
  /** A device of the namespace's with a port, by ifindex. */
  device(ifindex: number): Interface | undefined;
  /** A frame straight onto device `ifindex` (dev_queue_xmit). */
  send(pkt: Packet, ifindex: number): void;
}

export class InetSockets {
  private readonly el: Element;
  private readonly ns: Netns<Packet>;
  /** Open ping sockets (dpemu ping): each sees the ICMP datagrams delivered here. */
  pings: PingSocket[] = [];
  /** Open traceroute sockets (dpemu traceroute): each sees the ICMP datagrams delivered here. */
  traces: TraceSocket[] = [];
  /** arping's packet sockets (arping-socket.ts). */
  private arpings: ArpingSocket[] = [];

  constructor(private readonly host: InetSocketHost) {
    this.el = host.element;
    this.ns = host.ns;
  }

  /** An ARP frame received on device `ifindex`: each arping socket bound to it reads a copy. */
  arpRcv(ifindex: number, buf: Uint8Array, off: number, len: number): void {
    if (this.arpings.length !== 0) for (const s of this.arpings) if (s.ifindex === ifindex) s.take(buf, off, len);
  }

  // ---- ping (ping-socket.ts) -----------------------------------------------

  /**
   * ping's raw socket and its connect() probe (ping4_run): the source
   * address routing picks for the destination (a UDP socket connected to
   * port 1025), or the bound one, or ping's error. The echo identifier is
   * -e's, or one no other ping socket here uses and no tracked connection
   * between the two addresses holds.
   */
  openPing(o: PingOpen, onItem: (item: PingItem) => void): { sock: PingSocket; source: number } {
    let oif = 0;
    if (o.device !== undefined) {
      const l = this.ns.link(o.device);
      if (!l) throw new PingError(`SO_BINDTODEVICE ${o.device}: No such device`);
      oif = l.index;
    }
    let bound = o.source ?? 0;
    let source = bound;
    if (!bound) {
      // The probe socket has ping's IP_TOS too: an `ip rule tos` sees it.
      const r = routeOutput(this.ns, { dst: o.dst, oif, tos: o.tos ?? 0, mark: o.mark ?? 0, proto: IPPROTO_UDP, dport: 1025 });
      if (r.kind === 'error') throw new PingError(`connect: ${strerror(r.errno)}`);
      if (r.kind === 'broadcast') throw new PingError('Do you want to ping broadcast? Then -b. If not, check your local firewall rules');
      source = r.src;
      if (o.strict) bound = source; // -B: bind() to it
    } else if (!localAddrDev(this.ns, bound) && !this.ns.sys.ip_nonlocal_bind) throw new PingError('bind: Cannot assign requested address');
    const ct = this.host.conntrack(), now = this.el.engine.now;
    let ident = o.ident ?? 0;
    for (let tries = 0; o.ident === undefined && tries < 0x10000; tries++) {
      ident = Math.floor(Math.random() * 0x10000);
      if (this.pings.some((p) => p.ident === ident)) continue;
      if (ct !== null && (ct.find(source, o.dst, IPPROTO_ICMP, ident, 0, now) !== 0 || ct.find(o.dst, source, IPPROTO_ICMP, ident, 0, now) !== 0)) continue;
      break;
    }
    // inet_create: IP_PMTUDISC_DONT with ip_no_pmtu_disc, else WANT, unless -M set it.
    const pmtudisc = o.pmtudisc ?? (this.ns.sys.ip_no_pmtu_disc ? IP_PMTUDISC_DONT : IP_PMTUDISC_WANT);
    const sock = new PingSocket(ident, o.dst, bound, o.ttl ?? this.ns.sys.ip_default_ttl, oif, onItem, o.tos ?? 0, o.pattern ?? null, pmtudisc, o.mark ?? 0, o.options);
    this.pings = [...this.pings, sock];
    return { sock, source };
  }

  closePing(sock: PingSocket): void {
    this.pings = this.pings.filter((p) => p !== sock);
  }


  /**
   * Whether sendto() of an echo request with `dataLen` bytes of data fails
   * with ENOBUFS for a socket whose sk_sndbuf is `sndbuf` (ping -S): cut
   * into more fragments of the route's MTU, now, than it lets be allocated
   * (fragmentsNoBufs). IP_PMTUDISC_DO cuts none (EMSGSIZE first).
   */
  pingNoBufs(sock: PingSocket, dataLen: number, sndbuf: number): boolean {
    const rt = routeOutput(this.ns, { dst: sock.dst, src: sock.bound, oif: sock.oif, tos: sock.tos, mark: sock.mark, proto: IPPROTO_ICMP, sport: sock.ident });
    return rt.kind !== 'error' && sock.pmtudisc !== IP_PMTUDISC_DO && 28 + dataLen <= 65535 && fragmentsNoBufs(28 + dataLen, rt.mtu, sndbuf);
  }

  /**
   * sendto() of echo request `seq` with `dataLen` bytes of data (at most
   * 65507): routed now (the socket is not connected), its MTU the path's
   * (a learned one, pmtu.ts). __ip_append_data and __ip_make_skb by the
   * socket's IP_MTU_DISCOVER: DO refuses a datagram longer than it
   * (EMSGSIZE, and ip_local_error's entry with the MTU) and sets DF; WANT
   * sets DF when the datagram fits, DONT never, and both send a longer one
   * in fragments. Then OUTPUT, POSTROUTING and the neighbour as any local
   * packet. A datagram longer than a slot of the
   * packet pool is held over several, as a reassembled one is (ip-frag.ts
   * FragQueue), and goes through the hooks whole, as the kernel's frag_list.
   */
  pingSend(sock: PingSocket, seq: number, dataLen: number): void {
    if (!this.pings.includes(sock)) return;
    const rt = routeOutput(this.ns, { dst: sock.dst, src: sock.bound, oif: sock.oif, tos: sock.tos, mark: sock.mark, proto: IPPROTO_ICMP, sport: sock.ident });
    if (rt.kind === 'error') return sock.onItem({ kind: 'senderr', seq, message: strerror(rt.errno) });
    const opts = sock.ipOpts, hlen = opts === null ? 20 : 20 + opts.length;
    const e = this.el.engine, totLen = hlen + 8 + dataLen;
    if (sock.pmtudisc === IP_PMTUDISC_DO && totLen > rt.mtu && totLen <= 65535) return sock.onItem({ kind: 'senderr', seq, message: 'Message too long', mtu: rt.mtu });
    const room = (e.pool.maxFrame - ETH_HLEN - hlen) & ~7;
    let msg: Uint8Array | null = null;
    if (8 + dataLen > room) {
      // Over 65535 bytes, or fragments of the route's MTU would not fit a slot (looped back, none are cut): EMSGSIZE.
      if (totLen > 65535 || (rt.kind !== 'local' && rt.mtu + ETH_HLEN > e.pool.maxFrame)) return sock.onItem({ kind: 'senderr', seq, message: 'Message too long' });
      msg = new Uint8Array(8 + dataLen); // once a send, at ping's rate: the message before it is cut into slots
      sock.writeEcho(msg, 0, seq, dataLen);
    }
    const head = e.alloc(null, this.el, `ping icmp_seq=${seq}`);
    if (!head) return sock.onItem({ kind: 'senderr', seq, message: 'No buffer space available' });
    const buf = head.buf, l3 = head.off + ETH_HLEN;
    if (msg === null) {
      head.len = ETH_HLEN + totLen;
      sock.writeEcho(buf, l3 + hlen, seq, dataLen);
    } else if (!this.pingDatagram(head, msg, room, hlen)) return sock.onItem({ kind: 'senderr', seq, message: 'No buffer space available' });
    this.host.writeIpHeader(buf, l3, totLen, IPPROTO_ICMP, rt.src, sock.dst, sock.tos, hlen - 20);
    if (opts !== null) {
      buf.set(opts, l3 + 20);
      optionsBuild(buf, l3, sock.ipOptsDone, rt.src); // an output route: ip_rt_get_source gives the header's source
    }
    buf[l3 + 8] = sock.ttl;
    // ip_dont_fragment: WANT not under a locked MTU (the route's `mtu lock`, or a learned one below min_pmtu).
    if (sock.pmtudisc === IP_PMTUDISC_DO) {
      writeU16(buf, l3 + 6, IP_DF);
      writeU16(buf, l3 + 4, 0); // ip_select_ident: DF and not ignore_df, an unconnected socket: ID 0
    } else if (sock.pmtudisc === IP_PMTUDISC_WANT && totLen <= rt.mtu && !rt.route?.mtuLock && !rt.pmtu?.locked) writeU16(buf, l3 + 6, IP_DF);
    ipv4SetChecksum(buf, l3);
    let sent = true;
    try {
      sent = this.host.localOut(head, rt.src, rt, false, sock.mark);
    } finally {
      // Every way out sends, drops or consumes the whole datagram; after a throw, its slots go back.
      const dg = this.host.datagram();
      this.host.setDatagram(null);
      if (dg !== null) for (const f of dg.frags) e.drop(f, this.el, 'internal_error', 'datagram abandoned');
    }
    // Dropped in OUTPUT or POSTROUTING: sendto() fails with EPERM (after a REJECT's error reached the socket).
    if (!sent) sock.onItem({ kind: 'senderr', seq, message: strerror('EPERM') });
  }

  /** `msg` (an ICMP message) after `head`'s IP header and in slots after it, `room` bytes each: the datagram being sent (the host's datagram()). */
  private pingDatagram(head: Packet, msg: Uint8Array, room: number, hlen: number): boolean {
    const e = this.el.engine, q = new FragQueue('ping', 0, 0);
    for (let at = 0; at < msg.length; at += room) {
      const p = at === 0 ? head : e.alloc(head, this.el, 'ping datagram');
      if (p === null) {
        for (let i = 1; i < q.frags.length; i++) e.drop(q.frags[i]!, this.el, 'no_buffer', 'ping datagram');
        e.drop(head, this.el, 'no_buffer', 'ping datagram');
        return false;
      }
      const end = Math.min(msg.length, at + room), pl = p.off + ETH_HLEN + hlen;
      p.buf.set(msg.subarray(at, end), pl);
      p.len = ETH_HLEN + hlen + end - at;
      q.frags.push(p);
      q.offs.push(at);
      q.ends.push(end);
      q.pOffs.push(pl);
    }
    q.len = msg.length;
    q.l4Sum = 0xffff; // a right checksum
    this.host.setDatagram(q);
    return true;
  }

  /** An ICMP datagram delivered here (`info` describes it), offered to the ping sockets as a raw socket's copy. */
  pingRcv(pkt: Packet): void {
    const buf = pkt.buf, l3 = pkt.off + ETH_HLEN, dg0 = this.host.datagram(), dg = dg0 !== null && dg0.frags[0] === pkt ? dg0 : null;
    const len = dg === null ? pkt.len - ETH_HLEN : readU16(buf, l3 + 2);
    const whole = (): Uint8Array => {
      if (dg === null) return buf.slice(l3, l3 + len);
      // Reassembled: the head's header, then each fragment's data.
      const out = new Uint8Array(len), ihl = (buf[l3]! & 15) << 2;
      out.set(buf.subarray(l3, l3 + ihl));
      for (let i = 0, at = ihl; i < dg.frags.length && at < len; i++) {
        const k = Math.min(dg.fragLen(i), len - at);
        out.set(buf.subarray(dg.pOffs[i]!, dg.pOffs[i]! + k), at);
        at += k;
      }
      return out;
    };
    const l4 = l3 + ((buf[l3]! & 15) << 2);
    let info = -1;
    if (buf[l4] === ICMP_DEST_UNREACH && buf[l4 + 1] === ICMP_FRAG_NEEDED) {
      // icmp_unreach: the MTU it hands on, none with ip_no_pmtu_disc 1; with 2 (or 3: ICMP validates no tag) it drops the error.
      const nopmtu = this.ns.sys.ip_no_pmtu_disc;
      if (nopmtu >= 2) return;
      info = nopmtu === 0 ? readU16(buf, l4 + 6) : 0;
      this.pingPmtu(buf, l4, pkt.len - ETH_HLEN - (l4 - l3), info);
    }
    // Every raw ICMP socket gets its copy (raw_v4_input, raw_icmp_error): two pings given one identifier (-e) both take it.
    for (const s of this.pings) s.take(buf, l3, dg === null ? len : pkt.len - ETH_HLEN, whole, info);
  }

  /**
   * A fragmentation needed about an ICMP datagram that reaches ping's raw
   * socket (any open here: raw_icmp_error): raw_err's ipv4_sk_update_pmtu,
   * routed with the socket's device and TOS.
   */
  private pingPmtu(buf: Uint8Array, l4: number, len: number, mtu: number): void {
    const q3 = l4 + 8, s = this.pings[0]!;
    if (len < 8 + 20 || buf[q3 + 9] !== IPPROTO_ICMP) return;
    updatePmtu(this.ns, { dst: readU32(buf, q3 + 16), src: readU32(buf, q3 + 12), oif: s.oif, tos: s.tos, proto: IPPROTO_ICMP }, mtu);
  }

  // ---- arping (arping-socket.ts) -------------------------------------------

  /**
   * arping's main() up to its loop: the device (-I, else the one
   * RTM_GETROUTE names for the target), check_device's flags, and the
   * source its probe socket finds (bound to -s, else a UDP socket bound to
   * the device with SO_DONTROUTE connected to the target's port 1025), or
   * what arping prints instead.
   */
  openArping(o: ArpingOpen, onItem: (item: PingItem) => void): { sock: ArpingSocket; source: number; device: string } {
    let dev = o.device !== undefined && o.device !== '' ? o.device : undefined;
    if (dev === undefined) {
      const r = routeOutput(this.ns, { dst: o.dst });
      if (r.kind === 'error') throw new ArpingError('arping: NETLINK_ROUTE unexpected iov element', 1);
      dev = this.ns.linkByIndex(r.oif)?.name ?? '';
    }
    const l = this.ns.link(dev);
    if (!l) throw new ArpingError(`arping: Device ${dev} not available.`, 2);
    if (!l.up) throw new ArpingError(`Interface "${dev}" is down`, 2, true);
    if (l.noarp || l.kind === 'loopback') throw new ArpingError(`Interface "${dev}" is not ARPable`, o.dad ? 0 : 2, true);
    let src = 0;
    if (o.source !== undefined) {
      if (o.source.addr < 0) throw new ArpingError(`arping: invalid source ${o.source.text}`, 2);
      src = o.source.addr;
    }
    if (!o.dad && o.unsolicited && o.source === undefined) src = o.dst;
    if (!o.dad || o.source !== undefined) {
      if (o.source !== undefined || src !== 0) {
        // inet_bind: an address of this host (or a broadcast or multicast one), unless ip_nonlocal_bind.
        const t = addrType(this.ns, src);
        if (src !== 0 && t !== 'local' && t !== 'broadcast' && t !== 'multicast' && !this.ns.sys.ip_nonlocal_bind) throw new ArpingError('arping: bind: Cannot assign requested address', 2);
      } else if (!o.dad && !o.unsolicited) {
        const r = routeOutput(this.ns, { dst: o.dst, oif: l.index, scope: RT_SCOPE_LINK, proto: IPPROTO_UDP, dport: 1025 });
        // ip4_datagram_connect: a broadcast route without SO_BROADCAST is EACCES.
        if (r.kind === 'error' || r.kind === 'broadcast') throw new ArpingError(`arping: connect: ${strerror(r.kind === 'error' ? r.errno : 'EACCES')}`, 2);
        src = r.src;
      }
    }
    const sock = new ArpingSocket(l.index, l.mac, src >>> 0, o.dst, o.advert === true, onItem);
    this.arpings = [...this.arpings, sock];
    return { sock, source: src >>> 0, device: dev };
  }

  closeArping(sock: ArpingSocket): void {
    this.arpings = this.arpings.filter((s) => s !== sock);
  }

  /**
   * send_pack: an ARP request (-A: reply) from the device's address, to
   * `to` (the device's broadcast address, or the MAC a reply taught arping),
   * both in the Ethernet header and as the target hardware address (-A: its
   * own); straight onto the device (dev_queue_xmit). A device gone down
   * fails the sendto() (ENETDOWN), which arping does not count.
   */
  arpingSend(sock: ArpingSocket, seq: number, to: number): void {
    if (!this.arpings.includes(sock)) return;
    const l = this.host.device(sock.ifindex);
    if (!l || !l.up) return sock.onItem({ kind: 'senderr', seq, message: strerror('ENETDOWN') });
    const e = this.el.engine;
    const p = e.alloc(null, this.el, `arping ${ipToString(sock.dst)}`);
    if (!p) return sock.onItem({ kind: 'senderr', seq, message: strerror('ENOBUFS') });
    const mac = l.mac, tha = sock.advert ? mac : to;
    writeEth(p.buf, p.off, macHi(to), macLo(to), macHi(mac), macLo(mac), ETHERTYPE_ARP);
    writeArp(p.buf, p.off + ETH_HLEN, sock.advert ? ARPOP_REPLY : ARPOP_REQUEST, macHi(mac), macLo(mac), sock.src, macHi(tha), macLo(tha), sock.dst);
    p.len = ARP_FRAME_LEN;
    sock.onItem({ kind: 'sent', seq, ts: wallUs() });
    if (e.tracing) e.note(p, this.el, `arping: ${sock.advert ? 'reply' : 'who-has'} ${ipToString(sock.dst)} tell ${ipToString(sock.src)} on ${l.name}`);
    this.host.send(p, l.index);
  }

  // ---- traceroute (trace-socket.ts) -----------------------------------------

  /**
   * traceroute's sockets: with -I or -T its raw socket's connect() (the
   * route to the destination, or the error; -T's MTU), with -s its bind();
   * the echo identifier one no other socket here uses. The UDP probes'
   * sockets connect as each is sent (traceSend).
   */
  openTrace(o: TraceOpen, onItem: (item: PingItem) => void): TraceSocket {
    let oif = 0;
    if (o.device !== undefined) {
      const l = this.ns.link(o.device);
      if (!l) throw new PingError(`setsockopt SO_BINDTODEVICE: No such device`);
      oif = l.index;
    }
    const bound = o.source ?? 0;
    if (bound && !localAddrDev(this.ns, bound) && !this.ns.sys.ip_nonlocal_bind) throw new PingError('bind: Cannot assign requested address');
    const proto = o.proto === 'udp' ? IPPROTO_UDP : o.proto === 'tcp' ? IPPROTO_TCP : IPPROTO_ICMP;
    let mtu = 0;
    if (proto !== IPPROTO_UDP) {
      const r = routeOutput(this.ns, { dst: o.dst, src: bound, oif, proto });
      if (r.kind === 'error') throw new PingError(`connect: ${strerror(r.errno)}`);
      // IP_MTU: the route's MTU, no more than IP_MAX_MTU (ipv4_mtu); traceroute takes 576 if less.
      mtu = Math.max(576, Math.min(0xffff, r.mtu));
    }
    let ident = 0;
    do ident = Math.floor(Math.random() * 0x10000);
    while (this.pings.some((p) => p.ident === ident) || this.traces.some((t) => t.ident === ident));
    const sock = new TraceSocket(proto, ident, o.dst, proto === IPPROTO_ICMP ? 0 : (o.port ?? 0), bound, oif, mtu, onItem, o.dontfrag ?? false);
    this.traces = [...this.traces, sock];
    return sock;
  }

  closeTrace(sock: TraceSocket): void {
    this.traces = this.traces.filter((t) => t !== sock);
  }

  /**
   * Probe `key` (the default method's UDP destination port, -I's echo
   * sequence number, -U's and -T's count) with TTL `ttl` and `dataLen`
   * bytes of data: routed now (a UDP probe's connect(); its failure is
   * traceroute's), never DF (IP_PMTUDISC_DONT), then OUTPUT, POSTROUTING
   * and the neighbour as any local packet. With -F (IP_PMTUDISC_PROBE) DF,
   * and a probe longer than the device's MTU (not the path's: ip_sk_use_pmtu)
   * is not sent: EMSGSIZE and ip_local_error naming that MTU.
   */
  traceSend(sock: TraceSocket, key: number, ttl: number, dataLen: number): void {
    if (!this.traces.includes(sock)) return;
    const proto = sock.proto, ports = proto !== IPPROTO_ICMP;
    const sport = ports ? sock.portFor(key) : sock.ident;
    const rt = routeOutput(this.ns, { dst: sock.dst, src: sock.bound, oif: sock.oif, proto, sport, dport: ports ? sock.dportFor(key) : 0 });
    if (rt.kind === 'error') return sock.onItem({ kind: 'senderr', seq: key, message: strerror(rt.errno), ...(proto === IPPROTO_UDP ? { call: 'connect' as const } : {}) });
    const e = this.el.engine, l4Len = sock.headerLen() + dataLen, totLen = 20 + l4Len;
    // IP_PMTUDISC_PROBE: the device's MTU for the send and for the output (ip_skb_dst_mtu), a learned one ignored.
    const out = sock.dontfrag ? { ...rt, mtu: this.ns.linkByIndex(rt.oif)?.mtu ?? rt.mtu } : rt;
    if (sock.dontfrag && totLen > out.mtu) return sock.onItem({ kind: 'senderr', seq: key, message: 'Message too long', mtu: out.mtu });
    if (ETH_HLEN + totLen > e.pool.maxFrame) return sock.onItem({ kind: 'senderr', seq: key, message: 'Message too long' });
    const pkt = e.alloc(null, this.el, `traceroute probe ${key}`);
    if (!pkt) return sock.onItem({ kind: 'senderr', seq: key, message: 'No buffer space available' });
    const buf = pkt.buf, l3 = pkt.off + ETH_HLEN;
    pkt.len = ETH_HLEN + totLen;
    this.host.writeIpHeader(buf, l3, totLen, proto, rt.src, sock.dst, 0);
    buf[l3 + 8] = ttl;
    if (sock.dontfrag) writeU16(buf, l3 + 6, IP_DF);
    ipv4SetChecksum(buf, l3);
    sock.writeProbe(buf, l3 + 20, key, dataLen);
    if (proto === IPPROTO_UDP) udpSetChecksum(buf, l3, l3 + 20);
    else if (proto === IPPROTO_TCP) tcpSetChecksum(buf, l3, l3 + 20, l4Len);
    sock.onItem({ kind: 'sent', seq: key, ts: wallUs() });
    // Dropped in OUTPUT or POSTROUTING: send() fails with EPERM (after a REJECT's error reached the socket).
    if (!this.host.localOut(pkt, rt.src, out)) sock.onItem({ kind: 'senderr', seq: key, message: strerror('EPERM') });
  }

  /**
   * A datagram delivered here (ICMP, or with -T or a UDP answer TCP or
   * UDP), offered to the traceroute sockets: true if one took it.
   */
  traceRcv(pkt: Packet): boolean {
    // A reassembled datagram's head fragment holds what they read (the headers, the quoted probe).
    const buf = pkt.buf, l3 = pkt.off + ETH_HLEN, len = pkt.len - ETH_HLEN, l4 = l3 + ((buf[l3]! & 15) << 2);
    let info = -1;
    if (buf[l3 + 9] === IPPROTO_ICMP && buf[l4] === ICMP_DEST_UNREACH && buf[l4 + 1] === ICMP_FRAG_NEEDED && len >= l4 - l3 + 8 + 20) {
      // icmp_unreach: no MTU handed on with ip_no_pmtu_disc 1; dropped with 2, and with 3 unless TCP's (icmp_tag_validation).
      const nopmtu = this.ns.sys.ip_no_pmtu_disc;
      if (nopmtu === 2 || (nopmtu >= 3 && buf[l4 + 8 + 9] !== IPPROTO_TCP)) return false;
      info = nopmtu === 1 ? 0 : readU16(buf, l4 + 6);
    }
    for (const t of this.traces) {
      if (!t.take(buf, l3, len, info)) continue;
      // The socket's err handler (__udp4_lib_err, raw_err): ipv4_sk_update_pmtu, routed with its device.
      if (info < 0) return true;
      const q3 = l4 + 8, q4 = q3 + ((buf[q3]! & 15) << 2), ports = t.proto !== IPPROTO_ICMP;
      const flow = { dst: readU32(buf, q3 + 16), src: readU32(buf, q3 + 12), oif: t.oif, tos: 0, proto: t.proto };
      updatePmtu(this.ns, ports ? { ...flow, sport: readU16(buf, q4), dport: readU16(buf, q4 + 2) } : flow, info, true);
      return true;
    }
    return false;
  }
}
