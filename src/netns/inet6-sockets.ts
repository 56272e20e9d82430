// The IPv6 side of a namespace's own sockets: ping -6's raw ICMPv6 socket
// (ping6-socket.ts) and traceroute -6's (trace6-socket.ts), and what the
// stack does with a datagram for one of its addresses that no ICMPv6
// handler took (a UDP answer to a probe's socket, else a port unreachable;
// a TCP segment: a reset). Routing and the neighbour are ndisc.ts's.
import type { Element } from '../datapath/element.js';
import type { Packet } from '../datapath/packet.js';
import type { Netns } from './netns.js';
import type { Interface } from './interfaces.js';
import type { Ndisc } from './ndisc.js';
import type { Ip6Forward } from './ip6-forward.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { HOP_LIMIT, flowHash } from './ndisc.js';
import { ICMPV6_ADDR_UNREACH, ICMPV6_DEST_UNREACH, ICMPV6_ECHO_REPLY, ICMPV6_PORT_UNREACH, icmpv6SetChecksum } from '../wire/icmpv6.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { IPV6_DST, IPV6_HLEN, IPV6_SRC, NEXTHDR_ICMP, ip6Equal, ip6IsLinkLocal, ip6IsMulticast, writeIpv6Head } from '../wire/ipv6.js';
import { type Ping6Open, Ping6Socket } from './ping6-socket.js';
import { PingError, type PingItem, wallUs } from './ping-socket.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, tcp6SetChecksum, writeTcp } from '../wire/tcp.js';
import { Trace6Socket } from './trace6-socket.js';
import { ip6ToString } from '../wire/tcpdump-text.js';
import { lladdr6, usable6 } from './inet6.js';
import { readU16, readU32, writeU32 } from '../wire/addr.js';
import { source6 } from './route6-output.js';
import { strerror } from './errors.js';

export class Inet6Sockets {
  /** Open ping -6 sockets (ping6-socket.ts): each sees the echo replies delivered here. */
  private pings6: Ping6Socket[] = [];
  /** Open traceroute -6 sockets (trace6-socket.ts): each sees the IPv6 datagrams and ICMPv6 errors delivered here. */
  private traces6: Trace6Socket[] = [];

  /** `el`: what the sockets' packets are allocated and dropped as. */
  constructor(private readonly el: Element, private readonly ns: Netns<Packet>, private readonly ndisc: Ndisc, private readonly fwd6: Ip6Forward) {}

  /** An echo reply delivered here (on `l`): each ping -6 socket reads a copy; a traceroute -6 socket takes it by what it sent. */
  echoReply(pkt: Packet, l: Interface, l3: number, l4: number, len: number): void {
    for (const s of this.pings6) s.take(pkt.buf, l3, l4, len, l.index, l.name);
    for (const t of this.traces6) t.take6(pkt.buf, l3, NEXTHDR_ICMP, l4, len);
  }

  /** An ICMPv6 error delivered here: each raw ICMPv6 socket gets its copy (raw6_icmp_error): ping -6's; traceroute's take theirs by what they sent. */
  icmpError(pkt: Packet, l: Interface, l3: number, l4: number, len: number): void {
    for (const s of this.pings6) s.takeIcmpError(pkt.buf, l3, l4, len, l.index, l.name);
    for (const t of this.traces6) if (t.take6(pkt.buf, l3, NEXTHDR_ICMP, l4, len)) return;
  }

  // ---- ping -6 (ping6-socket.ts) --------------------------------------------

