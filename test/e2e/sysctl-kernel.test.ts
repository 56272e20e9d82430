// dpemu's sysctl against procps-ng's in a kernel namespace holding a device
// of the same name as the emulated one: both sides are given the emulated
// namespace's values, then run the same list of reads, writes and errors in
// the same order (stdout, stderr and exit status must agree), and list
// (sysctl -a, the kernel's narrowed to the keys dpemu models) before and
// after. The `ip netns exec` way in goes through the CLI and a daemon.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot } from '../helpers/root.js';
import { cli, startDaemon } from '../helpers/control.js';
import { loadTopologyFile } from '../../src/topology/loader.js';
import { buildEmulator } from '../../src/topology/builder.js';
import { sysctl } from '../../src/control/sysctl-commands.js';
import { withSysctlFiles } from '../../src/cli/sysctl-files.js';
import { mustNamespace } from '../../src/control/resolve.js';
import type { CommandResponse } from '../../src/control/protocol.js';
import { KernelObjects, sh, uniqueTag } from './lab-names.js';

const NODE = 'w07';
const NS = 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479';
const DEV = 'qr-178fc8e2-fd';
const tag = uniqueTag();
const kns = `dpe-${tag}-sy`;
const objs = new KernelObjects();

const loaded = loadTopologyFile('configs/seed-dvr-snat.yaml');
if (!loaded.ok) throw new Error('seed topology does not load');
const emu = buildEmulator(loaded.topology, { emulateHosts: true });
const ctx = { emu, invalidate: () => {} };

const dpemu = async (args: string[]): Promise<CommandResponse> => sysctl.run(ctx, [NODE, '-n', NS, ...args]);
const inKernel = (ns: string, args: string[], input?: string): { stdout: string; stderr: string; exit: number } => {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'sysctl', ...args], { encoding: 'utf8', input, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  return { stdout: r.stdout, stderr: r.stderr, exit: r.status ?? -1 };
};
const kernel = (args: string[]): { stdout: string; stderr: string; exit: number } => inKernel(kns, args);

