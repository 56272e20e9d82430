// The state every tcpdump printer works on (netdissect.h's netdissect_options,
// `ndo`): the options, the packet, the text so far, the protocol being
// printed (for " [|proto]"), the captured end and its stack
// (nd_push_snaplen), with the GET_* and ND_TTEST reads over them. The
// tcpdump-*.ts printers that share this state are functions of an Ndo, as
// tcpdump's print-*.c are of theirs; tcpdump.ts builds one per Tcpdump.
import { ipToString, readU16, readU32 } from './addr.js';
import { ip6ToString, PrintAbort } from './tcpdump-text.js';

/** Thrown (internally only) when a read passes the captured bytes, like tcpdump's longjmp. */
class Truncated {}
export const TRUNC = new Truncated();

/**
 * The printers that an inner layer hands its payload back up to (VXLAN's and
 * bridged SNAP's inner frame, an ICMP error's quoted packet): given by
 * tcpdump.ts, so that those printers need not import the ones above them.
 */
export interface Reentry {
  ether(ndo: Ndo, p: number, length: number, caplen: number): void;
  ipv4(ndo: Ndo, ip: number, length: number): void;
}

/** A Tcpdump's options: the tcpdump flags it follows. */
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

/** netdissect_options and the reads: one per capture (it keeps TCP's relative sequence numbers). */
export class Ndo {
  readonly absoluteSeq: boolean;
  readonly v: number;
  readonly link: boolean;
  readonly quiet: boolean;
  readonly dump: TcpdumpOptions['dump'];
  readonly cooked: TcpdumpOptions['cooked'];
  readonly seqs = new Map<string, SeqEntry>();
  /** Where the link-layer header ended (ether_print's hdrlen), -1 until known. */
  hdrEnd = -1;
  // Per-call state.
  b: Uint8Array = new Uint8Array(0);
  out = '';
  proto = 'ether';
  snapend = 0;
  snapStack: number[] = [];

  constructor(opts: TcpdumpOptions, private readonly up: Reentry) {
    this.absoluteSeq = opts.absoluteSeq ?? false;
    this.v = opts.verbose ?? 0;
    this.link = opts.linkHeader ?? true;
    this.quiet = opts.quiet ?? false;
    this.dump = opts.dump;
    this.cooked = opts.cooked;
  }

  /** ether_print for an encapsulated frame. */
  ether(p: number, length: number, caplen: number): void {
    this.up.ether(this, p, length, caplen);
  }
  /** ip_print for a quoted or encapsulated packet. */
  ipv4(ip: number, length: number): void {
    this.up.ipv4(this, ip, length);
  }

  // ---- primitives (the GET_* macros) ----

  u8(p: number): number {
    if (p < 0 || p + 1 > this.snapend) throw TRUNC;
    return this.b[p]!;
  }
  u16(p: number): number {
    if (p < 0 || p + 2 > this.snapend) throw TRUNC;
    return readU16(this.b, p);
  }
  u24(p: number): number {
    if (p < 0 || p + 3 > this.snapend) throw TRUNC;
    return (this.b[p]! << 16) | (this.b[p + 1]! << 8) | this.b[p + 2]!;
  }
  u32(p: number): number {
    if (p < 0 || p + 4 > this.snapend) throw TRUNC;
    return readU32(this.b, p);
  }
  ttest(p: number, n: number): boolean {
    return p >= 0 && n >= 0 && p + n <= this.snapend;
  }
  tcheck(p: number, n: number): void {
    if (!this.ttest(p, n)) throw TRUNC;
  }
  ip(p: number): string {
    this.tcheck(p, 4);
    return ipToString(readU32(this.b, p));
  }
  ip6(p: number): string {
    this.tcheck(p, 16);
    return ip6ToString(this.b, p);
  }
  /** The source and destination of the IPv4 or IPv6 header at iph. */
  addrs(iph: number, ver: number): [string, string] {
    return ver === 4 ? [this.ip(iph + 12), this.ip(iph + 16)] : [this.ip6(iph + 8), this.ip6(iph + 24)];
  }
  avail(p: number): number {
    return this.snapend > p ? this.snapend - p : 0;
  }
  pushSnapend(end: number): void {
    this.snapStack.push(this.snapend);
    if (end < this.snapend) this.snapend = end;
  }
  popSnapend(): void {
    const s = this.snapStack.pop();
    if (s !== undefined) this.snapend = s;
  }
  p(s: string): void {
    this.out += s;
  }
  trunc(): void {
    this.out += ` [|${this.proto}]`;
  }
  invalid(): void {
    this.out += ' (invalid)';
  }

  /** Print what a printer of its own module returns; where it gave up (PrintAbort), what it printed, and the packet ends here too. */
  embedded(print: () => string): void {
    try {
      this.p(print());
    } catch (e) {
      if (!(e instanceof PrintAbort)) throw e;
      this.p(e.text);
      throw TRUNC;
    }
  }
}
