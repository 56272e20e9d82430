// `dpemu appctl dpctl/show NODE` and `fdb/stats-show NODE BRIDGE`: the
// node's datapath as OVS 3.1's show_dpif prints the kernel's, its numbers
// from the translation caches, and NORMAL's MAC table's totals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { appctl } from '../../src/control/ovs-commands.js';
import { ip } from '../../src/control/ip-commands.js';
import { buildFrame } from '../../src/wire/frame.js';
import { openEdges } from '../../src/cli/trace.js';
import type { CommandResponse } from '../../src/control/protocol.js';
import { ControlError } from '../../src/control/protocol.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { fixedC } from '../../src/ofproto/datapath-ports.js';
import { MacLearning } from '../../src/ofproto/fdb.js';
import { QROUTER } from '../helpers/seed-names.js';

function seed(): Emulator {
  const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'));
  emu.engine.fastpath = true;
  openEdges(emu);
  return emu;
}

const run = (emu: Emulator, argv: string[]): string => {
  const r = appctl.run({ emu, invalidate: () => {} }, argv) as CommandResponse;
  assert.equal(r.exit, 0, r.stderr);
  return r.stdout;
};

test('dpctl/show lists the datapath ports by number, as dpif/show numbers them, a vxlan port as its vxlan_sys_4789 vport', () => {
  const emu = seed();
  for (const node of ['w07', 'w02']) {
    const show = run(emu, ['dpctl/show', node]);
    const lines = show.split('\n');
    assert.deepEqual(lines.slice(0, 7), ['system@ovs-system:', '  lookups: hit:0 missed:0 lost:0', '  flows: 0',
      '  masks: hit:0 total:0 hit/pkt:0.00', '  caches:', '    masks-cache: size:256', '  port 0: ovs-system (internal)'], show);
    const ports = [...show.matchAll(/^ {2}port (\d+): (\S+)(?: \(([^)]*)\))?$/gm)].map((m) => ({ n: Number(m[1]), name: m[2]!, type: m[3] }));
    // Every line a port; numbers ascending, each once.
    assert.equal(ports.length, lines.filter((l) => l.startsWith('  port ')).length);
    assert.deepEqual(ports.map((p) => p.n), [...new Set(ports.map((p) => p.n))].sort((a, b) => a - b));
    // dpif/show's datapath numbers: each non-patch port's, its type (internal or none for a system port).
    const dpif = [...run(emu, ['dpif/show', node]).matchAll(/^ {4}(\S+) \d+\/(\d+): \((\w[\w-]*)/gm)];
    assert.ok(dpif.length > 3);
    for (const [, name, odp, type] of dpif) {
      if (type === 'patch') continue;
      const p = ports.find((x) => x.n === Number(odp));
      assert.ok(p, `${node} ${name} ${odp}`);
      if (type === 'vxlan') assert.deepEqual(p, { n: Number(odp), name: 'vxlan_sys_4789', type: 'vxlan: packet_type=ptap' });
      else assert.deepEqual(p, { n: Number(odp), name, type: type === 'internal' ? 'internal' : undefined }, node);
    }
    assert.equal(ports.length, 1 + new Set(dpif.filter((m) => m[3] !== 'patch').map((m) => m[2])).size);
  }
});

test("dpctl/show's lookups, flows and masks are the caches': misses, hits by probing the masks, hits from the memo", () => {
  const emu = seed();
  // The router takes nothing: only the VM's packets enter w07's datapath.
  assert.equal((ip.run({ emu, invalidate: () => {} }, ['-n', QROUTER, 'w07', 'link', 'set', 'qr-178fc8e2-fd', 'down']) as CommandResponse).exit, 0);
  const req = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64 }, udp: { sport: 40000, dport: 53, payload: 64 } });
  const send = () => emu.engine.inject(emu.engine.pool.allocFrom(req)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
  // br-int: the first translation learned the VM's MAC as it ran, so it is not kept (a miss, no flow); NORMAL floods
  // the unknown MAC, across patch-tun too, where br-tun goes on within the same translation (no lookup of its own).
  send();
  let show = run(emu, ['dpctl/show', 'w07']);
  assert.match(show, /^ {2}lookups: hit:0 missed:1 lost:0\n {2}flows: 0\n {2}masks: hit:0 total:0 hit\/pkt:0\.00\n {2}caches:\n/m, show);
  // Second: br-int misses and keeps its flow, br-tun's part in it. Third: br-int finds it by probing its one mask.
  // Fourth: its per-port memo answers (the kernel's mask cache: one mask, a cache hit).
  for (let i = 0; i < 3; i++) send();
  show = run(emu, ['dpctl/show', 'w07']);
  assert.match(show, /^ {2}lookups: hit:2 missed:2 lost:0\n {2}flows: 1\n {2}masks: hit:2 total:1 hit\/pkt:0\.50\n {2}cache: hit:1 hit-rate:25\.00%\n {2}caches:\n/m, show);
  assert.equal(run(emu, ['dpctl/dump-flows', 'w07']).split('\n').filter(Boolean).length, 1);
  const caches = emu.engine.elements.filter((e): e is OvsBridge => e instanceof OvsBridge && e.node === 'w07').map((b) => b.xcache!);
  assert.deepEqual([caches.reduce((n, c) => n + c.hits, 0), caches.reduce((n, c) => n + c.misses, 0)], [2, 2]);
  // Idle past max-idle: the flows and their masks are gone, the counts stay.
  (emu.engine.clock as ManualClock).advance(10_001);
  show = run(emu, ['dpctl/show', 'w07']);
  assert.match(show, /^ {2}lookups: hit:2 missed:2 lost:0\n {2}flows: 0\n {2}masks: hit:2 total:0 hit\/pkt:0\.50\n {2}cache: hit:1 hit-rate:25\.00%\n/m, show);
  // -s: each port's counters, as dump-ports counts them; the VM's port received the four.
  const s = run(emu, ['dpctl/show', '-s', 'w07']);
  assert.match(s, /^ {2}port \d+: qvo2ab77d0f-99\n {4}RX packets:4 errors:0 dropped:0 overruns:0 frame:0\n {4}TX packets:0 errors:0 dropped:0 aborted:0 carrier:0\n {4}collisions:0\n {4}RX bytes:424  TX bytes:0\n/m, s);
  assert.equal(run(emu, ['dpctl/show', '--statistics', 'w07', 'system@ovs-system']), s);
  assert.throws(() => run(emu, ['dpctl/show', '-x', 'w07']), (e: unknown) => e instanceof ControlError && e.message.startsWith('Unrecognized option -x'));
  assert.throws(() => run(emu, ['dpctl/show', 'w07', 'system@nope']), { message: /opening datapath system@nope failed \(No such device\)/ });
});

