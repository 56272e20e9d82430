// The payload of an ethertype (print-ether.c's ethertype_print, for the
// types dpemu decodes: IPv4, IPv6, ARP and RARP), shared by the Ethernet,
// cooked and SNAP printers, with tcpdump's name for an ethertype.
import { arpPrint } from './tcpdump-arp.js';
import { ipPrint } from './tcpdump-ip.js';
import { ip6Print } from './tcpdump-ip6.js';
import { ETHERTYPE_NAMES } from './tcpdump-names.js';
import type { Ndo } from './tcpdump-netdissect.js';

/** The largest 802.3 length field: an ethertype field at or below it is a length, and LLC follows. */
export const MAX_ETHERNET_LENGTH_VAL = 1500;

/** tcpdump's name for an ethertype ("IPv4", "802.1Q", ... or "Unknown"). */
export function ethertypeName(type: number): string {
  return ETHERTYPE_NAMES[type] ?? 'Unknown';
}

/** The payload of an ethertype dpemu decodes (ethertype_print's IPv4, IPv6, ARP and RARP); false for any other. */
export function byEthertype(ndo: Ndo, type: number, p: number, length: number, caplen: number): boolean {
  switch (type) {
    case 0x0800:
      ipPrint(ndo, p, length);
      return true;
    case 0x86dd:
      ip6Print(ndo, p, length);
      return true;
    case 0x0806:
    case 0x8035:
      arpPrint(ndo, p, length, caplen);
      return true;
    default:
      return false;
  }
}
