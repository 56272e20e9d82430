// ovs-vsctl's database commands, read only: get, list and find
// (lib/db-ctl-base.c of OVS 3.1: cmd_get, cmd_list, cmd_find,
// is_condition_satisfied), on the rows ovsdb-rows.ts builds for a node, with
// 3.1's matching of table and column names and its errors.
import { ControlError } from './protocol.js';
import { ALL_TABLES, SCHEMA, UUID_TYPE, type Column, type ColumnType } from './ovsdb-schema.js';
import { atomFromString, atomString, compareAtoms, compareDatums, datumFromString, DatumError, datumString, excludesAll, includesAll, isMap, parseToken, type Datum } from './ovsdb-datum.js';
import type { Row } from './ovsdb-rows.js';
import { printTable, tableStyle, type Cell } from './ovsdb-table-print.js';
import type { VsctlTxn } from './ovs-vsctl-txn.js';

/** What a command prints: text, or a table (printed as table_print prints one after another). */
export interface Output {
  text: string;
  table?: boolean;
}

/** A command once its prerequisites are checked (pre_cmd_*): what it does in the transaction. */
export type Run = (txn: VsctlTxn) => Output;

export const fail = (text: string): never => {
  throw new ControlError(`ovs-vsctl: ${text}`);
};

/** Runs `f`, a command-line value's error in ovs-vsctl's words. */
export function parsing<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DatumError) fail(e.message);
    throw e;
  }
}

const lowerUnderscore = (s: string): string => s.toLowerCase().replaceAll('-', '_');

/** score_partial_match: exact beats case- and dash-blind equal, which beats a prefix (scored by its length). */
function score(name: string, typed: string): number {
  if (name === typed) return Number.MAX_SAFE_INTEGER;
  const n = lowerUnderscore(name), t = lowerUnderscore(typed);
  if (n === t) return Number.MAX_SAFE_INTEGER - 1;
  return n.startsWith(t) ? t.length : 0;
}

/** The candidates `typed` matches best, as get_table()/get_column() pick them. */
function bestMatches<T>(items: readonly T[], name: (t: T) => string, typed: string): T[] {
  let best = 0;
  let found: T[] = [];
  for (const it of items) {
    const s = score(name(it), typed);
    if (s && s > best) [best, found] = [s, [it]];
    else if (s && s === best) found.push(it);
  }
  return found;
}

/** get_table(); a table of the schema that dpemu holds no rows for is refused in dpemu's words. */
export function getTable(typed: string): string {
  const m = bestMatches(ALL_TABLES, (t) => t, typed);
  if (m.length === 0) fail(`unknown table "${typed}"`);
  if (m.length > 1) fail(`"${typed}" matches multiple table names: ${[...m].sort().join(', ')}`);
  const table = m[0]!;
  if (!SCHEMA[table]) fail(`table ${table} is not emulated (dpemu holds ${Object.keys(SCHEMA).join(', ')})`);
  return table;
}

export function getColumn(table: string, typed: string): Column {
  const m = bestMatches(SCHEMA[table]!, (c) => c.name, typed);
  if (m.length === 0) fail(`${table} does not contain a column whose name matches "${typed}"`);
  if (m.length > 1) fail(`${table} contains more than one column whose name matches "${typed}": ${m.map((c) => c.name).join(', ')}`);
  return m[0]!;
}

const UUID_SHAPE = 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx';
/** uuid_is_partial_string() >= 4: the start of a UUID's text, 4 characters at least. */
const partialUuid = (s: string): boolean =>
  s.length >= 4 && s.length <= UUID_SHAPE.length && [...s].every((c, i) => (UUID_SHAPE[i] === '-' ? c === '-' : /[0-9a-f]/i.test(c)));

/** ctl_get_row(): by UUID, "." for a table of one row, by name, then by the start of a UUID. */
export function getRow(rows: readonly Row[], table: string, record: string, mustExist: boolean): Row | undefined {
  let r = rows.find((x) => x.uuid === record.toLowerCase());
  if (!r && record === '.' && rows.length === 1) r = rows[0];
  r ??= rows.find((x) => x.name === record && table !== 'Open_vSwitch');
  if (!r && partialUuid(record)) {
    const m = rows.filter((x) => x.uuid.startsWith(record.toLowerCase()));
    if (m.length > 1) fail(`${table} contains 2 or more rows whose UUIDs begin with ${record}: at least ${m[0]!.uuid} and ${m[1]!.uuid}`);
    r = m[0];
  }
  if (!r && mustExist) fail(`no row "${record}" in table ${table}`);
  return r;
}