test("printf's %.2f and %.1f: an exact tie rounds to even, as glibc does, toFixed up", () => {
  assert.equal(fixedC(0.125, 2), '0.12');
  assert.equal(fixedC(0.375, 2), '0.38');
  assert.equal(fixedC(2 / 3, 2), '0.67');
  assert.equal(fixedC(1.25, 1), '1.2');
  assert.equal(fixedC(1.75, 1), '1.8');
  assert.equal(fixedC(0, 2), '0.00');
});

test('fdb/stats-show counts learned, moved, evicted and expired MAC entries as mac-learning.c does', () => {
  const fdb = new MacLearning(300, 3);
  const now = 1000;
  assert.equal(fdb.learn(0x0200, 1, 0, 1, now), true);
  assert.equal(fdb.learn(0x0200, 1, 0, 1, now + 1), false); // a refresh
  assert.equal(fdb.learn(0x0200, 1, 0, 2, now + 1), true); // moved
  fdb.learn(0x0200, 2, 0, 2, now);
  fdb.learn(0x0200, 3, 0, 3, now);
  fdb.learn(0x0200, 4, 0, 3, now); // full: port 2's least recently used goes
  assert.equal(fdb.learn(0x0300, 1, 0, 3, now), false); // multicast: never learned
  assert.equal(fdb.statsShow('br-x', now + 2), [
    'Statistics for bridge "br-x":',
    '  Current/maximum MAC entries in the table: 3/3',
    '  Current static MAC entries in the table : 0',
    '  Total number of learned MAC entries     : 4',
    '  Total number of expired MAC entries     : 0',
    '  Total number of evicted MAC entries     : 1',
    '  Total number of port moved MAC entries  : 1',
    ''].join('\n'));
  // Expired: at the lookup that finds it so, or when listed; a flush counts nothing.
  assert.equal(fdb.lookup(0x0200, 2, 0, now + 300), null);
  assert.match(fdb.statsShow('br-x', now + 302), /MAC entries in the table: 0\/3\n[^]*expired MAC entries {5}: 3\n/);
  fdb.learn(0x0200, 9, 0, 1, now + 302);
  fdb.flush();
  assert.match(fdb.statsShow('br-x', now + 302), /in the table: 0\/3\n[^]*learned MAC entries {5}: 5\n {2}Total number of expired MAC entries {5}: 3\n/);
});

test('appctl fdb/stats-show NODE BRIDGE: the bridge\'s table after NORMAL learned; refused as ovs-vswitchd refuses', () => {
  const emu = seed();
  const req = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64 }, udp: { sport: 40000, dport: 53, payload: 64 } });
  emu.engine.inject(emu.engine.pool.allocFrom(req)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
  const out = run(emu, ['fdb/stats-show', 'w07', 'br-int']);
  const n = run(emu, ['fdb/show', 'w07', 'br-int']).split('\n').filter(Boolean).length - 1;
  assert.ok(n >= 1);
  assert.match(out, new RegExp(`^Statistics for bridge "br-int":\\n {2}Current/maximum MAC entries in the table: ${n}/8192\\n`));
  assert.match(out, new RegExp(`learned MAC entries {5}: ${n}\\n`));
  assert.throws(() => run(emu, ['fdb/stats-show', 'w07']), { message: /^"fdb\/stats-show" command requires at least 1 arguments\n/ });
  assert.throws(() => run(emu, ['fdb/stats-show', 'w07', 'br-nope']), { message: /^no such bridge\n/ });
  assert.throws(() => run(emu, ['fdb/stats-show', 'w07', 'br-int', 'x']), { message: /^"fdb\/stats-show" command takes at most 1 arguments\n/ });
});
