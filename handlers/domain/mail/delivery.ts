import { randomUUID } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createTransport } from 'nodemailer';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.ts';
import type { MailOutboxStore } from '../../store/mail-outbox.ts';
import { OutboxMailer, type MailOutboxDoc } from './outbox-mailer.ts';

/** What a transport gets: a rendered message and a stable id (used for the Message-ID). */
export interface OutgoingMail {
  id: string;
  from: string;
  to: string;
  /** Content-Language, e.g. `de`. */
  locale: string;
  subject: string;
  text: string;
  html: string;
}

export interface MailTransport {
  /** `smtp` or `dev-outbox`. */
  readonly kind: string;
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** The domain part of the sender address, for Message-IDs: `<id@domain>`. */
function messageIdFor(mail: OutgoingMail): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(mail.from)?.[1] ?? 'scaikey.invalid';
  return `<${mail.id}@${domain}>`;
}

function nodemailerMessage(mail: OutgoingMail) {
  return {
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: messageIdFor(mail),
    headers: { 'Content-Language': mail.locale, 'Auto-Submitted': 'auto-generated' },
  };
}

/**
 * SMTP through nodemailer, configured by URL (`smtp://user:pass@host:587`, `smtps://…:465`;
 * nodemailer's URL query options such as `?pool=true` apply). Timeouts are kept well below the
 * delivery lease so a hung server cannot make two replicas send the same message.
 */
export function smtpTransport(url: string): MailTransport {
  const transporter = createTransport({
    url,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
    logger: false,
    debug: false,
  });
  return {
    kind: 'smtp',
    async send(mail) {
      await transporter.sendMail(nodemailerMessage(mail));
    },
    close() {
      transporter.close();
    },
  };
}

/**
 * The embedded default: every message becomes an `.eml` file (RFC 822, opens in any mail
 * client) in `dir`, plus one log line naming the file. The log line never holds the body, whose
 * links and codes are secrets; read them from the file.
 */
export function devOutboxTransport(dir: string, logger: Logger): MailTransport {
  const transporter = createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const absolute = resolve(dir);
  return {
    kind: 'dev-outbox',
    async send(mail) {
      const info = await transporter.sendMail(nodemailerMessage(mail));
      if (!Buffer.isBuffer(info.message)) throw new Error('dev outbox: expected a buffered message');
      await mkdir(absolute, { recursive: true, mode: 0o700 });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const file = join(absolute, `${stamp}-${mail.id}.eml`);
      await writeFile(file, info.message, { mode: 0o600 });
      await chmod(file, 0o600).catch(() => undefined);
      logger.info({ to: mail.to, subject: mail.subject, file }, `mail (dev outbox): to=${mail.to} subject=${mail.subject} file=${file}`);
    },
    close() {
      transporter.close();
    },
  };
}

export interface MailDeliveryOptions {
  outbox: MailOutboxStore;
  clock: Clock;
  logger: Logger;
  transport: MailTransport;
  /** Delay before attempt n+1 after n failed attempts, in seconds. */
  backoffSeconds?: readonly number[];
  /** Attempts before a message is marked `failed`. */
  maxAttempts?: number;
  /** How long a claimed message is reserved for this sender. Must exceed the transport's timeouts. */
  leaseSeconds?: number;
  /** How often the background loop looks for due messages (other replicas' mail, retries). */
  pollIntervalMs?: number;
}

export const defaultBackoffSeconds = [5, 30, 120, 600, 3600] as const;
export const defaultMaxAttempts = 6;

export interface DeliveryStats {
  sent: number;
  retried: number;
  failed: number;
}

/**
 * Sends what OutboxMailer recorded. Each message is claimed with one atomic conditional update
 * (MailOutboxStore.claimDue: pending, due, not held by another sender), so several replicas can run this loop on
 * one database and each message goes out once. A failed attempt is retried with backoff; after
 * `maxAttempts` the message is marked `failed` and logged at error level (never with its body).
 */
