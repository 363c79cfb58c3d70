// The real server's 422 answers equal FastAPI's. A FastAPI + pydantic 2 replica of the documented
// request models (test/fastapi-replica/app.py, pinned in requirements.txt, installed into
// .venv-fastapi/ on first run) and the real server get the same corpus of invalid requests; the
// `detail` lists must be equal in loc, msg, type and ctx. pydantic's `input` (and `url`, which
// FastAPI drops) are not compared: the server does not echo input back, and the documented
// ValidationError has loc, msg and type only.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';
import { startReplica, type Replica } from '../support/fastapi-replica.ts';
import { loadSpec } from '../../handlers/core/spec.ts';

let server: TestServer;
let replica: Replica;
let token: string;

beforeAll(async () => {
  const spec = loadSpec() as any;
  const timezones = spec.components.schemas.UpdateProfileRequest.properties.timezone.anyOf[0].enum as string[];
  [server, replica] = await Promise.all([startTestServer(), startReplica({ REPLICA_TIMEZONES: JSON.stringify(timezones) })]);
  const tenant = await createTenant(server);
  const { email } = await createUser(server, tenant);
  token = (await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } })).body.access_token;
}, 240_000);

afterAll(async () => {
  await Promise.all([server?.stop(), replica?.stop()]);
});

interface Case {
  name: string;
  method: string;
  path: string;
  /** Raw body text, sent as application/json. */
  body?: string;
  auth?: boolean;
  /** Only when the replica's Python gives this answer (json messages changed in 3.13). */
  python?: (version: string) => boolean;
}

const slug = 'acme';
const t = (suffix: string) => `/api/v1/auth/tenants/${slug}/${suffix}`;
const j = (value: unknown) => JSON.stringify(value);
const long = (n: number, c = 'x') => c.repeat(n);
const before313 = (v: string) => Number(v.split('.')[1]) < 13;

const bodyOperations: Array<{ method: string; path: string; auth?: boolean; valid: Record<string, unknown> }> = [
  { method: 'PATCH', path: '/api/v1/me', auth: true, valid: {} },
  { method: 'POST', path: '/api/v1/me/password', auth: true, valid: { current_password: 'a', new_password: 'b' } },
  { method: 'POST', path: t('forgot-password'), valid: { email: 'ada@example.com' } },
  { method: 'POST', path: t('login'), valid: { email: 'ada@example.com', password: 'p' } },
  { method: 'POST', path: t('mfa/verify'), valid: { mfa_token: 'm', method: 'totp' } },
  { method: 'POST', path: t('password/forgot'), valid: { email: 'ada@example.com' } },
  { method: 'POST', path: t('password/reset'), valid: { token: 't', new_password: 'p' } },
  { method: 'POST', path: t('register'), valid: { email: 'ada@example.com', password: 'p', first_name: 'Ada', last_name: 'L' } },
  { method: 'POST', path: '/api/v1/auth/authenticate', valid: { flow_token: 'f', password: 'p' } },
  { method: 'POST', path: '/api/v1/auth/identify', valid: { email: 'ada@example.com' } },
  { method: 'POST', path: '/api/v1/auth/login', valid: { email: 'ada@example.com', password: 'p' } },
  { method: 'POST', path: '/api/v1/auth/mfa/verify', valid: { mfa_token: 'm', user_id: 'u', method: 'totp' } },
  { method: 'POST', path: '/api/v1/auth/refresh', valid: { refresh_token: 'r' } },
];

const cases: Case[] = [];
const add = (c: Case) => cases.push(c);

