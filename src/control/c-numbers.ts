// C's strtoul, strtol, atol and atoi as conntrack-tools and iproute2 read numbers with them (on a
// 64-bit glibc), then stores them in 32 bits: no error, ever; what is not a
// number reads as 0, a number stops at its first stray character, one too big
// saturates at the long's bound before the 32-bit cast.

const SPACE = /^[ \t\n\v\f\r]*/;
const ULONG_MAX = (1n << 64n) - 1n;
const LONG_MAX = (1n << 63n) - 1n;

/** strtoul(text, &end, base 0) cast to uint32_t, and what follows the number (`end`; all of `text` when none). */
export function strtoulU32(text: string): { value: number; rest: string } {
  const m = /^([+-]?)(0[xX](?=[0-9a-fA-F])[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(text.replace(SPACE, ''));
  if (!m) return { value: 0, rest: text };
  const digits = m[2]!;
  const base = /^0[xX]/.test(digits) ? 16 : digits.length > 1 && digits[0] === '0' ? 8 : 10;
  let v = 0n;
  for (const d of base === 16 ? digits.slice(2) : digits) v = v * BigInt(base) + BigInt(parseInt(d, 16));
  if (v > ULONG_MAX) v = ULONG_MAX;
  // A minus sign negates in the unsigned long (strtoul's "-1" is ULONG_MAX).
  else if (m[1] === '-') v = (ULONG_MAX + 1n - v) & ULONG_MAX;
  const at = text.length - text.replace(SPACE, '').length + m[0].length;
  return { value: Number(v & 0xffffffffn), rest: text.slice(at) };
}

/** atol(text) (strtol base 10) cast to uint32_t. */
export function atolU32(text: string): number {
  return Number(BigInt.asUintN(32, strtolWhole(text).value));
}

/** strtol(text, &end, 10) as a long, and whether it read all of `text` (at least one digit, nothing after). */
export function strtolWhole(text: string): { value: bigint; whole: boolean } {
  const m = /^([+-]?)([0-9]+)/.exec(text.replace(SPACE, ''));
  if (!m) return { value: 0n, whole: false };
  let v = BigInt(m[2]!);
  if (m[1] === '-') v = v > LONG_MAX + 1n ? -(LONG_MAX + 1n) : -v;
  else if (v > LONG_MAX) v = LONG_MAX;
  return { value: v, whole: text.length - text.replace(SPACE, '').length + m[0].length === text.length };
}

/** atoi(text): strtol base 10 cast to int. */
export const atoi = (text: string): number => Number(BigInt.asIntN(32, strtolWhole(text).value));