export class MailDelivery {
  readonly stats: DeliveryStats = { sent: 0, retried: 0, failed: 0 };
  private readonly backoff: readonly number[];
  private readonly maxAttempts: number;
  private readonly leaseMs: number;
  private readonly pollIntervalMs: number;
  private readonly senderId = randomUUID();
  private started = false;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private active: Promise<number> | null = null;
  private queued: Promise<number> | null = null;

  constructor(private readonly options: MailDeliveryOptions) {
    this.backoff = options.backoffSeconds?.length ? options.backoffSeconds : defaultBackoffSeconds;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? defaultMaxAttempts);
    this.leaseMs = (options.leaseSeconds ?? 600) * 1000;
    this.pollIntervalMs = options.pollIntervalMs ?? 5000;
  }

  get transportKind(): string {
    return this.options.transport.kind;
  }

  /** Starts the background loop (an unref'd timer: it never keeps the process alive). */
  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    this.schedule(0);
  }

  /** Delivers promptly (e.g. right after a send) instead of waiting for the next poll. */
  kick(): void {
    if (!this.started || this.stopping) return;
    void this.runPass();
  }

  /**
   * Delivers everything that is due now, one message at a time, and resolves when nothing due
   * is left to claim (messages waiting for a later retry do not count). For tests and shutdown.
   */
  async drain(): Promise<void> {
    for (;;) {
      const delivered = await this.runPass();
      if (delivered === 0 && !this.active && !this.queued) return;
      if (this.stopping && !this.active && !this.queued) return;
    }
  }

  /** Stops the loop, waits for the message in flight, and closes the transport. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.queued;
    await this.active;
    this.options.transport.close();
  }

  private schedule(delayMs: number): void {
    if (!this.started || this.stopping) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runPass().finally(() => this.schedule(this.pollIntervalMs));
    }, delayMs);
    this.timer.unref();
  }

  /** One pass at a time per instance; a pass requested during one runs right after it. */
  private runPass(): Promise<number> {
    if (this.queued) return this.queued;
    if (this.active) {
      const queued = this.active.catch(() => 0).then(() => {
        this.queued = null;
        return this.runPass();
      });
      this.queued = queued;
      return queued;
    }
    const active = this.deliverDue().finally(() => {
      this.active = null;
    });
    this.active = active;
    return active;
  }

  private async deliverDue(): Promise<number> {
    let delivered = 0;
    try {
      delivered = await this.deliverEach();
    } catch (error) {
      this.options.logger.error({ error: errorText(error) }, 'mail delivery: pass aborted');
    }
    return delivered;
  }

  private async deliverEach(): Promise<number> {
    let delivered = 0;
    while (!this.stopping) {
      let doc: MailOutboxDoc | null;
      try {
        doc = await this.claim();
      } catch (error) {
        this.options.logger.warn({ error: errorText(error) }, 'mail delivery: could not read the outbox');
        break;
      }
      if (!doc) break;
      await this.deliver(doc);
      delivered += 1;
    }
    return delivered;
  }

  private claim(): Promise<MailOutboxDoc | null> {
    const now = this.options.clock.now();
    return this.options.outbox.claimDue(now, new Date(now.getTime() + this.leaseMs), `${this.senderId}:${randomUUID()}`);
  }

  private async deliver(doc: MailOutboxDoc): Promise<void> {
    const { logger, transport, clock, outbox } = this.options;
    const ref = { mail_id: doc._id.toHexString(), template: doc.template, to: doc.to, attempts: doc.attempts };
    try {
      if (doc.text === null || doc.html === null) throw new Error('message body missing');
      await transport.send({ id: ref.mail_id, from: doc.from, to: doc.to, locale: doc.locale, subject: doc.subject, text: doc.text, html: doc.html });
    } catch (error) {
      const lastError = errorText(error);
      const now = clock.now();
      try {
        if (doc.attempts >= this.maxAttempts) {
          await outbox.markFailed(doc._id, doc.claim_id, now, lastError);
          this.stats.failed += 1;
          logger.error({ ...ref, error: lastError }, 'mail delivery failed; giving up');
        } else {
          const delay = this.backoff[Math.min(doc.attempts - 1, this.backoff.length - 1)] ?? 60;
          const next = new Date(now.getTime() + delay * 1000);
          await outbox.scheduleRetry(doc._id, doc.claim_id, next, lastError);
          this.stats.retried += 1;
          logger.warn({ ...ref, error: lastError, next_attempt_at: next.toISOString() }, 'mail delivery failed; will retry');
        }
      } catch (updateError) {
        // The lease runs out and another pass retries; nothing else to do.
        logger.warn({ ...ref, error: errorText(updateError) }, 'mail delivery: could not record the failed attempt');
      }
      return;
    }
    try {
      const stillMine = await outbox.markSent(doc._id, doc.claim_id, clock.now());
      if (!stillMine) logger.warn(ref, 'mail sent after its claim ran out; it may be sent twice');
    } catch (error) {
      logger.error({ ...ref, error: errorText(error) }, 'mail sent but not marked sent; it may be sent again');
    }
    this.stats.sent += 1;
    logger.info(ref, 'mail sent');
  }
}

