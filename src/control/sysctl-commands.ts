// sysctl (procps-ng 4.0.2) inside a namespace of the topology: `NODE -n NS
// [sysctl's options] [KEY[=VALUE]...]`, what `ip netns exec NS sysctl ...`
// runs. It reads and writes the net.ipv4 keys the namespace models
// (src/netns/sysctl.ts), the net.ipv6.conf keys its IPv6 reads
// (src/netns/inet6.ts) and net.ipv6.neigh (src/netns/neigh-sysctl.ts) through Netns.getSysctl/setSysctl, so a write takes
// effect as the kernel's does (conf/all/forwarding reaches every device).
// sysctl -a lists only those keys, in the order of sysctl's sorted walk of
// /proc/sys. A key the kernel has and dpemu does not model is refused.
// -p and --system apply the files the client read (src/cli/sysctl-files.ts):
// every line is read first, then written, a key glob expanded over the
// conf/ paths the namespace has.
import type { Netns } from '../netns/netns.js';
import { NEIGH6_KEYS, NEIGH_KEYS } from '../netns/neigh-sysctl.js';
import { DEV_CONF6_KEYS, DEV_CONF6_RANGE, type DevConf6 } from '../netns/inet6.js';
import { DEV_CONF_KEYS, NET_SYSCTL_RANGE, type NetSysctls, parseProcInt } from '../netns/sysctl.js';
import type { CommandFamily } from './command.js';
import type { CommandResponse } from './protocol.js';
import { mustNamespace } from './resolve.js';
import { globSegment, isGlob, parseSettingLine, patternMatcher, preload, slashdot } from './sysctl-load.js';
import { type PreloadGroup, parseSysctlArgs, sysctlAccess, sysctlTarget } from './sysctl-options.js';

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

/** net/ipv6/conf/<dev>/ keys the kernel (6.18) has and dpemu does not model (net/ipv6/addrconf.c addrconf_sysctl). */
const UNMODELLED_CONF6 = new Set([
  'accept_ra', 'accept_ra_defrtr', 'accept_ra_from_local', 'accept_ra_min_hop_limit', 'accept_ra_min_lft', 'accept_ra_mtu',
  'accept_ra_pinfo', 'accept_ra_rt_info_max_plen', 'accept_ra_rt_info_min_plen', 'accept_ra_rtr_pref', 'accept_redirects', 'accept_source_route',
  'accept_untracked_na', 'addr_gen_mode', 'autoconf', 'disable_policy', 'drop_unicast_in_l2_multicast', 'drop_unsolicited_na',
  'force_forwarding', 'force_mld_version', 'force_tllao', 'hop_limit', 'ignore_routes_with_linkdown', 'ioam6_enabled', 'ioam6_id',
  'ioam6_id_wide', 'keep_addr_on_down', 'max_addresses', 'max_desync_factor', 'mc_forwarding', 'mldv1_unsolicited_report_interval',
  'mtu', 'ndisc_evict_nocarrier', 'ndisc_notify', 'ndisc_tclass', 'optimistic_dad', 'proxy_ndp',
  'ra_defrtr_metric', 'ra_honor_pio_life', 'ra_honor_pio_pflag', 'regen_max_retry', 'regen_min_advance', 'router_probe_interval',
  'router_solicitation_delay', 'router_solicitation_interval', 'router_solicitation_max_interval', 'router_solicitations', 'rpl_seg_enabled',
  'seg6_enabled', 'seg6_require_hmac', 'stable_secret', 'suppress_frag_ndisc', 'temp_prefered_lft', 'temp_valid_lft', 'use_oif_addrs_only',
  'use_optimistic', 'use_tempaddr',
]);

/** What a namespace's net/ipv6/ holds besides conf/ and neigh/ (6.18): there, not modelled (route/ with what is under it). */
/** net.ipv6.icmp's keys but ratelimit (Linux 6.18): there, not modelled. */
const ICMP6_OTHERS = new Set(['echo_ignore_all', 'echo_ignore_anycast', 'echo_ignore_multicast', 'error_anycast_as_unicast', 'ratemask']);

