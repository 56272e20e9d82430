// iptables and iptables-save inside a namespace of the topology. Listing
// prints iptables 1.8.7 (legacy) text; a rule command (-A, -D, -I, -R, -N,
// -X, -F, -Z, -P) goes through the same loader as the topology file, which
// works on a copy of the ruleset and swaps it in only if the whole line is
// valid (so a bad rule changes nothing).
import { NfSyntaxError, iptablesList, iptablesListRules, iptablesSave } from '../netfilter/index.js';
import type { NetNamespace } from '../netns/namespace.js';
import { alwaysRead, type CommandFamily, type Scope } from './command.js';
import { ControlError, ok } from './protocol.js';
import { mustNamespace } from './resolve.js';
import { NetDb } from './netdb.js';
import { iptablesAccess, iptablesWrites, parseIptablesArgv, type IptablesArgv } from './iptables-argv.js';

/** Quote a word for the loader's tokenizer (double quotes, backslash escapes). */
const quote = (w: string): string => (/^[^\s"'\\]+$/.test(w) ? w : `"${w.replace(/["\\]/g, '\\$&')}"`);

function ns(s: Scope, p: IptablesArgv): NetNamespace {
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
  access: iptablesAccess,
  target: (argv) => ({ node: parseIptablesArgv(argv).node }),
  run(ctx, argv) {
    const p = parseIptablesArgv(argv);
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
      if (iptablesWrites(p.rest)) {
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
  target: (argv) => ({ node: parseIptablesArgv(argv, true).node }),
  run(ctx, argv) {
    const p = parseIptablesArgv(argv, true);
    const el = ns(ctx, p);
    const only = p.rest.includes('-t') || p.rest.includes('--table') ? p.table : undefined;
    return ok(iptablesSave(el.nf.rules, { counters: p.rest.includes('-c') || p.rest.includes('--counters'), date: ctime(new Date()), ...(only ? { table: only } : {}) }));
  },
};
