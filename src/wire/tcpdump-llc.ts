// 802.2 LLC and SNAP as tcpdump prints them (print-llc.c, llc_print and
// snap_print): the header with -e, then STP, IP, IPv6, ARP or a bridged
// Ethernet frame; unnumbered, supervisory and information frames' kind.
import { hex2 } from './addr.js';
import { hexdump } from './tcpdump-ascii.js';
import { byEthertype } from './tcpdump-ethertype.js';
import { ipPrint } from './tcpdump-ip.js';
import { BRIDGED_PIDS, CISCO_PIDS, ETHERTYPE_NAMES, LLC_FLAGS, LLC_SAPS, LLC_U_CMDS, OUI_NAMES } from './tcpdump-names.js';
import type { Ndo } from './tcpdump-netdissect.js';
import { stpText } from './tcpdump-stp.js';
import { hex4 } from './tcpdump-text.js';

/** 802.2: an unnumbered frame's control bits, UI, XID and its format identifier; the SAPs decoded further. */
const LLC_U_FMT = 3, LLC_UI = 0x03, LLC_XID = 0xaf, LLC_XID_FI = 0x81;
const LLCSAP_SNAP = 0xaa, LLCSAP_8021D = 0x42, LLCSAP_IP = 0x06;
const OUI_CISCO = 0x00000c, OUI_CISCO_90 = 0x0000f8, OUI_APPLETALK = 0x080007, OUI_RFC2684 = 0x0080c2;

/** What llc_print returns when it printed the frame at p: its LLC header (with SNAP's 5 bytes), or what was captured of a cut one. */
export function llcHdrLen(ndo: Ndo, p: number, caplen: number): number {
  if (caplen < 3) return caplen;
  const control = ndo.b[p + 2]!;
  const isU = (control & LLC_U_FMT) === LLC_U_FMT;
  if (!isU && caplen < 4) return caplen;
  const snap = (ndo.b[p]! & ~1) === LLCSAP_SNAP && (ndo.b[p + 1]! & ~1) === LLCSAP_SNAP && control === LLC_UI;
  return (isU ? 3 : 4) + (snap ? 5 : 0);
}

/**
 * llc_print for the 802.3 payload at p: the LLC header (with -e), then
 * STP, SNAP, IP or the frame's kind. False where tcpdump's caller dumps
 * the bytes from p (an LLC type it does not decode). `macs` is "src > dst, "; '' on a cooked frame (no addresses).
 */
