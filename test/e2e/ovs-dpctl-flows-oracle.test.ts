// dpctl/dump-flows held to a real ovs-vswitchd 3.1 (test/helpers/ovs.ts, the
// userspace datapath): w07's bridges, ports and flows in both, the same
// frames from the VM, the same datapath flows. A patch port has no datapath
// port: OVS translates an output to one in the peer bridge within the same
// megaflow (patch_port_output), so NORMAL's flood across patch-tun is one
// flow from the VM's port holding what both bridges read, and no flow starts
// at patch-int. Compared: each flow's match (fields, values, masks; in_port
// by name), and what each of its outputs sends (port, VLAN, MACs), as a set:
// dpemu floods in its ports' order, OVS in its bundles', which changes where
// push_vlan and pop_vlan fall, not what leaves. Left out: the userspace
// datapath's packet_type() key, the tunnel set (its dummy vxlan port takes
// none), and the counters (OVS installs the flow of a packet that learned a
// MAC as it was translated, dpemu translates that first packet again).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmulator, type Emulator } from '../../src/topology/builder.js';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { appctl, ofctl, vsctl } from '../../src/control/ovs-commands.js';
import type { CommandResponse } from '../../src/control/protocol.js';
import { OvsBridge } from '../../src/ofproto/bridge.js';
import { ip } from '../../src/control/ip-commands.js';
import { openEdges } from '../../src/cli/trace.js';
import { buildFrame } from '../../src/wire/frame.js';
import { QROUTER } from '../helpers/seed-names.js';
import { RealOvs, topLevel } from '../helpers/ovs.js';
import { requireRoot } from '../helpers/root.js';

const NODE = 'w07';
const VM = 'qvo2ab77d0f-99';

let ovs: RealOvs | null = null;
after(() => ovs?.stop());

function run(emu: Emulator, family: typeof appctl, argv: string[]): string {
  const r = family.run({ emu, invalidate: () => {} }, argv) as CommandResponse;
  assert.equal(r.exit, 0, `dpemu ${family.name} ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** "    NAME OFPORT/ODP: (type...)" lines of dpif/show: datapath port -> name; a bridge's own port is its LOCAL. */
function odpNames(show: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const l of show.matchAll(/^\s+(\S+) (\d+)\/(\d+):/gm)) names.set(Number(l[3]), l[2] === '65534' ? 'LOCAL' : l[1]!);
  return names;
}


/** A dump's flows, each as its match and what its outputs send (sorted), the flows sorted. */
function flows(dump: string, names: Map<number, string>): string[] {
  return dump.split('\n').filter((l) => l.startsWith('recirc_id(')).map((l) => {
    const m = /^(.*), packets:\d+, bytes:\d+, used:[^,]+, actions:(.*)$/.exec(l);
    assert.ok(m, l);
    const match = m[1]!.replace('packet_type(ns=0,id=0),', '').replace(/in_port\((\d+)\)/, (_, n: string) => `in_port(${names.get(Number(n)) ?? `odp ${n}`})`);
    if (m[2] === 'drop' || m[2]!.startsWith('userspace(')) return `${match} -> ${m[2]}`;
    let src = /eth\(src=([0-9a-f:]+)/.exec(match)![1]!, dst = /eth\(.*dst=([0-9a-f:]+)/.exec(match)![1]!;
    let vlan = /vlan\(vid=(\d+)/.exec(match)?.[1] ?? 'none';
    const sent: string[] = [];
    for (const a of topLevel(m[2]!)) {
      if (/^\d+$/.test(a)) sent.push(`${names.get(Number(a)) ?? `odp ${a}`} vlan=${vlan} src=${src} dst=${dst}`);
      else if (a === 'pop_vlan') vlan = 'none';
      else if (a.startsWith('push_vlan(')) vlan = /vid=(\d+)/.exec(a)![1]!;
      else if (a.startsWith('set(eth(')) {
        src = /src=([0-9a-f:]+)/.exec(a)?.[1] ?? src;
        dst = /dst=([0-9a-f:]+)/.exec(a)?.[1] ?? dst;
      } else assert.ok(a.startsWith('set(tunnel('), `datapath action ${a} not understood (in ${l})`);
    }
    return `${match} -> ${sent.sort().join('; ')}`;
  }).sort();
}

// From the VM: an ARP request for an address no ARP responder answers, a frame to a MAC nobody knows, one to the
// router's MAC, a broadcast: NORMAL floods each (the VM's MAC learned first), across patch-tun into br-tun.
const FRAMES = [
  buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'ff:ff:ff:ff:ff:ff', arp: { op: 1, sha: 'fa:16:3e:b2:ef:af', spa: '192.168.1.7', tha: '00:00:00:00:00:00', tpa: '192.168.1.9' } }),
  buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:00:00:99', ip: { src: '192.168.1.7', dst: '192.168.1.99', ttl: 64 }, udp: { sport: 40000, dport: 53, payload: 64 } }),
  buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 64 }, icmp: { type: 8, id: 7, seq: 1 } }),
  buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'ff:ff:ff:ff:ff:ff', ip: { src: '192.168.1.7', dst: '192.168.1.255', ttl: 64 }, udp: { sport: 138, dport: 138, payload: 8 } }),
];

for (const tag of [10, 11]) {
  test(`dpctl/dump-flows after the VM's floods on VLAN ${tag}: the same datapath flows as ovs-vswitchd 3.1, none from a patch port`, async () => {
    requireRoot('a real ovs-vswitchd');
    ovs?.stop();
    const o = (ovs = RealOvs.start());
    const emu = buildEmulator(loadTopologyOrThrow('configs/seed-dvr-snat.yaml'));
    emu.engine.fastpath = true;
    openEdges(emu);
    for (const br of emu.engine.elements.filter((e): e is OvsBridge => e instanceof OvsBridge && e.node === NODE)) {
      o.addBridge(br);
      o.copyFlows(br.name, run(emu, ofctl, ['dump-flows', NODE, br.name]));
    }
    // The real switch's qr- port leads nowhere: dpemu's router must not answer either.
    run(emu, ip, ['-n', QROUTER, NODE, 'link', 'set', 'qr-178fc8e2-fd', 'down']);
    if (tag !== 10) {
      o.vsctl(['set', 'Port', VM, `tag=${tag}`]);
      run(emu, vsctl, ['set', NODE, 'Port', VM, `tag=${tag}`]);
    }
    for (const f of FRAMES) {
      for (let i = 0; i < 3; i++) {
        o.appctl(['netdev-dummy/receive', VM, Buffer.from(f).toString('hex')]);
        emu.engine.inject(emu.engine.pool.allocFrom(f)!, emu.findPort(NODE, `tap${VM.slice(3)}`)!);
      }
    }
    const ourNames = odpNames(run(emu, appctl, ['dpif/show', NODE])), realNames = odpNames(o.appctl(['dpif/show']));
    const ours = flows(run(emu, appctl, ['dpctl/dump-flows', NODE]), ourNames);
    // The userspace datapath handles the frames on its own thread: wait for its flows.
    let real: string[] = [];
    for (let i = 0; i < 50 && real.length < ours.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      real = flows(o.appctl(['dpctl/dump-flows']), realNames);
    }
    assert.deepEqual(ours, real, `VLAN ${tag}`);
    assert.equal(ours.length, FRAMES.length);
    assert.ok(ours.every((l) => l.startsWith(`recirc_id(0),in_port(${VM}),`)), ours.join('\n'));
  });
}
