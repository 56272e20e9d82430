// dpemu's view of a hypervisor's root namespace (`dpemu ip NODE link|addr|
// route|neigh`, src/control/root-netns.ts) against the kernel's: for each
// seed node, the same devices are built in a kernel namespace (names,
// ifindexes, MACs, MTUs, masters, promiscuity, up or down; the NIC's
// address, default route and gateway neighbour), and the same show
// commands must print the same. What has no kernel here is stood in for,
// and only what the stand-in cannot match is rewritten:
// - the underlay NIC (and w02's eth3) is a veth whose peer is in a spare
//   namespace: its `@ifN`, link-netns and qdisc are dropped;
// - ovs-system and the OVS bridges' own devices (kind openvswitch: no OVS
//   kernel module here) are Linux bridges left down, which print the same
//   flags, qdisc and state (-d tells them apart: see maskDetails), made
//   promiscuous once as the kernel makes an internal port
//   (internal_dev_create; hold-promisc.py, no PROMISC flag);
// - a TAP's and a NIC's qdisc is the host's net.core.default_qdisc
//   (pfifo_fast here, fq_codel on a Debian node, which dpemu prints).
// Under -d (maskDetails): the stand-ins' own data (a veth NIC's kind and
// queues, a Linux bridge's data for an openvswitch device, bridge_slave
// data and allmulti for an openvswitch_slave), the TAP's persist (ip tuntap
// makes it persistent, as no process holds it; libvirt's is not), a veth's
// queue count (one pair per CPU here) and the running gc_timer.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireRoot } from '../helpers/root.js';
import { SEED_FILE } from '../helpers/seed-names.js';
import { loadTopologyFile } from '../../src/topology/loader.js';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import type { Node } from '../../src/topology/model.js';
import { COMMANDS } from '../../src/control/registry.js';
import { ControlError } from '../../src/control/protocol.js';
import { KernelObjects, settled, sh, uniqueTag } from './lab-names.js';
import { holdPromisc } from './promisc-holder.js';
import { spawnSync } from 'node:child_process';

const tag = uniqueTag();
const objs = new KernelObjects();
const SPARE = `dpe-${tag}-x`;
const loaded = loadTopologyFile(SEED_FILE);
if (!loaded.ok) throw new Error('seed topology does not load');
const topo = loaded.topology;
let emu: Emulator;
const kns = new Map<string, string>();
let releasePromisc = async (): Promise<void> => {};

