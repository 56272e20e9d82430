// Conntrack in shared memory: a real worker_thread attached to the same
// buffers sees the entries the main thread made (both directions, the NAT'ed
// reply tuple) and the other way round; the entries outlive a worker that
// crashes or is killed mid-traffic, and its successor carries on the NAT'ed
// connections; the table's limit and its drop counters are shared.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import {
  CT_ESTABLISHED, CT_NEW, Netfilter, type NfPacketInfo, VERDICT_ACCEPT, VERDICT_DROP, conntrackList, parseIpv4,
} from '../../src/netfilter/index.js';
import { spawnWorker } from '../../src/io/spawn-worker.js';
import type { ForwardReply, WorkerRequest } from './conntrack-worker.js';
import { info, r16, r32, udp } from './netfilter-helpers.js';

const LAN = 'qr-lan';
const RFP = 'rfp-c4d4b760-4';
const RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o ${RFP} -j SNAT --to-source 112.65.210.200
COMMIT
`;
const SNAT_IP = parseIpv4('112.65.210.200');

/** A worker running conntrack-worker.ts over `nf`'s conntrack buffers. */
class CtWorker {
  readonly w: Worker;
  threadId = -1;
  constructor(nf: Netfilter) {
    this.w = spawnWorker(new URL('./conntrack-worker.ts', import.meta.url), { buffers: nf.conntrack.buffers, rules: RULES });
  }

  async ready(): Promise<void> {
    const [m] = await once(this.w, 'message') as [{ ready: number }];
    this.threadId = m.ready;
  }

  async ask<T>(req: WorkerRequest): Promise<T> {
    this.w.postMessage(req);
    const [m] = await once(this.w, 'message') as [T];
    return m;
  }

  forward(pkt: Uint8Array, inIf: string, outIf: string, now: number): Promise<ForwardReply> {
    return this.ask<ForwardReply>({ op: 'forward', pkt, inIf, outIf, now });
  }
}

function snatNs(max?: number): Netfilter {
  const nf = new Netfilter(max === undefined ? {} : { max });
  nf.load(RULES);
  return nf;
}

function forward(nf: Netfilter, pkt: Uint8Array, inIf: string, outIf: string, now: number): NfPacketInfo & { verdict: number } {
  const p = info(pkt, inIf, outIf);
  let verdict = nf.prerouting(p, now);
  if (verdict === VERDICT_ACCEPT) verdict = nf.forward(p, now);
  if (verdict === VERDICT_ACCEPT) verdict = nf.postrouting(p, now);
  return Object.assign(p, { verdict });
}

/** Where a packet is addressed now: "a.b.c.d:port". */
function dstOf(pkt: Uint8Array): string {
  const a = r32(pkt, 16);
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}:${r16(pkt, 22)}`;
}

function srcPortOf(pkt: Uint8Array): number {
  return r16(pkt, 20);
}

