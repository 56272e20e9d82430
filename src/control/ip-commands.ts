// `ip [-n NS] NODE OBJECT ...` inside any namespace of the topology: the show
// verbs print what iproute2 prints; add/del/replace change the namespace
// (one command, one change: it applies entirely or throws first).
import { IpSyntaxError, RtnlError } from '../netns/errors.js';
import { OBJECTS as TEXT_OBJECTS, runCommand } from '../netns/ip-text.js';
import { isJsonOption, isPrettyOption, matches } from '../netns/ip-tokens.js';
import type { CommandFamily } from './command.js';
import { ControlError, ok } from './protocol.js';
import { mustNamespace, mustNode } from './resolve.js';
import { netnsList } from './ip-netns.js';
import { ipAccess as access, ipObject, netnsVerb, parseIpArgv } from './ip-argv.js';
import { isHypervisor, rootView } from './root-netns.js';
import { aroundChange } from '../netns/netlink-events.js';

export const ip: CommandFamily = {
  name: 'ip',
  access,
  target: (argv) => ({ node: parseIpArgv(argv).node }),
  run(ctx, argv) {
    const { ns, node, options, words } = parseIpArgv(argv);
    const obj = words[0];
    const known = obj === undefined ? undefined : ipObject(obj);
    if (known === 'netns') {
      // The node's own view (its root namespace), whatever -n says: the names are a directory of the node's.
      const verb = netnsVerb(words.slice(1));
      const json = options.some(isJsonOption) ? { pretty: options.some(isPrettyOption) } : undefined;
      if (verb === 'list' || verb === 'show' || verb === 'lst') return ok(netnsList(ctx, mustNode(ctx, node), json));
      if (verb === 'exec') throw new ControlError("Error: 'ip netns exec' runs in the dpemu CLI: dpemu ip NODE netns exec NS CMD [ARGS].", 255);
      throw new ControlError(`Error: 'ip netns ${verb}' is not supported.`, 255);
    }
    // No -n on a hypervisor: its root namespace, a view (el undefined).
    const el = ns === undefined && isHypervisor(ctx.emu, mustNode(ctx, node)) ? undefined : mustNamespace(ctx, node, ns);
    if (obj === undefined) throw new ControlError('Usage: dpemu ip [-n NS] [-4|-6|-0|-f FAMILY] [-s [-s]] [-d] [-br] [-j [-p]] [-o] NODE { addr | link | route | rule | neigh | netns } ...', 255);
    if (!known) throw new ControlError(`Object "${obj}" is unknown, try "ip help".`, 1);
    if (known === 'monitor') throw new ControlError("Error: 'ip monitor' streams its events: run it through the dpemu CLI (dpemu ip [-n NS] NODE monitor ...).", 255);
    if (!TEXT_OBJECTS.includes(known)) throw new ControlError(`Error: 'ip ${known}' is not supported.`, 255);
    const write = access(argv) === 'write';
    // ip monitor's listeners hear what this write changes (nothing is compared when none listens).
    const notify = write && el ? aroundChange(el.ns, known) : null;
    let out: string;
    try {
      if (!el) {
        if (write) throw new ControlError(`Error: ${node}'s root namespace is a read-only view, built from the topology and its ports' state; 'ip ${known} ${words[1]}' is refused there (name a namespace with -n NS to change one).`, 255);
        const root = rootView(ctx.emu, node!, ctx.emu.engine.now);
        return ok(runCommand(root.ns, [...options, ...words].join(' '), ctx.emu.engine.now, { linkStats: root.linkStats }));
      }
      // Up/down goes through the element: a device going down hands back the packets queued
      // on its neighbours (it drops them), and a veth end takes its peer's carrier along.
      if (write && matches(obj, 'link') && words[1] === 'set' && (words.includes('down') || words.includes('up'))) {
        const dev = words[2] === 'dev' ? words[3] : words[2];
        if (dev !== undefined && el.ns.link(dev)) el.setLinkUp(dev, words.includes('up'));
      }
      out = runCommand(el.ns, [...options, ...words].join(' '), el.engine.now, {
        drop: (pkts, why) => pkts.forEach((p) => el.engine.drop(p, el, 'neigh_failed', why)),
        linkStats: (l) => el.linkStats(l),
        proxyQueued: () => el.proxyQueued,
        // Neighbour writes run through the element so packets queued on an unresolved entry leave (or fail) as in the kernel.
        neigh: (actions) => el.runNeigh(actions),
        dad: true,
      });
      if (!write) return ok(out);
    } catch (e) {
      // A refusal after ip had printed something (`ip -j` opens its array first) answers with both.
      if (e instanceof RtnlError && e.stdout) return { ok: false, stdout: e.stdout, stderr: `${e.message}\n`, exit: e.exit };
      // ip prints the message with a newline of its own after it: invarg's words end in one already, so a blank line follows.
      if (e instanceof RtnlError) throw new ControlError(`${e.message}\n`, e.exit);
      if (e instanceof IpSyntaxError) throw new ControlError(`Error: ${e.reason}${e.token ? ` ("${e.token}")` : ''}.`, 255);
      throw e;
    } finally {
      notify?.();
      // addrconf's DAD work, queued by an address added or a device made ready, runs at once (after the change is told).
      if (write && el) el.dadWork();
    }
    ctx.invalidate(`${el.node}:${el.name} ${words[0]}`);
    // A write prints nothing but `-j rule flush`'s empty array (its dump).
    return ok(out);
  },
};
