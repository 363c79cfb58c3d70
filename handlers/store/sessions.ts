import type { ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

export interface SessionDoc {
  _id: ObjectId;
  tenant_id: ObjectId;
  user_id: ObjectId;
  remember_me: boolean;
  /** Authentication methods used, e.g. ["pwd"] or ["pwd", "otp"]. */
  amr: string[];
  client_ip: string;
  user_agent: string;
  created_at: Date;
  last_seen_at: Date;
  idle_expires_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

/** `sessions`: its indexes and expiry. */
export const sessionsCollection = defineCollection<SessionDoc>({
  name: 'sessions',
  indexes: [{ key: { tenant_id: 1, user_id: 1 }, name: 'tenant_user' }],
  expiry: { field: 'absolute_expires_at', marginSeconds: 86_400 },
});
