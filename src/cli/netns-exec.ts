// `dpemu ip NODE netns exec NS CMD [ARGS]`: the write-up's way into a
// namespace (`ip netns exec qrouter-... ip rule list`, `... iptables -t nat
// -S`, `... sysctl net.ipv4.ip_forward`, `... tcpdump -i qr-... -nnee`) run as the dpemu command that emulates
// CMD inside NS on NODE. An emulated namespace runs no processes, so only the
// tools dpemu emulates there can be run (ping, traceroute and arping with
// sockets of the namespace's own stack: src/cli/ping.ts, traceroute.ts,
// arping.ts).
import { basename } from 'node:path';
import { ipObject, netnsVerb, parseIpArgv } from '../control/ip-argv.js';
import { ControlError } from '../control/protocol.js';

export type NetnsExec = { family: string; argv: string[] } | { error: string; exit: number };

type ToWords = (node: string, ns: string, args: string[]) => string[];
/** dpemu's `FAMILY NODE -n NS ARGS`. */
const nodeFirst: ToWords = (node, ns, args) => [node, '-n', ns, ...args];

/** How each tool's words become the dpemu command's inside NS on NODE. */
const TOOLS: Record<string, ToWords> = {
  ip: (node, ns, args) => ['-n', ns, node, ...args],
  bridge: (node, ns, args) => ['-n', ns, node, ...args],
  iptables: nodeFirst,
  'iptables-save': nodeFirst,
  conntrack: nodeFirst,
  sysctl: nodeFirst,
  arp: nodeFirst,
  route: nodeFirst,
  ifconfig: nodeFirst,
  netstat: nodeFirst,
  ping: nodeFirst,
  traceroute: nodeFirst,
  // traceroute's other name: IPv6 (its main() reads argv[0]).
  traceroute6: nodeFirst,
  arping: nodeFirst,
  // The interface inside NS: -i IF is dpemu's -i NODE:NS:IF; none is -i NODE:NS:, the device tcpdump picks there.
  tcpdump: (node, ns, args) => {
    const named = args.map((a, i) => (i > 0 && (args[i - 1] === '-i' || args[i - 1] === '--interface') ? `${node}:${ns}:${a}` : a));
    return named.some((a) => a === '-i' || a === '--interface') ? named : ['-i', `${node}:${ns}:`, ...named];
  },
};
/** Names the tools go by (Debian's iptables is an alternative for iptables-legacy). */
const ALIASES: Record<string, string> = { 'iptables-legacy': 'iptables', 'iptables-legacy-save': 'iptables-save' };

/** `ip` words that ask for `netns exec`: the command to run instead, ip's error, or null (anything else). */
export function netnsExec(argv: readonly string[]): NetnsExec | null {
  let parsed;
  try {
    parsed = parseIpArgv(argv);
  } catch {
    return null; // the daemon answers a bad option as ip does
  }
  const { node, words } = parsed;
  if (node === undefined || words[0] === undefined || ipObject(words[0]) !== 'netns') return null;
  const rest = words.slice(1);
  try {
    if (netnsVerb(rest) !== 'exec') return null;
  } catch (e) {
    return { error: (e as ControlError).message, exit: 255 };
  }
  // netns_exec(): ip's words and exit status 1 (its -1 returned through do_cmd).
  const [ns, cmd, ...args] = rest.slice(1);
  if (ns === undefined) return { error: 'No netns name specified', exit: 1 };
  if (cmd === undefined) return { error: 'No command specified', exit: 1 };
  const tool = ALIASES[basename(cmd)] ?? basename(cmd);
  const map = TOOLS[tool];
  if (map === undefined) {
    return { error: `exec of "${cmd}" failed: an emulated namespace runs no programs; dpemu runs ${Object.keys(TOOLS).join(', ')} there`, exit: 1 };
  }
  return { family: tool, argv: map(node, ns, args) };
}
