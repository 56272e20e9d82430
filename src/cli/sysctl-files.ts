// The files of `sysctl -p [FILE...]` and `sysctl --system`, read here, where
// the user types (the real sysctl reads them where it runs), and sent to the
// daemon with the words (LOAD_WORD). Each name is globbed as Preload does
// (GLOB_NOCHECK | GLOB_BRACE | GLOB_TILDE); `-` is stdin.
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { globSegment, isGlob } from '../control/sysctl-load.js';
import { DEFAULT_PRELOAD, LOAD_WORD, type LoadedFile, type PreloadGroup, parseSysctlArgs, preloadNames, sysctlTarget } from '../control/sysctl-options.js';

/** PreloadSystem's directories, in its order (a file name in an earlier one hides the same name in a later one). */
const SYSTEM_DIRS = ['/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d'];

/** GLOB_BRACE: {a,b} alternatives, outermost first, nested ones expanded in turn. */
function braces(p: string): string[] {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') i++;
    else if (c === '{' && depth++ === 0) open = i;
    else if (c === ',' && depth === 1) commas.push(i);
    else if (c === '}' && depth > 0 && --depth === 0) {
      if (commas.length === 0) return [p]; // {x}: glibc keeps it as written
      const cuts = [open, ...commas, i];
      return cuts.slice(1).flatMap((end, k) => braces(p.slice(0, open) + p.slice(cuts[k]! + 1, end) + p.slice(i + 1)));
    }
  }
  return [p];
}

const exists = (p: string): boolean => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/** glob(3) of one pattern without braces: the paths it matches, sorted. */
function globOne(pattern: string): string[] {
  const p = pattern === '~' || pattern.startsWith('~/') ? homedir() + pattern.slice(1) : pattern;
  if (!isGlob(p)) return exists(p) ? [p] : [];
  const segs = p.split('/');
  let found = [segs[0] === '' ? '' : '.'];
  segs.forEach((seg, i) => {
    if (i === 0 && seg === '') return;
    const join = (dir: string, name: string): string => (dir === '.' && i === 0 ? name : `${dir}/${name}`);
    if (!isGlob(seg)) {
      found = found.map((d) => join(d, seg)).filter(exists);
      return;
    }
    const re = globSegment(seg);
    found = found.flatMap((d) => {
      try {
        return readdirSync(d === '' ? '/' : d).filter((n) => re.test(n)).map((n) => join(d, n));
      } catch {
        return [];
      }
    });
  });
  return found.sort();
}

/** One name's files, read: with GLOB_NOCHECK a name that matches nothing is opened as written. */
function readGroup(name: string): PreloadGroup {
  const paths = braces(name).flatMap(globOne);
  const files = (paths.length > 0 ? paths : [name]).map((path): LoadedFile => {
    try {
      return { path, text: readFileSync(path === '-' ? 0 : path, 'utf8') };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EISDIR') return { path, text: '' }; // fopen opens a directory; its getline reads nothing
      // Node's message starts with the errno's name and libuv's lower-case strerror: "ENOENT: no such file or directory, open '...'".
      const why = /^[A-Z]+: ([^,]+)/.exec(err.message)?.[1] ?? err.message;
      return { path, error: `${why.charAt(0).toUpperCase()}${why.slice(1)}` };
    }
  });
  return { name, files };
}

/** PreloadSystem: every *.conf of the directories, by name, then /etc/sysctl.conf when it is a regular file. */
function systemGroups(): PreloadGroup[] {
  const byName = new Map<string, string>();
  for (const dir of SYSTEM_DIRS) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) if (n.endsWith('.conf') && !byName.has(n)) byName.set(n, `${dir}/${n}`);
  }
  const paths = [...byName.keys()].sort().map((n) => byName.get(n)!);
  try {
    if (statSync(DEFAULT_PRELOAD).isFile()) paths.push(DEFAULT_PRELOAD);
  } catch {
    // none: nothing more to apply
  }
  return paths.map(readGroup);
}

/** dpemu sysctl's words with the files they name, read (unchanged when they name none). */
export function withSysctlFiles(argv: string[]): string[] {
  const t = sysctlTarget(argv);
  const p = parseSysctlArgs(t.rest);
  if ('stop' in p) return argv;
  const groups = p.opts.system ? systemGroups() : preloadNames(p).map(readGroup);
  if (!p.opts.system && groups.length === 0) return argv;
  const head = argv.length - t.rest.length;
  return [...argv.slice(0, head), `${LOAD_WORD}${JSON.stringify(groups)}`, ...argv.slice(head)];
}
