import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { generate } from 'otplib';
import { startIssuerServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser, enrolTotpDirectly } from '../support/fixtures.ts';
import { hidden } from '../support/oidc-pages.ts';
import { tenantPublicId, userPublicId } from '../../handlers/core/public-ids.ts';

/**
 * The tenant issuer driven by openid-client (panva's certified relying-party library) as the
 * app: discovery, code + PKCE through the hosted sign-in page (plain HTTP forms, as a browser
 * posts them), single sign-on, refresh rotation, userinfo, introspection, revocation, logout,
 * client_credentials and token exchange, with the sad paths around each.
 */
let server: TestServer;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let issuerUrl: string;
const redirectUri = 'https://app.example.com/callback';

async function registerApp(overrides: Record<string, unknown> = {}) {
  return server.domain.applications.create({
    name: 'Test app',
    application_type: 'WEB',
    scope: 'TENANT',
    tenant_id: tenant._id,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: ['https://app.example.com/bye'],
    allowed_scopes: ['openid', 'profile', 'email', 'offline_access', 'api:read'],
    skip_consent: true,
    ...overrides,
  });
}

async function configFor(clientId: string, secret: string | null) {
  return oidc.discovery(new URL(issuerUrl), clientId, secret ? { client_secret: secret } : undefined, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

/** A browser's cookie jar, reduced to the one session cookie. */
class Browser {
  cookie: string | undefined;
  async get(url: string): Promise<Response> {
    const response = await fetch(url, { redirect: 'manual', headers: this.cookie ? { cookie: this.cookie } : {} });
    this.remember(response);
    return response;
  }
  async post(url: string, form: Record<string, string>): Promise<Response> {
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(this.cookie ? { cookie: this.cookie } : {}) },
      body: new URLSearchParams(form).toString(),
    });
    this.remember(response);
    return response;
  }
  private remember(response: Response): void {
    const set = response.headers.getSetCookie().find((c) => c.startsWith('scaikey_session='));
    if (set) this.cookie = set.split(';')[0];
  }
}

function actionOf(page: string): string {
  const match = /<form method="post" action="([^"]+)"/.exec(page);
  return new URL(match![1]!, issuerUrl).toString();
}

/** Authorization request → hosted page (sign in, MFA if asked) → the redirect back with the code. */
async function signIn(browser: Browser, url: URL, credentials?: { email: string; password: string; totpSecret?: string }): Promise<URL> {
  let response = await browser.get(url.toString());
  if (response.status === 200 && credentials) {
    let page = await response.text();
    response = await browser.post(actionOf(page), { request: hidden(page, 'request'), step: 'password', email: credentials.email, password: credentials.password });
    if (response.status === 200 && credentials.totpSecret) {
      page = await response.text();
      expect(page).toContain('name="mfa_token"');
      response = await browser.post(actionOf(page), {
        request: hidden(page, 'request'), step: 'mfa', mfa_token: hidden(page, 'mfa_token'), user_id: hidden(page, 'user_id'),
        methods: hidden(page, 'methods'), method: 'totp', code: await generate({ secret: credentials.totpSecret, epoch: Math.floor(server.clock.now().getTime() / 1000) }),
      });
    }
  }
  expect(response.status, await response.clone().text()).toBe(303);
  return new URL(response.headers.get('location')!);
}

beforeAll(async () => {
  server = await startIssuerServer();
  tenant = await createTenant(server);
  issuerUrl = `${server.url}/api/v1/auth/tenants/${tenant.slug}`;
});
afterAll(async () => {
  await server?.stop();
});

