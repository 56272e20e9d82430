// The OpenFlow pipeline of an OVS bridge, each case against what OVS does:
// priorities, table miss, resubmit chains and limits, outputs, header
// rewrites, counters, timeouts, flow_mod semantics and fail_mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rig, seen, icmp, MAC } from './ofproto-bridge-fixtures.js';
import { Decoded, decode, l4ChecksumOk } from '../../src/wire/decode.js';

function threePorts(failMode: 'secure' | 'standalone' = 'secure') {
  const r = rig(1000);
  const br = r.bridge('br0', { failMode });
  const p1 = br.addOvsPort('p1', { ofport: 1 });
  const p2 = br.addOvsPort('p2', { ofport: 2 });
  const p3 = br.addOvsPort('p3', { ofport: 3 });
  return { r, br, p1, p2, p3, s1: r.sink(p1), s2: r.sink(p2), s3: r.sink(p3) };
}

test('fail_mode secure with no flows: table miss drops (no controller to ask)', () => {
  const { r, br, p1, s2, s3 } = threePorts('secure');
  assert.deepEqual(br.dumpFlows(), []);
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.equal(s2.frames.length + s3.frames.length, 0);
  assert.equal(r.drops(br, 'table_miss'), 1);
});

test('fail_mode standalone: one visible priority=0 NORMAL flow; del-flows removes it; set-fail-mode flushes', () => {
  const { r, br, p1, s2, s3 } = threePorts('standalone');
  assert.deepEqual(br.dumpFlows(), [' cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, idle_age=0, priority=0 actions=NORMAL']);
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.equal(s2.frames.length, 1, 'flooded as a learning switch');
  assert.equal(s3.frames.length, 1);
  r.advance(1500);
  assert.deepEqual(br.dumpFlows(), [' cookie=0x0, duration=1.500s, table=0, n_packets=1, n_bytes=142, idle_age=1, priority=0 actions=NORMAL']);
  br.delFlows();
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.equal(r.drops(br, 'table_miss'), 1, 'ovs-ofctl del-flows takes the NORMAL flow away too');
  br.setFailMode('secure');
  assert.deepEqual(br.dumpFlows(), []);
  br.setFailMode('standalone');
  assert.deepEqual(br.dumpFlows({ noStats: true }), [' priority=0 actions=NORMAL']);
});

test('the highest priority wins; lower-priority overlapping flows are not executed', () => {
  const { r, br, p1, s2, s3 } = threePorts();
  br.addFlow('table=0,priority=10,in_port=1 actions=output:2');
  br.addFlow('table=0,priority=20,in_port=1,icmp actions=output:3');
  br.addFlow('table=0,priority=5 actions=drop');
  r.send(p1, icmp(MAC.vm, MAC.qr));
  r.send(p1, { src: MAC.vm, dst: MAC.qr, arp: { sha: MAC.vm, spa: '192.168.1.7', tpa: '192.168.1.1' } });
  assert.equal(s3.frames.length, 1, 'ICMP takes the priority-20 flow');
  assert.equal(s2.frames.length, 1, 'ARP falls to the priority-10 flow');
  const f = br.findFlows('priority=5', { strict: true });
  assert.equal(f[0]!.nPackets, 0);
});

test('equal priority, disjoint matches: each packet takes its own flow', () => {
  const { r, br, p1, p2, s1, s3 } = threePorts();
  br.addFlow('priority=1,in_port=1 actions=output:3');
  br.addFlow('priority=1,in_port=2 actions=output:1');
  r.send(p1, icmp(MAC.vm, MAC.qr));
  r.send(p2, icmp(MAC.qr, MAC.vm));
  assert.equal(s3.frames.length, 1);
  assert.equal(s1.frames.length, 1);
});

test('output to the input port is skipped unless IN_PORT is used', () => {
  const { r, br, p1, s1, s2 } = threePorts();
  br.addFlow('in_port=1,udp actions=output:1,output:2');
  br.addFlow('in_port=1,icmp actions=IN_PORT');
  r.send(p1, { src: MAC.vm, dst: MAC.qr, ip: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2 } });
  assert.equal(s1.frames.length, 0);
  assert.equal(s2.frames.length, 1);
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.equal(s1.frames.length, 1, 'IN_PORT hairpins');
});

