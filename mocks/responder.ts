/**
 * Picks and builds a mock answer for one operation: the part shared by the HTTP mock server and
 * the MSW handlers. Pure (no Node built-ins); the dynamic body generator is loaded on first use.
 *
 * Preferences follow Stoplight Prism, so a frontend can switch between the two:
 *
 *   Prefer: code=401                      the response documented for that status
 *   Prefer: example=mfa                   a named example (searched in every response when no code is given)
 *   Prefer: code=200, example=mfa         a named example of that status
 *   Prefer: dynamic=true[, seed=42]       a body generated from the schema (an example, when named, wins)
 *
 * Without a `Prefer` header the query parameters `__code`, `__example`, `__dynamic` and `__seed`
 * are read instead (Prism does the same), which makes plain links and `<img>`-less browsers work.
 */
import type { MockCatalogue, MockExample, MockOperation, MockResponse } from './catalogue.ts';

export interface MockPreferences {
  code?: number;
  example?: string;
  dynamic?: boolean;
  /** Seed for dynamic bodies; the same seed gives the same body. */
  seed?: string;
}

export interface MockReply {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** A `Prefer` value that names nothing documented. Answered as 400 `{detail}`. */
export class MockPreferenceError extends Error {
  override name = 'MockPreferenceError';
  readonly status = 400;
  constructor(readonly detail: string) {
    super(detail);
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing (RFC 7240 syntax, the subset Prism reads: comma-separated preferences, `;` parameters,
// optional quotes; the first occurrence of a preference wins).

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') quoted = !quoted;
    else if (char === separator && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unquote(value: string): string {
  const trimmed = value.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
}

function readPreferHeader(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const preference of splitOutsideQuotes(header, ',')) {
    // Only the preference itself matters here; its `;` parameters are ignored.
    const [head] = splitOutsideQuotes(preference, ';');
    if (!head?.trim()) continue;
    const eq = head.indexOf('=');
    const token = (eq < 0 ? head : head.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? 'true' : unquote(head.slice(eq + 1));
    if (token && !(token in out)) out[token] = value;
  }
  return out;
}

function first(value: unknown): string | undefined {
  if (Array.isArray(value)) return first(value[0]);
  return typeof value === 'string' ? value : undefined;
}

/**
 * Reads the mock preferences from a `Prefer` header, or from `__code`/`__example`/`__dynamic`/
 * `__seed` query parameters when there is no such header. Throws MockPreferenceError on values
 * that cannot mean anything (a code that is not three digits, dynamic other than true/false).
 */
export function parsePreferences(prefer: string | string[] | null | undefined, query?: Record<string, unknown>): MockPreferences {
  const header = Array.isArray(prefer) ? prefer.join(',') : prefer;
  let raw: Record<string, string | undefined>;
  if (header && header.trim()) {
    raw = readPreferHeader(header);
  } else if (query) {
    raw = { code: first(query.__code), example: first(query.__example), dynamic: first(query.__dynamic), seed: first(query.__seed) };
  } else {
    return {};
  }
  const prefs: MockPreferences = {};
  if (raw.code !== undefined) {
    if (!/^\d{3}$/.test(raw.code)) throw new MockPreferenceError(`Prefer: code=${raw.code} is not a status code (expected three digits, e.g. code=401)`);
    prefs.code = Number(raw.code);
  }
  if (raw.example !== undefined && raw.example !== '') prefs.example = raw.example;
  if (raw.dynamic !== undefined) {
    if (raw.dynamic !== 'true' && raw.dynamic !== 'false') throw new MockPreferenceError(`Prefer: dynamic=${raw.dynamic} must be true or false`);
    prefs.dynamic = raw.dynamic === 'true';
  }
  if (raw.seed !== undefined && raw.seed !== '') prefs.seed = raw.seed;
  return prefs;
}

// ---------------------------------------------------------------------------------------------
// Choosing.

export interface MockChoice {
  response: MockResponse;
  example?: MockExample;
  dynamic: boolean;
}

function listStatuses(operation: MockOperation): string {
  return operation.responses.map((r) => r.status).join(', ');
}

function listExamples(operation: MockOperation, only?: MockResponse): string {
  const parts = (only ? [only] : operation.responses)
    .filter((r) => r.examples.length > 0)
    .map((r) => `${r.status}: ${r.examples.map((e) => e.name).join(', ')}`);
  return parts.length > 0 ? parts.join('; ') : 'none';
}

/** Which response and example answer a request with these preferences. */
export function chooseResponse(operation: MockOperation, prefs: MockPreferences): MockChoice {
  const id = operation.operationId;
  let response: MockResponse | undefined;
  if (prefs.code !== undefined) {
    response = operation.responses.find((r) => r.status === prefs.code);
    if (!response) {
      throw new MockPreferenceError(`Prefer: code=${prefs.code} is not documented for ${id}; documented statuses: ${listStatuses(operation)}`);
    }
  }
  let example: MockExample | undefined;
  if (prefs.example !== undefined) {
    const name = prefs.example;
    if (response) {
      example = response.examples.find((e) => e.name === name);
      if (!example) {
        throw new MockPreferenceError(`Prefer: example=${name} does not exist for ${id} ${response.status}; examples: ${listExamples(operation, response)}`);
      }
    } else {
      // No code given: the default response first, then every response, lowest status first.
      const ordered = [...operation.responses].sort((a, b) => Number(b.status === operation.defaultStatus) - Number(a.status === operation.defaultStatus));
      for (const candidate of ordered) {
        example = candidate.examples.find((e) => e.name === name);
        if (example) {
          response = candidate;
          break;
        }
      }
      if (!example) throw new MockPreferenceError(`Prefer: example=${name} does not exist for ${id}; examples: ${listExamples(operation)}`);
    }
  }
  response ??= operation.responses.find((r) => r.status === operation.defaultStatus) ?? operation.responses[0];
  if (!response) throw new MockPreferenceError(`${id} documents no response`);
  // As in Prism, a named example wins over dynamic; a response without examples is generated.
  const dynamic = example === undefined && response.schema !== undefined && (prefs.dynamic === true || response.examples.length === 0);
  example ??= dynamic ? undefined : response.examples[0];
  return { response, ...(example ? { example } : {}), dynamic };
}

// ---------------------------------------------------------------------------------------------
// Building.

export interface ReplyContext {
  requestId: string;
  now?: Date;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `ApiResponse_*` envelopes carry the real request id and time, as the real server's do. */
export function fillEnvelope(body: unknown, ctx: ReplyContext): unknown {
  if (!isObject(body)) return body;
  const meta = isObject(body.meta) ? body.meta : {};
  return { ...body, meta: { ...meta, request_id: ctx.requestId, timestamp: (ctx.now ?? new Date()).toISOString() } };
}

function seedNumber(seed: string | undefined): number {
  if (seed === undefined) return Math.floor(Math.random() * 0x7fffffff) + 1;
  if (/^\d{1,9}$/.test(seed)) return Number(seed);
  let hash = 2166136261; // FNV-1a, for non-numeric seeds
  for (let i = 0; i < seed.length; i++) hash = Math.imul(hash ^ seed.charCodeAt(i), 16777619) >>> 0;
  return hash & 0x7fffffff;
}

function preferenceApplied(prefs: MockPreferences, choice: MockChoice, seed: number | undefined): string | undefined {
  const applied: string[] = [];
  if (prefs.code !== undefined) applied.push(`code=${prefs.code}`);
  if (prefs.example !== undefined && choice.example) applied.push(`example=${choice.example.name}`);
  if (prefs.dynamic === true && choice.dynamic) applied.push('dynamic=true', `seed=${String(seed)}`);
  return applied.length > 0 ? applied.join(', ') : undefined;
}

type Generator = typeof import('./dynamic.ts');
let generator: Promise<Generator> | undefined;

/**
 * Builds the answer for a choice. Example bodies are shared, not copied (the HTTP mock only
 * serialises them): callers that hand them on must copy them first (the MSW handlers serialise
 * too; `getExample` copies).
 */
export async function buildReply(catalogue: Pick<MockCatalogue, 'schemas'>, operation: MockOperation, prefs: MockPreferences, ctx: ReplyContext): Promise<MockReply> {
  const choice = chooseResponse(operation, prefs);
  const { response } = choice;
  let body: unknown;
  let seed: number | undefined;
  if (choice.dynamic) {
    seed = seedNumber(prefs.seed);
    generator ??= import('./dynamic.ts');
    body = (await generator).generateValue(response.schema!, catalogue.schemas, seed);
  } else if (choice.example) {
    body = choice.example.value;
  }
  if (response.envelope) body = fillEnvelope(body, ctx);
  const headers: Record<string, string> = { ...response.headers };
  const applied = preferenceApplied(prefs, choice, seed);
  if (applied) headers['Preference-Applied'] = applied;
  return { status: response.status, body, headers };
}
