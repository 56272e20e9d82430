// `dpemu ofctl dump-tables` through the real CLI and control socket: the
// counters a ping moved, -O passed through, a bad bridge refused with exit 1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePackets } from '../../src/cli/packet-flags.js';
import { macDefaults } from '../../src/cli/trace.js';
import { cli, startDaemon, type Daemon } from '../helpers/control.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d.stop();
});

test('dpemu ofctl dump-tables shows the lookups of two echo requests; a bad bridge exits 1 with ovs-ofctl\'s words', async () => {
  const { emu } = d;
  const [p] = parsePackets(['--in', 'w07:tap2ab77d0f-99', '--icmp-echo', '--src', '192.168.1.7', '--dst', '8.8.8.8'], macDefaults(emu));
  for (let i = 0; i < 2; i++) emu.engine.inject(emu.engine.pool.allocFrom(p!.frame)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
  const r = await cli(d.server.path, ['ofctl', 'dump-tables', 'w07', 'br-int', '-O', 'OpenFlow13']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.startsWith('OFPST_TABLE reply (OF1.3) (xid=0x2):\n  table 0:\n'), r.stdout);
  // The VM's port-security tables see each request once.
  assert.match(r.stdout, /\n {2}table 25:\n {4}active=1, lookup=2, matched=2\n/);
  assert.match(r.stdout, /\n {2}table 253: ditto\n$/);
  const bad = await cli(d.server.path, ['ofctl', 'dump-tables', 'w07', 'br-nope']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^ovs-ofctl: br-nope is not a bridge or a socket/);
});