/** pre_parse_column_key_value: the column an argument starts with. */
export function columnName(table: string, arg: string): Column {
  const c = parsing(() => parseToken(arg, 0));
  if (c.token === '') fail(`${arg}: missing column name`);
  return getColumn(table, c.token);
}

/** parse_column_key_value's column and key: "COLUMN[:KEY]" then what follows. */
export function columnKey(table: string, arg: string): { column: Column; key?: string; rest: string } {
  const column = columnName(table, arg);
  let p = parsing(() => parseToken(arg, 0)).end;
  let key: string | undefined;
  if (arg[p] === ':') {
    const k = parsing(() => parseToken(arg, p + 1));
    key = k.token;
    p = k.end;
  }
  return { column, key, rest: arg.slice(p) };
}

const columnsOpt = (table: string, opts: ReadonlyMap<string, string>): (Column | null)[] => {
  const spec = opts.get('--columns');
  if (spec === undefined) return [null, ...SCHEMA[table]!];
  // parse_column_names: names split at commas and spaces, _uuid (any case) the row's UUID.
  const names = spec.split(/[, ]+/).filter(Boolean);
  if (!names.length) fail('must specify at least one column name');
  return names.map((n) => (n.toLowerCase() === '_uuid' ? null : getColumn(table, n)));
};

function table(rows: readonly Row[], columns: readonly (Column | null)[], opts: ReadonlyMap<string, string>): Output {
  const style = tableStyle(opts);
  const cells = rows.map((r) => columns.map((c): Cell => (c ? { datum: r.values[c.name]!, type: c.type } : { datum: { keys: [r.uuid] }, type: UUID_TYPE })));
  return { text: printTable(columns.map((c) => c?.name ?? '_uuid'), cells, style), table: true };
}

/** `list TABLE [RECORD...]`: every row of TABLE, or the ones named. */
export function vsctlList(args: readonly string[], opts: ReadonlyMap<string, string>): Run {
  const [tableWord, ...records] = args as [string, ...string[]];
  const t = getTable(tableWord);
  const columns = columnsOpt(t, opts);
  return (txn) => {
    const all = txn.rows[t]!;
    const rows = records.length ? records.map((r) => getRow(all, t, r, !opts.has('--if-exists'))).filter((r): r is Row => r !== undefined) : all;
    return table(rows, columns, opts);
  };
}

const OPERATORS = ['=', '!=', '<', '>', '<=', '>=', '{=}', '{!=}', '{<}', '{>}', '{<=}', '{>=}', '{in}', '{not-in}'] as const;
type Op = (typeof OPERATORS)[number];
const SET_OPS: readonly Op[] = ['{=}', '{!=}', '{<}', '{>}', '{<=}', '{>=}', '{in}', '{not-in}'];

/** evaluate_relop(). */
function relop(a: Datum, b: Datum, op: Op): boolean {
  switch (op) {
    case '=': case '{=}': return compareDatums(a, b) === 0;
    case '!=': case '{!=}': return compareDatums(a, b) !== 0;
    case '<': return compareDatums(a, b) < 0;
    case '>': return compareDatums(a, b) > 0;
    case '<=': return compareDatums(a, b) <= 0;
    case '>=': return compareDatums(a, b) >= 0;
    case '{<}': return b.keys.length > a.keys.length && includesAll(a, b);
    case '{>}': return a.keys.length > b.keys.length && includesAll(b, a);
    case '{<=}': case '{in}': return includesAll(a, b);
    case '{>=}': return includesAll(b, a);
    case '{not-in}': return excludesAll(a, b);
  }
}

/**
 * A parsed `COLUMN[:KEY]OP VALUE`: whether a row satisfies it
 * (check_condition). ovs-vsctl parses the operator and value for each row it
 * tests, so their errors come only when a row gets that far.
 */
