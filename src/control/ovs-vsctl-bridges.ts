// ovs-vsctl 3.1's add-br and del-br (utilities/ovs-vsctl.c: cmd_add_br,
// cmd_del_br, del_bridge) on the transaction's rows: their checks and
// errors in its words and order; the new Bridge with its LOCAL Port and
// Interface (type internal), or the bridge's rows gone with its ports'.
// What the commit makes of them is ovsdb-ports.ts's. dpemu has no fake
// bridges (add-br BR PARENT VLAN): refused.
import type { Emulator } from '../topology/builder.js';
import { fail, type Run } from './ovs-vsctl-db.js';
import { checkConflicts, findBridge } from './ovs-vsctl-ports.js';
import { row } from './ovsdb-rows.js';
import { rowUuid } from './ovs-show.js';

const NONE = { text: '' };

/** `add-br BRIDGE` (with --may-exist). */
export function vsctlAddBr(emu: Emulator, node: string, args: readonly string[], opts: ReadonlyMap<string, string>): Run {
  const name = args[0]!;
  return (txn) => {
    if (args.length === 2) fail("'add-br' command takes exactly 1 or 3 arguments");
    if (args.length === 3) fail(`dpemu does not model fake bridges (add-br ${args.join(' ')}: a VLAN bridge on ${args[1]})`);
    if (opts.has('--may-exist') && findBridge(txn, name)) return NONE;
    checkConflicts(txn, name, `cannot create a bridge named ${name}`);
    const iface = row('Interface', rowUuid(emu, node, 'Interface', name), name, { name: [name], type: ['internal'] });
    const port = row('Port', rowUuid(emu, node, 'Port', name), name, { name: [name], interfaces: [iface.uuid] });
    const bridge = row('Bridge', rowUuid(emu, node, 'Bridge', name), name, { name: [name], ports: [port.uuid] });
    txn.insertBridge(bridge, port, iface);
    return NONE;
  };
}

/** `del-br BRIDGE` (with --if-exists). */
export function vsctlDelBr(args: readonly string[], opts: ReadonlyMap<string, string>): Run {
  return (txn) => {
    const bridge = findBridge(txn, args[0]!);
    if (bridge) txn.deleteBridge(bridge);
    else if (!opts.has('--if-exists')) fail(`no bridge named ${args[0]}`);
    return NONE;
  };
}
