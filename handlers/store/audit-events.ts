import type { ObjectId } from 'mongodb';
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
