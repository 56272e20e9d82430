// The classifier against what OVS's does: highest priority wins, masks
// select bits, identical match+priority replaces, and a 10k-rule table gives
// the same answer as a linear scan (fast-check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Classifier, looseMatches, type ClsRule } from '../../src/ofproto/classifier.js';
import { K, newKey } from '../../src/ofproto/flow-key.js';
import { emptyMatch, matches, type Match } from '../../src/ofproto/match.js';

interface R extends ClsRule {
  id: number;
}

function mk(id: number, priority: number, fields: [number, number, number?][]): R {
  const m = emptyMatch();
  for (const [w, v, mask = 0xffffffff] of fields) {
    m.mask[w] = mask >>> 0;
    m.value[w] = (v & mask) >>> 0;
  }
  return { id, priority, match: m };
}

function key(fields: [number, number][]): Uint32Array {
  const k = newKey();
  for (const [w, v] of fields) k[w] = v >>> 0;
  return k;
}

test('the highest priority match wins, whatever the insertion order', () => {
  for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
    const c = new Classifier<R>();
    const rules = [
      mk(1, 0, []), // catch-all
      mk(2, 10, [[K.IN_PORT, 1]]),
      mk(3, 20, [[K.IN_PORT, 1], [K.DL_TYPE, 0x0800]]),
    ];
    for (const i of order) c.insert(rules[i]!);
    assert.equal(c.lookup(key([[K.IN_PORT, 1], [K.DL_TYPE, 0x0800]]))!.id, 3);
    assert.equal(c.lookup(key([[K.IN_PORT, 1], [K.DL_TYPE, 0x0806]]))!.id, 2);
    assert.equal(c.lookup(key([[K.IN_PORT, 2]]))!.id, 1);
  }
});

test('a lower-priority rule in a more specific subtable does not beat a higher one', () => {
  const c = new Classifier<R>();
  c.insert(mk(1, 100, [[K.DL_TYPE, 0x0800]]));
  c.insert(mk(2, 5, [[K.DL_TYPE, 0x0800], [K.NW_DST, 0x08080808], [K.IN_PORT, 3]]));
  assert.equal(c.lookup(key([[K.DL_TYPE, 0x0800], [K.NW_DST, 0x08080808], [K.IN_PORT, 3]]))!.id, 1);
});

test('equal priorities: non-overlapping rules each match their own packets', () => {
  // OVS leaves the winner among overlapping equal-priority rules undefined; only disjoint ones are asserted.
  const c = new Classifier<R>();
  c.insert(mk(1, 1, [[K.IN_PORT, 1]]));
  c.insert(mk(2, 1, [[K.IN_PORT, 2]]));
  c.insert(mk(3, 1, [[K.DL_TYPE, 0x0806], [K.IN_PORT, 3]]));
  assert.equal(c.lookup(key([[K.IN_PORT, 1]]))!.id, 1);
  assert.equal(c.lookup(key([[K.IN_PORT, 2]]))!.id, 2);
  assert.equal(c.lookup(key([[K.IN_PORT, 3], [K.DL_TYPE, 0x0806]]))!.id, 3);
  assert.equal(c.lookup(key([[K.IN_PORT, 3], [K.DL_TYPE, 0x0800]])), null);
});

test('masks: dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 matches group addresses only', () => {
  const c = new Classifier<R>();
  c.insert(mk(1, 0, [[K.DL_DST_HI, 0x0100, 0x0100], [K.DL_DST_LO, 0, 0]]));
  c.insert(mk(2, 0, [[K.DL_DST_HI, 0x0000, 0x0100]]));
  assert.equal(c.lookup(key([[K.DL_DST_HI, 0xffff], [K.DL_DST_LO, 0xffffffff]]))!.id, 1); // broadcast
  assert.equal(c.lookup(key([[K.DL_DST_HI, 0x0100], [K.DL_DST_LO, 0x5e000001]]))!.id, 1); // 01:00:5e:00:00:01
  assert.equal(c.lookup(key([[K.DL_DST_HI, 0xfa16], [K.DL_DST_LO, 0x3e06d87b]]))!.id, 2); // unicast
  assert.equal(c.subtableCount, 1, 'the same mask shares one subtable');
});

test('an identical match and priority replaces the old rule; a different priority coexists', () => {
  const c = new Classifier<R>();
  const a = mk(1, 7, [[K.IN_PORT, 4]]);
  assert.equal(c.insert(a), null);
  assert.equal(c.insert(mk(2, 7, [[K.IN_PORT, 4]])), a);
  c.insert(mk(3, 8, [[K.IN_PORT, 4]]));
  assert.equal(c.size, 2);
  assert.equal(c.lookup(key([[K.IN_PORT, 4]]))!.id, 3);
  assert.equal(c.findExact(mk(0, 7, [[K.IN_PORT, 4]]).match, 7)!.id, 2);
});

test('removing the top rule of a subtable lets the next priority win', () => {
  const c = new Classifier<R>();
  const hi = mk(1, 50, [[K.IN_PORT, 1]]);
  c.insert(hi);
  c.insert(mk(2, 10, [[K.IN_PORT, 1]]));
  c.insert(mk(3, 20, [[K.DL_TYPE, 0x0800]]));
  const k = key([[K.IN_PORT, 1], [K.DL_TYPE, 0x0800]]);
  assert.equal(c.lookup(k)!.id, 1);
  assert.ok(c.remove(hi));
  assert.equal(c.lookup(k)!.id, 3);
  assert.ok(!c.remove(hi));
  c.clear();
  assert.equal(c.lookup(k), null);
});

