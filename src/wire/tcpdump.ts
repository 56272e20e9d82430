// `tcpdump -nnee` (tcpdump 4.99) lines for Ethernet frames, so a capture
// taken anywhere in the emulator reads exactly like one taken on a real node.
//
// The printers follow tcpdump's own (print-ether.c, print-ip.c, print-icmp.c,
// print-udp.c, print-tcp.c, print-arp.c, print-vxlan.c, print-ip6.c,
// print-ssh.c; DNS's print-domain.c in tcpdump-dns.ts, print-bootp.c in
// tcpdump-bootp.ts, print-igmp.c in tcpdump-igmp.ts, print-ntp.c in
// tcpdump-ntp.ts, print-rt6.c and print-mobility.c in tcpdump-ip6ext.ts,
// print-llc.c here and print-stp.c in tcpdump-stp.ts): the same
// order of reads, the same two lengths (`length` from the headers/wire,
// `caplen` what was captured), and the same truncation rule: a read past the
// captured bytes abandons the packet and prints " [|proto]" with the protocol
// being printed at the time. VXLAN prints the inner frame on a second line;
// unknown ethertypes and LLC types get tcpdump's "\n\t0x0000:  ..." hex
// dump lines.
//
// With `verbose` (tcpdump -v, -vv, -vvv) the printers add what tcpdump adds at that
// level: the IPv4 header in parentheses with the rest on the next line,
// checksum verdicts, an ICMP error's quoted packet and RFC 4884 extensions,
// ARP's address formats, every line of an HTTP request or response, the
// IPv6 header, neighbour discovery messages and options, an OSPF Hello
// (other OSPF types are not decoded further), IPv6 extension headers'
// options, MLD records, a DNS message's record names, sections and TTLs,
// DHCP options, IGMPv3 records and sources, NTP's fields, routing headers'
// reserved bits and mobility options, STP timers and MSTIs. The names
// printed are tcpdump's (tcpdump-names.ts).
//
// TCP sequence numbers are relative after the first packet of a connection
// carrying ACK, as tcpdump prints them without -S; a Tcpdump instance keeps
// that state across frames (use one per capture), formatFrame() starts fresh.
//
// Not the data path: this allocates strings. Never throws.
import { hex2, ipToString, macAt, readU16, readU32 } from './addr.js';
import { onesSum } from './checksum.js';
import { bootpText } from './tcpdump-bootp.js';
import { domainText, fqdnAt } from './tcpdump-dns.js';
import { igmpText } from './tcpdump-igmp.js';
import { ip6FinalDst, mobilityText, rt6Text } from './tcpdump-ip6ext.js';
import { ntpText } from './tcpdump-ntp.js';
import { stpText } from './tcpdump-stp.js';
import { ip6ToString, PrintAbort, printChar } from './tcpdump-text.js';
import { PKTTYPE_NAMES, SLL2_HDR_LEN } from './sll2.js';
import {
  ARPHRD_NAMES,
  ARPOP_NAMES,
  BRIDGED_PIDS,
  CISCO_PIDS,
  ETHERTYPE_NAMES,
  HTTP_METHODS,
  ICMP6_NAMES,
  ICMP_NAMES,
  IPPROTO_NAMES,
  IP_OPT_NAMES,
  LLC_FLAGS,
  LLC_SAPS,
  LLC_U_CMDS,
  ND_OPT_NAMES,
  OSPF_OPTIONS,
  OSPF_TYPES,
  OUI_NAMES,
  REDIRECT_FMT,
  TCP_FLAG_LETTERS,
  TCP_OPT_NAMES,
  UNREACH_FMT,
} from './tcpdump-names.js';

export { ip6ToString };

/** Thrown (internally only) when a read passes the captured bytes, like tcpdump's longjmp. */
class Truncated {}
const TRUNC = new Truncated();
/** ND_TCHECK inside tcp_print's option loop: its own "trunc:" label, which adds '>' after an option. */
const OPT_TRUNC = new Truncated();

/** tcpdump's name for an ethertype ("IPv4", "802.1Q", ... or "Unknown"). */
export function ethertypeName(type: number): string {
  return ETHERTYPE_NAMES[type] ?? 'Unknown';
}

const MAX_ETHERNET_LENGTH_VAL = 1500;
/** 802.2: an unnumbered frame's control bits, UI, XID and its format identifier; the SAPs decoded further. */
const LLC_U_FMT = 3, LLC_UI = 0x03, LLC_XID = 0xaf, LLC_XID_FI = 0x81;
const LLCSAP_SNAP = 0xaa, LLCSAP_8021D = 0x42, LLCSAP_IP = 0x06;
const OUI_CISCO = 0x00000c, OUI_CISCO_90 = 0x0000f8, OUI_APPLETALK = 0x080007, OUI_RFC2684 = 0x0080c2;


/** in_cksum_shouldbe: the checksum field that would have made `computed` (in_cksum over the data) zero. */
function cksumShouldbe(sum: number, computed: number): number {
  let v = sum + computed;
  v = (v & 0xffff) + (v >>> 16);
  return (v & 0xffff) + (v >>> 16);
}

const hex4 = (v: number): string => v.toString(16).padStart(4, '0');

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_HOPOPTS = 0;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_DSTOPTS = 60;
const IPPROTO_ROUTING = 43;
const IPPROTO_AH = 51;
const IPPROTO_MOBILITY = 135, IPPROTO_MOBILITY_OLD = 62;
const IP6OPT_PAD1 = 0, IP6OPT_PADN = 1, IP6OPT_ROUTER_ALERT = 5, IP6OPT_JUMBO = 0xc2, IP6OPT_HOME_ADDRESS = 0xc9;
/** An MLDv1 message; the smallest MLDv2 query. */
const MLD_MINLEN = 24, MLDV2_QUERY_MINLEN = 28;
const ICMP6_UNREACH_CODES: Readonly<Record<number, string>> = { 0: 'unreachable route', 1: ' unreachable prohibited', 2: 'beyond scope', 3: 'unreachable address', 4: 'unreachable port' };
const ICMP6_PARAMPROB_CODES: Readonly<Record<number, string>> = { 0: 'erroneous', 1: 'next header', 2: 'option', 3: 'incomplete header chain' };
/** Router advertisement and prefix information flags (icmp6_opt_ra_flag_values, icmp6_opt_pi_flag_values). */
const RA_FLAGS: readonly [number, string][] = [[0x80, 'managed'], [0x40, 'other stateful'], [0x20, 'home agent'], [0x02, 'ipv6 only']];
const PI_FLAGS: readonly [number, string][] = [[0x80, 'onlink'], [0x40, 'auto'], [0x20, 'router']];
/** get_rtpref, by the two preference bits. */
const RTPREF = ['medium', 'high', 'rsv', 'low'];
/** bittok2str(..., "none", v). */
const flagNames = (table: readonly [number, string][], v: number): string => table.filter(([bit]) => v & bit).map(([, n]) => n).join(', ') || 'none';
/** get_lifetime. */
const lifetime = (v: number): string => (v === 0xffffffff ? 'infinity' : `${v}s`);
const MLDV2_RECORD_TYPES: Readonly<Record<number, string>> = { 1: 'is_in', 2: 'is_ex', 3: 'to_in', 4: 'to_ex', 5: 'allow', 6: 'block' };
const IPPROTO_OSPF = 89;
const IPPROTO_IGMP = 2;
const IPPROTO_SCTP = 132;
const IPPROTO_DCCP = 33;
const VXLAN_PORT = 4789;
const DNS_PORT = 53;
const SSH_PORT = 22;
const BOOTPS_PORT = 67;
const BOOTPC_PORT = 68;
const NTP_PORT = 123;
const SSH_MAGIC = 'SSH-';
const MDNS_PORT = 5353;


export interface TcpdumpOptions {
  /** Print absolute TCP sequence numbers (tcpdump -S). Default false, as plain tcpdump. */
  absoluteSeq?: boolean;
  /** tcpdump -v (1), -vv (2), -vvv (3: what it adds here is DNS records' TTLs); 0 (default) as without -v. */
  verbose?: number;
  /** tcpdump -e: each line starts with the MAC addresses, ethertype, VLAN tags and length. Default true (this printer's -nnee lines); false as tcpdump without -e ("IP ...", "ARP, ..."). */
  linkHeader?: boolean;
  /** tcpdump -q: less protocol detail ("tcp N", no application decoding, ethertype names alone, no hex dumps). */
  quiet?: boolean;
  /**
   * The packet's bytes after its line (pretty_print_packet): -x hex, -X hex
   * and ASCII, -A ASCII; doubled (-xx, -XX, -AA) from the link-layer header
   * on, else from what follows it. Default none.
   */
  dump?: { kind: 'x' | 'X' | 'A'; withLink: boolean };
  /**
   * The frames are Linux cooked v2 (`-i any`, sll2.ts), not Ethernet:
   * `ifname` names an ifindex as if_indextoname does where tcpdump runs
   * (undefined: no such device, printed "?").
   */
  cooked?: { ifname: (ifindex: number) => string | undefined };
}

interface SeqEntry {
  seq: number;
  ack: number;
}

/** A tcpdump -nnee printer with tcpdump's per-capture state (TCP relative sequence numbers). */
export class Tcpdump {
  private readonly absoluteSeq: boolean;
  private readonly v: number;
  private readonly link: boolean;
  private readonly quiet: boolean;
  private readonly dump: TcpdumpOptions['dump'];
  private readonly cooked: TcpdumpOptions['cooked'];
  private readonly seqs = new Map<string, SeqEntry>();
  /** Where the link-layer header ended (ether_print's hdrlen), -1 until known. */
  private hdrEnd = -1;
  // Per-call state.
  private b: Uint8Array = new Uint8Array(0);
  private out = '';
  private proto = 'ether';
  private snapend = 0;
  private snapStack: number[] = [];

  constructor(opts: TcpdumpOptions = {}) {
    this.absoluteSeq = opts.absoluteSeq ?? false;
    this.v = opts.verbose ?? 0;
    this.link = opts.linkHeader ?? true;
    this.quiet = opts.quiet ?? false;
    this.dump = opts.dump;
    this.cooked = opts.cooked;
  }

  /** Forget TCP conversations (a new capture). */
  reset(): void {
    this.seqs.clear();
  }

  /**
   * The text tcpdump -nnee prints for the frame (Ethernet, or cooked) buf[off .. off+len) (without
   * timestamp and final newline). `wireLen` is the frame's length on the wire
   * when only `len` bytes were captured (snaplen); default len.
   */
  format(buf: Uint8Array, off: number, len: number, wireLen = len): string {
    this.b = buf;
    this.out = '';
    this.proto = 'ether';
    this.snapStack = [];
    if (!(off >= 0)) off = 0;
    if (!(len >= 0)) len = 0;
    if (off + len > buf.length) len = Math.max(0, buf.length - off);
    if (!(wireLen >= len)) wireLen = len;
    this.snapend = off + len;
    this.hdrEnd = -1;
    try {
      if (this.cooked) this.sll2(off, wireLen, len);
      else this.ether(off, wireLen, len);
    } catch (e) {
      // A printer that ran off the capture (a longjmp in tcpdump) leaves no link-layer length: a dump starts at the frame.
      this.hdrEnd = off;
      if (e === TRUNC) this.trunc();
      else this.out += ` [|${this.proto}: internal error]`;
    }
    if (this.dump) this.bytes(off, len);
    const s = this.out;
    this.out = '';
    this.b = new Uint8Array(0);
    return s;
  }

  // ---- primitives (the GET_* macros) ----

