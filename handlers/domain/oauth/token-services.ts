import type { ObjectId } from 'mongodb';
import { OAuthError } from '../../core/oauth-errors.ts';
import type { ApplicationDoc } from '../../store/applications.ts';
import type { SessionDoc } from '../../store/sessions.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { AccessTokens } from '../tokens/access-tokens.ts';
import type { Users } from '../users/users.ts';
import { releasedClaims, requestedClaimNames } from './claims.ts';
import type { ClientCredentials, OAuthClients } from './clients.ts';
import type { IdTokens } from './id-tokens.ts';
import type { Issuer } from './issuers.ts';
import { internalHex, tenantPublicId, userPublicId } from '../../core/public-ids.ts';

const REFRESH = /^rt_([0-9a-f]{24})\./;

interface Deps {
  clients: OAuthClients;
  sessions: Sessions;
  users: Users;
  accessTokens: AccessTokens;
  idTokens: IdTokens;
}

interface LiveAccessToken {
  claims: Record<string, unknown>;
  session: SessionDoc | null;
}

/** Userinfo (OpenID Connect Core §5.3), revocation (RFC 7009), introspection (RFC 7662) and logout. */
export class TokenServices {
  constructor(private readonly deps: Deps) {}

  /** An access token of this issuer whose session (for user tokens) is live. */
  private async liveAccessToken(issuer: Issuer, token: string): Promise<LiveAccessToken | null> {
    let claims: Record<string, unknown>;
    try {
      claims = await this.deps.accessTokens.verifyAnyClaims(token);
    } catch {
      return null;
    }
    if (claims['iss'] !== issuer.url) return null;
    if (typeof claims['sid'] !== 'string') return { claims, session: null };
    // The bearer check's cached reads (writes through ScaiKey evict them; see AUTH_CACHE_TTL_MS).
    const session = await this.deps.sessions.findActiveRecent(claims['sid']);
    if (!session || session.user_id.toHexString() !== internalHex('user', claims['sub'] as string)) return null;
    return { claims, session };
  }

  /** The claims, and the client the token was issued to (for CORS: its allowed_origins). */
  async userinfo(issuer: Issuer, token: string): Promise<{ claims: Record<string, unknown>; clientId: string | undefined }> {
    const live = await this.liveAccessToken(issuer, token);
    if (!live?.session) throw new OAuthError('invalid_token', 'The access token is invalid, expired or revoked');
    const scope = typeof live.claims['scope'] === 'string' ? live.claims['scope'].split(' ') : [];
    if (!scope.includes('openid')) throw new OAuthError('insufficient_scope', 'The access token lacks the openid scope');
    const user = await this.deps.users.findRecentById(live.session.user_id);
    if (!user || user.status !== 'active') throw new OAuthError('invalid_token', 'The user account is not active');
    const requested = requestedClaimNames(live.session.oauth?.userinfo_claims ?? null, 'userinfo');
    const clientId = typeof live.claims['client_id'] === 'string' ? live.claims['client_id'] : undefined;
    return { claims: { sub: userPublicId(user._id), ...releasedClaims(user, scope, requested) }, clientId };
  }

  /** RFC 7009: always 200 for the client's own tokens or unknown ones; another client's are left alone. */
  async revoke(issuer: Issuer, form: Record<string, unknown>, credentials: ClientCredentials): Promise<void> {
    const { app } = await this.deps.clients.authenticate(issuer, credentials);
    const token = form['token'];
    if (typeof token !== 'string' || !token) throw new OAuthError('invalid_request', 'token is required');
    const session = await this.sessionOf(issuer, app, token);
    if (session) await this.deps.sessions.revoke(session._id, 'revoked by the client');
  }

