// Commands about the emulator itself: clear counters, reload, list nodes.
import { type CommandFamily } from './command.js';
import { ControlError, ok } from './protocol.js';
import { OvsBridge } from '../ofproto/bridge.js';
import { NetNamespace } from '../netns/namespace.js';
import { linuxBridges, namespaces, nodeNames, ovsBridges } from './resolve.js';

/** Zero port and drop counters, OpenFlow flow counters and iptables counters (ovs-ofctl has no such verb; `iptables -Z` for all namespaces). */
export const clearCounters: CommandFamily = {
  name: 'clear-counters',
  access: () => 'write',
  run(ctx, argv) {
    if (argv.length) throw new ControlError('clear-counters takes no arguments');
    const { emu } = ctx;
    emu.engine.stats.clear();
    for (const el of emu.engine.elements) {
      if (el instanceof OvsBridge) el.tables.counters.zeroAll();
      else if (el instanceof NetNamespace) el.nf.rules.counters.zeroAll();
    }
    ctx.invalidate('counters');
    return ok('');
  },
};


export const reload: CommandFamily = {
  name: 'reload',
  access: () => 'write',
  async run(ctx) {
    if (!ctx.reload) throw new ControlError('reload: this server was started without a topology file to reload');
    return ok(await ctx.reload());
  },
};

/** `dpemu nodes`: what the CLI can name (nodes, and per node its bridges and namespaces). */
export const nodes: CommandFamily = {
  name: 'nodes',
  access: () => 'read',
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
