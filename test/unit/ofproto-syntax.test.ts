// Flow syntax: every flow line of the reference parses and prints back in
// OVS's canonical spelling; OF1.3 spellings convert as OVS re-encodes them;
// learn() round-trips and instantiates; errors say which token and where.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlow, parseFlows, parseFlowMod, FlowSyntaxError } from '../../src/ofproto/flow-parser.js';
import { formatAddFlow, formatDumpFlows, formatDuration, formatFlow, formatMatch } from '../../src/ofproto/flow-printer.js';
import { formatActions } from '../../src/ofproto/action-printer.js';
import { instantiateLearn } from '../../src/ofproto/learn-syntax.js';
import { readField, type FieldDef } from '../../src/ofproto/fields.js';
import { K, newKey } from '../../src/ofproto/flow-key.js';

// Ports of the reference topology (§0, §2).
const PORTS = ['patch-int', 'patch-tun', 'vxlan-0a000015', 'vxlan-ac10001f', 'vxlan-0a00000b', 'int-br-provider', 'int-br-ex', 'phy-br-ex', 'qr-aaaaaaaa-aa', 'sg-bbbbbbbb-bb', 'qvo11111111-11', 'tap0', 'br_int'];
const byName = new Map(PORTS.map((n, i) => [n, i + 1]));
const byNum = new Map(PORTS.map((n, i) => [i + 1, n]));
const resolvePort = (n: string): number | undefined => byName.get(n);
const portName = (p: number): string | undefined => byNum.get(p);

const COOKIE = '0x80c150197bf57676';
const SPEC = `table=20,hard_timeout=300,priority=1,cookie=${COOKIE},NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[]`;

