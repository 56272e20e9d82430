// Each command family's access() for the client (which path, /v1/read or
// /v1/write, a command goes to) without the registry (registry.ts), which
// loads every family's implementation: most of a CLI call's start-up. Each
// comes from a light module apart from the family's implementation (its
// words' parser, or `workers`' own module): held here, or imported when its
// family runs where that module brings modules of its own (iptables' and
// conntrack's parsers: the netfilter constants and conntrack's names). The
// server checks the path with the same functions (control-family-access.test.ts).
import { alwaysRead, alwaysWrite, type Access } from './command.js';
import { ipAccess } from './ip-argv.js';
import { appctlAccess, ofctlAccess, vsctlAccess } from './ovs-access.js';
import { sysctlAccess } from './sysctl-options.js';
import { arpAccess, ifconfigAccess, routeAccess } from './net-tools-argv.js';
import { bridgeAccess } from './bridge-argv.js';

type AccessFn = (argv: readonly string[]) => Access;

/** An access() this module already holds. */
const held = (f: AccessFn) => async (): Promise<AccessFn> => f;

export const FAMILY_ACCESS: ReadonlyMap<string, () => Promise<AccessFn>> = new Map<string, () => Promise<AccessFn>>([
  ['vsctl', held(vsctlAccess)],
  ['ofctl', held(ofctlAccess)],
  ['appctl', held(appctlAccess)],
  ['brctl', held(alwaysRead)],
  ['bridge', held(bridgeAccess)],
  ['ip', held(ipAccess)],
  ['iptables', async () => (await import('./iptables-argv.js')).iptablesAccess],
  ['iptables-save', held(alwaysRead)],
  ['conntrack', async () => (await import('./conntrack-argv.js')).conntrackAccess],
  ['sysctl', held(sysctlAccess)],
  ['arp', held(arpAccess)],
  ['route', held(routeAccess)],
  ['ifconfig', held(ifconfigAccess)],
  ['netstat', held(alwaysRead)],
  ['clear-counters', held(alwaysWrite)],
  ['nodes', held(alwaysRead)],
  ['trace', held(alwaysWrite)],
  ['workers', async () => (await import('./worker-commands.js')).workers.access],
  ['reload', held(alwaysWrite)],
]);
