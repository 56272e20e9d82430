// IP fragment handling (ovs-ofctl set-frags normal|drop|nx-match) held to a
// real ovs-vswitchd 3.1 (test/helpers/ovs.ts): the seed's w07 br-int and
// br-tun, with flows on L4 ports added on both sides, under each mode (and
// the two bridges in different ones, the patch peer's lookups following its
// own): ofproto/trace of first, later and whole UDP, TCP and ICMP packets
// (IPv4: dpemu's ofproto/trace generates no IPv6) must print the same
// bridge sections, megaflow and datapath outputs; get-frags and show the
// same mode; set-frags the same answers and errors; and the same fragments
// received under each mode counted alike in dump-tables and dump-flows.
//
// Set aside, as ovs-oracle.test.ts does: datapath port numbers (each side's
// are named through its dpif/show), the order of a flood's outputs, 3.1's
// own reports (">>>> ... <<<<"); in the megaflow, how much of an L4 port
// it holds (OVS's ports trie) and the fields 3.1 adds to 2.5.5's text.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { appctl, ofctl } from '../../src/control/ovs-commands.js';
import { ControlError, type CommandResponse } from '../../src/control/protocol.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { buildFrame } from '../../src/wire/frame.js';
import type { ManualClock } from '../../src/datapath/clock.js';
import { RealOvs } from '../helpers/ovs.js';
import { requireRoot } from '../helpers/root.js';

const SEED = 'configs/seed-dvr-snat.yaml';
const NODE = 'w07';
const VM = 'fa:16:3e:b2:ef:af', QR = 'fa:16:3e:06:d8:7b';

let emu: Emulator;
let ovs: RealOvs;

function mine(family: typeof ofctl, argv: string[]): { status: number; stdout: string; stderr: string } {
  try {
    const r = family.run({ emu, invalidate: () => {} }, argv) as CommandResponse;
    return { status: r.exit, stdout: r.stdout, stderr: r.stderr.trim() };
  } catch (e) {
    assert.ok(e instanceof ControlError, String(e));
    return { status: e.exit, stdout: '', stderr: e.stderr.trim() };
  }
}

