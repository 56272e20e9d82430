// IPv6 routing and mobility headers as tcpdump 4.99 prints them
// (print-rt6.c rt6_print, print-mobility.c mobility_print), and
// ip6_finddst: the destination an upper-layer checksum covers when a
// routing header names the final hop.
//
// Reads follow tcpdump's: a GET_* past the captured bytes abandons the
// packet (runPrinter's PrintAbort: the caller prints " [|rt6]" or
// " [|mobility]" and stops).
import { hex2 } from './addr.js';
import { IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_MOBILITY, IPPROTO_MOBILITY_OLD, IPPROTO_ROUTING } from './tcpdump-names.js';
import { hex4, ip6ToString, Reader, runPrinter } from './tcpdump-text.js';

const RTHDR_TYPE_0 = 0, RTHDR_TYPE_2 = 2, RTHDR_TYPE_4 = 4;

/** Mobility header message types and the least header length each needs (ip6m_str, ip6m_hdrlen). */
const MH_TYPES = ['BRR', 'HoTI', 'CoTI', 'HoT', 'CoT', 'BU', 'BA', 'BE'];
const MH_MINLEN = [8, 16, 16, 24, 24, 16, 16, 24];
const BU_BITS: readonly [number, string][] = [[0x08, 'A'], [0x04, 'H'], [0x02, 'L'], [0x01, 'K']];

/** rt6_print for the routing header at cp: its text and length, or -1 where tcpdump stops (invalid). Throws PrintAbort. */
export function rt6Text(b: Uint8Array, cp: number, snapend: number, v: number): { text: string; result: number } {
  return runPrinter(new Ip6Ext(b, snapend, v), (d) => d.rt6(cp));
}

/** mobility_print for the mobility header at cp: its text and length, or -1 where tcpdump stops. Throws PrintAbort. */
export function mobilityText(b: Uint8Array, cp: number, snapend: number, v: number): { text: string; result: number } {
  return runPrinter(new Ip6Ext(b, snapend, v), (d) => d.mobility(cp));
}

/**
 * ip6_finddst: where the destination address for the pseudo header of the
 * packet at ip6 lies: the last address of a type 0 or 2 routing header,
 * the first segment of a segment routing header, else the header's own.
 * Only called when the upper layer was captured whole, so its headers were.
 */
export function ip6FinalDst(b: Uint8Array, ip6: number, snapend: number): number {
  let dst = ip6 + 24;
  let nh = b[ip6 + 6]!;
  let cp = ip6;
  let advance = 40;
  while (cp < snapend) {
    cp += advance;
    switch (nh) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_DSTOPTS:
      case IPPROTO_MOBILITY_OLD:
      case IPPROTO_MOBILITY:
        advance = (b[cp + 1]! + 1) << 3;
        nh = b[cp]!;
        break;
      case IPPROTO_FRAGMENT:
        advance = 8;
        nh = b[cp]!;
        break;
      case IPPROTO_ROUTING: {
        const type = b[cp + 2]!;
        const len = b[cp + 1]!;
        if (type === RTHDR_TYPE_0 || type === RTHDR_TYPE_2) {
          if (len % 2 === 1) return dst;
          // Each address in turn while captured (ND_TCHECK_16: the last whole one wins).
          for (let i = 0, p = cp + 8; i < len >> 1 && p + 16 <= snapend; i++, p += 16) dst = p;
        } else if (type === RTHDR_TYPE_4 && cp + 24 <= snapend) dst = cp + 8; // the first segment, when captured
        return dst;
      }
      default:
        return dst;
    }
  }
  return dst;
}

class Ip6Ext extends Reader {
  constructor(b: Uint8Array, snapend: number, private readonly v: number) {
    super(b, snapend);
  }

  private ip6(p: number): string {
    this.need(p, 16);
    return ip6ToString(this.b, p);
  }

  rt6(cp: number): number {
    this.p('RT6');
    let len = this.u8(cp + 1);
    this.p(` (len=${len}`);
    const type = this.u8(cp + 2);
    this.p(`, type=${type}${type === RTHDR_TYPE_0 ? ' [Deprecated]' : ''}`);
    this.p(`, segleft=${this.u8(cp + 3)}`);
    switch (type) {
      case RTHDR_TYPE_0:
      case RTHDR_TYPE_2: {
        const rsv = this.u32(cp + 4);
        if (rsv || this.v) this.p(`, rsv=0x${rsv.toString(16)}`);
        break;
      }
      case RTHDR_TYPE_4: {
        this.p(`, last-entry=${this.u8(cp + 4)}`);
        const flags = this.u8(cp + 5);
        if (flags || this.v) this.p(`, flags=0x${flags.toString(16)}`);
        this.p(`, tag=${this.u16(cp + 6).toString(16)}`);
        break;
      }
      default:
        this.p(' (unknown type) (invalid)');
        return -1;
    }
    if (len % 2 === 1) {
      this.p(` (invalid length ${len}) (invalid)`);
      return -1;
    }
    len >>= 1;
    for (let i = 0, p = cp + 8; i < len; i++, p += 16) this.p(`, [${i}]${this.ip6(p)}`);
    this.p(') ');
    return (this.u8(cp + 1) + 1) << 3;
  }

