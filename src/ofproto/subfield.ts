// Subfield syntax `FIELD[]`, `FIELD[n]`, `FIELD[a..b]` (or a bare `FIELD`),
// as OVS's mf_parse_subfield / mf_format_subfield.
import type { Subfield } from './actions.js';
import { fieldByName } from './fields.js';
import { ValueError } from './field-format.js';

/**
 * Parses a subfield at the start of `s`; returns it and how many characters it
 * used, so callers can continue after it (e.g. at "->").
 */
export function parseSubfieldPrefix(s: string): { sf: Subfield; length: number } {
  const m = /^([A-Za-z0-9_]+)(?:\[(?:(\d+)(?:\.\.(\d+))?)?\])?/.exec(s);
  if (!m || !m[1]) throw new ValueError(`${s}: bad subfield syntax`);
  const field = fieldByName(m[1]);
  if (!field) throw new ValueError(`${s}: unknown field \`${m[1]}'`);
  let ofs = 0;
  let nBits = field.nBits;
  if (m[2] !== undefined) {
    const a = Number(m[2]);
    const b = m[3] !== undefined ? Number(m[3]) : a;
    if (a > b) throw new ValueError(`${s}: starting bit ${a} is after ending bit ${b}`);
    if (b >= field.nBits) throw new ValueError(`${s}: bit ${b} is outside ${field.nBits}-bit field ${m[1]}`);
    ofs = a;
    nBits = b - a + 1;
  }
  return { sf: { field, ofs, nBits }, length: m[0].length };
}

/** Parses a whole string as a subfield. */
export function parseSubfield(s: string): Subfield {
  const { sf, length } = parseSubfieldPrefix(s);
  if (length !== s.length) throw new ValueError(`${s}: trailing garbage in subfield`);
  return sf;
}

export function formatSubfield(sf: Subfield): string {
  const name = sf.field.nxm;
  if (sf.ofs === 0 && sf.nBits === sf.field.nBits) return `${name}[]`;
  if (sf.nBits === 1) return `${name}[${sf.ofs}]`;
  return `${name}[${sf.ofs}..${sf.ofs + sf.nBits - 1}]`;
}

export function sameSubfield(a: Subfield, b: Subfield): boolean {
  return a.field === b.field && a.ofs === b.ofs && a.nBits === b.nBits;
}
