// The hosted pages in Chromium against the real server: error paths (lockout, expired and used
// links), the portal's tenant selection, WebAuthn through a virtual authenticator, email codes,
// localisation, keyboard use and the pages' security headers.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';
import { createTenant, createUser, strongPassword } from '../support/fixtures.ts';
import type { UserDoc } from '../../handlers/store/users.ts';
import { addVirtualAuthenticator, browserOrigin, hasChromium, launchBrowser, newPage, onServer, screenshot, textOf } from './support.ts';

const appCallback = 'https://app.example.test/callback';
const allMethods = ['totp', 'email', 'webauthn', 'backup_code'] as const;

let server: TestServer;
let smtp: TestSmtpServer;
let browser: Browser;
let origin: string;
const allProblems: string[] = [];

async function freshPage(locale?: string): Promise<{ context: BrowserContext; page: Page }> {
  const { context, page, problems } = await newPage(browser, locale ? { locale } : {});
  await context.route('https://app.example.test/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>App</title><h1>Back in the app</h1>' }));
  page.on('close', () => allProblems.push(...problems));
  return { context, page };
}

async function tenantSignIn(page: Page, slug: string, email: string, password: string) {
  await page.goto(`${origin}/t/${slug}/login`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function portalSignIn(page: Page, email: string, password: string) {
  await page.goto(`${origin}/portal/login`);
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/portal/account');
  await page.locator('#account-content[aria-busy="false"]').waitFor();
}

async function confirmPassword(page: Page, password: string) {
  await page.locator('#reauth[open]').waitFor();
  await page.locator('#reauth-password').fill(password);
  await page.getByRole('button', { name: 'Confirm' }).click();
}

describe.skipIf(!hasChromium)('hosted pages in Chromium: errors, tenants, WebAuthn, email codes, locales', () => {
  beforeAll(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: 'http://localhost', LOCKOUT_THRESHOLD: '3', IP_RATE_LIMIT: '1000' });
    origin = browserOrigin(server);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await smtp?.close();
  });

  test('lockout after repeated wrong passwords is explained, with the wait', async () => {
    const tenant = await createTenant(server, { allowed_redirect_uris: [appCallback] }, 'Lockout Ltd');
    const { email } = await createUser(server, tenant);
    const { page } = await freshPage();
    for (let i = 0; i < 3; i += 1) {
      await tenantSignIn(page, tenant.slug, email, `wrong password number ${i}`);
      await page.locator('#login-error', { hasText: 'The email address or password is not correct.' }).waitFor();
    }
    await tenantSignIn(page, tenant.slug, email, strongPassword);
    await page.locator('#login-error', { hasText: 'Too many failed attempts.' }).waitFor();
    expect(await textOf(page, '#login-error')).toMatch(/sign-in is paused for \d+ minutes\. You can also reset your password\./);
    await screenshot(page, 'tenant-login-locked');
    await page.close();
  });

  test('an expired password reset link and a link without a token say so clearly', async () => {
    const tenant = await createTenant(server, {}, 'Expiry Inc');
    const { email } = await createUser(server, tenant);
    const { page } = await freshPage();
    const before = Date.now();
    await page.goto(`${origin}/t/${tenant.slug}/forgot-password`);
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.locator('#forgot-done:not(:empty)').waitFor();
    const mail = await smtp.waitFor((m) => m.to === email && /Reset your/.test(m.subject) && m.receivedAt.getTime() >= before, 15_000);
    server.clock.advance(2 * 3600);
    await page.goto(onServer(server, smtp.linkIn(mail, '/reset-password')!));
    await page.getByLabel('New password').fill('a perfectly good new passphrase');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.locator('#reset-error', { hasText: 'This password reset link is invalid or has expired.' }).waitFor();
    await page.getByRole('link', { name: 'Request a new link' }).waitFor();
    await screenshot(page, 'tenant-reset-password-expired');

    await page.goto(`${origin}/t/${tenant.slug}/reset-password`);
    await page.locator('#reset-error', { hasText: 'This page needs the link from your password reset email.' }).waitFor();
    await page.goto(`${origin}/t/${tenant.slug}/verify-email?token=not-a-real-token`);
    await page.locator('#verify-error', { hasText: 'This verification link is invalid or has expired.' }).waitFor();
    await page.close();
  });

  test('portal: an email with accounts at several tenants picks one, then signs in there', async () => {
    const globex = await createTenant(server, {}, 'Globex');
    const initech = await createTenant(server, {}, 'Initech');
    const email = `multi.${Date.now()}@example.com`;
    await createUser(server, globex, { email });
    await createUser(server, initech, { email, password: 'initech has its own passphrase' });
    const { page } = await freshPage();
    await page.goto(`${origin}/portal/login`);
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('#step-tenant:not([hidden])').waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('#tenant-error', { hasText: 'Choose an organisation.' }).waitFor();
    await screenshot(page, 'portal-login-tenant-choice');

    await page.getByLabel('Initech').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('#step-password:not([hidden])').waitFor();
    expect(await textOf(page, '#identity-line')).toBe(`Signing in as ${email} at Initech`);
    expect(await page.getAttribute('#portal-forgot a', 'href')).toBe(`/t/${initech.slug}/forgot-password`);
    await page.getByLabel('Password', { exact: true }).fill(strongPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#signin-error', { hasText: 'The email address or password is not correct.' }).waitFor();
    await screenshot(page, 'portal-login-password-wrong');
    await page.getByLabel('Password', { exact: true }).fill('initech has its own passphrase');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/portal/account');
    await page.locator('#account-identity', { hasText: `at ${initech.slug}` }).waitFor();
    await page.close();
  });

  test('WebAuthn: register a security key on the account page, rename it, then use it at sign-in', { timeout: 60_000 }, async () => {
    const tenant = await createTenant(server, { mfa_methods: [...allMethods], allowed_redirect_uris: [appCallback], webauthn_rp_id: 'localhost', webauthn_origins: [origin] }, 'Keys & Co');
    const { email, password } = await createUser(server, tenant);
    const { context, page } = await freshPage();
    await addVirtualAuthenticator(context, page);
    await portalSignIn(page, email, password);
    await page.getByLabel('Name', { exact: true }).fill('Test key');
    await page.getByRole('button', { name: 'Add a security key or passkey' }).click();
    await confirmPassword(page, password);
    await page.locator('#webauthn-status', { hasText: 'Your security key has been added.' }).waitFor();
    await page.locator('#webauthn-list li', { hasText: 'Test key' }).waitFor();
    expect(await textOf(page, '#mfa-summary')).toContain('Two-step verification is on.');

    await page.getByRole('button', { name: 'Rename: Test key' }).click();
    await page.getByLabel('New name for Test key').fill('Office key');
    await page.getByRole('button', { name: 'Save', exact: true }).last().click();
    await page.locator('#webauthn-list li', { hasText: 'Office key' }).waitFor();
    await screenshot(page, 'portal-account-webauthn');

    // The account page and the sign-in page share the origin, so the same virtual key answers.
    await tenantSignIn(page, tenant.slug, email, password);
    await page.locator('#step-mfa:not([hidden])').waitFor();
    expect(await page.isChecked('#method-webauthn')).toBe(true);
    await screenshot(page, 'tenant-mfa-webauthn');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(appCallback);

    // The OpenID provider's second-factor page runs the same ceremony (prompt=login: sign in again).
    // The app's redirect URI is a loopback URL of this server, so the browser really arrives there.
    const back = `${origin}/healthz`;
    const { application } = await server.domain.applications.create({ name: 'Keys app', application_type: 'SPA', scope: 'TENANT', tenant_id: tenant._id, redirect_uris: [back], skip_consent: true });
    await page.goto(`${origin}/api/v1/auth/tenants/${tenant.slug}/oauth/authorize?response_type=code&client_id=${application.client_id}&redirect_uri=${encodeURIComponent(back)}&scope=openid&prompt=login&code_challenge=${'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'}&code_challenge_method=S256&state=k`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('button.login-submit');
    await page.locator('form.oauth-mfa').waitFor();
    await page.selectOption('#method', 'webauthn');
    expect(await page.isHidden('#code')).toBe(true);
    await screenshot(page, 'oidc-mfa-webauthn');
    await page.click('button.login-submit');
    await page.waitForURL(`${back}?**`);
    const callback = new URL(page.url());
    expect([callback.searchParams.get('state'), callback.searchParams.get('code')?.startsWith('ac_')]).toEqual(['k', true]);
    expect([callback.searchParams.get('state'), callback.searchParams.get('code')?.startsWith('ac_')]).toEqual(['k', true]);

    // The portal's verify takes codes only: a security-key-only account is sent to the tenant's page.
    await page.goto(`${origin}/portal/account`);
    // Let the account page finish loading (its sessions list last) before signing out: a list
    // request still in flight would answer 401 after the sign-out and send the page elsewhere.
    await page.locator('#signin-list li').first().waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/portal/login?signed_out=1');
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#signin-error', { hasText: 'works only on your organisation’s own sign-in page' }).waitFor();
    await screenshot(page, 'portal-login-webauthn-only');
    await page.close();
  });

  test('email codes: turn them on in the account, then sign in with an emailed code (with resend)', { timeout: 60_000 }, async () => {
    const tenant = await createTenant(server, { mfa_methods: [...allMethods], allowed_redirect_uris: [appCallback] }, 'Mailers GmbH');
    const { email, password } = await createUser(server, tenant);
    const { page } = await freshPage();
    await portalSignIn(page, email, password);
    await page.getByRole('button', { name: 'Turn on email codes' }).click();
    await confirmPassword(page, password);
    await page.locator('#mfa-status', { hasText: 'Sign-in codes by email are on.' }).waitFor();

    const before = Date.now();
    await tenantSignIn(page, tenant.slug, email, password);
    await page.locator('#step-mfa:not([hidden])').waitFor();
    await page.locator('#email-code-status', { hasText: 'We emailed you a code. It expires in 10 minutes.' }).waitFor();
    expect(await textOf(page, '#resend-code')).toMatch(/^Send a new code \(\d+ s\)$/);
    expect(await page.getAttribute('#resend-code', 'aria-disabled')).toBe('true');
    await screenshot(page, 'tenant-mfa-email');
    const mail = await smtp.waitFor((m) => m.to === email && /sign-in code/.test(m.subject) && m.receivedAt.getTime() >= before, 15_000);
    await page.getByLabel('Code from the email we sent you').fill(smtp.codeIn(mail)!);
    await page.getByLabel(/Trust this device/).check();
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(appCallback);

    // Back in the same tab, the portal session (sessionStorage) still holds: revoke the device.
    await page.goto(`${origin}/portal/account`);
    await page.locator('#device-list li', { hasText: 'Chrome' }).waitFor();
    await page.locator('#device-list').getByRole('button', { name: /^Revoke: Chrome/ }).click();
    await page.locator('#devices-status', { hasText: 'Trusted device revoked.' }).waitFor();
    await page.locator('#device-list li', { hasText: 'No trusted devices.' }).waitFor();

    // The portal asks for an emailed code too (sent through the tenant's send operation).
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/portal/login?signed_out=1');
    const portalStart = Date.now();
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#email-code-status', { hasText: 'We emailed you a code.' }).waitFor();
    await screenshot(page, 'portal-login-mfa-email');
    const portalMail = await smtp.waitFor((m) => m.to === email && /sign-in code/.test(m.subject) && m.receivedAt.getTime() >= portalStart, 15_000);
    await page.getByLabel('Code from the email we sent you').fill(smtp.codeIn(portalMail)!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL('**/portal/account');
    await page.locator('#account-content[aria-busy="false"]').waitFor();
    await page.close();
  });

  test('account: the profile form saves through PATCH /me, shows field errors, and sends a verification email', { timeout: 60_000 }, async () => {
    const tenant = await createTenant(server, { require_email_verification: false }, 'Profiles Ltd');
    const { email, password } = await createUser(server, tenant, { emailVerified: false });
    const { page } = await freshPage();
    await portalSignIn(page, email, password);
    expect(await textOf(page, '#email-badge')).toBe('Not verified yet');

    await page.getByLabel('Display name').fill('Countess of Lovelace');
    await page.getByLabel('Phone').fill('0123 not a number');
    await page.getByRole('button', { name: 'Save', exact: true }).first().click();
    await page.locator('#phone-error', { hasText: 'Enter the number in international format' }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('phone');
    await screenshot(page, 'portal-account-profile-error');
    await page.getByLabel('Phone').fill('+441632960961');
    await page.getByLabel('Time zone').fill('Europe/London');
    await page.getByRole('button', { name: 'Save', exact: true }).first().click();
    await page.locator('#profile-status', { hasText: 'Your profile has been saved.' }).waitFor();
    const stored = await server.database.db.collection<UserDoc>('users').findOne({ email_normalized: email.toLowerCase() });
    expect(stored).toMatchObject({ display_name: 'Countess of Lovelace', phone: '+441632960961', timezone: 'Europe/London' });

    const before = Date.now();
    await page.getByRole('button', { name: 'Send verification email' }).click();
    await page.locator('#verify-status', { hasText: `We sent a verification link to ${email}.` }).waitFor();
    const mail = await smtp.waitFor((m) => m.to === email && /Verify your email address/.test(m.subject) && m.receivedAt.getTime() >= before, 15_000);
    await page.goto(onServer(server, smtp.linkIn(mail, '/verify-email')!));
    await page.locator('#verify-status', { hasText: 'Your email address has been verified.' }).waitFor();
    await page.goto(`${origin}/portal/account`);
    await page.locator('#email-badge', { hasText: 'Verified' }).waitFor();
    expect(await page.isHidden('#send-verification')).toBe(true);
    await page.close();
  });

  test('a tenant without a redirect_uri lands on the signed-in page', async () => {
    const tenant = await createTenant(server, {}, 'No Redirect AG');
    const { email, password } = await createUser(server, tenant);
    const { page } = await freshPage();
    await tenantSignIn(page, tenant.slug, email, password);
    await page.waitForURL(`**/t/${tenant.slug}/signed-in`);
    await page.getByRole('heading', { name: 'You are signed in' }).waitFor();
    await screenshot(page, 'tenant-signed-in');
    await page.close();
  });

  test('pages follow Accept-Language (German catalogue), and ?lang= overrides it', async () => {
    const tenant = await createTenant(server, { self_registration: false }, 'Beispiel GmbH');
    const { email } = await createUser(server, tenant);
    const { page } = await freshPage('de-DE');
    await page.goto(`${origin}/t/${tenant.slug}/login`);
    expect(await page.getAttribute('html', 'lang')).toBe('de');
    await page.getByLabel('E-Mail-Adresse').fill(email);
    await page.getByLabel('Passwort', { exact: true }).fill('falsches passwort hier');
    await page.getByRole('button', { name: 'Anmelden' }).click();
    await page.locator('#login-error', { hasText: 'E-Mail-Adresse oder Passwort ist nicht korrekt.' }).waitFor();
    // Registration is off for this tenant: no link to it.
    expect(await page.getByRole('link', { name: 'Konto erstellen' }).count()).toBe(0);
    await screenshot(page, 'tenant-login-de');

    await page.goto(`${origin}/t/${tenant.slug}/register`);
    await page.locator('.form-error', { hasText: 'Bei dieser Organisation können Sie kein eigenes Konto anlegen.' }).waitFor();
    await screenshot(page, 'tenant-register-disabled-de');
    await page.goto(`${origin}/t/${tenant.slug}/login?lang=en`);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.goto(`${origin}/t/no-such-tenant/login?lang=en`);
    await page.getByRole('heading', { name: 'Organisation not found' }).waitFor();
    await screenshot(page, 'tenant-not-found');
    await page.close();
  });

  test('keyboard only: skip link, a logical tab order, Enter submits, the error is announced and focus moves to the field', async () => {
    const tenant = await createTenant(server, { self_registration: true }, 'Keyboard Corp');
    const { email } = await createUser(server, tenant);
    const { page } = await freshPage();
    await page.goto(`${origin}/t/${tenant.slug}/login`);
    const order: string[] = [];
    for (let i = 0; i < 8; i += 1) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => {
        const a = document.activeElement as HTMLElement;
        return a.id || a.getAttribute('aria-label') || a.textContent?.trim() || a.tagName;
      }));
    }
    expect(order).toEqual(['Skip to main content', 'email', 'password', 'Show password', 'remember_me', 'Sign in', 'forgot-link', 'Create an account']);

    await page.focus('#email');
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await page.keyboard.type('not my password, sorry');
    await page.keyboard.press('Enter');
    await page.locator('#login-error:not(:empty)').waitFor();
    expect(await page.getAttribute('#login-error', 'role')).toBe('alert');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password');

    // Empty submit: each field says what is wrong, is marked invalid and points at its message.
    await page.fill('#email', '');
    await page.keyboard.press('Enter');
    await page.locator('#email-error', { hasText: 'This field is required.' }).waitFor();
    expect(await page.getAttribute('#email', 'aria-invalid')).toBe('true');
    expect(await page.getAttribute('#email', 'aria-describedby')).toContain('email-error');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('email');
    await screenshot(page, 'tenant-login-empty');
    await page.close();
  });

  test('every page is served with its own strict Content-Security-Policy and no caching', async () => {
    const tenant = await createTenant(server, { self_registration: true }, 'Headers PLC');
    for (const path of [`/t/${tenant.slug}/login`, `/t/${tenant.slug}/register`, `/t/${tenant.slug}/forgot-password`, `/t/${tenant.slug}/reset-password`, `/t/${tenant.slug}/verify-email`, '/portal/login', '/portal/account']) {
      const response = await fetch(`${origin}${path}`, { headers: { 'accept-language': 'de;q=0.5, en;q=0.9' } });
      expect(response.status, path).toBe(200);
      const csp = response.headers.get('content-security-policy') ?? '';
      for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"]) {
        expect(csp, `${path}: ${directive}`).toContain(directive);
      }
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('content-language')).toBe('en');
      const body = await response.text();
      expect(body).not.toMatch(/<script(?![^>]*\b(src="\/pages\/assets\/|type="application\/json"))/);
      expect(body).not.toMatch(/\sstyle=|<style|https?:\/\/(?!localhost)/);
    }
    const asset = await fetch(`${origin}/pages/assets/core.js`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const etag = asset.headers.get('etag')!;
    expect((await fetch(`${origin}/pages/assets/core.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${origin}/pages/assets/nope.js`)).status).toBe(404);
  });

  test('no CSP violations or script errors in any of these pages', () => {
    expect(allProblems).toEqual([]);
  });
});
