// TCP connection tracking against the kernel's, segment by segment. A router
// namespace in the kernel and one in dpemu's model (two veths, static
// neighbours, a FORWARD rule dropping what conntrack finds INVALID) get the
// same frames: many TCP connections at once, each a sequence drawn by a
// seeded generator (handshake variants, data both ways, retransmissions,
// duplicate ACKs, keepalives, window probes, SACK, out-of-window sequence and
// ack numbers, RSTs in and out of the window, FIN closes, SYNs in ESTABLISHED,
// reopening from TIME_WAIT, window scaling), sent in rounds of one segment
// per connection. After each round both must have forwarded the same frames,
// list the same `conntrack -L` lines (state, timeout within 2 s, packets=
// counters: a segment conntrack ignores is not counted) and the same
// `conntrack -S` counters. Midway, `conntrack -U -p tcp` on some connections
// (conntrack-tools then turns their window checks off); now and then
// `conntrack -L -p tcp --state S` for every state, and at the end -U and -D
// with --state, whose output and effects must be the kernel's. Once with strict
// tracking (be_liberal 0, loose 0), once liberal with mid-stream pickup
// (1 and 1), once with the kernel's defaults (0 and 1).
// DPEMU_CT_SEED=N draws other sequences; DPEMU_CT_ONLY=PORT replays one
// connection of the draw with both listings after each segment;
// DPEMU_CT_VERBOSE=1 says how much of what a run went through.
//
// The kernel's ends: veth peers driven by AF_PACKET sockets (conntrack-wire.py,
// one process a run), so no host stack answers for them.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { requireRoot } from '../helpers/root.js';
import { CaptureSink } from '../helpers/sink.js';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import type { Port } from '../../src/datapath/element.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { parseIpv4, parseMacNum } from '../../src/wire/addr.js';
import { buildFrame } from '../../src/wire/frame.js';
import { formatBytes } from '../../src/wire/tcpdump.js';
import { conntrackList } from '../../src/netfilter/index.js';
import { conntrackTool } from '../../src/control/conntrack-commands.js';
import { ControlError } from '../../src/control/protocol.js';
import { mulberry32Unit } from '../../src/datapath/random.js';
import { KernelObjects, sh, uniqueTag } from './lab-names.js';

const WIRE = fileURLToPath(new URL('./conntrack-wire.py', import.meta.url));
const tag = uniqueTag();
const objs = new KernelObjects();
const SEED = Number(process.env.DPEMU_CT_SEED ?? 1);
/** Replaying one connection of a draw (its client port), each step's listings printed. */
const ONLY = process.env.DPEMU_CT_ONLY ? Number(process.env.DPEMU_CT_ONLY) : undefined;
/** Connections at once and the most segments each sends after its handshake. */
const CONNS = 96, STEPS = 24;

