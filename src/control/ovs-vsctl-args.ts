// ovs-vsctl 3.1's command line (utilities/ovs-vsctl.c parse_options,
// lib/db-ctl-base.c ctl_parse_commands, parse_command): global options
// first (getopt_long in '+' mode: they end at the first word that is not
// one, or at `--`, which getopt takes), then commands joined by `--`, each
// with its own options before its name. Every command option may also be
// given as a global one: those go to the first command. dpemu's NODE
// follows each command's name (one node's database a transaction).
import { ControlError } from './protocol.js';
import { tableStyle } from './ovsdb-table-print.js';

const fail = (text: string): never => {
  throw new ControlError(`ovs-vsctl: ${text}`);
};

/** A command's options (its syntax's `--opt` and `--opt=`), min and max arguments (vsctl_commands[], db_ctl_commands[]). */
interface Syntax {
  options: readonly string[];
  min: number;
  max: number;
}

const S = (min: number, max: number, options: readonly string[] = []): Syntax => ({ options, min, max });

/** The commands dpemu runs. */
export const SYNTAX: ReadonlyMap<string, Syntax> = new Map([
  ['show', S(0, 0)],
  ['comment', S(0, Infinity)],
  ['list-br', S(0, 0, ['--real', '--fake'])],
  ['br-exists', S(1, 1)],
  ['list-ports', S(1, 1)],
  ['list-ifaces', S(1, 1)],
  ['port-to-br', S(1, 1)],
  ['iface-to-br', S(1, 1)],
  ['br-to-vlan', S(1, 1)],
  ['br-to-parent', S(1, 1)],
  ['get-fail-mode', S(1, 1)],
  ['get-controller', S(1, 1)],
  ['get', S(2, Infinity, ['--if-exists', '--id='])],
  ['list', S(1, Infinity, ['--if-exists', '--columns='])],
  ['find', S(1, Infinity, ['--columns='])],
  ['set', S(3, Infinity, ['--if-exists'])],
  ['add', S(4, Infinity, ['--if-exists'])],
  ['remove', S(4, Infinity, ['--if-exists'])],
  ['clear', S(3, Infinity, ['--if-exists'])],
  ['add-port', S(2, Infinity, ['--may-exist'])],
  ['del-port', S(1, 2, ['--if-exists', '--with-iface'])],
  ['add-br', S(1, 3, ['--may-exist'])],
  ['del-br', S(1, 1, ['--if-exists'])],
]);

/** ovs-vsctl 3.1's other commands (`ovs-vsctl --commands`): known, not run here. */
const OTHER_COMMANDS = new Set([
  'init', 'emer-reset', 'add-bond', 'add-bond-iface', 'del-bond-iface', 'br-set-external-id',
  'br-get-external-id', 'set-controller', 'del-controller', 'set-fail-mode', 'del-fail-mode', 'get-manager', 'set-manager', 'del-manager',
  'get-ssl', 'del-ssl', 'set-ssl', 'get-aa-mapping', 'add-aa-mapping', 'del-aa-mapping', 'list-zone-tp', 'add-zone-tp', 'del-zone-tp',
  'list-dp-cap', 'create', 'destroy', 'wait-until',
]);

/** Long options, in the order getopt_long lists them when one is ambiguous; `=`: takes a value. */
const LONG = [
  'db=', 'no-syslog', 'no-wait', 'dry-run', 'oneline', 'timeout=', 'retry', 'help', 'commands', 'options', 'leader-only', 'no-leader-only',
  'shuffle-remotes', 'no-shuffle-remotes', 'version', 'verbose?', 'log-file?', 'syslog-method=', 'syslog-target=', 'format=', 'data=',
  'no-headings', 'pretty', 'bare', 'max-column-width=', 'private-key=', 'certificate=', 'ca-cert=', 'ssl-protocols=', 'ssl-ciphers=',
  'bootstrap-ca-cert=', 'peer-ca-cert=',
  // The commands' options (OPT_LOCAL).
  'if-exists', 'columns=', 'id=', 'may-exist', 'real', 'fake', 'with-iface', 'all', 'inactivity-probe=', 'bootstrap', 'fake-iface',
];
const LOCAL = new Set(['if-exists', 'columns', 'id', 'may-exist', 'real', 'fake', 'with-iface', 'all', 'inactivity-probe', 'bootstrap', 'fake-iface']);
/** Short options and the long ones they stand for. */
const SHORT: Record<string, string> = { t: 'timeout', h: 'help', V: 'version', v: 'verbose', f: 'format', d: 'data', p: 'private-key', c: 'certificate', C: 'ca-cert' };

