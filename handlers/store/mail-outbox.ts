import type { ObjectId } from 'mongodb';
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
