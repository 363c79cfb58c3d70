import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { startIssuerServer, type TestServer } from '../support/server.ts';
import { createTenant, createUser } from '../support/fixtures.ts';
import { hidden, postForm as post } from '../support/oidc-pages.ts';
import { tenantPublicId, userPublicId } from '../../handlers/core/public-ids.ts';

/**
 * The platform issuer (GLOBAL apps): the identify-first sign-in (email, then the tenant when the
 * email has several accounts, then the password), the form-post variants of authorize, userinfo
 * and logout, platform client_credentials tokens on the admin API, and the apps it refuses.
 */
let server: TestServer;
let issuer: string;
const redirectUri = 'https://console.example.com/callback';

beforeAll(async () => {
  server = await startIssuerServer();
  issuer = `${server.url}/api/v1/platform/oauth`;
});
afterAll(async () => {
  await server?.stop();
});

/** The identify-first pages by form post again (a new browser): the redirect back and the session cookie. */
async function signInAgain(params: Record<string, string>, email: string, tenant: string, password: string): Promise<{ location: URL; cookie: string }> {
  const identifyPage = await (await post(`${issuer}/authorize`, params)).text();
  const passwordPage = await (await post(`${issuer}/login`, { request: hidden(identifyPage, 'request'), step: 'identify', email })).text();
  const done = await post(`${issuer}/login`, { request: hidden(passwordPage, 'request'), step: 'password', email, tenant, password });
  expect(done.status).toBe(303);
  return { location: new URL(done.headers.get('location')!), cookie: done.headers.getSetCookie()[0]!.split(';')[0]! };
}

