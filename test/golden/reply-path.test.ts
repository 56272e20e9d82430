// Golden: the echo reply of the write-up (SCENARIO.md, reply path) injected at
// w02's eth3 after the request went out: br-ex, fip, snat (conntrack undoes
// the SNAT), then sg- straight to the VM over VXLAN, never through the qrouter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes } from '../../src/wire/tcpdump.js';
import { Decoded, decode } from '../../src/wire/decode.js';
import { FIP, M, QBR, QROUTER, SEED, SNAT, at, badChecksums, clear, consumed, golden, inject, tcpdump499, view, type FrameView } from '../helpers/golden.js';

const SEQ = 53781;
// 8.8.8.8 answers with 68 of the 100 data bytes: the write-up's replies are ICMP length 76, frame 110.
const REPLY = `echo reply id 60691 seq ${SEQ} len 76`;
const TEXT = `ICMP echo reply, id 60691, seq ${SEQ}, length 76`;

const fromGateway: FrameView = { eth: `${M.tor} > ${M.vif}`, vlan: null, len: 110, ip: '8.8.8.8 > 112.65.210.200', ttl: 64, icmp: REPLY };
const toSnat: FrameView = { ...fromGateway, eth: `${M.fpr} > ${M.rfp}`, ttl: 63 }; // fip: 112.65.210.200 via 169.254.96.32
const toVm: FrameView = { eth: `${M.sg} > ${M.vm}`, vlan: null, len: 110, ip: '8.8.8.8 > 192.168.1.7', ttl: 62, icmp: REPLY }; // snat: de-NATed, routed out of sg-
const underlay = (eth: string, ttl: number): FrameView => ({
  eth, vlan: null, len: 160, ip: '10.206.107.156 > 10.206.107.238', ttl, udp: '56414 > 4789', vxlan: { flags: 0x08, vni: 103 }, inner: toVm,
});
const vmLine = `${M.sg} > ${M.vm}, ethertype IPv4 (0x0800), length 110: 8.8.8.8 > 192.168.1.7: ${TEXT}`;

// [SCENARIO row, capture point, frame there, the write-up's tcpdump -nnee line]
const POINTS: { row: string; at: string; frame: FrameView; text?: string }[] = [
  {
    row: '16 w02 eth3', at: 'w02:br-ex:eth3 in', frame: { ...fromGateway, vlan: 103, len: 114 },
    text: tcpdump499(`${M.tor} > ${M.vif}, ethertype 802.1Q (0x8100), length 114: vlan 103, p 0, ethertype IPv4, 8.8.8.8 > 112.65.210.200: ${TEXT}`),
  },
  { row: '15 br-ex to fip-vif.103 (tag 103 popped)', at: 'w02:br-ex:fip-vif.103 out', frame: fromGateway },
  { row: '14 fip fip-vif.103', at: `w02:${FIP}:fip-vif.103 in`, frame: fromGateway, text: `${M.tor} > ${M.vif}, ethertype IPv4 (0x0800), length 110: 8.8.8.8 > 112.65.210.200: ${TEXT}` },
  { row: '13 fip fpr-', at: `w02:${FIP}:fpr-c4d4b760-4 out`, frame: toSnat, text: `${M.fpr} > ${M.rfp}, ethertype IPv4 (0x0800), length 110: 8.8.8.8 > 112.65.210.200: ${TEXT}` },
  { row: '12 snat rfp-', at: `w02:${SNAT}:rfp-c4d4b760-4 in`, frame: toSnat, text: `${M.fpr} > ${M.rfp}, ethertype IPv4 (0x0800), length 110: 8.8.8.8 > 112.65.210.200: ${TEXT}` },
  { row: '11 snat sg-', at: `w02:${SNAT}:sg-499291dc-d8 out`, frame: toVm, text: vmLine },
  { row: '10 br-int sg-', at: 'w02:br-int:sg-499291dc-d8 in', frame: toVm },
  { row: '10 br-int patch-tun (local VLAN 20)', at: 'w02:br-int:patch-tun out', frame: { ...toVm, vlan: 20, len: 114 } },
  { row: '9 br-tun patch-int', at: 'w02:br-tun:patch-int in', frame: { ...toVm, vlan: 20, len: 114 } },
  { row: '9 br-tun vxlan port (l2pop: VM on w07)', at: 'w02:br-tun:vxlan-0ace6bee out', frame: toVm },
  {
    row: '8 w02 eth2', at: 'w02:eth2:eth2 out', frame: underlay(`${M.nic02} > ${M.gw02}`, 64),
    text: `${M.nic02} > ${M.gw02}, ethertype IPv4 (0x0800), length 160: 10.206.107.156.56414 > 10.206.107.238.4789: VXLAN, flags [I] (0x08), vni 103\n${vmLine}`,
  },
  {
    row: '7 w07 eth2', at: 'w07:eth2:eth2 in', frame: underlay(`${M.gw07} > ${M.nic07}`, 63),
    text: `${M.gw07} > ${M.nic07}, ethertype IPv4 (0x0800), length 160: 10.206.107.156.56414 > 10.206.107.238.4789: VXLAN, flags [I] (0x08), vni 103\n${vmLine}`,
  },
  { row: '6 br-tun vxlan port', at: 'w07:br-tun:vxlan-0ace6b9c in', frame: toVm },
  { row: '6 br-tun patch-int (tun_id 103 -> VLAN 10)', at: 'w07:br-tun:patch-int out', frame: { ...toVm, vlan: 10, len: 114 } },
  { row: '4 br-int patch-tun', at: 'w07:br-int:patch-tun in', frame: { ...toVm, vlan: 10, len: 114 } },
  { row: '4 br-int qvo (learned port 41)', at: 'w07:br-int:qvo2ab77d0f-99 out', frame: toVm },
  { row: '3 qvb', at: `w07:${QBR}:qvb2ab77d0f-99 in`, frame: toVm },
  { row: '2 tap', at: `w07:${QBR}:tap2ab77d0f-99 out`, frame: toVm, text: vmLine },
  { row: '1 VM eth0', at: 'vm:dpe-vm:eth0 in', frame: toVm, text: vmLine },
];

