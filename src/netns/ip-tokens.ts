// Tokens of one line of `ip` text, with their columns, and the errors that
// point at them.

import { type Ip4, type Prefix, parseIp4, parseNetmask, parsePrefix } from './addr.js';
import { IpSyntaxError, RtnlError, notPrefix } from './errors.js';
import { parseU32 } from './names.js';
import { parseIpv6 } from '../wire/addr.js';

export interface Token {
  text: string;
  /** 1-based column of the token's first character. */
  col: number;
}

export function tokenize(line: string): Token[] {
  const out: Token[] = [];
  const re = /\S+/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push({ text: m[0], col: m.index + 1 });
  return out;
}

/** iproute2's matches(): `word` is a non-empty prefix of `keyword`. */
export function matches(word: string, keyword: string): boolean {
  return word.length > 0 && keyword.startsWith(word);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest keyword within two edits, for "did you mean". */
export function suggest(word: string, keywords: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of keywords) {
    const dist = editDistance(word, k);
    if (dist < bestD) {
      best = k;
      bestD = dist;
    }
  }
  return best;
}

/** A cursor over a line's tokens that reports errors against line and column. */
export class TokenStream {
  private i = 0;

  constructor(
    readonly tokens: Token[],
    readonly line: number,
    readonly source?: string,
  ) {}

  get done(): boolean {
    return this.i >= this.tokens.length;
  }

  peek(): Token | undefined {
    return this.tokens[this.i];
  }

  next(): Token {
    return this.tokens[this.i++]!;
  }

  error(tok: Token | undefined, reason: string): IpSyntaxError {
    const last = this.tokens[this.tokens.length - 1];
    const col = tok ? tok.col : last ? last.col + last.text.length : 1;
    return new IpSyntaxError(this.line, col, tok?.text ?? '', reason, this.source);
  }

  /** The value after keyword `kw`. */
  value(kw: Token): Token {
    const t = this.tokens[this.i];
    if (!t) throw this.error(undefined, `missing value after '${kw.text}'`);
    this.i++;
    return t;
  }

  unknown(tok: Token, keywords: readonly string[]): IpSyntaxError {
    const s = suggest(tok.text, keywords);
    return this.error(tok, `unknown keyword '${tok.text}'${s ? ` (did you mean '${s}'?)` : ''}`);
  }

  addr(kw: Token): Ip4 {
    const t = this.value(kw);
    const a = parseIp4(t.text);
    if (a === undefined) throw this.error(t, `invalid address '${t.text}'`);
    return a;
  }

  prefix(t: Token): Prefix {
    const p = parsePrefix(t.text);
    if (!p) throw this.error(t, `invalid prefix '${t.text}'`);
    return p;
  }

  u32(kw: Token, what = kw.text): number {
    const t = this.value(kw);
    const n = parseU32(t.text);
    if (n === undefined) throw this.error(t, `invalid ${what} '${t.text}'`);
    return n;
  }
}

/** Split text into lines with 1-based numbers, skipping blanks and '#' comments. */
export function textLines(text: string): { line: string; no: number }[] {
  const out: { line: string; no: number }[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t && !t.startsWith('#')) out.push({ line, no: i + 1 });
  });
  return out;
}

/** -stats, -statistics and their abbreviations down to -s (iproute2 ip.c): each one more level of detail. */
/** ip.c's -brief: `-b` alone is -batch, which it tries first. */
export const isBriefOption = (a: string): boolean => a.length > 2 && '-brief'.startsWith(a);
export const isStatsOption = (a: string): boolean => a.length > 1 && ('-stats'.startsWith(a) || '-statistics'.startsWith(a));
/** -details, -json, -pretty down to -d, -j, -p: no option ip.c tries before them begins so. */
export const isDetailsOption = (a: string): boolean => a.length > 1 && '-details'.startsWith(a);
export const isJsonOption = (a: string): boolean => a.length > 1 && '-json'.startsWith(a);
export const isPrettyOption = (a: string): boolean => a.length > 1 && '-pretty'.startsWith(a);
/** ip's -4, -6 and -0 (-f inet, inet6, link): the family of its requests, AF_UNSPEC when none is given. */
export type Family = 'inet' | 'inet6' | 'link';

/**
 * get_prefix in the request's family, where ip exits (status 1) on a word
 * it refuses. An inet6 word is taken unread (::/0 here) by the callers that
 * select no IPv6 route by it (`ip route show` reads it: routeShowPrefix).
 */
export function familyPrefix(arg: string, family: Family | undefined): Prefix {
  if (family === 'link') throw new RtnlError('EINVAL', undefined, `Error: "${arg}" may be inet prefix, but it is not allowed in this context.`, 1);
  if (family === 'inet6') {
    if (arg.includes(':') || arg === 'default' || arg === 'all' || arg === 'any') return { addr: 0, len: 0 };
    throw notPrefix(arg, 'inet6');
  }
  const p = parsePrefix(arg);
  if (!p) throw notPrefix(arg, family ?? 'any valid');
  return p;
}

/** -oneline down to -o: no option ip.c tries before it begins so. */
export const isOnelineOption = (a: string): boolean => a.length > 1 && '-oneline'.startsWith(a);

/** An IPv6 prefix: the address's 16 bytes (host bits kept) and the length. */
export interface Prefix6 {
  bytes: Uint8Array;
  len: number;
}

/** get_prefix in AF_INET6: ADDR (a /128) or ADDR/LEN (get_netmask's, at most 128); default, all and any are ::/0. */
export function parsePrefix6(arg: string): Prefix6 | undefined {
  if (arg === 'default' || arg === 'all' || arg === 'any') return { bytes: new Uint8Array(16), len: 0 };
  const slash = arg.indexOf('/');
  const bytes = parseIpv6(slash < 0 ? arg : arg.slice(0, slash));
  if (!bytes) return undefined;
  if (slash < 0) return { bytes, len: 128 };
  const len = parseNetmask(arg.slice(slash + 1));
  return len !== undefined && len <= 128 ? { bytes, len } : undefined;
}

/**
 * A prefix selector of `ip route show`, as get_addr_1 reads it: IPv6 under
 * -6, and in no family a word with a ':' (get_addr_1 tries inet6 for it);
 * otherwise familyPrefix's.
 */
export function routeShowPrefix(arg: string, family: Family | undefined): { v4: Prefix } | { v6: Prefix6 } {
  if (family === 'inet6' || (family === undefined && arg.includes(':'))) {
    const v6 = parsePrefix6(arg);
    if (!v6) throw notPrefix(arg, family === 'inet6' ? 'inet6' : 'any valid');
    return { v6 };
  }
  return { v4: familyPrefix(arg, family) };
}