describe('platform issuer', () => {
  it('discovery is the platform issuer; JWKS at the documented path', async () => {
    const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
    expect(discovery).toMatchObject({ issuer, jwks_uri: `${server.url}/api/v1/platform/.well-known/jwks.json`, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token` });
    const jwks = await (await fetch(discovery.jwks_uri)).json();
    expect(jwks.keys.length).toBeGreaterThanOrEqual(2);
  });

  it('identify-first sign-in by form post, tenant choice for a shared email, then userinfo and logout by POST', async () => {
    const email = `shared.${Date.now()}@example.com`;
    const first = await createTenant(server, {}, 'First Org');
    const second = await createTenant(server, {}, 'Second Org');
    await createUser(server, first, { email });
    const { user, password } = await createUser(server, second, { email });
    const { application, clientSecret } = await server.domain.applications.create({
      name: 'Console', application_type: 'WEB', scope: 'GLOBAL', redirect_uris: [redirectUri], post_logout_redirect_uris: ['https://console.example.com/bye'], skip_consent: true,
    });
    const config = await oidc.discovery(new URL(issuer), application.client_id, clientSecret!, undefined, { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const params = {
      response_type: 'code', client_id: application.client_id, redirect_uri: redirectUri, scope: 'openid email', state: 'st',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    };
    // The authorization request as a form post (OpenID Connect Core §3.1.2.1): the email page.
    const identifyPage = await (await post(`${issuer}/authorize`, params)).text();
    expect(identifyPage).toContain('name="step" value="identify"');
    const passwordPage = await (await post(`${issuer}/login`, { request: hidden(identifyPage, 'request'), step: 'identify', email })).text();
    expect(passwordPage).toContain('First Org');
    expect(passwordPage).toContain('Second Org');
    const wrong = await (await post(`${issuer}/login`, { request: hidden(passwordPage, 'request'), step: 'password', email, tenant: first.slug, password: 'not the password at all' })).text();
    expect(wrong).toContain('Invalid email or password');
    const done = await post(`${issuer}/login`, { request: hidden(passwordPage, 'request'), step: 'password', email, tenant: second.slug, password });
    expect(done.status).toBe(303);
    const cookie = done.headers.getSetCookie()[0]!.split(';')[0]!;
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.headers.get('location')!), { pkceCodeVerifier: verifier, expectedState: 'st', idTokenExpected: true });
    expect(tokens.claims()!.iss).toBe(issuer);
    expect(decodeJwt(tokens.access_token)).toMatchObject({ iss: issuer, sub: userPublicId(user._id), tenant_id: tenantPublicId(second._id) });

    // The GET variants, introspection and revocation of the platform issuer.
    const getPage = await fetch(oidc.buildAuthorizationUrl(config, { ...params }).toString(), { redirect: 'manual' });
    expect([getPage.status, (await getPage.text()).includes('name="step" value="identify"')]).toEqual([200, true]);
    expect(await oidc.fetchUserInfo(config, tokens.access_token, userPublicId(user._id))).toMatchObject({ email });
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true, iss: issuer });
    const refreshable = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    await oidc.tokenRevocation(config, refreshable.refresh_token!);
    await expect(oidc.refreshTokenGrant(config, refreshable.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const again = await signInAgain(params, email, second.slug, password);
    const hinted = await oidc.authorizationCodeGrant(config, again.location, { pkceCodeVerifier: verifier, expectedState: 'st', idTokenExpected: true });

    const byPost = await post(`${issuer}/userinfo`, { access_token: hinted.access_token });
    expect(byPost.status).toBe(200);
    expect(await byPost.json()).toMatchObject({ sub: userPublicId(user._id), email });
    const both = await fetch(`${issuer}/userinfo`, { method: 'POST', headers: { authorization: `Bearer ${hinted.access_token}`, 'content-type': 'application/x-www-form-urlencoded' }, body: `access_token=${hinted.access_token}` });
    expect(both.status).toBe(400);
    const endByGet = await fetch(oidc.buildEndSessionUrl(config, { id_token_hint: hinted.id_token!, post_logout_redirect_uri: 'https://console.example.com/bye' }).toString(), { redirect: 'manual', headers: { cookie: again.cookie } });
    expect([endByGet.status, endByGet.headers.get('location')]).toEqual([303, 'https://console.example.com/bye']);

    // Logout by POST without a hint asks first; confirmed, it ends the session and redirects.
    const confirm = await post(`${issuer}/logout`, { client_id: application.client_id, post_logout_redirect_uri: 'https://console.example.com/bye', state: 'x' }, cookie);
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('Sign out?');
    const out = await post(`${issuer}/logout`, { client_id: application.client_id, post_logout_redirect_uri: 'https://console.example.com/bye', state: 'x', confirm: 'yes' }, cookie);
    expect([out.status, out.headers.get('location')]).toEqual([303, 'https://console.example.com/bye?state=x']);
    expect((await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${hinted.access_token}` } })).status).toBe(401);
    const unregistered = await fetch(`${issuer}/logout?client_id=${application.client_id}&post_logout_redirect_uri=${encodeURIComponent('https://evil.example.com/')}`, { redirect: 'manual' });
    expect(unregistered.status).toBe(400);
  });

  it('accepts GLOBAL apps only; a tenant app is unknown here', async () => {
    const tenant = await createTenant(server);
    const { application } = await server.domain.applications.create({ name: 'Tenant app', application_type: 'WEB', scope: 'TENANT', tenant_id: tenant._id, redirect_uris: [redirectUri] });
    const response = await fetch(`${issuer}/authorize?client_id=${application.client_id}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&scope=openid`, { redirect: 'manual' });
    expect(response.status).toBe(400);
  });

  it('a GLOBAL service token: platform_token, and the admin API answers by its admin scopes', async () => {
    const { application, clientSecret } = await server.domain.applications.create({
      name: 'Usage aggregation', application_type: 'SERVICE', scope: 'GLOBAL', allowed_scopes: ['openid', 'admin:read', 'users:read'],
    });
    const config = await oidc.discovery(new URL(issuer), application.client_id, clientSecret!, undefined, { execute: [oidc.allowInsecureRequests] });
    const reader = await oidc.clientCredentialsGrant(config);
    expect(decodeJwt(reader.access_token)).toMatchObject({ sub: application.client_id, platform_token: true, app_scope: 'GLOBAL', token_type: 'client_credentials', scope: 'openid admin:read users:read' });
    expect((await server.call('GET', '/api/v1/admin/applications/', { token: reader.access_token })).status).toBe(200);
    const narrow = await oidc.clientCredentialsGrant(config, { scope: 'users:read' });
    const refused = await server.call('GET', '/api/v1/admin/applications/', { token: narrow.access_token });
    expect([refused.status, refused.body]).toEqual([403, { detail: 'Platform token requires admin:read or admin:write scope' }]);
    const write = await server.call('POST', '/api/v1/admin/applications/', { token: reader.access_token, body: { name: 'x', application_type: 'SERVICE', scope: 'GLOBAL' } });
    expect(write.status).toBe(403);
    // Suspended, its tokens stop working at once: the write empties the client cache.
    await server.domain.applications.update(application, { status: 'suspended' });
    expect((await server.call('GET', '/api/v1/admin/applications/', { token: reader.access_token })).status).toBe(401);
    // And the introspection endpoint needs a confidential client.
    const introspect = await fetch(`${issuer}/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=x' });
    expect(introspect.status).toBe(401);
  });
});

describe('authorized apps', () => {
  it('an over-long client_id is a 422', async () => {
    const tenant = await createTenant(server);
    const { email, password } = await createUser(server, tenant);
    const login = await server.call('POST', '/api/v1/auth/login', { body: { email, password } });
    const token = login.body.access_token as string;
    expect((await server.call('GET', '/api/v1/me/authorized-apps', { token })).body).toEqual({ items: [], total: 0 });
    expect((await server.call('DELETE', `/api/v1/me/authorized-apps/${'x'.repeat(65)}`, { token })).status).toBe(422);
    expect((await server.call('DELETE', '/api/v1/me/authorized-apps/unknown', { token })).status).toBe(404);
  });
});
