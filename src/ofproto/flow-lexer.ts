// Splits flow text into key/value pairs the way OVS's ofputil_parse_key_value
// does (lib/ofp-parse.c), keeping each token's column for error messages.

/** A syntax error in a flow, action or learn spec, pointing at the offending token. */
export class FlowSyntaxError extends Error {
  /** The OVS-style description without the position. */
  readonly detail: string;
  /** 1-based column of the token in the line. */
  readonly column: number;
  readonly token: string;

  constructor(detail: string, column: number, token: string) {
    super(`${detail} (column ${column}, at "${token}")`);
    this.name = 'FlowSyntaxError';
    this.detail = detail;
    this.column = column;
    this.token = token;
  }
}

export interface KeyValue {
  key: string;
  /** 0-based offset of the key in the line. */
  keyAt: number;
  /** '' when the pair is a bare keyword. */
  value: string;
  valueAt: number;
  /** What followed the key: '=', ':', '(' or '' for a bare keyword. */
  delim: '' | '=' | ':' | '(';
}

const SEP = ', \t\r\n';

/** Error helper: a FlowSyntaxError at offset `at` (0-based) for `token`. */
export function syntaxError(detail: string, at: number, token: string): FlowSyntaxError {
  return new FlowSyntaxError(detail, at + 1, token);
}

/** Index just past a double-quoted string starting at i (backslash escapes honoured). */
function skipQuoted(s: string, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === '"') return j + 1;
  }
  throw syntaxError('unterminated quoted string', i, s.slice(i, end));
}

/** Length of a value ending at one of `delims` outside parentheses and quotes (OVS parse_value). */
function valueEnd(s: string, i: number, end: number, delims: string): number {
  let j = i;
  while (j < end && !delims.includes(s[j]!)) {
    const c = s[j]!;
    if (c === '"') {
      j = skipQuoted(s, j, end);
    } else if (c === '(') {
      const open = j;
      let depth = 0;
      do {
        if (j >= end) throw syntaxError('unbalanced parentheses', open, s.slice(open, end));
        const d = s[j]!;
        if (d === '"') {
          j = skipQuoted(s, j, end);
          continue;
        }
        if (d === '(') depth++;
        else if (d === ')') depth--;
        j++;
      } while (depth > 0);
    } else {
      j++;
    }
  }
  return j;
}

/** Iterates key/value pairs of s[start, end). */
export function* keyValues(s: string, start = 0, end = s.length): Generator<KeyValue> {
  let i = start;
  for (;;) {
    while (i < end && SEP.includes(s[i]!)) i++;
    if (i >= end) return;
    const keyAt = i;
    if (s[i] === ')') throw syntaxError('unbalanced parentheses', i, ')');
    let j = s[i] === '"' ? skipQuoted(s, i, end) : i;
    while (j < end && !':=(, \t\r\n'.includes(s[j]!)) j++;
    const key = s.slice(keyAt, j);
    const d = j < end ? s[j]! : '';
    if (d !== ':' && d !== '=' && d !== '(') {
      yield { key, keyAt, value: '', valueAt: j, delim: '' };
      i = j;
      continue;
    }
    const valueAt = j + 1;
    let vEnd: number;
    let next: number;
    if (d === '(') {
      // The value is everything up to the matching ')'.
      let depth = 1;
      let k = valueAt;
      while (k < end && depth > 0) {
        const c = s[k]!;
        if (c === '"') {
          k = skipQuoted(s, k, end);
          continue;
        }
        if (c === '(') depth++;
        else if (c === ')') depth--;
        k++;
      }
      if (depth > 0) throw syntaxError('unbalanced parentheses', keyAt, s.slice(keyAt, end));
      vEnd = k - 1;
      next = k;
      // "(x)->y" continues to the next separator (as OVS allows for load/move).
      if (s.startsWith('->', k)) {
        vEnd = valueEnd(s, k, end, SEP);
        next = vEnd;
      }
    } else {
      vEnd = valueEnd(s, valueAt, end, SEP);
      next = vEnd;
    }
    yield { key, keyAt, value: s.slice(valueAt, vEnd), valueAt, delim: d };
    i = next;
  }
}

/**
 * Splits s[start,end) at top-level commas (outside parentheses and quotes),
 * returning [text, offset] pieces; used for argument lists like resubmit(,2).
 */
export function splitTopLevel(s: string, start: number, end: number, sep = ','): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  let from = start;
  let depth = 0;
  for (let i = start; i < end; i++) {
    const c = s[i]!;
    if (c === '"') {
      i = skipQuoted(s, i, end) - 1;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && sep.includes(c)) {
      out.push([s.slice(from, i), from]);
      from = i + 1;
    }
  }
  out.push([s.slice(from, end), from]);
  return out;
}
