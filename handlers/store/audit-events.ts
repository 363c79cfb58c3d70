import type { Collection, Filter, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

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
}

/** `audit_events`: its indexes. */
export const auditEventsCollection = defineCollection<AuditEventDoc>({
  name: 'audit_events',
  indexes: [{ key: { tenant_id: 1, user_id: 1, created_at: -1 }, name: 'tenant_user_time' }],
});

/** Writes and the subject's keyset-paged reads of `audit_events`. */
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
}
