// The local database (whatever startLocalMongo picked: mongod, FerretDB, or MONGODB_URI) must
// provide the MongoDB behaviour the store relies on. See DESIGN.md, "Local database for tests".
import { existsSync } from 'node:fs';
import { MongoClient, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalMongo } from '../../scripts/local-mongo.ts';
import { findPostgres } from '../../scripts/local-mongo/postgres.ts';
import { connectTestDatabase, testDatabaseName, type TestDatabase } from '../support/database.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await connectTestDatabase();
});
afterAll(async () => {
  await t?.cleanup();
});

const isDuplicateKey = (err: unknown) => err instanceof MongoServerError && err.code === 11000;

describe('local database', () => {
  it('accepts inserts and finds them', async () => {
    const users = t.db.collection<{ _id: string; email: string; createdAt: Date }>('users');
    const createdAt = new Date('2024-01-02T03:04:05.678Z');
    await users.insertOne({ _id: 'u1', email: 'ada@example.com', createdAt });

    expect(await users.findOne({ email: 'ada@example.com' })).toEqual({ _id: 'u1', email: 'ada@example.com', createdAt });
  });

  it('enforces a unique compound index on insert and on update (E11000)', async () => {
    const members = t.db.collection('members');
    await members.createIndex({ tenantId: 1, email: 1 }, { unique: true });
    await members.insertOne({ tenantId: 't1', email: 'a@example.com' });
    await members.insertOne({ tenantId: 't2', email: 'a@example.com' }); // other tenant: fine
    const { insertedId } = await members.insertOne({ tenantId: 't1', email: 'b@example.com' });

    await expect(members.insertOne({ tenantId: 't1', email: 'a@example.com' })).rejects.toSatisfy(isDuplicateKey);
    await expect(
      members.updateOne({ _id: insertedId }, { $set: { email: 'a@example.com' } }),
    ).rejects.toSatisfy(isDuplicateKey);
    await expect(
      members.findOneAndUpdate({ _id: insertedId }, { $set: { email: 'a@example.com' } }),
    ).rejects.toSatisfy(isDuplicateKey);
    expect(await members.countDocuments({ tenantId: 't1', email: 'a@example.com' })).toBe(1);
  });

  it('makes a guarded findOneAndUpdate atomic: of 20 concurrent calls exactly one wins', async () => {
    const codes = t.db.collection<{ _id: string; state: string; usedBy?: number; uses: number }>('codes');
    await codes.insertOne({ _id: 'c1', state: 'unused', uses: 0 });

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        codes.findOneAndUpdate(
          { _id: 'c1', state: 'unused' },
          { $set: { state: 'used', usedBy: i }, $inc: { uses: 1 } },
          { returnDocument: 'after' },
        ),
      ),
    );

    const winners = results.filter((r) => r !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatchObject({ _id: 'c1', state: 'used', uses: 1 }); // 'after' image
    expect(await codes.findOne({ _id: 'c1' })).toMatchObject({ state: 'used', uses: 1, usedBy: winners[0]!.usedBy });
  });

  it('loses no concurrent $inc and upserts once with $setOnInsert', async () => {
    const counters = t.db.collection<{ _id: string; n: number; first?: number }>('counters');
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        counters.findOneAndUpdate(
          { _id: 'hits' },
          { $inc: { n: 1 }, $setOnInsert: { first: i } },
          { upsert: true, returnDocument: 'after' },
        ),
      ),
    );
    const doc = await counters.findOne({ _id: 'hits' });
    expect(doc?.n).toBe(50);
    expect(typeof doc?.first).toBe('number');
  });

  it('gives each test database its own data', async () => {
    const other = await connectTestDatabase({ prefix: 'isolation' });
    try {
      expect(other.dbName).not.toBe(t.dbName);
      await t.db.collection('shared').insertOne({ from: 'first' });
      await other.db.collection('shared').insertOne({ from: 'second' });

      expect(await t.db.collection('shared').find({}, { projection: { _id: 0 } }).toArray()).toEqual([{ from: 'first' }]);
      expect(await other.db.collection('shared').find({}, { projection: { _id: 0 } }).toArray()).toEqual([{ from: 'second' }]);
    } finally {
      await other.cleanup();
    }
    const names = (await t.client.db('admin').admin().listDatabases()).databases.map((d) => d.name);
    expect(names).not.toContain(other.dbName);
  });

  it('names test databases within FerretDB limits', () => {
    const long = testDatabaseName('A very/long:prefix.'.repeat(10));
    expect(long).toMatch(/^[a-z0-9_-]{1,63}$/);
    expect(testDatabaseName()).toMatch(/^local-mongo_[0-9a-f]{10}$/);
    expect(t.dbName).toMatch(/^local-mongo_/); // named from beforeAll too
    expect(testDatabaseName('x')).not.toBe(testDatabaseName('x'));
  });
});

