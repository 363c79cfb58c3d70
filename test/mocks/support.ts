/**
 * Helpers for the mock-mode tests: the spec read straight from spec/openapi.yaml (not through the
 * mock catalogue, so the tests check the catalogue too), dereferenced schemas, an ajv (2020-12, as
 * OpenAPI 3.1 uses, with ajv-formats) and valid/invalid requests for every operation.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { generateValue } from '../../mocks/dynamic.ts';
import type { JsonSchema } from '../../mocks/catalogue.ts';

type Obj = Record<string, any>;

export const specPath = fileURLToPath(new URL('../../spec/openapi.yaml', import.meta.url));
export const spec: Obj = parse(readFileSync(specPath, 'utf8')) as Obj;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Follows a `#/...` reference chain. */
export function resolve(value: any): any {
  let current = value;
  const seen = new Set<string>();
  while (current && typeof current === 'object' && typeof current.$ref === 'string') {
    const ref: string = current.$ref;
    if (seen.has(ref)) throw new Error(`circular ${ref}`);
    seen.add(ref);
    current = ref
      .slice(2)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((node: any, key) => node?.[key], spec);
    if (current === undefined) throw new Error(`unresolved ${ref}`);
  }
  return current;
}

/** A schema with every `$ref` inlined (the spec has no recursive schemas; a cycle throws). */
export function dereference(schema: unknown, stack: string[] = []): any {
  if (Array.isArray(schema)) return schema.map((s) => dereference(s, stack));
  if (!schema || typeof schema !== 'object') return schema;
  const obj = schema as Obj;
  if (typeof obj.$ref === 'string') {
    if (stack.includes(obj.$ref)) throw new Error(`recursive schema ${obj.$ref}`);
    const { $ref, ...siblings } = obj;
    const target = dereference(resolve({ $ref }), [...stack, $ref]);
    return Object.keys(siblings).length > 0 ? { ...dereference(siblings, stack), allOf: [target] } : target;
  }
  const out: Obj = {};
  for (const [k, v] of Object.entries(obj)) out[k] = dereference(v, stack);
  return out;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
export const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const compiled = new WeakMap<object, ValidateFunction>();

/** Undefined when `value` is valid against `schema` (a spec schema, `$ref`s allowed); else the errors. */
export function schemaErrors(schema: object, value: unknown): string | undefined {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(dereference(schema));
    compiled.set(schema, validate);
  }
  if (validate(value)) return undefined;
  return ajv.errorsText(validate.errors, { dataVar: 'body' });
}

export interface SpecOperation {
  operationId: string;
  method: string;
  path: string;
  operation: Obj;
  parameters: Obj[];
  secured: boolean;
  /** Numeric statuses, ascending. */
  statuses: number[];
  /** [status, resolved response object]. */
  responses: Array<[number, Obj]>;
}

export const operations: SpecOperation[] = [];
for (const [path, item] of Object.entries<Obj>(spec.paths)) {
  for (const method of METHODS) {
    const operation = item[method] as Obj | undefined;
    // The OpenID provider's endpoints (forms, redirects, pages) are mocked apart: test/mocks/protocol.test.ts.
    if (!operation || operation['x-scaikey-protocol'] === true) continue;
    const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map(resolve);
    const security = operation.security ?? spec.security ?? [];
    const responses = Object.entries<Obj>(operation.responses)
      .filter(([code]) => /^\d{3}$/.test(code))
      .map(([code, r]) => [Number(code), resolve(r)] as [number, Obj])
      .sort((a, b) => a[0] - b[0]);
    operations.push({
      operationId: operation.operationId,
      method,
      path,
      operation,
      parameters,
      secured: security.length > 0 && !security.some((s: Obj) => Object.keys(s).length === 0),
      statuses: responses.map(([s]) => s),
      responses,
    });
  }
}

export function jsonMedia(response: Obj): Obj | undefined {
  return response.content?.['application/json'];
}

/** Named examples of a response, in document order. */
export function examplesOf(response: Obj): Array<{ name: string; value: unknown }> {
  const media = jsonMedia(response);
  if (!media) return [];
  if (media.examples) return Object.entries<Obj>(media.examples).map(([name, ex]) => ({ name, value: resolve(ex).value }));
  if (media.example !== undefined) return [{ name: 'default', value: media.example }];
  return [];
}

export function defaultStatus(op: SpecOperation): number {
  return op.statuses.find((s) => s >= 200 && s < 300) ?? op.statuses[0]!;
}

export function isEnvelope(response: Obj): boolean {
  const ref = jsonMedia(response)?.schema?.$ref as string | undefined;
  return ref !== undefined && ref.startsWith('#/components/schemas/ApiResponse_');
}

/** A body without its per-request `meta`, to compare envelopes with their examples. */
export function withoutMeta(body: any): any {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  const { meta: _meta, ...rest } = body;
  return rest;
}

// ---------------------------------------------------------------------------------------------
// Requests.

export interface TestRequest {
  label: string;
  method: string;
  /** Path with parameters filled in, plus query string. */
  url: string;
  headers: Record<string, string>;
  body?: string;
}

const defs = Object.fromEntries(
  Object.entries<Obj>(spec.components?.schemas ?? {}).map(([name, s]) => [name, JSON.parse(JSON.stringify(s).replaceAll('#/components/schemas/', '#/$defs/'))]),
);
const toDefs = (schema: unknown): JsonSchema => JSON.parse(JSON.stringify(schema).replaceAll('#/components/schemas/', '#/$defs/')) as JsonSchema;

