import type { ObjectId } from 'mongodb';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import { noSuchId, parsePublicId, partnerIdPattern, tenantPublicId, userPublicId } from '../../core/public-ids.ts';
import { parseSessionId, sessionPublicId } from '../../core/record-ids.ts';
import type { SessionDoc, SessionQuery } from '../../store/sessions.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Sessions } from '../sessions/sessions.ts';
import { sessionKind } from '../sessions/my-sessions.ts';
import type { Tenants } from '../tenants/tenants.ts';
import type { Users } from '../users/users.ts';
import { actorSummary, type AdminActor, type AdminReach } from './admin-access.ts';
import type { AdminRequest } from './application-admin.ts';
import { adminAuditBase } from './admin-audit.ts';


/** A session as the admin API shows it: never a token, a hash or a sealed successor. */
export function sessionView(session: SessionDoc, live: boolean, email: string | null) {
  return {
    id: sessionPublicId(session._id),
    user_id: userPublicId(session.user_id),
    tenant_id: tenantPublicId(session.tenant_id),
    user_email: email,
    kind: sessionKind(session),
    client_id: session.oauth?.client_id ?? null,
    scope: session.oauth?.scope ?? null,
    parent_session_id: session.oauth?.parent_id ? sessionPublicId(session.oauth.parent_id) : null,
    amr: [...session.amr],
    client_ip: session.client_ip,
    user_agent: session.user_agent,
    remember_me: session.remember_me,
    created_at: session.created_at.toISOString(),
    last_seen_at: session.last_seen_at.toISOString(),
    idle_expires_at: session.idle_expires_at.toISOString(),
    absolute_expires_at: session.absolute_expires_at.toISOString(),
    active: live,
    revoked_at: session.revoked_at ? session.revoked_at.toISOString() : null,
    revoked_reason: session.revoked_reason,
  };
}

export type SessionView = ReturnType<typeof sessionView>;

export interface SessionFilters {
  page: number;
  perPage: number;
  userId?: string | undefined;
  tenantId?: string | undefined;
  partnerId?: string | undefined;
}


/** The tenant ids within a reach; undefined: every tenant. */
export async function tenantIdsInReach(tenants: Tenants, reach: AdminReach): Promise<ObjectId[] | undefined> {
  switch (reach.kind) {
    case 'platform': return undefined;
    case 'partner': return tenants.idsOfPartner(reach.partnerId);
    case 'tenant': return [reach.tenantId];
  }
}

/** Whether a tenant is within a reach (partners by the tenant's current partner). */
export async function tenantInReach(tenants: Tenants, reach: AdminReach, tenantId: ObjectId | null): Promise<boolean> {
  if (reach.kind === 'platform') return true;
  if (!tenantId) return false;
  if (reach.kind === 'tenant') return tenantId.equals(reach.tenantId);
  const tenant = await tenants.findActiveById(tenantId);
  return tenant?.partner_id === reach.partnerId;
}

/** A partner filter combined with a reach: the tenant ids both allow. */
export async function narrowToPartner(tenants: Tenants, reachIds: ObjectId[] | undefined, partnerId: string): Promise<ObjectId[]> {
  const ofPartner = partnerIdPattern.test(partnerId) ? await tenants.idsOfPartner(partnerId) : [];
  if (!reachIds) return ofPartner;
  const allowed = new Set(reachIds.map((id) => id.toHexString()));
  return ofPartner.filter((id) => allowed.has(id.toHexString()));
}

/**
 * The Sessions group of the admin API (docs §8.12): list a reach's active sessions, read one,
 * end one (with its refresh tokens and the app sessions it signed in), or end all of a user's or
 * a tenant's. A session, user or tenant outside the caller's reach answers 404. Revocations are
 * writes to `sessions` by `_id`, which the cache invalidation announces, so every replica's
 * bearer check sees them within its poll interval. Every write is audited, refusals included.
 */
export class SessionAdmin {
  constructor(private readonly deps: { sessions: Sessions; tenants: Tenants; users: Users; audit: AuditLog }) {}

  async list(actor: AdminActor, filters: SessionFilters) {
    const query: SessionQuery = {};
    let tenantIds = await tenantIdsInReach(this.deps.tenants, actor.reach);
    if (filters.partnerId !== undefined) tenantIds = await narrowToPartner(this.deps.tenants, tenantIds, filters.partnerId);
    if (tenantIds) query.tenantIds = tenantIds;
    // An id that cannot exist matches nothing (the same as an unknown one).
    if (filters.tenantId !== undefined) query.tenantId = parsePublicId('tenant', filters.tenantId) ?? noSuchId;
    if (filters.userId !== undefined) query.userId = parsePublicId('user', filters.userId) ?? noSuchId;
    const { items, total } = await this.deps.sessions.listActive(query, { skip: (filters.page - 1) * filters.perPage, limit: filters.perPage });
    const emails = await this.emailsOf(items);
    return { items: items.map((s) => sessionView(s, true, emails.get(s.user_id.toHexString()) ?? null)), total, page: filters.page, per_page: filters.perPage };
  }

