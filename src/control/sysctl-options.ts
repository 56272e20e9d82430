// sysctl's command line as procps-ng 4.0.2 reads it (getopt_long over
// "bneNwfp::qoxaAXr:Vdh", GNU permutation). Both the client (which reads
// -p's and --system's files where the user types, as the real sysctl reads
// them where it runs) and the daemon parse the same words with it.
import type { Access } from './command.js';
import type { CommandResponse } from './protocol.js';

export const SYSCTL_USAGE = `
Usage:
 sysctl [options] [variable[=value] ...]

Options:
  -a, --all            display all variables
  -A                   alias of -a
  -X                   alias of -a
      --deprecated     include deprecated parameters to listing
      --dry-run        Print the key and values but do not write
  -b, --binary         print value without new line
  -e, --ignore         ignore unknown variables errors
  -N, --names          print variable names without values
  -n, --values         print only values of the given variable(s)
  -p, --load[=<file>]  read values from file
  -f                   alias of -p
      --system         read values from all system directories
  -r, --pattern <expression>
                       select setting that match expression
  -q, --quiet          do not echo variable set
  -w, --write          enable writing a value to variable
  -o                   does nothing
  -x                   does nothing
  -d                   alias of -h

 -h, --help     display this help and exit
 -V, --version  output version information and exit

For more details see sysctl(8).
`;

/** The file -p reads when it is given none. */
export const DEFAULT_PRELOAD = '/etc/sysctl.conf';
/** The word (first after NODE -n NS) that carries the files the client read, as JSON of PreloadGroup[]. */
export const LOAD_WORD = '--dpemu-load=';

/** One file -p or --system names, after the client's glob of its name: its text, or why fopen failed. */
export interface LoadedFile {
  path: string;
  text?: string;
  error?: string;
}
/** What one Preload() call of sysctl reads: a name as given and the files it globs to (their lines are numbered on). */
export interface PreloadGroup {
  name: string;
  files: LoadedFile[];
}

export interface SysctlOpts {
  all: boolean;
  /** -n (and -b): no name. */
  values: boolean;
  names: boolean;
  ignore: boolean;
  quiet: boolean;
  write: boolean;
  binary: boolean;
  dryRun: boolean;
  /** --deprecated: listings (-a, a directory) include the keys procps hides as deprecated. */
  deprecated: boolean;
  pattern?: string;
  /** -p/-f/--load, and its attached file (-pFILE, --load=FILE). */
  load: boolean;
  loadFile?: string;
  /** --system: sysctl loads and writes at once, reading no option after it. */
  system: boolean;
}

export type SysctlParse = { stop: CommandResponse } | { opts: SysctlOpts; words: string[] };

const LONG: Record<string, string> = {
  all: 'a', values: 'n', names: 'N', ignore: 'e', quiet: 'q', write: 'w', binary: 'b', help: 'h', version: 'V',
  load: 'p', pattern: 'r', system: 'system', 'dry-run': 'dry-run', deprecated: 'deprecated',
};

/** Plain KEY=VALUE writes as -w does; so do -p's and --system's files (which the client sends). */
export function sysctlAccess(argv: readonly string[]): Access {
  const t = sysctlTarget(argv);
  return t.load !== undefined || t.rest.some((a) => a.includes('=') || /^-[a-zA-Z]*w/.test(a) || a === '--write') ? 'write' : 'read';
}

/** NODE, then -n NS (dpemu's words); the client's files (LOAD_WORD), then sysctl's own words. */
export function sysctlTarget(argv: readonly string[]): { node?: string; ns?: string; load?: string; rest: readonly string[] } {
  const ns = argv[1] === '-n' || argv[1] === '--netns' ? argv[2] : undefined;
  const rest = argv.slice(ns === undefined ? 1 : 3);
  if (rest[0]?.startsWith(LOAD_WORD)) return { node: argv[0], ns, load: rest[0].slice(LOAD_WORD.length), rest: rest.slice(1) };
  return { node: argv[0], ns, rest };
}

export function parseSysctlArgs(rest: readonly string[]): SysctlParse {
  const o: SysctlOpts = { all: false, values: false, names: false, ignore: false, quiet: false, write: false, binary: false, dryRun: false, deprecated: false, load: false, system: false };
  const words: string[] = [];
  const usage = (complaint: string): SysctlParse => ({ stop: { ok: true, stdout: SYSCTL_USAGE, stderr: complaint, exit: 0 } });
  // No words at all: the usage, on stderr.
  if (rest.length === 0) return { stop: { ok: false, stdout: '', stderr: SYSCTL_USAGE, exit: 1 } };
  /** One option; its argument when it takes one. A reply ends sysctl there (getopt's complaints: the usage on stdout, status 0). */
  const set = (c: string, arg: string | undefined): SysctlParse | undefined => {
    if (c === 'a' || c === 'A' || c === 'X') o.all = true;
    else if (c === 'n') o.values = true;
    else if (c === 'b') o.binary = o.values = true;
    else if (c === 'N') o.names = true;
    else if (c === 'e') o.ignore = true;
    else if (c === 'q') o.quiet = true;
    else if (c === 'w') o.write = true;
    else if (c === 'p' || c === 'f') {
      o.load = true;
      if (arg !== undefined) o.loadFile = arg;
    } else if (c === 'r') o.pattern = arg;
    else if (c === 'dry-run') o.dryRun = true;
    else if (c === 'deprecated') o.deprecated = true;
    else if (c === 'system') {
      o.system = o.ignore = true; // PreloadSystem sets IgnoreError
      return { opts: o, words };
    } else if (c === 'h' || c === 'd') return { stop: { ok: true, stdout: SYSCTL_USAGE, stderr: '', exit: 0 } };
    else if (c === 'V') return { stop: { ok: true, stdout: 'sysctl from procps-ng 4.0.2\n', stderr: '', exit: 0 } };
    else if (c !== 'o' && c !== 'x') return usage(c.length > 1 ? `sysctl: unrecognized option '--${c}'\n` : `sysctl: invalid option -- '${c}'\n`);
    return undefined;
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    let stop: SysctlParse | undefined;
    if (a === '--') {
      words.push(...rest.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const c = LONG[name] ?? name;
      let arg = eq < 0 ? undefined : a.slice(eq + 1);
      if (c === 'r' && arg === undefined) {
        arg = rest[++i];
        if (arg === undefined) return usage(`sysctl: option '--pattern' requires an argument\n`);
      }
      stop = set(c, c === 'p' || c === 'r' ? arg : undefined);
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        // -p/-f take an argument only attached (p::); -r one attached or the next word.
        let arg: string | undefined;
        if ((c === 'p' || c === 'r') && j + 1 < a.length) arg = a.slice(j + 1);
        else if (c === 'r') {
          arg = rest[++i];
          if (arg === undefined) return usage(`sysctl: option requires an argument -- 'r'\n`);
        }
        if ((stop = set(c === 'f' ? 'p' : c, c === 'f' ? undefined : arg))) break;
        if (arg !== undefined) break;
      }
    } else words.push(a);
    if (stop) return stop;
  }
  return { opts: o, words };
}

/** The names sysctl's -p reads, each a Preload (none without -p, or with -a, which lists instead). */
export function preloadNames(p: { opts: SysctlOpts; words: readonly string[] }): string[] {
  const { opts, words } = p;
  if (!opts.load || opts.all || opts.system) return [];
  if (opts.loadFile !== undefined) return [opts.loadFile, ...words];
  return words.length > 0 ? [...words] : [DEFAULT_PRELOAD];
}
