import type { Collection, IndexSpecification } from 'mongodb';
import type { Database } from './database.ts';

/**
 * Collections and indexes, created explicitly at start-up (idempotent). Only features that both
 * MongoDB and FerretDB 1.x support are relied on. Expiry is always checked on read; deleting
 * expired documents is housekeeping: TTL indexes on MongoDB, the `sweepExpired` job where the
 * server (FerretDB 1.x) has no TTL support.
 */
export const schemaVersion = 1;

/** Collections and the date field after which (plus a margin) a document is garbage. */
export const expiringCollections = [
  { collection: 'sessions', field: 'absolute_expires_at', marginSeconds: 86_400 },
  { collection: 'refresh_tokens', field: 'expires_at', marginSeconds: 86_400 },
  { collection: 'flows', field: 'expires_at', marginSeconds: 3_600 },
  { collection: 'counters', field: 'expires_at', marginSeconds: 0 },
  { collection: 'trusted_devices', field: 'expires_at', marginSeconds: 86_400 },
  { collection: 'webauthn_challenges', field: 'expires_at', marginSeconds: 3_600 },
  { collection: 'cache_invalidations', field: 'created_at', marginSeconds: 600 },
] as const;

export interface MigrationResult {
  /** False when the server refused TTL indexes, so the sweeper must tidy up. */
  ttlSupported: boolean;
}

// One index per command: FerretDB 1.24 drops the connection when a createIndexes command lists
// several indexes that all exist already (every restart on a persistent database).
async function ensureIndexes(collection: Collection<any>, specs: Array<{ key: IndexSpecification; name: string; unique?: boolean }>): Promise<void> {
  for (const { key, ...options } of specs) await collection.createIndex(key, options);
}

export async function migrate(database: Database): Promise<MigrationResult> {
  const existing = new Set((await database.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const name of ['tenants', 'users', 'sessions', 'refresh_tokens', 'flows', 'signing_keys', 'counters', 'audit_events', 'meta', 'trusted_devices', 'webauthn_credentials', 'webauthn_challenges', 'cache_invalidations']) {
    if (!existing.has(name)) {
      try {
        await database.db.createCollection(name);
      } catch (error) {
        // Another replica may have created it between our listing and now.
        if ((error as { codeName?: string }).codeName !== 'NamespaceExists') throw error;
      }
    }
  }
  await ensureIndexes(database.tenants, [{ key: { slug: 1 }, name: 'slug_unique', unique: true }]);
  await ensureIndexes(database.users, [
    { key: { tenant_id: 1, email_normalized: 1 }, name: 'tenant_email_unique', unique: true },
    { key: { email_normalized: 1 }, name: 'email_lookup' },
  ]);
  await ensureIndexes(database.sessions, [{ key: { tenant_id: 1, user_id: 1 }, name: 'tenant_user' }]);
  await ensureIndexes(database.refreshTokens, [
    { key: { token_hash: 1 }, name: 'token_hash_unique', unique: true },
    { key: { session_id: 1 }, name: 'session' },
  ]);
  await ensureIndexes(database.flows, [{ key: { token_hash: 1 }, name: 'token_hash_unique', unique: true }]);
  await ensureIndexes(database.trustedDevices, [
    { key: { token_hash: 1 }, name: 'token_hash_unique', unique: true },
    { key: { user_id: 1 }, name: 'user' },
  ]);
  await ensureIndexes(database.webauthnCredentials, [
    { key: { credential_id: 1 }, name: 'credential_id_unique', unique: true },
    { key: { tenant_id: 1, user_id: 1 }, name: 'tenant_user' },
  ]);
  await ensureIndexes(database.auditEvents, [{ key: { tenant_id: 1, user_id: 1, created_at: -1 }, name: 'tenant_user_time' }]);
  let ttlSupported = true;
  for (const { collection, field, marginSeconds } of expiringCollections) {
    const coll = database.db.collection(collection);
    try {
      await coll.createIndex({ [field]: 1 }, { name: 'tidy_expired', expireAfterSeconds: marginSeconds });
    } catch (error) {
      if ((error as { codeName?: string }).codeName !== 'NotImplemented') throw error;
      ttlSupported = false;
      await coll.createIndex({ [field]: 1 }, { name: 'expiry' });
    }
  }
  await database.meta.updateOne(
    { _id: 'schema_version' },
    { $set: { value: schemaVersion, updated_at: new Date() } },
    { upsert: true },
  );
  return { ttlSupported };
}

/** Housekeeping where TTL indexes are unavailable; correctness never depends on it. */
export async function sweepExpired(database: Database, now: Date): Promise<number> {
  let removed = 0;
  for (const { collection, field, marginSeconds } of expiringCollections) {
    const cutoff = new Date(now.getTime() - marginSeconds * 1000);
    const result = await database.db.collection(collection).deleteMany({ [field]: { $lt: cutoff } });
    removed += result.deletedCount;
  }
  return removed;
}

export async function isMigrated(database: Database): Promise<boolean> {
  const doc = await database.meta.findOne({ _id: 'schema_version' });
  return doc?.value === schemaVersion;
}
