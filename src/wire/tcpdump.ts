// `tcpdump -nnee` (tcpdump 4.99) lines for Ethernet frames, so a capture
// taken anywhere in the emulator reads exactly like one taken on a real node.
//
// This module is the entry point (print.c's pretty_print_packet). The
// printers follow tcpdump's own print-*.c, a tcpdump-*.ts module each (or a
// few together): tcpdump-ether.ts, -ethertype, -llc, -stp, -arp, -ip,
// -ip-demux, -ip6, -ip6opts, -ip6ext, -icmp, -icmp6, -igmp, -ospf, -udp,
// -tcp, -vxlan, -apps, -dns, -bootp, -ntp; the byte dumps in
// tcpdump-ascii.ts; the state they share and its reads in
// tcpdump-netdissect.ts. They keep tcpdump's order of reads, its two
// lengths (`length` from the headers/wire, `caplen` what was captured), and
// its truncation rule: a read past the captured bytes abandons the packet
// and prints " [|proto]" with the protocol being printed at the time. VXLAN
// prints the inner frame on a second line; unknown ethertypes and LLC types
// get tcpdump's "\n\t0x0000:  ..." hex dump lines.
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
import { dumpBytes } from './tcpdump-ascii.js';
import { etherPrint, sll2Print } from './tcpdump-ether.js';
import { ethertypeName } from './tcpdump-ethertype.js';
import { ipPrint } from './tcpdump-ip.js';
import { Ndo, type Reentry, TRUNC, type TcpdumpOptions } from './tcpdump-netdissect.js';
import { ip6ToString } from './tcpdump-text.js';

export { ethertypeName, ip6ToString, type TcpdumpOptions };

/** What the inner layers hand back up to: VXLAN's and SNAP's inner frames, ICMP's quoted packets. */
const REENTRY: Reentry = { ether: etherPrint, ipv4: ipPrint };

/** A tcpdump -nnee printer with tcpdump's per-capture state (TCP relative sequence numbers). */
export class Tcpdump {
  private readonly ndo: Ndo;

  constructor(opts: TcpdumpOptions = {}) {
    this.ndo = new Ndo(opts, REENTRY);
  }

  /** Forget TCP conversations (a new capture). */
  reset(): void {
    this.ndo.seqs.clear();
  }

  /**
   * The text tcpdump -nnee prints for the frame (Ethernet, or cooked) buf[off .. off+len) (without
   * timestamp and final newline). `wireLen` is the frame's length on the wire
   * when only `len` bytes were captured (snaplen); default len.
   */
  format(buf: Uint8Array, off: number, len: number, wireLen = len): string {
    const ndo = this.ndo;
    ndo.b = buf;
    ndo.out = '';
    ndo.proto = 'ether';
    ndo.snapStack = [];
    if (!(off >= 0)) off = 0;
    if (!(len >= 0)) len = 0;
    if (off + len > buf.length) len = Math.max(0, buf.length - off);
    if (!(wireLen >= len)) wireLen = len;
    ndo.snapend = off + len;
    ndo.hdrEnd = -1;
    try {
      if (ndo.cooked) sll2Print(ndo, off, wireLen, len);
      else etherPrint(ndo, off, wireLen, len);
    } catch (e) {
      // A printer that ran off the capture (a longjmp in tcpdump) leaves no link-layer length: a dump starts at the frame.
      ndo.hdrEnd = off;
      if (e === TRUNC) ndo.trunc();
      else ndo.out += ` [|${ndo.proto}: internal error]`;
    }
    if (ndo.dump) dumpBytes(ndo, off, len);
    const s = ndo.out;
    ndo.out = '';
    ndo.b = new Uint8Array(0);
    return s;
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