// Every flow line of ../shared/reference/neutron-dvr.md §4-§6 (add-flow form, as the
// reference writes them; placeholders <spec>, <vm>, <vm-port> filled in).
const REFERENCE_FLOWS = [
  // §4.1
  'table=0,  priority=1,in_port="patch-int" actions=resubmit(,2)',
  'table=0,  priority=0 actions=drop',
  'table=2,  priority=1,arp,dl_dst=ff:ff:ff:ff:ff:ff actions=resubmit(,21)',
  'table=2,  priority=0,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00 actions=resubmit(,20)',
  'table=2,  priority=0,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=resubmit(,22)',
  'table=3,  priority=0 actions=drop',
  'table=4,  priority=0 actions=drop',
  'table=6,  priority=0 actions=drop',
  `table=10, priority=2,arp,arp_tha=ff:ff:ff:ff:ff:ff actions=learn(${SPEC}),output:"patch-int"`,
  `table=10, priority=2,icmp6,icmp_type=134 actions=learn(${SPEC}),output:"patch-int"`,
  `table=10, priority=2,icmp6,icmp_type=136 actions=learn(${SPEC}),output:"patch-int"`,
  `table=10, priority=1 actions=learn(${SPEC}),output:"patch-int"`,
  'table=20, priority=0 actions=resubmit(,22)',
  'table=21, priority=0 actions=resubmit(,22)',
  'table=22, priority=0 actions=drop',
  // §4.2
  'table=20, hard_timeout=300, priority=1,vlan_tci=0x0001/0x0fff,dl_dst=fa:16:3e:00:01:03 actions=load:0->NXM_OF_VLAN_TCI[],load:0x3e9->NXM_NX_TUN_ID[],output:"vxlan-0a000015"',
  // §4.3
  'table=0, priority=1,in_port="vxlan-0a000015" actions=resubmit(,4)',
  'table=4, priority=1,tun_id=0x3e9 actions=mod_vlan_vid:1,resubmit(,9)',
  'table=4, priority=1,tun_id=0x3e9 actions=mod_vlan_vid:1,resubmit(,10)',
  'table=22, priority=1,dl_vlan=1 actions=strip_vlan,load:0x3e9->NXM_NX_TUN_ID[],output:"vxlan-0a000015"',
  'table=20, priority=2,dl_vlan=1,dl_dst=fa:16:3e:00:01:03 actions=strip_vlan,load:0x3e9->NXM_NX_TUN_ID[],output:"vxlan-0a000015"',
  'table=21, priority=1,arp,dl_vlan=1,arp_tpa=192.168.1.3 actions=load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0xfa163e000103->NXM_NX_ARP_SHA[],load:0xc0a80103->NXM_OF_ARP_SPA[],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:fa:16:3e:00:01:03,IN_PORT',
  // §4.4
  'table=0, priority=1,in_port="patch-int" actions=resubmit(,1)',
  'table=1, priority=0 actions=resubmit(,2)',
  'table=9, priority=0 actions=resubmit(,10)',
  'table=9, priority=1,dl_src=fa:16:3f:21:21:21 actions=output:"patch-int"',
  'table=22, priority=3,arp,dl_vlan=1,arp_tpa=192.168.1.1 actions=drop',
  'table=22, priority=3,icmp6,dl_vlan=1,dl_src=fa:16:3e:00:01:01,icmp_type=134 actions=drop',
  'table=1,  priority=2,dl_vlan=1,dl_dst=fa:16:3e:00:01:01 actions=drop',
  'table=1,  priority=1,dl_vlan=1,dl_src=fa:16:3e:00:01:01 actions=mod_dl_src:fa:16:3f:11:11:11,resubmit(,2)',
  'priority=1,dl_vlan=2,dl_src=fa:16:3e:dd:73:40 actions=mod_dl_src:fa:16:3f:4d:40:29,resubmit(,2)',
  // §5.1
  'table=0,  priority=65535,dl_vlan=4095 actions=drop',
  'table=0,  priority=0 actions=resubmit(,58)',
  'table=23, priority=0 actions=drop',
  'table=24, priority=0 actions=drop',
  'table=30, priority=0 actions=resubmit(,58)',
  'table=31, priority=0 actions=resubmit(,58)',
  'table=58, priority=0 actions=resubmit(,59)',
  'table=59, priority=0 actions=resubmit(,60)',
  'table=60, priority=1 actions=NORMAL',
  'table=62, priority=3 actions=NORMAL',
  'table=0, priority=2,in_port="int-br-ex" actions=drop',
  'table=1, priority=1 actions=drop',
  'table=2, priority=1 actions=drop',
  // §5.2
  'table=0, priority=3,in_port="int-br-ex",vlan_tci=0x0000/0x1fff actions=mod_vlan_vid:2,resubmit(,58)',
  'table=0, priority=3,in_port="int-br-ex",dl_vlan=100 actions=mod_vlan_vid:5,resubmit(,58)',
  // §5.3
  'table=0, priority=2,in_port="patch-tun",dl_src=fa:16:3f:21:21:21 actions=resubmit(,1)',
  'table=0, priority=4,in_port="int-br-ex",dl_src=fa:16:3f:21:21:21 actions=resubmit(,2)',
  'table=0, priority=5,in_port="patch-tun",dl_dst=fa:16:3f:11:11:11 actions=resubmit(,3)',
  'table=0, priority=5,in_port="int-br-ex",dl_dst=fa:16:3f:11:11:11 actions=resubmit(,4)',
  // §5.4
  'table=1,  priority=20,dl_vlan=1,dl_dst=fa:16:3e:00:01:10 actions=mod_dl_src:fa:16:3e:00:01:01,resubmit(,58)',
  'table=60, priority=20,dl_vlan=1,dl_dst=fa:16:3e:00:01:10 actions=strip_vlan,output:"qvo11111111-11"',
  // §5.5
  'table=3,  priority=5,dl_vlan=1,dl_dst=fa:16:3f:11:11:11 actions=mod_dl_dst:fa:16:3e:00:01:01,strip_vlan,output:"qr-aaaaaaaa-aa"',
  'table=0,  priority=99,arp,dl_dst=fa:16:3f:11:11:11,arp_op=2,arp_tha=fa:16:3e:00:01:01 actions=mod_dl_dst:fa:16:3e:00:01:01,resubmit(,58)',
  // §5.6
  'table=0,  priority=2,in_port="patch-tun",dl_src=fa:16:3f:11:11:11 actions=resubmit(,1)',
  'table=1,  priority=20,dl_vlan=3,dl_dst=fa:16:3e:00:01:03 actions=mod_dl_src:fa:16:3e:00:01:01,resubmit(,58)',
  'table=60, priority=20,dl_vlan=3,dl_dst=fa:16:3e:00:01:03 actions=strip_vlan,output:"sg-bbbbbbbb-bb"',
  // §5.7
  'table=0,  priority=10,arp,in_port=tap0 actions=resubmit(,24)',
  'table=0,  priority=10,icmp6,in_port=tap0,icmp_type=136 actions=resubmit(,24)',
  'table=24, priority=2,icmp6,in_port=tap0,icmp_type=136,nd_target=fe80::f816:3eff:fe00:110 actions=resubmit(,58)',
  'table=0,  priority=9,in_port=tap0 actions=resubmit(,25)',
  'table=24, priority=2,arp,in_port=tap0,arp_spa=192.168.1.10 actions=resubmit(,25)',
  'table=25, priority=2,in_port=tap0,dl_src=fa:16:3e:00:01:10 actions=resubmit(,30)',
  // §6
  'table=0, priority=0 actions=NORMAL',
  'table=0, priority=2,in_port="phy-br-ex" actions=drop',
  'table=0, priority=4,in_port="phy-br-ex",dl_vlan=2 actions=strip_vlan,NORMAL',
  'table=0, priority=4,in_port="phy-br-ex",dl_vlan=2 actions=mod_vlan_vid:100,NORMAL',
  'table=0, priority=2,in_port="phy-br-ex" actions=resubmit(,1)',
  'table=0, priority=1 actions=resubmit(,3)',
  'table=1, priority=0 actions=resubmit(,2)',
  'table=2, priority=4,in_port="phy-br-ex",dl_vlan=2 actions=strip_vlan,NORMAL',
  'table=2, priority=2,in_port="phy-br-ex" actions=drop',
  'table=3, priority=2,dl_src=fa:16:3f:21:21:21 actions=output:"phy-br-ex"',
  'table=3, priority=1 actions=NORMAL',
];

