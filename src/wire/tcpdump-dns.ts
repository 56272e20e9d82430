// DNS messages as tcpdump 4.99 prints them (print-domain.c, domain_print):
// UDP and TCP port 53 and mDNS (UDP 5353). The header's id and flags, the
// question, the answer count triple and the answers; at -vv the question of
// a response and the authority and additional sections; at -vvv each
// record's TTL. EDNS0 options in an OPT record, bit-string labels,
// compression pointers (which must point backwards, as BIND requires) and
// tcpdump's markers for what it cannot read ("<BAD PTR>", " [|domain]").
//
// Reads follow tcpdump's: ND_TTEST checks return "not there", GET_* reads
// past the captured bytes abandon the whole packet (PrintAbort: the caller
// prints " [|domain]" and stops, as tcpdump's longjmp does).
import { hex2, ipToString, readU32 } from './addr.js';
import { ip6ToString, Reader, relts, runPrinter } from './tcpdump-text.js';

/** tcpdump's NULL pointer: a read that failed its ND_TTEST. */
const NONE = -1;

const TYPE_MASK = 0xc0, TYPE_INDIR = 0xc0, TYPE_EDNS0 = 0x40, TYPE_RESERVED = 0x80;
const EDNS0_ELT_BITLABEL = 0x01;
const MAXCDNAME = 255;
const HEADER = 12;
const C_IN = 1;
/** mDNS: the question's unicast-response bit, a record's cache-flush bit (both the class's top bit). */
const C_TOP = 0x8000;
const IQUERY = 1;
const T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_PTR = 12, T_MX = 15, T_TXT = 16, T_AAAA = 28, T_SRV = 33, T_A6 = 38, T_DNAME = 39, T_OPT = 41;
const T_UNSPECA = 104, T_TSIG = 250, T_URI = 256;
const E_DAU = 5, E_DHU = 6, E_N3U = 7, E_ECS = 8, E_EXPIRE = 9, E_COOKIE = 10, E_KEEPALIVE = 11, E_PADDING = 12, E_CHAIN = 13, E_KEYTAG = 14;

const NS_OPS = ['', ' inv_q', ' stat', ' op3', ' notify', ' update', ' op6', ' op7', ' op8', ' updateA', ' updateD', ' updateDA', ' updateM', ' updateMA', ' zoneInit', ' zoneRef'];
// Two entries lack their space in tcpdump's table too.
const NS_RESP = [
  '', ' FormErr', ' ServFail', ' NXDomain', ' NotImp', ' Refused', ' YXDomain', ' YXRRSet', ' NXRRSet', ' NotAuth', ' NotZone', ' Resp11',
  ' Resp12', ' Resp13', ' Resp14', ' NoChange', ' BadVers', 'Resp17', ' Resp18', ' Resp19', ' Resp20', 'Resp21', ' Resp22', ' BadCookie',
];

/** ns_type2str. */
const TYPES: Readonly<Record<number, string>> = {
  1: 'A', 2: 'NS', 3: 'MD', 4: 'MF', 5: 'CNAME', 6: 'SOA', 7: 'MB', 8: 'MG', 9: 'MR', 10: 'NULL', 11: 'WKS', 12: 'PTR', 13: 'HINFO',
  14: 'MINFO', 15: 'MX', 16: 'TXT', 17: 'RP', 18: 'AFSDB', 19: 'X25', 20: 'ISDN', 21: 'RT', 22: 'NSAP', 23: 'NSAP_PTR', 24: 'SIG',
  25: 'KEY', 26: 'PX', 27: 'GPOS', 28: 'AAAA', 29: 'LOC', 30: 'NXT', 31: 'EID', 32: 'NIMLOC', 33: 'SRV', 34: 'ATMA', 35: 'NAPTR',
  36: 'KX', 37: 'CERT', 38: 'A6', 39: 'DNAME', 40: 'SINK', 41: 'OPT', 42: 'APL', 43: 'DS', 44: 'SSHFP', 45: 'IPSECKEY', 46: 'RRSIG',
  47: 'NSEC', 48: 'DNSKEY', 99: 'SPF', 100: 'UINFO', 101: 'UID', 102: 'GID', 103: 'UNSPEC', 104: 'UNSPECA', 249: 'TKEY', 250: 'TSIG',
  251: 'IXFR', 252: 'AXFR', 253: 'MAILB', 254: 'MAILA', 255: 'ANY', 256: 'URI',
};
const CLASSES: Readonly<Record<number, string>> = { 1: 'IN', 3: 'CHAOS', 4: 'HS', 255: 'ANY' };
const EDNS_OPTS: Readonly<Record<number, string>> = {
  1: 'LLQ', 2: 'UL', 3: 'NSID', 5: 'DAU', 6: 'DHU', 7: 'N3U', 8: 'ECS', 9: 'EXPIRE', 10: 'COOKIE', 11: 'KEEPALIVE', 12: 'PADDING',
  13: 'CHAIN', 14: 'KEY-TAG', 16: 'CLIENT-TAG', 17: 'SERVER-TAG',
};
const DAU_ALGS: Readonly<Record<number, string>> = {
  0: 'DELETE', 1: 'RSAMD5', 2: 'DH', 3: 'DS', 5: 'RSASHA1', 6: 'DSA-NSEC3-SHA1', 7: 'RSASHA1-NSEC3-SHA1', 8: 'RSASHA256', 10: 'RSASHA512',
  12: 'ECC-GOST', 13: 'ECDSAP256SHA256', 14: 'ECDSAP384SHA384', 15: 'ED25519', 16: 'ED448', 252: 'INDIRECT', 253: 'PRIVATEDNS', 254: 'PRIVATEOID',
};
const DHU_ALGS: Readonly<Record<number, string>> = { 1: 'SHA-1', 2: 'SHA-256', 3: 'GOST_R_34.11-94', 4: 'SHA-384' };
const N3U_ALGS: Readonly<Record<number, string>> = { 1: 'SHA-1' };

