// Database commands per operation, counted by command monitoring on the server's own client: the
// budget of the hot paths (issue: performance). A change that adds a round trip to one of them
// fails here, whatever the machine's speed.
import type { CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';
import { ObjectId } from 'mongodb';
import type { TenantDoc } from '../../handlers/store/tenants.ts';
import type { AuthorizationCodeDoc } from '../../handlers/store/authorization-codes.ts';
import { hashToken, newOpaqueToken } from '../../handlers/domain/crypto/secrets.ts';
import { tenantIssuerUrl } from '../../handlers/core/oauth-paths.ts';

let server: TestServer;
beforeAll(async () => {
  // The cross-replica cache poll is background work, not the operation's: keep it out of the counts.
  server = await startTestServer({ AUTH_CACHE_POLL_MS: '5000' });
});
afterAll(async () => {
  await server?.stop();
});

/** Commands the server sends while `work` runs (connection upkeep and the cache poll left out). */
async function commandsDuring(work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (event: CommandStartedEvent) => {
    if (['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'saslStart', 'saslContinue'].includes(event.commandName)) return;
    const collection = String(event.command[event.commandName] ?? '');
    if (event.commandName === 'find' && collection === 'cache_invalidations') return;
    seen.push(`${event.commandName} ${collection}`);
  };
  server.database.client.on('commandStarted', listener);
  try {
    await work();
    // Fire-and-forget writes the operation started (an audit event, a hash upgrade) count too.
    await new Promise((resolve) => setTimeout(resolve, 150));
  } finally {
    server.database.client.off('commandStarted', listener);
  }
  return seen;
}

/** The budget table: operation → most commands allowed (the README's benchmark section prints the same). */
// The target still above the budget: login 4. Today it is five: the account; one update that
// counts the address and reserves on the account's counter before the hash; the counter's
// clearing after it; the session; the audit event. The hosted page's tenant comes from the cache.
export const commandBudget = {
  'POST /api/v1/auth/refresh': 1,
  'GET /api/v1/me (cached)': 0,
  'POST /api/v1/auth/identify': 2,
  'POST /api/v1/auth/tenants/{slug}/login': 5,
  'POST /api/v1/auth/login': 5,
  // The usual case of a user signing in once a day: TTL has removed the address's and the
  // account's counters, and the same update opens them again as it counts.
  'POST /api/v1/auth/login (its counters expired and removed)': 5,
  'POST …/oauth/token (client_credentials)': 0,
  'POST …/oauth/token (authorization_code)': 2,
  'POST …/oauth/token (refresh_token)': 1,
} as const;

/** A WEB and a SERVICE app of the tenant, and an authorization code as the authorization endpoint stores it. */
async function oauthFixtures(server: TestServer, tenant: TenantDoc, userId: ObjectId) {
  const issuer = tenantIssuerUrl(server.config.PUBLIC_BASE_URL.replace(/\/+$/, ''), tenant.slug);
  const redirectUri = 'https://rp.example/callback';
  const service = await server.domain.applications.create({ name: 'Budget service', application_type: 'SERVICE', scope: 'TENANT', tenant_id: tenant._id, allowed_scopes: ['api:read'] });
  const web = await server.domain.applications.create({ name: 'Budget web', application_type: 'WEB', scope: 'TENANT', tenant_id: tenant._id, redirect_uris: [redirectUri], skip_consent: true });
  const browser = (await server.domain.sessions.createBrowserSession({ tenantId: tenant._id, userId, rememberMe: false, amr: ['pwd'], clientIp: '127.0.0.1', userAgent: 'budget' })).session;
  const newCode = async () => {
    const code = newOpaqueToken('ac');
    const now = server.clock.now();
    await server.database.db.collection<AuthorizationCodeDoc>('authorization_codes').insertOne({
      _id: hashToken(code), issuer, client_id: web.application.client_id, tenant_id: tenant._id, user_id: userId, browser_session_id: browser._id,
      grant_session_id: new ObjectId(), redirect_uri: redirectUri, scope: 'openid profile email offline_access', nonce: null, code_challenge: null,
      auth_time: browser.created_at, amr: ['pwd'], acr: 'urn:scaikey:acr:pwd', claims: null, created_at: now, expires_at: new Date(now.getTime() + 60_000), consumed_at: null,
    });
    return code;
  };
  const basic = (app: { application: { client_id: string }; clientSecret: string | null }) => `Basic ${Buffer.from(`${app.application.client_id}:${app.clientSecret}`).toString('base64')}`;
  const token = async (form: Record<string, string>, authorization: string) => {
    const reply = await fetch(`${server.url}/api/v1/auth/tenants/${tenant.slug}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization }, body: new URLSearchParams(form) });
    return { status: reply.status, body: (await reply.json()) as Record<string, string> };
  };
  return {
    clientCredentials: () => token({ grant_type: 'client_credentials', scope: 'api:read' }, basic(service)),
    newCode,
    exchange: async (code?: string) => token({ grant_type: 'authorization_code', code: code ?? (await newCode()), redirect_uri: redirectUri }, basic(web)),
    refresh: (refreshToken: string) => token({ grant_type: 'refresh_token', refresh_token: refreshToken }, basic(web)),
  };
}

describe('database commands per operation', () => {
  test('stay within the budget table', async () => {
    const tenant = await createTenant(server);
    const { email, user } = await createUser(server, tenant);
    // Warm what any running server has warm: the signing keys, the tenant cache, the apps.
    await server.call('POST', '/api/v1/auth/identify', { body: { email } });
    expect((await server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email, password: strongPassword } })).status).toBe(200);
    const oauth = await oauthFixtures(server, tenant, user._id);
    expect((await oauth.clientCredentials()).status).toBe(200);
    const warm = await oauth.exchange();
    expect(warm.status).toBe(200);
    expect((await oauth.refresh(warm.body['refresh_token']!)).status).toBe(200);
    const granted = await oauth.exchange();
    const first = await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } });
    expect(first.status).toBe(200);
    await server.call('GET', '/api/v1/me', { token: first.body.access_token });
    const rotated = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: first.body.refresh_token } });
    // A refresh writes the session, which evicts this process's copy: the next bearer check reads it once.
    await server.call('GET', '/api/v1/me', { token: rotated.body.access_token });

    // Evaluated in this order: the cached GET /me before the refresh that evicts the session again.
    const counts: Record<keyof typeof commandBudget, string[]> = {
      'GET /api/v1/me (cached)': await commandsDuring(async () => {
        expect((await server.call('GET', '/api/v1/me', { token: rotated.body.access_token })).status).toBe(200);
      }),
      'POST /api/v1/auth/refresh': await commandsDuring(async () => {
        const reply = await server.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: rotated.body.refresh_token } });
        expect(reply.status).toBe(200);
      }),
      'POST /api/v1/auth/identify': await commandsDuring(async () => {
        expect((await server.call('POST', '/api/v1/auth/identify', { body: { email } })).status).toBe(200);
      }),
      'POST /api/v1/auth/tenants/{slug}/login': await commandsDuring(async () => {
        expect((await server.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email, password: strongPassword } })).status).toBe(200);
      }),
      'POST /api/v1/auth/login': await commandsDuring(async () => {
        expect((await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } })).status).toBe(200);
      }),
      'POST /api/v1/auth/login (its counters expired and removed)': await (async () => {
        await server.database.db.collection('counters').deleteMany({});
        return commandsDuring(async () => expect((await server.call('POST', '/api/v1/auth/login', { body: { email, password: strongPassword } })).status).toBe(200));
      })(),
      'POST …/oauth/token (client_credentials)': await commandsDuring(async () => {
        expect((await oauth.clientCredentials()).status).toBe(200);
      }),
      // The code is stored before the count starts (the authorization endpoint's write, not the exchange's).
      'POST …/oauth/token (authorization_code)': await (async () => {
        const code = await oauth.newCode();
        return commandsDuring(async () => expect((await oauth.exchange(code)).status).toBe(200));
      })(),
      'POST …/oauth/token (refresh_token)': await commandsDuring(async () => {
        expect((await oauth.refresh(granted.body['refresh_token']!)).status).toBe(200);
      }),
    };
    const table = Object.entries(counts).map(([operation, commands]) => ({ operation, commands: commands.length, budget: commandBudget[operation as keyof typeof commandBudget], detail: commands.join(', ') }));
    console.table(table);
    for (const row of table) expect({ operation: row.operation, within: row.commands <= row.budget, detail: row.detail }).toMatchObject({ operation: row.operation, within: true });
  });
});
