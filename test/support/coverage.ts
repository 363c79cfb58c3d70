import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every operation/status the integration tests make the real server answer is appended to
 * reports/operation-coverage.jsonl; test/contract/coverage.report.ts turns it into the report.
 */
const dir = join(process.cwd(), 'reports');
const file = join(dir, 'operation-coverage.jsonl');
let ready = false;

export function recordOperation(event: { operationId: string; status: number }): void {
  if (!ready) {
    mkdirSync(dir, { recursive: true });
    ready = true;
  }
  appendFileSync(file, `${JSON.stringify({ operationId: event.operationId, status: event.status })}\n`);
}
