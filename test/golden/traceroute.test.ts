// Golden: `traceroute -I -n` from the VM (SCENARIO.md: 192.168.1.1,
// 192.168.1.6, 169.254.96.33, 10.206.221.193, ...). TTL-limited echo probes
// go in at w07:tap2ab77d0f-99 one after the other; each hop's ICMP time
// exceeded must reach the VM with the probe quoted as the VM sent it (the
// snat namespace undoes the SNAT inside the quote). The lab file emulates
// the gateway and the internet host: hop 4 and the final echo reply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes } from '../../src/wire/tcpdump.js';
import { conntrackList } from '../../src/netfilter/index.js';
import { LAB, M, SEED, SNAT, at, badChecksums, clear, consumed, golden, inject, view, type FrameView } from '../helpers/golden.js';

const ID = 60691;
// traceroute's 60-byte probes: 20 IP + 8 ICMP + 32 data. The error quotes all 60: ICMP 68, IP 88, frame 102.
const timeExceeded = (eth: string, from: string, ttl: number, dst: string, probe: number): FrameView => ({
  eth, vlan: null, len: 102, ip: `${from} > 192.168.1.7`, ttl, icmp: 'time exceeded code 0 len 68',
  quote: { ip: `192.168.1.7 > ${dst}`, ttl: 1, icmp: `echo request id ${ID} seq ${probe}` },
});
const tdText = (eth: string, from: string): string => `${eth}, ethertype IPv4 (0x0800), length 102: ${from} > 192.168.1.7: ICMP time exceeded in-transit, length 68`;

interface Hop {
  probe: number; // the probe's TTL (and seq)
  frame: FrameView; // what reaches the VM's eth0
  text: string; // tcpdump -nnee there
}

// Who answers, and the TTL its message has left at the VM (64 less the routers on the way back).
const hops = (dst: string): Hop[] => [
  // qrouter (w07): from its qr- address; one L2 hop back.
  { probe: 1, frame: timeExceeded(`${M.qr} > ${M.vm}`, '192.168.1.1', 64, dst, 1), text: tdText(`${M.qr} > ${M.vm}`, '192.168.1.1') },
  // snat (w02): from its sg- address, back over VXLAN; the probe expired before its SNAT.
  { probe: 2, frame: timeExceeded(`${M.sg} > ${M.vm}`, '192.168.1.6', 64, dst, 2), text: tdText(`${M.sg} > ${M.vm}`, '192.168.1.6') },
  // fip (w02): from fpr- (its route to 112.65.210.200), to the SNAT address; snat de-NATs it (and its quote) and forwards it.
  { probe: 3, frame: timeExceeded(`${M.sg} > ${M.vm}`, '169.254.96.33', 63, dst, 3), text: tdText(`${M.sg} > ${M.vm}`, '169.254.96.33') },
];

function traceroute(file: string, dst: string, maxTtl: number) {
  const g = golden(file);
  return Array.from({ length: maxTtl }, (_, i) => {
    const ttl = i + 1;
    clear(g);
    inject(g, 'w07', 'tap2ab77d0f-99', { src: M.vm, dst: M.qr, ip: { src: '192.168.1.7', dst, ttl }, icmp: { id: ID, seq: ttl, data: 32 } });
    // Frames for the VM's MAC (a cold fdb may also flood it a frame for another MAC, which it drops).
    const toVm = at(g, 'vm:dpe-vm:eth0 in').filter((b) => view(b).eth.endsWith(`> ${M.vm}`));
    const stack = consumed(g.tracer.events).filter((c) => c.startsWith('vm:'));
    const checksums = g.log.flatMap((s) => badChecksums(s.bytes).map((x) => `${s.at}: ${x}`));
    const snatCt = conntrackList(g.emu.namespace('w02', SNAT).nf.conntrack, g.emu.engine.now);
    return { ttl, toVm, stack, checksums, snatCt };
  });
}

function check(results: ReturnType<typeof traceroute>, expected: Hop[]): void {
  for (const [i, h] of expected.entries()) {
    const r = results[i]!;
    assert.equal(r.ttl, h.probe);
    assert.equal(r.toVm.length, 1, `TTL ${h.probe}: one frame for the VM`);
    assert.deepEqual(view(r.toVm[0]!), h.frame, `TTL ${h.probe}`);
    assert.equal(formatBytes(r.toVm[0]!), h.text, `TTL ${h.probe}: tcpdump -nnee at the VM`);
    const kind = h.frame.icmp!.startsWith('echo reply') ? 'type 0' : 'type 11';
    assert.deepEqual(r.stack, [`vm:dpe-vm: ICMP ${kind} code 0 delivered to the local stack`], `TTL ${h.probe}: the VM's stack takes it`);
    assert.deepEqual(r.checksums, [], `TTL ${h.probe}: checksums everywhere (outer IP, ICMP, quoted IP header and ICMP)`);
  }
}

test('traceroute (seed): hops 1-3 are 192.168.1.1, 192.168.1.6, 169.254.96.33', () => {
  const r = traceroute(SEED, '8.8.8.8', 3);
  assert.deepEqual(r.map((x) => `${x.ttl} ${view(x.toVm[0]!).ip!.split(' ')[0]}`), ['1 192.168.1.1', '2 192.168.1.6', '3 169.254.96.33']);
  check(r, hops('8.8.8.8'));
  // Probes 1 and 2 die before snat's POSTROUTING: the conntrack entry is never confirmed. Probe 3 is SNATed.
  assert.deepEqual(r.map((x) => x.snatCt), [[], [], [
    'icmp     1 30 src=192.168.1.7 dst=8.8.8.8 type=8 code=0 id=60691 [UNREPLIED] src=8.8.8.8 dst=112.65.210.200 type=0 code=0 id=60691 mark=0 use=1',
  ]]);
});

test('traceroute (lab): hop 4 is the gateway 10.206.221.193, TTL 5 reaches 203.0.113.8', () => {
  const r = traceroute(LAB, '203.0.113.8', 5);
  assert.deepEqual(r.map((x) => `${x.ttl} ${view(x.toVm[0]!).ip!.split(' ')[0]}`), [
    '1 192.168.1.1', '2 192.168.1.6', '3 169.254.96.33', '4 10.206.221.193', '5 203.0.113.8',
  ]);
  check(r, [
    ...hops('203.0.113.8'),
    // The ToR (swp1.103) answers the SNAT address via fip-vif.103; fip and snat route it back.
    { probe: 4, frame: timeExceeded(`${M.sg} > ${M.vm}`, '10.206.221.193', 62, '203.0.113.8', 4), text: tdText(`${M.sg} > ${M.vm}`, '10.206.221.193') },
    // The internet host answers; tor, fip and snat route the echo reply back (de-NATed by snat's conntrack).
    {
      probe: 5, frame: { eth: `${M.sg} > ${M.vm}`, vlan: null, len: 74, ip: '203.0.113.8 > 192.168.1.7', ttl: 61, icmp: `echo reply id ${ID} seq 5 len 40` },
      text: `${M.sg} > ${M.vm}, ethertype IPv4 (0x0800), length 74: 203.0.113.8 > 192.168.1.7: ICMP echo reply, id ${ID}, seq 5, length 40`,
    },
  ]);
});
