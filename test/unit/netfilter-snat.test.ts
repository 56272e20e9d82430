// The snat namespace of SCENARIO.md: SNAT to 112.65.210.200 on the way out
// through rfp-c4d4b760-4, replies and ICMP errors translated back, port/id
// clashes resolved as the kernel does, plus the qrouter's DNAT for FIPs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CT_ESTABLISHED, CT_RELATED, IPS_SRC_NAT, Netfilter, type NetfilterOptions, type NfPacketInfo, type NfTraceEvent,
  VERDICT_ACCEPT, conntrackList, formatIpv4, seededRandom,
} from '../../src/netfilter/index.js';
import { ACK, SYN, checksumsOk, icmpEcho, icmpError, info, ip, ipv4, r16, r32, tcp, udp } from './netfilter-helpers.js';
import { SNAT_IP } from '../helpers/seed-names.js';

const SG = 'sg-499291dc-d8';
const RFP = 'rfp-c4d4b760-4';

function snatRules(extra = ''): string {
  return `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:neutron-l3-agent-PREROUTING - [0:0]
:neutron-l3-agent-mark - [0:0]
-A PREROUTING -j neutron-l3-agent-PREROUTING
-A neutron-l3-agent-PREROUTING -j neutron-l3-agent-mark
-A neutron-l3-agent-mark -i ${RFP} -j MARK --set-xmark 0x2/0xffff
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:neutron-l3-agent-OUTPUT - [0:0]
:neutron-l3-agent-POSTROUTING - [0:0]
:neutron-l3-agent-PREROUTING - [0:0]
:neutron-l3-agent-float-snat - [0:0]
:neutron-l3-agent-snat - [0:0]
:neutron-postrouting-bottom - [0:0]
-A PREROUTING -j neutron-l3-agent-PREROUTING
-A OUTPUT -j neutron-l3-agent-OUTPUT
-A POSTROUTING -j neutron-l3-agent-POSTROUTING
-A POSTROUTING -j neutron-postrouting-bottom
-A neutron-l3-agent-POSTROUTING ! -i ${RFP} ! -o ${RFP} -m conntrack ! --ctstate DNAT -j ACCEPT
-A neutron-l3-agent-snat -j neutron-l3-agent-float-snat
-A neutron-l3-agent-snat -o ${RFP} -j SNAT --to-source ${SNAT_IP}${extra}
-A neutron-l3-agent-snat -m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT --to-source ${SNAT_IP}${extra}
-A neutron-postrouting-bottom -m comment --comment "Perform source NAT on outgoing traffic." -j neutron-l3-agent-snat
COMMIT
`;
}

function snatNs(extra = '', opts: NetfilterOptions = {}): Netfilter {
  const nf = new Netfilter({ tcpLoose: false, ...opts });
  nf.load(snatRules(extra));
  return nf;
}

/** PREROUTING, routing (out = outIf), FORWARD, POSTROUTING, as the namespace stack calls them. */
function forward(nf: Netfilter, pkt: Uint8Array, inIf: string, outIf: string, now: number): NfPacketInfo {
  const p = info(pkt, inIf, null);
  assert.equal(nf.prerouting(p, now), VERDICT_ACCEPT, `prerouting: ${nf.result.reason}`);
  p.outIf = outIf;
  assert.equal(nf.forward(p, now), VERDICT_ACCEPT, `forward: ${nf.result.reason}`);
  assert.equal(nf.postrouting(p, now), VERDICT_ACCEPT, `postrouting: ${nf.result.reason}`);
  return p;
}

