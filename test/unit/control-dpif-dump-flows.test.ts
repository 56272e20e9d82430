// `dpemu appctl dpif/dump-flows NODE BRIDGE`: the translation cache's entries
// as OVS prints datapath flows, after the write-up's request and reply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { appctl } from '../../src/control/ovs-commands.js';
import { buildFrame } from '../../src/wire/frame.js';
import { openEdges } from '../../src/cli/trace.js';
import type { CommandResponse } from '../../src/control/protocol.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { Engine } from '../../src/datapath/engine.js';
import { registerCollectors } from '../../src/metrics/collectors.js';
import { dpifActions, dpifFlowLine } from '../../src/ofproto/dpif-flow-format.js';
import { NodeDatapath } from '../../src/ofproto/datapath-ports.js';
import { formatTraceFlow, ofprotoTrace } from '../../src/control/ofproto-trace.js';
import { K } from '../../src/ofproto/flow-key.js';
import type { OvsPort } from '../../src/ofproto/ovs-port.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { EV_CROSS, EV_OUTPUT, MAX_IDLE_DEFAULT } from '../../src/ofproto/xlate-cache.js';
import { parseExposition, value } from './metrics-scrape.js';

test('dpif/dump-flows prints each cached translation with its hits and datapath actions', () => {
  const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'));
  emu.engine.fastpath = true;
  openEdges(emu);
  const req = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64 }, udp: { sport: 40000, dport: 53, payload: 64 } });
  const rep = buildFrame({ src: '5c:c9:99:60:d2:71', dst: 'fa:17:3e:f7:cd:bc', vlans: [103], ip: { src: '8.8.8.8', dst: '112.65.210.200', ttl: 60 }, udp: { sport: 53, dport: 40000, payload: 64 } });
  const send = (f: Uint8Array, node: string, port: string) => emu.engine.inject(emu.engine.pool.allocFrom(f)!, emu.findPort(node, port)!);
  send(req, 'w07', 'tap2ab77d0f-99');
  send(rep, 'w02', 'eth3');
  for (let i = 0; i < 3; i++) send(req, 'w07', 'tap2ab77d0f-99');
  (emu.engine.clock as ManualClock).advance(1500);
  const r = appctl.run({ emu, invalidate: () => {} }, ['dpif/dump-flows', 'w02', 'br-ex']) as CommandResponse;
  assert.equal(r.exit, 0);
  const lines = r.stdout.trimEnd().split('\n');
  const line = lines.find((l) => l.includes('in_port(7)'));
  assert.ok(line, r.stdout);
  // From fip-vif.103 (ofport 5, datapath port 7; access port, tag 103) out of the trunk eth3 (1, datapath 6): NORMAL
  // pushes the tag. A megaflow: NORMAL reads the MACs and the VLAN, and in_port, eth_type and IP fragments are always held.
  assert.match(line, /^recirc_id\(0\),in_port\(7\),eth\(src=fa:17:3e:f7:cd:bc,dst=5c:c9:99:60:d2:71\),eth_type\(0x0800\),ipv4\(frag=no\), packets:\d, bytes:\d+, used:1\.500s, actions:push_vlan\(vid=103,pcp=0\),6$/);
  // From qr- (datapath port 2) through br-int into br-tun, one megaflow: committed at the output as commit_odp_actions
  // orders it, the tunnel, then the DVR MAC rewrite; the tag br-int gave it for patch-tun, br-tun strips within the
  // same translation, never reaches the datapath packet. No flow starts at a patch port: br-tun has none of its own.
  const int = appctl.run({ emu, invalidate: () => {} }, ['dpif/dump-flows', 'w07', 'br-int']) as CommandResponse;
  assert.match(int.stdout, /^recirc_id\(0\),in_port\(2\),.*actions:set\(tunnel\(tun_id=0x67,src=10\.206\.107\.238,dst=10\.206\.107\.156,ttl=64,tp_dst=4789,flags\(df\|key\)\)\),set\(eth\(src=fa:16:3f:13:77:c5\)\),5$/m);
  assert.equal((appctl.run({ emu, invalidate: () => {} }, ['dpif/dump-flows', 'w07', 'br-tun']) as CommandResponse).stdout, '');
  // w02 br-tun into br-int (one spanning entry): mod_vlan_vid:20 then strip_vlan before sg- (ofport 74, datapath port 2)
  // is no datapath action.
  const w02 = appctl.run({ emu, invalidate: () => {} }, ['dpif/dump-flows', 'w02', 'br-tun']) as CommandResponse;
  assert.match(w02.stdout, /^recirc_id\(0\),tunnel\(tun_id=0x67,[^ ]*in_port\(4\),.*, actions:set\(eth\(src=fa:16:3e:06:d8:7b\)\),2$/m);
  // dpctl/dump-flows: the node's one datapath holds every bridge's flows.
  const run = (argv: string[]) => (appctl.run({ emu, invalidate: () => {} }, argv) as CommandResponse).stdout;
  const all = run(['dpctl/dump-flows', 'w02']).split('\n').filter(Boolean).sort();
  const perBridge = ['br-ex', 'br-int', 'br-tun'].flatMap((b) => run(['dpif/dump-flows', 'w02', b]).split('\n').filter(Boolean)).sort();
  assert.ok(all.length >= 2, all.join('\n'));
  assert.deepEqual(all, perBridge);
});

