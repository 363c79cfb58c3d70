import { ObjectId } from 'mongodb';
import type { Clock } from '../../core/clock.ts';
import { addSeconds } from '../../core/clock.ts';
import { OAuthError } from '../../core/oauth-errors.ts';
import type { ApplicationDoc } from '../../store/applications.ts';
import type { AuthorizationCodeStore } from '../../store/authorization-codes.ts';
import type { ConsentStore } from '../../store/consents.ts';
import type { SessionDoc } from '../../store/sessions.ts';
import { isPublicClient } from '../applications/applications.ts';
import { hashToken, newOpaqueToken, type SecretBox } from '../crypto/secrets.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { OAuthClients } from './clients.ts';
import type { IdTokens } from './id-tokens.ts';
import { ACR_MFA, ACR_PASSWORD, type Issuer } from './issuers.ts';

/** A validated authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1). */
export interface AuthorizationRequest {
  issuer: string;
  clientId: string;
  redirectUri: string;
  scope: string[];
  state: string | null;
  nonce: string | null;
  codeChallenge: string | null;
  prompt: string[];
  maxAge: number | null;
  loginHint: string | null;
  idTokenHintSub: string | null;
  uiLocales: string | null;
  acrValues: string | null;
  claims: string | null;
  /** Seconds since the epoch after which the sealed request is stale. */
  exp: number;
}

export type AuthorizeOutcome =
  /** Never redirect: the client or its redirect URI is not known (RFC 6749 §4.1.2.1). */
  | { kind: 'error-page'; error: OAuthError }
  | { kind: 'redirect'; location: string }
  /** The user must sign in (or again): the hosted page, carrying the sealed request. */
  | { kind: 'login'; request: AuthorizationRequest; sealed: string; app: ApplicationDoc }
  | { kind: 'consent'; request: AuthorizationRequest; sealed: string; app: ApplicationDoc; session: SessionDoc };

const PKCE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/; // BASE64URL(SHA256(verifier)), RFC 7636 §4.2
const REQUEST_TTL = 30 * 60;
const CODE_TTL = 60;

function single(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new OAuthError('invalid_request', `${name} must be given once`);
  return value;
}

/**
 * An unsigned request object (OpenID Connect Core §6.1, `alg: none`): its members replace the
 * query's. Signed ones would need the client's keys, which apps do not register here; client
 * secrets are stored hashed, so HMAC-signed objects cannot be checked either.
 */
function withRequestObject(query: Record<string, unknown>): Record<string, unknown> {
  const request = query['request'];
  if (request === undefined) return query;
  if (typeof request !== 'string') throw new OAuthError('invalid_request_object', 'request must be given once');
  const parts = request.split('.');
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    if (parts.length !== 3 || parts[2] !== '') throw new Error('not an unsigned JWT');
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new OAuthError('invalid_request_object', 'Only unsigned request objects (alg none) are supported');
  }
  if (header['alg'] !== 'none' || !payload || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new OAuthError('invalid_request_object', 'Only unsigned request objects (alg none) are supported');
  }
  if (payload['client_id'] !== undefined && payload['client_id'] !== query['client_id']) {
    throw new OAuthError('invalid_request_object', 'client_id in the request object differs from the request');
  }
  const merged: Record<string, unknown> = { ...query };
  delete merged['request'];
  for (const [name, value] of Object.entries(payload)) {
    if (['iss', 'aud', 'exp', 'iat', 'nbf', 'jti'].includes(name)) continue;
    merged[name] = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);
  }
  return merged;
}

/** The error redirect of RFC 6749 §4.1.2.1, with `iss` (RFC 9207). */
export function errorRedirect(redirectUri: string, issuer: string, error: OAuthError, state: string | null): string {
  const url = new URL(redirectUri);
  url.searchParams.set('error', error.error);
  url.searchParams.set('error_description', error.description);
  if (state !== null) url.searchParams.set('state', state);
  url.searchParams.set('iss', issuer);
  return url.toString();
}

export function acrOf(amr: readonly string[]): string {
  return amr.some((m) => m !== 'pwd') ? ACR_MFA : ACR_PASSWORD;
}

interface Deps {
  clients: OAuthClients;
  codes: AuthorizationCodeStore;
  consents: ConsentStore;
  sessions: Sessions;
  idTokens: IdTokens;
  box: SecretBox;
  clock: Clock;
}

/** The authorization endpoint: validation, single sign-on, consent and the code. */
export class Authorization {
  constructor(private readonly deps: Deps) {}

