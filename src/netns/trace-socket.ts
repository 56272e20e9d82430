// traceroute's sockets inside an emulated namespace (Debian's traceroute
// 2.1, Dmitry Butskoy's): its default method opens one UDP socket a probe,
// connected to the destination's next port (33434 up) with IP_RECVERR; -I
// one raw ICMP socket connected to the destination (IP_RECVERR too). One
// TraceSocket stands for either: it builds each probe (the data traceroute
// fills in: bytes 0x40 + (i & 0x3f)), and takes from what the namespace
// delivers (namespace.ts traceRcv) what the kernel would queue on those
// sockets: the ICMP errors quoting a probe (the error queue), and with -I
// the echo replies from the destination.
import { readU16, readU32, writeU16 } from '../wire/addr.js';
import { ICMP_ECHO, ICMP_ECHOREPLY, ICMP_PARAMETERPROB, ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, icmpSetChecksum } from '../wire/icmp.js';
import { IPPROTO_ICMP, IPPROTO_UDP } from '../wire/ipv4.js';
import { writeUdp } from '../wire/udp.js';
import { wallUs, type PingItem } from './ping-socket.js';

/** What traceroute asks of its sockets. */
export interface TraceOpen {
  /** The default method's UDP probes, or -I's ICMP echo requests. */
  proto: 'udp' | 'icmp';
  dst: number;
  /** SO_BINDTODEVICE (-i IFACE). */
  device?: string;
  /** bind() (-s ADDR). */
  source?: number;
}

/** ip_local_port_range's default: where connect() picks each UDP socket's port. */
const EPHEMERAL_LO = 32768, EPHEMERAL_N = 60999 - 32768 + 1;

export class TraceSocket {
  /** UDP: the source port of each probe's socket, by its destination port (a socket a port, as traceroute has them). */
  private readonly ports = new Map<number, number>();

  constructor(
    readonly proto: number,
    /** -I: the echo identifier (traceroute's getpid() & 0xffff: any unused one). */
    readonly ident: number,
    readonly dst: number,
    /** bind()'s address, 0 when unbound. */
    readonly bound: number,
    /** SO_BINDTODEVICE's ifindex, 0 when unbound. */
    readonly oif: number,
    readonly onItem: (item: PingItem) => void,
  ) {}

  /** The UDP socket for destination port `dport`: connect()'s ephemeral source port. */
  portFor(dport: number): number {
    let sport = this.ports.get(dport);
    if (sport === undefined) {
      const used = new Set(this.ports.values());
      do sport = EPHEMERAL_LO + Math.floor(Math.random() * EPHEMERAL_N);
      while (used.has(sport));
      this.ports.set(dport, sport);
    }
    return sport;
  }

  /**
   * The probe's transport header and data at l4: a UDP datagram to port
   * `key` (its checksum left to the caller, who knows the addresses) or an
   * echo request with sequence number `key`; `dataLen` bytes after the header.
   */
  writeProbe(buf: Uint8Array, l4: number, key: number, dataLen: number): void {
    if (this.proto === IPPROTO_UDP) {
      writeUdp(buf, l4, this.portFor(key), key, 8 + dataLen);
      for (let i = 0; i < dataLen; i++) buf[l4 + 8 + i] = 0x40 + (i & 0x3f);
      return;
    }
    buf[l4] = ICMP_ECHO;
    buf[l4 + 1] = 0;
    writeU16(buf, l4 + 2, 0);
    writeU16(buf, l4 + 4, this.ident);
    writeU16(buf, l4 + 6, key);
    // icmp_init fills from the end of the ICMP header, counting its 8 bytes.
    for (let i = 8; i < 8 + dataLen; i++) buf[l4 + i] = 0x40 + (i & 0x3f);
    icmpSetChecksum(buf, l4, 8 + dataLen);
  }

  /** An ICMP datagram delivered to the namespace (IP header at l3, `len` bytes): true if one of these sockets queued it. */
  take(buf: Uint8Array, l3: number, len: number): boolean {
    const ihl = (buf[l3]! & 15) << 2;
    if (buf[l3 + 9] !== IPPROTO_ICMP || len < ihl + 8) return false;
    const l4 = l3 + ihl, type = buf[l4]!;
    if (type === ICMP_ECHOREPLY) {
      // The raw socket is connected: only the destination's datagrams reach it.
      if (this.proto !== IPPROTO_ICMP || readU16(buf, l4 + 4) !== this.ident || readU32(buf, l3 + 12) !== this.dst) return false;
      this.onItem({ kind: 'reply', ts: wallUs(), data: buf.slice(l3, l3 + len) });
      return true;
    }
    // The errors a socket queues (recv_reply ignores source quench and redirects anyway).
    if ((type !== ICMP_DEST_UNREACH && type !== ICMP_TIME_EXCEEDED && type !== ICMP_PARAMETERPROB) || len < ihl + 8 + 20) return false;
    const q3 = l4 + 8, qihl = (buf[q3]! & 15) << 2, q4 = q3 + qihl;
    if (len < ihl + 8 + qihl + 8 || buf[q3 + 9] !== this.proto || readU32(buf, q3 + 16) !== this.dst) return false;
    let seq: number;
    if (this.proto === IPPROTO_UDP) {
      // __udp4_lib_err finds the socket by the quoted datagram's ports.
      seq = readU16(buf, q4 + 2);
      if (this.ports.get(seq) !== readU16(buf, q4)) return false;
    } else {
      if (buf[q4] !== ICMP_ECHO || readU16(buf, q4 + 4) !== this.ident) return false;
      seq = readU16(buf, q4 + 6);
    }
    const info = type === ICMP_PARAMETERPROB ? buf[l4 + 4]! : type === ICMP_DEST_UNREACH ? readU16(buf, l4 + 6) : 0;
    this.onItem({ kind: 'error', ts: wallUs(), from: readU32(buf, l3 + 12), type, code: buf[l4 + 1]!, info, seq, ttl: buf[l3 + 8]! });
    return true;
  }
}
