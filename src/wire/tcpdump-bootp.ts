// BOOTP/DHCP as tcpdump 4.99 prints it (print-bootp.c, bootp_print): the
// first line always; with -v the interesting header fields, the addresses
// and the RFC 1048 options ("vendor extensions"), each option formatted by
// the letter tcpdump's tag table gives it (i addresses, l/L 32-bit numbers,
// s 16-bit, b/x bytes, B booleans, p address pairs, a text, $ special).
//
// Reads follow tcpdump's: a GET_* past the captured bytes abandons the
// packet (runPrinter's PrintAbort: the caller prints " [|bootp]" and stops).
import { hex2, ipToString, macAt } from './addr.js';
import { printChar, Reader, runPrinter } from './tcpdump-text.js';

const TAG_PAD = 0, TAG_END = 255;
const TAG_DHCP_MESSAGE = 53, TAG_PARM_REQUEST = 55;
const TAG_NETBIOS_NODE = 46, TAG_OPT_OVERLOAD = 52, TAG_CLIENT_ID = 61, TAG_USER_CLASS = 77, TAG_CLIENT_FQDN = 81, TAG_AGENT_CIRCUIT = 82;
const TAG_CLASSLESS_STATIC_RT = 121, TAG_CLASSLESS_STA_RT_MS = 249;
/** bp_vend: where the vendor area (the options' magic cookie) starts. */
const VEND = 236;

/** tag2str: each tag's format letter and name. */
const TAGS: Readonly<Record<number, string>> = {
  0: ' PAD', 1: 'iSubnet-Mask', 2: 'LTime-Zone', 3: 'iDefault-Gateway', 4: 'iTime-Server', 5: 'iIEN-Name-Server', 6: 'iDomain-Name-Server',
  7: 'iLOG', 8: 'iCS', 9: 'iLPR-Server', 10: 'iIM', 11: 'iRL', 12: 'aHostname', 13: 'sBS', 255: ' END', 14: 'aDP', 15: 'aDomain-Name',
  16: 'iSS', 17: 'aRP', 18: 'aEP', 19: 'BIPF', 20: 'BSRT', 21: 'pPF', 22: 'sRSZ', 23: 'bTTL', 24: 'lMTU-Timeout', 25: 'sMTU-Table',
  26: 'sMTU', 27: 'BLSN', 28: 'iBR', 29: 'BMD', 30: 'BMS', 31: 'BRouter-Discovery', 32: 'iRSA', 33: 'pStatic-Route', 34: 'BUT', 35: 'lAT',
  36: 'BIE', 37: 'bTT', 38: 'lKI', 39: 'BKG', 40: 'aYD', 41: 'iYS', 42: 'iNTP', 43: 'bVendor-Option', 44: 'iNetbios-Name-Server',
  45: 'iWDD', 46: '$Netbios-Node', 47: 'aNetbios-Scope', 48: 'iXFS', 49: 'iXDM', 64: 'sN+D', 65: 'iN+S', 68: 'iMH', 69: 'iSMTP',
  70: 'iPOP3', 71: 'iNNTP', 72: 'iWWW', 73: 'iFG', 74: 'iIRC', 75: 'iSTS', 76: 'iSTDA', 50: 'iRequested-IP', 51: 'lLease-Time',
  52: '$OO', 66: 'aTFTP', 67: 'aBF', 53: ' DHCP-Message', 54: 'iServer-ID', 55: 'bParameter-Request', 56: 'aMSG', 57: 'sMSZ',
  58: 'lRN', 59: 'lRB', 60: 'aVendor-Class', 61: '$Client-ID', 98: 'aUAP', 116: 'BNOAUTO', 78: 'bSLP-DA', 79: 'bSLP-SCOPE',
  117: 'sNSSEARCH', 77: '$User-Class', 118: 'iSUBNET', 121: '$Classless-Static-Route', 249: '$Classless-Static-Route-Microsoft',
  150: 'iTFTP-Server-Address', 80: 'aSLP-NA', 81: '$FQDN', 82: '$Agent-Information', 83: 'bARMT', 88: 'aTZSTR', 89: 'bFQDNS', 90: 'bAUTH',
  91: 'LLast-Transaction-Time', 92: 'iAssociated-IP', 93: 'sARCH', 94: 'bNDI', 97: 'bGUID', 95: 'aLDAP', 100: 'aPOSIX-TZ', 101: 'aTZ-Name',
  112: 'iNI', 113: 'aNITAG', 114: 'aURL', 161: 'aMUD-URL',
};
const DHCP_MESSAGES: Readonly<Record<number, string>> = {
  1: 'Discover', 2: 'Offer', 3: 'Request', 4: 'Decline', 5: 'ACK', 6: 'NACK', 7: 'Release', 8: 'Inform', 10: 'LeaseQuery', 11: 'LeaseUnassigned', 12: 'LeaseUnknown', 13: 'LeaseActive',
};
const NETBIOS_NODES: Readonly<Record<number, string>> = { 1: 'b-node', 2: 'p-node', 4: 'm-node', 8: 'h-node' };
const OVERLOADS: Readonly<Record<number, string>> = { 1: 'file', 2: 'sname', 3: 'file+sname' };
const HW_TYPES: Readonly<Record<number, string>> = { 1: 'ether', 6: 'ieee802', 7: 'arcnet', 15: 'frelay', 23: 'strip', 24: 'ieee1394' };
const AGENT_SUBOPTIONS: Readonly<Record<number, string>> = { 1: 'Circuit-ID', 2: 'Remote-ID', 6: 'Subscriber-ID' };

