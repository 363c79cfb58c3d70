import { ApiError } from '../../core/errors.ts';
import { OAuthError } from '../../core/oauth-errors.ts';
import type { ClientInfo } from '../../core/request-context.ts';
import type { ApplicationDoc } from '../../store/applications.ts';
import type { SessionDoc } from '../../store/sessions.ts';
import type { TenantAuth } from '../login/tenant-auth.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { Tenants } from '../tenants/tenants.ts';
import type { SigningKeys } from '../tokens/signing-keys.ts';
import { errorRedirect, type Authorization, type AuthorizationRequest, type AuthorizeOutcome } from './authorization.ts';
import type { ClientCredentials, OAuthClients } from './clients.ts';
import { discoveryDocument, platformIssuerUrl, tenantIssuerUrl, type Issuer } from './issuers.ts';
import type { TokenEndpoint, TokenResponse } from './token-endpoint.ts';
import type { TokenServices } from './token-services.ts';

/** What the hosted sign-in page shows next. */
export type SignInStep =
  | { kind: 'done'; outcome: AuthorizeOutcome; sessionSecret: string | null; sessionMaxAge: number }
  | { kind: 'password'; sealed: string; app: ApplicationDoc; request: AuthorizationRequest; email: string; error: string | null }
  | { kind: 'mfa'; sealed: string; app: ApplicationDoc; request: AuthorizationRequest; mfaToken: string; userId: string; methods: string[]; error: string | null }
  | { kind: 'expired' };

interface Deps {
  tenants: Tenants;
  signingKeys: SigningKeys;
  clients: OAuthClients;
  authorization: Authorization;
  tokenEndpoint: TokenEndpoint;
  tokenServices: TokenServices;
  tenantAuth: TenantAuth;
  sessions: Sessions;
}

/**
 * ScaiKey's OpenID provider: one issuer per tenant and the platform's. Built on the domain's own
 * sign-in pipeline and sessions (see the note in README: why not oidc-provider).
 */
export class OpenIdProvider {
  constructor(private readonly deps: Deps, private readonly settings: { publicBaseUrl: string }) {}

  get base(): string {
    return this.settings.publicBaseUrl.replace(/\/+$/, '');
  }

