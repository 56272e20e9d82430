// The classifier against a linear scan under random interleavings of insert,
// remove and lookup (fast-check): random masks (shared by several rules, so
// subtables fill, grow, shrink and empty), few values and priorities (so
// rules collide in value, tie in priority and chain within a node). Also the
// megaflow property of the wildcards a lookup collects: any key that agrees
// on those bits gets the same rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Classifier, sameMatch, type ClsRule } from '../../src/ofproto/classifier.js';
import { K, newKey } from '../../src/ofproto/flow-key.js';
import { emptyMatch, matches, type Match } from '../../src/ofproto/match.js';

interface R extends ClsRule {
  id: number;
}

const WORDS = [K.IN_PORT, K.VLAN_TCI, K.DL_DST_HI, K.DL_DST_LO, K.NW_DST, K.TP_DST, K.REG0 + 5, K.TUN_ID_LO];
const bitsArb = fc.oneof(
  fc.constantFrom(0xffffffff, 0xffffff00, 0x0000ffff, 0x1fff, 0x1, 0x80000000),
  fc.integer({ min: 1, max: 0xffffffff }),
);
const maskArb = fc.array(fc.tuple(fc.constantFrom(...WORDS), bitsArb), { maxLength: 4 });
const valueArb = fc.constantFrom(0, 1, 2, 0xff, 0x100, 0x1001, 0x80000000, 0xffffffff, 0x12345678);
const keyArb = fc.array(valueArb, { minLength: WORDS.length, maxLength: WORDS.length });
// Rules draw from fewer values, so different priorities often share a masked value (one node).
const ruleValsArb = fc.array(fc.constantFrom(0, 1, 0x80000000, 0xffffffff), { minLength: WORDS.length, maxLength: WORDS.length });

type Op =
  | { op: 'insert'; mask: number; vals: number[]; priority: number }
  | { op: 'remove'; pick: number }
  | { op: 'lookup'; key: number[]; noise: number[] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('insert' as const), mask: fc.nat(), vals: ruleValsArb, priority: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('lookup' as const), key: keyArb, noise: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: K.WORDS, maxLength: K.WORDS }) }) },
);

function keyOf(vals: number[]): Uint32Array {
  const k = newKey();
  WORDS.forEach((w, i) => (k[w] = vals[i]! >>> 0));
  return k;
}

function matchOf(mask: [number, number][], vals: number[]): Match {
  const m = emptyMatch();
  for (const [w, bits] of mask) m.mask[w] = (m.mask[w]! | bits) >>> 0;
  const k = keyOf(vals);
  for (let w = 0; w < K.WORDS; w++) m.value[w] = (k[w]! & m.mask[w]!) >>> 0;
  return m;
}

/** The reference: the highest priority among live rules matching `k` (-1: none), and how many rules have it. */
function scan(live: readonly R[], k: Uint32Array): { best: number; n: number } {
  let best = -1, n = 0;
  for (const r of live) {
    if (!matches(r.match, k)) continue;
    if (r.priority > best) (best = r.priority), (n = 1);
    else if (r.priority === best) n++;
  }
  return { best, n };
}

test('interleaved insert/remove/lookup: same answers as a linear scan, sound wildcards (property)', () => {
  fc.assert(
    fc.property(fc.array(maskArb, { minLength: 1, maxLength: 6 }), fc.array(opArb, { minLength: 1, maxLength: 800 }), (masks, ops) => {
      const c = new Classifier<R>();
      let live: R[] = [];
      let id = 0;
      const check = (k: Uint32Array, noise: readonly number[]) => {
        const wc = newKey();
        const got = c.lookup(k, wc);
        const { best, n } = scan(live, k);
        if (best < 0) assert.equal(got, null);
        else {
          assert.ok(got !== null && matches(got.match, k) && live.includes(got), 'the rule found is live and matches');
          assert.equal(got.priority, best, 'and has the highest priority of all matching rules');
          if (n === 1) assert.ok(live.every((r) => r === got || r.priority < best || !matches(r.match, k)));
        }
        // Megaflow soundness: bits outside wc may change without changing the answer.
        const k2 = newKey();
        for (let w = 0; w < K.WORDS; w++) k2[w] = ((k[w]! & wc[w]!) | (noise[w % noise.length]! & ~wc[w]!)) >>> 0;
        assert.equal(c.lookup(k2), got, 'a key agreeing on the collected wildcards finds the same rule');
      };
      for (const o of ops) {
        if (o.op === 'insert') {
          const r: R = { id: id++, priority: o.priority, match: matchOf(masks[o.mask % masks.length]!, o.vals) };
          const twin = live.find((x) => x.priority === r.priority && sameMatch(x.match, r.match)) ?? null;
          assert.equal(c.insert(r), twin, 'an identical match and priority is replaced, and only that');
          if (twin) live = live.filter((x) => x !== twin);
          live.push(r);
          assert.equal(c.findExact(r.match, r.priority), r);
          check(r.match.value, o.vals);
        } else if (o.op === 'remove') {
          if (live.length === 0) continue;
          const r = live[o.pick % live.length]!;
          assert.ok(c.remove(r));
          assert.ok(!c.remove(r), 'a rule is removed once');
          live = live.filter((x) => x !== r);
          assert.equal(c.findExact(r.match, r.priority), null);
          check(r.match.value, [o.pick]);
        } else {
          check(keyOf(o.key), o.noise);
        }
        assert.equal(c.size, live.length);
      }
      const all = c.rules();
      assert.equal(all.length, live.length);
      assert.deepEqual(new Set(all), new Set(live), 'rules() lists exactly the live rules');
      for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.priority >= all[i]!.priority, 'highest priority first');
      for (const r of [...live]) assert.ok(c.remove(r));
      assert.equal(c.size, 0);
      assert.equal(c.subtableCount, 0, 'empty subtables are dropped');
    }),
    { numRuns: 150 },
  );
});

test('one subtable grown to thousands of nodes and emptied again keeps finding every rule', () => {
  // Drives the open-addressing table through resizes both ways and long probe runs with deletions in them.
  const c = new Classifier<R>();
  const mask: [number, number][] = [[K.NW_DST, 0xffffffff], [K.TP_DST, 0xffff]];
  const rules: R[] = [];
  for (let i = 0; i < 5000; i++) {
    const r: R = { id: i, priority: i % 3, match: matchOf(mask, [0, 0, 0, 0, (i * 2654435761) >>> 0, i & 0xffff, 0, 0]) };
    rules.push(r);
    assert.equal(c.insert(r), null);
  }
  const check = (alive: (r: R) => boolean) => {
    for (const r of rules) {
      const k = newKey();
      k[K.NW_DST] = r.match.value[K.NW_DST]!;
      k[K.TP_DST] = r.match.value[K.TP_DST]!;
      assert.equal(c.lookup(k), alive(r) ? r : null, `rule ${r.id}`);
    }
  };
  check(() => true);
  for (const r of rules) if (r.id % 4 !== 0) assert.ok(c.remove(r));
  check((r) => r.id % 4 === 0);
  for (const r of rules) if (r.id % 4 === 0) assert.ok(c.remove(r));
  check(() => false);
  assert.equal(c.size, 0);
});
