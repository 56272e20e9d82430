// Conntrack and SNAT against the real kernel's. A router namespace in the
// kernel and one in dpemu's model get the same interfaces, MACs, addresses,
// routes, static neighbours and iptables-restore text (Neutron's snat
// namespace chains, SNAT --to-source, then the same with MASQUERADE); the
// same frames are sent to both, from a client side and a server side:
// UDP one-way and request/reply (a stream turning ASSURED), ICMP echo, ICMP
// errors quoting NATed packets, TCP opening and closing (FIN, RST, refused),
// two clients on the same source port, and packets conntrack finds INVALID;
// once with Neutron's be_liberal=1, once strict (be_liberal=0, tcp_loose=0,
// accounting on). After every step both must have forwarded the same bytes
// (what a capture on each wire sees), list the same `conntrack -L` lines and
// count the same `conntrack -S`; at the end dpemu's conntrack command must
// answer conntrack-tools' filters, errors and deletions as the real one does.
// Meanwhile the real `conntrack -E` listens in the kernel's router and a
// listener on the model's table prints its events: each connection's
// NEW/UPDATE/DESTROY lines must be the same, in the same order.
// IP fragments too: UDP and echo datagrams in fragments, in order and
// reversed, both ways (reassembled before conntrack, NATed, sent out in the
// original geometry), refragmented for a route with a smaller MTU, with DF
// (the router's fragmentation needed), a duplicate, an overlap, an echo to
// the router itself, whole and in fragments (its reply fragmented), and a
// lone fragment that stays queued. Frames the router makes itself are
// compared without their IP id (the kernel's is random).
//
// The kernel's ends: veth peers in two namespaces with no address, driven by
// AF_PACKET sockets (conntrack-wire.py), so no host stack answers for them.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireRoot } from '../helpers/root.js';
import { CaptureSink } from '../helpers/sink.js';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';
import type { Port } from '../../src/datapath/element.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { parseIpv4, parseMacNum } from '../../src/wire/addr.js';
import { buildFrame, type FrameSpec, type TcpSpec, type UdpSpec, type IcmpSpec } from '../../src/wire/frame.js';
import { formatBytes } from '../../src/wire/tcpdump.js';
import { checksum } from '../../src/wire/checksum.js';
import { conntrackEventText, conntrackList } from '../../src/netfilter/index.js';
import { conntrackTool } from '../../src/control/conntrack-commands.js';
import { ControlError } from '../../src/control/protocol.js';
import { KernelObjects, sh, tryRun, uniqueTag } from './lab-names.js';

const WIRE = fileURLToPath(new URL('./conntrack-wire.py', import.meta.url));
const tag = uniqueTag();
const objs = new KernelObjects();

// Addresses: the tenant subnet as in the seed; outside, RFC 5737 ones.
const ROUTER_IN = '192.168.1.1';
const SNAT = '203.0.113.200';
const GW = '203.0.113.1';
const SERVER = '198.51.100.10';
/** A server behind a route with a smaller MTU (refragmentation). */
const SERVER2 = '198.51.100.20';
const MTU2 = 1000;
const MAC = {
  ri: '02:00:5e:10:01:01', // router, inside
  ro: '02:00:5e:10:02:c8', // router, outside (the SNAT address's qg- port)
  c7: '02:00:5e:10:01:07', // client 192.168.1.7
  c8: '02:00:5e:10:01:08', // client 192.168.1.8
  gw: '02:00:5e:10:02:01', // the outside gateway the server is behind
};

type End = 'in' | 'out';
/** What a conntrack command printed, and its exit status. */
type Said = { stdout: string; stderr: string; exit: number };
type CtSysctls = Record<string, number>;
/** Neutron sets be_liberal in its namespaces (the model's default); tcp_loose stays the kernel's 1. */
const NEUTRON: CtSysctls = { 'net.netfilter.nf_conntrack_tcp_be_liberal': 1, 'net.netfilter.nf_conntrack_tcp_loose': 1 };
/**
 * The kernel's defaults but no mid-stream pickup: window tracking decides, an ACK from nowhere
 * is INVALID; and accounting on (packets= bytes= in conntrack -L).
 */
const STRICT: CtSysctls = { 'net.netfilter.nf_conntrack_tcp_be_liberal': 0, 'net.netfilter.nf_conntrack_tcp_loose': 0, 'net.netfilter.nf_conntrack_acct': 1 };
/** The conntrack -S counters both keep. */
const STATS = ['found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart'] as const;

function rules(ro: string, nat: string): string {
  return `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:neutron-l3-agent-PREROUTING - [0:0]
:neutron-l3-agent-mark - [0:0]
-A PREROUTING -j neutron-l3-agent-PREROUTING
-A neutron-l3-agent-PREROUTING -j neutron-l3-agent-mark
-A neutron-l3-agent-mark -i ${ro} -j MARK --set-xmark 0x2/0xffff
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:neutron-l3-agent-POSTROUTING - [0:0]
:neutron-l3-agent-snat - [0:0]
:neutron-postrouting-bottom - [0:0]
-A POSTROUTING -j neutron-l3-agent-POSTROUTING
-A POSTROUTING -j neutron-postrouting-bottom
-A neutron-l3-agent-POSTROUTING ! -i ${ro} ! -o ${ro} -m conntrack ! --ctstate DNAT -j ACCEPT
-A neutron-l3-agent-snat -o ${ro} -j ${nat}
-A neutron-l3-agent-snat -m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j ${nat}
-A neutron-postrouting-bottom -m comment --comment "Perform source NAT on outgoing traffic." -j neutron-l3-agent-snat
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m connmark --mark 0x5/0xf -j DROP
COMMIT
`;
}

