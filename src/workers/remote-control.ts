// The control socket's backend for a partitioned datapath: a command runs in
// the worker that owns the node its words name (CommandFamily.target), one
// that concerns every node runs in each worker and their answers are joined
// as one emulator prints them. Every worker knows all node names, so an
// unknown node fails with the same text wherever it runs (worker 0 answers).
import type { CommandFamily, ControlHooks } from '../control/command.js';
import type { CaptureHandle, ControlBackend } from '../control/backend.js';
import { ControlError, ok, type CommandResponse } from '../control/protocol.js';
import type { PartitionedDatapath } from './supervisor.js';
import { emulationNodes, type ControlAnswer } from './worker-control.js';

/** The default join of `every` answers: the first failure, else the outputs one after the other. */
function concat(answers: readonly CommandResponse[]): CommandResponse {
  return answers.find((a) => !a.ok) ?? ok(answers.map((a) => a.stdout).join(''), answers.map((a) => a.stderr).join(''));
}

export class PartitionedControl implements ControlBackend {
  private readonly allNodes: readonly string[];

  constructor(private readonly dp: PartitionedDatapath) {
    this.allNodes = emulationNodes(dp.topology);
  }

  get topologyName(): string {
    return this.dp.topology.name;
  }

  nodes(): readonly string[] {
    return this.allNodes;
  }

  async run(family: CommandFamily, argv: readonly string[], hooks: ControlHooks): Promise<CommandResponse> {
    let target;
    try {
      target = family.target(argv);
    } catch {
      target = { node: undefined }; // words it cannot even parse: any worker answers run()'s same error
    }
    if ('whole' in target) throw new ControlError(target.whole);
    if ('every' in target) {
      const answers = await Promise.all(Array.from({ length: this.dp.workers }, (_, w) => this.ask(w, family, argv)));
      // Each worker reports the same kind of write ('counters'): the server hears it once, as from one emulator.
      for (const what of new Set(answers.flatMap((a) => a.writes))) hooks.invalidate(what);
      return (target.merge ?? concat)(answers.map(unwrap), this.allNodes);
    }
    const node = target.node;
    const w = node !== undefined && this.dp.assignment.has(node) ? this.dp.ownerOf(node) : 0;
    const a = await this.ask(w, family, argv);
    for (const what of a.writes) hooks.invalidate(what);
    return unwrap(a);
  }

  private ask(w: number, family: CommandFamily, argv: readonly string[]): Promise<ControlAnswer> {
    return this.dp.request<ControlAnswer>(w, { op: 'control', family: family.name, argv: [...argv] });
  }

  capture(): CaptureHandle {
    throw new ControlError('tcpdump: live capture is not available with datapath workers yet (the frames stay in the worker threads); run the daemon without --workers to capture');
  }
}

function unwrap(a: ControlAnswer): CommandResponse {
  if (a.error) throw new ControlError(a.error.message, a.error.exit, a.error.status);
  return a.response!;
}
