// IPv4 record route and timestamp options as net/ipv4/ip_options.c handles
// them: ip_options_compile on a received header (the hop's address and time
// written where the pointer says, the pointer moved on, the overflow
// counted), ip_forward_options (a router's RR slot rewritten with the
// address of its way out), ip_options_echo and ip_options_build (the options
// an echo reply carries back, and those a socket's IP_OPTIONS puts on what it
// sends). Other options pass untouched; source routes are not modelled.
import { readU32, writeU32 } from '../wire/addr.js';

export const IPOPT_END = 0;
export const IPOPT_NOOP = 1;
export const IPOPT_RR = 7;
export const IPOPT_TIMESTAMP = 68;
export const IPOPT_TS_TSONLY = 0;
export const IPOPT_TS_TSANDADDR = 1;
export const IPOPT_TS_PRESPEC = 3;

/** struct ip_options' RR and TS fields: offsets from the IP header (0: absent), and the writes output owes. */
export class IpOptions {
  rr = 0;
  rrNeedAddr = false;
  ts = 0;
  tsNeedAddr = false;
  tsNeedTime = false;

  clear(): void {
    this.rr = this.ts = 0;
    this.rrNeedAddr = this.tsNeedAddr = this.tsNeedTime = false;
  }
}

/** inet_current_timestamp: milliseconds since midnight UTC (what RFC 791 calls a standard timestamp). */
export function currentTimestamp(): number {
  return Date.now() % 86_400_000;
}

/**
 * ip_options_compile on a received header at l3 (`hlen` bytes): RR gets
 * `specDst` in its next slot, TS the time (and `specDst` for tsandaddr; a
 * prespecified address only where `isLocal` says it is ours), or its
 * overflow counted; an END pads the rest. Returns -1, or the offset from l3
 * of the byte in error (ICMP parameter problem's pointer).
 */
export function optionsCompile(buf: Uint8Array, l3: number, hlen: number, o: IpOptions, specDst: number, isLocal: (a: number) => boolean): number {
  o.clear();
  let p = l3 + 20;
  for (let l = hlen - 20; l > 0; ) {
    const t = buf[p]!;
    if (t === IPOPT_END) {
      for (p++, l--; l > 0; p++, l--) buf[p] = IPOPT_END;
      return -1;
    }
    if (t === IPOPT_NOOP) {
      l--;
      p++;
      continue;
    }
    if (l < 2) return p - l3;
    const optlen = buf[p + 1]!;
    if (optlen < 2 || optlen > l) return p - l3;
    if (t === IPOPT_RR) {
      if (o.rr) return p - l3;
      if (optlen < 3) return p + 1 - l3;
      const ptr = buf[p + 2]!;
      if (ptr < 4) return p + 2 - l3;
      if (ptr <= optlen) {
        if (ptr + 3 > optlen) return p + 2 - l3;
        writeU32(buf, p + ptr - 1, specDst);
        buf[p + 2] = ptr + 4;
        o.rrNeedAddr = true;
      }
      o.rr = p - l3;
    } else if (t === IPOPT_TIMESTAMP) {
      if (o.ts) return p - l3;
      if (optlen < 4) return p + 1 - l3;
      const ptr = buf[p + 2]!, flags = buf[p + 3]!;
      if (ptr < 5) return p + 2 - l3;
      if (ptr <= optlen) {
        if (ptr + 3 > optlen) return p + 2 - l3;
        let time = -1;
        switch (flags & 15) {
          case IPOPT_TS_TSONLY:
            time = p + ptr - 1;
            o.tsNeedTime = true;
            buf[p + 2] = ptr + 4;
            break;
          case IPOPT_TS_TSANDADDR:
            if (ptr + 7 > optlen) return p + 2 - l3;
            writeU32(buf, p + ptr - 1, specDst);
            time = p + ptr + 3;
            o.tsNeedAddr = o.tsNeedTime = true;
            buf[p + 2] = ptr + 8;
            break;
          case IPOPT_TS_PRESPEC:
            if (ptr + 7 > optlen) return p + 2 - l3;
            if (!isLocal(readU32(buf, p + ptr - 1))) break;
            time = p + ptr + 3;
            o.tsNeedTime = true;
            buf[p + 2] = ptr + 8;
            break;
        }
        if (time >= 0) writeU32(buf, time, currentTimestamp());
      } else if ((flags & 15) !== IPOPT_TS_PRESPEC) {
        const overflow = flags >>> 4;
        if (overflow === 15) return p + 3 - l3;
        buf[p + 3] = (flags & 15) | ((overflow + 1) << 4);
      }
      o.ts = p - l3;
    }
    l -= optlen;
    p += optlen;
  }
  return -1;
}

/** ip_forward_options: a router records the address it forwards from (ip_rt_get_source) in the slot input filled. */
export function forwardOptions(buf: Uint8Array, l3: number, o: IpOptions, src: number): void {
  if (o.rrNeedAddr) writeU32(buf, l3 + o.rr + buf[l3 + o.rr + 2]! - 5, src);
}

/**
 * ip_options_echo: the options a reply to the header at l3 carries (RR,
 * then TS, END-padded to a multiple of 4) into `out` from its start, `d`
 * told what output must write. Their length, or -1 (EINVAL: no reply).
 */
export function optionsEcho(buf: Uint8Array, l3: number, s: IpOptions, out: Uint8Array, d: IpOptions, isLocal: (a: number) => boolean): number {
  d.clear();
  let n = 0;
  if (s.rr) {
    const at = l3 + s.rr, optlen = buf[at + 1]!, soffset = buf[at + 2]!;
    d.rr = 20 + n;
    out.set(buf.subarray(at, at + optlen), n);
    if (s.rrNeedAddr && soffset <= optlen) {
      if (soffset + 3 > optlen) return -1;
      out[n + 2] = soffset + 4;
      d.rrNeedAddr = true;
    }
    n += optlen;
  }
  if (s.ts) {
    const at = l3 + s.ts, optlen = buf[at + 1]!;
    let soffset = buf[at + 2]!;
    d.ts = 20 + n;
    out.set(buf.subarray(at, at + optlen), n);
    if (soffset <= optlen) {
      if (s.tsNeedAddr) {
        if (soffset + 3 > optlen) return -1;
        d.tsNeedAddr = true;
        soffset += 4;
      }
      if (s.tsNeedTime) {
        if (soffset + 3 > optlen) return -1;
        if ((out[n + 3]! & 15) !== IPOPT_TS_PRESPEC) {
          d.tsNeedTime = true;
          soffset += 4;
        } else {
          // The next prespecified hop is timed by output when it is one of ours (not RTN_UNICAST).
          if (soffset + 7 <= optlen && isLocal(readU32(out, n + soffset - 1))) {
            d.tsNeedTime = true;
            soffset += 8;
          }
        }
      }
      out[n + 2] = soffset;
    }
    n += optlen;
  }
  while (n & 3) out[n++] = IPOPT_END;
  return n;
}

/** ip_options_build's writes for a header at l3 leaving from `src`: RR's slot, TS's address and time. */
export function optionsBuild(buf: Uint8Array, l3: number, o: IpOptions, src: number): void {
  if (o.rrNeedAddr) writeU32(buf, l3 + o.rr + buf[l3 + o.rr + 2]! - 5, src);
  if (o.tsNeedAddr) writeU32(buf, l3 + o.ts + buf[l3 + o.ts + 2]! - 9, src);
  if (o.tsNeedTime) writeU32(buf, l3 + o.ts + buf[l3 + o.ts + 2]! - 5, currentTimestamp());
}
