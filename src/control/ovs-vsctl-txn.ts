// One ovs-vsctl invocation's transaction on a node's rows (the IDL's
// ovsdb_idl_txn): every command reads the rows as the commands before it
// left them, their writes are kept aside, and only a commit that passes
// ovsdb-server's checks and dpemu's model (ovsdb-honoured.ts) writes them,
// all together: a command that fails, or a commit that does, writes nothing.
// add-port, del-port, add-br and del-br insert and delete rows
// (ovs-vsctl-ports.ts, ovs-vsctl-bridges.ts); their commit adds and deletes
// the ports and bridges (ovsdb-ports.ts).
import type { Emulator } from '../topology/builder.js';
import { compareDatums, type Datum } from './ovsdb-datum.js';
import { nodeRows, type Row } from './ovsdb-rows.js';
import { planWrites, type ColumnWrite } from './ovsdb-honoured.js';
import { planPorts, type Change } from './ovsdb-ports.js';

export class VsctlTxn {
  /** The rows as this transaction sees them, by table. */
  readonly rows: Record<string, Row[]> = {};
  private readonly committed = new Map<Row, Row>();
  private readonly writes = new Map<string, ColumnWrite>();
  private readonly checks: (() => void)[] = [];
  /** The rows the transaction inserted (their values are their own), and the committed rows it deleted. */
  private readonly inserted = new Set<Row>();
  private readonly deleted = new Set<Row>();
  /** Ports and bridges added and deleted, in order. */
  private readonly ports: Change[] = [];

  constructor(private readonly emu: Emulator, private readonly node: string) {
    for (const [table, rows] of Object.entries(nodeRows(emu, node))) {
      this.rows[table] = rows.map((r) => {
        const view = { ...r, values: { ...r.values } };
        this.committed.set(view, r);
        return view;
      });
    }
  }

  /** A column's new value in the transaction. */
  write(table: string, row: Row, column: string, datum: Datum): void {
    row.values[column] = datum;
    if (this.inserted.has(row)) return;
    this.writes.set(`${table}\0${row.uuid}\0${column}`, { table, row: this.committed.get(row)!, column, datum });
  }

  /** A check ovsdb-server makes of the transaction (its error fails the commit). */
  atCommit(check: () => void): void {
    this.checks.push(check);
  }

  /** A port's new Port and Interface rows on `bridge` (add_port: bridge_insert_port). */
  insertPort(bridge: Row, port: Row, iface: Row): void {
    this.rows.Port!.push(port);
    this.rows.Interface!.push(iface);
    this.inserted.add(port).add(iface);
    bridge.values.ports = { keys: [...bridge.values.ports!.keys, port.uuid] };
    this.ports.push({ add: true, bridge: bridge.name, port, iface });
  }

  /** A port's rows gone, and it from its bridge (del_port); a port this transaction added is simply not added. */
  deletePort(bridge: Row, port: Row): void {
    const ifaces = new Set(port.values.interfaces!.keys);
    const gone = [port, ...this.rows.Interface!.filter((r) => ifaces.has(r.uuid))];
    this.rows.Port = this.rows.Port!.filter((r) => r !== port);
    this.rows.Interface = this.rows.Interface!.filter((r) => !ifaces.has(r.uuid));
    bridge.values.ports = { keys: bridge.values.ports!.keys.filter((u) => u !== port.uuid) };
    if (this.inserted.has(port)) {
      this.ports.splice(this.ports.findIndex((c) => !('br' in c) && c.add && c.port === port), 1);
      return;
    }
    for (const r of gone) this.deleted.add(this.committed.get(r)!);
    this.ports.push({ add: false, bridge: bridge.name, name: port.name });
  }

  /** A bridge's new rows, its LOCAL port and interface with it (add-br: ovs_insert_bridge). */
  insertBridge(bridge: Row, port: Row, iface: Row): void {
    this.rows.Bridge!.push(bridge);
    this.rows.Port!.push(port);
    this.rows.Interface!.push(iface);
    this.inserted.add(bridge).add(port).add(iface);
    const ovs = this.rows.Open_vSwitch![0]!;
    ovs.values.bridges = { keys: [...ovs.values.bridges!.keys, bridge.uuid] };
    this.ports.push({ br: 'add', bridge, port, iface });
  }

  /** A bridge's rows gone, its ports' with them (del_bridge); one this transaction added is simply not added, nor ports added to it. */
  deleteBridge(bridge: Row): void {
    const ports = new Set(bridge.values.ports!.keys);
    const ifaces = new Set(this.rows.Port!.filter((p) => ports.has(p.uuid)).flatMap((p) => p.values.interfaces!.keys));
    const gone = [bridge, ...this.rows.Port!.filter((r) => ports.has(r.uuid)), ...this.rows.Interface!.filter((r) => ifaces.has(r.uuid))];
    this.rows.Bridge = this.rows.Bridge!.filter((r) => r !== bridge);
    this.rows.Port = this.rows.Port!.filter((r) => !ports.has(r.uuid));
    this.rows.Interface = this.rows.Interface!.filter((r) => !ifaces.has(r.uuid));
    const ovs = this.rows.Open_vSwitch![0]!;
    ovs.values.bridges = { keys: ovs.values.bridges!.keys.filter((u) => u !== bridge.uuid) };
    // The ports added to it in this transaction are not added; those it had go with it.
    const dropped = (c: Change): boolean => ('br' in c ? c.br === 'add' && c.bridge === bridge : c.add && c.bridge === bridge.name);
    this.ports.splice(0, this.ports.length, ...this.ports.filter((c) => !dropped(c)));
    if (this.inserted.has(bridge)) return;
    for (const r of gone) if (!this.inserted.has(r)) this.deleted.add(this.committed.get(r)!);
    this.ports.push({ br: 'del', name: bridge.name });
  }

  /** Whether the transaction changes anything. */
  get changes(): boolean {
    return this.ports.length > 0 || [...this.writes.values()].some((w) => compareDatums(w.row.values[w.column]!, w.datum) !== 0);
  }

  /** The server's checks, then what the model makes of it all (refused whole, or applied: ports, then columns). */
  commit(): void {
    for (const c of this.checks) c();
    const ports = planPorts(this.emu, this.node, this.ports);
    const writes = planWrites(this.emu, this.node, [...this.writes.values()].filter((w) => !this.deleted.has(w.row)));
    ports();
    writes();
  }
}
