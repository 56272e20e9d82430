// Broken variants of the seed topology: each error kind comes out with the
// exact FILE:LINE:COL, JSON pointer and message, and a broken file gives no model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadTopologyText, loadTopologyFile, checkTopologyFile } from '../../src/topology/loader.js';
import { formatError } from '../../src/topology/errors.js';

const SEED = readFileSync(new URL('../../configs/seed-dvr-snat.yaml', import.meta.url), 'utf8');
const FILE = 'configs/seed-dvr-snat.yaml';
const SNAT = '/nodes/w02/namespaces/snat-c4d4b760-41b9-45e1-a607-d054da99c479';
const FIP = '/nodes/w02/namespaces/fip-4617ac50-7b34-4b05-811d-b2afc741d446';

/** Replace the one occurrence of `from` by `to` (fails if not exactly one). */
function mutate(from: string, to: string, text = SEED): string {
  assert.equal(text.split(from).length, 2, `expected exactly one ${JSON.stringify(from)} in the seed`);
  return text.replace(from, to);
}

/** 1-based line and column of `needle` (its n-th occurrence) in `text`, plus `offset` columns. */
function at(text: string, needle: string, offset = 0, nth = 0): string {
  let i = -1;
  for (let k = 0; k <= nth; k++) i = text.indexOf(needle, i + 1);
  assert.ok(i >= 0, `${needle} not found`);
  const before = text.slice(0, i).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1 + offset}`;
}

function errorsOf(text: string): string[] {
  const r = loadTopologyText(text, FILE);
  if (!r.ok) assert.equal(r.topology, null);
  return r.errors.map(formatError);
}

test('a typo in a flow action', () => {
  const t = mutate('output:"sg-499291dc-d8"', 'outptu:"sg-499291dc-d8"');
  assert.deepEqual(errorsOf(t), [`${FILE}:${at(t, 'outptu')}: at /nodes/w02/ovs/br-int/flows: unknown action outptu`]);
});

test('a port named in a flow that the bridge does not have', () => {
  const t = mutate('output:"sg-499291dc-d8"', 'output:"sg-499291dc-d9"');
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, '"sg-499291dc-d9"')}: at /nodes/w02/ovs/br-int/flows: expected a port of bridge br-int, got "sg-499291dc-d9"; did you mean "sg-499291dc-d8"?`,
  ]);
});

test('a flow naming a port of another bridge, and an unknown ofport', () => {
  let t = mutate('dl_src=fa:16:3f:13:77:c5 actions=output:"patch-int"', 'dl_src=fa:16:3f:13:77:c5 actions=output:"patch-tun"');
  t = mutate('in_port="vxlan-0ace6bee" actions=resubmit(,4)', 'in_port=7 actions=resubmit(,4)', t);
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'in_port=7', 8)}: at /nodes/w02/ovs/br-tun/flows: expected a port of bridge br-tun, got ofport 7 (ports: 1(patch-int), 4(vxlan-0ace6bee))`,
    `${FILE}:${at(t, 'output:"patch-tun"', 7)}: at /nodes/w02/ovs/br-tun/flows: expected a port of bridge br-tun, got "patch-tun" (patch-tun is on bridge br-int)`,
  ]);
});

test('a route via an address no interface can reach', () => {
  const t = mutate('default via 169.254.96.33 dev rfp-c4d4b760-4', 'default via 169.254.96.35 dev rfp-c4d4b760-4');
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, '169.254.96.35')}: at ${SNAT}/routes: expected a gateway reachable through a connected route on rfp-c4d4b760-4, got 169.254.96.35 (the kernel would say: Nexthop has invalid gateway)`,
  ]);
});

test("a route's dev that the namespace does not have", () => {
  const t = mutate('112.65.210.200 via 169.254.96.32 dev fpr-c4d4b760-4', '112.65.210.200 via 169.254.96.32 dev fpr-c4d4b760-5');
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'fpr-c4d4b760-5')}: at ${FIP}/routes: no interface "fpr-c4d4b760-5" in namespace fip-4617ac50-7b34-4b05-811d-b2afc741d446; did you mean "fpr-c4d4b760-4"?`,
  ]);
});

test('a duplicate ofport', () => {
  const t = mutate('qvo2ab77d0f-99: { ofport: 41,', 'qvo2ab77d0f-99: { ofport: 40,');
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'qvo2ab77d0f-99: { ofport: 40', 26)}: at /nodes/w07/ovs/br-int/ports/qvo2ab77d0f-99/ofport: duplicate ofport 40: already used by port qr-178fc8e2-fd (line ${at(t, 'qr-178fc8e2-fd: { ofport: 40').split(':')[0]})`,
  ]);
});