async function dpemu(argv: string[]): Promise<string> {
  const r = await COMMANDS.get('ip')!.run({ emu, invalidate: () => {} }, argv);
  assert.equal(r.exit, 0, `dpemu ip ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Shown { ifname: string; ifindex: number; address: string; mtu: number; flags: string[]; master?: string }

/** The kernel namespace standing for `n`'s root namespace, built device by device in dpemu's ifindex order. */
async function buildRoot(n: Node): Promise<void> {
  const ns = objs.addNetns(`dpe-${tag}-${n.name}`);
  kns.set(n.name, ns);
  const ipn = (...a: string[]) => sh('ip', ['-n', ns, ...a]);
  sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  const devs = (JSON.parse(await dpemu([n.name, '-j', 'link'])) as Shown[]).filter((d) => d.ifname !== 'lo');
  const veths = new Map(n.veths.flatMap((v) => [[v.a, v.b], [v.b, v.a]]));
  const lbPort = new Map(n.linuxBridges.flatMap((b) => b.ports.map((p) => [p.name, b.name])));
  const ovsNames = new Set(['ovs-system', ...n.ovsBridges.map((b) => b.name)]);
  const ovsPort = new Set(n.ovsBridges.flatMap((b) => b.ports.filter((p) => !p.local && p.type === 'system').map((p) => p.name)));
  const done = new Set<string>();
  for (const d of devs) {
    if (done.has(d.ifname)) continue;
    const common = ['index', String(d.ifindex), 'address', d.address, 'mtu', String(d.mtu)];
    if (veths.has(d.ifname)) {
      // Both ends at once, with the other end's number.
      const p = devs.find((x) => x.ifname === veths.get(d.ifname))!;
      ipn('link', 'add', d.ifname, ...common, 'type', 'veth', 'peer', 'name', p.ifname, 'index', String(p.ifindex), 'address', p.address, 'mtu', String(p.mtu));
      done.add(p.ifname);
    } else if (d.ifname.startsWith('tap')) {
      // ip tuntap takes no index: the next one the namespace hands out is dpemu's. libvirt asks for a vnet header.
      ipn('tuntap', 'add', 'dev', d.ifname, 'mode', 'tap', 'vnet_hdr');
      ipn('link', 'set', d.ifname, 'address', d.address, 'mtu', String(d.mtu));
    } else if (d.ifname.startsWith('vxlan_sys_')) {
      // As OVS's dpif-netlink-rtnl asks for it.
      ipn('link', 'add', d.ifname, ...common, 'type', 'vxlan', 'external', 'nolearning', 'udp6zerocsumrx', 'dstport', d.ifname.slice('vxlan_sys_'.length));
    } else if (ovsNames.has(d.ifname) || lbPort.has(d.ifname)) {
      // A Linux bridge's MTU follows its ports unless set: set only a stand-in's.
      ipn('link', 'add', d.ifname, 'index', String(d.ifindex), 'address', d.address, ...(ovsNames.has(d.ifname) ? ['mtu', String(d.mtu)] : []), 'type', 'bridge');
    } else if (n.linuxBridges.some((b) => b.name === d.ifname)) {
      // A qbr as os-vif's ensure_bridge makes it (setfd 0, stp off, multicast_snooping 0), with the topology's ageing time.
      // brctl addbr sets no address: the bridge takes its ports' lowest, whose own fdb entry then holds it. Only an
      // address no port has is set (it then has an entry of no port).
      const b = n.linuxBridges.find((x) => x.name === d.ifname)!;
      const own = b.ports.some((p) => p.mac?.toLowerCase() === d.address) ? [] : ['address', d.address];
      ipn('link', 'add', d.ifname, 'index', String(d.ifindex), ...own, 'type', 'bridge', 'forward_delay', '0', 'stp_state', b.stp ? '1' : '0', 'mcast_snooping', '0', 'ageing_time', String(b.ageingTime * 100));
    } else {
      // A NIC: a veth whose peer waits in the spare namespace.
      ipn('link', 'add', d.ifname, ...common, 'type', 'veth', 'peer', 'name', `dpe-${tag}-${n.name.slice(-2)}${d.ifindex}`, 'netns', SPARE);
      sh('ip', ['-n', SPARE, 'link', 'set', `dpe-${tag}-${n.name.slice(-2)}${d.ifindex}`, 'up']);
    }
    done.add(d.ifname);
  }
  for (const d of devs) {
    const master = lbPort.get(d.ifname) ?? (ovsPort.has(d.ifname) || d.ifname.startsWith('vxlan_sys_') ? 'ovs-system' : undefined);
    if (master) ipn('link', 'set', d.ifname, 'master', master);
    if (d.flags.includes('PROMISC')) ipn('link', 'set', d.ifname, 'promisc', 'on');
    if (d.flags.includes('UP')) ipn('link', 'set', d.ifname, 'up');
  }
  // A stand-in bridge would follow its ports' MTU: an MTU set by hand stays.
  for (const d of devs) if (ovsNames.has(d.ifname)) ipn('link', 'set', d.ifname, 'mtu', String(d.mtu));
  const u = n.underlay!;
  ipn('addr', 'add', `${u.address.ip}/${u.address.prefixLen}`, 'brd', '+', 'dev', u.nic);
  ipn('route', 'add', 'default', 'via', u.gateway, 'dev', u.nic);
  // dpemu's clock does not move here (nothing runs its timers): its REACHABLE gateway stays so. An hour of
  // reachable time keeps the kernel's so too (a loaded run got past a 15-45 s draw before comparing: STALE).
  sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv4.neigh.${u.nic.replaceAll('.', '/')}.base_reachable_time_ms=3600000`]);
  ipn('neigh', 'replace', u.gateway, 'lladdr', u.gatewayMac, 'dev', u.nic, 'nud', 'reachable');
  // Carrier and operstate settle through linkwatch: its first batch is up to a second away, then nothing changes for 1.1 s.
  await new Promise((r) => setTimeout(r, 1000));
  await settled(() => ipn('-d', 'link') + ipn('route', 'show', 'table', 'all'));
}

/** The NIC stand-ins: veths in the kernel, physical NICs in dpemu. */
const nicNames = (n: Node): string[] => [n.underlay!.nic, ...n.ovsBridges.flatMap((b) => b.ports.filter((p) => !p.local && p.type === 'system' && !p.name.startsWith('qvo') && !p.name.startsWith('tap')).map((p) => p.name))];

