// Numeric access to fields and subfields of a FlowKey, prepared once per flow
// so that load/move/set_field and learn() never touch a bigint per packet.
// A subfield is a list of segments, each a run of bits inside one key word and
// inside one 32-bit half of the subfield's value (values up to 64 bits are a
// (hi, lo) pair of unsigned numbers).
import type { FieldDef } from './fields.js';
import type { Subfield } from './actions.js';

/** Segment: subfield bits [sb, sb+len) live in key word w at bits [wb, wb+len). */
export type Segs = Int32Array; // flattened (w, wb, sb, len) quadruples

function lowMask(len: number): number {
  return len >= 32 ? 0xffffffff : ((1 << len) - 1) >>> 0;
}

/** Segments of `field[ofs .. ofs+nBits)`. */
export function segsOf(field: FieldDef, ofs: number, nBits: number): Segs {
  const out: number[] = [];
  let j = 0;
  while (j < nBits) {
    const c = field.shift + ofs + j; // bit in the big-endian word concatenation
    const idx = field.words.length - 1 - (c >> 5);
    const wb = c & 31;
    let len = Math.min(32 - wb, nBits - j);
    if ((j & 31) + len > 32) len = 32 - (j & 31); // stay within one value half
    out.push(field.words[idx]!, wb, j, len);
    j += len;
  }
  return Int32Array.from(out);
}

export function subfieldSegs(sf: Subfield): Segs {
  return segsOf(sf.field, sf.ofs, sf.nBits);
}

/** Scratch result of readSegs: the value as two unsigned halves. */
export const val = { hi: 0, lo: 0 };

export function readSegs(key: Uint32Array, s: Segs): void {
  let hi = 0, lo = 0;
  for (let i = 0; i < s.length; i += 4) {
    const w = s[i]!, wb = s[i + 1]!, sb = s[i + 2]!, len = s[i + 3]!;
    const v = ((key[w]! >>> wb) & lowMask(len)) >>> 0;
    if (sb >= 32) hi = (hi | (v << (sb - 32))) >>> 0;
    else lo = (lo | (v << sb)) >>> 0;
  }
  val.hi = hi;
  val.lo = lo;
}

export function writeSegs(key: Uint32Array, s: Segs, hi: number, lo: number): void {
  for (let i = 0; i < s.length; i += 4) {
    const w = s[i]!, wb = s[i + 1]!, sb = s[i + 2]!, len = s[i + 3]!;
    const m = lowMask(len);
    const v = sb >= 32 ? (hi >>> (sb - 32)) & m : (lo >>> sb) & m;
    const wm = (m << wb) >>> 0;
    key[w] = ((key[w]! & ~wm) | ((v << wb) & wm)) >>> 0;
  }
}

/** Key words a segment list touches (to know which headers need rewriting). */
export function segWords(s: Segs): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i += 4) if (!out.includes(s[i]!)) out.push(s[i]!);
  return out;
}

/**
 * `(field & ~mask) | value` for a constant, as per-word (word, keep-mask,
 * value) triples: value and mask right-aligned in the field.
 */
export function constWrite(field: FieldDef, value: bigint, mask: bigint): Uint32Array {
  const fieldOnes = (1n << BigInt(field.nBits)) - 1n;
  const m = (mask & fieldOnes) << BigInt(field.shift);
  const v = (value << BigInt(field.shift)) & m;
  const out: number[] = [];
  for (let i = field.words.length - 1, sh = 0n; i >= 0; i--, sh += 32n) {
    const wm = Number((m >> sh) & 0xffffffffn);
    if (wm === 0) continue;
    out.push(field.words[i]!, ~wm >>> 0, Number((v >> sh) & 0xffffffffn));
  }
  return Uint32Array.from(out);
}

export function applyConstWrite(key: Uint32Array, t: Uint32Array): void {
  for (let i = 0; i < t.length; i += 3) {
    const w = t[i]!;
    key[w] = ((key[w]! & t[i + 1]!) | t[i + 2]!) >>> 0;
  }
}

export function toHalves(v: bigint): { hi: number; lo: number } {
  return { hi: Number((v >> 32n) & 0xffffffffn), lo: Number(v & 0xffffffffn) };
}

export function fromHalves(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