test('dpif/dump-flows actions are what ofproto/trace finds for the megaflow\'s own key', () => {
  // Both say which datapath actions OVS would run: the cache's recorded steps, and a dry run of the
  // tables on a packet that has only the bits the megaflow holds (the rest 0), which must translate alike.
  const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'));
  emu.engine.fastpath = true;
  openEdges(emu);
  const send = (f: Uint8Array, node: string, port: string) => emu.engine.inject(emu.engine.pool.allocFrom(f)!, emu.findPort(node, port)!);
  for (let i = 0; i < 3; i++) {
    send(buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64 }, icmp: { type: 8, id: 7, seq: i } }), 'w07', 'tap2ab77d0f-99');
    send(buildFrame({ src: '5c:c9:99:60:d2:71', dst: 'fa:17:3e:f7:cd:bc', vlans: [103], ip: { src: '8.8.8.8', dst: '112.65.210.200', ttl: 60 }, icmp: { type: 0, id: 7, seq: i } }), 'w02', 'eth3');
    send(buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'ff:ff:ff:ff:ff:ff', arp: { op: 1, sha: 'fa:16:3e:b2:ef:af', spa: '192.168.1.7', tha: '00:00:00:00:00:00', tpa: '192.168.1.6' } }), 'w07', 'tap2ab77d0f-99');
    // To a MAC no bridge knows: NORMAL floods it, br-tun's part floods it to the tunnel.
    send(buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:00:00:99', ip: { src: '192.168.1.7', dst: '192.168.1.99', ttl: 64 }, icmp: { type: 8, id: 7, seq: i } }), 'w07', 'tap2ab77d0f-99');
  }
  let compared = 0, slow = 0, floods = 0;
  const bridges = emu.engine.elements.filter((el): el is OvsBridge => el instanceof OvsBridge);
  for (const br of bridges) {
    const dp = new NodeDatapath(bridges.filter((b) => b.node === br.node));
    for (const e of br.xcache?.entries() ?? []) {
      const k = Array.from(e.keyAt(-1));
      if (k[K.DL_TYPE] !== 0x0800 && k[K.DL_TYPE] !== 0x0806) continue;
      if (dpifActions(e, dp).includes('set(arp(')) {
        // The ARP responder's rewrite: OVS installs such a flow as a slow-path one (as OVS 3.1's dump-flows shows it).
        assert.match(dpifFlowLine(e, 0, br, dp), /, actions:userspace\(pid=0,slow_path\(action\)\)$/);
        slow++;
      }
      // A patch output not followed within the entry (its peer's answer back through a patch port) is the peer's own translation there, not here.
      const at = (i: number) => e.stepsAt + 3 * i;
      const steps = Array.from({ length: e.nSteps }, (_, i) => i);
      const crossed = (p: OvsPort) => steps.some((j) => e.code[at(j)] === EV_CROSS && e.refs[2 * j] === p);
      const uncrossed = steps.some((i) => e.code[at(i)] === EV_OUTPUT && (e.refs[2 * i] as OvsPort).type === 'patch' && !crossed(e.refs[2 * i] as OvsPort));
      if (uncrossed) continue;
      // A flood whose patch output crossed within the entry: the peer's actions go where the patch output is.
      const cross = steps.find((j) => e.code[at(j)] === EV_CROSS);
      if (cross !== undefined && steps.filter((j) => j < cross && e.code[at(j)] === EV_OUTPUT).length > 1) floods++;
      const trace = ofprotoTrace(br, formatTraceFlow(Uint32Array.from(k)));
      const want = /^Datapath actions: (.*)$/m.exec(trace)![1];
      assert.equal(dpifActions(e, dp), want, `${br.node} ${br.name} ${dpifFlowLine(e, 0, br, dp)}\n${trace}`);
      compared++;
      if (want.includes('set(arp(')) assert.match(trace, /\nThis flow is handled by the userspace slow path because it:\n {2}- Uses action\(s\) not supported by datapath\.\n$/);
    }
  }
  assert.ok(compared >= 7, `${compared} entries compared`);
  assert.ok(floods >= 1, 'a flood across a patch port');
  assert.ok(slow >= 1, 'the ARP responder entry');
});

