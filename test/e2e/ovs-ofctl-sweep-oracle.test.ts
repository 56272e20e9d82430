// dpemu's ovs-ofctl held to ovs-ofctl 3.1 and a real ovs-vswitchd (test/helpers/ovs.ts), case by case:
// - the keywords each command takes: del-flows and dump-flows refuse actions=, priority (but
//   del-flows --strict), timeouts, importance, flags and a cookie without a mask, in OVS's words;
// - flows added in OpenFlow 1.0, 1.3 and 1.5 and dumped in 1.0 and 1.3 to 1.5: mod_vlan_vid
//   as push_vlan+set_field where the match has no VLAN, loads as set_field in 1.5 (masked when
//   partial), set_tunnel as a load once a 1.3 flow_mod made it a set_field, vlan_tci after OXM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Emulator } from '../../src/topology/builder.js';
import { ofctl } from '../../src/control/ovs-commands.js';
import { ControlError, type CommandResponse } from '../../src/control/protocol.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { Engine } from '../../src/datapath/engine.js';
import { RealOvs } from '../helpers/ovs.js';
import { requireRoot } from '../helpers/root.js';

let ovs: RealOvs;
let ctx: { emu: Emulator; invalidate: () => void };
before(() => {
  requireRoot('a real ovs-vswitchd');
  ovs = RealOvs.start();
  ovs.vsctl(['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'fail_mode=secure', '--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'ofport_request=1']);
  const engine = new Engine();
  const br = OvsBridge.create(engine, 'n1', 'br0', { failMode: 'secure' });
  br.addOvsPort('p1', { ofport: 1 });
  ctx = { emu: { engine, topology: { name: 't', nodes: [] } } as unknown as Emulator, invalidate: () => {} };
});
after(() => ovs?.stop());

type Result = { status: number | null; stdout: string; stderr: string };

