// ovs-vsctl's database writes: set, remove, clear and add (lib/db-ctl-base.c
// of OVS 3.1: pre_cmd_*/cmd_*, set_column, check_mutable), their checks and
// errors in ovs-vsctl's words and in its order (the column names before the
// row, then each argument in turn), the transaction's constraint errors as
// ovsdb-server answers them, then what dpemu's model makes of the new
// values (ovsdb-honoured.ts: a change it does not model is refused, and
// nothing is written). One command at a time: ovs-vsctl's `--` joining
// several into one transaction is not taken.
import type { Emulator } from '../topology/builder.js';
import { ok, type CommandResponse } from './protocol.js';
import type { Column, ColumnType } from './ovsdb-schema.js';
import { atomFromString, atomJson, compareAtoms, datum, datumFromString, DatumError, isMap, type Atom, type Datum } from './ovsdb-datum.js';
import { nodeRows, type Row } from './ovsdb-rows.js';
import { columnKey, columnName, fail, getColumn, getRow, getTable, parsing } from './ovs-vsctl-db.js';
import { applyWrites, type ColumnWrite } from './ovsdb-honoured.js';

type Entry = readonly [Atom, Atom | undefined];

const entries = (d: Datum): Entry[] => d.keys.map((k, i) => [k, d.values?.[i]] as const);
const toDatum = (t: ColumnType, es: readonly Entry[]): Datum => datum(t, es.map(([k, v]) => (v === undefined ? k : ([k, v] as const))));
const has = (es: readonly Entry[], k: Atom): number => es.findIndex((e) => compareAtoms(e[0], k) === 0);

/** The rows' new values as the command builds them, argument by argument. */
class Writes {
  private readonly cols = new Map<string, ColumnWrite>();

  constructor(private readonly table: string, private readonly row: Row) {}

  get(c: Column): Datum {
    return this.cols.get(c.name)?.datum ?? this.row.values[c.name]!;
  }

  set(c: Column, d: Datum): void {
    this.cols.set(c.name, { table: this.table, row: this.row, column: c.name, datum: d });
  }

  list(): ColumnWrite[] {
    return [...this.cols.values()];
  }
}

/** check_mutable(): the schema's immutable columns (each table's name). */
function checkMutable(table: string, c: Column): void {
  if (c.name === 'name') fail(`cannot modify read-only column ${c.name} in table ${table}`);
}

/** The row a write command names (pre_cmd_* has checked its columns); undefined with --if-exists and none. */
const target = (emu: Emulator, node: string, table: string, record: string, opts: ReadonlyMap<string, string>): Row | undefined =>
  getRow(nodeRows(emu, node)[table]!, table, record, !opts.has('--if-exists'));

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
export function vsctlSet(emu: Emulator, node: string, args: readonly string[], opts: ReadonlyMap<string, string>): CommandResponse {
  const [tableWord, record, ...sets] = args as [string, string, ...string[]];
  const t = getTable(tableWord);
  for (const a of sets) columnName(t, a);
  const row = target(emu, node, t, record, opts);
  if (!row) return ok('');
  const w = new Writes(t, row);
  for (const a of sets) {
    const { column, key, rest } = columnKey(t, a);
    if (!rest.startsWith('=') || rest.length < 2) fail(`${a}: argument does not end in "=" followed by a value.`);
    const value = rest.slice(1);
    checkMutable(t, column);
    const type = column.type;
    if (key === undefined) {
      w.set(column, parsing(() => datumFromString(value, type)));
      continue;
    }
    if (!isMap(type)) fail(`cannot specify key to set for non-map column ${column.name}`);
    const k = parsing(() => atomFromString(key, type.key));
    const v = parsing(() => atomFromString(value, type.value!));
    const es = entries(w.get(column)).filter((e) => compareAtoms(e[0], k) !== 0);
    w.set(column, toDatum(type, [...es, [k, v]]));
  }
  applyWrites(emu, node, w.list());
  return ok('');
}

/**
 * remove's and add's `TABLE RECORD COLUMN VALUE...`: the table, column and
 * row (null: none, with --if-exists), checked in ovs-vsctl's order.
 */
function columnWrite(emu: Emulator, node: string, args: readonly string[], opts: ReadonlyMap<string, string>) {
  const [tableWord, record, columnWord, ...values] = args as [string, string, string, ...string[]];
  const t = getTable(tableWord);
  const column = getColumn(t, columnWord);
  const row = target(emu, node, t, record, opts);
  if (!row) return null;
  checkMutable(t, column);
  return { t, column, row, values };
}

/** `remove TABLE RECORD COLUMN KEY|VALUE|KEY=VALUE...` (cmd_remove): a map's elements by key, or by key and value. */
export function vsctlRemove(emu: Emulator, node: string, args: readonly string[], opts: ReadonlyMap<string, string>): CommandResponse {
  const w = columnWrite(emu, node, args, opts);
  if (!w) return ok('');
  const { t, column, row, values } = w;
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
  applyWrites(emu, node, [{ table: t, row, column: column.name, datum: toDatum(type, es) }]);
  return ok('');
}

/** `add TABLE RECORD COLUMN [KEY=]VALUE...` (cmd_add): a map's keys take the values given. */
export function vsctlAdd(emu: Emulator, node: string, args: readonly string[], opts: ReadonlyMap<string, string>): CommandResponse {
  const w = columnWrite(emu, node, args, opts);
  if (!w) return ok('');
  const { t, column, row, values } = w;
  const type = column.type;
  let added: Entry[] = [];
  for (const v of values) {
    const d = parsing(() => datumFromString(v, oneOrMore(type)));
    for (const e of entries(d)) added = [...added.filter((x) => compareAtoms(x[0], e[0]) !== 0), e];
  }
  const es = entries(row.values[column.name]!).filter((e) => has(added, e[0]) < 0);
  const result = toDatum(type, [...es, ...added]);
  checkOverflow(column, toDatum(type, added), result);
  applyWrites(emu, node, [{ table: t, row, column: column.name, datum: result }]);
  return ok('');
}

/** `clear TABLE RECORD COLUMN...` (cmd_clear): each column empty, where its type allows. */
export function vsctlClear(emu: Emulator, node: string, args: readonly string[], opts: ReadonlyMap<string, string>): CommandResponse {
  const [tableWord, record, ...columns] = args as [string, string, ...string[]];
  const t = getTable(tableWord);
  for (const c of columns) getColumn(t, c);
  const row = target(emu, node, t, record, opts);
  if (!row) return ok('');
  const w = new Writes(t, row);
  for (const c of columns) {
    const column = getColumn(t, c);
    checkMutable(t, column);
    if (column.type.min > 0) fail(`"clear" operation cannot be applied to column ${column.name} of table ${t}, which is not allowed to be empty`);
    w.set(column, datum(column.type, []));
  }
  applyWrites(emu, node, w.list());
  return ok('');
}
