import { Database } from '../../handlers/store/database.ts';
import { migrate } from '../../handlers/store/migrations.ts';
import { connectTestDatabase, type TestDatabase } from './database.ts';

/**
 * The store on a fresh, migrated database of its own, for the persistence suites under
 * test/store/: every query module runs against the real local database (FerretDB or MongoDB).
 */
export async function openTestStore(): Promise<{ database: Database; testDb: TestDatabase; close(): Promise<void> }> {
  const testDb = await connectTestDatabase();
  const database = await Database.connect(testDb.uri, testDb.dbName);
  await migrate(database);
  return {
    database,
    testDb,
    async close() {
      await database.close();
      await testDb.cleanup();
    },
  };
}