test('dump-flows and ofproto/trace spell actions as format_odp_action does: an 802.1ad push_vlan\'s TPID, tos in hex (set and match)', () => {
  const eng = new Engine({ clock: new ManualClock(1000) });
  eng.fastpath = true;
  const br = OvsBridge.create(eng, 'n1', 'br-q');
  for (const n of [1, 2, 3, 4]) {
    br.addOvsPort(`p${n}`, { ofport: n });
    eng.attachEdge(br.portByName(`p${n}`)!.port, { emit: () => {} });
  }
  br.addFlows(`
    table=0,priority=10,in_port=1,actions=push_vlan:0x88a8,mod_vlan_vid:5,output:2
    table=0,priority=10,in_port=3,actions=push_vlan:0x8100,mod_vlan_vid:6,output:2
    table=0,priority=10,in_port=2,actions=mod_nw_tos:16,output:3
    table=0,priority=10,in_port=4,ip,nw_tos=8,actions=output:3
  `);
  for (const port of ['p1', 'p2', 'p3', 'p4']) {
    for (let i = 0; i < 2; i++) {
      const f = buildFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ip: { src: '192.0.2.1', dst: '192.0.2.2', tos: 8 }, udp: { sport: 1, dport: 2, payload: 8 } });
      eng.inject(eng.pool.allocFrom(f)!, br.portByName(port)!.port);
    }
  }
  // Datapath ports: the LOCAL port 1, p1..p4 2..5.
  const dp = new NodeDatapath([br]);
  const acts = [...(br.xcache?.entries() ?? [])].map((e) => dpifActions(e, dp)).sort();
  assert.deepEqual(acts, ['4', 'push_vlan(tpid=0x88a8,vid=5,pcp=0),3', 'push_vlan(vid=6,pcp=0),3', 'set(ipv4(tos=0x10)),4']);
  const lines = [...(br.xcache?.entries() ?? [])].map((e) => dpifFlowLine(e, 1000, br, dp));
  assert.ok(lines.some((l) => l.startsWith('recirc_id(0),in_port(5),eth_type(0x0800),ipv4(tos=0x8/0xfc,frag=no), ')), lines.join('\n'));
  assert.match(ofprotoTrace(br, 'in_port=1,ip'), /^Datapath actions: push_vlan\(tpid=0x88a8,vid=5,pcp=0\),3$/m);
  assert.match(ofprotoTrace(br, 'in_port=3,ip'), /^Datapath actions: push_vlan\(vid=6,pcp=0\),3$/m);
  assert.match(ofprotoTrace(br, 'in_port=2,ip'), /^Datapath actions: set\(ipv4\(tos=0x10\)\),4$/m);
});