  private u8(p: number): number {
    if (p < 0 || p + 1 > this.snapend) throw TRUNC;
    return this.b[p]!;
  }
  private u16(p: number): number {
    if (p < 0 || p + 2 > this.snapend) throw TRUNC;
    return readU16(this.b, p);
  }
  private u24(p: number): number {
    if (p < 0 || p + 3 > this.snapend) throw TRUNC;
    return (this.b[p]! << 16) | (this.b[p + 1]! << 8) | this.b[p + 2]!;
  }
  private u32(p: number): number {
    if (p < 0 || p + 4 > this.snapend) throw TRUNC;
    return readU32(this.b, p);
  }
  private ttest(p: number, n: number): boolean {
    return p >= 0 && n >= 0 && p + n <= this.snapend;
  }
  private tcheck(p: number, n: number): void {
    if (!this.ttest(p, n)) throw TRUNC;
  }
  private ip(p: number): string {
    this.tcheck(p, 4);
    return ipToString(readU32(this.b, p));
  }
  private ip6(p: number): string {
    this.tcheck(p, 16);
    return ip6ToString(this.b, p);
  }
  private avail(p: number): number {
    return this.snapend > p ? this.snapend - p : 0;
  }
  private pushSnapend(end: number): void {
    this.snapStack.push(this.snapend);
    if (end < this.snapend) this.snapend = end;
  }
  private popSnapend(): void {
    const s = this.snapStack.pop();
    if (s !== undefined) this.snapend = s;
  }
  private p(s: string): void {
    this.out += s;
  }
  private trunc(): void {
    this.out += ` [|${this.proto}]`;
  }
  private invalid(): void {
    this.out += ' (invalid)';
  }

  /** hex_and_ascii_print(ndo, "\n\t", p, length): 16 bytes a line, then the printable ones. */
  private hexdump(p: number, length: number): void {
    const cap = this.avail(p);
    let truncated = false;
    if (length > cap) {
      length = cap;
      truncated = true;
    }
    let offset = 0;
    let hex = '';
    let asc = '';
    let i = 0;
    const graph = (c: number): string => (c >= 0x21 && c <= 0x7e ? String.fromCharCode(c) : '.');
    const flush = (): void => {
      this.out += `\n\t0x${offset.toString(16).padStart(4, '0')}: ${hex.padEnd(40)}  ${asc}`;
    };
    let nshorts = length >>> 1;
    let q = p;
    while (nshorts !== 0) {
      const s1 = this.b[q++]!;
      const s2 = this.b[q++]!;
      hex += ' ' + hex2(s1) + hex2(s2);
      asc += graph(s1) + graph(s2);
      i++;
      if (i >= 8) {
        flush();
        i = 0;
        hex = '';
        asc = '';
        offset += 16;
      }
      nshorts--;
    }
    if (length & 1) {
      const s1 = this.b[q++]!;
      hex += ' ' + hex2(s1);
      asc += graph(s1);
      i++;
    }
    if (i > 0) flush();
    if (truncated) throw TRUNC;
  }

  /**
   * pretty_print_packet's dump of the captured bytes: from the frame's start
   * (-xx, -XX, -AA) or past the link-layer header when anything follows it
   * (a frame too short for the header has none to dump).
   */
  private bytes(off: number, caplen: number): void {
    const d = this.dump!;
    this.snapend = off + caplen;
    const hdrlen = this.hdrEnd < 0 ? caplen : this.hdrEnd - off;
    const from = d.withLink ? off : off + hdrlen;
    if (!d.withLink && caplen <= hdrlen) return;
    const n = off + caplen - from;
    if (d.kind === 'X') this.hexdump(from, n);
    else if (d.kind === 'x') this.hexOnly(from, n);
    else this.ascii(from, n);
  }

  /** ND_DEFAULTPRINT of what no printer decodes: not with -q, nor with -x/-X (their dump follows anyway); -A keeps it. */
  private defaultPrint(p: number, caplen: number): void {
    if (!this.quiet && !this.hexDumps) this.hexdump(p, caplen);
  }

  /** -x or -X (ndo_suppress_default_print). */
  private get hexDumps(): boolean {
    return this.dump !== undefined && this.dump.kind !== 'A';
  }

  /** hex_print_with_offset: 8 words a line, no ASCII. */
  private hexOnly(p: number, length: number): void {
    for (let i = 0; i < length; i++) {
      if (i % 16 === 0) this.out += `\n\t0x${i.toString(16).padStart(4, '0')}: `;
      this.out += i % 2 === 0 ? ` ${hex2(this.b[p + i]!)}` : hex2(this.b[p + i]!);
    }
  }

  /** ascii_print: printable bytes, tab, space and newline as they are, others as '.', a CR dropped before a newline. */
  private ascii(p: number, length: number): void {
    let s = '\n';
    for (let i = 0; i < length; i++) {
      const c = this.b[p + i]!;
      if (c === 0x0d) {
        if (length - i - 1 > 1 && this.b[p + i + 1] !== 0x0a) s += '.';
      } else s += (c >= 0x21 && c <= 0x7e) || c === 0x09 || c === 0x20 || c === 0x0a ? String.fromCharCode(c) : '.';
    }
    this.out += s;
  }

  // ---- Ethernet (ether_common_print) ----

  private ether(p: number, length: number, caplen: number): void {
    this.proto = 'ether';
    if (length < caplen) {
      this.p(`[length ${length} < caplen ${caplen}]`);
      this.invalid();
      return;
    }
    if (caplen < 14 || length < 14) {
      this.trunc();
      return;
    }
    const origLength = length;
    const macs = `${macAt(this.b, p + 6)} > ${macAt(this.b, p)}, `;
    if (this.link) this.p(macs);
    length -= 12;
    caplen -= 12;
    p += 12;
    let type = this.u16(p);
    length -= 2;
    caplen -= 2;
    p += 2;
    let printedLength = false;
    while (type === 0x8100 || type === 0x9100 || type === 0x9200 || type === 0x88a8) {
      if (caplen < 4 || length < 4) {
        this.proto = 'vlan';
        this.trunc();
        return;
      }
      if (this.link) {
        const tag = this.u16(p);
        this.p(this.etherType(type));
        if (!printedLength) {
          this.p(`, length ${origLength}: `);
          printedLength = true;
        } else this.p(', ');
        this.p(`vlan ${tag & 0xfff}, p ${tag >>> 13}${tag & 0x1000 ? ', DEI' : ''}, `);
      }
      type = this.u16(p + 2);
      p += 4;
      length -= 4;
      caplen -= 4;
    }
    this.hdrEnd = p;
    if (type <= MAX_ETHERNET_LENGTH_VAL) {
      // 802.3 length field: LLC follows.
      if (type < length) {
        length = type;
        if (caplen > length) caplen = length;
      }
      this.pushSnapend(p + length);
      if (this.link) {
        this.p('802.3');
        if (!printedLength) this.p(`, length ${length}: `);
      }
      if (!this.llc(p, length, caplen, macs)) this.defaultPrint(p, caplen);
      this.popSnapend();
      return;
    }
    if (this.link) this.p(`${this.etherType(type)}${printedLength ? ', ' : `, length ${origLength}: `}`);
    if (this.byEthertype(type, p, length, caplen)) return;
    // An ethertype tcpdump cannot print: without -e its line gets the link header after all.
    if (!this.link) this.p(`${macs}${this.etherType(type)}, length ${origLength}: `);
    this.defaultPrint(p, caplen);
  }

  /** The payload of an ethertype dpemu decodes (ethertype_print's IPv4, IPv6, ARP and RARP); false for any other. */
  private byEthertype(type: number, p: number, length: number, caplen: number): boolean {
    switch (type) {
      case 0x0800:
        this.ipv4(p, length);
        return true;
      case 0x86dd:
        this.ipv6(p, length);
        return true;
      case 0x0806:
      case 0x8035:
        this.arp(p, length, caplen);
        return true;
      default:
        return false;
    }
  }

  // ---- Linux cooked v2 (sll2_if_print, sll2_print) ----

  private sll2(p: number, length: number, caplen: number): void {
    this.proto = 'sll2';
    if (length < caplen) {
      this.p(`[length ${length} < caplen ${caplen}]`);
      this.invalid();
      return;
    }
    this.tcheck(p, SLL2_HDR_LEN);
    const ifindex = this.u32(p + 4);
    this.p(`${(this.cooked!.ifname(ifindex) ?? '?').padEnd(5)} ${(PKTTYPE_NAMES[this.u8(p + 10)] ?? '?').padEnd(3)} `);
    const hdr = p;
    if (this.link) this.sll2Link(hdr, length);
    length -= SLL2_HDR_LEN;
    caplen -= SLL2_HDR_LEN;
    p += SLL2_HDR_LEN;
    let type = this.u16(hdr);
    while (type === 0x8100) {
      if (caplen < 4) {
        this.proto = 'vlan';
        this.trunc();
        return;
      }
      const tag = this.u16(p);
      if (this.link) this.p(`vlan ${tag & 0xfff}, p ${tag >>> 13}${tag & 0x1000 ? ', DEI' : ''}, `);
      type = this.u16(p + 2);
      if (type <= MAX_ETHERNET_LENGTH_VAL) type = 0x0004;
      if (!this.quiet) this.p(`ethertype ${ethertypeName(type)}, `);
      p += 4;
      length -= 4;
      caplen -= 4;
    }
    this.hdrEnd = p;
    if (type <= MAX_ETHERNET_LENGTH_VAL) {
      // 802.2 gets llc_print (what it decoded is link layer for the dump); 802.3 raw (IPX) and the rest are not decoded here.
      if (type === 0x0004 && this.llc(p, length, caplen, '')) this.hdrEnd = p + this.llcHdrLen(p, caplen);
      else this.defaultPrint(p, caplen);
      return;
    }
    if (this.byEthertype(type, p, length, caplen)) return;
    // An ethertype tcpdump cannot print: without -e its line gets the cooked header after all.
    if (!this.link) this.sll2Link(hdr, length + SLL2_HDR_LEN);
    this.defaultPrint(p, caplen);
  }

  /** What llc_print returns when it printed the frame at p: its LLC header (with SNAP's 5 bytes), or what was captured of a cut one. */
  private llcHdrLen(p: number, caplen: number): number {
    if (caplen < 3) return caplen;
    const control = this.b[p + 2]!;
    const isU = (control & LLC_U_FMT) === LLC_U_FMT;
    if (!isU && caplen < 4) return caplen;
    const snap = (this.b[p]! & ~1) === LLCSAP_SNAP && (this.b[p + 1]! & ~1) === LLCSAP_SNAP && control === LLC_UI;
    return (isU ? 3 : 4) + (snap ? 5 : 0);
  }

  /** sll2_print: ifindex, source MAC, and unless -q the protocol and length. */
  private sll2Link(h: number, length: number): void {
    this.p(`ifindex ${this.u32(h + 4)} `);
    if (this.u8(h + 11) === 6) this.p(`${macAt(this.b, h + 12)} `);
    if (this.quiet) return;
    const type = this.u16(h);
    if (type > MAX_ETHERNET_LENGTH_VAL) this.p(`ethertype ${ethertypeName(type)} (0x${hex4(type)})`);
    else this.p(type === 1 ? '802.3' : type === 4 ? '802.2' : `ethertype Unknown (0x${hex4(type)})`);
    this.p(`, length ${length}: `);
  }

  // ---- 802.2 LLC and SNAP (llc_print, snap_print) ----

