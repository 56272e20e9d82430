import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MacTable, macKeyHash } from '../../src/l2/mac-table.js';

/** Entries in iteration order as "hi:lo:tag=value". */
function dump<V>(t: MacTable<V>): string[] {
  const out: string[] = [];
  for (let i = t.next(0); i >= 0; i = t.next(i + 1)) out.push(`${t.hiAt(i)}:${t.loAt(i)}:${t.tagAt(i)}=${String(t.valueAt(i))}`);
  return out;
}

test('get, has, set, delete; the low word signed or unsigned is the same key', () => {
  const t = new MacTable<string>();
  t.set(0x5cc9, 0x9960d271, 103, 'gw');
  assert.equal(t.get(0x5cc9, 0x9960d271, 103), 'gw');
  assert.equal(t.get(0x5cc9, 0x9960d271 | 0, 103), 'gw', 'int32 low word');
  assert.equal(t.get(0x5cc9, 0x9960d271, 0), undefined, 'another tag is another key');
  assert.equal(t.get(0x5cc8, 0x9960d271, 103), undefined);
  assert.equal(t.has(0x5cc9, 0x9960d271, 103), true);
  t.set(0x5cc9, 0x9960d271 | 0, 103, 'gw2');
  assert.equal(t.size, 1, 'replaced, not added');
  assert.deepEqual(dump(t), [`${0x5cc9}:${0x9960d271}:103=gw2`], 'loAt gives the unsigned word back');
  assert.equal(t.delete(0x5cc9, 0x9960d271, 103), true);
  assert.equal(t.delete(0x5cc9, 0x9960d271, 103), false);
  assert.equal(t.get(0x5cc9, 0x9960d271, 103), undefined);
  assert.equal(t.size, 0);
  t.set(0, 0, 0, 'zero');
  t.set(0xffff, 0xffffffff, 0x7fff, 'max');
  assert.equal(t.get(0, 0, 0), 'zero');
  assert.equal(t.get(0xffff, 0xffffffff, 0x7fff), 'max');
  t.clear();
  assert.equal(t.size, 0);
  assert.equal(t.get(0, 0, 0), undefined);
  assert.equal(t.next(0), -1);
});

test('colliding keys: deleting the head of a probe chain keeps the rest found, and a re-set goes to the end', () => {
  const t = new MacTable<number>(); // 8 index slots until it grows
  // Three keys whose probes start at the same slot of the 8.
  const keys: number[] = [];
  for (let lo = 0; keys.length < 3; lo++) if ((macKeyHash(lo, 0xfa16) & 7) === 5) keys.push(lo);
  keys.forEach((lo, i) => t.set(0xfa16, lo, 0, i));
  assert.deepEqual(keys.map((lo) => t.get(0xfa16, lo, 0)), [0, 1, 2]);
  t.delete(0xfa16, keys[0]!, 0);
  assert.deepEqual(keys.map((lo) => t.get(0xfa16, lo, 0)), [undefined, 1, 2], 'found past the tombstone');
  t.delete(0xfa16, keys[1]!, 0);
  assert.equal(t.get(0xfa16, keys[2]!, 0), 2);
  t.set(0xfa16, keys[0]!, 0, 9);
  assert.deepEqual(dump(t), [`${0xfa16}:${keys[2]}:0=2`, `${0xfa16}:${keys[0]}:0=9`]);
});

test('growth keeps every entry and the insertion order; deletes during iteration are safe', () => {
  const t = new MacTable<number>();
  const N = 20_000;
  for (let i = 0; i < N; i++) t.set(0xfa16, (0x3e000000 + i * 0x10001) >>> 0, i & 0xfff, i);
  assert.equal(t.size, N);
  for (let i = 0; i < N; i++) assert.equal(t.get(0xfa16, (0x3e000000 + i * 0x10001) >>> 0, i & 0xfff), i);
  let k = 0;
  for (let i = t.next(0); i >= 0; i = t.next(i + 1), k++) {
    assert.equal(t.valueAt(i), k, 'insertion order');
    if (k % 2) t.delete(t.hiAt(i), t.loAt(i), t.tagAt(i));
  }
  assert.equal(k, N);
  assert.equal(t.size, N / 2);
  // Churn: many more sets and deletes than the table holds, so it compacts instead of growing forever.
  for (let r = 0; r < 5; r++) {
    for (let i = 0; i < N; i += 2) t.delete(0xfa16, (0x3e000000 + i * 0x10001) >>> 0, i & 0xfff);
    for (let i = 0; i < N; i += 2) t.set(0xfa16, (0x3e000000 + i * 0x10001) >>> 0, i & 0xfff, i);
  }
  assert.equal(t.size, N / 2);
  assert.deepEqual(dump(t).slice(0, 2), [`${0xfa16}:${0x3e000000}:0=0`, `${0xfa16}:${(0x3e000000 + 2 * 0x10001) >>> 0}:2=2`]);
});

test('property: any sequence of set, delete, get and clear behaves as a Map, iteration order included', () => {
  // A small key space, so keys repeat, chains collide and deletes hit live keys.
  const key = fc.record({ hi: fc.integer({ min: 0, max: 3 }), lo: fc.constantFrom(0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff), tag: fc.integer({ min: 0, max: 2 }) });
  const op = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), k: key, v: fc.integer() }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), k: key }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), k: key }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200, size: 'max' }), (ops) => {
      const t = new MacTable<number>();
      const m = new Map<string, number>();
      const name = (k: { hi: number; lo: number; tag: number }) => `${k.hi}:${k.lo}:${k.tag}`;
      for (const o of ops) {
        if (o.op === 'clear') {
          t.clear();
          m.clear();
        } else if (o.op === 'set') {
          t.set(o.k.hi, o.k.lo, o.k.tag, o.v);
          m.set(name(o.k), o.v);
        } else if (o.op === 'delete') {
          assert.equal(t.delete(o.k.hi, o.k.lo, o.k.tag), m.delete(name(o.k)));
        } else {
          assert.equal(t.get(o.k.hi, o.k.lo, o.k.tag), m.get(name(o.k)));
          assert.equal(t.has(o.k.hi, o.k.lo, o.k.tag), m.has(name(o.k)));
        }
        assert.equal(t.size, m.size);
      }
      assert.deepEqual(dump(t), [...m].map(([k, v]) => `${k}=${v}`));
    }),
    { numRuns: 300 },
  );
});
