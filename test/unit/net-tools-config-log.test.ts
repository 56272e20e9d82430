// arp -s and -d change the ARP table as `ip neigh` writes do, route add and
// del table main as `ip route` writes do, ifconfig DEV up|down|mtu|ADDR ... a device
// and its addresses as `ip link set` and `ip addr` do: with datapath workers each is kept
// in its worker's configuration log (replayed after a restart, as a PERMANENT
// entry or a route is configuration); the listings and the read-only
// net-tools commands are not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kept } from '../../src/workers/config-log.js';
import { PartitionedDatapath } from '../../src/workers/supervisor.js';
import { PartitionedControl } from '../../src/workers/remote-control.js';
import { COMMANDS } from '../../src/control/registry.js';
import { SEED_FILE, FIP } from '../helpers/seed-names.js';

const NS = ['w02', '-n', 'snat-x'];

test('arp writes are kept in the configuration log, its reads and route, ifconfig and netstat are not', () => {
  assert.deepEqual(kept('arp', [...NS, '-s', '192.0.2.9', '02:00:00:00:00:09']), { bridge: null });
  assert.deepEqual(kept('arp', [...NS, '-i', 'sg-1', '-d', '192.0.2.9']), { bridge: null });
  assert.deepEqual(kept('arp', [...NS, '--set', '192.0.2.9', '02:00:00:00:00:09', 'temp']), { bridge: null });
  for (const [family, argv] of [['arp', [...NS, '-an']], ['arp', [...NS, '-i', 'dsx']], ['route', [...NS, '-n']], ['route', [...NS, '-A', 'add']], ['route', [...NS, 'flush']], ['ifconfig', [...NS, '-a']], ['netstat', [...NS, '-rn']]] as const) {
    assert.equal(kept(family, argv), null, `${family} ${argv.join(' ')}`);
  }
});

test('route add and del, ifconfig DEV up|down|mtu|ADDR|add ... are kept in the configuration log, their listings are not', () => {
  for (const argv of [['sg-1', 'up'], ['-v', 'sg-1', 'mtu', '1400'], ['sg-1:1', 'down'], ['sg-1', '192.0.2.5', 'netmask', '255.255.255.0'], ['sg-1', 'add', '2001:db8::1/64']]) {
    assert.deepEqual(kept('ifconfig', [...NS, ...argv]), { bridge: null }, `ifconfig ${argv.join(' ')}`);
  }
  for (const argv of [['sg-1'], ['-a'], ['-s', 'sg-1']]) assert.equal(kept('ifconfig', [...NS, ...argv]), null, `ifconfig ${argv.join(' ')}`);
  for (const argv of [['add', '-net', '192.0.2.0/24', 'dev', 'sg-1'], ['del', 'default'], ['delete', '-host', '192.0.2.9'], ['-n', 'add', 'default', 'gw', '192.0.2.1'], ['-A', 'inet', 'del', 'default'], ['--protocol', 'inet', 'add', 'default'], ['--', 'add', 'default']]) {
    assert.deepEqual(kept('route', [...NS, ...argv]), { bridge: null }, `route ${argv.join(' ')}`);
  }
});

test("route add and del, ifconfig mtu and an alias address, run in the node's worker and survive its restart", async () => {
  const dp = await PartitionedDatapath.start({ file: SEED_FILE, assignment: new Map([['w07', 0], ['w02', 1]]), clock: 'manual' });
  const c = new PartitionedControl(dp);
  const run = (...argv: string[]) => c.run(COMMANDS.get(argv[0]!)!, argv.slice(1), { invalidate: () => {} });
  try {
    const ns = ['w02', '-n', FIP];
    assert.equal((await run('route', ...ns, 'add', '-net', '198.51.100.0', 'netmask', '255.255.255.0', 'dev', 'fip-vif.103', 'metric', '7')).exit, 0);
    assert.equal((await run('route', ...ns, 'add', '-host', '203.0.113.9', 'reject')).exit, 0);
    assert.equal((await run('route', ...ns, 'del', '-host', '203.0.113.9', 'reject')).exit, 0);
    assert.equal((await run('route', ...ns, 'add', '-host', '203.0.113.10', 'reject')).exit, 0);
    assert.equal((await run('ifconfig', ...ns, 'fip-vif.103', 'mtu', '1400')).exit, 0);
    assert.equal((await run('ifconfig', ...ns, 'fip-vif.103:9', '203.0.113.77', 'netmask', '255.255.255.128')).exit, 0);
    // Not kept: a refused add (the route is there), a listing.
    assert.equal((await run('route', ...ns, 'add', '-net', '198.51.100.0', 'netmask', '255.255.255.0', 'dev', 'fip-vif.103', 'metric', '7')).exit, 7);
    await run('route', ...ns, '-n');
    assert.equal(dp.configLog(1).size.commands, 6);
    const show = async () => (await run('ip', '-n', FIP, 'w02', 'route')).stdout + (await run('ifconfig', ...ns, 'fip-vif.103')).stdout.split('\n')[0];
    const before = await show();
    assert.match(before, /198\.51\.100\.0\/24 dev fip-vif\.103 scope link metric 7 \n/);
    assert.match(before, /unreachable 203\.0\.113\.10 scope host \n/);
    assert.match(before, /203\.0\.113\.0\/25 dev fip-vif\.103 proto kernel scope link src 203\.0\.113\.77 \n/);
    assert.doesNotMatch(before, /203\.0\.113\.9/);
    assert.match(before, /fip-vif\.103: flags=\d+<[A-Z,]+>  mtu 1400$/);
    const back = dp.restarted(1);
    await dp.kill(1);
    await back;
    assert.equal(await show(), before);
  } finally {
    await dp.stop();
  }
});
