// What a `dpemu` control command loads before it asks the daemon: its
// family's words' parser and the client, never the emulator's implementation
// (the netfilter code, the command registry, the namespace stack), whose
// loading was most of a call's start-up (docs/control.md, "Protocol").
// Each call runs with no daemon to answer it, under a loader hook that lists
// the modules it loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Modules that bring the emulator with them. */
const HEAVY = ['src/netfilter/index.js', 'src/control/registry.js', 'src/control/resolve.js', 'src/netns/namespace.js'];

const NS = ['w02', '-n', 'snat-x'];
/** Each family's call, and a module of its own it must load (so the hook is seen to work). */
const CALLS: [string[], string][] = [
  [['iptables', ...NS, '-t', 'nat', '-S'], 'src/control/iptables-argv.js'],
  [['iptables', ...NS, '-A', 'INPUT', '-j', 'ACCEPT'], 'src/control/iptables-argv.js'],
  [['iptables-save', ...NS], 'src/control/family-access.js'],
  [['conntrack', ...NS, '-L'], 'src/control/conntrack-argv.js'],
  [['conntrack', ...NS, '-E'], 'src/cli/conntrack-events.js'],
  [['ip', 'w02', 'netns', 'exec', 'snat-x', 'iptables', '-S'], 'src/control/iptables-argv.js'],
  [['ip', 'w02', 'netns', 'exec', 'snat-x', 'conntrack', '-L'], 'src/control/conntrack-argv.js'],
  [['ip', 'w02', 'netns', 'exec', 'snat-x', 'iptables-save'], 'src/cli/netns-exec.js'],
  [['arping', ...NS, '-c', '1', '192.0.2.1'], 'src/cli/arping.js'],
  [['ping', ...NS, '-c', '1', '192.0.2.1'], 'src/cli/ping.js'],
  [['traceroute', ...NS, '192.0.2.1'], 'src/cli/traceroute.js'],
  [['tcpdump', '-i', 'w02:snat-x:any', '-c', '1'], 'src/cli/tcpdump.js'],
  [['trace', '--in', 'w07:tap2ab77d0f-99', '--src', '192.0.2.1', '--dst', '192.0.2.2'], 'src/control/family-access.js'],
  [['ip', '-n', 'snat-x', 'w02', 'addr'], 'src/control/ip-argv.js'],
  [['bridge', 'w07', 'fdb', 'show'], 'src/control/family-access.js'],
  [['brctl', 'show', 'w07'], 'src/control/family-access.js'],
  [['vsctl', 'show', 'w07'], 'src/control/ovs-access.js'],
  [['ofctl', 'dump-flows', 'w07', 'br-int'], 'src/control/ovs-access.js'],
  [['appctl', 'fdb/show', 'w07', 'br-int'], 'src/control/ovs-access.js'],
  [['sysctl', ...NS, 'net.ipv4.ip_forward'], 'src/control/sysctl-options.js'],
  [['arp', ...NS, '-n'], 'src/control/net-tools-argv.js'],
  [['arp', ...NS, '-s', '192.0.2.9', '02:00:00:00:00:09'], 'src/control/net-tools-argv.js'],
  [['ip', 'w02', 'netns', 'exec', 'snat-x', 'arp', '-an'], 'src/control/net-tools-argv.js'],
  [['route', ...NS, '-n'], 'src/control/family-access.js'],
  [['ip', 'w02', 'netns', 'exec', 'snat-x', 'route', '-n'], 'src/cli/netns-exec.js'],
  [['ifconfig', ...NS, '-a'], 'src/control/family-access.js'],
  [['ip', 'w02', 'netns', 'exec', 'snat-x', 'ifconfig'], 'src/cli/netns-exec.js'],
  [['netstat', ...NS, '-rn'], 'src/control/family-access.js'],
  [['workers'], 'src/control/worker-commands.js'],
  [['nodes'], 'src/control/family-access.js'],
];

test('a control command loads its parser and the client, not the emulator, before it asks the daemon', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpe-mods-'));
  try {
    const heavy: Record<string, string[]> = {};
    CALLS.forEach(([args, own], i) => {
      const log = join(dir, `${i}.log`);
      const r = spawnSync(process.execPath, ['--import', './test/helpers/module-log.mjs', 'bin/dpemu.js', ...args], {
        encoding: 'utf8', env: { ...process.env, DPEMU_SOCKET: join(dir, 'none.sock'), DPEMU_MODULE_LOG: log },
      });
      const what = `dpemu ${args.join(' ')}`;
      assert.match(r.stderr, /no daemon listening/, `${what}: ${r.stderr}`);
      const loaded = readFileSync(log, 'utf8').split('\n');
      assert.ok(loaded.some((u) => u.endsWith('src/cli/main.js')) && loaded.some((u) => u.endsWith(own)), `${what} loads main.js and ${own}`);
      const bad = HEAVY.filter((h) => loaded.some((u) => u.endsWith(h)));
      if (bad.length) heavy[what] = bad;
    });
    assert.deepEqual(heavy, {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
