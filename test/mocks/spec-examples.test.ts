/**
 * Mock mode serves the spec's examples, so every example must be valid against its schema.
 * Each check fails on the first example that is not, naming where it is.
 */
import { describe, expect, it } from 'vitest';
import { dereference, examplesOf, jsonMedia, operations, resolve, schemaErrors, spec } from './support.ts';

type Obj = Record<string, any>;

interface Sample {
  where: string;
  schema: object;
  value: unknown;
}

/** Examples of a media type or parameter: `examples` map and lone `example`. */
function samplesOf(where: string, holder: Obj, schema: object | undefined): Sample[] {
  if (!schema) return [];
  const out: Sample[] = [];
  if (holder.examples && typeof holder.examples === 'object' && !Array.isArray(holder.examples)) {
    for (const [name, raw] of Object.entries<Obj>(holder.examples)) {
      const ex = resolve(raw);
      if ('value' in ex) out.push({ where: `${where} example "${name}"`, schema, value: ex.value });
    }
  }
  if (holder.example !== undefined) out.push({ where: `${where} example`, schema, value: holder.example });
  return out;
}

/** `example`/`examples` keywords inside schemas (annotations that documentation tools show). */
function schemaKeywordSamples(where: string, schema: unknown, out: Sample[] = []): Sample[] {
  if (!schema || typeof schema !== 'object') return out;
  if (Array.isArray(schema)) {
    schema.forEach((s, i) => schemaKeywordSamples(`${where}/${i}`, s, out));
    return out;
  }
  const s = schema as Obj;
  const bare = { ...s };
  delete bare.example;
  delete bare.examples;
  if (Array.isArray(s.examples)) s.examples.forEach((value: unknown, i: number) => out.push({ where: `${where} examples[${i}]`, schema: bare, value }));
  if (s.example !== undefined) out.push({ where: `${where} example`, schema: bare, value: s.example });
  for (const key of ['properties', 'items', 'anyOf', 'oneOf', 'allOf', 'additionalProperties', 'prefixItems', 'not']) {
    if (key === 'properties' && s.properties) {
      for (const [name, sub] of Object.entries(s.properties)) schemaKeywordSamples(`${where}/properties/${name}`, sub, out);
    } else if (s[key] && typeof s[key] === 'object') {
      schemaKeywordSamples(`${where}/${key}`, s[key], out);
    }
  }
  return out;
}

function operationSamples(op: (typeof operations)[number]): Sample[] {
  const out: Sample[] = [];
  const id = op.operationId;
  for (const p of op.parameters) out.push(...samplesOf(`${id} ${p.in} parameter ${p.name}`, p, p.schema));
  if (op.operation.requestBody) {
    const body = resolve(op.operation.requestBody);
    for (const [type, media] of Object.entries<Obj>(body.content ?? {})) out.push(...samplesOf(`${id} request body (${type})`, media, media.schema));
  }
  for (const [status, response] of op.responses) {
    for (const [type, media] of Object.entries<Obj>(response.content ?? {})) out.push(...samplesOf(`${id} ${status} (${type})`, media, media.schema));
  }
  return out;
}

function assertAllValid(samples: Sample[]): void {
  for (const sample of samples) {
    const errors = schemaErrors(sample.schema, sample.value);
    if (errors) expect.fail(`${sample.where} does not match its schema: ${errors}`);
  }
}

describe('spec examples', () => {
  it('the spec has operations and examples to check', () => {
    expect(operations.length).toBeGreaterThan(0);
    expect(operations.flatMap(operationSamples).length).toBeGreaterThan(operations.length);
  });

  it.each(operations.map((op) => [op.operationId, op] as const))('%s: every example validates against its schema', (_id, op) => {
    assertAllValid(operationSamples(op));
  });

  it.each(operations.map((op) => [op.operationId, op] as const))('%s: every JSON response has at least one example for mock mode', (_id, op) => {
    for (const [status, response] of op.responses) {
      if (jsonMedia(response) && examplesOf(response).length === 0) expect.fail(`${op.operationId} ${status} has no example: mock mode would have to invent its body`);
    }
  });

  it('the check is not vacuous: a broken example is refused, naming the field', () => {
    const op = operations.find((o) => o.responses.some(([, r]) => jsonMedia(r)?.schema && examplesOf(r).length > 0))!;
    const [, response] = op.responses.find(([, r]) => jsonMedia(r)?.schema && examplesOf(r).length > 0)!;
    const schema = jsonMedia(response)!.schema as object;
    const value = examplesOf(response)[0]!.value as Obj;
    const required: string[] = dereference(schema).required ?? [];
    expect(required.length).toBeGreaterThan(0);
    const broken = { ...value, [required[0]!]: { unexpected: ['object'] } };
    expect(schemaErrors(schema, broken)).toContain(required[0]);
  });

  it('component examples and schema-level example keywords validate', () => {
    const samples: Sample[] = [];
    for (const [name, schema] of Object.entries<Obj>(spec.components?.schemas ?? {})) samples.push(...schemaKeywordSamples(`components.schemas.${name}`, schema));
    for (const [name, raw] of Object.entries<Obj>(spec.components?.parameters ?? {})) {
      const p = resolve(raw);
      samples.push(...samplesOf(`components.parameters.${name}`, p, p.schema));
    }
    assertAllValid(samples);
    // Component-level `examples` are only checked where an operation uses them (above); make sure
    // none is orphaned with a value no schema would ever see.
    const used = JSON.stringify(spec.paths);
    for (const name of Object.keys(spec.components?.examples ?? {})) {
      expect(used.includes(`#/components/examples/${name}`), `components.examples.${name} is never referenced`).toBe(true);
    }
  });

  it('the schemas dereference without cycles (mock mode and these tests inline them)', () => {
    for (const name of Object.keys(spec.components?.schemas ?? {})) expect(() => dereference({ $ref: `#/components/schemas/${name}` })).not.toThrow();
  });
});