test('a worker attached to the buffers finds the main thread\'s entries, both ways and NATed, and the main thread finds the worker\'s', async () => {
  const nf = snatNs();
  // Two hosts with the same source port: the second one's SNAT port clashes and is remapped.
  const a = forward(nf, udp('192.168.1.7', '8.8.8.8', 5000, 53), LAN, RFP, 0);
  const b = forward(nf, udp('192.168.1.8', '8.8.8.8', 5000, 53), LAN, RFP, 0);
  assert.equal(a.verdict, VERDICT_ACCEPT);
  assert.equal(srcPortOf(a.buf!), 5000);
  const bPort = srcPortOf(b.buf!);
  assert.notEqual(bPort, 5000, 'the clash got another port');

  const w = new CtWorker(nf);
  try {
    await w.ready();
    // The hash finds each tuple in the right direction: node = slot * 2 + dir.
    const origA = await w.ask<number>({ op: 'find', tuple: [parseIpv4('192.168.1.7'), parseIpv4('8.8.8.8'), 17, 5000, 53], now: 1 });
    assert.equal(origA, a.ct * 2);
    const replyB = await w.ask<number>({ op: 'find', tuple: [parseIpv4('8.8.8.8'), SNAT_IP, 17, 53, bPort], now: 1 });
    assert.equal(replyB, b.ct * 2 + 1, 'the NATed reply tuple, reply direction');
    const unnated = await w.ask<number>({ op: 'find', tuple: [parseIpv4('8.8.8.8'), parseIpv4('192.168.1.8'), 17, 53, 5000], now: 1 });
    assert.equal(unnated, 0, 'the reply tuple before NAT is not in the table');

    // Replies through the worker are translated back with the main thread's bindings.
    const ra = await w.forward(udp('8.8.8.8', '112.65.210.200', 53, 5000), RFP, LAN, 2);
    assert.deepEqual([ra.verdict, ra.ctState, ra.ctDir, ra.slot, dstOf(ra.pkt)], [VERDICT_ACCEPT, CT_ESTABLISHED, 1, a.ct, '192.168.1.7:5000']);
    const rb = await w.forward(udp('8.8.8.8', '112.65.210.200', 53, bPort), RFP, LAN, 2);
    assert.deepEqual([rb.ctState, rb.ctDir, dstOf(rb.pkt)], [CT_ESTABLISHED, 1, '192.168.1.8:5000']);

    // The worker opens a connection; the main thread sees it, answers it, and lists it.
    const c = await w.forward(udp('192.168.1.9', '8.8.4.4', 6000, 53), LAN, RFP, 3);
    assert.deepEqual([c.verdict, c.ctState], [VERDICT_ACCEPT, CT_NEW]);
    const rc = forward(nf, udp('8.8.4.4', '112.65.210.200', 53, 6000), RFP, LAN, 4);
    assert.deepEqual([rc.ctState, rc.ctDir, rc.ct, dstOf(rc.buf!)], [CT_ESTABLISHED, 1, c.slot, '192.168.1.9:6000']);
    assert.equal(nf.conntrack.count, 3);
    assert.match(conntrackList(nf.conntrack, 4)[2]!, /^udp +17 30 src=192\.168\.1\.9 dst=8\.8\.4\.4 sport=6000 dport=53 src=8\.8\.4\.4 dst=112\.65\.210\.200 sport=53 dport=6000 mark=0 use=1$/);
    // A third host on port 5000, through the worker: a clash there too (found counts NAT clashes, as Linux's does).
    const d = await w.forward(udp('192.168.1.10', '8.8.8.8', 5000, 53), LAN, RFP, 5);
    assert.notEqual(srcPortOf(d.pkt), 5000);
    // Each taken tuple tried counts: the main thread's one, the worker's one or more (its random picks may be taken too).
    assert.ok(nf.conntrack.stats.found >= 2, `counters are shared: both threads' clashes (found=${nf.conntrack.stats.found})`);
  } finally {
    await w.w.terminate();
  }
});

test('the entries outlive a crashed worker; the next one keeps its NATed connections working', async () => {
  const nf = snatNs();
  const first = new CtWorker(nf);
  await first.ready();
  const out = await first.forward(udp('192.168.1.7', '8.8.8.8', 7000, 53), LAN, RFP, 0);
  assert.equal(out.verdict, VERDICT_ACCEPT);
  first.w.postMessage({ op: 'crash' } satisfies WorkerRequest);
  const [err] = await once(first.w, 'error') as [Error];
  assert.match(err.message, /crashed on purpose/);
  await once(first.w, 'exit');

  assert.equal(nf.conntrack.count, 1, 'the entry is still there');
  const next = new CtWorker(nf);
  try {
    await next.ready();
    const reply = await next.forward(udp('8.8.8.8', '112.65.210.200', 53, 7000), RFP, LAN, 1000);
    assert.deepEqual([reply.ctState, reply.ctDir, dstOf(reply.pkt)], [CT_ESTABLISHED, 1, '192.168.1.7:7000']);
    const again = await next.forward(udp('192.168.1.7', '8.8.8.8', 7000, 53), LAN, RFP, 2000);
    assert.deepEqual([again.ctState, again.ctDir, again.slot], [CT_ESTABLISHED, 0, out.slot]);
    assert.equal(r32(again.pkt, 12), SNAT_IP, 'still SNATed');
  } finally {
    await next.w.terminate();
  }
});

