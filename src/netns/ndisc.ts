// IPv6 input of a namespace for what it holds (inet6.ts: link-locals, ::1
// and the addresses `ip -6 addr add` gave): ip6_rcv_core's checks, local
// delivery to one of its addresses or to a group it joined, then ICMPv6:
// neighbour solicitations for an address of the device answered with
// advertisements as ndisc_recv_ns/ndisc_send_na build them (a tentative
// address is neither delivered to nor answered for: an NS from :: or an NA
// for it fails its DAD, dad6.ts, whose solicitations go from here), echo requests
// with replies (icmpv6_echo_reply, routed back by route6-output.ts), the
// neighbour cache (nd6-cache.ts) updated from NS, RS and NA. What a
// router's kernel takes and ignores (router solicitations and
// advertisements, MLD reports, redirects, groups it did not join, DAD for
// another address) is consumed, not dropped; an MLD query is mld6.ts's,
// whose reports go from here. A frame to another unicast address
// is ip6-forward.ts's. Transports other than ICMPv6 are not modelled.

import type { Element } from '../datapath/element.js';
import { HEADROOM, type Packet } from '../datapath/packet.js';
import { macHi, macLo, readMacHi, readMacLo, readU16, writeMac } from '../wire/addr.js';
import { ETH_HLEN, ETHERTYPE_IPV6, writeEth } from '../wire/ethernet.js';
import {
  IPV6_DST, IPV6_HLEN, IPV6_SRC, ND_HOPLIMIT, NEXTHDR_HOP, NEXTHDR_ICMP, ip6Copy, ip6Equal, ip6IsAny, ip6IsLoopback, ip6IsMulticast, ip6IsSolicitedNodeOf,
  ip6IsWellKnownGroup, ipv6FlowInfo, ipv6HopLimit, writeIpv6Head, ip6IsLinkLocal } from '../wire/ipv6.js';
import {
  ICMPV6_DEST_UNREACH, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, ICMPV6_PARAMPROB, ICMPV6_PKT_TOOBIG, ICMPV6_TIME_EXCEED, NA_OVERRIDE, NA_ROUTER, NA_SOLICITED, ND_MSG_LEN, ND_OPT_LL_LEN, ND_OPT_NONCE, ND_OPT_SOURCE_LL_ADDR,
  ND_OPT_TARGET_LL_ADDR, NDISC_NEIGHBOUR_ADVERTISEMENT, NDISC_NEIGHBOUR_SOLICITATION, NDISC_ROUTER_SOLICITATION, icmpv6ChecksumOk,
  icmpv6SetChecksum, ndOptLinkAddr, writeNdOptLinkAddr,
} from '../wire/icmpv6.js';
import type { Interface } from './interfaces.js';
import { type If6Addr, type Route6, lladdr6, usable6 } from './inet6.js';
import { type Fib6Result, lookup6, newFib6Result, newFlow6, source6 } from './route6-output.js';
import type { FibRule6 } from './rules.js';
import { LOOPBACK_IFINDEX } from './netns.js';
import { NUD, NUD_CONNECTED, NUD_IN_TIMER, NUD_VALID, neighMaxProbes, nudTimerStep, probeKind, skbTruesize } from './neighbour.js';
import type { Nd6Cache } from './nd6-cache.js';
import { type Mld6Record, mldv2Mrc } from './mld6.js';

/** The hop limit of what the stack sends that is not ND (net.ipv6.conf.*.hop_limit, 64). */
export const HOP_LIMIT = 64;


/** Where the namespace puts a frame on a device's wire. */
export interface NdiscHost {
  readonly element: Element;
  send(pkt: Packet, ifindex: number): void;
  /** The device of `ifindex`, if it is still there. */
  link(ifindex: number): Interface | undefined;
  /** The device named so. */
  linkNamed(name: string): Interface | undefined;
  /** The namespace's devices by ifindex. */
  links(): readonly Interface[];
  /** The IPv6 FIB as routes6 lists it (kept between changes). */
  fib6(): readonly Route6[];
  /** The IPv6 rules (`ip -6 rule`), in their order. */
  rules6(): readonly FibRule6[];
  /** net.ipv6.conf.all.forwarding is on. */
  forwarding(): boolean;
  /** net.ipv6.icmp.ratelimit (ms). */
  icmp6Ratelimit(): number;
  /** A frame for this host to a unicast address not the namespace's (ip6-forward.ts). */
  forward(pkt: Packet, l: Interface): void;
  /** ndisc_error_report: the ICMPv6 address unreachable about `pkt` (ours, held for a neighbour on `l` that FAILED) to its sender, before it is dropped. */
  addressUnreachable(pkt: Packet, l: Interface | undefined): void;
  /** A datagram for this host on `l` of transport `nh` (not ICMPv6) at l4: a socket's, else the protocol's answer (a UDP port unreachable, a TCP reset). */
  transport(pkt: Packet, l: Interface, l3: number, nh: number, l4: number): void;
  /** An ICMPv6 error delivered here on `l` (header at l3, message at l4, `len` bytes): the sockets' (ping -6's, traceroute's). */
  icmpError(pkt: Packet, l: Interface, l3: number, l4: number, len: number): void;
  /** An echo reply delivered on `l` (header at l3, message at l4, `len` bytes): the raw ICMPv6 sockets' copy (ping -6). */
  echoReply(pkt: Packet, l: Interface, l3: number, l4: number, len: number): void;
  /** addrconf_dad_failure: another node has `a`, tentative on `l` (dad6.ts's dadFailed, its work due at once). */
  dadFailed(l: Interface, a: If6Addr): void;
  /** An MLDv2 query on `l` for the group at buf[off] (all zeros: general), answered within `maxDelayMs` (mld6.ts's mldQuery). */
  mldQuery(l: Interface, buf: Uint8Array, off: number, maxDelayMs: number): void;
}

/** What route() found: out of `dev` to the gateway `gw` (null: to the destination itself), or to ourselves (`local`); none: the rules' `error`. */
export interface Hop6 {
  dev: Interface | undefined;
  gw: Uint8Array | null;
  local: boolean;
  error: Fib6Result['error'];
}

/** The cache's parameters (net.ipv6.neigh.DEV.*) and reachable times are its own (neigh-parms.ts). */
export class Ndisc {
  constructor(private readonly host: NdiscHost, private readonly cache: Nd6Cache<Packet>) {}

