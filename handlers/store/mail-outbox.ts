import type { Collection, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

export type MailStatus = 'pending' | 'sent' | 'failed';

/**
 * One message waiting for, or done with, delivery. `text` and `html` hold the link or code the
 * message carries, so they are cleared (set to null) once the message is sent or given up on.
 */
export interface MailOutboxDoc {
  _id: ObjectId;
  to: string;
  from: string;
  /** The template's name (the domain's MailTemplate). */
  template: string;
  /** The translation used, e.g. `de` for a user whose locale is `de-AT`. */
  locale: string;
  subject: string;
  text: string | null;
  html: string | null;
  status: MailStatus;
  /** Delivery attempts started so far (counted when a sender claims the message). */
  attempts: number;
  next_attempt_at: Date;
  /** A sender holds the message until this time; another may take it over afterwards. */
  claimed_until: Date;
  claim_id: string | null;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
  failed_at: Date | null;
}

/** `mail_outbox`: its indexes (sent bodies are purged by the sweeper, see MailOutboxStore). */
export const mailOutboxCollection = defineCollection<MailOutboxDoc>({
  name: 'mail_outbox',
  indexes: [
    { key: { status: 1, next_attempt_at: 1 }, name: 'due' },
    { key: { created_at: 1 }, name: 'created' },
  ],
});

/**
 * Reads and guarded writes of `mail_outbox`. A sender claims a due message with one atomic update
 * and records the outcome only while its claim (`claim_id`) still holds.
 */
export class MailOutboxStore {
  constructor(private readonly collection: Collection<MailOutboxDoc>) {}

  async insert(message: MailOutboxDoc): Promise<void> {
    await this.collection.insertOne(message);
  }

  /**
   * The pending message due longest, not held by another sender at `now`, now held under
   * `claimId` until `claimedUntil` with one more attempt counted (the document after the update).
   */
  claimDue(now: Date, claimedUntil: Date, claimId: string): Promise<MailOutboxDoc | null> {
    return this.collection.findOneAndUpdate(
      { status: 'pending', next_attempt_at: { $lte: now }, claimed_until: { $lt: now } },
      { $set: { claimed_until: claimedUntil, claim_id: claimId }, $inc: { attempts: 1 } },
      { sort: { next_attempt_at: 1 }, returnDocument: 'after' },
    );
  }

  /** Marks the message sent and clears its body; false when the claim was lost. */
  async markSent(id: ObjectId, claimId: string | null, now: Date): Promise<boolean> {
    const result = await this.collection.updateOne(
      { _id: id, claim_id: claimId },
      { $set: { status: 'sent', sent_at: now, claimed_until: new Date(0), last_error: null, text: null, html: null } },
    );
    return result.matchedCount === 1;
  }

  /** Gives the message up (failed, body cleared); false when the claim was lost. */
  async markFailed(id: ObjectId, claimId: string | null, now: Date, lastError: string): Promise<boolean> {
    const result = await this.collection.updateOne(
      { _id: id, claim_id: claimId },
      { $set: { status: 'failed', failed_at: now, last_error: lastError, claimed_until: new Date(0), text: null, html: null } },
    );
    return result.matchedCount === 1;
  }

  /** Releases the claim and makes the message due again at `nextAttemptAt`; false when the claim was lost. */
  async scheduleRetry(id: ObjectId, claimId: string | null, nextAttemptAt: Date, lastError: string): Promise<boolean> {
    const result = await this.collection.updateOne(
      { _id: id, claim_id: claimId },
      { $set: { next_attempt_at: nextAttemptAt, last_error: lastError, claimed_until: new Date(0) } },
    );
    return result.matchedCount === 1;
  }

  /** Housekeeping: removes sent and failed messages created before `before`. Returns the count. */
  async purge(before: Date): Promise<number> {
    const result = await this.collection.deleteMany({ status: { $in: ['sent', 'failed'] }, created_at: { $lt: before } });
    return result.deletedCount;
  }
}