  mobility(bp: number): number {
    if (!this.ttest(bp + 1, 1)) {
      this.p(' [|mobility]');
      return -1;
    }
    const mhlen = (this.u8(bp + 1) + 1) << 3;
    const type = this.u8(bp + 2);
    if (type < MH_MINLEN.length && mhlen < MH_MINLEN[type]!) {
      this.p(`(header length ${mhlen} is too small for type ${type}) [|mobility]`);
      return -1;
    }
    this.p(`mobility: ${MH_TYPES[type] ?? `type-#${type}`}`);
    let hlen = 8;
    const cookie = (what: string, label: string, p: number): void => {
      if (this.v) this.p(` ${what} ${label}=${this.hex32(p)}:${this.hex32(p + 4)}`);
    };
    switch (type) {
      case 0:
        break;
      case 1:
      case 2:
        cookie(type === 1 ? 'Home' : 'Care-of', 'Init Cookie', bp + 8);
        hlen = 16;
        break;
      case 3:
      case 4:
        this.p(` nonce id=0x${this.u16(bp + 6).toString(16)}`);
        cookie(type === 3 ? 'Home' : 'Care-of', 'Init Cookie', bp + 8);
        cookie(type === 3 ? 'Home' : 'Care-of', 'Keygen Token', bp + 16);
        hlen = 24;
        break;
      case 5: {
        this.p(` seq#=${this.u16(bp + 6)}`);
        this.need(bp + 8, 2);
        const bits = this.u8(bp + 8) >> 4;
        if (bits) this.p(` ${BU_BITS.filter(([bit]) => bits & bit).map(([, n]) => n).join('')}`);
        this.p(` lifetime=${this.u16(bp + 10) << 2}`);
        hlen = 12;
        break;
      }
      case 6:
        this.p(` status=${this.u8(bp + 6)}`);
        if (this.u8(bp + 7) & 0x80) this.p(' K');
        this.p(` seq#=${this.u16(bp + 8)}`);
        this.p(` lifetime=${this.u16(bp + 10) << 2}`);
        hlen = 12;
        break;
      case 7:
        this.p(` status=${this.u8(bp + 6)}`);
        this.p(` homeaddr ${this.ip6(bp + 8)}`);
        hlen = 24;
        break;
      default:
        this.p(` len=${this.u8(bp + 1)}`);
        return mhlen;
    }
    if (this.v && !this.options(bp + hlen, mhlen - hlen)) {
      this.p(' [|mobility]');
      return -1;
    }
    return mhlen;
  }

  private hex32(p: number): string {
    return this.u32(p).toString(16).padStart(8, '0');
  }

  /** mobility_opt_print: false where tcpdump gives up ("goto trunc"). */
  private options(bp: number, len: number): boolean {
    for (let i = 0, optlen = 0; i < len; i += optlen) {
      const type = this.u8(bp + i);
      if (type === 0) optlen = 1;
      else if (i + 1 < len) optlen = this.u8(bp + i + 1) + 2;
      else return false;
      if (i + optlen > len || !this.ttest(bp + i + optlen, 1)) return false;
      const rest = len - i;
      const short = (min: number, what: string): boolean => {
        if (rest >= min) return false;
        this.p(`(${what}: trunc)`);
        return true;
      };
      switch (type) {
        case 0:
          this.p('(pad1)');
          break;
        case 1:
          if (short(2, 'padn')) return false;
          this.p('(padn)');
          break;
        case 2:
          if (short(4, 'refresh')) return false;
          this.p(`(refresh: ${this.u16(bp + i + 2) << 2})`);
          break;
        case 3:
          if (short(18, 'altcoa')) return false;
          this.p(`(alt-CoA: ${this.ip6(bp + i + 2)})`);
          break;
        case 4:
          if (short(6, 'ni')) return false;
          this.p(`(ni: ho=0x${hex4(this.u16(bp + i + 2))} co=0x${hex4(this.u16(bp + i + 4))})`);
          break;
        case 5:
          if (short(12, 'auth')) return false;
          this.p('(auth)');
          break;
        default:
          if (short(2, `sopt_type ${type}`)) return false;
          this.p(`(type-0x${hex2(type)}: len=${this.u8(bp + i + 1)})`);
      }
    }
    return true;
  }
}
