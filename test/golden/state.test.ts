// Golden: the state the write-up shows (SCENARIO.md, "State the write-up
// shows") after its echo request and reply crossed the seed topology: OVS
// fdbs, the qbr's learned MACs, the snat conntrack entry, flow counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conntrackList } from '../../src/netfilter/index.js';
import { FIP, M, QBR, QROUTER, SEED, SNAT, golden, inject, type Golden } from '../helpers/golden.js';

function request(g: Golden): void {
  inject(g, 'w07', 'tap2ab77d0f-99', { src: M.vm, dst: M.qr, ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 60691, seq: 53781, data: 100 } });
}
function reply(g: Golden): void {
  inject(g, 'w02', 'eth3', { src: M.tor, dst: M.vif, vlans: [103], ip: { src: '8.8.8.8', dst: '112.65.210.200' }, icmp: { type: 0, id: 60691, seq: 53781, data: 68 } });
}
// Request then reply, inspected by the tests below (the conntrack test makes its own).
const after = golden(SEED);
request(after);
reply(after);

/** `ovs-appctl fdb/show` rows as `port vlan mac` (age left out), sorted. */
function fdb(g: Golden, node: string, bridge: string): string[] {
  const lines = g.emu.bridge(node, bridge).fdbShow().trimEnd().split('\n');
  assert.match(lines[0]!, /^ port\s+VLAN\s+MAC\s+Age$/);
  return lines.slice(1).map((l) => l.trim().split(/\s+/).slice(0, 3).join(' ')).sort();
}

test('state: w07 br-int fdb (ovs-appctl fdb/show br-int)', () => {
  // The write-up's rows for this network; its port 45 (fa:16:3e:95:02:b6) is another VM, not in the topology.
  assert.deepEqual(fdb(after, 'w07', 'br-int'), ['1 10 fa:16:3e:d1:d8:49', '40 10 fa:16:3e:06:d8:7b', '41 10 fa:16:3e:b2:ef:af']);
});

test('state: w07 br-tun fdb is empty (no NORMAL there), as the write-up shows', () => {
  assert.deepEqual(fdb(after, 'w07', 'br-tun'), []);
});

test('state: w02 br-int and br-ex fdbs', () => {
  const g = after;
  // Write-up: 74 20 fa:16:3e:d1:d8:49. Its `1 20 fa:16:3e:b2:ef:af` (age 7) was learned from other
  // traffic (ARP): the echo request reaches sg- through the DVR flow of table 1, which outputs without NORMAL.
  assert.deepEqual(fdb(g, 'w02', 'br-int'), ['74 20 fa:16:3e:d1:d8:49']);
  // Write-up: 5 103 fa:17:3e:f7:cd:bc and 1 103 5c:c9:99:60:d2:71 (its other rows are other hosts on the trunk).
  assert.deepEqual(fdb(g, 'w02', 'br-ex'), ['1 103 5c:c9:99:60:d2:71', '5 103 fa:17:3e:f7:cd:bc']);
});

test('state: qbr2ab77d0f-99 learned and local MACs (brctl showmacs, sorted by MAC)', () => {
  const g = after;
  const qbr = g.emu.linuxBridge('w07', QBR);
  const rows = qbr.showmacs().trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/).slice(0, 3).join(' '));
  assert.deepEqual(rows, [
    '1 96:6e:9b:a8:b1:fc yes', // write-up: local, port 1 (qvb)
    '1 fa:16:3e:06:d8:7b no', // not in the write-up: the cold br-int flooded the routed request to qvo once
    '2 fa:16:3e:b2:ef:af no', // write-up: the VM
    '1 fa:16:3e:d1:d8:49 no', // write-up: the reply's source (sg-)
    '2 fe:16:3e:b2:ef:af yes', // write-up: local, port 2 (tap)
  ]);
  // The write-up's `1 46:4f:72:0f:95:bf no` is the qvo end's own MAC, learned from frames the qvo itself sends (not this traffic).
  assert.ok(!qbr.learned().some((e) => e.mac === '46:4f:72:0f:95:bf'));
});

test('state: snat conntrack entry, unreplied after the request, then replied', () => {
  const g = golden(SEED);
  const ct = g.emu.namespace('w02', SNAT).nf.conntrack;
  request(g);
  assert.deepEqual(conntrackList(ct, g.emu.engine.now), [
    'icmp     1 30 src=192.168.1.7 dst=8.8.8.8 type=8 code=0 id=60691 [UNREPLIED] src=8.8.8.8 dst=112.65.210.200 type=0 code=0 id=60691 mark=0 use=1',
  ]);
  reply(g);
  assert.deepEqual(conntrackList(ct, g.emu.engine.now), [
    'icmp     1 30 src=192.168.1.7 dst=8.8.8.8 type=8 code=0 id=60691 src=8.8.8.8 dst=112.65.210.200 type=0 code=0 id=60691 mark=0 use=1',
  ]);
  // fip: the raw table's CT --notrack (no entries); the qrouter has no NAT.
  assert.equal(g.emu.namespace('w02', FIP).nf.conntrack.count, 0);
  assert.equal(g.emu.namespace('w07', QROUTER).nf.conntrack.count, 0);
});

