// `dpemu appctl ofproto/trace NODE BRIDGE FLOW` on the seed topology: OVS's
// output format, patch crossing, learn(), misses, and a dry run that sends nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { appctl } from '../../src/control/ovs-commands.js';
import { ControlError } from '../../src/control/protocol.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { composeFrame, parseTraceFlow } from '../../src/ofproto/trace-flow.js';
import { formatTraceFlow } from '../../src/control/ofproto-trace.js';
import { FrameLayout, extractFrame } from '../../src/ofproto/flow-extract.js';
import { K, newKey } from '../../src/ofproto/flow-key.js';

import type { CommandResponse } from '../../src/control/protocol.js';

const seed = (): Emulator => buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'));

function trace(emu: Emulator, ...argv: string[]): string {
  const invalidated: string[] = [];
  const r = appctl.run({ emu, invalidate: (w) => invalidated.push(w) }, ['ofproto/trace', ...argv]) as CommandResponse; // appctl answers synchronously
  assert.equal(r.exit, 0);
  assert.equal(invalidated.length, 1, 'learning may change flows: a write');
  return r.stdout;
}

const bridge = (emu: Emulator, node: string, name: string): OvsBridge =>
  emu.engine.elements.find((e) => e instanceof OvsBridge && e.node === node && e.name === name) as OvsBridge;

const OUT_W07 =
  'in_port=patch-int,dl_vlan=10,dl_src=fa:16:3e:06:d8:7b,dl_dst=fa:16:3e:d1:d8:49,ip,nw_src=192.168.1.7,nw_dst=8.8.8.8';

test('w07 br-tun: DVR MAC rewrite in table 1, unicast to the tunnel in table 20, exactly as OVS prints it', () => {
  const emu = seed();
  assert.equal(
    trace(emu, 'w07', 'br-tun', OUT_W07, '--generate'),
    `Flow: ip,in_port=1,dl_vlan=10,dl_vlan_pcp=0,dl_src=fa:16:3e:06:d8:7b,dl_dst=fa:16:3e:d1:d8:49,nw_src=192.168.1.7,nw_dst=8.8.8.8,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0

bridge("br-tun")
----------------
 0. in_port=1, priority 1, cookie 0xa41f6e02c9d83b57
    resubmit(,1)
 1. dl_vlan=10,dl_src=fa:16:3e:06:d8:7b, priority 1, cookie 0xa41f6e02c9d83b57
    mod_dl_src:fa:16:3f:13:77:c5
    resubmit(,2)
 2. dl_dst=00:00:00:00:00:00/01:00:00:00:00:00, priority 0, cookie 0xa41f6e02c9d83b57
    resubmit(,20)
20. dl_vlan=10,dl_dst=fa:16:3e:d1:d8:49, priority 2, cookie 0xa41f6e02c9d83b57
    strip_vlan
    load:0x67->NXM_NX_TUN_ID[]
    output:5
     -> output to kernel tunnel

Final flow: ip,tun_id=0x67,in_port=1,vlan_tci=0x0000,dl_src=fa:16:3f:13:77:c5,dl_dst=fa:16:3e:d1:d8:49,nw_src=192.168.1.7,nw_dst=8.8.8.8,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0
Megaflow: recirc_id=0,ip,in_port=1,dl_vlan=10,dl_vlan_pcp=0,dl_src=fa:16:3e:06:d8:7b,dl_dst=fa:16:3e:d1:d8:49,nw_frag=no
Datapath actions: set(tunnel(tun_id=0x67,src=10.206.107.238,dst=10.206.107.156,ttl=64,tp_dst=4789,flags(df|key))),set(eth(src=fa:16:3f:13:77:c5)),pop_vlan,5
`,
  );
});

test('the dry run sends nothing and credits no flow, table or port counter', () => {
  const emu = seed();
  const tun = bridge(emu, 'w07', 'br-tun');
  const tapped: string[] = [];
  for (const p of tun.portList) p.port.taps.push((_pkt, port) => tapped.push(port.name));
  const before = JSON.stringify([tun.dumpFlows(), tun.tableStats()]);
  const stats = Array.from(emu.engine.stats.v);
  trace(emu, 'w07', 'br-tun', OUT_W07);
  assert.deepEqual(tapped, []);
  assert.equal(JSON.stringify([tun.dumpFlows(), tun.tableStats()]), before);
  assert.deepEqual(Array.from(emu.engine.stats.v), stats);
});

