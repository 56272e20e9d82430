// IPv6 forwarding of a namespace (net/ipv6/ip6_output.c ip6_forward): a
// frame for this host to an address not the namespace's goes by the route
// ip6_route_input finds through the IPv6 rules (route6-output.ts; none: an
// ICMPv6 no route; a prohibit rule: administratively prohibited; a
// blackhole rule: dropped), when
// net.ipv6.conf.all.forwarding is on, its hop limit over 1 (else an ICMPv6
// time exceeded), its source not a link-local leaving by another device
// (beyond scope; from ::, dropped) and it fits the egress MTU (at least 1280; else packet
// too big), with its hop limit one less, to the route's neighbour. The
// ICMPv6 errors are icmp6_send's: from ipv6_dev_get_saddr's source toward
// the offending packet's source, routed back, hop limit 64, with as much of
// that packet as keeps the error within 1280 bytes; none about an ICMPv6
// error or from the unspecified address, and at most as
// net.ipv6.icmp.ratelimit lets them go (icmp6-ratelimit.ts). A packet
// leaving by the device it came in on is forwarded after a redirect to its
// source (ndisc_send_redirect). icmp6Send serves the namespace's own
// errors too (a UDP port unreachable, from the address the datagram was
// sent to). Not modelled: ip6tables, the global limit
// (icmp_msgs_per_sec), extension headers of the offending packet.

import type { Packet } from '../datapath/packet.js';
import type { DropReason } from '../datapath/drop-reasons.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { IPV6_DST, IPV6_HLEN, IPV6_SRC, ND_HOPLIMIT, NEXTHDR_ICMP, ip6Copy, ip6Equal, ip6IsAny, ip6IsLinkLocal, writeIpv6Head } from '../wire/ipv6.js';
import {
  ICMPV6_ADM_PROHIBITED, ICMPV6_DEST_UNREACH, ICMPV6_NOROUTE, ICMPV6_NOT_NEIGHBOUR, ICMPV6_PKT_TOOBIG, ICMPV6_TIME_EXCEED, ND_OPT_LL_LEN, ND_OPT_TARGET_LL_ADDR, NDISC_REDIRECT, icmpv6SetChecksum, writeNdOptLinkAddr,
} from '../wire/icmpv6.js';
import { lladdr6 } from './inet6.js';
import { macHi, macLo, writeU32 } from '../wire/addr.js';
import type { Interface } from './interfaces.js';
import { HOP_LIMIT, flowHash, type Ndisc, type NdiscHost } from './ndisc.js';
import { source6 } from './route6-output.js';
import { Icmp6RateLimit } from './icmp6-ratelimit.js';

/** A redirect's fixed part: type, code, checksum, reserved, target and destination. */
const REDIRECT_LEN = 40;
const ND_OPT_REDIRECT_HDR = 4;
/** IPV6_MIN_MTU: the least MTU a route has, and the most an ICMPv6 error is. */
const IPV6_MIN_MTU = 1280;

export class Ip6Forward {
  constructor(private readonly host: NdiscHost, private readonly nd: Ndisc) {}

