// The pages' server-side pieces without a browser: locale negotiation, catalogues, escaping.
import { describe, expect, test } from 'vitest';
import { catalogues, format, negotiateLocale } from '../../handlers/pages/i18n/index.ts';
import { html, jsonBlock } from '../../handlers/pages/html.ts';
import { escapeHtml } from '../../handlers/core/text.ts';
import { pagesCsp } from '../../handlers/pages/index.ts';

describe('locale negotiation', () => {
  test.each([
    [undefined, undefined, 'en'],
    ['de-DE,de;q=0.9,en;q=0.8', undefined, 'de'],
    ['fr-FR, de;q=0.7, en;q=0.8', undefined, 'en'],
    ['fr-FR, de;q=0.9, en;q=0.8', undefined, 'de'],
    ['de;q=0, en', undefined, 'en'],
    ['*', undefined, 'en'],
    ['de', 'en', 'en'],
    ['en', 'de-AT', 'de'],
    ['en', 'xx', 'en'],
  ])('Accept-Language %j with ?lang=%j → %s', (header, override, expected) => {
    expect(negotiateLocale(header, override)).toBe(expected);
  });
});

describe('catalogues', () => {
  test('every locale has every key, and the same placeholders', () => {
    const keys = Object.keys(catalogues.en).sort();
    for (const [locale, messages] of Object.entries(catalogues)) {
      expect(Object.keys(messages).sort(), locale).toEqual(keys);
      for (const key of keys) {
        const placeholders = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
        expect(placeholders((messages as Record<string, string>)[key]!), `${locale} ${key}`).toEqual(placeholders((catalogues.en as Record<string, string>)[key]!));
      }
    }
  });

  test('format fills placeholders', () => {
    expect(format('Use at least {min} characters.', { min: 15 })).toBe('Use at least 15 characters.');
    expect(format('{a} {b}', { a: 1 })).toBe('1 {b}');
  });
});

describe('HTML', () => {
  test('interpolations are escaped; Html values are not', () => {
    const name = '<img src=x onerror=alert(1)> & "quotes"';
    expect(html`<p title="${name}">${name}</p>`.value).toBe('<p title="&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;">&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;</p>');
    expect(html`<div>${html`<b>${'x'}</b>`}</div>`.value).toBe('<div><b>x</b></div>');
    expect(escapeHtml("'")).toBe('&#39;');
  });

  test('the page data block cannot be closed early', () => {
    const block = jsonBlock('page-data', { tenant: '</script><script>alert(1)</script>' }).value;
    expect(block.match(/<\/script>/g)).toHaveLength(1);
    expect(JSON.parse(block.replace(/^<script[^>]*>/, '').replace(/<\/script>$/, ''))).toEqual({ tenant: '</script><script>alert(1)</script>' });
  });

  test('the CSP allows no inline code and nothing from elsewhere', () => {
    expect(pagesCsp).toBe("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  });
});

describe('routing on the raw path (mock server)', () => {
  test('malformed or unknown paths are not pages; pages answer GET and HEAD', async () => {
    const { startMockServer } = await import('../../mocks/server.ts');
    const { createLogger } = await import('../../handlers/core/logger.ts');
    const mock = await startMockServer({ port: 0, logger: createLogger('silent'), corsOrigins: false });
    try {
      const get = (path: string, method = 'GET') => fetch(`${mock.url}${path}`, { method, redirect: 'manual' });
      for (const path of ['/t/%ZZ/login', '/t/%E0%A4%A/register', '/t/acme%2Fx/login', '/pages/assets/%ZZ', '/pages/assets/../index.ts', '/t/acme/nope']) {
        const response = await get(path);
        expect(response.status, path).toBe(404);
        expect(response.headers.get('content-type'), path).toMatch(/^application\/json/);
      }
      const unknownTenant = await get('/t/Not_A_Slug/login');
      expect(unknownTenant.status).toBe(404);
      expect(unknownTenant.headers.get('content-type')).toMatch(/^text\/html/);
      expect((await get('/t/acme/login/')).status).toBe(200);
      expect((await get('/t/acme/login', 'HEAD')).status).toBe(200);
      expect((await get('/t/acme/login', 'POST')).status).toBe(404);
      const redirect = await get('/t/acme?redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb');
      expect(redirect.status).toBe(302);
      expect(redirect.headers.get('location')).toBe('/t/acme/login?redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb');
      expect((await get('/portal')).headers.get('location')).toBe('/portal/account');
    } finally {
      await mock.close();
    }
  });
});