/** dpemu ofctl CMD OPTS n1 br0 ARGS, failing or not. */
function mine(cmd: string, opts: string[], ...args: string[]): Result {
  try {
    const r = ofctl.run(ctx, [cmd, ...opts, 'n1', 'br0', ...args]) as CommandResponse;
    return { status: r.exit, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    assert.ok(e instanceof ControlError, String(e));
    return { status: e.exit, stdout: '', stderr: e.stderr };
  }
}

/** ovs-ofctl's, its log lines (a timestamped WARN some parsers add) set aside. */
function real(cmd: string, ...args: string[]): Result {
  const r = ovs.tryOfctl(cmd, 'br0', ...args);
  return { ...r, stderr: r.stderr.split('\n').filter((l) => !/^\d{4}-\d\d-\d\dT[^|]*\|/.test(l)).join('\n') };
}

const VERSIONS: Record<string, string[]> = { '1.0': [], '1.3': ['-O', 'OpenFlow13'], '1.4': ['-O', 'OpenFlow14'], '1.5': ['-O', 'OpenFlow15'] };

/** Flow-matching texts: each given to del-flows, del-flows --strict and dump-flows, in OpenFlow 1.0 and 1.3. */
const FILTERS = [
  'actions=drop', 'in_port=1,actions=output:1', 'ip actions=drop', 'priority=5', 'ip,priority=5', 'priority',
  'cookie=0x5', 'cookie=0x5/0xff', 'cookie=0x5/-1', 'cookie', 'idle_timeout=5', 'hard_timeout=5', 'importance=5',
  'send_flow_rem', 'check_overlap', 'reset_counts', 'no_packet_counts', 'no_byte_counts', 'send_flow_rem=1',
  'out_port=1', 'out_port', 'table=1', 'table', 'duration=5', 'n_packets=1', 'n_bytes=1', 'idle_age=1', 'hard_age=1',
  'ip,nw_src', 'in_port', 'dl_src', 'ip,nw_ttl', 'foo=1', 'table=1,ip,out_port=1',
];

test('del-flows, del-flows --strict and dump-flows take and refuse the keywords ovs-ofctl 3.1 does, in its words', () => {
  let refused = 0;
  for (const [cmd, strict] of [['del-flows', []], ['del-flows', ['--strict']], ['dump-flows', []], ['dump-flows', ['--strict']]] as const) {
    for (const version of ['1.0', '1.3']) {
      for (const f of FILTERS) {
        const opts = [...strict, ...VERSIONS[version]!];
        const r = real(cmd, ...opts, f);
        const m = mine(cmd, opts, f);
        assert.deepEqual([m.status, m.stderr], [r.status, r.stderr], `${cmd} ${opts.join(' ')} '${f}'`);
        if (r.status !== 0) refused++;
      }
    }
  }
  // As many refusals as ovs-ofctl 3.1 gave when this was written: the comparison saw them.
  assert.equal(refused, 180);
});

test('mod-flows refuses what ovs-ofctl 3.1 refuses: no actions, out_port, importance, a bare IP field', () => {
  for (const strict of [[], ['--strict']]) {
    for (const f of ['priority=5', 'cookie=0x5', 'out_port=1,ip actions=drop', 'importance=3,ip actions=drop', 'ip,nw_src actions=drop', 'foo=1',
      'cookie=0x5/0xff,ip actions=drop', 'send_flow_rem=1,ip actions=drop']) {
      const r = real('mod-flows', ...strict, f);
      const m = mine('mod-flows', strict, f);
      assert.deepEqual([m.status, m.stderr], [r.status, r.stderr], `mod-flows ${strict.join(' ')} '${f}'`);
    }
  }
});

/** Flows added alone, in each version, then dumped in each. */
const FLOWS = [
  'priority=1,in_port=1 actions=mod_vlan_vid:5,output:1',
  'priority=2,in_port=1,dl_vlan=3 actions=mod_vlan_vid:5,mod_vlan_pcp:3,output:1',
  'priority=3,in_port=1 actions=mod_vlan_pcp:3,output:1',
  'priority=4,in_port=1,dl_vlan=4 actions=strip_vlan,output:1',
  'priority=4,in_port=1,vlan_tci=0x1000/0x1000 actions=pop_vlan,output:1',
  'priority=5,in_port=1 actions=mod_vlan_vid:5,mod_vlan_pcp:2,output:1',
  'priority=5,in_port=1,dl_vlan=5 actions=set_vlan_vid:6,output:1',
  'priority=5,in_port=1,vlan_tci=0 actions=mod_vlan_vid:7,output:1',
  'priority=5,in_port=1,dl_vlan=3 actions=mod_vlan_vid:5,strip_vlan,mod_vlan_vid:6,output:1',
  'priority=6,vlan_tci=0x0000/0x1000 actions=output:1',
  'priority=6,vlan_tci=0x1005 actions=output:1',
  'priority=7 actions=load:0x5->NXM_NX_REG0[],output:1',
  'priority=7 actions=load:0x5->NXM_NX_REG0[4..11],load:0x1->NXM_NX_REG1[31],output:1',
  'priority=7 actions=load:0x2->NXM_NX_TUN_ID[0..15],load:0x2->OXM_OF_METADATA[]',
  'priority=7 actions=load:0->NXM_OF_VLAN_TCI[],output:1',
  'priority=7 actions=load:0x1005->NXM_OF_VLAN_TCI[],output:1',
  'priority=7,arp actions=load:0x2->NXM_OF_ARP_OP[],load:0xfa163e000001->NXM_OF_ETH_SRC[],output:1',
  'priority=7,ip actions=load:0x1->NXM_OF_IP_DST[0..7],load:0x4->NXM_OF_IP_TOS[2..7],load:0x1->NXM_NX_IP_ECN[]',
  'priority=8 actions=set_field:0x5/0xff->reg0,set_field:5->reg1,output:1',
  'priority=8,ip actions=set_field:1->nw_ecn,mod_nw_ecn:2,mod_nw_tos:16,mod_nw_ttl:9',
  'priority=8 actions=set_tunnel:0x5,set_tunnel64:0x6,output:1',
  'priority=8,tcp actions=mod_tp_dst:80,mod_nw_dst:192.0.2.1,mod_dl_src:02:00:00:00:00:02',
  'priority=9,ip,nw_ttl actions=drop',
];

test('flows added in OpenFlow 1.0, 1.3 and 1.5 dump as ovs-vswitchd 3.1 dumps them in 1.0 and 1.3 to 1.5', () => {
  const lines = (t: string): string => t.split('\n').filter((l) => l.startsWith(' ')).join('\n');
  let compared = 0;
  for (const flow of FLOWS) {
    for (const add of ['1.0', '1.3', '1.5']) {
      real('del-flows');
      mine('del-flows', []);
      const r = real('add-flow', ...VERSIONS[add]!, flow);
      const m = mine('add-flow', VERSIONS[add]!, flow);
      assert.deepEqual([m.status, m.stderr], [r.status, r.stderr], `add-flow (${add}) ${flow}`);
      assert.equal(r.status, 0, `add-flow (${add}) ${flow}: ${r.stderr}`);
      for (const dump of ['1.0', '1.3', '1.4', '1.5']) {
        const rd = lines(real('dump-flows', ...VERSIONS[dump]!, '--no-stats').stdout);
        const md = lines(mine('dump-flows', [...VERSIONS[dump]!, '--no-stats']).stdout);
        assert.equal(md, rd, `added in ${add}, dumped in ${dump}: ${flow}`);
        compared++;
      }
    }
  }
  assert.equal(compared, FLOWS.length * 12);
});

/**
 * Flows whose actions (or flags, or out_group) some versions cannot carry: ofpacts_check narrows
 * them to OpenFlow 1.0 where the match does not establish what an action acts on (strip_vlan
 * without a tag, mod_tp_dst without TCP/UDP/SCTP, dec_ttl without IP...), push_vlan to 1.1+;
 * none left is an inconsistent match. Added in 1.0, 1.3 and 1.5. (mod_nw_ecn and mod_nw_ttl
 * without IP pass ovs-ofctl in 1.0 and the switch refuses them: not compared there.)
 */
const NARROWED: [string, string[]][] = [
  ['priority=1 actions=mod_nw_dst:192.0.2.1', ['1.0', '1.3', '1.5']],
  ['priority=1,ipv6 actions=mod_nw_src:192.0.2.1', ['1.3']],
  ['priority=1 actions=mod_nw_tos:16', ['1.0', '1.3', '1.5']],
  ['priority=1 actions=mod_nw_ecn:1', ['1.3', '1.5']],
  ['priority=1 actions=mod_nw_ttl:9', ['1.3']],
  ['priority=1,ip actions=mod_tp_dst:80', ['1.0', '1.3', '1.5']],
  ['priority=1,icmp actions=mod_tp_src:80', ['1.3']],
  ['priority=1,udp actions=mod_tp_dst:80', ['1.0', '1.3']],
  ['priority=1 actions=strip_vlan', ['1.0', '1.3', '1.5']],
  ['priority=1 actions=push_vlan:0x8100', ['1.0', '1.3']],
  ['priority=1 actions=strip_vlan,push_vlan:0x8100', ['1.0', '1.3']],
  ['priority=1 actions=set_vlan_vid:5', ['1.0', '1.3']],
  ['priority=1 actions=set_vlan_pcp:5', ['1.0', '1.5']],
  ['priority=1,dl_vlan=3 actions=strip_vlan,set_vlan_vid:5', ['1.0', '1.3']],
  ['priority=1 actions=push_vlan:0x8100,set_vlan_vid:5', ['1.0', '1.3']],
  ['priority=1 actions=mod_vlan_vid:4,strip_vlan', ['1.0', '1.3']],
  ['priority=1 actions=dec_ttl', ['1.0', '1.3']],
  ['priority=1,ip actions=dec_ttl', ['1.3']],
  ['priority=1,ip,reset_counts actions=strip_vlan', ['1.0', '1.3']],
  ['priority=1,ip,no_packet_counts actions=push_vlan:0x8100', ['1.0', '1.3']],
];

test('add-flow refuses what no allowed version carries, in ovs-ofctl 3.1\'s words; del-flows and dump-flows out_group too', () => {
  let refused = 0;
  for (const [flow, versions] of NARROWED) {
    for (const v of versions) {
      real('del-flows');
      mine('del-flows', []);
      const r = real('add-flow', ...VERSIONS[v]!, flow);
      const m = mine('add-flow', VERSIONS[v]!, flow);
      assert.deepEqual([m.status, m.stderr], [r.status, r.stderr], `add-flow (${v}) ${flow}`);
      if (r.status !== 0) refused++;
    }
  }
  assert.equal(refused, 24, 'the refusals were compared');
  for (const cmd of ['del-flows', 'dump-flows']) {
    for (const v of ['1.0', '1.3']) {
      const r = real(cmd, ...VERSIONS[v]!, 'out_group=1');
      const m = mine(cmd, VERSIONS[v]!, 'out_group=1');
      assert.deepEqual([m.status, m.stderr], [r.status, r.stderr], `${cmd} (${v}) out_group=1`);
    }
  }
});