  /** A frame for this host on `l` to a unicast address not the namespace's (ip6_rcv_core's checks passed). */
  forward(pkt: Packet, l: Interface): void {
    const e = this.host.element.engine, el = this.host.element, buf = pkt.buf, l3 = pkt.off + ETH_HLEN, h = this.nd.hop;
    // ip6_route_input through the rules: a blackhole is dropped silently (dst_discard), a prohibit told so (ip6_pkt_prohibit).
    if (!this.nd.routeInput(pkt, l, l3)) {
      if (h.error === 'EINVAL') return e.drop(pkt, el, 'no_route', 'IPv6: a blackhole rule');
      if (h.error === 'EACCES') return this.error(pkt, ICMPV6_DEST_UNREACH, ICMPV6_ADM_PROHIBITED, 0, 'no_route', 'IPv6: a prohibit rule');
      return this.error(pkt, ICMPV6_DEST_UNREACH, ICMPV6_NOROUTE, 0, 'no_route', 'IPv6: no route to the destination');
    }
    if (h.local) return e.drop(pkt, el, 'no_route', 'IPv6 to an anycast address of the namespace\'s (not modelled)');
    if (!this.host.forwarding()) return e.drop(pkt, el, 'ip_forward_off', 'IPv6 not for this host, net.ipv6.conf.all.forwarding=0');
    if (buf[l3 + 7]! <= 1) return this.error(pkt, ICMPV6_TIME_EXCEED, 0, 0, 'ttl_exceeded', 'IPv6 hop limit exceeded in transit');
    const dev = h.dev!, gw = h.gw;
    // Leaving by the device it came in on: a redirect to its source; by another: the source checked.
    if (dev === l) this.redirect(pkt, l, gw);
    else {
      if (ip6IsAny(buf, l3 + IPV6_SRC)) return e.drop(pkt, el, 'malformed', 'IPv6 from :: to be forwarded');
      if (ip6IsLinkLocal(buf, l3 + IPV6_SRC)) return this.error(pkt, ICMPV6_DEST_UNREACH, ICMPV6_NOT_NEIGHBOUR, 0, 'no_route', 'IPv6 from a link-local to another link');
    }
    const mtu = Math.max(dev.mtu, IPV6_MIN_MTU);
    if (pkt.len - ETH_HLEN > mtu) return this.error(pkt, ICMPV6_PKT_TOOBIG, 0, mtu, 'mtu_exceeded', 'IPv6 packet longer than the egress MTU');
    buf[l3 + 7]!--;
    this.nd.sendTo(pkt, dev, gw, 'ipv6: forwarded');
  }

  /** icmp6_send about `pkt` (then dropped for `reason`): type, code and the 32 bits after them (the MTU of a packet too big). */
  private error(pkt: Packet, type: number, code: number, info: number, reason: DropReason, why: string): void {
    this.icmp6Send(pkt, type, code, info, false);
    this.host.element.engine.drop(pkt, this.host.element, reason, why);
  }

  /**
   * icmp6_send about `pkt`, in a slot of its own: from the packet's
   * destination when `toUs` (an address of ours, as ipv6_chk_addr finds
   * it: a port unreachable), else from ipv6_dev_get_saddr's source for the
   * way back; `pkt` stays the caller's.
   */
  icmp6Send(pkt: Packet, type: number, code: number, info: number, toUs: boolean): void {
    const e = this.host.element.engine, el = this.host.element, buf = pkt.buf, l3 = pkt.off + ETH_HLEN, nd = this.nd, h = nd.hop;
    // is_ineligible: none about an ICMPv6 error; none to the unspecified address.
    const ineligible = (buf[l3 + 6] === NEXTHDR_ICMP && pkt.len >= ETH_HLEN + IPV6_HLEN + 1 && buf[l3 + IPV6_HLEN]! < 128) || ip6IsAny(buf, l3 + IPV6_SRC);
    if (ineligible || !nd.route(buf, l3 + IPV6_SRC, undefined, toUs ? buf : undefined, l3 + IPV6_DST) || h.local) return;
    const dst = this.dst;
    ip6Copy(dst, 0, buf, l3 + IPV6_SRC);
    let src: Uint8Array | undefined = this.from;
    if (toUs) ip6Copy(src, 0, buf, l3 + IPV6_DST);
    else src = source6(this.host.links(), h.dev, dst)?.bytes;
    const allowed = src !== undefined && this.limit.allow(type, dst, 0, e.now, this.host.icmp6Ratelimit());
    if (src !== undefined && !allowed && e.tracing) e.note(pkt, el, 'icmp6: error rate-limited (net.ipv6.icmp.ratelimit)');
    const p = allowed ? e.alloc(pkt, el, 'ICMPv6 error') : null;
    if (p === null) return;
    const pl3 = p.off + ETH_HLEN, pl4 = pl3 + IPV6_HLEN;
    const n = Math.min(pkt.len - ETH_HLEN, IPV6_MIN_MTU - IPV6_HLEN - 8);
    buf.copyWithin(pl4 + 8, l3, l3 + n); // one slab: p.buf is buf
    writeIpv6Head(buf, pl3, 0, 8 + n, NEXTHDR_ICMP, HOP_LIMIT);
    ip6Copy(buf, pl3 + IPV6_SRC, src!, 0);
    ip6Copy(buf, pl3 + IPV6_DST, dst, 0);
    // The kernel's label is its hash of the flow (keyed per boot): any stable one stands for it.
    writeU32(buf, pl3, (0x6000_0000 | flowHash(buf, pl3, type)) >>> 0);
    buf[pl4] = type;
    buf[pl4 + 1] = code;
    writeU32(buf, pl4 + 4, info);
    icmpv6SetChecksum(buf, pl3, pl4, 8 + n);
    p.len = ETH_HLEN + IPV6_HLEN + 8 + n;
    nd.sendTo(p, h.dev!, h.gw, 'icmp6: error sent');
  }

