// ping's socket in a namespace of this thread's emulator (dpemu ping): opened
// with the words' node and namespace, its datagrams and errors queued for the
// reader as a capture's frames are (DeferredBatches: bounded, delivered off
// the packet path), its echo requests sent on demand. The in-process backend
// and a datapath worker both run it (backend.ts, src/workers/worker-control.ts).
import type { NetNamespace } from '../netns/namespace.js';
import { IP_PMTUDISC_PROBE, PingError, type PingItem, type PingSocket } from '../netns/ping-socket.js';
import type { TraceSocket } from '../netns/trace-socket.js';
import type { Trace6Socket } from '../netns/trace6-socket.js';
import { ip6ToString } from '../wire/tcpdump-text.js';
import { ArpingError, type ArpingSocket } from '../netns/arping-socket.js';
import { MAC_BROADCAST, parseMac } from '../netns/addr.js';
import { ipToString, macToString, parseIpv4, parseIpv6 } from '../wire/addr.js';
import type { Ping6Socket } from '../netns/ping6-socket.js';
import { inetAton } from './inet-aton.js';
import type { Scope } from './command.js';
import { DeferredBatches, type CaptureOptions } from './capture.js';
import { ARPING_STDOUT, ControlError, type CaptureEvent, type PingOpenRequest } from './protocol.js';
import { mustNamespace } from './resolve.js';

/** What the socket hands the reader: a CaptureEvent, with the datagram's bytes not yet in base64. */
export type PingEvent = Exclude<PingItem, { kind: 'reply' }> | { kind: 'reply'; ts: number; data: Uint8Array; seq?: number; dev?: string };

/** An open ping socket: where it sends from, and what it took for the reader. */
export interface PingSession {
  readonly source: string;
  readonly ident: number;
  /** Every echo request fails with ENOBUFS (the socket's SO_SNDBUF, InetSockets.pingNoBufs). */
  readonly nobufs?: boolean;
  /** ping -6's: the device the target's scope named. */
  readonly scope?: string;
  /** arping's: the device it is bound to, and its MAC. */
  readonly device?: string;
  readonly mac?: string;
  readonly captured: number;
  readonly dropped: number;
  /** Echo request `seq`; a traceroute socket's probe `seq` with TTL `ttl` (and `size` bytes of data, else the open's); arping's ARP message `seq` to MAC `to` (else broadcast). */
  send(seq: number, ttl?: number, size?: number, to?: string): void;
  stop(): void;
}

const IP_OPTIONS: readonly unknown[] = ['rr', 'tsonly', 'tsandaddr', 'tsprespec'];
const byte = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255;

function address(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const a = parseIpv4(text);
  if (a === null) throw new ControlError(`ping: ${what}: not an IPv4 address: ${text}`, 2);
  return a;
}

