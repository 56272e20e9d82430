// The control commands and the metrics of one datapath worker: the command
// families of src/control run against the worker's own Emulator (its nodes
// only), between two batches, as the daemon runs them between two packets;
// the metrics are the same collectors over its engine, read into JSON that
// the supervisor aggregates with the other workers' (remote-control.ts and
// remote-metrics.ts are the supervisor's side).
import type { Emulator } from '../topology/builder.js';
import type { Topology } from '../topology/model.js';
import { COMMANDS } from '../control/registry.js';
import { startCapture } from '../control/backend.js';
import type { CapturedFrame } from '../control/capture.js';
import { conntrackEventsOf } from '../control/conntrack-commands.js';
import { ConntrackEvents, type EventLine } from '../control/conntrack-events.js';
import { startMonitor, type MonitorTool } from '../control/monitors.js';
import { arpingHead, openPing, type PingEvent, type PingSession } from '../control/ping.js';
import { mustOvsBridge } from '../control/resolve.js';
import { ControlError, type CaptureSource, type CommandResponse, type PingOpenRequest } from '../control/protocol.js';
import { registerCollectors, type Collectors, type MetricJson } from '../metrics/collectors.js';
import { enableLatencySampling } from '../metrics/latency.js';
import { formatFlow } from '../ofproto/flow-printer.js';
import { TABLE_ALL } from '../ofproto/flow-table.js';
import { emptyMatch } from '../ofproto/match.js';
import type { ConfigCommand } from './config-log.js';

/** Every node a command may name, in `dpemu nodes` order (the order one emulator builds them in). */
export function emulationNodes(t: Topology): string[] {
  return [...t.nodes.map((n) => n.name), ...t.gateways.map((g) => g.name)];
}

/** A worker's answer to a control op: the tool's answer or its error, and what the command changed. */
export interface ControlAnswer {
  response?: CommandResponse;
  error?: { message: string; exit: number; status: number };
  /** What each successful write touched (ControlHooks.invalidate), for the server's onWrite. */
  writes: string[];
}

/** What a successor's replay of its predecessor's configuration did (src/workers/config-log.ts). */
export interface ReplayReport {
  replayed: number;
  /** Commands that failed now (the first few, with their error). */
  failed: { command: string; error: string }[];
  failures: number;
}

/** Failed replays reported by name. */
const REPORT_FAILED = 5;

/** What a capture (or conntrack -E) took since the last poll. */
export interface CapturePoll {
  frames: CapturedFrame[];
  /** conntrack -E's lines. */
  lines: EventLine[];
  /** A ping socket's datagrams and errors. */
  ping: PingEvent[];
  captured: number;
  dropped: number;
  /** The count was reached: this is the last poll. */
  done: boolean;
}

/** A capture or conntrack -E in a worker: the tap queues, and delivery waits for the supervisor's poll (the loop never yields to setImmediate). */
interface WorkerCapture {
  capture: { readonly captured: number; readonly dropped: number; stop(): void };
  later: (() => void)[];
  frames: CapturedFrame[];
  lines: EventLine[];
  ping: PingEvent[];
  /** A ping socket's (dpemu ping). */
  session?: PingSession;
  done: boolean;
}

/** The answer to starting a capture: what it listens on. */
export interface CaptureAnswer extends ControlAnswer {
  source?: CaptureSource;
}

/** The answer to starting conntrack -E: the table it listens to. */
export interface EventsAnswer extends ControlAnswer {
  table?: string;
}

/** The answer to opening a ping socket: its source address and echo identifier. */
export interface PingAnswer extends ControlAnswer {
  source?: string;
  ident?: number;
  nobufs?: boolean;
  /** arping's socket: its device and that device's MAC. */
  device?: string;
  mac?: string;
  /** ping -6's: the device the target's scope named. */
  scope?: string;
}

export class WorkerControl {
  private readonly allNodes: readonly string[];
  private collectors: Collectors | null = null;
  private readonly captures = new Map<number, WorkerCapture>();

  constructor(private readonly emu: Emulator) {
    this.allNodes = emulationNodes(emu.topology);
  }

  command(family: string, argv: string[]): ControlAnswer {
    const fam = COMMANDS.get(family);
    if (!fam) throw new Error(`no command family ${family}`);
    const writes: string[] = [];
    try {
      const response = fam.run({ emu: this.emu, allNodes: this.allNodes, invalidate: (w) => writes.push(w) }, argv);
      if (response instanceof Promise) throw new Error(`${family} does not run in a datapath worker`);
      return { response, writes };
    } catch (e) {
      if (e instanceof ControlError) return { error: { message: e.message, exit: e.exit, status: e.status }, writes };
      throw e;
    }
  }

  /**
   * Run the configuration writes its predecessor ran (before learned state
   * is restored and before forwarding). One that fails now (an `ip neigh
   * del` of a learned entry the predecessor had) is reported and skipped.
   */
  replay(cmds: readonly ConfigCommand[]): ReplayReport {
    const r: ReplayReport = { replayed: 0, failed: [], failures: 0 };
    for (const c of cmds) {
      let error: string;
      try {
        const a = this.command(c.family, c.argv);
        if (a.response?.ok) {
          r.replayed++;
          continue;
        }
        error = a.error?.message ?? a.response?.stderr ?? '';
      } catch (e) {
        error = String((e as Error).message ?? e); // as the live command answered: never a crash loop
      }
      r.failures++;
      if (r.failed.length < REPORT_FAILED) r.failed.push({ command: `${c.family} ${c.argv.join(' ')}`.slice(0, 200), error });
    }
    return r;
  }