test('a NEW echo request leaving through rfp- is SNATed to 112.65.210.200 by the neutron-l3-agent-snat rule', () => {
  const nf = snatNs();
  const trace: string[] = [];
  nf.tracer = (e: NfTraceEvent) => { if (e.table === 'nat') trace.push(`${e.chain}:${e.kind}:${e.ruleNum}`); };
  const pkt = ipv4('192.168.1.7', '8.8.8.8', 1, icmpEcho(8, 60691, 1));
  const p = forward(nf, pkt, SG, RFP, 1000);
  assert.equal(formatIpv4(p.src), SNAT_IP);
  assert.equal(formatIpv4(r32(pkt, 12)), SNAT_IP);
  assert.equal(r16(pkt, 24), 60691, 'echo id kept: no clash');
  assert.ok(checksumsOk(pkt));
  assert.ok(trace.includes('neutron-l3-agent-snat:rule:2'), trace.join(' '));
  assert.equal(nf.result.natRule!.target.name, 'SNAT');
  assert.deepEqual([nf.result.table, nf.result.chain, nf.result.ruleNum], ['nat', 'neutron-l3-agent-snat', 2]);
  assert.deepEqual(conntrackList(nf.conntrack, 1500), [
    'icmp     1 29 src=192.168.1.7 dst=8.8.8.8 type=8 code=0 id=60691 [UNREPLIED] src=8.8.8.8 dst=112.65.210.200 type=0 code=0 id=60691 mark=0 use=1',
  ]);

  // The reply finds the entry and is un-NATed on the way in.
  const reply = ipv4('8.8.8.8', SNAT_IP, 1, icmpEcho(0, 60691, 1));
  const q = forward(nf, reply, RFP, SG, 1200);
  assert.equal(q.ctState, CT_ESTABLISHED);
  assert.equal(q.ctDir, 1);
  assert.equal(formatIpv4(r32(reply, 16)), '192.168.1.7');
  assert.equal(r16(reply, 24), 60691);
  assert.equal(q.mark, 0x2, 'mangle marked the packet that came in on rfp-');
  assert.ok(checksumsOk(reply));
  assert.deepEqual(conntrackList(nf.conntrack, 1500), [
    'icmp     1 29 src=192.168.1.7 dst=8.8.8.8 type=8 code=0 id=60691 src=8.8.8.8 dst=112.65.210.200 type=0 code=0 id=60691 mark=0 use=1',
  ]);
});

test('sg- to sg- traffic is ACCEPTed in neutron-l3-agent-POSTROUTING without NAT', () => {
  const nf = snatNs();
  const trace: string[] = [];
  nf.tracer = (e: NfTraceEvent) => { if (e.table === 'nat') trace.push(`${e.chain}:${e.kind}:${e.ruleNum}`); };
  const pkt = ipv4('192.168.1.7', '192.168.1.13', 1, icmpEcho(8, 7, 1));
  const before = pkt.slice();
  const p = forward(nf, pkt, SG, SG, 0);
  assert.deepEqual(trace.slice(-2), ['POSTROUTING:rule:1', 'neutron-l3-agent-POSTROUTING:rule:1']);
  assert.deepEqual(pkt, before, 'not rewritten');
  assert.equal(nf.conntrack.entry(p.ct).status & IPS_SRC_NAT, 0);
});

test('an ICMP time-exceeded quoting the SNATed echo is RELATED; outer dst and inner src are translated back', () => {
  const nf = snatNs();
  const orig = ipv4('192.168.1.7', '8.8.8.8', 1, icmpEcho(8, 60691, 3), 1);
  const pristine = orig.slice();
  forward(nf, orig, SG, RFP, 0);
  const err = icmpError('10.206.221.193', SNAT_IP, 11, 0, orig);
  const p = forward(nf, err, RFP, SG, 10);
  assert.equal(p.ctState, CT_RELATED);
  assert.equal(p.ctDir, 1);
  assert.equal(formatIpv4(r32(err, 16)), '192.168.1.7', 'outer destination');
  assert.equal(formatIpv4(r32(err, 12)), '10.206.221.193', 'outer source untouched');
  assert.deepEqual(err.subarray(28, 56), pristine.subarray(0, 28), 'the quoted header and id are as the VM sent them');
  assert.ok(checksumsOk(err), 'outer IP and ICMP checksums');
  assert.equal(r16(err, 28 + 10), r16(pristine, 10), 'inner IP checksum restored');
});