/** Open ping's socket as `r` asks, or throw ping's error (exit 2) or the namespace's. */
export function openPing(scope: Scope, r: PingOpenRequest, opts: Pick<CaptureOptions, 'congested' | 'maxQueue' | 'defer'>, deliver: (events: PingEvent[]) => void): PingSession {
  if (
    typeof r !== 'object' || r === null || typeof r.node !== 'string' || typeof r.dst !== 'string' || !Number.isInteger(r.size) || r.size < 0 ||
    (r.tos !== undefined && !byte(r.tos)) ||
    (r.pattern !== undefined && !(Array.isArray(r.pattern) && r.pattern.length <= 16 && r.pattern.every(byte))) ||
    (r.pmtudisc !== undefined && r.pmtudisc !== 0 && r.pmtudisc !== 1 && r.pmtudisc !== 2 && !(r.pmtudisc === IP_PMTUDISC_PROBE && r.trace !== undefined)) ||
    (r.strict !== undefined && typeof r.strict !== 'boolean') ||
    (r.sndbuf !== undefined && !(Number.isInteger(r.sndbuf) && r.sndbuf > 0)) ||
    (r.ident !== undefined && !(Number.isInteger(r.ident) && r.ident >= 0 && r.ident <= 0xffff)) ||
    (r.mark !== undefined && !(Number.isInteger(r.mark) && r.mark >= 0 && r.mark <= 0xffffffff)) ||
    (r.options !== undefined && !IP_OPTIONS.includes(r.options)) ||
    (r.scope !== undefined && typeof r.scope !== 'string')
  ) {
    throw new ControlError('control: ping wants {"open": {node, ns?, dst, scope?, size, ttl?, device?, source?, tos?, pattern?, pmtudisc?, strict?, sndbuf?, ident?, mark?, options?, trace?, port?}}');
  }
  const ns: NetNamespace = mustNamespace(scope, r.node, r.ns);
  if (r.dst.includes(':') && r.arp === undefined) {
    const out = new DeferredBatches<PingEvent>(opts, deliver);
    return r.trace === undefined ? openPing6(ns, r, out) : openTrace6(ns, r, out);
  }
  const dst = address(r.dst, 'destination')!;
  // arping's -s as typed: inet_aton reads it, after the device's checks.
  if (r.arp !== undefined) return openArping(ns, r, dst, new DeferredBatches<PingEvent>(opts, deliver));
  const source = address(r.source, 'source');
  const out = new DeferredBatches<PingEvent>(opts, deliver);
  if (r.trace !== undefined) return openTrace(ns, r, dst, source, out);
  let sock: PingSocket, from: number;
  try {
    ({ sock, source: from } = ns.inet.openPing(
      {
        dst,
        ...(r.ttl !== undefined ? { ttl: r.ttl } : {}),
        ...(r.device !== undefined ? { device: r.device } : {}),
        ...(source !== undefined ? { source } : {}),
        ...(r.tos !== undefined ? { tos: r.tos } : {}),
        ...(r.pattern !== undefined ? { pattern: Uint8Array.from(r.pattern) } : {}),
        ...(r.pmtudisc !== undefined ? { pmtudisc: r.pmtudisc } : {}),
        ...(r.strict ? { strict: true } : {}),
        ...(r.ident !== undefined ? { ident: r.ident } : {}),
        ...(r.mark ? { mark: r.mark } : {}),
        ...(r.options !== undefined ? { options: r.options } : {}),
      },
      (item) => {
        if (out.room()) out.push(item);
      },
    ));
  } catch (e) {
    if (e instanceof PingError) throw new ControlError(`ping: ${e.message}`, 2);
    throw e;
  }
  const head = { source: ipToString(from), ident: sock.ident, ...(r.sndbuf !== undefined && ns.inet.pingNoBufs(sock, r.size, r.sndbuf) ? { nobufs: true } : {}) };
  return session(out, head, (seq) => ns.inet.pingSend(sock, seq, r.size), () => ns.inet.closePing(sock));
}

/** A session over `out` (a socket's events): what the open answered, `send`, and `close` (the socket's) before `out` is emptied. */
function session(out: DeferredBatches<PingEvent>, head: Omit<PingSession, 'captured' | 'dropped' | 'send' | 'stop'>, send: PingSession['send'], close: () => void): PingSession {
  return {
    ...head,
    get captured() {
      return out.captured;
    },
    get dropped() {
      return out.dropped;
    },
    send,
    stop: () => {
      close();
      out.clear();
    },
  };
}