  /**
   * llc_print for the 802.3 payload at p: the LLC header (with -e), then
   * STP, SNAP, IP or the frame's kind. False where tcpdump's caller dumps
   * the bytes from p (an LLC type it does not decode). `macs` is "src > dst, "; '' on a cooked frame (no addresses).
   */
  private llc(p: number, length: number, caplen: number, macs: string): boolean {
    this.proto = 'llc';
    if (caplen < 3 || length < 3) {
      this.trunc();
      this.hexdump(p, caplen); // llc_print's own dump: -q does not stop it
      return true;
    }
    const dsapField = this.u8(p), ssapField = this.u8(p + 1);
    let control = this.u8(p + 2);
    const isU = (control & LLC_U_FMT) === LLC_U_FMT;
    if (!isU) {
      if (caplen < 4 || length < 4) {
        this.trunc();
        this.hexdump(p, caplen); // llc_print's own dump: -q does not stop it
        return true;
      }
      control = this.u8(p + 2) | (this.u8(p + 3) << 8); // little-endian
    }
    const hdrlen = isU ? 3 : 4;
    const dsap = dsapField & ~1, ssap = ssapField & ~1;
    const sapName = (sap: number): string | undefined => LLC_SAPS[sap];
    if (this.link) {
      this.p(`LLC, dsap ${sapName(dsap) ?? 'Unknown'} (0x${hex2(dsap)}) ${dsapField & 1 ? 'Group' : 'Individual'}, `);
      this.p(`ssap ${sapName(ssap) ?? 'Unknown'} (0x${hex2(ssap)}) ${ssapField & 1 ? 'Response' : 'Command'}`);
      this.p(isU ? `, ctrl 0x${hex2(control)}: ` : `, ctrl 0x${hex4(control)}: `);
    }
    const body = p + hdrlen;
    length -= hdrlen;
    caplen -= hdrlen;
    if (ssap === dsap && control === LLC_UI) {
      if (ssap === LLCSAP_SNAP) return this.snap(body, length, caplen, macs);
      if (ssap === LLCSAP_8021D) {
        this.proto = 'stp';
        this.embedded(() => stpText(this.b, body, length, this.snapend, this.v));
        return true;
      }
      if (ssap === LLCSAP_IP) {
        this.ipv4(body, length);
        return true;
      }
    }
    if (!this.link) {
      const name = (sap: number, what: string): string => sapName(sap) ?? `Unknown ${what} 0x${hex2(sap)}`;
      if (!macs) this.p(ssap === dsap ? `${name(dsap, 'DSAP')} ` : `${name(ssap, 'SSAP')} > ${name(dsap, 'DSAP')} `);
      else {
        const [src, dst] = macs.slice(0, -2).split(' > ');
        this.p(ssap === dsap ? `${src} > ${dst} ${name(dsap, 'DSAP')} ` : `${src} ${name(ssap, 'SSAP')} > ${dst} ${name(dsap, 'DSAP')} `);
      }
    }
    const total = length + hdrlen;
    if (isU) {
      this.p(`Unnumbered, ${LLC_U_CMDS[control & 0xef] ?? hex2(control & 0xef)}, Flags [${LLC_FLAGS[(ssapField & 1) | (control & 0x10)]}], length ${total}`);
      if ((control & ~0x10) === LLC_XID) {
        if (length === 0) return true;
        if (this.u8(body) === LLC_XID_FI) {
          if (caplen < 3 || length < 3) {
            this.trunc();
            if (caplen > 0) this.hexdump(body, caplen);
          } else this.p(`: ${hex2(this.u8(body + 1))} ${hex2(this.u8(body + 2))}`);
          return true;
        }
      }
      return false;
    }
    const flags = LLC_FLAGS[(ssapField & 1) | (control & 0x100)];
    if (control & 1) {
      this.p(`Supervisory, ${['Receiver Ready', 'Receiver not Ready', 'Reject'][(control >> 2) & 3] ?? '?'}, rcv seq ${(control >> 9) & 0x7f}, Flags [${flags}], length ${total}`);
      return true;
    }
    this.p(`Information, send seq ${(control >> 1) & 0x7f}, rcv seq ${(control >> 9) & 0x7f}, Flags [${flags}], length ${total}`);
    return false;
  }

  /** snap_print: the OUI and protocol (with -e), then an encapsulated Ethernet type, a Cisco PVST BPDU or a bridged Ethernet frame; false for the others. */
  private snap(p: number, length: number, caplen: number, macs: string): boolean {
    this.proto = 'snap';
    if (!this.ttest(p, 5) || caplen < 5 || length < 5) {
      this.trunc();
      return true;
    }
    const oui = this.u24(p);
    const et = this.u16(p + 3);
    const pid = (oui === 0 || oui === OUI_CISCO_90 || oui === OUI_APPLETALK ? ETHERTYPE_NAMES[et] : oui === OUI_CISCO ? CISCO_PIDS[et] : oui === OUI_RFC2684 ? BRIDGED_PIDS[et] : undefined) ?? 'Unknown';
    const ouiText = `oui ${OUI_NAMES[oui] ?? 'Unknown'} (0x${oui.toString(16).padStart(6, '0')})`;
    if (this.link) this.p(`${ouiText}, ${oui === 0 ? 'ethertype' : 'pid'} ${pid} (0x${hex4(et)}), length ${length - 5}: `);
    p += 5;
    length -= 5;
    caplen -= 5;
    if (oui === 0 || oui === OUI_CISCO_90 || (oui === OUI_APPLETALK && et === 0x809b)) {
      // ethertype_print: the types this printer decodes.
      if (et === 0x0800) this.ipv4(p, length);
      else if (et === 0x86dd) this.ipv6(p, length);
      else if (et === 0x0806 || et === 0x8035) this.arp(p, length, caplen);
      if (et === 0x0800 || et === 0x86dd || et === 0x0806 || et === 0x8035) return true;
    } else if (oui === OUI_CISCO && (et === 0x010b || et === 0x010c)) {
      this.proto = 'stp';
      this.embedded(() => stpText(this.b, p, length, this.snapend, this.v));
      return true;
    } else if (oui === OUI_RFC2684 && (et === 0x0001 || et === 0x0007)) {
      this.tcheck(p, 2); // the bridge padding
      this.ether(p + 2, length - 2, caplen - 2);
      return true;
    }
    // Not decoded: without -e, the addresses and the SNAP header before the caller's dump.
    if (!this.link) this.p(`${macs ? `${macs.slice(0, -2)} ` : ''}SNAP, ${oui === 0 ? 'ethertype' : `${ouiText}, pid`} ${pid} (0x${hex4(et)}), length ${length}: `);
    return false;
  }

  /** ether_type_print: "ethertype IPv4 (0x0800)", with -q "IPv4" or "Unknown Ethertype (0x88b5)". */
  private etherType(type: number): string {
    const hex = `0x${type.toString(16).padStart(4, '0')}`;
    if (this.quiet) return ETHERTYPE_NAMES[type] ?? `Unknown Ethertype (${hex})`;
    return `ethertype ${ethertypeName(type)} (${hex})`;
  }

  // ---- ARP (arp_print) ----

  private arp(a: number, length: number, caplen: number): void {
    this.proto = 'arp';
    this.tcheck(a, 8);
    const hrd = readU16(this.b, a);
    const pro = readU16(this.b, a + 2);
    const hln = this.b[a + 4]!;
    const pln = this.b[a + 5]!;
    const op = readU16(this.b, a + 6);
    const sha = a + 8;
    const spa = sha + hln;
    const tha = spa + pln;
    const tpa = tha + hln;
    this.tcheck(tpa, pln);
    if (!this.link) this.p('ARP, ');
    const ipv4 = pro === 0x0800 || pro === 0x1000;
    if (!ipv4 || pln !== 4 || hln === 0 || this.v) {
      this.p(
        `${ARPHRD_NAMES[hrd] ?? `Unknown Hardware (${hrd})`} (len ${hln}), ${
          ETHERTYPE_NAMES[pro] ?? `Unknown Protocol (0x${pro.toString(16).padStart(4, '0')})`
        } (len ${pln})`,
      );
      // Without -v tcpdump does not guess at the address formats; with it, it goes on (tpaddr_print_ip's complaints).
      if (!this.v) {
        this.p(`, length ${length}`);
        return;
      }
      this.p(', ');
    }
    const ipAt = (q: number): string => (!ipv4 ? '<wrong proto type>' : pln !== 4 ? '<wrong len>' : this.ip(q));
    const link = (q: number): string => {
      this.tcheck(q, hln);
      if (hln === 0) return '<empty>';
      let s = '';
      for (let i = 0; i < hln; i++) s += (i ? ':' : '') + hex2(this.b[q + i]!);
      return s;
    };
    const nonzero = (q: number): boolean => {
      for (let i = 0; i < hln; i++) if (this.u8(q + i) !== 0) return true;
      return false;
    };
    this.p(`${ARPOP_NAMES[op] ?? `Unknown (${op})`} `);
    switch (op) {
      case 1:
        this.p(`who-has ${ipAt(tpa)}`);
        if (nonzero(tha)) this.p(` (${link(tha)})`);
        this.p(` tell ${ipAt(spa)}`);
        break;
      case 2:
        this.p(`${ipAt(spa)} is-at ${link(sha)}`);
        break;
      case 3:
      case 8:
        this.p(`who-is ${link(tha)}`);
        this.p(` tell ${link(sha)}`);
        break;
      case 4:
        this.p(`${link(tha)} at ${ipAt(tpa)}`);
        break;
      case 9:
        this.p(`${link(sha)} at ${ipAt(spa)}`);
        break;
      default:
        this.hexdump(a, caplen); // arp_print's ND_DEFAULTPRINT: neither -q nor -x stops it
        return;
    }
    this.p(`, length ${length}`);
  }

  // ---- IPv4 (ip_print) ----

