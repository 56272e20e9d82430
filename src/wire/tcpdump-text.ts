// Text helpers shared by the tcpdump printers (tcpdump.ts and its tcpdump-*.ts modules).
import { readU16, readU32 } from './addr.js';

/** A printer's GET_* read passed the captured bytes: `text` is what it printed first; the caller ends the packet there, as tcpdump's longjmp does. */
export class PrintAbort {
  constructor(readonly text: string) {}
}

const TRUNCATED = new (class Truncated {})();

/** The GET_* and ND_TTEST reads and the text of a printer in a module of its own (run it with runPrinter). */
export class Reader {
  out = '';
  constructor(protected readonly b: Uint8Array, protected readonly snapend: number) {}

  protected ttest(p: number, n: number): boolean {
    return p >= 0 && n >= 0 && p + n <= this.snapend;
  }
  /** ND_TCHECK_LEN that ends the packet (the GET_* macros' check). */
  protected need(p: number, n: number): void {
    if (!this.ttest(p, n)) throw TRUNCATED;
  }
  protected u8(p: number): number {
    this.need(p, 1);
    return this.b[p]!;
  }
  protected u16(p: number): number {
    this.need(p, 2);
    return readU16(this.b, p);
  }
  protected u32(p: number): number {
    this.need(p, 4);
    return readU32(this.b, p);
  }
  protected p(s: string): void {
    this.out += s;
  }
  /** nd_printn: `n` characters (an unsigned count) up to the captured end; true when it ran into that end. */
  protected printn(cp: number, n: number): boolean {
    n >>>= 0;
    while (n > 0 && cp < this.snapend) {
      n--;
      this.out += printChar(this.u8(cp++));
    }
    return n !== 0;
  }
}

/** `print(r)`'s text, or PrintAbort with what it printed when a read passed the captured end. */
export function runPrinter<R extends Reader, T>(r: R, print: (r: R) => T): { text: string; result: T } {
  try {
    const result = print(r);
    return { text: r.out, result };
  } catch (e) {
    if (e === TRUNCATED) throw new PrintAbort(r.out);
    throw e;
  }
}

/** fn_print_char: a byte as tcpdump shows it in text ("M-" for the high bit, "^" for control characters). */
export function printChar(c: number): string {
  let s = '';
  if (c > 0x7f) {
    c &= 0x7f;
    s += 'M-';
  }
  if (c < 0x20 || c === 0x7f) {
    c ^= 0x40;
    s += '^';
  }
  return s + String.fromCharCode(c);
}

/** IPv6 text as glibc's inet_ntop writes it (RFC 5952 compression, ::a.b.c.d for v4-compatible/mapped). */
export function ip6ToString(buf: Uint8Array, off: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(readU16(buf, off + 2 * i));
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase >= 0) {
      if (bestBase < 0 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase >= 0 && (bestBase < 0 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase >= 0 && bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      s += `${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
      break;
    }
    s += w[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ':';
  return s;
}

/** Four hex digits, as "%04x". */
export const hex4 = (v: number): string => v.toString(16).padStart(4, '0');

/** bittok2str(table, "none", v): the names of the bits set in v, comma-separated. */
export const bitNames = (table: readonly (readonly [number, string])[], v: number): string =>
  table.filter(([bit]) => v & bit).map(([, n]) => n).join(', ') || 'none';

/** unsigned_relts_print: seconds as "1h2m3s". */
export function relts(secs: number): string {
  if (secs === 0) return '0s';
  let s = '';
  for (const [n, unit] of [[31536000, 'y'], [604800, 'w'], [86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']] as const) {
    if (secs >= n) {
      s += `${Math.floor(secs / n)}${unit}`;
      secs %= n;
    }
  }
  return s;
}
