// Each command family's access() for the client (which path, /v1/read or
// /v1/write, a command goes to) without the registry (registry.ts), which
// loads every family's implementation: most of a CLI call's start-up. Most
// come from light modules; the others load their own family's module. The
// server checks the path with the same functions (control-family-access.test.ts).
import { alwaysRead, alwaysWrite, type Access } from './command.js';
import { ipAccess } from './ip-argv.js';
import { appctlAccess, ofctlAccess, vsctlAccess } from './ovs-access.js';
import { sysctlAccess } from './sysctl-options.js';

type AccessFn = (argv: readonly string[]) => Access;

export const FAMILY_ACCESS: ReadonlyMap<string, () => Promise<AccessFn>> = new Map<string, () => Promise<AccessFn>>([
  ['vsctl', async () => vsctlAccess],
  ['ofctl', async () => ofctlAccess],
  ['appctl', async () => appctlAccess],
  ['brctl', async () => alwaysRead],
  ['bridge', async () => alwaysRead],
  ['ip', async () => ipAccess],
  ['iptables', async () => (await import('./iptables-commands.js')).iptables.access],
  ['iptables-save', async () => alwaysRead],
  ['conntrack', async () => (await import('./conntrack-commands.js')).conntrack.access],
  ['sysctl', async () => sysctlAccess],
  ['clear-counters', async () => alwaysWrite],
  ['nodes', async () => alwaysRead],
  ['trace', async () => alwaysWrite],
  ['workers', async () => (await import('./worker-commands.js')).workers.access],
  ['reload', async () => alwaysWrite],
]);