describe('tenant issuer with openid-client', () => {
  it('discovery names this issuer exactly and every endpoint under it', async () => {
    const { application, clientSecret } = await registerApp();
    const config = await configFor(application.client_id, clientSecret);
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(issuerUrl);
    expect(metadata.authorization_endpoint).toBe(`${issuerUrl}/oauth/authorize`);
    expect(metadata.jwks_uri).toBe(`${issuerUrl}/.well-known/jwks.json`);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    const jwks = (await (await fetch(metadata.jwks_uri!)).json()) as { keys: Array<{ alg: string }> };
    expect(jwks.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
  });

  it('code + PKCE with TOTP, then SSO for a second app, refresh rotation, userinfo, introspection, revocation', async () => {
    const { user, email, password } = await createUser(server, tenant);
    const totpSecret = await enrolTotpDirectly(server, user._id);
    const first = await registerApp();
    const config = await configFor(first.application.client_id, first.clientSecret);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: 'openid profile email offline_access', state, nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const browser = new Browser();
    const callback = await signIn(browser, url, { email, password, totpSecret });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const idClaims = tokens.claims()!;
    expect(idClaims.sub).toBe(userPublicId(user._id));
    expect(idClaims.amr).toEqual(['pwd', 'otp']);
    expect(idClaims.acr).toBe('urn:scaikey:acr:mfa');
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
    const at = decodeJwt(tokens.access_token);
    expect(at).toMatchObject({ iss: issuerUrl, aud: first.application.client_id, client_id: first.application.client_id, tenant_id: tenantPublicId(tenant._id), scope: 'openid profile email offline_access' });
    expect(tokens.refresh_token).toMatch(/^rt_/);

    const info = await oidc.fetchUserInfo(config, tokens.access_token, userPublicId(user._id));
    expect(info).toMatchObject({ sub: userPublicId(user._id), email, email_verified: true, given_name: 'Test' });
    // The same token works on the ScaiKey API: one verification path, one session model.
    expect((await server.call('GET', '/api/v1/me', { token: tokens.access_token })).status).toBe(200);

    // A second app of the tenant signs in silently on the same browser session.
    const second = await registerApp({ name: 'Second app' });
    const config2 = await configFor(second.application.client_id, second.clientSecret);
    const verifier2 = oidc.randomPKCECodeVerifier();
    const sso = await signIn(browser, oidc.buildAuthorizationUrl(config2, {
      redirect_uri: redirectUri, scope: 'openid', prompt: 'none', code_challenge: await oidc.calculatePKCECodeChallenge(verifier2), code_challenge_method: 'S256',
    }));
    const tokens2 = await oidc.authorizationCodeGrant(config2, sso, { pkceCodeVerifier: verifier2, idTokenExpected: true });
    expect(tokens2.claims()!.sub).toBe(userPublicId(user._id));
    expect(tokens2.claims()!.sid).toBe(idClaims.sid);

    // Refresh rotation; the other app cannot use this app's refresh token.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    await expect(oidc.refreshTokenGrant(config2, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const active = await oidc.tokenIntrospection(config, refreshed.access_token);
    expect(active).toMatchObject({ active: true, client_id: first.application.client_id, sub: userPublicId(user._id) });

    // Revoking the refresh token ends this app's grant (its access tokens too), not the other app's.
    await oidc.tokenRevocation(config, refreshed.refresh_token!);
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await oidc.tokenIntrospection(config, refreshed.access_token)).toEqual({ active: false });
    await expect(oidc.fetchUserInfo(config2, tokens2.access_token, oidc.skipSubjectCheck)).resolves.toMatchObject({ sub: userPublicId(user._id) });

    // Logout with the id_token_hint ends the browser session and every app session it signed in.
    const logout = oidc.buildEndSessionUrl(config2, { id_token_hint: tokens2.id_token!, post_logout_redirect_uri: 'https://app.example.com/bye', state: 'bye' });
    const out = await browser.get(logout.toString());
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('https://app.example.com/bye?state=bye');
    await expect(oidc.fetchUserInfo(config2, tokens2.access_token, oidc.skipSubjectCheck)).rejects.toBeDefined();
    const again = await browser.get(oidc.buildAuthorizationUrl(config2, { redirect_uri: redirectUri, scope: 'openid', prompt: 'none', code_challenge: await oidc.calculatePKCECodeChallenge(verifier2), code_challenge_method: 'S256' }).toString());
    expect(new URL(again.headers.get('location')!).searchParams.get('error')).toBe('login_required');
  });

  it('an app that chose ES256 gets ES256 ID tokens, verifiable with the JWKS', async () => {
    const { email, password } = await createUser(server, tenant);
    const { application, clientSecret } = await registerApp({ id_token_signed_response_alg: 'ES256' });
    const config = await oidc.discovery(new URL(issuerUrl), application.client_id, { client_secret: clientSecret!, id_token_signed_response_alg: 'ES256' }, oidc.ClientSecretBasic(clientSecret!), { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const callback = await signIn(new Browser(), oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }), { email, password });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, idTokenExpected: true });
    const header = decodeProtectedHeader(tokens.id_token!);
    expect(header.alg).toBe('ES256');
    const { createRemoteJWKSet, jwtVerify } = await import('jose');
    const keys = createRemoteJWKSet(new URL(`${issuerUrl}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(tokens.id_token!, keys, { issuer: issuerUrl, audience: application.client_id, currentDate: server.clock.now() });
    expect(payload.at_hash).toEqual(expect.any(String));
  });

  it('the form-post variants: authorize, userinfo and logout', async () => {
    const { email, password } = await createUser(server, tenant);
    const { application, clientSecret } = await registerApp();
    const config = await configFor(application.client_id, clientSecret);
    const verifier = oidc.randomPKCECodeVerifier();
    const browser = new Browser();
    const page = await (await browser.post(`${issuerUrl}/oauth/authorize`, {
      response_type: 'code', client_id: application.client_id, redirect_uri: redirectUri, scope: 'openid email', state: 'p',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    })).text();
    const done = await browser.post(actionOf(page), { request: hidden(page, 'request'), step: 'password', email, password });
    expect(done.status).toBe(303);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.headers.get('location')!), { pkceCodeVerifier: verifier, expectedState: 'p', idTokenExpected: true });
    const info = await browser.post(`${issuerUrl}/oauth/userinfo`, { access_token: tokens.access_token });
    expect([info.status, (await info.json()).email]).toEqual([200, email]);
    const out = await browser.post(`${issuerUrl}/oauth/logout`, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://app.example.com/bye' });
    expect([out.status, out.headers.get('location')]).toEqual([303, 'https://app.example.com/bye']);
    const gone = await fetch(`${issuerUrl}/oauth/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(gone.status).toBe(401);
  });

  it('the sign-in page speaks the ui_locales language; its language links keep the request', async () => {
    const { application } = await registerApp();
    const query = `client_id=${application.client_id}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&scope=openid&state=s&ui_locales=${encodeURIComponent('fr de')}`;
    const page = await (await fetch(`${issuerUrl}/oauth/authorize?${query}`)).text();
    expect(page).toContain('<html lang="de"');
    expect(page).toContain('>Anmelden</h1>');
    expect(page).not.toContain('<noscript>');
    const english = /href="\?([^"]*lang=en[^"]*)"/.exec(page)![1]!.replace(/&amp;/g, '&');
    expect(new URLSearchParams(english).get('client_id')).toBe(application.client_id);
    const back = await (await fetch(`${issuerUrl}/oauth/authorize?${english}`)).text();
    expect(back).toContain('<html lang="en"');
    expect(back).toContain('>Sign in</h1>');
  });

  it('refuses an unregistered redirect URI with an error page, never a redirect', async () => {
    const { application } = await registerApp();
    const response = await fetch(`${issuerUrl}/oauth/authorize?client_id=${application.client_id}&redirect_uri=${encodeURIComponent(`${redirectUri}/evil`)}&response_type=code&scope=openid`, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('redirect_uri is not registered');
    const unknown = await fetch(`${issuerUrl}/oauth/authorize?client_id=nope&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code`, { redirect: 'manual' });
    expect(unknown.status).toBe(400);
  });

  it('other request errors redirect back with error and state', async () => {
    const { application } = await registerApp();
    const response = await fetch(`${issuerUrl}/oauth/authorize?client_id=${application.client_id}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=token&scope=openid&state=s1`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({ error: 'unsupported_response_type', state: 's1', iss: issuerUrl });
    const plain = await fetch(`${issuerUrl}/oauth/authorize?client_id=${application.client_id}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&scope=openid&code_challenge=${'a'.repeat(43)}&code_challenge_method=plain`, { redirect: 'manual' });
    expect(new URL(plain.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
  });

  it('a public client needs PKCE; a reused code fails and revokes what it issued; a wrong verifier fails', async () => {
    const { email, password } = await createUser(server, tenant);
    const spa = await registerApp({ application_type: 'SPA' });
    expect(spa.clientSecret).toBeNull();
    const noPkce = await fetch(`${issuerUrl}/oauth/authorize?client_id=${spa.application.client_id}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&scope=openid`, { redirect: 'manual' });
    expect(new URL(noPkce.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');

    const config = await configFor(spa.application.client_id, null);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid offline_access', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const callback = await signIn(new Browser(), url, { email, password });
    await expect(oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), idTokenExpected: true })).rejects.toMatchObject({ error: 'invalid_grant' });

    const fresh = await signIn(new Browser(), url, { email, password });
    const tokens = await oidc.authorizationCodeGrant(config, fresh, { pkceCodeVerifier: verifier, idTokenExpected: true });
    await expect(oidc.authorizationCodeGrant(config, fresh, { pkceCodeVerifier: verifier, idTokenExpected: true })).rejects.toMatchObject({ error: 'invalid_grant' });
    // The reuse revoked the grant of the first exchange: its refresh token is dead.
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    // An SPA never gets client_credentials.
    const response = await fetch(`${issuerUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&client_id=${spa.application.client_id}` });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'unauthorized_client' });
  });

  it('client_credentials for a service (scope defaults to allowed_scopes), token exchange with act, wrong secret', async () => {
    const service = await registerApp({ application_type: 'SERVICE', redirect_uris: [], allowed_scopes: ['api:read', 'api:write'] });
    const config = await configFor(service.application.client_id, service.clientSecret);
    const tokens = await oidc.clientCredentialsGrant(config);
    expect(tokens.refresh_token).toBeUndefined();
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ sub: service.application.client_id, aud: service.application.client_id, scope: 'api:read api:write', token_type: 'client_credentials', app_scope: 'TENANT' });
    expect(claims.platform_token).toBeUndefined();
    const narrowed = await oidc.clientCredentialsGrant(config, { scope: 'api:read' });
    expect(narrowed.scope).toBe('api:read');
    await expect(oidc.clientCredentialsGrant(config, { scope: 'admin:write' })).rejects.toMatchObject({ error: 'invalid_scope' });
    // A service token is not a user's: the user API refuses it.
    expect((await server.call('GET', '/api/v1/me', { token: tokens.access_token })).status).toBe(401);

    const wrong = await configFor(service.application.client_id, 'sks_wrong');
    await expect(oidc.clientCredentialsGrant(wrong)).rejects.toMatchObject({ status: 401 });

    const exchanged = await oidc.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:token-exchange', {
      subject_token: narrowed.access_token, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    });
    expect(decodeJwt(exchanged.access_token)).toMatchObject({ sub: service.application.client_id, act: { sub: service.application.client_id }, scope: 'api:read' });
  });

  it('client_secret_post works for the same client; a suspended app is refused', async () => {
    const service = await registerApp({ application_type: 'SERVICE', redirect_uris: [], allowed_scopes: ['api:read'] });
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: service.application.client_id, client_secret: service.clientSecret! });
    const ok = await fetch(`${issuerUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    // The write itself empties this process's client cache (no waiting for its expiry).
    await server.domain.applications.update(service.application, { status: 'suspended' });
    const refused = await fetch(`${issuerUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('an expired code is refused; a disabled user loses refresh and userinfo at once', async () => {
    const { user, email, password } = await createUser(server, tenant);
    const { application, clientSecret } = await registerApp();
    const config = await configFor(application.client_id, clientSecret);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid offline_access', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const late = await signIn(new Browser(), url, { email, password });
    (server.clock as unknown as { advance(seconds: number): void }).advance(61);
    await expect(oidc.authorizationCodeGrant(config, late, { pkceCodeVerifier: verifier, idTokenExpected: true })).rejects.toMatchObject({ error: 'invalid_grant' });

    const fresh = await signIn(new Browser(), url, { email, password });
    const tokens = await oidc.authorizationCodeGrant(config, fresh, { pkceCodeVerifier: verifier, idTokenExpected: true });
    await server.domain.users.setStatus(user._id, 'disabled');
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck)).rejects.toBeDefined();
  });

  it('a PARTNER app signs in on its partner\'s tenants only; an admin user\'s token carries its role', async () => {
    const partnered = await server.domain.tenants.update(tenant.slug, { partnerId: 'prt_acme' });
    expect(partnered.partner_id).toBe('prt_acme');
    const { user, email, password } = await createUser(server, tenant);
    await server.domain.users.grantAdminRole(user._id, 'partner_admin', 'prt_acme');
    const partnerApp = await server.domain.applications.create({ name: 'Partner app', application_type: 'WEB', scope: 'PARTNER', partner_id: 'prt_acme', redirect_uris: [redirectUri], skip_consent: true });
    const config = await configFor(partnerApp.application.client_id, partnerApp.clientSecret);
    const verifier = oidc.randomPKCECodeVerifier();
    const callback = await signIn(new Browser(), oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }), { email, password });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, idTokenExpected: true });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ role: 'partner_admin', partner_id: 'prt_acme', tenant_id: tenantPublicId(tenant._id) });
    const other = await createTenant(server);
    const elsewhere = await fetch(`${server.url}/api/v1/auth/tenants/${other.slug}/oauth/authorize?client_id=${partnerApp.application.client_id}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&scope=openid`, { redirect: 'manual' });
    expect(elsewhere.status).toBe(400);
    await server.domain.tenants.update(tenant.slug, { partnerId: null });
  });

  it('CORS on the token endpoint only for the app\'s allowed origins', async () => {
    const spa = await registerApp({ application_type: 'SPA', allowed_origins: ['https://spa.example.com'] });
    const body = `grant_type=refresh_token&refresh_token=rt_x&client_id=${spa.application.client_id}`;
    const headers = (origin: string) => ({ 'content-type': 'application/x-www-form-urlencoded', origin });
    const allowed = await fetch(`${issuerUrl}/oauth/token`, { method: 'POST', headers: headers('https://spa.example.com'), body });
    expect([allowed.status, allowed.headers.get('access-control-allow-origin')]).toEqual([400, 'https://spa.example.com']);
    const other = await fetch(`${issuerUrl}/oauth/token`, { method: 'POST', headers: headers('https://evil.example.com'), body });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${issuerUrl}/oauth/token`, { method: 'OPTIONS', headers: { origin: 'https://spa.example.com', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
  });

  it('a token of one tenant is not accepted by another tenant issuer', async () => {
    const { email, password } = await createUser(server, tenant);
    const app = await registerApp();
    const config = await configFor(app.application.client_id, app.clientSecret);
    const verifier = oidc.randomPKCECodeVerifier();
    const callback = await signIn(new Browser(), oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }), { email, password });
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, idTokenExpected: true });
    const other = await createTenant(server);
    const response = await fetch(`${server.url}/api/v1/auth/tenants/${other.slug}/oauth/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('invalid_token');
  });
});
