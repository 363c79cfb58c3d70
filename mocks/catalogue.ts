/**
 * The mock catalogue: everything mock mode needs from `spec/openapi.yaml`, in one plain-data
 * shape. Both mock forms are built from it:
 *
 * - the HTTP mock server (`mocks/server.ts`) builds it from the spec at start-up, so it always
 *   serves what the spec says;
 * - the MSW handlers (`mocks/msw.ts`) read the copy that `npm run generate` writes to
 *   `mocks/generated/examples.ts` (see `scripts/generate-mocks.ts`), so they need neither the
 *   YAML parser nor the file system and run in the browser too.
 *
 * This module is pure (no Node built-ins) so the browser can import it.
 */
import { resolveLocalRef } from '../handlers/core/spec-refs.ts';

/** A loose JSON Schema (OpenAPI 3.1 is JSON Schema 2020-12). */
export type JsonSchema = { [key: string]: unknown };

export interface MockExample {
  /** The key under `examples` (`default` for a lone `example`). */
  name: string;
  summary?: string;
  value: unknown;
}

export interface MockResponse {
  status: number;
  description: string;
  /** The media type answered (application/json in this spec); absent for a response without a body. */
  contentType?: string;
  /** The body schema, with `$ref`s rewritten to `#/$defs/<name>` (see `MockCatalogue.schemas`). */
  schema?: JsonSchema;
  /** The component name when the schema is a plain `$ref` (e.g. `UserProfile`). */
  schemaName?: string;
  /** True for the `ApiResponse_*` envelopes, whose `meta` is filled in per request. */
  envelope: boolean;
  /** Documented response headers with a sample value (from the spec's `example`, or a known default). */
  headers: Record<string, string>;
  /** Named examples, in document order; the first is the default answer. */
  examples: MockExample[];
}

export interface MockParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  description?: string;
  schema?: JsonSchema;
}

export interface MockOperation {
  operationId: string;
  method: string;
  /** OpenAPI path template, e.g. `/api/v1/auth/tenants/{tenant_slug}/login`. */
  path: string;
  /** The same path in MSW / path-to-regexp syntax (`:tenant_slug`). */
  mswPath: string;
  tag: string;
  summary?: string;
  description?: string;
  /** True when the operation needs a bearer token (401 without one). */
  secured: boolean;
  parameters: MockParameter[];
  requestBody?: { required: boolean; contentType: string; schema?: JsonSchema; schemaName?: string };
  /** The status answered by default: the lowest 2xx (else `default`, else the first documented). */
  defaultStatus: number;
  /** Every documented response with a numeric status, lowest status first. */
  responses: MockResponse[];
}

export interface MockCatalogue<Id extends string = string> {
  title: string;
  version: string;
  operations: Record<Id, MockOperation>;
  /** `components.schemas`, with `$ref`s rewritten to `#/$defs/<name>`: the `$defs` for dynamic bodies. */
  schemas: Record<string, JsonSchema>;
}

// ---------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const SCHEMA_PREFIX = '#/components/schemas/';

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object a value or its local `$ref` names. */
function resolveRef(spec: Obj, value: unknown): Obj {
  const current = resolveLocalRef(spec, value);
  if (!isObject(current)) throw new Error('Expected an object in the OpenAPI document');
  return current;
}

/** Deep copy with every `#/components/schemas/X` reference rewritten to `#/$defs/X`. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (!isObject(value)) return value;
  const out: Obj = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key === '$ref' && typeof inner === 'string' && inner.startsWith(SCHEMA_PREFIX)) {
      out[key] = `#/$defs/${inner.slice(SCHEMA_PREFIX.length)}`;
    } else {
      out[key] = rewriteRefs(inner);
    }
  }
  return out;
}

function schemaName(schema: unknown): string | undefined {
  if (isObject(schema) && typeof schema.$ref === 'string' && schema.$ref.startsWith(SCHEMA_PREFIX)) {
    return schema.$ref.slice(SCHEMA_PREFIX.length);
  }
  return undefined;
}

function pickJsonMedia(content: unknown): [string, Obj] | undefined {
  if (!isObject(content)) return undefined;
  const entries = Object.entries(content).filter((e): e is [string, Obj] => isObject(e[1]));
  return (
    entries.find(([type]) => type === 'application/json') ??
    entries.find(([type]) => /^application\/(?:[\w.+-]+\+)?json$/i.test(type)) ??
    entries[0]
  );
}

/** Sample values for documented response headers that carry no example in the spec. */
const HEADER_DEFAULTS: Record<string, string> = {
  'retry-after': '60',
  'www-authenticate': 'Bearer',
};

function headerSamples(spec: Obj, headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(headers)) return out;
  for (const [name, raw] of Object.entries(headers)) {
    const header = resolveRef(spec, raw);
    const schema = isObject(header.schema) ? header.schema : {};
    const examples = isObject(header.examples) ? Object.values(header.examples).map((e) => (isObject(e) ? e.value : undefined)) : [];
    const candidates = [header.example, examples[0], schema.example, Array.isArray(schema.examples) ? schema.examples[0] : undefined, schema.default];
    const sample = candidates.find((c) => c !== undefined && c !== null);
    const value = sample !== undefined ? String(sample) : HEADER_DEFAULTS[name.toLowerCase()];
    // Set-Cookie and the like have no meaningful sample: the mock does not invent them.
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function examplesOf(spec: Obj, media: Obj): MockExample[] {
  const out: MockExample[] = [];
  if (isObject(media.examples)) {
    for (const [name, raw] of Object.entries(media.examples)) {
      const example = resolveRef(spec, raw);
      if (!('value' in example)) continue; // externalValue is not supported
      out.push({ name, ...(typeof example.summary === 'string' ? { summary: example.summary } : {}), value: example.value });
    }
  } else if (media.example !== undefined) {
    out.push({ name: 'default', value: media.example });
  }
  return out;
}

export function toMswPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}

