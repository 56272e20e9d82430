// `dpemu arping NODE [-n NS] [OPTIONS] TARGET` (and `dpemu ip NODE netns
// exec NS arping ...`): iputils arping run against a packet socket inside
// an emulated namespace. This process is arping: its event loop (the
// interval and deadline timers, one datagram read each time round), its
// reply filter and its text are iputils 20221126's; the socket is the
// daemon's (POST /v1/ping with `arp`), which sends each ARP message onto
// the device and hands back every ARP frame the device receives, with the
// times the emulator saw them.
import { ConnectError, endpointFromEnv, pingRemote } from '../control/client.js';
import { ARPING_STDOUT, type CaptureEvent, type CommandResponse, type PingOpenRequest } from '../control/protocol.js';
import { ipToString, readU16, readU32 } from '../wire/addr.js';
import { ARPHRD_ETHER, ARPOP_REPLY, ARPOP_REQUEST } from '../wire/arp.js';
import { ETHERTYPE_IPV4, ETH_HLEN } from '../wire/ethernet.js';
import { inetAton } from '../control/inet-aton.js';
import { takeSocket } from './control-socket.js';
import { parseArpingArgs, type ArpingArgs } from './arping-args.js';
import { NetDb } from '../control/netdb.js';
import { PingExit } from './ping-args.js';
import { ARPING_USAGE_LINE } from './usage-lines.js';

/** recv_pack's FINAL_PACKS: the loop ends. */
const FINAL = 2;

const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** print_hex: bytes as upper-case hex pairs joined by colons. */
const hex = (b: Uint8Array, at: number, n: number): string => Array.from(b.subarray(at, at + n), (x) => x.toString(16).toUpperCase().padStart(2, '0')).join(':');

class Arping {
  sent = 0;
  brdSent = 0;
  received = 0;
  brdRecv = 0;
  reqRecv = 0;
  /** When the last ARP message left (µs since the epoch, the emulator's clock); 0 before any did. */
  private last = 0;
  private unicasting = false;
  /** HE's address: the broadcast one until a reply teaches arping its target's. */
  private he: string | undefined;
  /** Whether each message in flight went broadcast (for a sendto() that failed: not counted). */
  private readonly wasBroadcast: boolean[] = [];
  private seq = 0;
  /** Sends the socket has not yet said went (or failed): a sendto() returns only once its message is on the device. */
  private pending = 0;
  private closed = false;
  private readonly queue: CaptureEvent[] = [];
  private wake: (() => void) | null = null;
  private interrupted = false;

  constructor(
    private readonly a: ArpingArgs,
    private readonly sock: { send(seq: number, ttl?: number, size?: number, to?: string): void },
    /** The device's MAC as bytes, and gsrc/gdst. */
    private readonly me: Uint8Array,
    private readonly gsrc: number,
    private readonly gdst: number,
    private readonly out: (s: string) => void,
    private readonly err: (s: string) => void,
  ) {}

  event(ev: CaptureEvent): void {
    this.queue.push(ev);
    this.poke();
  }

