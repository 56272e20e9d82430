// One ovs-vsctl invocation's transaction on a node's rows (the IDL's
// ovsdb_idl_txn): every command reads the rows as the commands before it
// left them, their writes are kept aside, and only a commit that passes
// ovsdb-server's checks and dpemu's model (ovsdb-honoured.ts) writes them,
// all together: a command that fails, or a commit that does, writes nothing.
import type { Emulator } from '../topology/builder.js';
import { compareDatums, type Datum } from './ovsdb-datum.js';
import { nodeRows, type Row } from './ovsdb-rows.js';
import { applyWrites, type ColumnWrite } from './ovsdb-honoured.js';

export class VsctlTxn {
  /** The rows as this transaction sees them, by table. */
  readonly rows: Record<string, Row[]> = {};
  private readonly committed = new Map<Row, Row>();
  private readonly writes = new Map<string, ColumnWrite>();
  private readonly checks: (() => void)[] = [];

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
    this.writes.set(`${table}\0${row.uuid}\0${column}`, { table, row: this.committed.get(row)!, column, datum });
  }

  /** A check ovsdb-server makes of the transaction (its error fails the commit). */
  atCommit(check: () => void): void {
    this.checks.push(check);
  }

  /** Whether the transaction changes anything. */
  get changes(): boolean {
    return [...this.writes.values()].some((w) => compareDatums(w.row.values[w.column]!, w.datum) !== 0);
  }

  /** The server's checks, then the writes, all or none. */
  commit(): void {
    for (const c of this.checks) c();
    applyWrites(this.emu, this.node, [...this.writes.values()]);
  }
}
