// dpemu's ovs-ofctl dump-aggregate, dump-desc, get-frags, set-frags,
// queue-stats and mod-port held to ovs-ofctl 3.1 and a real ovs-vswitchd
// (test/helpers/ovs.ts) with the seed's w07 bridges, ports and flows: the
// same commands, in each OpenFlow version, must print the same text and fail
// with the same words and status; after the same mod-ports, show and
// dump-ports-desc must agree.
//
// What is set aside, and why (each named where it is done):
// - the switch's name in errors: ovs-ofctl names the vconn it opened (unix:.../BRIDGE.mgmt), dpemu the bridge;
// - dump-desc's Software: the node's ovs_version (the seed's 2.5.5), the real switch's 3.1.0;
// - queue-stats of a dummy netdev: netdev-dummy makes up a queue 0 with no statistics, where
//   netdev-linux's default qdisc and the vports (patch, vxlan) have none (no class_dump_stats):
//   those lines are dropped from the real reply and its count corrected;
// - addresses and link speeds in show and dump-ports-desc (as ovs-oracle.test.ts's show test);
// - mod-port down on a vxlan port: the real switch's is a netdev-dummy (override), which goes down,
//   where a kernel switch's netdev-vport refuses (the real one is brought back up).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ofctl } from '../../src/control/ovs-commands.js';
import { ControlError, type CommandResponse } from '../../src/control/protocol.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { RealOvs } from '../helpers/ovs.js';
import { requireRoot } from '../helpers/root.js';

const SEED = 'configs/seed-dvr-snat.yaml';
const NODE = 'w07';

let emu: Emulator;
let ovs: RealOvs;

type Result = { status: number | null; stdout: string; stderr: string };

function mine(cmd: string, opts: string[], bridge: string, ...args: string[]): Result {
  try {
    const r = ofctl.run({ emu, invalidate: () => {} }, [cmd, ...opts, NODE, bridge, ...args]) as CommandResponse;
    return { status: r.exit, stdout: r.stdout, stderr: r.stderr.trim() };
  } catch (e) {
    assert.ok(e instanceof ControlError, String(e));
    return { status: e.exit, stdout: '', stderr: e.stderr.trim() };
  }
}

/** ovs-ofctl's, its log lines (ofp_port's deprecation WARNs) set aside and the vconn named as the bridge. */
function real(cmd: string, opts: string[], bridge: string, ...args: string[]): Result {
  const r = ovs.tryOfctl(cmd, bridge, ...opts, ...args);
  const name = (t: string) => t.replaceAll(`unix:${ovs.dir}/${bridge}.mgmt`, bridge);
  return { status: r.status, stdout: name(r.stdout), stderr: name(r.stderr.split('\n').filter((l) => !/^\d{4}-\d\d-\d\dT[^|]*\|/.test(l)).join('\n')).trim() };
}

const bridges = (): OvsBridge[] => emu.engine.elements.filter((e): e is OvsBridge => e instanceof OvsBridge && e.node === NODE);

before(() => {
  requireRoot('a real ovs-vswitchd');
  emu = buildEmulator(loadTopologyOrThrow(SEED));
  ovs = RealOvs.start();
  for (const br of bridges()) {
    ovs.addBridge(br);
    ovs.copyFlows(br.name, mine('dump-flows', [], br.name).stdout);
    // Down in dpemu (the seed's LOCAL ports): down, and without carrier, in the real switch too.
    for (const d of br.portsDesc()) {
      if (d.up) continue;
      ovs.ofctl('mod-port', br.name, d.name, 'down');
      ovs.appctl(['netdev-dummy/set-admin-state', d.name, 'down']);
    }
  }
});
after(() => ovs?.stop());

const VERSIONS = [[], ['-O', 'OpenFlow13'], ['-O', 'OpenFlow14'], ['-O', 'OpenFlow15']];

function same(cmd: string, opts: string[], bridge: string, args: string[], norm: (t: string) => string = (t) => t): void {
  const a = mine(cmd, opts, bridge, ...args), b = real(cmd, opts, bridge, ...args);
  assert.deepEqual({ ...a, stdout: norm(a.stdout) }, { ...b, stdout: norm(b.stdout) }, `ovs-ofctl ${cmd} ${opts.join(' ')} ${bridge} ${args.join(' ')}`);
}

test('dump-aggregate counts the flows dump-flows would list, with its filters, refusals and xids', () => {
  const filters = ['', 'table=0', 'table=1', 'in_port=1', 'in_port=patch-tun', 'out_port=1', 'dl_vlan=10', 'arp', 'cookie=0/0', 'cookie=0x1/0x1',
    'priority=0', 'actions=drop', 'nope=1', 'in_port=nope'];
  for (const br of bridges()) {
    for (const v of VERSIONS) {
      for (const f of filters) {
        same('dump-aggregate', v, br.name, f ? [f] : []);
        same('dump-aggregate', ['--strict', ...v], br.name, f ? [f] : []);
      }
    }
    same('dump-aggregate', [], br.name, ['table=0', 'x']);
    // Not all zero: dpemu's flows are the real ones, so the count is the table's.
    assert.match(mine('dump-aggregate', [], br.name).stdout, /flow_count=[1-9]/);
  }
});

