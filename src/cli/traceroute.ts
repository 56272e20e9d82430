// `dpemu traceroute NODE [-n NS] [OPTIONS] HOST` (and `dpemu ip NODE netns
// exec NS traceroute ...`): Debian's traceroute 2.1.2 (Dmitry Butskoy's) run
// against sockets inside an emulated namespace. This process is traceroute:
// do_it()'s loop (up to -N probes in flight, get_timeout's MAX,HERE,NEAR
// waits, check_expired's moving of a late final answer), print_probe's text
// and parse_icmp_res's annotations are its; the sockets are the daemon's
// (POST /v1/ping with `trace`), which sends each probe from the namespace's
// own stack and hands back the ICMP errors and echo replies with the times
// the emulator saw them.
import { ConnectError, endpointFromEnv, pingRemote, type RemotePing } from '../control/client.js';
import type { CaptureEvent, CommandResponse, PingOpenRequest } from '../control/protocol.js';
import { ipToString, parseIpv4, parseIpv6, readU16, readU32 } from '../wire/addr.js';
import { ip6ToString } from '../wire/tcpdump-text.js';
import { takeSocket } from './control-socket.js';
import { IP_PMTUDISC_PROBE } from '../netns/ping-socket.js';
import { parseTracerouteArgs, TracerouteExit, type TracerouteArgs } from './traceroute-args.js';
import { NetDb } from '../control/netdb.js';

/** traceroute.c's DEF_START_PORT, DEF_UDP_PORT, DEF_TCP_PORT and DEF_WAIT_PREC. */
const START_PORT = 33434, UDP_PORT = 53, TCP_PORT = 80;
const WAIT_PREC = 0.001;

/** get_time(): gettimeofday as seconds. */
const getTime = (): number => (performance.timeOrigin + performance.now()) / 1000;

interface Probe {
  done: boolean;
  final: boolean;
  /** The answering address (dotted quad), null: none (printed `*`). */
  res: string | null;
  /** When it was sent and answered (seconds); 0: not yet. recvTime is the emulator's (what is printed). */
  sendTime: number;
  recvTime: number;
  /** When this process read the answer: the waits (get_timeout) scale what it sees, the way to the daemon and back included. */
  seenTime: number;
  /** When the emulator sent it (µs since the epoch, its 'sent' event); 0: not known. */
  sentUs: number;
  recvTtl: number;
  /** Its UDP port, echo sequence or (-U, -T) number while in flight; 0 once done. */
  seq: number;
  errStr: string;
}

const newProbe = (): Probe => ({ done: false, final: false, res: null, sendTime: 0, recvTime: 0, seenTime: 0, sentUs: 0, recvTtl: 0, seq: 0, errStr: '' });

/** ttl2hops: the hops back, guessing an initial TTL of 64, 128 or 255. */
const ttl2hops = (x: number): number => (x <= 64 ? 65 : x <= 128 ? 129 : 256) - x;

/** parse_icmp_res: the annotation, and whether the probe is final. */
function icmpRes(pb: Probe, type: number, code: number, info: number, v6: boolean): void {
  let str: string | null = null;
  if (v6) {
    if (type === 3) {
      if (code === 0) return; // time exceeded in transit
    } else if (type === 1) {
      switch (code) {
        case 0: str = '!N'; break;
        case 2: case 3: str = '!H'; break; // beyond scope, address unreachable
        case 1: str = '!X'; break;
        case 4: str = ''; break; // the destination is reached
        default: str = `!<${code}>`;
      }
    } else if (type === 2) str = `!F-${info}`;
  } else if (type === 11) {
    if (code === 0) return; // time exceeded in transit
  } else if (type === 3) {
    switch (code) {
      case 0: case 6: case 8: case 11: str = '!N'; break;
      case 1: case 7: case 12: str = '!H'; break;
      case 9: case 10: case 13: str = '!X'; break;
      case 3: str = ''; break; // the destination is reached
      case 2: str = '!P'; break;
      case 4: str = `!F-${info}`; break;
      case 5: str = '!S'; break;
      case 14: str = '!V'; break;
      case 15: str = '!C'; break;
      default: str = `!<${code}>`;
    }
  }
  if (str === null) str = `!<${type}-${code}>`;
  if (str) pb.errStr = str;
  pb.final = true;
}

