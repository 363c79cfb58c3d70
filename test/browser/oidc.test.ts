import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { startIssuerServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, enrolTotpDirectly } from '../support/fixtures.ts';
import { hasChromium, launchBrowser, newPage, screenshot, totpAt, unlabelledControls } from './support.ts';
import { userPublicId } from '../../handlers/core/public-ids.ts';

/**
 * "Log in with ScaiKey" in real Chromium: openid-client is the app, a loopback HTTP server its
 * redirect URI. Code + PKCE through the hosted pages with a TOTP second factor and the consent
 * page, then a second app of the tenant signed in by single sign-on without any page.
 */
let server: TestServer;
let browser: Browser;
let app: Server;
let callbackBase: string;

beforeAll(async () => {
  server = await startIssuerServer();
  browser = await launchBrowser();
  app = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>App</title><p>signed in</p>');
  });
  await new Promise<void>((done) => app.listen(0, '127.0.0.1', done));
  const address = app.address();
  callbackBase = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await browser?.close();
  await new Promise((done) => app?.close(done));
  await server?.stop();
});

describe.skipIf(!hasChromium)('OpenID Connect in Chromium', () => {
  it('signs in with password and TOTP, asks consent once, then signs a second app in by SSO', async () => {
    const tenant = await createTenant(server, {}, 'Acme');
    const { user, email, password } = await createUser(server, tenant);
    const secret = await enrolTotpDirectly(server, user._id);
    const redirectUri = `${callbackBase}/callback`;
    const third = await server.domain.applications.create({
      name: 'Acme Reports', application_type: 'WEB', scope: 'TENANT', tenant_id: tenant._id, redirect_uris: [redirectUri],
      allowed_scopes: ['openid', 'profile', 'email', 'offline_access'], skip_consent: false,
    });
    const issuer = `${server.url}/api/v1/auth/tenants/${tenant.slug}`;
    const config = await oidc.discovery(new URL(issuer), third.application.client_id, third.clientSecret!, undefined, { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: 'openid profile email', state, login_hint: email,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });

    const { context, page, problems } = await newPage(browser);
    await page.goto(url.toString());
    expect(await page.inputValue('#email')).toBe(email);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'oidc-sign-in');
    await page.fill('#password', password);
    await page.click('button.login-submit');
    await page.waitForSelector('#code');
    await screenshot(page, 'oidc-second-factor');
    await page.fill('#code', await totpAt(server, secret));
    await page.click('button.login-submit');
    await page.waitForSelector('.oauth-consent');
    expect(await page.textContent('h1')).toContain('Acme Reports');
    await screenshot(page, 'oidc-consent');
    await page.click('button[value=allow]');
    await page.waitForURL(`${redirectUri}?**`);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true });
    expect(tokens.claims()).toMatchObject({ sub: userPublicId(user._id), amr: ['pwd', 'otp'] });
    expect(await oidc.fetchUserInfo(config, tokens.access_token, userPublicId(user._id))).toMatchObject({ email });

    // The consent is listed on the account's authorized apps; the same browser signs in again silently.
    const listed = await server.call('GET', '/api/v1/me/authorized-apps', { token: tokens.access_token });
    expect(listed.body).toMatchObject({ total: 1, items: [{ client_id: third.application.client_id, name: 'Acme Reports', scopes: ['openid', 'profile', 'email'] }] });
    await page.goto(oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }).toString());
    await page.waitForURL(`${redirectUri}?**`);

    // A first-party app of the same tenant: single sign-on, no page at all.
    const first = await server.domain.applications.create({
      name: 'Acme Portal', application_type: 'SPA', scope: 'TENANT', tenant_id: tenant._id, redirect_uris: [redirectUri], skip_consent: true,
    });
    const spa = await oidc.discovery(new URL(issuer), first.application.client_id, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const spaVerifier = oidc.randomPKCECodeVerifier();
    await page.goto(oidc.buildAuthorizationUrl(spa, { redirect_uri: redirectUri, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(spaVerifier), code_challenge_method: 'S256' }).toString());
    await page.waitForURL(`${redirectUri}?**`);
    const spaTokens = await oidc.authorizationCodeGrant(spa, new URL(page.url()), { pkceCodeVerifier: spaVerifier, idTokenExpected: true });
    expect(spaTokens.claims()!.sid).toBe(tokens.claims()!.sid);

    // Revoking the authorization ends that app's tokens, not the other app's.
    expect((await server.call('DELETE', `/api/v1/me/authorized-apps/${third.application.client_id}`, { token: spaTokens.access_token })).status).toBe(200);
    await expect(oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck)).rejects.toBeDefined();
    await expect(oidc.fetchUserInfo(spa, spaTokens.access_token, oidc.skipSubjectCheck)).resolves.toMatchObject({ sub: userPublicId(user._id) });
    expect((await server.call('DELETE', `/api/v1/me/authorized-apps/${third.application.client_id}`, { token: spaTokens.access_token })).status).toBe(404);

    expect(problems).toEqual([]);
    await context.close();
  });

  it('the account page lists the authorized app and revokes it', async () => {
    const tenant = await createTenant(server, {}, 'Globex');
    const { email, password } = await createUser(server, tenant);
    const redirectUri = `${callbackBase}/callback`;
    const reports = await server.domain.applications.create({
      name: 'Globex Reports', application_type: 'WEB', scope: 'TENANT', tenant_id: tenant._id, redirect_uris: [redirectUri], skip_consent: false,
    });
    const issuer = `${server.url}/api/v1/auth/tenants/${tenant.slug}`;
    const config = await oidc.discovery(new URL(issuer), reports.application.client_id, reports.clientSecret!, undefined, { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const { context, page, problems } = await newPage(browser);
    await page.goto(oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid offline_access', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }).toString());
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('button.login-submit');
    await page.click('button[value=allow]');
    await page.waitForURL(`${redirectUri}?**`);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, idTokenExpected: true });

    // The account page (portal sign-in on the same server) shows the app and revokes it.
    await page.goto(`${server.url}/portal/login`);
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/portal/account');
    await page.locator('#account-content[aria-busy="false"]').waitFor();
    await page.locator('#app-list').getByText('Globex Reports').waitFor();
    await screenshot(page, 'oidc-account-authorized-apps');
    await page.getByRole('button', { name: 'Revoke: Globex Reports' }).click();
    await page.locator('#app-list').getByText('No authorized apps.').waitFor();
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows an error page, not a redirect, for an unregistered redirect URI', async () => {
    const tenant = await createTenant(server);
    const { application } = await server.domain.applications.create({ name: 'App', application_type: 'WEB', scope: 'TENANT', tenant_id: tenant._id, redirect_uris: [`${callbackBase}/callback`] });
    const { context, page } = await newPage(browser);
    const response = await page.goto(`${server.url}/api/v1/auth/tenants/${tenant.slug}/oauth/authorize?client_id=${application.client_id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(`${callbackBase}/other`)}`);
    expect(response?.status()).toBe(400);
    expect(page.url()).toContain('/oauth/authorize');
    expect(await page.textContent('h1')).toContain('cannot be completed');
    await screenshot(page, 'oidc-error');
    await context.close();
  });
});
