import { expect, test } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { loadSpec } from '../../handlers/core/spec.ts';

// The router skips definition checks (its validator knows OAS 3.0 only); this holds the spec to 3.1.
test('spec/openapi.yaml is a valid OpenAPI 3.1 document', async () => {
  const validator = new Validator();
  const result = await validator.validate(loadSpec() as never);
  expect(validator.version).toBe('3.1');
  expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
  expect(result.valid).toBe(true);
});
