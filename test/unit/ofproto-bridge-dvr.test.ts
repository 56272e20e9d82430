// br-int and br-tun as Neutron's OVS agent programs them (reference sections
// 4-5) and the SCENARIO rows they carry: learn() in br-tun table 10, the patch
// crossing, the DVR MAC rewrite on the way out and restore on the way in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rig, seen, icmp, MAC, type Rig } from './ofproto-bridge-fixtures.js';
import { Tracer } from '../../src/datapath/trace.js';
import type { OvsBridge } from '../../src/ofproto/bridge.js';

const LEARN =
  'table=10, priority=1 actions=learn(table=20,hard_timeout=300,priority=1,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[]),output:"patch-int"';

/** The reference's example br-tun (section 0 topology) on compute1, without DVR. */
function brTunCompute1(r: Rig) {
  const tun = r.bridge('br-tun', { failMode: 'secure' });
  const patch = tun.addOvsPort('patch-int', { ofport: 1, type: 'patch', options: { peer: 'patch-tun' } });
  const vx = tun.addOvsPort('vxlan-0a000015', { ofport: 2, type: 'vxlan', options: { local_ip: '10.0.0.11', remote_ip: '10.0.0.21', in_key: 'flow', out_key: 'flow', df_default: 'true' } });
  const vx2 = tun.addOvsPort('vxlan-0a000016', { ofport: 3, type: 'vxlan', options: { local_ip: '10.0.0.11', remote_ip: '10.0.0.22', in_key: 'flow', out_key: 'flow' } });
  tun.addFlows(`
    table=0, priority=1,in_port="vxlan-0a000015" actions=resubmit(,4)
    table=0, priority=1,in_port="vxlan-0a000016" actions=resubmit(,4)
    table=4, priority=1,tun_id=0x3e9 actions=mod_vlan_vid:1,resubmit(,10)
    ${LEARN}
  `);
  return { tun, patch, vx, vx2, sPatch: r.sink(patch) };
}

test('learn() in br-tun table 10 installs exactly the reference table-20 flow', () => {
  const r = rig(5000);
  const { tun, vx, sPatch } = brTunCompute1(r);
  r.send(vx, icmp('fa:16:3e:00:01:03', 'fa:16:3e:00:01:10', { ipSrc: '192.168.1.3', ipDst: '192.168.1.10' }), { tunId: 0x3e9 });
  assert.deepEqual(tun.dumpFlows({ names: true, noStats: true, filter: 'table=20' }), [
    ' table=20, hard_timeout=300, priority=1,vlan_tci=0x0001/0x0fff,dl_dst=fa:16:3e:00:01:03 actions=load:0->NXM_OF_VLAN_TCI[],load:0x3e9->NXM_NX_TUN_ID[],output:"vxlan-0a000015"',
  ]);
  assert.match(seen(sPatch)[0]!, /^fa:16:3e:00:01:03 > fa:16:3e:00:01:10, ethertype 802\.1Q \(0x8100\), length 146: vlan 1, p 0,/);
});

test('the learned flow sends return traffic back into the tunnel it was learned from, untagged, with the VNI', () => {
  const r = rig();
  const { tun, vx, patch } = brTunCompute1(r);
  tun.addFlow('table=0, priority=1,in_port="patch-int" actions=resubmit(,20)');
  const sVx = r.sink(vx);
  r.send(vx, icmp('fa:16:3e:00:01:03', 'fa:16:3e:00:01:10'), { tunId: 0x3e9 });
  r.send(patch, icmp('fa:16:3e:00:01:10', 'fa:16:3e:00:01:03', { vlans: [1] }));
  assert.equal(sVx.frames.length, 1);
  assert.equal(sVx.frames[0]!.tunId, 0x3e9);
  assert.match(seen(sVx)[0]!, /^fa:16:3e:00:01:10 > fa:16:3e:00:01:03, ethertype IPv4 \(0x0800\), length 142/);
});

