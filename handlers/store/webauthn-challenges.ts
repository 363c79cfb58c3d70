import type { ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

/** A WebAuthn challenge: single-use, bound to a user and to an MFA flow or a session. */
export interface WebAuthnChallengeDoc {
  _id: ObjectId;
  tenant_id: ObjectId;
  user_id: ObjectId;
  purpose: 'registration' | 'authentication';
  challenge: string;
  /** The MFA flow an authentication challenge belongs to. */
  flow_id: ObjectId | null;
  /** The session a registration challenge belongs to. */
  session_id: ObjectId | null;
  rp_id: string;
  created_at: Date;
  expires_at: Date;
  consumed_at: Date | null;
}

/** `webauthn_challenges`: its indexes and expiry. */
export const webauthnChallengesCollection = defineCollection<WebAuthnChallengeDoc>({
  name: 'webauthn_challenges',
  indexes: [],
  expiry: { field: 'expires_at', marginSeconds: 3_600 },
});
