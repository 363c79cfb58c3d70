// Per-test-file databases on the server started by ./global-setup.ts.
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { expect, inject } from 'vitest';
import type {} from './global-setup.ts'; // brings in the ProvidedContext['mongoUri'] type

const MAX_DB_NAME = 63; // FerretDB: ^[a-zA-Z0-9_-]{1,63}$

/**
 * A database name unique to this call: `<prefix or test file name>_<random>`, lower-cased
 * (MongoDB refuses names differing only in case) and limited to FerretDB's allowed characters.
 */
export function testDatabaseName(prefix?: string): string {
  const testPath = expect.getState().testPath;
  const base = prefix ?? (testPath ? basename(testPath).replace(/\.test\.[cm]?[jt]sx?$/, '') : 'test');
  const suffix = randomBytes(5).toString('hex');
  const clean =
    base
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, MAX_DB_NAME - suffix.length - 1) || 'test';
  return `${clean}_${suffix}`;
}

export interface TestDatabase {
  client: MongoClient;
  db: Db;
  uri: string;
  dbName: string;
  /** Drops the database and closes the client. Safe to call twice. */
  cleanup(): Promise<void>;
}

export async function connectTestDatabase(opts: { prefix?: string } = {}): Promise<TestDatabase> {
  const uri = inject('mongoUri');
  if (!uri) throw new Error('mongoUri not provided: is test/support/global-setup.ts in vitest globalSetup?');
  const dbName = testDatabaseName(opts.prefix);
  const client = await new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 }).connect();
  const db = client.db(dbName);
  let closed: Promise<void> | undefined;
  return {
    client,
    db,
    uri,
    dbName,
    cleanup: () =>
      (closed ??= (async () => {
        try {
          await db.dropDatabase();
        } finally {
          await client.close();
        }
      })()),
  };
}