/** An error's message, short, never the error object (nodemailer errors can carry the envelope). */
function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

export interface MailSystemOptions {
  outbox: MailOutboxStore;
  clock: Clock;
  logger: Logger;
  /** SMTP_URL; when unset, mail goes to the dev outbox. */
  smtpUrl?: string | undefined;
  /** MAIL_FROM. */
  from: string;
  /** Dev outbox directory (default `.data/outbox`); ignored when smtpUrl is set. */
  outboxDir?: string | undefined;
  /** Overrides for backoff, attempts, lease and poll interval (tests). */
  delivery?: Omit<MailDeliveryOptions, 'outbox' | 'clock' | 'logger' | 'transport'>;
}

export interface MailSystem {
  mailer: OutboxMailer;
  delivery: MailDelivery;
  /** One line for the start-up log: where mail goes. Never holds credentials. */
  describe: string;
  /** True when no SMTP is configured and mail only reaches the dev outbox. */
  devOutbox: boolean;
}

export const defaultOutboxDir = '.data/outbox';

/**
 * Wires the mail subsystem: an OutboxMailer whose sends kick a MailDelivery over SMTP (when
 * smtpUrl is set) or the dev outbox. The caller calls `delivery.start()` once the database is
 * ready and `await delivery.stop()` on shutdown.
 */
export function createMailSystem(options: MailSystemOptions): MailSystem {
  const { outbox, clock, logger, smtpUrl, from } = options;
  let transport: MailTransport;
  let describe: string;
  if (smtpUrl) {
    transport = smtpTransport(smtpUrl);
    describe = `mail: SMTP ${describeSmtpUrl(smtpUrl)}`;
  } else {
    const dir = resolve(options.outboxDir ?? defaultOutboxDir);
    transport = devOutboxTransport(dir, logger);
    describe = `mail: dev outbox at ${dir}, no SMTP configured (set SMTP_URL to send mail)`;
  }
  const delivery = new MailDelivery({ ...options.delivery, outbox, clock, logger, transport });
  const mailer = new OutboxMailer({ outbox, clock, logger, from, onQueued: () => delivery.kick() });
  return { mailer, delivery, describe, devOutbox: !smtpUrl };
}

/** `smtp://host:port`, with the default port filled in and user, password and query dropped. */
export function describeSmtpUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const scheme = parsed.protocol.replace(/:$/, '');
    const port = parsed.port || (scheme === 'smtps' ? '465' : '587');
    const auth = parsed.username || parsed.password ? ' (with credentials)' : '';
    return `${scheme}://${parsed.hostname}:${port}${auth}`;
  } catch {
    return '(unparseable SMTP_URL)';
  }
}
