// ovs-vsctl 3.1's add-port and del-port (utilities/ovs-vsctl.c: cmd_add_port,
// add_port, check_conflicts, cmd_del_port, del_port) on the transaction's
// rows: their checks and errors in its words and order; the new Port and
// Interface rows (add-port's COLUMN[:KEY]=VALUE settings set on the Port, as
// ctl_set_column does), or the rows gone. What the commit makes of them is
// ovsdb-ports.ts's.
import type { Emulator } from '../topology/builder.js';
import { fail, type Run } from './ovs-vsctl-db.js';
import { setColumn } from './ovs-vsctl-write.js';
import type { VsctlTxn } from './ovs-vsctl-txn.js';
import { row, type Row } from './ovsdb-rows.js';
import { rowUuid } from './ovs-show.js';

const NONE = { text: '' };

export const findBridge = (txn: VsctlTxn, name: string): Row | undefined => txn.rows.Bridge!.find((b) => b.name === name);
const findPort = (txn: VsctlTxn, name: string): Row | undefined => txn.rows.Port!.find((p) => p.name === name);
const bridgeOf = (txn: VsctlTxn, port: Row): Row => txn.rows.Bridge!.find((b) => b.values.ports!.keys.includes(port.uuid))!;
const ifacesOf = (txn: VsctlTxn, port: Row): Row[] => txn.rows.Interface!.filter((i) => port.values.interfaces!.keys.includes(i.uuid));

/** The port an interface named `name` belongs to (find_iface). */
function portOfIface(txn: VsctlTxn, name: string): Row | undefined {
  const i = txn.rows.Interface!.find((x) => x.name === name);
  return i && txn.rows.Port!.find((p) => p.values.interfaces!.keys.includes(i.uuid));
}

/** check_conflicts(): no bridge, port or interface may have the name already. */
export function checkConflicts(txn: VsctlTxn, name: string, msg: string): void {
  if (findBridge(txn, name)) fail(`${msg} because a bridge named ${name} already exists`);
  const p = findPort(txn, name);
  if (p) fail(`${msg} because a port named ${name} already exists on bridge ${bridgeOf(txn, p).name}`);
  const i = portOfIface(txn, name);
  if (i) fail(`${msg} because an interface named ${name} already exists on bridge ${bridgeOf(txn, i).name}`);
}

/** `add-port BRIDGE PORT [COLUMN[:KEY]=VALUE]...` (with --may-exist): a port of one interface of its name. */
export function vsctlAddPort(emu: Emulator, node: string, args: readonly string[], opts: ReadonlyMap<string, string>): Run {
  const [br, name, ...settings] = args as [string, string, ...string[]];
  return (txn) => {
    if (opts.has('--may-exist')) {
      const p = findPort(txn, name);
      if (p) {
        const command = `"--may-exist add-port ${br} ${name}"`;
        const on = bridgeOf(txn, p).name;
        if (on !== br) fail(`${command} but ${name} is actually attached to bridge ${on}`);
        const have = ifacesOf(txn, p).map((i) => i.name).sort();
        if (have.length !== 1 || have[0] !== name) fail(`${command} but ${name} actually has interface(s) ${have.join(', ')}`);
        return NONE;
      }
    }
    checkConflicts(txn, name, `cannot create a port named ${name}`);
    checkConflicts(txn, name, `cannot create an interface named ${name}`);
    const bridge = findBridge(txn, br) ?? fail(`no bridge named ${br}`);
    const iface = row('Interface', rowUuid(emu, node, 'Interface', name), name, { name: [name] });
    const port = row('Port', rowUuid(emu, node, 'Port', name), name, { name: [name], interfaces: [iface.uuid] });
    txn.insertPort(bridge, port, iface);
    for (const s of settings) setColumn(txn, 'Port', port, s, true);
    return NONE;
  };
}

/** `del-port [BRIDGE] PORT` (with --if-exists, --with-iface: PORT may name an interface). */
export function vsctlDelPort(args: readonly string[], opts: ReadonlyMap<string, string>): Run {
  const mustExist = !opts.has('--if-exists');
  const target = args.at(-1)!;
  return (txn) => {
    let port: Row | undefined;
    if (findBridge(txn, target)) {
      if (mustExist) fail(`cannot delete port ${target} because it is the local port for bridge ${target} (deleting this port requires deleting the entire bridge)`);
    } else if (!opts.has('--with-iface')) {
      port = findPort(txn, target);
      if (!port && mustExist) fail(`no port named ${target}`);
    } else {
      port = findPort(txn, target) ?? portOfIface(txn, target);
      if (!port && mustExist) fail(`no port or interface named ${target}`);
    }
    if (!port) return NONE;
    const on = bridgeOf(txn, port);
    if (args.length === 2) {
      const bridge = findBridge(txn, args[0]!) ?? fail(`no bridge named ${args[0]}`);
      if (bridge !== on) fail(`bridge ${args[0]} does not have a port ${args[1]}`);
    }
    txn.deletePort(on, port);
    return NONE;
  };
}
