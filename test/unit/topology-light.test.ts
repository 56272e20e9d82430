// The light readers behind the topology checks: the facts they pick (ports,
// devices, gateways, tables) and the issues they report, with columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFlows } from '../../src/topology/light-flows.js';
import { readNeighbours, readRoutes, readRules } from '../../src/topology/light-ip.js';
import { readIptables } from '../../src/topology/light-iptables.js';

test('flows: every port a flow names, with its column', () => {
  const known = new Set(['patch-int', 'vxlan-0ace6b9c']);
  const text = [
    'cookie=0x1, table=0, priority=1,in_port="patch-int" actions=resubmit(,1)',
    'table=10, priority=1 actions=learn(table=20,NXM_OF_VLAN_TCI[0..11],output:OXM_OF_IN_PORT[]),output:"patch-int"',
    'table=20, priority=2,dl_vlan=10 actions=strip_vlan,load:0x67->NXM_NX_TUN_ID[],output:"vxlan-0ace6b9c"',
    'table=0 actions=resubmit(5,2),enqueue:7:1,patch-int,3,NORMAL,output:NXM_NX_REG0[0..15]',
    '# a comment',
    'NXST_FLOW reply (xid=0x4):',
  ].join('\n');
  const r = readFlows(text, (n) => known.has(n));
  assert.deepEqual(r.issues, []);
  const lines = text.split('\n');
  const col = (line: number, tok: string, from = 0): number => lines[line - 1]!.indexOf(tok, from) + 1;
  assert.deepEqual(
    r.flows.map((f) => [f.line, f.table, f.priority, f.ports.map((p) => `${p.name}@${p.col}`)]),
    [
      [1, 0, 1, [`patch-int@${col(1, '"patch-int"')}`]],
      [2, 10, 1, [`patch-int@${col(2, '"patch-int"')}`]],
      [3, 20, 2, [`vxlan-0ace6b9c@${col(3, '"vxlan')}`]],
      [4, 0, 32768, [`5@${col(4, '5,2')}`, `7@${col(4, '7:1')}`, `patch-int@${col(4, 'patch-int')}`, `3@${col(4, ',3,') + 1}`]],
    ],
  );
});

test('flows: unknown keywords and actions, missing actions', () => {
  const r = readFlows('priority=1,dl_vlna=3 actions=drop\npriority=2 actions=outptu:3\npriority=3\ntable=300 actions=drop', () => false);
  assert.deepEqual(r.issues, [
    { line: 1, col: 12, message: 'unknown keyword dl_vlna' },
    { line: 2, col: 20, message: 'unknown action outptu' },
    { line: 3, col: 1, message: 'expected "actions=" at the end of the flow' },
    { line: 4, col: 7, message: 'expected a table number 0..254, got "300"' },
  ]);
});

test('routes: ip route output and ip route add forms', () => {
  const r = readRoutes([
    'default via 169.254.96.33 dev rfp-c4d4b760-4',
    '169.254.96.32/31 dev rfp-c4d4b760-4  proto kernel  scope link  src 169.254.96.32',
    'default via 192.168.1.6 dev qr-178fc8e2-fd table 3232235777',
    'local 192.168.1.1 dev qr-178fc8e2-fd table local proto kernel scope host src 192.168.1.1',
    '10.0.0.0/8 via 10.1.1.1 onlink dev eth0 metric 20 mtu lock 1400',
    'blackhole 10.9.0.0/16',
  ].join('\n'));
  assert.deepEqual(r.issues, []);
  const f = r.routes.map((x) => [x.type, x.dst.len, x.via?.text, x.dev?.text, x.table, x.proto, x.onlink]);
  assert.deepEqual(f, [
    ['unicast', 0, '169.254.96.33', 'rfp-c4d4b760-4', 254, undefined, false],
    ['unicast', 31, undefined, 'rfp-c4d4b760-4', 254, 'kernel', false],
    ['unicast', 0, '192.168.1.6', 'qr-178fc8e2-fd', 3232235777, undefined, false],
    ['local', 32, undefined, 'qr-178fc8e2-fd', 255, 'kernel', false],
    ['unicast', 8, '10.1.1.1', 'eth0', 254, undefined, true],
    ['blackhole', 16, undefined, undefined, 254, undefined, false],
  ]);
  assert.equal(r.routes[0]!.via!.col, 13);
  assert.equal(r.routes[0]!.dev!.col, 31);
});