const typeName = (t: number): string => TYPES[t] ?? `Type${t}`;
const className = (c: number): string => CLASSES[c] ?? `(Class ${c})`;

/**
 * domain_print for the DNS message at b[bp ..] of `length` bytes (the UDP
 * or TCP payload's), `snapend` the end of what was captured, `v` the -v
 * count. Returns the text; throws PrintAbort where tcpdump would longjmp.
 */
export function domainText(b: Uint8Array, bp: number, length: number, snapend: number, v: number, overTcp: boolean, mdns: boolean): string {
  return runPrinter(new Domain(b, snapend, v, mdns), (d) => d.message(bp, length, overTcp)).text;
}

/** fqdn_print for another printer (an ND option's domain list): the name's text and where it ends (-1: not readable); PrintAbort as domainText. */
export function fqdnAt(b: Uint8Array, cp: number, bp: number, snapend: number): { text: string; end: number } {
  const { text, result } = runPrinter(new Domain(b, snapend, 0, false), (d) => d.fqdn(cp, bp));
  return { text, end: result };
}

class Domain extends Reader {
  constructor(b: Uint8Array, snapend: number, private readonly v: number, private readonly mdns: boolean) {
    super(b, snapend);
  }

  private invalid(): void {
    this.out += ' (invalid)';
  }

  /** ns_nskip: past a name (a compression pointer ends it), or NONE. */
  private nskip(cp: number): number {
    if (!this.ttest(cp, 1)) return NONE;
    let i = this.u8(cp++);
    while (i !== 0) {
      switch (i & TYPE_MASK) {
        case TYPE_INDIR:
          return cp + 1;
        case TYPE_EDNS0: {
          if ((i & ~TYPE_MASK) !== EDNS0_ELT_BITLABEL) return NONE;
          if (!this.ttest(cp, 1)) return NONE;
          const bitlen = this.u8(cp++) || 256;
          cp += Math.floor((bitlen + 7) / 8);
          break;
        }
        case TYPE_RESERVED:
          return NONE;
        default:
          cp += i;
      }
      if (!this.ttest(cp, 1)) return NONE;
      i = this.u8(cp++);
    }
    return cp;
  }

  /** blabel_print: an EDNS0 bit-string label, "\[x<hex>/<bits>]". */
  private blabel(cp: number): number {
    if (!this.ttest(cp, 1)) return NONE;
    const bitlen = this.u8(cp) || 256;
    const lim = cp + 1 + Math.floor((bitlen + 3) / 4);
    this.p('\\[x');
    let bitp = cp + 1;
    let bits = bitlen;
    for (; bitp < lim && bits > 7; bits -= 8, bitp++) this.p(hex2(this.u8(bitp)));
    if (bits > 4) this.p(hex2(this.u8(bitp) & (0xff << (8 - bits))));
    else if (bits > 0) this.p((((this.u8(bitp) >> 4) & 0x0f) & (0x0f << (4 - bits))).toString(16));
    this.p(`/${bitlen}]`);
    return lim;
  }