function condition(t: string, arg: string): (r: Row) => boolean {
  let test: ((r: Row) => boolean) | undefined;
  return (r) => {
    test ??= parseCondition(t, arg);
    return test(r);
  };
}

function parseCondition(t: string, arg: string): (r: Row) => boolean {
  const { column, key, rest } = columnKey(t, arg);
  // The longest operator the argument continues with, a value after it.
  const op = OPERATORS.filter((o) => rest.startsWith(o) && rest.length > o.length).sort((a, b) => b.length - a.length)[0];
  if (op === undefined) {
    const list = OPERATORS.map((o) => `"${o}"`);
    fail(`${arg}: argument does not end in ${list.slice(0, -1).join(', ')}, or ${list.at(-1)} followed by a value.`);
  }
  const value = rest.slice(op!.length);
  const type = column.type;
  if (key === undefined) {
    const want = parsing(() => datumFromString(value, type));
    return (r) => relop(r.values[column.name]!, want, op!);
  }
  if (!isMap(type)) fail(`cannot specify key to check for non-map column ${column.name}`);
  const wantKey = parsing(() => atomFromString(key, type.key));
  const valueType: ColumnType = { key: type.value!, min: type.min, max: Infinity };
  const want = parsing(() => datumFromString(value, valueType));
  return (r) => {
    const have = r.values[column.name]!;
    const i = have.keys.findIndex((k) => compareAtoms(k, wantKey) === 0);
    if (i < 0 && !SET_OPS.includes(op!)) return false;
    return relop({ keys: i < 0 ? [] : [have.values![i]!] }, want, op!);
  };
}

/** `find TABLE [CONDITION...]`: the rows that satisfy every condition, tested in turn. */
export function vsctlFind(args: readonly string[], opts: ReadonlyMap<string, string>): Run {
  const [tableWord, ...conds] = args as [string, ...string[]];
  const t = getTable(tableWord);
  const columns = columnsOpt(t, opts);
  // pre_cmd_find: the conditions' column names first.
  for (const c of conds) columnName(t, c);
  return (txn) => {
    const tests = conds.map((c) => condition(t, c));
    return table(txn.rows[t]!.filter((r) => tests.every((f) => f(r))), columns, opts);
  };
}

/** A column argument of get that names the row's UUID. */
const isUuid = (c: string): boolean => c.toLowerCase() === '_uuid' || c.toLowerCase() === '-uuid';

/** `get [--if-exists] TABLE RECORD COLUMN[:KEY]...` (cmd_get): a line a column, _uuid the row's UUID. */
export function vsctlGet(args: readonly string[], opts: ReadonlyMap<string, string>): Run {
  const [tableWord, record, ...cols] = args as [string, string, ...string[]];
  const t = getTable(tableWord);
  // pre_cmd_get checks the columns' names before the row is looked for.
  for (const c of cols) if (!isUuid(c)) columnName(t, c);
  if (opts.has('--id')) fail(`get's --id is not taken here (dpemu creates no rows)`);
  return (txn) => ({ text: getColumns(txn.rows[t]!, t, record, cols, !opts.has('--if-exists')) });
}

/** cmd_get's text: a line a column. */
function getColumns(rows: readonly Row[], t: string, record: string, cols: readonly string[], mustExist: boolean): string {
  const row = getRow(rows, t, record, mustExist);
  if (!row) return '';
  let out = '';
  for (const c of cols) {
    if (isUuid(c)) {
      out += `${row.uuid}\n`;
      continue;
    }
    const s = columnKey(t, c);
    if (s.rest) fail(`${c}: trailing garbage "${s.rest}" in argument`);
    const d = row.values[s.column.name]!;
    if (s.key === undefined) {
      out += `${datumString(d, s.column.type)}\n`;
      continue;
    }
    const type = s.column.type;
    if (!isMap(type)) fail(`cannot specify key to get for non-map column ${s.column.name}`);
    const k = parsing(() => atomFromString(s.key!, type.key));
    const i = d.keys.findIndex((x) => compareAtoms(x, k) === 0);
    if (i < 0) {
      if (mustExist) fail(`no key "${s.key}" in ${t} record "${record}" column ${s.column.name}`);
    } else out += atomString(d.values![i]!, type.value!);
    out += '\n';
  }
  return out;
}
