// The bundled topologies load with zero errors and hold the write-up's
// names, numbers and addresses (SCENARIO.md); the lab file is the seed with
// RFC 5737 addresses, an emulated gateway and lab hosts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTopologyFile } from '../../src/topology/loader.js';
import { formatError } from '../../src/topology/errors.js';
import type { Node, Topology } from '../../src/topology/model.js';

const path = (f: string): string => fileURLToPath(new URL(`../../configs/${f}`, import.meta.url));

function load(f: string): Topology {
  const r = loadTopologyFile(path(f));
  assert.deepEqual(r.errors.map(formatError), []);
  assert.ok(r.ok);
  return r.topology;
}

const node = (t: Topology, n: string): Node => t.nodes.find((x) => x.name === n)!;
const ports = (t: Topology, n: string, b: string): string[] =>
  node(t, n).ovsBridges.find((x) => x.name === b)!.ports.map((p) => `${p.ofport}:${p.name}${p.tag !== null ? `@${p.tag}` : ''}:${p.type}`);
const linkSet = (t: Topology): string[] => t.links.map((l) => `${l.kind} ${l.a.node}:${l.a.element}:${l.a.port} ${l.b.node}:${l.b.element}:${l.b.port}`).sort();

test('seed: loads with zero errors', () => {
  load('seed-dvr-snat.yaml');
});

test('seed: bridges, ofports, tags and types as in the write-up', () => {
  const t = load('seed-dvr-snat.yaml');
  assert.deepEqual(ports(t, 'w07', 'br-int'), ['1:patch-tun:patch', '40:qr-178fc8e2-fd@10:internal', '41:qvo2ab77d0f-99@10:system', '65534:br-int:internal']);
  assert.deepEqual(ports(t, 'w07', 'br-tun'), ['1:patch-int:patch', '5:vxlan-0ace6b9c:vxlan', '65534:br-tun:internal']);
  assert.deepEqual(ports(t, 'w02', 'br-int'), ['1:patch-tun:patch', '74:sg-499291dc-d8@20:internal', '65534:br-int:internal']);
  assert.deepEqual(ports(t, 'w02', 'br-tun'), ['1:patch-int:patch', '4:vxlan-0ace6bee:vxlan', '65534:br-tun:internal']);
  assert.deepEqual(ports(t, 'w02', 'br-ex'), ['1:eth3:system', '5:fip-vif.103@103:internal', '65534:br-ex:internal']);
  const w07 = node(t, 'w07');
  assert.equal(w07.ovsBridges.find((b) => b.name === 'br-int')!.failMode, 'secure');
  assert.equal(node(t, 'w02').ovsBridges.find((b) => b.name === 'br-ex')!.failMode, undefined, 'unset: OVS\'s default, standalone');
  const vx = w07.ovsBridges.find((b) => b.name === 'br-tun')!.ports.find((p) => p.type === 'vxlan')!;
  assert.deepEqual(vx.tunnel, { remoteIp: '10.206.107.156', localIp: '10.206.107.238', inKey: 'flow', outKey: 'flow', dfDefault: true, dstPort: 4789 });
  const qbr = w07.linuxBridges[0]!;
  assert.deepEqual(qbr.ports.map((p) => `${p.portNo}:${p.name}:${p.mac}`), ['1:qvb2ab77d0f-99:96:6e:9b:a8:b1:fc', '2:tap2ab77d0f-99:fe:16:3e:b2:ef:af']);
});

test('seed: underlays, fabric, links and edges', () => {
  const t = load('seed-dvr-snat.yaml');
  assert.deepEqual(node(t, 'w07').underlay, {
    nic: 'eth2', address: { ip: '10.206.107.238', prefixLen: 26, cidr: '10.206.107.238/26' }, mac: 'b4:96:91:5a:31:78', mtu: 1500,
    gateway: '10.206.107.193', gatewayMac: '5c:c9:99:60:e0:3c', hashSeed: 5924, loc: node(t, 'w07').underlay!.loc,
  });
  assert.deepEqual(t.fabric!.sides.map((s) => `${s.node} ${s.subnet} ${s.ip} ${s.mac}`), [
    'w07 10.206.107.192/26 10.206.107.193 5c:c9:99:60:e0:3c',
    'w02 10.206.107.128/26 10.206.107.129 5c:c9:99:db:69:c9',
  ]);
  const snat = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
  const fip = 'fip-4617ac50-7b34-4b05-811d-b2afc741d446';
  const qr = 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479';
  assert.deepEqual(linkSet(t), [
    `internal w02:br-ex:fip-vif.103 w02:${fip}:fip-vif.103`,
    `internal w02:br-int:sg-499291dc-d8 w02:${snat}:sg-499291dc-d8`,
    `internal w07:br-int:qr-178fc8e2-fd w07:${qr}:qr-178fc8e2-fd`,
    'patch w02:br-int:patch-tun w02:br-tun:patch-int',
    'patch w07:br-int:patch-tun w07:br-tun:patch-int',
    'tunnel w02:br-tun:vxlan-0ace6bee w02:eth2:vxlan-0ace6bee',
    'tunnel w07:br-tun:vxlan-0ace6b9c w07:eth2:vxlan-0ace6b9c',
    `veth w02:${snat}:rfp-c4d4b760-4 w02:${fip}:fpr-c4d4b760-4`,
    'veth w07:qbr2ab77d0f-99:qvb2ab77d0f-99 w07:br-int:qvo2ab77d0f-99',
    'wire w02:eth2:eth2 fabric:fabric:w02',
    'wire w07:eth2:eth2 fabric:fabric:w07',
  ]);
  assert.deepEqual(t.edges.map((e) => `${e.kind} ${e.port.node}:${e.port.element}:${e.port.port}`), [
    'tap w07:qbr2ab77d0f-99:tap2ab77d0f-99',
    'none w02:br-ex:eth3',
    `none w02:${fip}:fpr-3bbebb1a-5`,
  ]);
});

