// `dpemu ip NODE ...` without -n on a hypervisor: its root namespace as the
// seed's w07 has it (lo, the underlay NIC, OVS's devices, the VM's qbr,
// qvo/qvb and TAP), following the live ports, and refusing changes. The
// kernel's printing of the same devices: test/e2e/ip-root-kernel.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { COMMANDS } from '../../src/control/registry.js';
import { ControlError } from '../../src/control/protocol.js';
import { QROUTER, SEED_FILE } from '../helpers/seed-names.js';
import { buildFrame } from '../../src/wire/frame.js';

const build = (emulateHosts = false) => buildEmulator(loadTopologyOrThrow(SEED_FILE), { clock: new ManualClock(), emulateHosts });

async function ip(emu: Emulator, argv: string[]): Promise<{ exit: number; out: string }> {
  try {
    const r = await COMMANDS.get('ip')!.run({ emu, invalidate: () => {} }, argv);
    return { exit: r.exit, out: r.stdout + r.stderr };
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    return { exit: e.exit, out: e.stderr };
  }
}

const W07_LINK = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
2: eth2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP mode DEFAULT group default qlen 1000
    link/ether b4:96:91:5a:31:78 brd ff:ff:ff:ff:ff:ff
3: ovs-system: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000
    link/ether 02:1f:0d:9e:ed:13 brd ff:ff:ff:ff:ff:ff
4: br-int: <BROADCAST,MULTICAST> mtu 1450 qdisc noop state DOWN mode DEFAULT group default qlen 1000
    link/ether 02:ea:5a:6c:09:0f brd ff:ff:ff:ff:ff:ff
5: br-tun: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000
    link/ether 02:7c:66:45:a7:0f brd ff:ff:ff:ff:ff:ff
6: vxlan_sys_4789: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 65000 qdisc noqueue master ovs-system state UNKNOWN mode DEFAULT group default qlen 1000
    link/ether 02:a1:c1:5a:3f:17 brd ff:ff:ff:ff:ff:ff
7: qbr2ab77d0f-99: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UP mode DEFAULT group default qlen 1000
    link/ether 96:6e:9b:a8:b1:fc brd ff:ff:ff:ff:ff:ff
8: qvo2ab77d0f-99@qvb2ab77d0f-99: <BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu 1450 qdisc noqueue master ovs-system state UP mode DEFAULT group default qlen 1000
    link/ether 46:4f:72:0f:95:bf brd ff:ff:ff:ff:ff:ff
9: qvb2ab77d0f-99@qvo2ab77d0f-99: <BROADCAST,MULTICAST,PROMISC,UP,LOWER_UP> mtu 1450 qdisc noqueue master qbr2ab77d0f-99 state UP mode DEFAULT group default qlen 1000
    link/ether 96:6e:9b:a8:b1:fc brd ff:ff:ff:ff:ff:ff
10: tap2ab77d0f-99: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1450 qdisc fq_codel master qbr2ab77d0f-99 state DOWN mode DEFAULT group default qlen 1000
    link/ether fe:16:3e:b2:ef:af brd ff:ff:ff:ff:ff:ff