  /** labellen: a label's length (a pointer's first byte as is), or NONE. */
  private labellen(cp: number): number {
    if (!this.ttest(cp, 1)) return NONE;
    const i = this.u8(cp);
    switch (i & TYPE_MASK) {
      case TYPE_EDNS0: {
        const elt = i & ~TYPE_MASK;
        if (elt !== EDNS0_ELT_BITLABEL) {
          this.p(`<ELT ${elt}>`);
          return NONE;
        }
        if (!this.ttest(cp + 1, 1)) return NONE;
        const bitlen = this.u8(cp + 1) || 256;
        return Math.floor((bitlen + 7) / 8) + 1;
      }
      case TYPE_INDIR:
      case 0:
        return i;
      default:
        this.p('<BAD LABEL TYPE>');
        return NONE;
    }
  }

  /** fqdn_print: the name at cp (pointers relative to the message at bp); where it ends, or NONE. */
  fqdn(cp: number, bp: number): number {
    let l = this.labellen(cp);
    if (l === NONE || !this.ttest(cp, 1)) return NONE;
    let maxOffset = (cp - bp) >>> 0;
    let i = this.u8(cp++);
    let rp = NONE;
    let compress = false;
    let nameChars = 0;
    if ((i & TYPE_MASK) !== TYPE_INDIR) rp = cp + l;
    if (i === 0) {
      this.p('.');
      return rp;
    }
    while (i !== 0 && cp < this.snapend) {
      switch (i & TYPE_MASK) {
        case TYPE_INDIR: {
          if (!compress) {
            rp = cp + 1;
            compress = true;
          }
          if (!this.ttest(cp, 1)) return NONE;
          const offset = ((i << 8) | this.u8(cp)) & 0x3fff;
          if (offset >= maxOffset) {
            this.p('<BAD PTR>');
            return NONE;
          }
          maxOffset = offset;
          cp = bp + offset;
          if (!this.ttest(cp, 1)) return NONE;
          i = this.u8(cp);
          if ((l = this.labellen(cp)) === NONE) return NONE;
          cp++;
          continue;
        }
        case TYPE_EDNS0: {
          const elt = i & ~TYPE_MASK;
          if (elt !== EDNS0_ELT_BITLABEL) {
            this.p(`<ELT ${elt}>`);
            return NONE;
          }
          if (this.blabel(cp) === NONE) return NONE;
          break;
        }
        case TYPE_RESERVED:
          this.p('<BAD LABEL TYPE>');
          return NONE;
        default:
          if (nameChars + l <= MAXCDNAME) {
            if (this.printn(cp, l)) return NONE;
          } else if (nameChars < MAXCDNAME) {
            if (this.printn(cp, MAXCDNAME - nameChars)) return NONE;
          }
          nameChars += l;
      }
      cp += l;
      if (nameChars <= MAXCDNAME) this.p('.');
      nameChars++;
      if (!this.ttest(cp, 1)) return NONE;
      i = this.u8(cp);
      if ((l = this.labellen(cp)) === NONE) return NONE;
      cp++;
      if (!compress) rp += l + 1;
    }
    if (nameChars > MAXCDNAME) this.p('<DOMAIN NAME TOO LONG>');
    return rp;
  }

  /** ns_cprint: a <character-string>; where it ends, or NONE. */
  private cprint(cp: number): number {
    if (!this.ttest(cp, 1)) return NONE;
    const n = this.u8(cp++);
    return this.printn(cp, n) ? NONE : cp + n;
  }