test('w02 br-tun from the tunnel with a DVR source MAC: 0 -> 4 -> 9, then on into br-int', () => {
  const emu = seed();
  const out = trace(emu, 'w02', 'br-tun', 'in_port=vxlan-0ace6bee,tun_id=0x67,dl_src=fa:16:3f:13:77:c5,dl_dst=fa:16:3e:b2:ef:af,icmp,nw_src=192.168.1.7,nw_dst=192.168.1.6,nw_ttl=64,icmp_type=8');
  assert.match(out, /^Flow: icmp,tun_id=0x67,in_port=4,vlan_tci=0x0000,.*nw_ttl=64,icmp_type=8,icmp_code=0\n\nbridge\("br-tun"\)\n-{16}\n 0\. in_port=4, priority 1,/);
  assert.match(out, /\n 4\. tun_id=0x67, priority 1, cookie 0x[0-9a-f]+\n    mod_vlan_vid:20\n    resubmit\(,9\)\n 9\. dl_src=fa:16:3f:13:77:c5, priority 1, cookie 0x[0-9a-f]+\n    output:1\n\nbridge\("br-int"\)\n-{16}\n 0\. in_port=1,dl_src=fa:16:3f:13:77:c5, priority 2,/);
  assert.match(out, /\nFinal flow: icmp,tun_id=0x67,in_port=4,dl_vlan=20,dl_vlan_pcp=0,/);
});

