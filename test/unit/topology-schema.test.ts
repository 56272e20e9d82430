// configs/topology.schema.json: ajv compiles it, both bundled files validate
// against it, and every key has a description for editors to show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';
import { parse } from 'yaml';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const cfg = (f: string): string => fileURLToPath(new URL(`../../configs/${f}`, import.meta.url));
const schema = JSON.parse(readFileSync(cfg('topology.schema.json'), 'utf8')) as Record<string, unknown>;

test('the schema compiles with a plain strict ajv (as editors and other tools would load it)', () => {
  const ajv = new Ajv({ strict: true, strictRequired: false, allowUnionTypes: true, discriminator: true });
  assert.equal(typeof ajv.compile(schema), 'function');
  // ...and without the discriminator option too (editors ignore it).
  const plain = new Ajv({ strict: false });
  assert.equal(typeof plain.compile(schema), 'function');
});

for (const f of ['seed-dvr-snat.yaml', 'lab-dvr-snat.yaml']) {
  test(`${f} validates against the schema`, () => {
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    const ok = validate(parse(readFileSync(cfg(f), 'utf8')));
    assert.deepEqual(validate.errors ?? [], []);
    assert.ok(ok);
  });
}

test('the schema rejects what the loader rejects structurally', () => {
  const validate = new Ajv({ strict: false }).compile(schema);
  const data = parse(readFileSync(cfg('seed-dvr-snat.yaml'), 'utf8')) as { nodes: Record<string, { ovs: Record<string, { ports: Record<string, { tag?: number }> }> }> };
  data.nodes.w07!.ovs['br-int']!.ports['qvo2ab77d0f-99']!.tag = 5000;
  assert.equal(validate(data), false);
  assert.equal(validate.errors![0]!.instancePath, '/nodes/w07/ovs/br-int/ports/qvo2ab77d0f-99/tag');
});

test('every property in the schema has a description', () => {
  const defs = schema.definitions as Record<string, Record<string, unknown>>;
  const described = (s: Record<string, unknown>): boolean => {
    if (typeof s.description === 'string') return true;
    const ref = typeof s.$ref === 'string' ? defs[s.$ref.split('/').pop()!] : undefined;
    return !!ref && described(ref);
  };
  const missing: string[] = [];
  const walk = (s: unknown, where: string): void => {
    if (!s || typeof s !== 'object') return;
    const o = s as Record<string, unknown>;
    for (const [k, v] of Object.entries((o.properties as Record<string, Record<string, unknown>>) ?? {})) {
      // if/then clauses only restate keys described where they are defined.
      if (!described(v) && !/\/(if|then)\b/.test(where)) missing.push(`${where}/${k}`);
    }
    for (const [k, v] of Object.entries(o)) walk(v, `${where}/${k}`);
  };
  walk(schema, '#');
  assert.deepEqual(missing, []);
});