// §3: captured native-driver dump lines (OVS 3.1.4), with stats.
const CAPTURED_DUMP = [
  ' cookie=0x80c150197bf57676, duration=2591.058s, table=4, n_packets=0, n_bytes=0, priority=1,tun_id=0xcb actions=mod_vlan_vid:3,resubmit(,10)',
  ' cookie=0x80c150197bf57676, duration=2696.119s, table=10, n_packets=0, n_bytes=0, priority=1 actions=learn(table=20,hard_timeout=300,priority=1,cookie=0x80c150197bf57676,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[]),output:"patch-int"',
  ' cookie=0x80c150197bf57676, duration=2442.726s, table=22, n_packets=19, n_bytes=1258, priority=1,dl_vlan=3 actions=strip_vlan,load:0xcb->NXM_NX_TUN_ID[],output:"vxlan-ac10001f"',
  ' cookie=0xbe0b5b07e55b958, duration=2660.465s, table=0, n_packets=139, n_bytes=22970, priority=3,in_port="int-br-provider",vlan_tci=0x0000/0x1fff actions=mod_vlan_vid:2,resubmit(,59)',
];

/** OVS's canonical add-flow spelling of a reference line: no table=0, one space after commas between flow fields. */
function canonical(line: string): string {
  return line.replace(/^table=0,\s+/, '').replace(/^(table=\d+,)\s+/, '$1 ').replace(/(hard_timeout=\d+,)\s+/, '$1 ');
}

test('every reference flow line parses and prints back canonically (with port names)', () => {
  for (const line of REFERENCE_FLOWS) {
    const flow = parseFlow(line, { resolvePort });
    assert.equal(formatFlow(flow, { portName }), canonical(line), line);
  }
});

test('captured dump-flows lines (stats, cookie, quoted names) print back byte for byte', () => {
  const flows = CAPTURED_DUMP.map((l) => parseFlow(l, { resolvePort }));
  assert.equal(flows[0]!.stats?.durationSec, 2591);
  assert.equal(flows[0]!.stats?.durationNsec, 58_000_000);
  assert.equal(flows[2]!.stats?.nBytes, 1258n);
  assert.equal(formatDumpFlows(flows, { portName }), CAPTURED_DUMP.join('\n'));
  // --no-stats: cookie (nonzero) stays; table only when nonzero.
  assert.equal(
    formatFlow(flows[3]!, { portName, stats: false }),
    'cookie=0xbe0b5b07e55b958, priority=3,in_port="int-br-provider",vlan_tci=0x0000/0x1fff actions=mod_vlan_vid:2,resubmit(,59)',
  );
});

test('dump line field order: idle/hard timeouts, idle_age, hard_age only when it differs', () => {
  const f = parseFlow(' cookie=0x0, duration=12.5s, table=20, n_packets=3, n_bytes=180, hard_timeout=300, idle_age=4, hard_age=12, priority=1,dl_dst=fa:16:3e:00:01:03 actions=drop');
  // Whole milliseconds print with 3 decimals (ofp_print_duration).
  assert.equal(formatFlow(f), 'cookie=0x0, duration=12.500s, table=20, n_packets=3, n_bytes=180, hard_timeout=300, idle_age=4, priority=1,dl_dst=fa:16:3e:00:01:03 actions=drop');
  f.stats!.hardAge = 7;
  assert.match(formatFlow(f), /idle_age=4, hard_age=7, priority=1/);
  // OF1.3 replies carry flags but no ages.
  f.flags.sendFlowRem = true;
  assert.equal(formatFlow(f, { dialect: 'of13' }), 'cookie=0x0, duration=12.500s, table=20, n_packets=3, n_bytes=180, hard_timeout=300, send_flow_rem priority=1,dl_dst=fa:16:3e:00:01:03 actions=drop');
  assert.equal(formatDuration(0, 0), '0s');
  assert.equal(formatDuration(1, 234_000_000), '1.234s');
  assert.equal(formatDuration(1, 1_000), '1.000001s');
});