/**
 * bootp_print for the message at b[bp ..] of `length` bytes (the UDP
 * payload's), `snapend` the end of what was captured, `v` the -v count.
 * Returns the text; throws PrintAbort where tcpdump would longjmp.
 */
export function bootpText(b: Uint8Array, bp: number, length: number, snapend: number, v: number): string {
  return runPrinter(new Bootp(b, snapend, v), (d) => d.message(bp, length)).text;
}

class Bootp extends Reader {
  constructor(b: Uint8Array, snapend: number, private readonly v: number) {
    super(b, snapend);
  }

  private ip(p: number): string {
    return ipToString(this.u32(p));
  }
  private trunc(): void {
    this.out += ' [|bootp]';
  }

  /** nd_printztn: a NUL-terminated string within `n` bytes; false when no NUL came before `n` bytes or the captured end. */
  private printztn(cp: number, n: number): boolean {
    for (let i = 0; i < n && cp + i < this.snapend; i++) {
      const c = this.u8(cp + i);
      if (c === 0) return true;
      this.out += printChar(c);
    }
    return false;
  }

  message(bp: number, length: number): void {
    const op = this.u8(bp);
    this.p(`BOOTP/DHCP, ${op === 1 ? 'Request' : op === 2 ? 'Reply' : `unknown (0x${hex2(op)})`}`);
    const htype = this.u8(bp + 1), hlen = this.u8(bp + 2);
    const ether = htype === 1 && hlen === 6;
    if (ether && op === 1) this.p(` from ${this.mac(bp + 28)}`);
    this.p(`, length ${length}`);
    if (!this.v) return;
    if (!this.ttest(bp + 8, 2)) return this.trunc();
    if (htype !== 1) this.p(`, htype ${htype}`);
    if (!ether) this.p(`, hlen ${hlen}`);
    if (this.u8(bp + 3)) this.p(`, hops ${this.u8(bp + 3)}`);
    if (this.u32(bp + 4)) this.p(`, xid 0x${this.u32(bp + 4).toString(16)}`);
    if (this.u16(bp + 8)) this.p(`, secs ${this.u16(bp + 8)}`);
    const flags = this.u16(bp + 10);
    this.p(`, Flags [${flags & 0x8000 ? 'Broadcast' : 'none'}]`);
    if (this.v > 1) this.p(` (0x${flags.toString(16).padStart(4, '0')})`);
    for (const [at, what] of [[12, 'Client-IP'], [16, 'Your-IP'], [20, 'Server-IP'], [24, 'Gateway-IP']] as const) {
      if (this.u32(bp + at)) this.p(`\n\t  ${what} ${this.ip(bp + at)}`);
    }
    if (ether) this.p(`\n\t  Client-Ethernet-Address ${this.mac(bp + 28)}`);
    for (const [at, n, what] of [[44, 64, 'sname'], [108, 128, 'file']] as const) {
      if (this.u8(bp + at)) {
        this.p(`\n\t  ${what} "`);
        if (!this.printztn(bp + at, n)) {
          this.p('"');
          return this.trunc();
        }
        this.p('"');
      }
    }
    if (!this.ttest(bp + VEND, 4)) return this.trunc();
    const magic = this.u32(bp + VEND);
    if (magic === 0x63825363) this.rfc1048(bp + VEND);
    else if (magic === 0x434d5500) this.cmu(bp + VEND);
    else if (magic !== 0) this.p(`\n\t  Vendor-#0x${magic.toString(16)}`);
  }