export function llcPrint(ndo: Ndo, p: number, length: number, caplen: number, macs: string): boolean {
  ndo.proto = 'llc';
  if (caplen < 3 || length < 3) {
    ndo.trunc();
    hexdump(ndo, p, caplen); // llc_print's own dump: -q does not stop it
    return true;
  }
  const dsapField = ndo.u8(p), ssapField = ndo.u8(p + 1);
  let control = ndo.u8(p + 2);
  const isU = (control & LLC_U_FMT) === LLC_U_FMT;
  if (!isU) {
    if (caplen < 4 || length < 4) {
      ndo.trunc();
      hexdump(ndo, p, caplen); // llc_print's own dump: -q does not stop it
      return true;
    }
    control = ndo.u8(p + 2) | (ndo.u8(p + 3) << 8); // little-endian
  }
  const hdrlen = isU ? 3 : 4;
  const dsap = dsapField & ~1, ssap = ssapField & ~1;
  const sapName = (sap: number): string | undefined => LLC_SAPS[sap];
  if (ndo.link) {
    ndo.p(`LLC, dsap ${sapName(dsap) ?? 'Unknown'} (0x${hex2(dsap)}) ${dsapField & 1 ? 'Group' : 'Individual'}, `);
    ndo.p(`ssap ${sapName(ssap) ?? 'Unknown'} (0x${hex2(ssap)}) ${ssapField & 1 ? 'Response' : 'Command'}`);
    ndo.p(isU ? `, ctrl 0x${hex2(control)}: ` : `, ctrl 0x${hex4(control)}: `);
  }
  const body = p + hdrlen;
  length -= hdrlen;
  caplen -= hdrlen;
  if (ssap === dsap && control === LLC_UI) {
    if (ssap === LLCSAP_SNAP) return snapPrint(ndo, body, length, caplen, macs);
    if (ssap === LLCSAP_8021D) {
      ndo.proto = 'stp';
      ndo.embedded(() => stpText(ndo.b, body, length, ndo.snapend, ndo.v));
      return true;
    }
    if (ssap === LLCSAP_IP) {
      ipPrint(ndo, body, length);
      return true;
    }
  }
  if (!ndo.link) {
    const name = (sap: number, what: string): string => sapName(sap) ?? `Unknown ${what} 0x${hex2(sap)}`;
    if (!macs) ndo.p(ssap === dsap ? `${name(dsap, 'DSAP')} ` : `${name(ssap, 'SSAP')} > ${name(dsap, 'DSAP')} `);
    else {
      const [src, dst] = macs.slice(0, -2).split(' > ');
      ndo.p(ssap === dsap ? `${src} > ${dst} ${name(dsap, 'DSAP')} ` : `${src} ${name(ssap, 'SSAP')} > ${dst} ${name(dsap, 'DSAP')} `);
    }
  }
  const total = length + hdrlen;
  if (isU) {
    ndo.p(`Unnumbered, ${LLC_U_CMDS[control & 0xef] ?? hex2(control & 0xef)}, Flags [${LLC_FLAGS[(ssapField & 1) | (control & 0x10)]}], length ${total}`);
    if ((control & ~0x10) === LLC_XID) {
      if (length === 0) return true;
      if (ndo.u8(body) === LLC_XID_FI) {
        if (caplen < 3 || length < 3) {
          ndo.trunc();
          if (caplen > 0) hexdump(ndo, body, caplen);
        } else ndo.p(`: ${hex2(ndo.u8(body + 1))} ${hex2(ndo.u8(body + 2))}`);
        return true;
      }
    }
    return false;
  }
  const flags = LLC_FLAGS[(ssapField & 1) | (control & 0x100)];
  if (control & 1) {
    ndo.p(`Supervisory, ${['Receiver Ready', 'Receiver not Ready', 'Reject'][(control >> 2) & 3] ?? '?'}, rcv seq ${(control >> 9) & 0x7f}, Flags [${flags}], length ${total}`);
    return true;
  }
  ndo.p(`Information, send seq ${(control >> 1) & 0x7f}, rcv seq ${(control >> 9) & 0x7f}, Flags [${flags}], length ${total}`);
  return false;
}

/** snap_print: the OUI and protocol (with -e), then an encapsulated Ethernet type, a Cisco PVST BPDU or a bridged Ethernet frame; false for the others. */
function snapPrint(ndo: Ndo, p: number, length: number, caplen: number, macs: string): boolean {
  ndo.proto = 'snap';
  if (!ndo.ttest(p, 5) || caplen < 5 || length < 5) {
    ndo.trunc();
    return true;
  }
  const oui = ndo.u24(p);
  const et = ndo.u16(p + 3);
  const pid = (oui === 0 || oui === OUI_CISCO_90 || oui === OUI_APPLETALK ? ETHERTYPE_NAMES[et] : oui === OUI_CISCO ? CISCO_PIDS[et] : oui === OUI_RFC2684 ? BRIDGED_PIDS[et] : undefined) ?? 'Unknown';
  const ouiText = `oui ${OUI_NAMES[oui] ?? 'Unknown'} (0x${oui.toString(16).padStart(6, '0')})`;
  if (ndo.link) ndo.p(`${ouiText}, ${oui === 0 ? 'ethertype' : 'pid'} ${pid} (0x${hex4(et)}), length ${length - 5}: `);
  p += 5;
  length -= 5;
  caplen -= 5;
  if (oui === 0 || oui === OUI_CISCO_90 || (oui === OUI_APPLETALK && et === 0x809b)) {
    // ethertype_print: the types this printer decodes.
    if (byEthertype(ndo, et, p, length, caplen)) return true;
  } else if (oui === OUI_CISCO && (et === 0x010b || et === 0x010c)) {
    ndo.proto = 'stp';
    ndo.embedded(() => stpText(ndo.b, p, length, ndo.snapend, ndo.v));
    return true;
  } else if (oui === OUI_RFC2684 && (et === 0x0001 || et === 0x0007)) {
    ndo.tcheck(p, 2); // the bridge padding
    ndo.ether(p + 2, length - 2, caplen - 2);
    return true;
  }
  // Not decoded: without -e, the addresses and the SNAP header before the caller's dump.
  if (!ndo.link) ndo.p(`${macs ? `${macs.slice(0, -2)} ` : ''}SNAP, ${oui === 0 ? 'ethertype' : `${ouiText}, pid`} ${pid} (0x${hex4(et)}), length ${length}: `);
  return false;
}
