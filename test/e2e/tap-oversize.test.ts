// Frames longer than the read buffer are never passed on cut short: the
// kernel truncates silently on a TAP without packet info (measured: a 1042-byte
// frame read into 200 bytes returns 200), so a read that fills the buffer is
// dropped and counted as oversize. Here the buffer takes 600-byte frames.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { Engine } from '../../src/datapath/engine.js';
import { PacketPool } from '../../src/datapath/packet.js';
import { LinuxBridge } from '../../src/l2/linux-bridge.js';
import { TapDevice } from '../../src/io/tap-device.js';
import { TapIo } from '../../src/io/tap-io.js';
import type { TapPort } from '../../src/io/tap-port.js';
import { KernelObjects, run, sh, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const nsA = `dpe-${tag}-a`, nsB = `dpe-${tag}-b`;
const objs = new KernelObjects();
const pool = new PacketPool(512);
const engine = new Engine({ pool });
const io = new TapIo({ pool, maxFrame: 600 });
const br = engine.add(new LinuxBridge('lab', 'br0'));
let tapA: TapPort;

before(async () => {
  requireRoot('TAP end-to-end tests');
  objs.addNetns(nsA);
  objs.addNetns(nsB);
  const a = await TapDevice.create({ dev: `dpe${tag}a`, mtu: 1500, netns: nsA, ifname: 'eth0' });
  const b = await TapDevice.create({ dev: `dpe${tag}b`, mtu: 1500, netns: nsB, ifname: 'eth0' });
  sh('ip', ['-n', nsA, 'addr', 'add', '10.76.0.1/24', 'dev', 'eth0']);
  sh('ip', ['-n', nsB, 'addr', 'add', '10.76.0.2/24', 'dev', 'eth0']);
  tapA = io.attach(a, engine.addPort(br, 'p1'));
  const tapB = io.attach(b, engine.addPort(br, 'p2'));
  io.start();
  await Promise.all([tapA.ready, tapB.ready]);
});

after(async () => {
  try {
    await io.stopAll(300);
  } finally {
    objs.cleanup();
  }
  assert.deepEqual(KernelObjects.leftovers(tag), []);
  assert.equal(pool.available, pool.slots, 'every slot came back to the pool');
});

test('frames up to the buffer pass; longer ones are dropped and counted, never cut', async () => {
  const small = await run('ip', ['netns', 'exec', nsA, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '-s', '500', '-n', '10.76.0.2'], 10_000);
  assert.equal(small.status, 0, small.out);
  const before = tapA.counters().rx_oversize!;
  const big = await run('ip', ['netns', 'exec', nsA, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '-s', '1000', '-n', '10.76.0.2'], 10_000);
  assert.notEqual(big.status, 0, 'a 1042-byte frame must not arrive (cut or whole)');
  assert.equal(tapA.counters().rx_oversize! - before, 2, JSON.stringify(tapA.counters()));
});