test('traceroute over UDP through SNAT: quoted UDP header and checksum restored (8-byte and full quotes)', () => {
  for (const quote of [28, 1000]) {
    const nf = snatNs();
    const probe = udp('192.168.1.7', '8.8.8.8', 40001, 33434, new Uint8Array(32).fill(0x40));
    const pristine = probe.slice();
    forward(nf, probe, SG, RFP, 0);
    assert.equal(formatIpv4(r32(probe, 12)), SNAT_IP);
    const err = icmpError('10.206.221.193', SNAT_IP, 11, 0, probe, quote);
    forward(nf, err, RFP, SG, 5);
    const q = Math.min(quote, probe.length);
    assert.deepEqual(err.subarray(28, 28 + q), pristine.subarray(0, q), `quote ${quote}`);
    assert.ok(checksumsOk(err));
    if (quote > 28) assert.ok(checksumsOk(err.subarray(28)), 'the fully quoted datagram verifies again');
  }
});

test('TCP in an ICMP error: ports always, checksum only when the whole header is quoted', () => {
  for (const quote of [28, 40]) {
    const nf = snatNs('', { alwaysTrack: true });
    const syn = tcp('192.168.1.7', '8.8.8.8', 45000, 443, SYN, 1000, 0);
    const pristine = syn.slice();
    forward(nf, syn, SG, RFP, 0);
    const afterNat = syn.slice();
    const err = icmpError('10.206.221.193', SNAT_IP, 3, 4, syn, quote);
    forward(nf, err, RFP, SG, 5);
    assert.equal(r16(err, 48), 45000);
    assert.equal(formatIpv4(r32(err, 40)), '192.168.1.7');
    assert.ok(checksumsOk(err));
    if (quote === 40) assert.deepEqual(err.subarray(28, 68), pristine.subarray(0, 40));
    else assert.deepEqual(err.subarray(28, 56), pristine.subarray(0, 28), 'the 8 quoted TCP bytes hold no checksum');
    assert.notDeepEqual(afterNat.subarray(0, 28), pristine.subarray(0, 28));
  }
});

test('SNAT port clash: the second host with the same source port gets a new port; replies go to each', () => {
  const nf = snatNs('', { random: seededRandom(7) });
  const a = udp('192.168.1.7', '8.8.8.8', 5000, 53);
  const b = udp('192.168.1.8', '8.8.8.8', 5000, 53);
  forward(nf, a, SG, RFP, 0);
  forward(nf, b, SG, RFP, 0);
  assert.equal(r16(a, 20), 5000, 'the first keeps its port');
  const bPort = r16(b, 20);
  assert.notEqual(bPort, 5000);
  assert.ok(bPort >= 1024 && bPort <= 65535, `port ${bPort} in the unprivileged range`);
  assert.ok(checksumsOk(a) && checksumsOk(b));
  assert.equal(nf.conntrack.count, 2);

  const ra = forward(nf, udp('8.8.8.8', SNAT_IP, 53, 5000), RFP, SG, 1);
  const rb = forward(nf, udp('8.8.8.8', SNAT_IP, 53, bPort), RFP, SG, 1);
  assert.deepEqual([formatIpv4(ra.dst), ra.dport], ['192.168.1.7', 5000]);
  assert.deepEqual([formatIpv4(rb.dst), rb.dport], ['192.168.1.8', 5000]);

  // Same source again to another destination: the existing mapping is reused (find_appropriate_src).
  const a2 = udp('192.168.1.8', '1.1.1.1', 5000, 53);
  forward(nf, a2, SG, RFP, 2);
  assert.equal(r16(a2, 20), bPort);

  // A privileged port that clashes stays privileged (1..511).
  forward(nf, udp('192.168.1.7', '8.8.8.8', 500, 53), SG, RFP, 3);
  const low = udp('192.168.1.9', '8.8.8.8', 500, 53);
  forward(nf, low, SG, RFP, 3);
  const lowPort = r16(low, 20);
  assert.ok(lowPort >= 1 && lowPort <= 511 && lowPort !== 500, `low port ${lowPort}`);
});