  /**
   * Bridge NODE BRIDGE's configured flows (all but those learn() made, which
   * the learned-state journal keeps), as the commands that set them from any
   * state: delete every flow, add these (ConfigLog.compacted). Timeouts are
   * the flows' own: a replay starts them again.
   */
  flowSnapshot(node: string, bridge: string): ConfigCommand[] {
    const br = mustOvsBridge({ emu: this.emu, allNodes: this.allNodes }, node, bridge);
    const now = this.emu.engine.now;
    let text = '';
    for (const e of br.tables.select({ table: TABLE_ALL, match: emptyMatch(), strict: false })) {
      if (e.learnedBy === null) text += e.configText ??= formatFlow(e.toSpec(now), { dialect: 'of13', stats: false, flags: true, importance: true }) + '\n';
    }
    const out: ConfigCommand[] = [{ family: 'ofctl', argv: ['del-flows', node, bridge] }];
    // OpenFlow 1.4: the flows' flags as written (an OF1.0 add would give each reset_counts) and their importance.
    if (text) out.push({ family: 'ofctl', argv: ['add-flows', '-O', 'OpenFlow14', node, bridge, text] });
    return out;
  }

  captureStart(cap: number, iface: string, filter: string, opts: { count: number; snaplen: number }): CaptureAnswer {
    try {
      const c = newCapture();
      const h = startCapture({ emu: this.emu, allNodes: this.allNodes }, iface, filter, { ...opts, defer: (fn) => c.later.push(fn) }, (f) => c.frames.push(...f), () => (c.done = true));
      c.capture = h;
      this.captures.set(cap, c);
      return { response: { ok: true, stdout: '', stderr: '', exit: 0 }, writes: [], source: h.source };
    } catch (e) {
      if (e instanceof ControlError) return { error: { message: e.message, exit: e.exit, status: e.status }, writes: [] };
      throw e;
    }
  }

  /** conntrack -E on a namespace of this worker's (the words after `conntrack`), polled as a capture. */
  conntrackEventsStart(cap: number, argv: string[]): EventsAnswer {
    try {
      const { ct, words } = conntrackEventsOf({ emu: this.emu, allNodes: this.allNodes }, argv);
      const c = newCapture();
      c.capture = new ConntrackEvents(ct, words, { defer: (fn) => c.later.push(fn) }, (l) => c.lines.push(...l));
      this.captures.set(cap, c);
      return { response: { ok: true, stdout: '', stderr: '', exit: 0 }, writes: [], table: words.table };
    } catch (e) {
      if (e instanceof ControlError) return { error: { message: e.message, exit: e.exit, status: e.status }, writes: [] };
      throw e;
    }
  }

  /** ip or bridge monitor on a node of this worker's (the words after the tool's name), polled as a capture. */
  monitorStart(cap: number, tool: MonitorTool, argv: string[]): ControlAnswer {
    try {
      const c = newCapture();
      c.capture = startMonitor(tool, { emu: this.emu, allNodes: this.allNodes }, argv, { defer: (fn) => c.later.push(fn) }, (l) => c.lines.push(...l));
      this.captures.set(cap, c);
      return { response: { ok: true, stdout: '', stderr: '', exit: 0 }, writes: [] };
    } catch (e) {
      if (e instanceof ControlError) return { error: { message: e.message, exit: e.exit, status: e.status }, writes: [] };
      throw e;
    }
  }

  /** ping's socket in a namespace of this worker's, polled as a capture. */
  pingOpen(cap: number, open: PingOpenRequest): PingAnswer {
    try {
      const c = newCapture();
      const s = openPing({ emu: this.emu, allNodes: this.allNodes }, open, { defer: (fn) => c.later.push(fn) }, (e) => c.ping.push(...e));
      c.capture = c.session = s;
      this.captures.set(cap, c);
      return { response: { ok: true, stdout: '', stderr: '', exit: 0 }, writes: [], source: s.source, ident: s.ident, ...(s.nobufs ? { nobufs: true } : {}), ...arpingHead(s) };
    } catch (e) {
      if (e instanceof ControlError) return { error: { message: e.message, exit: e.exit, status: e.status }, writes: [] };
      throw e;
    }
  }

  pingSend(cap: number, seq: number, ttl?: number, size?: number, to?: string): boolean {
    const s = this.captures.get(cap)?.session;
    s?.send(seq, ttl, size, to);
    return s !== undefined;
  }

  capturePoll(cap: number): CapturePoll {
    const c = this.captures.get(cap);
    if (!c) return { frames: [], lines: [], ping: [], captured: 0, dropped: 0, done: true };
    // What setImmediate would have run by now: delivery, and detaching the tap once the count is reached.
    for (const fn of c.later.splice(0)) fn();
    if (c.done) this.captures.delete(cap);
    return { frames: c.frames.splice(0), lines: c.lines.splice(0), ping: c.ping.splice(0), captured: c.capture.captured, dropped: c.capture.dropped, done: c.done };
  }

  captureStop(cap: number): boolean {
    const c = this.captures.get(cap);
    if (!c) return false;
    c.capture.stop();
    for (const fn of c.later.splice(0)) fn();
    this.captures.delete(cap);
    return true;
  }

  metrics(flows: boolean, sampleEvery: number | null): MetricJson[] {
    const engine = this.emu.engine;
    if (sampleEvery !== null && !engine.latency) enableLatencySampling(engine, sampleEvery);
    this.collectors ??= registerCollectors({ engine, processMetrics: false, threadBusy: false });
    return this.collectors.json(flows);
  }
}

const newCapture = (): WorkerCapture => ({ capture: null!, later: [], frames: [], lines: [], ping: [], done: false });