test('learning again refreshes the hard timeout (modified), a MAC moving tunnels modifies the flow', () => {
  const r = rig();
  const { tun, vx, vx2 } = brTunCompute1(r);
  const frame = icmp('fa:16:3e:00:01:03', 'fa:16:3e:00:01:10');
  r.send(vx, frame, { tunId: 0x3e9 });
  r.advance(200_000);
  r.send(vx, frame, { tunId: 0x3e9 });
  r.advance(200_000); // 400 s after creation, 200 s after the refresh
  const [f] = tun.findFlows('table=20');
  assert.ok(f, 'refreshed: still there');
  assert.match(tun.dumpFlows({ filter: 'table=20' })[0]!, /duration=400s, table=20, .* hard_timeout=300, idle_age=400, hard_age=200, /);
  r.send(vx2, frame, { tunId: 0x3e9 });
  assert.equal(tun.findFlows('table=20').length, 1);
  assert.match(tun.dumpFlows({ filter: 'table=20', noStats: true })[0]!, /output:3$/);
  r.advance(300_001);
  assert.equal(tun.findFlows('table=20').length, 0, 'gone 300 s after the last learn');
});

/** w07 of SCENARIO.md: br-int (secure, NORMAL at the end) and br-tun with the DVR rewrite. */
function w07(r: Rig) {
  const int = r.bridge('br-int', { failMode: 'secure' }, 'w07');
  const tun = r.bridge('br-tun', { failMode: 'secure' }, 'w07');
  const patchTun = int.addOvsPort('patch-tun', { ofport: 1, type: 'patch', options: { peer: 'patch-int' } });
  const qr = int.addOvsPort('qr-178fc8e2-fd', { ofport: 40, type: 'internal', tag: 10 });
  const qvo = int.addOvsPort('qvo2ab77d0f-99', { ofport: 41, tag: 10 });
  const patchInt = tun.addOvsPort('patch-int', { ofport: 1, type: 'patch', options: { peer: 'patch-tun' } });
  const vx = tun.addOvsPort('vxlan-0ace6b9c', { ofport: 5, type: 'vxlan', options: { local_ip: '10.206.107.238', remote_ip: '10.206.107.156', in_key: 'flow', out_key: 'flow', df_default: 'true' } });
  int.addFlows(`
    table=0, priority=65535,dl_vlan=4095 actions=drop
    table=0, priority=0 actions=resubmit(,60)
    table=60, priority=3 actions=NORMAL
  `);
  tun.addFlows(`
    table=0, priority=1,in_port="patch-int" actions=resubmit(,1)
    table=0, priority=1,in_port="vxlan-0ace6b9c" actions=resubmit(,4)
    table=0, priority=0 actions=drop
    table=1, priority=2,dl_vlan=10,dl_dst=${MAC.qr} actions=drop
    table=1, priority=1,dl_vlan=10,dl_src=${MAC.qr} actions=mod_dl_src:${MAC.dvr07},resubmit(,2)
    table=1, priority=0 actions=resubmit(,2)
    table=2, priority=0,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00 actions=resubmit(,20)
    table=2, priority=0,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=resubmit(,22)
    table=20, priority=2,dl_vlan=10,dl_dst=${MAC.sg} actions=strip_vlan,load:0x67->NXM_NX_TUN_ID[],output:"vxlan-0ace6b9c"
    table=20, priority=0 actions=resubmit(,22)
    table=22, priority=3,arp,dl_vlan=10,arp_tpa=192.168.1.1 actions=drop
    table=22, priority=1,dl_vlan=10 actions=strip_vlan,load:0x67->NXM_NX_TUN_ID[],output:"vxlan-0ace6b9c"
  `);
  return { int, tun, qr, qvo, patchTun, patchInt, vx, sQr: r.sink(qr), sQvo: r.sink(qvo), sVx: r.sink(vx) };
}

test('patch ports are linked when both ends exist, in either order', () => {
  const r = rig();
  const { patchTun, patchInt } = w07(r);
  assert.equal(patchTun.port.peer, patchInt.port);
  assert.equal(patchTun.port.linkKind, 'patch');
});

