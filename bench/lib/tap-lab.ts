// What the benchmarks through real TAPs share (bench/tap.ts, bench/tap-churn.ts):
// a running `dpemu run --lab` on a unique copy of configs/lab-dvr-snat.yaml
// (the VM's namespace and the internet host's on TAPs, a control socket and a
// metrics listener of its own), optionally a plain veth pair between two
// namespaces with the same addresses and MTUs, the UDP traffic ends
// (bench/lib/udp-peer.ts, or iperf3 with --sender iperf3) started in a
// namespace, paced blasts, the loss-free rate search, round trips, the
// daemon's CPU time, and the counters along the path that say where a lost
// packet went.
//
// Every kernel object has a dpe- name unique to the run and is deleted by
// exact name on close(), also when the bench fails or is interrupted (SIGINT,
// SIGTERM). Needs root.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { progress } from './harness.js';
import type { Cli, Options } from './args.js';
import { KernelObjects, run, sh, tryRun, uniqueTag } from '../../test/e2e/lab-names.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = join(here, '..', '..', '..'); // dist/bench/lib -> repo root
const PEER = join(here, 'udp-peer.js');
export const PORT = 7009;
export const VM_IP = '192.168.1.7', INET_IP = '203.0.113.8';

export interface Blast {
  offered: number;
  delivered: number;
  lossPct: number;
  mbps: number;
  /** The sender's count (sends started) and how many of them failed in the sender's socket. */
  sent: number;
  sendErrors: number;
  /** The receiver's count. */
  got: number;
  seconds: number;
  /** Daemon CPU time (all threads) from the sender's start to the end of the run, and per packet received. */
  daemonCpuS: number;
  daemonCpuUs: number;
  /** The traffic ends' own CPU time over the same span (they share the cores with the daemon). */
  senderCpuS: number;
  sinkCpuS: number;
}

/** Processes of one blast, for a `during` hook that samples them. */
export interface BlastPids { daemon: number; sender: number; sink: number }

/**
 * A blast paced at `pps` (absent or 0: as fast as the sender goes), from
 * `flows` source ports; `during` starts once the sender is sending and
 * returns what stops it, awaited when the sender is done.
 */
export interface BlastOptions { pps?: number; flows?: number; during?: (pids: BlastPids) => () => Promise<void> }

/** The traffic ends of a blast: udp-peer's node ends, or iperf3's (less CPU a datagram: 7-10 µs sent through the lab against node's 9-21). */
export type Sender = 'iperf3' | 'node';

/** What an iperf3 -J report holds that blast() and tcp() read (the client's and the server's look alike). */
interface IperfReport {
  end: {
    sum: { packets: number; lost_packets: number; seconds: number };
    sum_sent: { bits_per_second: number; retransmits?: number };
    sum_received: { bits_per_second: number; seconds: number };
    cpu_utilization_percent: { host_total: number };
  };
}

/** One TCP stream's run (iperf3): goodput the receiver saw, the sender's retransmitted segments, the daemon's CPU. */
export interface TcpRun { mbps: number; retransmits: number; seconds: number; daemonCpuS: number }

const IPERF_PORT = 7011;

/**
 * The command-line options every TAP bench takes for its lab (bench/lib/args.ts):
 *   --sender iperf3|node          who sends and counts blasts (default node). Measured
 *                                 through the lab at 18:37-18:40 on 2026-11-27
 *                                 (docs/performance-log.md, "iperf3 as the sender"): iperf3's
 *                                 lighter ends did not raise the emulator's figures (its
 *                                 100-µs bursts lose earlier), but carry more through the pair.
 *   --daemon-repo DIR             run the daemon of another checkout (before/after in one window)
 *   --daemon-arg ARG              an option for `dpemu run`, repeatable (--daemon-arg --rt-priority --daemon-arg 10)
 *   --daemon-node-arg ARG         a node option for the daemon, repeatable (--perf-basic-prof for perf record)
 *   --daemon-cpu-prof DIR         V8 CPU profiles of the daemon's threads (main and each TAP worker) into DIR
 */
