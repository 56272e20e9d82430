// traceroute's sockets inside an emulated namespace (Debian's traceroute
// 2.1, Dmitry Butskoy's): its default method opens one UDP socket a probe,
// connected to the destination's next port (33434 up) with IP_RECVERR; -U
// the same to one port (53 by default); -I one raw ICMP socket connected to
// the destination; -T (mod-tcp.c) one raw TCP socket connected to the
// destination, each SYN from the port of a TCP socket bound for it. One
// TraceSocket stands for any of them: it builds each probe (the data
// traceroute fills in: bytes 0x40 + (i & 0x3f); -T's header and options),
// and takes from what the namespace delivers (inet-sockets.ts traceRcv) what
// the kernel would queue on those sockets: the ICMP errors quoting a probe
// (the error queue), -I's echo replies, -T's segments from the destination
// port, and a UDP probe socket's answer from the port it is connected to.
import { readU16, readU32, writeU16, writeU32 } from '../wire/addr.js';
import { ICMP_ECHO, ICMP_ECHOREPLY, ICMP_PARAMETERPROB, ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, icmpSetChecksum } from '../wire/icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { TCP_SYN, TCPOPT_MSS, TCPOPT_NOP, TCPOPT_SACK_PERM, TCPOPT_TIMESTAMP, TCPOPT_WSCALE, writeTcp } from '../wire/tcp.js';
import { writeUdp } from '../wire/udp.js';
import { wallUs, type PingItem } from './ping-socket.js';

/** What traceroute asks of its sockets. */
export interface TraceOpen {
  /** The UDP probes (the default method, or -U's), -I's ICMP echo requests, or -T's TCP SYNs. */
  proto: 'udp' | 'icmp' | 'tcp';
  dst: number;
  /** -U's and -T's destination port; 0 (the default method): each probe's key is its port. */
  port?: number;
  /** SO_BINDTODEVICE (-i IFACE). */
  device?: string;
  /** bind() (-s ADDR). */
  source?: number;
  /** -F (and --mtu): IP_PMTUDISC_PROBE, DF on every probe; else IP_PMTUDISC_DONT. */
  dontfrag?: boolean;
}

/** ip_local_port_range's default: where connect() or bind() picks each socket's port. */
const EPHEMERAL_LO = 32768, EPHEMERAL_N = 60999 - 32768 + 1;

/**
 * -T's SYN after the 20-byte header (tcp_init with the sysctls a namespace
 * starts with: tcp_ecn 2, which check_sysctl reads as off, and tcp_sack,
 * tcp_timestamps, tcp_window_scaling 1): MSS, SACK permitted, timestamps,
 * NOP, window scale 2.
 */
export const TCP_PROBE_HLEN = 40;

const randomU32 = (): number => Math.floor(Math.random() * 0x1_0000_0000);

export class TraceSocket {
  /** The source port of each probe's socket, by its key (the default method's: its destination port). */
  private readonly ports = new Map<number, number>();
  /** -U's and -T's probes by their source port (all go to one port). */
  private readonly keys = new Map<number, number>();
  /** -T: the timestamp option's value, one for the run (tcp_init's random_seq). */
  private readonly tsVal = randomU32();

  constructor(
    readonly proto: number,
    /** -I: the echo identifier (traceroute's getpid() & 0xffff: any unused one). */
    readonly ident: number,
    readonly dst: number,
    /** -U's and -T's destination port; 0: the default method (the key is the port). */
    readonly port: number,
    /** bind()'s address, 0 when unbound. */
    readonly bound: number,
    /** SO_BINDTODEVICE's ifindex, 0 when unbound. */
    readonly oif: number,
    /** -T: the MTU its connect() found (IP_MTU, at least 576): the MSS and window it offers. */
    readonly mtu: number,
    readonly onItem: (item: PingItem) => void,
    /** IP_PMTUDISC_PROBE (-F): DF on each probe, no longer than the device's MTU. */
    readonly dontfrag = false,
  ) {}

  /** The probe's destination port. */
  dportFor(key: number): number {
    return this.port || key;
  }

  /**
   * The source port of probe `key`'s socket: a UDP socket's connect() picks
   * any free one; -T's bind() of its port-holding socket an odd one
   * (inet_csk_find_open_port leaves the even ones to connect()).
   */
  portFor(key: number): number {
    let sport = this.ports.get(key);
    if (sport === undefined) {
      const tcp = this.proto === IPPROTO_TCP;
      do sport = EPHEMERAL_LO + Math.floor(Math.random() * EPHEMERAL_N);
      while ((tcp && !(sport & 1)) || this.keys.has(sport) || (!this.port && [...this.ports.values()].includes(sport)));
      this.ports.set(key, sport);
      if (this.port) this.keys.set(sport, key);
    }
    return sport;
  }

