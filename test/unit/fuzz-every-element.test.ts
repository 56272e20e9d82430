// Malformed frames through every element of the seed topology: nothing
// escapes as an exception (no internal_error drops), and every slot comes
// back once held packets (ARP queues) have timed out: each frame was
// forwarded, consumed or dropped with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadTopologyOrThrow } from '../../src/topology/loader.js';
import { buildEmulator } from '../../src/topology/builder.js';
import { openEdges } from '../../src/cli/trace.js';
import { ManualClock } from '../../src/datapath/clock.js';
import { buildFrame } from '../../src/wire/frame.js';
import { DROP_REASONS } from '../../src/datapath/drop-reasons.js';

const topo = loadTopologyOrThrow('configs/seed-dvr-snat.yaml');

const valid = [
  buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8' }, icmp: { id: 60691, seq: 1, data: 100 } }),
  buildFrame({ src: '5c:c9:99:60:d2:71', dst: 'fa:17:3e:f7:cd:bc', vlans: [103], ip: { src: '8.8.8.8', dst: '112.65.210.200' }, icmp: { type: 0, id: 60691, seq: 1, data: 100 } }),
  buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'ff:ff:ff:ff:ff:ff', arp: { sha: 'fa:16:3e:b2:ef:af', spa: '192.168.1.7', tpa: '192.168.1.1' } }),
  buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8', ttl: 2 }, udp: { sport: 40000, dport: 33434, payload: 32 } }),
  buildFrame({ src: 'fa:16:3e:b2:ef:af', dst: 'fa:16:3e:06:d8:7b', ip: { src: '192.168.1.7', dst: '8.8.8.8' }, tcp: { sport: 40000, dport: 80, flags: 'S' } }),
];

test('random and mutated frames at every port: no exception escapes, every slot is accounted for', () => {
  const clock = new ManualClock(0);
  const emu = buildEmulator(topo, { emulateHosts: true, clock });
  openEdges(emu);
  const e = emu.engine;
  const ports = e.ports.filter((p) => p.up);
  const frame = fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 200 }),
    fc.tuple(fc.constantFrom(...valid), fc.nat(200), fc.array(fc.tuple(fc.nat(199), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })).map(([f, cut, flips]) => {
      const g = f.slice(0, Math.max(0, f.length - (cut % (f.length + 1))));
      for (const [i, v] of flips) if (i < g.length) g[i] = v;
      return g;
    }),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(ports.length - 1), frame), { minLength: 1, maxLength: 20 }), (cases) => {
      for (const [pi, f] of cases) {
        const p = e.pool.allocFrom(f);
        assert.ok(p, 'slab exhausted: a leak');
        e.inject(p, ports[pi]!);
      }
    }),
    { numRuns: 300, seed: 42 },
  );
  const internal = e.elements.reduce((s, el) => s + e.dropCount(el, 'internal_error'), 0);
  assert.equal(internal, 0, 'an element threw');
  // Let every ARP resolution time out (3 probes, 1 s apart) so held packets are dropped.
  for (let i = 0; i < 10; i++) {
    clock.advance(1000);
    e.tick();
  }
  assert.equal(e.pool.available, e.pool.slots, 'every slot returned');
  const drops = e.elements.reduce((s, el) => s + DROP_REASONS.reduce((t, r) => t + e.dropCount(el, r), 0), 0);
  assert.ok(drops > 0 && e.stats.sum('drops', { reason: 'malformed' }) > 0, 'malformed frames were counted');
});