test('a worker killed mid-traffic: its lock is released, the table stays usable and consistent', async () => {
  const nf = snatNs();
  const kept = forward(nf, udp('192.168.1.7', '8.8.8.8', 8000, 53), LAN, RFP, 0);
  const w = new CtWorker(nf);
  await w.ready();
  const started = await w.ask<{ threadId: number }>({ op: 'spin', pkt: udp('192.168.1.50', '8.8.8.8', 0, 53), inIf: LAN, outIf: RFP, now: 1 });
  await new Promise((r) => setTimeout(r, 100));
  await w.w.terminate();
  nf.conntrack.releaseLockOf(started.threadId);
  const made = nf.conntrack.count;
  assert.ok(made > 1, `the worker made connections (${made})`);
  // Every listed entry is found again in both directions.
  for (const e of nf.conntrack.list()) {
    for (const dir of [0, 1]) {
      const t = e.tuple(dir);
      assert.equal(nf.conntrack.find(t.src, t.dst, t.proto, t.sport, t.dport, 2), e.slot * 2 + dir);
    }
  }
  const reply = forward(nf, udp('8.8.8.8', '112.65.210.200', 53, 8000), RFP, LAN, 2);
  assert.deepEqual([reply.ctState, reply.ct, dstOf(reply.buf!)], [CT_ESTABLISHED, kept.ct, '192.168.1.7:8000']);
  assert.equal(forward(nf, udp('192.168.1.7', '8.8.8.8', 8001, 53), LAN, RFP, 2).ctState, CT_NEW, 'new connections still go in');
});

test('the limit is shared: a table filled by a worker drops on the main thread, counted in the shared stats', async () => {
  const nf = snatNs(2);
  const w = new CtWorker(nf);
  try {
    await w.ready();
    // Two UDP streams, replied and active 2 s later: assured, so early drop cannot evict them.
    for (const port of [9000, 9001]) {
      await w.forward(udp('192.168.1.7', '8.8.8.8', port, 53), LAN, RFP, 0);
      await w.forward(udp('8.8.8.8', '112.65.210.200', 53, port), RFP, LAN, 100);
      await w.forward(udp('192.168.1.7', '8.8.8.8', port, 53), LAN, RFP, 3000);
    }
    assert.equal(nf.conntrack.count, 2);
    const p = forward(nf, udp('192.168.1.7', '8.8.8.8', 9002, 53), LAN, RFP, 3001);
    assert.deepEqual([p.verdict, nf.result.reason], [VERDICT_DROP, 'conntrack_full']);
    assert.equal(nf.drops.get('conntrack_full'), 1);
    const fromWorker = await w.forward(udp('192.168.1.7', '8.8.8.8', 9003, 53), LAN, RFP, 3002);
    assert.deepEqual([fromWorker.verdict, fromWorker.reason], [VERDICT_DROP, 'conntrack_full']);
    assert.equal(nf.conntrack.stats.drop, 2, 'drops by both threads in one counter');
    assert.equal(nf.conntrack.stats.early_drop, 0);
  } finally {
    await w.w.terminate();
  }
});

test('a table kept for a dead owner is adopted whole: connections, NAT bindings, and the slots of entries it never confirmed', () => {
  const old = snatNs();
  const a = forward(old, udp('192.168.1.7', '8.8.8.8', 5000, 53), LAN, RFP, 0);
  const b = forward(old, udp('192.168.1.8', '8.8.8.8', 5000, 53), LAN, RFP, 0);
  const bPort = srcPortOf(b.buf!);
  assert.notEqual(bPort, 5000, 'the clash was remapped');
  // The owner "dies" between PREROUTING and confirm: this entry is never confirmed.
  const lost = info(udp('192.168.1.9', '8.8.8.8', 5000, 53), LAN, RFP);
  old.prerouting(lost, 0);
  assert.ok(lost.ct !== 0);
  const kept = old.conntrack.keptBuffers;

  const next = snatNs();
  next.adoptConntrackTable(kept, {});
  assert.deepEqual(conntrackList(next.conntrack, 1), conntrackList(old.conntrack, 1));
  const rb = forward(next, udp('8.8.8.8', '112.65.210.200', 53, bPort), RFP, LAN, 1);
  assert.equal(rb.verdict, VERDICT_ACCEPT);
  assert.equal(rb.ctState, CT_ESTABLISHED);
  assert.equal(dstOf(rb.buf!), '192.168.1.8:5000', 'the remapped binding still un-NATs');
  assert.equal(srcPortOf(forward(next, udp('192.168.1.7', '8.8.8.8', 5000, 53), LAN, RFP, 2).buf!), srcPortOf(a.buf!));
  // The dead owner's unconfirmed entry sits at its ring place (the third):
  // the successor's third NEW entry reclaims it, and takes its slot.
  const news = [1, 2, 3].map((i) => {
    const p = info(udp('192.168.1.20', '8.8.4.4', 6000 + i, 53), LAN, RFP);
    next.prerouting(p, 3);
    assert.ok(p.ct !== 0);
    return p.ct;
  });
  assert.equal(news[2], lost.ct);
});