const IPV6_OTHERS = new Set([
  'anycast_src_echo_reply', 'auto_flowlabels', 'bindv6only', 'fib_multipath_hash_fields', 'fib_multipath_hash_policy', 'fib_notify_on_flag_change',
  'flowlabel_consistency', 'flowlabel_reflect', 'flowlabel_state_ranges', 'fwmark_reflect', 'icmp', 'idgen_delay', 'idgen_retries', 'ioam6_id',
  'ioam6_id_wide', 'ip6frag_high_thresh', 'ip6frag_low_thresh', 'ip6frag_time', 'ip_nonlocal_bind', 'max_dst_opts_length', 'max_dst_opts_number',
  'max_hbh_length', 'max_hbh_opts_number', 'route', 'seg6_flowlabel', 'xfrm6_gc_thresh',
]);

type Found =
  | { leaf: { get: () => number | string; set: (v: number) => void; range?: readonly [number, number] } }
  | { dir: string[] }
  | { missing: true }
  | { unmodelled: true };

/**
 * Every path under /proc/sys dpemu models in `ns`, in sysctl -a's order (each
 * directory's names sorted); neigh's deprecated keys only for --deprecated,
 * as procps' directory walk skips them.
 */
/** The devices that have an inet6_dev (Interface.idev6). */
const inet6Devs = (ns: Netns): string[] => ns.links().filter((l) => l.idev6 !== 0).map((l) => l.name);

function modelled(ns: Netns, deprecated = false): string[] {
  const devs = ['all', 'default', ...ns.links().map((l) => l.name)].sort();
  const conf = devs.flatMap((d) => [...DEV_CONF_KEYS].sort().map((k) => `net/ipv4/conf/${d}/${k}`));
  const top = [...Object.keys(ns.sys), 'ip_forward'].sort().map((k) => `net/ipv4/${k}`);
  // A namespace's neigh/ has a directory per device and no default/ (only the initial namespace's has).
  const keys = [...NEIGH_KEYS].filter(([, k]) => deprecated || !k.deprecated).map(([name]) => name);
  // A device without an inet6_dev (an MTU below 1280) has no net/ipv6 directories.
  const devs6 = new Set(['all', 'default', ...inet6Devs(ns)]);
  const neighDirs = (v: 4 | 6) => devs.filter((d) => d !== 'all' && d !== 'default' && (v === 4 || devs6.has(d))).flatMap((d) => keys.map((k) => `net/ipv${v}/neigh/${d}/${k}`));
  const conf6 = devs.filter((d) => devs6.has(d)).flatMap((d) => [...DEV_CONF6_KEYS].sort().map((k) => `net/ipv6/conf/${d}/${k}`));
  // 'conf' sorts before every top-level name modelled (fwmark_reflect, icmp_*, ip_*), 'neigh' after them; ipv4 before ipv6.
  // Both neigh/ directories hold the same names (net.ipv6's retrans_time reads another unit); net.ipv6's icmp/ sorts between.
  return [...conf, ...top, ...neighDirs(4), ...conf6, 'net/ipv6/icmp/ratelimit', ...neighDirs(6)];
}

