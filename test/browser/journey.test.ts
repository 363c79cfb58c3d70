// The hosted pages in a real browser, against the real server, database and SMTP server: one
// user's journey from registration to a password reset, in order. Screenshots go to
// reports/screenshots/ for review.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';
import { createTenant } from '../support/fixtures.ts';
import { browserOrigin, hasChromium, launchBrowser, newPage, onServer, screenshot, textOf, totpAt, unlabelledControls } from './support.ts';

const appCallback = 'https://app.example.test/callback';
const password = 'purple elephants dance at midnight';
const newPassword = 'seven quiet lanterns over the harbour';
const resetPassword = 'granite owls whisper by the river';

let server: TestServer;
let smtp: TestSmtpServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: string[];
let origin: string;
let slug: string;
const email = `ada.${Date.now()}@example.com`;
let totpSecret = '';
let backupCodes: string[] = [];

const mailTo = (subject: RegExp, after = 0) => smtp.waitFor((m) => m.to === email && subject.test(m.subject) && m.receivedAt.getTime() >= after, 15_000);

describe.skipIf(!hasChromium)('hosted pages: a user journey in Chromium', () => {
  beforeAll(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: 'http://localhost', LOCKOUT_THRESHOLD: '5' });
    origin = browserOrigin(server);
    const tenant = await createTenant(
      server,
      {
        self_registration: true,
        require_email_verification: true,
        mfa_methods: ['totp', 'email', 'webauthn', 'backup_code'],
        allowed_redirect_uris: [appCallback],
        webauthn_rp_id: 'localhost',
        webauthn_origins: [origin],
      },
      'Acme Corporation',
    );
    slug = tenant.slug;
    browser = await launchBrowser();
    ({ context, page, problems } = await newPage(browser));
    // The application behind the redirect_uri.
    await context.route('https://app.example.test/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>App</title><h1>Back in the app</h1>' }));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await smtp?.close();
  });

  const tenantUrl = (path: string) => `${origin}/t/${slug}/${path}`;

  async function tenantSignIn(pass: string, options: { remember?: boolean } = {}) {
    await page.goto(tenantUrl('login'));
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(pass);
    if (options.remember) await page.getByLabel('Keep me signed in on this device').check();
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async function portalSignIn(pass: string, mfa: (page: Page) => Promise<void> = async () => undefined) {
    await page.goto(`${origin}/portal/login`);
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Password', { exact: true }).fill(pass);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await mfa(page);
    await page.waitForURL('**/portal/account');
    await page.locator('#account-content[aria-busy="false"]').waitFor();
  }

  test('register: a field error from the password policy, then the account is created', { timeout: 60_000 }, async () => {
    await page.goto(tenantUrl('register'));
    expect(await page.title()).toBe('Create your account · Acme Corporation');
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'tenant-register');

    await page.getByLabel('First name').fill('Ada');
    await page.getByLabel('Last name').fill('Lovelace');
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password', { exact: true }).fill('too short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#password-error', { hasText: 'Use at least 15 characters.' }).waitFor();
    expect(await page.getAttribute('#password', 'aria-invalid')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password');
    expect(await textOf(page, '#register-error')).toBe('Please correct the highlighted fields.');
    await screenshot(page, 'tenant-register-error');

    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#register-status', { hasText: `We sent a link to ${email}` }).waitFor();
    await screenshot(page, 'tenant-register-done');
  });

  test('a wrong password and an unverified address are explained', async () => {
    await tenantSignIn('not the right password at all');
    await page.locator('#login-error', { hasText: 'The email address or password is not correct.' }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password');
    expect(await page.getAttribute('#login-error', 'role')).toBe('alert');
    await screenshot(page, 'tenant-login-wrong-password');

    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#login-error', { hasText: 'Please verify your email address first.' }).waitFor();
  });

  test('verify the email address by the emailed link; the link works once', async () => {
    const mail = await mailTo(/Verify your email address/);
    const link = smtp.linkIn(mail, '/verify-email')!;
    expect(link).toContain(`/t/${slug}/verify-email?token=`);
    await page.goto(onServer(server, link));
    await page.locator('#verify-status', { hasText: 'Your email address has been verified.' }).waitFor();
    expect(new URL(page.url()).search).toBe(''); // the used token is dropped from the address bar
    await screenshot(page, 'tenant-verify-email');

    await page.goto(onServer(server, link));
    await page.locator('#verify-error', { hasText: 'This verification link is invalid or has expired.' }).waitFor();
    await screenshot(page, 'tenant-verify-email-used');
  });

  test('sign in (remember me) and continue to the validated redirect_uri', async () => {
    await page.goto(tenantUrl('login'));
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'tenant-login');
    await tenantSignIn(password, { remember: true });
    await page.waitForURL(appCallback);
    // Plain http: the unprefixed name (over HTTPS it is __Host-scaikey_session); the session's own secret, not a refresh token.
    const cookie = (await context.cookies(origin)).find((c) => c.name === 'scaikey_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.value).toMatch(/^bs_/);
    // Remember me: a persistent cookie for far longer than a normal session's week.
    expect(cookie!.expires * 1000 - Date.now()).toBeGreaterThan(30 * 86_400_000);
  });

  test('portal: sign in, enrol an authenticator app from the QR page, generate backup codes, sign out', { timeout: 90_000 }, async () => {
    await page.goto(`${origin}/portal/login`);
    await screenshot(page, 'portal-login-email');
    await portalSignIn(password);
    expect(await textOf(page, '#account-identity')).toBe(`Signed in as ${email} at ${slug}`);
    expect(await page.inputValue('#first_name')).toBe('Ada');
    expect(await textOf(page, '#mfa-summary')).toContain('Two-step verification is off.');
    expect(await unlabelledControls(page)).toEqual([]);
    // The refresh token is in sessionStorage; the access token only in memory.
    const stored = await page.evaluate(() => ({ ...sessionStorage }));
    expect(Object.keys(stored)).toEqual(['scaikey.portal.refresh_token']);
    await screenshot(page, 'portal-account');

    await page.getByRole('button', { name: 'Set up authenticator app' }).click();
    await page.locator('#reauth[open]').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('reauth-password');
    await page.getByLabel('Current password').last().fill('a wrong current password');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('#reauth-error', { hasText: 'Your current password is not correct.' }).waitFor();
    await screenshot(page, 'portal-account-reauth');
    await page.locator('#reauth-password').fill(password);
    await page.getByRole('button', { name: 'Confirm' }).click();

    await page.locator('#totp-confirm-form:not([hidden])').waitFor();
    const qr = await page.getAttribute('#totp-qr', 'src');
    expect(qr).toMatch(/^data:image\/png;base64,/);
    await page.waitForFunction(() => (document.getElementById('totp-qr') as HTMLImageElement).complete);
    expect(await page.evaluate(() => (document.getElementById('totp-qr') as HTMLImageElement).naturalWidth)).toBeGreaterThan(50);
    expect(await page.getAttribute('#totp-qr', 'alt')).toMatch(/QR code/);
    // The secret as shown to the user (grouped for reading), typed into "the app": otplib.
    totpSecret = (await textOf(page, '#totp-secret')).replace(/\s+/g, '');
    expect(totpSecret).toMatch(/^[A-Z2-7]{16,}$/);
    await screenshot(page, 'portal-account-totp-setup');

    await page.getByLabel('Six-digit code from the app').fill('000000');
    await page.getByRole('button', { name: 'Turn on', exact: true }).click();
    await page.locator('#totp-error', { hasText: 'The code is wrong or the set-up has expired.' }).waitFor();
    await page.getByLabel('Six-digit code from the app').fill(await totpAt(server, totpSecret));
    await page.getByRole('button', { name: 'Turn on', exact: true }).click();
    await page.locator('#mfa-status', { hasText: 'Your authenticator app is set up.' }).waitFor();
    expect(await textOf(page, '#mfa-summary')).toContain('Two-step verification is on.');

    await page.getByRole('button', { name: 'Generate new backup codes' }).click();
    await page.locator('#reauth-password').fill(password);
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('#backup-codes:not([hidden])').waitFor();
    backupCodes = await page.locator('#backup-codes-list code').allTextContents();
    expect(backupCodes).toHaveLength(10);
    await page.locator('#backup-state', { hasText: '10 unused codes left.' }).waitFor();
    await page.locator('#events-body tr', { hasText: 'Authenticator app added' }).first().waitFor();
    await screenshot(page, 'portal-account-mfa-on');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/portal/login?signed_out=1');
    await page.locator('#portal-notice', { hasText: 'You have been signed out.' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await screenshot(page, 'portal-signed-out');
    // The account page without a session goes back to sign-in.
    await page.goto(`${origin}/portal/account`);
    await page.waitForURL('**/portal/login');
  });

  test('tenant sign-in asks for the TOTP code; "trust this device" keeps a device token', async () => {
    await tenantSignIn(password);
    await page.locator('#step-mfa:not([hidden])').waitFor();
    // One method is preselected, the code field focused.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('totp-code');
    expect(await page.isChecked('#method-totp')).toBe(true);
    expect(await page.isVisible('#method-backup_code')).toBe(true);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'tenant-mfa-totp');

    await page.getByLabel('Six-digit code from your authenticator app').fill('123456');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('#mfa-error', { hasText: 'That code is not correct or has expired.' }).waitFor();
    await screenshot(page, 'tenant-mfa-wrong-code');

    server.clock.advance(30);
    await page.getByLabel('Six-digit code from your authenticator app').fill(await totpAt(server, totpSecret));
    await page.getByLabel(/Trust this device/).check();
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(appCallback);
    await page.goto(tenantUrl('login'));
    const stored = await page.evaluate(() => ({ ...localStorage }));
    expect(stored[`scaikey.trusted_device.${slug}.${email}`]).toMatch(/.{20,}/);
  });

  test('signing in again on the trusted device skips the second step', async () => {
    await tenantSignIn(password);
    await page.waitForURL(appCallback);
  });

  test('portal: sign in with the TOTP code, see the trusted device, change the password', { timeout: 60_000 }, async () => {
    server.clock.advance(30);
    await portalSignIn(password, async (p) => {
      await p.locator('#step-mfa:not([hidden])').waitFor();
      await screenshot(p, 'portal-login-mfa');
      await p.getByLabel('Six-digit code from your authenticator app').fill(await totpAt(server, totpSecret));
      await p.getByRole('button', { name: 'Verify' }).click();
    });
    await page.locator('#device-list li', { hasText: 'Chrome' }).waitFor();

    await page.getByLabel('Current password', { exact: true }).first().fill(password);
    await page.getByLabel('New password', { exact: true }).fill(newPassword);
    await page.getByLabel('Confirm new password').fill('something else entirely here');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.locator('#confirm_password-error', { hasText: 'The passwords do not match.' }).waitFor();
    await page.getByLabel('Confirm new password').fill(newPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.locator('#pwchange-status', { hasText: 'Your password has been changed.' }).waitFor();
    // The password change revoked the trusted devices.
    await page.locator('#device-list li', { hasText: 'No trusted devices.' }).waitFor();
    await screenshot(page, 'portal-account-password-changed');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/portal/login?signed_out=1');
  });

  test('reset a forgotten password by the emailed link, then sign in with a backup code', { timeout: 60_000 }, async () => {
    await page.goto(tenantUrl('login'));
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL(`**/t/${slug}/forgot-password`);
    await screenshot(page, 'tenant-forgot-password');
    const before = Date.now();
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.locator('#forgot-done', { hasText: `If an account exists for ${email}` }).waitFor();
    await screenshot(page, 'tenant-forgot-password-sent');

    const mail = await mailTo(/Reset your/, before);
    const link = smtp.linkIn(mail, '/reset-password')!;
    await page.goto(onServer(server, link));
    await screenshot(page, 'tenant-reset-password');
    await page.getByLabel('New password').fill('short');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.locator('#new_password-error', { hasText: 'Use at least 15 characters.' }).waitFor();
    await page.getByLabel('New password').fill(resetPassword);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.locator('#reset-status', { hasText: 'Your password has been changed.' }).waitFor();
    await screenshot(page, 'tenant-reset-password-done');

    // The old password no longer works; the new one does, with a backup code as second step.
    await tenantSignIn(newPassword);
    await page.locator('#login-error', { hasText: 'The email address or password is not correct.' }).waitFor();
    await tenantSignIn(resetPassword);
    await page.locator('#step-mfa:not([hidden])').waitFor();
    await page.getByLabel('Backup code', { exact: true }).check();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('method-backup_code');
    await page.getByLabel('One of your backup codes').fill(backupCodes[0]!);
    await screenshot(page, 'tenant-mfa-backup-code');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(appCallback);
  });

  test('no CSP violations or script errors on any page', () => {
    expect(problems).toEqual([]);
  });
});
