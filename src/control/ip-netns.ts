// `ip netns` on a node: its named namespaces, listed as iproute2's ipnetns.c
// lists /var/run/netns, and which of ipnetns.c's verbs a word means.
import { matches } from '../netns/ip-tokens.js';
import { jsonDump } from '../netns/json-writer.js';
import { namespaces } from './resolve.js';
import type { Scope } from './command.js';
import { ControlError } from './protocol.js';

/** do_netns()'s verbs in the order it tries them: a prefix means the first it begins. */
const VERBS = ['list', 'show', 'lst', 'list-id', 'help', 'add', 'set', 'delete', 'identify', 'pids', 'exec', 'monitor', 'attach'] as const;
export type NetnsVerb = (typeof VERBS)[number];

/**
 * The verb `words[0]` means (none: list), after do_netns()'s check of the
 * name after it; throws ip's own errors (exit 255) for a bad name or verb.
 */
export function netnsVerb(words: readonly string[]): NetnsVerb {
  const [word, name] = words;
  if (word === undefined) return 'list';
  if (name !== undefined && (name.includes('/') || name === '.' || name === '..')) throw new ControlError(`Invalid netns name "${name}"`, 255);
  const v = VERBS.find((x) => matches(word, x));
  if (v === undefined) throw new ControlError(`Command "${word}" is unknown, try "ip netns help".`, 255);
  return v;
}

/**
 * `ip netns [list]`: one name a line, newest first, as readdir(3) returns
 * a tmpfs /var/run/netns on the kernels Neutron nodes run (before 6.6, a
 * new entry goes to the head of the directory's list). A host or gateway
 * node is a namespace itself and names none. No `(id: N)`: nothing on the
 * node's root namespace, which is not emulated, gave them an nsid.
 * With `-j [-p]` the same names as ip's JSON objects.
 */
export function netnsList(s: Scope, node: string, json?: { pretty: boolean }): string {
  const own = s.emu.topology.nodes.some((n) => n.name === node) ? namespaces(s.emu, node) : [];
  const names = own.map((ns) => ns.name).reverse();
  // -j: print_string "name" (and "id" where there is one: none here).
  return json ? jsonDump(names.map((name) => ({ name })), json.pretty) : names.map((n) => `${n}\n`).join('');
}