  async authorize(issuer: Issuer, query: Record<string, unknown>, browserSecret: string | undefined): Promise<AuthorizeOutcome> {
    let clientId: string | undefined;
    let redirectUri: string | undefined;
    let params = query;
    try {
      params = withRequestObject(query);
      clientId = single(params, 'client_id');
      redirectUri = single(params, 'redirect_uri');
    } catch (error) {
      return { kind: 'error-page', error: error as OAuthError };
    }
    const app = await this.deps.clients.find(issuer, clientId);
    if (!app) return { kind: 'error-page', error: new OAuthError('invalid_client', 'Unknown or inactive client', `client ${String(clientId).slice(0, 64)}`) };
    if (!redirectUri) return { kind: 'error-page', error: new OAuthError('invalid_request', 'redirect_uri is required') };
    if (!app.redirect_uris.includes(redirectUri)) return { kind: 'error-page', error: new OAuthError('invalid_request', 'redirect_uri is not registered for this client') };
    let state: string | null = null;
    try {
      state = single(params, 'state') ?? null;
      const request = await this.validate(issuer, app, redirectUri, state, params);
      return await this.continueWith(issuer, app, request, browserSecret);
    } catch (error) {
      if (error instanceof OAuthError) return { kind: 'redirect', location: errorRedirect(redirectUri, issuer.url, error, state) };
      throw error;
    }
  }

