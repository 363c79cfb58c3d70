// Database commands per operation, counted by command monitoring on the server's own client: the
// budget of the hot paths (issue: performance). A change that adds a round trip to one of them
// fails here, whatever the machine's speed.
import type { CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';

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
// The target still above the budget: login 4. Today it is six: the account, the address's attempt
// counter, the account's counter (reserved before the hash, cleared after it), the session and the
// audit event; the hosted page's tenant comes from the cache.
export const commandBudget = {
  'POST /api/v1/auth/refresh': 1,
  'GET /api/v1/me (cached)': 0,
  'POST /api/v1/auth/identify': 2,
  'POST /api/v1/auth/tenants/{slug}/login': 6,
  'POST /api/v1/auth/login': 6,
} as const;

describe('database commands per operation', () => {
  test('stay within the budget table', async () => {
    const tenant = await createTenant(server);
    const { email } = await createUser(server, tenant);
    // Warm what any running server has warm: the signing keys, the tenant cache.
    await server.call('POST', '/api/v1/auth/identify', { body: { email } });
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
    };
    const table = Object.entries(counts).map(([operation, commands]) => ({ operation, commands: commands.length, budget: commandBudget[operation as keyof typeof commandBudget], detail: commands.join(', ') }));
    console.table(table);
    for (const row of table) expect({ operation: row.operation, within: row.commands <= row.budget, detail: row.detail }).toMatchObject({ operation: row.operation, within: true });
  });
});
