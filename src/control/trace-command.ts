// `dpemu trace` against the running emulator: the packets really go through
// the live state (conntrack, learned MACs, neighbours) and change it as any
// packet would, and leave through the edges (TAPs) like real traffic. That is
// why it is a write.
//
// With datapath workers the packets are injected in the worker that owns
// their node, one at a time, and a packet that crosses the fabric to another
// worker is traced on there (src/workers/remote-trace.ts): the pieces below
// are what both ways share.
import { Tracer, type TraceEvent } from '../datapath/trace.js';
import type { Port } from '../datapath/element.js';
import type { Emulator } from '../topology/builder.js';
import { parsePackets, UsageError, type TracePacket } from '../cli/packet-flags.js';
import { formatTrace, traceJson } from '../cli/trace-format.js';
import { macDefaults } from '../cli/trace.js';
import { type CommandFamily } from './command.js';
import { ControlError, ok } from './protocol.js';

/** One traced packet's events, and where it was injected (NODE:PORT). */
export interface TraceRun {
  at: string;
  events: readonly TraceEvent[];
}

/** The packets a trace command's words give, each with its port: every one resolved before any is injected. */
export function tracePlan(emu: Emulator, argv: readonly string[]): { packet: TracePacket; port: Port }[] {
  try {
    const packets = parsePackets(argv.filter((a) => a !== '--json'), macDefaults(emu));
    return packets.map((p) => {
      const port = emu.findPort(p.node, p.port);
      if (!port) throw new UsageError(`--in ${p.node}:${p.port}: no such port in the topology`);
      return { packet: p, port };
    });
  } catch (e) {
    if (e instanceof UsageError) throw new ControlError(`dpemu trace: ${e.message}`, 2);
    throw e;
  }
}

/** Inject one planned packet with `tracer` attached; it runs to completion (in this engine) before this returns. */
export function injectTraced(emu: Emulator, p: { packet: TracePacket; port: Port }, tracer: Tracer): void {
  const pkt = emu.engine.pool.allocFrom(p.packet.frame);
  if (!pkt) throw new ControlError(`dpemu trace: frame of ${p.packet.frame.length} bytes does not fit a packet slot`, 2);
  emu.engine.tracer = tracer;
  try {
    emu.engine.inject(pkt, p.port);
  } finally {
    emu.engine.tracer = null;
  }
}

/** What the command prints for its runs: each packet's branches, or with --json one document. */
export function traceOutput(runs: readonly TraceRun[], json: boolean): string {
  if (json) return JSON.stringify(runs.map((r) => ({ in: r.at, branches: traceJson(r.events) })), null, 2) + '\n';
  return runs.map((r, i) => formatTrace(r.events, `##### packet ${i + 1} injected at ${r.at}`) + '\n').join('');
}

export const trace: CommandFamily = {
  name: 'trace',
  access: () => 'write',
  target(argv) {
    const at = argv.flatMap((a, i) => (a === '--in' ? [argv[i + 1] ?? ''] : a.startsWith('--in=') ? [a.slice(5)] : []));
    const nodes = [...new Set(at.map((x) => x.split(':')[0]!))];
    if (nodes.length > 1) return { whole: `dpemu trace: packets injected at ${nodes.join(' and ')} in one trace need one emulator; with datapath workers trace them one node at a time` };
    return { node: nodes[0] };
  },
  run(ctx, argv) {
    const { emu } = ctx;
    const runs = tracePlan(emu, argv).map((p) => {
      const tracer = new Tracer();
      injectTraced(emu, p, tracer);
      return { at: `${p.packet.node}:${p.packet.port}`, events: tracer.events };
    });
    ctx.invalidate('trace');
    return ok(traceOutput(runs, argv.includes('--json')));
  },
};
