// Prints CI's closing line: vitest's tests plus Schemathesis's cases (one per operation, counted
// by scripts/contract-test.ts from its JUnit report).
import { existsSync, readFileSync } from 'node:fs';

const vitest = JSON.parse(readFileSync('reports/vitest.json', 'utf8'));
let passed = vitest.numPassedTests;
let failed = vitest.numFailedTests;
let skipped = vitest.numPendingTests;

const contractPath = 'reports/contract/summary.json';
if (existsSync(contractPath)) {
  const contract = JSON.parse(readFileSync(contractPath, 'utf8'));
  passed += contract.passed;
  failed += contract.failed;
  skipped += contract.skipped;
}
// The OpenID Foundation's conformance suite: one test per module (scripts/conformance.ts).
const oidfPath = 'reports/oidf/summary.json';
if (existsSync(oidfPath)) {
  const oidf = JSON.parse(readFileSync(oidfPath, 'utf8'));
  passed += oidf.passed;
  failed += oidf.failed;
  skipped += oidf.skipped;
}
console.log(`ci: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
