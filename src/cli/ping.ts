// `dpemu ping NODE [-n NS] [OPTIONS] ADDR` (and `dpemu ip NODE netns exec
// NS ping ...`): iputils ping run against a socket inside an emulated
// namespace. This process is ping: its main loop (pinger, schedule_exit,
// the exit conditions, SIGINT and the deadline's SIGALRM) and its text are
// iputils 20221126's; the socket is the daemon's (POST /v1/ping), which
// sends each echo request from the namespace's own stack and hands back
// the replies and ICMP errors with the times the emulator saw them.
import { readFileSync } from 'node:fs';
import { ConnectError, endpointFromEnv, pingRemote, type Endpoint, type RemotePing } from '../control/client.js';
import type { CaptureEvent, CommandResponse, PingOpenRequest } from '../control/protocol.js';
import { checksum } from '../wire/checksum.js';
import { ipToString, readU16, readU32 } from '../wire/addr.js';
import { NetDb } from '../control/netdb.js';
import { TIMEVAL_LEN, wallUs } from '../netns/ping-socket.js';
import { ip6IsLinkLocal } from '../wire/ipv6.js';
import { IPV6_HLEN, IPV6_SRC } from '../wire/ipv6.js';
import { ip6ToString } from '../wire/tcpdump-text.js';
import { takeSocket } from './control-socket.js';
import { PingOptionsPrinter, prAddr } from './ping-options.js';
import { needsScope, parsePingArgs, payload, PingExit, pingRun, sortAnswers, type PingAddr, type PingArgs, type PingLine } from './ping-args.js';
import { PingStats } from './ping-stats.js';
import { PING_USAGE } from './usage-lines.js';

/** MIN_INTERVAL_MS: the shortest wait of a flood without replies. */
const MININTERVAL = 10;
/** SOCK_MIN_SNDBUF: the least sk_sndbuf SO_SNDBUF leaves (2 * TCP_SKB_MIN_TRUESIZE on x86-64). */
const SOCK_MIN_SNDBUF = 4608;
/** SCHINT: at least MININTERVAL. */
const schint = (ms: number): number => Math.max(MININTERVAL, ms);
/** MINUSERINTERVAL: the shortest interval ping lets a user who is not root have. */
const MINUSERINTERVAL = 2;
const INT_MAX = 2147483647;
/** µs the wait after the last packet adds for replies still on their way to this process (a worker polls every 20 ms). */
const DELIVERY_SLACK = 250_000;
/** The most data an echo request carries: 65535 less the IP and ICMP headers. */
const MAX_DATA = 65507;
/** What the daemon's socket refuses for its own limits (its packet pool's slots), said whatever the error queue holds. */
const POOL_LIMITS = new Set(['Message too long', 'No buffer space available']);

const monoNs = (): number => Number(process.hrtime.bigint());
/** The connect() probe's failures after which ping tries getaddrinfo's next answer (EHOSTUNREACH, ENETUNREACH). */
const NO_ROUTE = /^ping: connect: (No route to host|Network is unreachable)\n?$/;

/** The timeval ping wrote into its data (little-endian tv_sec, tv_usec), in µs. */
function sentUs(data: Uint8Array, at: number): number {
  const v = new DataView(data.buffer, data.byteOffset + at, TIMEVAL_LEN);
  return (v.getUint32(0, true) + v.getUint32(4, true) * 0x1_0000_0000) * 1e6 + v.getUint32(8, true);
}

/** contains_pattern_in_payload: the data after the timeval is what ping sent. */
function ourPattern(data: Uint8Array, at: number, sent: Uint8Array): boolean {
  for (let i = TIMEVAL_LEN; i < sent.length; i++) if (at + i >= data.length || data[at + i] !== sent[i]) return false;
  return true;
}

/** print_timestamp (-D): the wall-clock time, `[sec.usec] `. */
function stamp(): string {
  const us = wallUs();
  return `[${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}] `;
}

/** ping4_run's (ping6_run's: `iph` 40) estimate of the memory one request of `size` bytes of data takes (an int). */
function packetAlloc(size: number, iph = 20): number {
  const alloc = size + 8;
  return alloc + Math.trunc((alloc + 511) / 512) * (iph + 16 + 64 + 160);
}

