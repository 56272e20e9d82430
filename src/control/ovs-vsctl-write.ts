// ovs-vsctl's database writes: set, remove, clear and add (lib/db-ctl-base.c
// of OVS 3.1: pre_cmd_*/cmd_*, set_column, check_mutable), their checks and
// errors in ovs-vsctl's words and in its order (the column names before any
// command runs, then the row, then each argument in turn), written into the
// invocation's transaction (ovs-vsctl-txn.ts), whose commit checks what
// ovsdb-server checks, then what dpemu's model makes of the new values
// (ovsdb-honoured.ts: a change it does not model is refused, and nothing is
// written).
import type { Column, ColumnType } from './ovsdb-schema.js';
import { atomFromString, atomJson, compareAtoms, datum, datumFromString, DatumError, isMap, type Atom, type Datum } from './ovsdb-datum.js';
import type { Row } from './ovsdb-rows.js';
import { columnKey, columnName, fail, getColumn, getRow, getTable, parsing, type Run } from './ovs-vsctl-db.js';
import type { VsctlTxn } from './ovs-vsctl-txn.js';

type Entry = readonly [Atom, Atom | undefined];

const entries = (d: Datum): Entry[] => d.keys.map((k, i) => [k, d.values?.[i]] as const);
const toDatum = (t: ColumnType, es: readonly Entry[]): Datum => datum(t, es.map(([k, v]) => (v === undefined ? k : ([k, v] as const))));
const has = (es: readonly Entry[], k: Atom): number => es.findIndex((e) => compareAtoms(e[0], k) === 0);
const NONE = { text: '' };

/** check_mutable(): the schema's immutable columns (each table's name). */
function checkMutable(table: string, c: Column): void {
  if (c.name === 'name') fail(`cannot modify read-only column ${c.name} in table ${table}`);
}

/** The row a write command names (pre_cmd_* has checked its columns); undefined with --if-exists and none. */
const target = (txn: VsctlTxn, table: string, record: string, opts: ReadonlyMap<string, string>): Row | undefined =>
  getRow(txn.rows[table]!, table, record, !opts.has('--if-exists'));

/** The type a remove or add argument is read as: one element or more of the column's. */
const oneOrMore = (t: ColumnType): ColumnType => ({ ...t, min: 1, max: Infinity });

const words = (t: ColumnType): string => ({ s: 'strings', i: 'integers', b: 'booleans', u: 'uuids' })[t.key.type];

/**
 * ovsdb-server's answer to a write that overflows a set: the IDL sends an
 * add as a mutation inserting its elements (their count checked against the
 * column's type), and the result is checked against the column's maximum.
 * The real server lists the elements in its hash order; here, sorted.
 */
function checkOverflow(c: Column, added: Datum, result: Datum): void {
  const t = c.type;
  if (added.keys.length > t.max) {
    const syntax = JSON.stringify(['set', added.keys.map((k) => atomJson(k, t.key))]);
    fail(`transaction error: ${JSON.stringify({ details: `set must have ${t.min} to ${t.max} members but ${added.keys.length} are present`, error: 'syntax error', syntax })}`);
  }
  if (result.keys.length > t.max) {
    fail(`transaction error: ${JSON.stringify({ details: `Attempted to store ${result.keys.length} elements in set of up to ${t.max} ${words(t)}.`, error: 'constraint violation' })}`);
  }
}

/** `set TABLE RECORD COLUMN[:KEY]=VALUE...` (cmd_set, set_column). */
export function vsctlSet(args: readonly string[], opts: ReadonlyMap<string, string>): Run {
  const [tableWord, record, ...sets] = args as [string, string, ...string[]];
  const t = getTable(tableWord);
  for (const a of sets) columnName(t, a);
  return (txn) => {
    const row = target(txn, t, record, opts);
    if (row) for (const a of sets) setColumn(txn, t, row, a);
    return NONE;
  };
}

/** set_column: one `COLUMN[:KEY]=VALUE`; add-port's settings (ctl_set_column) may set any column. */
export function setColumn(txn: VsctlTxn, t: string, row: Row, a: string, anyColumn = false): void {
  const { column, key, rest } = columnKey(t, a);
  if (!rest.startsWith('=') || rest.length < 2) fail(`${a}: argument does not end in "=" followed by a value.`);
  const value = rest.slice(1);
  if (!anyColumn) checkMutable(t, column);
  const type = column.type;
  if (key === undefined) {
    txn.write(t, row, column.name, parsing(() => datumFromString(value, type)));
    return;
  }
  if (!isMap(type)) fail(`cannot specify key to set for non-map column ${column.name}`);
  const k = parsing(() => atomFromString(key, type.key));
  const v = parsing(() => atomFromString(value, type.value!));
  const es = entries(row.values[column.name]!).filter((e) => compareAtoms(e[0], k) !== 0);
  txn.write(t, row, column.name, toDatum(type, [...es, [k, v]]));
}

