/**
 * The reference pages rendered from spec/openapi.yaml against the published ScaiKey pages
 * (../shared/seeds, or $SCAIKEY_SEEDS_DIR):
 *
 * - 001 is the Profile page's markdown source: the upstream Profile page must equal it (modulo
 *   trailing whitespace).
 * - 000, 003 and 004 are the Profile, Authentication and Portal Auth pages rendered to text (that
 *   rendering dropped backticks, links and request-body lines, and the "→" before code or a
 *   link). Our markdown is put through the same text conversion (checked on the 001/000 pair),
 *   both texts are parsed into facts (endpoints, parameter rows, response rows, schemas, field
 *   rows with type, required and default) and the facts must match one for one.
 * - Perturbed specs must produce differences, so the comparison cannot pass vacuously.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, loadSpec, type OpenApiDocument } from '../../scripts/generate.ts';
import { renderReferencePage, tagSlug } from '../../scripts/render-reference.ts';

const SEEDS_DIR = process.env.SCAIKEY_SEEDS_DIR ?? resolve(ROOT, '..', 'shared', 'seeds');

function seed(prefix: string): string {
  if (!existsSync(SEEDS_DIR)) throw new Error(`Seed pages not found in ${SEEDS_DIR} (set SCAIKEY_SEEDS_DIR)`);
  const file = readdirSync(SEEDS_DIR).find((name) => name.startsWith(`${prefix}_`));
  if (!file) throw new Error(`No seed ${prefix}_* in ${SEEDS_DIR}`);
  return readFileSync(join(SEEDS_DIR, file), 'utf8');
}

const withoutTrailingWhitespace = (text: string): string =>
  text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trimEnd();

// ---------------------------------------------------------------------------------------------
// Markdown → the seeds' text rendering.

function inlineToText(text: string): string {
  return text
    .replace(/` → (?=`|\[)/g, '`') // the text rendering loses "→" before code and links
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/`/g, '')
    .replace(/\\\|/g, '|');
}

/** Renders page markdown the way seeds 000/003/004 were rendered (one block per line). */
export function markdownToText(markdown: string): string {
  const lines = markdown.split('\n');
  if (lines[0] === '---') lines.splice(0, lines.indexOf('---', 1) + 1);
  const out: string[] = [];
  let inRequestBody = false;
  for (const raw of lines) {
    const line = raw.trimEnd();
    if (/^\*\*[^*]+:\*\*$/.test(line)) inRequestBody = line === '**Request body:**';
    if (/^#{1,6} /.test(line)) inRequestBody = false;
    let text: string;
    if (/^# /.test(line)) text = inlineToText(line.slice(2));
    else if (/^#{2,6} /.test(line)) text = `${inlineToText(line.replace(/^#+ /, ''))}#`;
    else if (/^\|(-+\|)+$/.test(line) || line === '---') continue;
    else if (line.startsWith('|')) {
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => inlineToText(c.trim()));
      text = cells.join(' ').trim();
    } else if (/^- /.test(line)) {
      if (inRequestBody) continue; // the text rendering dropped the request-body media lines
      text = `• ${inlineToText(line.slice(2))}`;
    } else if (/^_[^_].*_$/.test(line)) text = line.slice(1, -1);
    else text = inlineToText(line);
    out.push(text);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Text page → facts.

const ENDPOINT = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|TRACE) (\S+)#$/;
const SECTION = new Set(['Parameters:', 'Request body:', 'Responses:']);
const norm = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** The semantic content of a page in the seeds' text form, as a list of comparable facts. */
export function textPageFacts(text: string): string[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const facts: string[] = [];
  const introAt = lines.findIndex((l) => l.startsWith('Reference for the '));
  if (introAt < 1) throw new Error('No "Reference for the … endpoint group" line');
  facts.push(`title: ${lines[introAt - 1]}`, `intro: ${lines[introAt]}`);
  const endpointsAt = lines.indexOf('Endpoints#');
  const schemasAt = lines.indexOf('Schemas#');
  const endAt = lines.findIndex((l) => /^Updated \d{4}-/.test(l));
  const endpointLines = lines.slice(endpointsAt + 1, schemasAt >= 0 ? schemasAt : endAt >= 0 ? endAt : lines.length);
  const schemaLines = schemasAt >= 0 ? lines.slice(schemasAt + 1, endAt >= 0 ? endAt : lines.length) : [];

  const endpointOrder: string[] = [];
  let current = '';
  let section = '';
  let description: string[] = [];
  let summaryPending = false;
  const flushDescription = (): void => {
    if (current && description.length > 0) facts.push(`${current} description: ${norm(description.join(' '))}`);
    description = [];
  };
  for (const line of endpointLines) {
    const heading = ENDPOINT.exec(line);
    if (heading) {
      flushDescription();
      current = `${heading[1]} ${heading[2]}`;
      endpointOrder.push(current);
      facts.push(`endpoint ${current}`);
      section = '';
      summaryPending = true;
      continue;
    }
    if (!current) continue;
    if (summaryPending) {
      facts.push(`${current} summary: ${line}`);
      summaryPending = false;
      continue;
    }
    if (SECTION.has(line)) {
      flushDescription();
      section = line;
      continue;
    }
    if (section === '') description.push(line);
    else if (section === 'Parameters:') {
      if (line === 'Name In Required Type Description') continue;
      const row = /^(\S+) (path|query|header|cookie) (yes|no) (.*)$/.exec(line);
      facts.push(row ? `${current} parameter: ${row[1]} in=${row[2]} required=${row[3]} type+description=${norm(row[4]!)}` : `${current} unparsed parameter row: ${line}`);
    } else if (section === 'Request body:') facts.push(`${current} request body: ${line}`);
    else if (section === 'Responses:') {
      if (line === 'Status Body') continue;
      const row = /^(\S+) (.*)$/.exec(line);
      facts.push(row ? `${current} response ${row[1]}: ${norm(row[2]!)}` : `${current} unparsed response row: ${line}`);
    }
  }
  flushDescription();
  facts.push(`endpoint order: ${endpointOrder.join(', ')}`);

  const schemaOrder: string[] = [];
  let schema = '';
  let inTable = false;
  let fieldIndex = 0;
  for (const line of schemaLines) {
    const heading = /^(\S+)#$/.exec(line);
    if (heading) {
      schema = heading[1]!;
      schemaOrder.push(schema);
      facts.push(`schema ${schema}`);
      inTable = false;
      fieldIndex = 0;
      continue;
    }
    if (!schema) continue; // the section's introduction
    if (line === 'Field Type Required Description') {
      inTable = true;
      continue;
    }
    if (!inTable) {
      facts.push(`schema ${schema} description: ${norm(line)}`);
      continue;
    }
    const row = /^(\S+) (.+?) (yes|no)(?: (.*))?$/.exec(line);
    fieldIndex += 1;
    facts.push(
      row
        ? `schema ${schema} field ${fieldIndex}: ${row[1]} type=${norm(row[2]!)} required=${row[3]} description=${norm(row[4] ?? '')}`
        : `schema ${schema} unparsed field row: ${line}`,
    );
  }
  facts.push(`schema order: ${schemaOrder.join(', ')}`);
  return facts;
}

/** Facts in one list and not the other (empty when the pages agree). */
function factDifferences(expected: string[], actual: string[]): string[] {
  const have = new Set(actual);
  const want = new Set(expected);
  return [
    ...expected.filter((f) => !have.has(f)).map((f) => `missing:    ${f}`),
    ...actual.filter((f) => !want.has(f)).map((f) => `unexpected: ${f}`),
  ];
}

function compareWithSeed(spec: OpenApiDocument, tag: string, seedText: string): string[] {
  const rendered = renderReferencePage(spec, tag, { upstream: true });
  return factDifferences(textPageFacts(seedText), textPageFacts(markdownToText(rendered)));
}

// ---------------------------------------------------------------------------------------------

let spec: OpenApiDocument;
beforeAll(async () => {
  spec = await loadSpec();
});

describe('reference pages (upstream mode) against the published pages', () => {
  it('renders the Profile page exactly as its markdown source (seed 001)', () => {
    const page = renderReferencePage(spec, 'Profile', { upstream: true });
    expect(withoutTrailingWhitespace(page)).toBe(withoutTrailingWhitespace(seed('001')));
  });

  it('converts markdown to the seeds’ text form faithfully (001 → 000)', () => {
    const facts = textPageFacts(seed('000'));
    expect(facts.length).toBeGreaterThan(30);
    expect(factDifferences(facts, textPageFacts(markdownToText(seed('001'))))).toEqual([]);
  });

  it.each([
    ['Profile', '000'],
    ['Authentication', '003'],
    ['Portal Auth', '004'],
  ])('the %s page matches seed %s field by field', (tag, prefix) => {
    const seedText = seed(prefix);
    const facts = textPageFacts(seedText);
    // Sanity: the parser saw every endpoint and schema the seed announces.
    const announced = Number(/endpoint group — (\d+) endpoints?/.exec(seedText)?.[1]);
    expect(facts.filter((f) => f.startsWith('endpoint ') && !f.startsWith('endpoint order')).length).toBe(announced);
    expect(facts.some((f) => f.includes('unparsed'))).toBe(false);
    expect(compareWithSeed(spec, tag, seedText)).toEqual([]);
  });

  it('uses the slugs of the published pages', () => {
    expect(['Profile', 'Authentication', 'Portal Auth'].map(tagSlug)).toEqual(['profile', 'authentication', 'portal-auth']);
    expect(renderReferencePage(spec, 'Portal Auth')).toContain('path: reference/api/portal-auth\n');
  });
});

describe('the comparison detects real differences', () => {
  type Perturbation = [string, string, (s: OpenApiDocument) => void];
  const schemas = (s: OpenApiDocument): Record<string, any> => s.components!.schemas as Record<string, any>;
  const perturbations: Perturbation[] = [
    ['a default', 'Authentication', (s) => {
      schemas(s).MFAChallengeRequest.properties.trust_device.default = true;
    }],
    ['a field type', 'Portal Auth', (s) => {
      schemas(s).AuthenticateRequest.properties.password.type = 'integer';
    }],
    ['a required flag', 'Portal Auth', (s) => {
      schemas(s).IdentifyResponse.required.pop();
    }],
    ['a format', 'Authentication', (s) => {
      delete schemas(s).RegisterRequest.properties.email.format;
    }],
    ['a missing field', 'Authentication', (s) => {
      delete schemas(s).RegisterRequest.properties.custom_data;
    }],
    ['a schema description', 'Authentication', (s) => {
      schemas(s).MetaResponse.description = 'Other.';
    }],
    ['an upstream plain type', 'Portal Auth', (s) => {
      delete schemas(s).PortalUser['x-upstream-type'];
    }],
    ['a response schema', 'Authentication', (s) => {
      (s.paths!['/api/v1/auth/tenants/{tenant_slug}/verify-email']!.get as any).responses['200'].content['application/json'].schema = { $ref: '#/components/schemas/RegisterResponse' };
    }],
    ['a parameter', 'Authentication', (s) => {
      (s.paths!['/api/v1/auth/tenants/{tenant_slug}/mfa/email/send']!.post as any).parameters.pop();
    }],
    ['a parameter type', 'Profile', (s) => {
      (s.components!.parameters as any).Authorization.schema = { type: 'string' };
    }],
    ['a summary', 'Portal Auth', (s) => {
      (s.paths!['/api/v1/auth/refresh']!.post as any).summary = 'Refresh';
    }],
    ['a description', 'Portal Auth', (s) => {
      (s.paths!['/api/v1/auth/identify']!.post as any).description = 'Identify.';
    }],
    ['a method', 'Authentication', (s) => {
      const item = s.paths!['/api/v1/auth/tenants/{tenant_slug}/verify-email']!;
      item.post = item.get;
      delete item.get;
    }],
    ['an extra endpoint', 'Portal Auth', (s) => {
      s.paths!['/api/v1/auth/extra'] = { post: { operationId: 'extra', tags: ['Portal Auth'], responses: {} } };
    }],
    ['a 2xx status', 'Profile', (s) => {
      const op = s.paths!['/api/v1/me']!.get as any;
      op.responses['201'] = op.responses['200'];
    }],
  ];

  it.each(perturbations)('notices %s', (_what, tag, perturb) => {
    const copy = structuredClone(spec);
    perturb(copy);
    const prefix = { Profile: '000', Authentication: '003', 'Portal Auth': '004' }[tag]!;
    expect(compareWithSeed(copy, tag, seed(prefix))).not.toEqual([]);
  });

  it('notices a difference in the Profile markdown', () => {
    const copy = structuredClone(spec);
    schemas(copy).UpdateProfileRequest.description = 'Request to update the user profile.';
    expect(withoutTrailingWhitespace(renderReferencePage(copy, 'Profile', { upstream: true }))).not.toBe(withoutTrailingWhitespace(seed('001')));
  });
});

describe('reference pages (full documentation)', () => {
  it('lists every documented status and schema', () => {
    const page = renderReferencePage(spec, 'Profile');
    expect(page).toContain('| `401` | `application/json` → [`ErrorResponse`](#schema-errorresponse) |');
    expect(page).toContain('| `200` | `application/json` → [`UserProfile`](#schema-userprofile) |');
    expect(page).toContain('### `UserProfile`');
    expect(page).toContain('| `created_at` | `string` (date-time) | yes |  |');
    const portal = renderReferencePage(spec, 'Portal Auth');
    expect(portal).toContain('### `PortalUser`');
    expect(portal).toContain('| `tenants` | array of [`TenantSummary`](#schema-tenantsummary) | yes |  |');
  });
});
