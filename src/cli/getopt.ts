// glibc getopt(3) as iputils' tools (ping, arping) call it with a short
// option string: clustered flags (-nq), an argument attached (-c3) or in the
// next word, `--` ending the options, operands anywhere (glibc permutes them
// after the options).

/** A word getopt cannot take: `message` is what the tool prints before its usage. */
export class GetoptError extends Error {}

/** Calls `option` for each option of `argv` in order and returns the operands. */
export function getopt(tool: string, argv: readonly string[], optstring: string, option: (c: string, arg: string | undefined) => void): string[] {
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (!w.startsWith('-') || w === '-') {
      operands.push(w);
      continue;
    }
    for (let j = 1; j < w.length; j++) {
      const c = w[j]!;
      const at = optstring.indexOf(c);
      if (c === ':' || at < 0) throw new GetoptError(`${tool}: invalid option -- '${c}'`);
      let arg: string | undefined;
      if (optstring[at + 1] === ':') {
        arg = j + 1 < w.length ? w.slice(j + 1) : argv[++i];
        if (arg === undefined) throw new GetoptError(`${tool}: option requires an argument -- '${c}'`);
        j = w.length;
      }
      option(c, arg);
    }
  }
  return operands;
}

/**
 * getopt_long's long options (`--name`, `--name=ARG`, `--name ARG`) as the
 * short ones they stand for, for getopt() to read: `longs` maps a name to
 * its letter, and the letters in `withArg` take an argument. Words after
 * `--` are left as they are; no abbreviations. A word it cannot take throws
 * GetoptError in glibc's words.
 */
export function longToShort(tool: string, argv: readonly string[], longs: Readonly<Record<string, string>>, withArg: string): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') {
      words.push(...argv.slice(i));
      break;
    }
    if (!w.startsWith('--')) {
      words.push(w);
      continue;
    }
    const eq = w.indexOf('=');
    const name = w.slice(2, eq < 0 ? undefined : eq);
    const c = longs[name];
    if (c === undefined) throw new GetoptError(`${tool}: unrecognized option '${w}'`);
    if (withArg.includes(c)) {
      const arg = eq >= 0 ? w.slice(eq + 1) : argv[++i];
      if (arg === undefined) throw new GetoptError(`${tool}: option '--${name}' requires an argument`);
      words.push(`-${c}${arg}`);
    } else if (eq >= 0) throw new GetoptError(`${tool}: option '--${name}' doesn't allow an argument`);
    else words.push(`-${c}`);
  }
  return words;
}