/** net.core.rmem_max or wmem_max: the host's, not a namespace's (the kernel's default off Linux). */
function coreMax(name: 'rmem_max' | 'wmem_max'): number {
  try {
    return Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8')) || 212992;
  } catch {
    return 212992;
  }
}

/**
 * sock_setbufs: whether SO_RCVBUF got what `preload` requests of `size`
 * need (ping's estimate, an int). The kernel doubles what it takes, capped
 * at net.core.rmem_max.
 */
function rcvbufHolds(size: number, preload: number, iph: number): boolean {
  const want = Math.imul(packetAlloc(size, iph), preload);
  return 2 * Math.min(Math.max(want, 65536), coreMax('rmem_max')) >= want;
}

/** sock_setbufs' SO_SNDBUF (-S, else the estimate) as the kernel keeps it: within wmem_max, doubled, at least SOCK_MIN_SNDBUF. */
function kernelSndbuf(a: PingArgs): number {
  return Math.max(2 * Math.min(a.sndbuf ?? packetAlloc(a.size), coreMax('wmem_max')), SOCK_MIN_SNDBUF);
}

/** Where the words name the namespace: NODE [-n NS] first, as the other dpemu commands take them. */
function splitTarget(argv: readonly string[]): { node: string | undefined; ns: string | undefined; rest: string[] } {
  const [node, ...rest] = argv;
  if (rest[0] === '-n' && rest.length > 1) return { node, ns: rest[1], rest: rest.slice(2) };
  return { node, ns: undefined, rest };
}

class Ping {
  readonly st: PingStats;
  private exiting = false;
  private startNs = 0;
  private curNs = 0;
  private tokens = 0;
  private waittime = 0;
  /** ms between sends: -i, 0 for -f without it; -A changes it (update_interval). */
  private interval: number;
  /** What each request carries after the ICMP header, the timeval aside. */
  private readonly data: Uint8Array;
  /** pr_options' text after each reply's line. */
  private readonly options: PingOptionsPrinter;
  /** When each sequence number was sent (ns), and the longest a reply took to reach this process (µs). */
  private readonly sentNs = new Float64Array(0x10000);
  private seenMax = 0;
  /** The columns of the terminal stdout is, else INT_MAX (how many dots -f prints). */
  private readonly screenWidth = process.stdout.isTTY && process.stdout.columns > 0 ? process.stdout.columns : INT_MAX;
  private readonly queue: CaptureEvent[] = [];
  private wake: (() => void) | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  /** The sequence number of the ICMP error just taken (the error queue's entry a failed send left), -1 if the last event was none. */
  private errTaken = -1;
  /** -f's line as the terminal holds it up to the cursor: each glyph, and the echo request a dot stands for (else -1). */
  private readonly cells: string[] = [];
  private readonly cellSeq: number[] = [];
  private col = 0;
  /** Sends in a row that failed with ENOBUFS (oom_count). */
  private oomCount = 0;

  constructor(
    private readonly a: PingArgs,
    private readonly sock: RemotePing,
    private readonly out: (s: string) => void,
    private readonly err: (s: string) => void,
    private readonly uid: number,
    /** Every send fails with ENOBUFS: the request is cut into more fragments than SO_SNDBUF lets be allocated (the daemon says so). */
    private readonly nobufs = false,
  ) {
    this.st = new PingStats(a.size);
    this.interval = a.flood && !a.intervalSet ? 0 : a.interval;
    this.data = payload(a.size, a.pattern);
    this.options = new PingOptionsPrinter(a.flood, a.names);
  }

  /** setup()'s checks of the interval (after the PING line): the message, or null. */
  setupError(): string | null {
    if (this.uid && this.interval < MINUSERINTERVAL) return `ping: cannot flood; minimal interval allowed for user is ${MINUSERINTERVAL}ms\n`;
    if (this.interval >= Math.trunc(INT_MAX / this.a.preload)) return `ping: illegal preload and/or interval: ${this.interval}\n`;
    return null;
  }

  /** update_interval (-A): the smoothed RTT, rounded to ms (no ENOBUFS slowdown here). */
  private updateInterval(): void {
    const est = this.st.rtt ? Math.trunc(this.st.rtt / 8) : this.interval * 1000;
    this.interval = Math.trunc((est + 500) / 1000);
    if (this.uid && this.interval < MINUSERINTERVAL) this.interval = MINUSERINTERVAL;
  }