test('resubmit chains: every flow on the way counts the packet; a resubmit that misses does nothing', () => {
  const { r, br, p1, s2, s3 } = threePorts();
  br.addFlows(`
    table=0, priority=1,in_port=1 actions=resubmit(,1)
    table=1, priority=1 actions=resubmit(,7),resubmit(,2),output:3
    table=2, priority=1,icmp actions=output:2
  `);
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.equal(s2.frames.length, 1);
  assert.equal(s3.frames.length, 1, 'execution goes on after the missed table 7');
  for (const t of [0, 1, 2]) assert.equal(br.findFlows(`table=${t}`)[0]!.nPackets, 1);
  assert.equal(br.findFlows('table=1')[0]!.nBytes, 142);
  assert.equal(r.drops(br, 'table_miss'), 0);
});

test('resubmit(port,table) looks up with that in_port, then restores the real one', () => {
  const { r, br, p1, s1, s2, s3 } = threePorts();
  br.addFlow('table=0,in_port=1 actions=resubmit(3,1)');
  br.addFlow('table=1,in_port=3 actions=output:2,IN_PORT');
  br.addFlow('table=1,in_port=1 actions=output:3');
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.equal(s2.frames.length, 1);
  assert.equal(s1.frames.length, 1, 'IN_PORT is still port 1');
  assert.equal(s3.frames.length, 0);
});

test('a resubmit loop hits the depth limit (64) and the whole translation is dropped', () => {
  const { r, br, p1, s2 } = threePorts();
  br.addFlow('table=0 actions=output:2,resubmit(,1)');
  br.addFlow('table=1 actions=resubmit(,0)');
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.equal(s2.frames.length, 0, 'OVS installs a drop flow on a translation error');
  assert.equal(r.drops(br, 'resubmit_limit'), 1);
  assert.equal(r.e.pool.available, r.e.pool.slots, 'every clone was returned');
});

test('going forward does not deepen: a 200-table chain is fine; 4096 resubmits are not', () => {
  const a = threePorts();
  for (let t = 0; t < 200; t++) a.br.addFlow(`table=${t} actions=resubmit(,${t + 1})`);
  a.br.addFlow('table=200 actions=output:2');
  a.r.send(a.p1, icmp(MAC.vm, MAC.qr));
  assert.equal(a.s2.frames.length, 1);
  const b = threePorts();
  for (let t = 0; t < 13; t++) b.br.addFlow(`table=${t} actions=resubmit(,${t + 1}),resubmit(,${t + 1})`);
  b.r.send(b.p1, icmp(MAC.vm, MAC.qr));
  assert.equal(b.r.drops(b.br, 'resubmit_limit'), 1, 'over MAX_RESUBMITS (4096)');
});

test('each output sends the packet as it is then; later changes reach only later outputs', () => {
  const { r, br, p1, s2, s3 } = threePorts();
  br.addFlow(`in_port=1 actions=output:2,mod_dl_src:${MAC.dvr07},mod_vlan_vid:10,output:3`);
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.deepEqual(seen(s2), [`${MAC.vm} > ${MAC.qr}, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108`]);
  assert.deepEqual(seen(s3), [`${MAC.dvr07} > ${MAC.qr}, ethertype 802.1Q (0x8100), length 146: vlan 10, p 0, ethertype IPv4 (0x0800), 192.168.1.7 > 8.8.8.8: ICMP echo request, id 60691, seq 1, length 108`]);
});

test('FLOOD and ALL: every port but the input one', () => {
  const { r, br, p1, s1, s2, s3 } = threePorts();
  br.addFlow('actions=FLOOD');
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.deepEqual([s1.frames.length, s2.frames.length, s3.frames.length], [0, 1, 1]);
  assert.equal(r.drops(br, 'port_down'), 1, 'the LOCAL port (br0, down) got a copy too');
});

