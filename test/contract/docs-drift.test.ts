import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { REFERENCE_DIR, referenceTags, renderReferencePage, tagSlug } from '../../scripts/render-reference.ts';
import { loadSpec } from '../../handlers/core/spec.ts';

// The committed reference pages (docs/reference) are what `npm run docs` renders from the spec.
test('docs/reference is up to date with the spec (run npm run docs)', () => {
  const spec = loadSpec() as never;
  for (const tag of referenceTags(spec)) {
    const committed = readFileSync(join(REFERENCE_DIR, `${tagSlug(tag)}.md`), 'utf8');
    expect(committed, `docs/reference/${tagSlug(tag)}.md`).toBe(renderReferencePage(spec, tag));
  }
});