  /** The last route()'s answer (reused). */
  readonly hop: Hop6 = { dev: undefined, gw: null, local: false, error: undefined };
  private readonly flow = newFlow6();
  private readonly res = newFib6Result();

  /**
   * ip6_dst_lookup for the destination at buf[off], from the source at
   * src[srcOff] when given (RT6_LOOKUP_F_HAS_SADDR): the route the rules
   * find (out of `oif` when the lookup is strict), into `hop`; false: none
   * (`hop.error`). From no source, a lookup that failed is made again from
   * the source ipv6_dev_get_saddr picks (ip6_dst_lookup_tail), which a
   * `from` rule may select.
   */
  route(buf: Uint8Array, off: number, oif: Interface | undefined, src?: Uint8Array, srcOff = 0): boolean {
    const f = this.flow;
    ip6Copy(f.dst, 0, buf, off);
    f.hasSrc = src !== undefined;
    if (src !== undefined) ip6Copy(f.src, 0, src, srcOff);
    f.iif = LOOPBACK_IFINDEX;
    f.oif = oif === undefined ? 0 : oif.index;
    f.mark = f.tclass = f.proto = f.sport = f.dport = 0;
    if (this.fibLookup(oif?.name)) return true;
    if (src !== undefined || this.res.route !== undefined) return false;
    const a = source6(this.host.links(), undefined, f.dst);
    if (a === undefined) return false;
    ip6Copy(f.src, 0, a.bytes, 0);
    f.hasSrc = true;
    return this.fibLookup(oif?.name);
  }

  /**
   * ip6_route_input for the packet (IPv6 header at l3) that came in on
   * `l`: its addresses, traffic class, mark, next header and ports (the
   * early flow dissection rules with ports ask for), strict on `l` for a
   * link-local destination; into `hop`.
   */
  routeInput(pkt: Packet, l: Interface, l3: number): boolean {
    const f = this.flow, buf = pkt.buf;
    ip6Copy(f.dst, 0, buf, l3 + IPV6_DST);
    ip6Copy(f.src, 0, buf, l3 + IPV6_SRC);
    f.hasSrc = true;
    f.iif = l.index;
    f.oif = 0;
    f.mark = pkt.mark;
    f.tclass = (ipv6FlowInfo(buf, l3) >>> 20) & 0xff;
    const nh = buf[l3 + 6]!, l4 = l3 + IPV6_HLEN;
    f.proto = nh;
    const ports = (nh === 6 || nh === 17) && pkt.off + pkt.len >= l4 + 4;
    f.sport = ports ? readU16(buf, l4) : 0;
    f.dport = ports ? readU16(buf, l4 + 2) : 0;
    return this.fibLookup(ip6IsLinkLocal(buf, l3 + IPV6_DST) ? l.name : undefined);
  }

  private fibLookup(strict: string | undefined): boolean {
    const h = this.hop, r = lookup6(this.host.rules6(), this.host.fib6(), this.flow, strict, this.res).route;
    h.error = this.res.error;
    if (r === undefined) return false;
    h.local = r.type === 'local' || r.type === 'anycast';
    h.dev = this.host.linkNamed(r.dev);
    h.gw = r.user?.gw ?? null;
    return h.dev !== undefined;
  }

  /** The link-layer address of the neighbour at buf[off] on `ifindex` when it is resolved (NUD_VALID), else -1. */
  resolved(ifindex: number, buf: Uint8Array, off: number): number {
    const c = this.cache, slot = c.find(ifindex, buf, off);
    return slot >= 0 && (c.state[slot]! & NUD_VALID) !== 0 ? c.mac[slot]! : -1;
  }

  /** The address at buf[off] if device `l` has it (ipv6_get_ifaddr, strict on the device). */
  own(l: Interface, buf: Uint8Array, off: number): If6Addr | undefined {
    const a = l.addrs6;
    for (let i = 0; i < a.length; i++) if (ip6Equal(a[i]!.bytes, 0, buf, off)) return a[i];
    return undefined;
  }

  /**
   * ip6_route_input's local delivery: an address of the device, or one of
   * another device's that is not link-local (whose lookup is strict on the
   * device it came in on).
   */
  private local(l: Interface, buf: Uint8Array, off: number): boolean {
    if (this.used(l, buf, off)) return true;
    if (ip6IsLinkLocal(buf, off)) return false;
    const links = this.host.links();
    for (let i = 0; i < links.length; i++) if (links[i] !== l && this.used(links[i]!, buf, off)) return true;
    return false;
  }

  /** The address at buf[off] is `l`'s and not tentative (it has its local route: ipv6_chk_addr's banned IFA_F_TENTATIVE). */
  private used(l: Interface, buf: Uint8Array, off: number): boolean {
    const a = this.own(l, buf, off);
    return a !== undefined && usable6(a);
  }

