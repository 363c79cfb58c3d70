// The same pages against the mock server (every operation answered from the spec's examples,
// no database): a frontend developer can click through them with `npm run mock`.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser } from 'playwright-core';
import { startMockServer, type RunningMockServer } from '../../mocks/server.ts';
import { createLogger } from '../../handlers/core/logger.ts';
import { hasChromium, launchBrowser, newPage, screenshot, textOf } from './support.ts';

let mock: RunningMockServer;
let browser: Browser;
let origin: string;

describe.skipIf(!hasChromium)('hosted pages against the mock server', () => {
  beforeAll(async () => {
    mock = await startMockServer({ port: 0, logger: createLogger('silent'), corsOrigins: false });
    origin = mock.url.replace('127.0.0.1', 'localhost');
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await mock?.close();
  });

  test('tenant sign-in continues to the example redirect_uri', async () => {
    const { context, page, problems } = await newPage(browser);
    await context.route('https://app.example.com/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>App</title>' }));
    await page.goto(`${origin}/t/acme/login`);
    await screenshot(page, 'mock-tenant-login');
    await page.getByLabel('Email address').fill('ada@example.com');
    await page.getByLabel('Password', { exact: true }).fill('any password will do');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('https://app.example.com/callback');
    expect(problems).toEqual([]);
    await context.close();
  });

  test('small screens and dark mode', async () => {
    const { context, page, problems } = await newPage(browser, { colorScheme: 'dark', viewport: { width: 390, height: 844 } });
    await page.goto(`${origin}/t/acme/login`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#email-error', { hasText: 'This field is required.' }).waitFor();
    // Nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'mock-tenant-login-mobile-dark');
    expect(problems).toEqual([]);
    await context.close();
  });

  test('portal sign-in and the account page render the examples', async () => {
    const { context, page, problems } = await newPage(browser);
    await page.goto(`${origin}/portal/login`);
    await page.getByLabel('Email address').fill('ada@example.com');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Password', { exact: true }).fill('any password will do');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/portal/account');
    await page.locator('#account-content[aria-busy="false"]').waitFor();
    expect(await textOf(page, '#account-identity')).toBe('Signed in as ada@example.com at acme');
    expect(await page.inputValue('#first_name')).toBe('Ada');
    expect(await textOf(page, '#mfa-summary')).toContain('Two-step verification is on.');
    await page.locator('#webauthn-list li', { hasText: 'YubiKey 5C' }).waitFor();
    await page.locator('#device-list li', { hasText: "Ada's laptop" }).waitFor();
    await page.locator('#events-body tr', { hasText: 'Authenticator app added' }).waitFor();
    await screenshot(page, 'mock-portal-account');
    expect(problems).toEqual([]);
    await context.close();
  });
});