test('VLAN actions: mod_vlan_vid pushes a tag, strip_vlan pops it, push_vlan + set_field vlan_vid', () => {
  const { r, br, p1, p2, p3, s1, s2, s3 } = threePorts();
  br.addFlow('in_port=1 actions=mod_vlan_vid:103,output:2');
  br.addFlow('in_port=2,dl_vlan=7 actions=strip_vlan,output:1');
  br.addFlow('in_port=3 actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:1');
  r.send(p1, icmp(MAC.fipVif, MAC.gw, { ipSrc: '112.65.210.200' }));
  assert.match(seen(s2)[0]!, /length 146: vlan 103, p 0, ethertype IPv4/);
  r.send(p2, icmp(MAC.gw, MAC.fipVif, { vlans: [7] }));
  assert.match(seen(s1)[0]!, /ethertype IPv4 \(0x0800\), length 142: /);
  r.send(p3, icmp(MAC.gw, MAC.fipVif));
  assert.match(seen(s1)[0]!, /length 146: vlan 100, p 0, ethertype IPv4/);
  assert.equal(s3.frames.length, 0);
});

test('mod_nw_dst / mod_tp_dst rewrite the headers and keep the IP and L4 checksums right', () => {
  const { r, br, p1, s2 } = threePorts();
  br.addFlow('in_port=1,udp actions=mod_nw_dst:10.1.2.3,mod_tp_dst:5353,output:2');
  br.addFlow('in_port=1,tcp actions=mod_nw_src:203.0.113.9,mod_tp_src:4444,output:2');
  r.send(p1, { src: MAC.vm, dst: MAC.qr, ip: { src: '192.168.1.7', dst: '8.8.8.8' }, udp: { sport: 33000, dport: 53, payload: 20 } });
  r.send(p1, { src: MAC.vm, dst: MAC.qr, ip: { src: '192.168.1.7', dst: '8.8.8.8' }, tcp: { sport: 40000, dport: 80, flags: 'S', payload: 10 } });
  const [u, t] = s2.take();
  const d = new Decoded();
  assert.equal(decode(u!, 0, u!.length, d), 0);
  assert.equal(d.dst, 0x0a010203);
  assert.equal(d.dport, 5353);
  assert.ok(d.ipCsumOk && l4ChecksumOk(u!, d));
  assert.equal(decode(t!, 0, t!.length, d), 0);
  assert.equal(d.src, 0xcb007109);
  assert.equal(d.sport, 4444);
  assert.ok(d.ipCsumOk && l4ChecksumOk(t!, d));
});

test('dec_ttl: 64 becomes 63 with a right checksum; TTL 1 stops the actions (dropped: ttl_exceeded)', () => {
  const { r, br, p1, s2 } = threePorts();
  br.addFlow('in_port=1,ip actions=dec_ttl,output:2');
  r.send(p1, icmp(MAC.vm, MAC.qr, { ttl: 64 }));
  const [f] = s2.take();
  const d = new Decoded();
  decode(f!, 0, f!.length, d);
  assert.equal(d.ttl, 63);
  assert.ok(d.ipCsumOk);
  r.send(p1, icmp(MAC.vm, MAC.qr, { ttl: 1 }));
  assert.equal(s2.frames.length, 0);
  assert.equal(r.drops(br, 'ttl_exceeded'), 1);
});

test('load into a register, output:NXM_NX_REG0[]; move between fields', () => {
  const { r, br, p1, s3 } = threePorts();
  br.addFlow('table=0,in_port=1 actions=load:0x3->NXM_NX_REG0[0..15],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],resubmit(,1)');
  br.addFlow('table=1,reg0=3 actions=output:NXM_NX_REG0[0..15]');
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.deepEqual(seen(s3).map((l) => l.split(',')[0]), [`${MAC.vm} > ${MAC.vm}`]);
});

test("the l2pop ARP responder flow answers on IN_PORT (reference 4.3, table 21)", () => {
  const { r, br, p1, s1 } = threePorts();
  br.addFlow(
    `table=0,in_port=1 actions=mod_vlan_vid:1,resubmit(,21)`,
  );
  br.addFlow(
    'table=21, priority=1,arp,dl_vlan=1,arp_tpa=192.168.1.3 actions=load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0xfa163e000103->NXM_NX_ARP_SHA[],load:0xc0a80103->NXM_OF_ARP_SPA[],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:fa:16:3e:00:01:03,IN_PORT',
  );
  r.send(p1, { src: 'fa:16:3e:00:01:10', dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: 'fa:16:3e:00:01:10', spa: '192.168.1.10', tpa: '192.168.1.3' } });
  assert.deepEqual(seen(s1), [
    'fa:16:3e:00:01:03 > fa:16:3e:00:01:10, ethertype 802.1Q (0x8100), length 46: vlan 1, p 0, ethertype ARP (0x0806), Reply 192.168.1.3 is-at fa:16:3e:00:01:03, length 28',
  ]);
});