  event(ev: CaptureEvent): void {
    this.queue.push(ev);
    this.poke();
  }

  /** SIGINT, or SIGALRM (the deadline, or the wait after the last packet): finish. */
  exit(): void {
    this.exiting = true;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private alarm(ms: number): void {
    this.timers.push(setTimeout(() => this.exit(), ms));
  }

  /** pinger(): send the probe due now; the ms until the next one. */
  private pinger(): number {
    const a = this.a, st = this.st, interval = this.interval;
    if (this.exiting || (a.count && st.ntransmitted >= a.count && !a.deadline)) return 1000;
    const now = monoNs();
    if (this.curNs === 0) {
      this.curNs = now;
      this.tokens = interval * (a.preload - 1);
    } else {
      let ntokens = Math.trunc((now - this.curNs) / 1e6);
      // A flood waits for a reply, or MININTERVAL.
      if (!interval && ntokens < MININTERVAL && st.inFlight() >= a.preload) return MININTERVAL - ntokens;
      ntokens += this.tokens;
      if (interval * a.preload < ntokens) ntokens = interval * a.preload;
      if (ntokens < interval) return interval - ntokens;
      this.curNs = now;
      this.tokens = ntokens - interval;
    }
    if (a.outstanding && st.ntransmitted > 0 && !st.received(st.ntransmitted)) {
      const t = `${a.timestamps ? stamp() : ''}no answer yet for icmp_seq=${st.ntransmitted % 0x10000}\n`;
      if (a.flood) this.floodOut(t);
      else this.out(t);
    }
    if (this.nobufs) {
      // ENOBUFS: not sent; tried again every SCHINT(interval / 2) (at most 500 ms) until that adds up to the
      // linger time, then a hard local error, counted as sent (and every send after it at once).
      this.tokens = 0;
      if (a.adaptive) this.updateInterval();
      const nores = Math.min(500, schint(Math.trunc(this.interval / 2)));
      if (++this.oomCount * nores < a.linger) return nores;
      st.advance();
      if (!a.quiet) {
        if (a.flood) this.floodOut('E');
        else this.err('ping: sendmsg: No buffer space available\n');
      }
      return schint(this.interval);
    }
    const seq = st.advance();
    this.sentNs[seq] = now;
    // Longer than an IP datagram: sendto() fails with EMSGSIZE, which ping counts as sent and does not print.
    if (a.size > MAX_DATA) return interval - this.tokens;
    this.sock.send(seq);
    if (!a.quiet && a.flood && ((a.preload < this.screenWidth && st.pipesize < this.screenWidth) || st.inFlight() < this.screenWidth)) this.floodOut('.', seq);
    return interval - this.tokens;
  }

  /** schedule_exit: after the last of -c packets (and no deadline), wait for replies as long as ping does, then SIGALRM. */
  private scheduleExit(next: number): number {
    const a = this.a, st = this.st;
    if (!(a.count && st.ntransmitted >= a.count && !a.deadline) || this.waittime) return next;
    if (st.nreceived) {
      // Twice the longest RTT. A reply reaches this process later than the emulator's RTT says (a datapath
      // worker's poll, a loaded host): also twice the longest that took, and DELIVERY_SLACK more.
      this.waittime = 2 * Math.max(st.tmax, this.seenMax) + DELIVERY_SLACK;
      if (this.waittime < 1000 * this.interval) this.waittime = 1000 * this.interval;
    } else this.waittime = a.linger * 1000;
    if (next < 0 || next < this.waittime / 1000) next = Math.trunc(this.waittime / 1000);
    this.alarm(this.waittime / 1000);
    return next;
  }

  /** One datagram or error queue entry the socket read (parse_reply, receive_error_msg). */
  private take(ev: CaptureEvent): void {
    const a = this.a, st = this.st, errTaken = this.errTaken;
    this.errTaken = -1;
    if (ev.type === 'reply') {
      const d = Buffer.from(ev.data, 'base64');
      // IPv6: the header (its hop limit IPV6_HOPLIMIT's, its source recvmsg's with the device as scope) and the message,
      // whose checksum the kernel checked (a raw ICMPv6 socket's).
      const v6 = d[0]! >>> 4 === 6;
      const hlen = v6 ? IPV6_HLEN : (d[0]! & 15) << 2;
      const cc = d.length - hlen;
      if (cc < 8) return;
      if (!ourPattern(d, hlen + 8, this.data)) return;
      const csfailed = !v6 && checksum(d, hlen, cc) !== 0;
      const trip = st.timing && cc >= 8 + TIMEVAL_LEN ? ev.ts - sentUs(d, hlen + 8) : null;
      const from = prAddr(a.names, v6 ? ip6ToString(d, IPV6_SRC) + (ip6IsLinkLocal(d, IPV6_SRC) && ev.dev !== undefined ? `%${ev.dev}` : '') : ipToString(readU32(d, 12)));
      if (!csfailed) this.seenMax = Math.max(this.seenMax, Math.trunc((monoNs() - this.sentNs[readU16(d, hlen + 6)]!) / 1000));
      const line = st.gather(readU16(d, hlen + 6), v6 ? d[7]! : d[8]!, cc, trip, from, csfailed, a.quiet || a.flood, a.verbose ? readU16(d, hlen + 4) : null);
      if (a.adaptive && trip !== null && !csfailed) this.updateInterval();
      if (a.quiet) return;
      // ping4_parse_reply: -f backs over its dot, -a rings (not after a truncated reply).
      if (a.flood) this.floodOut((csfailed ? '\bC' : '\b \b') + (a.audible ? '\x07' : ''));
      else if (cc < a.size + 8) this.out(`${a.timestamps ? stamp() : ''}${line}\n`);
      else this.out(`${a.timestamps ? stamp() : ''}${line}${a.audible ? '\x07' : ''}${!v6 && hlen > 20 ? this.options.text(d, hlen) : ''}\n`);
    } else if (ev.type === 'icmperr') {
      const line = st.error(ev.seq, prAddr(a.names, ev.from), ev.icmpType, ev.code, ev.info, a.quiet, a.ipv6);
      if (line !== null && a.flood) this.floodOut('\bE');
      else if (line !== null) this.out(`${a.timestamps ? stamp() : ''}${line}\n`);
      this.errTaken = ev.seq;
    } else if (ev.type === 'senderr' && ev.mtu !== undefined) {
      // ip_local_error's entry (IP_PMTUDISC_DO, longer than the path MTU): receive_error_msg says so, counted
      // unless -q; -f's E instead of the dot (this send's went out before the failure was known).
      if (a.quiet) return;
      if (a.flood) this.floodLocalError(ev.seq);
      else this.err(`ping: local error: message too long, mtu=${ev.mtu}\n`);
      st.nerrors++;
    } else if (ev.type === 'senderr') {
      // pinger: after a failed sendmsg ping reads its error queue (receive_error_msg) and names the errno only
      // when that held an ICMP error about its echo, the one the send made (a REJECT in OUTPUT: taken just
      // before); a DROP's EPERM or a route's error leaves it empty and ping says nothing.
      const say = errTaken === ev.seq || POOL_LIMITS.has(ev.message);
      if (a.quiet) return;
      if (!a.flood) {
        if (say) this.err(`ping: sendmsg: ${ev.message}\n`);
      } else {
        // -f: ping prints no dot for a failed send, but this one's went out before the failure was known: what a
        // terminal then shows is ping's (the error's \bE and E over the char before; an E; nothing) unless a later
        // send went out before it.
        this.floodOut(errTaken === ev.seq ? '\b\bEE' : say ? '\bE' : '\b \b');
      }
    } else if (ev.type === 'end') {
      // The daemon closed the socket (a reload replaced the namespace, its worker died, the daemon stops).
      this.err('ping: dpemu: the daemon closed the socket (reloaded, stopping, or its datapath worker died)\n');
      this.exit();
    }
  }

  /** Write -f's characters, following them on the shadow line; `seq`: the echo request a dot stands for. */
  private floodOut(s: string, seq = -1): void {
    for (const ch of s) {
      if (ch === '\b') this.col = Math.max(0, this.col - 1);
      else if (ch === '\n') this.col = 0;
      else if (ch !== '\x07') {
        this.cells[this.col] = ch;
        this.cellSeq[this.col++] = ch === '.' ? seq : -1;
      }
    }
    this.out(s);
  }

  /**
   * ping prints a local error's E where it would have printed the dot: back
   * to this request's dot (later sends' went out before the error came
   * back), the E, and what followed it again.
   */
  private floodLocalError(seq: number): void {
    let i = this.col - 1;
    while (i >= 0 && this.cellSeq[i] !== seq) i--;
    if (i < 0) return this.floodOut('E');
    const seqs = this.cellSeq.slice(i + 1, this.col);
    this.floodOut('\b'.repeat(this.col - i) + 'E' + this.cells.slice(i + 1, this.col).join(''));
    this.cellSeq.splice(i + 1, seqs.length, ...seqs);
  }

  /** main_loop: returns finish()'s exit status. */
  async run(): Promise<number> {
    const a = this.a, st = this.st;
    this.startNs = monoNs();
    if (a.deadline) this.alarm(a.deadline * 1000);
    try {
      for (;;) {
        if (this.exiting) break;
        if (a.count && st.nreceived + st.nerrors >= a.count) break;
        if (a.deadline && st.nerrors) break;
        let next: number;
        do {
          next = this.scheduleExit(this.pinger());
        } while (next <= 0);
        if (this.queue.length === 0 && !this.exiting) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              this.wake = null;
              resolve();
            }, next);
            this.wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
        }
        for (let ev = this.queue.shift(); ev; ev = this.queue.shift()) this.take(ev);
      }
    } finally {
      for (const t of this.timers) clearTimeout(t);
    }
    const ipg = !this.interval || a.flood || a.adaptive;
    const { text, exit } = st.finish(a.target, this.curNs === 0 ? 0 : this.curNs - this.startNs, ipg, a.deadline, a.count);
    this.out(text);
    return exit;
  }
}