function lookup(ns: Netns, path: string, deprecated = false): Found {
  const segs = path.split('/').filter((s) => s !== '');
  const dotted = (): string => `net.${segs[1]}.${segs.slice(2).join('.')}`;
  if (segs.length === 0 || segs[0] !== 'net' || (segs.length > 1 && segs[1] !== 'ipv4' && segs[1] !== 'ipv6')) return { unmodelled: true };
  if (segs[1] === 'ipv6') {
    const dev = segs[3];
    const hasDev = dev === 'all' || dev === 'default' || inet6Devs(ns).includes(dev!);
    if (segs.length === 5 && segs[2] === 'conf') {
      const k = segs[4]!;
      if (!hasDev) return { missing: true };
      if (UNMODELLED_CONF6.has(k)) return { unmodelled: true };
      if (!(DEV_CONF6_KEYS as readonly string[]).includes(k)) return { missing: true };
      return { leaf: { get: () => ns.getSysctl(dotted()), set: (v) => ns.setSysctl(dotted(), v), range: DEV_CONF6_RANGE[k as keyof DevConf6] } };
    }
    if (segs.length === 4 && segs[2] === 'icmp') {
      if (segs[3] !== 'ratelimit') return ICMP6_OTHERS.has(segs[3]!) ? { unmodelled: true } : { missing: true };
      return { leaf: { get: () => ns.getSysctl(dotted()), set: (v) => ns.setSysctl(dotted(), v) } };
    }
    if (segs.length === 5 && segs[2] === 'neigh') {
      const link = ns.links().find((l) => l.name === dev && l.idev6 !== 0);
      const key = NEIGH6_KEYS.get(segs[4]!);
      if (!link || !key) return { missing: true };
      return { leaf: { get: () => key.read(ns.nd6.params(link.index)[key.param]), set: (v) => ns.setSysctl(dotted(), v), range: key.range } };
    }
    const prefix = `${segs.join('/')}/`;
    const under = modelled(ns, deprecated).filter((p) => p.startsWith(prefix));
    if (under.length > 0) return { dir: under };
    // conf/DEV is a directory (listed above); the rest, and whatever is under it, is refused without looking further.
    return IPV6_OTHERS.has(segs[2]!) ? { unmodelled: true } : { missing: true };
  }
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
  const under = modelled(ns, deprecated).filter((p) => p.startsWith(prefix));
  if (under.length > 0) return { dir: under };
  // net/ipv4/conf/DEV of a device it has, net/ipv4/route and its per-namespace keys: there, not modelled.
  if ((segs[2] === 'route' && (segs.length === 3 || (segs.length === 4 && ROUTE_NETNS.has(segs[3]!)))) || (segs[2] === 'conf' && segs.length > 3 && modelled(ns).some((p) => p.startsWith(`net/ipv4/conf/${segs[3]}/`)))) {
    return { unmodelled: true };
  }
  return { missing: true };
}

/** Where a key glob can match (net/ipv{4,6}/conf/DEV[/KEY], net/ipv{4,6}/neigh/DEV[/KEY]): every such path in `ns`, sorted as glob(3) sorts; undefined elsewhere (dpemu cannot list what it does not model). */
function globModel(ns: Netns, pattern: string): string[] | undefined {
  const segs = pattern.split('/');
  const dir = segs[2];
  const v6 = segs[1] === 'ipv6';
  if (segs[0] !== 'net' || (segs[1] !== 'ipv4' && !v6) || (dir !== 'conf' && dir !== 'neigh') || (segs.length !== 4 && segs.length !== 5)) return undefined;
  const res = segs.map(globSegment);
  const links = v6 ? inet6Devs(ns) : ns.links().map((l) => l.name);
  // glob(3) reads the directories: neigh/ has no all/ or default/ here, and every key file, deprecated ones too.
  const devs = dir === 'conf' ? ['all', 'default', ...links] : links;
  const keys = dir === 'neigh' ? [...NEIGH6_KEYS.keys()] : v6 ? [...DEV_CONF6_KEYS, ...UNMODELLED_CONF6] : [...DEV_CONF_KEYS, ...UNMODELLED_CONF];
  const paths = segs.length === 4 ? devs.map((d) => `net/${segs[1]}/${dir}/${d}`) : devs.flatMap((d) => keys.map((k) => `net/${segs[1]}/${dir}/${d}/${k}`));
  return paths.filter((p) => p.split('/').every((s, i) => res[i]!.test(s))).sort();
}

