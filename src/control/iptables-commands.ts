// iptables and iptables-save inside a namespace of the topology. Listing
// prints iptables 1.8.7 (legacy) text; a rule command (-A, -D, -I, -R, -N,
// -X, -F, -Z, -P) goes through the same loader as the topology file, which
// works on a copy of the ruleset and swaps it in only if the whole line is
// valid (so a bad rule changes nothing).
import { NfSyntaxError, iptablesList, iptablesListRules, iptablesSave } from '../netfilter/index.js';
import { TABLE_NAMES, type TableName } from '../netfilter/constants.js';
import type { NetNamespace } from '../netns/namespace.js';
import { alwaysRead, type CommandFamily, type Scope } from './command.js';
import { ControlError, ok } from './protocol.js';
import { mustNamespace } from './resolve.js';
import { NetDb } from './netdb.js';

const RULE_CMDS = new Set(['-A', '--append', '-D', '--delete', '-I', '--insert', '-R', '--replace', '-N', '--new-chain', '-X', '--delete-chain', '-F', '--flush', '-Z', '--zero', '-P', '--policy', '-E', '--rename-chain']);

interface Parsed {
  node?: string;
  ns?: string;
  table: TableName;
  /** The iptables words after NODE and -n NS. */
  rest: string[];
}

/** NODE first; the first -n NS before the command flag names the namespace (later -n is iptables' numeric). */
function parse(argv: readonly string[], save = false): Parsed {
  const out: Parsed = { table: 'filter', rest: [] };
  let sawCmd = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!sawCmd && out.ns === undefined && (a === '-n' || a === '--netns') && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) {
      out.ns = argv[++i];
      continue;
    }
    if (!a.startsWith('-') && out.node === undefined && !sawCmd) {
      out.node = a;
      continue;
    }
    if (a === '-t' || a === '--table') {
      const t = argv[i + 1] ?? '';
      if (!(TABLE_NAMES as readonly string[]).includes(t)) {
        if (save) throw new ControlError('iptables-save v1.8.7 (legacy): Cannot initialize: Table does not exist (do you need to insmod?)', 1);
        // xtables_error(VERSION_PROBLEM, ...): the hint line comes with exit status 3.
        throw new ControlError(`iptables v1.8.7 (legacy): can't initialize iptables table \`${t}': Table does not exist (do you need to insmod?)\nPerhaps iptables or your kernel needs to be upgraded.`, 3);
      }
      out.table = t as TableName;
    }
    if (/^-[ASLDIRNXFZPE]/.test(a) || /^--(append|list|list-rules|delete|insert|replace|new-chain|delete-chain|flush|zero|policy|rename-chain)$/.test(a)) sawCmd = true;
    out.rest.push(a);
  }
  return out;
}

const isWrite = (rest: readonly string[]): boolean => rest.some((a) => RULE_CMDS.has(a));