test('numbers instead of names without a namer; names need quotes unless letter+alnum', () => {
  const f = parseFlow('in_port="patch-tun",actions=output:br_int,output:tap0,LOCAL,output:65534', { resolvePort });
  assert.equal(formatFlow(f), 'in_port=2 actions=output:13,output:12,LOCAL,LOCAL');
  assert.equal(formatFlow(f, { portName }), 'in_port="patch-tun" actions=output:"br_int",output:tap0,LOCAL,LOCAL');
  assert.equal(formatFlow(parseFlow('in_port=patch-tun actions=IN_PORT', { resolvePort }), { portName }), 'in_port="patch-tun" actions=IN_PORT');
});

test('OpenFlow 1.3 spellings print in the OF1.0 dump spelling, and back', () => {
  const cases: Array<[string, string, string]> = [
    // [input, of10 dump, of13 dump]
    ['table=4,priority=1,tun_id=0x3e9,actions=push_vlan:0x8100,set_field:4097->vlan_vid,goto_table:9',
      'table=4, priority=1,tun_id=0x3e9 actions=mod_vlan_vid:1,resubmit(,9)',
      'table=4, priority=1,tun_id=0x3e9 actions=push_vlan:0x8100,set_field:4097->vlan_vid,goto_table:9'],
    ['table=4,priority=1,tun_id=0x3e9,actions=mod_vlan_vid:1,resubmit(,9)',
      'table=4, priority=1,tun_id=0x3e9 actions=mod_vlan_vid:1,resubmit(,9)',
      'table=4, priority=1,tun_id=0x3e9 actions=push_vlan:0x8100,set_field:4097->vlan_vid,resubmit(,9)'],
    ['priority=3,dl_vlan=100,actions=mod_vlan_vid:5,goto_table:58',
      'priority=3,dl_vlan=100 actions=mod_vlan_vid:5,resubmit(,58)',
      'priority=3,dl_vlan=100 actions=set_field:4101->vlan_vid,goto_table:58'],
    ['table=22,priority=1,dl_vlan=1,actions=pop_vlan,set_field:0x3e9->tun_id,output:3',
      'table=22, priority=1,dl_vlan=1 actions=strip_vlan,load:0x3e9->NXM_NX_TUN_ID[],output:3',
      'table=22, priority=1,dl_vlan=1 actions=pop_vlan,set_field:0x3e9->tun_id,output:3'],
    ['table=1,priority=1,dl_vlan=1,dl_src=fa:16:3e:00:01:01,actions=set_field:fa:16:3f:11:11:11->eth_src,goto_table:2',
      'table=1, priority=1,dl_vlan=1,dl_src=fa:16:3e:00:01:01 actions=mod_dl_src:fa:16:3f:11:11:11,resubmit(,2)',
      'table=1, priority=1,dl_vlan=1,dl_src=fa:16:3e:00:01:01 actions=set_field:fa:16:3f:11:11:11->eth_src,goto_table:2'],
    ['table=21,priority=1,arp,dl_vlan=1,arp_tpa=192.168.1.3,actions=set_field:2->arp_op,move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],set_field:fa:16:3e:00:01:03->arp_sha,set_field:192.168.1.3->arp_spa,set_field:7->reg5,output:OXM_OF_IN_PORT[],IN_PORT',
      'table=21, priority=1,arp,dl_vlan=1,arp_tpa=192.168.1.3 actions=load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],load:0xfa163e000103->NXM_NX_ARP_SHA[],load:0xc0a80103->NXM_OF_ARP_SPA[],load:0x7->NXM_NX_REG5[],output:OXM_OF_IN_PORT[],IN_PORT',
      'table=21, priority=1,arp,dl_vlan=1,arp_tpa=192.168.1.3 actions=set_field:2->arp_op,move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],set_field:fa:16:3e:00:01:03->arp_sha,set_field:192.168.1.3->arp_spa,set_field:0x7->reg5,output:OXM_OF_IN_PORT[],IN_PORT'],
    ['tcp,actions=mod_nw_tos:32,mod_tp_dst:80,load:0x1->NXM_NX_REG0[3],output:NXM_OF_IN_PORT[]',
      'tcp actions=mod_nw_tos:32,mod_tp_dst:80,load:0x1->NXM_NX_REG0[3],output:NXM_OF_IN_PORT[]',
      'tcp actions=set_field:8->ip_dscp,set_field:80->tcp_dst,load:0x1->NXM_NX_REG0[3],output:NXM_OF_IN_PORT[]'],
  ];
  for (const [input, of10, of13] of cases) {
    const f = parseFlow(input, { resolvePort });
    assert.equal(formatFlow(f), of10, input);
    assert.equal(formatFlow(f, { dialect: 'of13' }), of13, input);
    // Both printed forms are valid input that means the same.
    assert.equal(formatFlow(parseFlow(of10)), of10);
    assert.equal(formatFlow(parseFlow(of13)), of10);
  }
  // set_tunnel is its own action in OF1.0 and a set_field in OF1.3.
  const t = parseFlow('actions=set_tunnel:0x5');
  assert.equal(formatFlow(t), 'actions=set_tunnel:0x5');
  assert.equal(formatFlow(t, { dialect: 'of13' }), 'actions=set_field:0x5->tun_id');
  // The stored form keeps what came in (ofproto/trace prints this).
  const f = parseFlow(cases[0]![0]);
  assert.equal(formatActions(f.actions, { dialect: 'stored', match: f.match }), 'push_vlan:0x8100,set_field:4097->vlan_vid,goto_table:9');
});