/**
 * dump-flows lines whose counters moved, as `table match: n_packets/n_bytes`.
 * As in OVS, every flow a packet hits, across patch ports too, is credited with
 * the packet's length where it entered the datapath (one xlate, one set of stats).
 */
function moved(g: Golden, node: string, bridge: string): string[] {
  return g.emu.bridge(node, bridge).dumpFlows().flatMap((l) => {
    const m = /table=(\d+), n_packets=(\d+), n_bytes=(\d+),.*?idle_age=\d+, (\S*?)\s*actions=/.exec(l);
    assert.ok(m, l);
    return m[2] === '0' ? [] : [`${m[1]} ${m[4]}: ${m[2]}/${m[3]}`];
  });
}

test('state: the flow counters that moved, table by table', () => {
  const g = after;
  // Request: 142 bytes from qvo (the VM's frame, flooded by the cold fdb) and again from qr-; reply: 110 bytes from the tunnel.
  assert.deepEqual(moved(g, 'w07', 'br-int'), [
    '0 priority=9,in_port=41: 1/142',
    '0 priority=0: 2/252',
    '25 priority=2,in_port=41,dl_src=fa:16:3e:b2:ef:af: 1/142',
    '30 priority=0: 1/142',
    '58 priority=0: 3/394',
    '59 priority=0: 3/394',
    '60 priority=1: 3/394',
  ]);
  // Write-up: "tables 1 (mod_dl_src) -> 2 -> 20 (output 5)"; the flooded VM frame dies in table 1 (dl_dst = qr- MAC).
  assert.deepEqual(moved(g, 'w07', 'br-tun'), [
    '0 priority=1,in_port=1: 2/284',
    '0 priority=1,in_port=5: 1/110',
    '1 priority=2,dl_vlan=10,dl_dst=fa:16:3e:06:d8:7b: 1/142',
    '1 priority=1,dl_vlan=10,dl_src=fa:16:3e:06:d8:7b: 1/142',
    '2 priority=0,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00: 1/142',
    '4 priority=1,tun_id=0x67: 1/110',
    '9 priority=0: 1/110',
    '10 priority=1: 1/110',
    '20 priority=2,dl_vlan=10,dl_dst=fa:16:3e:d1:d8:49: 1/142',
  ]);
  // Write-up: "0 -> 4 -> 9 (dl_src) -> patch-int"; the reply goes out by the l2pop flow of table 20.
  assert.deepEqual(moved(g, 'w02', 'br-tun'), [
    '0 priority=1,in_port=1: 1/110',
    '0 priority=1,in_port=4: 1/142',
    '1 priority=0: 1/110',
    '2 priority=0,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00: 1/110',
    '4 priority=1,tun_id=0x67: 1/142',
    '9 priority=1,dl_src=fa:16:3f:13:77:c5: 1/142',
    '20 priority=2,dl_vlan=20,dl_dst=fa:16:3e:b2:ef:af: 1/110',
  ]);
  // Write-up: "0 (dl_src) -> 1 (dl_vlan, dl_dst) -> sg-"; the reply from sg- goes through NORMAL.
  assert.deepEqual(moved(g, 'w02', 'br-int'), [
    '0 priority=2,in_port=1,dl_src=fa:16:3f:13:77:c5: 1/142',
    '0 priority=0: 1/110',
    '1 priority=4,dl_vlan=20,dl_dst=fa:16:3e:d1:d8:49: 1/142',
    '58 priority=0: 1/110',
    '59 priority=0: 1/110',
    '60 priority=1: 1/110',
  ]);
  assert.deepEqual(moved(g, 'w02', 'br-ex'), ['0 priority=0: 2/256']); // 142 from fip-vif.103, 114 (tagged) from eth3
});

test('state: w07 br-tun learned the way back to sg- (table 10 learn, from the reply)', () => {
  const g = after;
  assert.deepEqual(g.emu.bridge('w07', 'br-tun').dumpFlows({ filter: 'table=20', noStats: true }), [
    ' table=20, priority=2,dl_vlan=10,dl_dst=fa:16:3e:d1:d8:49 actions=strip_vlan,load:0x67->NXM_NX_TUN_ID[],output:5',
    ' table=20, hard_timeout=300, priority=1,vlan_tci=0x000a/0x0fff,dl_dst=fa:16:3e:d1:d8:49 actions=load:0->NXM_OF_VLAN_TCI[],load:0x67->NXM_NX_TUN_ID[],output:5',
    ' table=20, priority=0 actions=resubmit(,22)',
  ].map((l) => l.replace(/^ table/, ` cookie=0xa41f6e02c9d83b57, table`)));
});
