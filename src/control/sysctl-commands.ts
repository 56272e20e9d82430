// sysctl (procps-ng 4.0.2) inside a namespace of the topology: `NODE -n NS
// [sysctl's options] [KEY[=VALUE]...]`, what `ip netns exec NS sysctl ...`
// runs. It reads and writes the net.ipv4 keys the namespace models
// (src/netns/sysctl.ts) through Netns.getSysctl/setSysctl, so a write takes
// effect as the kernel's does (conf/all/forwarding reaches every device).
// sysctl -a lists only those keys, in the order of sysctl's sorted walk of
// /proc/sys. A key the kernel has and dpemu does not model is refused.
import type { Netns } from '../netns/netns.js';
import { NEIGH_KEYS } from '../netns/neigh-sysctl.js';
import { DEV_CONF_KEYS, NET_SYSCTL_RANGE, type NetSysctls, parseProcInt } from '../netns/sysctl.js';
import type { CommandFamily } from './command.js';
import type { CommandResponse } from './protocol.js';
import { mustNamespace } from './resolve.js';

const USAGE = `
Usage:
 sysctl [options] [variable[=value] ...]

Options:
  -a, --all            display all variables
  -A                   alias of -a
  -X                   alias of -a
      --deprecated     include deprecated parameters to listing
      --dry-run        Print the key and values but do not write
  -b, --binary         print value without new line
  -e, --ignore         ignore unknown variables errors
  -N, --names          print variable names without values
  -n, --values         print only values of the given variable(s)
  -p, --load[=<file>]  read values from file
  -f                   alias of -p
      --system         read values from all system directories
  -r, --pattern <expression>
                       select setting that match expression
  -q, --quiet          do not echo variable set
  -w, --write          enable writing a value to variable
  -o                   does nothing
  -x                   does nothing
  -d                   alias of -h

 -h, --help     display this help and exit
 -V, --version  output version information and exit

For more details see sysctl(8).
`;

const LONG: Record<string, string> = { all: 'a', values: 'n', names: 'N', ignore: 'e', quiet: 'q', write: 'w', binary: 'b', help: 'h', version: 'V' };
const NOT_EMULATED = new Set(['p', 'f', 'r', 'load', 'system', 'pattern', 'dry-run', 'deprecated']);

/**
 * route/ as a namespace other than the initial one has it (ipv4_route_netns_table):
 * there, not modelled. error_cost, error_burst and the other global keys are
 * the initial namespace's only, as neigh/default is.
 */
const ROUTE_NETNS = new Set(['flush', 'min_adv_mss', 'min_pmtu', 'mtu_expires']);

/** conf/<dev>/ keys the kernel has and dpemu does not model (net/ipv4/devinet.c). */
const UNMODELLED_CONF = new Set([
  'accept_source_route', 'bootp_relay', 'disable_policy', 'disable_xfrm', 'drop_unicast_in_l2_multicast', 'force_igmp_version',
  'igmpv2_unsolicited_report_interval', 'igmpv3_unsolicited_report_interval', 'ignore_routes_with_linkdown', 'mc_forwarding', 'tag',
]);

interface Opts {
  all: boolean;
  values: boolean;
  names: boolean;
  ignore: boolean;
  quiet: boolean;
  write: boolean;
  binary: boolean;
}

/** NODE, then -n NS (dpemu's words); sysctl's own words after them. */
function parse(argv: readonly string[]): { node?: string; ns?: string; rest: readonly string[] } {
  const ns = argv[1] === '-n' || argv[1] === '--netns' ? argv[2] : undefined;
  return { node: argv[0], ns, rest: argv.slice(ns === undefined ? 1 : 3) };
}

/**
 * procps's slashdot(): the first separator says which one the name uses;
 * if it is `from`, every '.' and '/' swap (a device's '.' is written '/').
 */