/** The daemon's socket carries the data after the ICMP header (-I's data holds it); -T's probes have none. */
const daemonSize = (method: TracerouteArgs['method'], dataLen: number): number => (method === 'icmp' ? dataLen - 8 : method === 'tcp' ? 0 : dataLen);

/** Where the words name the namespace: NODE [-n NS] first, as the other dpemu commands take them. */
function splitTarget(argv: readonly string[]): { node: string | undefined; ns: string | undefined; rest: string[] } {
  const [node, ...rest] = argv;
  if (rest[0] === '-n' && rest.length > 1) return { node, ns: rest[1], rest: rest.slice(2) };
  return { node, ns: undefined, rest };
}

class Traceroute {
  private readonly probes: Probe[];
  private readonly queue: CaptureEvent[] = [];
  private wake: (() => void) | null = null;
  /** The next UDP port (traceroute's curr_port), echo sequence, or -U's and -T's probe number (its socket's port is the daemon's). */
  private nextKey: number;
  /** Why it stops: traceroute's error() (stderr and exit 1), or the daemon closing the socket. */
  private fatal: string | null = null;
  /** The probes' data length: --mtu cuts it to each MTU an answer names. */
  private dataLen: number;

  constructor(
    private readonly a: TracerouteArgs,
    private readonly sock: RemotePing,
    private readonly out: (s: string) => void,
  ) {
    this.probes = Array.from({ length: a.maxHops * a.probesPerHop }, newProbe);
    this.nextKey = a.method === 'default' ? a.port || START_PORT : a.method === 'icmp' ? a.port || 1 : 1;
    this.dataLen = a.dataLen;
  }