test('an interface in two namespaces', () => {
  // fip gets a second rfp-c4d4b760-4 (and keeps its fpr- for the veth and routes).
  const t = mutate(
    '          fpr-c4d4b760-4: { ifindex: 4,',
    '          rfp-c4d4b760-4: { mtu: 1500 }\n          fpr-c4d4b760-4: { ifindex: 4,',
  );
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'rfp-c4d4b760-4: { mtu')}: at ${FIP}/interfaces/rfp-c4d4b760-4: rfp-c4d4b760-4 is already an interface in namespace snat-c4d4b760-41b9-45e1-a607-d054da99c479 (line ${at(t, 'rfp-c4d4b760-4: { ifindex').split(':')[0]}): an interface is in one namespace only`,
  ]);
});

test('a duplicate ifindex, and lo\'s', () => {
  let t = mutate('fpr-c4d4b760-4: { ifindex: 4,', 'fpr-c4d4b760-4: { ifindex: 2,');
  assert.deepEqual(errorsOf(t), [`${FILE}:${at(t, 'fpr-c4d4b760-4: { ifindex: 2', 27)}: at ${FIP}/interfaces/fpr-c4d4b760-4/ifindex: duplicate ifindex 2: already fpr-3bbebb1a-5's`]);
  t = mutate('fpr-c4d4b760-4: { ifindex: 4,', 'fpr-c4d4b760-4: { ifindex: 1,');
  assert.deepEqual(errorsOf(t), [`${FILE}:${at(t, 'fpr-c4d4b760-4: { ifindex: 1', 27)}: at ${FIP}/interfaces/fpr-c4d4b760-4/ifindex: duplicate ifindex 1: already lo's`]);
});

test('a tag outside 0..4095', () => {
  const t = mutate('qvo2ab77d0f-99: { ofport: 41, tag: 10,', 'qvo2ab77d0f-99: { ofport: 41, tag: 5000,');
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, '5000')}: at /nodes/w07/ovs/br-int/ports/qvo2ab77d0f-99/tag: expected an integer 0..4095, got 5000`,
  ]);
});

test('an ofport that is not a number is a schema error, not a crash of the flows check', () => {
  const t = mutate('qvo2ab77d0f-99: { ofport: 41,', 'qvo2ab77d0f-99: { ofport: forty,');
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'forty')}: at /nodes/w07/ovs/br-int/ports/qvo2ab77d0f-99/ofport: expected an integer 1..65279 (or 65534 for the bridge's own port), got "forty"`,
  ]);
});

test('a patch peer that does not point back, and one that does not exist', () => {
  const t = mutate('options: { peer: patch-tun } }\n          vxlan-0ace6bee', 'options: { peer: patch-tunn } }\n          vxlan-0ace6bee');
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'patch-int }', 0, 1)}: at /nodes/w02/ovs/br-int/ports/patch-tun/options/peer: peer patch-int does not point back: its peer is "patch-tunn", expected "patch-tun"`,
    `${FILE}:${at(t, 'patch-tunn')}: at /nodes/w02/ovs/br-tun/ports/patch-int/options/peer: no patch port "patch-tunn" on node w02; did you mean "patch-tun"?`,
  ]);
});

test('a veth end that maps to nothing; its other end is not reported twice', () => {
  const t = mutate('- [rfp-c4d4b760-4, fpr-c4d4b760-4]', '- [rfp-c4d4b760-4, fpr-c4d4b760-x]');
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'fpr-c4d4b760-x')}: at /nodes/w02/veths/0/1: no port or interface "fpr-c4d4b760-x" on node w02; did you mean "fpr-c4d4b760-4"?`,
    `${FILE}:${at(t, 'fpr-c4d4b760-4: {')}: at ${FIP}/interfaces/fpr-c4d4b760-4: fpr-c4d4b760-4 (an interface in namespace fip-4617ac50-7b34-4b05-811d-b2afc741d446) has no link: make it a veth end, a wire end or an edge`,
  ]);
});

