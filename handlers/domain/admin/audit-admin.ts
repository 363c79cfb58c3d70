import type { ObjectId } from 'mongodb';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import { noSuchId, parsePublicId, tenantPublicId, userPublicId } from '../../core/public-ids.ts';
import { auditEntryPublicId, parseAuditEntryId } from '../../core/record-ids.ts';
import type { AuditActorMatch, AuditEventDoc, AuditEventStore, AuditQuery } from '../../store/audit-events.ts';
import { actionCatalogue, deriveResource, resourceTypeCatalogue } from '../audit/audit-actions.ts';
import { deriveActor } from '../audit/audit-log.ts';
import type { Tenants } from '../tenants/tenants.ts';
import { normaliseEmail, type Users } from '../users/users.ts';
import type { AdminActor } from './admin-access.ts';
import { narrowToPartner, tenantIdsInReach, tenantInReach } from './session-admin.ts';

/** An audit entry as the admin API shows it (entries written before actor/resource existed get them derived). */
export function auditEntryView(event: AuditEventDoc, partnerOfTenant: string | null) {
  const actor = event.actor ?? deriveActor(event);
  const resource = event.resource ?? deriveResource(event.type, { userPublicId: event.user_id ? userPublicId(event.user_id) : null, details: event.details ?? {} });
  const requestId = event.request_id ?? (typeof event.details?.['request_id'] === 'string' ? (event.details['request_id'] as string) : null);
  return {
    id: auditEntryPublicId(event._id),
    timestamp: event.created_at.toISOString(),
    action: event.type,
    result: event.outcome,
    actor: { id: actor.id, type: actor.type, email: actor.email ?? null },
    resource: { type: resource.type, id: resource.id },
    tenant_id: event.tenant_id ? tenantPublicId(event.tenant_id) : null,
    partner_id: event.partner_id ?? partnerOfTenant,
    ip_address: event.client_ip,
    user_agent: event.user_agent,
    request_id: requestId,
    details: jsonSafe(event.details ?? {}) as Record<string, unknown>,
  };
}

export type AuditEntryView = ReturnType<typeof auditEntryView>;

/** Details as plain JSON (ObjectIds as hex, dates as ISO text). */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? {}));
}

export interface AuditFilters {
  page: number;
  perPage: number;
  tenantId?: string | undefined;
  partnerId?: string | undefined;
  actorId?: string | undefined;
  actorEmail?: string | undefined;
  action?: string | undefined;
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  result?: string | undefined;
  startTime?: string | undefined;
  endTime?: string | undefined;
  ipAddress?: string | undefined;
}

/**
 * The Audit group of the admin API (docs §8.15): the append-only log, filtered and paged, one
 * entry, and the catalogues of actions and resource types. Reads only: nothing here (nor anywhere)
 * changes or deletes an entry. Super admins see all; partner admins their partner's tenants'
 * entries; tenant admins their tenant's; an entry outside the reach answers 404.
 */
export class AuditAdmin {
  constructor(private readonly deps: { events: AuditEventStore; tenants: Tenants; users: Users }) {}

  async list(actor: AdminActor, filters: AuditFilters) {
    const query: AuditQuery = {};
    let tenantIds = await tenantIdsInReach(this.deps.tenants, actor.reach);
    if (filters.partnerId !== undefined) tenantIds = await narrowToPartner(this.deps.tenants, tenantIds, filters.partnerId);
    if (tenantIds) query.tenantIds = tenantIds;
    if (filters.tenantId !== undefined) query.tenantId = parsePublicId('tenant', filters.tenantId) ?? noSuchId;
    const actors: AuditActorMatch[] = [];
    if (filters.actorId !== undefined) {
      const userId = parsePublicId('user', filters.actorId);
      actors.push(userId ? { ids: [userPublicId(userId)], legacyUserIds: [userId] } : { ids: [filters.actorId], legacyUserIds: [] });
    }
    if (filters.actorEmail !== undefined) {
      const email = normaliseEmail(filters.actorEmail);
      const users = await this.deps.users.findLiveByEmail(email);
      actors.push({ ids: users.map((u) => userPublicId(u._id)), legacyUserIds: users.map((u) => u._id), email });
    }
    if (actors.length) query.actors = actors;
    if (filters.action !== undefined) query.type = filters.action;
    if (filters.resourceType !== undefined) query.resourceType = filters.resourceType;
    if (filters.resourceId !== undefined) query.resourceId = filters.resourceId;
    if (filters.result !== undefined) query.outcome = filters.result === 'failure' ? 'failure' : 'success';
    if (filters.startTime !== undefined) query.from = new Date(filters.startTime);
    if (filters.endTime !== undefined) query.until = new Date(filters.endTime);
    if (query.from && query.until && query.from > query.until) throw new InvalidInput({ field: 'end_time', reason: 'end_time must not be before start_time' });
    if (filters.ipAddress !== undefined) query.clientIp = filters.ipAddress;
    const { items, total } = await this.deps.events.list(query, { skip: (filters.page - 1) * filters.perPage, limit: filters.perPage });
    const partners = await this.partnersOf(items.map((e) => e.tenant_id));
    return { items: items.map((e) => auditEntryView(e, e.tenant_id ? (partners.get(e.tenant_id.toHexString()) ?? null) : null)), total, page: filters.page, per_page: filters.perPage };
  }

  async get(actor: AdminActor, id: string): Promise<AuditEntryView> {
    const entryId = parseAuditEntryId(id);
    const event = entryId ? await this.deps.events.findById(entryId) : null;
    if (!event || !(await tenantInReach(this.deps.tenants, actor.reach, event.tenant_id))) throw new ApiError('notFound');
    const partners = await this.partnersOf([event.tenant_id]);
    return auditEntryView(event, event.tenant_id ? (partners.get(event.tenant_id.toHexString()) ?? null) : null);
  }

  actions() {
    const items = actionCatalogue();
    return { items, total: items.length };
  }

  resourceTypes() {
    const items = resourceTypeCatalogue();
    return { items, total: items.length };
  }

  /** The current partner of each tenant named, in one read. */
  private async partnersOf(ids: Array<ObjectId | null>): Promise<Map<string, string | null>> {
    const distinct = [...new Map(ids.filter((id): id is ObjectId => id !== null).map((id) => [id.toHexString(), id])).values()];
    if (distinct.length === 0) return new Map();
    const tenants = await this.deps.tenants.findActiveByIds(distinct);
    return new Map(tenants.map((t) => [t._id.toHexString(), t.partner_id ?? null]));
  }
}
