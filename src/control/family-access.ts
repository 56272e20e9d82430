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

/** An access() this module already holds. */
const held = (f: AccessFn) => async (): Promise<AccessFn> => f;

export const FAMILY_ACCESS: ReadonlyMap<string, () => Promise<AccessFn>> = new Map<string, () => Promise<AccessFn>>([
  ['vsctl', held(vsctlAccess)],
  ['ofctl', held(ofctlAccess)],
  ['appctl', held(appctlAccess)],
  ['brctl', held(alwaysRead)],
  ['bridge', held(alwaysRead)],
  ['ip', held(ipAccess)],
  ['iptables', async () => (await import('./iptables-commands.js')).iptables.access],
  ['iptables-save', held(alwaysRead)],
  ['conntrack', async () => (await import('./conntrack-commands.js')).conntrack.access],
  ['sysctl', held(sysctlAccess)],
  ['clear-counters', held(alwaysWrite)],
  ['nodes', held(alwaysRead)],
  ['trace', held(alwaysWrite)],
  ['workers', async () => (await import('./worker-commands.js')).workers.access],
  ['reload', held(alwaysWrite)],
]);