/** Builds the catalogue from a parsed OpenAPI 3.x document. Deterministic: document order throughout. */
export function buildCatalogue(document: unknown): MockCatalogue {
  if (!isObject(document)) throw new Error('The OpenAPI document must be an object');
  const spec = document;
  const info = isObject(spec.info) ? spec.info : {};
  const components = isObject(spec.components) ? spec.components : {};
  const globalSecurity = Array.isArray(spec.security) ? spec.security : [];
  const operations: Record<string, MockOperation> = {};

  for (const [path, rawPathItem] of Object.entries(isObject(spec.paths) ? spec.paths : {})) {
    const pathItem = resolveRef(spec, rawPathItem);
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method];
      if (!isObject(operation)) continue;
      const operationId = operation.operationId;
      if (typeof operationId !== 'string') throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      if (operations[operationId]) throw new Error(`operationId ${operationId} is used twice`);

      const params = new Map<string, MockParameter>();
      for (const raw of [...(Array.isArray(pathItem.parameters) ? pathItem.parameters : []), ...(Array.isArray(operation.parameters) ? operation.parameters : [])]) {
        const p = resolveRef(spec, raw);
        const location = p.in as MockParameter['in'];
        params.set(`${location}:${String(p.name)}`, {
          name: String(p.name),
          in: location,
          required: p.required === true || location === 'path',
          ...(typeof p.description === 'string' ? { description: p.description } : {}),
          ...(isObject(p.schema) ? { schema: rewriteRefs(p.schema) as JsonSchema } : {}),
        });
      }

      let requestBody: MockOperation['requestBody'];
      if (operation.requestBody !== undefined) {
        const body = resolveRef(spec, operation.requestBody);
        const media = pickJsonMedia(body.content);
        if (media) {
          const name = schemaName(media[1].schema);
          requestBody = {
            required: body.required === true,
            contentType: media[0],
            ...(isObject(media[1].schema) ? { schema: rewriteRefs(media[1].schema) as JsonSchema } : {}),
            ...(name ? { schemaName: name } : {}),
          };
        }
      }

      const responses: MockResponse[] = [];
      let defaultResponse: MockResponse | undefined;
      for (const [code, raw] of Object.entries(isObject(operation.responses) ? operation.responses : {})) {
        const response = resolveRef(spec, raw);
        const media = pickJsonMedia(response.content);
        const name = media ? schemaName(media[1].schema) : undefined;
        const entry: MockResponse = {
          status: /^\d{3}$/.test(code) ? Number(code) : 0,
          description: typeof response.description === 'string' ? response.description : '',
          ...(media ? { contentType: media[0] } : {}),
          ...(media && isObject(media[1].schema) ? { schema: rewriteRefs(media[1].schema) as JsonSchema } : {}),
          ...(name ? { schemaName: name } : {}),
          envelope: name !== undefined && name.startsWith('ApiResponse_'),
          headers: headerSamples(spec, response.headers),
          examples: media ? examplesOf(spec, media[1]) : [],
        };
        if (code === 'default') defaultResponse = entry;
        else if (entry.status > 0) responses.push(entry);
        // Ranges such as 4XX cannot be answered with a concrete status and are left out.
      }
      responses.sort((a, b) => a.status - b.status);
      const lowest2xx = responses.find((r) => r.status >= 200 && r.status < 300);
      let defaultStatus = lowest2xx?.status ?? responses[0]?.status ?? 200;
      if (!lowest2xx && defaultResponse) {
        // `default` with no 2xx: answer it as 200, as Prism does.
        responses.unshift({ ...defaultResponse, status: 200 });
        defaultStatus = 200;
      }

      const security = Array.isArray(operation.security) ? operation.security : globalSecurity;
      // Secured unless one alternative is the empty requirement `{}` (anonymous allowed).
      const secured = security.length > 0 && !security.some((req) => isObject(req) && Object.keys(req).length === 0);

      operations[operationId] = {
        operationId,
        method,
        path,
        mswPath: toMswPath(path),
        tag: Array.isArray(operation.tags) && typeof operation.tags[0] === 'string' ? operation.tags[0] : 'default',
        ...(typeof operation.summary === 'string' ? { summary: operation.summary } : {}),
        ...(typeof operation.description === 'string' ? { description: operation.description } : {}),
        secured,
        parameters: [...params.values()],
        ...(requestBody ? { requestBody } : {}),
        defaultStatus,
        responses,
      };
    }
  }

  const schemas: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(isObject(components.schemas) ? components.schemas : {})) {
    schemas[name] = rewriteRefs(schema) as JsonSchema;
  }
  return {
    title: typeof info.title === 'string' ? info.title : 'API',
    version: typeof info.version === 'string' ? info.version : '',
    operations,
    schemas,
  };
}
