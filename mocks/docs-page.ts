/**
 * The mock server's API reference at `/docs`: one self-contained HTML page (no script, no CDN,
 * one inline stylesheet allowed by its hash) listing every operation with its inputs, its
 * responses and their examples, and how to ask the mock for each of them.
 */
import { createHash } from 'node:crypto';
import { escapeHtml } from '../handlers/core/text.ts';
import type { JsonSchema, MockCatalogue, MockOperation, MockResponse } from './catalogue.ts';

const STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #59636e; --bg: #fff; --panel: #f6f8fa; --line: #d1d9e0; --accent: #0969da; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --panel: #151b23; --line: #3d444d; --accent: #4493f8; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 1.5rem 2rem 1rem; border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 .25rem; font-size: 1.5rem; }
header p { margin: .25rem 0; color: var(--muted); }
main { display: grid; grid-template-columns: 16rem minmax(0, 1fr); gap: 2rem; padding: 1rem 2rem 4rem; }
nav { position: sticky; top: 1rem; align-self: start; font-size: .9rem; max-height: calc(100vh - 2rem); overflow: auto; }
nav h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 1rem 0 .25rem; }
nav a { display: block; padding: .1rem 0; color: var(--fg); text-decoration: none; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
nav a:hover { color: var(--accent); }
section.op { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 1.25rem; padding: 1rem 1.25rem; }
section.op h3 { margin: 0; font-size: 1.05rem; display: flex; gap: .6rem; align-items: baseline; flex-wrap: wrap; }
h2.tag { margin: 1.5rem 0 .75rem; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .75rem; overflow: auto; margin: .5rem 0; }
.method { font: 700 12px ui-monospace, monospace; padding: .15rem .45rem; border-radius: 4px; color: #fff; text-transform: uppercase; }
.get { background: #1a7f37; } .post { background: #0969da; } .patch { background: #9a6700; } .put { background: #8250df; } .delete { background: #cf222e; }
.path { font-family: ui-monospace, monospace; }
.muted { color: var(--muted); }
.lock { font-size: .85rem; color: var(--muted); }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
th, td { text-align: left; padding: .25rem .75rem .25rem 0; border-bottom: 1px solid var(--line); vertical-align: top; }
details { margin: .35rem 0; }
summary { cursor: pointer; }
.status { font-weight: 700; font-family: ui-monospace, monospace; }
.s2 { color: #1a7f37; } .s4 { color: #cf222e; } .s5 { color: #8250df; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } nav { position: static; max-height: none; } }
`;

/** The Content-Security-Policy for the page: nothing but its own stylesheet. */
export const docsPageCsp = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;

function esc(text: unknown): string {
  return escapeHtml(String(text));
}

/** Escaped text with the spec's `code spans` rendered as <code>. */
function prose(text: unknown): string {
  return esc(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function json(value: unknown): string {
  return esc(JSON.stringify(value, null, 2));
}

function typeLabel(schema: JsonSchema | undefined): string {
  if (!schema) return '';
  if (typeof schema.$ref === 'string') return schema.$ref.replace('#/$defs/', '');
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(variants)) return variants.map((v) => typeLabel(v)).join(' | ');
  const base = Array.isArray(schema.type) ? schema.type.join(' | ') : String(schema.type ?? 'any');
  const extras = [schema.format, schema.maxLength !== undefined ? `≤${String(schema.maxLength)} chars` : undefined, schema.pattern ? `pattern ${String(schema.pattern)}` : undefined]
    .filter(Boolean)
    .join(', ');
  return extras ? `${base} (${extras})` : base;
}

function anchor(op: MockOperation): string {
  return `op-${op.operationId}`;
}

function curl(baseUrl: string, op: MockOperation, prefer?: string): string {
  const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => (name === 'tenant_slug' ? 'acme' : name));
  const query = op.parameters.filter((p) => p.in === 'query' && p.required).map((p) => `${p.name}=example`);
  const parts = [`curl -i${op.method === 'get' ? '' : ` -X ${op.method.toUpperCase()}`} '${baseUrl}${path}${query.length ? `?${query.join('&')}` : ''}'`];
  if (op.secured) parts.push(`-H 'Authorization: Bearer any-token'`);
  if (prefer) parts.push(`-H 'Prefer: ${prefer}'`);
  if (op.requestBody) parts.push(`-H 'Content-Type: ${op.requestBody.contentType}' -d '{…}'`);
  return parts.join(' \\\n  ');
}

function schemaBlock(title: string, schema: JsonSchema | undefined, schemas: MockCatalogue['schemas'], name?: string): string {
  if (!schema) return '';
  const shown = name ? schemas[name] : schema;
  return `<details><summary>${esc(title)}${name ? `: <code>${esc(name)}</code>` : ''}</summary><pre>${json(shown)}</pre></details>`;
}

function responseBlock(op: MockOperation, response: MockResponse, schemas: MockCatalogue['schemas']): string {
  const klass = `s${String(response.status)[0]}`;
  const isDefault = response.status === op.defaultStatus;
  const headers = Object.entries(response.headers);
  const examples = response.examples
    .map(
      (ex, i) =>
        `<details${isDefault && i === 0 ? ' open' : ''}><summary>example <code>${esc(ex.name)}</code>${ex.summary ? ` <span class="muted">— ${prose(ex.summary)}</span>` : ''}${
          isDefault && i === 0 ? ' <span class="muted">(default answer)</span>' : ''
        } <span class="muted">· Prefer: code=${response.status}, example=${esc(ex.name)}</span></summary><pre>${json(ex.value)}</pre></details>`,
    )
    .join('');
  return `<div><span class="status ${klass}">${response.status}</span> ${prose(response.description)}${
    response.envelope ? ' <span class="muted">(meta.request_id and meta.timestamp are filled per request)</span>' : ''
  }${headers.length ? `<div class="muted">headers: ${headers.map(([k, v]) => `<code>${esc(k)}: ${esc(v)}</code>`).join(', ')}</div>` : ''}${examples}${schemaBlock('schema', response.schema, schemas, response.schemaName)}</div>`;
}

function operationBlock(op: MockOperation, catalogue: MockCatalogue, baseUrl: string): string {
  const params = op.parameters.filter((p) => !(p.in === 'header' && p.name.toLowerCase() === 'authorization'));
  const paramTable = params.length
    ? `<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>${params
        .map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${esc(typeLabel(p.schema))}</td><td>${p.required ? 'required' : 'optional'}</td></tr>`)
        .join('')}</table>`
    : '';
  const body = op.requestBody
    ? `<div>Request body (${esc(op.requestBody.contentType)}${op.requestBody.required ? ', required' : ''})${schemaBlock('schema', op.requestBody.schema, catalogue.schemas, op.requestBody.schemaName)}</div>`
    : '';
  return `<section class="op" id="${esc(anchor(op))}">
<h3><span class="method ${esc(op.method)}">${esc(op.method)}</span><span class="path">${esc(op.path)}</span><span class="muted">${esc(op.operationId)}</span>${
    op.secured ? '<span class="lock">requires <code>Authorization: Bearer …</code> (any well-formed value in mock mode)</span>' : ''
  }</h3>
${op.summary ? `<p><strong>${esc(op.summary)}</strong>${op.description && op.description !== op.summary ? ` — ${prose(op.description)}` : ''}</p>` : ''}
${paramTable}${body}
${op.responses.map((r) => responseBlock(op, r, catalogue.schemas)).join('\n')}
<details><summary>try it</summary><pre>${esc(curl(baseUrl, op))}\n\n${esc(curl(baseUrl, op, 'dynamic=true'))}</pre></details>
</section>`;
}

/** Renders the page. `baseUrl` is only used in the curl snippets. */
export function renderDocsPage(catalogue: MockCatalogue, baseUrl = ''): string {
  const ops = Object.values(catalogue.operations);
  const tags = [...new Set(ops.map((o) => o.tag))];
  const nav = tags
    .map((tag) => `<h2>${esc(tag)}</h2>${ops.filter((o) => o.tag === tag).map((o) => `<a href="#${esc(anchor(o))}"><code>${esc(o.method.toUpperCase())}</code> ${esc(o.operationId)}</a>`).join('')}`)
    .join('');
  const sections = tags
    .map((tag) => `<h2 class="tag">${esc(tag)}</h2>${ops.filter((o) => o.tag === tag).map((o) => operationBlock(o, catalogue, baseUrl)).join('\n')}`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(catalogue.title)} ${esc(catalogue.version)} — mock server</title>
<style>${STYLE}</style></head>
<body>
<header><h1>${esc(catalogue.title)} <span class="muted">${esc(catalogue.version)} · mock server</span></h1>
<p>Every operation answers from the examples in the spec, after the same request validation as the real server (422 in FastAPI's shape). No database, no secrets.</p>
<p>Choose an answer with a <code>Prefer</code> header, as with Stoplight Prism: <code>code=401</code>, <code>example=mfa</code>, <code>dynamic=true</code> (add <code>seed=42</code> to repeat a body). Without the header, the query parameters <code>__code</code>, <code>__example</code>, <code>__dynamic</code> and <code>__seed</code> do the same.</p>
<p>The contract: <a href="/openapi.json">/openapi.json</a>.</p></header>
<main><nav>${nav}</nav><div>${sections}</div></main>
</body></html>
`;
}
