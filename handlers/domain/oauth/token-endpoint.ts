import { createHash } from 'node:crypto';
import type { ObjectId } from 'mongodb';
import type { Clock } from '../../core/clock.ts';
import { ApiError } from '../../core/errors.ts';
import { OAuthError } from '../../core/oauth-errors.ts';
import type { ClientInfo } from '../../core/request-context.ts';
import type { ApplicationDoc } from '../../store/applications.ts';
import type { AuthorizationCodeStore } from '../../store/authorization-codes.ts';
import type { SessionDoc } from '../../store/sessions.ts';
import type { UserDoc } from '../../store/users.ts';
import { constantTimeEqual, hashToken } from '../crypto/secrets.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { AccessTokens } from '../tokens/access-tokens.ts';
import type { Users } from '../users/users.ts';
import { releasedClaims, requestedClaimNames } from './claims.ts';
import { allowsGrant, type ClientCredentials, type OAuthClients } from './clients.ts';
import type { IdTokens } from './id-tokens.ts';
import type { Issuer } from './issuers.ts';
import { tenantPublicId, userPublicId } from '../../core/public-ids.ts';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  id_token?: string;
  refresh_token?: string;
  issued_token_type?: string;
}

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/; // RFC 7636 §4.1

function param(form: Record<string, unknown>, name: string): string | undefined {
  const value = form[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new OAuthError('invalid_request', `${name} must be given once`);
  return value;
}

function required(form: Record<string, unknown>, name: string): string {
  const value = param(form, name);
  if (!value) throw new OAuthError('invalid_request', `${name} is required`);
  return value;
}

const invalidGrant = (description: string, internal?: string) => new OAuthError('invalid_grant', description, internal);

interface Deps {
  clients: OAuthClients;
  codes: AuthorizationCodeStore;
  sessions: Sessions;
  users: Users;
  accessTokens: AccessTokens;
  idTokens: IdTokens;
  clock: Clock;
}

/** Refresh tokens go to apps that can keep them (WEB, NATIVE) or that asked for offline access. */
function mayRefresh(app: ApplicationDoc, scope: readonly string[]): boolean {
  return allowsGrant(app, 'refresh_token') && (scope.includes('offline_access') || app.application_type === 'WEB' || app.application_type === 'NATIVE');
}

/** The token endpoint (RFC 6749 §3.2): one method per grant, each with its client rules. */
export class TokenEndpoint {
  constructor(private readonly deps: Deps) {}

  async exchange(issuer: Issuer, form: Record<string, unknown>, credentials: ClientCredentials, client: ClientInfo): Promise<TokenResponse> {
    const grantType = required(form, 'grant_type');
    const { app } = await this.deps.clients.authenticate(issuer, credentials);
    if (!['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE].includes(grantType)) {
      throw new OAuthError('unsupported_grant_type', 'This grant type is not supported');
    }
    if (!allowsGrant(app, grantType)) throw new OAuthError('unauthorized_client', `This client may not use the ${grantType} grant`);
    switch (grantType) {
      case 'authorization_code': return this.authorizationCode(issuer, app, form, client);
      case 'refresh_token': return this.refreshToken(issuer, app, form);
      case 'client_credentials': return this.clientCredentials(issuer, app, form);
      default: return this.tokenExchange(issuer, app, form);
    }
  }

  private async authorizationCode(issuer: Issuer, app: ApplicationDoc, form: Record<string, unknown>, client: ClientInfo): Promise<TokenResponse> {
    const code = required(form, 'code');
    const redirectUri = param(form, 'redirect_uri');
    const verifier = param(form, 'code_verifier');
    const hash = hashToken(code);
    const now = this.deps.clock.now();
    const grant = await this.deps.codes.consume(hash, now);
    if (!grant) {
      // A code presented twice: whatever the first exchange issued is revoked (RFC 6749 §4.1.2).
      const used = await this.deps.codes.findByHash(hash);
      if (used?.consumed_at && used.client_id === app.client_id) await this.deps.sessions.revoke(used.grant_session_id, 'authorization code reuse');
      throw invalidGrant('The authorization code is invalid, expired or already used', used ? 'code reuse' : 'unknown code');
    }
    if (grant.client_id !== app.client_id || grant.issuer !== issuer.url) throw invalidGrant('The authorization code was issued to another client');
    if (grant.expires_at <= now) throw invalidGrant('The authorization code has expired');
    if (redirectUri !== grant.redirect_uri) throw invalidGrant('redirect_uri does not match the authorization request');
    if (grant.code_challenge) {
      if (!verifier || !VERIFIER.test(verifier)) throw invalidGrant('code_verifier is missing or malformed');
      const computed = createHash('sha256').update(verifier, 'ascii').digest('base64url');
      if (!constantTimeEqual(computed, grant.code_challenge)) throw invalidGrant('code_verifier does not match the code_challenge');
    } else if (verifier !== undefined) {
      throw invalidGrant('code_verifier given for a request without code_challenge');
    }
    const user = await this.activeUser(grant.user_id);
    const browser = await this.deps.sessions.findActiveRecent(grant.browser_session_id.toHexString());
    if (!browser) throw invalidGrant('The sign-in session has ended');
    const scope = grant.scope.split(' ').filter(Boolean);
    const refreshable = mayRefresh(app, scope);
    const input = {
      id: grant.grant_session_id,
      tenantId: grant.tenant_id,
      userId: grant.user_id,
      rememberMe: false,
      amr: grant.amr,
      clientIp: client.clientIp,
      userAgent: client.userAgent,
      oauth: {
        client_id: app.client_id,
        scope: grant.scope,
        issuer: issuer.url,
        parent_id: grant.browser_session_id,
        auth_time: grant.auth_time,
        acr: grant.acr,
        userinfo_claims: grant.claims,
      },
    };
    let session: SessionDoc;
    let refreshToken: string | undefined;
    if (refreshable) ({ session, refreshToken } = await this.deps.sessions.create(input));
    else session = await this.deps.sessions.createWithoutRefresh(input);
    return this.userTokens(issuer, app, user, session, scope, { nonce: grant.nonce, refreshToken, idTokenClaims: requestedClaimNames(grant.claims, 'id_token') });
  }

  private async refreshToken(issuer: Issuer, app: ApplicationDoc, form: Record<string, unknown>): Promise<TokenResponse> {
    const presented = required(form, 'refresh_token');
    let outcome;
    try {
      outcome = await this.deps.sessions.refresh(presented, app.client_id);
    } catch (error) {
      if (error instanceof ApiError && error.id === 'invalidRefreshToken') throw invalidGrant('The refresh token is invalid, expired or revoked', error.internal);
      throw error;
    }
    if (outcome.kind === 'reuse-detected') throw invalidGrant('The refresh token was already used; the grant is revoked');
    const { session } = outcome;
    const grant = session.oauth;
    if (!grant || grant.issuer !== issuer.url) throw invalidGrant('The refresh token was issued by another issuer');
    const user = await this.activeUser(session.user_id);
    const granted = grant.scope.split(' ').filter(Boolean);
    const asked = param(form, 'scope');
    const scope = asked === undefined ? granted : asked.split(' ').filter(Boolean);
    if (scope.some((s) => !granted.includes(s))) throw new OAuthError('invalid_scope', 'The requested scope exceeds the granted scope');
    return this.userTokens(issuer, app, user, session, scope, { nonce: null, refreshToken: outcome.refreshToken, idTokenClaims: [] });
  }

  private async clientCredentials(issuer: Issuer, app: ApplicationDoc, form: Record<string, unknown>): Promise<TokenResponse> {
    const asked = param(form, 'scope');
    const scope = asked === undefined ? app.allowed_scopes : [...new Set(asked.split(' ').filter(Boolean))];
    if (scope.some((s) => !app.allowed_scopes.includes(s))) throw new OAuthError('invalid_scope', 'The requested scope is not allowed for this client');
    const extra: Record<string, unknown> = { token_type: 'client_credentials', app_scope: app.scope };
    if (app.scope === 'GLOBAL') extra['platform_token'] = true;
    if (app.tenant_id) extra['tenant_id'] = tenantPublicId(app.tenant_id);
    if (app.partner_id) extra['partner_id'] = app.partner_id;
    const { token } = await this.deps.accessTokens.issueOAuth({ issuer: issuer.url, clientId: app.client_id, subject: app.client_id, scope: scope.join(' '), ttlSeconds: app.token_lifetime, extra });
    return { access_token: token, token_type: 'Bearer', expires_in: app.token_lifetime, scope: scope.join(' ') };
  }

  /** RFC 8693: a confidential app acts on behalf of the subject of a token it was given. */
  private async tokenExchange(issuer: Issuer, app: ApplicationDoc, form: Record<string, unknown>): Promise<TokenResponse> {
    const subjectToken = required(form, 'subject_token');
    const subjectType = required(form, 'subject_token_type');
    if (subjectType !== ACCESS_TOKEN_TYPE) throw new OAuthError('invalid_request', 'subject_token_type must be an access token');
    const requestedType = param(form, 'requested_token_type');
    if (requestedType !== undefined && requestedType !== ACCESS_TOKEN_TYPE) throw new OAuthError('invalid_request', 'Only access tokens can be requested');
    if (param(form, 'resource') !== undefined || param(form, 'audience') !== undefined) {
      throw new OAuthError('invalid_target', 'Exchanged tokens are issued to the requesting client only');
    }
    let subject: Record<string, unknown>;
    try {
      subject = await this.deps.accessTokens.verifyAnyClaims(subjectToken);
    } catch {
      throw invalidGrant('subject_token is invalid or expired');
    }
    if (subject['iss'] !== issuer.url) throw invalidGrant('subject_token was issued by another issuer');
    if (typeof subject['sid'] === 'string') {
      const session = await this.deps.sessions.findActive(subject['sid']);
      if (!session) throw invalidGrant('The subject session has ended');
      await this.activeUser(session.user_id);
    }
    const subjectScope = typeof subject['scope'] === 'string' ? subject['scope'].split(' ').filter(Boolean) : [];
    const allowed = subjectScope.filter((s) => app.allowed_scopes.includes(s));
    const asked = param(form, 'scope');
    const scope = asked === undefined ? allowed : [...new Set(asked.split(' ').filter(Boolean))];
    if (scope.some((s) => !allowed.includes(s))) throw new OAuthError('invalid_scope', 'The requested scope exceeds the subject token');
    const act: Record<string, unknown> = { sub: app.client_id };
    if (subject['act'] && typeof subject['act'] === 'object') act['act'] = subject['act'];
    const extra: Record<string, unknown> = { act };
    for (const claim of ['tid', 'sid', 'tenant_id', 'partner_id', 'token_type', 'app_scope', 'platform_token'] as const) {
      if (subject[claim] !== undefined) extra[claim] = subject[claim];
    }
    const ttl = Math.max(1, Math.min(app.token_lifetime, Number(subject['exp']) - Math.floor(this.deps.clock.now().getTime() / 1000)));
    const { token } = await this.deps.accessTokens.issueOAuth({ issuer: issuer.url, clientId: app.client_id, subject: String(subject['sub']), scope: scope.join(' '), ttlSeconds: ttl, extra });
    return { access_token: token, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: ttl, scope: scope.join(' ') };
  }

  private async activeUser(userId: ObjectId): Promise<UserDoc> {
    const user = await this.deps.users.findRecentById(userId);
    if (!user || user.status !== 'active') throw invalidGrant('The user account is not active');
    return user;
  }

  private async userTokens(
    issuer: Issuer,
    app: ApplicationDoc,
    user: UserDoc,
    session: SessionDoc,
    scope: string[],
    options: { nonce: string | null; refreshToken: string | undefined; idTokenClaims: string[] },
  ): Promise<TokenResponse> {
    const grant = session.oauth!;
    const tenantId = tenantPublicId(session.tenant_id);
    const subject = userPublicId(user._id);
    const { token } = await this.deps.accessTokens.issueOAuth({
      issuer: issuer.url,
      clientId: app.client_id,
      subject,
      scope: scope.join(' '),
      ttlSeconds: app.token_lifetime,
      extra: {
        tid: tenantId, tenant_id: tenantId, sid: session._id.toHexString(),
        // Admin users' tokens say so (docs §5: role, and partner_id for a partner role).
        ...(user.admin?.role ? { role: user.admin.role, ...(user.admin.partner_id ? { partner_id: user.admin.partner_id } : {}) } : {}),
      },
    });
    const response: TokenResponse = { access_token: token, token_type: 'Bearer', expires_in: app.token_lifetime, scope: scope.join(' ') };
    if (scope.includes('openid')) {
      response.id_token = await this.deps.idTokens.issue({
        issuer: issuer.url,
        clientId: app.client_id,
        subject,
        alg: app.id_token_signed_response_alg,
        authTime: grant.auth_time,
        nonce: options.nonce,
        amr: session.amr,
        acr: grant.acr,
        sid: (grant.parent_id ?? session._id).toHexString(),
        accessToken: token,
        ttlSeconds: app.token_lifetime,
        // An access token is issued too, so the scopes' claims come from userinfo; the ID token
        // carries only what the claims parameter asked of it (OpenID Connect Core §5.4).
        claims: releasedClaims(user, [], options.idTokenClaims),
      });
    }
    if (options.refreshToken) response.refresh_token = options.refreshToken;
    return response;
  }
}