  event(ev: CaptureEvent): void {
    this.queue.push(ev);
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private bySeq(seq: number): Probe | undefined {
    return seq > 0 ? this.probes.find((p) => p.seq === seq && !p.done) : undefined;
  }

  /** recv_reply for one socket event. */
  private take(ev: CaptureEvent): void {
    if (ev.type === 'sent') {
      const pb = this.bySeq(ev.seq);
      if (pb) pb.sentUs = ev.ts;
      return;
    }
    if (ev.type === 'senderr') {
      // -F's probe longer than the device's MTU: ip_local_error's entry on the error queue.
      if (ev.mtu !== undefined && this.a.dontfrag) return this.localError(ev.seq, ev.mtu);
      // connect() of a probe's socket, or send(): traceroute's error() unless do_send lets it pass (recverr says more).
      if (ev.call !== 'connect' && (ev.message === 'No route to host' || ev.message === 'Message too long' || ev.message === 'No buffer space available')) return;
      this.fatal ??= `\n${ev.call ?? 'send'}: ${ev.message}\n`;
      return;
    }
    if (ev.type === 'end') {
      this.fatal ??= '\ntraceroute: dpemu: the daemon closed the socket (reloaded, stopping, or its datapath worker died)\n';
      return;
    }
    let pb: Probe | undefined;
    if (ev.type === 'reply') {
      const d = Buffer.from(ev.data, 'base64'), v6 = d[0]! >> 4 === 6;
      const hlen = v6 ? 40 : (d[0]! & 15) << 2;
      // -T's segment or a UDP answer names its probe; -I's echo reply carries the sequence.
      if (ev.seq === undefined && (d.length < hlen + 8 || d[hlen] !== (v6 ? 129 : 0))) return;
      pb = this.bySeq(ev.seq ?? readU16(d, hlen + 6));
      if (!pb) return;
      pb.final = true;
      pb.res = v6 ? ip6ToString(d, 8) : ipToString(readU32(d, 12));
      pb.recvTtl = d[v6 ? 7 : 8]!;
    } else if (ev.type === 'icmperr') {
      pb = this.bySeq(ev.seq);
      if (!pb) return;
      pb.res = ev.from;
      pb.recvTtl = ev.ttl ?? 0;
      icmpRes(pb, ev.icmpType, ev.code, ev.info, this.a.v6);
    } else return;
    // The emulator's own times (sent to answered), on traceroute's clock.
    pb.recvTime = pb.sentUs ? pb.sendTime + (ev.ts - pb.sentUs) / 1e6 : ev.ts / 1e6;
    if (ev.type === 'icmperr' && this.mtuFound(pb, ev.info)) return;
    pb.seenTime = getTime();
    pb.seq = 0;
    pb.done = true;
  }

  /**
   * recv_reply for ip_local_error's EMSGSIZE: a UDP probe's own socket names
   * it; the raw socket's (-I, -T) entry quotes nothing, so it goes to the
   * first hop's first probe (unless done). parse_local_res's `!F-MTU`, final.
   */
  private localError(seq: number, mtu: number): void {
    const a = this.a;
    const pb = a.method === 'default' || a.method === 'udp' ? this.bySeq(seq) : this.probes[(a.firstHop - 1) * a.probesPerHop];
    if (!pb || pb.done) return;
    pb.recvTime = pb.seenTime = getTime();
    pb.recvTtl = 0;
    pb.errStr = `!F-${mtu}`;
    pb.final = true;
    if (this.mtuFound(pb, mtu)) return;
    pb.seq = 0;
    pb.done = true;
  }

  /**
   * --mtu: an error naming an MTU the probe did not fit (at least the
   * headers): the data is cut to it and the probe cleared to be sent again,
   * `F=MTU` its annotation (the previous hop answered it, in traceroute's words).
   */
  private mtuFound(pb: Probe, info: number): boolean {
    const h = this.a.headerLen;
    if (!this.a.mtudisc || info < h || info >= h + this.dataLen) return false;
    this.dataLen = info - h;
    Object.assign(pb, newProbe(), { errStr: `F=${info}` });
    return true;
  }

  /** get_timeout */
  private timeout(pb: Probe): number {
    const a = this.a, probes = this.probes, idx = probes.indexOf(pb);
    let value: number;
    if (a.hereFactor) {
      for (let i = idx - (idx % a.probesPerHop), n = 0; n < a.probesPerHop; i++, n++) {
        const p = probes[i]!;
        if (p.done && (value = p.seenTime - p.sendTime) > 0) {
          value = (value + WAIT_PREC) * a.hereFactor;
          return value < a.waitSecs ? value : a.waitSecs;
        }
      }
    }
    if (a.nearFactor) {
      for (let i = idx + 1; i < probes.length && probes[i]!.sendTime; i++) {
        const p = probes[i]!;
        if (p.done && (value = p.seenTime - p.sendTime) > 0) {
          value = (value + WAIT_PREC) * a.nearFactor;
          return value < a.waitSecs ? value : a.waitSecs;
        }
      }
    }
    return a.waitSecs;
  }

  /** check_expired: a final answer that came for a later probe is put in this expired one's place when it seems to belong here. */
  private checkExpired(idx: number): void {
    const probes = this.probes, pph = this.a.probesPerHop, pb = probes[idx]!;
    let fp = -1, pfp = -1;
    for (let p = idx - (idx % pph); p < idx; p++) {
      if (!probes[p]!.done || !probes[p]!.final) return;
      pfp = p;
    }
    for (let p = idx + 1; p < probes.length && probes[p]!.sendTime; p++) {
      if (probes[p]!.done) {
        if (!probes[p]!.final) return;
        fp = p;
        break;
      }
    }
    if (fp < 0) return;
    const f = probes[fp]!;
    if (!f.errStr) return;
    let replace = pfp >= 0 || (idx % pph) + (fp - idx) < pph;
    if (!replace) for (let p = idx - 1; p >= 0 && !replace; p--) replace = probes[p]!.res !== null && probes[p]!.res === f.res;
    if (!replace && f.recvTtl) {
      let backHops = ttl2hops(f.recvTtl);
      for (let p = idx - 1; p >= 0; p--) {
        const q = probes[p]!;
        if (q.done && !q.final && q.recvTtl) {
          const hops = ttl2hops(q.recvTtl);
          if (hops < backHops) {
            backHops = backHops - hops + (Math.trunc(p / pph) + 1);
            break;
          }
        }
      }
      replace = backHops <= Math.trunc(idx / pph) + 1;
    }
    if (!replace) return;
    Object.assign(pb, f);
    Object.assign(f, newProbe(), { sendTime: 1 }); // blocks a re-send
  }

  /** print_probe */
  private print(idx: number): void {
    const pph = this.a.probesPerHop, pb = this.probes[idx]!;
    let np = idx % pph, s = '';
    if (np === 0) s += `\n${String(Math.trunc(idx / pph) + 1).padStart(2)} `;
    if (pb.res === null) s += ' *';
    else {
      let prn = np === 0;
      if (np) {
        let p = idx - 1;
        for (; np && this.probes[p]!.res === null; p--, np--);
        if (!np || this.probes[p]!.res !== pb.res) prn = true;
      }
      // getnameinfo: the hosts file's name (an emulated namespace reaches no name server), else the address.
      if (prn) s += this.a.names === undefined ? ` ${pb.res}` : ` ${this.name(this.a.names, pb.res)} (${pb.res})`;
    }
    if (pb.recvTime) s += `  ${((pb.recvTime - pb.sendTime) * 1000).toFixed(3)} ms`;
    if (pb.errStr) s += ` ${pb.errStr}`;
    this.out(s);
  }

  /** getnameinfo of a hop's address. */
  private name(db: NetDb, res: string): string {
    const a6 = this.a.v6 ? parseIpv6(res) : null;
    return (a6 !== null ? db.hostByAddr6(a6) : db.hostByAddr(parseIpv4(res) ?? 0)) ?? res;
  }

  private send(pb: Probe, ttl: number): void {
    const key = this.nextKey;
    this.nextKey = (this.nextKey + 1) & 0xffff;
    pb.sendTime = getTime();
    pb.seq = key;
    if (this.a.mtudisc) this.sock.send(key, ttl, daemonSize(this.a.method, this.dataLen));
    else this.sock.send(key, ttl);
  }

  /** do_poll: the events that came within `timeout` seconds (all that are queued when the first does). */
  private async poll(timeout: number): Promise<void> {
    if (this.queue.length === 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.wake = null;
          resolve();
        }, Math.ceil(timeout * 1000));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    for (let ev = this.queue.shift(); ev; ev = this.queue.shift()) this.take(ev);
  }