  /** -T: the MSS its SYN offers, the route's MTU less the IP and TCP headers. */
  protected mss(): number {
    return this.mtu - 40;
  }

  /** Bytes after the IP header for `dataLen` bytes of data. */
  headerLen(): number {
    return this.proto === IPPROTO_TCP ? TCP_PROBE_HLEN : 8;
  }

  /**
   * The probe's transport header and data at l4: a UDP datagram (its
   * checksum left to the caller, who knows the addresses), an echo request
   * with sequence number `key`, or -T's SYN (checksum left to the caller
   * too); `dataLen` bytes after the UDP or ICMP header.
   */
  writeProbe(buf: Uint8Array, l4: number, key: number, dataLen: number): void {
    if (this.proto === IPPROTO_UDP) {
      writeUdp(buf, l4, this.portFor(key), this.dportFor(key), 8 + dataLen);
      for (let i = 0; i < dataLen; i++) buf[l4 + 8 + i] = 0x40 + (i & 0x3f);
      return;
    }
    if (this.proto === IPPROTO_TCP) {
      // tcp_init's header: window 4 * MSS, the MSS the route's MTU leaves; a random sequence number each probe.
      const mss = this.mss();
      writeTcp(buf, l4, this.portFor(key), this.port, randomU32(), 0, TCP_SYN, (4 * mss) & 0xffff, TCP_PROBE_HLEN);
      let o = l4 + 20;
      buf[o++] = TCPOPT_MSS;
      buf[o++] = 4;
      writeU16(buf, o, mss);
      o += 2;
      buf[o++] = TCPOPT_SACK_PERM;
      buf[o++] = 2;
      buf[o++] = TCPOPT_TIMESTAMP;
      buf[o++] = 10;
      writeU32(buf, o, this.tsVal);
      writeU32(buf, o + 4, 0);
      o += 8;
      buf[o++] = TCPOPT_NOP;
      buf[o++] = TCPOPT_WSCALE;
      buf[o++] = 3;
      buf[o] = 2;
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

  /** The probe a datagram from our port `sport` to the destination's `dport` was (or undefined). */
  protected keyOf(sport: number, dport: number): number | undefined {
    if (this.port) return dport === this.port ? this.keys.get(sport) : undefined;
    return this.ports.get(dport) === sport ? dport : undefined;
  }

  /**
   * A datagram delivered to the namespace (IP header at l3, `len` bytes):
   * true if one of these sockets matched it (and so, for UDP, no port
   * unreachable is sent). `fragInfo`: a fragmentation needed's MTU as
   * icmp_unreach hands it on (see namespace.ts), -1 for other datagrams;
   * a UDP probe's socket under IP_PMTUDISC_DONT matches it but queues
   * nothing (__udp4_lib_err).
   */
  take(buf: Uint8Array, l3: number, len: number, fragInfo = -1): boolean {
    const ihl = (buf[l3]! & 15) << 2, proto = buf[l3 + 9]!, l4 = l3 + ihl;
    if (len < ihl + 8) return false;
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
      // -T's raw socket, connected: the destination's segments, tcp_check_reply's from its port. A UDP
      // probe's socket: a datagram from the port it is connected to.
      if (proto !== this.proto || readU32(buf, l3 + 12) !== this.dst) return false;
      const key = this.keyOf(readU16(buf, l4 + 2), readU16(buf, l4));
      if (key === undefined) return false;
      this.onItem({ kind: 'reply', ts: wallUs(), data: buf.slice(l3, l3 + len), seq: key });
      return true;
    }
    if (proto !== IPPROTO_ICMP) return false;
    const type = buf[l4]!;
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
    let seq: number | undefined;
    if (this.proto === IPPROTO_ICMP) {
      if (buf[q4] !== ICMP_ECHO || readU16(buf, q4 + 4) !== this.ident) return false;
      seq = readU16(buf, q4 + 6);
    } else {
      // __udp4_lib_err finds the probe's socket by the quoted ports; -T's raw socket gets every error and
      // tcp_check_reply picks the probe by its source port.
      seq = this.keyOf(readU16(buf, q4), readU16(buf, q4 + 2));
      if (seq === undefined) return false;
    }
    if (fragInfo >= 0 && this.proto === IPPROTO_UDP && !this.dontfrag) return true;
    const info = type === ICMP_PARAMETERPROB ? buf[l4 + 4]! : fragInfo >= 0 ? fragInfo : type === ICMP_DEST_UNREACH ? readU16(buf, l4 + 6) : 0;
    this.onItem({ kind: 'error', ts: wallUs(), from: readU32(buf, l3 + 12), type, code: buf[l4 + 1]!, info, seq, ttl: buf[l3 + 8]! });
    return true;
  }
}
