import { ObjectId } from 'mongodb';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.ts';
import type { MailOutboxDoc, MailOutboxStore, MailStatus } from '../../store/mail-outbox.ts';
import type { Mailer, MailRequest, MailTemplate } from './mailer.ts';
import { render } from './templates.ts';

export type { MailOutboxDoc, MailStatus };

export interface OutboxMailerOptions {
  outbox: MailOutboxStore;
  clock: Clock;
  logger: Logger;
  /** RFC 5322 sender, e.g. `ScaiKey <no-reply@example.com>` (MAIL_FROM). */
  from: string;
  /** Called after a message is recorded, e.g. `() => delivery.kick()`. Must not throw. */
  onQueued?: () => void;
}

/**
 * The Mailer the domain uses: renders the template and records the message in `mail_outbox`
 * with one insert. Delivery (network, retries) is MailDelivery's job, in the background.
 *
 * `send` never rejects: a message that cannot be recorded is logged at error level (without
 * its body) and dropped, so mail never fails the request that asked for it, and a response
 * never differs because a message was or was not sent.
 */
export class OutboxMailer implements Mailer {
  constructor(private readonly options: OutboxMailerOptions) {}

  async send<T extends MailTemplate>(request: MailRequest<T>): Promise<void> {
    const { logger, clock, from } = this.options;
    try {
      const rendered = render(request.template, request.locale, request.data);
      const now = clock.now();
      const doc: MailOutboxDoc = {
        _id: new ObjectId(),
        to: request.to,
        from,
        template: request.template,
        locale: rendered.locale,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        claimed_until: new Date(0),
        claim_id: null,
        last_error: null,
        created_at: now,
        sent_at: null,
        failed_at: null,
      };
      await this.options.outbox.insert(doc);
      logger.debug({ mail_id: doc._id.toHexString(), template: doc.template, locale: doc.locale }, 'mail queued');
    } catch (error) {
      logger.error(
        { template: request.template, error: error instanceof Error ? error.message : String(error) },
        'mail could not be queued; message dropped',
      );
      return;
    }
    try {
      this.options.onQueued?.();
    } catch {
      // a kick is only a hint; the delivery loop polls anyway
    }
  }
}
