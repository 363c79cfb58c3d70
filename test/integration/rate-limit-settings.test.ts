// The per-address limits of identify, register and forgot-password are settings
// (IDENTIFY_RATE_LIMIT, REGISTER_RATE_LIMIT/_WINDOW, FORGOT_PASSWORD_RATE_LIMIT/_EMAIL_LIMIT/_WINDOW).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../handlers/core/config.ts';
import { errorCatalogue } from '../../handlers/core/errors.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, strongPassword } from '../support/fixtures.ts';

describe('defaults are the limits the domain used to fix', () => {
  test('register 20 and forgot-password 20 per address (5 per account) per hour; identify 10 × IP_RATE_LIMIT', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      REGISTER_RATE_LIMIT: 20,
      REGISTER_RATE_WINDOW: 3600,
      FORGOT_PASSWORD_RATE_LIMIT: 20,
      FORGOT_PASSWORD_EMAIL_LIMIT: 5,
      FORGOT_PASSWORD_RATE_WINDOW: 3600,
    });
    expect(config.IDENTIFY_RATE_LIMIT).toBeUndefined();
  });

  test('a bad value is refused at start-up', () => {
    expect(() => loadConfig({ REGISTER_RATE_LIMIT: '0' })).toThrow(/REGISTER_RATE_LIMIT/);
    expect(() => loadConfig({ IDENTIFY_RATE_LIMIT: 'many' })).toThrow(/IDENTIFY_RATE_LIMIT/);
  });
});

describe('lowered settings take effect', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      IDENTIFY_RATE_LIMIT: '2',
      REGISTER_RATE_LIMIT: '2',
      REGISTER_RATE_WINDOW: '60',
      FORGOT_PASSWORD_RATE_LIMIT: '3',
      FORGOT_PASSWORD_EMAIL_LIMIT: '2',
      FORGOT_PASSWORD_RATE_WINDOW: '120',
      SCAIKEY_OUTBOX_DIR: join(tmpdir(), 'scaikey-rate-limit-settings-outbox'),
    });
  });
  afterAll(async () => {
    await server?.stop();
  });
  const tooMany = { detail: errorCatalogue.tooManyRequests.detail };

  test('IDENTIFY_RATE_LIMIT identifies per address (IP_RATE_LIMIT stays at its default 100)', async () => {
    for (let i = 0; i < 2; i++) expect((await server.call('POST', '/api/v1/auth/identify', { body: { email: `probe${i}@example.com` } })).status).toBe(200);
    const limited = await server.call('POST', '/api/v1/auth/identify', { body: { email: 'probe-x@example.com' } });
    expect([limited.status, limited.body]).toEqual([429, tooMany]);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('REGISTER_RATE_LIMIT registrations per address per REGISTER_RATE_WINDOW', async () => {
    const tenant = await createTenant(server, { self_registration: true });
    const register = (n: string) =>
      server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/register`, { body: { email: `reg.${n}.${Date.now()}@example.com`, password: strongPassword, first_name: 'Ada', last_name: 'L' } });
    expect((await register('a')).status).toBe(200);
    expect((await register('b')).status).toBe(200);
    const limited = await register('c');
    expect([limited.status, limited.body]).toEqual([429, tooMany]);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    server.clock.advance(61);
    expect((await register('d')).status).toBe(200);
  });

  test('FORGOT_PASSWORD_EMAIL_LIMIT per account and FORGOT_PASSWORD_RATE_LIMIT per address', async () => {
    const tenant = await createTenant(server);
    const forgot = (email: string) => server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/forgot-password`, { body: { email } });
    const same = `ghost.${Date.now()}@example.com`;
    expect((await forgot(same)).status).toBe(200);
    expect((await forgot(same)).status).toBe(200);
    const perAccount = await forgot(same);
    expect([perAccount.status, perAccount.body]).toEqual([429, tooMany]);
    // The address has made 3 requests: the next one, for another account, is over its budget.
    const perAddress = await server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/password/forgot`, { body: { email: `other.${Date.now()}@example.com` } });
    expect([perAddress.status, perAddress.body]).toEqual([429, tooMany]);
    expect(Number(perAddress.headers.get('retry-after'))).toBeGreaterThan(60);
    server.clock.advance(121);
    expect((await forgot(same)).status).toBe(200);
  });
});
