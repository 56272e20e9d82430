// Lab hosts (`dpemu run --lab`): a real network namespace per host of the
// topology, standing in for the VM or server behind a TAP edge. The TAP is
// moved into it and becomes the host's interface (eth0); the namespace gets
// the host's address, MAC, MTU, sysctls, routes and neighbours, written in
// `ip` syntax in the topology and replayed here with `ip`. Only namespaces
// named with the project's prefix are created, and they are removed by exact
// name.
import type { Host } from '../topology/model.js';
import { ip, inNetns, IpError, netnsExists, deleteNetns } from '../io/ip.js';
import { TapError } from '../io/tap-device.js';

export const NETNS_PREFIX = 'dpe-';

/** `ip neigh` states as the topology shows them -> `nud` arguments. */
const NUD: Record<string, string> = {
  PERMANENT: 'permanent',
  NOARP: 'noarp',
  REACHABLE: 'reachable',
  STALE: 'stale',
  DELAY: 'stale', // transient states cannot be set; the kernel would pass through STALE
  PROBE: 'stale',
};

export function checkHostNames(hosts: readonly Host[]): void {
  for (const h of hosts) {
    if (!h.netns.startsWith(NETNS_PREFIX)) {
      throw new TapError(
        `lab host ${h.name}: namespace "${h.netns}" does not start with ${NETNS_PREFIX}`,
        `rename it in the topology (hosts.${h.name}.netns: ${NETNS_PREFIX}${h.name}); dpemu creates only ${NETNS_PREFIX} namespaces`,
      );
    }
  }
}

/** Create the host's namespace (empty, lo up). Fails if it exists: it is not ours to reuse. */
export async function createHostNetns(h: Host): Promise<void> {
  if (await netnsExists(h.netns)) {
    throw new TapError(`namespace ${h.netns} (lab host ${h.name}) already exists: a dpemu still running may have it, or a run that was killed left it`, `if no dpemu runs it, remove it (ip netns del ${h.netns}) and start again`);
  }
  await ip(['netns', 'add', h.netns]);
  await ip(['link', 'set', 'dev', 'lo', 'up'], h.netns);
}

/** Lines of a text block without comments and blanks. */
function lines(text: string | undefined): string[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l.length > 0);
}

/** Words of an `ip route` line as `ip route replace` takes them (output-only words dropped). */
export function routeArgs(line: string): string[] {
  const w = line.split(/\s+/);
  const out: string[] = [];
  for (let i = 0; i < w.length; i++) {
    const x = w[i]!;
    if (x === 'linkdown' || x === 'dead' || x === 'offload' || x === 'trap') continue; // states, not settings
    if (x === 'expires' || x === 'cache') break;
    out.push(x);
  }
  return out;
}

/** Words of an `ip neigh` line as `ip neigh replace` takes them. */
export function neighArgs(line: string): string[] {
  const w = line.split(/\s+/);
  const out: string[] = [];
  let nud = 'permanent';
  for (const x of w) {
    if (NUD[x] !== undefined) nud = NUD[x]!;
    else if (x === 'router' || x === 'proxy' || x === 'extern_learn') out.push(x);
    else if (x !== 'FAILED' && x !== 'INCOMPLETE' && x !== 'NONE') out.push(x);
  }
  return [...out, 'nud', nud];
}

/**
 * Configure the host once its TAP is in the namespace as `h.iface.name`
 * (up, with its MAC and MTU: see TapDevice.create).
 */
export async function configureHost(h: Host): Promise<void> {
  const ns = h.netns, dev = h.iface.name;
  for (const [k, v] of Object.entries(h.sysctls)) {
    await inNetns(ns, ['sysctl', '-q', '-w', `${k}=${v}`]);
  }
  for (const a of h.iface.addresses) {
    try {
      await ip(['addr', 'add', a.cidr, 'dev', dev], ns);
    } catch (e) {
      if (!(e instanceof IpError && e.exists)) throw e;
    }
  }
  for (const l of lines(h.routes?.text)) {
    const args = routeArgs(l);
    try {
      await ip(['route', 'replace', ...args], ns);
    } catch (e) {
      throw new TapError(`lab host ${h.name}: route "${l}" was refused: ${(e as Error).message}`, `fix hosts.${h.name}.routes in the topology`);
    }
  }
  for (const l of lines(h.neighbours?.text)) {
    try {
      await ip(['neigh', 'replace', ...neighArgs(l)], ns);
    } catch (e) {
      throw new TapError(`lab host ${h.name}: neighbour "${l}" was refused: ${(e as Error).message}`, `fix hosts.${h.name}.neighbours in the topology`);
    }
  }
}

/** Remove the host's namespace by exact name (its TAP goes with it). */
export async function removeHostNetns(h: Host): Promise<boolean> {
  return deleteNetns(h.netns);
}