test('ICMP echo id clash: a second pinger with the same id gets a new id, the reply gets the old one back', () => {
  const nf = snatNs('', { random: seededRandom(3) });
  forward(nf, ipv4('192.168.1.7', '8.8.8.8', 1, icmpEcho(8, 60691, 1)), SG, RFP, 0);
  const second = ipv4('192.168.1.8', '8.8.8.8', 1, icmpEcho(8, 60691, 1));
  forward(nf, second, SG, RFP, 0);
  const newId = r16(second, 24);
  assert.notEqual(newId, 60691);
  assert.ok(checksumsOk(second));
  const reply = ipv4('8.8.8.8', SNAT_IP, 1, icmpEcho(0, newId, 1));
  forward(nf, reply, RFP, SG, 1);
  assert.equal(formatIpv4(r32(reply, 16)), '192.168.1.8');
  assert.equal(r16(reply, 24), 60691);
  assert.ok(checksumsOk(reply));
});

test('--random-fully picks a random port even without a clash; replies still map back', () => {
  const nf = snatNs(' --random-fully', { random: seededRandom(11) });
  const a = udp('192.168.1.7', '8.8.8.8', 5000, 53);
  forward(nf, a, SG, RFP, 0);
  const port = r16(a, 20);
  assert.notEqual(port, 5000);
  const r = forward(nf, udp('8.8.8.8', SNAT_IP, 53, port), RFP, SG, 1);
  assert.equal(r.dport, 5000);
});

test('UDP with a zero checksum keeps it zero through NAT', () => {
  const nf = snatNs();
  const a = udp('192.168.1.7', '8.8.8.8', 5000, 53, new Uint8Array(4), true);
  forward(nf, a, SG, RFP, 0);
  assert.equal(r16(a, 26), 0);
  assert.ok(checksumsOk(a));
});

test('qrouter floating IP: DNAT in, ctstate DNAT seen in POSTROUTING, reply source translated back', () => {
  const nf = new Netfilter();
  nf.load(`*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:neutron-l3-agent-POSTROUTING - [0:0]
:neutron-l3-agent-PREROUTING - [0:0]
:neutron-l3-agent-float-snat - [0:0]
:neutron-l3-agent-snat - [0:0]
-A PREROUTING -j neutron-l3-agent-PREROUTING
-A POSTROUTING -j neutron-l3-agent-POSTROUTING
-A POSTROUTING -j neutron-l3-agent-snat
-A neutron-l3-agent-PREROUTING -d 172.24.4.100/32 -i rfp-eeeeeeee-e -j DNAT --to-destination 192.168.1.11
-A neutron-l3-agent-POSTROUTING ! -o rfp-eeeeeeee-e -m conntrack ! --ctstate DNAT -j ACCEPT
-A neutron-l3-agent-snat -j neutron-l3-agent-float-snat
-A neutron-l3-agent-float-snat -s 192.168.1.11/32 -j SNAT --to-source 172.24.4.100 --random-fully
COMMIT
`);
  const syn = tcp('198.51.100.5', '172.24.4.100', 40000, 22, SYN, 77, 0);
  const p = info(syn, 'rfp-eeeeeeee-e', null);
  nf.prerouting(p, 0);
  assert.equal(formatIpv4(p.dst), '192.168.1.11', 'routing sees the translated destination');
  p.outIf = 'qr-aaaaaaaa-aa';
  nf.forward(p, 0);
  nf.postrouting(p, 0);
  assert.equal(formatIpv4(r32(syn, 16)), '192.168.1.11');
  assert.equal(formatIpv4(r32(syn, 12)), '198.51.100.5');
  assert.ok(checksumsOk(syn));
  const synack = tcp('192.168.1.11', '198.51.100.5', 22, 40000, SYN | ACK, 5000, 78);
  forward(nf, synack, 'qr-aaaaaaaa-aa', 'rfp-eeeeeeee-e', 1);
  assert.equal(formatIpv4(r32(synack, 12)), '172.24.4.100');
  assert.equal(r16(synack, 20), 22);
  assert.ok(checksumsOk(synack));

  // Outbound from the FIP'd VM: float-snat with --random-fully.
  const out = udp('192.168.1.11', '8.8.8.8', 3333, 53);
  forward(nf, out, 'qr-aaaaaaaa-aa', 'rfp-eeeeeeee-e', 2);
  assert.equal(formatIpv4(r32(out, 12)), '172.24.4.100');
  assert.ok(checksumsOk(out));
});