  /**
   * ping -6's raw socket (ping6_run): its device (-I's, else the scope's;
   * none: each send takes the route's) and, for a destination not
   * link-local, the connect() probe: an address of the namespace's own is
   * its own source, another's the route's (route6-output.ts: strictly out
   * of -I's device; none: ENETUNREACH) with ipv6_dev_get_saddr's source.
   * A link-local is not connected: the source ping prints is `::`. Scope and device are checked as getaddrinfo and if_nametoindex
   * do (a numeric scope is taken as it is). A multicast destination is not
   * modelled.
   */
  openPing(o: Ping6Open, onItem: (item: PingItem) => void): { sock: Ping6Socket; source: string; scope?: string } {
    const dev = o.device === undefined ? undefined : this.ns.link(o.device);
    let scopeIndex = 0, scope: string | undefined;
    if (o.scope !== undefined) {
      const l = /^\d+$/.test(o.scope) ? this.ns.linkByIndex(Number(o.scope)) : this.ns.link(o.scope);
      if (!l && !/^\d+$/.test(o.scope)) throw new PingError('Name or service not known');
      scopeIndex = l ? l.index : Number(o.scope);
      scope = l ? l.name : o.scope;
    }
    if (o.device !== undefined && !dev) throw new PingError(`unknown iface: ${o.device}`);
    if (o.dst[0] === 0xff) throw new PingError('dpemu: IPv6 multicast ping is not emulated');
    let source = '::';
    if (!ip6IsLinkLocal(o.dst, 0)) {
      const own = this.ns.links().find((l) => l.addrs6.some((a) => usable6(a) && ip6Equal(a.bytes, 0, o.dst, 0)) && (!dev || dev === l || l.kind === 'loopback'));
      if (own) source = ip6ToString(o.dst, 0);
      else {
        const h = this.ndisc.hop;
        if (!this.ndisc.route(o.dst, 0, dev)) throw new PingError('connect: Network is unreachable');
        if (h.local) throw new PingError('dpemu: ping -6 to an anycast address of its own is not emulated');
        const a = source6(this.ns.links(), h.dev, o.dst);
        if (!a) throw new PingError('connect: Cannot assign requested address');
        source = a.text;
      }
    }
    let ident = o.ident ?? 0;
    for (let tries = 0; o.ident === undefined && tries < 0x10000; tries++) {
      ident = Math.floor(Math.random() * 0x10000);
      if (!this.pings6.some((p) => p.ident === ident)) break;
    }
    const oif = dev?.index ?? scopeIndex;
    const sock = new Ping6Socket(ident, o.dst, oif, dev?.index ?? 0, scopeIndex, o.ttl ?? HOP_LIMIT, o.tclass ?? 0, o.pattern ?? null, onItem);
    this.pings6 = [...this.pings6, sock];
    return { sock, source, ...(scope !== undefined ? { scope } : {}) };
  }

  /**
   * ndisc_error_report for a held packet of ours (all this namespace sends
   * over IPv6): icmp6_send's address unreachable goes from the packet's
   * source to itself, over lo (none when lo is down), and reaches the raw
   * socket whose echo request it was (rawv6_err), which prints it with the
   * device as the sender's scope. An error about another packet (an echo
   * reply) is taken by no socket.
   */
  addressUnreachable(pkt: Packet, l: Interface | undefined): void {
    const l3 = pkt.off + ETH_HLEN, l4 = l3 + IPV6_HLEN, len = pkt.len - ETH_HLEN - IPV6_HLEN;
    if (!l || pkt.buf[l3 + 6] !== NEXTHDR_ICMP || !this.ns.links().some((x) => x.kind === 'loopback' && x.up)) return;
    const from = ip6ToString(pkt.buf, l3 + IPV6_SRC) + (ip6IsLinkLocal(pkt.buf, l3 + IPV6_SRC) ? `%${l.name}` : '');
    for (const s of this.pings6) if (s.takeError(pkt.buf, l4, len, ICMPV6_DEST_UNREACH, ICMPV6_ADDR_UNREACH, from, pkt.buf, l3 + IPV6_DST)) return;
  }

  closePing(sock: Ping6Socket): void {
    this.pings6 = this.pings6.filter((p) => p !== sock);
  }

