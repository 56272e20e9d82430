// Route tables: longest-prefix match with overlapping prefixes, metric and
// TOS order, the NLM_F_* insert semantics, delete matching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { maskAddr, parseIp4 } from '../../src/netns/addr.js';
import { RtnlError } from '../../src/netns/errors.js';
import { FibTable, type Route } from '../../src/netns/fib.js';

const ip = (s: string) => parseIp4(s)!;

function route(dst: string, len: number, fields: Partial<Route> = {}): Route {
  return {
    table: 254, type: 'unicast', dst: ip(dst), dstLen: len, tos: 0, priority: 0, protocol: 3, scope: 0,
    gateway: 0, dev: 2, prefsrc: 0, onlink: false, mtu: 0, mtuLock: false, metrics: [], nhScope: 254, auto: false,
    ...fields,
  };
}

const flow = (dst: string, extra: Partial<{ tos: number; scope: number; oif: number }> = {}) => ({
  dst: ip(dst), tos: 0, scope: 0, oif: 0, ...extra,
});

test('longest prefix wins among overlapping prefixes', () => {
  const t = new FibTable(254);
  t.insert(route('0.0.0.0', 0, { gateway: ip('10.0.0.1'), dev: 9 }), 'add');
  t.insert(route('10.0.0.0', 8, { dev: 8 }), 'add');
  t.insert(route('10.1.0.0', 16, { dev: 7 }), 'add');
  t.insert(route('10.1.2.0', 24, { dev: 6 }), 'add');
  t.insert(route('10.1.2.3', 32, { dev: 5 }), 'add');
  const dev = (d: string) => t.lookup(flow(d))?.dev;
  assert.equal(dev('10.1.2.3'), 5);
  assert.equal(dev('10.1.2.4'), 6);
  assert.equal(dev('10.1.3.4'), 7);
  assert.equal(dev('10.2.3.4'), 8);
  assert.equal(dev('11.0.0.1'), 9);
  assert.equal(t.size, 5);
});

test('without a default route a miss is undefined', () => {
  const t = new FibTable(254);
  t.insert(route('192.168.1.0', 24), 'add');
  assert.equal(t.lookup(flow('8.8.8.8')), undefined);
});

test('lower metric first within a prefix; a tos-specific route only for that tos', () => {
  const t = new FibTable(254);
  t.insert(route('10.0.0.0', 8, { priority: 100, dev: 3 }), 'add');
  t.insert(route('10.0.0.0', 8, { priority: 10, dev: 4 }), 'add');
  t.insert(route('10.0.0.0', 8, { tos: 0x10, priority: 500, dev: 5 }), 'add');
  assert.equal(t.lookup(flow('10.9.9.9'))?.dev, 4);
  assert.equal(t.lookup(flow('10.9.9.9', { tos: 0x10 }))?.dev, 5);
  assert.deepEqual(t.routes().map((r) => r.dev), [5, 4, 3], 'dump order: tos desc, metric asc');
});

test('oif and scope filters skip to shorter prefixes (kernel backtracking)', () => {
  const t = new FibTable(254);
  t.insert(route('10.1.0.0', 16, { dev: 3 }), 'add');
  t.insert(route('10.0.0.0', 8, { dev: 4, scope: 253 }), 'add');
  assert.equal(t.lookup(flow('10.1.1.1', { oif: 4 }))?.dev, 4);
  assert.equal(t.lookup(flow('10.1.1.1', { scope: 253 }))?.dev, 4, 'universe-scope /16 skipped for a link-scope lookup');
});

test('error routes end the lookup at their prefix; throw too (caller falls through)', () => {
  const t = new FibTable(254);
  t.insert(route('0.0.0.0', 0, { gateway: ip('1.1.1.1') }), 'add');
  t.insert(route('10.0.0.0', 8, { type: 'unreachable', dev: 0, nhScope: 255 }), 'add');
  t.insert(route('172.16.0.0', 12, { type: 'throw', dev: 0, nhScope: 255 }), 'add');
  assert.equal(t.lookup(flow('10.1.1.1'))?.type, 'unreachable');
  assert.equal(t.lookup(flow('172.16.0.1'))?.type, 'throw');
  assert.equal(t.lookup(flow('9.9.9.9'))?.type, 'unicast');
});