  /** SIGINT (SIGQUIT, SIGTERM): the loop ends. */
  interrupt(): void {
    this.interrupted = true;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** send_pack: counted as sent now, taken back if the socket says sendto() failed. */
  private send(): void {
    this.sent++;
    if (!this.unicasting) this.brdSent++;
    this.wasBroadcast[this.seq] = !this.unicasting;
    this.pending++;
    this.sock.send(this.seq++, undefined, undefined, this.he);
  }

  /** The socket's events before the next datagram: sends done or failed; the datagram (or null), or 'end'. */
  private nextDatagram(): CaptureEvent | null {
    for (let ev = this.queue.shift(); ev; ev = this.queue.shift()) {
      if (ev.type === 'sent') {
        this.last = ev.ts;
        this.pending--;
      } else if (ev.type === 'senderr') {
        this.sent--;
        this.pending--;
        if (this.wasBroadcast[ev.seq]) this.brdSent--;
      } else if (ev.type === 'end') {
        this.closed = true;
        return ev;
      } else if (ev.type === 'reply') return ev;
    }
    return null;
  }

  /** recv_pack: 0 (not arping's), 1, or FINAL. */
  private recv(ev: CaptureEvent & { type: 'reply' }): number {
    const a = this.a, f = Buffer.from(ev.data, 'base64');
    if (f.length < ETH_HLEN) return 0;
    // eth_type_trans's pkttype: arping takes PACKET_HOST, BROADCAST and MULTICAST.
    const host = f.subarray(0, 6).equals(this.me);
    if (!host && !(f[0]! & 1)) return 0;
    const p = ETH_HLEN, len = f.length - ETH_HLEN;
    const op = readU16(f, p + 6);
    if (len < 8 || (op !== ARPOP_REQUEST && op !== ARPOP_REPLY)) return 0;
    if (readU16(f, p) !== ARPHRD_ETHER || readU16(f, p + 2) !== ETHERTYPE_IPV4 || f[p + 5] !== 4 || f[p + 4] !== 6 || len < 8 + 2 * (4 + 6)) return 0;
    const sha = p + 8, srcIp = readU32(f, sha + 6), tha = sha + 10, dstIp = readU32(f, tha + 6);
    const thaMine = f.subarray(tha, tha + 6).equals(this.me);
    if (!a.dad) {
      if (srcIp !== this.gdst || this.gsrc !== dstIp || !thaMine) return 0;
    } else {
      if (srcIp !== this.gdst || f.subarray(sha, sha + 6).equals(this.me)) return 0;
      if (this.gsrc && this.gsrc !== dstIp) return 0;
    }
    if (!a.quiet) {
      let s = `${host ? 'Unicast' : 'Broadcast'} ${op === ARPOP_REPLY ? 'reply' : 'request'} from ${ipToString(srcIp)} [${hex(f, sha, 6)}] `;
      if (dstIp !== this.gsrc) s += `for ${ipToString(dstIp)} `;
      if (!thaMine) s += `${dstIp !== this.gsrc ? '' : 'for '}[${hex(f, tha, 6)}]`;
      if (this.last) {
        // arping's arithmetic, half a millisecond more than the time taken.
        let usecs = ev.ts - this.last;
        const msecs = Math.trunc((usecs + 500) / 1000);
        usecs -= msecs * 1000 - 500;
        s += ` ${msecs}.${String(usecs).padStart(3, '0')}ms\n`;
      } else s += ' UNSOLICITED?\n';
      this.out(s);
    }
    this.received++;
    if (a.timeout && this.received === a.count) return FINAL;
    if (!host) this.brdRecv++;
    if (op === ARPOP_REQUEST) this.reqRecv++;
    if (a.quitOnReply) return FINAL;
    if (!a.broadcastOnly) {
      this.he = hex(f, sha, 6);
      this.unicasting = true;
    }
    return 1;
  }

  /** Until the socket has said what became of every send (what arping's sendto() knew when it returned), or it closed. */
  private async settle(): Promise<void> {
    const dgrams: CaptureEvent[] = [];
    while (this.pending > 0 && !this.closed) {
      const ev = this.nextDatagram();
      if (ev !== null) dgrams.push(ev);
      else if (this.pending > 0 && !this.closed) await new Promise<void>((resolve) => (this.wake = resolve));
    }
    this.queue.unshift(...dgrams);
  }

  /** event_loop: the first message at once, one each interval, until the count, the deadline, a final reply or SIGINT; then finish(). */
  async run(): Promise<number> {
    const a = this.a, start = monoMs();
    let nextTick = a.interval > 0 ? start + a.interval * 1000 : Infinity;
    const deadline = a.timeout > 0 ? start + a.timeout * 1000 : Infinity;
    let totalExpires = 1;
    let exit = false;
    this.send();
    while (!exit) {
      await this.settle();
      if (this.sent === a.count && a.unsolicited) break;
      let dgram = this.nextDatagram();
      if (dgram === null && !this.interrupted) {
        const wait = Math.min(nextTick, deadline) - monoMs();
        if (wait > 0) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              this.wake = null;
              resolve();
            }, Math.min(wait, 2147483647));
            this.wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
        }
        dgram = this.nextDatagram();
      }
      // One poll(): the signal, then the interval timer, the deadline, and one datagram read, in arping's order.
      const now = monoMs();
      if (this.interrupted) exit = true;
      if (now >= nextTick) {
        const exp = Math.floor((now - nextTick) / (a.interval * 1000)) + 1;
        nextTick += exp * a.interval * 1000;
        totalExpires += exp;
        if (a.count > 0 && a.count < totalExpires) exit = true;
        else this.send();
      }
      if (now >= deadline) exit = true;
      if (dgram?.type === 'end') {
        this.err('arping: dpemu: the daemon closed the socket (reloaded, stopping, or its datapath worker died)\n');
        exit = true;
      } else if (dgram !== null && this.recv(dgram as CaptureEvent & { type: 'reply' }) === FINAL) exit = true;
    }
    await this.settle();
    return this.finish();
  }

  /** finish(): the summary unless -q, and the exit status. */
  private finish(): number {
    const a = this.a;
    if (!a.quiet) {
      let s = `Sent ${this.sent} probes (${this.brdSent} broadcast(s))\nReceived ${this.received} response(s)`;
      if (this.brdRecv || this.reqRecv) {
        const parts: string[] = [];
        if (this.reqRecv) parts.push(`${this.reqRecv} request(s)`);
        if (this.brdRecv) parts.push(`${this.brdRecv} broadcast(s)`);
        s += ` (${parts.join(', ')})`;
      }
      this.out(s + '\n');
    }
    if (a.dad) return this.received ? 1 : 0;
    if (a.unsolicited) return 0;
    if (a.timeout && a.count > 0 && !a.quitOnReply) return a.count <= this.received ? 0 : 1;
    return this.received ? 0 : 1;
  }
}

