// What the control server serves commands from: the emulator in this
// thread (here), or one split over datapath workers (src/workers/
// remote-control.ts). The in-process one runs a command synchronously,
// between two packets, exactly as before there was a choice.
import type { Emulator } from '../topology/builder.js';
import type { CommandFamily, ControlHooks, Scope } from './command.js';
import type { CommandResponse } from './protocol.js';
import { compileFilter, FilterSyntaxError, type FramePredicate } from './capture-filter.js';
import { Capture, type CaptureOptions, type CapturedFrame } from './capture.js';
import { ControlError } from './protocol.js';
import { mustCaptureTarget, nodeNames } from './resolve.js';
import { conntrackEventsOf } from './conntrack-commands.js';
import { ConntrackEvents, type EventLine } from './conntrack-events.js';
import { startMonitor, type MonitorTool } from './monitors.js';
import { openPing, type PingEvent, type PingSession } from './ping.js';
import type { CaptureSource, PingOpenRequest } from './protocol.js';

/** A capture in progress (Capture, for the in-process emulator). */
export interface CaptureHandle {
  readonly captured: number;
  readonly dropped: number;
  stop(): void;
}

/** A tcpdump capture in progress, and what it listens on. */
export interface TcpdumpHandle extends CaptureHandle {
  readonly source: CaptureSource;
}

export interface CaptureSpec {
  /** NODE:[NS:]IFACE, NODE:NS:any, NODE:NS: (mustCaptureTarget) */
  iface: string;
  /** pcap-filter expression ('' = everything); compiled once the port is found, as tcpdump opens the device first. */
  filter: string;
  opts: CaptureOptions;
  /** Frames in batches, off the forwarding path. */
  deliver: (frames: CapturedFrame[]) => void;
  /** Called once when the count is reached. */
  done: () => void;
}

/** conntrack -E's, or ip monitor's (its words: [-t] [-n NS] NODE monitor ...). */
export interface ConntrackEventsSpec {
  /** The conntrack command's words: NODE -n NS -E [filters]. */
  argv: readonly string[];
  opts: Pick<CaptureOptions, 'congested' | 'maxQueue'>;
  /** Lines in batches, off the forwarding path. */
  deliver: (lines: EventLine[]) => void;
  /** Called once if the source goes away (a datapath worker died). */
  done: () => void;
}

/** A conntrack -E in progress: which table it listens to, and its handle. */
export interface ConntrackEventsHandle extends CaptureHandle {
  readonly table: string;
}

export interface PingSpec {
  open: PingOpenRequest;
  opts: Pick<CaptureOptions, 'congested' | 'maxQueue'>;
  /** The socket's datagrams and errors in batches, off the forwarding path. */
  deliver: (events: PingEvent[]) => void;
  /** Called once if the source goes away (a datapath worker died). */
  done: () => void;
}

export interface ControlBackend {
  /** The topology's name (/v1/info). */
  readonly topologyName: string;
  /** Every node a command can name, in `dpemu nodes` order. */
  nodes(): readonly string[];
  /** Run one command (a ControlError is the tool's own error). */
  run(family: CommandFamily, argv: readonly string[], hooks: ControlHooks): CommandResponse | Promise<CommandResponse>;
  /** Start a live capture, or throw a ControlError saying why not. */
  capture(spec: CaptureSpec): TcpdumpHandle | Promise<TcpdumpHandle>;
  /** Start conntrack -E, or throw a ControlError saying why not (the tool's words). */
  conntrackEvents(spec: ConntrackEventsSpec): ConntrackEventsHandle | Promise<ConntrackEventsHandle>;
  /** Start ip or bridge monitor (the tool's words), or throw a ControlError saying why not (the tool's words). */
  monitor(tool: MonitorTool, spec: ConntrackEventsSpec): CaptureHandle | Promise<CaptureHandle>;
  /** Open ping's socket in a namespace, or throw a ControlError saying why not (ping's words). */
  ping(spec: PingSpec): PingSession | Promise<PingSession>;
}

/** A capture's filter (for Linux cooked v2 frames when `cooked`), or tcpdump's error. */
export function compileCaptureFilter(expr: string, cooked = false): FramePredicate {
  try {
    return compileFilter(expr, undefined, cooked);
  } catch (e) {
    if (e instanceof FilterSyntaxError) throw new ControlError(`tcpdump: ${e.message}`);
    throw e;
  }
}

/** Tap where `iface` says (mustCaptureTarget), filtering as tcpdump compiles `filter` for its link-type. */
export function startCapture(s: Scope, iface: string, filter: string, opts: CaptureOptions, deliver: (frames: CapturedFrame[]) => void, done: () => void): TcpdumpHandle {
  const { at, source } = mustCaptureTarget(s, iface);
  const cooked = Array.isArray(at);
  let f: FramePredicate;
  try {
    f = compileCaptureFilter(filter, cooked);
  } catch (e) {
    // tcpdump said which link-type it chose before compiling.
    if (cooked && e instanceof ControlError) throw new ControlError(`tcpdump: data link type LINUX_SLL2\n${e.message}`, e.exit, e.status);
    throw e;
  }
  return Object.assign(new Capture(at, f, opts, deliver, done), { source });
}

/** The emulator in this thread. */
export class InProcessBackend implements ControlBackend {
  constructor(readonly emu: Emulator) {}

  get topologyName(): string {
    return this.emu.topology.name;
  }

  nodes(): readonly string[] {
    return nodeNames(this.emu);
  }

  run(family: CommandFamily, argv: readonly string[], hooks: ControlHooks): CommandResponse | Promise<CommandResponse> {
    return family.run({ ...hooks, emu: this.emu }, argv);
  }

  capture(s: CaptureSpec): TcpdumpHandle {
    return startCapture({ emu: this.emu }, s.iface, s.filter, s.opts, s.deliver, s.done);
  }

  conntrackEvents(s: ConntrackEventsSpec): ConntrackEventsHandle {
    const { ct, words } = conntrackEventsOf({ emu: this.emu }, s.argv);
    return new ConntrackEvents(ct, words, s.opts, s.deliver);
  }

  monitor(tool: MonitorTool, s: ConntrackEventsSpec): CaptureHandle {
    return startMonitor(tool, { emu: this.emu }, s.argv, s.opts, s.deliver);
  }

  ping(s: PingSpec): PingSession {
    return openPing({ emu: this.emu }, s.open, s.opts, s.deliver);
  }
}
