import type { IncomingMessage } from 'node:http';
import sjson from 'secure-json-parse';
import { ApiError, RequestValidationError, type ValidationIssue } from '../core/errors.ts';
import { laxQueryValue } from './lax-input.ts';
import { pythonJsonError } from './python-json.ts';

const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json$/i;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function countHeader(rawHeaders: string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) count++;
  return count;
}

/**
 * Like FastAPI, unknown query parameters are ignored rather than refused (cache busters); declared
 * ones are read as Starlette and pydantic read them (lax-input.ts: last value of a repeated one,
 * pydantic's integers). On operations marked `x-scaikey-strict-input` a repeated parameter that is
 * not a list stays repeated, so validation refuses it (422) instead of quietly taking the last value.
 */
export function declaredQuery(operation: { parameters?: unknown[]; 'x-scaikey-strict-input'?: boolean }, query: Record<string, string | string[]>): Record<string, string | string[]> {
  const strict = operation['x-scaikey-strict-input'] === true;
  const declared = new Map(
    (operation.parameters ?? [])
      .filter((p): p is { in: string; name: string; schema?: Record<string, unknown> } => typeof p === 'object' && p !== null && (p as { in?: string }).in === 'query')
      .map((p) => [p.name, p.schema]),
  );
  return Object.fromEntries(Object.entries(query).filter(([name]) => declared.has(name)).map(([name, value]) => [name, strict && Array.isArray(value) ? value : laxQueryValue(value, declared.get(name))]));
}

/**
 * On operations marked `x-scaikey-strict-input`: ajv (coerceTypes) reads `?start_time=` as null for
 * a nullable parameter, so an empty value that the parameter's text branch cannot take is refused
 * (422) instead of quietly meaning "no filter".
 */
export function refuseEmptyNullableQuery(operation: { parameters?: unknown[]; 'x-scaikey-strict-input'?: boolean }, query: Record<string, string | string[]>): void {
  if (operation['x-scaikey-strict-input'] !== true) return;
  const empty: ValidationIssue[] = [];
  for (const p of operation.parameters ?? []) {
    const param = p as { in?: string; name?: string; schema?: Record<string, unknown> };
    const branches = (param.schema?.['anyOf'] ?? param.schema?.['oneOf']) as Array<Record<string, unknown>> | undefined;
    if (param.in !== 'query' || !param.name || query[param.name] !== '' || !branches?.some((b) => b['type'] === 'null')) continue;
    const takesEmpty = branches.some((b) => b['type'] === 'string' && b['format'] === undefined && b['pattern'] === undefined && b['enum'] === undefined && !(Number(b['minLength'] ?? 0) > 0));
    if (!takesEmpty) empty.push({ loc: ['query', param.name], msg: 'Value error, an empty value is not allowed here', type: 'value_error' });
  }
  if (empty.length) throw new RequestValidationError(empty);
}

/**
 * The raw body as JSON, refusing what FastAPI refuses: other media types (415), invalid UTF-8 and
 * invalid JSON (422 json_invalid, with the position and message Python's json module gives, as FastAPI
 * reports them), and prototype-polluting keys.
 */
export function parseBody(req: IncomingMessage, raw: unknown, expectsBody: boolean): unknown {
  if (!expectsBody || !Buffer.isBuffer(raw) || raw.length === 0) return undefined;
  const contentType = (headerValue(req.headers['content-type']) ?? '').split(';')[0]!.trim();
  if (!jsonMediaType.test(contentType)) throw new ApiError('unsupportedMediaType');
  let text: string;
  try {
    text = strictUtf8.decode(raw);
  } catch {
    throw new RequestValidationError([{ loc: ['body', 0], msg: 'JSON decode error', type: 'json_invalid', ctx: { error: 'Invalid UTF-8 in request body' } }]);
  }
  try {
    return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const message = error instanceof Error ? error.message : 'Invalid JSON';
    // Only secure-json-parse's own refusal (JSON.parse's messages quote the input, which may say "prototype").
    if (message === 'Object contains forbidden prototype property') {
      throw new RequestValidationError([{ loc: ['body'], msg: 'Value error, object keys __proto__ and constructor.prototype are not allowed', type: 'value_error' }]);
    }
    // FastAPI reports json.JSONDecodeError: loc ["body", e.pos], ctx {error: e.msg}.
    const python = pythonJsonError(text) ?? { msg: 'Expecting value', pos: 0 };
    const issue: ValidationIssue = { loc: ['body', python.pos], msg: 'JSON decode error', type: 'json_invalid', ctx: { error: python.msg } };
    throw new RequestValidationError([issue]);
  }
}

/** Errors of the transport (body reading, path decoding) as catalogue errors. */
export function translateTransportError(error: unknown): unknown {
  // Malformed percent-encoding in a path parameter (the router decodes it): no route can match.
  if (error instanceof URIError) return new ApiError('notFound', { internal: 'malformed path encoding' });
  if (error && typeof error === 'object' && 'type' in error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') return new ApiError('payloadTooLarge');
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new ApiError('unsupportedMediaType');
    if (type === 'request.aborted' || type === 'request.size.invalid' || type === 'stream.encoding.set') {
      return new ApiError('badRequest', { internal: `transport: ${type}` });
    }
  }
  return error;
}
