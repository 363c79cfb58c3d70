import { ObjectId } from 'mongodb';
import { ApiError } from '../../core/errors.ts';
import type { Principal, UserPrincipal } from '../../core/request-context.ts';
import type { AccessTokens } from '../tokens/access-tokens.ts';
import type { Users } from '../users/users.ts';
import { rememberAuthenticatedUser } from '../users/authenticated-user.ts';
import type { Sessions } from './sessions.ts';

/** Bearer authentication: a valid signature is not enough; the session and the user must be live. */
export class BearerAuthentication {
  constructor(private readonly deps: { accessTokens: AccessTokens; sessions: Sessions; users: Users }) {}

  async authenticate(token: string): Promise<Principal> {
    const claims = await this.deps.accessTokens.verify(token);
    const session = await this.deps.sessions.findActiveRecent(claims.sid);
    if (!session || session.user_id.toHexString() !== claims.sub) throw new ApiError('invalidToken', { internal: 'session revoked or expired' });
    const user = await this.deps.users.findRecentById(new ObjectId(claims.sub));
    if (!user || (user.status !== 'active' && user.status !== 'pending')) throw new ApiError('invalidToken', { internal: 'user not active' });
    const principal: UserPrincipal = { kind: 'user', userId: claims.sub, tenantId: claims.tid, sessionId: claims.sid, tokenId: claims.jti, expiresAt: claims.exp, token };
    rememberAuthenticatedUser(principal, user);
    return principal;
  }
}
