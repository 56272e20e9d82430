// The flags a flow keeps (send_flow_rem, check_overlap, reset_counts) held to
// a real ovs-vswitchd 3.1 (test/helpers/ovs.ts): the same add-flow, add-flows,
// mod-flows and learn() through dpemu and through ovs-ofctl, then the same
// dump-flows text in OpenFlow 1.3 (which prints flags) and 1.0 (which does
// not). An OpenFlow 1.0 add implies reset_counts (ofputil_decode_flow_mod_flags)
// and OVS keeps it with the flow; a modify keeps the flow's flags; a re-add
// replaces them. What ovs-ofctl refuses to send in a version (reset_counts
// in OpenFlow 1.0...) it refuses with the same words and exit status.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Emulator } from '../../src/topology/builder.js';
import { appctl, ofctl } from '../../src/control/ovs-commands.js';
import { ControlError, type CommandResponse } from '../../src/control/protocol.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { Engine } from '../../src/datapath/engine.js';
import { buildFrame } from '../../src/wire/frame.js';
import { RealOvs } from '../helpers/ovs.js';
import { requireRoot } from '../helpers/root.js';

let ovs: RealOvs | null = null;
after(() => ovs?.stop());

const OF13 = ['-O', 'OpenFlow13'];
const OF14 = ['-O', 'OpenFlow14'];
const OF15 = ['-O', 'OpenFlow15'];

/**
 * A dump's head (the reply's type, or none) and its flow lines, timers and
 * the order within a table (the classifier's) aside.
 */
const lines = (text: string): string[] => [
  text.startsWith(' ') ? '(no head)' : text.split('\n')[0]!,
  ...text.split('\n').filter((l) => l.startsWith(' ')).map((l) => l.replace(/ (duration|idle_age|hard_age)=[^,]*,/g, '')).sort(),
];

/** A dpemu switch like the real one's br0: port p1 is ofport 1. */
function dpemuBridge(failMode?: 'secure'): { engine: Engine; br: OvsBridge; ctx: { emu: Emulator; invalidate: () => void } } {
  const engine = new Engine();
  const br = OvsBridge.create(engine, 'n1', 'br0', failMode ? { failMode } : {});
  br.addOvsPort('p1', { ofport: 1 });
  return { engine, br, ctx: { emu: { engine, topology: { name: 't', nodes: [] } } as unknown as Emulator, invalidate: () => {} } };
}

/** [command, options, flow]: each one given to both switches in this order. */
const STEPS: [string, string[], string][] = [
  ['add-flow', [], 'priority=1,ip actions=drop'],
  ['add-flow', OF13, 'priority=2,ip actions=drop'],
  ['add-flow', OF13, 'priority=3,ip,reset_counts actions=drop'],
  ['add-flow', [], 'priority=4,ip,send_flow_rem,check_overlap actions=drop'],
  ['add-flow', OF13, 'priority=4,tcp,send_flow_rem actions=drop'],
  // A re-add takes the new add's flags.
  ['add-flow', [], 'priority=5,ip actions=drop'],
  ['add-flow', OF13, 'priority=5,ip actions=output:1'],
  ['add-flow', OF13, 'priority=6,ip actions=drop'],
  ['add-flow', [], 'priority=6,ip actions=output:1'],
  // A modify keeps them, whatever its version and flags.
  ['add-flow', [], 'priority=7,ip actions=drop'],
  ['mod-flows', ['--strict', ...OF13], 'priority=7,ip actions=output:2'],
  ['add-flow', OF13, 'priority=8,ip actions=drop'],
  ['mod-flows', ['--strict'], 'priority=8,ip actions=output:2'],
  ['mod-flows', ['--strict', ...OF13], 'priority=8,ip,reset_counts actions=output:2'],
  // An OF1.0 modify that matches nothing adds the flow, without the reset_counts an OF1.0 add implies;
  // an OF1.3 one adds nothing, and changes no cookie.
  ['mod-flows', ['--strict'], 'table=1,priority=9,ip actions=output:3'],
  ['mod-flows', ['--strict', ...OF13], 'table=1,priority=10,ip actions=output:3'],
  ['mod-flows', ['--strict', ...OF13], 'cookie=0x5,priority=8,ip actions=output:3'],
  ['mod-flows', ['--strict'], 'cookie=0x6,priority=2,ip actions=output:3'],
  ['add-flows', [], 'table=3,priority=11,ip actions=drop\ntable=3,priority=12,udp actions=drop\n'],
  ['add-flows', OF13, 'table=3,priority=13,ip actions=drop\n'],
  // learn() adds with its own flags (send_flow_rem here), never reset_counts.
  ['add-flow', [], 'priority=20,arp actions=learn(table=2,send_flow_rem,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),output:1'],
];

