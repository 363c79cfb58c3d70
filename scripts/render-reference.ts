/**
 * `npm run docs`: one markdown reference page per tag, rendered from `spec/openapi.yaml` into
 * `docs/reference/<slug>.md`, in the format of the ScaiKey reference pages the project
 * implements (`../shared/seeds/001_…`, the Profile page's source).
 *
 * `renderReferencePage(spec, tag, { upstream })` is pure. With `upstream: true` it reproduces
 * the pages as the original backend published them: only 2xx and 422 responses, and schemas
 * marked `x-upstream-type: object | any` shown as that plain type, not linked nor listed.
 * With `upstream: false` (what `npm run docs` writes) it documents every status and schema.
 *
 *   npm run docs                 every tag, full documentation
 *   npm run docs -- --upstream   the three upstream tags, upstream mode
 *   npm run docs -- --out DIR    write somewhere else
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ROOT,
  deref,
  listOperations,
  loadSpec,
  operationParameters,
  schemaRefName,
  type JsonSchema,
  type MediaType,
  type OpenApiDocument,
  type OperationEntry,
} from './generate.ts';

export type ReferenceOptions = { upstream?: boolean };

/** The tags the original backend published reference pages for. */
export const UPSTREAM_TAGS = ['Profile', 'Authentication', 'Portal Auth'] as const;

export const REFERENCE_DIR = join(ROOT, 'docs', 'reference');

const AUTHENTICATION_NOTE =
  'All endpoints require a Bearer JWT in the `Authorization` header unless noted otherwise. See [Concepts → Tokens and scopes](/docs/scaikey/concepts/tokens-and-scopes) and [Reference → OAuth endpoints](/docs/scaikey/reference/oauth-endpoints) for how to obtain one.';
const SCHEMAS_NOTE =
  'Definitions for every type referenced by the endpoints above. Schema-to-schema references on this page link within the page; cross-page references would require visiting the linked page.';

/** `Portal Auth` → `portal-auth`. */
export function tagSlug(tag: string): string {
  return tag
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Every tag: those declared in `tags`, in order, then any other tag an operation uses. */
export function referenceTags(spec: OpenApiDocument): string[] {
  const tags = (spec.tags ?? []).map((t) => t.name);
  for (const { operation } of listOperations(spec)) for (const tag of operation.tags ?? []) if (!tags.includes(tag)) tags.push(tag);
  return tags;
}

const compareCodePoints = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Python's str() of a default value, as FastAPI's page generator printed it (`False`, `SUCCESS`). */
function pythonStr(value: unknown, nested = false): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return nested ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : value;
  if (Array.isArray(value)) return `[${value.map((v) => pythonStr(v, true)).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${pythonStr(k, true)}: ${pythonStr(v, true)}`)
      .join(', ')}}`;
  }
  return String(value);
}

/** Text for a table cell: one line, pipes escaped. */
function cell(text: string | undefined): string {
  return (text ?? '').replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim();
}

const schemaAnchor = (name: string): string => `#schema-${name.toLowerCase()}`;
const schemaLink = (name: string): string => `[\`${name}\`](${schemaAnchor(name)})`;

class PageRenderer {
  /** Component schemas linked from the page (and so listed in its Schemas section). */
  readonly linked = new Set<string>();

  constructor(
    private readonly spec: OpenApiDocument,
    private readonly upstream: boolean,
  ) {}

  private component(name: string): JsonSchema {
    const schema = this.spec.components?.schemas?.[name];
    if (!schema) throw new Error(`Unknown schema ${name}`);
    return schema;
  }

  /** The plain type a schema was published as upstream (`object`, `any`), in upstream mode. */
  private upstreamType(name: string): string | undefined {
    if (!this.upstream) return undefined;
    const value = this.component(name)['x-upstream-type'];
    return typeof value === 'string' ? value : undefined;
  }

  /** A type as written in parameter and field tables: links, `code` types, `a` \| `b`, array of …. */
  type(schema: JsonSchema | undefined): string {
    if (!schema) return '`any`';
    if (schema.$ref) {
      const name = schemaRefName(schema.$ref);
      const plain = this.upstreamType(name);
      if (plain) return `\`${plain}\``;
      this.link(name);
      return schemaLink(name);
    }
    const variants = schema.anyOf ?? schema.oneOf;
    if (variants) return variants.map((v) => this.type(v)).join(' \\| ');
    if (schema.allOf) return schema.allOf.length === 1 ? this.type(schema.allOf[0]) : schema.allOf.map((v) => this.type(v)).join(' & ');
    if (Array.isArray(schema.type)) return schema.type.map((t) => this.type({ ...schema, type: t })).join(' \\| ');
    if (schema.type === 'array') return `array of ${this.type(schema.items)}`;
    if (typeof schema.type === 'string') return `\`${schema.type}\`${schema.format ? ` (${schema.format})` : ''}`;
    return '`any`';
  }

  /** A response body type: like `type`, but a plain object is written `object`, without code. */
  responseType(schema: JsonSchema | undefined): string {
    if (schema?.$ref) {
      const plain = this.upstreamType(schemaRefName(schema.$ref));
      if (plain === 'object') return 'object';
    } else if (schema && schema.type === 'object' && !schema.anyOf && !schema.oneOf && !schema.allOf) {
      return 'object';
    }
    return this.type(schema);
  }

