// `dpemu trace` against the running emulator: the packets really go through
// the live state (conntrack, learned MACs, neighbours) and change it as any
// packet would, and leave through the edges (TAPs) like real traffic. That is
// why it is a write.
//
// With datapath workers the packets are injected in the worker that owns
// their node, one at a time, and a packet that crosses the fabric to another
// worker is traced on there (src/workers/remote-trace.ts): the pieces below
// are what both ways share.
import type { Tracer } from '../datapath/trace.js';
import type { Port } from '../datapath/element.js';
import type { Emulator } from '../topology/builder.js';
import { parsePackets, UsageError, type TracePacket } from '../cli/packet-flags.js';
import { traceOutput } from '../cli/trace-format.js';
import { injectTraced, macDefaults, resolvePorts, runTrace } from '../cli/trace.js';
import { alwaysWrite, type CommandFamily } from './command.js';
import { ControlError, ok } from './protocol.js';

/** A usage error of the shared trace pieces as the command's (exit 2). */
function asCommand<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UsageError) throw new ControlError(`dpemu trace: ${e.message}`, 2);
    throw e;
  }
}

/** The packets a trace command's words give, each with its port: every one resolved before any is injected. */
export function tracePlan(emu: Emulator, argv: readonly string[]): { packet: TracePacket; port: Port }[] {
  return asCommand(() => {
    const packets = parsePackets(argv.filter((a) => a !== '--json'), macDefaults(emu));
    const ports = resolvePorts(emu, packets);
    return packets.map((packet, i) => ({ packet, port: ports[i]! }));
  });
}

/** Inject one planned packet with `tracer` attached; it runs to completion (in this engine) before this returns. */
export function injectPlanned(emu: Emulator, p: { packet: TracePacket; port: Port }, tracer: Tracer): void {
  asCommand(() => injectTraced(emu, p.port, p.packet.frame, tracer));
}

export const trace: CommandFamily = {
  name: 'trace',
  access: alwaysWrite,
  target(argv) {
    const at = argv.flatMap((a, i) => (a === '--in' ? [argv[i + 1] ?? ''] : a.startsWith('--in=') ? [a.slice(5)] : []));
    const nodes = [...new Set(at.map((x) => x.split(':')[0]!))];
    if (nodes.length > 1) return { whole: `dpemu trace: packets injected at ${nodes.join(' and ')} in one trace need one emulator; with datapath workers trace them one node at a time` };
    return { node: nodes[0] };
  },
  run(ctx, argv) {
    const { emu } = ctx;
    const runs = asCommand(() => runTrace(emu, parsePackets(argv.filter((a) => a !== '--json'), macDefaults(emu))));
    ctx.invalidate('trace');
    return ok(traceOutput(runs, argv.includes('--json')));
  },
};
