import { ApiError } from '../../core/errors.ts';
import { parsePublicId, userPublicId } from '../../core/public-ids.ts';
import { parseSessionId, sessionPublicId } from '../../core/record-ids.ts';
import type { ClientInfo, UserPrincipal } from '../../core/request-context.ts';
import type { SessionDoc } from '../../store/sessions.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Sessions } from './sessions.ts';

export type SessionKind = 'portal' | 'hosted' | 'oauth';

/** portal: refresh tokens (the portal API, the admin console); hosted: a hosted page's cookie; oauth: an app's. */
export function sessionKind(session: SessionDoc): SessionKind {
  if (session.oauth) return 'oauth';
  return session.browser_secret_hash ? 'hosted' : 'portal';
}

/** How many of one's own sessions the list shows (newest first); nobody has more live ones in practice. */
const MAX_LISTED = 100;

export function mySessionView(session: SessionDoc, currentId: string | null) {
  return {
    id: sessionPublicId(session._id),
    kind: sessionKind(session),
    client_id: session.oauth?.client_id ?? null,
    amr: [...session.amr],
    client_ip: session.client_ip,
    user_agent: session.user_agent,
    remember_me: session.remember_me,
    created_at: session.created_at.toISOString(),
    last_seen_at: session.last_seen_at.toISOString(),
    idle_expires_at: session.idle_expires_at.toISOString(),
    absolute_expires_at: session.absolute_expires_at.toISOString(),
    current: currentId === session._id.toHexString(),
  };
}

/**
 * A user's own sessions (the account page): the live ones, the caller's marked `current`, and
 * ending one of them (with the app sessions it signed in). Another user's session is unknown (404).
 */
export class MySessions {
  constructor(private readonly deps: { sessions: Sessions; audit: AuditLog }) {}

  async list(principal: UserPrincipal) {
    const { userId, tenantId } = this.owner(principal);
    const { items, total } = await this.deps.sessions.listActive({ tenantId, userId }, { skip: 0, limit: MAX_LISTED });
    const current = parseSessionId(principal.sessionId)?.toHexString() ?? null;
    return { items: items.map((s) => mySessionView(s, current)), total };
  }

  async revoke(principal: UserPrincipal, id: string, request: ClientInfo & { requestId: string }): Promise<void> {
    const { userId, tenantId } = this.owner(principal);
    const sessionId = parseSessionId(id);
    const session = sessionId ? await this.deps.sessions.findAny(sessionId) : null;
    if (!session || !session.user_id.equals(userId) || !session.tenant_id.equals(tenantId) || !this.deps.sessions.isLive(session)) {
      throw new ApiError('notFound', { internal: 'not a live session of this user' });
    }
    const ended = await this.deps.sessions.revokeTree(session, 'user revoked');
    await this.deps.audit.record({
      type: 'session.revoke',
      outcome: 'success',
      tenantId,
      userId,
      clientIp: request.clientIp,
      userAgent: request.userAgent,
      requestId: request.requestId,
      actor: { type: 'user', id: userPublicId(userId), email: null },
      resource: { type: 'session', id: sessionPublicId(session._id) },
      details: { session_id: sessionPublicId(session._id), sessions_ended: ended, current: parseSessionId(principal.sessionId)?.equals(session._id) === true },
    });
  }

  private owner(principal: UserPrincipal) {
    const userId = parsePublicId('user', principal.userId);
    const tenantId = parsePublicId('tenant', principal.tenantId);
    if (!userId || !tenantId) throw new ApiError('invalidToken', { internal: 'principal without user or tenant id' });
    return { userId, tenantId };
  }
}
