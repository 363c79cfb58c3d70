// GET /docs (Swagger UI) and /redoc on the real server: HTML whose every asset is served from this
// origin (installed from npm, no CDN), with a CSP that allows only this origin.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { redocCsp, redocRemoteLogo, swaggerUiCsp } from '../../handlers/pages/api-reference.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** Every src= and href= of a page. */
function references(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
}

describe.each([
  ['/docs', swaggerUiCsp, ['swagger-ui-bundle.js', 'swagger-init.js', 'swagger-ui.css'], /SwaggerUIBundle/],
  ['/redoc', redocCsp, ['redoc.standalone.js', 'redoc-init.js'], /Redoc\.init/],
])('%s', (path, csp, expectedAssets, initCode) => {
  test('is HTML with its own CSP, loading only same-origin assets, all of which are served', async () => {
    const response = await fetch(`${server.url}${path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(csp);
    const html = await response.text();
    const refs = references(html);
    for (const name of expectedAssets) expect(refs).toContain(`/docs/assets/${name}`);
    expect(html).not.toMatch(/<script>|<style>|\bon[a-z]+=/); // nothing inline
    for (const ref of refs) {
      expect(ref, 'no CDN, no other origin').toMatch(/^\/docs\/assets\/[a-z0-9.-]+$/);
      const asset = await fetch(`${server.url}${ref}`);
      expect(asset.status, ref).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, ref).toBeGreaterThan(0);
    }
    const init = await fetch(`${server.url}/docs/assets/${expectedAssets[1]}`).then((r) => r.text());
    expect(init).toMatch(initCode);
    expect(init).toContain("'/openapi.json'");
  });

  test('the CSP allows only this origin (and data: images): no remote host anywhere', () => {
    expect(csp).toMatch(/^default-src 'none'/);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/https?:|\*/);
  });
});

test('the assets are the installed npm packages, revalidated by ETag', async () => {
  const bundle = await fetch(`${server.url}/docs/assets/swagger-ui-bundle.js`);
  expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  const { readFileSync } = await import('node:fs');
  const { createRequire } = await import('node:module');
  const installed = readFileSync(createRequire(import.meta.url).resolve('swagger-ui-dist/swagger-ui-bundle.js'));
  expect(Buffer.from(await bundle.arrayBuffer()).equals(installed)).toBe(true);
  const etag = bundle.headers.get('etag')!;
  expect((await fetch(`${server.url}/docs/assets/swagger-ui-bundle.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
  const redoc = await fetch(`${server.url}/docs/assets/redoc.standalone.js`);
  expect(redoc.status).toBe(200);
  // The one remote resource in Redoc's bundle (its sidebar logo on a CDN) is replaced by a data: image.
  const redocText = await redoc.text();
  expect(redocText).not.toContain(redocRemoteLogo);
  expect(redocText).toContain('Redoc');
});

test('anything else under /docs/assets is a plain 404', async () => {
  for (const path of ['/docs/assets/package.json', '/docs/assets/..%2Fpackage.json', '/docs/assets/index.html', '/docs/assets/']) {
    const reply = await server.call('GET', path);
    expect([path, reply.status, reply.body]).toEqual([path, 404, { detail: 'Not Found' }]);
  }
});

test('/openapi.json, which both pages render, is the served contract', async () => {
  const spec = await server.call('GET', '/openapi.json');
  expect(spec.status).toBe(200);
  expect(spec.body.openapi).toMatch(/^3\.1/);
});
