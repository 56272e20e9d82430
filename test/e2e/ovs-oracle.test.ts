// dpemu's OpenFlow pipelines held to a real ovs-vswitchd. Each node's OVS
// bridges of the seed (ports with their ofports, tags, patch peers and
// tunnel options, and the flows `dpemu ofctl dump-flows` prints) are built
// in a real Open vSwitch on its dummy datapath (test/helpers/ovs.ts), and
// the same random-but-plausible packets are traced through both with
// `ofproto/trace --generate` (which learns: NORMAL's MACs, learn() flows),
// in the same order. Each trace's bridge sections (every table, the flow
// that matched, its actions, patch crossings) must be the same text, its
// datapath outputs the same ports with the same VLAN and MACs, NORMAL's MAC
// tables the same along the way, and the flow tables (learned flows
// included) the same at the end.
//
// The real switch is OVS 3.1 (Debian 12); the write-up ran 2.5.5, whose
// text dpemu prints. normalize() names every difference between the two
// that this comparison meets, with where it comes from; anything else fails.
// The last test holds dump-ports' port order and xids to the real switch.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { appctl, ofctl, vsctl } from '../../src/control/ovs-commands.js';
import { ControlError } from '../../src/control/protocol.js';
import { spawnSync } from 'node:child_process';
import type { CommandResponse } from '../../src/control/protocol.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { OFPP } from '../../src/ofproto/actions.js';
import { parseFlow } from '../../src/ofproto/flow-parser.js';
import { formatFlow } from '../../src/ofproto/flow-printer.js';
import { mulberry32Unit } from '../../src/datapath/random.js';
import { Engine } from '../../src/datapath/engine.js';
import type { ManualClock } from '../../src/datapath/clock.js';
import { ip } from '../../src/control/ip-commands.js';
import { buildFrame } from '../../src/wire/frame.js';
import { QROUTER } from '../helpers/seed-names.js';
import { RealOvs, topLevel } from '../helpers/ovs.js';
import { requireRoot } from '../helpers/root.js';

const SEED = 'configs/seed-dvr-snat.yaml';
const TRACES_PER_BRIDGE = 300;

let emu: Emulator;
let ovs: RealOvs | null = null;

before(() => {
  requireRoot('a real ovs-vswitchd');
  emu = buildEmulator(loadTopologyOrThrow(SEED));
});
after(() => {
  ovs?.stop();
});