test('seed: namespaces hold the write-up state', () => {
  const t = load('seed-dvr-snat.yaml');
  const ns = (n: string, name: string) => node(t, n).namespaces.find((x) => x.name.startsWith(name))!;
  const snat = ns('w02', 'snat-');
  const brd = (b?: string) => (b ? ` brd ${b}` : '');
  assert.deepEqual(snat.interfaces.map((i) => `${i.name} ${i.mac} ${i.addresses.map((a) => a.cidr + brd(a.broadcast)).join(',')}`), [
    'rfp-c4d4b760-4 36:66:d5:bf:5e:e0 169.254.96.32/31,112.65.210.200/32 brd 112.65.210.200',
    'sg-499291dc-d8 fa:16:3e:d1:d8:49 192.168.1.6/24',
  ]);
  assert.match(snat.iptables!.text, /^-A neutron-l3-agent-snat -o rfp-c4d4b760-4 -j SNAT --to-source 112\.65\.210\.200$/m);
  assert.match(snat.routes!.text, /^default via 169\.254\.96\.33 dev rfp-c4d4b760-4$/m);
  const qr = ns('w07', 'qrouter-');
  assert.match(qr.rules!.text, /^3232235777:\tfrom 192\.168\.1\.1\/24 lookup 3232235777$/m);
  assert.equal(qr.neighbours!.text.match(/PERMANENT/g)!.length, 6);
  const fip = ns('w02', 'fip-');
  assert.match(fip.routes!.text, /^112\.65\.210\.204 via 169\.254\.113\.28 dev fpr-3bbebb1a-5$/m);
  assert.match(fip.iptables!.text, /-A neutron-l3-agent-PREROUTING -j CT --notrack/);
  assert.equal(fip.sysctls['net.ipv4.ip_nonlocal_bind'], '1');
});

test('seed: text blocks map back to their lines in the file', () => {
  const file = path('seed-dvr-snat.yaml');
  const lines = readFileSync(file, 'utf8').split('\n');
  const t = load('seed-dvr-snat.yaml');
  for (const n of t.nodes) {
    const blocks = [...n.ovsBridges.map((b) => b.flows), ...n.namespaces.flatMap((s) => [s.routes, s.rules, s.neighbours, s.iptables])];
    for (const b of blocks) {
      if (!b) continue;
      b.text.split('\n').forEach((l, i) => {
        if (l) assert.equal(lines[b.firstLine - 1 + i]!.slice(b.firstCol - 1), l);
      });
    }
  }
});

test('lab: loads with zero errors; seed public addresses are replaced', () => {
  const t = load('lab-dvr-snat.yaml');
  const text = readFileSync(path('lab-dvr-snat.yaml'), 'utf8').split('\n').filter((l) => !l.trimStart().startsWith('#'));
  for (const l of text) {
    const data = l.replace(/#.*$/, '').replace(/description: .*/, '');
    assert.doesNotMatch(data, /112\.65\.210\.|8\.8\.8\.8/, l);
  }
  const snat = node(t, 'w02').namespaces.find((x) => x.name.startsWith('snat-'))!;
  assert.equal(snat.interfaces[0]!.addresses[1]!.cidr, '198.51.100.200/32');
  assert.match(snat.iptables!.text, /--to-source 198\.51\.100\.200$/m);
});

test('lab: the gateway, the wire to eth3 and the hosts', () => {
  const t = load('lab-dvr-snat.yaml');
  const tor = t.gateways.find((g) => g.name === 'tor')!;
  const sub = tor.interfaces.find((i) => i.name === 'swp1.103')!;
  assert.deepEqual([sub.vlan, sub.mac, sub.addresses[0]!.cidr], [{ parent: 'swp1', id: 103 }, '5c:c9:99:60:d2:71', '10.206.221.193/26']);
  assert.ok(linkSet(t).includes('wire w02:br-ex:eth3 tor:tor:swp1'));
  assert.deepEqual(t.edges.map((e) => `${e.kind} ${e.port.node}:${e.port.port} ${e.kind === 'tap' ? e.dev : ''} ${e.host ?? ''}`.trim()), [
    'tap w07:tap2ab77d0f-99 dpe-vm0 vm',
    'none w02:fpr-3bbebb1a-5',
    'tap tor:swp2 dpe-inet0 inet',
  ]);
  const vm = t.hosts.find((h) => h.name === 'vm')!;
  assert.deepEqual([vm.netns, vm.iface.name, vm.iface.mac, vm.iface.mtu, vm.iface.addresses[0]!.cidr], ['dpe-vm', 'eth0', 'fa:16:3e:b2:ef:af', 1450, '192.168.1.7/24']);
  assert.match(vm.routes!.text, /^169\.254\.169\.254 via 192\.168\.1\.1 dev eth0/m);
  const inet = t.hosts.find((h) => h.name === 'inet')!;
  assert.equal(inet.iface.addresses[0]!.cidr, '203.0.113.8/24');
});

test('lab: nodes are the seed nodes, flows identical', () => {
  const seed = load('seed-dvr-snat.yaml');
  const lab = load('lab-dvr-snat.yaml');
  assert.deepEqual(lab.nodes.map((n) => n.name), seed.nodes.map((n) => n.name));
  for (const n of seed.nodes) {
    for (const b of n.ovsBridges) {
      assert.equal(node(lab, n.name).ovsBridges.find((x) => x.name === b.name)!.flows?.text, b.flows?.text);
    }
  }
});
