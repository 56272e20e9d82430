// ovs-vsctl's commands on a node's bridges (utilities/ovs-vsctl.c,
// lib/db-ctl-base.c): list-br, list-ports, list-ifaces, port-to-br,
// iface-to-br, br-exists, br-to-vlan, br-to-parent, get-fail-mode,
// get-controller, comment, get, list and find on the Open_vSwitch, Bridge,
// Port and Interface tables (ovs-vsctl-db.ts), and the writes set, remove,
// clear and add of what dpemu models (ovs-vsctl-write.ts), add-port and
// del-port (ovs-vsctl-ports.ts), add-br and del-br (ovs-vsctl-bridges.ts);
// several joined by
// `--` (ovs-vsctl-args.ts) are one transaction (ovs-vsctl-txn.ts), run as
// do_vsctl runs them: every command's prerequisites checked (table and
// column names), then each run in turn, the transaction committed, and only
// then their outputs printed, in order.
// NODE follows each command's name, as in every dpemu family; the text and
// errors are ovs-vsctl's, its values printed as OVS 2.5 prints them (the
// write-up's version: ovsdb-text.ts).
import type { Scope } from './command.js';
import { ControlError, ok, type CommandResponse } from './protocol.js';
import { mustNode } from './resolve.js';
import type { Row } from './ovsdb-rows.js';
import { vsctlShow } from './ovs-show.js';
import { vsctlFind, vsctlGet, vsctlList, type Output, type Run } from './ovs-vsctl-db.js';
import { vsctlAdd, vsctlClear, vsctlRemove, vsctlSet } from './ovs-vsctl-write.js';
import { vsctlAddPort, vsctlDelPort } from './ovs-vsctl-ports.js';
import { vsctlAddBr, vsctlDelBr } from './ovs-vsctl-bridges.js';
import { parseVsctl, type VsctlCommand } from './ovs-vsctl-args.js';
import { VsctlTxn } from './ovs-vsctl-txn.js';
import { tableStyle } from './ovsdb-table-print.js';

const fail = (text: string): never => {
  throw new ControlError(`ovs-vsctl: ${text}`);
};

/** br-exists of a bridge that is not there: ovs-vsctl exits 2 at once, printing nothing. */
class Exit2 extends Error {}

const lines = (xs: readonly string[]): Output => ({ text: xs.map((x) => `${x}\n`).join('') });

/** The node the words name (the first command's: they must all name it). */
export const vsctlNode = (argv: readonly string[]): string | undefined => parseVsctl(argv).commands[0]?.node;

/** A command's prerequisites checked; what it does in the transaction. */
function prepare(s: Scope, node: string, c: VsctlCommand, style: ReadonlyMap<string, string>, last: boolean): Run {
  const { name, args } = c;
  const opts = new Map([...style, ...c.opts]);
  switch (name) {
    case 'show':
      return () => ({ text: vsctlShow(s.emu, node) });
    case 'comment':
      return () => ({ text: '' });
    case 'get':
      return vsctlGet(args, opts);
    case 'list':
      return vsctlList(args, opts);
    case 'find':
      return vsctlFind(args, opts);
    case 'set':
      return vsctlSet(args, opts);
    case 'clear':
      return vsctlClear(args, opts);
    case 'add':
      return vsctlAdd(args, opts, last);
    case 'remove':
      return vsctlRemove(args, opts);
    case 'add-port':
      return vsctlAddPort(s.emu, node, args, opts);
    case 'del-port':
      return vsctlDelPort(args, opts);
    case 'add-br':
      return vsctlAddBr(s.emu, node, args, opts);
    case 'del-br':
      return vsctlDelBr(args, opts);
  }
  // vsctl's own commands: on the rows as the transaction has them (its cache: add-port's port is listed after it), and dpemu has no fake bridges, no controllers.
  return (txn) => {
    const bridges = txn.rows.Bridge!;
    const bridge = (n: string): Row => bridges.find((b) => b.name === n) ?? fail(`no bridge named ${n}`);
    /** A bridge's ports but its own (the LOCAL port named after it), as vsctl lists them. */
    const portsOf = (br: Row): Row[] => txn.rows.Port!.filter((p) => p.name !== br.name && br.values.ports!.keys.includes(p.uuid));
    switch (name) {
      case 'list-br':
        return lines(c.opts.has('--fake') && !c.opts.has('--real') ? [] : bridges.map((b) => b.name).sort()); // strcmp order (names are ASCII)
      case 'list-ports':
      case 'list-ifaces':
        return lines(portsOf(bridge(args[0]!)).map((p) => p.name).sort());
      case 'port-to-br':
      case 'iface-to-br': {
        const br = bridges.find((b) => portsOf(b).some((p) => p.name === args[0]));
        return br ? lines([br.name]) : fail(`no ${name === 'port-to-br' ? 'port' : 'interface'} named ${args[0]}`);
      }
      case 'br-exists':
        if (!bridges.some((b) => b.name === args[0])) throw new Exit2();
        return lines([]);
      case 'br-to-vlan':
      case 'br-to-parent':
        // A real bridge (dpemu has no fake ones) is its own parent, on VLAN 0.
        return lines([name === 'br-to-vlan' ? '0' : bridge(args[0]!).name]);
      case 'get-fail-mode':
        return lines(bridge(args[0]!).values.fail_mode!.keys.map(String));
      default: // get-controller: the bridge's controllers' targets, of which dpemu's have none
        bridge(args[0]!);
        return lines([]);
    }
  };
}

/** Each command's output as do_vsctl prints it: a table as table_print does (a blank line before each after the first, but in JSON and HTML), text as it is or, with --oneline, on one line. */
function print(outs: readonly Output[], style: ReadonlyMap<string, string>, oneline: boolean): string {
  const format = tableStyle(style).format;
  let tables = 0, out = '';
  for (const o of outs) {
    if (o.table) out += (tables++ && format !== 'json' && format !== 'html' ? '\n' : '') + o.text;
    else if (oneline) out += `${o.text.replace(/\n$/, '').replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}\n`;
    else out += o.text;
  }
  return out;
}

export function vsctlRun(s: Scope, argv: readonly string[]): CommandResponse {
  const line = parseVsctl(argv);
  const [first, ...more] = line.commands as [VsctlCommand, ...VsctlCommand[]];
  const node = mustNode(s, first.node);
  for (const c of more) {
    if (c.node !== node) fail(`one invocation is one node's transaction: '${c.name}' names ${c.node ?? 'no NODE'}, '${first.name}' ${node} (NODE follows each command's name)`);
  }
  const runs = line.commands.map((c, i) => prepare(s, node, c, line.style, i === line.commands.length - 1));
  const txn = new VsctlTxn(s.emu, node);
  let outs: Output[];
  try {
    outs = runs.map((r) => r(txn));
  } catch (e) {
    if (e instanceof Exit2) return { ok: false, exit: 2, stdout: '', stderr: '' };
    throw e;
  }
  if (!line.dryRun) txn.commit();
  else if (txn.changes && !line.noWait) {
    // The transaction is never sent, and ovs-vsctl waits for ovs-vswitchd to apply it: until -t's alarm kills it, or for ever.
    fail('dpemu does not wait for ever: ovs-vsctl 3.1 --dry-run of a change waits for ovs-vswitchd to apply what it never sent (add --no-wait)');
  }
  return ok(print(outs, line.style, line.oneline));
}