test('an internal port without its namespace interface', () => {
  const t = mutate('qr-178fc8e2-fd: { ofport: 40, tag: 10, type: internal }', 'qr-178fc8e2-fc: { ofport: 40, tag: 10, type: internal }');
  const errs = errorsOf(t);
  assert.equal(errs[0], `${FILE}:${at(t, 'qr-178fc8e2-fc')}: at /nodes/w07/ovs/br-int/ports/qr-178fc8e2-fc: internal port qr-178fc8e2-fc has no namespace interface of that name: add one to a namespace, or make the port an edge`);
  assert.ok(errs.some((e) => e.includes('expected a port of bridge br-int, got "qr-178fc8e2-fd"')));
});

test('an unknown key, with a suggestion', () => {
  const t = mutate('    role: compute\n', '    rol: compute\n');
  assert.deepEqual(errorsOf(t), [`${FILE}:${at(t, 'rol:')}: at /nodes/w07/rol: unknown key "rol"; did you mean "role"?`]);
});

test('a missing required key and a wrong type', () => {
  let t = mutate('gateway: 10.206.107.193, ', '');
  t = mutate('{ ofport: 74, tag: 20,', '{ ofport: "74", tag: 20,', t);
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'underlay:')}: at /nodes/w07/underlay: missing required key "gateway"`,
    `${FILE}:${at(t, '"74"')}: at /nodes/w02/ovs/br-int/ports/sg-499291dc-d8/ofport: expected an integer 1..65279 (or 65534 for the bridge's own port), got "74"`,
  ]);
});

test('an underlay next hop outside the NIC subnet', () => {
  const t = mutate('gateway: 10.206.107.129,', 'gateway: 10.206.107.29,');
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, '10.206.107.29,')}: at /nodes/w02/underlay/gateway: expected a next hop inside 10.206.107.128/26 other than the NIC's own address, got 10.206.107.29 (the kernel would say: Nexthop has invalid gateway)`,
  ]);
});

test('a neighbour on a device the namespace lacks, an iptables jump to no chain', () => {
  let t = mutate('192.168.1.13 dev qr-178fc8e2-fd', '192.168.1.13 dev qr-178fc8e2-fe');
  t = mutate('-A neutron-l3-agent-snat -j neutron-l3-agent-float-snat', '-A neutron-l3-agent-snat -j neutron-l3-agent-floatsnat', t);
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'qr-178fc8e2-fe')}: at /nodes/w07/namespaces/qrouter-c4d4b760-41b9-45e1-a607-d054da99c479/neighbours: no interface "qr-178fc8e2-fe" in namespace qrouter-c4d4b760-41b9-45e1-a607-d054da99c479; did you mean "qr-178fc8e2-fd"?`,
    `${FILE}:${at(t, 'neutron-l3-agent-floatsnat')}: at ${SNAT}/iptables: Couldn't load target \`neutron-l3-agent-floatsnat':No such file or directory (no chain 'neutron-l3-agent-floatsnat')`,
  ]);
});

test('an edge naming no port', () => {
  const t = mutate('      eth3: { kind: none }', '      eth4: { kind: none }');
  const errs = errorsOf(t);
  assert.equal(errs[0], `${FILE}:${at(t, 'eth3: { ofport')}: at /nodes/w02/ovs/br-ex/ports/eth3: eth3 (an OVS system port on bridge br-ex) has no link: make it a veth end, a wire end or an edge`);
  assert.equal(errs[1], `${FILE}:${at(t, 'eth4')}: at /nodes/w02/edges/eth4: no port "eth4" on w02; did you mean "eth2" or "eth3"?`);
});

test('all errors are collected, sorted by position, schema and text-block syntax together', () => {
  let t = mutate('qvo2ab77d0f-99: { ofport: 41, tag: 10,', 'qvo2ab77d0f-99: { ofport: 41, tag: 4096,');
  t = mutate('output:"sg-499291dc-d8"', 'outptu:"sg-499291dc-d8"', t);
  t = mutate('169.254.96.32/31 dev rfp-c4d4b760-4  proto kernel', '169.254.96.32/31 dev rfp-c4d4b760-4  protocol kernel  bogus', t);
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, '4096')}: at /nodes/w07/ovs/br-int/ports/qvo2ab77d0f-99/tag: expected an integer 0..4095, got 4096`,
    `${FILE}:${at(t, 'outptu')}: at /nodes/w02/ovs/br-int/flows: unknown action outptu`,
    `${FILE}:${at(t, 'bogus')}: at ${SNAT}/routes: unknown keyword 'bogus'`,
  ]);
});

