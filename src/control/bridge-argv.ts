// iproute2 6.1's bridge command line (bridge.c): its options and the words
// after them. Light on purpose: the CLI reads it to route a command (a
// monitor streams) and to tell a read from a write before it loads any of
// the emulator (family-access.ts).
import type { Access } from './command.js';
import { ControlError } from './protocol.js';

/** bridge.c's usage, printed (exit 255) for no object or `help`. */
export const BRIDGE_USAGE = `Usage: bridge [ OPTIONS ] OBJECT { COMMAND | help }
       bridge [ -force ] -batch filename
where  OBJECT := { link | fdb | mdb | vlan | monitor }
       OPTIONS := { -V[ersion] | -s[tatistics] | -d[etails] |
                    -o[neline] | -t[imestamp] | -n[etns] name |
                    -c[ompressvlans] -color -p[retty] -j[son] }`;

export const INCOMPLETE = 'Command line is not complete. Try option "help"';

export interface BridgeOpts { ns?: string; node?: string; stats: boolean; details: boolean; json: boolean; pretty: boolean; timestamp: boolean; words: string[] }

/** bridge.c's options (each a prefix of its name, `--x` read as `-x`) anywhere before OBJECT; the first other word is NODE. */
export function bridgeArgv(argv: readonly string[]): BridgeOpts {
  const o: BridgeOpts = { stats: false, details: false, json: false, pretty: false, timestamp: false, words: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    const opt = a.startsWith('--') ? a.slice(1) : a;
    const is = (full: string): boolean => opt.length > 1 && full.startsWith(opt);
    if (!a.startsWith('-') || a === '-') {
      if (o.node !== undefined) break;
      o.node = a;
    } else if (is('-help')) throw new ControlError(BRIDGE_USAGE, 255);
    else if (is('-stats') || is('-statistics')) o.stats = true;
    else if (is('-details')) o.details = true;
    else if (is('-netns')) {
      o.ns = argv[++i];
      if (o.ns === undefined) throw new ControlError(INCOMPLETE, 255);
    } else if (is('-json')) o.json = true;
    // Only monitor prints timestamps (print_timestamp's own line before each record).
    else if (is('-timestamp')) o.timestamp = true;
    else if (is('-pretty')) o.pretty = true;
    // Compressed VLAN ranges: there are no VLANs to compress (bridge-vlan-mdb.ts).
    else if (is('-compressvlans')) continue;
    else if (['-Version', '-oneline', '-family', '-color', '-force', '-batch'].some(is) || ['-4', '-6', '-0'].includes(opt)) {
      throw new ControlError(`Error: bridge's option "${opt}" is not emulated (dpemu takes -s, -d, -j, -p, -c, -t and -n NS).`, 255);
    } else throw new ControlError(`Option "${opt}" is unknown, try "bridge help".`, 255);
  }
  o.words = argv.slice(i) as string[];
  return o;
}


/** The fdb verbs that change a table, in the order do_fdb tries them (each a prefix match). */
export type FdbModify = 'add' | 'append' | 'replace' | 'delete';
export const FDB_MODIFY: readonly (readonly [string, FdbModify])[] = [['add', 'add'], ['append', 'append'], ['replace', 'replace'], ['delete', 'delete']];

/** `bridge fdb add|append|replace|delete|flush` and `bridge link set|change` write; the rest read (a monitor streams). */
export function bridgeAccess(argv: readonly string[]): Access {
  try {
    const [object, verb] = bridgeArgv(argv).words;
    const prefix = (w: string | undefined, full: string): boolean => w !== undefined && w.length > 0 && full.startsWith(w);
    // do_link tries `set` before `show`: `s` sets.
    if (prefix(object, 'link')) return prefix(verb, 'set') || prefix(verb, 'change') ? 'write' : 'read';
    return prefix(object, 'fdb') && verb !== undefined && (FDB_MODIFY.some(([w]) => prefix(verb, w)) || verb === 'flush') ? 'write' : 'read';
  } catch {
    return 'read'; // the command refuses its words wherever it runs
  }
}