test('SCENARIO rows 4-7 on w07: VM to qr through br-int, then qr to the sg- MAC out of the tunnel with the DVR MAC', () => {
  const r = rig();
  const w = w07(r);
  // The qr- port announces itself (gratuitous ARP): br-int learns it; br-tun keeps the gateway ARP home.
  r.send(w.qr, { src: MAC.qr, dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: MAC.qr, spa: '192.168.1.1', tpa: '192.168.1.1' } });
  assert.equal(w.sVx.frames.length, 0, 'table 22 priority 3 drops ARP for the gateway IP');
  seen(w.sQvo);
  // Row 1-4: the VM's echo request reaches the qr- port untagged, unchanged.
  r.send(w.qvo, icmp(MAC.vm, MAC.qr));
  assert.deepEqual(seen(w.sQr), [
    'fa:16:3e:b2:ef:af > fa:16:3e:06:d8:7b, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108',
  ]);
  assert.equal(w.sVx.frames.length, 0);
  // Row 5-7: the router forwards it to the sg- MAC (TTL 63); br-tun rewrites the source to w07's DVR MAC.
  r.send(w.qr, icmp(MAC.qr, MAC.sg, { ttl: 63 }));
  assert.equal(w.sVx.frames.length, 1);
  assert.equal(w.sVx.frames[0]!.tunId, 103);
  assert.deepEqual(seen(w.sVx), [
    'fa:16:3f:13:77:c5 > fa:16:3e:d1:d8:49, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108',
  ]);
  // Row 4's fdb; qr- was seen again within the same second, which OVS does not count as a refresh.
  assert.equal(w.int.fdbShow(), ' port  VLAN  MAC                Age\n   40    10  fa:16:3e:06:d8:7b    0\n   41    10  fa:16:3e:b2:ef:af    0\n');
  const f = w.tun.findFlows(`table=1,priority=1,dl_vlan=10,dl_src=${MAC.qr}`, { strict: true })[0]!;
  assert.equal(f.nPackets, 2, 'the gratuitous ARP and the echo request');
  assert.equal(r.e.pool.available, r.e.pool.slots);
});

test('the reply from the tunnel: unknown to br-tun table 0 without a VNI flow is dropped by table 4 miss', () => {
  const r = rig();
  const w = w07(r);
  r.send(w.vx, icmp(MAC.sg, MAC.vm), { tunId: 103 });
  assert.equal(w.sQvo.frames.length, 0);
  assert.equal(r.drops(w.tun, 'table_miss'), 1);
});

/** w02 of SCENARIO.md, ingress side (rows 9-11). */
function w02(r: Rig): { int: OvsBridge; tun: OvsBridge; vx: ReturnType<OvsBridge['addOvsPort']>; sSg: ReturnType<Rig['sink']> } {
  const int = r.bridge('br-int', { failMode: 'secure' }, 'w02');
  const tun = r.bridge('br-tun', { failMode: 'secure' }, 'w02');
  tun.addOvsPort('patch-int', { ofport: 1, type: 'patch', options: { peer: 'patch-tun' } });
  const vx = tun.addOvsPort('vxlan-0ace6bee', { ofport: 4, type: 'vxlan', options: { local_ip: '10.206.107.156', remote_ip: '10.206.107.238', in_key: 'flow', out_key: 'flow' } });
  int.addOvsPort('patch-tun', { ofport: 1, type: 'patch', options: { peer: 'patch-int' } });
  const sg = int.addOvsPort('sg-499291dc-d8', { ofport: 74, type: 'internal', tag: 20 });
  tun.addFlows(`
    table=0, priority=1,in_port="vxlan-0ace6bee" actions=resubmit(,4)
    table=4, priority=1,tun_id=0x67 actions=mod_vlan_vid:20,resubmit(,9)
    table=9, priority=1,dl_src=${MAC.dvr07} actions=output:"patch-int"
    table=9, priority=0 actions=resubmit(,10)
    ${LEARN}
  `);
  int.addFlows(`
    table=0, priority=2,in_port="patch-tun",dl_src=${MAC.dvr07} actions=resubmit(,1)
    table=0, priority=0 actions=resubmit(,60)
    table=1, priority=20,dl_vlan=20,dl_dst=${MAC.sg} actions=mod_dl_src:${MAC.qr},resubmit(,60)
    table=1, priority=1 actions=drop
    table=60, priority=20,dl_vlan=20,dl_dst=${MAC.sg} actions=strip_vlan,output:"sg-499291dc-d8"
    table=60, priority=3 actions=NORMAL
  `);
  return { int, tun, vx, sSg: r.sink(sg) };
}