/** The global options dpemu acts on or takes as meaning nothing here (no daemon to wait for, no connection). */
const TAKEN = new Set(['no-wait', 'dry-run', 'oneline', 'timeout', 'format', 'data', 'no-headings', 'pretty', 'bare']);

export interface VsctlCommand {
  name: string;
  node: string | undefined;
  args: string[];
  /** Its options, `--name` to the value (`''`: none). */
  opts: Map<string, string>;
}

export interface VsctlLine {
  /** The global options that style a table (`--format`, `--data`, `--no-headings`, `--pretty`, `--bare`), by their long names. */
  style: Map<string, string>;
  oneline: boolean;
  dryRun: boolean;
  noWait: boolean;
  commands: VsctlCommand[];
}

function longName(typed: string): { name: string; arg: '=' | '?' | '' } {
  const spec = (o: string) => ({ name: o.replace(/[=?]$/, ''), arg: (/[=?]$/.exec(o)?.[0] ?? '') as '=' | '?' | '' });
  const exact = LONG.find((o) => spec(o).name === typed);
  if (exact) return spec(exact);
  const m = LONG.filter((o) => o.startsWith(typed));
  if (m.length === 0) fail(`unrecognized option '--${typed}'`);
  if (m.length > 1) fail(`option '--${typed}' is ambiguous; possibilities:${m.map((o) => ` '--${spec(o).name}'`).join('')}`);
  return spec(m[0]!);
}

/** getopt_long's reading of the global options; returns where the commands start. */
function globalOptions(argv: readonly string[], line: VsctlLine, local: Map<string, string>): number {
  let i = 0;
  const take = (name: string, value: string | undefined): void => {
    if (LOCAL.has(name)) {
      // '\0': given without a value (parse_command tells that from `--opt=`).
      local.set(`--${name}`, value ?? '\0');
      return;
    }
    if (!TAKEN.has(name)) fail(`dpemu does not take --${name} (it takes --no-wait, --dry-run, --oneline, -t/--timeout, the table options and the commands' own)`);
    // str_to_uint, and not 0. (dpemu answers at once: there is nothing to time out.)
    if (name === 'timeout' && !(/^\d+$/.test(value!) && Number(value) > 0 && Number(value) <= 0x7fff_ffff)) fail(`value ${value} on -t or --timeout is invalid`);
    if (name === 'format' || name === 'data') tableStyle(new Map([[`--${name}`, value!]])); // refused as getopt reads it
    if (name === 'oneline') line.oneline = true;
    else if (name === 'dry-run') line.dryRun = true;
    else if (name === 'no-wait') line.noWait = true;
    else if (name !== 'timeout') line.style.set(`--${name}`, value ?? '');
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return i + 1;
    if (!a.startsWith('-') || a === '-') return i;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const { name, arg } = longName(eq < 0 ? a.slice(2) : a.slice(2, eq));
      if (eq >= 0 && arg === '') fail(`option '--${name}' doesn't allow an argument`);
      if (arg === '=' && eq < 0) {
        if (i + 1 >= argv.length) fail(`option '--${name}' requires an argument`);
        take(name, argv[++i]);
      } else take(name, eq < 0 ? undefined : a.slice(eq + 1));
      continue;
    }
    // A cluster of short options, the last of which may take the rest (or the next word) as its value.
    for (let j = 1; j < a.length; j++) {
      const name = SHORT[a[j]!];
      if (!name) fail(`invalid option -- '${a[j]}'`);
      if (name === 'help' || name === 'version') {
        take(name, undefined);
        continue;
      }
      const rest = a.slice(j + 1);
      if (name === 'verbose') {
        take(name, rest || undefined);
        break;
      }
      if (rest) {
        take(name!, rest);
        break;
      }
      if (i + 1 >= argv.length) fail(`option requires an argument -- '${a[j]}'`);
      take(name!, argv[++i]);
    }
  }
  return i;
}

