import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, compactVerify, decodeJwt, decodeProtectedHeader } from 'jose';
import type { Clock } from '../../core/clock.ts';
import type { SigningAlg, SigningKeys } from '../tokens/signing-keys.ts';
import { internalHex } from '../../core/public-ids.ts';

export interface IdTokenInput {
  issuer: string;
  clientId: string;
  subject: string;
  alg: SigningAlg;
  authTime: Date;
  nonce: string | null;
  amr: string[];
  acr: string | null;
  /** The browser session's id: the `sid` of OpenID Connect Front/Back-Channel Logout. */
  sid: string;
  accessToken: string | null;
  ttlSeconds: number;
  claims: Record<string, unknown>;
}

/** Left half of the SHA-256 of the token, base64url (OpenID Connect Core §3.1.3.6). */
export function halfHash(value: string): string {
  const digest = createHash('sha256').update(value, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** ID tokens: RS256 unless the app chose ES256, a `kid` published in the JWKS. */
export class IdTokens {
  constructor(private readonly keys: SigningKeys, private readonly clock: Clock) {}

  async issue(input: IdTokenInput): Promise<string> {
    const { kid, key } = await this.keys.signingKey(input.alg);
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const payload: Record<string, unknown> = {
      ...input.claims,
      auth_time: Math.floor(input.authTime.getTime() / 1000),
      amr: input.amr,
      azp: input.clientId,
      sid: input.sid,
      jti: randomUUID(),
    };
    if (input.nonce !== null) payload['nonce'] = input.nonce;
    if (input.acr) payload['acr'] = input.acr;
    if (input.accessToken) payload['at_hash'] = halfHash(input.accessToken);
    return new SignJWT(payload)
      .setProtectedHeader({ alg: input.alg, kid, typ: 'JWT' })
      .setIssuer(input.issuer)
      .setAudience(input.clientId)
      .setSubject(input.subject)
      .setIssuedAt(iat)
      .setExpirationTime(iat + input.ttlSeconds)
      .sign(key);
  }

  /**
   * An ID token this provider issued, expired or not (an `id_token_hint` may be old): signature
   * and issuer are checked, the lifetime is not. Undefined for anything else.
   */
  async readHint(token: string, issuer: string): Promise<{ sub: string; aud: string; sid: string | undefined } | undefined> {
    try {
      const header = decodeProtectedHeader(token);
      if ((header.alg !== 'RS256' && header.alg !== 'ES256') || !header.kid) return undefined;
      const key = await this.keys.verificationKey(header.kid, header.alg);
      if (!key) return undefined;
      await compactVerify(token, key, { algorithms: [header.alg] });
      const claims = decodeJwt(token);
      const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
      if (claims.iss !== issuer || typeof claims.sub !== 'string' || typeof aud !== 'string') return undefined;
      // The hint's subject as the internal hex the sessions carry (public usr_… or a legacy bare hex).
      return { sub: internalHex('user', claims.sub) ?? claims.sub, aud, sid: typeof claims['sid'] === 'string' ? claims['sid'] : undefined };
    } catch {
      return undefined;
    }
  }
}