test('YAML syntax errors stop everything, with their position', () => {
  const t = mutate('    role: compute\n', '    role: compute: x\n');
  assert.deepEqual(errorsOf(t), [`${FILE}:${at(t, 'compute: x')}: at /: YAML syntax error: Nested mappings are not allowed in compact mappings`]);
});

test('a duplicate key is a YAML error', () => {
  const t = mutate('          patch-tun: { ofport: 1, type: patch, options: { peer: patch-int } }\n          sg-', '          patch-tun: { ofport: 1, type: patch, options: { peer: patch-int } }\n          patch-tun: { ofport: 2 }\n          sg-');
  assert.deepEqual(errorsOf(t), [`${FILE}:${at(t, 'patch-tun: { ofport: 2')}: at /: YAML syntax error: duplicate key "patch-tun"`]);
});

test('an alias without its anchor, and aliases that expand too far: positioned errors, not a crash', () => {
  const t = mutate('    role: compute\n', '    role: *compute_role\n');
  assert.deepEqual(errorsOf(t), [`${FILE}:${at(t, '*compute_role')}: at /: YAML syntax error: alias *compute_role has no anchor &compute_role before it`]);
  const laughs = 'version: 1\na: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\nnodes: {}\n';
  assert.deepEqual(errorsOf(laughs), [`${FILE}:1:1: at /: YAML error: Excessive alias count indicates a resource exhaustion attack (maxAliasCount 100)`]);
});

test('a route twice (same table, destination, tos and metric); another metric is another route', () => {
  const line = '          default via 192.168.1.6 dev qr-178fc8e2-fd table 3232235777\n';
  const t = mutate(line, `${line}          default via 192.168.1.6 dev qr-178fc8e2-fd table 3232235777 metric 5\n          default via 192.168.1.6 dev qr-178fc8e2-fd table 3232235777\n`);
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'default via 192.168.1.6', 0, 2)}: at /nodes/w07/namespaces/qrouter-c4d4b760-41b9-45e1-a607-d054da99c479/routes: route is already on block line 2: same table, destination, tos and metric (the kernel would say: RTNETLINK answers: File exists)`,
  ]);
});

test('a sysctl value that is not an integer (it would be set as NaN)', () => {
  const t = mutate('          net.ipv4.ip_forward: 1\n          net.ipv4.conf.all.arp_ignore: 1\n          net.ipv4.conf.all.arp_announce: 2\n          net.ipv4.conf.all.send_redirects: 0\n          net.ipv4.conf.qr-', '          net.ipv4.ip_forward: yes\n          net.ipv4.conf.all.arp_ignore: 1\n          net.ipv4.conf.all.arp_announce: 2\n          net.ipv4.conf.all.send_redirects: 0\n          net.ipv4.conf.qr-');
  assert.deepEqual(errorsOf(t), [`${FILE}:${at(t, 'yes')}: at /nodes/w07/namespaces/qrouter-c4d4b760-41b9-45e1-a607-d054da99c479/sysctls/net.ipv4.ip_forward: expected an integer, got "yes"`]);
});

test('small files: block positions with an explicit indentation indicator, folded blocks refused', () => {
  const text = [
    'nodes:', // 1
    '  n1:', // 2
    '    ovs:', // 3
    '      br0:', // 4
    '        ports: { p1: { ofport: 1 } }', // 5
    '        flows: |2', // 6
    '            priority=0 actions=NORMAL', // 7 (two extra spaces kept in the text)
    '          priority=1,in_port=p2 actions=drop', // 8
    '    namespaces:', // 9
    '      ns1:', // 10
    '        routes: >', // 11
    '          default dev x', // 12
    '    edges: { p1: { kind: none } }', // 13
  ].join('\n');
  const r = loadTopologyText(text, 't.yaml');
  assert.deepEqual(r.errors.map(formatError), [
    't.yaml:8:30: at /nodes/n1/ovs/br0/flows: expected a port of bridge br0, got "p2"; did you mean "p1"?',
    't.yaml:11:17: at /nodes/n1/namespaces/ns1/routes: expected a literal block (`|`), got a folded block (`>`): folding joins lines',
  ]);
});

test('a missing file', () => {
  const r = loadTopologyFile('/nonexistent/x.yaml');
  assert.equal(r.ok, false);
  assert.deepEqual(checkTopologyFile('/nonexistent/x.yaml'), ['/nonexistent/x.yaml:1:1: at /: cannot read the file: no such file']);
});

const LAB = readFileSync(new URL('../../configs/lab-dvr-snat.yaml', import.meta.url), 'utf8');

test('lab: a host on an edge that is not a tap, a sub-interface without its parent', () => {
  let t = mutate('edge: tor:swp2', 'edge: w02:fpr-3bbebb1a-5', LAB);
  t = mutate('{ parent: swp1, vlan: 103,', '{ parent: swp9, vlan: 103,', t);
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'swp9')}: at /gateways/tor/interfaces/swp1.103/parent: no interface "swp9" on gateway tor`,
    `${FILE}:${at(t, 'w02:fpr-3bbebb1a-5')}: at /hosts/inet/edge: expected a tap edge, got kind none`,
  ]);
});

