// What procps-ng 4.0.2's sysctl makes of a settings file (-p, --system) or
// a KEY=VALUE word: parse_setting_line's settings, Preload's line numbers
// and complaints, and the regex of -r (regcomp REG_EXTENDED).
import type { PreloadGroup } from './sysctl-options.js';

export interface Setting {
  /** The key as written, without its '-'. */
  key: string;
  /** Under /proc/sys/, '/'-separated (slashdot of the key). */
  path: string;
  value: string;
}

/** A line's settings list: the writes, and the paths '-KEY' (no '=') keeps a glob from writing. */
export interface SettingList {
  writes: Setting[];
  excluded: Set<string>;
}

/**
 * procps's slashdot(): the first separator says which one the name uses;
 * if it is `from`, every '.' and '/' swap (a device's '.' is written '/').
 */
export function slashdot(name: string, from: string): string {
  const first = /[./]/.exec(name)?.[0];
  return first !== from ? name : name.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** C's isspace in the C locale. */
const lstrip = (s: string): string => s.replace(/^[ \t\n\v\f\r]+/, '');
const rstrip = (s: string): string => s.replace(/[ \t\n\v\f\r]+$/, '');

/** regcomp(REG_EXTENDED | REG_NOSUB) and regexec: POSIX classes spelled as JS's, '.' matching a newline; one that does not compile matches nothing. */
export function patternMatcher(pattern: string): (s: string) => boolean {
  const classes: Record<string, string> = {
    alpha: 'a-zA-Z', digit: '0-9', alnum: '0-9a-zA-Z', upper: 'A-Z', lower: 'a-z', space: ' \\t\\n\\v\\f\\r', blank: ' \\t',
    punct: '!-\\/:-@\\[-`{-~', xdigit: '0-9a-fA-F', cntrl: '\\x00-\\x1f\\x7f', print: ' -~', graph: '!-~',
  };
  let re: RegExp;
  try {
    re = new RegExp(pattern.replace(/\[:([a-z]+):\]/g, (m, c: string) => classes[c] ?? m), 's');
  } catch {
    return () => false;
  }
  return (s) => re.test(s);
}

/**
 * parse_setting_line: null for a blank line, a comment, a line -r does not
 * match (the whole line, its newline included) or one without '=' (a
 * complaint unless it is an exclusion, '-KEY').
 */
export function parseSettingLine(
  source: string,
  linenum: number,
  line: string,
  match: ((s: string) => boolean) | undefined,
  warn: (msg: string) => void,
): Setting | { exclude: string; key: string } | null {
  let key = lstrip(line);
  if (key.length < 2 || key[0] === '#' || key[0] === ';') return null;
  if (match && !match(key)) return null;
  const eq = key.indexOf('=');
  const path = (k: string): string => slashdot(k, '.');
  if (eq < 0) {
    if (key[0] !== '-') {
      warn(`sysctl: ${source}(${linenum}): invalid syntax, continuing...\n`);
      return null;
    }
    key = rstrip(key.slice(1));
    return { exclude: path(key), key };
  }
  const value = rstrip(lstrip(key.slice(eq + 1)));
  // '-KEY = VALUE': a write whose open fails says ", ignoring" (never one of a key dpemu models).
  key = rstrip(key.slice(key[0] === '-' ? 1 : 0, eq));
  return { key, path: path(key), value };
}

/**
 * Preload over the files the client read: every line's setting, in order;
 * complaints as sysctl prints them while it reads (a file it cannot open
 * ends its Preload with status 1). `before` runs ahead of each Preload
 * (--system's "* Applying" line).
 */
export function preload(
  groups: readonly PreloadGroup[],
  match: ((s: string) => boolean) | undefined,
  warn: (msg: string) => void,
  before: (g: PreloadGroup) => void = () => {},
): { list: SettingList; exit: number } {
  const list: SettingList = { writes: [], excluded: new Set() };
  let exit = 0;
  for (const g of groups) {
    before(g);
    let n = 0; // getline's count, on through every file the name globs to
    for (const f of g.files) {
      if (f.text === undefined) {
        warn(`sysctl: cannot open "${f.path}": ${f.error ?? 'No such file or directory'}\n`);
        exit = 1;
        break;
      }
      for (const line of f.text.split(/(?<=\n)/)) {
        if (line === '') continue;
        n++;
        if (line.length < 2) continue;
        const s = parseSettingLine(f.path, n, line, match, warn);
        if (s === null) continue;
        if ('exclude' in s) list.excluded.add(s.exclude);
        else list.writes.push(s);
      }
    }
  }
  return { list, exit };
}

/** glob(3)'s magic characters: a key holding one names every path it matches. */
export const isGlob = (path: string): boolean => /[*?[]/.test(path);

/** One path component of a glob as a RegExp ('*' and '?' do not match a leading '.'; [!...] negates). */
export function globSegment(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < seg.length) re += `\\${seg[++i]}`;
    else if (c === '[') {
      const end = seg.indexOf(']', i + (seg[i + 1] === '!' || seg[i + 1] === '^' ? 3 : 2));
      if (end < 0) re += '\\[';
      else {
        let body = seg.slice(i + 1, end);
        const neg = body[0] === '!' || body[0] === '^';
        if (neg) body = body.slice(1);
        re += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^(?!\\.)${re}$`);
}
