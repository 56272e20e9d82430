// glibc's inet_aton, which conntrack-tools reads its addresses with: one to
// four parts in C's strtoul base 0 (0x hex, leading 0 octal, decimal), the
// last filling the bytes left (a, a.b, a.b.c, a.b.c.d), ended by the string's
// end or any white space. `1.2.3` is 1.2.0.3, `16908291` and `0x1020003` too.

/** The bound of the last part for 1, 2, 3 or 4 parts. */
const LAST_MAX = [0xffffffff, 0xffffff, 0xffff, 0xff];

/** The address as an unsigned 32-bit number; -1 where inet_aton returns 0. */
export function inetAton(text: string): number {
  const parts: number[] = [];
  let i = 0;
  for (;;) {
    // Each part starts with a digit (strtoul's own leading space and sign are not reached).
    const m = /^(0[xX][0-9a-fA-F]+|0[xX]|0[0-7]*|[1-9][0-9]*)/.exec(text.slice(i));
    if (!m) return -1;
    // `0x` alone is strtoul's 0 ending before the x.
    const digits = m[1]!.toLowerCase() === '0x' ? '0' : m[1]!;
    const v = digits.startsWith('0x') || digits.startsWith('0X') ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits[0] === '0' ? parseInt(digits, 8) : Number(digits);
    if (v > 0xffffffff) return -1;
    parts.push(v);
    i += digits.length;
    if (text[i] !== '.') break;
    if (parts.length > 3 || v > 0xff) return -1;
    i++;
  }
  if (i < text.length && !/[ \t\n\v\f\r]/.test(text[i]!)) return -1;
  const last = parts.pop()!;
  if (last > LAST_MAX[parts.length]!) return -1;
  let addr = 0;
  parts.forEach((p, k) => (addr |= p << (24 - 8 * k)));
  return (addr | last) >>> 0;
}

/** A prefix length after `/` as C's strtol base 10 reads it whole (space and sign first; empty is 0); -1 outside 0..32. */
export function prefixLength(text: string): number {
  if (text === '') return 0;
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)$/.exec(text);
  if (!m) return -1;
  const n = Number(m[2]);
  return n > 32 || (m[1] === '-' && n !== 0) ? -1 : n;
}