describe('startLocalMongo', () => {
  it('uses MONGODB_URI as given and starts nothing', async () => {
    const saved = process.env.MONGODB_URI;
    // Nothing listens on port 1: this passes only if the launcher neither starts nor pings.
    process.env.MONGODB_URI = 'mongodb://user:secret@127.0.0.1:1/scaikey';
    const lines: string[] = [];
    try {
      const started = Date.now();
      const db = await startLocalMongo({ persistent: false, log: (m) => lines.push(m) });
      expect(db.kind).toBe('uri');
      expect(db.uri).toBe('mongodb://user:secret@127.0.0.1:1/scaikey');
      await db.stop();
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(lines.join('\n')).toContain('MONGODB_URI');
      expect(lines.join('\n')).not.toContain('secret');
    } finally {
      if (saved === undefined) delete process.env.MONGODB_URI;
      else process.env.MONGODB_URI = saved;
    }
  });

  it('rejects an unknown SCAIKEY_LOCAL_DB', async () => {
    const saved = { uri: process.env.MONGODB_URI, db: process.env.SCAIKEY_LOCAL_DB };
    delete process.env.MONGODB_URI;
    process.env.SCAIKEY_LOCAL_DB = 'oracle';
    try {
      await expect(startLocalMongo({ persistent: false, log: () => {} })).rejects.toThrow(/SCAIKEY_LOCAL_DB=oracle/);
    } finally {
      restoreEnv('MONGODB_URI', saved.uri);
      restoreEnv('SCAIKEY_LOCAL_DB', saved.db);
    }
  });

  it.runIf(!process.env.MONGODB_URI)(
    'runs FerretDB on PostgreSQL when asked, and stop() removes everything',
    async (ctx) => {
      if (!(await findPostgres())) ctx.skip(); // no PostgreSQL on this machine
      const saved = process.env.SCAIKEY_LOCAL_DB;
      process.env.SCAIKEY_LOCAL_DB = 'ferretdb-postgres';
      const lines: string[] = [];
      try {
        const db = await startLocalMongo({ persistent: false, log: (m) => lines.push(m) });
        const dataDir = /data in (\S+)/.exec(lines.join('\n'))?.[1];
        try {
          expect(db.kind).toBe('ferretdb-postgres');
          expect(dataDir && existsSync(dataDir)).toBe(true);
          const client = new MongoClient(db.uri);
          try {
            const c = client.db('ferretdb_postgres_check').collection('docs');
            await c.createIndex({ email: 1 }, { unique: true });
            await c.insertOne({ email: 'a@example.com' });
            await expect(c.insertOne({ email: 'a@example.com' })).rejects.toSatisfy(isDuplicateKey);
            expect(await c.countDocuments({ email: 'a@example.com' })).toBe(1);
          } finally {
            await client.close();
          }
        } finally {
          await db.stop();
        }
        expect(existsSync(dataDir!)).toBe(false);
      } finally {
        restoreEnv('SCAIKEY_LOCAL_DB', saved);
      }
    },
    60_000,
  );
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
