// fdb/add, fdb/del, fdb/stats-clear, ofproto/list and upcall/show held to a
// real ovs-vswitchd 3.1 (Debian 12's, on its dummy datapath:
// test/helpers/ovs.ts) carrying w07's bridges, ports and flows: the same
// commands, with good and bad words, and traces that learn, in the same
// order on both; every answer (output, error text, exit status) and the MAC
// tables and their statistics after each step must be the same. Both clocks
// stand still (time/stop; dpemu's is manual), so ages are 0 on both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { appctl, ofctl, vsctl } from '../../src/control/ovs-commands.js';
import { ControlError, type CommandResponse } from '../../src/control/protocol.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { RealOvs } from '../helpers/ovs.js';
import { requireRoot } from '../helpers/root.js';

const SEED = 'configs/seed-dvr-snat.yaml';
const NODE = 'w07';

let emu: Emulator;
let ovs: RealOvs | null = null;

before(() => {
  requireRoot('a real ovs-vswitchd');
  emu = buildEmulator(loadTopologyOrThrow(SEED));
});
after(() => {
  ovs?.stop();
});

interface Answer {
  stdout: string;
  stderr: string;
  exit: number;
}

/** dpemu's answer to `appctl VERB NODE ARGS...`. */
function ours(verb: string, args: readonly string[]): Answer {
  try {
    const r = appctl.run({ emu, invalidate: () => {} }, [verb, NODE, ...args]) as CommandResponse;
    return { stdout: r.stdout, stderr: r.stderr ?? '', exit: r.exit };
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    return { stdout: '', stderr: e.message + '\n', exit: e.exit };
  }
}

