// `dpemu trace` against the running emulator: the packets really go through
// the live state (conntrack, learned MACs, neighbours) and change it as any
// packet would, and leave through the edges (TAPs) like real traffic. That is
// why it is a write.
import { Tracer } from '../datapath/trace.js';
import { parsePackets, UsageError } from '../cli/packet-flags.js';
import { formatTrace, traceJson } from '../cli/trace-format.js';
import { macDefaults } from '../cli/trace.js';
import { type CommandFamily } from './command.js';
import { ControlError, ok } from './protocol.js';

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
    const json = argv.includes('--json');
    const words = argv.filter((a) => a !== '--json');
    let out = '';
    const runs: unknown[] = [];
    try {
      const packets = parsePackets(words, macDefaults(emu));
      // Resolve every port before injecting anything.
      const ports = packets.map((p) => {
        const port = emu.findPort(p.node, p.port);
        if (!port) throw new UsageError(`--in ${p.node}:${p.port}: no such port in the topology`);
        return port;
      });
      packets.forEach((p, i) => {
        const tracer = new Tracer();
        const pkt = emu.engine.pool.allocFrom(p.frame);
        if (!pkt) throw new UsageError(`frame of ${p.frame.length} bytes does not fit a packet slot`);
        emu.engine.tracer = tracer;
        try {
          emu.engine.inject(pkt, ports[i]!);
        } finally {
          emu.engine.tracer = null;
        }
        if (json) runs.push({ in: `${p.node}:${p.port}`, branches: traceJson(tracer.events) });
        else out += formatTrace(tracer.events, `##### packet ${i + 1} injected at ${p.node}:${p.port}`) + '\n';
      });
    } catch (e) {
      if (e instanceof UsageError) throw new ControlError(`dpemu trace: ${e.message}`, 2);
      throw e;
    }
    ctx.invalidate('trace');
    return ok(json ? JSON.stringify(runs, null, 2) + '\n' : out);
  },
};