/**
 * remove's and add's `TABLE RECORD COLUMN VALUE...`: the table and column
 * checked first (pre_cmd_*), then in the transaction the row (none: with
 * --if-exists, nothing done) and whether the column may change.
 */
function columnWrite(args: readonly string[], opts: ReadonlyMap<string, string>, f: (txn: VsctlTxn, t: string, column: Column, row: Row, values: readonly string[]) => void): Run {
  const [tableWord, record, columnWord, ...values] = args as [string, string, string, ...string[]];
  const t = getTable(tableWord);
  const column = getColumn(t, columnWord);
  return (txn) => {
    const row = target(txn, t, record, opts);
    if (row) {
      checkMutable(t, column);
      f(txn, t, column, row, values);
    }
    return NONE;
  };
}

/** `remove TABLE RECORD COLUMN KEY|VALUE|KEY=VALUE...` (cmd_remove): a map's elements by key, or by key and value. */
export const vsctlRemove = (args: readonly string[], opts: ReadonlyMap<string, string>): Run =>
  columnWrite(args, opts, (txn, t, column, row, values) => {
    const type = column.type;
    let es = entries(row.values[column.name]!);
    for (const v of values) {
      const { rm, byKey } = parsing(() => {
        try {
          return { rm: datumFromString(v, oneOrMore(type)), byKey: false };
        } catch (e) {
          // A map's keys alone: read again as a set of them (that reading's error is the one told).
          if (!(e instanceof DatumError) || !isMap(type)) throw e;
          return { rm: datumFromString(v, oneOrMore({ key: type.key, min: type.min, max: type.max })), byKey: true };
        }
      });
      // ovsdb_datum_subtract: an element goes if its key (and, given one, its value) is there.
      es = es.filter(([k, val]) => {
        const i = rm.keys.findIndex((x) => compareAtoms(x, k) === 0);
        return i < 0 || (isMap(type) && !byKey && compareAtoms(rm.values![i]!, val!) !== 0);
      });
    }
    if (es.length < type.min) {
      fail(`"remove" operation would put ${es.length} ${isMap(type) ? 'pairs' : 'values'} in column ${column.name} of table ${t} but the minimum number is ${type.min}`);
    }
    txn.write(t, row, column.name, toDatum(type, es));
  });

/**
 * `add TABLE RECORD COLUMN [KEY=]VALUE...` (cmd_add): the elements given (of
 * a key given twice, the first). The last command of a transaction sends
 * them as a mutation: a map's keys take the values given, and ovsdb-server
 * checks the set's size. Any other merges them into the column as the
 * transaction has it, a key there keeping its value, and checks the size
 * itself (ovs-vsctl 3.1's "add" operation error).
 */
export const vsctlAdd = (args: readonly string[], opts: ReadonlyMap<string, string>, last: boolean): Run =>
  columnWrite(args, opts, (txn, t, column, row, values) => {
    const type = column.type;
    const added: Entry[] = [];
    for (const v of values) {
      const d = parsing(() => datumFromString(v, oneOrMore(type)));
      for (const e of entries(d)) if (has(added, e[0]) < 0) added.push(e);
    }
    const old = entries(row.values[column.name]!);
    if (last) {
      const result = toDatum(type, [...old.filter((e) => has(added, e[0]) < 0), ...added]);
      txn.atCommit(() => checkOverflow(column, toDatum(type, added), result));
      txn.write(t, row, column.name, result);
      return;
    }
    const result = [...old, ...added.filter((e) => has(old, e[0]) < 0)];
    if (result.length > type.max) {
      fail(`"add" operation would put ${result.length} ${isMap(type) ? 'pairs' : 'values'} in column ${column.name} of table ${t} but the maximum number is ${type.max}`);
    }
    txn.write(t, row, column.name, toDatum(type, result));
  });

/** `clear TABLE RECORD COLUMN...` (cmd_clear): each column empty, where its type allows. */
export function vsctlClear(args: readonly string[], opts: ReadonlyMap<string, string>): Run {
  const [tableWord, record, ...columns] = args as [string, string, ...string[]];
  const t = getTable(tableWord);
  for (const c of columns) getColumn(t, c);
  return (txn) => {
    const row = target(txn, t, record, opts);
    for (const c of row ? columns : []) {
      const column = getColumn(t, c);
      checkMutable(t, column);
      if (column.type.min > 0) fail(`"clear" operation cannot be applied to column ${column.name} of table ${t}, which is not allowed to be empty`);
      txn.write(t, row!, column.name, datum(column.type, []));
    }
    return NONE;
  };
}
