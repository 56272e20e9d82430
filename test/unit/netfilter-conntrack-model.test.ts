// The conntrack table (shared-memory store: tuple hash, by-source chains,
// dense list, free slots, growth) against a plain Map model under random
// new connections with and without SNAT, replies, deletes, time passing and
// gc; and the SNAT port choice against the kernel's rule (source port kept
// when free, else the search from a random offset).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CT_ESTABLISHED, CT_NEW, Conntrack, HOOK_PREROUTING, IPS_SRC_NAT_DONE, MANIP_SRC, NAT_MAP_IPS, type NatRange,
  VERDICT_ACCEPT, formatIpv4,
} from '../../src/netfilter/index.js';
import { info, ip, udp } from './netfilter-helpers.js';

const CLIENTS = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.200'];
const SERVERS = ['198.51.100.1', '198.51.100.2'];
const SNAT_IP = '203.0.113.9';
const UDP_TIMEOUT_MS = 30_000;

interface Tuple { src: number; dst: number; sport: number; dport: number }
const key = (t: Tuple) => `${formatIpv4(t.src)}:${t.sport}>${formatIpv4(t.dst)}:${t.dport}`;

interface Conn { orig: Tuple; reply: Tuple; deadline: number }

type Op =
  | { op: 'new'; c: number; s: number; sport: number; dport: number; snat: boolean }
  | { op: 'reply'; pick: number }
  | { op: 'destroy'; pick: number }
  | { op: 'tick'; ms: number }
  | { op: 'gc' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({
    op: fc.constant('new' as const), c: fc.nat(CLIENTS.length - 1), s: fc.nat(SERVERS.length - 1),
    sport: fc.integer({ min: 1024, max: 1024 + 47 }), dport: fc.integer({ min: 1, max: 4 }), snat: fc.boolean(),
  }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('reply' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('destroy' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 12_000 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'gc' as const }) },
);

/** A random source that records what it handed out (the NAT port search starts from it). */
function recordingRandom(seed: number): { fn: () => number; last: number[] } {
  let x = seed >>> 0 || 1;
  const last: number[] = [];
  return {
    last,
    fn: () => {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      last.push(x);
      return x;
    },
  };
}

function entryTuple(ct: Conntrack, slot: number, dir: number): Tuple {
  const t = ct.entry(slot).tuple(dir);
  return { src: t.src, dst: t.dst, sport: t.sport, dport: t.dport };
}

/** Store and model agree: every listed entry is a model entry; every live model entry is found both ways; tuples are unique. */
function check(ct: Conntrack, model: Map<string, Conn>, now: number): void {
  const listed = ct.list();
  assert.equal(ct.count, listed.length);
  const seenTuples = new Set<string>();
  const ids = new Set<number>();
  for (const e of listed) {
    const o = entryTuple(ct, e.slot, 0), r = entryTuple(ct, e.slot, 1);
    const m = model.get(key(o));
    assert.ok(m, `store holds ${key(o)}, which the model does not`);
    assert.equal(key(r), key(m.reply), `reply tuple of ${key(o)}`);
    assert.equal(e.deadline, m.deadline, `deadline of ${key(o)}`);
    for (const k of [key(o), key(r)]) {
      assert.ok(!seenTuples.has(k), `tuple ${k} held twice`);
      seenTuples.add(k);
    }
    assert.ok(!ids.has(e.id), `id ${e.id} twice`);
    ids.add(e.id);
  }
  for (const [k, m] of model) {
    if (m.deadline <= now) {
      // Expired: the store may have reaped it on a lookup already; gone from the model once gone from the store.
      if (!seenTuples.has(k)) model.delete(k);
      continue;
    }
    const n0 = ct.find(m.orig.src, m.orig.dst, 17, m.orig.sport, m.orig.dport, now);
    const n1 = ct.find(m.reply.src, m.reply.dst, 17, m.reply.sport, m.reply.dport, now);
    assert.ok(n0 !== 0 && (n0 & 1) === 0, `live ${k} not found in the original direction`);
    assert.equal(n1, n0 + 1, `live ${k}: reply direction not the same entry`);
  }
}