test('match spelling: shorthands, masks, prefixes, vlan forms, hex tun_id and regs', () => {
  const cases: Array<[string, string]> = [
    ['dl_type=0x0800,nw_proto=6,tp_dst=22', 'tcp,tp_dst=22'],
    ['ip,nw_proto=17', 'udp'],
    ['ip,nw_proto=89', 'ip,nw_proto=89'],
    ['dl_type=0x86dd,nw_proto=58,icmp_type=135', 'icmp6,icmp_type=135'],
    ['udp6,tp_src=546', 'udp6,tp_src=546'],
    ['dl_type=0x88cc', 'dl_type=0x88cc'],
    ['icmp,icmp_type=8,icmp_code=0,nw_dst=10.0.0.0/8', 'icmp,nw_dst=10.0.0.0/8,icmp_type=8,icmp_code=0'],
    ['ip,nw_src=192.168.1.77/24,nw_dst=1.2.3.4/255.0.255.0', 'ip,nw_src=192.168.1.0/24,nw_dst=1.0.3.0/255.0.255.0'],
    ['arp,nw_src=10.0.0.1,arp_op=1', 'arp,arp_spa=10.0.0.1,arp_op=1'],
    ['tcp,tp_src=0x0400/0xfc00', 'tcp,tp_src=0x400/0xfc00'],
    ['vlan_tci=0x1005', 'dl_vlan=5,dl_vlan_pcp=0'],
    ['vlan_tci=0x0005', 'vlan_tci=0x0005'],
    ['vlan_tci=0x1005/0x1fff', 'dl_vlan=5'],
    ['dl_vlan=0xffff', 'vlan_tci=0x0000'],
    ['dl_vlan=7,dl_vlan_pcp=3', 'dl_vlan=7,dl_vlan_pcp=3'],
    ['vlan_vid=0x1007', 'dl_vlan=7'],
    ['vlan_vid=0', 'vlan_tci=0x0000/0x1fff'],
    ['tunnel_id=103', 'tun_id=0x67'],
    ['tun_id=0x67/0xff', 'tun_id=0x67/0xff'],
    ['reg0=5,reg7=0x10/0xf0,metadata=0', 'reg0=0x5,reg7=0x10/0xf0,metadata=0'],
    ['NXM_NX_REG3[0..7]=9', 'reg3=0x9/0xff'],
    ['in_port=LOCAL,dl_src=fa:16:3e:00:00:01/ff:ff:ff:00:00:00', 'in_port=LOCAL,dl_src=fa:16:3e:00:00:00/ff:ff:ff:00:00:00'],
    ['ip,nw_tos=32,nw_ttl=64,ip_frag=later', 'ip,nw_tos=32,nw_ttl=64,nw_frag=later'],
    ['ip,ip_dscp=8,nw_ecn=1', 'ip,nw_tos=32,nw_ecn=1'],
    ['priority=32768,tun_id=1,in_port=3,reg1=1,ip,pkt_mark=2', 'pkt_mark=0x2,ip,reg1=0x1,tun_id=0x1,in_port=3'],
  ];
  for (const [input, expected] of cases) {
    const f = parseFlow(`${input},actions=drop`);
    assert.equal(formatMatch(f.match, f.priority), expected, input);
  }
});

