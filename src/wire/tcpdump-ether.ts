// The link layer as tcpdump prints it: Ethernet with its VLAN tags
// (print-ether.c, ether_common_print) and Linux cooked v2 for `-i any`
// (print-sll.c, sll2_print), then the payload by ethertype (IPv4, IPv6, ARP;
// 802.3 frames to LLC, the rest dumped in hex). With -e the line starts with
// the link-layer header.
import { macAt } from './addr.js';
import { defaultPrint } from './tcpdump-ascii.js';
import { byEthertype, ethertypeName, MAX_ETHERNET_LENGTH_VAL } from './tcpdump-ethertype.js';
import { llcHdrLen, llcPrint } from './tcpdump-llc.js';
import { ETHERTYPE_NAMES } from './tcpdump-names.js';
import type { Ndo } from './tcpdump-netdissect.js';
import { hex4 } from './tcpdump-text.js';
import { PKTTYPE_NAMES, SLL2_HDR_LEN } from './sll2.js';

/** A frame with more bytes captured than it had on the wire (a tunnel's inner frame can claim so): invalid. */
function capturedPastLength(ndo: Ndo, length: number, caplen: number): boolean {
  if (length >= caplen) return false;
  ndo.p(`[length ${length} < caplen ${caplen}]`);
  ndo.invalid();
  return true;
}

/** An 802.1Q tag's VLAN, priority and DEI bit, as -e prints them. */
const vlanText = (tag: number): string => `vlan ${tag & 0xfff}, p ${tag >>> 13}${tag & 0x1000 ? ', DEI' : ''}, `;

/** ether_print: the MAC addresses, VLAN tags, ethertype and length with -e, then the payload. */
export function etherPrint(ndo: Ndo, p: number, length: number, caplen: number): void {
  ndo.proto = 'ether';
  if (capturedPastLength(ndo, length, caplen)) return;
  if (caplen < 14 || length < 14) {
    ndo.trunc();
    return;
  }
  const origLength = length;
  const macs = `${macAt(ndo.b, p + 6)} > ${macAt(ndo.b, p)}, `;
  if (ndo.link) ndo.p(macs);
  length -= 12;
  caplen -= 12;
  p += 12;
  let type = ndo.u16(p);
  length -= 2;
  caplen -= 2;
  p += 2;
  let printedLength = false;
  while (type === 0x8100 || type === 0x9100 || type === 0x9200 || type === 0x88a8) {
    if (caplen < 4 || length < 4) {
      ndo.proto = 'vlan';
      ndo.trunc();
      return;
    }
    if (ndo.link) {
      const tag = ndo.u16(p);
      ndo.p(etherType(ndo, type));
      if (!printedLength) {
        ndo.p(`, length ${origLength}: `);
        printedLength = true;
      } else ndo.p(', ');
      ndo.p(vlanText(tag));
    }
    type = ndo.u16(p + 2);
    p += 4;
    length -= 4;
    caplen -= 4;
  }
  ndo.hdrEnd = p;
  if (type <= MAX_ETHERNET_LENGTH_VAL) {
    // 802.3 length field: LLC follows.
    if (type < length) {
      length = type;
      if (caplen > length) caplen = length;
    }
    ndo.pushSnapend(p + length);
    if (ndo.link) {
      ndo.p('802.3');
      if (!printedLength) ndo.p(`, length ${length}: `);
    }
    if (!llcPrint(ndo, p, length, caplen, macs)) defaultPrint(ndo, p, caplen);
    ndo.popSnapend();
    return;
  }
  if (ndo.link) ndo.p(`${etherType(ndo, type)}${printedLength ? ', ' : `, length ${origLength}: `}`);
  if (byEthertype(ndo, type, p, length, caplen)) return;
  // An ethertype tcpdump cannot print: without -e its line gets the link header after all.
  if (!ndo.link) ndo.p(`${macs}${etherType(ndo, type)}, length ${origLength}: `);
  defaultPrint(ndo, p, caplen);
}

/** sll2_if_print: the device name and packet type, the cooked header with -e, VLAN tags, then the payload. */
export function sll2Print(ndo: Ndo, p: number, length: number, caplen: number): void {
  ndo.proto = 'sll2';
  if (capturedPastLength(ndo, length, caplen)) return;
  ndo.tcheck(p, SLL2_HDR_LEN);
  const ifindex = ndo.u32(p + 4);
  ndo.p(`${(ndo.cooked!.ifname(ifindex) ?? '?').padEnd(5)} ${(PKTTYPE_NAMES[ndo.u8(p + 10)] ?? '?').padEnd(3)} `);
  const hdr = p;
  if (ndo.link) sll2Link(ndo, hdr, length);
  length -= SLL2_HDR_LEN;
  caplen -= SLL2_HDR_LEN;
  p += SLL2_HDR_LEN;
  let type = ndo.u16(hdr);
  while (type === 0x8100) {
    if (caplen < 4) {
      ndo.proto = 'vlan';
      ndo.trunc();
      return;
    }
    const tag = ndo.u16(p);
    if (ndo.link) ndo.p(vlanText(tag));
    type = ndo.u16(p + 2);
    if (type <= MAX_ETHERNET_LENGTH_VAL) type = 0x0004;
    if (!ndo.quiet) ndo.p(`ethertype ${ethertypeName(type)}, `);
    p += 4;
    length -= 4;
    caplen -= 4;
  }
  ndo.hdrEnd = p;
  if (type <= MAX_ETHERNET_LENGTH_VAL) {
    // 802.2 gets llc_print (what it decoded is link layer for the dump); 802.3 raw (IPX) and the rest are not decoded here.
    if (type === 0x0004 && llcPrint(ndo, p, length, caplen, '')) ndo.hdrEnd = p + llcHdrLen(ndo, p, caplen);
    else defaultPrint(ndo, p, caplen);
    return;
  }
  if (byEthertype(ndo, type, p, length, caplen)) return;
  // An ethertype tcpdump cannot print: without -e its line gets the cooked header after all.
  if (!ndo.link) sll2Link(ndo, hdr, length + SLL2_HDR_LEN);
  defaultPrint(ndo, p, caplen);
}

/** sll2_print: ifindex, source MAC, and unless -q the protocol and length. */
function sll2Link(ndo: Ndo, h: number, length: number): void {
  ndo.p(`ifindex ${ndo.u32(h + 4)} `);
  if (ndo.u8(h + 11) === 6) ndo.p(`${macAt(ndo.b, h + 12)} `);
  if (ndo.quiet) return;
  const type = ndo.u16(h);
  if (type > MAX_ETHERNET_LENGTH_VAL) ndo.p(`ethertype ${ethertypeName(type)} (0x${hex4(type)})`);
  else ndo.p(type === 1 ? '802.3' : type === 4 ? '802.2' : `ethertype Unknown (0x${hex4(type)})`);
  ndo.p(`, length ${length}: `);
}

/** ether_type_print: "ethertype IPv4 (0x0800)", with -q "IPv4" or "Unknown Ethertype (0x88b5)". */
function etherType(ndo: Ndo, type: number): string {
  const hex = `0x${hex4(type)}`;
  if (ndo.quiet) return ETHERTYPE_NAMES[type] ?? `Unknown Ethertype (${hex})`;
  return `ethertype ${ethertypeName(type)} (${hex})`;
}