// Every body operation: missing fields, wrong types for each field, non-object bodies, bad JSON.
for (const op of bodyOperations) {
  const base = { method: op.method, path: op.path, auth: op.auth };
  const id = `${op.method} ${op.path}`;
  if (Object.keys(op.valid).length > 0) add({ ...base, name: `${id}: empty object`, body: '{}' });
  add({ ...base, name: `${id}: every field a number`, body: j(Object.fromEntries(Object.keys(op.valid).map((k) => [k, 12345]))) });
  add({ ...base, name: `${id}: every field a list`, body: j(Object.fromEntries(Object.keys(op.valid).map((k) => [k, ['x']]))) });
  add({ ...base, name: `${id}: every field null`, body: j(Object.fromEntries(Object.keys(op.valid).map((k) => [k, null]))) });
  add({ ...base, name: `${id}: wrong types and missing fields, reversed order`, body: j(Object.fromEntries(Object.keys(op.valid).reverse().slice(0, 1).map((k) => [k, true]))) });
  add({ ...base, name: `${id}: every string too long`, body: j(Object.fromEntries(Object.keys(op.valid).map((k) => [k, long(5000)]))) });
  for (const text of ['null', '[]', '[{"email": "ada@example.com"}]', '"ada@example.com"', j(j(op.valid)), '42', '1.5', 'true', 'false']) {
    add({ ...base, name: `${id}: body ${text}`, body: text });
  }
  for (const text of ['{', '{"a": ', '{"a": 1', '{"a": 1,}', '{"a": 1}}', '{"a": 1} trailing', "{'a': 1}", '{a: 1}', '{"a" 1}', '{"a": 1 "b": 2}', '{"a": "x\\', '{"a": "\\u12"}', '{"a": "\\q"}', '{"a": "\t"}', '[', '[1,]', '[1 2]', 'nul', 'tru', '-', '01', '1.', '{"é€😀": tru}', '   ', '\n\n  {"a": x}', '{"a": "abc']) {
    add({ ...base, name: `${id}: malformed ${j(text)}`, body: text, python: /,[}\]]$/.test(text) ? before313 : undefined });
  }
  add({ ...base, name: `${id}: extra fields are ignored`, body: j({ ...Object.fromEntries(Object.keys(op.valid).map((k) => [k, 1])), unexpected: 1, zzz: [1] }) });
}

// Booleans: pydantic's lax mode.
const tenantLogin = { email: 'ada@example.com', password: 'p' };
for (const value of ['true', 'False', 'YES', 'no', 'On', 'off', 't', 'F', 'y', 'n', '1', '0', ' true', 'truee', '2', '', 'null', 1, 0, 2, -1, 1.0, 1.5, 2.0, 1e30, null, [], {}, [true]]) {
  add({ method: 'POST', path: t('login'), name: `tenantLogin remember_me=${j(value)}`, body: j({ ...tenantLogin, remember_me: value, email: 'not-an-email' }) });
  add({ method: 'POST', path: '/api/v1/auth/mfa/verify', name: `portalMfaVerify trust_device=${j(value)}`, body: j({ mfa_token: 5, user_id: 'u', method: 'totp', trust_device: value }) });
  add({ method: 'POST', path: t('mfa/verify'), name: `verifyMfa remember_device/trust_device=${j(value)}`, body: j({ method: 'totp', remember_device: value, trust_device: value }) });
}

// Emails.
for (const email of ['plain', '@example.com', 'ada@', 'ada@localhost', 'a..b@example.com', '.ada@example.com', 'ada.@example.com', 'ada@.example.com', 'ada@example.com.', 'ada@exa..mple.com', `${long(300, 'a')}@example.com`, `${long(240, 'a')}@example.com`, '', ' ']) {
  add({ method: 'POST', path: '/api/v1/auth/identify', name: `identify email=${j(email.slice(0, 40))}`, body: j({ email }) });
}

// String constraints, several per field, and their order.
add({ method: 'POST', path: t('register'), name: 'register: empty and control-character names', body: j({ email: 'ada@example.com', password: 'p', first_name: '', last_name: '\u0001' }) });
add({ method: 'POST', path: t('register'), name: 'register: too long and a control character', body: j({ email: 'ada@example.com', password: 'p', first_name: `${long(120)}\u0001`, last_name: ' ' }) });
add({ method: 'POST', path: t('register'), name: 'register: custom_data of 51 keys', body: j({ ...bodyOperations[7]!.valid, custom_data: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }) });
add({ method: 'POST', path: t('register'), name: 'register: custom_data not an object', body: j({ ...bodyOperations[7]!.valid, custom_data: 'x' }) });
add({ method: 'POST', path: `/api/v1/auth/tenants/${long(70)}/register`, name: 'register: over-long slug and body errors together', body: j({ password: 1, first_name: '' }) });
add({ method: 'POST', path: `/api/v1/auth/tenants/${long(70)}/login`, name: 'tenantLogin: over-long slug and a non-object body', body: '"x"' });
add({ method: 'PATCH', path: '/api/v1/me', auth: true, name: 'updateProfile: every field wrong', body: j({ first_name: `a\u0007`, last_name: long(101), display_name: 5, phone: '0123', locale: 'english', timezone: 'Mars/Base' }) });
add({ method: 'PATCH', path: '/api/v1/me', auth: true, name: 'updateProfile: timezone of the wrong type', body: j({ timezone: 5 }) });
add({ method: 'PATCH', path: '/api/v1/me', auth: true, name: 'updateProfile: phone and locale', body: j({ phone: '+1234', locale: long(40, 'a') }) });
add({ method: 'POST', path: t('mfa/verify'), name: 'verifyMfa: credential not an object', body: j({ mfa_token: 'm', method: 'totp', credential: [1] }) });

