// UDP as tcpdump prints it (print-udp.c, udp_print): the addresses and
// ports, with -v the checksum verdict, then the port dispatch in tcpdump's
// order (DNS and mDNS, BOOTP/DHCP, NTP, VXLAN) or "UDP, length N".
import { readU16 } from './addr.js';
import { bootpPrint, domainPrint, ntpPrint } from './tcpdump-apps.js';
import { cksumShouldbe, l4Cksum } from './tcpdump-cksum.js';
import { IPPROTO_UDP } from './tcpdump-names.js';
import type { Ndo } from './tcpdump-netdissect.js';
import { hex4 } from './tcpdump-text.js';
import { vxlanPrint } from './tcpdump-vxlan.js';

const DNS_PORT = 53, MDNS_PORT = 5353, BOOTPS_PORT = 67, BOOTPC_PORT = 68, NTP_PORT = 123, VXLAN_PORT = 4789;

/** udp_print for the datagram at bp of `length` bytes, in the IPv4 or IPv6 (`ver`) packet at iph. */
export function udpPrint(ndo: Ndo, bp: number, length: number, iph: number, ver: number, fragmented: boolean): void {
  ndo.proto = 'udp';
  const [src, dst] = ndo.addrs(iph, ver);
  // udpipaddr_print: after IPv6 extension headers (which printed the addresses) only the ports.
  const withAddrs = ver === 4 || ndo.b[iph + 6] === IPPROTO_UDP;
  const ipaddr = (sport: number, dport: number): void => {
    if (!withAddrs) {
      if (sport >= 0) ndo.p(`${sport} > ${dport}: `);
    } else if (sport < 0) ndo.p(`${src} > ${dst}: `);
    else ndo.p(`${src}.${sport} > ${dst}.${dport}: `);
  };
  if (!ndo.ttest(bp + 2, 2)) {
    ipaddr(-1, -1);
    return ndo.trunc(); // udp_print's goto trunc: the mark, then the caller goes on
  }
  const sport = readU16(ndo.b, bp);
  const dport = readU16(ndo.b, bp + 2);
  if (length < 8) {
    ipaddr(sport, dport);
    ndo.p(`truncated-udp ${length}`);
    return;
  }
  if (!ndo.ttest(bp + 4, 2)) {
    ipaddr(sport, dport);
    return ndo.trunc();
  }
  let ulen = readU16(ndo.b, bp + 4);
  if (ulen === 0 && length > 65535) ulen = length;
  if (ulen < 8) {
    ipaddr(sport, dport);
    ndo.p(`truncated-udplength ${ulen}`);
    return;
  }
  ulen -= 8;
  length -= 8;
  if (ulen < length) length = ulen;
  const cp = bp + 8;
  if (cp > ndo.snapend) {
    ipaddr(sport, dport);
    return ndo.trunc();
  }
  ipaddr(sport, dport);
  // IPv4's checksum is checked from -vv on (tcpdump's "XXX - do this even if vflag == 1?"), IPv6's from -v.
  if (ndo.v && !fragmented && (ver === 6 || ndo.v > 1)) {
    const udpSum = readU16(ndo.b, bp + 6);
    if (ver === 4 && udpSum === 0) ndo.p('[no cksum] ');
    else if (ndo.ttest(cp, length)) {
      const sum = l4Cksum(ndo, iph, ver, IPPROTO_UDP, bp, length + 8);
      if (sum !== 0) ndo.p(`[bad udp cksum 0x${hex4(udpSum)} -> 0x${hex4(cksumShouldbe(udpSum, sum))}!] `);
      else ndo.p('[udp sum ok] ');
    }
  }
  // udp_print's port tests in its order (none with -q): DNS and mDNS come long before VXLAN.
  const port = (n: number): boolean => !ndo.quiet && (sport === n || dport === n);
  if (port(DNS_PORT) || port(MDNS_PORT)) {
    domainPrint(ndo, cp, length, false, !port(DNS_PORT));
    return;
  }
  if (port(BOOTPS_PORT) || port(BOOTPC_PORT)) {
    bootpPrint(ndo, cp, length);
    return;
  }
  if (port(NTP_PORT)) {
    ntpPrint(ndo, cp, length);
    return;
  }
  if (port(VXLAN_PORT)) {
    vxlanPrint(ndo, cp, length);
    return;
  }
  if (ulen > length && !fragmented) ndo.p(`UDP, bad length ${ulen} > ${length}`);
  else ndo.p(`UDP, length ${ulen}`);
}