  /** A frame of ethertype IPv6 for this host's MAC or a group (pktType not otherhost) on `l`. */
  receive(pkt: Packet, l: Interface): void {
    const e = this.host.element.engine, el = this.host.element, buf = pkt.buf, l3 = pkt.off + ETH_HLEN;
    // ip6_rcv_core: disabled on the device, then the header's version and lengths.
    if (l.idev6 === 0 || l.conf6.disable_ipv6 !== 0) return e.drop(pkt, el, 'unknown_protocol', 'IPv6 is disabled on the device');
    if (pkt.len < ETH_HLEN + IPV6_HLEN || buf[l3]! >>> 4 !== 6) return e.drop(pkt, el, 'malformed', 'IPv6 header: short or version not 6');
    const plen = readU16(buf, l3 + 4);
    if (ETH_HLEN + IPV6_HLEN + plen > pkt.len) return e.drop(pkt, el, 'malformed', 'IPv6 payload length past the frame');
    pkt.len = ETH_HLEN + IPV6_HLEN + plen; // ip6_rcv_core trims the padding
    if (ip6IsMulticast(buf, l3 + IPV6_SRC)) return e.drop(pkt, el, 'malformed', 'IPv6 source is multicast');
    // RFC 4291 2.5.3: ::1 never comes in on a device.
    if (ip6IsLoopback(buf, l3 + IPV6_SRC) || ip6IsLoopback(buf, l3 + IPV6_DST)) return e.drop(pkt, el, 'malformed', 'IPv6 from or to ::1 on a device');
    // Destination: an address of the namespace's, or a group the device joined (ip6_mc_input); any other is IPv6 forwarding's.
    const dst = l3 + IPV6_DST;
    if (!this.local(l, buf, dst)) {
      if (!ip6IsMulticast(buf, dst)) return this.host.forward(pkt, l);
      if (!this.joined(l, buf, dst)) return e.consume(pkt, el, 'ipv6: a group the device did not join: ignored');
    }
    // The hop-by-hop header (MLD's router alert) is skipped to the next.
    let nh = buf[l3 + 6]!, l4 = l3 + IPV6_HLEN;
    if (nh === NEXTHDR_HOP) {
      if (plen < 8) return e.drop(pkt, el, 'malformed', 'IPv6 hop-by-hop header truncated');
      nh = buf[l4]!;
      l4 += (buf[l4 + 1]! + 1) << 3;
      if (l4 > pkt.off + pkt.len) return e.drop(pkt, el, 'malformed', 'IPv6 hop-by-hop header truncated');
    }
    if (nh !== NEXTHDR_ICMP) return this.host.transport(pkt, l, l3, nh, l4);
    const len = pkt.off + pkt.len - l4;
    if (len < 4 || !icmpv6ChecksumOk(buf, l3, l4, len)) return e.drop(pkt, el, 'malformed', 'ICMPv6: short or bad checksum');
    switch (buf[l4]) {
      case ICMPV6_ECHO_REQUEST:
        return this.echo(pkt, l, l4, len);
      case NDISC_NEIGHBOUR_SOLICITATION:
        return this.ns(pkt, l, l4, len);
      case NDISC_NEIGHBOUR_ADVERTISEMENT:
        return this.na(pkt, l, l4, len);
      case NDISC_ROUTER_SOLICITATION:
        return this.rs(pkt, l, l4, len);
      case ICMPV6_ECHO_REPLY:
        this.host.echoReply(pkt, l, l3, l4, len);
        return e.consume(pkt, el, 'icmp6: echo reply delivered to the raw sockets');
      case ICMPV6_DEST_UNREACH:
      case ICMPV6_PKT_TOOBIG:
      case ICMPV6_TIME_EXCEED:
      case ICMPV6_PARAMPROB:
        // icmpv6_notify: the sockets whose datagram it quotes.
        this.host.icmpError(pkt, l, l3, l4, len);
        return e.consume(pkt, el, 'icmp6: error delivered to the sockets');
      case ICMPV6_MGM_QUERY:
        return this.mldQuery(pkt, l, l4, len);
      default:
        // RAs (a router takes none), MLD reports, redirects...
        return e.consume(pkt, el, 'icmp6: taken and ignored');
    }
  }

  /**
   * The groups a device with IPv6 joins (addrconf): all-nodes, all-routers
   * when forwarding, each address's solicited-node group and, when
   * forwarding, that of each prefix's subnet-router anycast (below /127).
   */
  private joined(l: Interface, buf: Uint8Array, off: number): boolean {
    if (ip6IsWellKnownGroup(buf, off, 2, 1)) return true;
    const fwd = l.conf6.forwarding !== 0;
    if (fwd && ip6IsWellKnownGroup(buf, off, 2, 2)) return true;
    const a = l.addrs6;
    for (let i = 0; i < a.length; i++) {
      const b = a[i]!.bytes, len = a[i]!.prefixLen;
      if (ip6IsSolicitedNodeOf(buf, off, b, 0)) return true;
      if (!usable6(a[i]!)) continue; // joined when DAD is over
      // The anycast's group: the address's last 24 bits with those past the prefix cleared (ip6IsSolicitedNodeOf of the group itself: its form).
      if (fwd && len < 127 && ip6IsSolicitedNodeOf(buf, off, buf, off) &&
        buf[off + 13] === (b[13]! & mask8(len, 13)) && buf[off + 14] === (b[14]! & mask8(len, 14)) && buf[off + 15] === (b[15]! & mask8(len, 15))) return true;
    }
    return false;
  }

  /** ndisc_recv_ns, for an address of the device (no proxy NDP, no anycast, which it does not answer). */
  private ns(pkt: Packet, l: Interface, l4: number, len: number): void {
    const e = this.host.element.engine, el = this.host.element, buf = pkt.buf, l3 = pkt.off + ETH_HLEN;
    if (ipv6HopLimit(buf, l3) !== ND_HOPLIMIT || buf[l4 + 1] !== 0 || len < ND_MSG_LEN || ip6IsMulticast(buf, l4 + 8)) {
      return e.drop(pkt, el, 'malformed', 'NS: hop limit not 255, code not 0, short or multicast target');
    }
    const sll = ndOptLinkAddr(buf, l4 + ND_MSG_LEN, l4 + len, ND_OPT_SOURCE_LL_ADDR);
    if (sll === -2) return e.drop(pkt, el, 'malformed', 'NS: bad option');
    const dad = ip6IsAny(buf, l3 + IPV6_SRC);
    const inc = ip6IsMulticast(buf, l3 + IPV6_DST);
    // DAD's NS comes from :: to a solicited-node group, without a source link-layer option.
    if (dad && (!inc || sll >= 0)) return e.drop(pkt, el, 'malformed', 'NS from :: not to a solicited-node group, or with a link-layer option');
    const target = this.own(l, buf, l4 + 8);
    if (target === undefined) return e.consume(pkt, el, 'ndisc: NS for another address: ignored');
    if (!usable6(target)) {
      if (!dad) return e.consume(pkt, el, 'ndisc: NS for a tentative address: ignored');
      // Its own NS looped back (enhanced DAD's nonce, an option of length 1 alone) is not another node's.
      const n = ndOptLinkAddr(buf, l4 + ND_MSG_LEN, l4 + len, ND_OPT_NONCE);
      if (n >= 0 && target.nonce !== 0 && readMacHi(buf, n) * 0x1_0000_0000 + readMacLo(buf, n) === target.nonce) {
        return e.consume(pkt, el, 'ndisc: DAD NS with our own nonce (looped back): ignored');
      }
      this.host.dadFailed(l, target);
      return e.consume(pkt, el, 'ndisc: DAD NS for a tentative address: duplicate');
    }
    const router = l.conf6.forwarding !== 0 ? NA_ROUTER : 0;
    if (dad) return this.sendNa(pkt, l, target, ALL_NODES, 0, router | NA_OVERRIDE, true, -1);
    // The requester's entry, STALE with its address (ndisc_update, NEIGH_UPDATE_F_OVERRIDE); a unicast NS without one makes it INCOMPLETE.
    const c = this.cache;
    if (inc) c.stats.rcv_probes_mcast++;
    else c.stats.rcv_probes_ucast++;
    let slot = this.lookup(l.index, buf, l3 + IPV6_SRC);
    if (sll >= 0 || !inc) {
      if (slot < 0) slot = this.create(l.index, buf, l3 + IPV6_SRC);
      if (sll >= 0) this.learn(slot, readMacHi(buf, sll) * 0x1_0000_0000 + readMacLo(buf, sll), NUD.STALE, l.index);
    }
    if (slot < 0) return e.consume(pkt, el, 'ndisc: NS without a link-layer address from an unknown neighbour: no reply');
    this.sendNa(pkt, l, target, buf, l3 + IPV6_SRC, router | NA_SOLICITED | (inc ? NA_OVERRIDE : 0), inc, slot);
  }