// Query parameters.
for (const suffix of ['mfa/email/send', 'mfa/webauthn/begin']) {
  add({ method: 'POST', path: t(suffix), name: `${suffix}: no query` });
  add({ method: 'POST', path: `${t(suffix)}?mfa_token=${long(600)}`, name: `${suffix}: too long, and missing` });
  add({ method: 'POST', path: `${t(suffix)}?user_id=${long(65)}&mfa_token=${long(513)}`, name: `${suffix}: both too long` });
  add({ method: 'POST', path: `${t(suffix)}?mfa_token=a&mfa_token=${long(600)}&user_id=u`, name: `${suffix}: repeated, the last one too long` });
  add({ method: 'POST', path: `${t(suffix)}?mfa_token=${long(600)}&mfa_token=a&user_id=u&user_id=v`, name: `${suffix}: repeated, the last one fine` });
}
add({ method: 'GET', path: t('verify-email'), name: 'verifyEmail: no token' });
add({ method: 'GET', path: `${t('verify-email')}?token=${long(513)}`, name: 'verifyEmail: token too long' });
add({ method: 'GET', path: `/api/v1/auth/tenants/${long(64)}/verify-email`, name: 'verifyEmail: slug too long and no token' });
for (const limit of ['abc', '0', '101', '1.5', '0x10', '1e1', '', '-1', '5.0', ' 5', '1_0', '+5']) {
  add({ method: 'GET', path: `/api/v1/me/security-events?limit=${encodeURIComponent(limit)}&before=${limit === 'abc' ? 'x' : '0123456789abcdef01234567'}`, auth: true, name: `listSecurityEvents limit=${j(limit)}` });
}

const strip = (detail: unknown) =>
  Array.isArray(detail) ? detail.map(({ input: _input, url: _url, ...rest }: Record<string, unknown>) => rest) : detail;

async function send(base: string, c: Case, withToken: boolean) {
  const headers: Record<string, string> = {};
  if (c.body !== undefined) headers['content-type'] = 'application/json';
  if (withToken && c.auth) headers.authorization = `Bearer ${token}`;
  const reply = await fetch(`${base}${c.path}`, { method: c.method, headers, body: c.body });
  const text = await reply.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: reply.status, detail: strip(body?.detail ?? body) };
}

describe('422 answers equal FastAPI + pydantic 2 (replica)', () => {
  test('the replica runs the pinned versions', () => {
    expect(replica.versions).toMatchObject({ fastapi: '0.165.0', pydantic: '2.14.4', email_validator: '2.4.0' });
  });

  test(`${cases.length} invalid and lax requests`, async () => {
    const mismatches: string[] = [];
    let compared = 0;
    for (const c of cases) {
      if (c.python && !c.python(replica.versions.python!)) continue;
      const [ours, theirs] = await Promise.all([send(server.url, c, true), send(replica.url, c, false)]);
      // The replica answers 200 {} where the request is valid; so must the server (any 2xx-4xx but 422).
      if (theirs.status !== 422) {
        if (ours.status === 422) mismatches.push(`${c.name}: FastAPI accepts it, the server answers 422 ${JSON.stringify(ours.detail)}`);
        continue;
      }
      compared++;
      try {
        expect(ours.status).toBe(422);
        expect(ours.detail).toEqual(theirs.detail);
      } catch {
        const show = (v: unknown) => JSON.stringify(v).replace(/'[A-Z][a-z]+\/[^']+', /g, '').slice(0, 600);
        mismatches.push(`${c.name}:\n    server:  ${ours.status} ${show(ours.detail)}\n    FastAPI: ${theirs.status} ${show(theirs.detail)}`);
      }
    }
    expect(mismatches, mismatches.join('\n')).toEqual([]);
    // Most of the corpus is refused by FastAPI; the lax values it accepts are checked above.
    expect(compared).toBeGreaterThan(500);
  }, 120_000);
});