  /**
   * sendto() of echo request `seq` (`dataLen` bytes of data): to a
   * link-local out of its device, else the first fe80::/64 route's (the one
   * configured first), from the device's link-local; to another address by
   * its route (strictly out of -I's device), from ipv6_dev_get_saddr's
   * source; to the neighbour, the route's gateway or the destination
   * (solicited first when unknown: ndisc.ts). To an address of the namespace's own, looped back:
   * the reply (icmpv6_echo_reply, hop limit 64) reaches the socket at once.
   * No route (the device is down, or has no link-local) fails as the kernel
   * does, ENETUNREACH (ENODEV for a scope naming no device, EINVAL for -I
   * and a scope naming two), which ping does not print. Fragments are not modelled: a datagram longer than the
   * device's MTU fails with EMSGSIZE.
   */
  pingSend(sock: Ping6Socket, seq: number, dataLen: number): void {
    if (!this.pings6.includes(sock)) return;
    // ip6_datagram_send_ctl: IPV6_PKTINFO's device (-I) and a scope naming another disagree.
    if (sock.bound !== 0 && sock.scope !== 0 && sock.bound !== sock.scope) return sock.onItem({ kind: 'senderr', seq, message: strerror('EINVAL') });
    const link = ip6IsLinkLocal(sock.dst, 0);
    let l: Interface | undefined;
    if (sock.oif !== 0) l = this.ns.linkByIndex(sock.oif);
    else if (link) {
      for (const c of this.ns.links()) if (c.kind !== 'loopback' && lladdr6(c) !== undefined && (!l || lladdr6(c)!.seq < lladdr6(l)!.seq)) l = c;
    }
    // An address of its own (not a link-local) answers from itself; another goes by its route.
    let src: Uint8Array | undefined, gw: Uint8Array | null = null;
    if (!link) {
      for (const c of this.ns.links()) {
        src = c.addrs6.find((a) => usable6(a) && ip6Equal(a.bytes, 0, sock.dst, 0))?.bytes;
        if (src) {
          l = c;
          break;
        }
      }
      if (!src) {
        const h = this.ndisc.hop;
        if (!this.ndisc.route(sock.dst, 0, sock.bound !== 0 ? this.ns.linkByIndex(sock.bound) : undefined) || h.local) return sock.onItem({ kind: 'senderr', seq, message: strerror('ENETUNREACH') });
        l = h.dev;
        gw = h.gw;
        src = source6(this.ns.links(), l, sock.dst)?.bytes;
      }
    }
    if (sock.oif !== 0 && !l) return sock.onItem({ kind: 'senderr', seq, message: strerror('ENODEV') });
    src ??= l && lladdr6(l)?.bytes;
    if (!l || !l.up || !src) return sock.onItem({ kind: 'senderr', seq, message: strerror('ENETUNREACH') });
    if (IPV6_HLEN + 8 + dataLen > (l.kind === 'loopback' ? 65535 : l.mtu)) return sock.onItem({ kind: 'senderr', seq, message: 'Message too long' });
    if (ip6Equal(src, 0, sock.dst, 0)) {
      // Looped back: the echo answered by this stack (once a send, at ping's rate).
      const d = new Uint8Array(IPV6_HLEN + 8 + dataLen);
      sock.writeEcho(d, 0, src, seq, dataLen);
      d[7] = HOP_LIMIT;
      d[IPV6_HLEN] = ICMPV6_ECHO_REPLY;
      icmpv6SetChecksum(d, 0, IPV6_HLEN, 8 + dataLen);
      sock.take(d, 0, IPV6_HLEN, 8 + dataLen, l.index, l.name);
      return;
    }
    const e = this.el.engine, p = e.alloc(null, this.el, `ping -6 icmp_seq=${seq}`);
    if (!p) return sock.onItem({ kind: 'senderr', seq, message: 'No buffer space available' });
    if (ETH_HLEN + IPV6_HLEN + 8 + dataLen > e.pool.maxFrame) {
      e.drop(p, this.el, 'no_buffer', 'ping -6 datagram longer than a slot');
      return sock.onItem({ kind: 'senderr', seq, message: 'Message too long' });
    }
    const l3 = p.off + ETH_HLEN;
    sock.writeEcho(p.buf, l3, src, seq, dataLen);
    // auto_flowlabels: the flow's hash as the label (ip6_make_flowlabel), which no checksum covers.
    writeU32(p.buf, l3, (readU32(p.buf, l3) | flowHash(p.buf, l3, sock.ident)) >>> 0);
    p.len = ETH_HLEN + IPV6_HLEN + 8 + dataLen;
    this.ndisc.sendTo(p, l, gw, `ping -6: echo request icmp_seq=${seq}`);
  }

