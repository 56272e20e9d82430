// OVSDB values as lib/ovsdb-data.c handles them for ovs-vsctl: printed as
// strings (ovsdb_datum_to_string), bare (ovsdb_datum_to_bare) or JSON
// (ovsdb_datum_to_json), compared (ovsdb_datum_compare_3way,
// ovsdb_datum_includes_all) and read from a command line
// (ovsdb_datum_from_string), with the errors ovs-vsctl 3.1 prints.
import type { BaseType, ColumnType } from './ovsdb-schema.js';
import { ovsdbString } from './ovsdb-text.js';

/** A string, an integer, a boolean, or a UUID (a string, as its column's type says). */
export type Atom = string | number | boolean;

/** Keys sorted and unique; `values` (a map's) parallel to them. */
export interface Datum {
  keys: Atom[];
  values?: Atom[];
}

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

export const isMap = (t: ColumnType): boolean => t.value !== undefined;

export function compareAtoms(a: Atom, b: Atom): number {
  if (typeof a === 'string') return a < (b as string) ? -1 : a > (b as string) ? 1 : 0; // strcmp; UUIDs by their text
  return Number(a) - Number(b);
}

/** A datum of `t` from entries, sorted as ovsdb_datum_sort leaves it. */
export function datum(t: ColumnType, entries: readonly (Atom | readonly [Atom, Atom])[]): Datum {
  const pairs = entries.map((e) => (Array.isArray(e) ? (e as [Atom, Atom]) : ([e as Atom, undefined] as const)));
  pairs.sort((x, y) => compareAtoms(x[0], y[0]));
  return isMap(t) ? { keys: pairs.map((p) => p[0]), values: pairs.map((p) => p[1]!) } : { keys: pairs.map((p) => p[0]) };
}

/** An atom as ovs-vsctl prints it: strings quoted where OVS quotes them. */
export function atomString(a: Atom, b: BaseType): string {
  return b.type === 's' ? ovsdbString(a as string) : String(a);
}

/** ovsdb_datum_to_string: brackets for a set or map column, or for an empty optional value. */
export function datumString(d: Datum, t: ColumnType): string {
  const map = isMap(t);
  const items = d.keys.map((k, i) => (map ? `${atomString(k, t.key)}=${atomString(d.values![i]!, t.value!)}` : atomString(k, t.key)));
  const s = items.join(', ');
  return t.max > 1 || d.keys.length === 0 ? (map ? `{${s}}` : `[${s}]`) : s;
}

/** ovsdb_datum_to_bare: the atoms as they are, a space between them. */
export function datumBare(d: Datum, t: ColumnType): string {
  return d.keys.map((k, i) => (isMap(t) ? `${k}=${d.values![i]}` : String(k))).join(' ');
}

export function atomJson(a: Atom, b: BaseType): Json {
  return b.type === 'u' ? ['uuid', a as string] : a;
}

/** ovsdb_datum_to_json: a map as ["map", pairs], one element as itself, else ["set", elements]. */
export function datumJson(d: Datum, t: ColumnType): Json {
  if (isMap(t)) return ['map', d.keys.map((k, i) => [atomJson(k, t.key), atomJson(d.values![i]!, t.value!)])];
  if (d.keys.length === 1) return atomJson(d.keys[0]!, t.key);
  return ['set', d.keys.map((k) => atomJson(k, t.key))];
}

/** ovsdb_datum_compare_3way: by size, then element by element, keys before values. */
export function compareDatums(a: Datum, b: Datum): number {
  if (a.keys.length !== b.keys.length) return a.keys.length < b.keys.length ? -1 : 1;
  for (let i = 0; i < a.keys.length; i++) {
    const c = compareAtoms(a.keys[i]!, b.keys[i]!);
    if (c) return c;
  }
  if (a.values && b.values) {
    for (let i = 0; i < a.values.length; i++) {
      const c = compareAtoms(a.values[i]!, b.values[i]!);
      if (c) return c;
    }
  }
  return 0;
}