function maskText(text: string, nics: string[]): string {
  return text.split('\n').map((line) => {
    const name = /^(?:\d+: )?([^:@\s]+)/.exec(line)?.[1] ?? '';
    let l = line;
    if (nics.includes(name)) {
      l = l.replace(/^(\d+: \S+?)@if\d+:/, '$1:').replace(/^(\S+)@if\d+ +/, (_, nm: string) => `${nm.padEnd(16)} `);
    }
    l = l.replace(/ link-netns(?:id)? \S+/, '');
    if (nics.includes(name) || name.startsWith('tap')) l = l.replace(/qdisc \S+/, 'qdisc Q');
    return l;
  }).join('\n');
}

function maskJson(text: string, nics: string[]): unknown {
  const v = JSON.parse(text) as Record<string, unknown>[];
  for (const d of v) {
    const name = String(d.ifname ?? '');
    if (nics.includes(name)) {
      delete d.link_index;
      delete d.link_netnsid;
    }
    if ((nics.includes(name) || name.startsWith('tap')) && 'qdisc' in d) d.qdisc = 'Q';
  }
  return v;
}

/**
 * -d output with what the stand-ins cannot match rewritten on the kernel's
 * side (see the head of this file); the running gc_timer is taken out of both.
 */
function maskDetails(text: string, n: Node, kernel: boolean): string {
  const nics = nicNames(n);
  const ovsNames = new Set(['ovs-system', ...n.ovsBridges.map((b) => b.name)]);
  return text.split(/\n(?=\d+: )/).map((rec) => {
    const name = /^\d+: ([^:@\s]+)/.exec(rec)?.[1] ?? '';
    let r = rec.replace(/gc_timer +\d+\.\d+ /, 'gc_timer T ');
    if (nics.includes(name) || /^(?:qvo|qvb)/.test(name)) r = r.replace(/numtxqueues \d+ numrxqueues \d+ /, 'numtxqueues Q numrxqueues Q ');
    if (!kernel) return r;
    // A line break inside a record is a backslash under -o.
    if (nics.includes(name)) r = r.replace(/(?:\n|\\)    veth /, '').replace(/tso_max_size 524280 /, 'tso_max_size 65536 ');
    if (ovsNames.has(name)) r = r.replace(/((?:\n|\\)    )bridge .*?nf_call_arptables \d+ /, '$1openvswitch ');
    if (/ master ovs-system /.test(r)) r = r.replace(/allmulti 1 /, 'allmulti 0 ').replace(/bridge_slave .*?locked (?:on|off) /, 'openvswitch_slave ');
    if (name.startsWith('tap')) r = r.replace('persist on ', 'persist off ');
    return r;
  }).join('\n');
}

/** The same for `ip -j -d`. */
function maskDetailsJson(v: Record<string, any>[], n: Node, kernel: boolean): unknown {
  const nics = nicNames(n);
  const ovsNames = new Set(['ovs-system', ...n.ovsBridges.map((b) => b.name)]);
  for (const d of v) {
    const name = String(d.ifname);
    if (d.linkinfo?.info_data?.gc_timer !== undefined) d.linkinfo.info_data.gc_timer = 'T';
    if (nics.includes(name) || /^(?:qvo|qvb)/.test(name)) d.num_tx_queues = d.num_rx_queues = 'Q';
    if (!kernel) continue;
    if (nics.includes(name)) {
      delete d.linkinfo.info_kind;
      if (!Object.keys(d.linkinfo).length) delete d.linkinfo;
      d.tso_max_size = 65536;
    }
    if (ovsNames.has(name)) d.linkinfo = { info_kind: 'openvswitch' };
    if (d.master === 'ovs-system') {
      d.allmulti = 0;
      d.linkinfo.info_slave_kind = 'openvswitch';
      delete d.linkinfo.info_slave_data;
    }
    if (name.startsWith('tap')) d.linkinfo.info_data.persist = false;
  }
  return v;
}

const DETAIL_SHOWS = [['-d', 'link'], ['-d', 'addr'], ['-d', '-o', 'link'], ['-d', 'link', 'show', 'master', 'ovs-system']];
const DETAIL_JSON_SHOWS = [['-j', '-d', 'link'], ['-j', '-d', 'addr']];

