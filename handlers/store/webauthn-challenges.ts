import type { Collection, ObjectId } from 'mongodb';
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

/** What a challenge must be bound to for it to be consumed. */
export interface WebAuthnChallengeBinding {
  userId: ObjectId;
  tenantId: ObjectId;
  purpose: WebAuthnChallengeDoc['purpose'];
  flowId?: ObjectId;
  sessionId?: ObjectId;
}

/** Reads and guarded writes of `webauthn_challenges`. */
export class WebAuthnChallengeStore {
  constructor(private readonly collection: Collection<WebAuthnChallengeDoc>) {}

  async insert(challenge: WebAuthnChallengeDoc): Promise<void> {
    await this.collection.insertOne(challenge);
  }

  /**
   * Marks the challenge consumed if it matches the binding and is unconsumed and unexpired at
   * `now`; returns it as it was before (so exactly one concurrent caller gets it), else null.
   */
  consume(id: ObjectId, binding: WebAuthnChallengeBinding, now: Date): Promise<WebAuthnChallengeDoc | null> {
    return this.collection.findOneAndUpdate(
      {
        _id: id,
        user_id: binding.userId,
        tenant_id: binding.tenantId,
        purpose: binding.purpose,
        ...(binding.flowId ? { flow_id: binding.flowId } : {}),
        ...(binding.sessionId ? { session_id: binding.sessionId } : {}),
        consumed_at: null,
        expires_at: { $gt: now },
      },
      { $set: { consumed_at: now } },
    );
  }
}