  /**
   * traceroute -6's sockets: with -i SO_BINDTODEVICE, with -s bind() (an
   * address of the namespace's: ipv6_chk_addr), with -I or -T its raw
   * socket's connect() (the route, strictly out of -i's device; a
   * link-local only with -i; -T's MTU, the device's); the echo identifier
   * one no other socket here uses. The UDP probes' sockets connect as each
   * is sent (traceSend).
   */
  openTrace(o: { proto: 'udp' | 'icmp' | 'tcp'; dst: Uint8Array; port?: number; device?: string; source?: Uint8Array }, onItem: (item: PingItem) => void): Trace6Socket {
    const dev = o.device === undefined ? undefined : this.ns.link(o.device);
    if (o.device !== undefined && !dev) throw new PingError('setsockopt SO_BINDTODEVICE: No such device');
    const bound = o.source ?? null;
    if (bound && !this.ownAddr6(bound)) throw new PingError('bind: Cannot assign requested address');
    const proto = o.proto === 'udp' ? IPPROTO_UDP : o.proto === 'tcp' ? IPPROTO_TCP : IPPROTO_ICMP;
    let mtu = 0;
    if (proto !== IPPROTO_UDP) {
      const err = this.connect6(o.dst, dev);
      if (err !== null) throw new PingError(`connect: ${strerror(err)}`);
      const h = this.ndisc.hop;
      mtu = h.local ? 65536 : h.dev!.mtu;
    }
    let ident = 0;
    do ident = Math.floor(Math.random() * 0x10000);
    while (this.pings6.some((p) => p.ident === ident) || this.traces6.some((t) => t.ident === ident));
    const sock = new Trace6Socket(proto, ident, o.dst, proto === IPPROTO_ICMP ? 0 : (o.port ?? 0), bound, dev?.index ?? 0, mtu, onItem);
    this.traces6 = [...this.traces6, sock];
    return sock;
  }

  closeTrace(sock: Trace6Socket): void {
    this.traces6 = this.traces6.filter((t) => t !== sock);
  }

  /** An address of the namespace's (any device's). */
  private ownAddr6(a: Uint8Array): Interface | undefined {
    return this.ns.links().find((c) => c.addrs6.some((x) => ip6Equal(x.bytes, 0, a, 0)));
  }

  /**
   * ip6_datagram_connect's route to `dst` (out of `dev` when bound): into
   * ndisc.hop, null when there is one, else the errno (a link-local needs
   * a device; one of our own addresses goes over lo).
   */
  private connect6(dst: Uint8Array, dev: Interface | undefined): 'EINVAL' | 'ENETUNREACH' | null {
    const h = this.ndisc.hop;
    if (ip6IsLinkLocal(dst, 0)) {
      if (!dev) return 'EINVAL';
      h.dev = dev;
      h.gw = null;
      h.local = this.ownAddr6(dst) !== undefined;
      return null;
    }
    return this.ndisc.route(dst, 0, dev) ? null : 'ENETUNREACH';
  }