test('SCENARIO rows 9-11 on w02: from the tunnel to the sg- port with the qr- MAC restored; DVR MACs are not learned', () => {
  const r = rig();
  const w = w02(r);
  r.send(w.vx, icmp(MAC.dvr07, MAC.sg, { ttl: 63 }), { tunId: 103, tunSrc: 0x0ace6b9c, tunDst: 0x0ace6bee });
  assert.deepEqual(seen(w.sSg), [
    'fa:16:3e:06:d8:7b > fa:16:3e:d1:d8:49, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108',
  ]);
  assert.deepEqual(w.tun.findFlows('table=20'), [], 'table 9 skips learn() for a DVR source MAC');
  assert.equal(w.int.fdb.size, 0, 'output straight to sg-: NORMAL never saw it');
});

test('ofproto/trace-style notes: tables, actions and details, resubmit targets at the level OVS prints them', () => {
  const r = rig();
  const w = w07(r);
  r.e.tracer = new Tracer();
  r.send(w.qr, { src: MAC.qr, dst: MAC.sg, arp: { op: 2, sha: MAC.qr, spa: '192.168.1.1', tha: MAC.sg, tpa: '192.168.1.6' } });
  const notes = r.e.tracer.events.filter((e) => e.kind === 'note').map((e) => `${e.element}|${(e as { text: string }).text}`);
  assert.deepEqual(notes, [
    'br-int|bridge("br-int")',
    'br-int|----------------',
    'br-int| 0. priority 0',
    'br-int|    resubmit(,60)',
    'br-int|60. priority 3',
    'br-int|    NORMAL',
    'br-int|     -> no learned MAC for destination, flooding',
    'br-tun|bridge("br-tun")',
    'br-tun|----------------',
    'br-tun| 0. in_port=1, priority 1',
    'br-tun|    resubmit(,1)',
    'br-tun| 1. dl_vlan=10,dl_src=fa:16:3e:06:d8:7b, priority 1',
    'br-tun|    mod_dl_src:fa:16:3f:13:77:c5',
    'br-tun|    resubmit(,2)',
    'br-tun| 2. dl_dst=00:00:00:00:00:00/01:00:00:00:00:00, priority 0',
    'br-tun|    resubmit(,20)',
    'br-tun|20. dl_vlan=10,dl_dst=fa:16:3e:d1:d8:49, priority 2',
    'br-tun|    strip_vlan',
    'br-tun|    load:0x67->NXM_NX_TUN_ID[]',
    'br-tun|    output:5',
    'br-tun|     -> output to kernel tunnel',
  ]);
});

test('a resubmit followed by more actions shows its table indented, as ofproto/trace does', () => {
  const r = rig();
  const br = r.bridge('br0', { failMode: 'secure' });
  const p1 = br.addOvsPort('p1', { ofport: 1 });
  r.sink(br.addOvsPort('p2', { ofport: 2 }));
  br.addFlow('table=0 actions=resubmit(,1),output:2');
  br.addFlow('table=1 actions=drop');
  r.e.tracer = new Tracer();
  r.send(p1, icmp(MAC.vm, MAC.qr));
  const notes = r.e.tracer.events.filter((e) => e.kind === 'note').map((e) => (e as { text: string }).text);
  assert.deepEqual(notes.slice(2), [' 0. priority 32768', '    resubmit(,1)', '     1. priority 32768', '            drop', '    output:2']);
});
