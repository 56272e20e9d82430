// Commands about the emulator itself: clear counters, reload, list nodes.
import { alwaysRead, alwaysWrite, type CommandFamily, type DaemonCommand } from './command.js';
import { ControlError, ok, type CommandResponse } from './protocol.js';
import { linuxBridges, namespaces, nodeNames, ovsBridges } from './resolve.js';

/** Zero port and drop counters, OpenFlow flow counters, iptables counters and namespaces' device counters (ovs-ofctl has no such verb; `iptables -Z` for all namespaces). */
export const clearCounters: CommandFamily = {
  name: 'clear-counters',
  access: alwaysWrite,
  target: () => ({ every: true }),
  run(ctx, argv) {
    if (argv.length) throw new ControlError('clear-counters takes no arguments');
    const { emu } = ctx;
    emu.engine.stats.clear();
    for (const el of emu.engine.elements) el.clearCounters();
    ctx.invalidate('counters');
    return ok('');
  },
};


/** A command about the daemon (served on its thread): with datapath workers, the daemon starts new ones on the new file. */
export const reload: DaemonCommand = {
  name: 'reload',
  access: alwaysWrite,
  async run(hooks, argv) {
    if (argv.length) throw new ControlError('reload takes no arguments');
    if (!hooks.reload) throw new ControlError('reload: this server was started without a topology file to reload');
    return ok(await hooks.reload());
  },
};

/** `dpemu nodes`: what the CLI can name (nodes, and per node its bridges and namespaces). */
export const nodes: CommandFamily = {
  name: 'nodes',
  access: alwaysRead,
  target: () => ({ every: true, merge: nodeBlocks }),
  run({ emu }) {
    let out = '';
    for (const n of nodeNames(emu)) {
      out += `${n}\n`;
      for (const b of ovsBridges(emu, n)) out += `  ovs-bridge ${b.name}\n`;
      for (const b of linuxBridges(emu, n)) out += `  linux-bridge ${b.name}\n`;
      for (const s of namespaces(emu, n)) out += `  netns ${s.name}\n`;
    }
    return ok(out);
  },
};

/** The workers' `nodes` answers as one list: each node's block, in the emulation's node order. */
function nodeBlocks(answers: readonly CommandResponse[], allNodes: readonly string[]): CommandResponse {
  const blocks = new Map<string, string>();
  for (const a of answers) {
    for (const b of a.stdout.split(/^(?=\S)/m)) if (b) blocks.set(b.slice(0, b.indexOf('\n')), b);
  }
  return ok(allNodes.map((n) => blocks.get(n) ?? '').join(''));
}
