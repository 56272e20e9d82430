// Structural validation against configs/topology.schema.json (the schema
// editors use), with ajv's errors turned into positioned, readable ones.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { ErrorList, show } from './errors.js';
import { didYouMean } from './suggest.js';
import type { YamlSource } from './yaml-source.js';

const Ajv = AjvModule as unknown as typeof AjvModule.default;

/** Path of the bundled schema (configs/topology.schema.json), found from this file upward. */
export function schemaPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'configs', 'topology.schema.json');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error('configs/topology.schema.json not found');
}

let compiled: ValidateFunction | null = null;
let definitions: Record<string, Record<string, unknown>> = {};

/** The compiled schema validator (compiled once). */
export function schemaValidator(): ValidateFunction {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(schemaPath(), 'utf8')) as { definitions?: typeof definitions };
    definitions = schema.definitions ?? {};
    const ajv = new Ajv({ allErrors: true, verbose: true, discriminator: true, strict: true, strictRequired: false, allowUnionTypes: true });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

/** Validate `data`; report each error at its place in `src`. Returns true when valid. */
export function validateSchema(data: unknown, src: YamlSource, errors: ErrorList): boolean {
  const validate = schemaValidator();
  if (validate(data)) return true;
  for (const e of relevant(validate.errors ?? [])) report(e, src, errors);
  return false;
}

const COMBINATORS = new Set(['oneOf', 'anyOf', 'if', 'allOf']);

/** Drop combinator errors where a more precise error exists at or below the same place. */
function relevant(all: ErrorObject[]): ErrorObject[] {
  const precise = all.filter((e) => !COMBINATORS.has(e.keyword));
  const out = precise.filter((e) => !(e.keyword === 'pattern' && e.propertyName !== undefined));
  for (const e of all) {
    if (!COMBINATORS.has(e.keyword)) continue;
    if (!precise.some((p) => p.instancePath.startsWith(e.instancePath))) out.push(e);
  }
  return out;
}

function segments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function report(e: ErrorObject, src: YamlSource, errors: ErrorList): void {
  // Numeric segments index lists; YamlSource matches them against map keys too.
  const path: (string | number)[] = segments(e.instancePath).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const ps = (e.parentSchema ?? {}) as Record<string, unknown>;
  const title = typeof ps.title === 'string' ? ps.title : undefined;
  const got = `got ${show(e.data)}`;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const known = Object.keys((ps.properties as object | undefined) ?? {});
      const hint = didYouMean(key, known) || (known.length ? ` (expected one of: ${known.join(', ')})` : '');
      errors.add(src.keyLoc([...path, key]), `unknown key ${JSON.stringify(key)}${hint}`);
      return;
    }
    case 'propertyNames': {
      const key = String(e.propertyName ?? (e.params as { propertyName?: string }).propertyName);
      const sub = (ps.propertyNames ?? {}) as Record<string, unknown>;
      const t = titleOf(sub) ?? 'a valid name';
      errors.add(src.keyLoc([...path, key]), `invalid name ${JSON.stringify(key)}: expected ${t}`);
      return;
    }
    case 'required': {
      const key = (e.params as { missingProperty: string }).missingProperty;
      const at = path.length ? src.keyLoc(path) : src.loc(path);
      errors.add(at, `missing required key ${JSON.stringify(key)}`);
      return;
    }
    case 'dependencies': {
      const p = e.params as { property: string; missingProperty: string };
      errors.add(src.keyLoc([...path, p.property]), `${JSON.stringify(p.property)} needs ${JSON.stringify(p.missingProperty)} as well`);
      return;
    }
    case 'type': {
      const t = title ?? typePhrase((e.params as { type: string | string[] }).type);
      errors.add(src.loc(path), `expected ${t}, ${got}`);
      return;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    case 'pattern':
    case 'format':
    case 'const':
      errors.add(src.loc(path), `expected ${title ?? describeLimit(e, ps)}, ${got}`);
      return;
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      errors.add(src.loc(path), `expected one of ${allowed.join(', ')}, ${got}`);
      return;
    }
    case 'discriminator': {
      const p = e.params as { tag: string; tagValue: unknown; error: string };
      const kinds = ((ps.oneOf as { properties?: Record<string, { const?: unknown }> }[] | undefined) ?? [])
        .map((b) => String(b.properties?.[p.tag]?.const));
      if (p.error === 'tag') return; // the `required` error says it
      errors.add(src.loc([...path, p.tag]), `expected ${p.tag} one of ${kinds.join(', ')}, got ${show(p.tagValue)}`);
      return;
    }
    case 'minItems':
    case 'maxItems': {
      const n = Array.isArray(e.data) ? e.data.length : 0;
      const limit = (e.params as { limit: number }).limit;
      errors.add(src.loc(path), `expected ${title ?? `${e.keyword === 'minItems' ? 'at least' : 'at most'} ${limit} items`}, got ${n} item${n === 1 ? '' : 's'}`);
      return;
    }
    case 'minProperties':
      errors.add(src.loc(path), `expected at least ${(e.params as { limit: number }).limit} entry`);
      return;
    case 'uniqueItems': {
      const p = e.params as { i: number; j: number };
      errors.add(src.loc([...path, p.j > p.i ? p.j : p.i]), `duplicate item ${show((e.data as unknown[])[Math.max(p.i, p.j)])}`);
      return;
    }
    default:
      errors.add(src.loc(path), e.message ?? `invalid (${e.keyword})`);
  }
}

function typePhrase(t: string | string[]): string {
  const one = (x: string): string =>
    ({ object: 'a mapping', array: 'a list', string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false', null: 'nothing' })[x] ?? x;
  return Array.isArray(t) ? t.map(one).join(' or ') : one(t);
}

function describeLimit(e: ErrorObject, ps: Record<string, unknown>): string {
  if (e.keyword === 'const') return JSON.stringify(ps.const);
  const lo = ps.minimum, hi = ps.maximum;
  if (lo !== undefined && hi !== undefined) return `${typePhrase(String(ps.type ?? 'number'))} ${lo}..${hi}`;
  return e.message ?? e.keyword;
}

/** A schema's title, following a local $ref. */
function titleOf(sub: Record<string, unknown>): string | undefined {
  if (typeof sub.title === 'string') return sub.title;
  const ref = typeof sub.$ref === 'string' ? definitions[sub.$ref.split('/').pop()!] : undefined;
  return ref ? titleOf(ref) : undefined;
}