test('dump-desc, get-frags and set-frags answer as ovs-vswitchd 3.1 does', () => {
  const software = (t: string) => t.replace(/^Software: .*$/m, 'Software: X');
  for (const br of bridges()) {
    for (const v of VERSIONS) {
      same('dump-desc', v, br.name, [], software);
      for (const m of ['drop', 'nx-match', 'Drop', 'normal', 'NORMAL']) {
        same('set-frags', v, br.name, [m]);
        same('get-frags', v, br.name, []);
      }
    }
    same('dump-desc', [], br.name, ['x']);
    same('get-frags', [], br.name, ['x']);
    same('set-frags', [], br.name, []);
    same('set-frags', [], br.name, ['normal', 'x']);
    same('set-frags', [], br.name, ['bogus']);
    same('set-frags', [], br.name, ['reassemble']);
  }
});

test('queue-stats: no port has a queue; a queue asked for is OFPQOFC_BAD_QUEUE, a missing port OFPQOFC_BAD_PORT', () => {
  // netdev-dummy's made-up queue 0 (see the header) is the only difference allowed.
  const dummy = (t: string): string => {
    const lines = t.split('\n').filter((l) => !/^ {2}port \S+ queue 0: bytes=\?, pkts=\?, errors=\?, duration=\?$/.test(l));
    return lines.join('\n').replace(/(OFPST_QUEUE reply.*: )\d+ queues/, (_, h) => `${h}${lines.filter((l) => /^ {2}port /.test(l)).length} queues`);
  };
  for (const br of bridges()) {
    const vport = br.portList.find((p) => p.vport)!;
    const cases = [[], ['all'], ['ALL', '7'], ['ANY', '7'], [String(vport.ofport)], [vport.name], [String(vport.ofport), '0'], [vport.name, '3'],
      [String(vport.ofport), 'ALL'], [String(vport.ofport), '4294967295'], [String(vport.ofport), '0xffffffff'], [String(vport.ofport), 'x'],
      ['99'], ['0'], ['IN_PORT'], ['nope'], ['70000'], ['LOCAL', '1'], ['1', '0', '9']];
    for (const v of VERSIONS) for (const c of cases) same('queue-stats', v, br.name, c, dummy);
  }
  // The whole bridge: dpemu lists no queue where the dummy netdevs made some up.
  assert.equal(mine('queue-stats', [], 'br-int').stdout, 'OFPST_QUEUE reply (xid=0x2): 0 queues\n');
  assert.match(real('queue-stats', [], 'br-int').stdout, /port 41 queue 0: bytes=\?/);
});

test('mod-port: the same config after the same commands, as show and dump-ports-desc print it in each version', () => {
  const shape = (t: string): string => t.replace(/(addr|dpid):[0-9a-f:]+/g, '$1:X').replace(/^ {5}(current|speed):.*\n/gm, '');
  const steps: [string[], string, string, string][] = [
    [[], 'br-int', 'qvo2ab77d0f-99', 'no-flood'],
    [[], 'br-int', '41', 'no-receive'],
    [[], 'br-int', 'qvo2ab77d0f-99', 'no-stp'],
    [[], 'br-int', 'qr-178fc8e2-fd', 'no-forward'],
    [[], 'br-int', 'qr-178fc8e2-fd', 'no-packet-in'],
    [[], 'br-int', 'qr-178fc8e2-fd', 'NOreceive-stp'],
    [[], 'br-int', 'patch-tun', 'down'], // a patch port's netdev refuses: stays up
    [[], 'br-int', '40', 'down'],
    [['-O', 'OpenFlow13'], 'br-int', 'qvo2ab77d0f-99', 'flood'], // 1.0-only bit: nothing changes
    [['-O', 'OpenFlow13'], 'br-int', 'qvo2ab77d0f-99', 'stp'],
    [['-O', 'OpenFlow13'], 'br-int', 'qvo2ab77d0f-99', 'receive'],
    [['-O', 'OpenFlow15'], 'br-int', 'qr-178fc8e2-fd', 'no-down'],
    [[], 'br-tun', 'vxlan-0ace6b9c', 'down'], // a tunnel's netdev refuses too (see below)
    [[], 'br-tun', 'vxlan-0ace6b9c', 'no-flood'],
    [[], 'br-tun', 'patch-int', 'noforward'],
    // Refused, in ovs-ofctl's words.
    [[], 'br-int', 'qvo2ab77d0f-99', 'bogus'],
    [[], 'br-int', 'qvo2ab77d0f-99', 'no-fwd'],
    [[], 'br-int', 'nope', 'up'],
    [[], 'br-int', '99', 'up'],
    [[], 'br-int', 'LOCAL', 'up'],
  ];
  for (const [opts, br, port, word] of steps) {
    same('mod-port', opts, br, [port, word]);
    // --enable-dummy=override makes the real switch's vxlan port a netdev-dummy, which goes down;
    // netdev-vport's update_flags (patch and tunnels alike) refuses NETDEV_UP off, as dpemu does.
    if (port.startsWith('vxlan-') && word === 'down') ovs.ofctl('mod-port', br, port, 'up');
  }
  same('mod-port', [], 'br-int', ['qvo2ab77d0f-99']);
  same('mod-port', [], 'br-int', ['qvo2ab77d0f-99', 'up', 'x']);
  for (const br of bridges()) {
    for (const v of VERSIONS) {
      same('show', v, br.name, [], shape);
      same('dump-ports-desc', v, br.name, [], shape);
    }
  }
  // Not vacuous: the config words are there.
  assert.match(mine('dump-ports-desc', [], 'br-int').stdout, /config: {5}NO_STP NO_FLOOD\n/);
  assert.match(mine('show', ['-O', 'OpenFlow13'], 'br-int').stdout, /config: {5}NO_FWD NO_PACKET_IN\n/);
});