  private async validate(issuer: Issuer, app: ApplicationDoc, redirectUri: string, state: string | null, params: Record<string, unknown>): Promise<AuthorizationRequest> {
    if (params['request_uri'] !== undefined) throw new OAuthError('request_uri_not_supported', 'request_uri is not supported');
    const responseType = single(params, 'response_type');
    if (!responseType) throw new OAuthError('invalid_request', 'response_type is required');
    if (responseType !== 'code') throw new OAuthError('unsupported_response_type', 'Only response_type=code is supported');
    const responseMode = single(params, 'response_mode');
    if (responseMode !== undefined && responseMode !== 'query') throw new OAuthError('invalid_request', 'Only response_mode=query is supported');
    if (!app.application_type || app.application_type === 'SERVICE') throw new OAuthError('unauthorized_client', 'This client may not use the authorization code grant');

    const requested = (single(params, 'scope') ?? '').split(' ').filter(Boolean);
    const scope = [...new Set(requested.filter((s) => app.allowed_scopes.includes(s)))];
    if (requested.length > 0 && scope.length === 0) throw new OAuthError('invalid_scope', 'None of the requested scopes is allowed for this client');

    const method = single(params, 'code_challenge_method');
    const challenge = single(params, 'code_challenge') ?? null;
    if (challenge !== null) {
      if ((method ?? 'plain') !== 'S256') throw new OAuthError('invalid_request', 'code_challenge_method must be S256');
      if (!PKCE_CHALLENGE.test(challenge)) throw new OAuthError('invalid_request', 'code_challenge is malformed');
    } else if (method !== undefined) {
      throw new OAuthError('invalid_request', 'code_challenge is required with code_challenge_method');
    }
    if (challenge === null && isPublicClient(app.application_type)) throw new OAuthError('invalid_request', 'PKCE (code_challenge with S256) is required for public clients');

    const prompt = (single(params, 'prompt') ?? '').split(' ').filter(Boolean);
    if (prompt.some((p) => !['none', 'login', 'consent', 'select_account'].includes(p))) throw new OAuthError('invalid_request', 'Unsupported prompt value');
    if (prompt.includes('none') && prompt.length > 1) throw new OAuthError('invalid_request', 'prompt=none cannot be combined with other values');

    const maxAgeText = single(params, 'max_age');
    let maxAge: number | null = null;
    if (maxAgeText !== undefined) {
      if (!/^\d{1,9}$/.test(maxAgeText)) throw new OAuthError('invalid_request', 'max_age must be a non-negative integer');
      maxAge = Number(maxAgeText);
    }
    const claims = single(params, 'claims') ?? null;
    if (claims !== null) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(claims);
      } catch {
        throw new OAuthError('invalid_request', 'claims must be a JSON object');
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new OAuthError('invalid_request', 'claims must be a JSON object');
    }
    const nonce = single(params, 'nonce') ?? null;
    if (nonce !== null && nonce.length > 512) throw new OAuthError('invalid_request', 'nonce is too long');
    if (state !== null && state.length > 2048) throw new OAuthError('invalid_request', 'state is too long');
    const hint = single(params, 'id_token_hint');
    let idTokenHintSub: string | null = null;
    if (hint) {
      const read = await this.deps.idTokens.readHint(hint, issuer.url);
      if (!read) throw new OAuthError('invalid_request', 'id_token_hint is not a valid ID token of this issuer');
      idTokenHintSub = read.sub;
    }
    const loginHint = single(params, 'login_hint') ?? null;
    return {
      issuer: issuer.url,
      clientId: app.client_id,
      redirectUri,
      scope,
      state,
      nonce,
      codeChallenge: challenge,
      prompt,
      maxAge,
      loginHint: loginHint && loginHint.length <= 320 ? loginHint : null,
      idTokenHintSub,
      uiLocales: single(params, 'ui_locales') ?? null,
      acrValues: single(params, 'acr_values') ?? null,
      claims,
      exp: Math.floor(this.deps.clock.now().getTime() / 1000) + REQUEST_TTL,
    };
  }

  /** Single sign-on when the browser session suffices, else the hosted page (or an error for prompt=none). */
  private async continueWith(issuer: Issuer, app: ApplicationDoc, request: AuthorizationRequest, browserSecret: string | undefined): Promise<AuthorizeOutcome> {
    const session = browserSecret ? await this.deps.sessions.findBrowserSession(browserSecret) : null;
    const usable = session && this.sessionServes(issuer, session, request) ? session : null;
    const mustLogin = !usable || request.prompt.includes('login') || request.prompt.includes('select_account');
    if (mustLogin) {
      if (request.prompt.includes('none')) throw new OAuthError('login_required', 'The user is not signed in');
      // After signing in on the page, the request continues there: prompt=login is satisfied.
      return { kind: 'login', request, sealed: this.seal({ ...request, prompt: request.prompt.filter((p) => p !== 'login' && p !== 'select_account') }), app };
    }
    return this.afterLogin(app, request, usable);
  }

  private sessionServes(issuer: Issuer, session: SessionDoc, request: AuthorizationRequest): boolean {
    if (issuer.kind === 'tenant' && !session.tenant_id.equals(issuer.tenant._id)) return false;
    if (request.idTokenHintSub && request.idTokenHintSub !== session.user_id.toHexString()) return false;
    if (request.maxAge !== null && this.deps.clock.now().getTime() - session.created_at.getTime() > request.maxAge * 1000) return false;
    return true;
  }

  /** Signed in: consent if the app needs it and does not have it, else the code. */
  async afterLogin(app: ApplicationDoc, request: AuthorizationRequest, session: SessionDoc): Promise<AuthorizeOutcome> {
    if (request.idTokenHintSub && request.idTokenHintSub !== session.user_id.toHexString()) {
      throw new OAuthError('login_required', 'The signed-in user is not the one the id_token_hint names');
    }
    if (!app.skip_consent) {
      const consent = await this.deps.consents.find(session.user_id, app.client_id);
      const covered = consent && request.scope.every((s) => consent.scopes.includes(s));
      if (!covered || request.prompt.includes('consent')) {
        if (request.prompt.includes('none')) throw new OAuthError('consent_required', 'The user has not allowed this application yet');
        return { kind: 'consent', request, sealed: this.seal(request), app, session };
      }
    }
    return { kind: 'redirect', location: await this.issueCode(app, request, session) };
  }

  /** The user allowed (or refused) the app on the consent page. */
  async decideConsent(app: ApplicationDoc, request: AuthorizationRequest, session: SessionDoc, allowed: boolean): Promise<string> {
    if (!allowed) return errorRedirect(request.redirectUri, request.issuer, new OAuthError('access_denied', 'The user refused the request'), request.state);
    await this.deps.consents.grant(session.tenant_id, session.user_id, app.client_id, request.scope, this.deps.clock.now());
    return this.issueCode(app, request, session);
  }

  private async issueCode(app: ApplicationDoc, request: AuthorizationRequest, session: SessionDoc): Promise<string> {
    const code = newOpaqueToken('ac');
    const now = this.deps.clock.now();
    await this.deps.codes.insert({
      _id: hashToken(code),
      issuer: request.issuer,
      client_id: app.client_id,
      tenant_id: session.tenant_id,
      user_id: session.user_id,
      browser_session_id: session._id,
      grant_session_id: new ObjectId(),
      redirect_uri: request.redirectUri,
      scope: request.scope.join(' '),
      nonce: request.nonce,
      code_challenge: request.codeChallenge,
      auth_time: session.created_at,
      amr: session.amr,
      acr: acrOf(session.amr),
      claims: request.claims,
      created_at: now,
      expires_at: addSeconds(now, CODE_TTL),
      consumed_at: null,
    });
    const url = new URL(request.redirectUri);
    url.searchParams.set('code', code);
    if (request.state !== null) url.searchParams.set('state', request.state);
    url.searchParams.set('iss', request.issuer);
    return url.toString();
  }

  seal(request: AuthorizationRequest): string {
    return this.deps.box.seal(JSON.stringify(request), 'oauth-request');
  }

  /** The request a hosted page carries, if it is ours, unexpired and for this issuer. */
  unseal(sealed: string | undefined, issuer: Issuer): AuthorizationRequest | null {
    if (!sealed || sealed.length > 16_384) return null;
    try {
      const request = JSON.parse(this.deps.box.open(sealed, 'oauth-request')) as AuthorizationRequest;
      if (request.issuer !== issuer.url || request.exp * 1000 < this.deps.clock.now().getTime()) return null;
      return request;
    } catch {
      return null;
    }
  }
}
