// Golden: the write-up's echo request (SCENARIO.md, request path) injected
// at w07's tap2ab77d0f-99 of the seed topology, checked at every one of the
// 16 capture points: MACs, VLAN, lengths, addresses, TTL, VXLAN, underlay
// ports, checksums, and tcpdump -nnee text where the write-up gives it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes } from '../../src/wire/tcpdump.js';
import { Decoded, decode } from '../../src/wire/decode.js';
import { FIP, M, QBR, QROUTER, SEED, SNAT, at, badChecksums, golden, inject, tcpdump499, view, type FrameView } from '../helpers/golden.js';

// The write-up's ping: ICMP length 108 (100 data bytes), frame 142. Its
// captures come from several runs (the seq differs in each); one seq here.
const SEQ = 53781;
const ECHO = `echo request id 60691 seq ${SEQ} len 108`;
const TEXT = `ICMP echo request, id 60691, seq ${SEQ}, length 108`;

const vmFrame: FrameView = { eth: `${M.vm} > ${M.qr}`, vlan: null, len: 142, ip: '192.168.1.7 > 8.8.8.8', ttl: 64, icmp: ECHO };
const routed: FrameView = { ...vmFrame, eth: `${M.qr} > ${M.sg}`, ttl: 63 }; // qrouter forwarded it to the snat port
const tunnelled: FrameView = { ...routed, eth: `${M.dvr07} > ${M.sg}` }; // br-tun: qr- MAC -> w07's DVR MAC
const snatted: FrameView = { eth: `${M.rfp} > ${M.fpr}`, vlan: null, len: 142, ip: '112.65.210.200 > 8.8.8.8', ttl: 62, icmp: ECHO };
const toGateway: FrameView = { ...snatted, eth: `${M.vif} > ${M.tor}`, ttl: 61 };
const underlay = (eth: string, ttl: number): FrameView => ({
  eth, vlan: null, len: 192, ip: '10.206.107.238 > 10.206.107.156', ttl, udp: '58650 > 4789', vxlan: { flags: 0x08, vni: 103 }, inner: tunnelled,
});

interface Point {
  /** SCENARIO.md row. */
  row: string;
  /** Capture point: `node:element:port dir`. */
  at: string;
  frame: FrameView;
  /** Frames crossing the point (default 1): the cold fdb floods a copy to some. */
  n?: number;
  /** The write-up's tcpdump -nnee line (seq normalized). */
  text?: string;
}

const POINTS: Point[] = [
  { row: '2 tap', at: `w07:${QBR}:tap2ab77d0f-99 in`, frame: vmFrame, text: `${M.vm} > ${M.qr}, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ${TEXT}` },
  { row: '3 qvb', at: `w07:${QBR}:qvb2ab77d0f-99 out`, frame: vmFrame, text: `${M.vm} > ${M.qr}, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ${TEXT}` },
  { row: '4 br-int qvo (access, tag 10: untagged)', at: 'w07:br-int:qvo2ab77d0f-99 in', frame: vmFrame },
  { row: '4 br-int to qr-', at: 'w07:br-int:qr-178fc8e2-fd out', frame: vmFrame },
  { row: '5 qrouter in', at: `w07:${QROUTER}:qr-178fc8e2-fd in`, frame: vmFrame, text: `${M.vm} > ${M.qr}, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ${TEXT}` },
  { row: '5 qrouter out', at: `w07:${QROUTER}:qr-178fc8e2-fd out`, frame: routed, text: `${M.qr} > ${M.sg}, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ${TEXT}` },
  { row: '5 br-int from qr-', at: 'w07:br-int:qr-178fc8e2-fd in', frame: routed },
  // NORMAL tags local VLAN 10 toward patch-tun; the cold fdb also floods the VM's own frame there (br-tun drops it).
  { row: '6 br-tun patch-int', at: 'w07:br-tun:patch-int in', frame: { ...routed, vlan: 10, len: 146 }, n: 2 },
  { row: '6 br-tun vxlan port', at: 'w07:br-tun:vxlan-0ace6b9c out', frame: tunnelled },
  {
    row: '7 w07 eth2', at: 'w07:eth2:eth2 out', frame: underlay(`${M.nic07} > ${M.gw07}`, 64),
    text: `${M.nic07} > ${M.gw07}, ethertype IPv4 (0x0800), length 192: 10.206.107.238.58650 > 10.206.107.156.4789: VXLAN, flags [I] (0x08), vni 103\n` +
      `${M.dvr07} > ${M.sg}, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ${TEXT}`,
  },
  {
    row: '8 w02 eth2', at: 'w02:eth2:eth2 in', frame: underlay(`${M.gw02} > ${M.nic02}`, 63), // the routed underlay: one hop
    text: `${M.gw02} > ${M.nic02}, ethertype IPv4 (0x0800), length 192: 10.206.107.238.58650 > 10.206.107.156.4789: VXLAN, flags [I] (0x08), vni 103\n` +
      `${M.dvr07} > ${M.sg}, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ${TEXT}`,
  },
  { row: '9 br-tun vxlan port', at: 'w02:br-tun:vxlan-0ace6bee in', frame: tunnelled },
  { row: '9 br-tun patch-int (tun_id 103 -> VLAN 20)', at: 'w02:br-tun:patch-int out', frame: { ...tunnelled, vlan: 20, len: 146 } },
  { row: '10 br-int patch-tun', at: 'w02:br-int:patch-tun in', frame: { ...tunnelled, vlan: 20, len: 146 } },
  { row: '10 br-int sg- (qr- MAC restored, untagged)', at: 'w02:br-int:sg-499291dc-d8 out', frame: routed },
  { row: '11 snat sg-', at: `w02:${SNAT}:sg-499291dc-d8 in`, frame: routed, text: `${M.qr} > ${M.sg}, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ${TEXT}` },
  { row: '12 snat rfp-', at: `w02:${SNAT}:rfp-c4d4b760-4 out`, frame: snatted, text: `${M.rfp} > ${M.fpr}, ethertype IPv4 (0x0800), length 142: 112.65.210.200 > 8.8.8.8: ${TEXT}` },
  { row: '13 fip fpr-', at: `w02:${FIP}:fpr-c4d4b760-4 in`, frame: snatted, text: `${M.rfp} > ${M.fpr}, ethertype IPv4 (0x0800), length 142: 112.65.210.200 > 8.8.8.8: ${TEXT}` },
  { row: '14 fip fip-vif.103', at: `w02:${FIP}:fip-vif.103 out`, frame: toGateway, text: `${M.vif} > ${M.tor}, ethertype IPv4 (0x0800), length 142: 112.65.210.200 > 8.8.8.8: ${TEXT}` },
  { row: '15 br-ex fip-vif.103 (access, tag 103)', at: 'w02:br-ex:fip-vif.103 in', frame: toGateway },
  {
    row: '16 w02 eth3 (trunk)', at: 'w02:br-ex:eth3 out', frame: { ...toGateway, vlan: 103, len: 146 },
    text: tcpdump499(`${M.vif} > ${M.tor}, ethertype 802.1Q (0x8100), length 146: vlan 103, p 0, ethertype IPv4, 112.65.210.200 > 8.8.8.8: ${TEXT}`),
  },
];

