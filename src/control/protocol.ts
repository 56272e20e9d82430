// The control protocol: HTTP/1.1 over a Unix socket (or, when asked, TCP with
// a bearer token), JSON in and out. Reads and writes live under different
// paths so a proxy or an audit log can tell them apart, and the server
// refuses a write command sent as a read. docs/control.md documents it.

/** Where `dpemu run` listens and the CLI connects unless told otherwise. */
export const DEFAULT_SOCKET = '/run/dpemu/control.sock';
export const PROTOCOL_VERSION = 1;

/** POST /v1/read/COMMAND and /v1/write/COMMAND take this body. */
export interface CommandRequest {
  /** The command's own words as the real tool takes them (after `dpemu CMD`). */
  argv: string[];
}

/** Every command answers this; `exit` is the real tool's exit status. */
export interface CommandResponse {
  ok: boolean;
  /** What the real tool prints on stdout. */
  stdout: string;
  /** What it prints on stderr (error messages, conntrack's summary). */
  stderr: string;
  exit: number;
}

/** POST /v1/capture body; the answer is NDJSON CaptureEvent lines. */
export interface CaptureRequest {
  /** NODE:[NS:]IFACE, NODE:NS:any, or NODE:NS: (the device tcpdump picks without -i). */
  iface: string;
  /** pcap-filter expression ('' = everything). */
  filter?: string;
  /** Stop after this many frames (tcpdump -c). */
  count?: number;
  snaplen?: number;
}

/**
 * POST /v1/capture body for `conntrack -E`: the conntrack command's words
 * (NODE -n NS -E [filters]); the answer streams its lines as CaptureEvents
 * ('listening', then 'line' each, 'end' when the daemon stops it).
 */
export interface ConntrackEventsRequest {
  conntrack: string[];
}

/**
 * POST /v1/capture body for `ip monitor`: the ip command's words
 * ([-t|-ts] [-n NS] NODE monitor [OBJECT...]); the answer streams as
 * conntrack -E's ('listening', then a 'line' each record, without its last
 * newline).
 */
export interface IpMonitorRequest {
  ipMonitor: string[];
}

/** POST /v1/capture body for `bridge monitor`: the bridge command's words ([-s] [-t] [-n NS] NODE monitor [OBJECT...]); streamed as ip monitor's. */
export interface BridgeMonitorRequest {
  bridgeMonitor: string[];
}

/**
 * POST /v1/ping: a duplex NDJSON exchange with ping's socket in a
 * namespace. The request body's first line is {"open": PingOpenRequest},
 * each later one {"send": {"seq": N}} (an echo request of `size` bytes of
 * data); the answer streams 'ping' (the socket is open), then 'reply',
 * 'icmperr' and 'senderr' events, and 'end' if the daemon closes it.
 * With `trace`, traceroute's sockets: each send {"seq": N, "ttl": T} a
 * probe (N: its UDP port or echo sequence; with `port`, any number naming
 * the probe; with "size": S, S bytes of data, no more than the open's),
 * answered 'sent' as it leaves.
 */
export interface PingOpenRequest {
  node: string;
  /** The namespace; a node that is one namespace (an emulated host) needs none. */
  ns?: string;
  /** Dotted quad; or an IPv6 address (ping -6, or a target with colons), without its scope. */
  dst: string;
  /** An IPv6 target's scope (after its %): a device's name or index. */
  scope?: string;
  /** Bytes of data in each echo request (-s). */
  size: number;
  /** -t */
  ttl?: number;
  /** -I IFACE */
  device?: string;
  /** -I ADDR, dotted quad. */
  source?: string;
  /** traceroute's probes instead of ping's: UDP (its default method, or -U's), ICMP echo (-I) or TCP SYNs (-T). */
  trace?: 'udp' | 'icmp' | 'tcp';
  /** traceroute -U's and -T's destination port; without it UDP probes go to the port each send names. */
  port?: number;
  /** -Q: the IP header's TOS byte. */
  tos?: number;
  /** -p: the bytes (1 to 16) that fill the data, over and over; without it the data counts up. */
  pattern?: number[];
  /** -M: IP_MTU_DISCOVER, 0 dont, 1 want, 2 do; without it the namespace's default (ip_no_pmtu_disc). With `trace`: 3 (probe, traceroute -F), else dont. */
  pmtudisc?: number;
  /** -B: bind to the source the connect() probe found. */
  strict?: boolean;
  /** -m: SO_MARK (0 to 4294967295). */
  mark?: number;
  /** -e: the echo identifier (0 to 65535); without it a random one. */
  ident?: number;
  /** SO_SNDBUF as the kernel keeps it (sk_sndbuf: ping's value doubled, within net.core.wmem_max and SOCK_MIN_SNDBUF). */
  sndbuf?: number;
  /** IP_OPTIONS: -R's record route, or -T's timestamp kind. */
  options?: 'rr' | 'tsonly' | 'tsandaddr' | 'tsprespec';
  /**
   * arping's packet socket instead (`source`: -s as typed; `device`: -I,
   * else routing's): what it sends, -D, -U or -A (its `size` is ignored).
   * Each send {"seq": N, "to": MAC} an ARP message to MAC (the broadcast
   * address without it), answered 'sent' as it leaves; every ARP frame
   * the device receives comes as a 'reply' (the Ethernet frame).
   */
  arp?: { dad?: boolean; unsolicited?: boolean; advert?: boolean };
}

