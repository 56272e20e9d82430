// The checksum verdicts the printers share (in_cksum.c's
// in_cksum_shouldbe; print-ip.c's nextproto4_cksum and ip_finddst,
// print-ip6.c's nextproto6_cksum): what a wrong checksum should have been,
// and a TCP, UDP or ICMPv6 checksum over its pseudo header.
import { onesSum } from './checksum.js';
import { ip6FinalDst } from './tcpdump-ip6ext.js';
import type { Ndo } from './tcpdump-netdissect.js';

/** in_cksum_shouldbe: the checksum field that would have made `computed` (in_cksum over the data) zero. */
export function cksumShouldbe(sum: number, computed: number): number {
  let v = sum + computed;
  v = (v & 0xffff) + (v >>> 16);
  return (v & 0xffff) + (v >>> 16);
}

/**
 * The one's-complement check of an upper-layer checksum over the pseudo
 * header and len bytes at bp (nextproto4_cksum / nextproto6_cksum): 0 when right.
 */
export function l4Cksum(ndo: Ndo, iph: number, ver: number, proto: number, bp: number, len: number): number {
  // The IPv4 pseudo header's length is 16 bits, IPv6's 32.
  let sum = proto + (ver === 4 ? len & 0xffff : (len >>> 16) + (len & 0xffff));
  if (ver === 4) sum += onesSum(ndo.b, iph + 12, 4) + ipFinalDst(ndo, iph);
  else sum += onesSum(ndo.b, iph + 8, 16) + onesSum(ndo.b, ip6FinalDst(ndo.b, iph, ndo.snapend), 16);
  return ~onesSum(ndo.b, bp, len, sum) & 0xffff;
}

/** ip_finddst's one's-complement sum: the last hop of a source route, else the destination. */
function ipFinalDst(ndo: Ndo, iph: number): number {
  let cp = iph + 20;
  let length = (ndo.b[iph]! & 15) * 4 - 20;
  while (length > 0) {
    const tt = ndo.u8(cp);
    if (tt === 0) break;
    let len = 1;
    if (tt !== 1) {
      len = ndo.u8(cp + 1);
      if (len < 2) break;
    }
    if (length < len || !ndo.ttest(cp, len)) break;
    if ((tt === 131 || tt === 137) && len >= 7) return onesSum(ndo.b, cp + len - 4, 4);
    cp += len;
    length -= len;
  }
  return onesSum(ndo.b, iph + 16, 4);
}