const d = `net.ipv4.conf.${DEV}`;
const n = `net.ipv4.neigh.${DEV}`;
const d6 = `net.ipv6.conf.${DEV}`;
const n6 = `net.ipv6.neigh.${DEV}`;
const CASES: string[][] = [
  ['net.ipv4.ip_forward'], ['-n', 'net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter'], ['net/ipv4/ip_forward'], ['-N', 'net.ipv4.ip_forward'],
  ['-b', 'net.ipv4.ip_forward'], ['net.ipv4.ip_forward', '-n'], ['-n', '-N', 'net.ipv4.ip_forward'], ['-q', 'net.ipv4.icmp_ratemask'],
  [`${d}.send_redirects`, `${d}.forwarding`], [`net/ipv4/conf/${DEV}/arp_ignore`],
  ['net.ipv4.nosuch'], ['-e', 'net.ipv4.nosuch'], ['-q', 'net.ipv4.nosuch'], ['net.ipv4.nosuch', 'net.ipv4.nosuch'],
  ['net.ipv4.ip_forward', 'net.ipv4.nosuch', 'net.ipv4.conf.all.rp_filter'], [`${d}.nosuch`], ['net.ipv4.conf.nodev.rp_filter'],
  ['net.ipv4.conf.lo/rp_filter'],
  // Writes: -w and plain KEY=VALUE, what is echoed, and the kernel's reading of the value.
  ['-w', 'net.ipv4.conf.all.rp_filter=2'], ['net.ipv4.conf.all.rp_filter=0'], ['-q', '-w', `${d}.rp_filter=1`], [`${d}.rp_filter`],
  ['-n', '-w', 'net.ipv4.conf.all.arp_announce=1'], ['-N', '-w', 'net.ipv4.conf.all.arp_announce=2'], ['-w', ` ${d}.arp_ignore = 0x2 `],
  ['-w', 'net.ipv4.conf.all.rp_filter=010'], ['-n', 'net.ipv4.conf.all.rp_filter'], ['-w', 'net.ipv4.conf.all.rp_filter=1 2'],
  ['-w', 'net.ipv4.conf.all.rp_filter=-2147483648'], ['-w', 'net.ipv4.conf.all.rp_filter=2147483648'], ['-w', 'net.ipv4.conf.all.rp_filter=08'],
  ['-w', 'net.ipv4.conf.all.rp_filter=+1'], ['-w', 'net.ipv4.conf.all.rp_filter=0x'], ['-w', 'net.ipv4.ip_forward=abc'], ['-w', 'net.ipv4.ip_forward='],
  ['-w', 'net.ipv4.ip_forward'], ['-e', '-w', 'net.ipv4.ip_forward=abc'], ['-w', 'net.ipv4.ip_default_ttl=0'], ['-w', 'net.ipv4.ip_default_ttl=255'],
  ['-w', 'net.ipv4.ip_nonlocal_bind=256'], ['-w', 'net.ipv4.ip_nonlocal_bind=2'], ['-w', 'net.ipv4.icmp_echo_ignore_all=2'],
  ['-w', 'net.ipv4.icmp_msgs_burst=-1'], ['-w', 'net.ipv4.icmp_ratemask=-1'],
  ['-w', 'net.ipv4.nosuch=1'], ['-e', '-w', 'net.ipv4.nosuch=1'], ['-w', 'net.ipv4.conf.nodev.rp_filter=1'],
  ['-w', 'net.ipv4.ip_forward=1', 'net.ipv4.nosuch=1', 'net.ipv4.ip_forward=0'], ['net.ipv4.nosuch', 'net.ipv4.ip_forward=abc'],
  ['net.ipv4.ip_forward=abc', 'net.ipv4.nosuch'], ['net.ipv4.nosuch', 'net.ipv4.nosuch', 'net.ipv4.ip_forward=abc'],
  // conf/all/forwarding and ip_forward reach every device (inet_forward_change).
  [`${d}.forwarding`, 'net.ipv4.conf.lo.forwarding', 'net.ipv4.conf.default.forwarding'],
  ['-w', 'net.ipv4.conf.all.forwarding=1'], ['-n', `${d}.forwarding`, 'net.ipv4.ip_forward', 'net.ipv4.conf.default.forwarding'],
  ['-w', `${d}.forwarding=0`], ['-n', `${d}.forwarding`, 'net.ipv4.conf.all.forwarding'],
  // Writing the value it has changes nothing (devinet_sysctl_forward acts on a change).
  ['-w', 'net.ipv4.ip_forward=1'], ['-n', `${d}.forwarding`], ['-w', 'net.ipv4.ip_forward=0'],
  ['-n', `${d}.forwarding`, 'net.ipv4.conf.lo.forwarding', 'net.ipv4.conf.all.accept_redirects'], ['-w', 'net.ipv4.conf.all.forwarding=1'],
  ['net.ipv4.conf.all.accept_redirects', 'net.ipv4.conf.default.accept_redirects', `${d}.accept_redirects`],
  // conf/default reaches no device with an address (lo's 127.0.0.1 included): ipv4_devconf_setall made every key its own.
  ['-w', `${d}.log_martians=0`, 'net.ipv4.conf.default.log_martians=1', 'net.ipv4.conf.default.arp_notify=1', 'net.ipv4.conf.default.medium_id=3'],
  ['-w', 'net.ipv4.conf.default.promote_secondaries=1', 'net.ipv4.conf.default.route_localnet=1', 'net.ipv4.conf.default.forwarding=1'],
  [`${d}.log_martians`, `${d}.arp_notify`, `${d}.medium_id`, 'net.ipv4.conf.lo.arp_notify', `${d}.promote_secondaries`, `${d}.route_localnet`, `${d}.forwarding`],
  // neigh/: a directory per device, no default/ and no route/error_cost (the initial namespace's only); the deprecated
  // base_reachable_time and retrans_time read by name, not listed.
  [n], ['-N', 'net.ipv4.neigh.lo'], [`${n}.retrans_time`, `${n}.base_reachable_time`, `net/ipv4/neigh/${DEV}/unres_qlen`],
  ['net.ipv4.neigh.default.retrans_time_ms'], ['net.ipv4.neigh.default.gc_thresh1'], ['net.ipv4.neigh.default'], ['net.ipv4.neigh.nodev.retrans_time_ms'],
  [`${n}.nosuch`], [`${n}.gc_interval`], ['-w', 'net.ipv4.neigh.default.gc_thresh3=2048'], ['-w', `${n}=1`],
  ['net.ipv4.route.error_cost'], ['-e', 'net.ipv4.route.error_cost'], ['-w', 'net.ipv4.route.error_burst=1'],
  // Units over one value: ms, seconds, 1/100 s (USER_HZ), packets of SKB_TRUESIZE(ETH_FRAME_LEN) over bytes (values any HZ keeps).
  ['-w', `${n}.retrans_time_ms=1200`], ['-n', `${n}.retrans_time`, `${n}.retrans_time_ms`],
  ['-w', `${n}.retrans_time=50`, `${n}.base_reachable_time=7`, `${n}.locktime=40`], [`${n}.retrans_time_ms`, `${n}.base_reachable_time_ms`, `${n}.locktime`],
  ['-w', `${n}.unres_qlen=3`], [`${n}.unres_qlen_bytes`], ['-w', `${n}.unres_qlen_bytes=5000`], [`${n}.unres_qlen`],
  // Each handler's bounds.
  ['-w', `${n}.base_reachable_time_ms=-1`], ['-w', `${n}.retrans_time_ms=-20`], ['-w', `${n}.interval_probe_time_ms=0`], ['-w', `${n}.interval_probe_time_ms=8`],
  ['-w', `${n}.mcast_solicit=-1`], ['-w', `${n}.ucast_solicit=2147483647`], ['-w', `${n}.unres_qlen=1027504`], ['-w', `${n}.unres_qlen=1027505`],
  ['-w', `${n}.delay_first_probe_time=-2`, `${n}.gc_stale_time=2147483`], [`${n}.delay_first_probe_time`, `${n}.gc_stale_time`, `${n}.unres_qlen_bytes`],
  // A negative USER_HZ value is ~0UL jiffies, -1 as an int: "-0".
  ['-w', `${n}.proxy_delay=-3`], [`${n}.proxy_delay`], ['-w', `${n}.proxy_delay=0x10`], ['net.ipv4.neigh.lo.proxy_delay', `${n}.proxy_delay`],
  // net.ipv6.neigh: the IPv6 cache's parms, the same keys and units (its own defaults: locktime 0); a device's own
  // values apart from its net.ipv4.neigh ones; retrans_time (deprecated) plain jiffies, any int (read back per HZ: not here).
  [n6], ['-N', 'net.ipv6.neigh.lo'], [`${n6}.base_reachable_time`, `${n6}.locktime`, `net/ipv6/neigh/${DEV}/unres_qlen`],
  ['net.ipv6.neigh.default.retrans_time_ms'], ['net.ipv6.neigh.default.gc_thresh1'], ['net.ipv6.neigh.default'], ['net.ipv6.neigh.nodev.retrans_time_ms'],
  [`${n6}.nosuch`], ['-w', `${n6}=1`], ['-w', 'net.ipv6.neigh.default.gc_thresh3=2048'],
  ['-w', `${n6}.retrans_time_ms=1200`, `${n6}.base_reachable_time=7`, `${n6}.locktime=40`, `${n6}.unres_qlen=3`],
  [`${n6}.retrans_time_ms`, `${n6}.base_reachable_time_ms`, `${n6}.locktime`, `${n6}.unres_qlen_bytes`, `${n}.retrans_time_ms`, `${n}.locktime`],
  ['-w', `${n6}.base_reachable_time_ms=-1`], ['-w', `${n6}.retrans_time_ms=-20`], ['-w', `${n6}.interval_probe_time_ms=0`], ['-w', `${n6}.mcast_solicit=-1`],
  ['-w', `${n6}.unres_qlen=1027505`], ['-w', `${n6}.gc_stale_time=2147483`], ['-w', `${n6}.proxy_delay=-3`], [`${n6}.proxy_delay`, `${n6}.gc_stale_time`],
  ['-w', `${n6}.retrans_time=-5`], ['-w', `${n6}.retrans_time=2147483648`], ['-w', `${n6}.retrans_time=abc`], ['-w', `${n6}.retrans_time_ms=1000`],
  [`${n6}.retrans_time_ms`], ['-w', `${n6}.proxy_delay=80`],
  // net.ipv6.conf: disable_ipv6 and forwarding (any int, as proc_dointvec takes it); all's write reaches default and every
  // device, default's none of them (addrconf_fixup_forwarding, addrconf_disable_ipv6).
  [`${d6}.forwarding`, 'net.ipv6.conf.all.disable_ipv6', `net/ipv6/conf/${DEV}/disable_ipv6`, '-n', 'net.ipv6.conf.lo.forwarding'],
  ['net.ipv6.conf.nodev.forwarding'], [`${d6}.nosuch`], ['net.ipv6.nosuch'], ['-w', 'net.ipv6.conf.nodev.forwarding=1'],
  ['-w', `${d6}.forwarding=5`], [`${d6}.forwarding`], ['-w', `${d6}.forwarding=-1`, `${d6}.forwarding=0x10`], ['-n', `${d6}.forwarding`],
  ['-w', `${d6}.forwarding=abc`], ['-w', `${d6}.forwarding=2147483648`], ['-w', `${d6}.forwarding=0`],
  ['-w', 'net.ipv6.conf.all.forwarding=3'], ['net.ipv6.conf.default.forwarding', `${d6}.forwarding`, 'net.ipv6.conf.lo.forwarding'],
  ['-w', 'net.ipv6.conf.all.forwarding=0'], ['-w', 'net.ipv6.conf.default.disable_ipv6=-3', `${d6}.disable_ipv6=7`],
  ['net.ipv6.conf.default.disable_ipv6', `${d6}.disable_ipv6`, 'net.ipv6.conf.lo.disable_ipv6'],
  ['-w', 'net.ipv6.conf.default.disable_ipv6=0', `${d6}.disable_ipv6=0`], ['-w', 'net.ipv6.conf.all.disable_ipv6=1'],
  // net.ipv6.icmp: ratelimit alone (ms, as proc_dointvec_ms_jiffies reads it back at any HZ for 200).
  ['net.ipv6.icmp.ratelimit'], ['-w', 'net.ipv6.icmp.ratelimit=200'], ['-n', 'net.ipv6.icmp.ratelimit'], ['net.ipv6.icmp.nosuch'],
  ['-n', `${d6}.disable_ipv6`, 'net.ipv6.conf.default.disable_ipv6'], ['-w', 'net.ipv6.conf.all.disable_ipv6=0'],
  // MLDv2's unsolicited report interval (mld6.ts; ms, 200 read back as written at any HZ): a device's own, not below 0.
  [`${d6}.mldv2_unsolicited_report_interval`, 'net.ipv6.conf.all.mldv2_unsolicited_report_interval'], ['-w', `${d6}.mldv2_unsolicited_report_interval=200`],
  ['-w', `${d6}.mldv2_unsolicited_report_interval=-5`], [`${d6}.mldv2_unsolicited_report_interval`, 'net.ipv6.conf.default.mldv2_unsolicited_report_interval'],
  // No words, no variables, options it has no use for, help and version.
  [], ['-x'], ['-Z'], ['--bogus'], ['-V'], ['-h'],
];

