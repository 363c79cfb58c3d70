import { ObjectId } from 'mongodb';
import { decodeJwt } from 'jose';
import { ApiError } from '../../core/errors.ts';
import type { ClientPrincipal, Principal, UserPrincipal } from '../../core/request-context.ts';
import type { AccessTokens } from '../tokens/access-tokens.ts';
import type { Users } from '../users/users.ts';
import { rememberAuthenticatedUser } from '../users/authenticated-user.ts';
import type { Sessions } from './sessions.ts';
import { internalHex } from '../../core/public-ids.ts';

/** Bearer authentication: a valid signature is not enough; the session and the user must be live. */
export class BearerAuthentication {
  constructor(private readonly deps: {
    accessTokens: AccessTokens;
    sessions: Sessions;
    users: Users;
    /** Whether an app may still use its client_credentials tokens (not suspended or deleted). */
    clientActive?: (clientId: string) => Promise<boolean>;
  }) {}

  async authenticate(token: string): Promise<Principal> {
    if (isClientCredentialsToken(token)) return this.authenticateClient(token);
    const claims = await this.deps.accessTokens.verify(token);
    const session = await this.deps.sessions.findActiveRecent(claims.sid);
    if (!session || session.user_id.toHexString() !== claims.sub) throw new ApiError('invalidToken', { internal: 'session revoked or expired' });
    const user = await this.deps.users.findRecentById(new ObjectId(claims.sub));
    if (!user || (user.status !== 'active' && user.status !== 'pending')) throw new ApiError('invalidToken', { internal: 'user not active' });
    const principal: UserPrincipal = { kind: 'user', userId: claims.sub, tenantId: claims.tid, sessionId: claims.sid, tokenId: claims.jti, expiresAt: claims.exp, token };
    rememberAuthenticatedUser(principal, user);
    return principal;
  }

  /** A service's client_credentials token: no session, so the app itself must still be active. */
  private async authenticateClient(token: string): Promise<ClientPrincipal> {
    const claims = await this.deps.accessTokens.verifyAnyClaims(token);
    const clientId = claims['client_id'];
    const appScope = claims['app_scope'];
    if (claims['token_type'] !== 'client_credentials' || typeof clientId !== 'string' || claims['sub'] !== clientId || (appScope !== 'GLOBAL' && appScope !== 'PARTNER' && appScope !== 'TENANT')) {
      throw new ApiError('invalidToken', { internal: 'malformed client token' });
    }
    if (this.deps.clientActive && !(await this.deps.clientActive(clientId))) throw new ApiError('invalidToken', { internal: 'client suspended or deleted' });
    return {
      kind: 'client',
      clientId,
      scopes: typeof claims['scope'] === 'string' ? claims['scope'].split(' ').filter(Boolean) : [],
      platformToken: claims['platform_token'] === true,
      appScope,
      tenantId: typeof claims['tenant_id'] === 'string' ? internalHex('tenant', claims['tenant_id']) : null,
      partnerId: typeof claims['partner_id'] === 'string' ? claims['partner_id'] : null,
      tokenId: String(claims['jti']),
      expiresAt: Number(claims['exp']),
      token,
    };
  }
}

/** Chooses the verification path only; the chosen path checks the signature and every claim. */
function isClientCredentialsToken(token: string): boolean {
  try {
    return decodeJwt(token)['token_type'] === 'client_credentials';
  } catch {
    return false;
  }
}
