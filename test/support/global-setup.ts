// Vitest globalSetup: one throw-away database server for the whole run. Each test file then
// works in its own database on it (see ./database.ts), so files can run in parallel.
import type { TestProject } from 'vitest/node';
import { startLocalMongo } from '../../scripts/local-mongo.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the run's database server (no database name in the path). */
    mongoUri: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const db = await startLocalMongo({
    persistent: false,
    log: (msg) => console.info(`[test db] ${msg}`),
  });
  project.provide('mongoUri', db.uri);
  return () => db.stop();
}
