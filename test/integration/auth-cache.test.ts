import { describe, expect, test } from 'vitest';
import { MongoClient, ObjectId, type CommandStartedEvent } from 'mongodb';
import { Database } from '../../handlers/store/database.ts';
import { useTwoReplicas } from '../support/suite.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';
import { RecentDocuments } from '../../handlers/store/recent-documents.ts';
import { ManualClock } from '../../handlers/core/clock.ts';
import type { UserDoc } from '../../handlers/store/users.ts';

// Authenticated requests reuse what an earlier request of the same process read (AUTH_CACHE_TTL_MS):
// the process's own writes take effect at once, another replica's at the next poll of the
// announcements (AUTH_CACHE_POLL_MS), changes behind ScaiKey's back within the TTL.
const replicas = useTwoReplicas();

async function signIn(server: TestServer, email: string, password = strongPassword) {
  const reply = await server.call('POST', '/api/v1/auth/login', { body: { email, password } });
  expect(reply.status).toBe(200);
  return reply.body as { access_token: string; refresh_token: string };
}

/** Counts the reads a server sends to the users and sessions collections while `work` runs. */
async function readsDuring(server: TestServer, work: () => Promise<unknown>): Promise<number> {
  let reads = 0;
  const listener = (event: CommandStartedEvent) => {
    if (event.commandName === 'find' && ['users', 'sessions'].includes(String(event.command.find))) reads++;
  };
  server.database.client.on('commandStarted', listener);
  try {
    await work();
  } finally {
    server.database.client.off('commandStarted', listener);
  }
  return reads;
}

describe('one replica', () => {
  test('a repeated request reads neither session nor user; a logout ends the token at once', async () => {
    const tenant = await createTenant(replicas.a);
    const { email } = await createUser(replicas.a, tenant);
    const tokens = await signIn(replicas.a, email);
    expect(await readsDuring(replicas.a, () => replicas.a.call('GET', '/api/v1/me', { token: tokens.access_token }))).toBeGreaterThan(0);
    const cached = await readsDuring(replicas.a, async () => {
      expect((await replicas.a.call('GET', '/api/v1/me', { token: tokens.access_token })).status).toBe(200);
    });
    expect(cached).toBe(0);
    expect((await replicas.a.call('POST', '/api/v1/auth/logout', { token: tokens.access_token })).status).toBe(200);
    expect((await replicas.a.call('GET', '/api/v1/me', { token: tokens.access_token })).status).toBe(401);
  });

  test('a profile change is visible to the next request', async () => {
    const tenant = await createTenant(replicas.a);
    const { email } = await createUser(replicas.a, tenant);
    const { access_token: token } = await signIn(replicas.a, email);
    expect((await replicas.a.call('GET', '/api/v1/me', { token })).body.display_name).toBeNull();
    expect((await replicas.a.call('PATCH', '/api/v1/me', { token, body: { display_name: 'Ada L.' } })).status).toBe(200);
    expect((await replicas.a.call('GET', '/api/v1/me', { token })).body.display_name).toBe('Ada L.');
  });

  test('a password change ends the other, cached sessions at once (a write not by _id evicts everything)', async () => {
    const tenant = await createTenant(replicas.a);
    const { email } = await createUser(replicas.a, tenant);
    const here = await signIn(replicas.a, email);
    const elsewhere = await signIn(replicas.a, email);
    expect((await replicas.a.call('GET', '/api/v1/me', { token: elsewhere.access_token })).status).toBe(200);
    const changed = await replicas.a.call('POST', '/api/v1/me/password', { token: here.access_token, body: { current_password: strongPassword, new_password: 'a changed long passphrase' } });
    expect(changed.status).toBe(200);
    expect((await replicas.a.call('GET', '/api/v1/me', { token: elsewhere.access_token })).status).toBe(401);
  });

  test('a user disabled by a direct write of this process is refused at once', async () => {
    const tenant = await createTenant(replicas.a);
    const { email } = await createUser(replicas.a, tenant);
    const { access_token: token } = await signIn(replicas.a, email);
    expect((await replicas.a.call('GET', '/api/v1/me', { token })).status).toBe(200);
    await replicas.a.database.db.collection<UserDoc>('users').updateOne({ email_normalized: email.toLowerCase() }, { $set: { status: 'disabled' } });
    expect((await replicas.a.call('GET', '/api/v1/me', { token })).status).toBe(401);
  });
});