test('conntrack store against a Map model: new (with and without SNAT), replies, deletes, expiry, gc, growth', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 50, maxLength: 300, size: 'max' }), fc.integer({ min: 1, max: 2 ** 31 }), (ops, seed) => {
      const rnd = recordingRandom(seed);
      const ct = new Conntrack({ max: 0, random: rnd.fn });
      const snat: NatRange = { flags: NAT_MAP_IPS, minAddr: ip(SNAT_IP), maxAddr: ip(SNAT_IP), minPort: 0, maxPort: 0 };
      const model = new Map<string, Conn>();
      let now = 1000;
      for (const o of ops) {
        if (o.op === 'tick') now += o.ms;
        else if (o.op === 'gc') {
          ct.gc(now);
          for (const [k, m] of model) if (m.deadline <= now) model.delete(k);
          assert.equal(ct.count, model.size, 'after gc the store holds exactly the live model entries');
        } else if (o.op === 'destroy' || o.op === 'reply') {
          const live = [...model.values()].filter((m) => m.deadline > now);
          if (live.length === 0) continue;
          const m = live[o.pick % live.length]!;
          const n = ct.find(m.orig.src, m.orig.dst, 17, m.orig.sport, m.orig.dport, now);
          if (o.op === 'destroy') {
            ct.destroy(n >>> 1);
            model.delete(key(m.orig));
          } else {
            const r = m.reply;
            const p = info(udp(formatIpv4(r.src), formatIpv4(r.dst), r.sport, r.dport), 'eth1', 'eth0');
            assert.equal(ct.in(p, HOOK_PREROUTING, now), VERDICT_ACCEPT);
            assert.equal(p.ctState, CT_ESTABLISHED);
            assert.equal(p.ct * 2 + p.ctDir, n + 1, 'a reply finds its entry in the reply direction');
            ct.confirm(p, now);
            m.deadline = ct.entry(p.ct).deadline;
          }
        } else {
          const orig: Tuple = { src: ip(CLIENTS[o.c]!), dst: ip(SERVERS[o.s]!), sport: o.sport, dport: o.dport };
          const p = info(udp(CLIENTS[o.c]!, SERVERS[o.s]!, o.sport, o.dport), 'eth0', 'eth1');
          assert.equal(ct.in(p, HOOK_PREROUTING, now), VERDICT_ACCEPT);
          const m = model.get(key(orig));
          if (m && m.deadline > now) {
            assert.equal(key(entryTuple(ct, p.ct, 0)), key(orig), 'a known connection finds its entry');
            assert.equal(p.ctDir, 0);
            ct.confirm(p, now);
            m.deadline = ct.entry(p.ct).deadline;
          } else {
            assert.equal(p.ctState, CT_NEW, `${key(orig)} is new`);
            if (o.snat) {
              // Entries the by-source search can reuse a mapping from (expired ones too, until reaped).
              const sameSource = ct.list().some((e) => {
                const t = entryTuple(ct, e.slot, 0);
                return t.src === orig.src && t.sport === orig.sport && (e.status & IPS_SRC_NAT_DONE) !== 0;
              });
              const takenBy = (port: number) => {
                const want = key({ src: orig.dst, dst: ip(SNAT_IP), sport: orig.dport, dport: port });
                return [...model.values()].some((x) => x.deadline > now && (key(x.reply) === want || key(x.orig) === want));
              };
              rnd.last.length = 0;
              ct.setupNat(p.ct, snat, MANIP_SRC, now);
              const r = entryTuple(ct, p.ct, 1);
              assert.equal(r.dst, ip(SNAT_IP), 'reply goes to the SNAT address');
              assert.equal(r.src, orig.dst);
              assert.equal(r.sport, orig.dport);
              if (!sameSource) {
                if (!takenBy(orig.sport)) {
                  assert.equal(r.dport, orig.sport, 'source port kept when free');
                  assert.equal(rnd.last.length, 0, 'no random draw when the port is kept');
                } else {
                  // nf_nat_l4proto_unique_tuple: from min + (random & 0xffff) % size, upward, first free.
                  assert.ok(rnd.last.length >= 1);
                  let off = rnd.last[0]! & 0xffff;
                  while (takenBy(1024 + (off % 64512))) off = (off + 1) & 0xffff;
                  assert.equal(r.dport, 1024 + (off % 64512), 'port search order');
                }
              }
              assert.ok(!takenBy(r.dport), 'the chosen reply tuple is free');
            }
            ct.confirm(p, now);
            assert.notEqual(p.ct, 0, 'confirmed');
            model.set(key(orig), { orig, reply: entryTuple(ct, p.ct, 1), deadline: ct.entry(p.ct).deadline });
            assert.equal(ct.entry(p.ct).deadline, now + UDP_TIMEOUT_MS);
          }
        }
        check(ct, model, now);
      }
    }),
    { numRuns: 40 },
  );
});

test('SNAT port search: from the random offset upward, past taken ports (nf_nat_l4proto_unique_tuple)', () => {
  const ct = new Conntrack({ random: () => 5000 }); // first candidate 1024 + 5000 % 64512 = 6024
  const snat: NatRange = { flags: NAT_MAP_IPS, minAddr: ip(SNAT_IP), maxAddr: ip(SNAT_IP), minPort: 0, maxPort: 0 };
  const open = (client: string, sport: number): number => {
    const p = info(udp(client, SERVERS[0]!, sport, 53), 'eth0', 'eth1');
    ct.in(p, HOOK_PREROUTING, 0);
    ct.setupNat(p.ct, snat, MANIP_SRC, 0);
    ct.confirm(p, 0);
    return entryTuple(ct, p.ct, 1).dport;
  };
  // Ports 6024..6027 and 40000 taken toward 198.51.100.1:53, each by a client that kept its own source port.
  const taken = [6024, 6025, 6026, 6027, 40000];
  assert.deepEqual(taken.map((port, i) => open(`192.0.2.${i + 1}`, port)), taken);
  assert.equal(open('192.0.2.10', 40000), 6028, 'source port taken: the first free port from the offset, upward');
  assert.equal(open('192.0.2.11', 40001), 40001, 'free: kept');
});
