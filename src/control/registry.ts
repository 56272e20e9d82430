// Every command family the control socket serves, by the name in its URL.
import type { CommandFamily, DaemonCommand } from './command.js';
import { appctl, ofctl, vsctl } from './ovs-commands.js';
import { brctl } from './brctl-commands.js';
import { bridge } from './bridge-commands.js';
import { ip } from './ip-commands.js';
import { iptables, iptablesSaveCmd } from './iptables-commands.js';
import { conntrack } from './conntrack-commands.js';
import { sysctl } from './sysctl-commands.js';
import { arp } from './arp-commands.js';
import { route } from './route-commands.js';
import { ifconfig } from './ifconfig-commands.js';
import { netstat } from './netstat-commands.js';
import { clearCounters, nodes, reload } from './admin-commands.js';
import { trace } from './trace-command.js';
import { workers } from './worker-commands.js';

export const COMMANDS: ReadonlyMap<string, CommandFamily> = new Map(
  [vsctl, ofctl, appctl, brctl, bridge, ip, iptables, iptablesSaveCmd, conntrack, sysctl, arp, route, ifconfig, netstat, clearCounters, nodes, trace].map((c) => [c.name, c]),
);

/** Commands about the daemon itself, served on its own thread (src/control/command.ts DaemonCommand). */
export const DAEMON_COMMANDS: ReadonlyMap<string, DaemonCommand> = new Map([workers, reload].map((c) => [c.name, c]));
