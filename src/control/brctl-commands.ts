// brctl show / showmacs on a node's Linux bridges (bridge-utils brctl_show.c layout).
import type { LinuxBridge } from '../l2/linux-bridge.js';
import type { Emulator } from '../topology/builder.js';
import { alwaysRead, type CommandFamily } from './command.js';
import { ControlError, ok } from './protocol.js';
import { linuxBridges, mustNode } from './resolve.js';

/** The bridge id: priority 8000 and the bridge's MAC (the topology's, else its lowest port MAC, as the kernel picks). */
function bridgeId(emu: Emulator, br: LinuxBridge): string {
  const lb = emu.topology.nodes.find((n) => n.name === br.node)?.linuxBridges.find((b) => b.name === br.name);
  const macs = (lb?.mac ? [lb.mac] : (lb?.ports ?? []).map((p) => p.mac).filter((m): m is string => !!m).sort());
  return `8000.${(macs[0] ?? '00:00:00:00:00:00').replaceAll(':', '').toLowerCase()}`;
}

function show(emu: Emulator, brs: LinuxBridge[]): string {
  let out = 'bridge name\tbridge id\t\tSTP enabled\tinterfaces\n';
  for (const br of brs) {
    const stp = emu.topology.nodes.find((n) => n.name === br.node)?.linuxBridges.find((b) => b.name === br.name)?.stp;
    out += `${br.name}\t\t${bridgeId(emu, br)}\t${stp ? 'yes' : 'no'}\t\t`;
    // brif/ is read with scandir+alphasort: interfaces in name order.
    const names = br.ports.map((p) => p.name).sort();
    if (!names.length) out += '\n';
    names.forEach((n, i) => (out += i === 0 ? `${n}\n` : `\t\t\t\t\t\t\t${n}\n`));
  }
  return out;
}

export const brctl: CommandFamily = {
  name: 'brctl',
  access: alwaysRead,
  target: (argv) => ({ node: argv[1] }),
  run(ctx, argv) {
    const { emu } = ctx;
    const [sub, node, name] = argv;
    const n = mustNode(ctx, node);
    const all = linuxBridges(emu, n);
    const pick = (): LinuxBridge[] => {
      if (!name) return all;
      const b = all.find((x) => x.name === name);
      if (!b) throw new ControlError(`bridge ${name} does not exist! (bridges on ${n}: ${all.map((x) => x.name).join(', ') || 'none'})`);
      return [b];
    };
    if (sub === 'show') return ok(show(emu, pick()));
    if (sub === 'showmacs') {
      if (!name) throw new ControlError('Incorrect number of arguments for command\nUsage: brctl showmacs NODE <bridge>\tshow a list of mac addrs');
      return ok(pick()[0]!.showmacs());
    }
    throw new ControlError(`never heard of command [${sub ?? ''}] (dpemu knows show, showmacs)`);
  },
};
