// The start-up warm-up (src/topology/warm-up.ts) runs the lab hosts' traffic
// through a scratch copy of the topology: what it counts must be what the
// lab's path answers, or it warmed nothing but the drop path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { warmUp } from '../../src/topology/warm-up.js';

const lab = loadTopologyOrThrow('configs/lab-dvr-snat.yaml');

test('the lab: the VM reaches the internet host by ICMP, UDP and TCP; nothing reaches the VM, which has no floating IP', () => {
  // No time budget: the minimum of 10 rounds. Round 0 resolves each host's gateway by ARP; rounds 1-9 each send an
  // echo request and a UDP datagram both ways, a TCP SYN both ways every fourth round (4 and 8).
  const r = warmUp(lab, 0);
  assert.deepEqual({ icmp: r.icmp, udp: r.udp, tcp: r.tcp, answered: r.answered }, { icmp: 9, udp: 9, tcp: 2, answered: 20 });
  // The frames the ends injected: the 2 ARP requests, then in rounds 1-9 two requests each way and the internet
  // host's 2 answers, and in rounds 4 and 8 the two SYNs, its SYN-ACK and the VM's ACK and RST (2 + 54 + 10).
  assert.equal(r.sent, 66);
});

test('a topology without lab hosts builds and runs nothing', () => {
  const r = warmUp({ ...lab, hosts: [] }, 1000);
  assert.equal(r.sent, 0);
  assert.ok(r.ms < 100, `${r.ms} ms`);
});

test('the budget bounds the time: a second and a half at most for a second', () => {
  const r = warmUp(lab, 1000);
  assert.ok(r.answered > 20, `more rounds than the minimum ran: ${r.answered} answers`);
  assert.ok(r.ms < 1500, `${r.ms} ms`);
});