  /** eopt_print: one EDNS0 option; where it ends, or NONE. */
  private eopt(cp: number): number {
    if (!this.ttest(cp, 2)) return NONE;
    const opt = this.u16(cp);
    cp += 2;
    this.p(EDNS_OPTS[opt] ?? `Opt${opt}`);
    if (!this.ttest(cp, 2)) return NONE;
    const len = this.u16(cp);
    cp += 2;
    if (!this.ttest(cp, len)) return NONE;
    if (len > 0) {
      this.p(' ');
      const list = (names: Readonly<Record<number, string>>): void => {
        for (let i = 0; i < len; i++) this.p(`${i > 0 ? ' ' : ''}${names[this.u8(cp + i)] ?? `Alg_${this.u8(cp + i)}`}`);
      };
      switch (opt) {
        case E_ECS:
          this.ecs(cp, len);
          break;
        case E_COOKIE:
          if (len < 8 || (len > 8 && len < 16) || len > 40) this.invalid();
          else for (let i = 0; i < len; i++) this.p(`${i === 8 ? ' ' : ''}${hex2(this.u8(cp + i))}`);
          break;
        case E_KEEPALIVE:
          if (len !== 2) this.invalid();
          else this.p(`${(this.u16(cp) / 10).toFixed(1)} sec`);
          break;
        case E_EXPIRE:
          if (len !== 4) this.invalid();
          else this.p(`${this.u32(cp)} sec`);
          break;
        case E_PADDING:
          this.p(`(${len})`);
          break;
        case E_KEYTAG:
          if (len % 2 !== 0) this.invalid();
          else for (let i = 0; i < len; i += 2) this.p(`${i > 0 ? ' ' : ''}${this.u16(cp + i)}`);
          break;
        case E_DAU:
          list(DAU_ALGS);
          break;
        case E_DHU:
          list(DHU_ALGS);
          break;
        case E_N3U:
          list(N3U_ALGS);
          break;
        case E_CHAIN:
          this.fqdn(cp, cp + len);
          break;
        default:
          for (let i = 0; i < len; i++) this.p(hex2(this.u8(cp + i)));
      }
    }
    return cp + len;
  }

  /** print_eopt_ecs: family, source and scope prefix lengths, "addr/source/scope". */
  private ecs(cp: number, len: number): void {
    if (len < 4) return this.invalid();
    const family = this.u16(cp);
    const src = this.u8(cp + 2);
    const scope = this.u8(cp + 3);
    const bits = family === 1 ? 32 : family === 2 ? 128 : 0;
    if (bits === 0 || len - 4 > bits / 8 || src > bits || scope > bits || Math.floor((src + 7) / 8) !== len - 4) return this.invalid();
    const padded = new Uint8Array(16);
    for (let i = 0; i < len - 4; i++) padded[i] = this.u8(cp + 4 + i);
    this.p(`${family === 1 ? ipToString(readU32(padded, 0)) : ip6ToString(padded, 0)}/${src}/${scope}`);
  }

  /** ns_qprint: a question; where it ends, or NONE. */
  private qprint(cp: number, bp: number): number {
    const np = cp;
    cp = this.nskip(cp);
    if (cp === NONE || !this.ttest(cp, 4)) return NONE;
    this.p(` ${typeName(this.u16(cp))}`);
    const i = this.u16(cp + 2);
    const cls = this.mdns ? i & ~C_TOP : i;
    if (cls !== C_IN) this.p(` ${className(cls)}`);
    if (this.mdns) this.p(i & C_TOP ? ' (QU)' : ' (QM)');
    this.p('? ');
    const end = this.fqdn(np, bp);
    return end === NONE ? NONE : end + 4;
  }

