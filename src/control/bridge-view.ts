// What `bridge` reads on a node: a hypervisor's root view (its Linux
// bridges, the qbr per VM, and their ports) or an emulated namespace (no
// Linux bridge there: only the devices), and the helpers its commands share.
import type { Interface } from '../netns/interfaces.js';
import type { JsonValue } from '../netns/json-writer.js';
import type { Netns } from '../netns/netns.js';
import type { Scope } from './command.js';
import { ControlError } from './protocol.js';
import { INCOMPLETE, type BridgeOpts as Opts } from './bridge-argv.js';
import { linuxBridges, mustNamespace, mustNode } from './resolve.js';
import { isHypervisor, rootView } from './root-netns.js';
import type { LinuxBridge } from '../l2/linux-bridge.js';

/** A Linux bridge's port as `bridge` sees it: its bridge, what the view's bridge_slave data says of it. */
export interface PortOf { bridge: string; attrs: ReadonlyMap<string, JsonValue> }

/** What the command reads: a namespace's devices and, in a root view, its Linux bridges' entries. */
export interface View {
  ns: Netns;
  /** Linux bridges by name (a root view's; none in an emulated namespace). */
  bridges: ReadonlyMap<string, LinuxBridge>;
  now: number;
}

export function viewOf(ctx: Scope, o: Opts): View {
  const { emu } = ctx;
  const now = emu.engine.now;
  if (o.ns === undefined && o.node !== undefined && isHypervisor(emu, mustNode(ctx, o.node))) {
    return { ns: rootView(emu, o.node, now).ns, bridges: new Map(linuxBridges(emu, o.node).map((b) => [b.name, b])), now };
  }
  return { ns: mustNamespace(ctx, o.node, o.ns).ns, bridges: new Map(), now };
}

export function portOf(v: View, l: Interface): PortOf | undefined {
  if (l.master === undefined || !v.bridges.has(l.master)) return undefined;
  // The view gives a port no bridge_slave data when its bridge runs STP (port states and timers would move: not modelled).
  if (!l.info?.slaveData) throw new ControlError(`Error: ${l.master} runs STP, whose port states dpemu does not emulate: 'bridge link' is refused for its ports.`, 255);
  return { bridge: l.master, attrs: new Map(l.info.slaveData.flatMap((a) => (a.key !== undefined && a.json !== undefined ? [[a.key, a.json] as const] : []))) };
}

/** Each word with a way to take the next as its value (NEXT_ARG: `Command line is not complete` when there is none). */
export function eachWord(args: readonly string[], f: (word: string, next: () => string) => void): void {
  for (let i = 0; i < args.length; i++) {
    f(args[i]!, () => {
      const x = args[++i];
      if (x === undefined) throw new ControlError(INCOMPLETE, 255);
      return x;
    });
  }
}

/** RTNETLINK's refusal as bridge prints it (rtnl_talk fails: exit 255). */
export const rtnetlink = (why: string): ControlError => new ControlError(`RTNETLINK answers: ${why}`, 255);