/** `dpemu ping` words (after any --socket): NODE [-n NS] then ping's own. */
export async function pingCommand(argv: string[]): Promise<number> {
  const { socket, rest } = takeSocket(argv);
  const { node, ns, rest: words } = splitTarget(rest);
  const warn: string[] = [], said: string[] = [];
  const uid = process.getuid?.() ?? 0;
  const flush = (e?: PingExit): number => {
    for (const l of said.splice(0)) process.stdout.write(l + '\n');
    for (const w of warn.splice(0)) process.stderr.write(w + '\n');
    if (e) (e.stdout ? process.stdout : process.stderr).write(e.lines.map((l) => l + '\n').join(''));
    return e?.exit ?? 0;
  };
  let line: PingLine;
  try {
    if (node === undefined || node.startsWith('-')) throw new PingExit([`usage: dpemu ping ${PING_USAGE}`], 2);
    // A name looked up as the real one would in the namespace: this machine's hosts file (/etc/netns/NS's where ip netns exec would mount one).
    line = parsePingArgs(words, warn, said, uid, new NetDb('/etc', ns));
  } catch (e) {
    if (!(e instanceof PingExit)) throw e;
    return flush(e);
  }
  flush();
  const ep = endpointFromEnv(socket);
  let ai = line.ai;
  try {
    // getaddrinfo's sort of several answers: which a UDP socket connect()s to, each asked of the daemon.
    if (ai.length > 1) ai = sortAnswers(ai, await Promise.all(ai.map((t) => !needsScope(t) && connects(ep, node, ns, t))));
  } catch (e) {
    process.stderr.write(e instanceof ConnectError ? e.message + '\n' : `ping: ${(e as Error).message}\n`);
    return 1;
  }
  // main's loop: each answer in turn until one runs; ping4_run and ping6_run go on to the next when their connect() probe finds no route.
  for (let i = 0; i < ai.length; i++) {
    let a: PingArgs | null;
    try {
      a = pingRun(line, ai, i, said);
    } catch (e) {
      if (!(e instanceof PingExit)) throw e;
      return flush(e);
    }
    flush();
    if (a === null) continue;
    const r = await pingOne(ep, node, ns, a, uid, i < ai.length - 1);
    if (r >= 0) return r;
  }
  return 2; // not reached: the last answer runs or ends ping
}