  /**
   * ndisc_send_na in the request's slot: from the target (our address), to `dst`
   * (the requester, or all-nodes), hop limit 255, flow label 0, the flags,
   * and the target link-layer option when `tll`; to the entry's address
   * (or, to all-nodes, 33:33:00:00:00:01).
   */
  private sendNa(pkt: Packet, l: Interface, target: If6Addr, dstBuf: Uint8Array, dstOff: number, flags: number, tll: boolean, slot: number): void {
    const e = this.host.element.engine, buf = pkt.buf;
    const scratch = this.scratch;
    ip6Copy(scratch, 0, dstBuf, dstOff); // the requester's address, before the slot is rewritten
    pkt.off = pkt.slot * e.pool.slotSize + HEADROOM;
    const o = pkt.off, l3 = o + ETH_HLEN, l4 = l3 + IPV6_HLEN;
    const len = ND_MSG_LEN + (tll ? ND_OPT_LL_LEN : 0);
    writeIpv6Head(buf, l3, 0, len, NEXTHDR_ICMP, ND_HOPLIMIT);
    ip6Copy(buf, l3 + IPV6_SRC, target.bytes, 0);
    ip6Copy(buf, l3 + IPV6_DST, scratch, 0);
    buf[l4] = NDISC_NEIGHBOUR_ADVERTISEMENT;
    buf[l4 + 1] = 0;
    buf[l4 + 4] = flags;
    buf[l4 + 5] = buf[l4 + 6] = buf[l4 + 7] = 0;
    ip6Copy(buf, l4 + 8, target.bytes, 0);
    if (tll) writeNdOptLinkAddr(buf, l4 + ND_MSG_LEN, ND_OPT_TARGET_LL_ADDR, macHi(l.mac), macLo(l.mac));
    icmpv6SetChecksum(buf, l3, l4, len);
    pkt.len = ETH_HLEN + IPV6_HLEN + len;
    this.output(pkt, l, slot, 'ndisc: NS for our address: NA sent');
  }

  /**
   * A packet of this host's out of `l` (ip6_finish_output2): to the
   * neighbour `gw` (null: the unicast destination in its header), resolved
   * first when unknown.
   */
  sendTo(pkt: Packet, l: Interface, gw: Uint8Array | null, what: string): void {
    const slot = gw === null ? this.create(l.index, pkt.buf, pkt.off + ETH_HLEN + IPV6_DST) : this.create(l.index, gw, 0);
    this.output(pkt, l, slot, what);
  }

  /**
   * Out to the neighbour of `slot` (-1: all-nodes), or held while it
   * resolves (__neigh_event_send): an entry not yet asked (new, or FAILED)
   * becomes INCOMPLETE and its first probe goes at once (unless neither
   * mcast_solicit nor app_solicit allows one: FAILED, the packet dropped),
   * then one each retrans_time from the timer (tick); past
   * unres_qlen_bytes the oldest held packet is dropped.
   */
  private output(pkt: Packet, l: Interface, slot: number, what: string): void {
    const e = this.host.element.engine, el = this.host.element, c = this.cache;
    if (slot < 0) {
      writeEth(pkt.buf, pkt.off, 0x3333, 0x0000_0001, macHi(l.mac), macLo(l.mac), ETHERTYPE_IPV6);
    } else if ((c.state[slot]! & NUD_VALID) === 0) {
      const p = c.params(l.index);
      // A new entry is INCOMPLETE without a timer until this first packet (the kernel's NUD_NONE).
      const ask = c.state[slot] === NUD.FAILED || c.timer[slot]! < 0;
      if (ask && p.mcast_solicit + p.app_solicit === 0) {
        c.update(slot, c.mac[slot]!, NUD.FAILED, e.now);
        return e.drop(pkt, el, 'neigh_failed', 'IPv6 neighbour: no probes allowed (mcast_solicit and app_solicit 0)');
      }
      if (ask) {
        if (c.state[slot] === NUD.FAILED) c.update(slot, 0, NUD.INCOMPLETE, e.now);
        c.probes[slot] = p.ucast_solicit;
        c.timer[slot] = e.now + Math.max(p.retrans_time_ms, 10);
      }
      writeEth(pkt.buf, pkt.off, 0, 0, macHi(l.mac), macLo(l.mac), ETHERTYPE_IPV6);
      const q = c.held[slot]!, size = skbTruesize(pkt.len);
      while (q.length !== 0 && c.heldBytes[slot]! + size > p.unres_qlen_bytes) {
        const old = q.shift()!;
        c.heldBytes[slot]! -= skbTruesize(old.len);
        c.stats.unres_discards++;
        e.drop(old, el, 'neigh_queue_full', 'IPv6 neighbour: unres_qlen_bytes full');
      }
      q.push(pkt);
      c.heldBytes[slot]! += size;
      if (e.tracing) e.note(pkt, el, `${what}; held until the neighbour resolves`);
      if (ask) this.probe(pkt, l, slot);
      return;
    } else {
      // neigh_event_send for an entry not connected: used now; a STALE one goes DELAY, its first probe delay_first_probe_time later.
      const st = c.state[slot]!;
      if ((st & NUD_CONNECTED) === 0) {
        c.used[slot] = e.now;
        if (st === NUD.STALE) {
          c.update(slot, c.mac[slot]!, NUD.DELAY, e.now);
          c.timer[slot] = e.now + c.params(l.index).delay_first_probe_time_ms;
        }
      }
      const m = c.mac[slot]!;
      writeEth(pkt.buf, pkt.off, macHi(m), macLo(m), macHi(l.mac), macLo(l.mac), ETHERTYPE_IPV6);
    }
    if (e.tracing) e.note(pkt, el, what);
    this.host.send(pkt, l.index);
  }