  /**
   * Probe `key` (the default method's UDP destination port, -U's and -T's
   * count, -I's echo sequence number) with hop limit `hops` and `dataLen`
   * bytes of data: routed now (a UDP probe's connect(); its failure is
   * traceroute's), from -s's address or ipv6_dev_get_saddr's, with the
   * flow's label (auto_flowlabels), to the neighbour. To an address of our
   * own it is looped back and answered at once, as lo's delivery would (a
   * port unreachable, the echo reply or a reset, hop limit 64, never
   * rate-limited).
   * Fragments are not modelled: a probe longer than the device's MTU fails
   * with EMSGSIZE (a `*`).
   */
  traceSend(sock: Trace6Socket, key: number, hops: number, dataLen: number): void {
    if (!this.traces6.includes(sock)) return;
    const udp = sock.proto === IPPROTO_UDP, h = this.ndisc.hop;
    const err = this.connect6(sock.dst6, sock.oif !== 0 ? this.ns.linkByIndex(sock.oif) : undefined);
    if (err !== null) return sock.onItem({ kind: 'senderr', seq: key, message: strerror(err), ...(udp ? { call: 'connect' as const } : {}) });
    const l = h.dev!, gw = h.gw, len = IPV6_HLEN + sock.headerLen() + dataLen;
    const src = sock.bound6 ?? (h.local ? sock.dst6 : (source6(this.ns.links(), l, sock.dst6)?.bytes ?? lladdr6(l)?.bytes));
    if (!src || !l.up) return sock.onItem({ kind: 'senderr', seq: key, message: strerror('ENETUNREACH'), ...(udp ? { call: 'connect' as const } : {}) });
    if (len > (h.local ? 65535 : l.mtu)) return sock.onItem({ kind: 'senderr', seq: key, message: 'Message too long' });
    if (h.local) {
      // lo: the probe, then what the stack answers it with, straight to the socket.
      const d = new Uint8Array(IPV6_HLEN + 8 + len);
      sock.onItem({ kind: 'sent', seq: key, ts: wallUs() });
      sock.writeProbe6(d, IPV6_HLEN + 8, src, key, hops, dataLen, 0);
      if (udp) {
        writeIpv6Head(d, 0, 0, 8 + len, NEXTHDR_ICMP, HOP_LIMIT);
        d.copyWithin(IPV6_SRC, IPV6_HLEN + 8 + IPV6_DST, IPV6_HLEN + 8 + IPV6_DST + 16);
        d.copyWithin(IPV6_DST, IPV6_HLEN + 8 + IPV6_SRC, IPV6_HLEN + 8 + IPV6_SRC + 16);
        d[IPV6_HLEN] = ICMPV6_DEST_UNREACH;
        d[IPV6_HLEN + 1] = ICMPV6_PORT_UNREACH;
        writeU32(d, IPV6_HLEN + 4, 0);
        icmpv6SetChecksum(d, 0, IPV6_HLEN, 8 + len);
        sock.take6(d, 0, NEXTHDR_ICMP, IPV6_HLEN, 8 + len);
      } else {
        const r = d.subarray(IPV6_HLEN + 8);
        r.copyWithin(IPV6_SRC, IPV6_DST, IPV6_DST + 16);
        r.set(src, IPV6_DST);
        if (sock.proto === IPPROTO_TCP) {
          // tcp_v6_send_reset: RST|ACK acking the SYN, no window.
          writeIpv6Head(r, 0, 0, 20, IPPROTO_TCP, HOP_LIMIT);
          writeTcp(r, IPV6_HLEN, sock.port, sock.portFor(key), 0, (readU32(r, IPV6_HLEN + 4) + 1) >>> 0, TCP_RST | TCP_ACK, 0);
          tcp6SetChecksum(r, 0, IPV6_HLEN, 20);
          sock.take6(r, 0, IPPROTO_TCP, IPV6_HLEN, 20);
          return;
        }
        r[7] = HOP_LIMIT;
        r[IPV6_HLEN] = ICMPV6_ECHO_REPLY;
        icmpv6SetChecksum(r, 0, IPV6_HLEN, 8 + dataLen);
        sock.take6(r, 0, NEXTHDR_ICMP, IPV6_HLEN, 8 + dataLen);
      }
      return;
    }
    const e = this.el.engine;
    if (ETH_HLEN + len > e.pool.maxFrame) return sock.onItem({ kind: 'senderr', seq: key, message: 'Message too long' });
    const p = e.alloc(null, this.el, `traceroute -6 probe ${key}`);
    if (!p) return sock.onItem({ kind: 'senderr', seq: key, message: 'No buffer space available' });
    const l3 = p.off + ETH_HLEN;
    p.len = ETH_HLEN + sock.writeProbe6(p.buf, l3, src, key, hops, dataLen, 0);
    // auto_flowlabels: the flow's hash as the label (ip6_make_flowlabel), which no checksum covers.
    writeU32(p.buf, l3, (readU32(p.buf, l3) | flowHash(p.buf, l3, sock.proto === IPPROTO_ICMP ? sock.ident : sock.portFor(key))) >>> 0);
    sock.onItem({ kind: 'sent', seq: key, ts: wallUs() });
    this.ndisc.sendTo(p, l, gw, `traceroute -6: probe ${key}`);
  }

