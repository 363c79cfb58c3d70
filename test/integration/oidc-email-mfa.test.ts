import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { startIssuerServer, type TestServer } from '../support/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';
import { createTenant, createUser } from '../support/fixtures.ts';
import { hidden, postForm as post } from '../support/oidc-pages.ts';

/** The OpenID provider's second-factor page with an emailed code, delivered by real SMTP. */
let server: TestServer;
let smtp: TestSmtpServer;
const redirectUri = 'https://app.example.com/callback';

beforeAll(async () => {
  smtp = await startSmtpServer();
  server = await startIssuerServer({ SMTP_URL: smtp.url });
});
afterAll(async () => {
  await server?.stop();
  await smtp?.close();
});

describe('email code on the sign-in pages', () => {
  it('sends the code on request, refuses a wrong one, signs in with the right one', async () => {
    const tenant = await createTenant(server, { mfa_methods: ['totp', 'email', 'backup_code'] });
    const { email, password, user } = await createUser(server, tenant);
    expect(await server.database.users.enableEmailMfa(user._id, new Date())).toBe(true);
    const { application, clientSecret } = await server.domain.applications.create({ name: 'App', application_type: 'WEB', scope: 'TENANT', tenant_id: tenant._id, redirect_uris: [redirectUri], skip_consent: true });
    const issuer = `${server.url}/api/v1/auth/tenants/${tenant.slug}`;
    const config = await oidc.discovery(new URL(issuer), application.client_id, clientSecret!, undefined, { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const login = `${issuer}/oauth/login`;
    const signInPage = await (await fetch(oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }).toString())).text();
    const mfaPage = await (await post(login, { request: hidden(signInPage, 'request'), step: 'password', email, password })).text();
    expect(mfaPage).toContain('Send a code by email');
    const fields = { request: hidden(mfaPage, 'request'), mfa_token: hidden(mfaPage, 'mfa_token'), user_id: hidden(mfaPage, 'user_id'), methods: hidden(mfaPage, 'methods') };
    const sentPage = await (await post(login, { ...fields, step: 'send_email' })).text();
    expect(sentPage).toContain('We sent a code to your email address.');
    expect(sentPage).toContain('<option value="email" selected>');
    const code = smtp.codeIn(await smtp.waitFor((m) => m.to === email))!;
    const wrong = await (await post(login, { ...fields, step: 'mfa', method: 'email', code: code === '000000' ? '111111' : '000000' })).text();
    expect(wrong).toContain('Invalid or expired verification code');
    const done = await post(login, { ...fields, step: 'mfa', method: 'email', code });
    expect(done.status).toBe(303);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.headers.get('location')!), { pkceCodeVerifier: verifier, idTokenExpected: true });
    expect(tokens.claims()!.amr).toEqual(['pwd', 'mail']);
  });
});