  /**
   * neigh_probe: the entry's next probe as probeKind numbers it (ndisc_solicit:
   * a unicast NS, an app probe, which sends nothing, or a multicast NS);
   * nothing goes from a device without its link-local.
   */
  private probe(cause: Packet | null, l: Interface | undefined, slot: number): void {
    const c = this.cache;
    const kind = probeKind(c.probes[slot]!, c.params(c.ifindex[slot]!));
    c.probes[slot]!++;
    if (kind !== 'app' && l !== undefined && lladdr6(l) !== undefined) this.solicit(cause, l, slot, kind === 'unicast');
  }

  /**
   * neigh_timer_handler for the entries due by `now`, at each deadline in
   * turn, and neigh_periodic_work (reachable times drawn again every
   * 300 s) in between. REACHABLE and DELAY: nudTimerStep, as the ARP
   * table's (REACHABLE to STALE or DELAY, DELAY to REACHABLE or PROBE).
   * INCOMPLETE and PROBE: another probe each retrans_time (multicast NS
   * for INCOMPLETE, unicast for PROBE) until neigh_max_probes were sent,
   * then FAILED (neigh_invalidate): each held packet's sender is told (an
   * ICMPv6 address unreachable) and the packet dropped.
   */
  tick(now: number): void {
    for (let t = this.cache.periodic(now); t >= 0; t = this.cache.periodic(now)) this.timers(t);
    this.timers(now);
  }

  private timers(now: number): void {
    const c = this.cache;
    for (let slot = 0; slot < c.timer.length; slot++) {
      while (c.timer[slot]! >= 0 && c.timer[slot]! <= now) this.timer(slot, c.timer[slot]!);
    }
  }

  private timer(slot: number, t: number): void {
    const c = this.cache, e = this.host.element.engine, el = this.host.element;
    const ifindex = c.ifindex[slot]!, l = this.host.link(ifindex);
    const state = c.state[slot]!;
    if ((state & NUD_IN_TIMER) === 0) {
      c.timer[slot] = -1;
      return;
    }
    const s = nudTimerStep(state, t, c.confirmed[slot]!, c.used[slot]!, ifindex, c);
    const next = s.next;
    if (s.state !== state) {
      if (s.state === NUD.PROBE) c.probes[slot] = 0;
      c.update(slot, c.mac[slot]!, s.state, t);
    }
    const now = c.state[slot]!;
    if ((now & (NUD.INCOMPLETE | NUD.PROBE)) === 0) {
      c.timer[slot] = now & NUD_IN_TIMER ? Math.max(next, t + 10) : -1;
      return;
    }
    if (c.probes[slot]! < neighMaxProbes(now, c.params(ifindex))) {
      c.timer[slot] = Math.max(next, t + 10);
      return this.probe(null, l, slot);
    }
    c.update(slot, c.mac[slot]!, NUD.FAILED, t);
    c.timer[slot] = -1;
    c.stats.res_failed++;
    const dropped = this.failed;
    c.takeHeld(slot, dropped);
    for (let i = 0; i < dropped.length; i++) {
      this.host.addressUnreachable(dropped[i]!, l);
      e.drop(dropped[i]!, el, 'neigh_failed', 'IPv6 neighbour FAILED');
    }
    dropped.length = 0;
  }

  private readonly failed: Packet[] = [];

  /**
   * After an `ip -6 neigh` write (nd6-cache.ts's adminSet, adminDelete): the
   * packets an entry it resolved held go to its address, in order; those of
   * one it failed or removed tell their senders and are dropped (as a timer's
   * FAILED); those of an entry a new one pushed out are dropped.
   */
  adminDone(): void {
    const c = this.cache, e = this.host.element.engine, el = this.host.element;
    const q = c.released;
    for (let i = 0; i < q.length; i++) {
      const held = q[i]!, slot = c.releasedSlot[i]!, mac = c.mac[slot]!;
      writeEth(held.buf, held.off, macHi(mac), macLo(mac), readMacHi(held.buf, held.off + 6), readMacLo(held.buf, held.off + 6), ETHERTYPE_IPV6);
      if (e.tracing) e.note(held, el, 'ndisc: neighbour set by ip -6 neigh: held packet sent');
      this.host.send(held, c.ifindex[slot]!);
    }
    q.length = c.releasedSlot.length = 0;
    const f = c.failedHeld;
    for (let i = 0; i < f.length; i++) {
      this.host.addressUnreachable(f[i]!, this.host.link(c.failedIfindex[i]!));
      e.drop(f[i]!, el, 'neigh_failed', 'IPv6 neighbour FAILED (ip -6 neigh)');
    }
    f.length = c.failedIfindex.length = 0;
    this.dropEvicted();
  }

  /** A predecessor's entry with its journaled times, its timer set as its state's own (as NeighbourTable.restoreEntry). */
  restore(ifindex: number, words: readonly number[], mac: number, state: number, router: boolean, confirmed: number, updated: number, used: number, probes: number): void {
    const c = this.cache, slot = c.restore(ifindex, words, mac, state, router, confirmed, updated, used, probes);
    const p = c.params(ifindex);
    if (state === NUD.REACHABLE) c.timer[slot] = confirmed + c.reachableTime(ifindex);
    else if (state === NUD.DELAY) c.timer[slot] = updated + p.delay_first_probe_time_ms;
    else if (state === NUD.PROBE) c.timer[slot] = updated + Math.max(p.retrans_time_ms, 10);
  }