function run(family: typeof ofctl, argv: string[]): string {
  const r = mine(family, argv);
  assert.equal(r.status, 0, `dpemu ${family.name} ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const bridges = (): OvsBridge[] => emu.engine.elements.filter((e): e is OvsBridge => e instanceof OvsBridge && e.node === NODE);

/** Flows on L4 ports, on both sides: br-int's VM port (41) to the router port (40) or through patch-tun (1) into br-tun. */
const FLOWS: [string, string][] = [
  ['br-int', 'table=0,priority=300,in_port=41,udp,tp_dst=53,actions=mod_vlan_vid:10,output:1'],
  ['br-int', 'table=0,priority=290,in_port=41,udp,tp_src=7,actions=resubmit(,77)'],
  ['br-int', 'table=77,priority=10,udp,tp_dst=0,actions=output:40'],
  ['br-int', 'table=77,priority=5,actions=drop'],
  ['br-int', 'table=0,priority=280,in_port=41,udp,tp_dst=0,actions=mod_vlan_vid:10,output:1'],
  ['br-int', 'table=0,priority=275,in_port=41,tcp,tp_dst=0x8000/0x8000,actions=output:40'],
  ['br-int', 'table=0,priority=270,in_port=41,icmp,icmp_type=8,actions=output:40'],
  ['br-tun', 'table=22,priority=5,dl_vlan=10,udp,tp_dst=53,actions=drop'],
  ['br-tun', 'table=22,priority=4,dl_vlan=10,udp,tp_src=0,actions=output:5'],
];

/** Packets from the VM's port, as br_flows both parse alike. */
const L2 = `in_port=41,dl_src=${VM},dl_dst=${QR}`;
const V4 = `${L2},nw_src=192.168.1.7,nw_dst=192.0.2.9,nw_ttl=64`;
const TRACES = [
  ...['first', 'no'].flatMap((f) => [`udp,${V4},nw_frag=${f},udp_src=7,udp_dst=53`, `udp,${V4},nw_frag=${f},udp_src=40001,udp_dst=53`,
    `udp,${V4},nw_frag=${f},udp_src=7,udp_dst=99`, `udp,${V4},nw_frag=${f},udp_src=0,udp_dst=0`,
    `tcp,${V4},nw_frag=${f},tcp_src=40001,tcp_dst=80`, `tcp,${V4},nw_frag=${f},tcp_src=1,tcp_dst=0x8001`,
    `icmp,${V4},nw_frag=${f},icmp_type=8,icmp_code=0`, `icmp,${V4},nw_frag=${f},icmp_type=0,icmp_code=0`]),
  `udp,${V4},nw_frag=later`, `tcp,${V4},nw_frag=later`, `icmp,${V4},nw_frag=later`,
];

/** Modes of (br-int, br-tun). */
const MODES: [string, string][] = [['normal', 'normal'], ['nx-match', 'nx-match'], ['drop', 'drop'], ['normal', 'drop'], ['nx-match', 'normal'], ['NX-MATCH', 'Drop']];

/** "    NAME OFPORT/ODP:" lines of dpif/show: datapath port -> name. */
function odpNames(show: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const l of show.matchAll(/^\s+(\S+) (\d+)\/(\d+):/gm)) names.set(Number(l[3]), l[1]!);
  return names;
}

/**
 * A megaflow's fields, sorted, as both spell them: the fields held and
 * their values, less what 3.1 prints and 2.5.5 (dpemu's) does not (`eth`;
 * a vlan_tci that only says "no tag"); L4 ports (ICMP type and code) only named, as OVS's
 * classifier un-wildcards a port by the prefix its ports trie needs and
 * dpemu's whole.
 */
function megaflowFields(m: string): string {
  return m.split(',').filter((f) => f !== 'eth' && f !== 'vlan_tci=0x0000' && f !== 'vlan_tci=0x0000/0x1fff')
    .map((f) => f.replace(/^(tp_src|tp_dst|icmp_type|icmp_code)=.*$/, '$1')).sort().join(',');
}

/** Each output of a datapath action list (port named, with its VLAN), sorted: OVS floods in its bundles' hash order. */
function outputs(acts: string, names: Map<number, string>): string {
  const out: string[] = [];
  let vlan = 'none';
  for (const a of acts.split(/,(?![^(]*\))/)) {
    if (/^\d+$/.test(a)) out.push(`${names.get(Number(a)) ?? `odp ${a}`} vlan=${vlan}`);
    else if (a === 'pop_vlan') vlan = 'none';
    else if (a.startsWith('push_vlan(')) vlan = /vid=(\d+)/.exec(a)![1]!;
    else assert.ok(a === 'drop', `datapath action ${a} not understood (in ${acts})`);
  }
  return out.sort().join(' ');
}

/** What both print alike: the bridge sections (less 3.1's own reports), the megaflow, the datapath actions with ports named. */
function traceText(text: string, names: Map<number, string>): string {
  const start = text.indexOf('bridge("'), end = text.indexOf('\nFinal flow:');
  assert.ok(start >= 0 && end > start, `no bridge section in:\n${text}`);
  const sections = text.slice(start, end).split('\n').filter((l) => !/^\s+>>>> .* <<<<$/.test(l)).map((l) => l.trimEnd()).join('\n').trim();
  const mega = megaflowFields(/\nMegaflow: (.*)\n/.exec(text)?.[1] ?? '');
  return `${sections}\nMegaflow: ${mega}\nOutputs: ${outputs(/\nDatapath actions: (.*)\n/.exec(text)?.[1] ?? '', names)}`;
}

before(() => {
  requireRoot('a real ovs-vswitchd');
  emu = buildEmulator(loadTopologyOrThrow(SEED));
  ovs = RealOvs.start();
  for (const br of bridges()) {
    ovs.addBridge(br);
    ovs.copyFlows(br.name, run(ofctl, ['dump-flows', NODE, br.name]));
  }
  for (const [br, f] of FLOWS) {
    run(ofctl, ['add-flow', NODE, br, f]);
    ovs.ofctl('add-flow', br, f);
  }
});
after(() => ovs?.stop());

test('ofproto/trace of fragments under each set-frags mode: the same tables, flows, megaflows and outputs as ovs-vswitchd', () => {
  const real = odpNames(ovs.appctl(['dpif/show'])), ours = odpNames(run(appctl, ['dpif/show', NODE]));
  const seen = new Set<string>();
  for (const [mInt, mTun] of MODES) {
    for (const [br, m] of [['br-int', mInt], ['br-tun', mTun]] as const) {
      assert.equal(run(ofctl, ['set-frags', NODE, br, m]), '');
      ovs.ofctl('set-frags', br, m);
      assert.equal(run(ofctl, ['get-frags', NODE, br]), ovs.ofctl('get-frags', br));
      assert.equal(run(ofctl, ['show', NODE, br]).split('\n').at(-2), ovs.ofctl('show', br).split('\n').at(-2));
    }
    for (const flow of TRACES) {
      const a = run(appctl, ['ofproto/trace', NODE, 'br-int', flow]), b = ovs.appctl(['ofproto/trace', 'br-int', flow]);
      assert.equal(traceText(a, ours), traceText(b, real), `${mInt}/${mTun} ${flow}\n--- dpemu:\n${a}\n--- ovs-vswitchd:\n${b}`);
      if (/fragment handling mode is "drop"/.test(b)) seen.add('drop');
      if (/reg0=0x3/.test(b)) seen.add('drop in the peer');
      if (/nw_frag=first,udp_src=7,udp_dst=53/.test(flow) && /tp_dst=0, priority 280/.test(b)) seen.add('ports 0');
      if (/nw_frag=first,udp_src=7,udp_dst=53/.test(flow) && /tp_dst=53, priority 300/.test(b)) seen.add('own ports');
    }
  }
  assert.deepEqual([...seen].sort(), ['drop', 'drop in the peer', 'own ports', 'ports 0']);
});

test('fragments received under each mode: the tables and flows count them as in ovs-vswitchd (under drop, a match of the table, no flow)', () => {
  const frames = [
    buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '192.0.2.9', ttl: 64, id: 7, df: false, mf: true }, udp: { sport: 7, dport: 53, payload: 16 } }),
    buildFrame({ src: VM, dst: QR, ip: { src: '192.168.1.7', dst: '192.0.2.9', ttl: 64, id: 7, df: false, fragOffset: 24, proto: 17 }, payload: new Uint8Array(8) }),
  ];
  // Each table's counts (the names dump-tables prints differ: see control-dump-tables.test.ts).
  const tables = (t: string): string => [...t.matchAll(/^ {2}table (\d+)[^\n]*\n\s+active=\d+, (lookup=\d+, matched=\d+)/gm)].map((m) => `${m[1]} ${m[2]}`).join('\n');
  /** Both sides' counts, once the real switch has handled its upcalls (in its own threads) or 5 s passed. */
  const settled = (): void => {
    for (let i = 0; ; i++) {
      const a = tables(run(ofctl, ['dump-tables', NODE, 'br-int'])), b = tables(ovs.ofctl('dump-tables', 'br-int'));
      if (a === b || i === 50) return assert.equal(a, b);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  };
  for (const m of ['drop', 'normal', 'nx-match']) {
    for (const br of ['br-int', 'br-tun']) {
      run(ofctl, ['set-frags', NODE, br, m]);
      ovs.ofctl('set-frags', br, m);
    }
    // Its revalidators, not the set_config, remove the datapath flows the change makes wrong: before any packet.
    ovs.appctl(['revalidator/wait']);
    const port = emu.bridge(NODE, 'br-int').portByName('qvo2ab77d0f-99')!.port;
    for (let i = 0; i < 3; i++) {
      for (const f of frames) {
        emu.engine.inject(emu.engine.pool.allocFrom(f)!, port);
        ovs.appctl(['netdev-dummy/receive', 'qvo2ab77d0f-99', Buffer.from(f).toString('hex')]);
      }
      (emu.engine.clock as ManualClock).advance(100);
    }
    settled();
  }
  const flows = (t: string) => t.split('\n').slice(1).map((l) => l.replace(/ (duration|idle_age|hard_age)=[^,]*,/g, '')).sort();
  assert.deepEqual(flows(run(ofctl, ['dump-flows', NODE, 'br-int'])), flows(ovs.ofctl('dump-flows', 'br-int')));
});

test('set-frags and get-frags: answers and errors as ovs-ofctl', () => {
  for (const args of [['normal'], ['drop'], ['nx-match'], ['NORMAL'], ['reassemble'], ['bogus'], [], ['drop', 'x']]) {
    const a = mine(ofctl, ['set-frags', NODE, 'br-int', ...args]);
    const b = ovs.tryOfctl('set-frags', 'br-int', ...args);
    const name = (t: string) => t.replaceAll(`unix:${ovs.dir}/br-int.mgmt`, 'br-int').trim();
    assert.deepEqual(a, { status: b.status, stdout: b.stdout, stderr: name(b.stderr) }, `set-frags ${args.join(' ')}`);
    assert.equal(run(ofctl, ['get-frags', NODE, 'br-int']), ovs.ofctl('get-frags', 'br-int'));
  }
});
