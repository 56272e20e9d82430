// IPv6 hop-by-hop and destination options headers as tcpdump prints them
// (print-ip6opts.c, hbhopt_process and dstopt_process): "HBH " or
// "DSTOPT ", then with -v each option (pad, router alert, jumbo payload,
// home address and its sub-options).
import { hex2 } from './addr.js';
import type { Ndo } from './tcpdump-netdissect.js';
import { hex4 } from './tcpdump-text.js';

const IP6OPT_PAD1 = 0, IP6OPT_PADN = 1, IP6OPT_ROUTER_ALERT = 5, IP6OPT_JUMBO = 0xc2, IP6OPT_HOME_ADDRESS = 0xc9;

/**
 * hbhopt_process / dstopt_process: "HBH " or "DSTOPT ", the options (a
 * destination header's only with -v); its length, or -1 when the packet
 * ends here. `payloadLen` (-1: not hop-by-hop) judges a Jumbo option.
 */
export function ip6OptsPrint(ndo: Ndo, cp: number, name: string, proto: string, payloadLen: number): number {
  ndo.proto = proto;
  const hlen = (ndo.u8(cp + 1) + 1) << 3;
  if (!ndo.ttest(cp, hlen)) {
    ndo.trunc();
    return -1;
  }
  ndo.p(`${name} `);
  if ((payloadLen >= 0 || ndo.v) && !ip6OptList(ndo, cp + 2, hlen - 2, payloadLen)) {
    ndo.trunc();
    return -1;
  }
  return hlen;
}

/** ip6_opt_process (tcpdump 4.99): each option, printed with -v; false where tcpdump gives up ("goto trunc"). */
function ip6OptList(ndo: Ndo, bp: number, len: number, payloadLen: number): boolean {
  if (len === 0) return true;
  let jumbo = false;
  for (let i = 0, optlen = 0; i < len; i += optlen) {
    if ((optlen = ip6OptLen(ndo, bp, i, len)) < 0) return false;
    const type = ndo.u8(bp + i);
    const rest = len - i;
    switch (type) {
      case IP6OPT_PAD1:
        if (ndo.v) ndo.p('(pad1)');
        break;
      case IP6OPT_PADN:
        if (ndo.v) ndo.p('(padn)');
        break;
      case IP6OPT_ROUTER_ALERT:
        if (rest < 4) return ndo.p('(rtalert: trunc)'), false;
        if (ndo.u8(bp + i + 1) !== 2) return ndo.p(`(rtalert: invalid len ${ndo.u8(bp + i + 1)})`), false;
        if (ndo.v) ndo.p(`(rtalert: 0x${hex4(ndo.u16(bp + i + 2))}) `);
        break;
      case IP6OPT_JUMBO: {
        if (rest < 6) return ndo.p('(jumbo: trunc)'), false;
        if (ndo.u8(bp + i + 1) !== 4) return ndo.p(`(jumbo: invalid len ${ndo.u8(bp + i + 1)})`), false;
        const n = ndo.u32(bp + i + 2);
        const why = jumbo ? ' - already seen' : payloadLen < 0 ? ' - not a hop-by-hop option' : payloadLen !== 0 ? ' - payload len != 0' : n < 65536 ? ' - < 65536' : '';
        jumbo = true;
        if (ndo.v) ndo.p(`(jumbo: ${n}${why}) `);
        break;
      }
      case IP6OPT_HOME_ADDRESS:
        if (rest < 18) return ndo.p('(homeaddr: trunc)'), false;
        if (ndo.u8(bp + i + 1) < 16) return ndo.p(`(homeaddr: invalid len ${ndo.u8(bp + i + 1)})`), false;
        if (ndo.v) {
          ndo.p(`(homeaddr: ${ndo.ip6(bp + i + 2)}`);
          if (ndo.u8(bp + i + 1) > 16 && !ip6SubOptList(ndo, bp + i + 18, optlen - 18)) return false;
          ndo.p(')');
        }
        break;
      default:
        if (rest < 2) return ndo.p(`(type ${type}: trunc)`), false;
        if (ndo.v) ndo.p(`(opt_type 0x${hex2(type)}: len=${ndo.u8(bp + i + 1)})`);
    }
  }
  if (ndo.v) ndo.p(' ');
  return true;
}

/** The length of the option at bp[i] in a list of `len` bytes, or -1 where it does not fit (tcpdump's "goto trunc"). */
function ip6OptLen(ndo: Ndo, bp: number, i: number, len: number): number {
  const optlen = ndo.u8(bp + i) === IP6OPT_PAD1 ? 1 : i + 1 < len ? ndo.u8(bp + i + 1) + 2 : -1;
  return optlen < 0 || i + optlen > len ? -1 : optlen;
}

/** ip6_sopt_print: a home address option's sub-options. */
function ip6SubOptList(ndo: Ndo, bp: number, len: number): boolean {
  for (let i = 0, optlen = 0; i < len; i += optlen) {
    if ((optlen = ip6OptLen(ndo, bp, i, len)) < 0) return false;
    const type = ndo.u8(bp + i);
    if (type === IP6OPT_PAD1) ndo.p(', pad1');
    else if (type === IP6OPT_PADN) ndo.p(', padn');
    else ndo.p(`, sopt_type 0x${hex2(type)}: len=${ndo.u8(bp + i + 1)}`);
  }
  return true;
}