/** Whether a UDP socket in the namespace connect()s to `t` (getaddrinfo's rule 1): ping's own socket to it opens (and is closed at once). */
async function connects(ep: Endpoint, node: string, ns: string | undefined, t: PingAddr): Promise<boolean> {
  let opened: (ok: boolean) => void = () => {};
  const ready = new Promise<boolean>((r) => (opened = r));
  const open: PingOpenRequest = { node, dst: t.v6 ? ip6ToString(t.addr, 0) : ipToString(t.addr), size: 0, ...(ns !== undefined ? { ns } : {}) };
  const sock = pingRemote(ep, open, (ev) => ev.type === 'ping' && opened(true), () => opened(false));
  try {
    return await Promise.race([ready, sock.ended.then(() => false)]);
  } finally {
    sock.close();
    await sock.ended.catch(() => {});
  }
}

/** ping4_run or ping6_run with the daemon's socket: ping's exit status, or -1 to go on to the next answer (`more`: there is one). */
async function pingOne(ep: Endpoint, node: string, ns: string | undefined, a: PingArgs, uid: number, more: boolean): Promise<number> {
  const open: PingOpenRequest = { node, dst: a.dst, size: a.size };
  if (a.scope !== undefined) open.scope = a.scope;
  if (a.tos) open.tos = a.tos;
  if (a.pattern !== null) open.pattern = [...a.pattern];
  if (ns !== undefined) open.ns = ns;
  if (a.ttl !== undefined) open.ttl = a.ttl;
  if (a.device !== undefined) open.device = a.device;
  if (a.source !== undefined) open.source = a.source;
  if (a.ident !== undefined) open.ident = a.ident;
  if (!a.ipv6) {
    if (a.pmtudisc !== undefined) open.pmtudisc = a.pmtudisc;
    if (a.strictSource && a.source === undefined) open.strict = true;
    open.sndbuf = kernelSndbuf(a);
    if (a.mark) open.mark = a.mark;
    if (a.ipOptions !== undefined) open.options = a.ipOptions;
  }
  const out = (s: string): void => void process.stdout.write(s);
  const err = (s: string): void => void process.stderr.write(s);

  let ping: Ping | null = null;
  let refused: CommandResponse | null = null;
  let opened: (source: string | null) => void = () => {};
  const ready = new Promise<string | null>((r) => (opened = r));
  let nobufs = false;
  let scope: string | undefined;
  const sock = pingRemote(ep, open, (ev) => {
    if (ev.type === 'ping') {
      nobufs = ev.nobufs === true;
      scope = ev.scope;
      opened(ev.source);
    }
    else ping?.event(ev);
  }, (r) => {
    refused = r;
    opened(null);
  });
  const onSigint = (): void => ping?.exit();
  process.on('SIGINT', onSigint);
  try {
    const source = await Promise.race([ready, sock.ended.then(() => null)]);
    if (source === null) {
      const r = refused as CommandResponse | null;
      if (more && r !== null && NO_ROUTE.test(r.stderr)) return -1;
      err(r?.stderr ?? 'ping: dpemu: the daemon closed the socket\n');
      return r?.exit ?? 1;
    }
    if (!rcvbufHolds(a.size, a.preload, a.ipv6 ? 40 : 20)) err('ping: WARNING: probably, rcvbuf is not enough to hold preload\n');
    if (a.ipv6) {
      // ping6_run: the probe's source (`::` unconnected, for a link-local) is none of the device's addresses.
      if (a.device !== undefined && source === '::') err(`ping: Warning: source address might be selected on device other than: ${a.device}\n`);
      const from = a.device !== undefined ? `from ${source} ${a.device}: ` : '';
      out(`PING ${a.target}(${prAddr(a.names, a.dst + (scope !== undefined ? `%${scope}` : ''))}) ${from}${a.size} data bytes\n`);
    } else {
      // IP_TTL refuses 0 (ping4_run sets it after the socket is connected).
      if (a.ttl === 0) {
        err('ping: cannot set unicast time-to-live: Invalid argument\n');
        return 2;
      }
      const from = a.device !== undefined || a.strictSource ? `from ${source} ${a.device ?? ''}: ` : '';
      out(`PING ${a.target} (${a.dst}) ${from}${a.size}(${a.size + 28 + (a.ipOptions !== undefined ? 40 : 0)}) bytes of data.\n`);
    }
    ping = new Ping(a, sock, out, err, uid, nobufs);
    const bad = ping.setupError();
    if (bad !== null) {
      err(bad);
      return 2;
    }
    return await ping.run();
  } catch (e) {
    err(e instanceof ConnectError ? e.message + '\n' : `ping: ${(e as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    sock.close();
    sock.ended.catch(() => {});
  }
}
