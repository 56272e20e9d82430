// `dpemu vsctl set|remove|clear|add` changes what the data path does, as
// ovs-vswitchd reconfigures from the database: max-idle deletes idle
// datapath flows (the translation cache's entries) on its new time, and a
// Port's new tag takes the port to its new VLAN at once: its MACs are
// forgotten and no cached translation through it is used again. (The text
// and errors are held to ovs-vsctl 3.1 in test/e2e/ovs-vsctl-db-oracle.test.ts;
// mac-table-size and mac-aging-time to ovs-vswitchd in test/e2e/ovs-oracle.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { appctl, vsctl } from '../../src/control/ovs-commands.js';
import { buildFrame } from '../../src/wire/frame.js';
import { openEdges } from '../../src/cli/trace.js';
import type { CommandResponse } from '../../src/control/protocol.js';
import type { ManualClock } from '../../src/datapath/clock.js';
import { MAX_IDLE_DEFAULT } from '../../src/ofproto/xlate-cache.js';

const VM = 'tap2ab77d0f-99';
const QVO = 'qvo2ab77d0f-99';

function lab(): { emu: Emulator; clock: ManualClock; send: () => void; run: (family: typeof appctl, argv: string[]) => string } {
  const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'));
  emu.engine.fastpath = true;
  openEdges(emu);
  const req = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64 }, udp: { sport: 40002, dport: 53, payload: 8 } });
  const send = () => emu.engine.inject(emu.engine.pool.allocFrom(req)!, emu.findPort('w07', VM)!);
  const run = (family: typeof appctl, argv: string[]): string => {
    const r = family.run({ emu, invalidate: () => {} }, argv) as CommandResponse;
    assert.equal(r.exit, 0, `${family.name} ${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  return { emu, clock: emu.engine.clock as ManualClock, send, run };
}

test('other_config:max-idle=2000 deletes a datapath flow idle over 2 s; removing the key brings back 10 s', () => {
  const { emu, clock, send, run } = lab();
  // Before the first packet (no cache yet) and on every bridge of the node: ofproto_max_idle is ovs-vswitchd's.
  run(vsctl, ['set', 'w07', 'Open_vSwitch', '.', 'other_config:max-idle=2000']);
  for (let i = 0; i < 3; i++) send();
  const xc = emu.bridge('w07', 'br-int').xcache!;
  assert.ok(xc.count >= 1 && xc.hits >= 1);
  clock.advance(2000);
  assert.match(run(appctl, ['dpif/dump-flows', 'w07', 'br-int']), /, used:2\.000s, /);
  clock.advance(1);
  assert.equal(run(appctl, ['dpctl/dump-flows', 'w07']), '', 'every bridge of the node');
  // The revalidators' sweep (the bridges' tick) deletes them too, without a listing.
  send();
  clock.advance(2001);
  assert.ok(xc.count >= 1);
  emu.engine.tick();
  assert.equal(xc.count, 0);
  assert.equal(run(vsctl, ['get', 'w07', 'Open_vSwitch', '.', 'other_config']), '{max-idle="2000"}\n');
  // Without the key, the default again (a cache that exists takes it too).
  run(vsctl, ['remove', 'w07', 'Open_vSwitch', '.', 'other_config', 'max-idle']);
  send();
  send(); // a hit: idle from now on
  clock.advance(MAX_IDLE_DEFAULT);
  emu.engine.tick();
  assert.match(run(appctl, ['dpif/dump-flows', 'w07', 'br-int']), /, used:10\.000s, /);
  clock.advance(1);
  assert.equal(run(appctl, ['dpif/dump-flows', 'w07', 'br-int']), '');
  // A value that is no number is no value: the default.
  run(vsctl, ['set', 'w07', 'Open_vSwitch', '.', 'other_config:max-idle=soon']);
  assert.equal(xc.maxIdle, MAX_IDLE_DEFAULT);
});

test("a Port's new tag applies at once: its MACs forgotten, the cached translations through it gone, the next packet on the new VLAN", () => {
  const { emu, send, run } = lab();
  const br = emu.bridge('w07', 'br-int');
  const ofport = br.portByName(QVO)!.ofport;
  for (let i = 0; i < 3; i++) send();
  const xc = br.xcache!;
  const fdb = (): string[] => run(appctl, ['fdb/show', 'w07', 'br-int']).split('\n').slice(1).filter((l) => l.trim().startsWith(`${ofport} `));
  assert.deepEqual(fdb().map((l) => l.trim().split(/\s+/).slice(0, 3).join(' ')), [`${ofport} 10 fa:16:3e:b2:ef:af`]);
  // The router's port is on the VM's VLAN (10): the frame goes there, one port of br-int.
  const flows = (): string => run(appctl, ['dpif/dump-flows', 'w07', 'br-int']);
  const before = flows();
  assert.match(before, /^recirc_id\(0\),in_port\(\d+\),eth\(src=fa:16:3e:b2:ef:af,dst=fa:16:3e:06:d8:7b\),eth_type\(0x0800\),ipv4\(frag=no\), .*actions:\d+$/m);
  const { hits, misses } = xc;
  // Setting the tag it has changes nothing.
  run(vsctl, ['set', 'w07', 'Port', QVO, 'tag=10']);
  assert.equal(fdb().length, 1);
  assert.equal(flows(), before);
  run(vsctl, ['set', 'w07', 'Port', QVO, 'tag=11']);
  assert.equal(run(vsctl, ['get', 'w07', 'Port', QVO, 'tag']), '11\n');
  assert.match(run(vsctl, ['show', 'w07']), new RegExp(`Port "?${QVO}"?\\n +tag: 11\\n`));
  assert.deepEqual(fdb(), [], 'bundle_flush_macs');
  assert.ok(!flows().includes('src=fa:16:3e:b2:ef:af'), 'the translations through the port went');
  send();
  assert.equal(xc.hits, hits, 'no stale translation served');
  assert.ok(xc.misses > misses);
  assert.deepEqual(fdb().map((l) => l.trim().split(/\s+/).slice(0, 3).join(' ')), [`${ofport} 11 fa:16:3e:b2:ef:af`]);
  // VLAN 11 has no router port here: the frame floods, to LOCAL (tagged) and into br-tun on VLAN 11, which drops it,
  // within the one datapath flow (none starts at patch-int: in OVS none can). The first packet learned as it ran
  // (not kept): the second's flow.
  send();
  const all = run(appctl, ['dpctl/dump-flows', 'w07']);
  assert.match(all, /^recirc_id\(0\),in_port\(\d+\),eth\(src=fa:16:3e:b2:ef:af,dst=fa:16:3e:06:d8:7b\),eth_type\(0x0800\),ipv4\(frag=no\), .*actions:push_vlan\(vid=11,pcp=0\),1$/m);
  assert.doesNotMatch(all, /in_port\(patch-/);
  // Cleared: no tag, a trunk port (VLAN 0 for an untagged frame).
  run(vsctl, ['clear', 'w07', 'Port', QVO, 'tag']);
  send();
  assert.deepEqual(fdb().map((l) => l.trim().split(/\s+/).slice(0, 3).join(' ')), [`${ofport} 0 fa:16:3e:b2:ef:af`]);
});

test("a flood cached before a Port's tag changed is translated again: the port leaves the old VLAN's floods", () => {
  const { emu, run } = lab();
  const br = emu.bridge('w07', 'br-int');
  const qr = br.portList.find((p) => p.name.startsWith('qr-'))!;
  // A broadcast from the router's port (access, tag 10, the VM's VLAN), NORMAL floods it: to the VM too.
  const bcast = buildFrame({ src: 'fa:16:3e:06:d8:7b', dst: 'ff:ff:ff:ff:ff:ff', ip: { src: '192.168.1.1', dst: '192.168.1.255', ttl: 64 }, udp: { sport: 138, dport: 138, payload: 8 } });
  const send = () => emu.engine.inject(emu.engine.pool.allocFrom(bcast)!, qr.port);
  send();
  send();
  const xc = br.xcache!;
  const dp = run(appctl, ['dpif/show', 'w07']);
  const odp = (name: string): string => new RegExp(`^ +${name} \\d+/(\\d+):`, 'm').exec(dp)![1]!;
  const line = (): string => run(appctl, ['dpif/dump-flows', 'w07', 'br-int']).split('\n').find((l) => l.includes(`in_port(${odp(qr.name)})`) && l.includes('dst=ff:ff:ff:ff:ff:ff'))!;
  const actions = (): string[] => line().split('actions:')[1]!.split(',');
  assert.ok(actions().includes(odp(QVO)), line());
  const { hits, misses } = xc;
  run(vsctl, ['set', 'w07', 'Port', QVO, 'tag=11']);
  send();
  assert.equal(xc.hits, hits, 'the flood through the retagged port was not served again');
  assert.equal(xc.misses, misses + 1);
  assert.ok(!actions().includes(odp(QVO)), line());
});