`;

test("w07's root namespace: the wiring Neutron, os-vif and OVS leave there; the NIC's address, route and gateway neighbour", async () => {
  const emu = build();
  assert.deepEqual(await ip(emu, ['w07', 'link']), { exit: 0, out: W07_LINK });
  assert.deepEqual(await ip(emu, ['w07', 'route']), { exit: 0, out: 'default via 10.206.107.193 dev eth2 \n10.206.107.192/26 dev eth2 proto kernel scope link src 10.206.107.238 \n' });
  assert.deepEqual(await ip(emu, ['w07', 'neigh']), { exit: 0, out: '10.206.107.193 dev eth2 lladdr 5c:c9:99:60:e0:3c REACHABLE \n' });
  assert.deepEqual(await ip(emu, ['w07', '-br', 'addr', 'show', 'dev', 'eth2']), { exit: 0, out: 'eth2             UP             10.206.107.238/26 \n' });
  // The qr- port Neutron moved into the router's namespace is there, not here.
  assert.deepEqual(await ip(emu, ['w07', 'link', 'show', 'qr-178fc8e2-fd']), { exit: 1, out: 'Device "qr-178fc8e2-fd" does not exist.\n' });
  assert.equal((await ip(emu, ['-n', QROUTER, 'w07', 'link', 'show', 'qr-178fc8e2-fd'])).exit, 0);
});

test("the root view follows the ports: the VM's TAP has carrier while a VM holds it, the NIC loses it when its port goes down", async () => {
  const emu = build(true);
  assert.match((await ip(emu, ['w07', 'link', 'show', 'tap2ab77d0f-99'])).out, /^10: tap2ab77d0f-99: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc fq_codel master qbr2ab77d0f-99 state UNKNOWN /);
  emu.element('w07', 'eth2').port('eth2')!.up = false;
  assert.match((await ip(emu, ['w07', 'link', 'show', 'eth2'])).out, /^2: eth2: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc fq_codel state DOWN /);
  assert.match((await ip(emu, ['w07', 'route'])).out, /^default via 10\.206\.107\.193 dev eth2 linkdown \n/);
});

test("the root view is read-only; w02's shows br-ex and its NIC eth3 on OVS", async () => {
  const emu = build();
  const set = await ip(emu, ['w07', 'link', 'set', 'eth2', 'down']);
  assert.deepEqual(set, { exit: 255, out: "Error: w07's root namespace is a read-only view, built from the topology and its ports' state; 'ip link set' is refused there (name a namespace with -n NS to change one).\n" });
  assert.equal((await ip(emu, ['w07', 'route', 'add', '192.0.2.0/24', 'dev', 'eth2'])).exit, 255);
  assert.match((await ip(emu, ['w07', 'link'])).out, /2: eth2: <BROADCAST,MULTICAST,UP,LOWER_UP>/);
  const w02 = (await ip(emu, ['w02', '-br', 'link'])).out.split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
  assert.deepEqual(w02, ['lo', 'eth2', 'eth3', 'ovs-system', 'br-int', 'br-tun', 'br-ex', 'vxlan_sys_4789']);
  assert.match((await ip(emu, ['w02', 'link', 'show', 'eth3'])).out, /^3: eth3: .* master ovs-system state UP /);
});

/** The records of W07_LINK for these devices, in its order. */
const w07Records = (...names: string[]): string =>
  W07_LINK.split(/\n(?=\d+: )/).map((r) => (r.endsWith('\n') ? r : `${r}\n`)).filter((r) => names.includes(/^\d+: ([^:@]+)/.exec(r)![1]!)).join('');

test('ip link show type selects by the kinds the kernel gives the devices the stand-ins of the kernel check cannot have (openvswitch, bridge and their ports)', async () => {
  const emu = build();
  assert.deepEqual(await ip(emu, ['w07', 'link', 'show', 'type', 'openvswitch']), { exit: 0, out: w07Records('ovs-system', 'br-int', 'br-tun') });
  assert.deepEqual(await ip(emu, ['w07', 'link', 'show', 'type', 'bridge']), { exit: 0, out: w07Records('qbr2ab77d0f-99') });
  assert.deepEqual(await ip(emu, ['w07', 'link', 'show', 'type', 'openvswitch_slave']), { exit: 0, out: w07Records('vxlan_sys_4789', 'qvo2ab77d0f-99') });
  assert.deepEqual(await ip(emu, ['w07', 'link', 'show', 'type', 'bridge_slave']), { exit: 0, out: w07Records('qvb2ab77d0f-99', 'tap2ab77d0f-99') });
  assert.deepEqual(await ip(emu, ['w07', 'link', 'show', 'type', 'veth']), { exit: 0, out: w07Records('qvo2ab77d0f-99', 'qvb2ab77d0f-99') });
  // In an emulated namespace too: the router's qr- port is an OVS internal device.
  assert.match((await ip(emu, ['-n', QROUTER, 'w07', '-br', 'link', 'show', 'type', 'openvswitch'])).out, /^qr-178fc8e2-fd +UNKNOWN /);
  assert.deepEqual(await ip(emu, ['-n', QROUTER, 'w07', 'addr', 'show', 'master', 'qr-178fc8e2-fd']), { exit: 0, out: '' });
  assert.deepEqual(await ip(emu, ['-n', QROUTER, 'w07', 'link', 'show', 'master', 'eth2']), { exit: 255, out: 'Error: argument "eth2" is wrong: Device does not exist\n\n' });
  assert.equal((await ip(emu, ['w07', 'addr', 'show', 'group', '0'])).exit, 255);
  // label under -j or -br: ip prints an empty object or line for each address the label refuses; not emulated.
  assert.equal((await ip(emu, ['w07', '-j', 'addr', 'show', 'label', 'eth*'])).exit, 255);
});

test("vsctl's Interface ifindex is its device's in the root view: the vxlan port's vxlan_sys_4789, 0 for a patch port and for the qr- port moved into the router", async () => {
  const emu = build();
  const links = new Map((JSON.parse((await ip(emu, ['w07', '-j', 'link'])).out) as { ifname: string; ifindex: number }[]).map((l) => [l.ifname, l.ifindex]));
  const r = await COMMANDS.get('vsctl')!.run({ emu, invalidate: () => {} }, ['--format=json', '--columns=name,type,ifindex', 'list', 'w07', 'Interface']);
  const rows = (JSON.parse(r.stdout) as { data: [string, string, number][] }).data;
  const want = (name: string, type: string) => (type === 'patch' || name.startsWith('qr-') ? 0 : links.get(type === 'vxlan' ? 'vxlan_sys_4789' : name));
  assert.deepEqual(rows.map(([name, , idx]) => [name, idx]), rows.map(([name, type]) => [name, want(name, type)]));
  assert.deepEqual(rows.filter(([, , idx]) => idx !== 0).map(([name]) => name).sort(), ['br-int', 'br-tun', 'qvo2ab77d0f-99', 'vxlan-0ace6b9c']);
});

test("ip -s link in the root view: a bridge port's device counts what its port counts (the TAP receives what the VM sends, qvb sends it on to qvo); OVS's own devices zero", async () => {
  const emu = build();
  const req = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '203.0.113.8', ttl: 64 }, udp: { sport: 40000, dport: 53, payload: 64 } });
  for (let i = 0; i < 3; i++) emu.engine.inject(emu.engine.pool.allocFrom(req)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
  emu.engine.run();
  type Shown = { ifname: string; stats64: { rx: { packets: number; bytes: number }; tx: { packets: number; bytes: number } } };
  const shown = new Map((JSON.parse((await ip(emu, ['w07', '-s', '-j', 'link'])).out) as Shown[]).map((l) => [l.ifname, l.stats64]));
  const bytes = 3 * req.length;
  assert.deepEqual([shown.get('tap2ab77d0f-99')!.rx.packets, shown.get('tap2ab77d0f-99')!.rx.bytes], [3, bytes]);
  assert.deepEqual([shown.get('qvb2ab77d0f-99')!.tx.packets, shown.get('qvb2ab77d0f-99')!.tx.bytes], [3, bytes]);
  assert.deepEqual([shown.get('qvo2ab77d0f-99')!.rx.packets, shown.get('qvo2ab77d0f-99')!.rx.bytes], [3, bytes]);
  assert.equal(shown.get('br-int')!.rx.packets + shown.get('br-int')!.tx.packets, 0);
  // The text form is ip -s link's, as in a namespace.
  assert.match((await ip(emu, ['w07', '-s', 'link', 'show', 'tap2ab77d0f-99'])).out, new RegExp(`\\n {4}RX: +bytes +packets +errors +dropped +missed +mcast +\\n +${bytes} +3 +0 +0 +0 +0 \\n`));
});

test('ip -s link in the root view: vxlan_sys_4789 counts what its tunnel ports carried, each packet by its inner frame less the Ethernet header (sent on w07, received on w02)', async () => {
  const emu = build();
  // To the sg- port on w02: br-tun's l2pop entry sends it out of vxlan-0ace6b9c, without its local VLAN.
  const req = buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:d1:d8:49', ip: { src: '192.168.1.7', dst: '192.168.1.6', ttl: 64 }, udp: { sport: 40000, dport: 53, payload: 64 } });
  for (let i = 0; i < 3; i++) emu.engine.inject(emu.engine.pool.allocFrom(req)!, emu.findPort('w07', 'tap2ab77d0f-99')!);
  emu.engine.run();
  type Shown = { ifname: string; stats64: { rx: { packets: number; bytes: number }; tx: { packets: number; bytes: number } } };
  const vxlan = async (node: string) => (JSON.parse((await ip(emu, [node, '-s', '-j', 'link', 'show', 'vxlan_sys_4789'])).out) as Shown[])[0]!.stats64;
  const inner = 3 * (req.length - 14);
  const w07 = await vxlan('w07'), w02 = await vxlan('w02');
  assert.deepEqual([w07.tx.packets, w07.tx.bytes], [3, inner]);
  assert.deepEqual([w02.rx.packets, w02.rx.bytes], [3, inner]);
  // Nothing listens on port 53 there: the ICMP port unreachable (IP 20 + ICMP 8 + the 92-byte datagram) comes back the same way.
  assert.deepEqual([w02.tx.packets, w02.tx.bytes, w07.rx.packets, w07.rx.bytes], [3, 360, 3, 360]);
});

test('ip -d in the root view: the TAP as libvirt opens it, its bridge port disabled until a VM holds it and forwarding then; the qbr from the topology; openvswitch_slave for OVS ports; OVS internal devices promiscuous', async () => {
  const tap = async (emu: Emulator) => (await ip(emu, ['w07', '-d', 'link', 'show', 'tap2ab77d0f-99'])).out;
  assert.match(await tap(build()), /promiscuity 1 {2}allmulti 1 minmtu 68 maxmtu 65521 \n {4}tun type tap pi off vnet_hdr on persist off \n {4}bridge_slave state disabled priority 32 cost 2 .* port_id 0x8002 port_no 0x2 designated_port 32770 .* designated_bridge 8000\.96:6e:9b:a8:b1:fc /);
  assert.match(await tap(build(true)), /bridge_slave state forwarding /);
  const qbr = (JSON.parse((await ip(build(), ['w07', '-d', '-j', 'link', 'show', 'qbr2ab77d0f-99'])).out) as { linkinfo: { info_kind: string; info_data: Record<string, unknown> } }[])[0]!.linkinfo;
  assert.deepEqual([qbr.info_kind, qbr.info_data.forward_delay, qbr.info_data.stp_state, qbr.info_data.ageing_time, qbr.info_data.mcast_snooping, qbr.info_data.bridge_id], ['bridge', 0, 0, 30000, 0, '8000.96:6e:9b:a8:b1:fc']);
  assert.match((await ip(build(), ['w07', '-d', 'link', 'show', 'qvo2ab77d0f-99'])).out, /promiscuity 2 {2}allmulti 0 .*\n {4}veth \n {4}openvswitch_slave addrgenmode eui64 /);
  assert.match((await ip(build(), ['w02', '-d', 'link', 'show', 'eth3'])).out, /promiscuity 1 {2}allmulti 0 minmtu 68 maxmtu 65535 \n {4}openvswitch_slave addrgenmode/);
  // OVS's own devices are internal ports: promiscuous once (internal_dev_create), no master.
  for (const dev of ['ovs-system', 'br-int']) assert.match((await ip(build(), ['w07', '-d', 'link', 'show', dev])).out, /promiscuity 1 {2}allmulti 0 minmtu 68 maxmtu 65535 \n {4}openvswitch addrgenmode/);
});