test('routes: bad prefix, bad gateway, unknown keyword, unknown table', () => {
  const r = readRoutes('10.0.0/8 dev x\ndefault via 10.0.0.300 dev x\ndefault dev x bogus\ndefault dev x table other');
  assert.deepEqual(r.issues, [
    { line: 1, col: 1, message: 'expected a destination prefix or "default", got "10.0.0/8"' },
    { line: 2, col: 13, message: 'expected an IPv4 address after "via", got "10.0.0.300"' },
    { line: 3, col: 15, message: 'unknown route keyword "bogus"' },
    { line: 4, col: 21, message: 'expected a table id or local/main/default, got "other"' },
  ]);
});

test('rules: ip rule output and ip rule add forms', () => {
  const r = readRules('0:\tfrom all lookup local\n3232235777:  from 192.168.1.1/24 lookup 3232235777\nfrom all iif fpr-x lookup 100 priority 100\nfrom all lookp main');
  assert.deepEqual(r.rules.map((x) => [x.priority, x.table, x.iif?.text]), [
    [0, 255, undefined],
    [3232235777, 3232235777, undefined],
    [100, 100, 'fpr-x'],
  ]);
  assert.deepEqual(r.issues, [{ line: 4, col: 10, message: 'unknown rule keyword "lookp"' }]);
});

test('neighbours: ip neigh output and ip neigh add forms', () => {
  const r = readNeighbours([
    '192.168.1.7 dev qr-178fc8e2-fd lladdr fa:16:3e:b2:ef:af PERMANENT',
    '169.254.96.33 dev rfp-c4d4b760-4 lladdr 82:99:8f:5a:6b:ec DELAY',
    '10.0.0.1 lladdr 00:11:22:33:44:55 dev eth0 nud reachable',
    '10.0.0.2 dev eth0  FAILED',
    '10.0.0.3 dev eth0 lladdr 00:11:22:33:44:zz STALE',
    '10.0.0.4 lladdr 00:11:22:33:44:55',
  ].join('\n'));
  assert.deepEqual(r.neighbours.map((n) => [n.ip.text, n.dev?.text, n.lladdr?.text, n.state]), [
    ['192.168.1.7', 'qr-178fc8e2-fd', 'fa:16:3e:b2:ef:af', 'PERMANENT'],
    ['169.254.96.33', 'rfp-c4d4b760-4', '82:99:8f:5a:6b:ec', 'DELAY'],
    ['10.0.0.1', 'eth0', '00:11:22:33:44:55', 'REACHABLE'],
    ['10.0.0.2', 'eth0', undefined, 'FAILED'],
  ]);
  assert.deepEqual(r.issues, [
    { line: 5, col: 26, message: 'expected a MAC address, got "00:11:22:33:44:zz"' },
    { line: 6, col: 1, message: 'expected "dev IFNAME"' },
  ]);
});

test('iptables: tables, chains, jumps and COMMIT', () => {
  const ok = readIptables('*nat\n:PREROUTING ACCEPT [0:0]\n:x - [0:0]\n-A PREROUTING -j x\n-A x -o a -j SNAT --to-source 1.2.3.4\nCOMMIT\n');
  assert.deepEqual(ok.issues, []);
  const bad = readIptables('-A INPUT -j ACCEPT\n*nat\n:y ACCEPT [0:0]\n-A z -j ACCEPT\n-A PREROUTING -j nowhere\n*filter\nCOMMIT');
  assert.deepEqual(bad.issues, [
    { line: 1, col: 1, message: 'expected a table line (*filter, *nat, *mangle, *raw) first' },
    { line: 3, col: 4, message: 'expected policy "-" (a user chain has no policy) for chain y' },
    { line: 4, col: 4, message: 'no chain "z" in table nat (declare it with ":z - [0:0]")' },
    { line: 5, col: 18, message: 'unknown target or chain "nowhere" in table nat' },
    { line: 6, col: 1, message: 'expected COMMIT before *filter (table nat opened on line 2)' },
  ]);
});