function run(family: typeof appctl, argv: string[]): string {
  const r = family.run({ emu, invalidate: () => {} }, argv) as CommandResponse; // both answer synchronously
  assert.equal(r.exit, 0, `dpemu ${family.name} ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const bridgesOf = (node: string): OvsBridge[] =>
  emu.engine.elements.filter((e): e is OvsBridge => e instanceof OvsBridge && e.node === node);

/** `node`'s bridges, ports and flows, as dpemu holds them, in the real switch. */
function mirror(o: RealOvs, node: string): void {
  for (const br of bridgesOf(node)) {
    o.addBridge(br);
    o.copyFlows(br.name, run(ofctl, ['dump-flows', node, br.name]));
  }
}

/** A flow line in one spelling (control-ofctl-parse.test.ts holds dpemu's parser to ovs-ofctl's). */
const canon = (text: string): string => formatFlow(parseFlow(text.trim()), { dialect: 'of10', stats: false });

/** The seed's MACs and addresses, and a few strangers, to build packets from. */
const MACS = ['fa:16:3e:b2:ef:af', 'fa:16:3e:06:d8:7b', 'fa:16:3e:d1:d8:49', 'fa:16:3f:13:77:c5', 'fa:16:3f:6e:1c:a9',
  'fa:17:3e:f7:cd:bc', '5c:c9:99:60:d2:71', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '02:00:00:00:00:01', '01:80:c2:00:00:00', '01:80:c2:00:00:0e'];
const IPS = ['192.168.1.7', '192.168.1.1', '192.168.1.6', '8.8.8.8', '169.254.96.33', '112.65.210.200', '203.0.113.8', '10.206.107.156'];
const VIDS = [10, 20, 103, 1, 4095];

/** One packet as a br_flow both parse the same way (fields in prerequisite order). */
function randomFlow(br: OvsBridge, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const inPort = pick(br.portList);
  const f: string[] = [];
  const kind = rnd();
  const proto = kind < 0.3 ? 'arp' : kind < 0.5 ? 'udp' : kind < 0.65 ? 'tcp' : kind < 0.8 ? 'icmp' : kind < 0.9 ? 'ip' : 'dl_type=0x88cc';
  f.push(proto, `in_port=${inPort.ofport === OFPP.LOCAL ? 'LOCAL' : inPort.ofport}`);
  if (inPort.type === 'vxlan') f.push(`tun_id=${pick(['0x67', '0x68', '0x1', '0x0'])}`, `tun_src=${pick(IPS)}`, `tun_dst=${pick(IPS)}`);
  if (rnd() < 0.4) f.push(`dl_vlan=${pick(VIDS)}`, `dl_vlan_pcp=${pick([0, 0, 5, 7])}`);
  f.push(`dl_src=${pick(MACS.slice(0, 7).concat(MACS[9]!))}`, `dl_dst=${pick(MACS)}`);
  if (proto === 'arp') {
    f.push(`arp_op=${pick([1, 2])}`, `arp_spa=${pick(IPS)}`, `arp_tpa=${pick(IPS)}`, `arp_sha=${pick(MACS.slice(0, 7))}`);
  } else if (proto !== 'dl_type=0x88cc') {
    f.push(`nw_src=${pick(IPS)}`, `nw_dst=${pick(IPS)}`, `nw_tos=${pick([0, 0, 0x10, 0xb8])}`, `nw_ttl=${pick([64, 2, 1, 0])}`);
    if (rnd() < 0.1) f.push(`ip_frag=${pick(['first', 'later'])}`);
    if (f.at(-1)!.startsWith('ip_frag=later')) return f.join(','); // no L4 header
    if (proto === 'udp') f.push(`udp_src=${40000 + Math.floor(rnd() * 100)}`, `udp_dst=${pick([53, 4789, 67])}`);
    if (proto === 'tcp') f.push(`tcp_src=${40000 + Math.floor(rnd() * 100)}`, `tcp_dst=${pick([22, 80])}`);
    if (proto === 'icmp') f.push(`icmp_type=${pick([8, 0])}`, 'icmp_code=0');
  }
  return f.join(',');
}

/**
 * The bridge sections of an ofproto/trace, in the spelling both share.
 * OVS 3.1 against 2.5.5 (dpemu's), in ofproto-dpif-xlate.c:
 * - xlate_report() gained levels: a warning (OFT_WARN, e.g. "disallowed VLAN
 *   VID for this input port, dropping") prints ">> " where 2.5.5 printed
 *   "-> " for every report; made "-> " again.
 * - what 2.5.5 only logged (VLOG_WARN_RL: "dropping VLAN 103 tagged packet
 *   received on port ..."; VLOG_DBG_RL: "learned that ... is on port ... in
 *   VLAN ...") 3.1 also reports in the trace (xlate_report_error's ">>>> ...
 *   <<<<", and an OFT_DETAIL line); left out. Learning itself is compared
 *   through fdb/show.
 * - an output to a tunnel port says "-> output to kernel tunnel" in 2.5.5;
 *   3.1 on the dummy datapath says nothing or "-> output to native tunnel";
 *   left out.
 * Everything else must agree.
 */
function bridgeSections(text: string): string {
  const start = text.indexOf('bridge("');
  const end = text.indexOf('\nFinal flow:');
  assert.ok(start >= 0 && end > start, `no bridge section in:\n${text}`);
  return text.slice(start, end).split('\n')
    .filter((l) => !/^\s+(>>>> .* <<<<|-> learned that \S+ is on port \S+ in VLAN \d+|-> output to (kernel|native) tunnel)$/.test(l))
    .map((l) => l.replace(/^(\s+)>> /, '$1-> ').trimEnd()).join('\n').trim();
}

/**
 * `Final flow:` as the fields both print: "unchanged", or the header fields
 * (3.1 adds its wider flow's fields: tunnel metadata beyond id/src/dst,
 * vlan_tci1, nw_frag, which 2.5.5 leaves out).
 */
function finalFlow(text: string): string {
  const m = /\nFinal flow: (.*)\n/.exec(text);
  assert.ok(m, `no final flow in:\n${text}`);
  if (m[1] === 'unchanged') return m[1];
  return m[1]!.split(',').filter((f) => !/^(tun_(ipv6_src|ipv6_dst|gbp_id|gbp_flags|tos|ttl|erspan_ver|flags)|gtpu_flags|gtpu_msgtype|vlan_tci1|nw_frag)=/.test(f)).join(',');
}


/**
 * What each output of `Datapath actions:` sends: the port's name, the VLAN
 * and the MACs at that point (sorted: OVS floods in its bundles' hash
 * order). Datapath port numbers differ (the dummy datapath numbers a port by
 * the digits in its name), so each side's are named through its dpif/show. Tunnel
 * metadata is not compared: OVS 3.1's dummy datapath outputs to a vxlan port
 * without set(tunnel(...)).
 */
function outputs(text: string, flow: string, portName: (n: number) => string): string[] {
  const m = /\nDatapath actions: (.*)\n/.exec(text);
  assert.ok(m, `no datapath actions in:\n${text}`);
  const field = (k: string): string => new RegExp(`(?:^|,)${k}=([^,]+)`).exec(flow)?.[1] ?? '00:00:00:00:00:00';
  let src = field('dl_src'), dst = field('dl_dst');
  let vlan = /(?:^|,)dl_vlan=(\d+)/.exec(flow)?.[1] ?? 'none';
  const sent: string[] = [];
  if (m[1] === 'drop') return sent;
  for (const a of topLevel(m[1]!)) {
    if (/^\d+$/.test(a)) sent.push(`${portName(Number(a))} vlan=${vlan} src=${src} dst=${dst}`);
    else if (a === 'pop_vlan') vlan = 'none';
    else if (a.startsWith('push_vlan(')) vlan = /vid=(\d+)/.exec(a)![1]!;
    else if (a.startsWith('set(eth(')) {
      src = /src=([0-9a-f:]+)/.exec(a)?.[1] ?? src;
      dst = /dst=([0-9a-f:]+)/.exec(a)?.[1] ?? dst;
    } else assert.ok(a.startsWith('set('), `datapath action ${a} not understood (in ${m[1]})`);
  }
  return sent.sort();
}

/** "    NAME OFPORT/ODP: (type...)" lines of dpif/show: datapath port -> name; a bridge's own port is its LOCAL. */
function odpNames(show: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const l of show.matchAll(/^\s+(\S+) (\d+)\/(\d+):/gm)) names.set(Number(l[3]), l[2] === '65534' ? 'LOCAL' : l[1]!);
  return names;
}

for (const node of ['w07', 'w02']) {
  test(`${node}: ${TRACES_PER_BRIDGE} random packets a bridge take the same tables and flows in a real ovs-vswitchd`, () => {
    ovs?.stop();
    const o = (ovs = RealOvs.start());
    mirror(o, node);
    const rnd = mulberry32Unit(node === 'w07' ? 7 : 2);
    const odp = odpNames(o.appctl(['dpif/show'])), ours = odpNames(run(appctl, ['dpif/show', node]));
    const ourPort = (n: number): string => ours.get(n) ?? `odp ${n}`;
    let compared = 0, forwarded = 0;
    const fdb = (text: string): string[] => text.split('\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/).slice(0, 3).join(' ')).sort();
    for (const br of bridgesOf(node)) {
      for (let i = 0; i < TRACES_PER_BRIDGE; i++) {
        const flow = randomFlow(br, rnd);
        const real = o.appctl(['ofproto/trace', br.name, flow, '--generate']);
        const ours = run(appctl, ['ofproto/trace', node, br.name, flow, '--generate']);
        const why = `${node} ${br.name} ${flow}\n--- dpemu:\n${ours}\n--- ovs-vswitchd:\n${real}`;
        assert.equal(bridgeSections(ours), bridgeSections(real), why);
        assert.deepEqual(finalFlow(ours), finalFlow(real), `Final flow: ${why}`);
        const sent = outputs(ours, flow, ourPort);
        assert.deepEqual(sent, outputs(real, flow, (n) => odp.get(n) ?? `odp ${n}`), why);
        if (sent.length > 0) forwarded++;
        compared++;
        // NORMAL's MAC table (port, VLAN, MAC; ages differ by the tools' clocks), now and then.
        if (i % 25 === 24) {
          for (const b of bridgesOf(node)) assert.deepEqual(fdb(run(appctl, ['fdb/show', node, b.name])), fdb(o.appctl(['fdb/show', b.name])), `${node} ${b.name} fdb/show after ${flow}`);
        }
      }
    }
    // NORMAL's totals after the same learning: fdb/stats-show's text, every number (nothing expires in the test's time).
    for (const b of bridgesOf(node)) assert.equal(run(appctl, ['fdb/stats-show', node, b.name]), o.appctl(['fdb/stats-show', b.name]), `${node} ${b.name} fdb/stats-show`);
    // The flow tables after it all, learn()'s flows included (timers and counters aside).
    for (const b of bridgesOf(node)) {
      const flows = (text: string): string[] => text.split('\n').slice(1).filter(Boolean)
        .map((l) => canon(l.replace(/ (duration|n_packets|n_bytes|idle_age|hard_age)=[^,]*,/g, ''))).sort();
      const ours = flows(run(ofctl, ['dump-flows', node, b.name]));
      assert.deepEqual(ours, flows(o.ofctl('dump-flows', b.name)), `${node} ${b.name} dump-flows`);
      if (b.name === 'br-tun') assert.ok(ours.some((f) => f.includes('table=20') && f.includes('hard_timeout=300')), 'no flow learned');
    }
    // The packets must exercise forwarding, not only drops.
    assert.ok(compared >= 2 * TRACES_PER_BRIDGE && forwarded >= compared / 10, `${forwarded} of ${compared} traces sent something`);
  });
}

test("after mod-port no-flood, no-forward and no-receive, packets take the same tables and outputs as in ovs-vswitchd", () => {
  ovs?.stop();
  const o = (ovs = RealOvs.start());
  emu = buildEmulator(loadTopologyOrThrow(SEED));
  const node = 'w07';
  mirror(o, node);
  // The same port_mods on both: a flood leaves qr- out, nothing enters by the VM's port nor by br-int's patch port
  // (a translation from br-tun that crosses stops there), nothing leaves by a tunnel port. (Not a flooded port's no-forward:
  // its report's place among the flood's outputs follows OVS's bundle order, which dpemu's ofport order is not.)
  const mods: [string, string, string][] = [
    ['br-int', 'qr-178fc8e2-fd', 'no-flood'], ['br-int', 'qvo2ab77d0f-99', 'no-receive'],
    ['br-int', 'patch-tun', 'no-receive'], ['br-tun', 'vxlan-0ace6b9c', 'no-forward'],
  ];
  for (const [br, port, word] of mods) {
    run(ofctl, ['mod-port', node, br, port, word]);
    o.ofctl('mod-port', br, port, word);
  }
  const rnd = mulberry32Unit(71);
  const odp = odpNames(o.appctl(['dpif/show'])), ours = odpNames(run(appctl, ['dpif/show', node]));
  const seen = new Set<string>();
  for (const br of bridgesOf(node)) {
    for (let i = 0; i < 150; i++) {
      const flow = randomFlow(br, rnd);
      const real = o.appctl(['ofproto/trace', br.name, flow, '--generate']);
      const mine = run(appctl, ['ofproto/trace', node, br.name, flow, '--generate']);
      const why = `${br.name} ${flow}\n--- dpemu:\n${mine}\n--- ovs-vswitchd:\n${real}`;
      assert.equal(bridgeSections(mine), bridgeSections(real), why);
      assert.deepEqual(outputs(mine, flow, (n) => ours.get(n) ?? `odp ${n}`), outputs(real, flow, (n) => odp.get(n) ?? `odp ${n}`), why);
      if (/OFPPC_NO_FWD set, skipping output/.test(real)) seen.add('no-forward');
      if (/flooding/.test(real) && !/qr-178fc8e2-fd/.test(outputs(real, flow, (n) => odp.get(n) ?? '').join())) seen.add('no-flood');
      if (br.name === 'br-int' && /(^|,)in_port=(41|1),/.test(flow)) seen.add('no-receive');
      if (br.name === 'br-tun' && /bridge\("br-int"\)\n-+\n(\n|$)/.test(real)) seen.add('no-receive across');
    }
  }
  assert.deepEqual([...seen].sort(), ['no-flood', 'no-forward', 'no-receive', 'no-receive across']);
});

/** The port column of a dump-ports reply, in its order (the counters differ: 3.1's dummy netdevs print '?' for what they do not count). */
const portOrder = (text: string): string[] => [...text.matchAll(/^ {2}port +(\S+):/gm)].map((m) => m[1]!);

test("dump-ports lists the ports in ovs-vswitchd's order (ofproto's hmap of ports), the seed's bridges and a 40-port one", () => {
  ovs?.stop();
  const o = (ovs = RealOvs.start());
  for (const node of ['w07', 'w02']) {
    mirror(o, node);
    for (const br of bridgesOf(node)) {
      const ours = run(ofctl, ['dump-ports', node, br.name]);
      const real = o.ofctl('dump-ports', br.name);
      assert.equal(ours.split('\n')[0], real.split('\n')[0], `${node} ${br.name} header`);
      assert.deepEqual(portOrder(ours), portOrder(real), `${node} ${br.name}`);
      o.vsctl(['del-br', br.name]);
    }
  }
  // Enough ports for three expansions of the table and shared buckets, added in a scrambled order.
  const engine = new Engine();
  const br = OvsBridge.create(engine, 'n1', 'br-big');
  o.vsctl(['add-br', 'br-big']);
  const rnd = mulberry32Unit(40);
  const nos = Array.from({ length: 40 }, (_, i) => i + 1).sort(() => rnd() - 0.5);
  for (const n of nos) {
    br.addOvsPort(`p${n}`, { ofport: n });
    o.vsctl(['add-port', 'br-big', `p${n}`, '--', 'set', 'interface', `p${n}`, `ofport_request=${n}`]);
  }
  const big = { emu: { engine, topology: { name: 't', nodes: [] } } as unknown as Emulator, invalidate: () => {} };
  const ours = (ofctl.run(big, ['dump-ports', 'n1', 'br-big']) as CommandResponse).stdout;
  const real = o.ofctl('dump-ports', 'br-big');
  assert.equal(portOrder(ours).length, 41);
  assert.deepEqual(portOrder(ours), portOrder(real));
  // The port argument: a name costs ovs-ofctl a second connection (xid 0x4), a number does not.
  assert.equal(run(ofctl, ['dump-ports', 'w02', 'br-int', 'patch-tun']).split('\n')[0], 'OFPST_PORT reply (xid=0x4): 1 ports');
  assert.equal(o.ofctl('dump-ports', 'br-big', 'p7').split('\n')[0], 'OFPST_PORT reply (xid=0x4): 1 ports');
  assert.equal(o.ofctl('dump-ports', 'br-big', '7').split('\n')[0], 'OFPST_PORT reply (xid=0x2): 1 ports');
});

/** Port -> "rx pkts,bytes tx pkts,bytes" of a dump-ports reply. */
const counts = (text: string): Map<string, string> =>
  new Map([...text.matchAll(/^ {2}port +(\S+): rx pkts=(\d+), bytes=(\d+),.*\n {11}tx pkts=(\d+), bytes=(\d+),/gm)].map((m) => [m[1]!, `${m[2]},${m[3]} ${m[4]},${m[5]}`]));

test('dump-ports counts as the real ovs-vswitchd: a request from the VM on a system, an internal, two patch and a tunnel port', async () => {
  ovs?.stop();
  const o = (ovs = RealOvs.start());
  // A fresh emulator: the trace tests above taught the bridges MACs and learn()ed flows.
  emu = buildEmulator(loadTopologyOrThrow(SEED));
  mirror(o, 'w07');
  // The real switch's qr- port leads nowhere: dpemu's router must not send the request back either.
  assert.equal((ip.run({ emu, invalidate: () => {} }, ['-n', QROUTER, 'w07', 'link', 'set', 'qr-178fc8e2-fd', 'down']) as CommandResponse).exit, 0);
  const req = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64 }, udp: { sport: 40000, dport: 53, payload: 64 } });
  o.appctl(['netdev-dummy/receive', 'qvo2ab77d0f-99', Buffer.from(req).toString('hex')]);
  emu.engine.inject(emu.engine.pool.allocFrom(req)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
  // The dummy datapath handles the packet on its own thread: wait until its outputs are counted.
  const done = (c: Map<string, string>): boolean => c.get('1') === '0,0 1,106' && c.get('40') === '0,0 1,106';
  for (let i = 0; i < 50 && !done(counts(o.ofctl('dump-ports', 'br-int'))); i++) await new Promise((r) => setTimeout(r, 100));
  // NORMAL floods the unlearned request to qr-, LOCAL and patch-tun (tagged: 110 bytes, counted as the
  // 106 that entered the datapath), br-tun's table 1 drops it. LOCAL differs: the seed's is down (dpemu:
  // a tx drop, as a kernel datapath counts it), a dummy LOCAL port counts what it is sent.
  for (const br of ['br-int', 'br-tun']) {
    const ours = counts(run(ofctl, ['dump-ports', 'w07', br]));
    const real = counts(o.ofctl('dump-ports', br));
    ours.delete('LOCAL');
    real.delete('LOCAL');
    assert.deepEqual(ours, real, br);
  }
});

test('dpif/show lists the bridges and ports as ovs-vswitchd does, each datapath port a number of its own', () => {
  ovs?.stop();
  const o = (ovs = RealOvs.start());
  emu = buildEmulator(loadTopologyOrThrow(SEED));
  // The dummy datapath numbers a port by the digits in its name, calls internal ports dummy-internal, and its
  // stand-in for the vxlan netdev has no tunnel configuration to show: those are left out of the comparison.
  const norm = (t: string): string => t.replace(/dummy-internal/g, 'internal').replace(/\(vxlan: [^)]*\)/g, '(vxlan)').replace(/ (\d+)\/\d+:/g, ' $1/N:');
  for (const node of ['w07', 'w02']) {
    mirror(o, node);
    const ours = run(appctl, ['dpif/show', node]);
    assert.equal(norm(ours), norm(o.appctl(['dpif/show'])), node);
    // As the kernel datapath numbers them: 0 is ovs-system's own, every other port a number of its own but a patch
    // port (none) and the vxlan ports of one UDP port (their vxlan_sys_4789).
    const nums = [...ours.matchAll(/^ {4}\S+ \d+\/(\d+): \((\w+)/gm)].filter((m) => m[2] !== 'vxlan').map((m) => Number(m[1]));
    assert.equal(new Set(nums).size, nums.length, ours);
    assert.ok(!nums.includes(0) && /^ {4}patch-tun 1\/none: \(patch: peer=patch-int\)$/m.test(ours), ours);
    for (const br of bridgesOf(node)) o.vsctl(['del-br', br.name]);
  }
  // get_tunnel_config: in_key=flow and out_key=flow print as key=flow, keys sorted, df_default only when false.
  assert.match(run(appctl, ['dpif/show', 'w07']), /^ {4}vxlan-0ace6b9c 5\/\d+: \(vxlan: key=flow, local_ip=10\.206\.107\.238, remote_ip=10\.206\.107\.156\)$/m);
});

test('ofctl show and dump-ports-desc print what ovs-ofctl prints of a real ovs-vswitchd with the same ports, in each OpenFlow version', () => {
  ovs?.stop();
  const o = (ovs = RealOvs.start());
  emu = buildEmulator(loadTopologyOrThrow(SEED));
  // The real switch's ports carry dummy netdevs' MACs and no link features: the addresses and the
  // speed lines are the only words left out (dpemu's veths say what a kernel veth says).
  const shape = (text: string): string => text.replace(/(addr|dpid):[0-9a-f:]+/g, '$1:X').replace(/^ {5}(current|speed):.*\n/gm, '');
  for (const node of ['w07', 'w02']) {
    mirror(o, node);
    for (const br of bridgesOf(node)) {
      // Down in dpemu (the seed's LOCAL ports): down, and without carrier, in the real switch too.
      for (const d of br.portsDesc()) {
        if (d.up) continue;
        o.ofctl('mod-port', br.name, d.name, 'down');
        o.appctl(['netdev-dummy/set-admin-state', d.name, 'down']);
      }
      for (const v of [[], ['-O', 'OpenFlow13'], ['-O', 'OpenFlow14'], ['-O', 'OpenFlow15']]) {
        const ours = run(ofctl, ['show', node, br.name, ...v]);
        assert.equal(shape(ours), shape(o.ofctl('show', br.name, ...v)), `${node} ${br.name} show ${v.join(' ')}`);
        assert.equal(shape(run(ofctl, ['dump-ports-desc', node, br.name, ...v])), shape(o.ofctl('dump-ports-desc', br.name, ...v)), `${node} ${br.name} dump-ports-desc ${v.join(' ')}`);
        // The datapath id is the LOCAL port's address.
        const local = /^ LOCAL\([^)]+\): addr:([0-9a-f:]+)$/m.exec(ours)![1]!;
        assert.equal(/dpid:([0-9a-f]+)/.exec(ours)![1], `0000${local.replaceAll(':', '')}`);
      }
      const extra = o.tryOfctl('show', br.name, 'x');
      assert.equal(extra.status, 1);
      assert.throws(() => ofctl.run({ emu, invalidate: () => {} }, ['show', node, br.name, 'x']), { message: extra.stderr.trim() });
      o.vsctl(['del-br', br.name]);
    }
  }
});

test('vsctl list-br, list-ports, list-ifaces, port-to-br, iface-to-br, br-exists and get answer as ovs-vsctl does of the same bridges', () => {
  ovs?.stop();
  const o = (ovs = RealOvs.start());
  emu = buildEmulator(loadTopologyOrThrow(SEED));
  const real = (args: string[]) => {
    const r = spawnSync('ovs-vsctl', [`--db=unix:${o.dir}/db.sock`, ...args], { encoding: 'utf8' });
    return { exit: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const ours = (node: string, args: string[]) => {
    const opts = args.filter((a) => a.startsWith('--')), words = args.filter((a) => !a.startsWith('--'));
    try {
      const r = vsctl.run({ emu, invalidate: () => {} }, [...opts, words[0]!, node, ...words.slice(1)]) as CommandResponse;
      return { exit: r.exit, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      if (!(e instanceof ControlError)) throw e;
      return { exit: e.exit, stdout: '', stderr: e.stderr };
    }
  };
  // dpemu quotes as OVS 2.5 (the write-up's), which quoted any string with a digit; 3.1 quotes fewer.
  const bare = (t: string) => t.replace(/"([A-Za-z_][A-Za-z0-9_.-]*)"/g, '$1');
  let compared = 0;
  // A fail_mode set to standalone is shown as set (the column), where an unset one is [].
  bridgesOf('w07').find((b) => b.name === 'br-tun')!.setFailMode('standalone');
  for (const node of ['w07', 'w02']) {
    mirror(o, node);
    // The write-up's br-ex has no fail_mode (standalone by default).
    for (const br of bridgesOf(node)) if (!br.failModeColumn) o.vsctl(['clear', 'bridge', br.name, 'fail_mode']);
    const cases: string[][] = [['list-br'], ['list-ports', 'br-nope'], ['br-exists', 'br-nope'], ['port-to-br', 'nope'], ['iface-to-br', 'nope'],
      ['get', 'Interface', 'nope', 'ofport'], ['--if-exists', 'get', 'Interface', 'nope', 'ofport'], ['get', 'Interface', 'patch-tun', 'nocol'], ['get', 'Nope', 'x', 'name'], ['list-br', 'extra']];
    for (const br of bridgesOf(node)) {
      cases.push(['list-ports', br.name], ['list-ifaces', br.name], ['br-exists', br.name], ['br-to-vlan', br.name], ['br-to-parent', br.name], ['get', 'Bridge', br.name, 'name', 'fail_mode']);
      for (const p of br.portList) {
        cases.push(['port-to-br', p.name], ['iface-to-br', p.name], ['get', 'interface', p.name, 'name', 'type', 'ofport', 'options'], ['get', 'Port', p.name, 'tag', 'trunks', 'vlan_mode']);
        for (const k of Object.keys(p.options)) cases.push(['get', 'Interface', p.name, `options:${k}`]);
      }
      cases.push(['get', 'Interface', br.portList.find((p) => p.type === 'patch')?.name ?? br.name, 'options:nokey']);
    }
    for (const c of cases) {
      const a = ours(node, c), b = real(c);
      assert.deepEqual({ ...a, stdout: bare(a.stdout) }, { ...b, stdout: bare(b.stdout) }, `${node}: ovs-vsctl ${c.join(' ')}`);
      compared++;
    }
    for (const br of bridgesOf(node)) o.vsctl(['del-br', br.name]);
  }
  assert.ok(compared > 100, `${compared} commands compared`);
});

test('fdb/stats-show after learning into a full table: the same entries evicted, learned and moved as in ovs-vswitchd; vsctl\'s mac-table-size and mac-aging-time act as there', () => {
  ovs?.stop();
  const o = (ovs = RealOvs.start());
  emu = buildEmulator(loadTopologyOrThrow(SEED));
  mirror(o, 'w07');
  /** The same ovs-vsctl write on both sides. */
  const set = (...words: string[]): void => {
    o.vsctl(words);
    run(vsctl, [words[0]!, 'w07', ...words.slice(1)]);
  };
  // other_config:mac-table-size below its least (mac_learning_set_max_entries clamps it to 10): the seed's MACs and
  // VLANs overflow it.
  for (const br of bridgesOf('w07')) set('set', 'bridge', br.name, 'other_config:mac-table-size=3');
  // Both clocks still (dpemu's is manual): an entry refreshed a second later moves up the LRU list, which decides
  // the port's entry evicted next.
  o.appctl(['time/stop']);
  const rnd = mulberry32Unit(10);
  const fdb = (text: string): string[] => text.split('\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/).slice(0, 3).join(' ')).sort();
  const same = (what: string): void => {
    for (const br of bridgesOf('w07')) {
      assert.deepEqual(fdb(run(appctl, ['fdb/show', 'w07', br.name])), fdb(o.appctl(['fdb/show', br.name])), `${br.name} fdb/show ${what}`);
      assert.equal(run(appctl, ['fdb/stats-show', 'w07', br.name]), o.appctl(['fdb/stats-show', br.name]), `${br.name} ${what}`);
    }
  };
  let evicted = 0;
  for (const br of bridgesOf('w07')) {
    for (let i = 0; i < 200; i++) {
      const flow = randomFlow(br, rnd);
      o.appctl(['ofproto/trace', br.name, flow, '--generate']);
      run(appctl, ['ofproto/trace', 'w07', br.name, flow, '--generate']);
    }
  }
  same('after learning');
  for (const br of bridgesOf('w07')) evicted += Number(/evicted MAC entries +: (\d+)/.exec(run(appctl, ['fdb/stats-show', 'w07', br.name]))![1]);
  assert.ok(evicted > 0, 'nothing evicted');
  // Back to the default (8192) by removing the key, then learning more: nothing more evicted.
  const br = emu.bridge('w07', 'br-int');
  set('remove', 'bridge', br.name, 'other_config', 'mac-table-size');
  for (let i = 0; i < 100; i++) {
    const flow = randomFlow(br, rnd);
    o.appctl(['ofproto/trace', br.name, flow, '--generate']);
    run(appctl, ['ofproto/trace', 'w07', br.name, flow, '--generate']);
  }
  same('after mac-table-size went');
  // A smaller table: mac_learning_run drops the least recently used entries (counted as expired).
  set('add', 'bridge', br.name, 'other_config', 'mac-table-size=12');
  same('after the table shrank');
  // mac-aging-time (clamped to 15..3600 s): every entry keeps its age, and they go 15 s after their last refresh.
  set('set', 'bridge', br.name, 'other_config:mac-aging-time=5');
  assert.match(run(appctl, ['fdb/show', 'w07', br.name]), / {2}0\n$/);
  o.appctl(['time/warp', '14000']);
  (emu.engine.clock as ManualClock).advance(14000);
  same('14 s later');
  assert.notEqual(br.fdb.size, 0);
  o.appctl(['time/warp', '1000']);
  (emu.engine.clock as ManualClock).advance(1000);
  same('15 s later');
  assert.equal(br.fdb.size, 0);
});

test("dpctl/show: the dummy datapath's form where it is the kernel's (header, lookups, flows, ports with their types, -s's lines)", () => {
  ovs?.stop();
  const o = (ovs = RealOvs.start());
  emu = buildEmulator(loadTopologyOrThrow(SEED));
  mirror(o, 'w07');
  // The dummy datapath (dpif-netdev) reports no masks (n_masks UINT32_MAX) and no mask cache, calls internal ports
  // dummy-internal, and has a vport per tunnel port where the kernel has one vxlan_sys_4789 for all: those lines
  // come from OVS's source (show_dpif, dpif-netlink) and are left out here. Port numbers differ (see dpif/show).
  const shape = (t: string): string[] => t.split('\n').filter((l) => !/^ {2}(masks|cache|caches):|^ {4}masks-cache:/.test(l))
    .map((l) => l.replace(/dummy-internal/g, 'internal').replace(/^ {2}port \d+:/, '  port N:'));
  const isTunnel = (l: string): boolean => /\(vxlan[:)]/.test(l);
  for (const opt of [[], ['-s']]) {
    const ours = shape(run(appctl, ['dpctl/show', ...opt, 'w07'])), real = shape(o.appctl(['dpctl/show', ...opt]));
    assert.deepEqual(ours.slice(0, 3), real.slice(0, 3), opt.join(' '));
    // Each port's line (and with -s the four after it), in a name order both share; counters as their form only.
    const ports = (ls: string[]): string[] => {
      const out: string[] = [];
      for (let i = 3; i < ls.length; i++) {
        if (!ls[i]!.startsWith('  port ') || isTunnel(ls[i]!)) continue;
        let block = ls[i]!;
        for (let j = i + 1; j < ls.length && ls[j]!.startsWith('    '); j++) block += '\n' + ls[j]!.replace(/(:|^ {4}RX bytes:)(\d+|\?)/g, '$1#');
        out.push(block);
      }
      return out.sort();
    };
    assert.deepEqual(ports(ours), ports(real), opt.join(' '));
    assert.equal(ours.filter(isTunnel).length, 1);
    assert.ok(real.filter(isTunnel).length >= 1);
  }
  // Its refusals: an option it does not know, a datapath that is not there.
  for (const args of [['-x'], ['system@nope']]) {
    const r = spawnSync('ovs-appctl', ['-t', `${o.dir}/vswitchd.ctl`, 'dpctl/show', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.throws(() => appctl.run({ emu, invalidate: () => {} }, ['dpctl/show', args[0]!.startsWith('-') ? args[0]! : 'w07', ...(args[0]!.startsWith('-') ? ['w07'] : args)]),
      { message: r.stderr.trim().replace(`${o.dir}/vswitchd.ctl: `, '') });
  }
});
