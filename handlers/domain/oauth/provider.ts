import { ApiError } from '../../core/errors.ts';
import { OAuthError } from '../../core/oauth-errors.ts';
import type { ClientInfo } from '../../core/request-context.ts';
import type { ApplicationDoc } from '../../store/applications.ts';
import type { SessionDoc } from '../../store/sessions.ts';
import type { TenantAuth } from '../login/tenant-auth.ts';
import type { PortalAuth } from '../login/portal-auth.ts';
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
  /** The platform's first page: the email, from which the tenant is found. */
  | { kind: 'identify'; sealed: string; app: ApplicationDoc; request: AuthorizationRequest; email: string; error: string | null }
  /** `tenants`: on the platform issuer, the accounts the email has (a choice when several). */
  | { kind: 'password'; sealed: string; app: ApplicationDoc; request: AuthorizationRequest; email: string; error: string | null; tenants?: Array<{ slug: string; name: string }> }
  | { kind: 'mfa'; sealed: string; app: ApplicationDoc; request: AuthorizationRequest; mfaToken: string; userId: string; methods: string[]; error: string | null; tenant?: string; notice?: 'email_sent'; selected?: string }
  | { kind: 'expired' };

interface Deps {
  tenants: Tenants;
  signingKeys: SigningKeys;
  clients: OAuthClients;
  authorization: Authorization;
  tokenEndpoint: TokenEndpoint;
  tokenServices: TokenServices;
  tenantAuth: TenantAuth;
  portalAuth: PortalAuth;
  sessions: Sessions;
}

/**
 * ScaiKey's OpenID provider: one issuer per tenant and the platform's. Built on the domain's own
 * sign-in pipeline and sessions (see the note in README: why not oidc-provider).
 */
export class OpenIdProvider {
  /** `publicBaseUrl`: PUBLIC_BASE_URL without a trailing slash. */
  constructor(private readonly deps: Deps, private readonly settings: { publicBaseUrl: string }) {}

  get base(): string {
    return this.settings.publicBaseUrl;
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
    const email = resolved.request.loginHint ?? '';
    if (issuer.kind === 'platform') return { kind: 'identify', sealed: sealed!, ...resolved, email, error: null };
    return { kind: 'password', sealed: sealed!, ...resolved, email, error: null };
  }

  /**
   * The platform page's first step (identify-first, as the portal): the email's accounts decide
   * the tenant. The next page asks for the password (and the tenant, when there are several).
   */
  async identify(issuer: Issuer, sealed: string | undefined, email: string, client: ClientInfo): Promise<SignInStep> {
    const resolved = await this.resolve(issuer, sealed);
    if (!resolved || issuer.kind !== 'platform') return { kind: 'expired' };
    try {
      const { tenants } = await this.deps.portalAuth.identify(email, client);
      return { kind: 'password', sealed: sealed!, ...resolved, email, error: null, tenants: tenants.map((t) => ({ slug: t.slug, name: t.name })) };
    } catch (error) {
      if (error instanceof ApiError && error.status < 500) return { kind: 'identify', sealed: sealed!, ...resolved, email, error: error.detail };
      throw error;
    }
  }

  /** Email and password submitted on the hosted page: the one sign-in pipeline, then the authorization. */
  async signInWithPassword(issuer: Issuer, sealed: string | undefined, form: { email: string; password: string; tenant?: string }, client: ClientInfo): Promise<SignInStep> {
    const resolved = await this.resolve(issuer, sealed);
    if (!resolved) return { kind: 'expired' };
    const slug = issuer.kind === 'tenant' ? issuer.tenant.slug : form.tenant;
    let tenants: Array<{ slug: string; name: string }> | undefined;
    try {
      if (issuer.kind === 'platform') {
        tenants = (await this.deps.portalAuth.identify(form.email, client)).tenants.map((t) => ({ slug: t.slug, name: t.name }));
        if (!slug || !tenants.some((t) => t.slug === slug)) {
          // No account for this email (or a tenant it has none in): the same refusal, after the
          // same work, as a wrong password.
          await this.deps.portalAuth.login({ email: form.email, password: form.password, tenantId: null }, client);
          throw new ApiError('invalidCredentials');
        }
      }
      const outcome = await this.deps.tenantAuth.login(slug!, { email: form.email, password: form.password, rememberMe: false, trustedDeviceToken: null }, client);
      if (outcome.status === 'mfa_required') {
        return { kind: 'mfa', sealed: sealed!, ...resolved, mfaToken: outcome.mfaToken, userId: outcome.userId, methods: outcome.availableMethods, error: null, ...(slug ? { tenant: slug } : {}) };
      }
      return this.finish(resolved.app, resolved.request, outcome.session, outcome.sessionSecret, outcome.maxAgeSeconds);
    } catch (error) {
      if (error instanceof ApiError && error.status < 500) return { kind: 'password', sealed: sealed!, ...resolved, email: form.email, error: error.detail, ...(tenants ? { tenants } : {}) };
      throw error;
    }
  }

  async signInWithSecondFactor(
    issuer: Issuer,
    sealed: string | undefined,
    form: { mfaToken: string; userId: string; method: string; code: string; methods: string[]; tenant?: string; credential?: unknown; challengeId?: string },
    client: ClientInfo,
  ): Promise<SignInStep> {
    const resolved = await this.resolve(issuer, sealed);
    const slug = issuer.kind === 'tenant' ? issuer.tenant.slug : form.tenant;
    if (!resolved || !slug) return { kind: 'expired' };
    try {
      const outcome = await this.deps.tenantAuth.verifyMfa(slug, {
        mfaToken: form.mfaToken, userId: form.userId, method: form.method, code: form.code || null, trustDevice: false, deviceFingerprint: null,
        ...(form.method === 'webauthn' ? { credential: form.credential, challengeId: form.challengeId ?? null } : {}),
      }, client);
      return this.finish(resolved.app, resolved.request, outcome.session, outcome.sessionSecret, outcome.maxAgeSeconds);
    } catch (error) {
      if (error instanceof ApiError && error.status < 500) {
        return { kind: 'mfa', sealed: sealed!, ...resolved, mfaToken: form.mfaToken, userId: form.userId, methods: form.methods, error: error.detail, ...(form.tenant ? { tenant: form.tenant } : {}) };
      }
      throw error;
    }
  }

  /** "Send a code by email" on the second-factor page: the same send as the hosted login API's. */
  async sendEmailCode(issuer: Issuer, sealed: string | undefined, form: { mfaToken: string; userId: string; methods: string[]; tenant?: string }): Promise<SignInStep> {
    const resolved = await this.resolve(issuer, sealed);
    const slug = issuer.kind === 'tenant' ? issuer.tenant.slug : form.tenant;
    if (!resolved || !slug) return { kind: 'expired' };
    const base = { kind: 'mfa' as const, sealed: sealed!, ...resolved, mfaToken: form.mfaToken, userId: form.userId, methods: form.methods, selected: 'email', ...(form.tenant ? { tenant: form.tenant } : {}) };
    try {
      await this.deps.tenantAuth.sendEmailCode(slug, form.mfaToken, form.userId);
      return { ...base, error: null, notice: 'email_sent' };
    } catch (error) {
      if (error instanceof ApiError && error.status < 500) return { ...base, error: error.detail };
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

  userinfo(issuer: Issuer, token: string): Promise<{ claims: Record<string, unknown>; clientId: string | undefined }> {
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

  private async finish(app: ApplicationDoc, request: AuthorizationRequest, session: SessionDoc, sessionSecret: string, maxAge: number): Promise<SignInStep> {
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
