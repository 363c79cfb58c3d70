// Browser-test helpers: Debian's Chromium driven by playwright-core (never a downloaded browser),
// screenshots for review, email links pointed at the test server, TOTP codes on the server's clock.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { generate } from 'otplib';
import type { TestServer } from '../support/server.ts';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(chromiumPath);
export const screenshotDir = join(process.cwd(), 'reports', 'screenshots');

export async function launchBrowser(): Promise<Browser> {
  // --no-sandbox only where the sandbox cannot work (running as root, as in CI containers).
  const args = typeof process.getuid === 'function' && process.getuid() === 0 ? ['--no-sandbox'] : [];
  return chromium.launch({ executablePath: chromiumPath, headless: true, args });
}

/** A page that records console errors and CSP violations, so tests can assert there are none. */
export async function newPage(
  browser: Browser,
  options: { locale?: string; colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {},
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ locale: options.locale ?? 'en-GB', viewport: options.viewport ?? { width: 1100, height: 900 }, colorScheme: options.colorScheme ?? 'light' });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    const text = message.text();
    // 4xx answers from the API are expected in error-path tests; anything else is a problem.
    if (message.type() === 'error' && !/status of 4\d\d/.test(text)) problems.push(text);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  return { context, page, problems };
}

/** Full-page by default; a page many screens tall (the reference of every operation) takes the viewport only. */
export async function screenshot(page: Page, name: string, { fullPage = true }: { fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage });
}

/** The server as the browser sees it: `localhost` (a valid WebAuthn RP ID, unlike an IP address). */
export function browserOrigin(server: TestServer): string {
  return server.url.replace('127.0.0.1', 'localhost');
}

/**
 * startTestServer listens on a free port chosen at start-up, so PUBLIC_BASE_URL (the base of
 * emailed links) cannot name it; tests run with PUBLIC_BASE_URL=http://localhost and point each
 * link's origin at the running server.
 */
export function onServer(server: TestServer, link: string): string {
  const url = new URL(link);
  return `${browserOrigin(server)}${url.pathname}${url.search}`;
}

export const totpAt = (server: TestServer, secret: string) => generate({ secret, epoch: Math.floor(server.clock.now().getTime() / 1000) });

/** Chromium's virtual authenticator (CTAP2, resident keys, user verification) through CDP. */
export async function addVirtualAuthenticator(context: BrowserContext, page: Page): Promise<string> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return authenticatorId;
}

/** Visible text of an element, whitespace collapsed. */
export async function textOf(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

/** Every visible form control has an accessible name from a <label> (or aria-label). */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const missing: string[] = [];
    for (const control of document.querySelectorAll<HTMLElement>('input, select, textarea, button')) {
      if (control.closest('[hidden]') || (control as HTMLInputElement).type === 'hidden' || control.hidden) continue;
      const input = control as HTMLInputElement;
      const labelled = (input.labels && input.labels.length > 0) || control.getAttribute('aria-label') || (control.tagName === 'BUTTON' && control.textContent?.trim());
      if (!labelled) missing.push(control.id || control.outerHTML.slice(0, 80));
    }
    return missing;
  });
}