/** Marks an arping refusal (an error answer's message) that arping prints on stdout (check_ifflags' messages, which -q silences). */
export const ARPING_STDOUT = 'stdout: ';

/** What a capture listens on, as tcpdump's banner names it. */
export interface CaptureSource {
  /** NODE:[NS:]IFACE as resolved (the default device named), or NODE:NS:any. */
  iface: string;
  /** LINKTYPE_ETHERNET (1), or LINKTYPE_LINUX_SLL2 (276) on `any`. */
  linktype: number;
  /** On `any`: the namespace's interfaces as [ifindex, name], for the name tcpdump prints on each line (if_indextoname). */
  ifnames?: [number, string][];
}

export type CaptureEvent =
  /**
   * ping's socket is open: its source address (what routing chose, or the bound one; IPv6 link-local: `::`, unconnected)
   * and echo identifier; `nobufs`: each request fails with ENOBUFS (pingNoBufs); `scope`: the device an IPv6 open's scope named.
   */
  | { type: 'ping'; source: string; ident: number; nobufs?: boolean; device?: string; mac?: string; scope?: string }
  /** An echo reply for the socket: the IP datagram (base64; IPv6: its header and the ICMPv6 message) and when it arrived (µs since the epoch), IPv6's: `dev`, its device; a traceroute socket's TCP or UDP answer: `seq`, the probe's. */
  | { type: 'reply'; ts: number; data: string; seq?: number; dev?: string }
  /** An ICMP error about echo request (or traceroute probe) `seq` (the error queue): its sender, type, code and info; traceroute's: its TTL. */
  | { type: 'icmperr'; ts: number; from: string; icmpType: number; code: number; info: number; seq: number; ttl?: number }
  /** Sending echo request `seq` failed (strerror); `call`: connect, a traceroute UDP probe's; `mtu`: EMSGSIZE with an error queue entry (ip_local_error) naming the path MTU. */
  | { type: 'senderr'; seq: number; message: string; call?: 'connect'; mtu?: number }
  /** traceroute's probe `seq` left at `ts` (µs since the epoch). */
  | { type: 'sent'; seq: number; ts: number }
  | ({ type: 'start'; snaplen: number } & CaptureSource)
  /** conntrack -E is listening; `table`: conntrack or expect. */
  | { type: 'listening'; table: string }
  /** One conntrack -E line. */
  | { type: 'line'; text: string }
  /** ts: microseconds since the epoch; data: base64 of the captured bytes; len: the frame's length on the wire. */
  | { type: 'frame'; ts: number; len: number; dir: 'in' | 'out'; data: string }
  | { type: 'end'; captured: number; dropped: number }
  | { type: 'error'; message: string };

/** A refusal with a message the CLI prints as the tool would, and its exit status. */
export class ControlError extends Error {
  constructor(
    message: string,
    readonly exit = 1,
    /** HTTP status (400 bad input, 404 unknown command, 403 wrong verb). */
    readonly status = 400,
  ) {
    super(message);
    this.name = 'ControlError';
  }

  /** What the tool prints on stderr: the message and a newline, unless the message ends in its own (one may end in two, as ip's invarg). */
  get stderr(): string {
    return this.message.endsWith('\n') ? this.message : `${this.message}\n`;
  }
}

export const ok = (stdout: string, stderr = ''): CommandResponse => ({ ok: true, stdout, stderr, exit: 0 });
