// The fast path (handlers/http/fast-path.ts) replaces three methods of openapi-backend's router
// (getOperations, matchOperation, parseRequest) with cached / lean equivalents. This test builds
// two routers over the same definition, exactly as createRouter does, installs the fast path on
// one of them only, and requires identical answers from both: from the three router methods
// directly, and from handleRequest end to end (parsed request, security input, validation result)
// for a request per operation and a corpus of odd requests. A change of openapi-backend's router
// (a version bump) or of the fast path that makes them disagree fails here.
import { parse as parseQueryString } from 'node:querystring';
import { beforeAll, describe, expect, test } from 'vitest';
import { OpenAPIBackend, type Context, type Request as OasRequest } from 'openapi-backend';
import { routerOptions } from '../../handlers/http/router.ts';
import { installFastPath, leanParseRequest } from '../../handlers/http/fast-path.ts';
import { declaredQuery } from '../../handlers/http/body.ts';

type Operation = NonNullable<ReturnType<OpenAPIBackend['router']['matchOperation']>>;
type Headers = Record<string, string | string[]>;

/** A router as createRouter builds it (same options), without its handlers. */
async function buildApi(fast: boolean): Promise<OpenAPIBackend> {
  const api = new OpenAPIBackend(routerOptions());
  await api.init();
  api.validator.preCompileRequestValidators();
  if (fast) installFastPath(api);
  return api;
}

/** Node's IncomingMessage headers: lower-case names on a null-prototype object. */
function nodeHeaders(headers: Record<string, string | string[]> = {}): Headers {
  const out = Object.create(null) as Headers;
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

/** What the front hands to matchOperation: path without query, query parsed by node:querystring. */
function frontRequest(method: string, url: string, headers: Record<string, string | string[]> = {}): OasRequest {
  const q = url.indexOf('?');
  const query = q >= 0 ? url.slice(q + 1) : '';
  return {
    method,
    path: q >= 0 ? url.slice(0, q) : url,
    query: query ? (parseQueryString(query) as Record<string, string | string[]>) : {},
    headers: nodeHeaders(headers),
    body: undefined,
  };
}

/** An independent copy of a request, keeping the null prototypes Node and querystring produce. */
function copyRequest(req: OasRequest): OasRequest {
  const copyObject = <T extends object | undefined>(value: T): T => {
    if (value === undefined || value === null || typeof value !== 'object') return value;
    const out = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      Object.defineProperty(out, key, { value: Array.isArray(v) ? [...(v as unknown[])] : v, enumerable: true, writable: true, configurable: true });
    }
    return out as T;
  };
  return {
    ...req,
    headers: copyObject(req.headers),
    query: typeof req.query === 'object' ? copyObject(req.query) : req.query,
    body: req.body === undefined ? undefined : structuredClone(req.body),
  };
}

/**
 * Results compared as data: own enumerable keys (keys holding undefined included, so a missing
 * `body` and `body: undefined` differ) and values, recursively. Prototypes are not compared:
 * openapi-backend hands back null-prototype objects where it deep-clones node:querystring's
 * result or parses cookies, the fast path plain ones, and no consumer can tell.
 */
