// dump-flows text held to a real ovs-vswitchd 3.1 (test/helpers/ovs.ts):
// the same flows (resubmit, learn(), ct(), VLAN and field rewrites, ports
// whose names need quotes) added to both, then the same dump-flows text,
// reply head included, with and without --names and --no-stats, a filter,
// in OpenFlow 1.0 and 1.3 to 1.5. Timers aside (dpemu's clock is its own),
// and the order (OVS's classifier order for equal priorities). A flow keeps
// the actions its flow_mod's version carried (OpenFlow 1.0: goto_table is
// resubmit(,N)).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Emulator } from '../../src/topology/builder.js';
import { ofctl } from '../../src/control/ovs-commands.js';
import type { CommandResponse } from '../../src/control/protocol.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { Engine } from '../../src/datapath/engine.js';
import { RealOvs } from '../helpers/ovs.js';
import { requireRoot } from '../helpers/root.js';

let ovs: RealOvs | null = null;
after(() => ovs?.stop());

/** Ports as [name, ofport]: "p-3" and "tap:x" print quoted with --names. */
const PORTS: [string, number][] = [['p1', 1], ['p2', 2], ['p-3', 3], ['tap:x', 4]];

/** [options, flow], added to both in this order. */
const FLOWS: [string[], string][] = [
  [[], 'priority=10,ip,in_port=1 actions=output:2,resubmit(3,1),mod_vlan_vid:5,output:4'],
  [[], 'priority=11,in_port=4 actions=resubmit(,2),learn(table=2,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),LOCAL,IN_PORT,NORMAL'],
  [[], 'table=1,priority=12,ip,in_port=LOCAL,dl_src=02:00:00:00:00:01 actions=ct(commit,zone=5),ct(table=2,zone=NXM_NX_REG0[0..15]),controller'],
  [[], 'table=1,priority=13,in_port="p-3",dl_vlan=10 actions=strip_vlan,load:0x67->NXM_NX_TUN_ID[],output:"tap:x"'],
  [[], 'table=10,priority=1 actions=learn(table=20,hard_timeout=300,priority=1,cookie=0x5,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[]),output:1'],
  [['-O', 'OpenFlow13'], 'cookie=0x1234,table=2,priority=5,idle_timeout=30,send_flow_rem,tcp,tp_dst=80 actions=mod_nw_dst:192.0.2.1,mod_dl_src:02:00:00:00:00:02,dec_ttl,output:p2'],
  [['-O', 'OpenFlow14'], 'table=2,priority=6,importance=9,arp,arp_tpa=192.0.2.1,arp_op=1 actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:fa:16:3e:00:00:01,load:0x2->NXM_OF_ARP_OP[],IN_PORT'],
  [[], 'table=3,priority=7,udp,in_port=2,nw_src=192.0.2.0/24 actions=set_field:198.51.100.9->ip_dst,mod_tp_dst:53,goto_table:4'],
];

/** The head (or none) and flow lines of a dump, timers set aside, lines sorted. */
const normalized = (text: string): string[] => [
  text.startsWith(' ') || text === '' ? '(no head)' : text.split('\n')[0]!,
  ...text.split('\n').filter((l) => l.startsWith(' '))
    .map((l) => l.replace(/ duration=[0-9.]+s,/, ' duration=T,').replace(/ idle_age=\d+,/, ' idle_age=T,').replace(/ hard_age=\d+,/, ''))
    .sort(),
];

test('dump-flows prints what ovs-ofctl 3.1 prints: heads, --names, --no-stats, filters, OpenFlow 1.0 and 1.3 to 1.5', () => {
  requireRoot('a real ovs-vswitchd');
  const o = (ovs = RealOvs.start());
  o.vsctl(['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'fail_mode=secure',
    ...PORTS.flatMap(([n, p]) => ['--', 'add-port', 'br0', n, '--', 'set', 'interface', n, `ofport_request=${p}`])]);
  const engine = new Engine();
  const br = OvsBridge.create(engine, 'n1', 'br0', { failMode: 'secure' });
  for (const [n, p] of PORTS) br.addOvsPort(n, { ofport: p });
  const ctx = { emu: { engine, topology: { name: 't', nodes: [] } } as unknown as Emulator, invalidate: () => {} };
  const ours = (argv: string[]): string => {
    const r = ofctl.run(ctx, argv) as CommandResponse;
    assert.equal(r.exit, 0, `dpemu ofctl ${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  for (const [opts, flow] of FLOWS) {
    o.ofctl('add-flow', 'br0', ...opts, flow);
    ours(['add-flow', ...opts, 'n1', 'br0', flow]);
  }
  let compared = 0;
  for (const version of [[], ['-O', 'OpenFlow13'], ['-O', 'OpenFlow14'], ['-O', 'OpenFlow15']]) {
    for (const opts of [[], ['--no-stats'], ['--names'], ['--names', '--no-stats']]) {
      for (const filter of [[], ['table=1'], ['in_port=4']]) {
        const real = o.ofctl('dump-flows', 'br0', ...version, ...opts, ...filter);
        const mine = ours(['dump-flows', ...version, ...opts, 'n1', 'br0', ...filter]);
        const what = `dump-flows ${[...version, ...opts, ...filter].join(' ')}\n--- dpemu:\n${mine}\n--- ovs-vswitchd:\n${real}`;
        assert.deepEqual(normalized(mine), normalized(real), what);
        assert.ok(normalized(real).length > 1, `no flows in ${what}`);
        compared++;
      }
    }
  }
  assert.equal(compared, 48);
  // --sort/--rsort: no reply header, the flows by priority (ties in no order to compare: qsort's).
  const prios = (t: string): string[] => t.split('\n').filter(Boolean).map((l) => /priority=(\d+)/.exec(l)?.[1] ?? '32768');
  for (const opts of [['--sort'], ['--sort=priority'], ['--rsort'], ['--rsort=priority', '--no-stats']]) {
    const real = o.ofctl('dump-flows', 'br0', ...opts), mine = ours(['dump-flows', ...opts, 'n1', 'br0']);
    const what = `dump-flows ${opts.join(' ')}\n--- dpemu:\n${mine}\n--- ovs-vswitchd:\n${real}`;
    assert.deepEqual(normalized(mine), normalized(real), what);
    assert.deepEqual(prios(mine), prios(real), what);
    assert.ok(new Set(prios(real)).size > 2, what);
  }
});
