import { ObjectId, type Filter } from 'mongodb';
import type { Database } from '../../store/database.ts';
import type { AuditEventDoc } from '../../store/audit-events.ts';
import type { UserDoc } from '../../store/users.ts';

export interface SecurityEventView {
  id: string;
  type: string;
  outcome: 'success' | 'failure';
  client_ip: string;
  user_agent: string;
  details: Record<string, unknown>;
  created_at: string;
}

/** The audit log as its subject sees it: their own events, newest first, in keyset-paged pages. */
export class SecurityEvents {
  constructor(private readonly database: Database) {}

  async page(user: UserDoc, input: { limit: number; before: string | null | undefined }): Promise<{ events: SecurityEventView[]; next_before: string | null }> {
    const own: Filter<AuditEventDoc> = { tenant_id: user.tenant_id, user_id: user._id };
    let filter: Filter<AuditEventDoc> = own;
    if (input.before) {
      const cursor = /^[0-9a-f]{24}$/i.test(input.before) ? await this.database.auditEvents.findOne({ ...own, _id: new ObjectId(input.before) }) : null;
      // Not one of the user's events (someone else's, or none): nothing is older than it for them.
      if (!cursor) return { events: [], next_before: null };
      filter = { ...own, $or: [{ created_at: { $lt: cursor.created_at } }, { created_at: cursor.created_at, _id: { $lt: cursor._id } }] };
    }
    const docs = await this.database.auditEvents.find(filter).sort({ created_at: -1, _id: -1 }).limit(input.limit + 1).toArray();
    const page = docs.slice(0, input.limit);
    return {
      events: page.map((e) => ({
        id: e._id.toHexString(),
        type: e.type,
        outcome: e.outcome,
        client_ip: e.client_ip,
        user_agent: e.user_agent,
        details: e.details ?? {},
        created_at: e.created_at.toISOString(),
      })),
      next_before: docs.length > input.limit ? page[page.length - 1]!._id.toHexString() : null,
    };
  }
}