  private mac(p: number): string {
    this.need(p, 6); // GET_ETHERADDR_STRING
    return macAt(this.b, p);
  }

  /** rfc1048_print: the options after the magic cookie. */
  private rfc1048(bp: number): void {
    this.p('\n\t  Vendor-rfc1048 Extensions');
    this.p(`\n\t    Magic Cookie 0x${this.u32(bp).toString(16).padStart(8, '0')}`);
    bp += 4;
    while (this.ttest(bp, 1)) {
      const tag = this.u8(bp++);
      if ((tag === TAG_PAD || tag === TAG_END) && this.v < 3) {
        if (tag === TAG_END) return;
        continue;
      }
      const entry = TAGS[tag] ?? '?Unknown';
      let c = entry[0]!;
      const name = entry.slice(1);
      let len = 0;
      if (tag !== TAG_PAD && tag !== TAG_END) len = this.u8(bp++);
      this.p(`\n\t    ${name} (${tag}), length ${len}${len > 0 ? ': ' : ''}`);
      if (tag === TAG_PAD && this.v > 2) {
        let n = 1;
        while (this.ttest(bp, 1) && this.u8(bp) === TAG_PAD) {
          bp++;
          n++;
        }
        if (n > 1) this.p(`, occurs ${n}`);
      }
      if (!this.ttest(bp, len)) return this.trunc();
      if (tag === TAG_DHCP_MESSAGE && len === 1) {
        const m = this.u8(bp++);
        this.p(DHCP_MESSAGES[m] ?? `Unknown (${m})`);
        continue;
      }
      if (tag === TAG_PARM_REQUEST) {
        for (let i = 0; len > 0; i++, len--) {
          const inner = this.u8(bp++);
          this.p(`${i % 4 === 0 ? '\n\t      ' : ', '}${(TAGS[inner] ?? '?Unknown').slice(1)} (${inner})`);
        }
        continue;
      }
      if (c === '?') c = len & 1 ? 'b' : len & 2 ? 's' : 'l';
      const r = this.value(c, tag, bp, len);
      if (r === null) return this.trunc();
      [bp, len] = r;
      if (len) {
        this.p(`\n\t  trailing data length ${len}`);
        bp += len;
      }
    }
  }

