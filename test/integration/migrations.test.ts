import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectTestDatabase, type TestDatabase } from '../support/database.ts';
import { Database } from '../../handlers/store/database.ts';
import { isMigrated, migrate, sweepExpired } from '../../handlers/store/migrations.ts';
import type { CounterDoc } from '../../handlers/store/counters.ts';
import type { UserDoc } from '../../handlers/store/users.ts';

let testDb: TestDatabase;
let database: Database;
beforeAll(async () => {
  testDb = await connectTestDatabase();
  database = Database.fromClient(testDb.client, testDb.dbName);
});
afterAll(async () => {
  await testDb?.cleanup();
});

test('migrations are idempotent and create the unique indexes the domain relies on', async () => {
  expect(await isMigrated(database)).toBe(false);
  await migrate(database);
  await migrate(database); // a restart on a persistent database
  expect(await isMigrated(database)).toBe(true);
  const users = database.db.collection<UserDoc>('users');
  const names = (await users.indexes()).map((i) => i.name);
  expect(names).toContain('tenant_email_unique');
  const tenantId = new (await import('mongodb')).ObjectId();
  const base = { tenant_id: tenantId, email_normalized: 'dup@example.com' } as never;
  await users.insertOne({ ...(base as object) } as never);
  await expect(users.insertOne({ ...(base as object) } as never)).rejects.toMatchObject({ code: 11000 });
  const otherTenant = { tenant_id: new (await import('mongodb')).ObjectId(), email_normalized: 'dup@example.com' } as never;
  await users.insertOne(otherTenant);
});

test('the sweeper removes only documents past their expiry margin', async () => {
  const now = new Date();
  const counters = database.db.collection<CounterDoc>('counters');
  await counters.insertMany([
    { _id: 'old', count: 1, window_started_at: now, expires_at: new Date(now.getTime() - 1000) },
    { _id: 'live', count: 1, window_started_at: now, expires_at: new Date(now.getTime() + 60_000) },
  ]);
  await sweepExpired(database, now);
  expect((await counters.find({}).toArray()).map((d) => d._id)).toEqual(['live']);
});
