// `ip netns` on a node: its named namespaces, listed as iproute2's ipnetns.c
// lists /var/run/netns (which verb a word means: ip-argv.ts).
import { jsonDump } from '../netns/json-writer.js';
import { namespaces } from './resolve.js';
import type { Scope } from './command.js';

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