  /** ns_rprint: a resource record; where it ends (the captured end when its header is not there), or NONE. */
  private rprint(cp: number, bp: number): number {
    if (this.v) {
      this.p(' ');
      if ((cp = this.fqdn(cp, bp)) === NONE) return NONE;
    } else cp = this.nskip(cp);
    if (cp === NONE || !this.ttest(cp, 10)) return this.snapend;
    const typ = this.u16(cp);
    const i = this.u16(cp + 2);
    cp += 4;
    const cls = this.mdns ? i & ~C_TOP : i;
    if (cls !== C_IN && typ !== T_OPT) this.p(` ${className(cls)}`);
    if (this.mdns && i & C_TOP) this.p(' (Cache flush)');
    let optFlags = 0;
    if (typ === T_OPT) optFlags = this.u16(cp + 2);
    else if (this.v > 2) this.p(` [${relts(this.u32(cp))}]`);
    cp += 4;
    const len = this.u16(cp);
    cp += 2;
    const rp = cp + len;
    this.p(` ${typeName(typ)}`);
    if (rp > this.snapend) return NONE;
    switch (typ) {
      case T_A:
        if (!this.ttest(cp, 4)) return NONE;
        this.p(` ${ipToString(readU32(this.b, cp))}`);
        break;
      case T_NS:
      case T_CNAME:
      case T_PTR:
      case T_DNAME:
        this.p(' ');
        if (this.fqdn(cp, bp) === NONE) return NONE;
        break;
      case T_SOA:
        if (!this.v) break;
        this.p(' ');
        if ((cp = this.fqdn(cp, bp)) === NONE) return NONE;
        this.p(' ');
        if ((cp = this.fqdn(cp, bp)) === NONE) return NONE;
        if (!this.ttest(cp, 20)) return NONE;
        for (let k = 0; k < 5; k++) this.p(` ${this.u32(cp + 4 * k)}`);
        break;
      case T_MX:
        this.p(' ');
        if (!this.ttest(cp, 2)) return NONE;
        if (this.fqdn(cp + 2, bp) === NONE) return NONE;
        this.p(` ${this.u16(cp)}`);
        break;
      case T_TXT:
        while (cp < rp) {
          this.p(' "');
          if ((cp = this.cprint(cp)) === NONE) return NONE;
          this.p('"');
        }
        break;
      case T_SRV:
        this.p(' ');
        if (!this.ttest(cp, 6)) return NONE;
        if (this.fqdn(cp + 6, bp) === NONE) return NONE;
        this.p(`:${this.u16(cp + 4)} ${this.u16(cp)} ${this.u16(cp + 2)}`);
        break;
      case T_AAAA:
        if (!this.ttest(cp, 16)) return NONE;
        this.p(` ${ip6ToString(this.b, cp)}`);
        break;
      case T_A6: {
        if (!this.ttest(cp, 1)) return NONE;
        const pbit = this.u8(cp);
        const pbyte = (pbit & ~7) / 8;
        if (pbit > 128) {
          this.p(` ${pbit}(bad plen)`);
          break;
        }
        if (pbit < 128) {
          const a = new Uint8Array(16);
          this.need(cp + 1, 16 - pbyte); // GET_CPY_BYTES
          a.set(this.b.subarray(cp + 1, cp + 1 + 16 - pbyte), pbyte);
          this.p(` ${pbit} ${ip6ToString(a, 0)}`);
        }
        if (pbit > 0) {
          this.p(' ');
          if (this.fqdn(cp + 1 + 16 - pbyte, bp) === NONE) return NONE;
        }
        break;
      }
      case T_URI:
        if (!this.ttest(cp, len)) return NONE;
        this.p(` ${this.u16(cp)} ${this.u16(cp + 2)} `);
        if (this.printn(cp + 4, len - 4)) return NONE;
        break;
      case T_OPT:
        this.p(` UDPsize=${cls}`);
        if (optFlags & 0x8000) this.p(' DO');
        if (cp < rp) {
          this.p(' [');
          while (cp < rp) {
            if ((cp = this.eopt(cp)) === NONE) return NONE;
            if (cp < rp) this.p(',');
          }
          this.p(']');
        }
        break;
      case T_UNSPECA:
        if (!this.ttest(cp, len)) return NONE;
        if (this.printn(cp, len)) return NONE;
        break;
      case T_TSIG: {
        if (cp + len > this.snapend) return NONE;
        if (!this.v) break;
        this.p(' ');
        if ((cp = this.fqdn(cp, bp)) === NONE) return NONE;
        cp += 6;
        for (const field of ['fudge', 'maclen', 'origid', 'error', 'otherlen']) {
          if (!this.ttest(cp, 2)) return NONE;
          const n = this.u16(cp);
          this.p(` ${field}=${n}`);
          cp += field === 'maclen' ? 2 + n : 2;
        }
        break;
      }
    }
    return rp;
  }

  /** `n` records from cp, comma-separated after `label`; where they end, or NONE (the rest is tcpdump's "goto trunc"). */
  private records(cp: number, bp: number, n: number, label: string, first: boolean): number {
    if (n === 0 || (!first && cp >= this.snapend)) return n === 0 ? cp : NONE;
    this.p(label);
    if ((cp = this.rprint(cp, bp)) === NONE) return NONE;
    n--;
    while (cp < this.snapend && n > 0) {
      this.p(',');
      if ((cp = this.rprint(cp, bp)) === NONE) return NONE;
      n--;
    }
    return n > 0 ? NONE : cp;
  }