/** Quote a word for the loader's tokenizer (double quotes, backslash escapes). */
const quote = (w: string): string => (/^[^\s"'\\]+$/.test(w) ? w : `"${w.replace(/["\\]/g, '\\$&')}"`);

function ns(s: Scope, p: Parsed): NetNamespace {
  return mustNamespace(s, p.node, p.ns);
}

/** The chain named after -S/-L, if any. */
/**
 * The chain after a command flag: the next word unless it is an option, as
 * iptables takes an optional argument. The flag may end a bundle of short
 * options (`-nvL CHAIN`): `letters` are the command's short letters.
 */
function chainArg(rest: readonly string[], letters: string, ...long: string[]): string | undefined {
  const bundled = new RegExp(`^-[A-Za-z]*[${letters}]$`);
  const i = rest.findIndex((a) => long.includes(a) || bundled.test(a));
  const next = rest[i + 1];
  return i >= 0 && next !== undefined && !next.startsWith('-') ? next : undefined;
}

export const iptables: CommandFamily = {
  name: 'iptables',
  access: (argv) => (isWrite(parse(argv).rest) ? 'write' : 'read'),
  target: (argv) => ({ node: parse(argv).node }),
  run(ctx, argv) {
    const p = parse(argv);
    const el = ns(ctx, p);
    const rs = el.nf.rules;
    // Short flags may be bundled (-nvL).
    const flags = new Set(p.rest.flatMap((a) => (/^-[A-Za-z]{2,}$/.test(a) ? [...a.slice(1)].map((c) => `-${c}`) : [a])));
    const has = (...f: string[]) => f.some((x) => flags.has(x));
    const list = (): string | undefined => {
      if (has('-S', '--list-rules')) return iptablesListRules(rs, p.table, { verbose: has('-v'), chain: chainArg(p.rest, 'S', '--list-rules') });
      if (has('-L', '--list')) {
        // Without -n, names from this machine's /etc files as the real tool finds them in the namespace (`ip netns exec NS`
        // mounts /etc/netns/NS/hosts over /etc/hosts where there is one), read afresh for each listing.
        const names = has('-n', '--numeric') ? {} : { names: new NetDb('/etc', p.ns) };
        return iptablesList(rs, p.table, { verbose: has('-v'), exact: has('-x'), lineNumbers: has('--line-numbers'), chain: chainArg(p.rest, 'L', '--list'), ...names });
      }
      return undefined;
    };
    try {
      // With -v, -Z says what it zeroes (zero_entries), after a listing it comes with.
      const zeroed = (chain: string | undefined): string =>
        has('-v') ? (chain === undefined ? rs.tables[p.table].chainOrder().map((c) => c.name) : [chain]).map((c) => `Zeroing chain \`${c}'\n`).join('') : '';
      if (has('-Z', '--zero') && (has('-L', '--list') || has('-S', '--list-rules'))) {
        // -L -Z (or -S -Z): list, then zero the listed chain or the table (iptables' CMD_LIST|CMD_ZERO).
        const out = list()!;
        const chain = chainArg(p.rest, 'LSZ', '--list', '--list-rules', '--zero');
        el.nf.load(['-Z', ...(chain === undefined ? [] : [chain])].map(quote).join(' '), { table: p.table });
        ctx.invalidate(`${el.node}:${el.name} iptables`);
        return ok(out + zeroed(chain));
      }
      if (isWrite(p.rest)) {
        el.nf.load(p.rest.map(quote).join(' '), { table: p.table });
        ctx.invalidate(`${el.node}:${el.name} iptables`);
        return ok(has('-Z', '--zero') ? zeroed(chainArg(p.rest, 'Z', '--zero')) : '');
      }
      const out = list();
      if (out !== undefined) return ok(out);
    } catch (e) {
      if (e instanceof NfSyntaxError && e.iptc !== undefined) throw new ControlError(`iptables: ${e.iptc}.`, 1);
      if (e instanceof NfSyntaxError) {
        throw new ControlError(`iptables v1.8.7 (legacy): ${e.detail}\nTry \`iptables -h' or 'iptables --help' for more information.`, 2);
      }
      if (e instanceof Error && e.message.startsWith('iptables:')) throw new ControlError(e.message, 1);
      throw e;
    }
    throw new ControlError("iptables v1.8.7 (legacy): no command specified\nTry `iptables -h' or 'iptables --help' for more information.", 2);
  },
};

/** ctime(3) as iptables-save stamps its header. */
function ctime(d: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()]!;
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()]!;
  const t = [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
  return `${day} ${mon} ${String(d.getDate()).padStart(2)} ${t} ${d.getFullYear()}`;
}

export const iptablesSaveCmd: CommandFamily = {
  name: 'iptables-save',
  access: alwaysRead,
  target: (argv) => ({ node: parse(argv, true).node }),
  run(ctx, argv) {
    const p = parse(argv, true);
    const el = ns(ctx, p);
    const only = p.rest.includes('-t') || p.rest.includes('--table') ? p.table : undefined;
    return ok(iptablesSave(el.nf.rules, { counters: p.rest.includes('-c') || p.rest.includes('--counters'), date: ctime(new Date()), ...(only ? { table: only } : {}) }));
  },
};