export const LAB_OPTIONS: Options = {
  sender: { type: 'string' },
  'daemon-repo': { type: 'string' },
  'daemon-arg': { type: 'string', multiple: true },
  'daemon-node-arg': { type: 'string', multiple: true },
  'daemon-cpu-prof': { type: 'string' },
};
export const LAB_USAGE = '[--sender iperf3|node] [--daemon-repo DIR] [--daemon-arg ARG]... [--daemon-node-arg ARG]... [--daemon-cpu-prof DIR]';

/** What LAB_OPTIONS parsed to. */
export interface LabSettings {
  sender: Sender;
  daemonRepo: string | undefined;
  daemonArgs: string[];
  daemonNodeArgs: string[];
  daemonCpuProf: string | undefined;
}

export function labSettings(c: Cli): LabSettings {
  const sender = c.str('sender') ?? 'node';
  if (sender !== 'iperf3' && sender !== 'node') c.fail(`--sender takes iperf3 or node, not '${sender}'`);
  if (sender === 'iperf3' && tryRun('iperf3', ['--version'], 5_000).status !== 0) c.fail('--sender iperf3: iperf3 is not installed (apt-get install iperf3)');
  return {
    sender: sender as Sender,
    daemonRepo: c.str('daemon-repo'),
    daemonArgs: c.all('daemon-arg'),
    daemonNodeArgs: c.all('daemon-node-arg'),
    daemonCpuProf: c.str('daemon-cpu-prof'),
  };
}