/** sysctl -a: dpemu's, and the kernel's lines of the keys dpemu lists. */
async function listings(ns = kns): Promise<{ ours: string[]; theirs: string[] }> {
  const ours = (await dpemu(['-a'])).stdout.split('\n').filter((l) => l !== '');
  const keys = new Set(ours.map((l) => l.split(' = ')[0]));
  const theirs = inKernel(ns, ['-a']).stdout.split('\n').filter((l) => keys.has(l.split(' = ')[0]));
  return { ours, theirs };
}

/** A kernel namespace holding exactly the emulated one's devices (lo and DEV, its peer elsewhere), given its values. */
async function twin(name: string): Promise<string> {
  const ns = objs.addNetns(`dpe-${tag}-${name}`);
  const peers = objs.addNetns(`dpe-${tag}-${name}p`);
  sh('ip', ['-n', ns, 'link', 'add', DEV, 'type', 'veth', 'peer', 'name', `dpe-${tag}${name}`, 'netns', peers]);
  sh('ip', ['-n', ns, 'addr', 'add', '192.168.1.1/24', 'dev', DEV]);
  const l = await listings(ns);
  const has = new Set(l.theirs);
  assert.equal(inKernel(ns, ['-q', '-w', ...l.ours.filter((x) => !has.has(x)).map((x) => x.replace(' = ', '='))]).stderr, '');
  return ns;
}