  /** The tenant's issuer; an unknown or disabled tenant has none. */
  async tenantIssuer(slug: string): Promise<Issuer | null> {
    try {
      const tenant = await this.deps.tenants.requireActiveBySlug(slug);
      return { kind: 'tenant', url: tenantIssuerUrl(this.base, tenant.slug), tenant };
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  platformIssuer(): Issuer {
    return { kind: 'platform', url: platformIssuerUrl(this.base) };
  }

  discovery(issuer: Issuer): Record<string, unknown> {
    return discoveryDocument(issuer, this.base);
  }

  jwks(): Promise<{ keys: unknown[] }> {
    return this.deps.signingKeys.jwks();
  }

  authorize(issuer: Issuer, params: Record<string, unknown>, browserSecret: string | undefined): Promise<AuthorizeOutcome> {
    return this.deps.authorization.authorize(issuer, params, browserSecret);
  }

  /** The sign-in page for a sealed request (GET). */
  async signInPage(issuer: Issuer, sealed: string | undefined): Promise<SignInStep> {
    const resolved = await this.resolve(issuer, sealed);
    if (!resolved) return { kind: 'expired' };
    return { kind: 'password', sealed: sealed!, ...resolved, email: resolved.request.loginHint ?? '', error: null };
  }

  /** Email and password submitted on the hosted page: the one sign-in pipeline, then the authorization. */
  async signInWithPassword(issuer: Issuer, sealed: string | undefined, form: { email: string; password: string }, client: ClientInfo): Promise<SignInStep> {
    const resolved = await this.resolve(issuer, sealed);
    if (!resolved || issuer.kind !== 'tenant') return { kind: 'expired' };
    try {
      const outcome = await this.deps.tenantAuth.login(issuer.tenant.slug, { email: form.email, password: form.password, rememberMe: false, trustedDeviceToken: null }, client);
      if (outcome.status === 'mfa_required') {
        return { kind: 'mfa', sealed: sealed!, ...resolved, mfaToken: outcome.mfaToken, userId: outcome.userId, methods: outcome.availableMethods, error: null };
      }
      return this.finish(resolved.app, resolved.request, outcome.sessionId, outcome.sessionSecret, outcome.maxAgeSeconds);
    } catch (error) {
      if (error instanceof ApiError && error.status < 500) return { kind: 'password', sealed: sealed!, ...resolved, email: form.email, error: error.detail };
      throw error;
    }
  }

  async signInWithSecondFactor(
    issuer: Issuer,
    sealed: string | undefined,
    form: { mfaToken: string; userId: string; method: string; code: string; methods: string[] },
    client: ClientInfo,
  ): Promise<SignInStep> {
    const resolved = await this.resolve(issuer, sealed);
    if (!resolved || issuer.kind !== 'tenant') return { kind: 'expired' };
    try {
      const outcome = await this.deps.tenantAuth.verifyMfa(issuer.tenant.slug, {
        mfaToken: form.mfaToken, userId: form.userId, method: form.method, code: form.code, trustDevice: false, deviceFingerprint: null,
      }, client);
      return this.finish(resolved.app, resolved.request, outcome.sessionId, outcome.sessionSecret, outcome.maxAgeSeconds);
    } catch (error) {
      if (error instanceof ApiError && error.status < 500) {
        return { kind: 'mfa', sealed: sealed!, ...resolved, mfaToken: form.mfaToken, userId: form.userId, methods: form.methods, error: error.detail };
      }
      throw error;
    }
  }

  /** The consent page's answer, for the browser session that is signed in. */
  async consent(issuer: Issuer, sealed: string | undefined, allowed: boolean, browserSecret: string | undefined): Promise<string | null> {
    const resolved = await this.resolve(issuer, sealed);
    const session = browserSecret ? await this.deps.sessions.findBrowserSession(browserSecret) : null;
    if (!resolved || !session) return null;
    return this.deps.authorization.decideConsent(resolved.app, resolved.request, session, allowed);
  }

  token(issuer: Issuer, form: Record<string, unknown>, credentials: ClientCredentials, client: ClientInfo): Promise<TokenResponse> {
    return this.deps.tokenEndpoint.exchange(issuer, form, credentials, client);
  }

  userinfo(issuer: Issuer, token: string): Promise<Record<string, unknown>> {
    return this.deps.tokenServices.userinfo(issuer, token);
  }

  revoke(issuer: Issuer, form: Record<string, unknown>, credentials: ClientCredentials): Promise<void> {
    return this.deps.tokenServices.revoke(issuer, form, credentials);
  }

  introspect(issuer: Issuer, form: Record<string, unknown>, credentials: ClientCredentials): Promise<Record<string, unknown>> {
    return this.deps.tokenServices.introspect(issuer, form, credentials);
  }

  planLogout(issuer: Issuer, params: Record<string, unknown>) {
    return this.deps.tokenServices.planLogout(issuer, params);
  }

  endBrowserSession(browserSecret: string | undefined, expectedSid: string | null): Promise<void> {
    return this.deps.tokenServices.endBrowserSession(browserSecret, expectedSid);
  }

  /** The app an allowed origin belongs to (CORS of the token, userinfo and revocation endpoints). */
  async allowsOrigin(issuer: Issuer, clientId: string | undefined, origin: string): Promise<boolean> {
    const app = await this.deps.clients.find(issuer, clientId);
    return Boolean(app?.allowed_origins.includes(origin));
  }

  private async finish(app: ApplicationDoc, request: AuthorizationRequest, sessionId: string, sessionSecret: string, maxAge: number): Promise<SignInStep> {
    const session = (await this.deps.sessions.findActive(sessionId)) as SessionDoc | null;
    if (!session) throw new ApiError('internal', { internal: 'session just created is not live' });
    try {
      const outcome = await this.deps.authorization.afterLogin(app, request, session);
      return { kind: 'done', outcome, sessionSecret, sessionMaxAge: maxAge };
    } catch (error) {
      if (error instanceof OAuthError) {
        return { kind: 'done', outcome: { kind: 'redirect', location: errorRedirect(request.redirectUri, request.issuer, error, request.state) }, sessionSecret, sessionMaxAge: maxAge };
      }
      throw error;
    }
  }

  private async resolve(issuer: Issuer, sealed: string | undefined): Promise<{ app: ApplicationDoc; request: AuthorizationRequest } | null> {
    const request = this.deps.authorization.unseal(sealed, issuer);
    if (!request) return null;
    const app = await this.deps.clients.find(issuer, request.clientId);
    return app ? { app, request } : null;
  }
}