test('dump-flows -O OpenFlow13 shows the flags ovs-vswitchd 3.1 keeps: reset_counts on OpenFlow 1.0 adds', () => {
  requireRoot('a real ovs-vswitchd');
  const o = (ovs = RealOvs.start());
  o.vsctl(['add-br', 'br0', '--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'ofport_request=1']);
  const { ctx } = dpemuBridge();
  const ours = (family: typeof ofctl, argv: string[]): string => {
    const r = family.run(ctx, argv) as CommandResponse;
    assert.equal(r.exit, 0, `dpemu ${family.name} ${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  // Both start empty (add-br gives the real bridge a NORMAL flow).
  o.ofctl('del-flows', 'br0');
  ours(ofctl, ['del-flows', 'n1', 'br0']);
  for (const [cmd, opts, flow] of STEPS) {
    if (cmd === 'add-flows') {
      const file = join(o.dir, 'flows.txt');
      writeFileSync(file, flow);
      o.ofctl(cmd, 'br0', ...opts, file);
    } else {
      o.ofctl(cmd, 'br0', ...opts, flow);
    }
    ours(ofctl, [cmd, ...opts, 'n1', 'br0', flow]);
  }
  const trace = 'in_port=1,arp,dl_src=02:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff';
  o.appctl(['ofproto/trace', 'br0', trace, '--generate']);
  ours(appctl, ['ofproto/trace', 'n1', 'br0', trace, '--generate']);

  for (const opts of [OF13, [...OF13, '--no-stats'], [], ['--no-stats']]) {
    const real = o.ofctl('dump-flows', 'br0', ...opts);
    const mine = ours(ofctl, ['dump-flows', ...opts, 'n1', 'br0']);
    assert.deepEqual(lines(mine), lines(real), `dump-flows ${opts.join(' ')}\n--- dpemu:\n${mine}\n--- ovs-vswitchd:\n${real}`);
  }
  // The comparison must see each kind: an OF1.0 add's reset_counts, a learned flow's send_flow_rem without it.
  const dump = ours(ofctl, ['dump-flows', ...OF13, 'n1', 'br0']);
  assert.match(dump, / send_flow_rem check_overlap reset_counts priority=4,ip /);
  assert.match(dump, / table=2, n_packets=0, n_bytes=0, send_flow_rem dl_dst=02:00:00:00:00:01 /);
});

test('a re-add or modify keeps or restarts the counters as ovs-vswitchd 3.1 does: OpenFlow 1.3 keeps them unless reset_counts', async () => {
  requireRoot('a real ovs-vswitchd');
  ovs?.stop();
  const o = (ovs = RealOvs.start());
  o.vsctl(['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'fail_mode=secure', '--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'ofport_request=1']);
  const { engine, br, ctx } = dpemuBridge('secure');
  const p1 = br.portByName('p1')!;
  const frame = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.0.2.7', dst: '198.51.100.8', ttl: 64 }, udp: { sport: 40000, dport: 53, payload: 64 } });
  const counts = (text: string): string => / n_packets=(\d+), n_bytes=(\d+),.* priority=5,/.exec(text)?.slice(1).join(',') ?? 'no flow';
  const real = (): string => counts(o.ofctl('dump-flows', 'br0', ...OF13));
  const mine = (): string => counts((ofctl.run(ctx, ['dump-flows', ...OF13, 'n1', 'br0']) as CommandResponse).stdout);
  const both = (opts: string[], flow: string, cmd = 'add-flow'): void => {
    o.ofctl(cmd, 'br0', ...opts, flow);
    assert.equal((ofctl.run(ctx, [cmd, ...opts, 'n1', 'br0', flow]) as CommandResponse).exit, 0);
  };
  /** One packet through each; the dummy datapath credits the flow on its own thread: wait for it. */
  const send = async (): Promise<void> => {
    const was = Number(real().split(',')[0]);
    o.appctl(['netdev-dummy/receive', 'p1', Buffer.from(frame).toString('hex')]);
    engine.inject(engine.pool.allocFrom(frame)!, p1.port);
    br.tables.sync();
    for (let i = 0; i < 50 && Number(real().split(',')[0]) === was; i++) await new Promise((r) => setTimeout(r, 100));
  };
  const seen: string[] = [];
  const check = (what: string): void => {
    assert.equal(mine(), real(), what);
    seen.push(real());
  };
  both([], 'priority=5,in_port=1 actions=drop');
  await send();
  check('one packet');
  both(OF13, 'priority=5,in_port=1 actions=drop');
  check('OpenFlow 1.3 re-add');
  await send();
  check('a second packet');
  both(OF13, 'priority=5,in_port=1,reset_counts actions=drop');
  check('OpenFlow 1.3 re-add with reset_counts');
  await send();
  both([], 'priority=5,in_port=1 actions=drop');
  check('OpenFlow 1.0 re-add');
  await send();
  both(OF13, 'priority=5,in_port=1 actions=drop', 'mod-flows');
  check('OpenFlow 1.3 modify');
  both(OF13, 'priority=5,in_port=1,reset_counts actions=drop', 'mod-flows');
  check('OpenFlow 1.3 modify with reset_counts');
  await send();
  both([], 'priority=5,in_port=1 actions=drop', 'mod-flows');
  check('OpenFlow 1.0 modify');
  assert.deepEqual(seen, ['1,106', '1,106', '2,212', '0,0', '0,0', '1,106', '0,0', '1,106']);
});

/** [command, options, flow or a file's lines]: refused or taken alike, in this order. */
const CHECKS: [string, string[], string][] = [
  // OpenFlow 1.0 carries none of these flags: ovs-ofctl sends nothing.
  ['add-flow', [], 'priority=1,ip,reset_counts actions=drop'],
  ['add-flow', [], 'priority=1,ip,no_packet_counts actions=drop'],
  ['add-flow', [], 'priority=1,ip,no_byte_counts,reset_counts actions=drop'],
  ['add-flows', [], 'priority=1,ip actions=drop\npriority=2,ip,reset_counts actions=drop\n'],
  ['add-flows', [], 'priority=1,ip,reset_counts actions=drop\npriority=2,ip,no_byte_counts actions=drop\n'],
  // Importance: only an OpenFlow 1.4+ flow_mod carries it; only an add takes it.
  ['add-flow', [], 'priority=2,ip,importance=5 actions=drop'],
  ['add-flow', OF13, 'priority=3,ip,importance=5,reset_counts,no_packet_counts actions=drop'],
  ['add-flow', OF14, 'priority=4,ip,importance=6,no_byte_counts actions=drop'],
  ['add-flow', OF15, 'priority=5,ip,importance=7 actions=drop'],
  ['mod-flows', [], 'priority=2,ip,reset_counts actions=output:1'],
  ['mod-flows', ['--strict'], 'priority=2,ip,no_packet_counts actions=output:1'],
  ['mod-flows', ['--strict'], 'priority=2,ip,send_flow_rem,check_overlap actions=output:1'],
  ['mod-flows', OF13, 'priority=2,ip,importance=5 actions=output:1'],
  ['mod-flows', ['--strict', ...OF13], 'priority=3,ip,reset_counts,no_byte_counts actions=output:1'],
  ['mod-flows', ['-O', 'OpenFlow10,OpenFlow13'], 'priority=4,ip,reset_counts actions=output:1'],
  ['del-flows', [], 'ip,importance=5'],
];

test('what a version cannot carry, ovs-ofctl 3.1 refuses in its words: OpenFlow 1.0 reset_counts, importance before 1.4', () => {
  requireRoot('a real ovs-vswitchd');
  ovs?.stop();
  const o = (ovs = RealOvs.start());
  o.vsctl(['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'fail_mode=secure', '--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'ofport_request=1']);
  const { ctx } = dpemuBridge('secure');
  let refused = 0;
  for (const [cmd, opts, flow] of CHECKS) {
    let arg = flow;
    if (cmd === 'add-flows') writeFileSync((arg = join(o.dir, 'flows.txt')), flow);
    const real = o.tryOfctl(cmd, 'br0', ...opts, arg);
    let mine: { status: number; stderr: string };
    try {
      const r = ofctl.run(ctx, [cmd, ...opts, 'n1', 'br0', flow]) as CommandResponse;
      mine = { status: r.exit, stderr: r.stderr };
    } catch (e) {
      assert.ok(e instanceof ControlError, String(e));
      mine = { status: e.exit, stderr: e.stderr };
    }
    assert.deepEqual(mine, { status: real.status, stderr: real.stderr }, `${cmd} ${opts.join(' ')} ${flow}`);
    if (real.status !== 0) refused++;
  }
  assert.equal(refused, 9, 'the refusals were compared');
  for (const opts of [OF14, OF15, [...OF15, '--no-stats'], []]) {
    const real = o.ofctl('dump-flows', 'br0', ...opts);
    const mine = (ofctl.run(ctx, ['dump-flows', ...opts, 'n1', 'br0']) as CommandResponse).stdout;
    assert.deepEqual(lines(mine), lines(real), `dump-flows ${opts.join(' ')}\n--- dpemu:\n${mine}\n--- ovs-vswitchd:\n${real}`);
  }
  assert.match(o.ofctl('dump-flows', 'br0', ...OF14), / importance=6, priority=4,ip /);
});