test('lab: a wire to a port that is already an edge, a route via an address the gateway cannot reach', () => {
  let t = mutate('  - [w02:eth3, tor:swp1]', '  - [w02:eth3, tor:swp2]', LAB);
  t = mutate('198.51.100.204 via 10.206.221.195 dev swp1.103', '198.51.100.204 via 10.206.222.195 dev swp1.103', t);
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'swp1: { mac')}: at /gateways/tor/interfaces/swp1: swp1 (an interface of gateway tor) has no link: make it a veth end, a wire end or an edge`,
    `${FILE}:${at(t, '10.206.222.195')}: at /gateways/tor/routes: expected a gateway reachable through a connected route on swp1.103, got 10.206.222.195 (the kernel would say: Nexthop has invalid gateway)`,
    `${FILE}:${at(t, 'tor:swp2]')}: at /wires/0/1: swp2 is already an edge (line ${at(t, 'swp2: { kind: tap').split(':')[0]}); it cannot also be a wire end`,
  ]);
});

test('lab: two edges with the same TAP device name (the second could not be created)', () => {
  const t = mutate('swp2: { kind: tap, dev: dpe-inet0 }', 'swp2: { kind: tap, dev: dpe-vm0 }', LAB);
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, 'dpe-vm0', 0, 1)}: at /gateways/tor/edges/swp2/dev: TAP device dpe-vm0 is already edge w07:tap2ab77d0f-99's (line ${at(t, 'tap2ab77d0f-99: { kind: tap').split(':')[0]})`,
  ]);
});

test('schema errors: names, patterns, enums, edge kinds, pairs', () => {
  const text = [
    'nodes:', // 1
    '  "bad name":', // 2
    '    underlay: { nic: eth2, ip: 10.0.0.1/24, mac: zz:16:3e:06:d8:7b, gateway: 10.0.0.254, gateway_mac: 00:00:00:00:00:01 }', // 3
    '    ovs:', // 4
    '      br0: { fail_mode: open }', // 5
    '    edges:', // 6
    '      p1: { kind: tapp }', // 7
    '      p2: { dev: x }', // 8
    'wires:', // 9
    '  - [a:b]', // 10
  ].join('\n');
  assert.deepEqual(errorsOf(text).map((e) => e.replace(`${FILE}:`, '')), [
    `2:3: at /nodes/bad name: invalid name "bad name": expected a name of letters, digits, '_', '.', '-' (starting with a letter or digit, at most 63 characters)`,
    '3:50: at /nodes/bad name/underlay/mac: expected a MAC address like fa:16:3e:06:d8:7b, got "zz:16:3e:06:d8:7b"',
    '5:25: at /nodes/bad name/ovs/br0/fail_mode: expected one of secure, standalone, got "open"',
    '7:19: at /nodes/bad name/edges/p1/kind: expected kind one of tap, underlay, none, got "tapp"',
    '8:7: at /nodes/bad name/edges/p2: missing required key "kind"',
    '10:5: at /wires/0: expected a pair of two port names, got 1 item',
  ]);
});

test('schema errors: a namespace address with a broken brd', () => {
  const t = mutate('198.51.100.200/32 brd 198.51.100.200', '198.51.100.200/32 brd 198.51.100', LAB);
  assert.deepEqual(errorsOf(t), [
    `${FILE}:${at(t, '198.51.100.200/32 brd')}: at /nodes/w02/namespaces/snat-c4d4b760-41b9-45e1-a607-d054da99c479/interfaces/rfp-c4d4b760-4/addresses/1: expected an IPv4 address with prefix length like 192.168.1.1/24, optionally followed by brd and the broadcast address, or an IPv6 address with prefix length like 2001:db8:7::1/64, got "198.51.100.200/32 brd 198.51.100"`,
  ]);
});
