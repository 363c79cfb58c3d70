// Prints CI's closing line: vitest's tests plus Schemathesis's JUnit cases (one per operation).
import { existsSync, readFileSync } from 'node:fs';

const vitest = JSON.parse(readFileSync('reports/vitest.json', 'utf8'));
let passed = vitest.numPassedTests;
let failed = vitest.numFailedTests;
let skipped = vitest.numPendingTests;

const junitPath = 'reports/contract/junit.xml';
const suites = existsSync(junitPath) ? readFileSync(junitPath, 'utf8').match(/<testsuites\b[^>]*>/)?.[0] : undefined;
if (suites) {
  const count = (name) => Number(suites.match(new RegExp(`\\b${name}="(\\d+)"`))?.[1] ?? 0);
  const bad = count('failures') + count('errors');
  passed += count('tests') - bad - count('skipped');
  failed += bad;
  skipped += count('skipped');
}
console.log(`ci: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