describe('two replicas', () => {
  /** Polls replica `server`'s invalidations until `check` holds (announcements are fire and forget). */
  async function eventually(server: TestServer, check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 40; i++) {
      await server.database.pollInvalidations();
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('not seen within 1 s');
  }

  test("a change behind ScaiKey's back is seen within AUTH_CACHE_TTL_MS", async () => {
    const tenant = await createTenant(replicas.a);
    const { email } = await createUser(replicas.a, tenant);
    const { access_token: token } = await signIn(replicas.a, email);
    expect((await replicas.a.call('GET', '/api/v1/me', { token })).status).toBe(200);
    // First in this block: nothing has been announced yet (an announcement from an earlier test,
    // fire and forget, could land at any poll and evict everything), so only the TTL can reveal
    // the write made behind ScaiKey's back.
    await replicas.a.database.pollInvalidations();
    const shell = new MongoClient(replicas.a.testDb.uri);
    try {
      await shell.db(replicas.a.testDb.dbName).collection('sessions').updateMany({}, { $set: { revoked_at: new Date() } });
    } finally {
      await shell.close();
    }
    await replicas.a.database.pollInvalidations();
    expect((await replicas.a.call('GET', '/api/v1/me', { token })).status).toBe(200);
    replicas.a.clock.advance(replicas.a.config.AUTH_CACHE_TTL_MS / 1000);
    expect((await replicas.a.call('GET', '/api/v1/me', { token })).status).toBe(401);
  });

  test("another replica's logout is seen at this replica's next poll", async () => {
    const tenant = await createTenant(replicas.a);
    const { email } = await createUser(replicas.a, tenant);
    const { access_token: token } = await signIn(replicas.b, email);
    expect((await replicas.a.call('GET', '/api/v1/me', { token })).status).toBe(200);
    expect((await replicas.b.call('POST', '/api/v1/auth/logout', { token })).status).toBe(200);
    expect((await replicas.b.call('GET', '/api/v1/me', { token })).status).toBe(401);
    await eventually(replicas.a, async () => (await replicas.a.call('GET', '/api/v1/me', { token })).status === 401);
  });

  test('a write by another ScaiKey process (the admin CLI) reaches the replicas', async () => {
    const tenant = await createTenant(replicas.a);
    const { email } = await createUser(replicas.a, tenant);
    const { access_token: token } = await signIn(replicas.a, email);
    expect((await replicas.a.call('GET', '/api/v1/me', { token })).status).toBe(200);
    const cli = await Database.connect(replicas.a.testDb.uri, replicas.a.testDb.dbName);
    await cli.db.collection<UserDoc>('users').updateOne({ email_normalized: email.toLowerCase() }, { $set: { status: 'disabled' } });
    await cli.close(); // waits for its announcement
    await replicas.a.database.pollInvalidations();
    expect((await replicas.a.call('GET', '/api/v1/me', { token })).status).toBe(401);
  });

  test("a tenant disabled on another replica ends its users' tokens here at the next poll", async () => {
    const tenant = await createTenant(replicas.a);
    const { email } = await createUser(replicas.a, tenant);
    const { access_token: token } = await signIn(replicas.a, email);
    expect((await replicas.a.call('GET', '/api/v1/me', { token })).status).toBe(200);
    await replicas.b.domain.tenants.update(tenant.slug, { status: 'disabled' });
    await eventually(replicas.a, async () => (await replicas.a.call('GET', '/api/v1/me', { token })).status === 401);
  });

  test('a tenant disabled on another replica closes its hosted sign-in here at the next poll', async () => {
    const tenant = await createTenant(replicas.a);
    const { email } = await createUser(replicas.a, tenant);
    const login = () => replicas.a.call('POST', `/api/v1/auth/tenants/${tenant.slug}/login`, { body: { email, password: strongPassword } });
    expect((await login()).status).toBe(200);
    await replicas.b.domain.tenants.update(tenant.slug, { status: 'disabled' });
    await eventually(replicas.a, async () => (await login()).status === 404);
  });

  test("an app's regenerated secret or suspension on another replica takes effect at this replica's token endpoint at the next poll", async () => {
    const tenant = await createTenant(replicas.a);
    const created = await replicas.a.domain.applications.create({ name: 'Replicated service', application_type: 'SERVICE', scope: 'TENANT', tenant_id: tenant._id, allowed_scopes: ['api:read'] });
    const token = (secret: string) => fetch(`${replicas.a.url}/api/v1/auth/tenants/${tenant.slug}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${created.application.client_id}:${secret}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    }).then((reply) => reply.status);
    expect(await token(created.clientSecret!)).toBe(200);
    // Well inside the client cache's own 5 s: only the announcement can make replica a see these.
    const rotated = await replicas.b.domain.applications.rotateSecret(created.application);
    await eventually(replicas.a, async () => (await token(created.clientSecret!)) === 401);
    expect(await token(rotated.clientSecret!)).toBe(200);
    await replicas.b.domain.applications.update(rotated.application, { status: 'suspended' });
    await eventually(replicas.a, async () => (await token(rotated.clientSecret!)) === 401);
  });

  test('a refresh elsewhere only extends the session and is not announced', async () => {
    const tenant = await createTenant(replicas.a);
    const { email } = await createUser(replicas.a, tenant);
    const tokens = await signIn(replicas.b, email);
    const announcements = replicas.a.database.db.collection('cache_invalidations');
    const before = await announcements.countDocuments();
    expect((await replicas.b.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: tokens.refresh_token } })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200)); // announcements are fire and forget
    expect(await announcements.countDocuments()).toBe(before);
  });

  test('AUTH_CACHE_TTL_MS=0 reads the database on every request', async () => {
    const c = await startTestServer({ AUTH_CACHE_TTL_MS: '0' }, { shareDatabaseWith: replicas.a });
    try {
      const tenant = await createTenant(replicas.a);
      const { email } = await createUser(replicas.a, tenant);
      const { access_token: token } = await signIn(replicas.b, email);
      for (let i = 0; i < 2; i++) {
        expect(await readsDuring(c, () => c.call('GET', '/api/v1/me', { token }))).toBeGreaterThanOrEqual(2);
      }
      expect((await replicas.b.call('POST', '/api/v1/auth/logout', { token })).status).toBe(200);
      expect((await c.call('GET', '/api/v1/me', { token })).status).toBe(401);
    } finally {
      await c.stop();
    }
  });
});

describe('RecentDocuments', () => {
  const doc = () => ({ _id: new ObjectId(), name: 'x', nested: { list: [1, 2] }, at: new Date() });

  test('serves a read for the TTL by the injected clock, then reads again', async () => {
    const clock = new ManualClock();
    const cache = new RecentDocuments<ReturnType<typeof doc>>(1000, clock);
    const d = doc();
    let loads = 0;
    const load = async () => {
      loads++;
      return d;
    };
    await cache.get(d._id, load);
    await cache.get(d._id, load);
    expect(loads).toBe(1);
    clock.advance(1);
    await cache.get(d._id, load);
    expect(loads).toBe(2);
  });

  test('does not keep a read that overlapped an eviction, nor a missing document', async () => {
    const cache = new RecentDocuments<ReturnType<typeof doc>>(1000, new ManualClock());
    const d = doc();
    let release!: () => void;
    const slow = cache.get(d._id, () => new Promise((resolve) => (release = () => resolve(d))));
    cache.evict([d._id.toHexString()]);
    release();
    await slow;
    expect(cache.size).toBe(0);
    expect(await cache.get(d._id, async () => null)).toBeNull();
    expect(cache.size).toBe(0);
  });

  test('hands out frozen documents, except class instances inside them', async () => {
    const cache = new RecentDocuments<ReturnType<typeof doc>>(1000, new ManualClock());
    const d = doc();
    const got = await cache.get(d._id, async () => d);
    expect(Object.isFrozen(got)).toBe(true);
    expect(Object.isFrozen(got!.nested.list)).toBe(true);
    expect(Object.isFrozen(got!.at)).toBe(false);
    expect(() => {
      (got as { name: string }).name = 'y';
    }).toThrow(TypeError);
  });

  test('concurrent misses share one read', async () => {
    const cache = new RecentDocuments<ReturnType<typeof doc>>(1000, new ManualClock());
    const d = doc();
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return d;
    };
    const got = await Promise.all(Array.from({ length: 10 }, () => cache.get(d._id, load)));
    expect(loads).toBe(1);
    expect(new Set(got).size).toBe(1);
  });

  test('with a TTL of 0 every call loads', async () => {
    const cache = new RecentDocuments<ReturnType<typeof doc>>(0, new ManualClock());
    const d = doc();
    let loads = 0;
    for (let i = 0; i < 3; i++) await cache.get(d._id, async () => (loads++, d));
    expect(loads).toBe(3);
    expect(cache.enabled).toBe(false);
  });
});
