/**
 * `generated/` (and `mocks/generated/` when present) must be exactly what `npm run generate`
 * produces from spec/openapi.yaml. Runs the real `npm run check:drift` script (openapi-generator
 * JAR included, several seconds; longer on a fresh machine that downloads the JAR).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/generate.ts';

function runCheckDrift(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'check-drift.ts')], { cwd: ROOT, env: process.env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('generated code', () => {
  it('is up to date with spec/openapi.yaml (npm run check:drift)', { timeout: 300_000 }, async () => {
    const { code, output } = await runCheckDrift();
    expect(code, output).toBe(0);
  });
});
