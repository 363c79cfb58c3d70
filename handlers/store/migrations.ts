import type { Collection } from 'mongodb';
import type { IndexSpec } from './collection.ts';
import { collections } from './collections.ts';
import type { Database } from './database.ts';

/**
 * Collections and indexes, created explicitly at start-up (idempotent). Only features that both
 * MongoDB and FerretDB 1.x support are relied on. Expiry is always checked on read; deleting
 * expired documents is housekeeping: TTL indexes on MongoDB, the `sweepExpired` job where the
 * server (FerretDB 1.x) has no TTL support.
 */
export const schemaVersion = 1;

export interface MigrationResult {
  /** False when the server refused TTL indexes, so the sweeper must tidy up. */
  ttlSupported: boolean;
}

// One index per command: FerretDB 1.24 drops the connection when a createIndexes command lists
// several indexes that all exist already (every restart on a persistent database).
async function ensureIndexes(collection: Collection<any>, specs: IndexSpec[]): Promise<void> {
  for (const { key, ...options } of specs) await collection.createIndex(key, options);
}

export async function migrate(database: Database): Promise<MigrationResult> {
  const existing = new Set((await database.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const { name } of collections) {
    if (!existing.has(name)) {
      try {
        await database.db.createCollection(name);
      } catch (error) {
        // Another replica may have created it between our listing and now.
        if ((error as { codeName?: string }).codeName !== 'NamespaceExists') throw error;
      }
    }
  }
  let ttlSupported = true;
  for (const { name, indexes, expiry } of collections) {
    const coll = database.db.collection(name);
    await ensureIndexes(coll, indexes);
    if (!expiry) continue;
    try {
      await coll.createIndex({ [expiry.field]: 1 }, { name: 'tidy_expired', expireAfterSeconds: expiry.marginSeconds });
    } catch (error) {
      if ((error as { codeName?: string }).codeName !== 'NotImplemented') throw error;
      ttlSupported = false;
      await coll.createIndex({ [expiry.field]: 1 }, { name: 'expiry' });
    }
  }
  await database.meta.setSchemaVersion(schemaVersion, new Date());
  return { ttlSupported };
}

/** Housekeeping where TTL indexes are unavailable; correctness never depends on it. */
export async function sweepExpired(database: Database, now: Date): Promise<number> {
  let removed = 0;
  for (const { name, expiry } of collections) {
    if (!expiry) continue;
    const cutoff = new Date(now.getTime() - expiry.marginSeconds * 1000);
    const result = await database.db.collection(name).deleteMany({ [expiry.field]: { $lt: cutoff } });
    removed += result.deletedCount;
  }
  return removed;
}

export async function isMigrated(database: Database): Promise<boolean> {
  return (await database.meta.schemaVersion()) === schemaVersion;
}