/** `sh -c SCRIPT` in a mount namespace of its own (not waiting synchronously: a daemon of this process may have to answer). */
function inMountNs(script: string): Promise<{ stdout: string; stderr: string; exit: number }> {
  return new Promise((resolve) => {
    execFile('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, LC_ALL: 'C.UTF-8' } }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, exit: err ? (typeof err.code === 'number' ? err.code : 1) : 0 });
    });
  });
}

before(() => {
  requireRoot('sysctl against procps-ng');
  objs.addNetns(kns);
  sh('ip', ['-n', kns, 'link', 'add', DEV, 'type', 'veth', 'peer', 'name', `dpe-${tag}p`]);
  // Its address, as the emulated device has (an address makes every conf/ key the device's own).
  sh('ip', ['-n', kns, 'addr', 'add', '192.168.1.1/24', 'dev', DEV]);
});
after(() => objs.cleanup());

test('sysctl agrees with procps-ng on a kernel namespace given the same values', async () => {
  // The kernel namespace takes the emulated one's values where they differ (sysctl -a order: conf/all first,
  // ip_forward late), and dpemu is given the same writes: the keys a device's writes made its own are the same.
  let l = await listings();
  assert.ok(l.ours.length > 50, 'dpemu lists its keys');
  const kernelHas = new Set(l.theirs);
  const start = l.ours.filter((x) => !kernelHas.has(x)).map((x) => x.replace(' = ', '='));
  assert.equal(kernel(['-q', '-w', ...start]).stderr, '');
  assert.equal((await dpemu(['-q', '-w', ...start])).stderr, '');
  l = await listings();
  assert.deepEqual(l.ours, l.theirs, 'sysctl -a: the same keys, values and order');
  for (const args of CASES) {
    const ours = await dpemu(args);
    const theirs = kernel(args);
    assert.deepEqual({ stdout: ours.stdout, stderr: ours.stderr, exit: ours.exit }, theirs, `sysctl ${args.join(' ')}`);
  }
  l = await listings();
  assert.deepEqual(l.ours, l.theirs, 'sysctl -a after the writes');
});