/** A value valid against a spec schema (generated, then checked). */
export function validValue(schema: object, seed: number, what: string): unknown {
  for (let attempt = 0; attempt < 20; attempt++) {
    const value = generateValue(toDefs(schema), defs, seed + attempt * 7919);
    if (!schemaErrors(schema, value)) return value;
  }
  throw new Error(`could not generate a valid ${what}`);
}

function requestBodySchema(op: SpecOperation): { required: boolean; schema: Obj } | undefined {
  if (!op.operation.requestBody) return undefined;
  const body = resolve(op.operation.requestBody);
  const schema = body.content?.['application/json']?.schema;
  return schema ? { required: body.required === true, schema } : undefined;
}

function stringParam(p: Obj, seed: number): string {
  const value = validValue(p.schema ?? { type: 'string' }, seed, `${p.in} parameter ${p.name}`);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function build(op: SpecOperation, opts: { path?: Record<string, string>; query?: Record<string, string>; body?: string | undefined; contentType?: string; auth?: string | null }, label: string): TestRequest {
  let url = op.path;
  const pathValues: Record<string, string> = {};
  for (const p of op.parameters.filter((p) => p.in === 'path')) pathValues[p.name] = p.name === 'tenant_slug' ? 'acme' : stringParam(p, 11);
  for (const [name, value] of Object.entries({ ...pathValues, ...opts.path })) url = url.replace(`{${name}}`, encodeURIComponent(value));
  const query = new URLSearchParams(opts.query ?? {});
  if ([...query.keys()].length > 0) url += `?${query.toString()}`;
  const headers: Record<string, string> = {};
  if (opts.auth !== null && op.secured) headers.authorization = opts.auth ?? 'Bearer mock-test-token';
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  return { label, method: op.method.toUpperCase(), url, headers, ...(opts.body !== undefined ? { body: opts.body } : {}) };
}

function requiredQuery(op: SpecOperation): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of op.parameters.filter((p) => p.in === 'query' && p.required)) out[p.name] = stringParam(p, 5);
  return out;
}

/** A request the spec accepts (authorised when the operation is secured). */
export function validRequest(op: SpecOperation, extraHeaders: Record<string, string> = {}): TestRequest {
  const body = requestBodySchema(op);
  const value = body ? validValue(body.schema, 3, `${op.operationId} request body`) : undefined;
  const req = build(op, { query: requiredQuery(op), ...(body ? { body: JSON.stringify(value) } : {}) }, 'valid');
  req.headers = { ...req.headers, ...extraHeaders };
  return req;
}

/** Requests that request validation (or the transport rules before it) must refuse. */
export function invalidRequests(op: SpecOperation): TestRequest[] {
  const out: TestRequest[] = [];
  const query = requiredQuery(op);
  const body = requestBodySchema(op);
  const valid = body ? (validValue(body.schema, 3, `${op.operationId} request body`) as Obj) : undefined;
  if (body) {
    if (body.required) out.push(build(op, { query }, 'no body'));
    const schema = dereference(body.schema);
    const required: string[] = schema.required ?? [];
    if (required.length > 0) out.push(build(op, { query, body: '{}' }, 'empty object'));
    out.push(build(op, { query, body: '[1, 2]' }, 'array instead of object'));
    out.push(build(op, { query, body: '{"email": ' }, 'malformed JSON'));
    out.push(build(op, { query, body: JSON.stringify(valid), contentType: 'text/plain' }, 'text/plain body'));
    const props = Object.entries<Obj>(schema.properties ?? {});
    const stringProp = props.find(([, s]) => s.type === 'string' && typeof s.maxLength === 'number');
    if (stringProp && valid) {
      const [name, s] = stringProp;
      out.push(build(op, { query, body: JSON.stringify({ ...valid, [name]: 'x'.repeat(s.maxLength + 1) }) }, `${name} too long`));
    }
    const typed = props.find(([, s]) => s.type === 'string' || s.type === 'boolean');
    if (typed && valid) out.push(build(op, { query, body: JSON.stringify({ ...valid, [typed[0]]: typed[1].type === 'string' ? 12345 : 'yes please' }) }, `${typed[0]} of the wrong type`));
  }
  const requiredQueryParams = op.parameters.filter((p) => p.in === 'query' && p.required);
  if (requiredQueryParams.length > 0) {
    out.push(build(op, { ...(valid ? { body: JSON.stringify(valid) } : {}) }, 'required query parameters missing'));
  }
  for (const p of op.parameters.filter((p) => p.in === 'path' && typeof p.schema?.maxLength === 'number')) {
    out.push(build(op, { path: { [p.name]: 'a'.repeat(p.schema.maxLength + 1) }, query, ...(valid ? { body: JSON.stringify(valid) } : {}) }, `path ${p.name} too long`));
  }
  return out;
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export async function send(baseUrl: string, req: TestRequest, extraHeaders: Record<string, string> = {}): Promise<Reply> {
  const response = await fetch(`${baseUrl}${req.url}`, { method: req.method, headers: { ...req.headers, ...extraHeaders }, ...(req.body !== undefined ? { body: req.body } : {}) });
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body, text };
}