const SHOWS = [['link'], ['addr'], ['route'], ['neigh'], ['-br', 'link'], ['-br', 'addr'], ['-o', 'link'], ['-4', 'addr'], ['route', 'show', 'table', 'all'], ['link', 'show', 'dev', 'vxlan_sys_4789']];
const JSON_SHOWS = [['-j', 'link'], ['-j', 'addr'], ['-j', 'route'], ['-j', 'neigh'], ['-j', 'link', 'show', 'master', 'ovs-system']];
/**
 * ip link|addr show's selectors. `type` only where the stand-ins keep the
 * kind (not openvswitch or bridge, nor veth: the NICs are veths here).
 */
const selectorShows = (n: Node): string[][] => [
  ...n.linuxBridges.flatMap((b) => [['link', 'show', 'master', b.name], ['-br', 'addr', 'show', 'master', b.name]]),
  ['link', 'show', 'master', 'ovs-system'],
  ['addr', 'show', 'master', 'ovs-system'],
  ['-o', 'link', 'show', 'master', 'br-int'],
  ['-br', 'link', 'show', 'nomaster'],
  ['link', 'show', 'master', 'ovs-system', 'nomaster'],
  ['link', 'show', 'up'],
  ['addr', 'show', 'up', 'master', 'ovs-system'],
  ['link', 'show', 'type', 'tun'],
  ['link', 'show', 'type', 'vxlan'],
  ['link', 'show', 'master', 'ovs-system', 'type', 'vxlan'],
  ['link', 'show', 'dev', 'vxlan_sys_4789', 'master', 'ovs-system'],
  ['link', 'show', 'dev', n.underlay!.nic, 'master', 'ovs-system'],
];
/** Selector lines ip refuses: an unknown master (at once), an unknown device (after the line), a second device, a missing argument. */
const REFUSED = [['link', 'show', 'master', 'dpe-nosuch'], ['addr', 'show', 'master', 'dpe-nosuch'], ['link', 'show', 'dev', 'dpe-nosuch', 'master', 'dpe-nosuch2'], ['link', 'show', 'master', 'ovs-system', 'dev', 'dpe-nosuch'], ['link', 'show', 'br-int', 'br-tun'], ['link', 'show', 'master']];

/** Exit status and stderr of a refused show, dpemu's (as the control server answers it: a newline added unless there) and the kernel's. */
async function refusal(node: string, args: string[]): Promise<{ dpemu: [number, string]; kernel: [number, string] }> {
  let d: [number, string] = [0, ''];
  try {
    await COMMANDS.get('ip')!.run({ emu, invalidate: () => {} }, [node, ...args]);
  } catch (e) {
    d = [(e as ControlError).exit, (e as ControlError).stderr];
  }
  const k = spawnSync('ip', ['-n', kns.get(node)!, ...args], { encoding: 'utf8' });
  return { dpemu: d, kernel: [k.status ?? -1, k.stderr] };
}

before(async () => {
  requireRoot('the root namespace view against the kernel');
  emu = buildEmulator(topo);
  try {
    objs.addNetns(SPARE);
    for (const n of topo.nodes) await buildRoot(n);
    const internal = topo.nodes.flatMap((n) => (n.ovsBridges.length ? ['ovs-system', ...n.ovsBridges.map((b) => b.name)] : []).map((d) => [kns.get(n.name)!, d] as const));
    releasePromisc = await holdPromisc(internal);
  } catch (e) {
    objs.cleanup();
    throw e;
  }
});
after(async () => {
  await releasePromisc();
  objs.cleanup();
});

for (const node of topo.nodes.map((n) => n.name)) {
  test(`${node}: the root namespace's show commands print what the kernel prints for the same devices`, async () => {
    const n = topo.nodes.find((x) => x.name === node)!;
    const nics = nicNames(n);
    for (const args of SHOWS) {
      assert.equal(maskText(await dpemu([node, ...args]), nics), maskText(sh('ip', ['-n', kns.get(node)!, ...args]), nics), `ip ${args.join(' ')} on ${node}`);
    }
    for (const args of JSON_SHOWS) {
      assert.deepEqual(maskJson(await dpemu([node, ...args]), nics), maskJson(sh('ip', ['-n', kns.get(node)!, ...args]), nics), `ip ${args.join(' ')} on ${node}`);
    }
  });
}

for (const node of topo.nodes.map((n) => n.name)) {
  test(`${node}: ip link|addr show master, nomaster, type and up select what the kernel's ip selects, and refuse what it refuses`, async () => {
    const n = topo.nodes.find((x) => x.name === node)!;
    const nics = nicNames(n);
    for (const args of selectorShows(n)) {
      assert.equal(maskText(await dpemu([node, ...args]), nics), maskText(sh('ip', ['-n', kns.get(node)!, ...args]), nics), `ip ${args.join(' ')} on ${node}`);
    }
    for (const args of REFUSED) {
      const r = await refusal(node, args);
      assert.deepEqual(r.dpemu, r.kernel, `ip ${args.join(' ')} on ${node}`);
    }
  });
}