function data(value: unknown, seen = new Set<unknown>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => data(v, seen));
    if (value instanceof Error) return { error: value.name, message: value.message };
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      // defineProperty keeps a '__proto__' key an own data property instead of setting the prototype.
      Object.defineProperty(out, key, { value: data((value as Record<string, unknown>)[key], seen), enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** A call's answer or its exception, comparable either way. */
function outcome<T>(fn: () => T): { value: unknown } | { threw: string; message: string } {
  try {
    return { value: data(fn()) };
  } catch (error) {
    return { threw: error instanceof Error ? error.constructor.name : typeof error, message: error instanceof Error ? error.message : String(error) };
  }
}

async function asyncOutcome(fn: () => Promise<unknown>): Promise<{ value: unknown } | { threw: string; message: string }> {
  try {
    return { value: data(await fn()) };
  } catch (error) {
    return { threw: error instanceof Error ? error.constructor.name : typeof error, message: error instanceof Error ? error.message : String(error) };
  }
}

/** An operation as routing sees it; the objects themselves differ (the original rebuilds them per call). */
function operationKey(operation: Operation | undefined): unknown {
  return operation ? { operationId: operation.operationId, path: operation.path, method: operation.method } : undefined;
}

function matchOutcome(api: OpenAPIBackend, req: OasRequest, strict?: boolean) {
  try {
    return { value: operationKey(strict === undefined ? api.router.matchOperation(req) : api.router.matchOperation(req, strict as true)) };
  } catch (error) {
    return { threw: (error as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------
// Sample values
// ---------------------------------------------------------------------------------------------

const samplePathParams: Record<string, string> = {
  tenant_slug: 'acme',
  credential_id: '65f1a2b3c4d5e6f708192a3b',
  device_id: '65f1a2b3c4d5e6f708192a3c',
};

const sampleQueryValues: Record<string, string> = {
  limit: '20',
  before: '65f1a2b3c4d5e6f708192a3b',
  mfa_token: 'mfa-token-value',
  user_id: '65f1a2b3c4d5e6f708192a3d',
  token: 'link-token-value',
  page: '1',
  per_page: '20',
  scope: 'TENANT',
  application_type: 'WEB',
  status: 'active',
  fix: 'false',
  result: 'success',
  start_time: '2026-05-17T12:00:00Z',
  end_time: '2026-05-18T12:00:00Z',
  actor_email: 'ada@example.com',
  ip_address: '203.0.113.7',
};

const stringByName: Record<string, string> = {
  email: 'ada@example.com',
  new_email: 'ada.new@example.com',
  password: 'correct horse battery staple 42',
  new_password: 'another correct horse battery 43',
  current_password: 'correct horse battery staple 42',
  code: '123456',
  redirect_uri: 'https://app.example.com/callback',
};

/** A plausible JSON value for a (dereferenced) schema: enough to reach validation and often pass it. */
function sampleFor(schema: Record<string, unknown> | undefined, name = '', depth = 0): unknown {
  if (!schema || depth > 6) return 'x';
  if (schema.example !== undefined) return structuredClone(schema.example);
  if (schema.default !== undefined) return structuredClone(schema.default);
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  const branches = (schema.anyOf ?? schema.oneOf) as Array<Record<string, unknown>> | undefined;
  if (branches) return sampleFor(branches.find((b) => b.type !== 'null') ?? branches[0], name, depth + 1);
  if (Array.isArray(schema.allOf)) return sampleFor(Object.assign({}, ...(schema.allOf as object[])) as Record<string, unknown>, name, depth + 1);
  const type = Array.isArray(schema.type) ? (schema.type as string[]).find((t) => t !== 'null') : (schema.type as string | undefined);
  switch (type ?? (schema.properties ? 'object' : 'string')) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      const required = new Set((schema.required ?? []) as string[]);
      for (const [key, sub] of Object.entries(properties)) if (required.has(key)) out[key] = sampleFor(sub, key, depth + 1);
      return out;
    }
    case 'array':
      return [sampleFor(schema.items as Record<string, unknown> | undefined, name, depth + 1)];
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default: {
      if (schema.format === 'email') return 'ada@example.com';
      if (schema.format === 'uri') return 'https://app.example.com/callback';
      if (schema.format === 'date-time') return '2024-01-01T00:00:00Z';
      if (stringByName[name]) return stringByName[name];
      const min = typeof schema.minLength === 'number' ? schema.minLength : 1;
      const max = typeof schema.maxLength === 'number' ? schema.maxLength : 64;
      return 'v'.repeat(Math.min(Math.max(min, 8), max));
    }
  }
}

function requestBodySchema(operation: Operation): Record<string, unknown> | undefined {
  const body = operation.requestBody as { content?: Record<string, { schema?: Record<string, unknown> }> } | undefined;
  return body?.content?.['application/json']?.schema;
}

function concretePath(template: string, params: Record<string, string> = samplePathParams): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => params[name] ?? 'p');
}

function declaredQueryNames(operation: Operation): string[] {
  return (operation.parameters ?? []).filter((p) => !('$ref' in p) && p.in === 'query').map((p) => (p as { name: string }).name);
}

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

interface Case {
  name: string;
  req: OasRequest;
}

const bearer = { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl' };

/** One well-formed request per operation, plus variants of its query, headers and body. */
function operationCases(operations: Operation[]): Case[] {
  const cases: Case[] = [];
  for (const op of operations) {
    const path = concretePath(op.path);
    const names = declaredQueryNames(op);
    const query = names.map((n) => `${n}=${encodeURIComponent(sampleQueryValues[n] ?? 'q')}`).join('&');
    const url = query ? `${path}?${query}` : path;
    const schema = requestBodySchema(op);
    const headers = { ...bearer, 'user-agent': 'vitest', accept: 'application/json', ...(schema ? { 'content-type': 'application/json' } : {}) };
    const method = op.method.toUpperCase();
    const withBody = (req: OasRequest, body: unknown) => ({ ...req, body });
    const id = `${method} ${op.path} (${op.operationId})`;
    const base = frontRequest(method, url, headers);
    cases.push({ name: `${id}: sample`, req: schema ? withBody(base, sampleFor(schema)) : base });
    cases.push({ name: `${id}: no authorization, cookies`, req: withBody(frontRequest(method, url, { cookie: 'sk_session=abc; theme=dark' }), schema ? sampleFor(schema) : undefined) });
    if (schema) {
      cases.push({ name: `${id}: empty object body`, req: withBody(frontRequest(method, url, headers), {}) });
      cases.push({ name: `${id}: no body`, req: frontRequest(method, url, headers) });
      cases.push({ name: `${id}: array body`, req: withBody(frontRequest(method, url, headers), [1, 2]) });
      cases.push({ name: `${id}: null body`, req: withBody(frontRequest(method, url, headers), null) });
      cases.push({ name: `${id}: extra fields`, req: withBody(frontRequest(method, url, headers), { ...(sampleFor(schema) as object), unexpected: { deep: [1] } }) });
      cases.push({ name: `${id}: wrong field types`, req: withBody(frontRequest(method, url, headers), Object.fromEntries(Object.keys(sampleFor(schema) as object).map((k) => [k, 12345]))) });
    } else {
      cases.push({ name: `${id}: stray body`, req: withBody(frontRequest(method, url, headers), { stray: true }) });
    }
    if (names.length > 0) {
      cases.push({ name: `${id}: repeated query keys`, req: frontRequest(method, `${path}?${names.map((n) => `${n}=a&${n}=b`).join('&')}`, headers) });
      cases.push({ name: `${id}: empty query values`, req: frontRequest(method, `${path}?${names.map((n) => `${n}=`).join('&')}`, headers) });
      cases.push({ name: `${id}: bare query keys`, req: frontRequest(method, `${path}?${names.join('&')}`, headers) });
      cases.push({ name: `${id}: out-of-range and overlong query`, req: frontRequest(method, `${path}?${names.map((n) => `${n}=${n === 'limit' ? '1000' : 'z'.repeat(600)}`).join('&')}`, headers) });
      cases.push({ name: `${id}: encoded query values`, req: frontRequest(method, `${path}?${names.map((n) => `${n}=%E2%82%AC%20%2F%26x`).join('&')}`, headers) });
    }
    cases.push({ name: `${id}: undeclared query keys`, req: frontRequest(method, `${url}${query ? '&' : '?'}cache=1&cache=2&empty=`, headers) });
    cases.push({ name: `${id}: trailing slash`, req: frontRequest(method, `${path}/`, headers) });
    cases.push({ name: `${id}: lower-case method`, req: frontRequest(op.method, path, headers) });
    cases.push({ name: `${id}: HEAD`, req: frontRequest('HEAD', path, headers) });
    cases.push({ name: `${id}: OPTIONS`, req: frontRequest('OPTIONS', path, headers) });
    cases.push({ name: `${id}: wrong method`, req: frontRequest(method === 'PUT' ? 'POST' : 'PUT', path, headers) });
  }
  return cases;
}

const tenantPaths = (slug: string) => [`/api/v1/auth/tenants/${slug}/login`, `/api/v1/auth/tenants/${slug}/verify-email?token=t`];

/** Requests the front can be sent that are not the happy path. */
function oddCases(): Case[] {
  const post = (url: string, headers: Record<string, string | string[]> = {}, body: unknown = { email: 'ada@example.com', password: 'correct horse battery staple 42' }): OasRequest => ({
    ...frontRequest('POST', url, { 'content-type': 'application/json', ...headers }),
    body,
  });
  const get = (url: string, headers: Record<string, string | string[]> = bearer) => frontRequest('GET', url, headers);
  const slugs: Record<string, string> = {
    'percent-encoded space': 'ac%20me',
    'percent-encoded euro': '%E2%82%AC',
    'percent-encoded slash': 'a%2Fb',
    'percent-encoded percent': '100%25',
    'lower-case percent-encoding': '%e2%82%ac',
    'malformed percent-encoding': '%E2%82',
    'lone percent': 'abc%',
    'raw unicode (as Node gives it, latin1)': 'caf\u00c3\u00a9',
    'raw unicode': 'caf\u00e9-\u65e5\u672c',
    'astral plane': '%F0%9F%94%91',
    'dots and dashes': 'my.tenant-name_1',
    'dot': '.',
    'dot dot': '..',
    'encoded dot dot': '%2E%2E',
    'very long': 'a'.repeat(5000),
    'very long encoded': '%E2%82%AC'.repeat(500),
    'just over maxLength': 's'.repeat(64),
    'plus sign': 'a+b',
    'semicolon': 'a;b=c',
    'encoded question mark': 'a%3Fb',
    'encoded hash': 'a%23b',
    'encoded null byte': 'a%00b',
    'encoded braces': '%7Btenant_slug%7D',
    'literal braces': '{tenant_slug}',
  };
  const cases: Case[] = [];
  for (const [name, slug] of Object.entries(slugs)) {
    for (const url of tenantPaths(slug)) cases.push({ name: `path param ${name}: ${url.slice(0, 80)}`, req: url.includes('verify-email') ? get(url, {}) : post(url) });
  }
  for (const [name, id] of Object.entries({ hex: '65f1a2b3c4d5e6f708192a3b', encoded: 'id%2Fwith%2Fslashes', unicode: '%E2%82%AC', long: 'x'.repeat(70) })) {
    cases.push({ name: `device id ${name}`, req: frontRequest('DELETE', `/api/v1/me/mfa/trusted-devices/${id}`, bearer) });
    cases.push({ name: `credential id ${name}`, req: { ...frontRequest('PATCH', `/api/v1/me/mfa/webauthn/credentials/${id}`, { ...bearer, 'content-type': 'application/json' }), body: { name: 'Key' } } });
  }
  const paths = [
    '/api/v1/me/',
    '/api/v1/me//',
    '/api/v1/me///',
    '//api/v1/me',
    '/api//v1/me',
    '/api/v1//me',
    '/api/v1/me/.',
    '/api/v1/me/../me',
    '/API/V1/ME',
    '/api/v1/me%2F',
    '/api/v1/me/mfa/trusted-devices/',
    '/api/v1/me/mfa/trusted-devices//',
    '/api/v1/me/mfa/trusted-devices/a/b',
    '/api/v1/auth/tenants//login',
    '/api/v1/auth/tenants/acme//login',
    '/api/v1/auth/tenants/acme/login/',
    '/api/v1/auth/tenants/acme/login//',
    '/api/v1/nope',
    '/api/v1',
    '/api',
    '/',
    '/api/v1/me/extra',
    '/.well-known/jwks.json',
    '/.well-known/jwks.json/',
    '/.well-knownXjwks.json',
    '/.well-known/jwksXjson',
    '/api/v1/me?',
  ];
  for (const path of paths) {
    cases.push({ name: `GET ${path}`, req: get(path) });
    cases.push({ name: `POST ${path}`, req: post(path, bearer) });
  }
  // A query string left in the path (the front strips it; the router must agree anyway).
  cases.push({ name: 'query string inside path', req: { ...get('/api/v1/me/security-events'), path: '/api/v1/me/security-events?limit=5' } });
  cases.push({ name: 'query as a string', req: { ...get('/api/v1/me/security-events'), query: 'limit=5&before=65f1a2b3c4d5e6f708192a3b' } });
  // Methods: upper, lower, mixed, unknown.
  for (const method of ['GET', 'get', 'Get', 'HEAD', 'head', 'OPTIONS', 'TRACE', 'PATCH', 'PUT', 'DELETE', 'POST', 'CONNECT', 'PROPFIND']) {
    cases.push({ name: `${method} /api/v1/me`, req: { ...frontRequest(method, '/api/v1/me', { ...bearer, 'content-type': 'application/json' }), body: method.toUpperCase() === 'PATCH' ? { first_name: 'Ada' } : undefined } });
    cases.push({ name: `${method} /api/v1/auth/tenants/acme/login`, req: post('/api/v1/auth/tenants/acme/login') && { ...post('/api/v1/auth/tenants/acme/login'), method } });
  }
  // Query strings.
  const queries = [
    'limit=5',
    'limit=5&limit=6',
    'limit=5&limit=6&limit=7',
    'limit=',
    'limit',
    'limit=&before=',
    'limit=abc',
    'limit=0',
    'limit=101',
    'limit=1.5',
    'limit=-1',
    'limit=%35',
    'limit=5&before=65f1a2b3c4d5e6f708192a3b',
    'before=65F1A2B3C4D5E6F708192A3B',
    'before=xyz',
    'before[]=a',
    'before[a]=b',
    'limit[0]=1',
    'unknown=1',
    'unknown=1&unknown=2',
    '__proto__=x',
    'constructor=x',
    'toString=x',
    'hasOwnProperty=x',
    'limit=5&__proto__=x',
    '=x',
    '&&&',
    'limit=%E2%82',
    'limit=%E2%82%AC',
    'limit=+5+',
    'limit=5%00',
  ];
  for (const query of queries) cases.push({ name: `security events ?${query}`, req: get(`/api/v1/me/security-events?${query}`) });
  for (const query of ['token=abc', 'token=abc&token=def', 'token=', 'token', 'token=%F0%9F%94%91', `token=${'t'.repeat(513)}`, 'other=1']) {
    cases.push({ name: `verify email ?${query}`, req: get(`/api/v1/auth/tenants/acme/verify-email?${query}`, {}) });
  }
  for (const query of ['mfa_token=a&user_id=b', 'mfa_token=a&mfa_token=b', 'user_id=', 'mfa_token=&user_id=&x=1']) {
    cases.push({ name: `send email mfa ?${query}`, req: post(`/api/v1/auth/tenants/acme/mfa/email/send?${query}`, {}, undefined) });
  }
  // Cookies.
  const cookies: Array<[string, string | string[] | undefined]> = [
    ['single cookie', 'sk_session=abc'],
    ['several cookies', 'sk_session=abc; theme=dark; lang=en'],
    ['several cookies without spaces', 'a=1;b=2;c=3'],
    ['duplicate cookie names', 'a=1; a=2'],
    ['quoted value', 'a="quoted value"'],
    ['encoded value', 'a=%E2%82%AC%20x'],
    ['malformed encoding', 'a=%E2%82'],
    ['no equals sign', 'justtext'],
    ['empty name', '=value'],
    ['empty value', 'a='],
    ['only separators', '; ; ;'],
    ['empty header', ''],
    ['whitespace around', '  a = 1 ;  b=2  '],
    ['prototype keys', '__proto__=x; constructor=y; toString=z'],
    ['several cookie headers as an array', ['a=1', 'b=2']],
    ['no cookie header', undefined],
  ];
  for (const [name, cookie] of cookies) {
    const headers: Record<string, string | string[]> = { ...bearer };
    if (cookie !== undefined) headers.cookie = cookie;
    cases.push({ name: `cookies: ${name} (bearer operation)`, req: get('/api/v1/me', headers) });
    cases.push({ name: `cookies: ${name} (refresh)`, req: post('/api/v1/auth/refresh', cookie === undefined ? {} : { cookie }, {}) });
  }
  // Headers.
  const authorizations: Array<[string, string | string[] | undefined]> = [
    ['no authorization', undefined],
    ['empty authorization', ''],
    ['bearer', 'Bearer abc.def.ghi'],
    ['basic', 'Basic dXNlcjpwYXNz'],
    ['overlong', `Bearer ${'a'.repeat(9000)}`],
    ['array', ['Bearer a', 'Bearer b']],
  ];
  for (const [name, authorization] of authorizations) {
    const headers: Record<string, string | string[]> = { 'x-request-id': 'abc', 'content-type': 'application/json; charset=utf-8' };
    if (authorization !== undefined) headers.authorization = authorization;
    cases.push({ name: `headers: ${name} (profile)`, req: get('/api/v1/me', headers) });
    cases.push({ name: `headers: ${name} (update profile)`, req: { ...frontRequest('PATCH', '/api/v1/me', headers), body: { first_name: 'Ada' } } });
  }
  // Not in the corpus: mixed-case header names. Node always lower-cases them and the fast path
  // relies on it (it does not re-case them as the original does).
  cases.push({ name: 'headers: plain-prototype object', req: { ...get('/api/v1/me'), headers: { authorization: 'Bearer abc', cookie: 'a=1' } } });
  // Bodies.
  const bodies: Array<[string, unknown]> = [
    ['valid', { email: 'ada@example.com', password: 'correct horse battery staple 42' }],
    ['empty object', {}],
    ['null', null],
    ['array', [{ email: 'ada@example.com' }]],
    ['nested junk', { email: { $gt: '' }, password: ['a'] }],
    ['long strings', { email: `${'a'.repeat(300)}@example.com`, password: 'p'.repeat(5000) }],
    ['unicode', { email: 'ad\u00e1@ex\u00e4mple.com', password: '\u{1F511}'.repeat(20) }],
    ['prototype keys', JSON.parse('{"email":"ada@example.com","password":"x","__proto__":{"polluted":true}}') as unknown],
    ['string (JSON text the front parsed to a string)', 'not an object'],
    ['string holding JSON', '{"email":"ada@example.com","password":"correct horse battery staple 42"}'],
    ['number', 42],
    ['boolean', true],
  ];
  for (const [name, body] of bodies) {
    cases.push({ name: `body: ${name} (portal login)`, req: post('/api/v1/auth/login', {}, body) });
    cases.push({ name: `body: ${name} (tenant login)`, req: post('/api/v1/auth/tenants/acme/login', {}, body) });
  }
  return cases;
}

/**
 * A `__proto__` query key: node:querystring returns it as an own key of a null-prototype object,
 * which openapi-backend's deep clone keeps and the fast path's plain-object copy drops. It never
 * reaches the fast path from the front for a routed request (declaredQuery keeps declared names
 * only; see the test below), so such requests are compared only in the front's shape.
 */
function outsideFrontShape(req: OasRequest): boolean {
  return typeof req.query === 'object' && Object.hasOwn(req.query, '__proto__');
}

// ---------------------------------------------------------------------------------------------
// handleRequest harness: every handler answers with what it was given.
// ---------------------------------------------------------------------------------------------

function snapshot(kind: string, c: Context): unknown {
  const r = c.request;
  return {
    kind,
    operationId: c.operation?.operationId,
    request: { method: r.method, path: r.path, params: r.params, query: r.query, headers: r.headers, cookies: r.cookies, requestBody: r.requestBody, body: r.body, keys: Object.keys(r).sort() },
    validation: c.validation ? { valid: c.validation.valid, errors: c.validation.errors } : undefined,
    security: c.security,
  };
}

function registerEchoHandlers(api: OpenAPIBackend): void {
  api.registerSecurityHandler('HTTPBearer', (c: Context) => {
    // Depends on the parsed request, so a difference in parsing shows up here too. Always
    // truthy, so every request goes on to validation.
    const header = c.request.headers['authorization'];
    return { header: header ?? null, cookies: { ...(c.request.cookies as object) } };
  });
  const handlers: Record<string, (c: Context) => unknown> = {
    notFound: (c) => snapshot('notFound', c),
    methodNotAllowed: (c) => snapshot('methodNotAllowed', c),
    validationFail: (c) => snapshot('validationFail', c),
    unauthorizedHandler: (c) => snapshot('unauthorized', c),
    notImplemented: (c) => snapshot('notImplemented', c),
  };
  for (const op of api.router.getOperations()) handlers[op.operationId!] = (c) => snapshot('operation', c);
  api.register(handlers);
}

/** The front's steps: match, keep only declared query parameters, then handleRequest. */
async function throughFront(api: OpenAPIBackend, input: OasRequest, filterQuery: boolean): Promise<unknown> {
  const req = copyRequest(input);
  const body = req.body;
  req.body = undefined;
  const operation = api.matchOperation(req);
  if (operation) {
    if (filterQuery && typeof req.query === 'object') req.query = declaredQuery(operation, req.query);
    req.body = body;
  }
  return api.handleRequest(req);
}

// ---------------------------------------------------------------------------------------------

let original: OpenAPIBackend;
let fast: OpenAPIBackend;
let cases: Case[];

beforeAll(async () => {
  [original, fast] = await Promise.all([buildApi(false), buildApi(true)]);
  registerEchoHandlers(original);
  registerEchoHandlers(fast);
  cases = [...operationCases(original.router.getOperations()), ...oddCases()];
});

describe('the two routers under test', () => {
  test('only one of them has the fast path', () => {
    expect(fast.router.getOperations).not.toBe(original.router.getOperations);
    expect(Object.hasOwn(fast.router, 'parseRequest')).toBe(true);
    expect(Object.hasOwn(original.router, 'parseRequest')).toBe(false);
    expect(Object.hasOwn(original.router, 'matchOperation')).toBe(false);
  });

  test('the corpus covers every operation and many odd requests', () => {
    const ids = new Set(original.router.getOperations().map((op) => op.operationId));
    expect(ids.size).toBeGreaterThan(30);
    const reached = new Set(cases.map((c) => original.router.matchOperation(copyRequest(c.req))?.operationId).filter(Boolean));
    expect([...ids].filter((id) => !reached.has(id))).toEqual([]);
    expect(cases.length).toBeGreaterThan(600);
  });
});

describe('getOperations', () => {
  test('equals the original list, and is built once', () => {
    expect(data(fast.router.getOperations())).toStrictEqual(data(original.router.getOperations()));
    expect(fast.router.getOperations()).toBe(fast.router.getOperations());
    expect(fast.getOperations()).toBe(fast.router.getOperations());
    expect(data(fast.router.getOperation('tenantLogin'))).toStrictEqual(data(original.router.getOperation('tenantLogin')));
  });
});

describe('matchOperation', () => {
  test('every corpus request routes to the same operation, strict and not, cold and cached', () => {
    const differences: string[] = [];
    for (const { name, req } of cases) {
      for (const strict of [undefined, false, true]) {
        const expected = matchOutcome(original, copyRequest(req), strict);
        // Twice: the first call fills the cache, the second answers from it.
        for (const round of ['cold', 'cached']) {
          const actual = matchOutcome(fast, copyRequest(req), strict);
          if (JSON.stringify(actual) !== JSON.stringify(expected)) differences.push(`${name} [strict=${strict}, ${round}]: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
        }
      }
    }
    expect(differences).toEqual([]);
  });

  test('a cached match is not reused for another method or path', () => {
    const req = frontRequest('GET', '/api/v1/me/mfa/trusted-devices', bearer);
    expect(fast.router.matchOperation(req)?.operationId).toBe('listTrustedDevices');
    expect(fast.router.matchOperation({ ...req, method: 'DELETE' })?.operationId).toBe('revokeAllTrustedDevices');
    expect(fast.router.matchOperation({ ...req, method: 'PATCH' })).toBeUndefined();
    expect(() => fast.router.matchOperation({ ...req, method: 'PATCH' }, true)).toThrow(/^405/);
    expect(fast.router.matchOperation({ ...req, path: '/api/v1/me/mfa/trusted-devices/abc', method: 'DELETE' })?.operationId).toBe('revokeTrustedDevice');
    expect(() => fast.router.matchOperation({ ...req, path: '/api/v1/nowhere' }, true)).toThrow(/^404/);
  });

  test('the methodNotAllowed probe of createRouter (lower-case method, empty headers) agrees', () => {
    for (const path of ['/api/v1/me', '/api/v1/me/mfa/totp', '/api/v1/auth/tenants/acme/login', '/api/v1/me/mfa/webauthn/credentials/abc']) {
      const allowed = (api: OpenAPIBackend) =>
        api.router
          .getOperations()
          .filter((op) => api.router.matchOperation({ method: op.method, path, headers: {}, query: {} })?.operationId === op.operationId)
          .map((op) => op.method);
      expect(allowed(fast)).toEqual(allowed(original));
      expect(allowed(fast).length).toBeGreaterThan(0);
    }
  });
});

describe('parseRequest', () => {
  test('every corpus request parses the same, without an operation and with the matched one', () => {
    const differences: string[] = [];
    for (const { name, req } of cases) {
      const expectedOp = original.router.matchOperation(copyRequest(req));
      const actualOp = fast.router.matchOperation(copyRequest(req));
      const variants: Array<[string, (r: OasRequest) => OasRequest]> = [
        ['as sent', (r) => r],
        // What handleRequest gets from the front once the operation is known.
        ['declared query', (r) => (expectedOp && typeof r.query === 'object' ? { ...r, query: declaredQuery(expectedOp, r.query) } : r)],
      ];
      for (const [variant, shape] of variants) {
        if (outsideFrontShape(shape(copyRequest(req)))) continue;
        const withoutOp = [outcome(() => original.router.parseRequest(shape(copyRequest(req)))), outcome(() => fast.router.parseRequest(shape(copyRequest(req))))];
        try {
          expect(withoutOp[1]).toStrictEqual(withoutOp[0]);
        } catch {
          differences.push(`${name} [${variant}, no operation]: ${JSON.stringify(withoutOp[1]).slice(0, 300)} != ${JSON.stringify(withoutOp[0]).slice(0, 300)}`);
        }
        if (expectedOp && actualOp) {
          const withOp = [outcome(() => original.router.parseRequest(shape(copyRequest(req)), expectedOp)), outcome(() => fast.router.parseRequest(shape(copyRequest(req)), actualOp))];
          try {
            expect(withOp[1]).toStrictEqual(withOp[0]);
          } catch {
            differences.push(`${name} [${variant}, ${expectedOp.operationId}]: ${JSON.stringify(withOp[1]).slice(0, 300)} != ${JSON.stringify(withOp[0]).slice(0, 300)}`);
          }
        }
      }
    }
    expect(differences).toEqual([]);
  });

  test('parsing against every operation, matched or not, agrees', () => {
    // openapi-backend only parses against the matched operation, but the fast path's caches are
    // keyed by operation: parse every odd request against every operation to shake them.
    const differences: string[] = [];
    const originalOps = original.router.getOperations();
    const fastOps = fast.router.getOperations();
    for (const { name, req } of oddCases().filter((c) => !outsideFrontShape(c.req))) {
      originalOps.forEach((op, i) => {
        const expected = outcome(() => original.router.parseRequest(copyRequest(req), op));
        const actual = outcome(() => fast.router.parseRequest(copyRequest(req), fastOps[i]));
        try {
          expect(actual).toStrictEqual(expected);
        } catch {
          differences.push(`${name} against ${op.operationId}`);
        }
      });
    }
    expect(differences).toEqual([]);
  });

  test('a __proto__ query key is dropped by the front before the fast path sees it', () => {
    const req = frontRequest('GET', '/api/v1/me/security-events?limit=5&__proto__=x&__proto__=y', bearer);
    expect(outsideFrontShape(req)).toBe(true);
    const op = original.router.matchOperation(req)!;
    const shaped = { ...req, query: declaredQuery(op, req.query as Record<string, string | string[]>) };
    expect(outsideFrontShape(shaped)).toBe(false);
    expect(shaped.query).toStrictEqual({ limit: '5' });
    expect(data(fast.router.parseRequest(copyRequest(shaped), fast.router.matchOperation(shaped)))).toStrictEqual(data(original.router.parseRequest(copyRequest(shaped), op)));
  });

  test('the parsed query is a copy: coercion by the validator cannot reach the request', () => {
    const req = frontRequest('GET', '/api/v1/me/security-events?limit=5&before=x&before=y', bearer);
    const op = fast.router.matchOperation(req)!;
    const parsed = fast.router.parseRequest(req, op);
    (parsed.query as Record<string, unknown>).limit = 5;
    ((parsed.query as Record<string, string[]>).before as string[]).push('z');
    expect(req.query).toEqual({ limit: '5', before: ['x', 'y'] });
    expect(fast.router.parseRequest(req, op).query).toEqual({ limit: '5', before: ['x', 'y'] });
  });

  test('leanParseRequest hands requests outside the front shape to the original', () => {
    const calls: unknown[] = [];
    const stub = ((req: OasRequest, op?: Operation) => {
      calls.push([req, op]);
      return { stub: true };
    }) as unknown as OpenAPIBackend['router']['parseRequest'];
    const lean = leanParseRequest(stub, fast);
    const op = fast.router.getOperation('tenantLogin')!;
    const base = frontRequest('POST', '/api/v1/auth/tenants/acme/login');
    for (const req of [
      { ...base, body: 'a string body' },
      { ...base, body: 42 },
      { ...base, query: 'a=1' },
      { ...base, path: 'api/v1/auth/tenants/acme/login' },
      { ...base, path: '/api/v1/auth/tenants/acme/login?x=1' },
    ]) {
      calls.length = 0;
      expect(lean(req as OasRequest, op)).toEqual({ stub: true });
      expect(calls).toHaveLength(1);
    }
    calls.length = 0;
    const parsed = lean({ ...base, body: { email: 'a' } }, op);
    expect(calls).toHaveLength(0);
    expect(parsed.params).toEqual({ tenant_slug: 'acme' });
    expect(parsed.requestBody).toEqual({ email: 'a' });
  });

  test('operations declaring JSON-content or non-exploded query parameters take the original', () => {
    const calls: unknown[] = [];
    const stub = ((req: OasRequest) => {
      calls.push(req);
      return { stub: true };
    }) as unknown as OpenAPIBackend['router']['parseRequest'];
    const lean = leanParseRequest(stub, fast);
    const base = fast.router.getOperation('listSecurityEvents')!;
    const req = frontRequest('GET', '/api/v1/me/security-events?limit=5');
    const withParameter = (extra: Record<string, unknown>) => ({ ...base, parameters: [{ name: 'filter', in: 'query', ...extra }, ...(base.parameters ?? [])] }) as Operation;
    expect(lean(req, withParameter({ content: { 'application/json': { schema: { type: 'object' } } } }))).toEqual({ stub: true });
    expect(lean(req, withParameter({ explode: false, schema: { type: 'array' } }))).toEqual({ stub: true });
    expect(lean(req, { ...base, parameters: [{ $ref: '#/components/parameters/X' }] } as unknown as Operation)).toEqual({ stub: true });
    expect(calls).toHaveLength(3);
    expect(lean(req, withParameter({ explode: true, schema: { type: 'array' } }))).not.toEqual({ stub: true });
    expect(calls).toHaveLength(3);
  });
});

describe('handleRequest', () => {
  test('every corpus request reaches the same handler with the same request, security input and validation result', async () => {
    const differences: string[] = [];
    const kinds = new Map<string, number>();
    for (const filterQuery of [true, false]) {
      for (const { name, req } of cases) {
        if (!filterQuery && outsideFrontShape(req)) continue;
        const expected = await asyncOutcome(() => throughFront(original, req, filterQuery));
        const actual = await asyncOutcome(() => throughFront(fast, req, filterQuery));
        try {
          expect(actual).toStrictEqual(expected);
        } catch {
          differences.push(`${name} [declared query only: ${filterQuery}]: ${JSON.stringify(actual).slice(0, 400)}\n  != ${JSON.stringify(expected).slice(0, 400)}`);
        }
        const kind = 'value' in expected ? String((expected.value as { kind: string }).kind) : `threw ${expected.threw}`;
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
    }
    expect(differences).toEqual([]);
    // The corpus reaches every outcome, so the comparison above means something for each.
    for (const kind of ['operation', 'validationFail', 'notFound', 'methodNotAllowed', 'threw URIError']) expect(kinds.get(kind) ?? 0, kind).toBeGreaterThan(0);
  });

  test('each operation accepts its sample request on both routers', async () => {
    // A sanity check of the harness: the per-operation samples reach the operation handler, so
    // the comparison covers parsed bodies, params and query on the success path, not only 4xx.
    const reachedHandler = new Set<string>();
    for (const { name, req } of cases.filter((c) => c.name.endsWith(': sample'))) {
      const result = (await throughFront(fast, req, true)) as { kind: string; operationId: string };
      if (result.kind === 'operation') reachedHandler.add(result.operationId);
      expect(result.operationId, name).toBeDefined();
    }
    // The OpenID provider's endpoints (x-scaikey-protocol) are routed apart: their form bodies never reach this router.
    const protocol = (op: { 'x-scaikey-protocol'?: boolean }) => op['x-scaikey-protocol'] === true;
    expect(original.router.getOperations().filter((op) => !protocol(op as never)).map((op) => op.operationId).filter((id) => !reachedHandler.has(id!))).toEqual([]);
  });

  test('validation errors name the same instance paths on both routers', async () => {
    const req = { ...frontRequest('GET', '/api/v1/me/security-events?limit=1000&before=nothex', bearer) };
    const [a, b] = (await Promise.all([throughFront(original, req, true), throughFront(fast, req, true)])) as Array<{ kind: string; validation: { errors: Array<{ instancePath: string }> } }>;
    expect(b!.kind).toBe('validationFail');
    expect(b!.validation.errors.map((e) => e.instancePath).sort()).toEqual(a!.validation.errors.map((e) => e.instancePath).sort());
    expect(b!.validation.errors.map((e) => e.instancePath)).toEqual(expect.arrayContaining(['/query/limit', '/query/before']));
  });

  test('decoded path parameters reach the handler', async () => {
    const req = { ...frontRequest('POST', '/api/v1/auth/tenants/caf%C3%A9%2Fx/login', { 'content-type': 'application/json' }), body: { email: 'ada@example.com', password: 'pw' } };
    const result = (await throughFront(fast, req, true)) as { request: { params: Record<string, string> } };
    expect(result.request.params).toEqual({ tenant_slug: 'caf\u00e9/x' });
  });
});