  /**
   * ndisc_solicit: an NS for the entry's address, from the source of the
   * last packet it holds when that is an address of the device, else from
   * the device's link-local, with our link-layer address; multicast to its
   * solicited-node group, or (`unicast`, PROBE) to the address itself at
   * the link-layer address the entry has.
   */
  private solicit(cause: Packet | null, l: Interface, slot: number, unicast: boolean): void {
    const e = this.host.element.engine, el = this.host.element, c = this.cache;
    const p = e.alloc(cause, el, 'IPv6 neighbour solicitation');
    if (!p) return;
    const buf = p.buf, o = p.off, l3 = o + ETH_HLEN, l4 = l3 + IPV6_HLEN, t = slot * 16;
    const len = ND_MSG_LEN + ND_OPT_LL_LEN;
    writeIpv6Head(buf, l3, 0, len, NEXTHDR_ICMP, ND_HOPLIMIT);
    const q = c.held[slot]!, last = q.length !== 0 ? q[q.length - 1]! : null;
    const own = last !== null ? this.own(l, last.buf, last.off + ETH_HLEN + IPV6_SRC) : undefined;
    ip6Copy(buf, l3 + IPV6_SRC, (own !== undefined && usable6(own) ? own : lladdr6(l)!).bytes, 0);
    if (unicast) {
      const m = c.mac[slot]!;
      writeEth(buf, o, macHi(m), macLo(m), macHi(l.mac), macLo(l.mac), ETHERTYPE_IPV6);
      ip6Copy(buf, l3 + IPV6_DST, c.addr, t);
    } else toSolicitedNode(buf, o, l, c.addr, t);
    writeNs(buf, l4, c.addr, t);
    writeNdOptLinkAddr(buf, l4 + ND_MSG_LEN, ND_OPT_SOURCE_LL_ADDR, macHi(l.mac), macLo(l.mac));
    icmpv6SetChecksum(buf, l3, l4, len);
    p.len = ETH_HLEN + IPV6_HLEN + len;
    if (e.tracing) e.note(p, el, unicast ? 'ndisc: unicast neighbour solicitation sent (PROBE)' : 'ndisc: neighbour solicitation sent');
    this.host.send(p, l.index);
  }

  /**
   * ndisc_send_ns of DAD (addrconf_dad_work) for `a`, tentative on `l`:
   * from ::, to its solicited-node group, no link-layer option; the nonce
   * option when it has one (enhanced_dad).
   */
  dadSolicit(l: Interface, a: If6Addr): void {
    const e = this.host.element.engine, el = this.host.element;
    const p = e.alloc(null, el, 'IPv6 DAD neighbour solicitation');
    if (!p) return;
    const buf = p.buf, l3 = p.off + ETH_HLEN, l4 = l3 + IPV6_HLEN;
    const nonce = a.nonce ?? 0, len = ND_MSG_LEN + (nonce !== 0 ? ND_OPT_LL_LEN : 0);
    writeIpv6Head(buf, l3, 0, len, NEXTHDR_ICMP, ND_HOPLIMIT);
    for (let i = 0; i < 16; i++) buf[l3 + IPV6_SRC + i] = 0;
    toSolicitedNode(buf, p.off, l, a.bytes, 0);
    writeNs(buf, l4, a.bytes, 0);
    if (nonce !== 0) {
      buf[l4 + ND_MSG_LEN] = ND_OPT_NONCE;
      buf[l4 + ND_MSG_LEN + 1] = 1;
      writeMac(buf, l4 + ND_MSG_LEN + 2, macHi(nonce), macLo(nonce));
    }
    icmpv6SetChecksum(buf, l3, l4, len);
    p.len = ETH_HLEN + IPV6_HLEN + len;
    if (e.tracing) e.note(p, el, `ndisc: DAD neighbour solicitation for ${a.text} sent`);
    this.host.send(p, l.index);
  }

  /**
   * igmp6_event_query (__mld_query_work): RFC 3810 6.2's checks (from a
   * link-local, hop limit 1, the router alert), then an MLDv2 query's
   * answer is due (mld6.ts). An MLDv1 query (24 bytes: the kernel falls
   * back to v1) and a source-specific one are not modelled: ignored.
   */
  private mldQuery(pkt: Packet, l: Interface, l4: number, len: number): void {
    const e = this.host.element.engine, el = this.host.element, buf = pkt.buf, l3 = pkt.off + ETH_HLEN, hbh = l3 + IPV6_HLEN;
    const alert = buf[l3 + 6] === NEXTHDR_HOP && buf[hbh + 2] === 5 && buf[hbh + 3] === 2 && buf[hbh + 4] === 0 && buf[hbh + 5] === 0;
    if (!ip6IsLinkLocal(buf, l3 + IPV6_SRC) || ipv6HopLimit(buf, l3) !== 1 || !alert) return e.consume(pkt, el, 'mld: query not from a link-local, hop limit not 1 or no router alert: ignored');
    if (len < MLD2_QUERY_LEN || readU16(buf, l4 + 26) !== 0) return e.consume(pkt, el, 'mld: MLDv1 or source-specific query: not modelled, ignored');
    this.host.mldQuery(l, buf, l4 + 8, mldv2Mrc(readU16(buf, l4 + 4)));
    return e.consume(pkt, el, 'mld: query taken');
  }

  /**
   * mld_sendpack: an MLDv2 report of `recs` out of `l`, from its
   * link-local (:: while it has none), to ff02::16, hop limit 1, with the
   * router alert; as ip6_finish_output2 does, the group's NOARP neighbour
   * entry is made.
   */
  mldReport(l: Interface, recs: readonly Mld6Record[]): void {
    const e = this.host.element.engine, el = this.host.element, c = this.cache;
    const p = e.alloc(null, el, 'MLDv2 report');
    if (!p) return;
    const buf = p.buf, l3 = p.off + ETH_HLEN, hbh = l3 + IPV6_HLEN, l4 = hbh + 8, len = 8 + recs.length * 20;
    writeEth(buf, p.off, 0x3333, 0x16, macHi(l.mac), macLo(l.mac), ETHERTYPE_IPV6);
    writeIpv6Head(buf, l3, 0, 8 + len, NEXTHDR_HOP, 1);
    const src = lladdr6(l);
    if (src) ip6Copy(buf, l3 + IPV6_SRC, src.bytes, 0);
    else buf.fill(0, l3 + IPV6_SRC, l3 + IPV6_SRC + 16);
    ip6Copy(buf, l3 + IPV6_DST, ALL_MLDV2_ROUTERS, 0);
    buf.set(ROUTER_ALERT, hbh);
    buf.fill(0, l4, l4 + 8);
    buf[l4] = ICMPV6_MLD2_REPORT;
    buf[l4 + 6] = recs.length >> 8;
    buf[l4 + 7] = recs.length & 0xff;
    for (let i = 0; i < recs.length; i++) {
      const r = l4 + 8 + i * 20;
      buf[r] = recs[i]!.type;
      buf.fill(0, r + 1, r + 4);
      ip6Copy(buf, r + 4, recs[i]!.group, 0);
    }
    icmpv6SetChecksum(buf, l3, l4, len);
    p.len = ETH_HLEN + IPV6_HLEN + 8 + len;
    if (c.find(l.index, ALL_MLDV2_ROUTERS, 0) < 0) {
      const now = e.now, slot = c.findOrCreate(l.index, ALL_MLDV2_ROUTERS, 0, now, now);
      this.dropEvicted();
      c.update(slot, 0x3333_0000_0016, NUD.NOARP, now);
    }
    if (e.tracing) e.note(p, el, `mld: report of ${recs.length} group record(s) sent`);
    this.host.send(p, l.index);
  }

