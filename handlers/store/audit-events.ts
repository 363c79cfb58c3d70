import type { Collection, Filter, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

/** Who acted, as an entry records it: a user (`usr_…`), an admin, an OAuth client (its client_id) or the system. */
export interface AuditActorDoc {
  type: 'user' | 'admin' | 'client' | 'system';
  id: string | null;
  email?: string | null;
}

/** What an entry is about: a resource type from the audit catalogue and its public id. */
export interface AuditResourceDoc {
  type: string | null;
  id: string | null;
}

export interface AuditEventDoc {
  _id: ObjectId;
  tenant_id: ObjectId | null;
  user_id: ObjectId | null;
  type: string;
  outcome: 'success' | 'failure';
  client_ip: string;
  user_agent: string;
  details: Record<string, unknown>;
  created_at: Date;
  /** Absent on entries written before the admin audit API (their view derives it). */
  actor?: AuditActorDoc;
  resource?: AuditResourceDoc;
  partner_id?: string | null;
  request_id?: string | null;
}

/** `audit_events`: its indexes (the subject's own reads, and the admin API's filters, newest first). */
export const auditEventsCollection = defineCollection<AuditEventDoc>({
  name: 'audit_events',
  indexes: [
    { key: { tenant_id: 1, user_id: 1, created_at: -1 }, name: 'tenant_user_time' },
    { key: { created_at: -1, _id: -1 }, name: 'time' },
    { key: { tenant_id: 1, created_at: -1 }, name: 'tenant_time' },
    { key: { 'actor.id': 1, created_at: -1 }, name: 'actor_time' },
    { key: { type: 1, created_at: -1 }, name: 'type_time' },
    { key: { 'resource.type': 1, 'resource.id': 1, created_at: -1 }, name: 'resource_time' },
    { key: { client_ip: 1, created_at: -1 }, name: 'ip_time' },
  ],
});

export interface AuditActorMatch {
  ids: string[];
  legacyUserIds: ObjectId[];
  email?: string;
}

/** Filters of the admin API's list; every given one must hold. */
export interface AuditQuery {
  /** Only these tenants' entries (a caller's reach, a partner): entries without a tenant never match. */
  tenantIds?: ObjectId[];
  tenantId?: ObjectId;
  /** Each must hold: the actor is one of `ids`, or has `email`, or (entries written before `actor` existed) is one of `legacyUserIds`. */
  actors?: AuditActorMatch[];
  type?: string;
  resourceType?: string;
  resourceId?: string;
  outcome?: 'success' | 'failure';
  from?: Date;
  until?: Date;
  clientIp?: string;
}

/**
 * Writes and reads of `audit_events`. Append-only: there is no update or delete here, and none
 * may be added (an entry, once written, stays as written until the collection is dropped).
 */
export class AuditEventStore {
  constructor(private readonly events: Collection<AuditEventDoc>) {}

  async insert(event: AuditEventDoc): Promise<void> {
    await this.events.insertOne(event);
  }

  /** One of this user's events, or null (someone else's events are not theirs to see). */
  findForUser(tenantId: ObjectId, userId: ObjectId, id: ObjectId): Promise<AuditEventDoc | null> {
    return this.events.findOne({ tenant_id: tenantId, user_id: userId, _id: id });
  }

  /**
   * This user's events newest first (ties broken by `_id`), at most `limit`; with `before`, only
   * those strictly older than that event in the same order, so pages never skip or repeat.
   */
  listForUser(tenantId: ObjectId, userId: ObjectId, limit: number, before?: Pick<AuditEventDoc, '_id' | 'created_at'>): Promise<AuditEventDoc[]> {
    const own: Filter<AuditEventDoc> = { tenant_id: tenantId, user_id: userId };
    const filter: Filter<AuditEventDoc> = before
      ? { ...own, $or: [{ created_at: { $lt: before.created_at } }, { created_at: before.created_at, _id: { $lt: before._id } }] }
      : own;
    return this.events.find(filter).sort({ created_at: -1, _id: -1 }).limit(limit).toArray();
  }

  /** A page of the user's events, newest first, with the total (the admin API's offset pages). */
  async pageForUser(tenantId: ObjectId, userId: ObjectId, skip: number, limit: number): Promise<{ items: AuditEventDoc[]; total: number }> {
    const filter: Filter<AuditEventDoc> = { tenant_id: tenantId, user_id: userId };
    const [items, total] = await Promise.all([
      this.events.find(filter).sort({ created_at: -1, _id: -1 }).skip(skip).limit(limit).toArray(),
      this.events.countDocuments(filter),
    ]);
    return { items, total };
  }

  // --- The admin audit API (issue 17) -------------------------------------------------------------

  findById(id: ObjectId): Promise<AuditEventDoc | null> {
    return this.events.findOne({ _id: id });
  }

  /** Entries matching every filter, newest first (ties by `_id`), with their total. */
  async list(query: AuditQuery, page: { skip: number; limit: number }): Promise<{ items: AuditEventDoc[]; total: number }> {
    const and: Filter<AuditEventDoc>[] = [];
    if (query.tenantIds) and.push({ tenant_id: { $in: query.tenantIds } });
    if (query.tenantId) and.push({ tenant_id: query.tenantId });
    for (const match of query.actors ?? []) {
      const actor: Filter<AuditEventDoc>[] = [{ 'actor.id': { $in: match.ids } }];
      if (match.email !== undefined) actor.push({ 'actor.email': match.email });
      if (match.legacyUserIds.length) actor.push({ actor: { $exists: false }, user_id: { $in: match.legacyUserIds } });
      and.push(actor.length === 1 ? actor[0]! : { $or: actor });
    }
    if (query.type !== undefined) and.push({ type: query.type });
    if (query.resourceType !== undefined) and.push({ 'resource.type': query.resourceType });
    if (query.resourceId !== undefined) and.push({ 'resource.id': query.resourceId });
    if (query.outcome !== undefined) and.push({ outcome: query.outcome });
    if (query.from || query.until) and.push({ created_at: { ...(query.from ? { $gte: query.from } : {}), ...(query.until ? { $lt: query.until } : {}) } });
    if (query.clientIp !== undefined) and.push({ client_ip: query.clientIp });
    const filter: Filter<AuditEventDoc> = and.length === 0 ? {} : and.length === 1 ? and[0]! : { $and: and };
    const [items, total] = await Promise.all([
      this.events.find(filter).sort({ created_at: -1, _id: -1 }).skip(page.skip).limit(page.limit).toArray(),
      this.events.countDocuments(filter),
    ]);
    return { items, total };
  }
}