const findKey = (d: Datum, k: Atom): number => d.keys.findIndex((x) => compareAtoms(x, k) === 0);

/** ovsdb_datum_includes_all: every element of `a` (a map's key and value) is in `b`. */
export function includesAll(a: Datum, b: Datum): boolean {
  return a.keys.every((k, i) => {
    const j = findKey(b, k);
    return j >= 0 && (!a.values || compareAtoms(a.values[i]!, b.values![j]!) === 0);
  });
}

/** ovsdb_datum_excludes_all: no element of `a` is in `b`. */
export function excludesAll(a: Datum, b: Datum): boolean {
  return a.keys.every((k, i) => {
    const j = findKey(b, k);
    return j < 0 || (a.values !== undefined && compareAtoms(a.values[i]!, b.values![j]!) !== 0);
  });
}

/** A command-line value that ovs-vsctl refuses, in its words. */
export class DatumError extends Error {}

const DELIMS = ':=, []{}!<>';
const isDelim = (c: string): boolean => DELIMS.includes(c);

/**
 * ovsdb_token_parse: the characters up to a delimiter outside double quotes,
 * the quotes kept (ovsdb_atom_from_string reads a quoted string), a
 * backslash taking the next character as it is (kept inside quotes).
 */
export function parseToken(s: string, at: number): { token: string; end: number } {
  let token = '';
  let quoted = false;
  let p = at;
  while (p < s.length) {
    const c = s[p++]!;
    if (c === '\\') {
      if (quoted) token += '\\';
      if (p >= s.length) throw new DatumError(`${s.slice(at)}: backslash at end of argument`);
      token += s[p++];
    } else if (!quoted && isDelim(c)) {
      p--;
      break;
    } else {
      token += c;
      if (c === '"') quoted = !quoted;
    }
  }
  if (quoted) throw new DatumError(`${s.slice(at)}: quoted string extends past end of argument`);
  return { token, end: p };
}

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** json_string_unescape of a quoted token's inside, with its errors. */
function unescape(token: string): string {
  const body = token.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') {
      out += body[i];
      continue;
    }
    const c = body[++i];
    if (c !== undefined && SIMPLE_ESCAPES[c] !== undefined) out += SIMPLE_ESCAPES[c];
    else if (c === 'u') {
      const hex = body.slice(i + 1, i + 5);
      if (hex.length < 4) throw new DatumError(`${token}: quoted string ends within \\u escape`);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new DatumError(`${token}: malformed \\u escape`);
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else throw new DatumError(`${token}: bad escape \\${c ?? ''}`);
  }
  return out;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** ovsdb_atom_from_string, then ovsdb_atom_check_constraints. */
export function atomFromString(token: string, b: BaseType): Atom {
  let a: Atom;
  switch (b.type) {
    case 'i':
      if (!/^[-+]?\d+$/.test(token)) throw new DatumError(`"${token}" is not a valid integer or range`);
      a = Number(token);
      break;
    case 'b':
      // The words OVS's string-to-bool takes (checked against ovs-vsctl 3.1), lower case only.
      if (!/^(true|yes|on|1|false|no|off|0)$/.test(token)) throw new DatumError(`"${token}" is not a valid boolean (use "true" or "false")`);
      a = /^(true|yes|on|1)$/.test(token);
      break;
    case 'u':
      if (!UUID_RE.test(token)) throw new DatumError(`"${token}" is not a valid UUID`);
      a = token.toLowerCase();
      break;
    default:
      if (token === '') throw new DatumError('An empty string is not valid as input; use "" to represent the empty string');
      if (token.startsWith('"')) {
        if (token.length < 2 || !token.endsWith('"')) throw new DatumError(`${token}: missing quote at end of quoted string`);
        a = unescape(token);
      } else a = token;
  }
  if (b.enum && !b.enum.includes(a as string)) {
    throw new DatumError(`constraint violation: ${ovsdbString(a as string)} is not one of the allowed values ([${[...b.enum].sort().map(ovsdbString).join(', ')}])`); // a set: sorted
  }
  if (typeof a === 'number' && ((b.min !== undefined && a < b.min) || (b.max !== undefined && a > b.max))) {
    if (b.min !== undefined && b.max !== undefined) throw new DatumError(`constraint violation: ${a} is not in the valid range ${b.min} to ${b.max} (inclusive)`);
    if (b.min !== undefined) throw new DatumError(`constraint violation: ${a} is less than minimum allowed value ${b.min}`);
    throw new DatumError(`constraint violation: ${a} is greater than maximum allowed value ${b.max}`);
  }
  return a;
}

