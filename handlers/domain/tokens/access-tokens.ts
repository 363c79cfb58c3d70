import { internalHex, tenantPublicId, userPublicId } from '../../core/public-ids.ts';
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, decodeProtectedHeader, errors as joseErrors } from 'jose';
import { LRUCache } from 'lru-cache';
import { ApiError } from '../../core/errors.ts';
import type { Clock } from '../../core/clock.ts';
import type { SigningKeys } from './signing-keys.ts';

/**
 * Claims an admin sign-in adds (docs §5): `role`, and `tenant_id` / `partner_id` where they
 * apply. Informational for clients: the admin API reads the role from the user document on every
 * call, so a removed role stops working before the token expires.
 */
export interface AdminTokenClaims {
  role: 'super_admin' | 'partner_admin' | 'tenant_admin';
  tenant_id?: string;
  partner_id?: string;
}

export interface AccessTokenClaims {
  sub: string;
  tid: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  /** The issuer: PUBLIC_BASE_URL for portal and hosted-page tokens, an OpenID issuer for apps' tokens. */
  iss?: string;
  /** Apps' tokens: the client, and the space-separated scope it was granted. */
  client_id?: string;
  scope?: string;
  /** Present only on admin tokens; tokens without them verify as before. */
  role?: AdminTokenClaims['role'];
  tenant_id?: string;
  partner_id?: string;
}

/** The claims of an app's access token (RFC 9068), as the OpenID provider mints them. */
export interface OAuthAccessTokenInput {
  issuer: string;
  clientId: string;
  subject: string;
  scope: string;
  ttlSeconds: number;
  /** ScaiKey claims: tenant_id, sid (and tid, for the API's bearer check), role, token_type, act… */
  extra: Record<string, unknown>;
}

const adminRoles = new Set(['super_admin', 'partner_admin', 'tenant_admin']);

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** Issuers of apps' tokens this verifier also accepts (their `aud` is the client_id). */
  isOAuthIssuer?: (iss: string) => boolean;
  /** Milliseconds a successfully verified token is remembered (0: verify every time). */
  verifiedCacheMs?: number;
}

const invalid = (internal: string) =>
  new ApiError('invalidToken', { internal });

/** Short-lived ES256 JWTs (RFC 9068 profile). Only ES256 is accepted, which rules out `none` and HMAC. */
export class AccessTokens {
  /** Tokens that verified, by their exact text: a signature check is the dearest part of a bearer check. */
  private readonly verified = new LRUCache<string, { claims: AccessTokenClaims; at: number }>({ max: 10_000 });

  constructor(
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    private readonly settings: AccessTokenSettings,
  ) {}

  async issue(
    subject: { userId: string; tenantId: string; sessionId: string },
    ttlSeconds = this.settings.ttlSeconds,
    admin?: AdminTokenClaims,
  ): Promise<{ token: string; expiresAt: number }> {
    const { kid, key } = await this.keys.signingKey();
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const exp = iat + ttlSeconds;
    const extra = admin ? { role: admin.role, ...(admin.tenant_id ? { tenant_id: admin.tenant_id } : {}), ...(admin.partner_id ? { partner_id: admin.partner_id } : {}) } : {};
    // On the wire the ids are public (usr_…, tnt_…); verify() hands the internal hex back.
    const token = await new SignJWT({ tid: tenantPublicId(subject.tenantId), sid: subject.sessionId, ...extra })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setSubject(userPublicId(subject.userId))
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(key);
    return { token, expiresAt: exp };
  }

  /** An app's access token: `aud` and `client_id` are the client (ScaiKey issues no other audience). */
  async issueOAuth(input: OAuthAccessTokenInput): Promise<{ token: string; expiresAt: number; jti: string }> {
    const { kid, key } = await this.keys.signingKey();
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const exp = iat + input.ttlSeconds;
    const jti = randomUUID();
    const token = await new SignJWT({ ...input.extra, client_id: input.clientId, scope: input.scope })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer(input.issuer)
      .setAudience(input.clientId)
      .setSubject(input.subject)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(jti)
      .sign(key);
    return { token, expiresAt: exp, jti };
  }

  /** Signature, lifetime and issuer only (introspection and token exchange read the rest). */
  async verifyAnyClaims(token: string): Promise<Record<string, unknown>> {
    return this.verifySignature(token);
  }

  async verify(token: string): Promise<AccessTokenClaims> {
    const cacheMs = this.settings.verifiedCacheMs ?? 0;
    const now = this.clock.now().getTime();
    if (cacheMs > 0) {
      const hit = this.verified.get(token);
      if (hit && now >= hit.at && now - hit.at < cacheMs && hit.claims.exp * 1000 > now) return hit.claims;
    }
    const claims = await this.verifyUncached(token);
    if (cacheMs > 0) this.verified.set(token, { claims: Object.freeze(claims), at: now });
    return claims;
  }

  private async verifyUncached(token: string): Promise<AccessTokenClaims> {
    const payload = await this.verifySignature(token);
    const { sub, tid, sid, jti, iat, exp, iss, client_id, scope, role, tenant_id, partner_id } = payload as Partial<AccessTokenClaims>;
    if (typeof sub !== 'string' || typeof tid !== 'string' || typeof sid !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') {
      throw invalid('missing claims');
    }
    if ((role !== undefined && !adminRoles.has(role)) || (tenant_id !== undefined && typeof tenant_id !== 'string') || (partner_id !== undefined && typeof partner_id !== 'string')) {
      throw invalid('malformed admin claims');
    }
    // Public ids (and the bare hex of tokens minted before them) become the internal hex here, once.
    const userHex = internalHex('user', sub);
    const tenantHex = internalHex('tenant', tid);
    if (!userHex || !tenantHex) throw invalid('malformed subject');
    return {
      sub: userHex, tid: tenantHex, sid, jti, iat, exp,
      ...(role ? { role } : {}), ...(tenant_id ? { tenant_id: internalHex('tenant', tenant_id) ?? tenant_id } : {}), ...(partner_id ? { partner_id } : {}),
      ...(typeof iss === 'string' ? { iss } : {}),
      ...(typeof client_id === 'string' ? { client_id } : {}),
      ...(typeof scope === 'string' ? { scope } : {}),
    };
  }

  /**
   * One verification path for every access token: ES256 with a published kid, `typ: at+jwt`,
   * within its lifetime, and either ours (PUBLIC_BASE_URL, JWT_AUDIENCE) or an OpenID issuer's
   * whose audience is the client it was issued to.
   */
  private async verifySignature(token: string): Promise<Record<string, unknown>> {
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      if (header.alg !== 'ES256') throw invalid(`unexpected alg ${String(header.alg)}`);
      kid = header.kid;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw invalid('malformed token');
    }
    if (!kid) throw invalid('no kid');
    const key = await this.keys.verificationKey(kid);
    if (!key) throw invalid('unknown kid');
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['ES256'],
        typ: 'at+jwt',
        currentDate: this.clock.now(),
        requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'jti'],
      });
      const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (payload.iss === this.settings.issuer) {
        if (!audiences.includes(this.settings.audience)) throw invalid('wrong audience');
      } else if (typeof payload.iss === 'string' && this.settings.isOAuthIssuer?.(payload.iss)) {
        if (typeof payload['client_id'] !== 'string' || audiences.length !== 1 || audiences[0] !== payload['client_id']) throw invalid('wrong audience');
      } else {
        throw invalid('unexpected issuer');
      }
      return payload as Record<string, unknown>;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      const reason = error instanceof joseErrors.JOSEError ? error.code : 'verification failed';
      throw invalid(reason);
    }
  }
}