test('learn(): Neutron spec round-trips exactly and instantiates the learned flow of §4.2', () => {
  const text = `table=10,priority=1,actions=learn(${SPEC}),output:"patch-int"`;
  const f = parseFlow(text, { resolvePort });
  assert.equal(formatFlow(f, { portName }), `table=10, priority=1 actions=learn(${SPEC}),output:"patch-int"`);
  assert.equal(formatFlow(f, { portName, dialect: 'of13' }), `table=10, priority=1 actions=learn(${SPEC}),output:"patch-int"`);
  const learn = f.actions[0]!;
  assert.equal(learn.kind, 'learn');
  if (learn.kind !== 'learn') return;

  // The packet as it reaches table 10: arrived on vxlan-0a000015 with VNI 1001,
  // tagged with local VLAN 1 by table 4, from the sg- MAC.
  const key = newKey();
  key[K.IN_PORT] = byName.get('vxlan-0a000015')!;
  key[K.VLAN_TCI] = 0x1001;
  key[K.TUN_ID_LO] = 0x3e9;
  key[K.DL_SRC_HI] = 0xfa16;
  key[K.DL_SRC_LO] = 0x3e000103;
  const read = (field: FieldDef, ofs: number, nBits: number): bigint => (readField(key, field) >> BigInt(ofs)) & ((1n << BigInt(nBits)) - 1n);
  const learned = instantiateLearn(learn.spec, read);
  assert.equal(
    formatFlow(learned, { portName }),
    `cookie=${COOKIE}, table=20, hard_timeout=300, priority=1,vlan_tci=0x0001/0x0fff,dl_dst=fa:16:3e:00:01:03 actions=load:0->NXM_OF_VLAN_TCI[],load:0x3e9->NXM_NX_TUN_ID[],output:"vxlan-0a000015"`,
  );
  // And the learned flow line is itself valid input.
  assert.equal(formatFlow(parseFlow(formatFlow(learned, { portName }), { resolvePort }), { portName }), formatFlow(learned, { portName }));
});

test('learn(): other spec forms (immediates, partial fields, flags) round-trip', () => {
  const specs = [
    'learn(table=1)',
    // learn_format prints immediates under the field's OVS name (eth_type, not dl_type).
    'learn(table=30,idle_timeout=10,fin_idle_timeout=5,fin_hard_timeout=15,send_flow_rem,delete_learned,limit=10,eth_type=0x800,nw_proto=6,NXM_OF_IP_SRC[]=NXM_OF_IP_DST[],NXM_NX_REG0[0..3]=0x5,in_port=99,load:0x1->NXM_NX_REG1[7],load:NXM_OF_IN_PORT[]->NXM_NX_REG2[0..15],output:NXM_NX_REG2[0..15])',
    'learn(table=2,priority=0,result_dst=NXM_NX_REG3[5],eth_dst=01:02:03:04:05:06)',
  ];
  for (const s of specs) {
    const f = parseFlow(`ip,actions=${s}`);
    assert.equal(formatActions(f.actions), s);
  }
  // Bare field names mean the whole field; OVS prints them with [].
  assert.equal(formatActions(parseFlow('actions=learn(table=2,NXM_OF_ETH_DST=NXM_OF_ETH_SRC)').actions), 'learn(table=2,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[])');
});

