import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { OpenAPIV3_1 } from 'openapi-types';

export const specPath = fileURLToPath(new URL('../../spec/openapi.yaml', import.meta.url));

let cached: OpenAPIV3_1.Document | undefined;

/** The contract, parsed once. Callers get a deep copy because openapi-backend dereferences in place. */
export function loadSpec(): OpenAPIV3_1.Document {
  cached ??= parse(readFileSync(specPath, 'utf8')) as OpenAPIV3_1.Document;
  return structuredClone(cached);
}

