// iputils ping's socket inside an emulated namespace: a raw ICMP socket
// (what ping opens as root on Debian, where ping_group_range allows no
// datagram ping sockets) with ping's ICMP filter, its BPF filter on the echo
// identifier, and IP_RECVERR. What the namespace hands it (inet-sockets.ts
// pingRcv) becomes what ping reads: echo replies with its identifier as the
// datagram, ICMP errors about its own echo requests as the error queue's
// entries. The packets themselves are built here (ping4_send_probe: the
// timeval the kernel's sendto time stands for, then bytes counting up) and
// sent by the namespace as any local packet (route, OUTPUT, POSTROUTING,
// neighbour output).
import { readU16, readU32, writeU16, writeU32 } from '../wire/addr.js';
import { ICMP_DEST_UNREACH, ICMP_ECHO, ICMP_ECHOREPLY, ICMP_PARAMETERPROB, ICMP_TIME_EXCEEDED, icmpSetChecksum } from '../wire/icmp.js';
import { IPPROTO_ICMP } from '../wire/ipv4.js';
import { IpOptions, IPOPT_NOOP, IPOPT_RR, IPOPT_TIMESTAMP, IPOPT_TS_PRESPEC, IPOPT_TS_TSANDADDR, IPOPT_TS_TSONLY } from './ip-options.js';

/** ping's IP_OPTIONS: -R, or -T's kind (tsprespec without gateways: an empty list). */
export type PingIpOptions = 'rr' | 'tsonly' | 'tsandaddr' | 'tsprespec';

/**
 * The options iputils sets with IP_OPTIONS (ping4_run), as ip_options_get
 * keeps them after ip_options_compile without a packet: the pointer past
 * the sender's own slot, which ip_options_build fills as each one leaves.
 */
export function socketOptions(kind: PingIpOptions, o: IpOptions): Uint8Array {
  o.clear();
  let b: Uint8Array;
  if (kind === 'rr') {
    b = new Uint8Array(40);
    b.set([IPOPT_NOOP, IPOPT_RR, 39, 8]);
    o.rr = 21;
    o.rrNeedAddr = true;
  } else if (kind === 'tsonly') {
    b = new Uint8Array(40);
    b.set([IPOPT_TIMESTAMP, 40, 9, IPOPT_TS_TSONLY]);
    o.tsNeedTime = true;
  } else if (kind === 'tsandaddr') {
    b = new Uint8Array(36);
    b.set([IPOPT_TIMESTAMP, 36, 13, IPOPT_TS_TSANDADDR]);
    o.tsNeedAddr = o.tsNeedTime = true;
  } else b = Uint8Array.of(IPOPT_TIMESTAMP, 4, 5, IPOPT_TS_PRESPEC);
  if (kind !== 'rr') o.ts = 20;
  return b;
}

/** What ping asks of its socket: the destination and the options that reach the kernel. */
export interface PingOpen {
  dst: number;
  /** IP_TTL (-t); default the namespace's ip_default_ttl (64). */
  ttl?: number;
  /** SO_BINDTODEVICE (-I IFACE). */
  device?: string;
  /** bind() (-I ADDR). */
  source?: number;
  /** IP_TOS (-Q): the TOS byte of each request. */
  tos?: number;
  /** -p: what fills the data, over and over (empty: zeros); without it bytes count up. */
  pattern?: Uint8Array;
  /** IP_MTU_DISCOVER (-M): IP_PMTUDISC_DONT 0, WANT 1, DO 2; default as inet_create sets it from ip_no_pmtu_disc. */
  pmtudisc?: number;
  /** -B: bind() to the source the connect() probe found. */
  strict?: boolean;
  /** -e: the echo identifier; without it a random one. */
  ident?: number;
  /** SO_MARK (-m): routing and netfilter see it on the connect() probe and each request. */
  mark?: number;
  /** IP_OPTIONS (-R, -T). */
  options?: PingIpOptions;
}