function slashdot(name: string, from: string): string {
  const first = /[./]/.exec(name)?.[0];
  return first !== from ? name : name.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

type Found =
  | { leaf: { get: () => number | string; set: (v: number) => void; range?: readonly [number, number] } }
  | { dir: string[] }
  | { missing: true }
  | { unmodelled: true };

/** Every path under /proc/sys dpemu models in `ns`, in sysctl -a's order (each directory's names sorted). */
function modelled(ns: Netns): string[] {
  const devs = ['all', 'default', ...ns.links().map((l) => l.name)].sort();
  const conf = devs.flatMap((d) => [...DEV_CONF_KEYS].sort().map((k) => `net/ipv4/conf/${d}/${k}`));
  const top = [...Object.keys(ns.sys), 'ip_forward'].sort().map((k) => `net/ipv4/${k}`);
  // A namespace's neigh/ has a directory per device and no default/ (only the initial namespace's has).
  const keys = [...NEIGH_KEYS].filter(([, k]) => !k.deprecated).map(([name]) => name);
  const neigh = devs.filter((d) => d !== 'all' && d !== 'default').flatMap((d) => keys.map((k) => `net/ipv4/neigh/${d}/${k}`));
  // 'conf' sorts before every top-level name modelled (fwmark_reflect, icmp_*, ip_*), 'neigh' after them.
  return [...conf, ...top, ...neigh];
}

function lookup(ns: Netns, path: string): Found {
  const segs = path.split('/').filter((s) => s !== '');
  const dotted = (): string => `net.ipv4.${segs.slice(2).join('.')}`;
  if (segs.length === 0 || segs[0] !== 'net' || (segs.length > 1 && segs[1] !== 'ipv4')) return { unmodelled: true };
  if (segs.length === 5 && segs[2] === 'conf') {
    const [, , , dev, k] = segs as [string, string, string, string, string];
    if (dev !== 'all' && dev !== 'default' && !ns.links().some((l) => l.name === dev)) return { missing: true };
    if (UNMODELLED_CONF.has(k)) return { unmodelled: true };
    if (!(DEV_CONF_KEYS as string[]).includes(k)) return { missing: true };
    return { leaf: { get: () => ns.getSysctl(dotted()), set: (v) => ns.setSysctl(dotted(), v) } };
  }
  if (segs.length === 5 && segs[2] === 'neigh') {
    const [, , , dev, k] = segs as [string, string, string, string, string];
    const link = ns.links().find((l) => l.name === dev);
    const key = NEIGH_KEYS.get(k);
    if (!link || !key) return { missing: true };
    return { leaf: { get: () => key.read(ns.neigh.params(link.index)[key.param]), set: (v) => ns.setSysctl(dotted(), v), range: key.range } };
  }
  if (segs.length === 3 && segs[2] !== 'conf' && segs[2] !== 'neigh' && segs[2] !== 'route') {
    const k = segs[2]!;
    if (k === 'ip_forward') return { leaf: { get: () => ns.getSysctl(dotted()), set: (v) => ns.setSysctl(dotted(), v) } };
    if (!(k in ns.sys)) return { missing: true };
    return { leaf: { get: () => ns.getSysctl(dotted()), set: (v) => ns.setSysctl(dotted(), v), range: NET_SYSCTL_RANGE[k as keyof NetSysctls] } };
  }
  const prefix = `${segs.join('/')}/`;
  const under = modelled(ns).filter((p) => p.startsWith(prefix));
  if (under.length > 0) return { dir: under };
  // net/ipv4/conf/DEV of a device it has, net/ipv4/route and its per-namespace keys: there, not modelled.
  if ((segs[2] === 'route' && (segs.length === 3 || (segs.length === 4 && ROUTE_NETNS.has(segs[3]!)))) || (segs[2] === 'conf' && segs.length > 3 && modelled(ns).some((p) => p.startsWith(`net/ipv4/conf/${segs[3]}/`)))) {
    return { unmodelled: true };
  }
  return { missing: true };
}

export const sysctl: CommandFamily = {
  name: 'sysctl',
  // Plain KEY=VALUE writes as -w does.
  access: (argv) => (parse(argv).rest.some((a) => a.includes('=') || /^-[a-zA-Z]*w/.test(a) || a === '--write') ? 'write' : 'read'),
  target: (argv) => ({ node: parse(argv).node }),
  run(ctx, argv) {
    const p = parse(argv);
    const el = mustNamespace(ctx, p.node, p.ns);
    const ns = el.ns;
    const o: Opts = { all: false, values: false, names: false, ignore: false, quiet: false, write: false, binary: false };
    const words: string[] = [];
    let stdout = '';
    let stderr = '';
    const set = (c: string): CommandResponse | undefined => {
      if (c === 'a' || c === 'A' || c === 'X') o.all = true;
      else if (c === 'n') o.values = true;
      else if (c === 'N') o.names = true;
      else if (c === 'e') o.ignore = true;
      else if (c === 'q') o.quiet = true;
      else if (c === 'w') o.write = true;
      else if (c === 'b') o.binary = true;
      else if (c === 'h' || c === 'd') return { ok: true, stdout: USAGE, stderr: '', exit: 0 };
      else if (c === 'V') return { ok: true, stdout: 'sysctl from procps-ng 4.0.2\n', stderr: '', exit: 0 };
      else if (c === 'o' || c === 'x') return undefined;
      else if (NOT_EMULATED.has(c)) return { ok: false, stdout: '', stderr: `sysctl: dpemu does not emulate ${c.length > 1 ? '--' : '-'}${c}\n`, exit: 1 };
      // getopt's complaint, then the usage on stdout, exit status 0 (as procps 4.0.2 does).
      else return { ok: true, stdout: USAGE, stderr: c.length > 1 ? `sysctl: unrecognized option '--${c}'\n` : `sysctl: invalid option -- '${c}'\n`, exit: 0 };
      return undefined;
    };
    // No words at all: the usage, on stderr.
    if (p.rest.length === 0) return { ok: false, stdout: '', stderr: USAGE, exit: 1 };
    for (const a of p.rest) {
      let stop: CommandResponse | undefined;
      if (a.startsWith('--') && a.length > 2) {
        const name = a.slice(2).split('=')[0]!;
        stop = set(LONG[name] ?? name);
      } else if (a.startsWith('-') && a.length > 1) {
        for (const c of a.slice(1)) if ((stop = set(c))) break;
      } else words.push(a);
      if (stop) return stop;
    }
    const show = (name: string, value: string): void => {
      if (o.binary) stdout += value;
      else if (o.names) stdout += `${name}\n`;
      else if (o.values) stdout += `${value}\n`;
      else stdout += `${name} = ${value}\n`;
    };
    const unmodelled = (name: string): void => {
      stderr += `sysctl: ${name}: not modelled by dpemu (sysctl -a lists the keys it models)\n`;
    };
    const list = (paths: readonly string[]): void => {
      for (const path of paths) show(slashdot(path, '/'), String(lookupLeaf(ns, path)));
    };
    if (o.all) {
      list(modelled(ns));
      return { ok: true, stdout, stderr, exit: 0 };
    }
    if (words.length === 0) return { ok: false, stdout: '', stderr: `sysctl: no variables specified\nTry \`sysctl --help' for more information.\n`, exit: 1 };
    // Reads add one each to the exit status, writes or 1 into it (procps 4.0.2's ReadSetting/WriteSetting).
    let exit = 0;
    let wrote = 0;
    for (const w of words) {
      const eq = w.indexOf('=');
      if (eq < 0 && !o.write) {
        const name = w.trim();
        const f = lookup(ns, slashdot(name, '.'));
        if ('leaf' in f) show(slashdot(slashdot(name, '.'), '/'), String(f.leaf.get()));
        else if ('dir' in f) list(f.dir);
        else if ('unmodelled' in f) {
          unmodelled(name);
          exit++;
        } else if (!o.ignore) {
          stderr += `sysctl: cannot stat /proc/sys/${slashdot(name, '.')}: No such file or directory\n`;
          exit++;
        }
        continue;
      }
      if (eq < 0) {
        stderr += 'sysctl: command line(0): invalid syntax, continuing...\n';
        exit |= 1;
        continue;
      }
      const name = w.slice(0, eq).trim();
      const value = w.slice(eq + 1).trim();
      const path = slashdot(name, '.');
      const f = lookup(ns, path);
      if ('unmodelled' in f) {
        unmodelled(name);
        exit |= 1;
      } else if ('missing' in f) {
        if (!o.ignore) {
          stderr += `sysctl: cannot stat /proc/sys/${path}: No such file or directory\n`;
          exit |= 1;
        }
      } else if ('dir' in f) {
        stderr += `sysctl: setting key "${slashdot(path, '/')}": Invalid argument\n`; // a directory: its open fails, and procps 4.0.2 exits 0
      } else {
        const v = parseProcInt(value, f.leaf.range);
        if (v === undefined) {
          stderr += `sysctl: setting key "${slashdot(path, '/')}": Invalid argument\n`;
          exit |= 1;
          continue;
        }
        f.leaf.set(v);
        wrote++;
        // The value as typed, not read back; -N and -n both print only it.
        if (!o.quiet) stdout += o.binary ? value : o.values || o.names ? `${value}\n` : `${slashdot(path, '/')} = ${value}\n`;
      }
    }
    if (wrote > 0) ctx.invalidate(`${el.node}:${el.name} sysctl`);
    // A write that applied is kept for a restarted worker even when others on the line failed (replaying fails those again).
    return { ok: exit === 0 || wrote > 0, stdout, stderr, exit };
  },
};

function lookupLeaf(ns: Netns, path: string): number | string {
  const f = lookup(ns, path);
  if (!('leaf' in f)) throw new Error(`sysctl: ${path}: listed but not found`);
  return f.leaf.get();
}