test('a tunnel set names tun_id only for a keyed port and src only when set, in dump-flows and ofproto/trace alike', () => {
  const eng = new Engine({ clock: new ManualClock(1000) });
  eng.fastpath = true;
  const br = OvsBridge.create(eng, 'n1', 'br-t');
  br.addOvsPort('p1', { ofport: 1 });
  br.addOvsPort('vx', { ofport: 2, type: 'vxlan', options: { remote_ip: '192.0.2.9' } }); // key 0, no local_ip
  br.addOvsPort('vk', { ofport: 3, type: 'vxlan', options: { remote_ip: '192.0.2.10', local_ip: '192.0.2.1', key: 'flow' } });
  for (const n of ['p1', 'vx', 'vk']) eng.attachEdge(br.portByName(n)!.port, { emit: () => {} });
  br.addFlows(`
    table=0,priority=10,in_port=1,udp,actions=output:2
    table=0,priority=10,in_port=1,tcp,actions=set_field:0x2a->tun_id,output:3
  `);
  for (const l4 of [{ udp: { sport: 1, dport: 2, payload: 8 } }, { tcp: { sport: 1, dport: 2 } }]) {
    for (let i = 0; i < 2; i++) {
      const f = buildFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ip: { src: '192.0.2.1', dst: '192.0.2.2' }, ...l4 } as Parameters<typeof buildFrame>[0]);
      eng.inject(eng.pool.allocFrom(f)!, br.portByName('p1')!.port);
    }
  }
  // Both vxlan ports are the one datapath port vxlan_sys_4789 (3): the tunnel set says where a packet goes.
  const acts = [...(br.xcache?.entries() ?? [])].map((e) => dpifActions(e, new NodeDatapath([br]))).sort();
  assert.deepEqual(acts, [
    'set(tunnel(dst=192.0.2.9,ttl=64,tp_dst=4789,flags(df))),3',
    'set(tunnel(tun_id=0x2a,src=192.0.2.1,dst=192.0.2.10,ttl=64,tp_dst=4789,flags(df|key))),3',
  ]);
  assert.match(ofprotoTrace(br, 'in_port=1,udp'), /^Datapath actions: set\(tunnel\(dst=192\.0\.2\.9,ttl=64,tp_dst=4789,flags\(df\)\)\),3$/m);
});

test('the exporter shows each bridge cache\'s counters: hits + misses = its translations, exactly', async () => {
  const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'));
  emu.engine.fastpath = true;
  openEdges(emu);
  const req = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64 }, udp: { sport: 40001, dport: 53, payload: 8 } });
  const N = 5;
  for (let i = 0; i < N; i++) emu.engine.inject(emu.engine.pool.allocFrom(req)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
  // A flow change that shadows the request on w07 br-int: its entries go, one by one (no flush).
  emu.bridge('w07', 'br-int').addFlow('table=0,priority=20,in_port=41,udp,tp_dst=53,actions=resubmit(,25)');
  const c = registerCollectors({ engine: emu.engine, processMetrics: false });
  c.sync();
  const s = parseExposition(await c.registry.metrics());
  // Every frame br-int received was translated once: a hit or a miss. The request crosses w07 br-int
  // twice (VM port, then qr- port); the first two packets of each key miss (admission). br-tun translates
  // what it gets from br-int within br-int's translations (its datapath flows): its own cache is not asked.
  assert.equal(emu.bridge('w07', 'br-tun').xcache!.hits + emu.bridge('w07', 'br-tun').xcache!.misses, 0);
  assert.ok(emu.engine.stats.sum('port_rx_packets', { node: 'w07', element: 'br-tun' }) >= N);
  for (const element of ['br-int'] as const) {
    const l = { node: 'w07', element };
    const hits = value(s, 'dpemu_fastpath_hits_total', l), misses = value(s, 'dpemu_fastpath_misses_total', l);
    assert.equal(hits + misses, emu.engine.stats.sum('port_rx_packets', l), element);
    assert.ok(hits >= N - 2, element);
    assert.equal(value(s, 'dpemu_fastpath_entries', l), emu.bridge('w07', element).xcache!.count, element);
    assert.equal(value(s, 'dpemu_fastpath_flushes_total', l), 0, element);
  }
  assert.equal(value(s, 'dpemu_fastpath_entries', { node: 'w07', element: 'br-int' }), 1, 'the second pass\'s entry stays');
  assert.equal(value(s, 'dpemu_fastpath_invalidations_total', { node: 'w07', element: 'br-int' }), 1);
});

