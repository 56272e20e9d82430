// An IP payload by its protocol number, as tcpdump hands it on
// (print-ip-demux.c, ip_demux_print): TCP, UDP, ICMP, ICMPv6, IGMP, OSPF;
// the others as tcpdump -nn prints unknown ones. IPv4 and IPv6 both call it.
import { igmpText } from './tcpdump-igmp.js';
import { icmpPrint } from './tcpdump-icmp.js';
import { icmp6Print } from './tcpdump-icmp6.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IGMP, IPPROTO_OSPF, IPPROTO_TCP, IPPROTO_UDP } from './tcpdump-names.js';
import type { Ndo } from './tcpdump-netdissect.js';
import { ospfPrint } from './tcpdump-ospf.js';
import { tcpPrint } from './tcpdump-tcp.js';
import { udpPrint } from './tcpdump-udp.js';

/** ip_demux_print for the protocols this printer knows; others as tcpdump -nn prints unknown ones. */
export function ipDemuxPrint(ndo: Ndo, bp: number, length: number, ver: number, fragmented: boolean, nh: number, iph: number): void {
  switch (nh) {
    case IPPROTO_TCP:
      tcpPrint(ndo, bp, length, iph, ver, fragmented);
      return;
    case IPPROTO_UDP:
      udpPrint(ndo, bp, length, iph, ver, fragmented);
      return;
    case IPPROTO_ICMP:
      if (ver === 4) icmpPrint(ndo, bp, length, fragmented);
      else {
        ndo.p('[ICMP requires IPv4]');
        ndo.invalid();
      }
      return;
    case IPPROTO_ICMPV6:
      if (ver === 6) icmp6Print(ndo, bp, length, iph, fragmented);
      else {
        ndo.p('[ICMPv6 requires IPv6]');
        ndo.invalid();
      }
      return;
    case IPPROTO_IGMP:
      if (ver !== 4) {
        ndo.p('[IGMP requires IPv4]');
        ndo.invalid();
        return;
      }
      ndo.proto = 'igmp';
      ndo.embedded(() => igmpText(ndo.b, bp, length, ndo.snapend, ndo.v, ndo.quiet));
      return;
    case IPPROTO_OSPF:
      if (ver === 4) {
        ospfPrint(ndo, bp, length);
        return;
      }
      break;
    case 59:
      ndo.p('no next header');
      return;
  }
  ndo.p(` ip-proto-${nh} ${length}`);
}
