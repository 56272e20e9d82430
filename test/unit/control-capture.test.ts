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
import { startCapture } from '../../src/control/backend.js';
import { Tcpdump } from '../../src/wire/tcpdump.js';

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

// The kernel's taps see a frame for a VLAN sub-interface on both devices (__netif_receive_skb_core,
// then vlan_do_receive; sent: the VLAN device, then its parent). No 8021q module on the test machines
// here, so this follows the kernel's source, not a live comparison.
test('-i any: a tagged frame shows on the trunk and on its VLAN sub-interface, once per tap; -c counts both', async () => {
  const l = loadTopologyFile('configs/lab-dvr-snat.yaml');
  assert.ok(l.ok);
  const emu = buildEmulator(l.topology, { emulateHosts: true });
  openEdges(emu);
  const got: CapturedFrame[] = [];
  let done = false;
  const h = startCapture({ emu }, 'tor:tor:any', '', { count: 4, defer: (fn) => fn() }, (f) => got.push(...f), () => (done = true));
  const [p] = parsePackets(['--in', 'w07:tap2ab77d0f-99', '--src-mac', 'fa:16:3e:b2:ef:af', '--dst-mac', 'fa:16:3e:06:d8:7b', '--icmp-echo', '--src', '192.168.1.7', '--dst', '8.8.8.8'], macDefaults(emu));
  emu.engine.inject(emu.engine.pool.allocFrom(p!.frame)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
  const names = new Map(h.source.ifnames);
  const td = new Tcpdump({ cooked: { ifname: (i) => names.get(i) } });
  const lines = got.map((f) => td.format(f.data, 0, f.data.length, f.len).split(': ')[0]!);
  // Tagged 103 for swp1.103's MAC: another host's on swp1 (P), this host's on swp1.103 (In); the ARP it sends, the other way round.
  assert.deepEqual(lines, [
    'swp1  P   ifindex 2 fa:17:3e:f7:cd:bc ethertype IPv4 (0x0800), length 148',
    'swp1.103 In  ifindex 4 fa:17:3e:f7:cd:bc ethertype IPv4 (0x0800), length 148',
    'swp1.103 Out ifindex 4 5c:c9:99:60:d2:71 ethertype ARP (0x0806), length 48',
    'swp1  Out ifindex 2 5c:c9:99:60:d2:71 ethertype ARP (0x0806), length 48',
  ]);
  assert.ok(done);
  for (const port of [emu.findPort('tor', 'swp1')!, emu.findPort('tor', 'swp2')!]) assert.equal(port.taps.length, 0, 'the taps are gone after -c');
});