test('a device whose name has a dot (fip-vif.103): written / in a dotted key, as procps-ng swaps the separators', async () => {
  const fns = objs.addNetns(`dpe-${tag}-fi`);
  sh('ip', ['-n', fns, 'link', 'add', 'fip-vif.103', 'type', 'veth', 'peer', 'name', `dpe-${tag}q`]);
  const fip = ['w02', '-n', 'fip-4617ac50-7b34-4b05-811d-b2afc741d446'];
  const ours = async (args: string[]): Promise<CommandResponse> => sysctl.run(ctx, [...fip, ...args]);
  const theirs = (args: string[]): { stdout: string; stderr: string; exit: number } => {
    const r = spawnSync('ip', ['netns', 'exec', fns, 'sysctl', ...args], { encoding: 'utf8' });
    return { stdout: r.stdout, stderr: r.stderr, exit: r.status ?? -1 };
  };
  // The kernel's device takes the emulated one's values.
  const start = (await ours(['net.ipv4.conf.fip-vif/103'])).stdout.split('\n').filter((l) => l !== '').map((l) => l.replace(' = ', '='));
  assert.equal(theirs(['-q', '-w', ...start]).stderr, '');
  for (const args of [
    ['net.ipv4.conf.fip-vif/103.proxy_arp'], ['net/ipv4/conf/fip-vif.103/proxy_arp'], ['net.ipv4.conf.fip-vif.103.proxy_arp'],
    ['-w', 'net.ipv4.conf.fip-vif/103.rp_filter=1'], ['-w', 'net/ipv4/conf/fip-vif.103/rp_filter=2'], ['-n', 'net/ipv4/conf/fip-vif.103/rp_filter'],
    ['-w', 'net/ipv4/conf/fip-vif.103/rp_filter=abc'], ['-w', 'net/ipv4/ip_forward=abc'], ['-w', 'net.ipv4.conf.fip-vif.103.rp_filter=1'],
    ['-w', 'net/ipv4/neigh/fip-vif.103/retrans_time_ms=400'], ['net.ipv4.neigh.fip-vif/103.retrans_time'], ['-N', 'net.ipv4.neigh.fip-vif/103'],
  ]) {
    const o = await ours(args);
    assert.deepEqual({ stdout: o.stdout, stderr: o.stderr, exit: o.exit }, theirs(args), `sysctl ${args.join(' ')}`);
  }
});

