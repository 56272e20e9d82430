// The control commands and the metrics of one datapath worker: the command
// families of src/control run against the worker's own Emulator (its nodes
// only), between two batches, as the daemon runs them between two packets;
// the metrics are the same collectors over its engine, read into JSON that
// the supervisor aggregates with the other workers' (remote-control.ts and
// remote-metrics.ts are the supervisor's side).
import type { Emulator } from '../topology/builder.js';
import type { Topology } from '../topology/model.js';
import { COMMANDS } from '../control/registry.js';
import { compileCaptureFilter } from '../control/backend.js';
import { Capture, type CapturedFrame } from '../control/capture.js';
import { mustCapturePort } from '../control/resolve.js';
import { ControlError, type CommandResponse } from '../control/protocol.js';
import { registerCollectors, type Collectors, type MetricJson } from '../metrics/collectors.js';
import { enableLatencySampling } from '../metrics/latency.js';

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

/** What a capture took since the last poll. */
export interface CapturePoll {
  frames: CapturedFrame[];
  captured: number;
  dropped: number;
  /** The count was reached: this is the last poll. */
  done: boolean;
}

/** A capture in a worker: the tap queues, and delivery waits for the supervisor's poll (the loop never yields to setImmediate). */
interface WorkerCapture {
  capture: Capture;
  later: (() => void)[];
  frames: CapturedFrame[];
  done: boolean;
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

  captureStart(cap: number, iface: string, filter: string, opts: { count: number; snaplen: number }): ControlAnswer {
    try {
      const port = mustCapturePort({ emu: this.emu, allNodes: this.allNodes }, iface);
      const c: WorkerCapture = { capture: null!, later: [], frames: [], done: false };
      c.capture = new Capture(port, compileCaptureFilter(filter), { ...opts, defer: (fn) => c.later.push(fn) }, (f) => c.frames.push(...f), () => (c.done = true));
      this.captures.set(cap, c);
      return { response: { ok: true, stdout: '', stderr: '', exit: 0 }, writes: [] };
    } catch (e) {
      if (e instanceof ControlError) return { error: { message: e.message, exit: e.exit, status: e.status }, writes: [] };
      throw e;
    }
  }

  capturePoll(cap: number): CapturePoll {
    const c = this.captures.get(cap);
    if (!c) return { frames: [], captured: 0, dropped: 0, done: true };
    // What setImmediate would have run by now: delivery, and detaching the tap once the count is reached.
    for (const fn of c.later.splice(0)) fn();
    if (c.done) this.captures.delete(cap);
    return { frames: c.frames.splice(0), captured: c.capture.captured, dropped: c.capture.dropped, done: c.done };
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
