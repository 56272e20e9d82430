// IPv6 as tcpdump prints it (print-ip6.c, ip6_print): with -v the header
// in parentheses, the addresses, then the chain of extension headers
// (hop-by-hop and destination options in tcpdump-ip6opts.ts, fragment here
// as print-frag6.c, routing and mobility in tcpdump-ip6ext.ts) and the
// upper layer (tcpdump-ip-demux.ts).
import { hex2, readU16, readU32 } from './addr.js';
import { ipDemuxPrint } from './tcpdump-ip-demux.js';
import { mobilityText, rt6Text } from './tcpdump-ip6ext.js';
import { ip6OptsPrint } from './tcpdump-ip6opts.js';
import {
  IPPROTO_DCCP,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_MOBILITY,
  IPPROTO_MOBILITY_OLD,
  IPPROTO_NAMES,
  IPPROTO_ROUTING,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from './tcpdump-names.js';
import type { Ndo } from './tcpdump-netdissect.js';
import { ip6ToString } from './tcpdump-text.js';

/** ip6_print for the IPv6 packet at ip, `length` bytes left in the frame. */
export function ip6Print(ndo: Ndo, ip: number, length: number): void {
  ndo.proto = 'ip6';
  ndo.tcheck(ip, 40);
  if (!ndo.link) ndo.p('IP6 ');
  if (length < 40) {
    ndo.p(`truncated-ip6 ${length}`);
    return;
  }
  const v = ndo.b[ip]! >>> 4;
  if (v !== 6) {
    ndo.p(`version error: ${v} != 6`);
    return;
  }
  const payloadLen = readU16(ndo.b, ip + 4);
  let len = payloadLen + 40;
  if (length < len) ndo.p(`truncated-ip6 - ${len - length} bytes missing!`);
  ndo.pushSnapend(ip + len);
  const nh = ndo.b[ip + 6]!;
  // The upper layer gets the payload length from the header, as in ip_print, even when the frame is shorter.
  len = payloadLen !== 0 ? payloadLen : length - 40;
  if (ndo.v) {
    const flow = readU32(ndo.b, ip);
    let s = '(';
    if (flow & 0x0ff00000) s += `class 0x${hex2((flow & 0x0ff00000) >>> 20)}, `;
    if (flow & 0x000fffff) s += `flowlabel 0x${(flow & 0xfffff).toString(16).padStart(5, '0')}, `;
    ndo.p(`${s}hlim ${ndo.b[ip + 7]}, next-header ${IPPROTO_NAMES[nh] ?? 'unknown'} (${nh}) payload length: ${payloadLen}) `);
  }
  if (nh !== IPPROTO_TCP && nh !== IPPROTO_UDP && nh !== IPPROTO_SCTP && nh !== IPPROTO_DCCP) {
    ndo.p(`${ip6ToString(ndo.b, ip + 8)} > ${ip6ToString(ndo.b, ip + 24)}: `);
  }
  ip6Chain(ndo, ip, len, nh, payloadLen);
  ndo.popSnapend();
}

/**
 * ip6_print's loop over the extension headers after the fixed header (the
 * hop-by-hop and destination options, fragment), then the upper layer.
 * `len` is what follows the fixed header; routing and mobility headers in
 * tcpdump-ip6ext.ts.
 */
function ip6Chain(ndo: Ndo, ip: number, len: number, nh: number, payloadLen: number): void {
  let cp = ip + 40;
  let fragmented = false;
  let hbh = false;
  for (;;) {
    let advance: number;
    switch (nh) {
      case IPPROTO_HOPOPTS:
        // RFC 8200: one, straight after the IPv6 header.
        if (hbh || cp !== ip + 40) {
          ndo.p(hbh ? '[The Hop-by-Hop Options header was already found]' : "[The Hop-by-Hop Options header don't follow the IPv6 header]");
          return ndo.invalid();
        }
        hbh = true;
        advance = ip6OptsPrint(ndo, cp, 'HBH', 'hbhopt', payloadLen);
        break;
      case IPPROTO_DSTOPTS:
        advance = ip6OptsPrint(ndo, cp, 'DSTOPT', 'dstopt', -1);
        break;
      case IPPROTO_FRAGMENT:
        advance = frag6(ndo, cp, ip);
        if (advance >= 0 && ndo.snapend <= cp + advance) return;
        fragmented = true;
        break;
      case IPPROTO_ROUTING:
        ndo.tcheck(cp, 1); // ip6_print's own check, still as "ip6"
        ndo.proto = 'rt6';
        advance = extHeader(ndo, () => rt6Text(ndo.b, cp, ndo.snapend, ndo.v));
        break;
      case IPPROTO_MOBILITY:
      case IPPROTO_MOBILITY_OLD:
        // Whatever follows a mobility header is not printed (RFC 6275 wants none).
        ndo.proto = 'mobility';
        extHeader(ndo, () => mobilityText(ndo.b, cp, ndo.snapend, ndo.v));
        return;
      default:
        ipDemuxPrint(ndo, cp, len, 6, fragmented, nh, ip);
        return;
    }
    if (advance < 0) return;
    nh = ndo.u8(cp);
    ndo.proto = 'ip6';
    if (len < advance) return ndo.trunc();
    cp += advance;
    len -= advance;
  }
}

/** A header printed by a module of its own (tcpdump-ip6ext.ts): its length, or -1 where the packet ends. */
function extHeader(ndo: Ndo, print: () => { text: string; result: number }): number {
  let advance = -1;
  ndo.embedded(() => {
    const r = print();
    advance = r.result;
    return r.text;
  });
  return advance;
}

/** frag6_print: "frag (offset|rest) "; -1 for a fragment after the first, whose contents tcpdump does not decode. */
function frag6(ndo: Ndo, cp: number, ip: number): number {
  ndo.proto = 'frag6';
  const ident = ndo.v ? `0x${ndo.u32(cp + 4).toString(16).padStart(8, '0')}:` : '';
  const off = ndo.u16(cp + 2) & 0xfff8;
  ndo.p(`frag (${ident}${off}|${40 + ndo.u16(ip + 4) - (cp - ip) - 8})`);
  if (off !== 0) return -1;
  ndo.p(' ');
  return 8;
}
