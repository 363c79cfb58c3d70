// The hot queries must not get dearer as data grows: on the embedded FerretDB on PostgreSQL, a
// lookup by _id and a lookup by an indexed field are served by an index, not a table scan
// (FerretDB patch 3 in scripts/local-mongo/ferretdb.ts), and equality keeps MongoDB's semantics.
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Database } from '../../handlers/store/database.ts';
import { migrate } from '../../handlers/store/migrations.ts';
import { connectTestDatabase, type TestDatabase } from '../support/database.ts';

let t: TestDatabase;
let database: Database;
beforeAll(async () => {
  t = await connectTestDatabase();
  database = await Database.connect(t.uri, t.dbName);
  await migrate(database);
});
afterAll(async () => {
  await database?.close();
  await t?.cleanup();
});

/** PostgreSQL's plan node types for a command, or undefined when the server is not FerretDB on PostgreSQL. */
async function planNodes(command: Record<string, unknown>): Promise<string[] | undefined> {
  const explained = await t.db.command({ explain: command, verbosity: 'queryPlanner' });
  const plan = JSON.stringify(explained.queryPlanner ?? {});
  const nodes = [...plan.matchAll(/"Node Type":"([^"]+)"/g)].map((m) => m[1]!);
  return nodes.length > 0 ? nodes : undefined;
}

const usesIndex = (nodes: string[]) => nodes.some((n) => /Index Scan|Bitmap Index Scan/.test(n)) && !nodes.includes('Seq Scan');

describe('query plans of the hot lookups', () => {
  test('by _id, by token hash and by tenant + email: an index, not a scan, with many documents', async (ctx) => {
    const probe = await planNodes({ find: 'users', filter: { _id: new ObjectId() }, limit: 1 });
    if (!probe) ctx.skip(); // a real mongod plans its own way; this guards the embedded FerretDB
    const tenant = new ObjectId();
    const users = t.db.collection('users');
    const tokens = t.db.collection('refresh_tokens');
    for (let batch = 0; batch < 5; batch++) {
      await users.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: new ObjectId(), tenant_id: tenant, email_normalized: `u${batch}-${i}@example.com`, status: 'active' })));
      await tokens.insertMany(Array.from({ length: 1000 }, (_, i) => ({ _id: new ObjectId(), token_hash: `hash-${batch}-${i}`, session_id: new ObjectId(), rotated_at: null, revoked_at: null })));
    }
    const lookups: Array<[string, Record<string, unknown>]> = [
      ['user by _id', { find: 'users', filter: { _id: new ObjectId() }, limit: 1 }],
      ['counter by string _id', { find: 'counters', filter: { _id: 'acct:tenant:x:ada@example.com' }, limit: 1 }],
      ['refresh token by hash', { find: 'refresh_tokens', filter: { token_hash: 'hash-3-3', rotated_at: null, revoked_at: null }, limit: 1 }],
      ['user by tenant and email', { find: 'users', filter: { tenant_id: tenant, email_normalized: 'u2-2@example.com' }, limit: 1 }],
      ['accounts by email', { find: 'users', filter: { email_normalized: 'u2-2@example.com', status: { $ne: 'disabled' } } }],
    ];
    for (const [name, command] of lookups) expect({ name, index: usesIndex((await planNodes(command))!) }).toEqual({ name, index: true });
  });

  test('equality still matches arrays that hold the value, and _id equality is exact', async () => {
    const c = t.db.collection<{ _id: string | ObjectId; tags?: string[] }>('plans_semantics');
    await c.createIndex({ tags: 1 }, { name: 'tags' });
    await c.insertMany([{ _id: 'a', tags: ['x', 'y'] }, { _id: 'b', tags: ['y'] }, { _id: new ObjectId('65a000000000000000000001') }]);
    expect((await c.find({ tags: 'x' }).toArray()).map((d) => d._id)).toEqual(['a']);
    expect(await c.countDocuments({ tags: 'y' })).toBe(2);
    expect(await c.countDocuments({ _id: 'a' })).toBe(1);
    expect(await c.countDocuments({ _id: new ObjectId('65a000000000000000000001') })).toBe(1);
    expect(await c.countDocuments({ _id: '65a000000000000000000001' })).toBe(0);
  });
});
