// The `dpemu` subcommands that talk to a running daemon's control socket and
// print what the real tool prints on a real node. Each passes its words
// through untouched (they follow the real tool's syntax, options included);
// `--socket PATH` anywhere picks the socket (default DPEMU_SOCKET or
// /run/dpemu/control.sock).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConnectError, endpointFromEnv, runRemote } from '../control/client.js';
import { takeSocket } from './control-socket.js';
import { FILE_NAME_OPT } from '../control/ovs-access.js';
import { ARPING_USAGE_LINE, PING_USAGE } from './usage-lines.js';

// The tools' implementations load when a command runs, so each call loads only its own.
const tcpdumpCommand = async (argv: string[], o?: { inNetns?: boolean }): Promise<number> => (await import('./tcpdump.js')).tcpdumpCommand(argv, o);
const pingCommand = async (argv: string[]): Promise<number> => (await import('./ping.js')).pingCommand(argv);
const tracerouteCommand = async (argv: string[], v6 = false): Promise<number> => (await import('./traceroute.js')).tracerouteCommand(argv, v6);
const arpingCommand = async (argv: string[]): Promise<number> => (await import('./arping.js')).arpingCommand(argv);

/** Where ovs-ofctl takes a file: add-flows FILE, and `-` (stdin) for the flow of add-flow, mod-flows and del-flows. */
const FLOW_FILE = new Map([['add-flows', 'file'], ['add-flow', '-'], ['mod-flows', '-'], ['del-flows', '-']]);

/** A flow file that cannot be read, in ovs-ofctl's words (parse_ofp_flow_mod_file: `FILE: open failed (strerror)`). */
export class FlowFileError extends Error {
  constructor(file: string, cause: unknown) {
    // Node's message starts with the errno's name and libuv's lower-case strerror: "ENOENT: no such file or directory, open '...'".
    const why = /^[A-Z]+: ([^,]+)/.exec(cause instanceof Error ? cause.message : '')?.[1] ?? String(cause);
    super(`ovs-ofctl: ${file}: open failed (${why.charAt(0).toUpperCase()}${why.slice(1)})`);
  }
}

/**
 * ofctl SUBCMD NODE BRIDGE FILE|-: the file is read here and sent as its text (one flow a line),
 * with its name as `--dpemu-file=NAME` for the server's errors (ovs-ofctl's `FILE:LINE: reason`).
 */
function inlineFlowFile(argv: string[]): string[] {
  const i = argv.findIndex((a) => FLOW_FILE.has(a));
  if (i < 0) return argv;
  const words = argv.map((a, j) => ({ a, j })).filter((x) => x.j > i && (x.a === '-' || !x.a.startsWith('-')));
  const file = words[2];
  if (!file || (FLOW_FILE.get(argv[i]!) === '-' && file.a !== '-')) return argv;
  let text: string;
  try {
    text = readFileSync(file.a === '-' ? 0 : file.a, 'utf8');
  } catch (e) {
    throw new FlowFileError(file.a, e);
  }
  // Always ending in a newline, so the server tells a file (even an empty one: no flow_mod) from a flow.
  return [...argv.map((a, j) => (j === file.j ? (text.endsWith('\n') ? text : `${text}\n`) : a)), `${FILE_NAME_OPT}=${file.a}`];
}

