// traceroute -6's sockets inside an emulated namespace (Debian's traceroute
// 2.1): the default method's UDP socket a probe and -U's, connected to the
// destination with IPV6_RECVERR, -I's raw ICMPv6 socket connected to it
// (its ICMP6_FILTER passes echo replies only), -T's raw TCP socket. The
// ports and the probes' data and SYN are the IPv4 sockets'
// (trace-socket.ts); the header is IPv6's, the echo request ICMPv6's, the
// checksums over IPv6's pseudo-header, and what the namespace delivers
// (inet6-sockets.ts) is taken as ipv6_icmp_error queues it: an ICMPv6 error
// quoting a probe, with the error's hop limit (IPV6_RECVHOPLIMIT), -I's
// echo replies from the destination, -T's segments from its port, and a
// UDP answer from the port a probe's socket is connected to.
import { readU16, writeU16 } from '../wire/addr.js';
import { checksum } from '../wire/checksum.js';
import { ICMPV6_DEST_UNREACH, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, ICMPV6_PARAMPROB, icmpv6SetChecksum } from '../wire/icmpv6.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { IPV6_DST, IPV6_HLEN, IPV6_SRC, NEXTHDR_ICMP, ip6Equal, ipv6PseudoSum, writeIpv6Head, ip6Copy } from '../wire/ipv6.js';
import { ip6ToString } from '../wire/tcpdump-text.js';
import { wallUs, type PingItem } from './ping-socket.js';
import { TraceSocket } from './trace-socket.js';

export class Trace6Socket extends TraceSocket {
  constructor(
    proto: number,
    ident: number,
    /** The destination's 16 bytes. */
    readonly dst6: Uint8Array,
    port: number,
    /** bind()'s address (-s), null when unbound. */
    readonly bound6: Uint8Array | null,
    oif: number,
    /** -T: the route's MTU its connect() found (IPV6_MTU). */
    mtu: number,
    onItem: (item: PingItem) => void,
  ) {
    super(proto, ident, 0, port, 0, oif, mtu, onItem);
  }

  protected override mss(): number {
    return this.mtu - 60;
  }

  /** The transport's next header value. */
  private get nexthdr(): number {
    return this.proto === IPPROTO_ICMP ? NEXTHDR_ICMP : this.proto;
  }

  /**
   * Probe `key` at l3 from `src` with hop limit `hops` and `dataLen` bytes
   * of data: the UDP datagram or -T's SYN (their checksums over the
   * pseudo-header) or the echo request (a raw ICMPv6 socket's checksum);
   * `label` the flow label. Returns the datagram's length.
   */
  writeProbe6(buf: Uint8Array, l3: number, src: Uint8Array, key: number, hops: number, dataLen: number, label: number): number {
    const l4 = l3 + IPV6_HLEN, len = this.headerLen() + dataLen;
    writeIpv6Head(buf, l3, label, len, this.nexthdr, hops);
    ip6Copy(buf, l3 + IPV6_SRC, src, 0);
    ip6Copy(buf, l3 + IPV6_DST, this.dst6, 0);
    this.writeProbe(buf, l4, key, dataLen);
    if (this.proto !== IPPROTO_ICMP) {
      // udp6: a zero checksum is sent as 0xffff.
      const at = l4 + (this.proto === IPPROTO_UDP ? 6 : 16);
      writeU16(buf, at, 0);
      writeU16(buf, at, checksum(buf, l4, len, ipv6PseudoSum(buf, l3, len, this.proto)) || (this.proto === IPPROTO_UDP ? 0xffff : 0));
    } else {
      buf[l4] = ICMPV6_ECHO_REQUEST;
      icmpv6SetChecksum(buf, l3, l4, len);
    }
    return IPV6_HLEN + len;
  }

  /**
   * A datagram delivered to the namespace (IPv6 header at l3, transport
   * `nh` at l4, `len` bytes from l4): true if one of these sockets took it
   * (for UDP: no port unreachable is sent). An ICMPv6 error's `info` is its
   * 32 bits after the code (a packet too big's MTU).
   */
  take6(buf: Uint8Array, l3: number, nh: number, l4: number, len: number): boolean {
    if (len < 8) return false;
    if (nh === IPPROTO_UDP || nh === IPPROTO_TCP) {
      // A UDP probe's socket: a datagram from the port it is connected to; -T's: the destination's segments from its port.
      if (nh !== this.proto || !ip6Equal(buf, l3 + IPV6_SRC, this.dst6, 0)) return false;
      const key = this.keyOf(readU16(buf, l4 + 2), readU16(buf, l4));
      if (key === undefined) return false;
      this.onItem({ kind: 'reply', ts: wallUs(), data: buf.slice(l3, l4 + len), seq: key });
      return true;
    }
    if (nh !== NEXTHDR_ICMP) return false;
    const type = buf[l4]!;
    if (type === ICMPV6_ECHO_REPLY) {
      if (this.proto !== IPPROTO_ICMP || readU16(buf, l4 + 4) !== this.ident || !ip6Equal(buf, l3 + IPV6_SRC, this.dst6, 0)) return false;
      const data = new Uint8Array(IPV6_HLEN + len);
      data.set(buf.subarray(l3, l3 + IPV6_HLEN));
      data[6] = NEXTHDR_ICMP; // past any extension header
      data.set(buf.subarray(l4, l4 + len), IPV6_HLEN);
      this.onItem({ kind: 'reply', ts: wallUs(), data });
      return true;
    }
    // The quoted probe: its header (no extension headers: ours have none) and 8 bytes of it.
    if (type < ICMPV6_DEST_UNREACH || type > ICMPV6_PARAMPROB || len < 8 + IPV6_HLEN + 8) return false;
    const q3 = l4 + 8, q4 = q3 + IPV6_HLEN;
    if (buf[q3 + 6] !== this.nexthdr || !ip6Equal(buf, q3 + IPV6_DST, this.dst6, 0)) return false;
    let seq: number | undefined;
    if (this.proto === IPPROTO_ICMP) {
      if (buf[q4] !== ICMPV6_ECHO_REQUEST || readU16(buf, q4 + 4) !== this.ident) return false;
      seq = readU16(buf, q4 + 6);
    } else {
      seq = this.keyOf(readU16(buf, q4), readU16(buf, q4 + 2));
      if (seq === undefined) return false;
    }
    const info = ((buf[l4 + 4]! << 24) | (buf[l4 + 5]! << 16) | (buf[l4 + 6]! << 8) | buf[l4 + 7]!) >>> 0;
    this.onItem({ kind: 'error', ts: wallUs(), from: 0, from6: ip6ToString(buf, l3 + IPV6_SRC), type, code: buf[l4 + 1]!, info, seq, ttl: buf[l3 + 7]! });
    return true;
  }
}