const CLIENT = '192.0.2.7', ROUTER_IN = '192.0.2.1';
const SERVER = '198.51.100.10', ROUTER_OUT = '198.51.100.1';
const MAC = { ri: '02:00:5e:11:01:01', ro: '02:00:5e:11:02:01', c: '02:00:5e:11:01:07', s: '02:00:5e:11:02:0a' };
const RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
COMMIT
`;
type CtSysctls = Record<string, number>;
const STRICT: CtSysctls = { 'net.netfilter.nf_conntrack_tcp_be_liberal': 0, 'net.netfilter.nf_conntrack_tcp_loose': 0, 'net.netfilter.nf_conntrack_acct': 1 };
const LIBERAL: CtSysctls = { 'net.netfilter.nf_conntrack_tcp_be_liberal': 1, 'net.netfilter.nf_conntrack_tcp_loose': 1, 'net.netfilter.nf_conntrack_acct': 1 };
/** The kernel's own defaults: windows checked, mid-stream pickup. */
const DEFAULTS: CtSysctls = { 'net.netfilter.nf_conntrack_tcp_be_liberal': 0, 'net.netfilter.nf_conntrack_tcp_loose': 1, 'net.netfilter.nf_conntrack_acct': 1 };
const STATS = ['found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart'] as const;

type End = 'in' | 'out';
/** What a conntrack command printed and returned. */
interface Ran { exit: number; lines: string[]; stderr: string }
type Seen = Record<End, Uint8Array[]>;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

/** The kernel's router namespace, its two ends, and one conntrack-wire.py talking to them. */
class KernelSide {
  readonly r: string;
  private readonly wire;
  private readonly lines: AsyncIterator<string>;
  private readonly ends: Record<End, [string, string]>;
  constructor(mode: string, ct: CtSysctls) {
    this.r = objs.addNetns(`dpe-${tag}-${mode}r`);
    const c = objs.addNetns(`dpe-${tag}-${mode}c`), s = objs.addNetns(`dpe-${tag}-${mode}s`);
    for (const ns of [this.r, c, s]) sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    const ri = `dpe-${tag}-${mode}i`, ro = `dpe-${tag}-${mode}o`, ci = `dpe-${tag}-${mode}a`, so = `dpe-${tag}-${mode}b`;
    objs.veth(`dpe${tag}${mode}i`, this.r, ri, c, ci, { aMac: MAC.ri });
    objs.veth(`dpe${tag}${mode}o`, this.r, ro, s, so, { aMac: MAC.ro });
    const ip = (...a: string[]) => sh('ip', ['-n', this.r, ...a]);
    ip('addr', 'add', `${ROUTER_IN}/24`, 'dev', ri);
    ip('addr', 'add', `${ROUTER_OUT}/24`, 'dev', ro);
    ip('neigh', 'replace', CLIENT, 'lladdr', MAC.c, 'dev', ri, 'nud', 'permanent');
    ip('neigh', 'replace', SERVER, 'lladdr', MAC.s, 'dev', ro, 'nud', 'permanent');
    sh('ip', ['netns', 'exec', this.r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', ...Object.entries(ct).map(([k, v]) => `${k}=${v}`)]);
    const rs = spawnSync('ip', ['netns', 'exec', this.r, 'iptables-restore'], { input: RULES, encoding: 'utf8' });
    assert.equal(rs.status, 0, rs.stderr);
    this.ends = { in: [c, ci], out: [s, so] };
    this.wire = spawn('python3', [WIRE], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.wire.stdout! })[Symbol.asyncIterator]();
  }

  /** Sends the frames back to back; what each end received, and when (ms since the epoch) they went in. */
  async send(batch: [End, Uint8Array][]): Promise<{ seen: Seen; at: number }> {
    this.wire.stdin!.write(JSON.stringify({ ends: this.ends, batch: batch.map(([e, f]) => [e, hex(f)]) }) + '\n');
    const line = await this.lines.next();
    assert.ok(!line.done, 'conntrack-wire.py answered');
    const { at, seen } = JSON.parse(line.value) as { at: number; seen: Record<End, string[]> };
    return { seen: { in: seen.in.map(bytes), out: seen.out.map(bytes) }, at };
  }

  conntrack(): string[] {
    return sh('ip', ['netns', 'exec', this.r, 'conntrack', '-L']).split('\n').filter((l) => l !== '');
  }

  /** conntrack with these arguments; its exit status. */
  tool(argv: string[]): number {
    return this.run(argv).exit;
  }

  /** conntrack with these arguments: its exit status, stdout lines and stderr. */
  run(argv: string[]): Ran {
    const r = spawnSync('ip', ['netns', 'exec', this.r, 'conntrack', ...argv], { encoding: 'utf8' });
    return { exit: r.status ?? -1, lines: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr };
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of sh('ip', ['netns', 'exec', this.r, 'conntrack', '-S']).matchAll(/(\w+)=(\d+)/g)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
    return out;
  }

  close(): void {
    this.wire.stdin!.end();
  }
}

/** The same router in dpemu's model; its clock follows the instants the kernel got the frames. */
class ModelSide {
  readonly clock = new ManualClock(0);
  readonly e = new Engine({ clock: this.clock });
  readonly r: NetNamespace;
  readonly ports: Record<End, Port>;
  readonly sinks: Record<End, CaptureSink> = { in: new CaptureSink(), out: new CaptureSink() };
  private readonly t0 = Date.now();
  constructor(mode: string, ct: CtSysctls) {
    this.r = this.e.add(new NetNamespace('lab', 'router'));
    for (const [k, v] of Object.entries(ct)) this.r.setSysctl(k, v);
    this.ports = {
      in: this.r.addInterface(`dpe-${tag}-${mode}i`, { mac: parseMacNum(MAC.ri)!, addresses: [{ ip: parseIpv4(ROUTER_IN)!, prefixLen: 24 }] }),
      out: this.r.addInterface(`dpe-${tag}-${mode}o`, { mac: parseMacNum(MAC.ro)!, addresses: [{ ip: parseIpv4(ROUTER_OUT)!, prefixLen: 24 }] }),
    };
    this.r.loadNeighbours(`${CLIENT} dev dpe-${tag}-${mode}i lladdr ${MAC.c} PERMANENT