test('learn() in br-tun table 10 is traced and installs the table-20 flow, as OVS does for a generated packet', () => {
  const emu = seed();
  const out = trace(emu, 'w02', 'br-tun', 'in_port=vxlan-0ace6bee,tun_id=0x67,dl_src=fa:16:3e:06:d8:7b,dl_dst=fa:16:3e:b2:ef:af,ip,nw_src=192.168.1.7,nw_dst=192.168.1.6');
  assert.match(out, /\n 9\. priority 0, cookie 0x[0-9a-f]+\n    resubmit\(,10\)\n10\. priority 1, cookie 0x[0-9a-f]+\n    learn\(table=20,/);
  assert.match(out, /\n     -> table=20 vlan_tci=0x0014\/0x0fff,dl_dst=fa:16:3e:06:d8:7b priority=1 cookie=0x[0-9a-f]+ hard=300 actions=load:0->NXM_OF_VLAN_TCI\[\],load:0x67->NXM_NX_TUN_ID\[\],output:4\n    output:1\n\nbridge\("br-int"\)/);
  assert.match(out, /\nDatapath actions: .*push_vlan\(vid=20,pcp=0\)/);
  assert.equal(bridge(emu, 'w02', 'br-tun').findFlows('table=20,dl_dst=fa:16:3e:06:d8:7b').length, 1);
});

test('a table without a matching flow prints "No match." and drops', () => {
  const emu = seed();
  bridge(emu, 'w07', 'br-tun').addFlow('table=0,priority=100,in_port=patch-int,dl_src=00:00:00:00:00:01 actions=resubmit(,77)');
  const out = trace(emu, 'w07', 'br-tun', 'in_port=patch-int,dl_src=00:00:00:00:00:01');
  assert.match(out, /\n 0\. in_port=1,dl_src=00:00:00:00:00:01, priority 100\n    resubmit\(,77\)\n77\. No match\.\n    drop\n\nFinal flow: unchanged\n/);
  assert.match(out, /\nDatapath actions: drop\n$/);
});

test('a miss in a patch peer prints OVS\'s internal miss rule, as ovs-vswitchd 3.1 does (test/e2e/ovs-oracle.test.ts)', () => {
  const emu = seed();
  bridge(emu, 'w07', 'br-int').addFlow('table=0,priority=100,in_port=qr-178fc8e2-fd,dl_src=00:00:00:00:00:01 actions=output:patch-tun');
  bridge(emu, 'w07', 'br-tun').addFlow('table=0,priority=100,in_port=patch-int,dl_src=00:00:00:00:00:01 actions=resubmit(,77)');
  const out = trace(emu, 'w07', 'br-int', 'in_port=qr-178fc8e2-fd,dl_src=00:00:00:00:00:01');
  assert.match(out, /\nbridge\("br-tun"\)\n-+\n 0\. in_port=1,dl_src=00:00:00:00:00:01, priority 100\n    resubmit\(,77\)\n77\. reg0=0x2, priority 0\n    drop\n/);
});

test('a move reports what its destination now holds, as ovs-vswitchd does (xlate_report_subfield)', () => {
  const emu = seed();
  const out = trace(emu, 'w07', 'br-tun', 'arp,in_port=patch-int,dl_vlan=10,dl_src=fa:16:3e:b2:ef:af,dl_dst=ff:ff:ff:ff:ff:ff,arp_op=1,arp_spa=192.168.1.7,arp_tpa=192.168.1.6,arp_sha=fa:16:3e:b2:ef:af');
  assert.match(out, /\n {4}move:NXM_NX_ARP_SHA\[\]->NXM_NX_ARP_THA\[\]\n {5}-> NXM_NX_ARP_THA\[\] is now fa:16:3e:b2:ef:af\n {4}move:NXM_OF_ARP_SPA\[\]->NXM_OF_ARP_TPA\[\]\n {5}-> NXM_OF_ARP_TPA\[\] is now 192.168.1.7\n/);
  assert.match(out, /\n {4}move:NXM_OF_ETH_SRC\[\]->NXM_OF_ETH_DST\[\]\n {5}-> NXM_OF_ETH_DST\[\] is now fa:16:3e:b2:ef:af\n/);
  // The ARP rewrite is committed at the outputs: the kernel datapath cannot do it (commit_set_arp_action).
  assert.match(out, /\nDatapath actions: [^\n]*set\(arp\([^\n]*\nThis flow is handled by the userspace slow path because it:\n {2}- Uses action\(s\) not supported by datapath\.\n$/);
  // An ARP megaflow has no nw_frag (only IP's does).
  assert.doesNotMatch(/\nMegaflow: (.*)\n/.exec(out)![1]!, /nw_frag/);
});

test('bad flows answer as ovs-appctl does, exit 2', () => {
  const emu = seed();
  const err = (flow: string): ControlError => {
    try {
      appctl.run({ emu, invalidate: () => {} }, ['ofproto/trace', 'w07', 'br-tun', flow]);
    } catch (e) {
      if (e instanceof ControlError) return e;
      throw e;
    }
    throw new Error('no error');
  };
  assert.equal(err('in_port=1,foo=3').message, 'Bad openflow flow syntax: in_port=1,foo=3: unknown field foo');
  assert.equal(err('nw_src=1.2.3.4').message, 'Bad openflow flow syntax: nw_src=1.2.3.4: prerequisites not met for setting nw_src');
  assert.match(err('dl_src=fa:16:3e:00:00:01/ff:ff:ff:00:00:00').message, /: bad value for dl_src \(masks are not allowed here\)$/);
  assert.equal(err('ip,ip').exit, 2);
  assert.equal(appctl.access(['ofproto/trace', 'w07', 'br-tun', 'ip']), 'write');
});

test('br_flow -> packet: missing fields are zero and the frame extracts back to the flow', () => {
  const k = parseTraceFlow('in_port=3,dl_vlan=7,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=9,nw_tos=8,tp_src=1000,tp_dst=80', (n) => (n === 'p' ? 3 : undefined));
  const frame = composeFrame(k);
  const x = newKey();
  extractFrame(frame, 0, frame.length, x, new FrameLayout());
  for (let i = K.DL_SRC_HI; i <= K.ARP_THA_LO; i++) assert.equal(x[i], k[i], `word ${i}`);
  assert.equal(
    formatTraceFlow(k),
    'tcp,in_port=3,dl_vlan=7,dl_vlan_pcp=0,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=8,nw_ecn=0,nw_ttl=9,tp_src=1000,tp_dst=80,tcp_flags=0',
  );
  assert.equal(parseTraceFlow('arp')[K.IN_PORT], 0xffff, 'no in_port: OFPP_NONE');
});