// One run (request, then reply), inspected by every test below.
const { g, id } = (() => {
  const g = golden(SEED);
  inject(g, 'w07', 'tap2ab77d0f-99', { src: M.vm, dst: M.qr, ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 60691, seq: SEQ, data: 100 } });
  // The echo id the request left with, after SNAT (the reply must carry it).
  const [req] = at(g, 'w02:br-ex:eth3 out');
  assert.ok(req, 'the request left at eth3');
  const d = new Decoded();
  decode(req, 0, req.length, d);
  const id = d.icmpId;
  clear(g);
  inject(g, 'w02', 'eth3', { src: M.tor, dst: M.vif, vlans: [103], ip: { src: '8.8.8.8', dst: '112.65.210.200' }, icmp: { type: 0, id, seq: SEQ, data: 68 } });
  return { g, id };
})();

test('reply: SNAT kept the echo id (no clash), so the reply carries 60691', () => {
  assert.equal(id, 60691);
});

test('reply: the frame at each capture point, down to the VM', () => {
  for (const p of POINTS) {
    const seen = at(g, p.at);
    assert.equal(seen.length, 1, `row ${p.row}: frames at ${p.at}`);
    assert.deepEqual(view(seen[0]!), p.frame, `row ${p.row} (${p.at})`);
    if (p.text !== undefined) assert.equal(formatBytes(seen[0]!), p.text, `row ${p.row}: tcpdump -nnee at ${p.at}`);
  }
});

test('reply: the VM takes it; it never passes the qrouter', () => {
  assert.deepEqual(consumed(g.tracer.events), ['vm:dpe-vm: ICMP type 0 code 0 delivered to the local stack']);
  assert.deepEqual(g.log.filter((s) => s.at.includes(QROUTER) || s.at.startsWith('w07:br-int:qr-')).map((s) => s.at), []);
  assert.deepEqual(g.tracer.events.filter((e) => e.kind === 'drop').map((e) => `${e.node}:${e.element}: ${'reason' in e ? e.reason : ''}`), [
    'w02:br-int: port_down', // the flood copy to br-int's own (down) LOCAL port: w02's fdb has not seen the VM's MAC
  ]);
});

test('reply: every frame crossing any port has valid checksums', () => {
  assert.ok(g.log.length > 20);
  for (const s of g.log) assert.deepEqual(badChecksums(s.bytes), [], `${s.at}: ${formatBytes(s.bytes)}`);
});
