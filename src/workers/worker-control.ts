// The control commands and the metrics of one datapath worker: the command
// families of src/control run against the worker's own Emulator (its nodes
// only), between two batches, as the daemon runs them between two packets;
// the metrics are the same collectors over its engine, read into JSON that
// the supervisor aggregates with the other workers' (remote-control.ts and
// remote-metrics.ts are the supervisor's side).
import type { Emulator } from '../topology/builder.js';
import type { Topology } from '../topology/model.js';
import { COMMANDS } from '../control/registry.js';
import { trace } from '../control/trace-command.js';
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

export class WorkerControl {
  private readonly allNodes: readonly string[];
  private collectors: Collectors | null = null;

  constructor(
    private readonly emu: Emulator,
    /** Frames this worker has handed to others so far: a trace that moved it went on elsewhere. */
    private readonly handedOff: () => number,
  ) {
    this.allNodes = emulationNodes(emu.topology);
  }

  command(family: string, argv: string[]): ControlAnswer {
    const fam = COMMANDS.get(family);
    if (!fam) throw new Error(`no command family ${family}`);
    const writes: string[] = [];
    const before = this.handedOff();
    try {
      const response = fam.run({ emu: this.emu, allNodes: this.allNodes, invalidate: (w) => writes.push(w) }, argv);
      if (response instanceof Promise) throw new Error(`${family} does not run in a datapath worker`);
      if (fam === trace && this.handedOff() !== before) {
        return {
          response: { ...response, ok: false, exit: 1, stderr: 'dpemu trace: a packet crossed the fabric to a node another datapath worker runs; the trace above stops there (the packet went on)\n' },
          writes,
        };
      }
      return { response, writes };
    } catch (e) {
      if (e instanceof ControlError) return { error: { message: e.message, exit: e.exit, status: e.status }, writes };
      throw e;
    }
  }

  metrics(flows: boolean, sampleEvery: number | null): MetricJson[] {
    const engine = this.emu.engine;
    if (sampleEvery !== null && !engine.latency) enableLatencySampling(engine, sampleEvery);
    this.collectors ??= registerCollectors({ engine, processMetrics: false, threadBusy: false });
    return this.collectors.json(flows);
  }
}