test('idle_timeout: used flows stay, idle ones expire; hard_timeout expires regardless of use', () => {
  const { r, br, p1, s2 } = threePorts();
  br.addFlow('priority=2,in_port=1,icmp,idle_timeout=10 actions=output:2');
  br.addFlow('priority=1,in_port=1,hard_timeout=20 actions=output:2');
  r.advance(9000);
  r.send(p1, icmp(MAC.vm, MAC.qr));
  r.advance(9000); // 18 s: idle 9 s
  assert.equal(br.findFlows('priority=2,in_port=1,icmp', { strict: true }).length, 1);
  r.advance(1001); // 19.001 s: idle 10.001 s > 10
  assert.equal(br.findFlows('priority=2,in_port=1,icmp', { strict: true }).length, 0);
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.equal(s2.frames.length, 2, 'the hard-timeout flow still forwards');
  r.advance(1000); // 20.001 s after it was added
  assert.deepEqual(br.dumpFlows(), []);
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.equal(r.drops(br, 'table_miss'), 1);
});

test('an expired flow never matches, even before the next expiry run', () => {
  const { r, br, p1, s2 } = threePorts();
  br.addFlow('in_port=1,hard_timeout=5 actions=output:2');
  r.clock.advance(5001); // no tick
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.equal(s2.frames.length, 0);
});

test('add-flow on an identical match+priority replaces it and (OpenFlow 1.0) resets its counters', () => {
  const { r, br, p1, s3 } = threePorts();
  br.addFlow('in_port=1 actions=output:2');
  r.send(p1, icmp(MAC.vm, MAC.qr));
  r.advance(3000);
  br.addFlow('in_port=1 actions=output:3');
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.equal(s3.frames.length, 1);
  assert.deepEqual(br.dumpFlows(), [' cookie=0x0, duration=0s, table=0, n_packets=1, n_bytes=142, idle_age=0, in_port=1 actions=output:3']);
});

test('mod-flows keeps counters; --strict; a modify that matches nothing adds (OpenFlow 1.0)', () => {
  const { r, br, p1, s3 } = threePorts();
  br.addFlow('priority=5,in_port=1 actions=output:2');
  br.addFlow('priority=6,in_port=1,ip actions=output:2');
  r.send(p1, { src: MAC.vm, dst: MAC.qr, arp: { sha: MAC.vm, spa: '1.1.1.1', tpa: '1.1.1.2' } });
  br.modFlows('in_port=1 actions=output:3');
  r.send(p1, icmp(MAC.vm, MAC.qr));
  assert.equal(s3.frames.length, 1);
  assert.deepEqual(
    br.dumpFlows({ noStats: true }),
    [' priority=6,ip,in_port=1 actions=output:3', ' priority=5,in_port=1 actions=output:3'],
  );
  assert.equal(br.findFlows('priority=5,in_port=1', { strict: true })[0]!.nPackets, 1, 'counters survive a modify');
  br.modFlows('priority=6,in_port=1,ip actions=drop', { strict: true });
  assert.deepEqual(br.dumpFlows({ noStats: true })[0], ' priority=6,ip,in_port=1 actions=drop');
  br.modFlows('table=3,in_port=2 actions=output:1');
  assert.equal(br.findFlows('table=3').length, 1);
});