  /** ndisc_recv_na: a solicited NA makes the entry REACHABLE, another STALE (when it overrides or had no address); a waiting packet goes. */
  private na(pkt: Packet, l: Interface, l4: number, len: number): void {
    const e = this.host.element.engine, el = this.host.element, buf = pkt.buf, l3 = pkt.off + ETH_HLEN, c = this.cache;
    if (ipv6HopLimit(buf, l3) !== ND_HOPLIMIT || buf[l4 + 1] !== 0 || len < ND_MSG_LEN || ip6IsMulticast(buf, l4 + 8)) {
      return e.drop(pkt, el, 'malformed', 'NA: hop limit not 255, code not 0, short or multicast target');
    }
    const flags = buf[l4 + 4]!;
    if (ip6IsMulticast(buf, l3 + IPV6_DST) && (flags & NA_SOLICITED) !== 0) return e.drop(pkt, el, 'malformed', 'NA: solicited, to a group');
    const tll = ndOptLinkAddr(buf, l4 + ND_MSG_LEN, l4 + len, ND_OPT_TARGET_LL_ADDR);
    if (tll === -2) return e.drop(pkt, el, 'malformed', 'NA: bad option');
    // An address of the device's: a tentative one is another node's (DAD fails), a valid one's NA is ignored.
    const mine = this.own(l, buf, l4 + 8);
    if (mine !== undefined) {
      if (usable6(mine)) return e.consume(pkt, el, 'ndisc: NA for our own address: ignored');
      this.host.dadFailed(l, mine);
      return e.consume(pkt, el, 'ndisc: NA for a tentative address: duplicate');
    }
    const slot = this.lookup(l.index, buf, l4 + 8);
    if (slot < 0) return e.consume(pkt, el, 'ndisc: NA for no entry: ignored');
    const incomplete = c.state[slot] === NUD.INCOMPLETE || c.state[slot] === NUD.FAILED; // not NUD_VALID: any address is taken
    if (tll < 0 && incomplete) return e.consume(pkt, el, 'ndisc: NA without an address for an unresolved entry: ignored');
    const mac = tll >= 0 ? readMacHi(buf, tll) * 0x1_0000_0000 + readMacLo(buf, tll) : c.mac[slot]!;
    const changed = mac !== c.mac[slot];
    if ((c.state[slot]! & (NUD.PERMANENT | NUD.NOARP)) === 0 && (incomplete || (flags & NA_OVERRIDE) !== 0 || !changed)) {
      // The flag first: __neigh_update's notification carries it.
      c.router[slot] = (flags & NA_ROUTER) !== 0 ? 1 : 0;
      this.learn(slot, mac, (flags & NA_SOLICITED) !== 0 ? NUD.REACHABLE : NUD.STALE, l.index);
    }
    e.consume(pkt, el, 'ndisc: NA: neighbour updated');
  }

  /** ndisc_recv_rs: a router (forwarding) takes the source's link-layer address, STALE. */
  private rs(pkt: Packet, l: Interface, l4: number, len: number): void {
    const e = this.host.element.engine, el = this.host.element, buf = pkt.buf, l3 = pkt.off + ETH_HLEN;
    if (ipv6HopLimit(buf, l3) !== ND_HOPLIMIT || buf[l4 + 1] !== 0 || len < 8) return e.drop(pkt, el, 'malformed', 'RS: hop limit not 255, code not 0 or short');
    const sll = ndOptLinkAddr(buf, l4 + 8, l4 + len, ND_OPT_SOURCE_LL_ADDR);
    if (sll === -2) return e.drop(pkt, el, 'malformed', 'RS: bad option');
    if (l.conf6.forwarding !== 0 && sll >= 0 && !ip6IsAny(buf, l3 + IPV6_SRC)) {
      this.lookup(l.index, buf, l3 + IPV6_SRC);
      const slot = this.create(l.index, buf, l3 + IPV6_SRC);
      if ((this.cache.state[slot]! & (NUD.PERMANENT | NUD.NOARP)) === 0) this.cache.router[slot] = 0; // NEIGH_UPDATE_F_OVERRIDE_ISROUTER: a soliciting host is no router
      this.learn(slot, readMacHi(buf, sll) * 0x1_0000_0000 + readMacLo(buf, sll), NUD.STALE, l.index);
    }
    e.consume(pkt, el, 'ndisc: RS: taken (no router advertisements sent)');
  }

  /**
   * icmpv6_echo_reply in the request's slot: from the address asked (a
   * group's: ipv6_dev_get_saddr's for the requester), the request's traffic
   * class, hop limit 64; a link-local requester's out of the device it came
   * in on, another's by its route (a group's strictly out of that device),
   * to the route's gateway or the requester itself; no route: no reply.
   */
  private echo(pkt: Packet, l: Interface, l4: number, len: number): void {
    const e = this.host.element.engine, el = this.host.element, buf = pkt.buf, l3 = pkt.off + ETH_HLEN;
    if (ip6IsAny(buf, l3 + IPV6_SRC)) return e.consume(pkt, el, 'icmp6: echo request from :: : no reply');
    const group = ip6IsMulticast(buf, l3 + IPV6_DST);
    let dev = l, gw: Uint8Array | null = null;
    if (!ip6IsLinkLocal(buf, l3 + IPV6_SRC)) {
      // From the address asked (a group's source is chosen after the route).
      if (!this.route(buf, l3 + IPV6_SRC, group ? l : undefined, group ? undefined : buf, l3 + IPV6_DST) || this.hop.local) {
        return e.consume(pkt, el, 'icmp6: echo request: no route back, no reply');
      }
      dev = this.hop.dev!;
      gw = this.hop.gw;
    }
    let from: If6Addr | undefined;
    if (group) {
      ip6Copy(this.dst, 0, buf, l3 + IPV6_SRC);
      from = source6(this.host.links(), dev, this.dst);
      if (from === undefined) return e.consume(pkt, el, 'icmp6: echo request to a group: no source address, no reply');
    }
    // The reply's flow label is the kernel's hash of the flow (ip6_make_flowlabel, keyed per boot): any stable one stands for it.
    const tclass = (ipv6FlowInfo(buf, l3) >>> 20) & 0xff;
    const label = flowHash(buf, l3, readU16(buf, l4 + 4));
    ip6Copy(this.scratch, 0, buf, l3 + IPV6_SRC);
    if (from !== undefined) ip6Copy(buf, l3 + IPV6_SRC, from.bytes, 0);
    else ip6Copy(buf, l3 + IPV6_SRC, buf, l3 + IPV6_DST);
    ip6Copy(buf, l3 + IPV6_DST, this.scratch, 0);
    writeIpv6Head(buf, l3, (tclass << 20) | label, len, NEXTHDR_ICMP, HOP_LIMIT);
    buf[l4] = ICMPV6_ECHO_REPLY;
    icmpv6SetChecksum(buf, l3, l4, len);
    this.sendTo(pkt, dev, gw, 'icmp6: echo request to this host: reply sent');
  }

