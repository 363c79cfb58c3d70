import { ObjectId } from 'mongodb';
import type { WebAuthnChallengeBinding, WebAuthnChallengeDoc, WebAuthnChallengeStore } from '../../store/webauthn-challenges.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';

/**
 * WebAuthn challenges: random, stored with what they are bound to (user, purpose, and the MFA
 * flow or the session), consumed by one atomic conditional update, so each works once, whether
 * the answer to it verifies or not.
 */
export class WebAuthnChallenges {
  constructor(
    private readonly challenges: WebAuthnChallengeStore,
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
    await this.challenges.insert(doc);
    return doc;
  }

  /** The live challenge matching the binding, marked used; null when unknown, used, expired or bound elsewhere. */
  async consume(
    challengeId: string | null | undefined,
    binding: WebAuthnChallengeBinding,
  ): Promise<WebAuthnChallengeDoc | null> {
    if (!challengeId || !/^[0-9a-f]{24}$/i.test(challengeId)) return null;
    return this.challenges.consume(new ObjectId(challengeId), binding, this.clock.now());
  }
}
