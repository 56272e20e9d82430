// How `dpemu iptables` and `iptables-save` read their words: NODE, -n NS,
// the table, and whether a command writes. Apart from the implementation
// (iptables-commands.ts) so that the CLI loads only this to route a
// command (family-access.ts), not the netfilter code.
import { TABLE_NAMES, type TableName } from '../netfilter/constants.js';
import type { Access } from './command.js';
import { ControlError } from './protocol.js';

const RULE_CMDS = new Set(['-A', '--append', '-D', '--delete', '-I', '--insert', '-R', '--replace', '-N', '--new-chain', '-X', '--delete-chain', '-F', '--flush', '-Z', '--zero', '-P', '--policy', '-E', '--rename-chain']);

export interface IptablesArgv {
  node?: string;
  ns?: string;
  table: TableName;
  /** The iptables words after NODE and -n NS. */
  rest: string[];
}

/** NODE first; the first -n NS before the command flag names the namespace (later -n is iptables' numeric). */
export function parseIptablesArgv(argv: readonly string[], save = false): IptablesArgv {
  const out: IptablesArgv = { table: 'filter', rest: [] };
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

/** The iptables words change the ruleset (a rule or chain command). */
export const iptablesWrites = (rest: readonly string[]): boolean => rest.some((a) => RULE_CMDS.has(a));

export const iptablesAccess = (argv: readonly string[]): Access => (iptablesWrites(parseIptablesArgv(argv).rest) ? 'write' : 'read');
