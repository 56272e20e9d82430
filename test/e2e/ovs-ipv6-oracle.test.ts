// IPv6 match fields (ipv6_src, ipv6_dst, ipv6_label, nd_target, nd_sll,
// nd_tll) held to a real ovs-vswitchd 3.1 (test/helpers/ovs.ts): the same
// flows (neutron-dvr.md §5.7's ND anti-spoofing, prefixes, arbitrary masks,
// masked labels) added to both bridges dump alike, and random IPv6 packets
// traced with --generate take the same tables and flows, print the same
// Flow: line and put the same IPv6 and ND fields, with the same masks, in
// their megaflow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Emulator } from '../../src/topology/builder.js';
import { appctl, ofctl } from '../../src/control/ovs-commands.js';
import type { CommandResponse } from '../../src/control/protocol.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { Engine } from '../../src/datapath/engine.js';
import { mulberry32Unit } from '../../src/datapath/random.js';
import { RealOvs } from '../helpers/ovs.js';
import { requireRoot } from '../helpers/root.js';

let ovs: RealOvs;
let ctx: { emu: Emulator; invalidate: () => void };
before(() => {
  requireRoot('a real ovs-vswitchd');
  ovs = RealOvs.start();
  const engine = new Engine();
  const br = OvsBridge.create(engine, 'n1', 'br0', { failMode: 'secure' });
  const vs = ['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'fail_mode=secure'];
  for (const p of [1, 2, 3]) {
    br.addOvsPort(`p${p}`, { ofport: p });
    vs.push('--', 'add-port', 'br0', `p${p}`, '--', 'set', 'interface', `p${p}`, `ofport_request=${p}`);
  }
  ovs.vsctl(vs);
  ctx = { emu: { engine, topology: { name: 't', nodes: [] } } as unknown as Emulator, invalidate: () => {} };
});
after(() => ovs?.stop());

function mine(family: typeof appctl, argv: string[]): string {
  const r = family.run(ctx, argv) as CommandResponse;
  assert.equal(r.exit, 0, `dpemu ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const FLOWS = [
  // §5.7: ND advertisements from the VM only for its own addresses.
  'table=0,priority=10,icmp6,in_port=1,icmp_type=136,actions=resubmit(,24)',
  'table=0,priority=10,icmp6,in_port=1,icmp_type=135,actions=resubmit(,24)',
  'table=24,priority=2,icmp6,in_port=1,icmp_type=136,nd_target=2001:db8::7,actions=resubmit(,25)',
  'table=24,priority=2,icmp6,in_port=1,icmp_type=136,nd_target=fe80::f816:3eff:fe00:110,actions=resubmit(,25)',
  'table=24,priority=3,icmp6,in_port=1,icmp_type=136,nd_tll=fa:16:3e:00:00:09,actions=drop',
  'table=24,priority=2,icmp6,in_port=1,icmp_type=135,nd_sll=fa:16:3e:00:00:00/ff:ff:ff:00:00:00,actions=resubmit(,25)',
  'table=24,priority=1,icmp6,in_port=1,icmp_type=135,nd_target=2001:db8::/120,actions=output:3',
  'table=24,priority=0,actions=drop',
  'table=25,priority=1,actions=output:2',
  'table=0,priority=5,ipv6,ipv6_src=2001:db8::/64,actions=output:2',
  'table=0,priority=6,ipv6,ipv6_src=2001:db8::/64,ipv6_dst=2001:db8:1::/ffff:ffff:0:ffff::,actions=output:3',
  'table=0,priority=4,ipv6,ipv6_label=0x12345/0xf0000,actions=output:3',
  'table=0,priority=7,udp6,ipv6_dst=2001:db8:1::5,ipv6_label=0x00001,tp_dst=53,actions=output:1',
  'table=0,priority=3,tcp6,ipv6_dst=2001:db8:1::/48,actions=output:2',
];

test('IPv6 and ND flows dump from ovs-vswitchd as dpemu dumps them', () => {
  for (const f of FLOWS) {
    ovs.ofctl('add-flow', 'br0', f);
    mine(ofctl, ['add-flow', 'n1', 'br0', f]);
  }
  const lines = (t: string): string[] => t.split('\n').slice(1).filter(Boolean).map((l) => l.replace(/ duration=[^,]*,/, '').replace(/ (idle_age|hard_age)=[^,]*,/g, '')).sort();
  const ours = lines(mine(ofctl, ['dump-flows', 'n1', 'br0']));
  assert.equal(ours.length, FLOWS.length);
  assert.deepEqual(ours, lines(ovs.ofctl('dump-flows', 'br0')));
  for (const v of [['-O', 'OpenFlow13']]) {
    assert.deepEqual(lines(mine(ofctl, ['dump-flows', ...v, 'n1', 'br0'])), lines(ovs.ofctl('dump-flows', 'br0', ...v)), v.join(' '));
  }
});

/** The IPv6 and ND fields of a Megaflow: line, with their masks. */
function megaflowV6(text: string): string {
  const m = /\nMegaflow: (.*)\n/.exec(text);
  assert.ok(m, `no megaflow in:\n${text}`);
  return m[1]!.split(',').filter((f) => /^(ipv6_|nd_)/.test(f)).join(',');
}

/** The bridge section, 3.1's warning marker ">> " as 2.5.5's "-> " (see ovs-oracle.test.ts). */
function bridgeSection(text: string): string {
  return text.slice(text.indexOf('bridge("'), text.indexOf('\nFinal flow:')).replace(/^(\s+)>> /gm, '$1-> ').trim();
}

test('random IPv6 packets traced with --generate: the same Flow:, tables, flows and IPv6 megaflow fields as ovs-vswitchd', () => {
  const rnd = mulberry32Unit(6);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const ADDRS = ['2001:db8::7', '2001:db8::1', '2001:db8::1:0:0:9', '2001:db8:1::5', '2001:db8:1:0:ffff::5', '2001:db8:2::5', 'fe80::f816:3eff:fe00:110', 'fe80::1', '::', 'ff02::1:ff00:7', '::ffff:192.0.2.1'];
  const MACS = ['fa:16:3e:00:00:09', 'fa:16:3e:00:01:10', 'fa:17:3e:00:00:01', '00:00:00:00:00:00'];
  let compared = 0, nd = 0, v6mega = 0;
  for (let i = 0; i < 150; i++) {
    const parts = [`in_port=${pick([1, 1, 2, 3])}`];
    const k = rnd();
    if (k < 0.5) {
      const type = pick([135, 136, 136, 128]), code = pick([0, 0, 0, 1]);
      parts.push('icmp6', `ipv6_src=${pick(ADDRS)}`, `ipv6_dst=${pick(ADDRS)}`, 'nw_ttl=255', `icmpv6_type=${type}`, `icmpv6_code=${code}`);
      // ND fields only where is_nd holds (code 0), as the br_flow parser wants.
      if ((type === 135 || type === 136) && code === 0) {
        parts.push(`nd_target=${pick(ADDRS)}`);
        const mac = pick(MACS);
        if (mac !== '00:00:00:00:00:00') parts.push(`${type === 135 ? 'nd_sll' : 'nd_tll'}=${mac}`);
        nd++;
      }
    } else {
      const proto = pick(['udp6', 'tcp6', 'ipv6']);
      parts.push(proto, `ipv6_src=${pick(ADDRS)}`, `ipv6_dst=${pick(ADDRS)}`, `ipv6_label=${pick(['0x12345', '0x00001', '0x1', '0xfffff'])}`);
      if (proto !== 'ipv6') parts.push(`${proto === 'udp6' ? 'udp' : 'tcp'}_dst=${pick([53, 80])}`);
    }
    const flow = parts.join(',');
    const real = ovs.appctl(['ofproto/trace', 'br0', flow, '--generate']);
    const ours = mine(appctl, ['ofproto/trace', 'n1', 'br0', flow, '--generate']);
    const why = `${flow}\n--- dpemu:\n${ours}\n--- ovs-vswitchd:\n${real}`;
    // 3.1 prints nw_frag in Flow:, 2.5.5 (dpemu's text) does not.
    const flowLine = (t: string): string => /^Flow: (.*)$/m.exec(t)![1]!.replace(',nw_frag=no', '');
    assert.equal(flowLine(ours), flowLine(real), why);
    assert.equal(bridgeSection(ours), bridgeSection(real), why);
    assert.equal(megaflowV6(ours), megaflowV6(real), `megaflow: ${why}`);
    if (/nd_/.test(megaflowV6(ours)) && /ipv6_/.test(megaflowV6(real)) === /ipv6_/.test(megaflowV6(ours))) v6mega++;
    compared++;
  }
  assert.ok(compared === 150 && nd > 30 && v6mega > 10, `${nd} ND traces, ${v6mega} with ND fields in the megaflow`);
});