test('keys the kernel has and dpemu does not model are refused, and nothing changes', async () => {
  const before = (await dpemu(['-a'])).stdout;
  const r = await dpemu(['-w', 'net.ipv4.conf.all.accept_source_route=1', 'net.ipv6.conf.all.accept_ra=1', 'kernel.hostname=x', 'net.ipv4.route.min_pmtu=600', 'net.ipv6.route.gc_interval=1']);
  assert.equal(r.exit, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^sysctl: net\.ipv4\.conf\.all\.accept_source_route: not modelled by dpemu/m);
  assert.match(r.stderr, /^sysctl: net\.ipv6\.conf\.all\.accept_ra: not modelled by dpemu/m);
  assert.match(r.stderr, /^sysctl: net\.ipv6\.route\.gc_interval: not modelled by dpemu/m);
  assert.match(r.stderr, /^sysctl: kernel\.hostname: not modelled by dpemu/m);
  assert.match(r.stderr, /^sysctl: net\.ipv4\.route\.min_pmtu: not modelled by dpemu/m);
  assert.equal((await dpemu(['-a'])).stdout, before);
  // In a file too, a glob over keys it does not model or cannot list included; the rest of the file is applied.
  const dir = mkdtempSync(join(tmpdir(), `dpe-${tag}-`));
  try {
    const f = join(dir, 'u.conf');
    writeFileSync(f, 'kernel.pid_max = 4194304\n-net.ipv6.route.gc_* = 1\nnet.ipv4.conf.*.accept_source_route = 0\nnet.ipv6.conf.*.accept_ra = 0\nnet.ipv4.icmp_msgs_burst = 50\n');
    const u = await sysctl.run(ctx, withSysctlFiles([NODE, '-n', NS, '-p', f]));
    const nm = (k: string): string => `sysctl: ${k}: not modelled by dpemu (sysctl -a lists the keys it models)\n`;
    assert.deepEqual({ stdout: u.stdout, stderr: u.stderr, exit: u.exit }, {
      stdout: 'net.ipv4.icmp_msgs_burst = 50\n', exit: 1,
      stderr: nm('kernel.pid_max') + nm('net.ipv6.route.gc_*') + ['all', 'default', 'lo', DEV].map((d) => nm(`net.ipv4.conf.${d}.accept_source_route`)).join('') +
        ['all', 'default', 'lo', DEV].map((d) => nm(`net.ipv6.conf.${d}.accept_ra`)).join(''),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ip netns exec NS sysctl runs it inside the emulated namespace (through the daemon)', async () => {
  const dm = await startDaemon();
  try {
    const sock = join(dm.dir, 'control.sock');
    const w = await cli(sock, ['ip', NODE, 'netns', 'exec', NS, 'sysctl', '-w', 'net.ipv4.conf.all.rp_filter=1', `${d}.rp_filter=2`]);
    assert.deepEqual(w, { code: 0, stdout: `net.ipv4.conf.all.rp_filter = 1\n${d}.rp_filter = 2\n`, stderr: '' });
    const n = mustNamespace({ emu: dm.emu }, NODE, NS).ns;
    assert.equal(n.all.rp_filter, 1);
    assert.equal(n.mustLink(DEV).conf.rp_filter, 2);
    const r = await cli(sock, ['ip', NODE, 'netns', 'exec', NS, 'sysctl', '-n', `${d}.rp_filter`, 'net.ipv4.nosuch']);
    assert.deepEqual(r, { code: 1, stdout: '2\n', stderr: 'sysctl: cannot stat /proc/sys/net/ipv4/nosuch: No such file or directory\n' });
  } finally {
    await dm.stop();
  }
});

test('sysctl -p/--load FILE (globbed names, -), -r and --dry-run agree with procps-ng, the files read by the client', async () => {
  const ns = await twin('p');
  const dir = mkdtempSync(join(tmpdir(), `dpe-${tag}-`));
  try {
    const A = join(dir, 'a.conf');
    const B = join(dir, 'b.conf');
    writeFileSync(A, [
      '# a comment', '; another', '', 'net.ipv4.conf.all.rp_filter = 2', `  net.ipv4.conf.default.arp_ignore=1   `, '-net.ipv4.nosuch = 1',
      'net.ipv4.nosuch2 = 1', 'not a setting', 'net.ipv4.ip_forward = abc', '-net.ipv4.ip_default_ttl = 0', '-net.ipv4.conf.lo.rp_filter',
      'net.ipv4.conf.*.rp_filter = 1', 'net.ipv4.conf.*.log_martians = 1', 'net.ipv4.conf.nosuch*.rp_filter = 1', 'net.ipv4.conf.all = 1',
      `net/ipv4/conf/${DEV}/arp_announce = 2`, 'net.ipv4.icmp_ratelimit = 0x10', 'x', 'net.ipv4.neigh.*.ucast_solicit = 4',
      `net.ipv4.neigh.${DEV}.retrans_tim* = 40`, 'net.ipv6.neigh.*.app_solicit = 1', `net.ipv6.neigh.${DEV}.base_reach*_ms = 20000`,
    ].join('\n') + '\n');
    writeFileSync(B, 'net.ipv4.conf.all.arp_announce = 1\n;x\nnet.ipv4.icmp_msgs_burst=40'); // no newline at the end
    mkdirSync(join(dir, 'd.conf'));
    const cases: string[][] = [
      ['-p', A], ['-p', A, B], [`-p${B}`], [`--load=${B}`, A], ['--load', B], ['-f', B], ['-fq', B], ['-p', `${dir}/*.conf`], ['-p', `${dir}/{b,nosuch}.conf`],
      ['-p', `${dir}/{x,y}.conf`], ['-p', `${dir}/nosuch.conf`, B], ['-p', `${dir}/[ab].conf`], ['-p', join(dir, 'd.conf')], ['-q', '-p', A], ['-N', '-p', B],
      ['-n', '-p', B], ['-b', '-p', B], ['--dry-run', '-p', A], ['-r', 'rp_filter', '-p', A], ['-r', 'filter = 1$', '-p', A], ['-e', '-p', A],
      ['-a', '-p', A, '-N', '-r', 'lo\\.arp'],
      // -r on reads and -a, --dry-run on the command line.
      ['-r', 'rp_f', '-a'], ['-r', 'ip_forward', 'net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter'], ['-r', '_[[:lower:]]+_', '-N', 'net.ipv4.ip_forward', 'net.ipv4.icmp_msgs_burst'],
      ['-r', 'xx', 'net.ipv4.ip_forward=1'], ['-r', '(', 'net.ipv4.ip_forward'], ['--pattern=rp_f', 'net.ipv4.conf.all.rp_filter'], ['--pattern', 'x', 'net.ipv4.ip_forward'],
      ['-r'], ['--pattern'], ['--dry-run', 'net.ipv4.ip_forward=abc', 'net.ipv4.nosuch=1'], ['--dry-run', '-q', 'net.ipv4.ip_forward=1'], ['--deprecated', 'net.ipv4.ip_forward'],
      ['-w', '--', '-net.ipv4.ip_forward'], ['--deprecated', `net.ipv4.neigh.${DEV}`], ['--deprecated', '-r', 'time', `net.ipv4.neigh.${DEV}`],
    ];
    for (const args of cases) {
      const ours = await sysctl.run(ctx, withSysctlFiles([NODE, '-n', NS, ...args]));
      assert.deepEqual({ stdout: ours.stdout, stderr: ours.stderr, exit: ours.exit }, inKernel(ns, args), `sysctl ${args.join(' ')}`);
    }
    const l = await listings(ns);
    assert.deepEqual(l.ours, l.theirs, 'sysctl -a after the files');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sysctl -p - and --system through the CLI read the files of the machine it runs on, as procps-ng does', async () => {
  const ns = await twin('s');
  const dir = mkdtempSync(join(tmpdir(), `dpe-${tag}-`));
  const dm = await startDaemon();
  try {
    const sock = join(dm.dir, 'control.sock');
    const run = ['ip', NODE, 'netns', 'exec', NS, 'sysctl'];
    const stdin = 'net.ipv4.conf.all.arp_notify = 1\nbad\n-net.ipv4.nosuch = 2\n';
    const ours = await cli(sock, [...run, '-p', '-'], { stdin });
    assert.deepEqual({ stdout: ours.stdout, stderr: ours.stderr, exit: ours.code }, inKernel(ns, ['-p', '-'], stdin), 'sysctl -p -');
    assert.equal(mustNamespace({ emu: dm.emu }, NODE, NS).ns.all.arp_notify, 1);
    // The directories --system reads, each replaced by one of the test's (or an empty one) in a mount namespace of its own.
    const [etc, lib, empty] = ['etc', 'lib', 'empty'].map((d) => join(dir, d));
    for (const d of [etc, lib, empty]) mkdirSync(d!);
    writeFileSync(join(etc!, '10-a.conf'), 'net.ipv4.conf.all.rp_filter = 2\nnet.ipv4.nosuch = 1\n');
    writeFileSync(join(etc!, '30-c.conf'), `net.ipv4.conf.*.log_martians = 1\n-net.ipv4.conf.${DEV}.log_martians\n`);
    writeFileSync(join(etc!, 'README'), 'net.ipv4.icmp_ratemask = 3\n');
    writeFileSync(join(lib!, '20-b.conf'), 'net.ipv4.icmp_ratelimit = 500\nnot a setting\nnet.ipv4.ip_default_ttl = 0\n');
    writeFileSync(join(lib!, '30-c.conf'), 'net.ipv4.icmp_ratemask = 1\n');
    writeFileSync(join(lib!, '05-z.txt'), 'net.ipv4.icmp_ratemask = 2\n');
    writeFileSync(join(dir, 'sysctl.conf'), '# the last\nnet.ipv4.icmp_msgs_burst = 20\n');
    const mounts = [
      `for d in /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do [ -d $d ] && mount --bind ${empty} $d; done`,
      `mount --bind ${etc} /etc/sysctl.d`, `mount --bind ${lib} /usr/lib/sysctl.d`, `{ [ ! -f /etc/sysctl.conf ] || mount --bind ${join(dir, 'sysctl.conf')} /etc/sysctl.conf; }`,
    ].join(' && ');
    const dpemuCli = `env DPEMU_SOCKET=${sock} ${process.execPath} --import tsx src/cli/main.ts ${run.join(' ')}`;
    // The kernel's side only ever with --dry-run first: --system stops reading options, and this box's files may name the root namespace's keys.
    for (const args of [['--dry-run', '--system'], ['--dry-run', '-q', '--system'], ['--dry-run', '--system', '-q', '-p', 'x'], ['--dry-run', '-r', 'rp_f', '--system'], ['--dry-run', '-N', '--system']]) {
      const theirs = await inMountNs(`${mounts} && exec ip netns exec ${ns} sysctl ${args.join(' ')}`);
      assert.deepEqual(await inMountNs(`${mounts} && exec ${dpemuCli} ${args.join(' ')}`), theirs, `sysctl ${args.join(' ')}`);
    }
    const w = await inMountNs(`${mounts} && exec ${dpemuCli} -q --system`);
    assert.deepEqual(w, {
      stdout: '', exit: 1,
      stderr: 'sysctl: /usr/lib/sysctl.d/20-b.conf(2): invalid syntax, continuing...\nsysctl: setting key "net.ipv4.ip_default_ttl": Invalid argument\n',
    });
    const n = mustNamespace({ emu: dm.emu }, NODE, NS).ns;
    assert.deepEqual([n.all.rp_filter, n.sys.icmp_ratelimit, n.sys.icmp_msgs_burst, n.all.log_martians, n.mustLink(DEV).conf.log_martians], [2, 500, 20, 1, 0]);
    assert.equal(n.sys.icmp_ratemask, 6168, 'what is not *.conf, and /usr/lib/sysctl.d/30-c.conf (hidden by /etc/sysctl.d/30-c.conf), is not read');
  } finally {
    await dm.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