export const IP_PMTUDISC_DONT = 0;
export const IP_PMTUDISC_WANT = 1;
export const IP_PMTUDISC_DO = 2;
/** traceroute -F's: DF, the device's MTU rather than the path's. */
export const IP_PMTUDISC_PROBE = 3;

/** What ping reads from its socket: a datagram (an echo reply) or an error queue entry. */
export type PingItem =
  /** `data`: the IP datagram (header and ICMP message; traceroute's: or the TCP or UDP answer to probe `seq`); `ts`: when it arrived (µs since the epoch); `dev`: an IPv6 reply's device (its sin6_scope_id). */
  | { kind: 'reply'; ts: number; data: Uint8Array; seq?: number; dev?: string }
  /** sock_extended_err of an ICMP error about echo request `seq`: its sender, type, code and info (traceroute's: and its IP_TTL); an ICMPv6 one's sender as ping prints it in `from6`. */
  | { kind: 'error'; ts: number; from: number; type: number; code: number; info: number; seq: number; ttl?: number; from6?: string }
  /** traceroute's probe `seq` left the socket at `ts`. */
  | { kind: 'sent'; seq: number; ts: number }
  /** sendto() failed: strerror of its errno (`call`: connect, when traceroute's connect() of a probe's UDP socket failed). */
  | { kind: 'senderr'; seq: number; message: string; call?: 'connect'; mtu?: number };

/** What ping prints when it cannot open or connect its socket: `ping: MESSAGE`, exit 2. */
export class PingError extends Error {}

/** Wall-clock microseconds since the epoch (a thread's timeOrigin plus its monotonic time). */
export const wallUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

/** Bytes of a struct timeval on x86-64 (ping times a packet only when its data holds one). */
export const TIMEVAL_LEN = 16;

export class PingSocket {
  /** IP_OPTIONS' bytes (each request's header carries them), and what ip_options_build writes in them. */
  readonly ipOpts: Uint8Array | null;
  readonly ipOptsDone = new IpOptions();

  constructor(
    readonly ident: number,
    readonly dst: number,
    /** bind()'s address, 0 when unbound (each packet gets the route's source). */
    readonly bound: number,
    readonly ttl: number,
    /** SO_BINDTODEVICE's ifindex, 0 when unbound. */
    readonly oif: number,
    readonly onItem: (item: PingItem) => void,
    readonly tos = 0,
    readonly pattern: Uint8Array | null = null,
    readonly pmtudisc = IP_PMTUDISC_WANT,
    readonly mark = 0,
    options?: PingIpOptions,
  ) {
    this.ipOpts = options === undefined ? null : socketOptions(options, this.ipOptsDone);
  }

  /** The ICMP message of an echo request at l4 (`dataLen` bytes of data: writeEchoBody's). */
  writeEcho(buf: Uint8Array, l4: number, seq: number, dataLen: number): void {
    buf[l4] = ICMP_ECHO;
    buf[l4 + 1] = 0;
    writeEchoBody(buf, l4, this.ident, seq, dataLen, this.pattern);
    writeU16(buf, l4 + 2, 0);
    icmpSetChecksum(buf, l4, 8 + dataLen);
  }