/** ping -6's socket (ping6-socket.ts); `scope` names the device a scope resolved to. Errors as getaddrinfo's and ping's (exit 2). */
function openPing6(ns: NetNamespace, r: PingOpenRequest, out: DeferredBatches<PingEvent>): PingSession {
  const dst = parseIpv6(r.dst);
  if (dst === null) throw new ControlError(`ping: ${r.dst}: Name or service not known`, 2);
  let sock: Ping6Socket, source: string, scopeName: string | undefined;
  try {
    ({ sock, source, scope: scopeName } = ns.inet6.openPing(
      {
        dst,
        ...(r.scope !== undefined ? { scope: r.scope } : {}),
        ...(r.device !== undefined ? { device: r.device } : {}),
        ...(r.ttl !== undefined ? { ttl: r.ttl } : {}),
        ...(r.tos !== undefined ? { tclass: r.tos } : {}),
        ...(r.pattern !== undefined ? { pattern: Uint8Array.from(r.pattern) } : {}),
        ...(r.ident !== undefined ? { ident: r.ident } : {}),
      },
      (item) => {
        if (out.room()) out.push(item);
      },
    ));
  } catch (e) {
    if (!(e instanceof PingError)) throw e;
    // getaddrinfo's failure names the target as typed.
    throw new ControlError(e.message === GAI_NONAME ? `ping: ${r.dst}%${r.scope}: ${GAI_NONAME}` : `ping: ${e.message}`, 2);
  }
  const head = { source, ident: sock.ident, ...(scopeName !== undefined ? { scope: scopeName } : {}) };
  return session(out, head, (seq) => ns.inet6.pingSend(sock, seq, r.size), () => ns.inet6.closePing(sock));
}

const GAI_NONAME = 'Name or service not known';

/** A trace socket's protocol and port from the request (the destination port: -T's 80, UDP's and ICMP's none unless given). */
function traceProbe(r: PingOpenRequest): { proto: 'udp' | 'icmp' | 'tcp'; port: number } {
  if (r.trace !== 'udp' && r.trace !== 'icmp' && r.trace !== 'tcp') throw new ControlError('control: ping: trace is udp, icmp or tcp');
  if (r.port !== undefined && !(Number.isInteger(r.port) && r.port >= 0 && r.port <= 0xffff)) throw new ControlError('control: ping: port is 0 to 65535');
  return { proto: r.trace, port: r.trace === 'tcp' ? (r.port ?? 80) : (r.port ?? 0) };
}

/** Open a trace socket of either family: its refusals are traceroute's errors (exit 1). */
function openTraceSocket<S>(open: () => S): S {
  try {
    return open();
  } catch (e) {
    if (e instanceof PingError) throw new ControlError(e.message, 1);
    throw e;
  }
}

/** A probe's send: sequence as the key, the hop limit asked (1 to 255, 64 by default), a length no longer than the request's. */
const traceSender = (r: PingOpenRequest, send: (key: number, hops: number, len: number) => void) => (seq: number, ttl?: number, size?: number): void =>
  send(seq & 0xffff, Math.min(255, Math.max(1, ttl ?? 64)), size !== undefined && Number.isInteger(size) && size >= 0 && size <= r.size ? size : r.size);

/** traceroute's sockets (trace-socket.ts), as a ping socket is handed out. */
function openTrace(ns: NetNamespace, r: PingOpenRequest, dst: number, source: number | undefined, out: DeferredBatches<PingEvent>): PingSession {
  const probe = traceProbe(r);
  const more = { ...(r.device !== undefined ? { device: r.device } : {}), ...(source !== undefined ? { source } : {}), ...(r.pmtudisc === IP_PMTUDISC_PROBE ? { dontfrag: true } : {}) };
  const sock: TraceSocket = openTraceSocket(() => ns.inet.openTrace({ ...probe, dst, ...more }, (item) => {
    if (out.room()) out.push(item);
  }));
  return session(out, { source: ipToString(sock.bound), ident: sock.ident }, traceSender(r, (key, hops, len) => ns.inet.traceSend(sock, key, hops, len)), () => ns.inet.closeTrace(sock));
}

