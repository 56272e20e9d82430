// Commands about the emulator itself: clear counters, reload, list nodes.
import { type CommandFamily } from './command.js';
import { ControlError, ok } from './protocol.js';
import { OvsBridge } from '../ofproto/bridge.js';
import { emptyMatch } from '../ofproto/match.js';
import { NetNamespace } from '../netns/namespace.js';
import { TABLE_NAMES } from '../netfilter/constants.js';
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
      if (el instanceof OvsBridge) {
        for (const t of el.tables.existing()) {
          for (const e of el.tables.select({ table: t.id, match: emptyMatch(), strict: false })) e.nPackets = e.nBytes = 0;
          t.lookups = t.matched = 0;
        }
      } else if (el instanceof NetNamespace) {
        for (const n of TABLE_NAMES) if (el.nf.rules.tables[n].loaded) el.nf.rules.tables[n].zero();
      }
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