export async function remote(family: string, argv: string[]): Promise<number> {
  const { socket, rest } = takeSocket(argv);
  if (family === 'ip') {
    const x = (await import('./netns-exec.js')).netnsExec(rest);
    if (x !== null && 'error' in x) {
      process.stderr.write(`${x.error}\n`);
      return x.exit;
    }
    if (x !== null) {
      const argv = socket === undefined ? x.argv : [...x.argv, '--socket', socket];
      if (x.family === 'tcpdump') return tcpdumpCommand(argv, { inNetns: true });
      if (x.family === 'arping') return arpingCommand(argv);
      if (x.family === 'traceroute' || x.family === 'traceroute6') return tracerouteCommand(argv, x.family === 'traceroute6');
      return x.family === 'ping' ? pingCommand(argv) : remote(x.family, argv);
    }
  }
  if (family === 'ip' || family === 'bridge') {
    const { isMonitor, monitorCommand } = await import('./monitor.js');
    if (isMonitor(family, rest)) return monitorCommand(family, socket, rest);
  }
  if (family === 'conntrack') {
    const { conntrackEventsCommand, isConntrackEvents } = await import('./conntrack-events.js');
    if (isConntrackEvents(rest)) return conntrackEventsCommand(socket, rest);
  }
  try {
    const words = family === 'ofctl' ? inlineFlowFile(rest) : family === 'sysctl' ? (await import('./sysctl-files.js')).withSysctlFiles(rest) : rest;
    const r = await runRemote(endpointFromEnv(socket), family, words);
    if (r.stdout) process.stdout.write(r.stdout);
    if (r.stderr) process.stderr.write(r.stderr);
    return r.exit;
  } catch (e) {
    if (e instanceof ConnectError || e instanceof FlowFileError) {
      process.stderr.write(e.message + '\n');
      return 1;
    }
    process.stderr.write(`dpemu ${family}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

const FAMILIES: [string, string, string][] = [
  ['vsctl', '[OPTIONS] CMD NODE [ARGS] [-- [OPTIONS] CMD NODE [ARGS]]...', 'as ovs-vsctl on NODE (commands joined by -- are one transaction; --no-wait, --dry-run, --oneline, -t N): show, list-br, list-ports BR, list-ifaces BR, port-to-br PORT, iface-to-br IFACE, br-exists BR, br-to-vlan BR, br-to-parent BR, get-fail-mode BR, get-controller BR, comment, [--if-exists] get TABLE RECORD COLUMN[:KEY]..., [--columns=COL,...] [-f FORMAT] [-d DATA] [--bare] list TABLE [RECORD...], find TABLE [COLUMN[:KEY]=VALUE]..., [--if-exists] set TABLE RECORD COLUMN[:KEY]=VALUE..., remove|add TABLE RECORD COLUMN VALUE..., clear TABLE RECORD COLUMN... (writes: Open_vSwitch other_config:max-idle, Bridge other_config:mac-table-size|mac-aging-time, Port tag), [--may-exist] add-port BR PORT [COLUMN[:KEY]=VALUE]... (internal ports; a device back on the bridge it left), [--if-exists] [--with-iface] del-port [BR] PORT'],
  ['ofctl', 'SUBCMD NODE BRIDGE [ARGS]', 'as ovs-ofctl: show [-O OpenFlow13], dump-flows [--names] [--no-stats] [FLOW], dump-ports [PORT] [-O OpenFlow13], dump-ports-desc [-O OpenFlow13], dump-tables [-O OpenFlow13], add-flow FLOW|-, add-flows FILE|-, mod-flows [--strict] FLOW|-, del-flows [--strict] [FLOW|-], dump-aggregate [FLOW], dump-desc, get-frags, set-frags normal|drop|nx-match, queue-stats [PORT [QUEUE]], mod-port PORT up|down|[no-]flood|[no-]receive|[no-]forward|[no-]stp|[no-]packet-in'],
  ['appctl', 'SUBCMD NODE BRIDGE [FLOW]', 'as ovs-appctl: fdb/show, fdb/add PORT VLAN MAC, fdb/del VLAN MAC, fdb/stats-show, fdb/stats-clear, fdb/flush, ofproto/list, upcall/show, ofproto/trace FLOW, dpif/show, dpif/dump-flows, dpctl/show [-s], dpctl/dump-flows'],
  ['brctl', 'show|showmacs NODE [BRIDGE]', 'as brctl'],
  ['bridge', '[-n NS] [-s] [-d] [-j [-p]] [-c] [-t] NODE fdb|link|vlan|mdb|monitor ...', 'as bridge (iproute2): fdb [show [br BR] [brport|dev DEV] [vlan VID] [state STATE] [dynamic]], fdb get LLADDR {br BR | dev DEV} [self] [master] [vlan VID] [dynamic], fdb add|append|replace|delete ADDR dev DEV [master|self] [permanent|static|dynamic] [use], fdb flush dev DEV [brport DEV] [STATE...], link [show [dev DEV]], vlan [show|tunnelshow|global [show]] [dev DEV] [vid VID], mdb [show [dev DEV] [vid VID]], monitor [all|fdb|link|mdb|vlan]... (streams the Linux bridges\' fdb changes until Ctrl-C)'],
  ['ip', '[-n NS] [-4|-6|-0|-f FAMILY] [-s [-s]] [-d] [-br] [-j [-p]] [-o] NODE OBJECT ...', 'as ip: addr, link, route [table N], route get, rule, neigh; route|neigh add|del|replace|change, rule add|del, link set, addr add|del; -s: device counters; -d: details; -br: brief; -j [-p]: JSON [pretty]; -o: one line a record; ntable [show|change]; monitor [all|link|address|route|neigh|rule]... [label] (streams until Ctrl-C; -t|-ts stamp each); netns [list]; netns exec NS ip|bridge|iptables|iptables-save|conntrack|sysctl|arp|route|ifconfig|netstat|tcpdump|ping|traceroute|traceroute6|arping ARGS'],
  ['iptables', 'NODE -n NS [-t TABLE] -S|-L -n -v|-A|-D|-I ...', 'as iptables (legacy) inside a namespace'],
  ['iptables-save', 'NODE -n NS [-t TABLE] [-c]', 'as iptables-save inside a namespace'],
  ['conntrack', 'NODE -n NS -L|-G|-C|-S|-D|-F|-E [filters]', 'as conntrack inside a namespace (-E streams events until Ctrl-C)'],
  ['sysctl', 'NODE -n NS [-n|-N] [-e] [-q] [-w] [--dry-run] [-r REGEX] KEY[=VALUE]...|-a|-p [FILE...]|--system', 'as sysctl (procps-ng) inside a namespace: the net.ipv4 keys dpemu models, net.ipv6.conf.*.disable_ipv6 and .forwarding, net.ipv6.icmp.ratelimit and net.ipv6.neigh.* (-a lists them); -p and --system read their files here'],
  ['arp', 'NODE -n NS [-n] [-v] [-a|-e] [-H ether] [-i IF] [HOST] | -s HOST HWADDR [temp] [dev IF] | -d HOST [dev IF]', 'as arp (net-tools) inside a namespace: its ARP table as /proc/net/arp shows it; -s and -d change it as SIOCSARP and SIOCDARP do'],
  ['route', 'NODE -n NS [-n] [-e|-ee] [-F] [-C] [-4|-A inet]', 'as route (net-tools) inside a namespace: table main as /proc/net/route shows it (read-only)'],
  ['ifconfig', 'NODE -n NS [-a] [-v] [DEV]', "as ifconfig (net-tools) inside a namespace: each device's flags, addresses and counters (read-only)"],
  ['netstat', 'NODE -n NS -r [-n] [-e|-ee] [-F] [-C] | -i [-a] [-e]', 'as netstat (net-tools) inside a namespace: -r the routing table, -i the devices (no socket listings)'],
  ['clear-counters', '', 'zero port, drop, flow and iptables counters'],
  ['reload', '', 'make the daemon re-read its topology'],
  ['nodes', '', 'list nodes with their bridges and namespaces'],
  ['workers', '[kill N]', 'list the datapath workers (dpemu run --workers N): index, alive, restarts, learned-state journal, configuration log, nodes; kill N ends worker N abruptly (it is restarted)'],
];

/**
 * `dpemu FAMILY --help` (or `-h`) alone prints dpemu's usage for it and asks the daemon nothing
 * (`reload --help` must not reload). With other words, -h/--help go to the daemon as the real
 * tool's own option (`conntrack NODE -n NS -h` prints conntrack-tools' help).
 */
function askedForHelp(cmd: Command, args: readonly string[]): boolean {
  if (args.length !== 1 || (args[0] !== '--help' && args[0] !== '-h')) return false;
  cmd.outputHelp();
  return true;
}

/**
 * A subcommand that hands its words to `run` as they are, tool-style (its own options, `-h` for help).
 * Commander drops the first `--` of words it reads as its own; `dashes` keeps every `--` after the
 * first other word (ovs-vsctl's `--` joins commands; one before any is getopt's, which changes nothing).
 */
function passThrough(program: Command, name: string, usage: string, desc: string, run: (args: string[]) => Promise<number>, dashes = false): void {
  const cmd = program.command(name);
  if (dashes) cmd.passThroughOptions();
  cmd
    .usage(usage)
    .description(desc)
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[args...]')
    .action(async (args: string[], _opts: unknown, cmd: Command) => {
      process.exitCode = askedForHelp(cmd, args) ? 0 : await run(args);
    });
}

/** The OVS families also answer to the tools' own names, as an OVS user types them (`dpemu ovs-ofctl dump-flows w07 br-int`). */
const OVS_NAMES: Readonly<Record<string, string>> = { vsctl: 'ovs-vsctl', ofctl: 'ovs-ofctl', appctl: 'ovs-appctl' };

export function registerControlCommands(program: Command): void {
  for (const [name, usage, desc] of FAMILIES) {
    passThrough(program, name, `${usage} [--socket PATH]`.trim(), `${desc} (via the daemon's control socket)`, (args) => remote(name, args), name === 'vsctl');
    if (OVS_NAMES[name]) program.commands.at(-1)!.alias(OVS_NAMES[name]);
  }
  passThrough(program, 'tcpdump', '-i NODE:[NS:]IFACE|NODE:NS:any [-nn] [-e] [-q] [-t...] [-v[v]] [-S] [-x[x]|-X[X]|-A[A]] [-c N] [-w FILE] [-s SNAPLEN] [EXPRESSION] [--socket PATH]',
    "capture live at any port of the running emulator, as tcpdump -nn [-e] [-q] [-v[v]] (via the daemon's control socket)", tcpdumpCommand);
  passThrough(program, 'ping', `${PING_USAGE} [--socket PATH]`,
    "ping from inside an emulated namespace: echo requests from its own stack, iputils ping's text and exit status (via the daemon's control socket)", pingCommand);
  passThrough(program, 'traceroute', 'NODE [-n NS] [-4|-6] [-I|-T|-U] [-n] [-f FIRST_TTL] [-m MAX_TTL] [-N SQUERIES] [-p PORT] [-q NQUERIES] [-s SRC_ADDR] [-i DEVICE] [-w MAX,HERE,NEAR] [-z SENDWAIT] HOST [PACKETLEN] [--socket PATH]',
    "traceroute from inside an emulated namespace: UDP (or -I ICMP echo, -T TCP SYN) probes from its own stack, IPv4 or IPv6, traceroute 2.1's text and exit status (via the daemon's control socket)", tracerouteCommand);
  passThrough(program, 'arping', `${ARPING_USAGE_LINE} [--socket PATH]`,
    "arping from inside an emulated namespace: ARP requests from a packet socket on its device, iputils arping's text and exit status (via the daemon's control socket)", arpingCommand);
}
