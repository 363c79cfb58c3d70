import type { Collection, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';
import { isDuplicateKey } from './duplicate-key.ts';

export type FlowKind = 'identify' | 'mfa' | 'verify_email' | 'password_reset';

export interface FlowDoc {
  _id: ObjectId;
  token_hash: string;
  kind: FlowKind;
  email_normalized: string | null;
  user_id: ObjectId | null;
  tenant_id: ObjectId | null;
  /** Which API started the flow: the portal or a tenant's hosted page. */
  channel: 'portal' | 'tenant' | 'admin';
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

/** Reads and guarded writes of `flows`: each state change is one conditional update. */
export class FlowStore {
  constructor(private readonly collection: Collection<FlowDoc>) {}

  /** Throws the driver's duplicate-key error (code 11000) when the token hash exists already. */
  async insert(flow: FlowDoc): Promise<void> {
    await this.collection.insertOne(flow);
  }

  /** The flow of this kind if unconsumed, unexpired at `now` and below `maxFailures` failures. */
  findLive(kind: FlowKind, tokenHash: string, now: Date, maxFailures: number): Promise<FlowDoc | null> {
    return this.collection.findOne({
      token_hash: tokenHash,
      kind,
      consumed_at: null,
      expires_at: { $gt: now },
      failed_attempts: { $lt: maxFailures },
    });
  }

  /** The flow by id, in any state (its reader checks liveness). */
  findById(id: ObjectId): Promise<FlowDoc | null> {
    return this.collection.findOne({ _id: id });
  }

  /**
   * `consume` for a flow that may not be stored yet (identify flows are written only when first
   * answered): inserts it consumed, or consumes the stored one if live. Exactly one caller wins;
   * a losing insert's duplicate key is a loss, not an error.
   */
  async consumeOrInsert(flow: FlowDoc, now: Date, maxFailures: number): Promise<boolean> {
    const { _id, consumed_at: _consumed, failed_attempts: _failures, expires_at, ...rest } = flow;
    try {
      const result = await this.collection.updateOne(
        { _id, consumed_at: null, expires_at: { $gt: now }, failed_attempts: { $lt: maxFailures } },
        { $set: { consumed_at: now }, $setOnInsert: { ...rest, expires_at, failed_attempts: 0 } },
        { upsert: true },
      );
      return result.modifiedCount === 1 || result.upsertedCount === 1;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** `recordFailure` for a flow that may not be stored yet: stores it with one failure. */
  async recordFailureOrInsert(flow: FlowDoc): Promise<void> {
    const { _id, consumed_at: _consumed, failed_attempts: _failures, ...rest } = flow;
    try {
      await this.collection.updateOne({ _id, consumed_at: null }, { $inc: { failed_attempts: 1 }, $setOnInsert: rest }, { upsert: true });
    } catch (error) {
      // Consumed meanwhile: nothing left to count on.
      if (!isDuplicateKey(error)) throw error;
    }
  }

  /** Marks a live flow consumed; of concurrent calls exactly one gets true. */
  async consume(id: ObjectId, now: Date, maxFailures: number): Promise<boolean> {
    const result = await this.collection.updateOne(
      { _id: id, consumed_at: null, expires_at: { $gt: now }, failed_attempts: { $lt: maxFailures } },
      { $set: { consumed_at: now } },
    );
    return result.modifiedCount === 1;
  }

  /**
   * Undoes the consumption made at `consumedAt` and counts a wrong answer, in one update: a flow
   * claimed to check an answer that turned out wrong. False when it was not consumed at that time.
   */
  async reopenWithFailure(id: ObjectId, consumedAt: Date): Promise<boolean> {
    const result = await this.collection.updateOne({ _id: id, consumed_at: consumedAt }, { $set: { consumed_at: null }, $inc: { failed_attempts: 1 } });
    return result.modifiedCount === 1;
  }

  /** Counts a wrong answer on an unconsumed flow; false when it is consumed or unknown. */
  async recordFailure(id: ObjectId): Promise<boolean> {
    const result = await this.collection.updateOne({ _id: id, consumed_at: null }, { $inc: { failed_attempts: 1 } });
    return result.modifiedCount === 1;
  }

  /**
   * Stores a new email code on an unconsumed flow, only if the last one was sent at or before
   * `resendNotAfter` (or never) and fewer than `maxCodes` were sent: rate limit and write in one update.
   */
  async recordEmailCode(id: ObjectId, code: { hash: string; expiresAt: Date; now: Date; resendNotAfter: Date; maxCodes: number }): Promise<boolean> {
    const result = await this.collection.updateOne(
      {
        _id: id,
        consumed_at: null,
        $and: [
          { $or: [{ email_code_sent_at: null }, { email_code_sent_at: { $exists: false } }, { email_code_sent_at: { $lte: code.resendNotAfter } }] },
          { $or: [{ email_codes_sent: { $exists: false } }, { email_codes_sent: { $lt: code.maxCodes } }] },
        ],
      },
      {
        $set: { email_code_hash: code.hash, email_code_expires_at: code.expiresAt, email_code_sent_at: code.now },
        $inc: { email_codes_sent: 1 },
      },
    );
    return result.modifiedCount === 1;
  }

  /** Counts one WebAuthn challenge on an unconsumed flow below `max`; false when the budget is spent. */
  async countWebAuthnChallenge(id: ObjectId, max: number): Promise<boolean> {
    const result = await this.collection.updateOne(
      { _id: id, consumed_at: null, $or: [{ webauthn_challenges: { $exists: false } }, { webauthn_challenges: { $lt: max } }] },
      { $inc: { webauthn_challenges: 1 } },
    );
    return result.matchedCount === 1;
  }
}
