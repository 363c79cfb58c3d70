import { ObjectId } from 'mongodb';
import type { AuditEventDoc, AuditEventStore } from '../../store/audit-events.ts';
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
  constructor(private readonly events: AuditEventStore) {}

  async page(user: UserDoc, input: { limit: number; before: string | null | undefined }): Promise<{ events: SecurityEventView[]; next_before: string | null }> {
    let cursor: AuditEventDoc | null | undefined;
    if (input.before) {
      cursor = /^[0-9a-f]{24}$/i.test(input.before) ? await this.events.findForUser(user.tenant_id, user._id, new ObjectId(input.before)) : null;
      // Not one of the user's events (someone else's, or none): nothing is older than it for them.
      if (!cursor) return { events: [], next_before: null };
    }
    // One more than a page: its presence says whether there is a next page.
    const docs = await this.events.listForUser(user.tenant_id, user._id, input.limit + 1, cursor ?? undefined);
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