  /** RFC 7662, for confidential clients of this issuer. */
  async introspect(issuer: Issuer, form: Record<string, unknown>, credentials: ClientCredentials): Promise<Record<string, unknown>> {
    const { method } = await this.deps.clients.authenticate(issuer, credentials);
    if (method === 'none') throw new OAuthError('invalid_client', 'Introspection needs client authentication');
    const token = form['token'];
    if (typeof token !== 'string' || !token) throw new OAuthError('invalid_request', 'token is required');
    if (REFRESH.test(token)) {
      const session = await this.refreshSession(issuer, token);
      if (!session?.oauth) return { active: false };
      return {
        active: true,
        token_type: 'refresh_token',
        client_id: session.oauth.client_id,
        scope: session.oauth.scope,
        sub: userPublicId(session.user_id),
        iss: issuer.url,
        tenant_id: tenantPublicId(session.tenant_id),
        exp: Math.floor(Math.min(session.idle_expires_at.getTime(), session.absolute_expires_at.getTime()) / 1000),
      };
    }
    const live = await this.liveAccessToken(issuer, token);
    if (!live) return { active: false };
    const { claims } = live;
    const out: Record<string, unknown> = { active: true, token_type: 'Bearer' };
    for (const name of ['scope', 'client_id', 'sub', 'exp', 'iat', 'iss', 'aud', 'jti', 'tenant_id', 'act', 'token_type', 'platform_token', 'app_scope']) {
      if (claims[name] !== undefined) out[name === 'token_type' ? 'scaikey_token_type' : name] = claims[name];
    }
    return out;
  }

  /** The app session a refresh or access token of this client belongs to. */
  private async sessionOf(issuer: Issuer, app: ApplicationDoc, token: string): Promise<SessionDoc | null> {
    if (REFRESH.test(token)) {
      const session = await this.refreshSession(issuer, token);
      return session?.oauth?.client_id === app.client_id ? session : null;
    }
    const live = await this.liveAccessToken(issuer, token);
    return live?.session && live.claims['client_id'] === app.client_id ? live.session : null;
  }

  /** The live session whose current refresh token this is. */
  private async refreshSession(issuer: Issuer, token: string): Promise<SessionDoc | null> {
    const match = REFRESH.exec(token);
    if (!match) return null;
    const session = await this.deps.sessions.findActive(match[1]!);
    if (!session?.oauth || session.oauth.issuer !== issuer.url || !session.refresh) return null;
    return this.deps.sessions.isCurrentRefreshToken(session, token) ? session : null;
  }

  /**
   * RP-initiated logout: which browser session to end and where to send the user. The redirect
   * is only honoured when registered for the client the hint (or client_id) names.
   */
  async planLogout(issuer: Issuer, params: Record<string, unknown>): Promise<{ redirect: string | null; hintValid: boolean; hintSid: string | null }> {
    const hint = typeof params['id_token_hint'] === 'string' ? await this.deps.idTokens.readHint(params['id_token_hint'], issuer.url) : undefined;
    if (typeof params['id_token_hint'] === 'string' && !hint) throw new OAuthError('invalid_request', 'id_token_hint is not a valid ID token of this issuer');
    const clientId = typeof params['client_id'] === 'string' ? params['client_id'] : hint?.aud;
    if (hint && clientId && clientId !== hint.aud) throw new OAuthError('invalid_request', 'client_id does not match the id_token_hint');
    const target = params['post_logout_redirect_uri'];
    let redirect: string | null = null;
    if (typeof target === 'string') {
      const app = await this.deps.clients.find(issuer, clientId);
      if (!app || !app.post_logout_redirect_uris.includes(target)) throw new OAuthError('invalid_request', 'post_logout_redirect_uri is not registered for this client');
      const url = new URL(target);
      if (typeof params['state'] === 'string') url.searchParams.set('state', params['state']);
      redirect = url.toString();
    }
    return { redirect, hintValid: Boolean(hint), hintSid: hint?.sid ?? null };
  }

  /** Ends the browser session (and the app sessions it signed in). */
  async endBrowserSession(browserSecret: string | undefined, expectedSid: string | null): Promise<void> {
    if (!browserSecret) return;
    const session = await this.deps.sessions.findBrowserSession(browserSecret);
    if (!session) return;
    if (expectedSid && expectedSid !== session._id.toHexString()) return;
    await this.deps.sessions.revokeWithChildren(session, 'logout');
  }
}

