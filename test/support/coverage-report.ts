import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * Contract coverage: which operationIds and documented statuses the integration tests made the
 * real server answer (recorded by test/support/coverage.ts). Written to reports/operation-coverage.md.
 * The run fails when an operation never reached its success response, or never reached its 422
 * although it has input that validation can reject (body, path or query).
 */
const reportDir = join(process.cwd(), 'reports');
const eventsFile = join(reportDir, 'operation-coverage.jsonl');

interface Operation {
  operationId: string;
  statuses: string[];
  validatedInput: boolean;
}

function documentedOperations(): Operation[] {
  const spec = parse(readFileSync(join(process.cwd(), 'spec/openapi.yaml'), 'utf8')) as {
    paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown>; requestBody?: unknown; parameters?: Array<{ in?: string; $ref?: string }> }>>;
    components: { parameters: Record<string, { in: string }> };
  };
  const ops: Operation[] = [];
  for (const item of Object.values(spec.paths)) {
    for (const op of Object.values(item)) {
      const params = (op.parameters ?? []).map((p) => (p.$ref ? spec.components.parameters[p.$ref.split('/').pop()!]! : p));
      const validatedInput = Boolean(op.requestBody) || params.some((p) => p.in === 'path' || p.in === 'query');
      ops.push({ operationId: op.operationId, statuses: Object.keys(op.responses), validatedInput });
    }
  }
  return ops;
}

export function setup(): void {
  // Only a full run (no file filter) enforces coverage; a partial run just reports.
  rmSync(eventsFile, { force: true });
}

export function teardown(): void {
  if (!existsSync(eventsFile)) return;
  const seen = new Map<string, Set<string>>();
  for (const line of readFileSync(eventsFile, 'utf8').split('\n')) {
    if (!line) continue;
    const { operationId, status } = JSON.parse(line) as { operationId: string; status: number };
    if (!seen.has(operationId)) seen.set(operationId, new Set());
    seen.get(operationId)!.add(String(status));
  }
  const ops = documentedOperations();
  const lines = ['# Operation coverage', '', '| operationId | documented | exercised | missing |', '|---|---|---|---|'];
  const problems: string[] = [];
  for (const op of ops) {
    const got = seen.get(op.operationId) ?? new Set<string>();
    const missing = op.statuses.filter((s) => !got.has(s));
    lines.push(`| ${op.operationId} | ${op.statuses.join(' ')} | ${[...got].sort().join(' ')} | ${missing.join(' ')} |`);
    // A redirect is the success of the OpenID provider's authorize and logout endpoints.
    if (!op.statuses.some((s) => (s.startsWith('2') || s === '303') && got.has(s))) problems.push(`${op.operationId}: no test reached a success response`);
    if (op.validatedInput && op.statuses.includes('422') && !got.has('422')) problems.push(`${op.operationId}: no test reached its 422`);
  }
  mkdirSync(reportDir, { recursive: true });
  writeFileSync(join(reportDir, 'operation-coverage.md'), `${lines.join('\n')}\n`);
  const fullRun = process.env.SCAIKEY_COVERAGE_ENFORCE === '1';
  if (problems.length > 0) {
    const message = `Contract coverage incomplete (reports/operation-coverage.md):\n  ${problems.join('\n  ')}`;
    if (fullRun) throw new Error(message);
    console.warn(message);
  }
}