  /** One option's data in format `c`; where it stopped and what is left of `len`, or null (tcpdump's "goto trunc"). */
  private value(c: string, tag: number, bp: number, len: number): [number, number] | null {
    let first = true;
    const sep = (s: string): void => {
      if (!first) this.p(s);
      first = false;
    };
    switch (c) {
      case 'a':
        this.p('"');
        if (this.printn(bp, len)) return this.p('"'), null;
        this.p('"');
        return [bp + len, 0];
      case 'i':
      case 'l':
      case 'L':
        for (; len >= 4; bp += 4, len -= 4) {
          sep(',');
          const w = this.u32(bp);
          this.p(c === 'i' ? ipToString(w) : c === 'L' ? String(w | 0) : String(w));
        }
        return [bp, len];
      case 'p':
        for (; len >= 8; bp += 8, len -= 8) {
          sep(',');
          this.p(`(${this.ip(bp)}:${this.ip(bp + 4)})`);
        }
        return [bp, len];
      case 's':
        for (; len >= 2; bp += 2, len -= 2) {
          sep(',');
          this.p(String(this.u16(bp)));
        }
        return [bp, len];
      case 'B':
        for (; len > 0; bp++, len--) {
          sep(',');
          const x = this.u8(bp);
          this.p(x === 0 ? 'N' : x === 1 ? 'Y' : `${x}?`);
        }
        return [bp, len];
      case '$':
        return this.special(tag, bp, len);
      default: // 'b', 'x'
        for (; len > 0; bp++, len--) {
          sep(c === 'x' ? ':' : '.');
          this.p(c === 'x' ? hex2(this.u8(bp)) : String(this.u8(bp)));
        }
        return [bp, len];
    }
  }

  /** The '$' tags: each its own format. */
  private special(tag: number, bp: number, len: number): [number, number] | null {
    switch (tag) {
      case TAG_NETBIOS_NODE:
      case TAG_OPT_OVERLOAD: {
        if (len < 1) {
          this.p('[ERROR: length < 1 bytes]');
          return [bp, len];
        }
        const x = this.u8(bp);
        this.p((tag === TAG_NETBIOS_NODE ? NETBIOS_NODES : OVERLOADS)[x] ?? `#${x}`);
        return [bp + 1, len - 1];
      }
      case TAG_CLIENT_FQDN: {
        if (len < 3) {
          this.p('[ERROR: length < 3 bytes]');
          return [bp + len, 0];
        }
        const f = this.u8(bp);
        if (f & 0xf0) this.p(`[ERROR: MBZ nibble 0x${((f & 0xf0) >> 4).toString(16)} != 0] `);
        if (f & 0x0f) this.p(`[${f & 1 ? 'S' : ''}${f & 2 ? 'O' : ''}${f & 4 ? 'E' : ''}${f & 8 ? 'N' : ''}] `);
        if (this.u8(bp + 1) || this.u8(bp + 2)) this.p(`${this.u8(bp + 1)}/${this.u8(bp + 2)} `);
        this.p('"');
        if (this.printn(bp + 3, len - 3)) return this.p('"'), null;
        this.p('"');
        return [bp + len, 0];
      }
      case TAG_CLIENT_ID: {
        if (len < 1) {
          this.p('[ERROR: length < 1 bytes]');
          return [bp, len];
        }
        const type = this.u8(bp++);
        len--;
        if (type === 0) {
          this.p('"');
          if (this.printn(bp, len)) return this.p('"'), null;
          this.p('"');
          return [bp + len, 0];
        }
        this.p(`${HW_TYPES[type] ?? `hardware-type ${type},`} `);
        for (let i = 0; len > 0; i++, bp++, len--) this.p(`${i ? ':' : ''}${hex2(this.u8(bp))}`);
        return [bp, len];
      }
      case TAG_AGENT_CIRCUIT:
        while (len >= 2) {
          const sub = this.u8(bp), sublen = this.u8(bp + 1);
          bp += 2;
          len -= 2;
          this.p(`\n\t      ${AGENT_SUBOPTIONS[sub] ?? 'Unknown'} SubOption ${sub}, length ${sublen}: `);
          if (sublen > len) {
            this.p('length goes past end of option');
            return [bp + len, 0];
          }
          if (AGENT_SUBOPTIONS[sub] !== undefined) {
            if (this.printn(bp, sublen)) return null;
          } else this.hexdump(bp, sublen);
          len -= sublen;
          bp += sublen;
        }
        return [bp, len];
      case TAG_CLASSLESS_STATIC_RT:
      case TAG_CLASSLESS_STA_RT_MS: {
        if (len < 5) {
          this.p('[ERROR: length < 5 bytes]');
          return [bp + len, 0];
        }
        for (let first = true; len > 0; first = false) {
          if (!first) this.p(',');
          const width = this.u8(bp++);
          len--;
          if (width > 32) {
            this.p(`[ERROR: Mask width (${width}) > 32]`);
            return [bp + len, 0];
          }
          const octets = (width + 7) >> 3;
          if (len < octets + 4) {
            this.p(`[ERROR: Remaining length (${len}) < ${octets + 4} bytes]`);
            return [bp + len, 0];
          }
          this.p('(');
          if (width === 0) this.p('default');
          else {
            for (let i = 0; i < octets; i++) this.p(`${i > 0 ? '.' : ''}${this.u8(bp++)}`);
            for (let i = octets; i < 4; i++) this.p('.0');
            this.p(`/${width}`);
          }
          this.p(`:${this.ip(bp)})`);
          bp += 4;
          len -= octets + 4;
        }
        return [bp, len];
      }
      case TAG_USER_CLASS: {
        if (len < 2) {
          this.p('[ERROR: length < 2 bytes]');
          return [bp + len, 0];
        }
        for (let n = 1; len > 0; n++) {
          const sublen = this.u8(bp++);
          len--;
          this.p(`\n\t      instance#${n}: `);
          if (sublen === 0) {
            this.p('[ERROR: suboption length must be non-zero]');
            return [bp + len, 0];
          }
          if (len < sublen) {
            this.p('[ERROR: invalid option]');
            return [bp + len, 0];
          }
          this.p('"');
          if (this.printn(bp, sublen)) return this.p('"'), null;
          this.p(`", length ${sublen}`);
          len -= sublen;
          bp += sublen;
        }
        return [bp, len];
      }
      default:
        this.p(`[unknown special tag ${tag}, size ${len}]`);
        return [bp + len, 0];
    }
  }