test('an ICMP error from a DNATed server is RELATED and leaves with the floating IP inside and out', () => {
  const nf = new Netfilter();
  nf.load('-t nat -A PREROUTING -d 172.24.4.100/32 -i rfp-e -j DNAT --to-destination 192.168.1.11');
  const query = udp('198.51.100.5', '172.24.4.100', 5000, 53);
  const pristine = query.slice();
  forward(nf, query, 'rfp-e', 'qr-a', 0);
  assert.equal(formatIpv4(r32(query, 16)), '192.168.1.11');
  const unreach = icmpError('192.168.1.11', '198.51.100.5', 3, 3, query);
  const p = forward(nf, unreach, 'qr-a', 'rfp-e', 1);
  assert.equal(p.ctState, CT_RELATED);
  assert.equal(formatIpv4(r32(unreach, 12)), '172.24.4.100', 'outer source is the floating IP');
  assert.deepEqual(unreach.subarray(28, 56), pristine.subarray(0, 28), 'the quote shows the datagram as the client sent it');
  assert.ok(checksumsOk(unreach));
});

test('MASQUERADE takes the address the stack picks for the output device', () => {
  const nf = new Netfilter({ host: { masqueradeSource: (dev) => (dev === 'eth0' ? ip('203.0.113.9') : 0) } });
  nf.load('-t nat -A POSTROUTING -o eth+ -j MASQUERADE');
  const a = udp('10.0.0.5', '198.51.100.1', 1111, 53);
  forward(nf, a, 'br0', 'eth0', 0);
  assert.equal(formatIpv4(r32(a, 12)), '203.0.113.9');
  const p = info(udp('10.0.0.6', '198.51.100.1', 1111, 53), 'br0', null);
  nf.prerouting(p, 0);
  p.outIf = 'eth1';
  nf.forward(p, 0);
  assert.equal(nf.postrouting(p, 0), 0);
  assert.equal(nf.result.reason, 'nat_masquerade_no_address');
});

test('conntrack -L prints an assured TCP flow as the kernel does', () => {
  const nf = snatNs();
  forward(nf, tcp('192.168.1.7', '8.8.8.8', 45000, 443, SYN, 1000, 0), SG, RFP, 0);
  forward(nf, tcp('8.8.8.8', SNAT_IP, 443, 45000, SYN | ACK, 9000, 1001), RFP, SG, 10);
  forward(nf, tcp('192.168.1.7', '8.8.8.8', 45000, 443, ACK, 1001, 9001), SG, RFP, 20);
  assert.deepEqual(conntrackList(nf.conntrack, 21), [
    'tcp      6 431999 ESTABLISHED src=192.168.1.7 dst=8.8.8.8 sport=45000 dport=443 src=8.8.8.8 dst=112.65.210.200 sport=443 dport=45000 [ASSURED] mark=0 use=1',
  ]);
  assert.deepEqual(conntrackList(nf.conntrack, 21, { extended: true, acct: true }), [
    'ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.1.7 dst=8.8.8.8 sport=45000 dport=443 packets=2 bytes=80 src=8.8.8.8 dst=112.65.210.200 sport=443 dport=45000 packets=1 bytes=40 [ASSURED] mark=0 use=1',
  ]);
});
