// iputils ping's IPv6 socket inside an emulated namespace: a raw ICMPv6
// socket (ping6_run) whose ICMP6_FILTER passes echo replies only and whose
// BPF filter takes its own identifier. What it reaches: a link-local over
// its device (the scope, -I, else the first fe80::/64 route's), its own
// address, or another by the namespace's IPv6 routes (route6-output.ts:
// on-link or via a gateway). What the namespace hands it (ndisc.ts's
// echo replies) becomes ping's datagram: the IPv6 header (for the hop limit
// IPV6_RECVHOPLIMIT gives and the source recvmsg names) and the message.
import { readU32, writeU16 } from '../wire/addr.js';
import { ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, icmpv6SetChecksum } from '../wire/icmpv6.js';
import { IPV6_DST, IPV6_HLEN, IPV6_SRC, NEXTHDR_ICMP, ip6Copy, ip6Equal, ip6IsLinkLocal, writeIpv6Head } from '../wire/ipv6.js';
import { ip6ToString } from '../wire/tcpdump-text.js';
import { wallUs, writeEchoBody, type PingItem } from './ping-socket.js';

/** What ping -6 asks of its socket. */
export interface Ping6Open {
  /** The destination's 16 bytes. */
  dst: Uint8Array;
  /** The target's scope (sin6_scope_id): a device's name or index. */
  scope?: string;
  /** -I IFACE: SO_BINDTODEVICE and IPV6_PKTINFO's device. */
  device?: string;
  /** -t: IPV6_UNICAST_HOPS; default the device's hop_limit (64). */
  ttl?: number;
  /** -Q: IPV6_TCLASS. */
  tclass?: number;
  pattern?: Uint8Array;
  ident?: number;
}

export class Ping6Socket {
  constructor(
    readonly ident: number,
    readonly dst: Uint8Array,
    /** The device each request leaves by (scope or -I), 0: the route's, each send. */
    readonly oif: number,
    /** -I: a raw socket bound to a device reads only what that device received. */
    readonly bound: number,
    /** The scope's ifindex, 0 without one (another than -I's fails each send). */
    readonly scope: number,
    readonly hopLimit: number,
    readonly tclass: number,
    readonly pattern: Uint8Array | null,
    readonly onItem: (item: PingItem) => void,
  ) {}

  /**
   * Echo request `seq` at l3 (`dataLen` bytes of data) from `src`: the
   * header rawv6_sendmsg builds (the socket's hop limit and traffic class;
   * flow label 0, the caller's) and the message with the checksum over
   * the pseudo-header (a raw ICMPv6 socket's IPV6_CHECKSUM).
   */
  writeEcho(buf: Uint8Array, l3: number, src: Uint8Array, seq: number, dataLen: number): void {
    const l4 = l3 + IPV6_HLEN;
    writeIpv6Head(buf, l3, this.tclass << 20, 8 + dataLen, NEXTHDR_ICMP, this.hopLimit);
    ip6Copy(buf, l3 + IPV6_SRC, src, 0);
    ip6Copy(buf, l3 + IPV6_DST, this.dst, 0);
    buf[l4] = ICMPV6_ECHO_REQUEST;
    buf[l4 + 1] = 0;
    writeEchoBody(buf, l4, this.ident, seq, dataLen, this.pattern);
    writeU16(buf, l4 + 2, 0);
    icmpv6SetChecksum(buf, l3, l4, 8 + dataLen);
  }

  /**
   * An ICMPv6 error (type, code, `info` its 32 bits after the code) about
   * the echo request at l4 (`len` bytes of message) to `dst` (its bytes at
   * `dstAt`), from `from` (as ping prints it, with its scope): true if
   * ping takes it from IPV6_RECVERR's queue (rawv6_err queues it for each
   * raw ICMPv6 socket; ping6_receive_error_msg keeps one about its own
   * echo request to its target).
   */
  takeError(buf: Uint8Array, l4: number, len: number, type: number, code: number, from: string, dst: Uint8Array, dstAt: number, info = 0): boolean {
    if (buf[l4] !== ICMPV6_ECHO_REQUEST || len < 8 || (buf[l4 + 4]! << 8 | buf[l4 + 5]!) !== this.ident || !ip6Equal(dst, dstAt, this.dst, 0)) return false;
    this.onItem({ kind: 'error', ts: wallUs(), from: 0, from6: from, type, code, info, seq: buf[l4 + 6]! << 8 | buf[l4 + 7]! });
    return true;
  }

  /**
   * An ICMPv6 error delivered on device `ifindex` (`dev`), header at l3,
   * message at l4 (`len` bytes) quoting an echo request (its header
   * without extension headers, as ours leave): what raw6_icmp_error hands
   * this socket (one bound to a device: only from that device) and ping
   * keeps (takeError). A link-local sender is printed with the device as
   * its scope.
   */
  takeIcmpError(buf: Uint8Array, l3: number, l4: number, len: number, ifindex: number, dev: string): boolean {
    const q3 = l4 + 8, q4 = q3 + IPV6_HLEN;
    if (len < 8 + IPV6_HLEN + 8 || buf[q3 + 6] !== NEXTHDR_ICMP || (this.bound !== 0 && this.bound !== ifindex)) return false;
    const from = ip6ToString(buf, l3 + IPV6_SRC) + (ip6IsLinkLocal(buf, l3 + IPV6_SRC) ? `%${dev}` : '');
    return this.takeError(buf, q4, len - 8 - IPV6_HLEN, buf[l4]!, buf[l4 + 1]!, from, buf, q3 + IPV6_DST, readU32(buf, l4 + 4));
  }

  /** An ICMPv6 message delivered on device `dev` (ifindex `ifindex`), header at l3, message at l4 (`len` bytes): true if ping reads it. */
  take(buf: Uint8Array, l3: number, l4: number, len: number, ifindex: number, dev: string): boolean {
    if (buf[l4] !== ICMPV6_ECHO_REPLY || len < 8 || (buf[l4 + 4]! << 8 | buf[l4 + 5]!) !== this.ident) return false;
    if (this.bound !== 0 && this.bound !== ifindex) return false;
    const data = new Uint8Array(IPV6_HLEN + len);
    data.set(buf.subarray(l3, l3 + IPV6_HLEN));
    data[6] = NEXTHDR_ICMP; // past any extension header
    data.set(buf.subarray(l4, l4 + len), IPV6_HLEN);
    this.onItem({ kind: 'reply', ts: wallUs(), data, dev });
    return true;
  }
}