  private ipv4(ip: number, length: number): void {
    this.proto = 'ip';
    const v = this.u8(ip) >>> 4;
    if (v !== 4) {
      this.p(v === 6 ? 'IP6, wrong link-layer encapsulation' : `IP${v}`);
      this.invalid();
      return;
    }
    if (!this.link) this.p('IP ');
    // ND_TCHECK_SIZE: prints the mark and returns (an ICMP error's quote goes on to its extensions).
    if (!this.ttest(ip, 20)) {
      this.trunc();
      return;
    }
    if (length < 20) {
      this.p(`truncated-ip ${length}`);
      return;
    }
    const hlen = (this.b[ip]! & 15) * 4;
    if (hlen < 20) {
      this.p(`bad-hlen ${hlen}`);
      return;
    }
    let len = readU16(this.b, ip + 2);
    if (length < len) this.p(`truncated-ip - ${len - length} bytes missing! `);
    if (len < hlen) {
      this.p(`bad-len ${len}`);
      return;
    }
    this.pushSnapend(ip + len);
    len -= hlen;
    const off = readU16(this.b, ip + 6);
    const proto = this.b[ip + 9]!;
    const src = ipToString(readU32(this.b, ip + 12));
    const dst = ipToString(readU32(this.b, ip + 16));
    if (this.v && !this.ipv4Verbose(ip, hlen, off, proto)) {
      this.p(`${src} > ${dst}: `);
      this.trunc();
      this.popSnapend();
      return;
    }
    if ((off & 0x1fff) === 0) {
      if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP && proto !== IPPROTO_SCTP && proto !== IPPROTO_DCCP) {
        this.p(`${src} > ${dst}: `);
      }
      if (!this.ttest(ip, hlen)) {
        this.p(` [remaining caplen(${this.avail(ip)}) < header length(${hlen})]`);
        throw TRUNC;
      }
      this.demux(ip + hlen, len, 4, (off & 0x2000) !== 0, proto, ip);
    } else {
      this.p(`${src} > ${dst}: ip-proto-${proto}`);
    }
    this.popSnapend();
  }

  /** ip_print's -v part: "(tos ...)\n    ". False when an option runs past the capture. */
  private ipv4Verbose(ip: number, hlen: number, off: number, proto: number): boolean {
    const tos = this.b[ip + 1]!;
    let s = `(tos 0x${tos.toString(16)}${['', ',ECT(1)', ',ECT(0)', ',CE'][tos & 3]}`;
    const ttl = this.b[ip + 8]!;
    if (ttl >= 1) s += `, ttl ${ttl}`;
    const flags = [off & 0x2000 ? '+' : '', off & 0x4000 ? 'DF' : '', off & 0x8000 ? 'rsvd' : ''].filter(Boolean).join(', ');
    s += `, id ${readU16(this.b, ip + 4)}, offset ${(off & 0x1fff) * 8}, flags [${flags || 'none'}]`;
    s += `, proto ${IPPROTO_NAMES[proto] ?? 'unknown'} (${proto}), length ${readU16(this.b, ip + 2)}`;
    this.p(s);
    let whole = true;
    if (hlen > 20) {
      this.p(', options (');
      if (!this.ipOptions(ip + 20, hlen - 20)) {
        this.p(' [truncated-option]');
        whole = false;
      }
      this.p(')');
    }
    if (ip + hlen <= this.snapend) {
      const sum = ~onesSum(this.b, ip, hlen) & 0xffff;
      if (sum !== 0) {
        const ipSum = readU16(this.b, ip + 10);
        this.p(`, bad cksum ${ipSum.toString(16)} (->${cksumShouldbe(ipSum, sum).toString(16)})!`);
      }
    }
    this.p(')\n    ');
    return whole;
  }

  /** ip_optprint: false when an option runs past the captured bytes. */
  private ipOptions(cp: number, length: number): boolean {
    let sep = '';
    while (length > 0) {
      this.p(sep);
      sep = ',';
      const code = this.u8(cp);
      this.p(IP_OPT_NAMES[code] ?? `unknown ${code}`);
      let olen = 1;
      if (code !== 0 && code !== 1) {
        olen = this.u8(cp + 1);
        if (olen < 2) {
          this.p(` [bad length ${olen}]`);
          return true;
        }
      }
      if (olen > length) {
        this.p(` [bad length ${olen}]`);
        return true;
      }
      if (!this.ttest(cp, olen)) return false;
      switch (code) {
        case 0:
          return true;
        case 68:
          if (!this.ipTimestamps(cp, olen)) return false;
          break;
        case 7:
        case 131:
        case 137:
          if (!this.ipRoute(cp, olen)) return false;
          break;
        case 148:
          if (olen < 4) this.p(` [bad length ${olen}]`);
          else if (readU16(this.b, cp + 2) !== 0) this.p(` value ${readU16(this.b, cp + 2)}`);
          break;
      }
      cp += olen;
      length -= olen;
    }
    return true;
  }

  /** ip_printroute (RR, LSRR, SSRR). */
  private ipRoute(cp: number, length: number): boolean {
    if (length < 3) {
      this.p(` [bad length ${length}]`);
      return true;
    }
    if ((length + 1) & 3) this.p(` [bad length ${length}]`);
    const ptr = (this.u8(cp + 2) - 1) >>> 0;
    if (ptr < 3 || (ptr + 1) & 3 || ptr > length + 1) this.p(` [bad ptr ${this.b[cp + 2]}]`);
    for (let len = 3; len < length; len += 4) {
      if (!this.ttest(cp + len, 4)) return false;
      this.p(` ${ipToString(readU32(this.b, cp + len))}`);
      if (ptr > len) this.p(',');
    }
    return true;
  }

  /** ip_printts. */
  private ipTimestamps(cp: number, length: number): boolean {
    if (length < 4) {
      this.p(`[bad length ${length}]`);
      return true;
    }
    this.p(' TS{');
    const fl = this.u8(cp + 3);
    const hoplen = (fl & 15) !== 0 ? 8 : 4;
    if ((length - 4) & (hoplen - 1)) this.p(`[bad length ${length}]`);
    const ptr = (this.u8(cp + 2) - 1) >>> 0;
    let len = 0;
    if (ptr < 4 || ((ptr - 4) >>> 0) & (hoplen - 1) || ptr > length + 1) this.p(`[bad ptr ${this.b[cp + 2]}]`);
    const kind = ['TSONLY', 'TS+ADDR', '', 'PRESPEC'][fl & 15];
    if (kind) {
      this.p(kind);
      let type = ' ';
      for (len = 4; len < length; len += hoplen) {
        if (ptr === len) type = ' ^ ';
        if (!this.ttest(cp + len, hoplen)) return false;
        this.p(`${type}${readU32(this.b, cp + len + hoplen - 4)}@${hoplen !== 8 ? '' : ipToString(readU32(this.b, cp + len))}`);
        type = ' ';
      }
    } else this.p(`[bad ts type ${fl & 15}]`);
    this.p(ptr === len ? ' ^ ' : '');
    this.p(fl >>> 4 ? ` [${fl >>> 4} hops not recorded]} ` : '}');
    return true;
  }

  /**
   * The one's-complement check of an upper-layer checksum over the pseudo
   * header and len bytes at bp (nextproto4_cksum / nextproto6_cksum): 0 when right.
   */
  private l4Cksum(iph: number, ver: number, proto: number, bp: number, len: number): number {
    // The IPv4 pseudo header's length is 16 bits, IPv6's 32.
    let sum = proto + (ver === 4 ? len & 0xffff : (len >>> 16) + (len & 0xffff));
    if (ver === 4) sum += onesSum(this.b, iph + 12, 4) + this.ipFinalDst(iph);
    else sum += onesSum(this.b, iph + 8, 16) + onesSum(this.b, ip6FinalDst(this.b, iph, this.snapend), 16);
    return ~onesSum(this.b, bp, len, sum) & 0xffff;
  }

  /** ip_finddst's one's-complement sum: the last hop of a source route, else the destination. */
  private ipFinalDst(iph: number): number {
    let cp = iph + 20;
    let length = (this.b[iph]! & 15) * 4 - 20;
    while (length > 0) {
      const tt = this.u8(cp);
      if (tt === 0) break;
      let len = 1;
      if (tt !== 1) {
        len = this.u8(cp + 1);
        if (len < 2) break;
      }
      if (length < len || !this.ttest(cp, len)) break;
      if ((tt === 131 || tt === 137) && len >= 7) return onesSum(this.b, cp + len - 4, 4);
      cp += len;
      length -= len;
    }
    return onesSum(this.b, iph + 16, 4);
  }

  /** ip_demux_print for the protocols this printer knows; others as tcpdump -nn prints unknown ones. */
  private demux(bp: number, length: number, ver: number, fragmented: boolean, nh: number, iph: number): void {
    switch (nh) {
      case IPPROTO_TCP:
        this.tcp(bp, length, iph, ver, fragmented);
        return;
      case IPPROTO_UDP:
        this.udp(bp, length, iph, ver, fragmented);
        return;
      case IPPROTO_ICMP:
        if (ver === 4) this.icmp(bp, length, fragmented);
        else {
          this.p('[ICMP requires IPv4]');
          this.invalid();
        }
        return;
      case IPPROTO_ICMPV6:
        if (ver === 6) this.icmp6(bp, length, iph, fragmented);
        else {
          this.p('[ICMPv6 requires IPv6]');
          this.invalid();
        }
        return;
      case IPPROTO_IGMP:
        if (ver !== 4) {
          this.p('[IGMP requires IPv4]');
          this.invalid();
          return;
        }
        this.proto = 'igmp';
        this.embedded(() => igmpText(this.b, bp, length, this.snapend, this.v, this.quiet));
        return;
      case IPPROTO_OSPF:
        if (ver === 4) {
          this.ospf(bp, length);
          return;
        }
        break;
      case 59:
        this.p('no next header');
        return;
    }
    this.p(` ip-proto-${nh} ${length}`);
  }

  // ---- ICMP (icmp_print) ----

  private icmp(bp: number, plen: number, fragmented: boolean): void {
    this.proto = 'icmp';
    const type = this.u8(bp);
    const code = this.u8(bp + 1);
    const oip = bp + 8;
    const odst = (): string => this.ip(oip + 16);
    let str: string;
    switch (type) {
      case 0:
      case 8:
        str = `echo ${type === 8 ? 'request' : 'reply'}, id ${this.u16(bp + 4)}, seq ${this.u16(bp + 6)}`;
        break;
      case 3:
        switch (code) {
          case 2: {
            const d = odst();
            str = `${d} protocol ${this.u8(oip + 9)} unreachable`;
            break;
          }
          case 3: {
            const hlen = (this.u8(oip) & 15) * 4;
            const dport = this.u16(oip + hlen + 2);
            const p = this.u8(oip + 9);
            const d = odst();
            if (p === IPPROTO_TCP) str = `${d} tcp port ${dport} unreachable`;
            else if (p === IPPROTO_UDP) str = `${d} udp port ${dport} unreachable`;
            else str = `${d} protocol ${p} port ${dport} unreachable`;
            break;
          }
          case 4: {
            const mtu = this.u16(bp + 6);
            const d = odst();
            str = mtu ? `${d} unreachable - need to frag (mtu ${mtu})` : `${d} unreachable - need to frag`;
            break;
          }
          default: {
            const fmt = UNREACH_FMT[code];
            const d = odst();
            str = fmt ? fmt.replace('%s', d) : `${d} unreachable - #${code}`;
          }
        }
        break;
      case 5: {
        const d = odst();
        const gw = this.ip(bp + 4);
        const fmt = REDIRECT_FMT[code];
        str = fmt ? fmt.replace('%s', d).replace('%s', gw) : `redirect-#${code} ${d} to ${gw}`;
        break;
      }
      case 9: {
        str = 'router advertisement lifetime ';
        const lifetime = this.u16(bp + 6);
        if (lifetime < 60) str += `${lifetime}`;
        else if (lifetime < 3600) str += `${Math.floor(lifetime / 60)}:${String(lifetime % 60).padStart(2, '0')}`;
        else
          str += `${Math.floor(lifetime / 3600)}:${String(Math.floor((lifetime % 3600) / 60)).padStart(2, '0')}:${String(
            lifetime % 60,
          ).padStart(2, '0')}`;
        let num = this.u8(bp + 4);
        str += ` ${num}:`;
        const size = this.u8(bp + 5);
        if (size !== 2) {
          str += ` [size ${size}]`;
          break;
        }
        let q = bp + 8;
        while (num !== 0) {
          str += ` {${this.ip(q)} ${this.u32(q + 4)}}`;
          q += 8;
          num--;
        }
        break;
      }
      case 11:
        this.tcheck(oip + 16, 4);
        str = code === 0 ? 'time exceeded in-transit' : code === 1 ? 'ip reassembly time exceeded' : `time exceeded-#${code}`;
        break;
      case 12:
        str = code ? `parameter problem - code ${code}` : `parameter problem - octet ${this.u8(bp + 4)}`;
        break;
      case 18:
        str = `address mask is 0x${this.u32(bp + 12).toString(16).padStart(8, '0')}`;
        break;
      case 13:
        str = `time stamp query id ${this.u16(bp + 4)} seq ${this.u16(bp + 6)}`;
        break;
      case 14: {
        const ts = (v: number): string => {
          const ms = v % 1000;
          let sec = Math.floor(v / 1000);
          let min = Math.floor(sec / 60);
          sec -= min * 60;
          const hrs = Math.floor(min / 60);
          min -= hrs * 60;
          return `${String(hrs).padStart(2, '0')}:${String(min).padStart(2, '0')}:${String(sec).padStart(2, '0')}.${String(ms).padStart(3, '0')}`;
        };
        str = `time stamp reply id ${this.u16(bp + 4)} seq ${this.u16(bp + 6)}: org ${ts(this.u32(bp + 8))}`;
        str += `, recv ${ts(this.u32(bp + 12))}`;
        str += `, xmit ${ts(this.u32(bp + 16))}`;
        break;
      }
      default:
        str = ICMP_NAMES[type] ?? `type-#${type}`;
    }
    this.p(`ICMP ${str}, length ${plen}`);
    if (this.v) this.icmpVerbose(bp, plen, type, fragmented);
  }

  /** icmp_print's -v part: the checksum verdict, an error's quoted packet, RFC 4884 extensions. */
  private icmpVerbose(bp: number, plen: number, type: number, fragmented: boolean): void {
    if (!fragmented && this.ttest(bp, plen)) {
      const sum = ~onesSum(this.b, bp, plen) & 0xffff;
      if (sum !== 0) {
        const icmpSum = readU16(this.b, bp + 2);
        this.p(` (wrong icmp cksum ${icmpSum.toString(16)} (->${cksumShouldbe(icmpSum, sum).toString(16)})!)`);
      }
    }
    // ICMP_ERRTYPE: unreachable, source quench, redirect, time exceeded, parameter problem.
    if (type === 3 || type === 4 || type === 5 || type === 11 || type === 12) {
      this.p('\n\t');
      const oip = bp + 8;
      const ilen = this.u16(oip + 2);
      this.pushSnapend(oip + ilen); // the quote is as long as its header says, not longer
      this.u16(oip + 2); // tcpdump reads the length again, within that: a quote claiming under 4 bytes ends here
      this.ipv4(oip, ilen);
      this.popSnapend();
    }
    // ICMP_MULTIPART_EXT_TYPE, longer than ICMP_EXTD_MINLEN: RFC 4884's extension after a 128-byte quote.
    if (!(type === 3 || type === 11 || type === 12) || plen <= 136) return;
    this.proto = 'icmp';
    this.tcheck(bp, 141); // ND_TCHECK_SIZE(struct icmp_ext_t)
    const ext = bp + 136;
    const hlen = plen - 136;
    if (this.b[bp + 5] === 0 && this.ttest(ext, hlen) && ~onesSum(this.b, ext, hlen) & 0xffff) return;
    const version = this.b[ext]! >>> 4;
    this.p(`\n\tICMP Multi-Part extension v${version}`);
    if (version !== 2) {
      this.p(' packet not supported');
      return;
    }
    if (this.ttest(ext, hlen)) {
      this.p(`, checksum 0x${hex4(readU16(this.b, ext + 2))} (${~onesSum(this.b, ext, hlen) & 0xffff ? 'in' : ''}correct), length ${hlen}`);
    }
    let left = hlen - 4;
    let obj = ext + 4;
    while (left > 4) {
      const olen = this.u16(obj);
      const cls = this.u8(obj + 2);
      const ctype = this.u8(obj + 3);
      obj += 4;
      this.p(`\n\t  ${['', 'MPLS Stack Entry', 'Interface Identification'][cls] || 'unknown'} Object (${cls}), Class-Type: ${ctype}, length ${olen}`);
      left -= 4;
      if (cls === 0 || olen < 4) return;
      const dlen = olen - 4;
      if (cls === 1 && ctype === 1) {
        const raw = this.u32(obj);
        this.p(`\n\t    label ${raw >>> 12}, tc ${(raw >>> 9) & 7}${raw & 0x100 ? ', [S]' : ''}, ttl ${raw & 0xff}`);
      } else this.unknownData('\n\t    ', obj, dlen);
      if (left < dlen) break;
      left -= dlen;
      obj += dlen;
    }
  }

  /** print_unknown_data: hex_print of what was captured, "0x0000: " and 8 groups of 2 bytes a line after `ident`, no ASCII. */
  private unknownData(ident: string, p: number, length: number): void {
    if (p > this.snapend) {
      this.p(`${ident}Dissector error: print_unknown_data called with pointer past end of packet`);
      return;
    }
    length = Math.min(length, this.avail(p));
    let line = '';
    let i = 0;
    for (; i + 1 < length; i += 2) {
      if (i % 16 === 0) line += `${ident}0x${hex4(i)}: `;
      line += ` ${hex2(this.u8(p + i))}${hex2(this.u8(p + i + 1))}`;
    }
    if (i < length) {
      if (i % 16 === 0) line += `${ident}0x${hex4(i)}: `;
      line += ` ${hex2(this.u8(p + i))}`;
    }
    this.p(line);
  }

  // ---- UDP (udp_print) ----

  private addrs(iph: number, ver: number): [string, string] {
    return ver === 4 ? [this.ip(iph + 12), this.ip(iph + 16)] : [this.ip6(iph + 8), this.ip6(iph + 24)];
  }

  private udp(bp: number, length: number, iph: number, ver: number, fragmented: boolean): void {
    this.proto = 'udp';
    const [src, dst] = this.addrs(iph, ver);
    // udpipaddr_print: after IPv6 extension headers (which printed the addresses) only the ports.
    const withAddrs = ver === 4 || this.b[iph + 6] === IPPROTO_UDP;
    const ipaddr = (sport: number, dport: number): void => {
      if (!withAddrs) {
        if (sport >= 0) this.p(`${sport} > ${dport}: `);
      } else if (sport < 0) this.p(`${src} > ${dst}: `);
      else this.p(`${src}.${sport} > ${dst}.${dport}: `);
    };
    if (!this.ttest(bp + 2, 2)) {
      ipaddr(-1, -1);
      return this.trunc(); // udp_print's goto trunc: the mark, then the caller goes on
    }
    const sport = readU16(this.b, bp);
    const dport = readU16(this.b, bp + 2);
    if (length < 8) {
      ipaddr(sport, dport);
      this.p(`truncated-udp ${length}`);
      return;
    }
    if (!this.ttest(bp + 4, 2)) {
      ipaddr(sport, dport);
      return this.trunc();
    }
    let ulen = readU16(this.b, bp + 4);
    if (ulen === 0 && length > 65535) ulen = length;
    if (ulen < 8) {
      ipaddr(sport, dport);
      this.p(`truncated-udplength ${ulen}`);
      return;
    }
    ulen -= 8;
    length -= 8;
    if (ulen < length) length = ulen;
    const cp = bp + 8;
    if (cp > this.snapend) {
      ipaddr(sport, dport);
      return this.trunc();
    }
    ipaddr(sport, dport);
    // IPv4's checksum is checked from -vv on (tcpdump's "XXX - do this even if vflag == 1?"), IPv6's from -v.
    if (this.v && !fragmented && (ver === 6 || this.v > 1)) {
      const udpSum = readU16(this.b, bp + 6);
      if (ver === 4 && udpSum === 0) this.p('[no cksum] ');
      else if (this.ttest(cp, length)) {
        const sum = this.l4Cksum(iph, ver, IPPROTO_UDP, bp, length + 8);
        if (sum !== 0) this.p(`[bad udp cksum 0x${hex4(udpSum)} -> 0x${hex4(cksumShouldbe(udpSum, sum))}!] `);
        else this.p('[udp sum ok] ');
      }
    }
    // udp_print's port tests in its order (none with -q): DNS and mDNS come long before VXLAN.
    const port = (n: number): boolean => !this.quiet && (sport === n || dport === n);
    if (port(DNS_PORT) || port(MDNS_PORT)) {
      this.domain(cp, length, false, !port(DNS_PORT));
      return;
    }
    if (port(BOOTPS_PORT) || port(BOOTPC_PORT)) {
      this.bootp(cp, length);
      return;
    }
    if (port(NTP_PORT)) {
      this.ntp(cp, length);
      return;
    }
    if (port(VXLAN_PORT)) {
      this.vxlan(cp, length);
      return;
    }
    if (ulen > length && !fragmented) this.p(`UDP, bad length ${ulen} > ${length}`);
    else this.p(`UDP, length ${ulen}`);
  }

  /** bootp_print (tcpdump-bootp.ts). */
  private bootp(bp: number, length: number): void {
    this.proto = 'bootp';
    this.embedded(() => bootpText(this.b, bp, length, this.snapend, this.v));
  }

  /** ntp_print (tcpdump-ntp.ts). */
  private ntp(bp: number, length: number): void {
    this.proto = 'ntp';
    this.embedded(() => ntpText(this.b, bp, length, this.snapend, this.v));
  }

  // ---- VXLAN (vxlan_print) ----

  private vxlan(bp: number, length: number): void {
    this.proto = 'vxlan';
    this.p('VXLAN');
    if (length < 8) {
      this.invalid();
      return;
    }
    const flags = this.u8(bp);
    this.p(`, flags [${flags & 0x08 ? 'I' : 'invalid'}] (0x${hex2(flags)}), `);
    this.p(`vni ${this.u24(bp + 4)}\n`);
    const inner = bp + 8;
    this.ether(inner, length - 8, this.avail(inner));
  }

  // ---- TCP (tcp_print) ----

  private tcp(bp: number, length: number, iph: number, ver: number, fragmented: boolean): void {
    this.proto = 'tcp';
    const [src, dst] = this.addrs(iph, ver);
    if (!this.ttest(bp + 2, 2)) {
      this.p(`${src} > ${dst}:`);
      this.trunc();
      return;
    }
    const sport = readU16(this.b, bp);
    const dport = readU16(this.b, bp + 2);
    // As UDP's: after IPv6 extension headers only the ports.
    if (ver === 4 || this.b[iph + 6] === IPPROTO_TCP) this.p(`${src}.${sport} > ${dst}.${dport}: `);
    else this.p(`${sport} > ${dport}: `);
    this.tcheck(bp, 20);
    let hlen = (this.b[bp + 12]! >>> 4) * 4;
    if (hlen < 20) {
      this.p(` tcp ${(length - hlen) >>> 0} [bad hdr length ${hlen} - too short, < 20]`);
      return;
    }
    let seq = readU32(this.b, bp + 4);
    let ack = readU32(this.b, bp + 8);
    const win = readU16(this.b, bp + 14);
    const urp = readU16(this.b, bp + 18);
    if (this.quiet) {
      this.p(`tcp ${(length - hlen) >>> 0}${hlen > length ? ` [bad hdr length ${hlen} - too short, > ${length}]` : ''}`);
      return;
    }
    const flags = this.b[bp + 13]!;
    let fl = '';
    for (const [bit, c] of TCP_FLAG_LETTERS) if (flags & bit) fl += c;
    this.p(`Flags [${fl || 'none'}]`);
    let thseq = 0;
    let thack = 0;
    let rev = false;
    if (!this.absoluteSeq && flags & 0x10) {
      const s = this.b.subarray(iph + (ver === 4 ? 12 : 8), iph + (ver === 4 ? 16 : 24));
      const d = this.b.subarray(iph + (ver === 4 ? 16 : 24), iph + (ver === 4 ? 20 : 40));
      if (sport > dport) rev = true;
      else if (sport === dport) rev = Buffer.compare(s, d) > 0;
      const key = rev
        ? `${Array.from(d).join('.')}|${Array.from(s).join('.')}|${dport}:${sport}`
        : `${Array.from(s).join('.')}|${Array.from(d).join('.')}|${sport}:${dport}`;
      let th = this.seqs.get(key);
      if (!th || flags & 0x02) {
        th = rev ? { ack: seq, seq: (ack - 1) >>> 0 } : { seq, ack: (ack - 1) >>> 0 };
        this.seqs.set(key, th);
      } else if (rev) {
        seq = (seq - th.ack) >>> 0;
        ack = (ack - th.seq) >>> 0;
      } else {
        seq = (seq - th.seq) >>> 0;
        ack = (ack - th.ack) >>> 0;
      }
      thseq = th.seq;
      thack = th.ack;
    }
    if (hlen > length) {
      this.p(` [bad hdr length ${hlen} - too long, > ${length}]`);
      return;
    }
    if (this.v && !fragmented && this.ttest(bp, length)) {
      const tcpSum = readU16(this.b, bp + 16);
      const sum = this.l4Cksum(iph, ver, IPPROTO_TCP, bp, length);
      this.p(`, cksum 0x${hex4(tcpSum)} ${sum ? `(incorrect -> 0x${hex4(cksumShouldbe(tcpSum, sum))})` : '(correct)'}`);
    }
    length -= hlen;
    if (this.v > 1 || length > 0 || flags & (0x02 | 0x01 | 0x04)) {
      this.p(`, seq ${seq}`);
      if (length > 0) this.p(`:${(seq + length) >>> 0}`);
    }
    if (flags & 0x10) this.p(`, ack ${ack}`);
    this.p(`, win ${win}`);
    if (flags & 0x20) this.p(`, urg ${urp}`);
    if (hlen > 20) {
      let ch = '';
      hlen -= 20;
      let cp = bp + 20;
      this.p(', options [');
      try {
        while (hlen > 0) {
          if (ch) this.p(ch);
          const opt = this.u8(cp);
          cp++;
          let len: number;
          if (opt === 0 || opt === 1) len = 1;
          else {
            len = this.u8(cp);
            cp++;
            if (len < 2 || len > hlen) {
              this.badOpt(ch);
              return;
            }
            --hlen;
          }
          --hlen;
          let datalen = 0;
          const lencheck = (l: number): boolean => {
            if (l > hlen) return false;
            if (!this.ttest(cp, l)) throw OPT_TRUNC;
            return true;
          };
          this.p(TCP_OPT_NAMES[opt] ?? `unknown-${opt}`);
          switch (opt) {
            case 2:
              datalen = 2;
              if (!lencheck(datalen)) return this.badOpt(ch);
              this.p(` ${readU16(this.b, cp)}`);
              break;
            case 3:
              datalen = 1;
              if (!lencheck(datalen)) return this.badOpt(ch);
              this.p(` ${this.b[cp]}`);
              break;
            case 5:
              datalen = len - 2;
              if (datalen % 8 !== 0) this.p(' invalid sack');
              else {
                this.p(` ${datalen / 8} `);
                for (let i = 0; i < datalen; i += 8) {
                  if (!lencheck(i + 4)) return this.badOpt(ch);
                  let s = readU32(this.b, cp + i);
                  if (!lencheck(i + 8)) return this.badOpt(ch);
                  let e = readU32(this.b, cp + i + 4);
                  const base = rev ? thseq : thack;
                  s = (s - base) >>> 0;
                  e = (e - base) >>> 0;
                  this.p(`{${s}:${e}}`);
                }
              }
              break;
            case 6:
            case 7:
            case 11:
            case 12:
            case 13:
              datalen = 4;
              if (!lencheck(datalen)) return this.badOpt(ch);
              this.p(` ${readU32(this.b, cp)}`);
              break;
            case 8:
              datalen = 8;
              if (!lencheck(datalen)) return this.badOpt(ch);
              this.p(` val ${readU32(this.b, cp)} ecr ${readU32(this.b, cp + 4)}`);
              break;
            case 20:
              datalen = 2;
              if (!lencheck(datalen)) return this.badOpt(ch);
              this.p(` cap ${hex2(this.b[cp]!)} id ${this.b[cp + 1]}`);
              break;
            case 28: {
              datalen = 2;
              if (!lencheck(datalen)) return this.badOpt(ch);
              let uto = readU16(this.b, cp);
              this.p(` 0x${uto.toString(16)}`);
              uto = uto & 1 ? (uto >>> 1) * 60 : uto >>> 1;
              this.p(` ${uto}`);
              break;
            }
            case 19: {
              // TCP MD5 signature: tcpdump has no -M secret to check it with.
              datalen = 16;
              if (!lencheck(datalen)) return this.badOpt(ch);
              const data = bp + (this.b[bp + 12]! >>> 4) * 4;
              let sig = '';
              for (let i = 0; i < 16; i++) sig += hex2(this.b[cp + i]!);
              this.p(` ${data + length > this.snapend ? 'snaplen too short' : 'shared secret not supplied with -M'}, can't check - ${sig}`);
              break;
            }
            case 34:
              datalen = len - 2;
              if (!lencheck(datalen)) return this.badOpt(ch);
              this.p(' ');
              this.fastOpen(cp, datalen);
              break;
            case 254: {
              datalen = len - 2;
              if (!lencheck(datalen) || datalen < 2) return this.badOpt(ch);
              const magic = readU16(this.b, cp);
              this.p('-');
              if (magic === 0xf989) {
                this.p('tfo');
                this.fastOpen(cp + 2, datalen - 2);
              } else this.p(hex4(magic));
              break;
            }
            case 0:
            case 1:
            case 4:
              break;
            default:
              // tcp-ao, mptcp and unknown: raw bytes (tcpdump decodes the first two further).
              datalen = len - 2;
              if (datalen) this.p(' 0x');
              for (let i = 0; i < datalen; ++i) {
                if (!lencheck(i + 1)) return this.badOpt(ch);
                this.p(hex2(this.b[cp + i]!));
              }
          }
          cp += datalen;
          hlen -= datalen;
          ++datalen;
          if (opt !== 0 && opt !== 1) ++datalen;
          if (datalen !== len) this.p(`[len ${len}]`);
          ch = ',';
          if (opt === 0) break;
        }
      } catch (e) {
        if (e !== OPT_TRUNC) throw e;
        this.trunc();
        if (ch) this.p('>');
        return;
      }
      this.p(']');
    }
    this.p(`, length ${length}`);
    if (length <= 0) return;
    if (flags & 0x04 && this.v) {
      this.rstData(bp + (this.b[bp + 12]! >>> 4) * 4, length);
      return;
    }
    // tcp_print's port tests in its order (the ports it decodes that this does not print nothing more).
    if (sport === SSH_PORT || dport === SSH_PORT) {
      this.ssh(bp + (this.b[bp + 12]! >>> 4) * 4, length);
    } else if (sport === 80 || dport === 80 || sport === 8080 || dport === 8080) {
      this.tcheck(bp, (this.b[bp + 12]! >>> 4) * 4);
      this.p(': ');
      this.http(bp + (this.b[bp + 12]! >>> 4) * 4, length);
    } else if (sport === DNS_PORT || dport === DNS_PORT) {
      this.tcheck(bp, (this.b[bp + 12]! >>> 4) * 4);
      this.domain(bp + (this.b[bp + 12]! >>> 4) * 4, length, true, false);
    }
  }

  /** ssh_print: a version exchange line ("SSH-2.0-..."), whole in this segment, as ": SSH: <line>"; anything else prints nothing. */
  private ssh(p: number, len: number): void {
    this.proto = 'ssh';
    for (let i = 0; i < 4; i++) if (this.u8(p + i) !== SSH_MAGIC.charCodeAt(i)) return;
    for (let idx = 4; idx < len; idx++) {
      const c = this.u8(p + idx);
      // Up to LF or CR-LF; a CR alone, a CR last, or a byte that is not printable: binary, not printed.
      if (c === 0x0a || (c === 0x0d && idx + 1 < len && this.u8(p + idx + 1) === 0x0a)) {
        this.p(`: SSH: ${String.fromCharCode(...this.b.subarray(p, p + idx))}`);
        return;
      }
      if (c < 0x20 || c > 0x7e) return;
    }
  }

  /** domain_print (tcpdump-dns.ts); a read past the capture abandons the packet there too. */
  private domain(bp: number, length: number, overTcp: boolean, mdns: boolean): void {
    this.proto = 'domain';
    this.embedded(() => domainText(this.b, bp, length, this.snapend, this.v, overTcp, mdns));
  }

  /** Print what a printer of its own module returns; where it gave up (PrintAbort), what it printed, and the packet ends here too. */
  private embedded(print: () => string): void {
    try {
      this.p(print());
    } catch (e) {
      if (!(e instanceof PrintAbort)) throw e;
      this.p(e.text);
      throw TRUNC;
    }
  }

  /** txtproto_print(..., "http", httpcmds, RESP_CODE_SECOND_TOKEN): the first line of a request or response; with -v, every line. */
  private http(p: number, len: number): void {
    this.proto = 'http';
    const isPrint = (c: number): boolean => c >= 0x20 && c <= 0x7e;
    // fetch_token: the token and the index after it and its trailing blanks (0: none).
    const fetch = (idx: number): [string, number] => {
      let tok = '';
      for (; idx < len; idx++) {
        if (!this.ttest(p + idx, 1)) return ['', 0];
        const c = this.b[p + idx]!;
        if (c > 0x7f) return ['', 0];
        if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) break;
        if (!isPrint(c)) return ['', 0];
        if (tok.length + 2 > 129) return ['', 0];
        tok += String.fromCharCode(c);
      }
      if (tok.length === 0) return ['', 0];
      for (; idx < len; idx++) {
        if (!this.ttest(p + idx, 1)) break;
        const c = this.b[p + idx]!;
        if (c === 0x0d || c === 0x0a || !isPrint(c)) break;
        if (c !== 0x20 && c !== 0x09) break;
      }
      return [tok, idx];
    };
    let show = false;
    let [tok, idx] = fetch(0);
    if (idx !== 0 && HTTP_METHODS.has(tok.toUpperCase())) show = true;
    [tok, idx] = fetch(idx);
    if (idx !== 0 && /^[0-9]{3}$/.test(tok)) show = true;
    this.p('HTTP');
    if (show && this.v) {
      this.p(`, length: ${len}`);
      for (let i = 0; i < len; ) {
        i = this.txtLine('\n\t', p, i, len);
        if (i === 0) break;
      }
    } else if (show) this.txtLine(': ', p, 0, len);
  }

  /** print_txt_line: the printable line at idx, CRLF or LF ending it; the index after it, 0 when it was not a whole line. */
  private txtLine(prefix: string, p: number, idx: number, len: number): number {
    const start = idx;
    let end = -1;
    while (idx < len) {
      const c = this.u8(p + idx);
      if (c === 0x0a) {
        end = idx++;
        break;
      }
      if (c === 0x0d) {
        if (idx + 1 >= len || this.u8(p + idx + 1) !== 0x0a) return 0;
        end = idx;
        idx += 2;
        break;
      }
      if ((c < 0x20 || c > 0x7e) && c !== 0x09) return 0;
      idx++;
    }
    let line = prefix;
    for (let k = start; k < (end < 0 ? idx : end); k++) line += String.fromCharCode(this.b[p + k]!);
    this.p(line);
    if (end >= 0) return idx;
    this.trunc(); // all printable but no line end: as if cut short
    return 0;
  }

  /** print_tcp_rst_data: an RST's payload (RFC 1122 4.2.2.12), at most 30 characters. */
  private rstData(p: number, length: number): void {
    let s = this.ttest(p, length) ? ' [RST' : ' [!RST';
    if (length > 30) {
      length = 30;
      s += '+';
    }
    s += ' ';
    for (let i = 0; i < length && p + i < this.snapend; i++) s += printChar(this.b[p + i]!);
    this.p(s + ']');
  }

  /** print_tcp_fastopen_option: an RFC 7413 cookie or cookie request. */
  private fastOpen(cp: number, datalen: number): void {
    if (datalen === 0) this.p(' cookiereq');
    else if (datalen % 2 !== 0 || datalen < 4 || datalen > 16) this.invalid();
    else {
      let c = ' cookie ';
      for (let i = 0; i < datalen; i++) c += hex2(this.u8(cp + i));
      this.p(c);
    }
  }

  private badOpt(ch: string): void {
    this.p('[bad opt]');
    if (ch) this.p(']');
  }

  // ---- OSPF (ospf_print; with -v, Hello only) ----

  private ospf(bp: number, length: number): void {
    this.proto = 'ospf2';
    this.tcheck(bp, 16); // nothing is printed without the header up to the authentication type
    const version = this.b[bp]!;
    const type = this.b[bp + 1]!;
    // "unknown LS-type": what 4.99 prints for a type it does not know (not its table's "unknown packet type").
    this.p(`OSPFv${version}, ${OSPF_TYPES[type] ?? `unknown LS-type ${type}`}, length ${length}`);
    const olen = this.u16(bp + 2);
    // Without -v tcpdump stops here, whatever the length field says.
    if (!this.v || !OSPF_TYPES[type]) return;
    if (olen !== length) this.p(` [len ${olen}]`);
    const dataend = bp + Math.min(olen, length);
    this.p(`\n\tRouter-ID ${this.ip(bp + 4)}`);
    this.p(this.u32(bp + 8) !== 0 ? `, Area ${this.ip(bp + 8)}` : ', Backbone Area');
    this.tcheck(bp + 16, 8);
    const auth = readU16(this.b, bp + 14);
    this.p(`, Authentication Type: ${['none', 'simple', 'MD5'][auth] ?? 'unknown'} (${auth})`);
    if (auth === 1) {
      let pw = '';
      for (let i = 0; i < 8 && this.b[bp + 16 + i] !== 0; i++) pw += printChar(this.b[bp + 16 + i]!);
      this.p(`\n\tSimple text password: ${pw}`);
    } else if (auth === 2) {
      this.p(`\n\tKey-ID: ${this.b[bp + 18]}, Auth-Length: ${this.b[bp + 19]}, Crypto Sequence Number: 0x${readU32(this.b, bp + 20).toString(16).padStart(8, '0')}`);
    } else if (auth !== 0) return;
    if (version !== 2) {
      this.p(` ospf [version ${version}]`);
      return;
    }
    if (type !== 1) return; // only Hello is decoded further here (tcpdump decodes all five)
    const opts = this.u8(bp + 30);
    const names = OSPF_OPTIONS.filter(([bit]) => opts & bit).map(([, n]) => n);
    this.p(`\n\tOptions [${names.join(', ') || 'none'}]`);
    this.p(`\n\t  Hello Timer ${this.u16(bp + 28)}s, Dead Timer ${this.u32(bp + 32)}s, Mask ${this.ip(bp + 24)}, Priority ${this.u8(bp + 31)}`);
    if (this.u32(bp + 36) !== 0) this.p(`\n\t  Designated Router ${this.ip(bp + 36)}`);
    if (this.u32(bp + 40) !== 0) this.p(`, Backup Designated Router ${this.ip(bp + 40)}`);
    let ap = bp + 44;
    if (ap < dataend) this.p('\n\t  Neighbor List:');
    for (; ap < dataend; ap += 4) this.p(`\n\t    ${this.ip(ap)}`);
    if (length > olen && opts & 0x10) this.ospfLls(bp, olen, length, auth);
  }

  /** ospf_decode_lls: RFC 4813 link-local signalling after the packet (the L option). */
  private ospfLls(bp: number, olen: number, length: number, auth: number): void {
    let dptr = bp + olen;
    const dataend = bp + length;
    if (auth === 2) {
      dptr += this.b[bp + 19]!;
      olen += this.b[bp + 19]!;
    }
    if (olen >= length) {
      this.p('\n\t[LLS truncated]');
      return;
    }
    this.p(`\n\t  LLS: checksum: 0x${hex4(this.u16(dptr))}`);
    this.p(`, length: ${this.u16(dptr + 2)}`);
    dptr += 4;
    while (dptr < dataend) {
      const type = this.u16(dptr);
      this.p(`\n\t    ${['', 'Extended Options', 'MD5 Authentication'][type] || 'Unknown TLV'} (${type})`);
      let len = this.u16(dptr + 2);
      this.p(`, length: ${len}`);
      dptr += 4;
      if (type === 1) {
        if (len !== 4) {
          this.p(' [should be 4]');
          len = 4;
        }
        const f = this.u32(dptr);
        const names = [f & 1 ? 'LSDB resync' : '', f & 2 ? 'Restart' : ''].filter(Boolean).join(', ');
        this.p(`\n\t      Options: 0x${f.toString(16).padStart(8, '0')} [${names || '?'}]`);
      } else if (type === 2) {
        if (len !== 20) {
          this.p(' [should be 20]');
          len = 20;
        }
        this.p(`\n\t      Sequence number: 0x${this.u32(dptr).toString(16).padStart(8, '0')}`);
      }
      dptr += len;
    }
  }

  // ---- IPv6 (ip6_print, the common cases) ----

  private ipv6(ip: number, length: number): void {
    this.proto = 'ip6';
    this.tcheck(ip, 40);
    if (!this.link) this.p('IP6 ');
    if (length < 40) {
      this.p(`truncated-ip6 ${length}`);
      return;
    }
    const v = this.b[ip]! >>> 4;
    if (v !== 6) {
      this.p(`version error: ${v} != 6`);
      return;
    }
    const payloadLen = readU16(this.b, ip + 4);
    let len = payloadLen + 40;
    if (length < len) this.p(`truncated-ip6 - ${len - length} bytes missing!`);
    this.pushSnapend(ip + len);
    const nh = this.b[ip + 6]!;
    // The upper layer gets the payload length from the header, as in ip_print, even when the frame is shorter.
    len = payloadLen !== 0 ? payloadLen : length - 40;
    if (this.v) {
      const flow = readU32(this.b, ip);
      let s = '(';
      if (flow & 0x0ff00000) s += `class 0x${hex2((flow & 0x0ff00000) >>> 20)}, `;
      if (flow & 0x000fffff) s += `flowlabel 0x${(flow & 0xfffff).toString(16).padStart(5, '0')}, `;
      this.p(`${s}hlim ${this.b[ip + 7]}, next-header ${IPPROTO_NAMES[nh] ?? 'unknown'} (${nh}) payload length: ${payloadLen}) `);
    }
    if (nh !== IPPROTO_TCP && nh !== IPPROTO_UDP && nh !== IPPROTO_SCTP && nh !== IPPROTO_DCCP) {
      this.p(`${ip6ToString(this.b, ip + 8)} > ${ip6ToString(this.b, ip + 24)}: `);
    }
    this.ip6Chain(ip, len, nh, payloadLen);
    this.popSnapend();
  }

  /**
   * ip6_print's loop over the extension headers after the fixed header (the
   * hop-by-hop and destination options, fragment), then the upper layer.
   * `len` is what follows the fixed header; routing and mobility headers in
   * tcpdump-ip6ext.ts.
   */
  private ip6Chain(ip: number, len: number, nh: number, payloadLen: number): void {
    let cp = ip + 40;
    let fragmented = false;
    let hbh = false;
    for (;;) {
      let advance: number;
      switch (nh) {
        case IPPROTO_HOPOPTS:
          // RFC 8200: one, straight after the IPv6 header.
          if (hbh || cp !== ip + 40) {
            this.p(hbh ? '[The Hop-by-Hop Options header was already found]' : "[The Hop-by-Hop Options header don't follow the IPv6 header]");
            return this.invalid();
          }
          hbh = true;
          advance = this.ip6Options(cp, 'HBH', 'hbhopt', payloadLen);
          break;
        case IPPROTO_DSTOPTS:
          advance = this.ip6Options(cp, 'DSTOPT', 'dstopt', -1);
          break;
        case IPPROTO_FRAGMENT:
          advance = this.frag6(cp, ip);
          if (advance >= 0 && this.snapend <= cp + advance) return;
          fragmented = true;
          break;
        case IPPROTO_ROUTING:
          this.tcheck(cp, 1); // ip6_print's own check, still as "ip6"
          this.proto = 'rt6';
          advance = this.extHeader(() => rt6Text(this.b, cp, this.snapend, this.v));
          break;
        case IPPROTO_MOBILITY:
        case IPPROTO_MOBILITY_OLD:
          // Whatever follows a mobility header is not printed (RFC 6275 wants none).
          this.proto = 'mobility';
          this.extHeader(() => mobilityText(this.b, cp, this.snapend, this.v));
          return;
        default:
          this.demux(cp, len, 6, fragmented, nh, ip);
          return;
      }
      if (advance < 0) return;
      nh = this.u8(cp);
      this.proto = 'ip6';
      if (len < advance) return this.trunc();
      cp += advance;
      len -= advance;
    }
  }

  /** A header printed by a module of its own (tcpdump-ip6ext.ts): its length, or -1 where the packet ends. */
  private extHeader(print: () => { text: string; result: number }): number {
    let advance = -1;
    this.embedded(() => {
      const r = print();
      advance = r.result;
      return r.text;
    });
    return advance;
  }

  /**
   * hbhopt_process / dstopt_process: "HBH " or "DSTOPT ", the options (a
   * destination header's only with -v); its length, or -1 when the packet
   * ends here. `payloadLen` (-1: not hop-by-hop) judges a Jumbo option.
   */
  private ip6Options(cp: number, name: string, proto: string, payloadLen: number): number {
    this.proto = proto;
    const hlen = (this.u8(cp + 1) + 1) << 3;
    if (!this.ttest(cp, hlen)) {
      this.trunc();
      return -1;
    }
    this.p(`${name} `);
    if ((payloadLen >= 0 || this.v) && !this.ip6OptList(cp + 2, hlen - 2, payloadLen)) {
      this.trunc();
      return -1;
    }
    return hlen;
  }

  /** ip6_opt_process (tcpdump 4.99): each option, printed with -v; false where tcpdump gives up ("goto trunc"). */
  private ip6OptList(bp: number, len: number, payloadLen: number): boolean {
    if (len === 0) return true;
    let jumbo = false;
    for (let i = 0, optlen = 0; i < len; i += optlen) {
      if ((optlen = this.ip6OptLen(bp, i, len)) < 0) return false;
      const type = this.u8(bp + i);
      const rest = len - i;
      switch (type) {
        case IP6OPT_PAD1:
          if (this.v) this.p('(pad1)');
          break;
        case IP6OPT_PADN:
          if (this.v) this.p('(padn)');
          break;
        case IP6OPT_ROUTER_ALERT:
          if (rest < 4) return this.p('(rtalert: trunc)'), false;
          if (this.u8(bp + i + 1) !== 2) return this.p(`(rtalert: invalid len ${this.u8(bp + i + 1)})`), false;
          if (this.v) this.p(`(rtalert: 0x${hex4(this.u16(bp + i + 2))}) `);
          break;
        case IP6OPT_JUMBO: {
          if (rest < 6) return this.p('(jumbo: trunc)'), false;
          if (this.u8(bp + i + 1) !== 4) return this.p(`(jumbo: invalid len ${this.u8(bp + i + 1)})`), false;
          const n = this.u32(bp + i + 2);
          const why = jumbo ? ' - already seen' : payloadLen < 0 ? ' - not a hop-by-hop option' : payloadLen !== 0 ? ' - payload len != 0' : n < 65536 ? ' - < 65536' : '';
          jumbo = true;
          if (this.v) this.p(`(jumbo: ${n}${why}) `);
          break;
        }
        case IP6OPT_HOME_ADDRESS:
          if (rest < 18) return this.p('(homeaddr: trunc)'), false;
          if (this.u8(bp + i + 1) < 16) return this.p(`(homeaddr: invalid len ${this.u8(bp + i + 1)})`), false;
          if (this.v) {
            this.p(`(homeaddr: ${this.ip6(bp + i + 2)}`);
            if (this.u8(bp + i + 1) > 16 && !this.ip6SubOptList(bp + i + 18, optlen - 18)) return false;
            this.p(')');
          }
          break;
        default:
          if (rest < 2) return this.p(`(type ${type}: trunc)`), false;
          if (this.v) this.p(`(opt_type 0x${hex2(type)}: len=${this.u8(bp + i + 1)})`);
      }
    }
    if (this.v) this.p(' ');
    return true;
  }

  /** The length of the option at bp[i] in a list of `len` bytes, or -1 where it does not fit (tcpdump's "goto trunc"). */
  private ip6OptLen(bp: number, i: number, len: number): number {
    const optlen = this.u8(bp + i) === IP6OPT_PAD1 ? 1 : i + 1 < len ? this.u8(bp + i + 1) + 2 : -1;
    return optlen < 0 || i + optlen > len ? -1 : optlen;
  }

  /** ip6_sopt_print: a home address option's sub-options. */
  private ip6SubOptList(bp: number, len: number): boolean {
    for (let i = 0, optlen = 0; i < len; i += optlen) {
      if ((optlen = this.ip6OptLen(bp, i, len)) < 0) return false;
      const type = this.u8(bp + i);
      if (type === IP6OPT_PAD1) this.p(', pad1');
      else if (type === IP6OPT_PADN) this.p(', padn');
      else this.p(`, sopt_type 0x${hex2(type)}: len=${this.u8(bp + i + 1)}`);
    }
    return true;
  }

  /** frag6_print: "frag (offset|rest) "; -1 for a fragment after the first, whose contents tcpdump does not decode. */
  private frag6(cp: number, ip: number): number {
    this.proto = 'frag6';
    const ident = this.v ? `0x${this.u32(cp + 4).toString(16).padStart(8, '0')}:` : '';
    const off = this.u16(cp + 2) & 0xfff8;
    this.p(`frag (${ident}${off}|${40 + this.u16(ip + 4) - (cp - ip) - 8})`);
    if (off !== 0) return -1;
    this.p(' ');
    return 8;
  }

  private icmp6(bp: number, length: number, iph: number, fragmented: boolean): void {
    this.proto = 'icmp6';
    if (length === 0) {
      this.p('ICMP6, length 0');
      this.invalid();
      return;
    }
    const type = this.u8(bp);
    if (this.v && !fragmented && this.ttest(bp, length)) {
      const icmpSum = readU16(this.b, bp + 2);
      const sum = this.l4Cksum(iph, 6, IPPROTO_ICMPV6, bp, length);
      this.p(sum ? `[bad icmp6 cksum 0x${hex4(icmpSum)} -> 0x${hex4(cksumShouldbe(icmpSum, sum))}!] ` : '[icmp6 sum ok] ');
    }
    this.p(`ICMP6, ${ICMP6_NAMES[type] ?? `unknown icmp6 type (${type})`}`);
    // Neighbour discovery's -v printers put the length first ("display cosmetics").
    if (this.v && ((type >= 133 && type <= 137) || type === 145 || type === 147)) this.p(`, length ${length}`);
    this.u8(bp + 1); // icmp6_print reads the code here, whatever the type: a frame cut after the type ends here
    const oip = bp + 8; // an error's quoted packet
    switch (type) {
      case 1: {
        const code = this.u8(bp + 1);
        this.p(`, ${ICMP6_UNREACH_CODES[code] ?? `unknown unreach code (${code})`}`);
        if (code === 0 || code === 1 || code === 3) this.p(` ${this.ip6(oip + 24)}`);
        else if (code === 2) this.p(` ${this.ip6(oip + 24)}, source address ${this.ip6(oip + 8)}`);
        else if (code === 4) {
          const up = this.upperLayer(oip);
          if (up < 0) return this.trunc();
          const dport = this.u16(up + 2), prot = this.upperProt;
          const dst = this.ip6(oip + 24);
          this.p(prot === IPPROTO_TCP ? `, ${dst} tcp port ${dport}` : prot === IPPROTO_UDP ? `, ${dst} udp port ${dport}` : `, ${dst} protocol ${prot} port ${dport} unreachable`);
        } else if (this.v <= 1) return this.unknownData('\n\t', bp, length);
        break;
      }
      case 2:
        this.p(`, mtu ${this.u32(bp + 4)}`);
        break;
      case 3: {
        const code = this.u8(bp + 1);
        this.p(code === 0 ? ` for ${this.ip6(oip + 24)}` : code === 1 ? ' (reassembly)' : `, unknown code (${code})`);
        break;
      }
      case 4: {
        if (!this.ttest(oip + 24, 16)) return this.trunc();
        const code = this.u8(bp + 1);
        const what = ICMP6_PARAMPROB_CODES[code];
        this.p(what === undefined ? `, code-#${code}` : `, ${what} - octet ${this.u32(bp + 4)}`);
        break;
      }
      case 128:
      case 129:
        this.p(`, id ${this.u16(bp + 4)}, seq ${this.u16(bp + 6)}`);
        break;
      case 130:
        if (length === MLD_MINLEN) this.mld(bp);
        else if (length >= MLDV2_QUERY_MINLEN) {
          this.p(' v2');
          this.mldv2Query(bp, length);
        } else this.p(` unknown-version (len ${length}) `);
        break;
      case 131:
      case 132:
        this.mld(bp);
        break;
      case 143:
        this.mldv2Report(bp, length);
        break;
      case 133:
        if (this.v && !this.ndOptions(bp + 8, length - 8)) return this.trunc();
        break;
      case 134:
        if (this.v) {
          const f = this.u8(bp + 5);
          this.p(`\n\thop limit ${this.u8(bp + 4)}, Flags [${flagNames(RA_FLAGS, f)}], pref ${RTPREF[(f & 0x18) >> 3]}, router lifetime ${this.u16(bp + 6)}s, reachable time ${this.u32(bp + 8)}ms, retrans timer ${this.u32(bp + 12)}ms`);
          if (!this.ndOptions(bp + 16, length - 16)) return this.trunc();
        }
        break;
      case 137:
        this.p(`, ${this.ip6(bp + 24)} to ${this.ip6(bp + 8)}`); // nd_rd_dst, then nd_rd_target
        if (this.v && !this.ndOptions(bp + 40, length - 40)) return this.trunc();
        break;
      case 135:
        this.p(`, who has ${this.ip6(bp + 8)}`);
        if (this.v && !this.ndOptions(bp + 24, length - 24)) return this.trunc();
        break;
      case 136:
        this.p(`, tgt is ${this.ip6(bp + 8)}`);
        if (this.v) {
          const f = this.u32(bp + 4);
          const names = [f & 0x80000000 ? 'router' : '', f & 0x40000000 ? 'solicited' : '', f & 0x20000000 ? 'override' : ''];
          this.p(`, Flags [${names.filter(Boolean).join(', ') || 'none'}]`);
          if (!this.ndOptions(bp + 24, length - 24)) return this.trunc();
        }
        break;
    }
    if (!ICMP6_NAMES[type]) {
      // The default case: the length always, and the bytes up to -v (an oddity of 4.99's icmp6_print).
      this.p(`, length ${length}`);
      if (this.v <= 1) this.unknownData('\n\t', bp, length);
    } else if (!this.v) this.p(`, length ${length}`);
  }

  /** get_upperlayer: where the TCP or UDP header of the packet an ICMPv6 error quotes (at oip) starts (its protocol in upperProt), or -1. */
  private upperLayer(oip: number): number {
    if (!this.ttest(oip + 6, 1)) return -1;
    let nh = this.b[oip + 6]!, at = oip, hlen = 40;
    while (at < this.snapend) {
      at += hlen;
      switch (nh) {
        case IPPROTO_UDP:
        case IPPROTO_TCP:
          this.upperProt = nh;
          return this.ttest(at + 2, 2) ? at : -1;
        case IPPROTO_HOPOPTS:
        case IPPROTO_DSTOPTS:
        case IPPROTO_ROUTING:
          if (!this.ttest(at + 1, 1)) return -1;
          hlen = (this.b[at + 1]! + 1) << 3;
          break;
        case IPPROTO_FRAGMENT:
          if (!this.ttest(at + 2, 2) || readU16(this.b, at + 2) & 0xfff8) return -1;
          hlen = 8;
          break;
        case IPPROTO_AH:
          if (!this.ttest(at + 1, 1)) return -1;
          hlen = (this.b[at + 1]! + 2) << 2;
          break;
        default:
          return -1;
      }
      nh = this.b[at]!;
    }
    return -1;
  }
  private upperProt = 0;

  /** mld6_print: MLDv1 (tcpdump prints it straight after the type's name). */
  private mld(bp: number): void {
    if (bp + MLD_MINLEN > this.snapend) return;
    this.p(`max resp delay: ${this.u16(bp + 4)} addr: ${this.ip6(bp + 8)}`);
  }

  /** mldv2_query_print. */
  private mldv2Query(bp: number, len: number): void {
    if (len < MLDV2_QUERY_MINLEN) return this.p(` [invalid len ${len}]`);
    const mrc = this.u16(bp + 4);
    const mrt = mrc < 32768 ? mrc : ((mrc & 0x0fff) | 0x1000) * 2 ** (((mrc & 0x7000) >> 12) + 3);
    if (this.v) this.p(` [max resp delay=${mrt >>> 0}]`);
    this.p(` [gaddr ${this.ip6(bp + 8)}`);
    if (this.v) {
      const f = this.u8(bp + 24);
      if (f & 0x08) this.p(' sflag');
      if (f & 0x07) this.p(` robustness=${f & 0x07}`);
      const q = this.u8(bp + 25);
      this.p(` qqi=${q < 128 ? q : ((q & 0x0f) | 0x10) << (((q & 0x70) >> 4) + 3)}`);
    }
    const nsrcs = this.u16(bp + 26);
    if (nsrcs > 0) {
      if (len < MLDV2_QUERY_MINLEN + nsrcs * 16) this.p(' [invalid number of sources]');
      else if (this.v > 1) {
        this.p(' {');
        for (let i = 0; i < nsrcs; i++) this.p(` ${this.ip6(bp + 28 + i * 16)}`);
        this.p(' }');
      } else this.p(`, ${nsrcs} source(s)`);
    }
    this.p(']');
  }

  /** mldv2_report_print: the group records' count; with -v each record (its sources from -vv). */
  private mldv2Report(bp: number, len: number): void {
    if (len < 8) return this.p(` [invalid len ${len}]`);
    const ngroups = this.u16(bp + 6);
    this.p(`, ${ngroups} group record(s)`);
    if (!this.v) return;
    for (let i = 0, group = 8; i < ngroups; i++) {
      if (len < group + 20) return this.p(' [invalid number of groups]');
      this.p(` [gaddr ${this.ip6(bp + group + 4)}`);
      const rtype = this.u8(bp + group);
      this.p(` ${MLDV2_RECORD_TYPES[rtype] ?? ` [v2-report-#${rtype}]`}`);
      const nsrcs = this.u16(bp + group + 2);
      if (len < group + 20 + nsrcs * 16) return this.p(` [invalid number of sources ${nsrcs}]`);
      if (this.v === 1) this.p(`, ${nsrcs} source(s)`);
      else {
        this.p(' {');
        for (let j = 0; j < nsrcs; j++) this.p(` ${this.ip6(bp + group + 20 + j * 16)}`);
        this.p(' }');
      }
      group += 20 + nsrcs * 16;
      this.p(']');
    }
  }

  /** icmp6_opt_print: neighbour discovery options from cp (`resid` bytes by the header); false where tcpdump gives up ("goto trunc"). */
  private ndOptions(bp: number, resid: number): boolean {
    const ep = this.snapend;
    for (let cp = bp; cp < ep; ) {
      if (!this.ttest(cp + 1, 1)) return false;
      if (resid <= 0) return true;
      const type = this.u8(cp);
      const units = this.u8(cp + 1);
      const olen = units << 3;
      if (units === 0 || cp + olen > ep) return false;
      this.p(`\n\t  ${ND_OPT_NAMES[type] ?? 'unknown'} option (${type}), length ${olen} (${units}): `);
      switch (type) {
        case 1:
        case 2: {
          let s = '';
          for (let i = 2; i < olen; i++) s += (i > 2 ? ':' : '') + hex2(this.u8(cp + i));
          this.p(s);
          break;
        }
        case 3:
          this.p(`${this.ip6(cp + 16)}/${this.u8(cp + 2)}${units !== 4 ? 'badlen' : ''}, Flags [${flagNames(PI_FLAGS, this.u8(cp + 3))}], valid time ${lifetime(this.u32(cp + 4))}`);
          this.p(`, pref. time ${lifetime(this.u32(cp + 8))}`);
          break;
        case 4:
          this.unknownData('\n\t    ', bp, olen); // tcpdump dumps from the first option, not this one
          break;
        case 5:
          this.p(` ${this.u32(cp + 4)}${units !== 1 ? 'bad option length' : ''}`);
          break;
        case 25: {
          this.p(` lifetime ${this.u32(cp + 4)}s,`);
          for (let i = 0; i < (units - 1) >> 1; i++) this.p(` addr: ${this.ip6(cp + 8 + 16 * i)}`);
          break;
        }
        case 31: {
          this.p(` lifetime ${this.u32(cp + 4)}s, domain(s):`);
          for (let dom = cp + 8; dom < cp + olen && this.u8(dom) !== 0; ) {
            this.p(' ');
            const name = this.fqdn(dom, bp);
            if (name < 0) return false;
            dom = name;
          }
          break;
        }
        case 7:
          this.p(` ${this.u32(cp + 4)}ms`);
          break;
        case 8:
          this.p(` preference ${this.u16(cp + 4)}, lifetime ${this.u16(cp + 6)}`);
          break;
        case 24: {
          this.tcheck(cp + 4, 4);
          if (units > 3) return false;
          const a = new Uint8Array(16);
          const n = units === 2 ? 8 : units === 3 ? 16 : 0;
          this.tcheck(cp + 8, n);
          a.set(this.b.subarray(cp + 8, cp + 8 + n));
          this.p(` ${ip6ToString(a, 0)}/${this.u8(cp + 2)}, pref=${RTPREF[(this.u8(cp + 3) & 0x18) >> 3]}, lifetime=${lifetime(this.u32(cp + 4))}`);
          break;
        }
        default:
          if (this.v <= 1) {
            this.unknownData('\n\t  ', cp + 2, olen - 2);
            return true;
          }
      }
      if (this.v > 1) this.unknownData('\n\t    ', cp + 2, olen - 2);
      cp += olen;
      resid -= olen;
    }
    return true;
  }

  /** fqdn_print (tcpdump-dns.ts) inside another protocol; where the name ends, or -1. */
  private fqdn(cp: number, bp: number): number {
    let end = -1;
    this.embedded(() => {
      const r = fqdnAt(this.b, cp, bp, this.snapend);
      end = r.end;
      return r.text;
    });
    return end;
  }

}

/** One frame as `tcpdump -nnee` prints it (fresh TCP state: as if it were the only packet). */
export function formatFrame(buf: Uint8Array, off: number, len: number, wireLen = len): string {
  return new Tcpdump().format(buf, off, len, wireLen);
}

/** Convenience for a standalone frame. */
export function formatBytes(frame: Uint8Array, wireLen = frame.length): string {
  return formatFrame(frame, 0, frame.length, wireLen);
}