export const sysctl: CommandFamily = {
  name: 'sysctl',
  access: sysctlAccess,
  target: (argv) => ({ node: sysctlTarget(argv).node }),
  run(ctx, argv) {
    const t = sysctlTarget(argv);
    const el = mustNamespace(ctx, t.node, t.ns);
    const ns = el.ns;
    const p = parseSysctlArgs(t.rest);
    if ('stop' in p) return p.stop;
    const { opts: o, words } = p;
    const match = o.pattern === undefined ? undefined : patternMatcher(o.pattern);
    let stdout = '';
    let stderr = '';
    const warn = (msg: string): void => {
      stderr += msg;
    };
    const show = (name: string, value: string): void => {
      if (match && !match(name)) return;
      if (o.names) stdout += `${name}\n`;
      else if (o.binary) stdout += value;
      else if (o.values) stdout += `${value}\n`;
      else stdout += `${name} = ${value}\n`;
    };
    const unmodelled = (name: string): void => {
      stderr += `sysctl: ${name}: not modelled by dpemu (sysctl -a lists the keys it models)\n`;
    };
    const list = (paths: readonly string[]): void => {
      for (const path of paths) show(slashdot(path, '/'), String(lookupLeaf(ns, path)));
    };
    let wrote = 0;
    /**
     * WriteSetting: 1 when it failed; `name` is what a key dpemu does not model is reported as.
     * A '-KEY' line changes nothing here: only an open that fails says ", ignoring", and a key dpemu models always opens.
     */
    const write = (path: string, value: string, name: string): number => {
      const f = lookup(ns, path);
      const dotted = slashdot(path, '/');
      if ('unmodelled' in f) {
        unmodelled(name);
        return 1;
      }
      if ('missing' in f) {
        if (o.ignore) return 0;
        stderr += `sysctl: cannot stat /proc/sys/${path}: No such file or directory\n`;
        return 1;
      }
      if ('dir' in f) {
        stderr += `sysctl: setting key "${dotted}": Invalid argument\n`; // a directory: procps 4.0.2 says so and goes on, status 0
        return 0;
      }
      if (!o.dryRun) {
        const v = parseProcInt(value, f.leaf.range);
        if (v === undefined) {
          // The kernel refuses it when sysctl closes the file: no ", ignoring", and a failure even for '-KEY'.
          stderr += `sysctl: setting key "${dotted}": Invalid argument\n`;
          return 1;
        }
        f.leaf.set(v);
        wrote++;
      }
      // The value as typed, not read back; -N prints only it too. --dry-run prints even with -q.
      if (!o.quiet || o.dryRun) stdout += o.names ? `${value}\n` : !o.values ? `${dotted} = ${value}\n` : o.binary ? value : `${value}\n`;
      return 0;
    };
    const done = (exit: number): CommandResponse => {
      if (wrote > 0) ctx.invalidate(`${el.node}:${el.name} sysctl`);
      // A write that applied is kept for a restarted worker even when others failed (replaying fails those again).
      return { ok: exit === 0 || wrote > 0, stdout, stderr, exit };
    };
    if (o.system || (o.load && !o.all)) {
      if (t.load === undefined) return { ok: false, stdout: '', stderr: 'sysctl: dpemu reads the files of -p and --system where its client runs, and none came\n', exit: 1 };
      // Every file is read before anything is written (write_setting_list).
      const r = preload(JSON.parse(t.load) as PreloadGroup[], match, warn, (g) => {
        if (o.system && !o.quiet) stdout += `* Applying ${g.name} ...\n`;
      });
      let exit = r.exit;
      const { writes, excluded } = r.list;
      const named = new Set([...excluded, ...writes.map((s) => s.path)]);
      for (const s of writes) {
        if (!isGlob(s.path)) {
          exit |= write(s.path, s.value, s.key);
          continue;
        }
        const paths = globModel(ns, s.path);
        if (paths === undefined) {
          unmodelled(s.key);
          exit |= 1;
        }
        // A path some line names on its own is that line's (settinglist_findpath).
        for (const path of paths ?? []) if (!named.has(path)) exit |= write(path, s.value, slashdot(path, '/'));
      }
      return done(exit);
    }
    if (o.all) {
      list(modelled(ns, o.deprecated));
      return { ok: true, stdout, stderr, exit: 0 };
    }
    if (words.length === 0) return { ok: false, stdout: '', stderr: `sysctl: no variables specified\nTry \`sysctl --help' for more information.\n`, exit: 1 };
    // Reads add one each to the exit status, writes or 1 into it (procps 4.0.2's ReadSetting/WriteSetting).
    let exit = 0;
    for (const w of words) {
      if (!w.includes('=') && !o.write) {
        const name = w.trim();
        const f = lookup(ns, slashdot(name, '.'), o.deprecated);
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
      const s = parseSettingLine('command line', 0, w, match, warn);
      // '-KEY' without a value: WriteSetting gets none, and printf writes "(null)".
      if (s === null) exit |= 1;
      else if ('exclude' in s) exit |= write(s.exclude, '(null)', s.key);
      else exit |= write(s.path, s.value, s.key);
    }
    return done(exit);
  },
};

function lookupLeaf(ns: Netns, path: string): number | string {
  const f = lookup(ns, path);
  if (!('leaf' in f)) throw new Error(`sysctl: ${path}: listed but not found`);
  return f.leaf.get();
}