/** One command's words (parse_command): its options, its name, NODE, its arguments. */
function parseCommand(words: readonly string[], opts: Map<string, string>): VsctlCommand {
  let i = 0;
  for (; i < words.length && words[i]!.startsWith('-'); i++) {
    const w = words[i]!;
    const eq = w.indexOf('=');
    const key = eq < 0 ? w : w.slice(0, eq);
    if (opts.has(key)) fail(`'${w}' option specified multiple times`);
    opts.set(key, eq < 0 ? '\0' : w.slice(eq + 1));
  }
  if (i === words.length) fail('missing command name (use --help for help)');
  const name = words[i]!;
  const syntax = SYNTAX.get(name);
  if (!syntax) {
    if (OTHER_COMMANDS.has(name)) fail(`'${name}' is not supported here (dpemu runs ${[...SYNTAX.keys()].join(', ')})`);
    fail(`unknown command '${name}'; use --help for help`);
  }
  for (const [key, value] of opts) {
    const o = syntax!.options.find((x) => x.replace(/=$/, '') === key);
    if (!o) fail(`'${name}' command has no '${key}' option`);
    if (o!.endsWith('=') !== (value !== '\0')) {
      fail(o!.endsWith('=') ? `missing argument to '${key}' option on '${name}' command` : `'${key}' option on '${name}' does not accept an argument`);
    }
    if (value === '\0') opts.set(key, '');
  }
  const [node, ...args] = words.slice(i + 1);
  if (args.length < syntax!.min) fail(`'${name}' command requires at least ${syntax!.min} arguments`);
  if (args.length > syntax!.max) {
    const note = args.some((a) => a.startsWith('-')) ? ' (note that options must precede command names and follow a "--" argument)' : '';
    fail(`'${name}' command takes at most ${syntax!.max} arguments${note}`);
  }
  return { name, node, args, opts };
}

/** The whole command line, or ovs-vsctl's error for it. */
export function parseVsctl(argv: readonly string[]): VsctlLine {
  const line: VsctlLine = { style: new Map(), oneline: false, dryRun: false, noWait: false, commands: [] };
  let local = new Map<string, string>();
  const start = globalOptions(argv, line, local);
  const rest = argv.slice(start);
  let from = 0;
  for (let i = 0; i <= rest.length; i++) {
    if (i < rest.length && rest[i] !== '--') continue;
    if (i > from) {
      line.commands.push(parseCommand(rest.slice(from, i), local));
      local = new Map();
    } else if (local.size) fail('missing command name (use --help for help)');
    from = i + 1;
  }
  if (!line.commands.length) fail('missing command name (use --help for help)');
  return line;
}

/** The database commands that write (the daemon runs them between packets; a datapath worker's configuration log keeps them). */
export const VSCTL_WRITES: ReadonlySet<string> = new Set(['set', 'remove', 'clear', 'add', 'add-port', 'del-port', 'add-br', 'del-br']);

/** Whether the words write (the server's read/write split, the configuration log): a --dry-run writes nothing. */
export function vsctlWrites(argv: readonly string[]): boolean {
  const line = parseVsctl(argv);
  return !line.dryRun && line.commands.some((c) => VSCTL_WRITES.has(c.name));
}