${SERVER} dev dpe-${tag}-${mode}o lladdr ${MAC.s} PERMANENT`);
    this.r.loadIptables(RULES);
    this.e.attachEdge(this.ports.in, this.sinks.in);
    this.e.attachEdge(this.ports.out, this.sinks.out);
  }

  private sync(at: number): void {
    this.clock.set(Math.max(this.e.now, Math.floor(at - this.t0)));
  }

  send(batch: [End, Uint8Array][], at: number): Seen {
    this.sync(at);
    for (const [end, f] of batch) this.e.inject(this.e.pool.allocFrom(f)!, this.ports[end]);
    return { in: this.sinks.in.take(), out: this.sinks.out.take() };
  }

  conntrack(at: number): string[] {
    this.sync(at);
    return conntrackList(this.r.nf.conntrack, this.e.now);
  }

  tool(argv: string[], at: number): number {
    return this.run(argv, at).exit;
  }

  /** As the control socket would answer it (a refused command's error is its stderr). */
  run(argv: string[], at: number): Ran {
    this.sync(at);
    try {
      const r = conntrackTool(this.r.nf.conntrack, this.e.now, argv);
      return { exit: r.exit, lines: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr };
    } catch (e) {
      if (!(e instanceof ControlError)) throw e;
      return { exit: e.exit, lines: [], stderr: e.stderr };
    }
  }

  stats(): Record<string, number> {
    const s = this.r.nf.conntrack.stats;
    return Object.fromEntries(STATS.map((k) => [k, s[k]]));
  }
}

// ---- the sequences ----------------------------------------------------------------

const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16, URG = 32, ECE = 64, CWR = 128;

/** One segment: from the client (in) or the server (out). */
interface Seg { from: End; flags: number; seq: number; ack: number; win: number; len: number; options?: number[] }

/** One end of a generated connection: its next sequence number, window and options. */
interface Peer { nxt: number; win: number; ws: number | null; sack: boolean }

const u32 = (n: number) => n >>> 0;

/**
 * A connection's segments: a handshake variant, then random steps, each from
 * either end, as an endpoint would send it or deliberately off (outside the
 * window, acking unsent data, a RST at the wrong place, ...).
 */
function connection(rnd: () => number): Seg[] {
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const peer = (): Peer => ({
    nxt: u32(int(0, 0xffffffff)), win: pick([64240, 65535, 29200, 509, 1024, 8192]),
    ws: pick([null, null, 0, 2, 7, 14]), sack: rnd() < 0.7,
  });
  const c = peer(), s = peer();
  const segs: Seg[] = [];
  const me = (from: End) => (from === 'in' ? c : s), you = (from: End) => (from === 'in' ? s : c);
  const synOpts = (p: Peer) => [2, 4, 0x05, 0xb4, ...(p.sack ? [4, 2] : []), ...(p.ws === null ? [] : [1, 3, 3, p.ws])];
  const emit = (from: End, flags: number, seq: number, ack: number, len = 0, win = me(from).win, options?: number[]) =>
    segs.push({ from, flags, seq: u32(seq), ack: flags & ACK ? u32(ack) : 0, win, len, ...(options ? { options } : {}) });
  const syn = (from: End) => emit(from, SYN, me(from).nxt - 1, 0, 0, me(from).win, synOpts(me(from)));
  const synack = (from: End) => emit(from, SYN | ACK, me(from).nxt - 1, you(from).nxt, 0, me(from).win, synOpts(me(from)));
  const ack = (from: End) => emit(from, ACK, me(from).nxt, you(from).nxt);
  const data = (from: End, len = int(1, 300)) => {
    emit(from, PSH | ACK, me(from).nxt, you(from).nxt, len);
    me(from).nxt = u32(me(from).nxt + len);
  };
  const fin = (from: End) => {
    emit(from, FIN | ACK, me(from).nxt, you(from).nxt);
    me(from).nxt = u32(me(from).nxt + 1);
  };
  const open = () => {
    c.nxt = u32(c.nxt + 1);
    s.nxt = u32(s.nxt + 1);
  };

  // The handshake.
  const hs = pick(['plain', 'plain', 'plain', 'syn again', 'syn-ack again', 'refused', 'pickup', 'pickup by the server', 'simultaneous', 'no last ack', 'challenge ack']);
  open();
  switch (hs) {
    case 'refused':
      syn('in');
      emit('out', RST | ACK, 0, c.nxt);
      break;
    case 'pickup':
      data('in');
      break;
    case 'pickup by the server':
      // Mid-stream from the other side: the entry's original direction is the server's.
      pick([() => data('out'), () => ack('out')])();
      break;
    case 'simultaneous':
      syn('in');
      syn('out');
      synack('in');
      synack('out');
      ack('in');
      break;
    case 'challenge ack':
      // An ACK from the server to a SYN (its challenge ACK), the client's RST to it.
      syn('in');
      emit('out', ACK, s.nxt + int(0, 5000), u32(c.nxt + int(0, 1) * 1000));
      emit('in', RST, segs.at(-1)!.ack, 0);
      break;
    default:
      syn('in');
      if (hs === 'syn again') syn('in');
      synack('out');
      if (hs === 'syn-ack again') synack('out');
      if (hs !== 'no last ack') ack('in');
  }
  if (hs === 'refused') return segs;

  const steps = int(3, STEPS);
  for (let i = 0; i < steps; i++) {
    const from: End = rnd() < 0.55 ? 'in' : 'out';
    const m = me(from), y = you(from);
    const k = pick([
      'data', 'data', 'data', 'ack', 'ack', 'dup', 'dup', 'retransmit', 'keepalive', 'zero window', 'probe', 'sack',
      'seq ahead', 'seq behind', 'ack ahead', 'ack behind', 'rst', 'rst off', 'fin', 'fin', 'close', 'syn', 'syn-ack', 'rst-ack',
      'retransmissions', 'window', 'urgent', 'ecn', 'bad flags', 'server syn',
    ] as const);
    switch (k) {
      case 'data': data(from); break;
      case 'ack': ack(from); break;
      case 'dup': if (segs.length) segs.push({ ...segs.at(-1)! }); break;
      case 'retransmit': emit(from, PSH | ACK, m.nxt - int(1, 400), y.nxt, int(1, 300)); break;
      case 'keepalive': emit(from, ACK, m.nxt - 1, y.nxt, int(0, 1)); break;
      case 'zero window': emit(from, ACK, m.nxt, y.nxt, 0, 0); break;
      case 'probe': emit(from, PSH | ACK, m.nxt, y.nxt, 1); break;
      case 'sack': {
        const l = u32(y.nxt + int(-3000, 3000)), r = u32(l + int(1, 2000));
        emit(from, ACK, m.nxt, y.nxt - int(0, 3000), 0, m.win, [1, 1, 5, 10, l >>> 24, (l >>> 16) & 255, (l >>> 8) & 255, l & 255, r >>> 24, (r >>> 16) & 255, (r >>> 8) & 255, r & 255]);
        break;
      }
      case 'seq ahead': emit(from, PSH | ACK, m.nxt + pick([int(1000, 70000), int(70000, 1 << 30)]), y.nxt, int(1, 100)); break;
      case 'seq behind': emit(from, PSH | ACK, m.nxt - pick([int(1000, 70000), int(70000, 1 << 30)]), y.nxt, int(1, 100)); break;
      case 'ack ahead': emit(from, ACK, m.nxt, y.nxt + pick([1, int(2, 100000)])); break;
      case 'ack behind': emit(from, ACK, m.nxt, y.nxt - pick([int(1, 66000), int(66000, 140000), int(140000, 1 << 30)])); break;
      case 'rst': emit(from, RST, m.nxt, 0); break;
      case 'rst-ack': emit(from, RST | ACK, m.nxt, pick([y.nxt, 0])); break;
      case 'rst off': emit(from, RST, m.nxt + pick([-1, 1, int(2, 60000), -int(2, 60000), int(70000, 1 << 30)]), 0); break;
      case 'fin': fin(from); break;
      case 'close':
        // Both FINs and their ACKs; sometimes a new connection on the same ports from TIME_WAIT.
        fin(from); ack(from === 'in' ? 'out' : 'in'); fin(from === 'in' ? 'out' : 'in'); ack(from);
        if (rnd() < 0.5) {
          c.nxt = u32(c.nxt + int(1, 1 << 20) + 1);
          s.nxt = u32(int(0, 0xffffffff) + 1);
          syn('in'); synack('out'); ack('in');
        }
        i += 3;
        break;
      case 'syn':
        // A client starting over: a new ISN, sometimes answered.
        c.nxt = u32(c.nxt + pick([0, int(1, 1 << 20), -int(1, 1 << 20)]));
        syn('in');
        if (rnd() < 0.5) {
          s.nxt = u32(int(0, 0xffffffff) + 1);
          synack('out');
          ack('in');
          i += 2;
        }
        break;
      case 'syn-ack': synack('out'); break;
      case 'retransmissions': for (let n = int(2, 5); n > 0 && segs.length; n--) segs.push({ ...segs.at(-1)! }); break;
      case 'window': emit(from, ACK, m.nxt, y.nxt, 0, pick([1, 100, 0xffff, int(0, 0xffff)])); break;
      case 'urgent': emit(from, URG | ACK, m.nxt, y.nxt, 0); break;
      case 'ecn':
        emit(from, ECE | CWR | PSH | ACK, m.nxt, y.nxt, 10);
        m.nxt = u32(m.nxt + 10);
        break;
      // tcp_error's flag check: SYN with FIN, FIN or nothing without ACK.
      case 'bad flags': emit(from, pick([SYN | FIN, FIN, 0, SYN | RST]), m.nxt, 0); break;
      case 'server syn':
        s.nxt = u32(s.nxt + pick([0, int(1, 1 << 20)]));
        syn('out');
        break;
    }
  }
  return segs;
}

function frameOf(seg: Seg, sport: number, id: number): Uint8Array {
  const [src, dst, sm, dm, sp, dp] = seg.from === 'in'
    ? [CLIENT, SERVER, MAC.c, MAC.ri, sport, 80] : [SERVER, CLIENT, MAC.s, MAC.ro, 80, sport];
  return buildFrame({
    src: sm, dst: dm, ip: { src, dst, id },
    tcp: { sport: sp, dport: dp, flags: seg.flags, seq: seg.seq, ack: seg.ack, win: seg.win, payload: seg.len, ...(seg.options ? { options: seg.options } : {}) },
  });
}

// ---- comparing ------------------------------------------------------------------

/** conntrack -L lines by their text without the timeout, and the timeout. */
function byLine(lines: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) {
    const f = l.split(/\s+/);
    const t = Number(f[2]);
    f[2] = 'T';
    out.set(f.join(' '), t);
  }
  return out;
}

/** TCP states as conntrack-tools names them (LISTEN: SYN_SENT2's old name), and one it refuses. */
const STATE_WORDS = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2', 'LISTEN', 'established'];

/**
 * The same conntrack command on both: exit status, stderr (the count line or
 * the error), and the entries printed (timeouts within 2 s; an entry at 0 s
 * may be gone on one side).
 */
function sameRun(what: string, k: Ran, d: Ran): string[] {
  const out: string[] = [];
  const lk = byLine(k.lines), ld = byLine(d.lines);
  // The count line counts what was printed: an entry at 0 s that one side still listed and the other had expired moves it by one.
  const expiredOnOneSide = (a: Map<string, number>, b: Map<string, number>) => [...a].filter(([l, t]) => t === 0 && !b.has(l)).length;
  const lessExpired = (r: Ran, n: number) => r.stderr.replace(/(\d+)( flow entries have been shown)/, (_m, c: string, rest: string) => `${Number(c) - n}${rest}`);
  const kStderr = lessExpired(k, expiredOnOneSide(lk, ld)), dStderr = lessExpired(d, expiredOnOneSide(ld, lk));
  if (k.exit !== d.exit || kStderr !== dStderr) out.push(`${what}: exit ${k.exit} (kernel), ${d.exit} (dpemu); stderr:\n  ${k.stderr.trim()}\n  ${d.stderr.trim()}`);
  for (const [l, t] of lk) if (t > 0 && !ld.has(l)) out.push(`${what}: kernel only: ${l}`);
  for (const [l, t] of ld) if (t > 0 && !lk.has(l)) out.push(`${what}: dpemu only: ${l}`);
  return out;
}

/** The client port a conntrack -L line or a frame is about. */
function portOfLine(l: string): number {
  const m = /sport=(\d+) dport=(\d+)/.exec(l)!;
  return Number(m[1] === '80' ? m[2] : m[1]);
}
function portOfFrame(f: Uint8Array): number {
  const o = 14 + (f[14]! & 15) * 4;
  const sp = (f[o]! << 8) | f[o + 1]!, dp = (f[o + 2]! << 8) | f[o + 3]!;
  return sp === 80 ? dp : sp;
}

async function scenario(mode: string, ct: CtSysctls, seed: number): Promise<string[]> {
  const k = new KernelSide(mode, ct);
  const d = new ModelSide(mode, ct);
  const rnd = mulberry32Unit(seed); // seeded, so a failing draw can be run again
  const conns = Array.from({ length: CONNS }, () => connection(rnd));
  const sport = (i: number) => 42000 + i;
  const rounds = Math.max(...conns.map((c) => c.length));
  const diffs: string[] = [];
  /** Connections a difference was seen on: their later rounds are left out (one report each). */
  const bad = new Set<number>();
  const history = (port: number, upto: number) => conns[port - 42000]!.slice(0, upto + 1)
    .map((s, i) => `      ${i}: ${formatBytes(frameOf(s, port, 0)).replace(/^.*?length \d+: /, '')}`).join('\n');
  let id = 1;
  /** What the run went through, so a vacuous pass shows: frames sent and forwarded, states listed. */
  const seenStates = new Set<string>();
  let sent = 0, forwarded = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      if (round === 8) {
        // conntrack -U naming -p tcp on every fifth connection: conntrack-tools also sends flags that stop its window checks.
        for (let i = 0; i < CONNS; i += 5) {
          const argv = ['-U', '-p', 'tcp', '-f', 'ipv4', '--sport', String(sport(i)), '-m', '1'];
          const xk = k.tool(argv), xd = d.tool(argv, Date.now());
          if (xk !== xd) diffs.push(`${mode} seed ${seed}: conntrack ${argv.join(' ')} exit ${xk} (kernel), ${xd} (dpemu)`);
        }
      }
      const batch: [End, Uint8Array][] = [];
      for (const [i, c] of conns.entries()) if (c[round] && !bad.has(sport(i)) && (ONLY === undefined || ONLY === sport(i))) batch.push([c[round]!.from, frameOf(c[round]!, sport(i), id++)]);
      if (!batch.length) break;
      const { seen: sk, at } = await k.send(batch);
      const sd = d.send(batch, at);
      sent += batch.length;
      forwarded += sk.in.length + sk.out.length;
      const problems = new Map<number, string[]>();
      const note = (port: number, what: string) => problems.set(port, [...(problems.get(port) ?? []), what]);
      for (const end of ['in', 'out'] as End[]) {
        const a = new Set(sk[end].map(hex)), b = new Set(sd[end].map(hex));
        for (const f of sk[end]) if (!b.has(hex(f))) note(portOfFrame(f), `kernel forwarded, dpemu did not: ${formatBytes(f)}`);
        for (const f of sd[end]) if (!a.has(hex(f))) note(portOfFrame(f), `dpemu forwarded, the kernel did not: ${formatBytes(f)}`);
      }
      const lk = byLine(k.conntrack()), ld = byLine(d.conntrack(Date.now()));
      for (const l of lk.keys()) seenStates.add(l.split(' ')[3]!);
      if (ONLY !== undefined) console.log(`${round}: forwarded ${sk.in.length + sk.out.length}/${sd.in.length + sd.out.length}\n  kernel: ${[...lk].join('\n          ')}\n  dpemu:  ${[...ld].join('\n          ')}`);
      for (const [l, t] of lk) {
        const td = ld.get(l);
        if (td === undefined) { if (t > 0) note(portOfLine(l), `kernel only: ${l.replace(' T ', ` ${t} `)}`); }
        else if (Math.abs(td - t) > 2) note(portOfLine(l), `timeout ${t} (kernel) vs ${td} (dpemu): ${l}`);
      }
      for (const [l, t] of ld) if (!lk.has(l) && t > 0) note(portOfLine(l), `dpemu only:  ${l.replace(' T ', ` ${t} `)}`);
      for (const [port, what] of problems) {
        if (bad.has(port)) continue;
        bad.add(port);
        diffs.push(`${mode} seed ${seed}, port ${port}, after segment ${round}:\n${history(port, round)}\n    ${what.join('\n    ')}`);
      }
      // The counters and the state filters are compared while no connection differs (then they would too).
      if (!bad.size) {
        const ck = k.stats(), cd = d.stats();
        for (const key of STATS) if (ck[key] !== cd[key]) diffs.push(`${mode} seed ${seed}, round ${round}: conntrack -S ${key}: kernel ${ck[key]}, dpemu ${cd[key]}`);
        if (round % 6 === 5) {
          for (const s of STATE_WORDS) {
            const argv = ['-L', '-p', 'tcp', '--state', s];
            diffs.push(...sameRun(`${mode} seed ${seed}, round ${round}: conntrack ${argv.join(' ')}`, k.run(argv), d.run(argv, Date.now())));
          }
        }
        if (diffs.length) break;
      }
    }
    // What -U and -D do with --state: CLOSE_INIT with a state from TIME_WAIT on (libct_proto_tcp.c), and which entries they take.
    if (!diffs.length) {
      for (const argv of [['-D', '-p', 'tcp', '--state', 'CLOSE'], ['-D', '-p', 'udp', '--state', 'CLOSE'], ['-L', '-p', 'tcp', '--state', 'FIN_WAIT', '--state', 'LAST_ACK']]) {
        diffs.push(...sameRun(`${mode} seed ${seed}: conntrack ${argv.join(' ')}`, k.run(argv), d.run(argv, Date.now())));
      }
      // -U's own listing is not compared: 1.4.7 leaves some updated entries unprinted (conntrack-commands.ts).
      for (const argv of [['-U', '-p', 'tcp', '-f', 'ipv4', '--sport', '42003', '--state', 'TIME_WAIT'], ['-U', '-p', 'tcp', '-f', 'ipv4', '--state', 'ESTABLISHED', '-m', '7']]) {
        const rk = k.run(argv), rd = d.run(argv, Date.now());
        if (rk.exit !== rd.exit) diffs.push(`${mode} seed ${seed}: conntrack ${argv.join(' ')} exit ${rk.exit} (kernel), ${rd.exit} (dpemu); stderr:\n  ${rk.stderr.trim()}\n  ${rd.stderr.trim()}`);
        diffs.push(...sameRun(`${mode} seed ${seed}: conntrack -L after ${argv.join(' ')}`, k.run(['-L']), d.run(['-L'], Date.now())));
      }
    }
  } finally {
    k.close();
  }
  const invalid = k.stats().invalid!;
  if (process.env.DPEMU_CT_VERBOSE) console.log(mode, { sent, forwarded, invalid, pathHits: d.e.path?.hits ?? 0, states: [...seenStates].sort() });
  return diffs;
}

before(() => requireRoot('tcp conntrack against the kernel'));
after(() => objs.cleanup());

test('strict tcp tracking (be_liberal 0, loose 0): random segment sequences get the kernel\'s verdicts, states and timeouts', async () => {
  const diffs = await scenario('t', STRICT, SEED);
  assert.deepEqual(diffs, [], diffs.join('\n'));
});

test('liberal tcp tracking with pickup (be_liberal 1, loose 1): the same', async () => {
  const diffs = await scenario('l', LIBERAL, SEED + 1000);
  assert.deepEqual(diffs, [], diffs.join('\n'));
});

test('kernel defaults (be_liberal 0, loose 1): the same', async () => {
  const diffs = await scenario('k', DEFAULTS, SEED + 2000);
  assert.deepEqual(diffs, [], diffs.join('\n'));
});

test('nothing of ours is left in the kernel', () => {
  objs.cleanup();
  assert.deepEqual(KernelObjects.leftovers(tag), []);
});