  /**
   * A datagram for this host (on `l`) of another transport than ICMPv6: a
   * UDP answer to a traceroute probe's socket, else the port unreachable
   * (__udp6_lib_rcv: none for a group), from the address it was sent to,
   * as icmp6_send limits it; TCP: -T's raw sockets read a copy, and no TCP
   * socket takes it (tcp_v6_send_reset). The other protocols' parameter
   * problem is not modelled.
   */
  transport(pkt: Packet, l: Interface, l3: number, nh: number, l4: number): void {
    const e = this.el.engine, buf = pkt.buf, len = pkt.off + pkt.len - l4;
    if (nh === IPPROTO_TCP) {
      if (len < 20 || ip6IsMulticast(buf, l3 + IPV6_DST)) return e.drop(pkt, this.el, 'malformed', 'IPv6 TCP: short, or to a group');
      for (const t of this.traces6) t.take6(buf, l3, nh, l4, len);
      return this.tcpReset6(pkt, l, l3, l4, len);
    }
    if (nh === IPPROTO_UDP) {
      if (len < 8) return e.drop(pkt, this.el, 'malformed', 'IPv6 UDP: short');
      for (const t of this.traces6) if (t.take6(buf, l3, nh, l4, len)) return e.consume(pkt, this.el, 'ipv6: UDP to a traceroute probe\'s socket');
      if (ip6IsMulticast(buf, l3 + IPV6_DST)) return e.consume(pkt, this.el, 'ipv6: UDP to a group: no socket');
      this.fwd6.icmp6Send(pkt, ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, 0, true);
      return e.consume(pkt, this.el, 'ipv6: UDP: no socket, ICMPv6 port unreachable sent');
    }
    return e.drop(pkt, this.el, 'unknown_protocol', 'IPv6 transport other than ICMPv6, UDP and TCP (not modelled)');
  }

  /**
   * tcp_v6_send_reset for a segment (`len` bytes at l4) no socket takes:
   * none for a reset; else from the address it was sent to, back by the
   * route to its source (a link-local's out of `l`), hop limit 64, a flow
   * label, RST with the segment's ACK as its sequence, or RST|ACK acking
   * what it carried (its SYN and FIN count one), window 0.
   */
  private tcpReset6(pkt: Packet, l: Interface, l3: number, l4: number, len: number): void {
    const e = this.el.engine, buf = pkt.buf, flags = buf[l4 + 13]!, doff = buf[l4 + 12]! >>> 4;
    if (flags & TCP_RST || doff < 5) return e.consume(pkt, this.el, 'ipv6: TCP reset, no socket: ignored');
    const h = this.ndisc.hop;
    if (!this.ndisc.route(buf, l3 + IPV6_SRC, ip6IsLinkLocal(buf, l3 + IPV6_SRC) ? l : undefined) || h.local) return e.consume(pkt, this.el, 'ipv6: TCP, no socket, no route back: no reset');
    const rst = e.alloc(pkt, this.el, 'TCP reset');
    if (rst === null) return e.consume(pkt, this.el, 'ipv6: TCP, no socket, no reset (no buffer)');
    const rb = rst.buf, r3 = rst.off + ETH_HLEN, r4 = r3 + IPV6_HLEN;
    const ack = flags & TCP_ACK ? 0 : (readU32(buf, l4 + 4) + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0) + len - doff * 4) >>> 0;
    writeIpv6Head(rb, r3, 0, 20, IPPROTO_TCP, HOP_LIMIT);
    rb.copyWithin(r3 + IPV6_SRC, l3 + IPV6_DST, l3 + IPV6_DST + 16); // one slab: rb is buf
    rb.copyWithin(r3 + IPV6_DST, l3 + IPV6_SRC, l3 + IPV6_SRC + 16);
    writeTcp(rb, r4, readU16(buf, l4 + 2), readU16(buf, l4), flags & TCP_ACK ? readU32(buf, l4 + 8) : 0, ack, flags & TCP_ACK ? TCP_RST : TCP_RST | TCP_ACK, 0);
    tcp6SetChecksum(rb, r3, r4, 20);
    writeU32(rb, r3, (readU32(rb, r3) | flowHash(rb, r3, readU16(rb, r4))) >>> 0);
    rst.len = ETH_HLEN + IPV6_HLEN + 20;
    this.ndisc.sendTo(rst, h.dev!, h.gw, 'tcp6: reset sent');
    return e.consume(pkt, this.el, 'ipv6: TCP, no socket: reset sent');
  }
}