test('add refuses a duplicate key; append, prepend, replace and change as the kernel does', () => {
  const t = new FibTable(254);
  const a = route('10.0.0.0', 8, { dev: 3 });
  t.insert(a, 'add');
  assert.throws(() => t.insert(route('10.0.0.0', 8, { dev: 4 }), 'add'), (e: unknown) => e instanceof RtnlError && e.errno === 'EEXIST' && e.message === 'RTNETLINK answers: File exists');
  t.insert(route('10.0.0.0', 8, { dev: 4 }), 'append');
  t.insert(route('10.0.0.0', 8, { dev: 5 }), 'prepend');
  assert.deepEqual(t.routes().map((r) => r.dev), [5, 3, 4]);
  assert.throws(() => t.insert(route('10.0.0.0', 8, { dev: 4 }), 'append'), /File exists/, 'perfect match');
  t.insert(route('10.0.0.0', 8, { dev: 6 }), 'replace');
  assert.deepEqual(t.routes().map((r) => r.dev), [6, 3, 4], 'replace takes the first of the group');
  assert.throws(() => t.insert(route('10.0.0.0', 8, { dev: 4 }), 'replace'), /File exists/, 'identical route not first');
  assert.throws(() => t.insert(route('11.0.0.0', 8), 'change'), (e: unknown) => e instanceof RtnlError && e.errno === 'ENOENT');
  t.insert(route('11.0.0.0', 8), 'replace');
  assert.equal(t.size, 4);
});

test('host bits in a route prefix are refused', () => {
  const t = new FibTable(254);
  assert.throws(() => t.insert(route('10.0.0.1', 8), 'add'), /Error: Invalid prefix for given prefix length\./);
});

test('delete matches on what was given and refuses what is absent', () => {
  const t = new FibTable(254);
  t.insert(route('10.0.0.0', 8, { dev: 3, priority: 5 }), 'add');
  t.insert(route('10.0.0.0', 8, { dev: 4, priority: 6 }), 'add');
  assert.throws(() => t.delete({ dst: ip('10.0.0.0'), dstLen: 8, dev: 9 }), (e: unknown) => e instanceof RtnlError && e.errno === 'ESRCH');
  assert.equal(t.delete({ dst: ip('10.0.0.0'), dstLen: 8, priority: 6 }).dev, 4);
  assert.equal(t.delete({ dst: ip('10.0.0.0'), dstLen: 8 }).dev, 3);
  assert.equal(t.size, 0);
  assert.equal(t.lookup(flow('10.0.0.1')), undefined);
});

test('dump order: by address, longer prefix first', () => {
  const t = new FibTable(254);
  for (const [d, l] of [['10.0.0.0', 8], ['0.0.0.0', 0], ['10.0.0.0', 24], ['9.0.0.0', 8], ['10.0.0.128', 25]] as const) t.insert(route(d, l), 'add');
  assert.deepEqual(t.routes().map((r) => `${r.dst >>> 24}.${(r.dst >>> 16) & 255}.${(r.dst >>> 8) & 255}.${r.dst & 255}/${r.dstLen}`), [
    '0.0.0.0/0', '9.0.0.0/8', '10.0.0.0/24', '10.0.0.0/8', '10.0.0.128/25',
  ]);
});

test('property: lookup equals a brute-force longest match over random tables', () => {
  const arbRoute = fc.record({ addr: fc.integer({ min: 0, max: 0xffff_ffff }), len: fc.integer({ min: 0, max: 32 }), dev: fc.integer({ min: 2, max: 50 }) });
  fc.assert(
    fc.property(fc.array(arbRoute, { maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 1, maxLength: 20 }), (rs, dsts) => {
      const t = new FibTable(254);
      const kept: Route[] = [];
      for (const x of rs) {
        const r = route('0.0.0.0', x.len, { dst: maskAddr(x.addr, x.len), dev: x.dev });
        try {
          t.insert(r, 'add');
          kept.push(r);
        } catch {
          /* duplicate prefix */
        }
      }
      for (const d of dsts) {
        let best: Route | undefined;
        for (const r of kept) if (maskAddr(d, r.dstLen) === r.dst && (!best || r.dstLen > best.dstLen)) best = r;
        assert.equal(t.lookup({ dst: d, tos: 0, scope: 0, oif: 0 }), best);
      }
    }),
    { numRuns: 300 },
  );
});
