// Each command family's access() for the client (which path, /v1/read or
// /v1/write, a command goes to), loading only that family's module: the
// registry (registry.ts) loads every family's implementation, most of a CLI
// call's start-up. The server checks the path against the same access().
import type { Access } from './command.js';
import { ipAccess } from './ip-argv.js';
import { appctlAccess, ofctlAccess } from './ovs-access.js';

type AccessFn = (argv: readonly string[]) => Access;

export const FAMILY_ACCESS: ReadonlyMap<string, () => Promise<AccessFn>> = new Map<string, () => Promise<AccessFn>>([
  ['vsctl', async () => (await import('./ovs-commands.js')).vsctl.access],
  ['ofctl', async () => ofctlAccess],
  ['appctl', async () => appctlAccess],
  ['brctl', async () => (await import('./brctl-commands.js')).brctl.access],
  ['bridge', async () => (await import('./bridge-commands.js')).bridge.access],
  ['ip', async () => ipAccess],
  ['iptables', async () => (await import('./iptables-commands.js')).iptables.access],
  ['iptables-save', async () => (await import('./iptables-commands.js')).iptablesSaveCmd.access],
  ['conntrack', async () => (await import('./conntrack-commands.js')).conntrack.access],
  ['sysctl', async () => (await import('./sysctl-commands.js')).sysctl.access],
  ['clear-counters', async () => (await import('./admin-commands.js')).clearCounters.access],
  ['nodes', async () => (await import('./admin-commands.js')).nodes.access],
  ['trace', async () => (await import('./trace-command.js')).trace.access],
  ['workers', async () => (await import('./worker-commands.js')).workers.access],
  ['reload', async () => (await import('./admin-commands.js')).reload.access],
]);
