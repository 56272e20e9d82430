// `ip -j [-p]` and `ip -d` on a bare namespace: json_writer's layout, the
// link_netnsid numbering, and what runCommand refuses. What each object
// holds is compared with the kernel's in test/e2e/netns-text-kernel.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIp4, parseMac } from '../../src/netns/addr.js';
import { IpSyntaxError, RtnlError } from '../../src/netns/errors.js';
import { netnsIds } from '../../src/netns/ip-json.js';
import { runCommand } from '../../src/netns/ip-text.js';
import { jsonDump } from '../../src/netns/json-writer.js';
import { Netns } from '../../src/netns/netns.js';
import { NetNamespace } from '../../src/netns/namespace.js';
import { Engine } from '../../src/datapath/engine.js';
import { ManualClock } from '../../src/datapath/clock.js';

const ip = (s: string) => parseIp4(s)!;
const mac = (s: string) => parseMac(s)!;

test('json_writer layout: none without -p; with -p four spaces a level, "[ {", "},{", "[ ]", arrays of strings on one line', () => {
  const objs = [{ a: 1, s: ['X', 'Y'], e: [], o: { n: null, t: true }, skip: undefined }, { b: [{ c: 'q"\\\'' }] }];
  assert.equal(jsonDump(objs, false), '[{"a":1,"s":["X","Y"],"e":[],"o":{"n":null,"t":true}},{"b":[{"c":"q\\"\\\\\\\'"}]}]\n');
  assert.equal(
    jsonDump(objs, true),
    [
      '[ {',
      '        "a": 1,',
      '        "s": [ "X","Y" ],',
      '        "e": [ ],',
      '        "o": {',
      '            "n": null,',
      '            "t": true',
      '        }',
      '    },{',
      '        "b": [ {',
      '                "c": "q\\"\\\\\\\'"',
      '            } ]',
      '    } ]',
      '',
    ].join('\n'),
  );
  assert.equal(jsonDump([], false), '[]\n');
  assert.equal(jsonDump([], true), '[ ]\n');
});

function ns(): Netns {
  const n = new Netns({ name: 'snat' });
  n.addLink({ name: 'rfp-a', kind: 'veth', mac: mac('36:66:d5:bf:5e:e0'), up: true, peer: { ifindex: 4, netns: 'fip' } });
  n.addLink({ name: 'sg-b', kind: 'internal', mac: mac('fa:16:3e:d1:d8:49'), up: true });
  n.addLink({ name: 'rfp-c', kind: 'veth', mac: 3, up: true, peer: { ifindex: 9, netns: 'qrouter' } });
  n.addLink({ name: 'rfp-d', kind: 'veth', mac: 4, up: true, peer: { ifindex: 7, netns: 'fip' } });
  n.addAddr('sg-b', { local: ip('192.168.1.6'), prefixLen: 24 });
  return n;
}

test('link_netnsid: each peer namespace numbered from 0 in the order the devices first name it', () => {
  const n = ns();
  assert.deepEqual([...netnsIds(n.links())], [['fip', 0], ['qrouter', 1]]);
  assert.match(runCommand(n, 'ip -j link show rfp-d'), /"link_index":7,"ifname":"rfp-d",.*"link_netnsid":0\}\]\n$/);
  assert.match(runCommand(n, 'ip --json link show rfp-c'), /"link_netnsid":1\}\]\n$/);
});

test('-d on each kind: the loopback (no kind), a veth, an OVS internal port (openvswitch)', () => {
  const n = ns();
  assert.equal(
    runCommand(n, 'ip -d link show sg-b'),
    '3: sg-b: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\n' +
      // internal_dev_create counts the port promiscuous once (no PROMISC flag).
      '    link/ether fa:16:3e:d1:d8:49 brd ff:ff:ff:ff:ff:ff promiscuity 1  allmulti 0 minmtu 68 maxmtu 65535 \n' +
      '    openvswitch addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 tso_max_size 65536 tso_max_segs 65535 gro_max_size 65536 \n',
  );
  // ip addr's link dump has no IFLA_AF_SPEC: no addrgenmode.
  assert.match(runCommand(n, 'ip -details addr show sg-b'), /\n {4}openvswitch numtxqueues 1 /);
  assert.match(runCommand(n, 'ip -d link show lo'), /brd 00:00:00:00:00:00 promiscuity 0 {2}allmulti 0 minmtu 0 maxmtu 0 addrgenmode eui64 numtxqueues 1 .*tso_max_size 524280 /);
  assert.match(runCommand(n, 'ip -d -j link show rfp-a'), /"link_netnsid":0,"promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535,"linkinfo":\{"info_kind":"veth"\},"inet6_addr_gen_mode":"eui64",/);
  n.addLink({ name: 'tap1', kind: 'tap', mac: 5, up: true });
  assert.throws(() => runCommand(n, 'ip -d link'), (e: unknown) => e instanceof RtnlError && /-details is not emulated for tap1 \(a TAP here\)/.test(e.message) && e.exit === 255);
  n.addLink({ name: 'sg-b.7', kind: 'veth', mac: 6, up: true, vlanId: 7 });
  assert.throws(() => runCommand(n, 'ip -d addr show sg-b.7'), /-details is not emulated for sg-b\.7 \(a VLAN sub-interface here\)/);
});

test('-p alone prints text, as ip does; -j with a refused dump carries the "[" ip printed first; -j rule flush prints []', () => {
  const n = ns();
  assert.equal(runCommand(n, 'ip -p rule'), runCommand(n, 'ip rule'));
  for (const [cmd, opening] of [['ip -j route show table 77', '['], ['ip -j -p route show table 77', '[ ']]) {
    assert.throws(() => runCommand(n, cmd!), (e: unknown) => e instanceof RtnlError && e.stdout === opening && e.exit === 2 && /FIB table does not exist/.test(e.message));
  }
  assert.equal(runCommand(n, 'ip -j -p rule flush'), '[ ]\n');
  assert.equal(runCommand(n, 'ip -j rule'), '[{"priority":0,"src":"all","table":"local"}]\n');
  assert.equal(runCommand(n, 'ip -d -j rule'), '[{"priority":0,"src":"all","table":"local","protocol":"kernel"}]\n');
  assert.throws(() => runCommand(n, 'ip -d route get 192.168.1.9'), IpSyntaxError);
  assert.throws(() => runCommand(n, 'ip -s -j neigh'), /-s' is supported with ip link, addr, route, rule and ntable only/);
});

test("a topology's VLAN sub-interface is marked as one: -d refuses it rather than print a veth's details", () => {
  const el = new Engine({ clock: new ManualClock(0) }).add(new NetNamespace('lab', 'v'));
  el.addInterface('eth0', { mac: 1 });
  el.addInterface('eth0.100', { mac: 1, vlan: { parent: 'eth0', id: 100 } });
  assert.match(runCommand(el.ns, 'ip -d link show eth0'), /\n {4}veth /);
  assert.throws(() => runCommand(el.ns, 'ip -d link show eth0.100'), /a VLAN sub-interface here/);
});
