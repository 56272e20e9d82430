// A net-tools family (arp, route, ifconfig, netstat): `NODE -n NS` and the
// tool's own words, run against that namespace.
import type { Access, CommandFamily, ControlContext } from './command.js';
import type { CommandResponse } from './protocol.js';
import type { NetNamespace } from '../netns/namespace.js';
import { netToolsTarget } from './net-tools-argv.js';
import { mustNamespace } from './resolve.js';

export function netToolsFamily(
  name: string,
  access: (argv: readonly string[]) => Access,
  run: (el: NetNamespace, rest: readonly string[], ctx: ControlContext, argv: readonly string[]) => CommandResponse,
): CommandFamily {
  return {
    name,
    access,
    target: (argv) => ({ node: netToolsTarget(argv).node }),
    run(ctx, argv) {
      const { node, ns, rest } = netToolsTarget(argv);
      return run(mustNamespace(ctx, node, ns), rest, ctx, argv);
    },
  };
}