  /** do_it: returns the exit status; what error() prints goes to `err`. */
  async run(err: (s: string) => void): Promise<number> {
    const a = this.a, probes = this.probes, pph = a.probesPerHop;
    let start = (a.firstHop - 1) * pph, end = probes.length, lastSend = 0;
    while (start < end) {
      let num = 0, nextTime = 0;
      const now = getTime();
      for (let n = start; n < end; n++) {
        const pb = probes[n]!;
        if (n === start && !pb.done && pb.sendTime) {
          const expire = pb.sendTime + this.timeout(pb);
          if (expire > now) nextTime = expire;
          else {
            pb.seq = 0;
            pb.done = true;
            this.checkExpired(n);
          }
        }
        if (pb.done) {
          if (n === start) {
            this.print(n);
            start++;
          }
          if (pb.final) end = (Math.trunc(n / pph) + 1) * pph;
          continue;
        }
        if (!pb.sendTime) {
          if (a.sendSecs && lastSend + a.sendSecs > now) {
            nextTime = lastSend + a.sendSecs;
            break;
          }
          this.send(pb, Math.trunc(n / pph) + 1);
          lastSend = pb.sendTime;
        }
        if (!nextTime) nextTime = pb.sendTime + this.timeout(pb);
        if (++num >= a.simProbes) break;
      }
      if (nextTime) await this.poll(Math.max(0, nextTime - getTime()));
      if (this.fatal !== null) {
        err(this.fatal);
        return 1;
      }
    }
    this.out('\n');
    return 0;
  }
}

