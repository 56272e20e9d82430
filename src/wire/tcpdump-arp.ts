// ARP and RARP as tcpdump prints them (print-arp.c, arp_print): the
// operation and addresses; with -v, or for anything but Ethernet/IPv4, the
// hardware and protocol types and lengths first.
import { hex2, readU16 } from './addr.js';
import { hexdump } from './tcpdump-ascii.js';
import { ARPHRD_NAMES, ARPOP_NAMES, ETHERTYPE_NAMES } from './tcpdump-names.js';
import type { Ndo } from './tcpdump-netdissect.js';
import { hex4 } from './tcpdump-text.js';

/** arp_print for the ARP or RARP packet at a, `length` bytes on the wire, `caplen` captured. */
export function arpPrint(ndo: Ndo, a: number, length: number, caplen: number): void {
  ndo.proto = 'arp';
  ndo.tcheck(a, 8);
  const hrd = readU16(ndo.b, a);
  const pro = readU16(ndo.b, a + 2);
  const hln = ndo.b[a + 4]!;
  const pln = ndo.b[a + 5]!;
  const op = readU16(ndo.b, a + 6);
  const sha = a + 8;
  const spa = sha + hln;
  const tha = spa + pln;
  const tpa = tha + hln;
  ndo.tcheck(tpa, pln);
  if (!ndo.link) ndo.p('ARP, ');
  const ipv4 = pro === 0x0800 || pro === 0x1000;
  if (!ipv4 || pln !== 4 || hln === 0 || ndo.v) {
    ndo.p(
      `${ARPHRD_NAMES[hrd] ?? `Unknown Hardware (${hrd})`} (len ${hln}), ${
        ETHERTYPE_NAMES[pro] ?? `Unknown Protocol (0x${hex4(pro)})`
      } (len ${pln})`,
    );
    // Without -v tcpdump does not guess at the address formats; with it, it goes on (tpaddr_print_ip's complaints).
    if (!ndo.v) {
      ndo.p(`, length ${length}`);
      return;
    }
    ndo.p(', ');
  }
  const ipAt = (q: number): string => (!ipv4 ? '<wrong proto type>' : pln !== 4 ? '<wrong len>' : ndo.ip(q));
  const link = (q: number): string => {
    ndo.tcheck(q, hln);
    if (hln === 0) return '<empty>';
    let s = '';
    for (let i = 0; i < hln; i++) s += (i ? ':' : '') + hex2(ndo.b[q + i]!);
    return s;
  };
  const nonzero = (q: number): boolean => {
    for (let i = 0; i < hln; i++) if (ndo.u8(q + i) !== 0) return true;
    return false;
  };
  ndo.p(`${ARPOP_NAMES[op] ?? `Unknown (${op})`} `);
  switch (op) {
    case 1:
      ndo.p(`who-has ${ipAt(tpa)}`);
      if (nonzero(tha)) ndo.p(` (${link(tha)})`);
      ndo.p(` tell ${ipAt(spa)}`);
      break;
    case 2:
      ndo.p(`${ipAt(spa)} is-at ${link(sha)}`);
      break;
    case 3:
    case 8:
      ndo.p(`who-is ${link(tha)}`);
      ndo.p(` tell ${link(sha)}`);
      break;
    case 4:
      ndo.p(`${link(tha)} at ${ipAt(tpa)}`);
      break;
    case 9:
      ndo.p(`${link(sha)} at ${ipAt(spa)}`);
      break;
    default:
      hexdump(ndo, a, caplen); // arp_print's ND_DEFAULTPRINT: neither -q nor -x stops it
      return;
  }
  ndo.p(`, length ${length}`);
}