/** The kernel's router namespace with its two ends. */
class KernelSide {
  readonly r: string;
  readonly ends: Record<End, [string, string]>;
  constructor(readonly role: string, ri: string, ro: string, ruleText: string, ct: CtSysctls) {
    this.r = objs.addNetns(`dpe-${tag}-${role}r`);
    const c = objs.addNetns(`dpe-${tag}-${role}c`);
    const s = objs.addNetns(`dpe-${tag}-${role}s`);
    for (const ns of [this.r, c, s]) {
      // No IPv6 chatter (router solicitations, MLD) on the wires.
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    const ci = `dpe-${tag}-ci`, so = `dpe-${tag}-so`;
    objs.veth(`dpe${tag}${role}i`, this.r, ri, c, ci, { aMac: MAC.ri });
    objs.veth(`dpe${tag}${role}o`, this.r, ro, s, so, { aMac: MAC.ro });
    const ip = (...a: string[]) => sh('ip', ['-n', this.r, ...a]);
    ip('addr', 'add', `${ROUTER_IN}/24`, 'dev', ri);
    ip('addr', 'add', `${SNAT}/24`, 'dev', ro);
    ip('route', 'add', 'default', 'via', GW, 'dev', ro);
    ip('route', 'add', `${SERVER2}/32`, 'via', GW, 'dev', ro, 'mtu', String(MTU2));
    ip('neigh', 'replace', '192.168.1.7', 'lladdr', MAC.c7, 'dev', ri, 'nud', 'permanent');
    ip('neigh', 'replace', '192.168.1.8', 'lladdr', MAC.c8, 'dev', ri, 'nud', 'permanent');
    ip('neigh', 'replace', GW, 'lladdr', MAC.gw, 'dev', ro, 'nud', 'permanent');
    sh('ip', ['netns', 'exec', this.r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', ...Object.entries(ct).map(([k, v]) => `${k}=${v}`)]);
    const rs = spawnSync('ip', ['netns', 'exec', this.r, 'iptables-restore'], { input: ruleText, encoding: 'utf8' });
    assert.equal(rs.status, 0, rs.stderr);
    this.ends = { in: [c, ci], out: [s, so] };
  }

  /** What each end received, and when (ms since the epoch) the frame went in. */
  send(end: End, frames: Uint8Array[]): { seen: Record<End, Uint8Array[]>; at: number } {
    const hex = frames.map((f) => Buffer.from(f).toString('hex'));
    const r = spawnSync('python3', [WIRE], { input: JSON.stringify({ ends: this.ends, send: [end, hex] }), encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    const { at, seen } = JSON.parse(r.stdout) as { at: number; seen: Record<End, string[]> };
    const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
    return { seen: { in: seen.in.map(bytes), out: seen.out.map(bytes) }, at };
  }

  conntrack(): string[] {
    const r = tryRun('ip', ['netns', 'exec', this.r, 'conntrack', '-L']);
    assert.equal(r.status, 0, r.out);
    return r.out.split('\n').filter((l) => l !== '' && !l.startsWith('conntrack v'));
  }

  tool(argv: string[]): Said {
    const r = spawnSync('ip', ['netns', 'exec', this.r, 'conntrack', ...argv], { encoding: 'utf8', timeout: 10_000 });
    return { stdout: r.stdout, stderr: r.stderr, exit: r.status ?? -1 };
  }

  /**
   * Start the real `conntrack -E` here (its output to files: this test blocks
   * its event loop while frames go through); stopping it as Ctrl-C does gives
   * its lines and its summary.
   */
  async listen(): Promise<() => Promise<{ lines: string[]; stderr: string }>> {
    const dir = mkdtempSync(join(tmpdir(), 'dpe-ctev-'));
    const out = openSync(join(dir, 'out'), 'w'), err = openSync(join(dir, 'err'), 'w');
    const child = spawn('ip', ['netns', 'exec', this.r, 'conntrack', '-E'], { stdio: ['ignore', out, err] });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    // Subscribed before the first frame: its NETLINK_NETFILTER socket (protocol 12) has joined the conntrack
    // event groups. A fixed 500 ms pause was a race on a loaded box (starting a tool there took up to 0.7 s).
    const subscribed = (): boolean => {
      try {
        return readFileSync(`/proc/${child.pid}/net/netlink`, 'utf8').split('\n').some((l) => /^\S+ +12 +\d+ +(?!0{8} )[0-9a-f]{8} /.test(l));
      } catch {
        return false; // exited (the assertion below says so)
      }
    };
    for (const deadline = Date.now() + 30_000; !subscribed(); await new Promise((r) => setTimeout(r, 50))) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `conntrack -E did not subscribe: ${readFileSync(join(dir, 'err'), 'utf8')}`);
    }
    return async () => {
      child.kill('SIGINT');
      await exited;
      closeSync(out);
      closeSync(err);
      const lines = readFileSync(join(dir, 'out'), 'utf8').split('\n').filter(Boolean);
      const stderr = readFileSync(join(dir, 'err'), 'utf8');
      rmSync(dir, { recursive: true, force: true });
      return { lines, stderr };
    };
  }

  /** conntrack -S summed over cpus. */
  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of sh('ip', ['netns', 'exec', this.r, 'conntrack', '-S']).matchAll(/(\w+)=(\d+)/g)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
    return out;
  }
}

/**
 * The same router in dpemu's model, its ports ending in capture sinks. Its
 * clock is the wall clock since it was made, set to the instant the kernel
 * got each frame or was asked, so timeouts run alike on both.
 */
class ModelSide {
  readonly clock = new ManualClock(0);
  readonly e = new Engine({ clock: this.clock });
  readonly r: NetNamespace;
  readonly ports: Record<End, Port>;
  readonly sinks: Record<End, CaptureSink> = { in: new CaptureSink(), out: new CaptureSink() };
  private readonly t0 = Date.now();
  constructor(ri: string, ro: string, ruleText: string, ct: CtSysctls) {
    this.r = this.e.add(new NetNamespace('lab', 'router'));
    for (const [k, v] of Object.entries(ct)) this.r.setSysctl(k, v);
    const ip = (s: string) => parseIpv4(s)!;
    this.ports = {
      in: this.r.addInterface(ri, { mac: parseMacNum(MAC.ri)!, addresses: [{ ip: ip(ROUTER_IN), prefixLen: 24 }] }),
      out: this.r.addInterface(ro, { mac: parseMacNum(MAC.ro)!, addresses: [{ ip: ip(SNAT), prefixLen: 24 }] }),
    };
    this.r.loadRoutes(`default via ${GW} dev ${ro}\n${SERVER2}/32 via ${GW} dev ${ro} mtu ${MTU2}`);
    this.r.loadNeighbours(`192.168.1.7 dev ${ri} lladdr ${MAC.c7} PERMANENT
192.168.1.8 dev ${ri} lladdr ${MAC.c8} PERMANENT
${GW} dev ${ro} lladdr ${MAC.gw} PERMANENT`);
    this.r.loadIptables(ruleText);
    this.e.attachEdge(this.ports.in, this.sinks.in);
    this.e.attachEdge(this.ports.out, this.sinks.out);
  }

  /** Emulated time to `at` (ms since the epoch), never backwards. */
  private sync(at: number): void {
    this.clock.set(Math.max(this.e.now, Math.floor(at - this.t0)));
  }

  send(end: End, frames: Uint8Array[], at: number): Record<End, Uint8Array[]> {
    this.sync(at);
    for (const f of frames) this.e.inject(this.e.pool.allocFrom(f)!, this.ports[end]);
    return { in: this.sinks.in.take(), out: this.sinks.out.take() };
  }

  conntrack(at: number): string[] {
    this.sync(at);
    return conntrackList(this.r.nf.conntrack, this.e.now);
  }

  /** dpemu's conntrack command on this namespace, as the control socket would answer it. */
  tool(argv: string[], at: number): Said {
    this.sync(at);
    try {
      const { stdout, stderr, exit } = conntrackTool(this.r.nf.conntrack, this.e.now, argv);
      return { stdout, stderr, exit };
    } catch (e) {
      if (!(e instanceof ControlError)) throw e;
      return { stdout: '', stderr: e.stderr, exit: e.exit };
    }
  }

  /** How long after `at` (ms since the epoch) the last entry to expire within `ms` of it goes (0: none does). */
  expiring(at: number, ms: number): number {
    const now = Math.max(this.e.now, Math.floor(at - this.t0));
    let last = 0;
    for (const e of this.r.nf.conntrack.list()) if (e.deadline > now && e.deadline <= now + ms) last = Math.max(last, e.deadline - now);
    return last;
  }

  stats(): Record<string, number> {
    const s = this.r.nf.conntrack.stats;
    return Object.fromEntries(STATS.map((k) => [k, s[k]]));
  }
}

// ---- the traffic --------------------------------------------------------------

/** What one side saw of a flow: the last frame the server received of it (its NATed source). */
type Seen = Map<string, Uint8Array>;

const rd16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const ipOf = (b: Uint8Array, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const L4 = (b: Uint8Array) => 14 + (b[14]! & 15) * 4;

function fromClient(n: 7 | 8, l4: Pick<FrameSpec, 'udp' | 'tcp' | 'icmp'>, id: number, to = SERVER, df = true): Uint8Array {
  return buildFrame({ src: n === 7 ? MAC.c7 : MAC.c8, dst: MAC.ri, ip: { src: `192.168.1.${n}`, dst: to, id, df }, ...l4 });
}

/** Fragment offset in bytes (0 for the first fragment or a whole datagram). */
const fragOffset = (f: Uint8Array) => (rd16(f, 20) & 0x1fff) * 8;

/**
 * The datagram in `frame` as a sender cuts it: fragments of `sizes` payload
 * bytes (the last gets the rest), DF as in the frame, each header's checksum.
 */
function fragments(frame: Uint8Array, sizes: number[]): Uint8Array[] {
  const ihl = (frame[14]! & 15) * 4, payload = frame.subarray(14 + ihl), df = rd16(frame, 20) & 0x4000;
  const out: Uint8Array[] = [];
  for (let off = 0, i = 0; off < payload.length; i++) {
    const len = Math.min(sizes[i] ?? payload.length, payload.length - off);
    const f = new Uint8Array(14 + ihl + len);
    f.set(frame.subarray(0, 14 + ihl));
    f.set(payload.subarray(off, off + len), 14 + ihl);
    const fo = (off >> 3) | (off + len < payload.length ? 0x2000 : 0) | df;
    f.set([(ihl + len) >> 8, (ihl + len) & 0xff], 16);
    f.set([fo >> 8, fo & 0xff, f[22]!, f[23]!, 0, 0], 20);
    const c = checksum(f, 14, ihl);
    f.set([c >> 8, c & 0xff], 24);
    out.push(f);
    off += len;
  }
  return out;
}

/** From the server to where it saw `flow` come from (the NATed address and port or id). */
function toClient(seen: Seen, flow: string, l4: { udp?: Partial<UdpSpec>; tcp?: Partial<TcpSpec>; icmp?: IcmpSpec }, id: number): Uint8Array {
  const f = seen.get(flow);
  assert.ok(f, `the server saw ${flow}`);
  const o = L4(f);
  const spec: FrameSpec = { src: MAC.gw, dst: MAC.ro, ip: { src: SERVER, dst: ipOf(f, 26), id } };
  if (l4.udp) spec.udp = { sport: rd16(f, o + 2), dport: rd16(f, o), ...l4.udp };
  if (l4.tcp) spec.tcp = { sport: rd16(f, o + 2), dport: rd16(f, o), ...l4.tcp };
  if (l4.icmp) spec.icmp = { id: rd16(f, o + 4), ...l4.icmp };
  return buildFrame(spec);
}

/** An ICMP error about the last packet of `flow` the server saw, from `from` (the server, or the gateway on the way). */
function errorAbout(seen: Seen, flow: string, from: string, type: number, code: number, id: number): Uint8Array {
  const f = seen.get(flow);
  assert.ok(f, `the server saw ${flow}`);
  const quote = f.subarray(14, L4(f) + 8);
  return buildFrame({ src: MAC.gw, dst: MAC.ro, ip: { src: from, dst: ipOf(f, 26), id, df: false }, icmp: { type, code, data: Array.from(quote) } });
}

/** An ICMP error from the client about the last reply of `flow` it got (the original direction: SNAT inside and out). */
function errorFromClient(seen: Seen, flow: string, type: number, code: number, id: number): Uint8Array {
  const f = seen.get(`${flow}<`);
  assert.ok(f, `the client saw a reply of ${flow}`);
  const quote = f.subarray(14, L4(f) + 8);
  return buildFrame({ src: MAC.c7, dst: MAC.ri, ip: { src: ipOf(f, 30), dst: ipOf(f, 26), id, df: false }, icmp: { type, code, data: Array.from(quote) } });
}

interface Step {
  what: string;
  end: End;
  /** The flow a client packet belongs to (recorded from what the server saw). */
  flow?: string;
  /** A frame, or the fragments of one datagram sent back to back. */
  frame: (seen: Seen) => Uint8Array | Uint8Array[];
  /** Wall time to let pass before the step (the UDP stream test). */
  waitMs?: number;
}

const MSS_SACK_WS = [2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7];

/** The IP id of the step's frame: the same on both sides (set per step by scenario()). */
let id = 0;

function steps(): Step[] {
  const c = (what: string, flow: string, n: 7 | 8, l4: Pick<FrameSpec, 'udp' | 'tcp' | 'icmp'>, waitMs?: number): Step =>
    ({ what, end: 'in', flow, frame: () => fromClient(n, l4, id), waitMs });
  const s = (what: string, flow: string, l4: Parameters<typeof toClient>[2]): Step =>
    ({ what, end: 'out', flow, frame: (seen) => toClient(seen, flow, l4, id) });
  const raw = (what: string, end: End, frame: (seen: Seen) => Uint8Array | Uint8Array[]): Step => ({ what, end, frame });
  const cf = (what: string, flow: string, l4: Pick<FrameSpec, 'udp' | 'icmp'>, sizes: number[], o: { reverse?: boolean; to?: string; df?: boolean } = {}): Step =>
    ({ what, end: 'in', flow, frame: () => {
      const fs = fragments(fromClient(7, l4, id, o.to, o.df ?? false), sizes);
      return o.reverse ? fs.reverse() : fs;
    } });
  const sf = (what: string, flow: string, l4: Parameters<typeof toClient>[2], sizes: number[], reverse = false): Step =>
    ({ what, end: 'out', flow, frame: (seen) => {
      const whole = toClient(seen, flow, l4, id);
      whole[20]! &= ~0x40; // a sender that fragments sends without DF
      const fs = fragments(whole, sizes);
      return reverse ? fs.reverse() : fs;
    } });
  const tcp = (sport: number, flags: string, seq: number, ack: number, payload = 0, options?: number[]): { tcp: TcpSpec } =>
    ({ tcp: { sport, dport: 80, flags, seq, ack, payload, ...(options ? { options } : {}) } });
  const stcp = (flags: string, seq: number, ack: number, options?: number[]) => ({ tcp: { flags, seq, ack, win: 65160, ...(options ? { options } : {}) } });
  return [
    // UDP, one way: UNREPLIED, refreshed by a second packet.
    c('udp one-way', 'u1', 7, { udp: { sport: 40000, dport: 53, payload: 20 } }),
    c('udp one-way again', 'u1', 7, { udp: { sport: 40000, dport: 53, payload: 20 } }),
    // UDP request/reply, then a stream after two seconds: ASSURED.
    c('udp request', 'u2', 7, { udp: { sport: 40001, dport: 5353, payload: 30 } }),
    s('udp reply', 'u2', { udp: { payload: 40 } }),
    c('udp request 2 s later', 'u2', 7, { udp: { sport: 40001, dport: 5353, payload: 30 } }, 2100),
    s('udp reply (stream)', 'u2', { udp: { payload: 40 } }),
    raw('port unreachable from the client about the reply', 'in', (seen) => errorFromClient(seen, 'u2', 3, 3, id)),
    // ICMP echo and reply.
    c('echo request', 'e1', 7, { icmp: { id: 0x1234, seq: 1, data: 56 } }),
    s('echo reply', 'e1', { icmp: { type: 0, seq: 1, data: 56 } }),
    // ICMP errors quoting NATed packets: from the server, from a gateway on the way.
    c('udp to a closed port', 'u3', 7, { udp: { sport: 40002, dport: 33434, payload: 32 } }),
    raw('port unreachable from the server', 'out', (seen) => errorAbout(seen, 'u3', SERVER, 3, 3, id)),
    c('udp to a port behind the gateway', 'u4', 7, { udp: { sport: 40003, dport: 33435, payload: 32 } }),
    raw('time exceeded from the gateway', 'out', (seen) => errorAbout(seen, 'u4', GW, 11, 0, id)),
    // TCP: handshake, data, FIN both ways, TIME_WAIT.
    c('tcp syn', 't1', 7, tcp(41000, 'S', 1000, 0, 0, MSS_SACK_WS)),
    s('tcp syn-ack', 't1', stcp('S.', 5000, 1001, MSS_SACK_WS)),
    c('tcp ack', 't1', 7, tcp(41000, '.', 1001, 5001)),
    c('tcp data', 't1', 7, tcp(41000, 'P.', 1001, 5001, 100)),
    s('tcp ack of data', 't1', stcp('.', 5001, 1101)),
    c('tcp fin from client', 't1', 7, tcp(41000, 'F.', 1101, 5001)),
    s('tcp ack of fin', 't1', stcp('.', 5001, 1102)),
    s('tcp fin from server', 't1', stcp('F.', 5001, 1102)),
    c('tcp last ack', 't1', 7, tcp(41000, '.', 1102, 5002)),
    // TCP reset by the server after the handshake.
    c('tcp syn (rst)', 't2', 7, tcp(41001, 'S', 7000, 0, 0, MSS_SACK_WS)),
    s('tcp syn-ack (rst)', 't2', stcp('S.', 9000, 7001, MSS_SACK_WS)),
    c('tcp ack (rst)', 't2', 7, tcp(41001, '.', 7001, 9001)),
    s('tcp rst from server', 't2', stcp('R', 9001, 0)),
    // TCP refused: RST/ACK to a SYN.
    c('tcp syn (refused)', 't3', 7, tcp(41002, 'S', 3000, 0, 0, MSS_SACK_WS)),
    s('tcp rst-ack (refused)', 't3', stcp('R.', 0, 3001)),
    // Two clients, one source port: the second gets another.
    c('udp from .7 port 45000', 'p7', 7, { udp: { sport: 45000, dport: 53, payload: 10 } }),
    c('udp from .8 port 45000', 'p8', 8, { udp: { sport: 45000, dport: 53, payload: 10 } }),
    s('reply to .8', 'p8', { udp: { payload: 10 } }),
    s('reply to .7', 'p7', { udp: { payload: 10 } }),
    c('echo from .7 id 0x77', 'i7', 7, { icmp: { id: 0x77, seq: 1, data: 8 } }),
    c('echo from .8 id 0x77', 'i8', 8, { icmp: { id: 0x77, seq: 1, data: 8 } }),
    s('echo reply to .8', 'i8', { icmp: { type: 0, seq: 1, data: 8 } }),
    raw('port unreachable about the remapped port', 'out', (seen) => errorAbout(seen, 'p8', SERVER, 3, 3, id)),
    raw('host unreachable about the remapped echo id', 'out', (seen) => errorAbout(seen, 'i8', GW, 3, 1, id)),
    c('udp from .7 port 123', 'n7', 7, { udp: { sport: 123, dport: 123, payload: 48 } }),
    c('udp from .8 port 123', 'n8', 8, { udp: { sport: 123, dport: 123, payload: 48 } }),
    s('reply to .8 port 123', 'n8', { udp: { payload: 48 } }),
    c('udp from .7 port 700', 'q7', 7, { udp: { sport: 700, dport: 53, payload: 8 } }),
    c('udp from .8 port 700', 'q8', 8, { udp: { sport: 700, dport: 53, payload: 8 } }),
    // TCP: a SYN sent again, a client reset, data far outside the window, an ACK of data never sent.
    c('tcp syn', 't4', 7, tcp(41010, 'S', 100, 0, 0, MSS_SACK_WS)),
    c('tcp syn retransmitted', 't4', 7, tcp(41010, 'S', 100, 0, 0, MSS_SACK_WS), 1100),
    c('tcp syn (client rst)', 't5', 7, tcp(41011, 'S', 200, 0, 0, MSS_SACK_WS)),
    s('tcp syn-ack (client rst)', 't5', stcp('S.', 800, 201, MSS_SACK_WS)),
    c('tcp ack (client rst)', 't5', 7, tcp(41011, '.', 201, 801)),
    c('tcp rst from client', 't5', 7, tcp(41011, 'R', 201, 0)),
    c('tcp syn (window)', 't6', 7, tcp(41012, 'S', 10000, 0, 0, MSS_SACK_WS)),
    s('tcp syn-ack (window)', 't6', stcp('S.', 20000, 10001, MSS_SACK_WS)),
    c('tcp ack (window)', 't6', 7, tcp(41012, '.', 10001, 20001)),
    c('tcp data far past the window', 't6', 7, tcp(41012, 'P.', 10001 + 50_000_000, 20001, 10)),
    s('tcp ack of data never sent', 't6', stcp('.', 20001, 10001 + 90_000_000)),
    s('tcp data from the server', 't6', { tcp: { flags: 'P.', seq: 20001, ack: 10001, win: 509, payload: 20 } }),
    c('tcp ack of it', 't6', 7, tcp(41012, '.', 10001, 20021)),
    raw('time exceeded from the gateway quoting tcp', 'out', (seen) => errorAbout(seen, 't6', GW, 11, 0, id)),
    // TIME_WAIT, then the same ports again: the old entry dies, a new one starts.
    c('tcp syn reusing the closed ports', 't1', 7, tcp(41000, 'S', 90000, 0, 0, MSS_SACK_WS)),
    // INVALID: no NAT, forwarded as they came (nothing drops INVALID here).
    c('echo reply with no request', 'x1', 7, { icmp: { type: 0, id: 0x4321, seq: 1, data: 8 } }),
    c('tcp syn+fin', 'x2', 7, tcp(41003, 'SF', 1, 0)),
    c('tcp ack with no connection (picked up when loose)', 'x3', 7, tcp(41004, '.', 1, 1)),
    raw('port unreachable quoting no connection', 'out', () => {
      const orig = buildFrame({ src: MAC.ro, dst: MAC.gw, ip: { src: SNAT, dst: SERVER }, udp: { sport: 1999, dport: 2999, payload: 4 } });
      return buildFrame({ src: MAC.gw, dst: MAC.ro, ip: { src: SERVER, dst: SNAT, id: 1, df: false }, icmp: { type: 3, code: 3, data: Array.from(orig.subarray(14, 14 + 28)) } });
    }),
    c('icmp type 42', 'x4', 7, { icmp: { type: 42, code: 0, info: 0, data: 8 } }),
    c('icmp timestamp request', 'x5', 7, { icmp: { type: 13, code: 0, id: 0x55, seq: 1, data: 12 } }),
    raw('echo request with a bad checksum', 'in', () => {
      const f = fromClient(7, { icmp: { id: 0x66, seq: 1, data: 8 } }, id);
      f[14 + 20 + 2]! ^= 0x55;
      return f;
    }),
    raw('tcp syn with a bad checksum', 'in', () => {
      const f = fromClient(7, tcp(41005, 'S', 1, 0), id);
      f[14 + 20 + 16]! ^= 0x55;
      return f;
    }),
    raw('udp with a bad checksum', 'in', () => {
      const f = fromClient(7, { udp: { sport: 40009, dport: 53, payload: 8 } }, id);
      f[14 + 20 + 6]! ^= 0x55;
      return f;
    }),
    // Fragments: reassembled before conntrack, NATed as one datagram, sent on in the geometry they came in.
    cf('udp in 3 fragments', 'f1', { udp: { sport: 42000, dport: 53, payload: 2400 } }, [1200, 600]),
    sf('udp reply in 2 fragments', 'f1', { udp: { payload: 1800 } }, [1480]),
    cf('echo request in 3 fragments, reversed', 'f2', { icmp: { id: 0x4242, seq: 1, data: 3000 } }, [1480, 1480], { reverse: true }),
    sf('echo reply in 3 fragments, reversed', 'f2', { icmp: { type: 0, seq: 1, data: 3000 } }, [1480, 1480], true),
    cf('udp in fragments of 1480 to a route of MTU 1000: cut again', 'f3', { udp: { sport: 42001, dport: 53, payload: 2000 } }, [1480], { to: SERVER2 }),
    cf('udp in fragments with DF to a route of MTU 1000: fragmentation needed', 'f4', { udp: { sport: 42002, dport: 53, payload: 2000 } }, [1480], { to: SERVER2, df: true }),
    cf('udp in fragments of 600 with DF to a route of MTU 1000: forwarded', 'f5', { udp: { sport: 42003, dport: 53, payload: 1500 } }, [600, 600], { to: SERVER2, df: true }),
    raw('udp in 2 fragments, the first twice', 'in', () => {
      const fs = fragments(fromClient(7, { udp: { sport: 42004, dport: 53, payload: 1600 } }, id, SERVER, false), [1000]);
      return [fs[0]!, fs[0]!, fs[1]!];
    }),
    raw('overlapping fragments: the datagram is dropped', 'in', () => {
      const f = fromClient(7, { udp: { sport: 42005, dport: 53, payload: 1600 } }, id, SERVER, false);
      return [fragments(f, [1000])[0]!, fragments(f, [992])[1]!];
    }),
    // To the router itself: reassembled (before conntrack here), answered, the reply cut to the MTU.
    raw('echo request to the router', 'in', () => fromClient(7, { icmp: { id: 0x5151, seq: 1, data: 56 } }, id, ROUTER_IN)),
    raw('echo request in fragments to the router', 'in', () =>
      fragments(fromClient(7, { icmp: { id: 0x5152, seq: 1, data: 3000 } }, id, ROUTER_IN, false), [1000, 1000])),
    raw('a lone later fragment: queued, nothing forwarded, no entry', 'in', () =>
      [fragments(fromClient(7, { udp: { sport: 42006, dport: 53, payload: 1600 } }, id, SERVER, false), [1000])[1]!]),
    // Last, the 30 s UDP entries the -U cases after the steps work on, refreshed: on a slow run the steps
    // take about that long, and an entry expiring between the kernel's listing and the model's is no difference.
    c('udp one-way, refreshed for the -U cases', 'u1', 7, { udp: { sport: 40000, dport: 53, payload: 20 } }),
    c('udp from .7 port 123, refreshed', 'n7', 7, { udp: { sport: 123, dport: 123, payload: 48 } }),
    c('udp from .8 port 123, refreshed', 'n8', 8, { udp: { sport: 123, dport: 123, payload: 48 } }),
  ];
}

// ---- comparing ------------------------------------------------------------------

/** A flow whose NATed port (or ICMP id) is the kernel's random choice: the side's own value. */
type Remaps = Map<number, number>;

/**
 * conntrack -L lines made comparable: the remaining timeout (3rd field) is
 * kept aside to be compared with a tolerance, since the kernel counts from its
 * jiffies and the model from its clock; a remapped port becomes "P<original>".
 * `use=` is the reference count, 1 for every listed entry on an idle box: kept.
 */
function normalise(lines: string[], remaps: Remaps): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) {
    const f = l.split(/\s+/);
    const t = Number(f[2]);
    f[2] = 'T';
    let s = f.join(' ');
    for (const [mine, orig] of remaps) s = s.replace(new RegExp(`(dst=${SNAT.replaceAll('.', '\\.')} (?:sport=\\d+ dport|type=\\d+ code=\\d+ id))=${mine}\\b`), `$1=P${orig}`);
    out.set(s, t);
  }
  return out;
}

/** One conntrack -E line made comparable (eventsByFlow). */
type Ev = { key: string; t: number | undefined; user: boolean };

/**
 * conntrack -E lines of each connection (by its original tuple), made
 * comparable: a remapped port as in normalise(), the time left aside (none
 * on a DESTROY by expiry) and whether user space deleted it, the deleting
 * process's port number out.
 */
function eventsByFlow(lines: string[], remaps: Remaps): Map<string, Ev[]> {
  const out = new Map<string, Ev[]>();
  for (const l of lines) {
    const f = l.trim().split(/\s+/);
    const t = /^\d+$/.test(f[3]!) ? Number(f.splice(3, 1)[0]) : undefined;
    let key = f.join(' ');
    const user = / \[USERSPACE\] portid=\d+(?: progname=\S+)?$/.test(key);
    key = key.replace(/ \[USERSPACE\] portid=\d+(?: progname=\S+)?$/, '');
    for (const [mine, orig] of remaps) key = key.replace(new RegExp(`(dst=${SNAT.replaceAll('.', '\\.')} (?:sport=\\d+ dport|type=\\d+ code=\\d+ id))=${mine}\\b`), `$1=P${orig}`);
    const flow = `${f[1]} ${/src=\S+ dst=\S+ (?:sport=\d+ dport=\d+|type=\d+ code=\d+ id=\d+)/.exec(key)?.[0]}`;
    out.set(flow, [...(out.get(flow) ?? []), { key, t, user }]);
  }
  return out;
}

/**
 * The same event on both sides: the same words, the time left within 2 s
 * and the same deleter. An entry in its last seconds may have expired on one
 * side (no time left printed; the kernel's gc reaps it) and be flushed by -F
 * on the other: then only the words must agree.
 */
function sameEvent(a: Ev, b: Ev): boolean {
  if (a.key !== b.key) return false;
  if (a.t !== undefined && b.t !== undefined) return Math.abs(a.t - b.t) <= 2 && a.user === b.user;
  return (a.t ?? 0) <= 2 && (b.t ?? 0) <= 2;
}

function diffEvents(k: string[], d: string[], remK: Remaps, remD: Remaps): string[] {
  const ek = eventsByFlow(k, remK), ed = eventsByFlow(d, remD);
  const diffs: string[] = [];
  for (const flow of new Set([...ek.keys(), ...ed.keys()])) {
    const a = ek.get(flow) ?? [], b = ed.get(flow) ?? [];
    if (a.length === b.length && a.every((x, i) => sameEvent(x, b[i]!))) continue;
    const show = (xs: Ev[]) => xs.map((x) => `${x.key}${x.t === undefined ? '' : ` (${x.t})`}${x.user ? ' [USERSPACE]' : ''}`).join('\n             ') || '(none)';
    diffs.push(`  ${flow}:\n    kernel:  ${show(a)}\n    dpemu:   ${show(b)}`);
  }
  return diffs;
}

/**
 * What the model listed at the instants just before the kernel's command
 * started and just after it ended: the kernel read its table somewhere in
 * between (a slow box stretches that to seconds). Equal for a command that
 * changes the table (the model runs it once, at the start).
 */
type Window = { early: string[]; late: string[] };

/**
 * The kernel's lines against the model's over `d`'s window: each kernel
 * entry listed by the model at the start (it lived on past the kernel's
 * read), its time left between the model's at the end and at the start
 * (2 s either way for the kernel's jiffies and rounding); a model entry the
 * kernel lacks only if it was gone, or in its last second, by the end.
 */
function diffConntrack(k: string[], d: Window, remK: Remaps, remD: Remaps): string[] {
  const nk = normalise(k, remK), ne = normalise(d.early, remD), nl = normalise(d.late, remD);
  const diffs: string[] = [];
  for (const [l, t] of nk) {
    const te = ne.get(l);
    if (te === undefined) {
      if (t > 0) diffs.push(`  kernel only: ${l.replace(' T ', ` ${t} `)}`);
      continue;
    }
    const tl = nl.get(l) ?? 0;
    if (t < tl - 2 || t > te + 2) diffs.push(`  timeout ${t} (kernel) vs ${tl === te ? te : `${tl} to ${te}`} (dpemu): ${l}`);
  }
  for (const [l, t] of ne) if (!nk.has(l) && (nl.get(l) ?? 0) > 0) diffs.push(`  dpemu only:  ${l.replace(' T ', ` ${t} `)}`);
  return diffs;
}

/** A frame as tcpdump -nne shows it, and its bytes (the difference may be a checksum). */
function show(f: Uint8Array): string {
  return `${formatBytes(f)} ${Buffer.from(f.subarray(14)).toString('hex')}`;
}

function framesDiff(k: Record<End, Uint8Array[]>, d: Record<End, Uint8Array[]>, remK: Remaps, remD: Remaps): string[] {
  const diffs: string[] = [];
  for (const end of ['in', 'out'] as End[]) {
    const a = k[end].map((f) => maskId(maskPort(f, remK))), b = d[end].map((f) => maskId(maskPort(f, remD)));
    const same = a.length === b.length && a.every((f, i) => Buffer.from(f).equals(Buffer.from(b[i]!)));
    if (!same) diffs.push(`  at ${end}:\n    kernel: ${k[end].map(show).join('\n            ') || '(nothing)'}\n    dpemu:  ${d[end].map(show).join('\n            ') || '(nothing)'}`);
  }
  return diffs;
}

/** A packet the router made itself (an ICMP error): a copy without its IP id (the kernel's is random) and header checksum. */
function maskId(f: Uint8Array): Uint8Array {
  if (ipOf(f, 26) !== ROUTER_IN) return f;
  const c = Uint8Array.from(f);
  c.fill(0, 18, 20);
  c.fill(0, 24, 26);
  return c;
}

/** A packet leaving from the SNAT address with a remapped port (or echo id): a copy with it zeroed, and the L4 checksum with it. */
function maskPort(f: Uint8Array, rem: Remaps): Uint8Array {
  if (ipOf(f, 26) !== SNAT || fragOffset(f) !== 0 || !rem.has(natKey(f))) return f;
  const c = Uint8Array.from(f);
  const o = L4(c);
  if (c[23] === 17) c.fill(0, o, o + 2), c.fill(0, o + 6, o + 8);
  else if (c[23] === 6) c.fill(0, o, o + 2), c.fill(0, o + 16, o + 18);
  else if (c[23] === 1) c.fill(0, o + 2, o + 6);
  return c;
}

/**
 * How many `found` a remapped flow's search may have counted beyond the first
 * clash: nf_nat_l4proto_unique_tuple tries ports (or echo ids) upward from a
 * random offset in the class, and each taken one it meets is a found in
 * nf_conntrack_tuple_taken. The run of taken values just below the one chosen
 * is where that search may have started, so up to its length more.
 * `seen` holds what the server saw of each earlier flow.
 */
function takenBefore(f: Uint8Array, seen: Seen): number {
  const icmp = f[23] === 1, key = natKey(f);
  const [min, max] = icmp ? [0, 65535] : key < 512 ? [1, 511] : key < 1024 ? [600, 1023] : [1024, 65535];
  const o = L4(f);
  const sameReply = (g: Uint8Array) => ipOf(g, 26) === SNAT && g[23] === f[23] && ipOf(g, 30) === ipOf(f, 30) &&
    (icmp || rd16(g, L4(g) + 2) === rd16(f, o + 2));
  const taken = new Set([...seen.values()].filter(sameReply).map(natKey));
  let n = 0;
  for (let p = key === min ? max : key - 1; taken.has(p) && n <= max - min; p = p === min ? max : p - 1) n++;
  return n;
}

function natKey(f: Uint8Array): number {
  const o = L4(f);
  return f[23] === 1 ? rd16(f, o + 4) : rd16(f, o);
}

/**
 * conntrack -U on the tables the traffic left, before TOOL_CASES: marks set
 * whole and under a mask, status bits added, timeouts set (fixed, and 0:
 * gone), unchanged entries skipped, 1.4.7's refusals (no family; EXPECTED),
 * the entries listed after. Then (scenario) a mark that the FORWARD rule's
 * connmark 5/0xf drops a segment for, and one it does not.
 */
const UPDATE_CASES: string[][] = [
  ['-U', '-s', '192.168.1.8', '-m', '5'], ['-L', '-m', '5'], ['-U', '-s', '192.168.1.8', '-m', '5'],
  ['-U', '-f', 'ipv4', '-p', 'udp', '--dport', '53', '-m', '0x30/0x30'], ['-L', '-m', '0x30/0xf0'],
  ['-U', '-d', SERVER, '-p', 'icmp', '-m', '0x100/0x100', '-o', 'extended'], ['-U', '-p', 'udp', '-m', '7'], ['-U', '-m', '7'],
  ['-U', '-s', '192.168.1.7', '-p', 'udp', '--sport', '40000', '-u', 'ASSURED'], ['-L', '-s', '192.168.1.7', '-p', 'udp', '--sport', '40000'],
  // Timeouts no entry has left (one equal to the time left changes nothing: skipped).
  ['-U', '-s', '192.168.1.7', '-p', 'udp', '--sport', '40000', '-u', 'SEEN_REPLY', '-t', '200'],
  ['-U', '-s', '192.168.1.7', '-p', 'udp', '--sport', '40001', '-u', 'EXPECTED', '-t', '190', '-m', '9'],
  ['-U', '-p', 'tcp', '-f', 'ipv4', '-t', '1000'], ['-U', '-r', SERVER, '-p', 'udp', '--reply-port-src', '123', '-t', '0'],
  ['-U', '-s', '192.168.1.8', '-p', 'udp', '-u', 'FIXED_TIMEOUT', '-t', '300'], ['-U', '-u', 'UNSET', '-f', 'ipv4'], ['-U', '-f', 'ipv4'],
  ['-U', '-f', 'ipv6', '-m', '1'], ['-U', '-n', '-d', SERVER2, '-m', '1'],
  // 1.4.7's -u overwrites -m's value with its bits: -U sets those, and -L's user-space check wants them.
  ['-U', '-s', '192.168.1.7', '-p', 'udp', '--sport', '40001', '-m', '0x30', '-u', 'ASSURED'], ['-L', '-m', '4', '-u', 'ASSURED'],
  ['-L', '-u', 'ASSURED', '-m', '4'], ['-L', '-m', '0x30', '-u', 'ASSURED'], ['-L'],
];

const TOOL_CASES: string[][] = [
  ['-L', '-o', 'extended'], ['-L', 'conntrack', '-p', 'tcp'], ['-L', '-p', 'udp', '--dport', '53'], ['-L', '-p', '17', '--sport', '45000'],
  ['-L', '-s', '192.168.1.8'], ['-L', '-d', SERVER, '-p', 'icmp'], ['-L', '-r', SERVER, '-q', '192.168.1.7'],
  // inet_aton's forms (192.168.264 and 0xc0a80108 are 192.168.1.8) and -s/-d's CIDR.
  ['-L', '-s', '192.168.264'], ['-L', '-s', '0xc0a80108', '-p', 'udp'], ['-L', '-s', '192.168.1.8/31'], ['-L', '-d', '198.51.100.0/24', '-p', 'icmp'],
  ['-L', '-s', '192.168.1.0/'], ['-L', '-q', '0300.0250.1.7'], ['-L', '-p', 'icmp', '--icmp-type', '8'], ['-L', '-p', 'icmp', '--icmp-type', '0'],
  // -G: the u2 request by its original tuple, then filtered by a reply address, by the reply tuple, a port not there.
  ['-G', '-s', '192.168.1.7', '-d', SERVER, '-p', 'udp', '--sport', '40001', '--dport', '5353'],
  ['-G', '-s', '192.168.1.7', '-d', SERVER, '-p', 'udp', '--sport', '40001', '--dport', '5353', '-o', 'extended', '-q', SNAT],
  ['-G', '-s', '192.168.1.7', '-d', SERVER, '-p', 'udp', '--sport', '40001', '--dport', '5353', '-r', '192.0.2.99'],
  ['-G', '-s', SERVER, '-d', SNAT, '-p', 'udp', '--sport', '5353', '--dport', '40001'],
  ['-G', '-s', '192.168.1.7', '-d', SERVER, '-p', 'udp', '--sport', '40001', '--dport', '5354'],
  ['-L', '-p', 'udp', '--reply-port-src', '123'], ['-L', '-n'], ['-L', '--dst-nat'], ['-L', '-n', '-g'], ['-L', '-j'],
  ['-L', '-u', 'ASSURED'], ['-L', '-u', 'ASSURED,SEEN_REPLY'], ['-L', '-u', 'SEEN_REPLY'], ['-L', '-u', 'UNSET'], ['-L', '-m', '0'],
  ['-L', '-f', 'ipv4'], ['-L', '-f', 'ipv6'], ['-C'],
  ['-L', '-s', '300.1.1.1'], ['-L', '-p', 'foo'], ['-L', '--sport', '1'], ['-L', '--bogus'], ['-L', '-L'], ['-L', 'expectations'],
  ['-L', '-s'], ['-L', '-o', 'foo'],
  ['-D', '-p', 'icmp', '-s', '192.168.1.8'], ['-D', '-s', '10.9.9.9'], ['-L', '-p', 'icmp'], ['-F'], ['-L'],
];

async function scenario(role: string, nat: string, ct: CtSysctls): Promise<string[]> {
  const ri = `dpe-${tag}-${role}i`, ro = `dpe-${tag}-${role}o`;
  const text = rules(ro, nat);
  const k = new KernelSide(role, ri, ro, text, ct);
  const d = new ModelSide(ri, ro, text, ct);
  const table = d.r.nf.conntrack;
  const eventsD: string[] = [];
  table.listen((type, e, now, portid, mark) => eventsD.push(conntrackEventText(table, type, e, now, portid, {}, mark)));
  const stopK = await k.listen();
  const seenK: Seen = new Map(), seenD: Seen = new Map();
  const remK: Remaps = new Map(), remD: Remaps = new Map();
  // Clashes each side's random search may have met before its port (see takenBefore).
  const luck = { k: 0, d: 0 };
  const foundAgrees = (k: number, d: number) => k - luck.k <= d && d - luck.d <= k;
  const diffs: string[] = [];
  for (const [i, st] of steps().entries()) {
    id = 100 + i;
    if (st.waitMs) await new Promise((r) => setTimeout(r, st.waitMs));
    const { seen: outK, at } = k.send(st.end, [st.frame(seenK)].flat());
    const outD = d.send(st.end, [st.frame(seenD)].flat(), at);
    // The last whole datagram or first fragment: where the ports are.
    const lastHead = (fs: Uint8Array[]) => [...fs].reverse().find((f) => fragOffset(f) === 0);
    if (st.flow && st.end === 'in') {
      // Where the server saw it: the NATed source port or id (the clash case's own choice on each side).
      const fk = lastHead(outK.out), fd = lastHead(outD.out);
      if (fk) seenK.set(st.flow, fk);
      if (fd) seenD.set(st.flow, fd);
      const sent = lastHead([st.frame(new Map())].flat())!;
      const orig = natKey(sent);
      for (const [f, rem, seen, side] of [[fk, remK, seenK, 'k'], [fd, remD, seenD, 'd']] as const) {
        if (f && ipOf(f, 26) === SNAT && natKey(f) !== orig) {
          rem.set(natKey(f), orig);
          luck[side] += takenBefore(f, seen);
        }
      }
    } else if (st.flow) {
      // What the client got back (un-NATed), for an error it may send about it.
      const fk = lastHead(outK.in), fd = lastHead(outD.in);
      if (fk) seenK.set(`${st.flow}<`, fk);
      if (fd) seenD.set(`${st.flow}<`, fd);
    }
    const problems = framesDiff(outK, outD, remK, remD);
    const listedFrom = Date.now(), listed = k.conntrack(), listedTo = Date.now();
    problems.push(...diffConntrack(listed, { early: d.conntrack(listedFrom), late: d.conntrack(listedTo) }, remK, remD));
    const sk = k.stats(), sd = d.stats();
    for (const key of STATS) if (key === 'found' ? !foundAgrees(sk.found, sd.found) : sk[key] !== sd[key]) problems.push(`  conntrack -S ${key}: kernel ${sk[key]}, dpemu ${sd[key]}`);
    if (problems.length) diffs.push(`${role}: after "${st.what}":\n${problems.join('\n')}`);
  }
  if (ct['net.netfilter.nf_conntrack_acct']) assert.match(k.conntrack().join('\n'), / packets=\d+ bytes=\d+ /, 'the kernel counts (acct on)');
  // conntrack's filters, messages and exit statuses on the tables left: updates, then what
  // they change for the traffic, then the other commands, deletions last.
  // The longest the kernel's conntrack has taken to answer (ms): how near its end an entry is too near.
  let slowest = 1000;
  const tool = async (argv: string[]) => {
    // What only reads the table is read by the model at both ends of the kernel's run (Window).
    const reads = ['-L', '-G', '-C'].includes(argv[0]!);
    // What changes it runs once on each side: not while an entry may expire in between (whether the
    // kernel's command met it would be chance), so any expiring within twice the slowest answer goes first.
    for (let wait; !reads && (wait = d.expiring(Date.now(), 2 * slowest + 1000)) > 0;) await new Promise((r) => setTimeout(r, wait + 500));
    const askedFrom = Date.now(), a = k.tool(argv), askedTo = Date.now();
    slowest = Math.max(slowest, askedTo - askedFrom);
    const b = d.tool(argv, askedFrom), bLate = reads ? d.tool(argv, askedTo) : b;
    // The count of lines shown is left to the lines' comparison (which lets an entry in its last second go).
    const words = (x: string) => x.replace(/\d+ flow entries have been shown/, 'N flow entries have been shown');
    const kl = a.stdout.split('\n').filter(Boolean);
    let [de, dl] = [b, bLate].map((x) => x.stdout.split('\n').filter(Boolean)) as [string[], string[]];
    // 1.4.7 reads its -U read-backs out of step and prints only some of the entries it updated
    // (the count on stderr is all of them): those must be among dpemu's, which prints them all.
    if (argv[0] === '-U') {
      const printed = new Set(normalise(kl, remK).keys());
      de = dl = de.filter((l) => printed.has([...normalise([l], remD).keys()][0]!));
    }
    const problems: string[] = [];
    if (argv[0] === '-C') {
      // The count: between the model's at the end and at the start.
      const [n, ne, nl] = [kl, de, dl].map((x) => Number(x[0]));
      if (!(n >= nl! && n <= ne!)) problems.push(`  count: kernel ${kl[0]}, dpemu ${nl === ne ? ne : `${nl} to ${ne}`}`);
    } else problems.push(...diffConntrack(kl, { early: de, late: dl }, remK, remD));
    if (words(a.stderr) !== words(b.stderr)) problems.push(`  stderr: kernel ${JSON.stringify(a.stderr)}, dpemu ${JSON.stringify(b.stderr)}`);
    if (a.exit !== b.exit) problems.push(`  exit: kernel ${a.exit}, dpemu ${b.exit}`);
    if (problems.length) diffs.push(`${role}: conntrack ${argv.join(' ')}:\n${problems.join('\n')}`);
  };
  // Entries in CLOSE (10 s) may be in their last moments by now on a slow box, and whether one is still
  // there when a command runs would depend on which side ran it first: let them go on both sides first.
  for (let i = 0; i < 30 && k.conntrack().some((l) => Number(l.split(/\s+/)[2]) <= 10); i++) await new Promise((r) => setTimeout(r, 500));
  for (const argv of UPDATE_CASES) await tool(argv);
  // What a mark set by -U does: t6's connection gets connmark 5 under 0xf (and a fixed timeout), so
  // the FORWARD rule drops its next segment; cleared again, the same segment goes through. With
  // strict tracking that segment (acking data conntrack never saw) was INVALID in the steps, and is
  // not now: every -U naming -p tcp (UPDATE_CASES has one) also turned the entry's window checks off.
  const t6 = ['-p', 'tcp', '-f', 'ipv4', '--sport', '41012'];
  const marks = [[['-u', 'FIXED_TIMEOUT', '-t', '600', '-m', '0x15/0xf'], 0], [['-m', '0/0xf'], 1]] as const;
  for (const [update, forwarded] of marks) {
    await tool(['-U', ...t6, ...update]);
    id++;
    const frame = fromClient(7, { tcp: { sport: 41012, dport: 80, flags: '.', seq: 10001, ack: 20021, payload: 0 } }, id);
    const { seen: outK, at } = k.send('in', [frame]);
    const outD = d.send('in', [frame], at);
    const problems = framesDiff(outK, outD, remK, remD);
    if (outK.out.length !== forwarded) problems.push(`  the kernel forwarded ${outK.out.length} frames, not ${forwarded}`);
    if (problems.length) diffs.push(`${role}: t6's segment after conntrack -U ${update.join(' ')}:\n${problems.join('\n')}`);
    await tool(['-L', ...t6]);
  }
  for (const argv of TOOL_CASES) await tool(argv);
  const eventsK = await stopK();
  assert.match(eventsK.stderr, new RegExp(`: ${eventsK.lines.length} flow events have been shown\\.\\n$`));
  assert.ok(eventsK.lines.length > 50, `the kernel's conntrack -E printed ${eventsK.lines.length} lines`);
  const evDiffs = diffEvents(eventsK.lines, eventsD, remK, remD);
  if (evDiffs.length) diffs.push(`${role}: conntrack -E:\n${evDiffs.join('\n')}`);
  // The kernel's choice rule for a clash (nf_nat_l4proto_unique_tuple): another port of the
  // same class (1-511, 600-1023, 1024-65535), any other echo id; the value itself is random.
  const cls = (p: number) => (p < 512 ? 1 : p < 1024 ? 2 : 3);
  // On a run slower than the 30 s UDP timeout n7's and n8's entries expire before their refresh steps,
  // which make them anew: n8 is remapped again, on both sides alike (the frames' comparison holds them to it).
  for (const [side, rem] of [['kernel', remK], ['dpemu', remD]] as const) {
    const ports = [...rem.entries()].sort((a, b) => a[1] - b[1]);
    assert.deepEqual([...new Set(ports.map((p) => p[1]))], [0x77, 123, 700, 45000], `${side}: the second client's ports and echo id were remapped (${JSON.stringify(ports)})`);
    for (const [mine, orig] of ports) {
      assert.notEqual(mine, orig);
      if (orig !== 0x77) assert.ok(cls(mine) === cls(orig) && (mine < 512 || mine >= 600), `${side}: ${mine} for ${orig}`);
    }
  }
  return diffs;
}

before(() => requireRoot('conntrack against the kernel'));
after(() => objs.cleanup());

test('SNAT --to-source: conntrack -L and the forwarded frames are the kernel\'s', async () => {
  const diffs = await scenario('s', `SNAT --to-source ${SNAT}`, NEUTRON);
  assert.deepEqual(diffs, [], diffs.join('\n'));
});

test('MASQUERADE: conntrack -L and the forwarded frames are the kernel\'s', async () => {
  const diffs = await scenario('m', 'MASQUERADE', NEUTRON);
  assert.deepEqual(diffs, [], diffs.join('\n'));
});

test('SNAT with strict TCP tracking (be_liberal 0, loose 0) and accounting: the same', async () => {
  const diffs = await scenario('t', `SNAT --to-source ${SNAT}`, STRICT);
  assert.deepEqual(diffs, [], diffs.join('\n'));
});

test('nothing of ours is left in the kernel', () => {
  objs.cleanup();
  assert.deepEqual(KernelObjects.leftovers(tag), []);
});