for (const node of topo.nodes.map((n) => n.name)) {
  test(`${node}: ip -d prints each root device's details (bridge, bridge_slave, openvswitch_slave, tun, vxlan) as the kernel's ip prints them`, async () => {
    const n = topo.nodes.find((x) => x.name === node)!;
    const nics = nicNames(n);
    for (const args of DETAIL_SHOWS) {
      const mine = maskDetails(maskText(await dpemu([node, ...args]), nics), n, false);
      const theirs = maskDetails(maskText(sh('ip', ['-n', kns.get(node)!, ...args]), nics), n, true);
      assert.equal(mine, theirs, `ip ${args.join(' ')} on ${node}`);
    }
    for (const args of DETAIL_JSON_SHOWS) {
      const mine = maskDetailsJson(maskJson(await dpemu([node, ...args]), nics) as Record<string, any>[], n, false);
      const theirs = maskDetailsJson(maskJson(sh('ip', ['-n', kns.get(node)!, ...args]), nics) as Record<string, any>[], n, true);
      assert.deepEqual(mine, theirs, `ip ${args.join(' ')} on ${node}`);
    }
  });
}

// ---- bridge fdb|link show (src/control/bridge-commands.ts) ----
// Here the OVS stand-ins are Linux bridges: what they list as bridges (their
// own entries, their ports' `master ovs-system` entries and `bridge link`
// lines) is dropped from the kernel's side; what they list as devices (the
// `self` entries) stays, as an openvswitch device lists the same. The ages
// `-s` prints are compared by test/e2e/bridge-fdb-kernel.test.ts.

const standIns = (n: Node): Set<string> => new Set(n.ovsBridges.length ? ['ovs-system', ...n.ovsBridges.map((b) => b.name)] : []);

function maskBridgeText(text: string, n: Node, kernel: boolean): string {
  if (!kernel) return text;
  const ovs = standIns(n);
  const out: string[] = [];
  let dropDetail = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('    ')) {
      if (!dropDetail) out.push(line);
      continue;
    }
    dropDetail = ovs.has(/ master (\S+) /.exec(line)?.[1] ?? '');
    if (!dropDetail) out.push(line);
  }
  return out.join('\n');
}

function maskBridgeJson(text: string, n: Node, kernel: boolean): unknown {
  const v = JSON.parse(text) as Record<string, unknown>[];
  const ovs = standIns(n);
  return kernel ? v.filter((o) => !ovs.has(String(o.master))) : v;
}

