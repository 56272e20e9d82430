// VXLAN as tcpdump prints it (print-vxlan.c, vxlan_print): flags and VNI,
// then the inner frame on a line of its own, by ether_print (handed back up
// through the Ndo).
import { hex2 } from './addr.js';
import type { Ndo } from './tcpdump-netdissect.js';

/** vxlan_print for the VXLAN header at bp, `length` bytes with the inner frame. */
export function vxlanPrint(ndo: Ndo, bp: number, length: number): void {
  ndo.proto = 'vxlan';
  ndo.p('VXLAN');
  if (length < 8) {
    ndo.invalid();
    return;
  }
  const flags = ndo.u8(bp);
  ndo.p(`, flags [${flags & 0x08 ? 'I' : 'invalid'}] (0x${hex2(flags)}), `);
  ndo.p(`vni ${ndo.u24(bp + 4)}\n`);
  const inner = bp + 8;
  ndo.ether(inner, length - 8, ndo.avail(inner));
}