  /** neigh_lookup: find, counted in lookups and hits (the receive paths'; the output path's counts nothing). */
  private lookup(ifindex: number, buf: Uint8Array, off: number): number {
    const c = this.cache, slot = c.find(ifindex, buf, off);
    c.stats.lookups++;
    if (slot >= 0) c.stats.hits++;
    return slot;
  }

  private create(ifindex: number, buf: Uint8Array, off: number): number {
    const now = this.host.element.engine.now;
    const slot = this.cache.findOrCreate(ifindex, buf, off, now, now - 2 * this.cache.params(ifindex).base_reachable_time_ms);
    this.dropEvicted();
    return slot;
  }

  private dropEvicted(): void {
    const q = this.cache.evicted;
    for (let i = 0; i < q.length; i++) this.host.element.engine.drop(q[i]!, this.host.element, 'neigh_failed', 'IPv6 neighbour entry replaced');
    q.length = 0;
  }

  /** The entry gets its address: the packets that waited for it go now, in order. */
  private learn(slot: number, mac: number, state: number, ifindex: number): void {
    const c = this.cache, now = this.host.element.engine.now, old = c.state[slot]!;
    // __neigh_update: what ND learns leaves an entry `ip -6 neigh` made PERMANENT or NOARP as it is.
    if ((old & (NUD.PERMANENT | NUD.NOARP)) !== 0) return;
    // __neigh_update: STALE with the same address leaves a valid entry (REACHABLE, DELAY, PROBE) as it is.
    if (state === NUD.STALE && mac === c.mac[slot] && (old & NUD_VALID) !== 0) state = old;
    if (state & NUD_CONNECTED) c.confirmed[slot] = now;
    c.update(slot, mac, state, now);
    // A new REACHABLE's timer: reachable_time on (neigh_add_timer, which lifts `used` to `confirmed`: an answered
    // probe counts as a use, see NeighbourTable.addTimer); one already REACHABLE keeps its own and is confirmed.
    if (state === NUD.REACHABLE && old !== NUD.REACHABLE) {
      if (c.used[slot]! < now) c.used[slot] = now;
      c.timer[slot] = now + c.reachableTime(ifindex);
    }
    const q = this.failed;
    c.takeHeld(slot, q);
    for (let i = 0; i < q.length; i++) {
      const held = q[i]!;
      writeEth(held.buf, held.off, macHi(mac), macLo(mac), readMacHi(held.buf, held.off + 6), readMacLo(held.buf, held.off + 6), ETHERTYPE_IPV6);
      this.host.send(held, ifindex);
    }
    q.length = 0;
  }

  /** A 16-byte scratch for an address being moved within one slot. */
  private readonly scratch = new Uint8Array(16);
  /** A group echo's requester, at offset 0 as source6 reads it. */
  private readonly dst = new Uint8Array(16);
}

/** The Ethernet header and IPv6 destination of a frame out of `l` to the solicited-node group (ff02::1:ffXX:XXXX) of the address at t[off]. */
function toSolicitedNode(buf: Uint8Array, o: number, l: Interface, t: Uint8Array, off: number): void {
  const l3 = o + ETH_HLEN;
  writeEth(buf, o, 0x3333, (0xff00_0000 | (t[off + 13]! << 16) | (t[off + 14]! << 8) | t[off + 15]!) >>> 0, macHi(l.mac), macLo(l.mac), ETHERTYPE_IPV6);
  for (let i = 0; i < 16; i++) buf[l3 + IPV6_DST + i] = 0;
  buf[l3 + IPV6_DST] = 0xff;
  buf[l3 + IPV6_DST + 1] = 2;
  buf[l3 + IPV6_DST + 11] = 1;
  buf[l3 + IPV6_DST + 12] = 0xff;
  buf[l3 + IPV6_DST + 13] = t[off + 13]!;
  buf[l3 + IPV6_DST + 14] = t[off + 14]!;
  buf[l3 + IPV6_DST + 15] = t[off + 15]!;
}

/** An NS's fixed part at l4 for the target at t[off] (its checksum left to write). */
function writeNs(buf: Uint8Array, l4: number, t: Uint8Array, off: number): void {
  buf[l4] = NDISC_NEIGHBOUR_SOLICITATION;
  for (let i = 1; i < 8; i++) buf[l4 + i] = 0;
  ip6Copy(buf, l4 + 8, t, off);
}

/** The mask a prefix of `len` bits puts on byte `i`. */
const mask8 = (len: number, i: number): number => (len >= (i + 1) * 8 ? 0xff : len <= i * 8 ? 0 : (0xff << (8 - (len - i * 8))) & 0xff);
const ALL_NODES = new Uint8Array([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
/** ff02::16, where MLDv2 reports go. */
const ALL_MLDV2_ROUTERS = new Uint8Array([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16]);
/** MLD's hop-by-hop header: ICMPv6 next, the router alert (MLD, 0), PadN. */
const ROUTER_ALERT = new Uint8Array([NEXTHDR_ICMP, 0, 5, 2, 0, 0, 1, 0]);
const ICMPV6_MGM_QUERY = 130, ICMPV6_MLD2_REPORT = 143;
/** An MLDv2 query's smallest length (RFC 3810 5.1). */
const MLD2_QUERY_LEN = 28;

/** A 20-bit flow label from the addresses and the echo identifier (never 0). */
export function flowHash(buf: Uint8Array, l3: number, id: number): number {
  let h = 0x811c9dc5 ^ id;
  for (let i = l3 + IPV6_SRC; i < l3 + IPV6_HLEN; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  h = (h ^ (h >>> 12)) & 0xfffff;
  return h === 0 ? 1 : h;
}
