// /docs (Swagger UI) and /redoc render the served contract in headless Chromium, under their CSP,
// with every request going to this origin.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { loadSpec } from '../../handlers/core/spec.ts';
import { browserOrigin, hasChromium, launchBrowser, newPage, screenshot } from './support.ts';

let server: TestServer;
let browser: Browser;
let origin: string;

const operations = Object.values(loadSpec().paths as Record<string, Record<string, { operationId?: string; summary?: string }>>)
  .flatMap((item) => Object.values(item))
  .filter((op) => op.operationId);

/** Every request the page makes, by origin; the test asserts they are all this server's. */
function recordOrigins(page: Page): Set<string> {
  const seen = new Set<string>();
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol === 'http:' || url.protocol === 'https:') seen.add(url.origin);
  });
  return seen;
}

describe.skipIf(!hasChromium)('API reference pages in a browser', () => {
  beforeAll(async () => {
    server = await startTestServer({ PUBLIC_BASE_URL: 'http://localhost' });
    origin = browserOrigin(server);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('/docs: Swagger UI lists every operation, and "Try it out" calls this server', async () => {
    const { context, page, problems } = await newPage(browser, { viewport: { width: 1280, height: 900 } });
    const origins = recordOrigins(page);
    await page.goto(`${origin}/docs`);
    await page.locator('.opblock').first().waitFor();
    expect(await page.locator('.opblock').count()).toBe(operations.length);
    for (const op of operations) await page.locator(`[id$="-${op.operationId}"]`).first().waitFor({ state: 'attached' });
    expect(await page.locator('.servers select').inputValue()).toBe(origin);
    // Try out an operation without input: the JWKS.
    const jwks = page.locator('[id$="-getJwks"]').first();
    await jwks.locator('.opblock-summary').click();
    await jwks.getByRole('button', { name: 'Try it out' }).click();
    await jwks.getByRole('button', { name: 'Execute' }).click();
    await jwks.locator('.responses-table.live-responses-table .response-col_status', { hasText: '200' }).waitFor();
    await screenshot(page, 'api-reference-swagger-ui', { fullPage: false });
    expect([...origins]).toEqual([origin]);
    expect(problems).toEqual([]);
    await context.close();
  });

  test('/redoc: Redoc lists every operation', async () => {
    const { context, page, problems } = await newPage(browser, { viewport: { width: 1280, height: 900 } });
    const origins = recordOrigins(page);
    await page.goto(`${origin}/redoc`);
    await page.locator('[data-section-id^="operation/"]').first().waitFor();
    expect(await page.locator('[data-section-id^="operation/"]').count()).toBe(operations.length);
    for (const op of operations) await page.locator(`[data-section-id="operation/${op.operationId}"]`).waitFor({ state: 'attached' });
    // Search runs in Redoc's worker (blob: URL, allowed by worker-src).
    await page.getByPlaceholder('Search...').fill('identify');
    await page.locator('[data-role="search:results"] [data-item-id$="/operation/identifyUser"]').waitFor();
    await screenshot(page, 'api-reference-redoc', { fullPage: false });
    expect([...origins]).toEqual([origin]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