/** Until something listens on TCP `port` in namespace `n` (an iperf3 server says nothing before its JSON). */
async function waitListening(n: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (tryRun('ip', ['netns', 'exec', n, 'ss', '-Hltn', `sport = :${port}`], 5_000).out.trim()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no iperf3 server listening on ${port} in ${n} after 5 s`);
}

export interface SearchStep { pps: number; offered: number; lossPct: number; ok: boolean }
export interface Search { rate: number; at: Blast | null; steps: SearchStep[] }
export interface Rtt { p50: number; p99: number; p999: number; answered: number; sent: number }
export interface IdleRtt { sent: number; answered: number; min: number; p50: number; avg: number; max: number }

/**
 * Percentile `p` of what a cumulative histogram (e2eBuckets) counted between
 * two readings, as the upper bound of its bucket in µs (a log2 histogram:
 * the true value is between half of it and it).
 */
export function bucketPercentile(before: Map<number, number>, after: Map<number, number>, p: number): number {
  const les = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return NaN; // nothing counted between the readings: no percentile
  for (const le of les) if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= p * total) return le === Infinity ? Infinity : Math.round(le * 1e6);
  return NaN;
}

/**
 * Counters along the lab path; diff two with `countersDelta`. Keys ending
 * in _ms are gauges (the daemon main thread's event-loop delay since the
 * previous scrape, which prom-client resets on every scrape), kept as read.
 */
export type PathCounters = Record<string, number>;

const isGauge = (k: string): boolean => k.endsWith('_ms');

/** The daemon's main-thread event-loop delay (prom-client's, reset at each scrape): what stalls the inline engine. */
const LAG: Record<string, string> = {
  nodejs_eventloop_lag_max_seconds: 'daemon.main_loop_delay_max_ms',
  nodejs_eventloop_lag_p99_seconds: 'daemon.main_loop_delay_p99_ms',
};

/** Sums of these daemon families (over all labels), and drops by node:element:reason. */
const FAMILIES: Record<string, string> = {
  dpemu_tap_rx_packets_total: 'daemon.tap_rx',
  dpemu_tap_rx_dropped_packets_total: 'daemon.tap_rx_dropped',
  dpemu_tap_rx_errors_total: 'daemon.tap_rx_errors',
  dpemu_tap_tx_packets_total: 'daemon.tap_tx',
  dpemu_tap_tx_dropped_packets_total: 'daemon.tap_tx_dropped',
  dpemu_tap_tx_errors_total: 'daemon.tap_tx_errors',
  dpemu_ring_dropped_packets_total: 'daemon.ring_drops',
  dpemu_fastpath_misses_total: 'daemon.fastpath_misses',
  dpemu_fastpath_invalidations_total: 'daemon.fastpath_invalidations',
};

export class TapLab {
  readonly tag = uniqueTag();
  readonly ns: { vm: string; inet: string; da: string; db: string };
  readonly dir = mkdtempSync(join(tmpdir(), 'dpe-bench-'));
  readonly controlSocket = join(this.dir, 'control.sock');
  /** Who sends and counts blasts (`--sender`); round trips always use udp-peer. */
  readonly sender: Sender;
  metricsUrl = '';
  private readonly objs = new KernelObjects();
  private daemon: ChildProcess | null = null;
  /** Traffic ends still running (ended on close, e.g. after a signal). */
  private readonly peers = new Set<ChildProcess>();
  private closing: Promise<void> | null = null;
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    progress(`${this.name}: ${sig}, cleaning up`);
    void this.close().finally(() => process.exit(130));
  };

  private constructor(readonly name: string, readonly workers: number, private readonly settings: LabSettings) {
    this.sender = settings.sender;
    const t = this.tag;
    this.ns = { vm: `dpe-${t}-vm`, inet: `dpe-${t}-in`, da: `dpe-${t}-da`, db: `dpe-${t}-db` };
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /**
   * The daemon on the lab file with `--workers workers` (always given: the
   * daemon's own default is cores - 1), and with `direct` the veth pair;
   * `settings` from the command line (LAB_OPTIONS). `name` prefixes
   * progress lines. On failure everything is cleaned up.
   */
  static async start(name: string, o: { workers: number; direct: boolean; settings: LabSettings }): Promise<TapLab> {
    const lab = new TapLab(name, o.workers, o.settings);
    try {
      await lab.startDaemon();
      if (o.direct) lab.direct();
      return lab;
    } catch (e) {
      await lab.close();
      throw e;
    }
  }

  private async startDaemon(): Promise<void> {
    const { tag, ns } = this;
    let text = readFileSync(join(REPO, 'configs/lab-dvr-snat.yaml'), 'utf8');
    const names = { 'netns: dpe-vm': `netns: ${ns.vm}`, 'netns: dpe-inet': `netns: ${ns.inet}`, 'dev: dpe-vm0': `dev: dpe${tag}v`, 'dev: dpe-inet0': `dev: dpe${tag}i` };
    for (const [from, to] of Object.entries(names)) {
      if (!text.includes(from)) throw new Error(`configs/lab-dvr-snat.yaml has no "${from}"`);
      text = text.replaceAll(from, to);
    }
    const file = join(this.dir, 'lab.yaml');
    writeFileSync(file, text);
    this.objs.ownNetns(ns.vm);
    this.objs.ownNetns(ns.inet);
    this.objs.ownLink(`dpe${tag}v`);
    this.objs.ownLink(`dpe${tag}i`);
    const st = this.settings;
    const nodeArgs = [...(st.daemonCpuProf !== undefined ? ['--cpu-prof', '--cpu-prof-dir', st.daemonCpuProf] : []), ...st.daemonNodeArgs];
    const repo = st.daemonRepo ?? REPO;
    const args = [...nodeArgs, join(repo, 'bin', 'dpemu.js'), 'run', file, '--lab', '--control-socket', this.controlSocket, '--metrics', '127.0.0.1:0', '--log-format', 'json', '--workers', String(this.workers), ...st.daemonArgs];
    const d = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    this.daemon = d;
    let err = '', out = '', up = false;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`dpemu run did not start forwarding in 30 s:\n${err}`)), 30_000);
      const ready = (): void => {
        if (!up || !this.metricsUrl) return;
        clearTimeout(t);
        resolve();
      };
      d.stdout!.on('data', (b: Buffer) => {
        if (this.metricsUrl) return;
        out += b.toString();
        const m = /Metrics: (http:\/\/\S+)\/metrics/.exec(out);
        if (m) this.metricsUrl = m[1]!;
        ready();
      });
      // Once forwarding, only a tail is kept (for an exit message): the daemon logs every control write.
      d.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        if (!up && /"msg":"forwarding"/.test(err)) up = true;
        if (err.length > 65536) err = err.slice(-16384);
        ready();
      });
      d.on('exit', (code) => reject(new Error(`dpemu run exited ${code}:\n${err}`)));
    });
    // ARP for the gateway and the first conntrack entries before measuring.
    tryRun('ip', ['netns', 'exec', ns.vm, 'ping', '-c', '2', '-i', '0.3', '-W', '2', '-n', INET_IP], 10_000);
  }

  /** The veth pair: namespaces da (as the VM) and db (as the internet host). */
  private direct(): void {
    const { ns, tag, objs } = this;
    objs.addNetns(ns.da);
    objs.addNetns(ns.db);
    const a = `dpe${tag}a`, b = `dpe${tag}b`;
    objs.ownLink(a);
    objs.ownLink(b);
    sh('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    sh('ip', ['link', 'set', a, 'netns', ns.da]);
    sh('ip', ['link', 'set', b, 'netns', ns.db]);
    // The lab hosts' interfaces: VM 192.168.1.7/24 MTU 1450, internet host 203.0.113.8/24 MTU 1500.
    for (const [n, dev, ip, mtu, peerIp] of [[ns.da, a, `${VM_IP}/24`, '1450', INET_IP], [ns.db, b, `${INET_IP}/24`, '1500', VM_IP]] as const) {
      sh('ip', ['-n', n, 'link', 'set', dev, 'name', 'eth0']);
      sh('ip', ['-n', n, 'link', 'set', 'eth0', 'mtu', mtu, 'up']);
      sh('ip', ['-n', n, 'addr', 'add', ip, 'dev', 'eth0']);
      sh('ip', ['-n', n, 'route', 'add', peerIp, 'dev', 'eth0']);
    }
    tryRun('ip', ['netns', 'exec', ns.da, 'ping', '-c', '1', '-W', '2', '-n', INET_IP], 5_000);
  }

  /** Start `udp-peer MODE ...` in namespace `n`; resolves once it printed "ready". */
  peer(n: string, args: (string | number)[]): Promise<{ child: ChildProcess; result: Promise<unknown> }> {
    const child = spawn('ip', ['netns', 'exec', n, process.execPath, PEER, ...args.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.peers.add(child);
    child.on('exit', () => this.peers.delete(child));
    let text = '';
    const result = new Promise<unknown>((resolve, reject) => {
      child.on('exit', (code) => {
        const line = text.split('\n').filter((l) => l.startsWith('{')).pop();
        if (line) resolve(JSON.parse(line));
        else reject(new Error(`udp-peer ${args.join(' ')} in ${n} exited ${code} without a result: ${text}`));
      });
    });
    result.catch(() => undefined);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`udp-peer ${args[0]} in ${n} not ready`)), 10_000);
      child.stdout!.on('data', (b: Buffer) => {
        text += b.toString();
        if (text.includes('ready')) {
          clearTimeout(t);
          resolve({ child, result });
        }
      });
      child.on('exit', () => reject(new Error(`udp-peer ${args[0]} in ${n} exited before ready`)));
    });
  }

  /** The daemon's process id (0 before it runs). */
  get daemonPid(): number {
    return this.daemon?.pid ?? 0;
  }

  /** CPU seconds the daemon (all its threads) has used. */
  daemonCpu(): number {
    return processCpu(this.daemonPid);
  }

  /** UDP `size`-byte payloads from namespace `from` to `to` for `seconds` (BlastOptions), by this lab's sender. */
  async blast(from: string, to: string, size: number, seconds: number, o: BlastOptions = {}): Promise<Blast> {
    return this.sender === 'iperf3' ? this.blastIperf(from, to, size, seconds, o) : this.blastNode(from, to, size, seconds, o);
  }

  /** blast() with udp-peer's blast and sink (node dgram). */
  private async blastNode(from: string, to: string, size: number, seconds: number, o: BlastOptions): Promise<Blast> {
    const sink = await this.peer(to, ['sink', INET_IP, PORT]);
    const snd = await this.peer(from, ['blast', INET_IP, PORT, size, seconds, o.pps ?? 0, o.flows ?? 1]);
    // `ip netns exec` execs node: the children's pids are the traffic ends'.
    const sinkPid = sink.child.pid ?? 0, sndPid = snd.child.pid ?? 0;
    const stop = o.during?.({ daemon: this.daemonPid, sender: sndPid, sink: sinkPid });
    const cpu0 = this.daemonCpu();
    const s = await snd.result as { sent: number; errors: number; seconds: number; cpuS: number };
    await stop?.();
    await new Promise((r) => setTimeout(r, 500)); // what is still queued in the daemon arrives
    const cpu = this.daemonCpu() - cpu0;
    sink.child.kill('SIGTERM');
    const r = await sink.result as { pkts: number; cpuS: number };
    return {
      offered: s.sent / s.seconds, delivered: r.pkts / s.seconds, lossPct: (100 * (s.sent - r.pkts)) / s.sent, mbps: (r.pkts * size * 8) / s.seconds / 1e6,
      sent: s.sent, sendErrors: s.errors, got: r.pkts, seconds: s.seconds, daemonCpuS: cpu, daemonCpuUs: (cpu * 1e6) / r.pkts,
      senderCpuS: s.cpuS, sinkCpuS: r.cpuS,
    };
  }

  /**
   * blast() with iperf3 (its UDP test: `-u -l SIZE -b RATE`, paced every
   * 100 µs, `-P FLOWS` streams from as many source ports): a one-off server
   * in `to`, the client in `from`, both reporting JSON. The test's control
   * connection (TCP) takes the same path. Sent is the client's count,
   * received the server's (its datagrams less those its sequence numbers
   * say were lost); the ends' CPU is what iperf3 reports for each.
   */
  private async blastIperf(from: string, to: string, size: number, seconds: number, o: BlastOptions): Promise<Blast> {
    if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`iperf3 runs whole seconds, not ${seconds}`);
    const flows = Math.max(1, o.flows ?? 1);
    const server = this.spawnEnd(to, ['-s', '-1', '-B', INET_IP, '-p', String(IPERF_PORT), '-J']);
    await waitListening(to, IPERF_PORT);
    const bps = o.pps ? Math.max(1, Math.round((o.pps * size * 8) / flows)) : 0;
    const client = this.spawnEnd(from, ['-c', INET_IP, '-p', String(IPERF_PORT), '-u', '-l', String(size), '-b', String(bps), '--pacing-timer', '100', '-t', String(seconds), '-P', String(flows), '-J']);
    const stop = o.during?.({ daemon: this.daemonPid, sender: client.pid, sink: server.pid });
    const cpu0 = this.daemonCpu();
    const c = await client.result;
    await stop?.();
    const s = await server.result;
    const cpu = this.daemonCpu() - cpu0;
    const secs = c.end.sum.seconds, sent = c.end.sum.packets;
    const got = s.end.sum.packets - s.end.sum.lost_packets;
    return {
      offered: sent / secs, delivered: got / secs, lossPct: (100 * (sent - got)) / sent, mbps: (got * size * 8) / secs / 1e6,
      sent, sendErrors: 0, got, seconds: secs, daemonCpuS: cpu, daemonCpuUs: (cpu * 1e6) / got,
      senderCpuS: (c.end.cpu_utilization_percent.host_total / 100) * secs, sinkCpuS: (s.end.cpu_utilization_percent.host_total / 100) * secs,
    };
  }

  /**
   * One TCP stream with iperf3 for `seconds`, the client in `from`, a
   * one-off server in `to`; `reverse` (-R): the server sends. Goodput is
   * what the receiving end counted.
   */
  async tcp(from: string, to: string, seconds: number, reverse: boolean): Promise<TcpRun> {
    const server = this.spawnEnd(to, ['-s', '-1', '-B', INET_IP, '-p', String(IPERF_PORT), '-J']);
    await waitListening(to, IPERF_PORT);
    const cpu0 = this.daemonCpu();
    const c = await this.spawnEnd(from, ['-c', INET_IP, '-p', String(IPERF_PORT), '-t', String(seconds), ...(reverse ? ['-R'] : []), '-J']).result;
    const cpu = this.daemonCpu() - cpu0;
    await server.result;
    const r = c.end.sum_received;
    return { mbps: r.bits_per_second / 1e6, retransmits: c.end.sum_sent.retransmits ?? 0, seconds: r.seconds, daemonCpuS: cpu };
  }

  /** iperf3 with `args` in namespace `n`: its pid and, once it exits 0, its JSON report. */
  private spawnEnd(n: string, args: string[]): { pid: number; result: Promise<IperfReport> } {
    const child = spawn('ip', ['netns', 'exec', n, 'iperf3', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.peers.add(child);
    let out = '', err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const result = new Promise<IperfReport>((resolve, reject) => {
      child.on('exit', (code) => {
        this.peers.delete(child);
        try {
          const r = JSON.parse(out) as IperfReport & { error?: string };
          if (code === 0 && !r.error) return resolve(r);
          reject(new Error(`iperf3 ${args.join(' ')} in ${n} exited ${code}: ${r.error ?? err}`));
        } catch {
          reject(new Error(`iperf3 ${args.join(' ')} in ${n} exited ${code}: ${err || out.slice(0, 500)}`));
        }
      });
    });
    result.catch(() => undefined);
    return { pid: child.pid ?? 0, result };
  }

  /**
   * The highest paced rate (pkt/s) with under `lossPct` loss, by bisection in
   * [0, hi], `steps` runs of `seconds`. A step where the sender fell behind
   * its pace says nothing about the emulator: it counts as too fast.
   */
  async lossFree(size: number, hi: number, o: { steps: number; seconds: number; lossPct: number; flows?: number }): Promise<Search> {
    let lo = 0, at: Blast | null = null;
    const steps: SearchStep[] = [];
    for (let i = 0; i < o.steps; i++) {
      const pps = Math.round((lo + hi) / 2);
      const r = await this.blast(this.ns.vm, this.ns.inet, size, o.seconds, { pps, ...(o.flows ? { flows: o.flows } : {}) });
      const ok = r.lossPct < o.lossPct && r.offered >= 0.97 * pps;
      steps.push({ pps, offered: Math.round(r.offered), lossPct: +r.lossPct.toFixed(3), ok });
      progress(`${this.name}: ${pps} pkt/s paced: offered ${Math.round(r.offered)}, loss ${r.lossPct.toFixed(3)} % -> ${ok ? 'ok' : 'too fast'}`);
      if (ok) {
        lo = pps;
        at = r;
      } else hi = pps;
    }
    return { rate: lo, at, steps };
  }

  /** `count` UDP round trips paced at `pps` from `from` to an echo in `to`. */
  async ping(from: string, to: string, pps: number, count: number): Promise<Rtt> {
    const echo = await this.peer(to, ['echo', INET_IP, PORT + 1]);
    try {
      const c = await this.peer(from, ['ping', INET_IP, PORT + 1, 64, count, pps]);
      const r = await c.result as { sent: number; answered: number; rttsUs: number[] };
      const q = (p: number) => r.rttsUs[Math.min(r.rttsUs.length - 1, Math.floor(p * r.rttsUs.length))] ?? NaN;
      return { p50: q(0.5), p99: q(0.99), p999: q(0.999), answered: r.answered, sent: r.sent };
    } finally {
      echo.child.kill('SIGTERM');
      await echo.result.catch(() => undefined);
    }
  }

  /**
   * `count` ICMP echoes from namespace `from` to the internet host's address,
   * `intervalS` apart (ping(8)): the daemon's threads and the cores are idle
   * between them. Round-trip times in µs.
   */
  async idlePing(from: string, count: number, intervalS: number): Promise<IdleRtt> {
    const { out: r } = await run('ip', ['netns', 'exec', from, 'ping', '-n', '-c', String(count), '-i', String(intervalS), '-W', '2', INET_IP], (count * intervalS + 10) * 1000);
    const times = [...r.matchAll(/time=([\d.]+) ms/g)].map((m) => Math.round(Number(m[1]) * 1000)).sort((a, b) => a - b);
    const at = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? NaN;
    return { sent: count, answered: times.length, min: times[0] ?? NaN, p50: at(0.5), avg: times.length ? Math.round(times.reduce((a, b) => a + b, 0) / times.length) : NaN, max: times.at(-1) ?? NaN };
  }

  /** The daemon's read-to-write histogram (dpemu_e2e_latency_seconds, all TAPs summed): cumulative counts by upper bound in seconds. */
  async e2eBuckets(): Promise<Map<number, number>> {
    const text = await (await fetch(`${this.metricsUrl}/metrics`)).text();
    const b = new Map<number, number>();
    for (const m of text.matchAll(/^dpemu_e2e_latency_seconds_bucket\{[^}]*le="([^"]+)"\} (\S+)$/gm)) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      b.set(le, (b.get(le) ?? 0) + Number(m[2]));
    }
    return b;
  }

  /**
   * Counters along the lab path, VM to internet host: the VM's interface
   * (the TAP, kernel side: tx, tx dropped), its UDP send errors, the
   * daemon's TAP, ring, drop-reason and fast-path counters (/metrics;
   * element drops as `drop:NODE:ELEMENT:KIND:REASON`, TAP and ring drops
   * with their labels' values after the name), the internet host's
   * interface (rx, rx dropped) and its UDP receive-buffer errors; and the
   * daemon main thread's event-loop delay since the last reading.
   */
  async counters(): Promise<PathCounters> {
    const c: PathCounters = {};
    const link = (n: string, side: 'rx' | 'tx', key: string): void => {
      const [l] = JSON.parse(sh('ip', ['-n', n, '-j', '-s', 'link', 'show', 'dev', 'eth0'])) as { stats64: Record<'rx' | 'tx', { packets: number; dropped: number }> }[];
      c[`${key}.${side}_packets`] = l!.stats64[side].packets;
      c[`${key}.${side}_dropped`] = l!.stats64[side].dropped;
    };
    const udp = (n: string, key: string, fields: string[]): void => {
      const lines = sh('ip', ['netns', 'exec', n, 'cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Udp:'));
      const head = lines[0]!.split(/\s+/), vals = lines[1]!.split(/\s+/);
      for (const f of fields) c[`${key}.udp_${f}`] = Number(vals[head.indexOf(f)]);
    };
    link(this.ns.vm, 'tx', 'vm');
    udp(this.ns.vm, 'vm', ['OutDatagrams', 'SndbufErrors']);
    const text = await (await fetch(`${this.metricsUrl}/metrics`)).text();
    for (const line of text.split('\n')) {
      const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
      if (!m) continue;
      const v = Number(m[3]), family = m[1]!;
      const labels = (): string => [...(m[2] ?? '').matchAll(/\w+="([^"]*)"/g)].map((x) => x[1]).join(':');
      if (LAG[family]) c[LAG[family]!] = +(v * 1000).toFixed(1);
      else if (family === 'dpemu_dropped_packets_total') {
        const k = `drop:${labels()}`;
        c[k] = (c[k] ?? 0) + v;
      } else if (FAMILIES[family]) {
        // Drops by where (TAP node:port:worker, ring name), the rest summed.
        const k = /drop/.test(family) ? `${FAMILIES[family]}:${labels()}` : FAMILIES[family]!;
        c[k] = (c[k] ?? 0) + v;
      }
    }
    link(this.ns.inet, 'rx', 'inet');
    udp(this.ns.inet, 'inet', ['InDatagrams', 'RcvbufErrors']);
    return c;
  }

  /** Stop the daemon and the traffic ends, delete what the lab made; every caller waits for the same cleanup. */
  close(): Promise<void> {
    return (this.closing ??= this.cleanup());
  }

  private async cleanup(): Promise<void> {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    for (const p of this.peers) p.kill('SIGKILL');
    const d = this.daemon;
    if (d && d.exitCode === null && d.signalCode === null) {
      const exited = new Promise((r) => d.once('exit', r));
      d.kill('SIGINT');
      const t = setTimeout(() => d.kill('SIGKILL'), 8_000);
      await exited;
      clearTimeout(t);
    }
    this.objs.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
    const left = KernelObjects.leftovers(this.tag);
    if (left.length) progress(`${this.name}: left in the kernel: ${left.join(' ')}`);
  }
}

/** CPU seconds process `pid` (all its threads) has used: utime + stime of /proc/PID/stat, in clock ticks of 10 ms; NaN once it is gone. */
export function processCpu(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** after - before, leaving out what did not change (gauges: as read after). */
export function countersDelta(before: PathCounters, after: PathCounters): PathCounters {
  const d: PathCounters = {};
  for (const [k, v] of Object.entries(after)) {
    const x = isGauge(k) ? v : v - (before[k] ?? 0);
    if (x !== 0) d[k] = x;
  }
  return d;
}

/** Add `d` into `into`: counters summed, gauges their maximum. */
export function countersAdd(into: PathCounters, d: PathCounters): void {
  for (const [k, v] of Object.entries(d)) into[k] = isGauge(k) ? Math.max(into[k] ?? v, v) : (into[k] ?? 0) + v;
}
