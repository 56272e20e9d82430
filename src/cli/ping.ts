// `dpemu ping NODE [-n NS] [OPTIONS] ADDR` (and `dpemu ip NODE netns exec
// NS ping ...`): iputils ping run against a socket inside an emulated
// namespace. This process is ping: its main loop (pinger, schedule_exit,
// the exit conditions, SIGINT and the deadline's SIGALRM) and its text are
// iputils 20221126's; the socket is the daemon's (POST /v1/ping), which
// sends each echo request from the namespace's own stack and hands back
// the replies and ICMP errors with the times the emulator saw them.
import { ConnectError, endpointFromEnv, pingRemote, type RemotePing } from '../control/client.js';
import type { CaptureEvent, CommandResponse, PingOpenRequest } from '../control/protocol.js';
import { checksum } from '../wire/checksum.js';
import { ipToString, readU16, readU32 } from '../wire/addr.js';
import { TIMEVAL_LEN } from '../netns/ping-socket.js';
import { takeSocket } from './control-socket.js';
import { parsePingArgs, PingExit, type PingArgs } from './ping-args.js';
import { PingStats } from './ping-stats.js';

/** MIN_INTERVAL_MS: the shortest wait of a flood without replies. */
const MININTERVAL = 10;
/** The most data an echo request carries: 65535 less the IP and ICMP headers. */
const MAX_DATA = 65507;
/** What the daemon's socket refuses for its own limits (its packet pool's slots), said whatever the error queue holds. */
const POOL_LIMITS = new Set(['Message too long', 'No buffer space available']);

const monoNs = (): number => Number(process.hrtime.bigint());

/** The timeval ping wrote into its data (little-endian tv_sec, tv_usec), in µs. */
function sentUs(data: Uint8Array, at: number): number {
  const v = new DataView(data.buffer, data.byteOffset + at, TIMEVAL_LEN);
  return (v.getUint32(0, true) + v.getUint32(4, true) * 0x1_0000_0000) * 1e6 + v.getUint32(8, true);
}

/** contains_pattern_in_payload: the data after the timeval is what ping sent (bytes counting up). */
function ourPattern(data: Uint8Array, at: number, datalen: number): boolean {
  for (let i = TIMEVAL_LEN; i < datalen; i++) if (at + i >= data.length || data[at + i] !== (i & 0xff)) return false;
  return true;
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
  private readonly queue: CaptureEvent[] = [];
  private wake: (() => void) | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  /** The sequence number of the ICMP error just taken (the error queue's entry a failed send left), -1 if the last event was none. */
  private errTaken = -1;

  constructor(
    private readonly a: PingArgs,
    private readonly sock: RemotePing,
    private readonly out: (s: string) => void,
    private readonly err: (s: string) => void,
  ) {
    this.st = new PingStats(a.size);
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
    const a = this.a, st = this.st;
    if (this.exiting || (a.count && st.ntransmitted >= a.count && !a.deadline)) return 1000;
    const now = monoNs();
    if (this.curNs === 0) {
      this.curNs = now;
      this.tokens = 0; // interval * (preload - 1), preload 1
    } else {
      let ntokens = Math.trunc((now - this.curNs) / 1e6);
      if (!a.interval && ntokens < MININTERVAL && st.inFlight() >= 1) return MININTERVAL - ntokens;
      ntokens += this.tokens;
      if (a.interval < ntokens) ntokens = a.interval;
      if (ntokens < a.interval) return a.interval - ntokens;
      this.curNs = now;
      this.tokens = ntokens - a.interval;
    }
    const seq = st.advance();
    // Longer than an IP datagram: sendto() fails with EMSGSIZE, which ping counts as sent and does not print.
    if (a.size <= MAX_DATA) this.sock.send(seq);
    return a.interval - this.tokens;
  }

  /** schedule_exit: after the last of -c packets (and no deadline), wait for replies as long as ping does, then SIGALRM. */
  private scheduleExit(next: number): number {
    const a = this.a, st = this.st;
    if (!(a.count && st.ntransmitted >= a.count && !a.deadline) || this.waittime) return next;
    if (st.nreceived) {
      this.waittime = 2 * st.tmax;
      if (this.waittime < 1000 * a.interval) this.waittime = 1000 * a.interval;
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
      const hlen = (d[0]! & 15) << 2;
      const cc = d.length - hlen;
      if (cc < 8) return;
      if (!ourPattern(d, hlen + 8, a.size)) return;
      const csfailed = checksum(d, hlen, cc) !== 0;
      const trip = st.timing && cc >= 8 + TIMEVAL_LEN ? ev.ts - sentUs(d, hlen + 8) : null;
      const line = st.gather(readU16(d, hlen + 6), d[8]!, cc, trip, ipToString(readU32(d, 12)), csfailed, a.quiet);
      if (line !== null) this.out(line + '\n');
    } else if (ev.type === 'icmperr') {
      const line = st.error(ev.seq, ev.from, ev.icmpType, ev.code, ev.info, a.quiet);
      if (line !== null) this.out(line + '\n');
      this.errTaken = ev.seq;
    } else if (ev.type === 'senderr') {
      // pinger: after a failed sendmsg ping reads its error queue (receive_error_msg) and names the errno only
      // when that held an ICMP error about its echo, the one the send made (a REJECT in OUTPUT: taken just
      // before); a DROP's EPERM or a route's error leaves it empty and ping says nothing.
      if (!a.quiet && (errTaken === ev.seq || POOL_LIMITS.has(ev.message))) this.err(`ping: sendmsg: ${ev.message}\n`);
    } else if (ev.type === 'end') {
      // The daemon closed the socket (a reload replaced the namespace, its worker died, the daemon stops).
      this.err('ping: dpemu: the daemon closed the socket (reloaded, stopping, or its datapath worker died)\n');
      this.exit();
    }
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
    const { text, exit } = st.finish(a.target, this.curNs === 0 ? 0 : this.curNs - this.startNs, a.interval, a.deadline, a.count);
    this.out(text);
    return exit;
  }
}

