import type { ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

export type FlowKind = 'identify' | 'mfa' | 'verify_email' | 'password_reset';

export interface FlowDoc {
  _id: ObjectId;
  token_hash: string;
  kind: FlowKind;
  email_normalized: string | null;
  user_id: ObjectId | null;
  tenant_id: ObjectId | null;
  /** Which API started the flow: the portal or a tenant's hosted page. */
  channel: 'portal' | 'tenant';
  remember_me: boolean;
  redirect_uri: string | null;
  failed_attempts: number;
  created_at: Date;
  expires_at: Date;
  consumed_at: Date | null;
  /** MFA by email: HMAC of the current code and when it stops working. */
  email_code_hash?: string | null;
  email_code_expires_at?: Date | null;
  email_codes_sent?: number;
  email_code_sent_at?: Date | null;
  /** WebAuthn challenges issued for this MFA flow (bounded). */
  webauthn_challenges?: number;
}

/** `flows`: its indexes and expiry. */
export const flowsCollection = defineCollection<FlowDoc>({
  name: 'flows',
  indexes: [{ key: { token_hash: 1 }, name: 'token_hash_unique', unique: true }],
  expiry: { field: 'expires_at', marginSeconds: 3_600 },
});