test('other actions: resubmit forms, controller, note padding, dec_ttl, write_metadata, drop', () => {
  const cases: Array<[string, string]> = [
    ['resubmit:3', 'resubmit:3'],
    ['resubmit(3)', 'resubmit:3'],
    ['resubmit(,5)', 'resubmit(,5)'],
    ['resubmit(2,5,ct)', 'resubmit(2,5,ct)'],
    ['controller', 'CONTROLLER:65535'],
    ['CONTROLLER:128', 'CONTROLLER:128'],
    ['output:CONTROLLER', 'CONTROLLER:65535'],
    ['controller(reason=no_match,max_len=64)', 'controller(reason=no_match,max_len=64)'],
    ['note:01.02', 'note:01.02.00.00.00.00'],
    ['note:0102030405060708', 'note:01.02.03.04.05.06.07.08.00.00.00.00.00.00'],
    ['dec_ttl', 'dec_ttl'],
    ['dec_ttl(1,2)', 'dec_ttl(1,2)'],
    ['set_tunnel64:0x1', 'set_tunnel64:0x1'],
    ['set_tunnel:0x100000000', 'set_tunnel64:0x100000000'],
    ['write_metadata:0x10/0xff,goto_table:3', 'write_metadata:0x10/0xff,resubmit(,3)'],
    ['FLOOD,ALL,NORMAL,LOCAL,in_port', 'FLOOD,ALL,NORMAL,LOCAL,IN_PORT'],
    ['drop', 'drop'],
    ['', 'drop'],
    ['1,2', 'output:1,output:2'],
    ['set_field:0x1/0x1->reg0', 'load:0x1->NXM_NX_REG0[0]'],
    ['ct(commit,zone=5,table=3)', 'ct(commit,table=3,zone=5)'],
  ];
  for (const [input, expected] of cases) {
    assert.equal(formatActions(parseFlow(`actions=${input}`).actions), expected, input);
  }
});

test('header lines, comments and blank lines are skipped by the multi-line parser', () => {
  const text = [
    'NXST_FLOW reply (xid=0x4):',
    ...CAPTURED_DUMP,
    '',
    'OFPST_FLOW reply (OF1.3) (xid=0x2):',
    '# a comment',
    'table=1,priority=1,actions=drop  # trailing comment',
  ].join('\n');
  const flows = parseFlows(text, { resolvePort });
  assert.equal(flows.length, 5);
  assert.equal(flows[4]!.table, 1);
});

test('flow filters (del-flows, dump-flows) take cookie masks and out_port; add-flow does not', () => {
  const f = parseFlowMod('cookie=0x80c150197bf57676/-1,table=20,out_port=2', 'stats');
  assert.equal(f.cookieMask, 0xffffffffffffffffn, 'a mask of -1 is the exact match (ovs-ofctl(8))');
  assert.equal(parseFlowMod('cookie=0x1/0xffffffffffffffff', 'stats').cookieMask, 0xffffffffffffffffn);
  // strtoull's negation modulo 2^64: `ovs-ofctl parse-flow cookie=-2,actions=drop` (3.1) prints cookie:0xfffffffffffffffe.
  assert.equal(parseFlow('cookie=-2,actions=drop').cookie, 0xfffffffffffffffen);
  assert.equal(f.outPort, 2);
  assert.throws(() => parseFlow('cookie=0x1/0x1,actions=drop'), /flow additions cannot use a cookie mask/);
});

function syntaxError(fn: () => unknown): FlowSyntaxError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FlowSyntaxError, `expected FlowSyntaxError, got ${String(e)}`);
    return e;
  }
  assert.fail('no error');
}