  /**
   * An ICMP datagram delivered to the namespace (IP header at l3, `len`
   * bytes there): true if it is this socket's. `whole` gives the datagram's
   * bytes (a reassembled one is spread over fragments); `fragInfo`, unless
   * -1, the MTU icmp_unreach hands on for a fragmentation needed.
   */
  take(buf: Uint8Array, l3: number, len: number, whole: () => Uint8Array, fragInfo = -1): boolean {
    const ihl = (buf[l3]! & 15) << 2;
    if (buf[l3 + 9] !== IPPROTO_ICMP || len < ihl + 8) return false;
    const l4 = l3 + ihl, type = buf[l4]!;
    if (type === ICMP_ECHOREPLY) {
      if (readU16(buf, l4 + 4) !== this.ident) return false; // ping's BPF filter
      this.onItem({ kind: 'reply', ts: wallUs(), data: whole() });
      return true;
    }
    if (type !== ICMP_DEST_UNREACH && type !== ICMP_TIME_EXCEEDED && type !== ICMP_PARAMETERPROB) return false;
    // An error about our echo request to our destination (ping4_receive_error_msg's checks).
    const q3 = l4 + 8;
    if (len < ihl + 8 + 20) return false;
    const qihl = (buf[q3]! & 15) << 2;
    const q4 = q3 + qihl;
    if (len < ihl + 8 + qihl + 8 || buf[q3 + 9] !== IPPROTO_ICMP || buf[q4] !== ICMP_ECHO) return false;
    if (readU32(buf, q3 + 16) !== this.dst || readU16(buf, q4 + 4) !== this.ident) return false;
    const info = type === ICMP_PARAMETERPROB ? buf[l4 + 4]! : fragInfo >= 0 ? fragInfo : type === ICMP_DEST_UNREACH ? readU16(buf, l4 + 6) : 0;
    this.onItem({ kind: 'error', ts: wallUs(), from: readU32(buf, l3 + 12), type, code: buf[l4 + 1]!, info, seq: readU16(buf, q4 + 6) });
    return true;
  }
}

/**
 * An echo request's identifier, sequence number and data (ICMP's and
 * ICMPv6's alike): the data counts up from 0 (setup()), or repeats -p's
 * bytes (fill()), and its first 16 bytes hold the time of sending when
 * they fit (ping4_send_probe, build_echo).
 */
export function writeEchoBody(buf: Uint8Array, l4: number, ident: number, seq: number, dataLen: number, pat: Uint8Array | null): void {
  writeU16(buf, l4 + 4, ident);
  writeU16(buf, l4 + 6, seq & 0xffff);
  const d = l4 + 8;
  if (pat === null) for (let i = 0; i < dataLen; i++) buf[d + i] = i & 0xff;
  else if (pat.length === 0) buf.fill(0, d, d + dataLen);
  else for (let i = 0; i < dataLen; i++) buf[d + i] = pat[i % pat.length]!;
  if (dataLen >= TIMEVAL_LEN) {
    const us = wallUs();
    const sec = Math.floor(us / 1e6);
    writeU32LE(buf, d, sec >>> 0);
    writeU32LE(buf, d + 4, Math.floor(sec / 0x1_0000_0000));
    writeU32LE(buf, d + 8, us % 1e6);
    writeU32LE(buf, d + 12, 0);
  }
}

/** kmalloc's size classes up to KMALLOC_MAX_CACHE_SIZE; above it whole pages, a power of two of them. */
const KMALLOC_SIZES = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];

function kmallocSize(n: number): number {
  const s = KMALLOC_SIZES.find((k) => k >= n);
  if (s !== undefined) return s;
  let p = 8192;
  while (p < n) p *= 2;
  return p;
}

/**
 * __ip_append_data's ENOBUFS for a raw socket's datagram of `totLen` bytes
 * cut to a path MTU of `mtu`, the socket's sk_sndbuf `sndbuf`: it allocates
 * each fragment only while sk_wmem_alloc (1 with nothing in flight) and the
 * truesize of the fragments before it stay within twice sk_sndbuf. A full
 * fragment's truesize: its head (the MTU, its data rounded down to 8,
 * LL_RESERVED_SPACE's 16 and 15 more, cache-aligned, and skb_shared_info's
 * 320) as kmalloc rounds it, and struct sk_buff's 256 (x86-64).
 */
export function fragmentsNoBufs(totLen: number, mtu: number, sndbuf: number): boolean {
  if (totLen <= mtu) return false;
  const maxfraglen = ((mtu - 20) & ~7) + 20;
  const frags = Math.ceil((totLen - 20) / (maxfraglen - 20));
  const truesize = kmallocSize(((maxfraglen + 16 + 15 + 63) & ~63) + 320) + 256;
  return 1 + (frags - 1) * truesize > 2 * sndbuf;
}

function writeU32LE(buf: Uint8Array, o: number, v: number): void {
  writeU32(buf, o, ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24));
}