/** Where the words name the namespace: NODE [-n NS] first, as the other dpemu commands take them. */
function splitTarget(argv: readonly string[]): { node: string | undefined; ns: string | undefined; rest: string[] } {
  const [node, ...rest] = argv;
  if (rest[0] === '-n' && rest.length > 1) return { node, ns: rest[1], rest: rest.slice(2) };
  return { node, ns: undefined, rest };
}

/** `dpemu arping` words (after any --socket): NODE [-n NS] then arping's own. */
export async function arpingCommand(argv: string[]): Promise<number> {
  const { socket, rest } = takeSocket(argv);
  const { node, ns, rest: words } = splitTarget(rest);
  let a: ArpingArgs;
  try {
    if (node === undefined || node.startsWith('-')) throw new PingExit([`usage: dpemu arping ${ARPING_USAGE_LINE}`], 2);
    // The name looked up as the real one would in the namespace: this machine's hosts file (/etc/netns/NS's where ip netns exec would mount one).
    a = parseArpingArgs(words, new NetDb('/etc', ns));
  } catch (e) {
    if (!(e instanceof PingExit)) throw e;
    (e.stdout ? process.stdout : process.stderr).write(e.lines.map((l) => l + '\n').join(''));
    return e.exit;
  }
  const open: PingOpenRequest = { node, dst: a.dst, size: 0, arp: { ...(a.dad ? { dad: true } : {}), ...(a.unsolicited ? { unsolicited: true } : {}), ...(a.advert ? { advert: true } : {}) } };
  if (ns !== undefined) open.ns = ns;
  if (a.device !== undefined) open.device = a.device;
  if (a.source !== undefined) open.source = a.source;
  const out = (s: string): void => void process.stdout.write(s);
  const err = (s: string): void => void process.stderr.write(s);

  let arping: Arping | null = null;
  let refused: CommandResponse | null = null;
  let opened: (ev: (CaptureEvent & { type: 'ping' }) | null) => void = () => {};
  const ready = new Promise<(CaptureEvent & { type: 'ping' }) | null>((r) => (opened = r));
  const sock = pingRemote(endpointFromEnv(socket), open, (ev) => {
    if (ev.type === 'ping') opened(ev);
    else arping?.event(ev);
  }, (r) => {
    refused = r;
    opened(null);
  });
  const onSignal = (): void => arping?.interrupt();
  for (const s of ['SIGINT', 'SIGQUIT', 'SIGTERM'] as const) process.on(s, onSignal);
  try {
    const head = await Promise.race([ready, sock.ended.then(() => null)]);
    if (head === null) {
      const r = refused as CommandResponse | null;
      const text = r?.stderr ?? 'arping: dpemu: the daemon closed the socket\n';
      // check_ifflags says it on stdout, unless -q.
      if (text.startsWith(ARPING_STDOUT)) {
        if (!a.quiet) out(text.slice(ARPING_STDOUT.length));
      } else err(text);
      return r?.exit ?? 1;
    }
    if (!a.quiet) out(`ARPING ${a.dst} from ${head.source} ${head.device ?? ''}\n`);
    const gsrc = inetAton(head.source);
    if (a.source === undefined && !gsrc && !a.dad) {
      err('arping: no source address in not-DAD mode\n');
      return 2;
    }
    const me = Buffer.from((head.mac ?? '').split(':').map((x) => parseInt(x, 16)));
    arping = new Arping(a, sock, me, gsrc, inetAton(a.dst), out, err);
    return await arping.run();
  } catch (e) {
    err(e instanceof ConnectError ? e.message + '\n' : `arping: ${(e as Error).message}\n`);
    return 1;
  } finally {
    for (const s of ['SIGINT', 'SIGQUIT', 'SIGTERM'] as const) process.off(s, onSignal);
    sock.close();
    sock.ended.catch(() => {});
  }
}
