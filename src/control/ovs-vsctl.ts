// ovs-vsctl's commands on a node's bridges (utilities/ovs-vsctl.c,
// lib/db-ctl-base.c): list-br, list-ports, list-ifaces, port-to-br,
// iface-to-br, br-exists, br-to-vlan, br-to-parent, get, list and find on
// the Open_vSwitch, Bridge, Port and Interface tables (ovs-vsctl-db.ts), and
// the writes set, remove, clear and add of what dpemu models
// (ovs-vsctl-write.ts).
// NODE follows the command, as in every dpemu family; the text and errors
// are ovs-vsctl's, its values printed as OVS 2.5 prints them (the
// write-up's version: ovsdb-text.ts).
import type { OvsBridge, OvsPortDesc } from '../ofproto/bridge.js';
import type { Scope } from './command.js';
import { ControlError, ok, type CommandResponse } from './protocol.js';
import { mustNode, ovsBridges } from './resolve.js';
import { vsctlShow } from './ovs-show.js';
import { vsctlFind, vsctlGet, vsctlList } from './ovs-vsctl-db.js';
import { vsctlAdd, vsctlClear, vsctlRemove, vsctlSet } from './ovs-vsctl-write.js';

/** The database commands that write (the daemon runs them between packets; a datapath worker's configuration log keeps them). */
export const VSCTL_WRITES: ReadonlySet<string> = new Set(['set', 'remove', 'clear', 'add']);

const fail = (text: string): never => {
  throw new ControlError(`ovs-vsctl: ${text}`);
};

/** `ovs-vsctl CMD` takes from `min` to `max` arguments (vsctl_commands[]); NODE is not one of them. */
function arity(cmd: string, args: readonly string[], min: number, max: number): void {
  if (args.length < min) fail(`'${cmd}' command requires at least ${min} arguments`);
  if (args.length > max) fail(`'${cmd}' command takes at most ${max} arguments`);
}

const lines = (xs: readonly string[]): CommandResponse => ok(xs.map((x) => `${x}\n`).join(''));

/** The ports of `br` but its own (the LOCAL port named after it), as vsctl lists them. */
const portsOf = (br: OvsBridge): OvsPortDesc[] => br.portsDesc().filter((d) => d.name !== br.name);

export function vsctlRun(s: Scope, words: readonly string[], opts: ReadonlyMap<string, string>): CommandResponse {
  const [cmd, nodeWord, ...args] = words;
  // A command option belongs to the commands that take it (vsctl_commands[]).
  if (opts.has('--columns') && cmd !== 'list' && cmd !== 'find') fail(`'${cmd ?? ''}' command has no '--columns' option`);
  if (opts.has('--')) fail(`dpemu takes one command at a time ('--' joins ovs-vsctl commands into one transaction)`);
  if (cmd === 'show') {
    arity(cmd, args, 0, 0);
    return ok(vsctlShow(s.emu, mustNode(s, nodeWord)));
  }
  const node = mustNode(s, nodeWord);
  const bridges = ovsBridges(s.emu, node);
  const bridge = (name: string): OvsBridge => bridges.find((b) => b.name === name) ?? fail(`no bridge named ${name}`);
  switch (cmd) {
    case 'list-br':
      arity(cmd, args, 0, 0);
      return lines(bridges.map((b) => b.name).sort()); // strcmp order (names are ASCII)
    case 'list-ports':
    case 'list-ifaces':
      arity(cmd, args, 1, 1);
      return lines(portsOf(bridge(args[0]!)).map((d) => d.name).sort());
    case 'port-to-br':
    case 'iface-to-br': {
      arity(cmd, args, 1, 1);
      const br = bridges.find((b) => portsOf(b).some((d) => d.name === args[0]));
      return br ? lines([br.name]) : fail(`no ${cmd === 'port-to-br' ? 'port' : 'interface'} named ${args[0]}`);
    }
    case 'br-exists':
      arity(cmd, args, 1, 1);
      // Nothing printed; exit status 2 for a bridge that is not there.
      return bridges.some((b) => b.name === args[0]) ? ok('') : { ok: false, exit: 2, stdout: '', stderr: '' };
    case 'br-to-vlan':
    case 'br-to-parent': {
      // A real bridge (dpemu has no fake ones) is its own parent, on VLAN 0.
      arity(cmd, args, 1, 1);
      const br = bridge(args[0]!);
      return lines([cmd === 'br-to-vlan' ? '0' : br.name]);
    }
    case 'get':
      arity(cmd, args, 2, Infinity);
      return vsctlGet(s.emu, node, args, opts);
    case 'list':
      arity(cmd, args, 1, Infinity);
      return vsctlList(s.emu, node, args, opts);
    case 'find':
      arity(cmd, args, 1, Infinity);
      return vsctlFind(s.emu, node, args, opts);
    case 'set':
    case 'clear':
      arity(cmd, args, 3, Infinity);
      return cmd === 'set' ? vsctlSet(s.emu, node, args, opts) : vsctlClear(s.emu, node, args, opts);
    case 'remove':
    case 'add':
      arity(cmd, args, 4, Infinity);
      return cmd === 'add' ? vsctlAdd(s.emu, node, args, opts) : vsctlRemove(s.emu, node, args, opts);
    default:
      throw new ControlError(`ovs-vsctl: '${cmd ?? ''}' is not supported here (show, list-br, list-ports, list-ifaces, port-to-br, iface-to-br, br-exists, br-to-vlan, br-to-parent, get, list, find, set, remove, clear, add)`);
  }
}