  /**
   * ndisc_send_redirect for a packet leaving by `l`, the device it came in
   * on, to the gateway `gw` (null: on-link): the target (the gateway, or
   * the destination itself; another than the destination only if it is a
   * link-local), told to the packet's source if that is a neighbour (its
   * route has no gateway), at most once a second by each of the destination
   * and the source (bursts of 6), from the device's link-local, hop limit
   * 255, with the target's link-layer address when it is resolved and as
   * much of the packet (as received) as keeps the message within 1280
   * bytes, in 8-byte units.
   */
  private redirect(pkt: Packet, l: Interface, gw: Uint8Array | null): void {
    const e = this.host.element.engine, el = this.host.element, buf = pkt.buf, l3 = pkt.off + ETH_HLEN, nd = this.nd, h = nd.hop;
    const ll = lladdr6(l), t = this.target;
    if (ll === undefined) return;
    ip6Copy(t, 0, gw ?? buf, gw ? 0 : l3 + IPV6_DST);
    if (!ip6Equal(t, 0, buf, l3 + IPV6_DST) && !ip6IsLinkLocal(t, 0)) return;
    if (!this.limit.xrlim(buf, l3 + IPV6_DST, e.now, 1000)) return;
    if (!nd.route(buf, l3 + IPV6_SRC, ip6IsLinkLocal(buf, l3 + IPV6_SRC) ? l : undefined, ll.bytes, 0) || h.local || h.gw !== null) return;
    if (!this.limit.xrlim(buf, l3 + IPV6_SRC, e.now, 1000)) return;
    const mac = nd.resolved(l.index, t, 0);
    const optlen = mac < 0 ? 0 : ND_OPT_LL_LEN;
    const rd = Math.min(IPV6_MIN_MTU - IPV6_HLEN - REDIRECT_LEN - optlen, pkt.len - ETH_HLEN + 8) & ~7;
    const p = e.alloc(pkt, el, 'ICMPv6 redirect');
    if (p === null) return;
    const pl3 = p.off + ETH_HLEN, pl4 = pl3 + IPV6_HLEN, len = REDIRECT_LEN + optlen + rd;
    buf.copyWithin(pl4 + REDIRECT_LEN + optlen + 8, l3, l3 + rd - 8); // one slab: p.buf is buf
    writeIpv6Head(buf, pl3, 0, len, NEXTHDR_ICMP, ND_HOPLIMIT);
    ip6Copy(buf, pl3 + IPV6_SRC, ll.bytes, 0);
    ip6Copy(buf, pl3 + IPV6_DST, buf, l3 + IPV6_SRC);
    buf[pl4] = NDISC_REDIRECT;
    buf[pl4 + 1] = 0;
    writeU32(buf, pl4 + 4, 0);
    ip6Copy(buf, pl4 + 8, t, 0);
    ip6Copy(buf, pl4 + 24, buf, l3 + IPV6_DST);
    if (mac >= 0) writeNdOptLinkAddr(buf, pl4 + REDIRECT_LEN, ND_OPT_TARGET_LL_ADDR, macHi(mac), macLo(mac));
    const o = pl4 + REDIRECT_LEN + optlen;
    buf[o] = ND_OPT_REDIRECT_HDR;
    buf[o + 1] = rd >> 3;
    for (let i = 2; i < 8; i++) buf[o + i] = 0;
    icmpv6SetChecksum(buf, pl3, pl4, len);
    p.len = ETH_HLEN + IPV6_HLEN + len;
    nd.sendTo(p, h.dev!, null, 'ndisc: redirect sent');
  }

  private readonly dst = new Uint8Array(16);
  private readonly target = new Uint8Array(16);
  private readonly from = new Uint8Array(16);
  private readonly limit = new Icmp6RateLimit();
}