test('malformed lines are rejected naming the token and its column', () => {
  const cases: Array<[string, RegExp, string, number]> = [
    // [line, message, token, column]
    ['table=0,priority=1,dl_srcc=fa:16:3e:00:00:01,actions=drop', /unknown keyword dl_srcc/, 'dl_srcc', 20],
    ['priority=1,dl_vlan=70000,actions=drop', /70000: value too large for 2-byte field dl_vlan/, '70000', 20],
    ['dl_src=fa:16:3e:00:00:zz,actions=drop', /invalid Ethernet address/, 'fa:16:3e:00:00:zz', 8],
    ['priority=1,in_port=1', /must specify an action/, 'in_port=1', 21],
    ['priority=1 actions=resubmit(,2', /unbalanced parentheses/, 'resubmit(,2', 20],
    ['priority=1 actions=learn(table=20,output:NXM_OF_IN_PORT[]', /unbalanced parentheses/, 'learn(table=20,output:NXM_OF_IN_PORT[]', 20],
    ['priority=1 actions=resubmit(,2))', /unbalanced parentheses/, ')', 32],
    ['priority=1 actions=output:2,frobnicate', /unknown action frobnicate/, 'frobnicate', 29],
    ['in_port=no-such-port,actions=drop', /invalid or unknown port for in_port/, 'no-such-port', 9],
    ['actions=output:"no-such-port"', /output to unknown port/, '"no-such-port"', 16],
    ['priority=70000,actions=drop', /invalid priority/, '70000', 10],
    ['tun_id=0x67 actions=set_field:192.168.0.1->ip_src', /OFPBAC_MATCH_INCONSISTENT/, 'set_field:192.168.0.1->ip_src', 21],
    ['tun_id=0x67 actions=set_field:4097->vlan_vid', /OFPBAC_MATCH_INCONSISTENT/, 'set_field:4097->vlan_vid', 21],
    ['actions=load:0x1->NXM_OF_IP_SRC[]', /OFPBAC_MATCH_INCONSISTENT/, 'load:0x1->NXM_OF_IP_SRC[]', 9],
    ['actions=load:0x100->NXM_NX_REG0[0..7]', /does not fit into 8 bits/, '0x100', 14],
    ['actions=move:NXM_NX_REG0[0..3]->NXM_NX_REG1[]', /differ in width/, 'NXM_NX_REG0[0..3]->NXM_NX_REG1[]', 14],
    ['actions=mod_vlan_vid:4096', /not a valid VLAN VID/, '4096', 22],
    ['table=5,actions=goto_table:3', /OFPBRC_BAD_TABLE_ID/, 'goto_table:3', 17],
    ['actions=goto_table:3,output:1', /must be specified before goto_table/, 'output:1', 22],
    ['actions=drop,output:1', /"drop" must not be accompanied/, 'drop', 9],
    ['actions=learn(table=20,NXM_OF_VLAN_TCI[0..11],frob=1)', /unknown keyword frob/, 'frob=1', 47],
    ['actions=learn(table=20,NXM_OF_IP_SRC[])', /OFPBAC_MATCH_INCONSISTENT/, 'learn(table=20,NXM_OF_IP_SRC[])', 9],
    ['icmp6,nd_target=fe80::1,actions=drop', /prerequisites not met for nd_target/, 'nd_target=fe80::1', 7],
    ['ipv6,ipv6_src=2001:db8::/129,actions=drop', /IPv6 network prefix bits not between 0 and 128/, '2001:db8::/129', 15],
    // Matched only: actions do not write (or read) IPv6 fields, and say so as before they were known.
    ['ipv6,actions=set_field:2001:db8::1->ipv6_src', /ipv6_src is not a valid OXM field name/, 'ipv6_src', 37],
    ['ipv6,actions=load:1->NXM_NX_IPV6_DST[0..7]', /unknown field `NXM_NX_IPV6_DST'/, 'NXM_NX_IPV6_DST[0..7]', 22],
    ['ipv6,actions=move:NXM_NX_ND_TARGET[0..31]->NXM_NX_REG0[]', /unknown field `NXM_NX_ND_TARGET'/, 'NXM_NX_ND_TARGET[0..31]->NXM_NX_REG0[]', 19],
    ['nw_src=10.0.0.1 actions=drop', /prerequisites not met for nw_src/, 'nw_src=10.0.0.1', 1],
  ];
  for (const [line, re, token, column] of cases) {
    const e = syntaxError(() => parseFlow(line, { resolvePort, prereqs: 'error' }));
    assert.match(e.message, re, line);
    assert.equal(e.token, token, `${line}: token`);
    assert.equal(e.column, column, `${line}: column`);
    assert.ok(e.message.includes(`column ${column}`), e.message);
  }
  // Errors in a multi-line input name the line too.
  const e = syntaxError(() => parseFlows('table=0,actions=drop\ntable=1,foo=1,actions=drop'));
  assert.match(e.message, /^line 2: unknown keyword foo/);
});

test('missing prerequisites: OVS accepts the line and drops the field (normalization)', () => {
  const warnings: string[] = [];
  const f = parseFlow('nw_src=10.0.0.1,tp_dst=80,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=drop', { onWarning: (w) => warnings.push(w) });
  assert.equal(formatFlow(f), 'dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=drop');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /normalization changed ofp_match/);
  // With ip the same fields stay, except tp_dst (needs tcp/udp/sctp).
  assert.equal(formatFlow(parseFlow('ip,nw_src=10.0.0.1,tp_dst=80 actions=drop')), 'ip,nw_src=10.0.0.1 actions=drop');
});

test('add-flow form keeps flags, importance and timeouts and parses back', () => {
  const line = 'cookie=0x5,table=3,idle_timeout=10,hard_timeout=20,importance=7,send_flow_rem,reset_counts,priority=9,udp,tp_dst=53 actions=NORMAL';
  const f = parseFlow(line);
  const printed = formatAddFlow(f);
  assert.equal(printed, 'cookie=0x5, table=3, idle_timeout=10, hard_timeout=20, send_flow_rem reset_counts importance=7, priority=9,udp,tp_dst=53 actions=NORMAL');
  assert.equal(formatAddFlow(parseFlow(printed)), printed);
});