test('dpif/dump-flows prints an exact 32-bit field without a mask; a flood across a patch port is one flow, as in OVS; an answer back through a patch port names it', () => {
  const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'));
  emu.engine.fastpath = true;
  openEdges(emu);
  const arp = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'ff:ff:ff:ff:ff:ff', arp: { op: 1, sha: 'fa:16:3e:b2:ef:af', spa: '192.168.1.7', tha: '00:00:00:00:00:00', tpa: '192.168.1.6' } });
  for (let i = 0; i < 2; i++) emu.engine.inject(emu.engine.pool.allocFrom(arp)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
  const run = (argv: string[]) => (appctl.run({ emu, invalidate: () => {} }, argv) as CommandResponse).stdout;
  // NORMAL floods the request to qr-, LOCAL and patch-tun; br-tun's part (its ARP responder) is in the same flow.
  // br-int's anti-spoof flow matches arp_spa exactly (format_ipv4 leaves out an all-ones mask), NORMAL's
  // is_gratuitous_arp reads a broadcast's op and a request's addresses, the responder moves sha (and sets tha).
  // Its ARP rewrite makes it a slow-path flow.
  const int = run(['dpif/dump-flows', 'w07', 'br-int']);
  assert.match(int, /^recirc_id\(0\),in_port\(3\),eth\(src=fa:16:3e:b2:ef:af,dst=ff:ff:ff:ff:ff:ff\),eth_type\(0x0806\),arp\(sip=192\.168\.1\.7,tip=192\.168\.1\.6,op=1,sha=fa:16:3e:b2:ef:af,tha=00:00:00:00:00:00\), .*actions:userspace\(pid=0,slow_path\(action\)\)$/m);
  assert.doesNotMatch(int, /\/255\.255\.255\.255|null/);
  // No datapath flow starts at patch-int.
  assert.equal(run(['dpif/dump-flows', 'w07', 'br-tun']), '');
  // The responder's answer, out of patch-int back into br-int, is br-int's own translation (an entry crosses one
  // patch port): a flow named after the patch port, as `dpctl/dump-flows --names` names ports.
  assert.match(int, /^recirc_id\(0\),in_port\(patch-tun\),eth\(src=fa:16:3e:d1:d8:49,dst=fa:16:3e:b2:ef:af\),.*actions:pop_vlan,3$/m);
});

test('a datapath flow not hit for over max-idle (10 s) is deleted, as the revalidators delete it: gone from dump-flows and the cache, its next packet a miss', () => {
  const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'));
  emu.engine.fastpath = true;
  openEdges(emu);
  const clock = emu.engine.clock as ManualClock;
  const req = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64 }, udp: { sport: 40002, dport: 53, payload: 8 } });
  const send = () => emu.engine.inject(emu.engine.pool.allocFrom(req)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
  const run = (argv: string[]) => (appctl.run({ emu, invalidate: () => {} }, argv) as CommandResponse).stdout;
  for (let i = 0; i < 4; i++) send();
  const xc = emu.bridge('w07', 'br-int').xcache!; // made with the first packet
  assert.ok(xc.count >= 1 && xc.hits >= 1);
  // Idle exactly max-idle: kept (revalidate() deletes when used < now - max_idle).
  clock.advance(MAX_IDLE_DEFAULT);
  assert.match(run(['dpif/dump-flows', 'w07', 'br-int']), /, used:10\.000s, /);
  clock.advance(1);
  assert.equal(run(['dpif/dump-flows', 'w07', 'br-int']), '');
  assert.equal(run(['dpctl/dump-flows', 'w07']), '', 'every bridge of the node idle as long');
  assert.equal(xc.count, 0, 'the entries themselves deleted');
  const { hits, misses } = xc;
  send();
  assert.equal(xc.hits, hits);
  assert.ok(xc.misses > misses, 'the next packet takes the slow path');
  // Made by that miss and never hit (used:never): its creation is its last use.
  assert.match(run(['dpif/dump-flows', 'w07', 'br-int']), /, used:never, /);
  clock.advance(6000);
  send(); // a hit: idle from now on
  clock.advance(MAX_IDLE_DEFAULT);
  assert.match(run(['dpif/dump-flows', 'w07', 'br-int']), /, used:10\.000s, /);
  // The periodic sweep (the bridge's tick) deletes without anyone listing.
  clock.advance(1);
  assert.ok(xc.count >= 1);
  emu.engine.tick();
  assert.equal(xc.count, 0);
  assert.equal(emu.engine.stats.sum('fastpath_entries', { node: 'w07', element: 'br-int' }), 0, 'the entries gauge follows');
});