  /** domain_print. */
  message(bp: number, length: number, overTcp: boolean): void {
    if (overTcp) {
      // A two-byte length prefix that must give the rest's length (RFC 1035 4.2.2).
      if (length < 2) {
        this.p(` [DNS over TCP: length ${length} < 2]`);
        return this.invalid();
      }
      length -= 2;
      const prefix = this.u16(bp);
      if (prefix !== length) {
        this.p(` [prefix length(${prefix}) != length(${length})]`);
        return this.invalid();
      }
      bp += 2;
      this.p(' ');
    }
    const np = bp;
    if (length < HEADER) {
      this.p(`domain [length ${length} < ${HEADER}]`);
      return this.invalid();
    }
    if (!this.ttest(np, HEADER)) return this.trunc();
    const flags = this.u16(np + 2);
    let qd = this.u16(np + 4);
    const an = this.u16(np + 6), ns = this.u16(np + 8), ar = this.u16(np + 10);
    const opcode = (flags >> 11) & 0xf;
    const rcode = this.extendedRcode(np, flags & 0xf, qd, an + ns, ar);
    let cp = np + HEADER;
    if (flags & 0x8000) {
      const resp = rcode < NS_RESP.length ? NS_RESP[rcode]! : ` Resp${rcode & 0xfff}`;
      this.p(`${this.u16(np)}${NS_OPS[opcode]}${resp}${flags & 0x0400 ? '*' : ''}${flags & 0x0080 ? '' : '-'}${flags & 0x0200 ? '|' : ''}${flags & 0x0020 ? '$' : ''}`);
      if (qd !== 1) this.p(` [${qd}q]`);
      for (let i = 0; i < qd; i++) {
        if (i !== 0) this.p(',');
        if (this.v > 1) {
          this.p(' q:');
          if ((cp = this.qprint(cp, bp)) === NONE) return this.trunc();
        } else {
          if ((cp = this.nskip(cp)) === NONE) return this.trunc();
          cp += 4;
        }
      }
      this.p(` ${an}/${ns}/${ar}`);
      if ((cp = this.records(cp, bp, an, '', true)) === NONE) return this.trunc();
    } else {
      this.p(`${this.u16(np)}${NS_OPS[opcode]}${flags & 0x0100 ? '+' : ''}${flags & 0x0010 ? '%' : ''}`);
      if (flags & 0x6cf) this.p(` [b2&3=0x${flags.toString(16)}]`);
      if (opcode === IQUERY) {
        if (qd) this.p(` [${qd}q]`);
        if (an !== 1) this.p(` [${an}a]`);
      } else {
        if (an) this.p(` [${an}a]`);
        if (qd !== 1) this.p(` [${qd}q]`);
      }
      if (ns) this.p(` [${ns}n]`);
      if (ar) this.p(` [${ar}au]`);
      if (qd) {
        if ((cp = this.qprint(cp, np)) === NONE) return this.trunc();
        qd--;
        while (cp < this.snapend && qd) {
          if ((cp = this.qprint(cp, np)) === NONE) return this.trunc();
          qd--;
        }
      }
      if (qd) return this.trunc();
      if (this.v > 1 && (cp = this.records(cp, bp, an, '', true)) === NONE) return this.trunc();
    }
    // The authority and additional sections on -vv.
    if (this.v > 1) {
      if ((cp = this.records(cp, bp, ns, ' ns:', false)) === NONE) return this.trunc();
      if ((cp = this.records(cp, bp, ar, ' ar:', false)) === NONE) return this.trunc();
    }
    this.p(` (${length})`);
  }

  /** The header's RCODE with an OPT record's extended bits (RFC 6891), found by skipping to the additional section as tcpdump does. */
  private extendedRcode(np: number, rcode: number, qd: number, records: number, ar: number): number {
    let cp = np + HEADER;
    for (let i = 0; i < qd; i++) {
      if ((cp = this.nskip(cp)) === NONE) return rcode;
      cp += 4;
      if (cp >= this.snapend) return rcode;
    }
    for (let i = 0; i < records; i++) {
      if ((cp = this.nskip(cp)) === NONE) return rcode;
      cp += 8;
      if (cp + 2 > this.snapend) return rcode;
      cp += 2 + this.u16(cp);
      if (cp >= this.snapend) return rcode;
    }
    for (let i = 0; i < ar; i++) {
      if ((cp = this.nskip(cp)) === NONE || cp + 2 > this.snapend) return rcode;
      const type = this.u16(cp);
      cp += 4;
      if (cp + 1 > this.snapend) return rcode;
      if (type === T_OPT) return rcode | (this.u8(cp) << 4);
      cp += 4;
      if (cp + 2 > this.snapend) return rcode;
      cp += 2 + this.u16(cp);
      if (cp >= this.snapend) return rcode;
    }
    return rcode;
  }

  /** nd_print_trunc. */
  private trunc(): void {
    this.p(' [|domain]');
  }
}