  /** print_unknown_data(ndo, bp, "\n\t\t", len). */
  private hexdump(p: number, length: number): void {
    length = Math.min(length, Math.max(0, this.snapend - p));
    let line = '';
    let i = 0;
    for (; i + 1 < length; i += 2) {
      if (i % 16 === 0) line += `\n\t\t0x${i.toString(16).padStart(4, '0')}: `;
      line += ` ${hex2(this.u8(p + i))}${hex2(this.u8(p + i + 1))}`;
    }
    if (i < length) {
      if (i % 16 === 0) line += `\n\t\t0x${i.toString(16).padStart(4, '0')}: `;
      line += ` ${hex2(this.u8(p + i))}`;
    }
    this.p(line);
  }

  /** cmu_print: the CMU vendor area's non-zero addresses. */
  private cmu(bp: number): void {
    this.p(' vend-cmu');
    if (!this.ttest(bp + 4, 4)) return this.trunc();
    const flags = this.u8(bp + 4);
    if (flags & ~1) this.p(` F:0x${flags.toString(16)}`);
    // struct cmu_vend: v_smask at 8, v_dgate at 12; tcpdump prints the gateway first.
    for (const [at, what] of [[12, 'DG'], [8, flags & 1 ? 'SM' : 'SM*'], [16, 'NS1'], [20, 'NS2'], [24, 'IEN1'], [28, 'IEN2'], [32, 'TS1'], [36, 'TS2']] as const) {
      if (!this.ttest(bp + at, 4)) return this.trunc();
      if (this.u32(bp + at)) this.p(` ${what}:${this.ip(bp + at)}`);
    }
  }
}