test('lookup un-wildcards the bits of every subtable it consulted', () => {
  const c = new Classifier<R>();
  c.insert(mk(1, 10, [[K.IN_PORT, 1]]));
  c.insert(mk(2, 5, [[K.DL_DST_HI, 0x0100, 0x0100]]));
  const wc = newKey();
  c.lookup(key([[K.IN_PORT, 1]]), wc);
  assert.equal(wc[K.IN_PORT], 0xffffffff);
  assert.equal(wc[K.DL_DST_HI], 0, 'a lower subtable that could not win is not consulted');
});

test('loose matching (del-flows/dump-flows without --strict)', () => {
  const rule = mk(1, 1, [[K.IN_PORT, 1], [K.DL_TYPE, 0x0800]]).match;
  assert.ok(looseMatches(rule, emptyMatch()));
  assert.ok(looseMatches(rule, mk(0, 0, [[K.IN_PORT, 1]]).match));
  assert.ok(!looseMatches(rule, mk(0, 0, [[K.IN_PORT, 2]]).match));
  assert.ok(!looseMatches(rule, mk(0, 0, [[K.NW_DST, 1]]).match), 'the rule does not pin nw_dst');
});

// Masks shaped like Neutron's tables: in_port, VLAN, MAC prefixes, tun_id, IP prefixes.
const MASKS: [number, number][][] = [
  [],
  [[K.IN_PORT, 0xffffffff]],
  [[K.IN_PORT, 0xffffffff], [K.DL_SRC_HI, 0xffff], [K.DL_SRC_LO, 0xffffffff]],
  [[K.VLAN_TCI, 0x1fff], [K.DL_DST_HI, 0xffff], [K.DL_DST_LO, 0xffffffff]],
  [[K.VLAN_TCI, 0x0fff], [K.DL_DST_HI, 0xffff], [K.DL_DST_LO, 0xffffffff]],
  [[K.DL_DST_HI, 0x0100]],
  [[K.TUN_ID_HI, 0xffffffff], [K.TUN_ID_LO, 0xffffffff]],
  [[K.DL_TYPE, 0xffff], [K.NW_DST, 0xffffff00]],
  [[K.DL_TYPE, 0xffff], [K.NW_DST, 0xffffffff], [K.NW_PROTO, 0xff]],
  [[K.REG0 + 5, 0x0000ffff]],
];

// Small value alphabets so random keys hit rules often.
const valueArb = fc.constantFrom(0, 1, 2, 3, 0x1000, 0x1001, 0x0100, 0x0800, 0xffffffff);

const ruleArb = fc.record({
  mask: fc.integer({ min: 0, max: MASKS.length - 1 }),
  vals: fc.array(valueArb, { minLength: 3, maxLength: 3 }),
  priority: fc.integer({ min: 0, max: 40 }),
});

const keyArb = fc.array(fc.tuple(fc.integer({ min: 0, max: K.WORDS - 1 }), valueArb), { maxLength: 12 });

function ruleFrom(id: number, r: { mask: number; vals: number[]; priority: number }): R {
  const m: Match = emptyMatch();
  MASKS[r.mask]!.forEach(([w, mk], i) => {
    m.mask[w] = mk >>> 0;
    m.value[w] = (r.vals[i % 3]! & mk) >>> 0;
  });
  return { id, priority: r.priority, match: m };
}

test('10k rules: same answer as a linear scan (property)', () => {
  fc.assert(
    fc.property(fc.array(ruleArb, { minLength: 10_000, maxLength: 10_000 }), fc.array(keyArb, { minLength: 200, maxLength: 200 }), (specs, keys) => {
      const c = new Classifier<R>();
      const live = new Map<string, R>();
      specs.forEach((s, i) => {
        const r = ruleFrom(i, s);
        c.insert(r);
        live.set(`${r.priority}|${r.match.mask.join()}|${r.match.value.join()}`, r); // replacement semantics
      });
      const all = [...live.values()];
      assert.equal(c.size, all.length);
      for (const kf of keys) {
        const k = key(kf);
        const got = c.lookup(k);
        let best = -1;
        for (const r of all) if (r.priority > best && matches(r.match, k)) best = r.priority;
        if (best < 0) assert.equal(got, null);
        else {
          assert.ok(got !== null && matches(got.match, k), 'the rule found matches');
          assert.equal(got.priority, best, 'and has the highest priority of all matching rules');
        }
      }
    }),
    { numRuns: 3 },
  );
});

test('removal keeps the classifier equal to a linear scan (property)', () => {
  fc.assert(
    fc.property(fc.array(ruleArb, { minLength: 50, maxLength: 400 }), fc.array(fc.boolean(), { minLength: 400, maxLength: 400 }), fc.array(keyArb, { minLength: 50, maxLength: 50 }), (specs, drop, keys) => {
      const c = new Classifier<R>();
      const rules = specs.map((s, i) => ruleFrom(i, s));
      const live = new Set<R>();
      for (const r of rules) {
        const old = c.insert(r);
        if (old) live.delete(old);
        live.add(r);
      }
      rules.forEach((r, i) => {
        if (drop[i] && live.has(r)) {
          assert.ok(c.remove(r));
          live.delete(r);
        }
      });
      for (const kf of keys) {
        const k = key(kf);
        const got = c.lookup(k);
        let best = -1;
        for (const r of live) if (r.priority > best && matches(r.match, k)) best = r.priority;
        assert.equal(got === null ? -1 : got.priority, best);
      }
    }),
    { numRuns: 50 },
  );
});
