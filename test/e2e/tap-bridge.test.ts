// Real kernels on both sides of dpemu's TAP I/O, without the DVR path: two
// namespaces, each with a TAP of the emulator as its eth0, joined by one
// emulated Linux bridge. The kernels ARP and ping each other through it, so
// frames cross fs.readSync in one worker, the engine on the main thread, and
// fs.writeSync in another worker.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { Engine } from '../../src/datapath/engine.js';
import { PacketPool } from '../../src/datapath/packet.js';
import { LinuxBridge } from '../../src/l2/linux-bridge.js';
import { TapDevice } from '../../src/io/tap-device.js';
import { TapIo } from '../../src/io/tap-io.js';
import type { TapPortEvent } from '../../src/io/tap-port.js';
import { KernelObjects, run, sh, tryRun, uniqueTag } from './lab-names.js';

const tag = uniqueTag();
const nsA = `dpe-${tag}-a`, nsB = `dpe-${tag}-b`;
const objs = new KernelObjects();
const pool = new PacketPool(1024);
const engine = new Engine({ pool });
const events: TapPortEvent[] = [];
const io = new TapIo({ pool, onEvent: (e) => events.push(e), onError: (e) => { throw e; } });
const br = engine.add(new LinuxBridge('lab', 'br0'));
const p1 = engine.addPort(br, 'p1'), p2 = engine.addPort(br, 'p2');
let tapA: ReturnType<TapIo['attach']>, tapB: ReturnType<TapIo['attach']>;

before(async () => {
  requireRoot('TAP end-to-end tests');
  objs.addNetns(nsA);
  objs.addNetns(nsB);
  const a = await TapDevice.create({ dev: `dpe${tag}a`, mtu: 1500, netns: nsA, ifname: 'eth0', mac: '02:00:0a:00:00:01' });
  const b = await TapDevice.create({ dev: `dpe${tag}b`, mtu: 1500, netns: nsB, ifname: 'eth0', mac: '02:00:0a:00:00:02' });
  sh('ip', ['-n', nsA, 'addr', 'add', '10.77.0.1/24', 'dev', 'eth0']);
  sh('ip', ['-n', nsB, 'addr', 'add', '10.77.0.2/24', 'dev', 'eth0']);
  tapA = io.attach(a, p1);
  tapB = io.attach(b, p2);
  io.start();
  await Promise.all([tapA.ready, tapB.ready]); // workers under tsx take a second or two to start on a loaded box
});

after(async () => {
  try {
    await io.stopAll(500);
  } finally {
    objs.cleanup();
  }
  assert.deepEqual(KernelObjects.leftovers(tag), [], 'every namespace and TAP of the test is gone');
});

test('the TAPs are in their namespaces, named, addressed, with the MTU and MAC asked', () => {
  const out = sh('ip', ['-n', nsA, '-o', 'link', 'show', 'dev', 'eth0']);
  assert.match(out, /mtu 1500/);
  assert.match(out, /02:00:0a:00:00:01/);
  assert.match(out, /state (UP|UNKNOWN)/);
  assert.equal(tryRun('ip', ['link', 'show', 'dev', `dpe${tag}a`]).status, 1, 'renamed away from the root namespace');
});

test('a real ping crosses the emulated bridge both ways', async () => {
  const r = await run('ip', ['netns', 'exec', nsA, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '-n', '10.77.0.2'], 15_000);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /3 packets transmitted, 3 received/);
  const a = tapA.counters(), b = tapB.counters();
  // ARP request + 3 echo requests at least, read from A; their answers written to A.
  assert.ok(a.rx_packets! >= 4 && a.tx_packets! >= 4, JSON.stringify(a));
  assert.ok(b.rx_packets! >= 4 && b.tx_packets! >= 4, JSON.stringify(b));
  assert.equal(a.rx_oversize, 0);
  assert.equal(events.length, 0, JSON.stringify(events.map((e) => e.kind)));
});

test('large frames (MTU 1500, 1472-byte pings) pass whole', async () => {
  const r = await run('ip', ['netns', 'exec', nsB, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '-M', 'do', '-s', '1472', '-n', '10.77.0.1'], 15_000);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /1480 bytes from 10\.77\.0\.1/);
});