  /** Marks a schema as linked, and everything it links to in turn. */
  private link(name: string): void {
    if (this.linked.has(name)) return;
    this.linked.add(name);
    const walk = (schema: JsonSchema | undefined): void => {
      if (!schema) return;
      if (schema.$ref) {
        const target = schemaRefName(schema.$ref);
        if (!this.upstreamType(target)) this.link(target);
        return;
      }
      for (const list of [schema.anyOf, schema.oneOf, schema.allOf]) list?.forEach(walk);
      walk(schema.items);
      Object.values(schema.properties ?? {}).forEach(walk);
      if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties);
    };
    walk(this.component(name));
  }

  private mediaLines(content: Record<string, MediaType> | undefined, render: (schema: JsonSchema | undefined) => string): string[] {
    return Object.entries(content ?? {}).map(([mediaType, media]) => `\`${mediaType}\` → ${render(media.schema)}`);
  }

  endpoint(entry: OperationEntry): string[] {
    const { path, method, operation } = entry;
    const lines: string[] = [`### **${method.toUpperCase()}** \`${path}\``, ''];
    if (operation.summary) lines.push(`_${operation.summary}_`, '');
    if (operation.description?.trim()) lines.push(operation.description.trim(), '');

    const params = operationParameters(this.spec, entry);
    if (params.length > 0) {
      lines.push('**Parameters:**', '', '| Name | In | Required | Type | Description |', '|---|---|---|---|---|');
      for (const p of params) {
        const required = p.required || p.in === 'path' ? 'yes' : 'no';
        lines.push(`| \`${p.name}\` | ${p.in} | ${required} | ${this.type(p.schema)} | ${cell(p.description)} |`);
      }
      lines.push('');
    }

    if (operation.requestBody) {
      const body = deref(this.spec, operation.requestBody);
      lines.push('**Request body:**', '', body.required ? 'Required.' : 'Optional.', '');
      for (const media of this.mediaLines(body.content, (s) => this.type(s))) lines.push(`- ${media}`);
      lines.push('');
    }

    const responses = Object.entries(operation.responses ?? {}).filter(
      ([status]) => !this.upstream || /^2\d\d$/.test(status) || status === '422',
    );
    if (responses.length > 0) {
      lines.push('**Responses:**', '', '| Status | Body |', '|---|---|');
      for (const [status, raw] of responses) {
        const response = deref(this.spec, raw);
        const bodies = this.mediaLines(response.content, (s) => this.responseType(s));
        lines.push(`| \`${status}\` | ${bodies.length > 0 ? bodies.join('<br>') : '—'} |`);
      }
      lines.push('');
    }
    lines.push('---', '');
    return lines;
  }

  schema(name: string): string[] {
    const schema = this.component(name);
    const lines: string[] = [`### \`${name}\``, ''];
    if (schema.description?.trim()) lines.push(schema.description.trim(), '');
    const properties = Object.entries(schema.properties ?? {});
    if (properties.length > 0) {
      const required = new Set(schema.required ?? []);
      lines.push('| Field | Type | Required | Description |', '|---|---|---|---|');
      for (const [field, prop] of properties) {
        const notes = [cell(prop.description)];
        if (prop.default !== undefined) notes.push(`Default: ${cell(pythonStr(prop.default))}`);
        const description = notes.filter(Boolean).join(' ');
        lines.push(`| \`${field}\` | ${this.type(prop)} | ${required.has(field) ? 'yes' : 'no'} | ${description} |`);
      }
    } else {
      lines.push(`Type: ${this.type({ ...schema, description: undefined })}`);
    }
    lines.push('');
    return lines;
  }
}

/** The markdown reference page for one tag. Pure: same spec, tag and options, same text. */
export function renderReferencePage(spec: OpenApiDocument, tag: string, options: ReferenceOptions = {}): string {
  const renderer = new PageRenderer(spec, options.upstream ?? false);
  const methodRank = (m: string): string => m.toUpperCase();
  const entries = listOperations(spec)
    .filter(({ operation }) => (operation.tags ?? []).includes(tag))
    .sort((a, b) => compareCodePoints(a.path, b.path) || compareCodePoints(methodRank(a.method), methodRank(b.method)));

  const slug = tagSlug(tag);
  const count = `${entries.length} endpoint${entries.length === 1 ? '' : 's'}`;
  const lines: string[] = [
    '---',
    `title: ${tag} API`,
    `path: reference/api/${slug}`,
    'status: published',
    '---',
    '',
    `# ${tag} API`,
    '',
    `Reference for the \`${tag}\` endpoint group — ${count}.`,
    '',
    'Generated from the live OpenAPI spec. Re-run `_generate_api_reference.py` after backend changes.',
    '',
    '## Authentication',
    '',
    AUTHENTICATION_NOTE,
    '',
    '## Endpoints',
    '',
  ];
  for (const entry of entries) lines.push(...renderer.endpoint(entry));

  // Rendering a schema can only link schemas already collected (links are followed eagerly).
  const names = [...renderer.linked].sort(compareCodePoints);
  if (names.length > 0) {
    lines.push('## Schemas', '', SCHEMAS_NOTE, '');
    for (const name of names) lines.push(...renderer.schema(name));
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

async function main(argv: string[]): Promise<void> {
  const upstream = argv.includes('--upstream');
  const outIndex = argv.indexOf('--out');
  const outDir = outIndex >= 0 && argv[outIndex + 1] ? resolve(argv[outIndex + 1]!) : REFERENCE_DIR;
  const spec = await loadSpec();
  const tags = upstream ? [...UPSTREAM_TAGS] : referenceTags(spec);
  await mkdir(outDir, { recursive: true });
  for (const tag of tags) {
    const file = join(outDir, `${tagSlug(tag)}.md`);
    await writeFile(file, renderReferencePage(spec, tag, { upstream }));
    console.log(`wrote ${relative(process.cwd(), file)}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