test('del-flows: loose by default, --strict with priority, cookie masks and out_port', () => {
  const { br } = threePorts();
  br.addFlows(`
    cookie=0x10,table=0,priority=1,in_port=1 actions=output:2
    cookie=0x11,table=0,priority=2,in_port=1,icmp actions=output:3
    cookie=0x20,table=1,priority=1,in_port=2 actions=output:3
    cookie=0x20,table=1,priority=1,in_port=3 actions=output:1
  `);
  br.delFlows('cookie=0x10/0xf0');
  assert.deepEqual(br.dumpFlows({ noStats: true }).map((l) => l.split(' ')[1]), ['cookie=0x20,', 'cookie=0x20,']);
  br.addFlow('cookie=0x11,table=0,priority=2,in_port=1,icmp actions=output:3');
  br.delFlows('table=1,out_port=3');
  assert.equal(br.findFlows('table=1').length, 1);
  br.delFlows('in_port=1', { strict: true }); // priority 32768: nothing has it
  assert.equal(br.findFlows('table=0').length, 1);
  br.delFlows('priority=2,in_port=1,icmp', { strict: true });
  assert.equal(br.findFlows('table=0').length, 0);
  br.delFlows('in_port=3');
  assert.deepEqual(br.dumpFlows(), []);
});

test('dump-flows with --names quotes port names as ovs-ofctl does', () => {
  const r = rig();
  const br = r.bridge('br-tun', { failMode: 'secure' });
  br.addOvsPort('patch-int', { ofport: 1, type: 'patch', options: { peer: 'patch-tun' } });
  br.addOvsPort('vxlan-0ace6b9c', { ofport: 5, type: 'vxlan', options: { remote_ip: '10.206.107.156', local_ip: '10.206.107.238', in_key: 'flow', out_key: 'flow' } });
  br.addFlow('table=0, priority=1,in_port="patch-int" actions=resubmit(,1)');
  br.addFlow('table=22, priority=1,dl_vlan=10 actions=strip_vlan,load:0x67->NXM_NX_TUN_ID[],output:"vxlan-0ace6b9c"');
  assert.deepEqual(br.dumpFlows({ names: true, noStats: true }), [
    ' priority=1,in_port="patch-int" actions=resubmit(,1)',
    ' table=22, priority=1,dl_vlan=10 actions=strip_vlan,load:0x67->NXM_NX_TUN_ID[],output:"vxlan-0ace6b9c"',
  ]);
  assert.deepEqual(br.dumpFlows({ noStats: true })[1], ' table=22, priority=1,dl_vlan=10 actions=strip_vlan,load:0x67->NXM_NX_TUN_ID[],output:5');
  assert.deepEqual(
    br.portsDesc().map((p) => [p.ofport, p.name, p.type]),
    [[1, 'patch-int', 'patch'], [5, 'vxlan-0ace6b9c', 'vxlan'], [65534, 'br-tun', 'internal']],
  );
});

test('ports: ofports are allocated lowest-first; a taken ofport is refused', () => {
  const r = rig();
  const br = r.bridge('br0');
  assert.equal(br.addOvsPort('a').ofport, 1);
  assert.equal(br.addOvsPort('b', { ofport: 3 }).ofport, 3);
  assert.equal(br.addOvsPort('c').ofport, 2);
  assert.throws(() => br.addOvsPort('d', { ofport: 3 }), /taken/);
  assert.equal(br.portByOfport(65534)!.name, 'br0');
});

test('no per-packet leaks: the slab is whole after floods, clones and drops', () => {
  const { r, br, p1 } = threePorts('standalone');
  br.addFlow('priority=1,in_port=1,udp actions=output:2,mod_dl_dst:ff:ff:ff:ff:ff:ff,output:3,resubmit(,1)');
  for (let i = 0; i < 100; i++) {
    r.send(p1, icmp(MAC.vm, `fa:16:3e:00:00:${(i % 100).toString(16).padStart(2, '0')}`));
    r.send(p1, { src: MAC.vm, dst: MAC.qr, ip: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2 } });
  }
  assert.equal(r.e.pool.available, r.e.pool.slots);
});

test('QinQ: strip_vlan pops the outer tag and the inner one becomes the flow VLAN (dl_vlan matches it)', () => {
  const { r, br, p1, s2, s3 } = threePorts();
  br.addFlow('table=0,in_port=1 actions=strip_vlan,resubmit(,1)');
  br.addFlow('table=1,dl_vlan=20 actions=output:2');
  br.addFlow('table=1,priority=1 actions=output:3');
  r.send(p1, { ...icmp(MAC.vm, MAC.qr), vlans: [{ vid: 10, tpid: 0x88a8 }, 20] });
  assert.match(seen(s2)[0]!, /length 146: vlan 20, p 0, ethertype IPv4/);
  assert.equal(s3.frames.length, 0);
});