/** `dpemu traceroute` words (after any --socket): NODE [-n NS] then traceroute's own. */
export async function tracerouteCommand(argv: string[], v6 = false): Promise<number> {
  const { socket, rest } = takeSocket(argv);
  const { node, ns, rest: words } = splitTarget(rest);
  const out = (s: string): void => void process.stdout.write(s);
  const err = (s: string): void => void process.stderr.write(s);
  let a: TracerouteArgs;
  try {
    if (node === undefined || node.startsWith('-')) throw new TracerouteExit(['usage: dpemu traceroute NODE [-n NS] [traceroute OPTIONS] HOST [packetlen]'], 2);
    // Names looked up as the real one would in the namespace: this machine's hosts file (/etc/netns/NS's where ip netns exec would mount one).
    a = parseTracerouteArgs(words, new NetDb('/etc', ns), v6);
  } catch (e) {
    if (!(e instanceof TracerouteExit)) throw e;
    err(e.lines.map((l) => l + '\n').join(''));
    return e.exit;
  }
  const open: PingOpenRequest = { node, dst: a.dst, size: daemonSize(a.method, a.dataLen), trace: a.method === 'default' ? 'udp' : a.method };
  if (a.dontfrag) open.pmtudisc = IP_PMTUDISC_PROBE;
  if (a.method === 'udp' || a.method === 'tcp') open.port = a.port || (a.method === 'udp' ? UDP_PORT : TCP_PORT);
  if (ns !== undefined) open.ns = ns;
  if (a.device !== undefined) open.device = a.device;
  if (a.source !== undefined) open.source = a.source;
  const header = `traceroute to ${a.target} (${a.dst}), ${a.maxHops} hops max, ${a.headerLen + a.dataLen} byte packets`;

  let tr: Traceroute | null = null;
  let refused: CommandResponse | null = null;
  let opened: (ok: boolean) => void = () => {};
  const ready = new Promise<boolean>((r) => (opened = r));
  const sock = pingRemote(endpointFromEnv(socket), open, (ev) => {
    if (ev.type === 'ping') opened(true);
    else tr?.event(ev);
  }, (r) => {
    refused = r;
    opened(false);
  });
  try {
    if (!(await Promise.race([ready, sock.ended.then(() => false)]))) {
      const r = refused as CommandResponse | null;
      const text = r?.stderr ?? 'traceroute: dpemu: the daemon closed the socket\n';
      // The socket's own failures are traceroute's error(): -I's and -T's socket is set up before the header, the UDP probes' after it.
      if (r?.exit === 1 && /^(connect|bind|setsockopt [A-Z_]+): /.test(text)) {
        if (a.method === 'default' || a.method === 'udp') out(header);
        err('\n' + text);
      } else err(text);
      return r?.exit ?? 1;
    }
    out(header);
    tr = new Traceroute(a, sock, out);
    return await tr.run(err);
  } catch (e) {
    err(e instanceof ConnectError ? e.message + '\n' : `traceroute: ${(e as Error).message}\n`);
    return 1;
  } finally {
    sock.close();
    sock.ended.catch(() => {});
  }
}
