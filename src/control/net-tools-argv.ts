// The words of the net-tools families (arp, route, ifconfig, netstat: net-tools 2.10
// inside a namespace), apart from their implementations so the CLI knows a
// command's access without loading them (family-access.ts): NODE, -n NS,
// then the tool's own words, as `sysctl NODE -n NS ...` takes them.
import type { Access } from './command.js';

/** NODE, then -n NS (dpemu's words), then the tool's own words. */
export function netToolsTarget(argv: readonly string[]): { node?: string; ns?: string; rest: readonly string[] } {
  const ns = argv[1] === '-n' || argv[1] === '--netns' ? argv[2] : undefined;
  return { node: argv[0], ns, rest: argv.slice(ns === undefined ? 1 : 3) };
}

/** arp's long options (getopt_long, exact names), as the short ones they stand for. */
export const ARP_LONG: Readonly<Record<string, string>> = {
  verbose: 'v', version: 'V', all: 'a', delete: 'd', file: 'f', numeric: 'n', set: 's',
  protocol: 'A', 'hw-type': 'H', device: 'i', help: 'h', 'use-device': 'D', symbolic: 'N',
};

/** arp -s, -d and -f (and their long names) change the neighbour table: writes. */
export function arpAccess(argv: readonly string[]): Access {
  const { rest } = netToolsTarget(argv);
  for (const w of rest) {
    if (w === '--') break;
    if (w.startsWith('--')) {
      if (['s', 'd', 'f'].includes(ARP_LONG[w.slice(2)] ?? '')) return 'write';
    } else if (w.startsWith('-')) {
      // Letters up to one that takes an argument (A, H, i, p, t): the rest of the word is that argument.
      const m = /^-([^AHipt]*)/.exec(w)!;
      if (/[sdf]/.test(m[1]!)) return 'write';
    }
  }
  return 'read';
}

/** route's long options that take an argument (getopt_long takes any unambiguous abbreviation). */
const ROUTE_LONG_ARG = ['protocol'];

/** route add and del (delete) change table main: writes; the first operand (past the options) is the verb. */
export function routeAccess(argv: readonly string[]): Access {
  const { rest } = netToolsTarget(argv);
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (w === '--') return verbAccess(rest[i + 1]);
    if (w === '-net' || w === '-host' || !w.startsWith('-') || w === '-') return verbAccess(w);
    if (w.startsWith('--')) {
      const name = w.slice(2);
      if (!name.includes('=') && name.length > 0 && ROUTE_LONG_ARG.some((l) => l.startsWith(name))) i++;
    } else if (/^-[^A]*A$/.test(w)) i++; // -A's argument is the next word
  }
  return 'read';
}
const verbAccess = (w: string | undefined): Access => (w === 'add' || w === 'del' || w === 'delete' ? 'write' : 'read');

/** ifconfig DEV WORDS...: a change (up, down, mtu, ...); its options come first, as words starting with `-`. */
export function ifconfigAccess(argv: readonly string[]): Access {
  const { rest } = netToolsTarget(argv);
  let i = 0;
  while (i < rest.length && rest[i]!.startsWith('-')) i++;
  return rest.length - i > 1 ? 'write' : 'read';
}