  async get(actor: AdminActor, id: string): Promise<SessionView> {
    const session = await this.visible(actor, id);
    const emails = await this.emailsOf([session]);
    return sessionView(session, this.deps.sessions.isLive(session), emails.get(session.user_id.toHexString()) ?? null);
  }

  async revoke(actor: AdminActor, id: string, request: AdminRequest): Promise<void> {
    await this.audited(actor, request, 'admin.session.revoke', { type: 'session', id }, async () => {
      const session = await this.visible(actor, id);
      if (!this.deps.sessions.isLive(session)) throw new ApiError('notFound', { internal: 'session already ended' });
      const ended = await this.deps.sessions.revokeTree(session, 'admin revoked');
      return {
        result: undefined,
        tenantId: session.tenant_id,
        resource: { type: 'session', id: sessionPublicId(session._id) },
        details: { user_id: userPublicId(session.user_id), sessions_ended: ended },
      };
    });
  }

  async revokeAll(actor: AdminActor, body: { user_id?: string | undefined; tenant_id?: string | undefined }, request: AdminRequest): Promise<{ revoked: number }> {
    const given = (['user_id', 'tenant_id'] as const).filter((field) => body[field] !== undefined);
    const target = given.length === 1 ? { type: given[0] === 'user_id' ? 'user' : 'tenant', id: body[given[0]!]! } : { type: null, id: null };
    return this.audited(actor, request, 'admin.session.revoke_all', target, async () => {
      if (given.length !== 1) {
        throw new InvalidInput({ field: given.length === 0 ? 'user_id' : 'tenant_id', reason: 'give exactly one of user_id and tenant_id' });
      }
      if (body.user_id !== undefined) {
        const userId = parsePublicId('user', body.user_id);
        const user = userId ? await this.deps.users.findById(userId) : null;
        if (!user || !(await tenantInReach(this.deps.tenants, actor.reach, user.tenant_id))) throw new ApiError('notFound', { internal: 'user unknown or outside reach' });
        const revoked = await this.deps.sessions.revokeEveryForUser(user._id, 'admin revoked all');
        return { result: { revoked }, tenantId: user.tenant_id, resource: { type: 'user', id: userPublicId(user._id) }, details: { user_id: userPublicId(user._id), sessions_ended: revoked } };
      }
      const tenantId = parsePublicId('tenant', body.tenant_id);
      const tenant = tenantId ? await this.deps.tenants.findActiveById(tenantId) : null;
      if (!tenant || !(await tenantInReach(this.deps.tenants, actor.reach, tenant._id))) throw new ApiError('notFound', { internal: 'tenant unknown or outside reach' });
      const revoked = await this.deps.sessions.revokeEveryForTenant(tenant._id, 'admin revoked all');
      return { result: { revoked }, tenantId: tenant._id, resource: { type: 'tenant', id: tenantPublicId(tenant._id) }, details: { tenant_id: tenantPublicId(tenant._id), sessions_ended: revoked } };
    });
  }

  // ---------------------------------------------------------------------------------------------

  private async visible(actor: AdminActor, id: string): Promise<SessionDoc> {
    const sessionId = parseSessionId(id);
    const session = sessionId ? await this.deps.sessions.findAny(sessionId) : null;
    if (!session || !(await tenantInReach(this.deps.tenants, actor.reach, session.tenant_id))) throw new ApiError('notFound');
    return session;
  }

  /** The users' emails, by hex id: at most one (cached) read per distinct user of the page. */
  private async emailsOf(sessions: SessionDoc[]): Promise<Map<string, string>> {
    const ids = [...new Map(sessions.map((s) => [s.user_id.toHexString(), s.user_id])).values()];
    const users = await Promise.all(ids.map((id) => this.deps.users.findRecentById(id)));
    return new Map(users.filter((u) => u !== null).map((u) => [u._id.toHexString(), u.email]));
  }

  private async partnerOf(tenantId: ObjectId | null): Promise<string | null> {
    if (!tenantId) return null;
    const tenant: TenantDoc | null = await this.deps.tenants.findActiveById(tenantId);
    return tenant?.partner_id ?? null;
  }

  /** Runs an admin write and records it: actor, target, result, address and request id. */
  private async audited<T>(
    actor: AdminActor,
    request: AdminRequest,
    type: string,
    target: { type: string | null; id: string | null },
    work: () => Promise<{ result: T; tenantId: ObjectId; resource: { type: string; id: string }; details: Record<string, unknown> }>,
  ): Promise<T> {
    const base = adminAuditBase(actor, request, type);
    try {
      const { result, tenantId, resource, details } = await work();
      await this.deps.audit.record({ ...base, outcome: 'success', tenantId, partnerId: await this.partnerOf(tenantId), resource, details: { actor: actorSummary(actor), ...details } });
      return result;
    } catch (error) {
      const reason = error instanceof ApiError ? error.id : error instanceof InvalidInput ? 'invalid_input' : 'error';
      const tenantId = actor.kind === 'user' ? actor.user.tenant_id : null;
      await this.deps.audit.record({ ...base, outcome: 'failure', tenantId, partnerId: await this.partnerOf(tenantId), resource: target, details: { actor: actorSummary(actor), reason } });
      throw error;
    }
  }
}