async function dpemuBridge(argv: string[]): Promise<string> {
  const r = await COMMANDS.get('bridge')!.run({ emu, invalidate: () => {} }, argv);
  assert.equal(r.exit, 0, `dpemu bridge ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function bridgeRefusal(node: string, args: string[]): Promise<{ dpemu: [number, string]; kernel: [number, string] }> {
  let d: [number, string] = [0, ''];
  try {
    await COMMANDS.get('bridge')!.run({ emu, invalidate: () => {} }, [node, ...args]);
  } catch (e) {
    d = [(e as ControlError).exit, (e as ControlError).stderr];
  }
  const k = spawnSync('ip', ['netns', 'exec', kns.get(node)!, 'bridge', ...args], { encoding: 'utf8' });
  return { dpemu: d, kernel: [k.status ?? -1, k.stderr] };
}

/** Sends each frame on its device of the kernel namespace. */
const SEND = String.raw`
import json, socket, sys
for dev, frame in json.load(sys.stdin):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    s.send(bytes.fromhex(frame))
    s.close()
`;

const frameHex = (dst: string, src: string): string => `${dst}${src}`.replaceAll(':', '') + '88b5' + '00'.repeat(46);

const bridgeShows = (n: Node): string[][] => [
  ['fdb', 'show'], ['fdb'], ['fdb', 'show', 'dynamic'], ['fdb', 'show', 'state', 'permanent'], ['fdb', 'show', 'state', 'reachable'],
  ['fdb', 'show', 'br', n.underlay!.nic], ['fdb', 'show', 'dev', n.underlay!.nic], ['link'], ['-d', 'link'], ['link', 'show', 'dev', n.underlay!.nic],
  ['vlan', 'show'], ['-s', 'vlan', 'show'], ['vlan', 'show', 'dev', n.underlay!.nic], ['mdb', 'show'], ['mdb', 'show', 'dev', n.underlay!.nic],
  ...n.linuxBridges.flatMap((b) => [
    ['fdb', 'show', 'br', b.name], ['fdb', 'show', 'dev', b.name], ['vlan', 'show', 'dev', b.name], ['mdb', 'show', 'dev', b.name],
    ...b.ports.flatMap((p) => [['fdb', 'show', 'brport', p.name], ['fdb', 'show', 'br', b.name, 'brport', p.name], ['link', 'show', 'dev', p.name], ['-d', 'link', 'show', 'dev', p.name], ['vlan', 'show', 'dev', p.name]]),
  ]),
];
const bridgeJsonShows = (n: Node): string[][] => [
  ['-j', 'fdb', 'show'], ['-j', '-p', 'fdb', 'show'], ['-j', 'link'], ['-j', '-d', 'link'], ['-j', '-p', 'link'], ['-j', 'vlan', 'show'], ['-s', '-j', 'vlan'], ['-j', '-p', 'mdb', 'show'],
  ...n.linuxBridges.flatMap((b) => [['-j', 'fdb', 'show', 'br', b.name], ...b.ports.map((p) => ['-j', '-p', 'fdb', 'show', 'brport', p.name])]),
];
const BRIDGE_REFUSED = [['fdb', 'show', 'br', 'dpe-nosuch'], ['fdb', 'show', 'dev', 'dpe-nosuch'], ['fdb', 'show', 'brport'], ['fdb', 'show', 'state', 'dpe-nosuch'],
  ['fdb', 'show', 'vlan', '1', 'vlan', '2'], ['link', 'show', 'dev', 'dpe-nosuch'], ['-x', 'link'], ['dpe-nosuch'], ['fdb', 'dpe-nosuch'], ['link', 'dpe-nosuch']];

for (const node of topo.nodes.map((n) => n.name)) {
  test(`${node}: bridge fdb, link, vlan and mdb show print what the kernel's bridge prints for the same devices and learned entries`, async () => {
    const n = topo.nodes.find((x) => x.name === node)!;
    const ns = kns.get(node)!;
    // On each qbr's qvb, from the qvo side: 01 learned, 02 learned (sending to 01, on the same port), 03 learned
    // (sending to nowhere); listed newest first.
    const plan = n.linuxBridges.flatMap((b) => {
      const port = b.ports.find((p) => p.name.startsWith('qvb'))!.name;
      const peer = n.veths.flatMap((v) => (v.a === port ? [v.b] : v.b === port ? [v.a] : []))[0]!;
      return [['ff:ff:ff:ff:ff:ff', '0a:00:00:00:00:01'], ['0a:00:00:00:00:01', '0a:00:00:00:00:02'], ['0a:00:00:00:00:99', '0a:00:00:00:00:03']]
        .map(([dst, src]) => ({ bridge: b.name, port, peer, frame: frameHex(dst!, src!) }));
    });
    if (plan.length) {
      const r = spawnSync('ip', ['netns', 'exec', ns, 'python3', '-c', SEND], { input: JSON.stringify(plan.map((f) => [f.peer, f.frame])), encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      for (const f of plan) emu.engine.inject(emu.engine.pool.allocFrom(Buffer.from(f.frame, 'hex'))!, emu.engine.element(node, f.bridge)!.port(f.port)!);
    }
    for (const args of bridgeShows(n)) {
      assert.equal(await dpemuBridge([node, ...args]), maskBridgeText(sh('ip', ['netns', 'exec', ns, 'bridge', ...args]), n, true), `bridge ${args.join(' ')} on ${node}`);
    }
    for (const args of bridgeJsonShows(n)) {
      assert.deepEqual(maskBridgeJson(await dpemuBridge([node, ...args]), n, false), maskBridgeJson(sh('ip', ['netns', 'exec', ns, 'bridge', ...args]), n, true), `bridge ${args.join(' ')} on ${node}`);
    }
    for (const args of BRIDGE_REFUSED) {
      const r = await bridgeRefusal(node, args);
      assert.deepEqual(r.dpemu, r.kernel, `bridge ${args.join(' ')} on ${node}`);
    }
    if (plan.length) assert.match(await dpemuBridge([node, 'fdb', 'show', 'dynamic']), /^0a:00:00:00:00:03 dev qvb\S+ master qbr\S+ \n0a:00:00:00:00:02 /, 'entries were learned');
  });
}
