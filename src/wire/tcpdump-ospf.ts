// OSPF as tcpdump prints it (print-ospf.c, ospf_print): the type and length;
// with -v the router, area and authentication, and for a Hello its
// options, timers, routers, neighbours and RFC 4813 LLS data (the other
// types are not decoded further here).
import { readU32, readU16 } from './addr.js';
import { OSPF_OPTIONS, OSPF_TYPES } from './tcpdump-names.js';
import type { Ndo } from './tcpdump-netdissect.js';
import { bitNames, hex4, printChar } from './tcpdump-text.js';

/** ospf_print for the OSPF packet at bp of `length` bytes. */
export function ospfPrint(ndo: Ndo, bp: number, length: number): void {
  ndo.proto = 'ospf2';
  ndo.tcheck(bp, 16); // nothing is printed without the header up to the authentication type
  const version = ndo.b[bp]!;
  const type = ndo.b[bp + 1]!;
  // "unknown LS-type": what 4.99 prints for a type it does not know (not its table's "unknown packet type").
  ndo.p(`OSPFv${version}, ${OSPF_TYPES[type] ?? `unknown LS-type ${type}`}, length ${length}`);
  const olen = ndo.u16(bp + 2);
  // Without -v tcpdump stops here, whatever the length field says.
  if (!ndo.v || !OSPF_TYPES[type]) return;
  if (olen !== length) ndo.p(` [len ${olen}]`);
  const dataend = bp + Math.min(olen, length);
  ndo.p(`\n\tRouter-ID ${ndo.ip(bp + 4)}`);
  ndo.p(ndo.u32(bp + 8) !== 0 ? `, Area ${ndo.ip(bp + 8)}` : ', Backbone Area');
  ndo.tcheck(bp + 16, 8);
  const auth = readU16(ndo.b, bp + 14);
  ndo.p(`, Authentication Type: ${['none', 'simple', 'MD5'][auth] ?? 'unknown'} (${auth})`);
  if (auth === 1) {
    let pw = '';
    for (let i = 0; i < 8 && ndo.b[bp + 16 + i] !== 0; i++) pw += printChar(ndo.b[bp + 16 + i]!);
    ndo.p(`\n\tSimple text password: ${pw}`);
  } else if (auth === 2) {
    ndo.p(`\n\tKey-ID: ${ndo.b[bp + 18]}, Auth-Length: ${ndo.b[bp + 19]}, Crypto Sequence Number: 0x${readU32(ndo.b, bp + 20).toString(16).padStart(8, '0')}`);
  } else if (auth !== 0) return;
  if (version !== 2) {
    ndo.p(` ospf [version ${version}]`);
    return;
  }
  if (type !== 1) return; // only Hello is decoded further here (tcpdump decodes all five)
  const opts = ndo.u8(bp + 30);
  ndo.p(`\n\tOptions [${bitNames(OSPF_OPTIONS, opts)}]`);
  ndo.p(`\n\t  Hello Timer ${ndo.u16(bp + 28)}s, Dead Timer ${ndo.u32(bp + 32)}s, Mask ${ndo.ip(bp + 24)}, Priority ${ndo.u8(bp + 31)}`);
  if (ndo.u32(bp + 36) !== 0) ndo.p(`\n\t  Designated Router ${ndo.ip(bp + 36)}`);
  if (ndo.u32(bp + 40) !== 0) ndo.p(`, Backup Designated Router ${ndo.ip(bp + 40)}`);
  let ap = bp + 44;
  if (ap < dataend) ndo.p('\n\t  Neighbor List:');
  for (; ap < dataend; ap += 4) ndo.p(`\n\t    ${ndo.ip(ap)}`);
  if (length > olen && opts & 0x10) ospfLls(ndo, bp, olen, length, auth);
}

/** ospf_decode_lls: RFC 4813 link-local signalling after the packet (the L option). */
function ospfLls(ndo: Ndo, bp: number, olen: number, length: number, auth: number): void {
  let dptr = bp + olen;
  const dataend = bp + length;
  if (auth === 2) {
    dptr += ndo.b[bp + 19]!;
    olen += ndo.b[bp + 19]!;
  }
  if (olen >= length) {
    ndo.p('\n\t[LLS truncated]');
    return;
  }
  ndo.p(`\n\t  LLS: checksum: 0x${hex4(ndo.u16(dptr))}`);
  ndo.p(`, length: ${ndo.u16(dptr + 2)}`);
  dptr += 4;
  while (dptr < dataend) {
    const type = ndo.u16(dptr);
    ndo.p(`\n\t    ${['', 'Extended Options', 'MD5 Authentication'][type] || 'Unknown TLV'} (${type})`);
    let len = ndo.u16(dptr + 2);
    ndo.p(`, length: ${len}`);
    dptr += 4;
    if (type === 1) {
      if (len !== 4) {
        ndo.p(' [should be 4]');
        len = 4;
      }
      const f = ndo.u32(dptr);
      const names = [f & 1 ? 'LSDB resync' : '', f & 2 ? 'Restart' : ''].filter(Boolean).join(', ');
      ndo.p(`\n\t      Options: 0x${f.toString(16).padStart(8, '0')} [${names || '?'}]`);
    } else if (type === 2) {
      if (len !== 20) {
        ndo.p(' [should be 20]');
        len = 20;
      }
      ndo.p(`\n\t      Sequence number: 0x${ndo.u32(dptr).toString(16).padStart(8, '0')}`);
    }
    dptr += len;
  }
}
