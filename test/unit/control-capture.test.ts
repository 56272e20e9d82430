// A capture that cannot keep up drops and counts; forwarding goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { loadTopologyFile } from '../../src/topology/loader.js';
import { buildEmulator } from '../../src/topology/builder.js';
import { openEdges } from '../../src/cli/trace.js';
import { parsePackets } from '../../src/cli/packet-flags.js';
import { macDefaults } from '../../src/cli/trace.js';
import { Capture, type CapturedFrame } from '../../src/control/capture.js';
import { compileFilter } from '../../src/control/capture-filter.js';

function seed() {
  const l = loadTopologyFile('configs/seed-dvr-snat.yaml');
  assert.ok(l.ok);
  const emu = buildEmulator(l.topology, { emulateHosts: true });
  openEdges(emu);
  const [p] = parsePackets(['--in', 'w07:tap2ab77d0f-99', '--icmp-echo', '--src', '192.168.1.7', '--dst', '8.8.8.8'], macDefaults(emu));
  const ping = () => emu.engine.inject(emu.engine.pool.allocFrom(p!.frame)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
  const tx = () => emu.engine.stats.sum('port_tx_packets', { node: 'w07', port: 'eth2' });
  return { emu, ping, tx };
}

test('a congested reader: frames are dropped and counted, forwarding goes on', async () => {
  const { emu, ping, tx } = seed();
  const port = emu.findPort('w07', 'eth2')!;
  const got: CapturedFrame[] = [];
  const c = new Capture(port, compileFilter('udp'), { congested: () => true }, (f) => got.push(...f), () => {});
  for (let i = 0; i < 5; i++) ping();
  await tick();
  assert.equal(tx(), 5, 'every echo request still left w07');
  assert.equal(c.dropped, 5);
  assert.equal(got.length, 0);
  c.stop();
  await tick();
  assert.equal(port.taps.length, 0, 'the tap is gone once stopped');
});

test('a full queue drops the surplus; -c stops after N without skipping a neighbour tap', async () => {
  const { emu, ping } = seed();
  const port = emu.findPort('w07', 'eth2')!;
  const a: CapturedFrame[] = [], b: CapturedFrame[] = [];
  let doneA = false;
  const ca = new Capture(port, compileFilter(''), { count: 1 }, (f) => a.push(...f), () => (doneA = true));
  const cb = new Capture(port, compileFilter('udp port 4789'), { maxQueue: 2 }, (f) => b.push(...f), () => {});
  for (let i = 0; i < 3; i++) ping(); // one synchronous burst: b's queue holds 2
  await tick();
  await tick();
  assert.equal(a.length, 1);
  assert.ok(doneA);
  assert.equal(b.length, 2);
  assert.equal(cb.dropped, 1);
  assert.equal(a[0]!.len, 192);
  assert.equal(a[0]!.dir, 'out');
  cb.stop();
  await tick();
  assert.equal(port.taps.length, 0);
  void ca;
});