// One run, inspected by every test below.
const g = golden(SEED);
// Row 1: the VM's frame as its eth0 sends it (the write-up's first capture).
const sent = inject(g, 'w07', 'tap2ab77d0f-99', { src: M.vm, dst: M.qr, ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 60691, seq: SEQ, data: 100 } });

test('request: row 1, the VM sends the write-up frame', () => {
  assert.equal(formatBytes(sent), `${M.vm} > ${M.qr}, ethertype IPv4 (0x0800), length 142: 192.168.1.7 > 8.8.8.8: ${TEXT}`);
  assert.deepEqual(view(sent), vmFrame);
});

test('request: the frame at each capture point of SCENARIO.md', () => {
  for (const p of POINTS) {
    const seen = at(g, p.at);
    assert.equal(seen.length, p.n ?? 1, `row ${p.row}: frames at ${p.at}`);
    const mine = seen.filter((b) => view(b).eth === p.frame.eth);
    assert.equal(mine.length, 1, `row ${p.row}: one ${p.frame.eth} frame at ${p.at}`);
    assert.deepEqual(view(mine[0]!), p.frame, `row ${p.row} (${p.at})`);
    if (p.text !== undefined) assert.equal(formatBytes(mine[0]!), p.text, `row ${p.row}: tcpdump -nnee at ${p.at}`);
  }
});

test('request: leaves the emulator at w02 eth3, tagged 103, and nowhere else', () => {
  const out = g.eth3!.take();
  assert.equal(out.length, 1);
  assert.deepEqual(view(out[0]!), { ...toGateway, vlan: 103, len: 146 });
  const edges = g.tracer.events.filter((e) => e.kind === 'edge').map((e) => `${e.node}:${e.element}:${'port' in e ? e.port : ''}`);
  assert.deepEqual(edges, ['w02:br-ex:eth3']);
});

test('request: the underlay carries it with DF (df_default=true) and no outer UDP checksum', () => {
  for (const point of ['w07:eth2:eth2 out', 'w02:eth2:eth2 in']) {
    const [b] = at(g, point);
    const d = new Decoded();
    assert.equal(decode(b!, 0, b!.length, d), 0);
    assert.equal(d.fragOff & 0x4000, 0x4000, `${point}: DF`);
    assert.equal(d.l4Len, 8 + 8 + 142, `${point}: UDP length`); // UDP + VXLAN + inner frame: the 50 bytes of overhead
    assert.equal(b![d.l4 + 6]! * 256 + b![d.l4 + 7]!, 0, `${point}: UDP checksum 0, as Linux VXLAN sends it`);
  }
});

test('request: every frame crossing any port has valid checksums', () => {
  assert.ok(g.log.length > 30);
  for (const s of g.log) assert.deepEqual(badChecksums(s.bytes), [], `${s.at}: ${formatBytes(s.bytes)}`);
});
