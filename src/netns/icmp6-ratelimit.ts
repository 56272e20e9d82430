// The ICMPv6 error rate limit of a namespace (net/ipv6/icmp.c
// icmpv6_xrlim_allow with inet_peer_xrlim_allow, on net->ipv6.peers, which
// ip6_forward's redirects share, a second each): each destination's
// tokens grow by the elapsed time up to 6 * net.ipv6.icmp.ratelimit, and
// an error takes `ratelimit` of them (a new destination starts full).
// Linux 6.18 gives a wider prefix no more (measured: the same count of
// time exceeded toward a /64, /48 and ::/0 route). Only the types
// net.ipv6.icmp.ratemask's default (0-1,3-127) names are limited: a packet
// too big never is. Fixed-size tables, the least recently used
// destination replaced: no allocation per error.

import { ip6Copy, ip6Equal } from '../wire/ipv6.js';

/** XRLIM_BURST_FACTOR. */
const BURST = 6;
const SLOTS = 64;

export class Icmp6RateLimit {
  private readonly addr = new Uint8Array(SLOTS * 16);
  private readonly tokens = new Float64Array(SLOTS);
  private readonly last = new Float64Array(SLOTS);
  private readonly used = new Float64Array(SLOTS);
  private size = 0;
  private clock = 0;

  /** Whether an error of `type` to the address at buf[off] goes now (`now` ms, `ratelimit` ms). */
  allow(type: number, buf: Uint8Array, off: number, now: number, ratelimit: number): boolean {
    return type === 2 || type >= 128 || this.xrlim(buf, off, now, ratelimit);
  }

  /** inet_peer_xrlim_allow on the peer of the address at buf[off], `timeout` ms an event. */
  xrlim(buf: Uint8Array, off: number, now: number, timeout: number): boolean {
    const tmo = Math.max(0, timeout);
    let slot = -1;
    for (let i = 0; i < this.size; i++) if (ip6Equal(this.addr, i * 16, buf, off)) slot = i;
    if (slot < 0) {
      if (this.size < SLOTS) slot = this.size++;
      else {
        slot = 0;
        for (let i = 1; i < SLOTS; i++) if (this.used[i]! < this.used[slot]!) slot = i;
      }
      ip6Copy(this.addr, slot * 16, buf, off);
      this.tokens[slot] = BURST * tmo;
      this.last[slot] = now;
    }
    this.used[slot] = ++this.clock;
    const token = Math.min(BURST * tmo, this.tokens[slot]! + now - this.last[slot]!);
    this.last[slot] = now;
    const ok = token >= tmo;
    this.tokens[slot] = ok ? token - tmo : token;
    return ok;
  }
}