const skipSpaces = (s: string, i: number): number => {
  while (i < s.length && /\s/.test(s[i]!)) i++;
  return i;
};

/** ovsdb_type_to_english, for "unexpected" errors. */
function english(t: ColumnType): string {
  const word = (b: BaseType): string => ({ s: 'string', i: 'integer', b: 'boolean', u: 'uuid' })[b.type];
  if (!isMap(t) && t.min === 1 && t.max === 1) return word(t.key);
  let s = isMap(t) ? 'map' : 'set';
  if (t.max === Infinity) s += t.min ? ` of ${t.min} or more` : ' of';
  else s += t.min ? ` of ${t.min} to ${t.max}` : ` of up to ${t.max}`;
  return isMap(t) ? `${s} (${word(t.key)}, ${word(t.value!)}) pairs` : `${s} ${word(t.key)}s`;
}

/** ovsdb_datum_from_string: `[a, b]`, `{k=v}`, or bare elements separated by commas. */
export function datumFromString(s: string, t: ColumnType): Datum {
  const map = isMap(t);
  let p = skipSpaces(s, 0);
  let endDelim = '';
  if (s[p] === (map ? '{' : '[')) {
    endDelim = map ? '}' : ']';
    p = skipSpaces(s, p + 1);
  } else if (p >= s.length) {
    throw new DatumError(map ? 'use "{}" to specify the empty map' : 'use "[]" to specify the empty set');
  }
  const entries: (Atom | [Atom, Atom])[] = [];
  while (p < s.length && s[p] !== endDelim) {
    if (isDelim(s[p]!)) throw new DatumError(`${s}: unexpected "${s[p]}" parsing ${english(t)}`);
    const k = parseToken(s, p);
    const key = atomFromString(k.token, t.key);
    p = k.end;
    if (map) {
      p = skipSpaces(s, p);
      // At the end the "%c" is a NUL, which ends ovs-vsctl's message there.
      if (s[p] !== '=') throw new DatumError(p < s.length ? `${s}: syntax error at "${s[p]}" expecting "="` : `${s}: syntax error at "`);
      p = skipSpaces(s, p + 1);
      const v = parseToken(s, p);
      entries.push([key, atomFromString(v.token, t.value!)]);
      p = v.end;
    } else entries.push(key);
    p = skipSpaces(s, p);
    if (s[p] === ',') p = skipSpaces(s, p + 1);
  }
  if ((s[p] ?? '') !== endDelim) throw new DatumError(`${s}: missing "${endDelim}" at end of data`);
  if (endDelim && skipSpaces(s, p + 1) < s.length) throw new DatumError(`${s}: trailing garbage after "${endDelim}"`);
  const what = map ? 'pair(s)' : 'value(s)';
  if (entries.length < t.min) throw new DatumError(`${s}: ${entries.length} ${what} specified but the minimum number is ${t.min}`);
  if (entries.length > t.max) throw new DatumError(`${s}: ${entries.length} ${what} specified but the maximum number is ${t.max}`);
  const d = datum(t, entries);
  for (let i = 1; i < d.keys.length; i++) {
    if (compareAtoms(d.keys[i - 1]!, d.keys[i]!) === 0) throw new DatumError(`${s}: ${map ? 'map contains duplicate key' : 'set contains duplicate value'}`);
  }
  return d;
}
