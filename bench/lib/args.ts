// The bench scripts' command lines, parsed by node's util.parseArgs (strict):
// an unknown or misspelt option, a missing value or a malformed number stops
// the script with its usage, instead of a run on defaults that looks like the
// one asked for.
import { parseArgs } from 'node:util';

export type Options = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

/** Options whose value is handed on to another program and may start with a dash (`--daemon-arg --rt-priority`). */
const PASS_THROUGH = new Set(['daemon-arg', 'daemon-node-arg']);

export interface Cli {
  positionals: string[];
  /** Stop with `message` and the usage (exit 2). */
  fail(message: string): never;
  flag(name: string): boolean;
  str(name: string): string | undefined;
  /** A repeatable option's values, in order. */
  all(name: string): string[];
  /** A number: `dflt` when absent; an error unless a whole number >= `min` (any finite number >= min with `real`). */
  num(name: string, dflt: number, min?: number, real?: boolean): number;
  /** A comma-separated list of whole numbers >= `min`: `dflt` when absent. */
  nums(name: string, dflt: string, min?: number): number[];
}

/** `positionals`: whether arguments other than options are taken (else they are an error). */
export function cli(usage: string, options: Options, positionals = false, argv = process.argv.slice(2)): Cli {
  const fail = (message: string): never => {
    console.error(`${message}\nusage: ${usage}`);
    process.exit(2);
  };
  // parseArgs refuses a value that starts with a dash unless joined by '='.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--') && PASS_THROUGH.has(a.slice(2)) && a.slice(2) in options && i + 1 < argv.length) args.push(`${a}=${argv[++i]}`);
    else args.push(a);
  }
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals });
  } catch (e) {
    return fail((e as Error).message);
  }
  const { values } = parsed;
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const number = (name: string, s: string, min: number, real: boolean): number => {
    const v = s.trim() === '' ? NaN : Number(s);
    if (!Number.isFinite(v) || v < min || (!real && !Number.isInteger(v))) fail(`--${name} takes ${real ? 'a number' : 'whole numbers'} >= ${min}, not '${s}'`);
    return v;
  };
  return {
    positionals: parsed.positionals,
    fail,
    flag: (name) => values[name] === true,
    str,
    all: (name) => (values[name] as string[] | undefined) ?? [],
    num: (name, dflt, min = 0, real = false) => {
      const s = str(name);
      return s === undefined ? dflt : number(name, s, min, real);
    },
    nums: (name, dflt, min = 0) => (str(name) ?? dflt).split(',').map((s) => number(name, s, min, false)),
  };
}