/** ovs-appctl's, its control socket's path left out of the error line. */
function real(o: RealOvs, verb: string, args: readonly string[]): Answer {
  const ctl = `${o.dir}/vswitchd.ctl`;
  const r = spawnSync('ovs-appctl', ['-t', ctl, verb, ...args], { encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr.replace(`${ctl}: `, ''), exit: r.status ?? -1 };
}

const bridgesOf = (node: string): OvsBridge[] => emu.engine.elements.filter((e): e is OvsBridge => e instanceof OvsBridge && e.node === node);

/** The node's bridges, ports and flows, as dpemu holds them, in the real switch. */
function mirror(o: RealOvs): void {
  for (const br of bridgesOf(NODE)) {
    o.addBridge(br);
    const r = ofctl.run({ emu, invalidate: () => {} }, ['dump-flows', NODE, br.name]) as CommandResponse;
    o.copyFlows(br.name, r.stdout);
  }
}

test('fdb/add, fdb/del, fdb/stats-clear: the same answers, MAC tables and statistics as ovs-vswitchd 3.1', () => {
  const o = (ovs = RealOvs.start());
  mirror(o);
  o.appctl(['time/stop']);
  let compared = 0;
  const same = (verb: string, ...args: string[]): void => {
    const a = ours(verb, args), b = real(o, verb, args);
    assert.deepEqual(a, b, `${verb} ${args.join(' ')}`);
    compared++;
  };
  const tables = (): void => {
    for (const br of bridgesOf(NODE)) {
      same('fdb/show', br.name);
      same('fdb/stats-show', br.name);
    }
  };
  /** A frame into br-int from qr-... (ofport 40, VLAN 10), through NORMAL, on both. */
  const trace = (src: string, dst: string): void => {
    const flow = `in_port=40,dl_src=${src},dl_dst=${dst}`;
    ours('ofproto/trace', ['br-int', flow, '--generate']);
    o.appctl(['ofproto/trace', 'br-int', flow, '--generate']);
  };
  const M = (n: number): string => `50:54:00:00:00:${n.toString(16).padStart(2, '0')}`;

  // The argument counts, the bridge, then the MAC, then the port (its name in that bridge: LOCAL by the bridge's, patch ports too).
  same('fdb/add', 'br-int');
  same('fdb/add', 'br-int', 'qvo2ab77d0f-99', '0');
  same('fdb/add', 'br-int', 'qvo2ab77d0f-99', '0', M(1), 'extra');
  same('fdb/add', 'br-nope', 'qvo2ab77d0f-99', '0', M(1));
  same('fdb/add', 'br-nope', 'nope', '0', 'zz');
  same('fdb/add', 'br-int', 'nope', '0', 'zz');
  same('fdb/add', 'br-int', 'nope', '0', M(1));
  same('fdb/add', 'br-int', 'patch-int', '0', M(1)); // br-tun's
  same('fdb/add', 'br-int', '41', '0', M(1));
  same('fdb/add', 'br-int', 'LOCAL', '0', M(1));
  same('fdb/add', 'br-int', 'qvo2ab77d0f-99', '10', M(1));
  same('fdb/add', 'br-int', 'br-int', '10', M(2));
  same('fdb/add', 'br-int', 'patch-tun', '10', M(3));
  same('fdb/add', 'br-tun', 'vxlan-0ace6b9c', '0', M(4));
  // VLANs as atoi reads them into a uint16_t.
  for (const [i, v] of ['x', '12abc', '-1', '5000', '010', '0x10', ' 7', '+4095', '99999999999999999999'].entries()) same('fdb/add', 'br-int', 'qvo2ab77d0f-99', v, M(0x10 + i));
  // MACs as eth_addr_from_string reads them (ovs_scan's %hhx: spaces, signs, 0x, the low byte).
  for (const m of [' 50:54:0:0:0:5', '50:54:00:00:00:1ff', '-1:2:3:4:5:6', '0x50:54:00:00:00:07', '+5:4:3:2:1:0', '50: 54:00:00:00:08', 'FA:16:3E:00:00:09',
    '50:54:00:00:00:0a ', '50:54:00:00:00', '50-54-00-00-00-0b', '50:54:00:00:00:0g', '50:54:00:00:00:', '0x:1:2:3:4:5', '50:54:00:00:00:0c:0d', '99999999999999999999:0:0:0:0:1',
    '-99999999999999999999:0:0:0:0:2'])
    same('fdb/add', 'br-int', 'qvo2ab77d0f-99', '0', m);
  tables();

  // Overriding: a static entry on another port, on the same port (nothing said), a learned entry.
  same('fdb/add', 'br-int', 'patch-tun', '10', M(1));
  same('fdb/add', 'br-int', 'patch-tun', '10', M(1));
  same('fdb/add', 'br-int', 'qvo2ab77d0f-99', '10', M(2)); // was on LOCAL
  same('fdb/add', 'br-int', 'br-int', '10', M(2));
  trace(M(0x20), M(1)); // M(0x20) learned on qr (40); M(1) static: no flood
  tables();
  same('fdb/add', 'br-int', 'qvo2ab77d0f-99', '10', M(0x20));
  // A static MAC seen on another port is neither moved nor refreshed; a static destination steers.
  trace(M(2), M(0x21));
  trace(M(0x21), M(2));
  tables();

  // fdb/del: static entries only, VLAN and MAC read as fdb/add reads them.
  same('fdb/del', 'br-int', '10');
  same('fdb/del', 'br-int', '10', M(2), 'extra');
  same('fdb/del', 'br-nope', '10', 'zz');
  same('fdb/del', 'br-int', '10', 'zz');
  same('fdb/del', 'br-int', '10', M(0x21)); // learned
  same('fdb/del', 'br-int', '11', M(2));
  same('fdb/del', 'br-int', '10', M(2));
  same('fdb/del', 'br-int', '10', M(2));
  same('fdb/del', 'br-int', '12abc', M(0x11));
  same('fdb/del', 'br-int', '0', '50:54:0:0:0:5');
  tables();

  // fdb/flush keeps static entries; fdb/stats-clear zeroes the totals, not the static count.
  same('fdb/flush', 'br-int');
  tables();
  trace(M(0x22), M(0x23));
  same('fdb/stats-clear', 'br-nope');
  same('fdb/stats-clear', 'br-int', 'extra');
  same('fdb/stats-clear', 'br-int');
  tables();
  trace(M(0x24), M(0x23));
  same('fdb/stats-clear');
  tables();

  /** The same ovs-vsctl write on both sides. */
  const set = (...words: string[]): void => {
    o.vsctl(words);
    vsctl.run({ emu, invalidate: () => {} }, [words[0]!, NODE, ...words.slice(1)]);
  };
  // A full table (other_config:mac-table-size=10): static entries are evicted as learned ones, and not counted down.
  for (const br of bridgesOf(NODE)) set('set', 'bridge', br.name, 'other_config:mac-table-size=10');
  for (let i = 0; i < 6; i++) trace(M(0x30 + i), M(0x23));
  for (let i = 0; i < 6; i++) same('fdb/add', 'br-int', i % 2 ? 'patch-tun' : 'qvo2ab77d0f-99', '10', M(0x40 + i));
  tables();
  // Past full with static entries alone: a MAC learned evicts the fullest port's oldest entry, then goes itself.
  trace(M(0x50), M(0x23));
  tables();
  const stats = ours('fdb/stats-show', ['br-int']).stdout;
  assert.match(stats, /evicted MAC entries +: [1-9]/);
  assert.match(stats, /expired MAC entries +: [1-9]/);
  assert.match(stats, /Current\/maximum MAC entries in the table: 1[1-9]\/10/);
  // A larger table learns more; shrunk again, learned entries go from the least recently used on, static ones stay.
  set('set', 'bridge', 'br-int', 'other_config:mac-table-size=20');
  for (let i = 0; i < 8; i++) trace(M(0x60 + i), M(0x23));
  tables();
  set('set', 'bridge', 'br-int', 'other_config:mac-table-size=10');
  tables();
  // A port's new tag (bundle_set: bundle_flush_macs), in a table with room again: every entry on it goes, static ones
  // too (mac_learning_expire on the LRU list holding both), the static count staying as it was; other ports' stay.
  set('set', 'bridge', 'br-int', 'other_config:mac-table-size=2048');
  same('fdb/add', 'br-int', 'qvo2ab77d0f-99', '10', M(0x25));
  same('fdb/add', 'br-int', 'qvo2ab77d0f-99', '11', M(0x26));
  same('fdb/add', 'br-int', 'patch-tun', '10', M(0x27));
  trace(M(0x28), M(0x23));
  tables();
  assert.match(ours('fdb/show', ['br-int']).stdout, /^ +41 +11 +50:54:00:00:00:26 +static$/m);
  set('set', 'Port', 'qvo2ab77d0f-99', 'tag=11');
  tables();
  same('fdb/del', 'br-int', '11', M(0x26));
  same('fdb/add', 'br-int', 'qvo2ab77d0f-99', '11', M(0x26));
  tables();
  set('set', 'Port', 'qvo2ab77d0f-99', 'tag=10');
  tables();

  assert.ok(compared > 90, `${compared} answers compared`);
});

test('ofproto/list and upcall/show: the same words and layout as ovs-vswitchd 3.1', () => {
  ovs?.stop();
  emu = buildEmulator(loadTopologyOrThrow(SEED));
  for (const node of ['w07', 'w02']) {
    // A switch of its own (all_ofprotos keeps the buckets it grew to), the node's bridges added in its order.
    const o = (ovs = RealOvs.start());
    for (const br of bridgesOf(node)) o.addBridge(br);
    const list = appctl.run({ emu, invalidate: () => {} }, ['ofproto/list', node]) as CommandResponse;
    assert.equal(list.stdout, o.appctl(['ofproto/list']), node);
    o.stop();
  }
  const o = (ovs = RealOvs.start());
  // More bridges than the seed's, so that the table grows and buckets hold several.
  const names = Array.from({ length: 12 }, (_, i) => `br-x${i}`);
  emu = buildEmulator(loadTopologyOrThrow(SEED));
  for (const n of names) {
    OvsBridge.create(emu.engine, 'w09', n, {});
    o.vsctl(['add-br', n]);
  }
  const l = appctl.run({ emu, invalidate: () => {} }, ['ofproto/list', 'w09']) as CommandResponse;
  assert.equal(l.stdout, o.appctl(['ofproto/list']));
  assert.deepEqual(ours('ofproto/list', ['x']), real(o, 'ofproto/list', ['x']));

  // upcall/show: the same lines, the numbers apart (dpemu's revalidator is its sweep; see docs/control.md).
  const shape = (t: string): string => t.replace(/\d+/g, 'N');
  assert.equal(shape(ours('upcall/show', []).stdout), shape(real(o, 'upcall/show', []).stdout));
  assert.deepEqual(ours('upcall/show', ['x']), real(o, 'upcall/show', ['x']));
});
