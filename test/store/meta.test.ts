import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../handlers/store/database.ts';
import type { MetaDoc } from '../../handlers/store/meta.ts';
import { isMigrated, schemaVersion } from '../../handlers/store/migrations.ts';
import { openTestStore } from '../support/store.ts';

describe('MetaStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  const raw = () => database.db.collection<MetaDoc>('meta');

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
  });
  afterAll(async () => store?.close());

  it('the migrated store records the current schema version', async () => {
    expect(await database.meta.schemaVersion()).toBe(schemaVersion);
    expect(await isMigrated(database)).toBe(true);
  });

  it('schemaVersion is null before any is recorded, or when the stored value is not a number', async () => {
    await raw().deleteMany({});
    expect(await database.meta.schemaVersion()).toBeNull();
    expect(await isMigrated(database)).toBe(false);
    await raw().insertOne({ _id: 'schema_version', value: '1', updated_at: new Date() });
    expect(await database.meta.schemaVersion()).toBeNull();
  });

  it('setSchemaVersion creates the record, then overwrites it (one document, upserted)', async () => {
    await raw().deleteMany({});
    const first = new Date('2030-01-01T00:00:00Z');
    const second = new Date('2030-01-02T00:00:00Z');
    await database.meta.setSchemaVersion(7, first);
    expect(await raw().find({}).toArray()).toEqual([{ _id: 'schema_version', value: 7, updated_at: first }]);
    await database.meta.setSchemaVersion(8, second);
    expect(await raw().find({}).toArray()).toEqual([{ _id: 'schema_version', value: 8, updated_at: second }]);
    expect(await database.meta.schemaVersion()).toBe(8);
    expect(await isMigrated(database)).toBe(false);
  });

  it('parallel setSchemaVersion calls (replicas starting together) leave one document', async () => {
    await raw().deleteMany({});
    await Promise.all(Array.from({ length: 10 }, () => database.meta.setSchemaVersion(schemaVersion, new Date())));
    expect(await raw().countDocuments({})).toBe(1);
    expect(await database.meta.schemaVersion()).toBe(schemaVersion);
  });
});