/** `dpemu ping` words (after any --socket): NODE [-n NS] then ping's own. */
export async function pingCommand(argv: string[]): Promise<number> {
  const { socket, rest } = takeSocket(argv);
  const { node, ns, rest: words } = splitTarget(rest);
  const warn: string[] = [];
  let a: PingArgs;
  try {
    if (node === undefined || node.startsWith('-')) throw new PingExit(['usage: dpemu ping NODE [-n NS] [-c COUNT] [-i INTERVAL] [-W TIMEOUT] [-w DEADLINE] [-s SIZE] [-t TTL] [-I IFACE|ADDR] [-n] [-q] ADDR'], 2);
    a = parsePingArgs(words, warn);
  } catch (e) {
    if (!(e instanceof PingExit)) throw e;
    process.stderr.write(e.lines.map((l) => l + '\n').join(''));
    return e.exit;
  }
  for (const w of warn) process.stderr.write(w + '\n');
  const open: PingOpenRequest = { node, dst: a.dst, size: a.size };
  if (ns !== undefined) open.ns = ns;
  if (a.ttl !== undefined) open.ttl = a.ttl;
  if (a.device !== undefined) open.device = a.device;
  if (a.source !== undefined) open.source = a.source;
  const out = (s: string): void => void process.stdout.write(s);
  const err = (s: string): void => void process.stderr.write(s);

  let ping: Ping | null = null;
  let refused: CommandResponse | null = null;
  let opened: (source: string | null) => void = () => {};
  const ready = new Promise<string | null>((r) => (opened = r));
  const sock = pingRemote(endpointFromEnv(socket), open, (ev) => {
    if (ev.type === 'ping') opened(ev.source);
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
      err(r?.stderr ?? 'ping: dpemu: the daemon closed the socket\n');
      return r?.exit ?? 1;
    }
    // IP_TTL refuses 0 (ping4_run sets it after the socket is connected).
    if (a.ttl === 0) {
      err('ping: cannot set unicast time-to-live: Invalid argument\n');
      return 2;
    }
    const from = a.device !== undefined || a.source !== undefined ? `from ${source} ${a.device ?? ''}: ` : '';
    out(`PING ${a.target} (${a.dst}) ${from}${a.size}(${a.size + 28}) bytes of data.\n`);
    ping = new Ping(a, sock, out, err);
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