/** traceroute -6's sockets (trace6-socket.ts), as a ping socket is handed out. */
function openTrace6(ns: NetNamespace, r: PingOpenRequest, out: DeferredBatches<PingEvent>): PingSession {
  const probe = traceProbe(r);
  if (r.pmtudisc !== undefined) throw new ControlError('control: ping: pmtudisc is IPv4 only with trace');
  const dst = parseIpv6(r.dst), source = r.source === undefined ? undefined : parseIpv6(r.source);
  if (dst === null || source === null) throw new ControlError(`control: ping: not an IPv6 address: ${dst === null ? r.dst : r.source}`, 2);
  const more = { ...(r.device !== undefined ? { device: r.device } : {}), ...(source !== undefined ? { source } : {}) };
  const sock: Trace6Socket = openTraceSocket(() => ns.inet6.openTrace({ ...probe, dst, ...more }, (item) => {
    if (out.room()) out.push(item);
  }));
  return session(out, { source: sock.bound6 ? ip6ToString(sock.bound6, 0) : '::', ident: sock.ident }, traceSender(r, (key, hops, len) => ns.inet6.traceSend(sock, key, hops, len)), () => ns.inet6.closeTrace(sock));
}

/** arping's packet socket (arping-socket.ts), as a ping socket is handed out; arping's own errors with its exit status (stdout's as such). */
function openArping(ns: NetNamespace, r: PingOpenRequest, dst: number, out: DeferredBatches<PingEvent>): PingSession {
  const a = r.arp!;
  if (typeof a !== 'object' || a === null || [a.dad, a.unsolicited, a.advert].some((f) => f !== undefined && typeof f !== 'boolean')) throw new ControlError('control: ping: arp is {dad?, unsolicited?, advert?}');
  if ([r.device, r.source].some((w) => w !== undefined && typeof w !== 'string')) throw new ControlError('control: ping: arp wants device and source as strings');
  let sock: ArpingSocket, source: number, device: string;
  try {
    ({ sock, source, device } = ns.inet.openArping(
      {
        dst,
        ...(r.device !== undefined ? { device: r.device } : {}),
        ...(r.source !== undefined ? { source: { addr: inetAton(r.source), text: r.source } } : {}),
        ...(a.dad ? { dad: true } : {}),
        ...(a.unsolicited || a.advert ? { unsolicited: true } : {}),
        ...(a.advert ? { advert: true } : {}),
      },
      (item) => {
        if (out.room()) out.push(item);
      },
    ));
  } catch (e) {
    if (e instanceof ArpingError) throw new ControlError(e.stdout ? `${ARPING_STDOUT}${e.message}` : e.message, e.exit);
    throw e;
  }
  const head = { source: ipToString(source), ident: 0, device, mac: macToString(Math.floor(sock.mac / 0x1_0000_0000), sock.mac >>> 0) };
  const send = (seq: number, _ttl?: number, _size?: number, to?: string): void => {
    const mac = to === undefined ? MAC_BROADCAST : parseMac(to);
    if (mac !== undefined) ns.inet.arpingSend(sock, seq, mac);
  };
  return session(out, head, send, () => ns.inet.closeArping(sock));
}

/** An arping socket's device and MAC, a ping -6 socket's scope, for the answer that says it is open. */
export const arpingHead = (s: PingSession): { device?: string; mac?: string; scope?: string } => ({
  ...(s.device !== undefined && s.mac !== undefined ? { device: s.device, mac: s.mac } : {}),
  ...(s.scope !== undefined ? { scope: s.scope } : {}),
});

/** A socket's event as the stream carries it. */
export function pingEventJson(e: PingEvent): CaptureEvent {
  switch (e.kind) {
    case 'reply':
      return { type: 'reply', ts: e.ts, data: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.length).toString('base64'), ...(e.seq !== undefined ? { seq: e.seq } : {}), ...(e.dev !== undefined ? { dev: e.dev } : {}) };
    case 'error':
      return { type: 'icmperr', ts: e.ts, from: e.from6 ?? ipToString(e.from), icmpType: e.type, code: e.code, info: e.info, seq: e.seq, ...(e.ttl !== undefined ? { ttl: e.ttl } : {}) };
    case 'sent':
      return { type: 'sent', seq: e.seq, ts: e.ts };
    default:
      return { type: 'senderr', seq: e.seq, message: e.message, ...(e.call !== undefined ? { call: e.call } : {}), ...(e.mtu !== undefined ? { mtu: e.mtu } : {}) };
  }
}
