import { ObjectId } from 'mongodb';
import type { Database } from '../../store/database.ts';
import type { WebAuthnChallengeDoc } from '../../store/webauthn-challenges.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';

/**
 * WebAuthn challenges: random, stored with what they are bound to (user, purpose, and the MFA
 * flow or the session), consumed by one atomic conditional update, so each works once, whether
 * the answer to it verifies or not.
 */
export class WebAuthnChallenges {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
  ) {}

  async issue(fields: Omit<WebAuthnChallengeDoc, '_id' | 'created_at' | 'expires_at' | 'consumed_at'>, ttlSeconds: number, notAfter?: Date): Promise<WebAuthnChallengeDoc> {
    const now = this.clock.now();
    const expiry = addSeconds(now, ttlSeconds);
    const doc: WebAuthnChallengeDoc = {
      _id: new ObjectId(),
      ...fields,
      created_at: now,
      expires_at: notAfter && notAfter < expiry ? notAfter : expiry,
      consumed_at: null,
    };
    await this.database.webauthnChallenges.insertOne(doc);
    return doc;
  }

  /** The live challenge matching the binding, marked used; null when unknown, used, expired or bound elsewhere. */
  async consume(
    challengeId: string | null | undefined,
    binding: { userId: ObjectId; tenantId: ObjectId; purpose: WebAuthnChallengeDoc['purpose']; flowId?: ObjectId; sessionId?: ObjectId },
  ): Promise<WebAuthnChallengeDoc | null> {
    if (!challengeId || !/^[0-9a-f]{24}$/i.test(challengeId)) return null;
    const now = this.clock.now();
    return this.database.webauthnChallenges.findOneAndUpdate(
      {
        _id: new ObjectId(challengeId),
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
