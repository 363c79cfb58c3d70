// The mail subsystem end to end: OutboxMailer records, MailDelivery sends through a real SMTP
// server on loopback (or the dev outbox), retries with backoff on a controllable clock, and
// several deliverers on one database send each message once.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { simpleParser } from 'mailparser';
import type { Db } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../handlers/core/clock.ts';
import { createMailSystem, MailDelivery, smtpTransport, type MailTransport } from '../../handlers/domain/mail/delivery.ts';
import type { MailRequest, MailTemplate, MailTemplateData } from '../../handlers/domain/mail/mailer.ts';
import { OutboxMailer } from '../../handlers/domain/mail/outbox-mailer.ts';
import { MailOutboxStore, mailOutboxCollection, type MailOutboxDoc } from '../../handlers/store/mail-outbox.ts';
import { render, resolveLocale } from '../../handlers/domain/mail/templates.ts';
import { escapeHtml } from '../../handlers/core/text.ts';
import { createLogger } from '../../handlers/core/logger.ts';
import { connectTestDatabase, type TestDatabase } from '../support/database.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

const FROM = 'ScaiKey <no-reply@scaikey.test>';
const LINK = 'https://id.example.com/verify-email?token=tok_SECRET_LINK_123&tenant=acme';
const CODE = '493817';

function captureLogger(level = 'debug') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger(level, stream);
  return { logger, lines, text: () => lines.join(''), entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const samples: { [T in MailTemplate]: MailTemplateData[T] } = {
  verify_email: { name: 'Ada', link: LINK, expiresInMinutes: 60, tenantName: 'Acme' },
  password_reset: { name: null, link: 'https://id.example.com/reset?token=tok_RESET_456', expiresInMinutes: 30, tenantName: 'Acme' },
  invitation: { name: 'Ivy', link: 'https://id.example.com/reset?token=tok_INVITE_789', expiresInMinutes: 4320, tenantName: 'Acme' },
  mfa_email_code: { name: 'Ada', code: CODE, expiresInMinutes: 10, tenantName: 'Acme' },
  register_existing_account: {
    name: 'Ada',
    signInLink: 'https://id.example.com/login?tenant=acme',
    resetLink: 'https://id.example.com/forgot?tenant=acme',
    tenantName: 'Acme',
  },
  password_changed: { name: 'Ada', tenantName: 'Acme', when: '2024-05-01 10:00 UTC', clientIp: '203.0.113.7' },
  security_notice: { name: 'Ada', tenantName: 'Acme', event: 'totp_added', when: '2024-05-01 10:00 UTC', clientIp: '203.0.113.7' },
};
const templates = Object.keys(samples) as MailTemplate[];

function request<T extends MailTemplate>(template: T, to: string, locale: string | null = 'en', data?: Partial<MailTemplateData[T]>): MailRequest<T> {
  return { to, template, locale, data: { ...samples[template], ...data } as MailTemplateData[T] };
}

describe('templates', () => {
  it.each(templates.flatMap((t) => [[t, 'en'], [t, 'de']] as const))('%s (%s) renders subject, text and HTML', (template, locale) => {
    const mail = render(template, locale, samples[template]);
    expect(mail.locale).toBe(locale);
    expect(mail.subject).toContain('Acme');
    expect(mail.subject).not.toMatch(/\n/);
    expect(mail.text.length).toBeGreaterThan(50);
    expect(mail.html).toMatch(/^<!DOCTYPE html>/);
    expect(mail.html).toContain(`<html lang="${locale}">`);
    expect(mail.html).not.toMatch(/\bsrc=|url\(|<link|<script/i); // no external assets
    const data = samples[template] as Record<string, unknown>;
    for (const key of ['link', 'signInLink', 'resetLink'] as const) {
      const link = data[key];
      if (typeof link !== 'string') continue;
      expect(mail.text).toContain(link);
      expect(mail.html).toContain(`href="${escapeHtml(link)}"`);
    }
    if (template === 'mfa_email_code') {
      expect(mail.text).toContain(CODE);
      expect(mail.html).toContain(CODE);
      expect(mail.subject).not.toContain(CODE);
    }
  });

  it('picks the translation by primary language subtag and falls back to English', () => {
    expect(resolveLocale('de-AT')).toBe('de');
    expect(resolveLocale('DE_ch')).toBe('de');
    expect(resolveLocale('de')).toBe('de');
    expect(resolveLocale('fr-FR')).toBe('en');
    expect(resolveLocale('')).toBe('en');
    expect(resolveLocale(null)).toBe('en');
    expect(render('password_reset', 'de-AT', samples.password_reset).subject).toBe('Setzen Sie Ihr Acme-Passwort zurück');
    expect(render('password_reset', 'fr', samples.password_reset).subject).toBe('Reset your Acme password');
  });

  it('escapes HTML and keeps the plain-text part literal', () => {
    const mail = render('security_notice', 'en', {
      ...samples.security_notice,
      tenantName: 'A&B <script>alert("x")</script>',
      name: `O'Brien`,
      event: '<img src=x onerror=alert(1)>',
    });
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<img');
    expect(mail.html).toContain('A&amp;B &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(mail.html).toContain('O&#39;Brien');
    expect(mail.text).toContain('A&B <script>alert("x")</script>');
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('translates known security events and shows other text as given', () => {
    expect(render('security_notice', 'de', samples.security_notice).text).toContain('Eine Authenticator-App wurde hinzugefügt');
    expect(render('security_notice', 'en', { ...samples.security_notice, event: 'Recovery email changed' }).text).toContain('Recovery email changed');
  });

  it('refuses links that are not absolute http(s) URLs, without echoing them', () => {
    expect(() => render('verify_email', 'en', { ...samples.verify_email, link: 'javascript:alert(1)//tok_X' })).toThrow(/http\(s\)/);
    expect(() => render('verify_email', 'en', { ...samples.verify_email, link: '/relative?token=tok_X' })).not.toThrow(/tok_X/);
  });
});

describe('delivery', () => {
  let t: TestDatabase;
  let db: Db;
  let outbox: MailOutboxStore;
  /** The raw collection, to set up and check at-rest state. */
  const rawOutbox = () => db.collection<MailOutboxDoc>(mailOutboxCollection.name);
  let smtp: TestSmtpServer;
  let clock: ManualClock;
  let log: ReturnType<typeof captureLogger>;
  const running: MailDelivery[] = [];

  const deliveryFor = (transport: MailTransport, options: Partial<ConstructorParameters<typeof MailDelivery>[0]> = {}) => {
    const delivery = new MailDelivery({ outbox, clock, logger: log.logger, transport, ...options });
    running.push(delivery);
    return delivery;
  };
  const mailerFor = () => new OutboxMailer({ outbox, clock, logger: log.logger, from: FROM });
  const outboxDoc = async (to: string) => {
    const doc = await rawOutbox().findOne({ to });
    if (!doc) throw new Error(`no outbox document for ${to}`);
    return doc;
  };
  /** Nothing secret ever reaches a log line. */
  const expectCleanLogs = () => {
    const text = log.text();
    for (const secret of ['tok_SECRET_LINK_123', 'tok_RESET_456', CODE, 'verify-email?', '<html']) expect(text).not.toContain(secret);
  };

  beforeAll(async () => {
    t = await connectTestDatabase();
    db = t.db;
    outbox = new MailOutboxStore(rawOutbox());
    for (let round = 0; round < 2; round++) {
      // idempotent, as the start-up migration relies on
      for (const { key, ...options } of mailOutboxCollection.indexes) await rawOutbox().createIndex(key, options);
    }
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await smtp?.close();
    await t?.cleanup();
  });
  beforeEach(async () => {
    await rawOutbox().deleteMany({});
    smtp.clear();
    clock = new ManualClock(new Date('2024-05-01T10:00:00.000Z'));
    log = captureLogger();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((d) => d.stop()));
    expectCleanLogs();
  });

  it('delivers a message to a real SMTP server with a text and an HTML part, the subject and the link', async () => {
    const mailer = mailerFor();
    const delivery = deliveryFor(smtpTransport(smtp.url));
    await mailer.send(request('verify_email', 'ada@example.com', 'en-GB'));

    const queued = await outboxDoc('ada@example.com');
    expect(queued).toMatchObject({ status: 'pending', attempts: 0, template: 'verify_email', locale: 'en', last_error: null, sent_at: null });
    expect(queued.next_attempt_at).toEqual(clock.now());
    expect(smtp.messages).toHaveLength(0); // recorded, not sent

    await delivery.drain();
    const mail = await smtp.waitFor((m) => m.to === 'ada@example.com');
    expect(mail.subject).toBe('Verify your email address for Acme');
    expect(mail.from).toBe('no-reply@scaikey.test');
    expect(mail.parsed.from?.text).toContain('no-reply@scaikey.test');
    expect(mail.text).toContain('Hello Ada,');
    expect(mail.text).toContain(LINK);
    expect(mail.html).toContain(`href="${escapeHtml(LINK)}"`);
    expect(smtp.linkIn(mail)).toBe(LINK);
    expect(mail.language).toBe('en');
    expect(mail.messageId).toBe(`<${queued._id.toHexString()}@scaikey.test>`);

    const sent = await outboxDoc('ada@example.com');
    expect(sent).toMatchObject({ status: 'sent', attempts: 1, text: null, html: null, last_error: null });
    expect(sent.sent_at).toEqual(clock.now());
    expect(delivery.stats).toEqual({ sent: 1, retried: 0, failed: 0 });
  });

  it('uses the German translation for a German-speaking user, escapes HTML, and carries codes', async () => {
    const mailer = mailerFor();
    const delivery = deliveryFor(smtpTransport(smtp.url));
    await mailer.send(request('password_reset', 'bea@example.com', 'de-AT', { tenantName: 'A&B <Werk>' }));
    await mailer.send(request('mfa_email_code', 'bea@example.com', 'de'));
    await mailer.send(request('register_existing_account', 'cy@example.com', 'fr-FR'));
    await delivery.drain();

    const reset = await smtp.waitFor((m) => m.to === 'bea@example.com' && /Passwort/.test(m.subject));
    expect(reset.subject).toBe('Setzen Sie Ihr A&B <Werk>-Passwort zurück');
    expect(reset.htmlLang).toBe('de');
    expect(reset.language).toBe('de');
    expect(reset.text).toContain('Hallo,');
    expect(reset.html).toContain('A&amp;B &lt;Werk&gt;');
    expect(smtp.linkIn(reset)).toBe(samples.password_reset.link);

    const code = await smtp.waitFor((m) => m.to === 'bea@example.com' && /Anmeldecode/.test(m.subject));
    expect(code.subject).toBe('Ihr Anmeldecode für Acme');
    expect(smtp.codeIn(code)).toBe(CODE);

    const existing = await smtp.waitFor((m) => m.to === 'cy@example.com');
    expect(existing.subject).toBe('Sign-up attempt with your email address at Acme');
    expect(smtp.linkIn(existing)).toBe(samples.register_existing_account.signInLink);
    expect(smtp.linkIn(existing, '/forgot')).toBe(samples.register_existing_account.resetLink);
  });

  it('returns from send before delivery, and neither send nor delivery throws when SMTP is down', async () => {
    const down = await startSmtpServer();
    await down.close(); // nothing listens on its port any more
    const mailer = mailerFor();
    const delivery = deliveryFor(smtpTransport(down.url));

    await expect(mailer.send(request('verify_email', 'dan@example.com'))).resolves.toBeUndefined();
    await expect(delivery.drain()).resolves.toBeUndefined();

    const doc = await outboxDoc('dan@example.com');
    expect(doc).toMatchObject({ status: 'pending', attempts: 1, sent_at: null });
    expect(doc.last_error).toMatch(/ECONNREFUSED|connect/i);
    expect(doc.next_attempt_at).toEqual(new Date(clock.now().getTime() + 5_000));
    expect(doc.text).toContain(LINK); // kept for the retry
    const warning = log.entries().find((e) => e.msg === 'mail delivery failed; will retry');
    expect(warning).toMatchObject({ level: 40, template: 'verify_email', attempts: 1, to: 'dan@example.com' });
  });

  it('never rejects from send, even when a message cannot be recorded; it logs the failure instead', async () => {
    const mailer = mailerFor();
    await expect(mailer.send(request('verify_email', 'eve@example.com', 'en', { link: 'javascript:alert(1)//tok_SECRET_LINK_123' }))).resolves.toBeUndefined();
    expect(await rawOutbox().countDocuments({ to: 'eve@example.com' })).toBe(0);
    expect(log.entries().find((e) => e.msg === 'mail could not be queued; message dropped')).toMatchObject({ level: 50, template: 'verify_email' });
  });

  it('retries with backoff when the server refuses temporarily (451) and delivers once it accepts', async () => {
    const mailer = mailerFor();
    const delivery = deliveryFor(smtpTransport(smtp.url));
    const start = clock.now().getTime();
    smtp.rejectNext(2);
    await mailer.send(request('verify_email', 'fay@example.com'));

    await delivery.drain();
    expect(smtp.rejectedCount).toBe(1);
    let doc = await outboxDoc('fay@example.com');
    expect(doc).toMatchObject({ status: 'pending', attempts: 1 });
    expect(doc.last_error).toMatch(/451/);
    expect(doc.next_attempt_at).toEqual(new Date(start + 5_000));

    await delivery.drain(); // not due yet
    expect(smtp.rejectedCount).toBe(1);

    clock.advance(5);
    await delivery.drain();
    expect(smtp.rejectedCount).toBe(2);
    doc = await outboxDoc('fay@example.com');
    expect(doc).toMatchObject({ status: 'pending', attempts: 2 });
    expect(doc.next_attempt_at).toEqual(new Date(start + 5_000 + 30_000));

    clock.advance(29);
    await delivery.drain();
    expect(smtp.messages).toHaveLength(0);
    clock.advance(1);
    await delivery.drain();
    const mail = await smtp.waitFor((m) => m.to === 'fay@example.com');
    expect(smtp.linkIn(mail)).toBe(LINK);
    expect(smtp.messages).toHaveLength(1);
    doc = await outboxDoc('fay@example.com');
    expect(doc).toMatchObject({ status: 'sent', attempts: 3, last_error: null, text: null, html: null });
    expect(delivery.stats).toEqual({ sent: 1, retried: 2, failed: 0 });
  });

  it('marks a message failed after six attempts and logs it at error level without the body', async () => {
    const mailer = mailerFor();
    const delivery = deliveryFor(smtpTransport(smtp.url));
    smtp.rejectNext(100);
    await mailer.send(request('verify_email', 'gus@example.com'));
    const delays = [5, 30, 120, 600, 3600];
    for (let attempt = 1; attempt <= 6; attempt += 1) {
      await delivery.drain();
      expect(smtp.rejectedCount).toBe(attempt);
      const doc = await outboxDoc('gus@example.com');
      expect(doc.attempts).toBe(attempt);
      if (attempt < 6) {
        expect(doc.status).toBe('pending');
        clock.advance(delays[attempt - 1]!);
      }
    }
    const failed = await outboxDoc('gus@example.com');
    expect(failed).toMatchObject({ status: 'failed', attempts: 6, text: null, html: null, sent_at: null });
    expect(failed.failed_at).toEqual(clock.now());
    expect(failed.last_error).toMatch(/451/);

    clock.advance(86_400);
    await delivery.drain();
    expect(smtp.rejectedCount).toBe(6); // given up: never tried again
    const errors = log.entries().filter((e) => (e.level as number) >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ msg: 'mail delivery failed; giving up', template: 'verify_email', attempts: 6 });
    expect(delivery.stats).toEqual({ sent: 0, retried: 5, failed: 1 });
  });

  it('delivers each message exactly once when several deliverers share the database', async () => {
    const mailer = mailerFor();
    const count = 15;
    for (let i = 0; i < count; i += 1) await mailer.send(request('verify_email', `user${i}@example.com`));
    const deliveries = [0, 1, 2].map(() => deliveryFor(smtpTransport(smtp.url)));
    await Promise.all(deliveries.map((d) => d.drain()));

    expect(smtp.messages).toHaveLength(count);
    expect(new Set(smtp.messages.map((m) => m.to)).size).toBe(count);
    expect(new Set(smtp.messages.map((m) => m.messageId)).size).toBe(count);
    expect(deliveries.reduce((sum, d) => sum + d.stats.sent, 0)).toBe(count);
    expect(await rawOutbox().countDocuments({ status: 'sent', attempts: 1 })).toBe(count);
  });

  it('one message raced by several deliverers is sent once', async () => {
    const mailer = mailerFor();
    await mailer.send(request('mfa_email_code', 'hal@example.com'));
    const deliveries = [0, 1, 2, 3, 4].map(() => deliveryFor(smtpTransport(smtp.url)));
    await Promise.all(deliveries.map((d) => d.drain()));
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.codeIn(smtp.messages[0]!)).toBe(CODE);
  });

  it('takes over a message whose sender died mid-delivery once its claim runs out', async () => {
    const mailer = mailerFor();
    await mailer.send(request('verify_email', 'ken@example.com'));
    // A replica claimed it and crashed before recording the outcome.
    const lease = new Date(clock.now().getTime() + 600_000);
    await rawOutbox().updateOne({ to: 'ken@example.com' }, { $set: { claimed_until: lease, claim_id: 'dead-replica' }, $inc: { attempts: 1 } });
    const delivery = deliveryFor(smtpTransport(smtp.url));
    await delivery.drain();
    expect(smtp.messages).toHaveLength(0);
    clock.advance(600);
    await delivery.drain();
    expect(smtp.messages).toHaveLength(0); // claimed_until is exclusive
    clock.advance(1);
    await delivery.drain();
    await smtp.waitFor((m) => m.to === 'ken@example.com');
    expect(await outboxDoc('ken@example.com')).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('createMailSystem over SMTP: a send kicks delivery at once; the poll loop picks up other replicas\' mail', async () => {
    const system = createMailSystem({ outbox, clock, logger: log.logger, smtpUrl: smtp.url, from: FROM, delivery: { pollIntervalMs: 60_000 } });
    running.push(system.delivery);
    expect(system.describe).toBe(`mail: SMTP smtp://127.0.0.1:${smtp.port}`);
    expect(system.devOutbox).toBe(false);
    system.delivery.start();
    await system.mailer.send(request('password_changed', 'ida@example.com'));
    const changed = await smtp.waitFor((m) => m.to === 'ida@example.com', 5_000);
    expect(changed.subject).toBe('Your Acme password was changed');
    expect(changed.text).toContain('203.0.113.7');

    // A replica that polls often finds mail another replica recorded (no kick reaches it).
    const poller = deliveryFor(smtpTransport(smtp.url), { pollIntervalMs: 50 });
    poller.start();
    await mailerFor().send(request('security_notice', 'jo@example.com'));
    const notice = await smtp.waitFor((m) => m.to === 'jo@example.com', 5_000);
    expect(notice.subject).toBe('Security notice for your Acme account');
    expect(notice.text).toContain('An authenticator app was added');
  });

  it('describes the SMTP target without credentials', async () => {
    const system = createMailSystem({
      outbox,
      clock,
      logger: log.logger,
      smtpUrl: 'smtps://mailer%40acme.test:s3cr3t-pass@smtp.example.com?pool=true',
      from: FROM,
    });
    running.push(system.delivery);
    expect(system.describe).toBe('mail: SMTP smtps://smtp.example.com:465 (with credentials)');
    expect(system.describe).not.toMatch(/s3cr3t|mailer/);
    const plain = createMailSystem({ outbox, clock, logger: log.logger, smtpUrl: 'smtp://relay.internal:2525', from: FROM });
    running.push(plain.delivery);
    expect(plain.describe).toBe('mail: SMTP smtp://relay.internal:2525');
  });

  it('without SMTP writes .eml files to the dev outbox and logs one line without links or codes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scaikey-outbox-'));
    try {
      const outboxDir = join(dir, 'outbox');
      const system = createMailSystem({ outbox, clock, logger: log.logger, from: FROM, outboxDir });
      running.push(system.delivery);
      expect(system.devOutbox).toBe(true);
      expect(system.describe).toBe(`mail: dev outbox at ${outboxDir}, no SMTP configured (set SMTP_URL to send mail)`);

      await system.mailer.send(request('verify_email', 'kim@example.com'));
      await system.mailer.send(request('mfa_email_code', 'kim@example.com', 'de'));
      await system.delivery.drain();

      const files = (await readdir(outboxDir)).filter((f) => f.endsWith('.eml')).sort();
      expect(files).toHaveLength(2);
      const parsed = await Promise.all(files.map(async (f) => simpleParser(await readFile(join(outboxDir, f)))));
      const verify = parsed.find((m) => m.subject === 'Verify your email address for Acme');
      const code = parsed.find((m) => m.subject === 'Ihr Anmeldecode für Acme');
      expect(verify?.text).toContain(LINK);
      expect(verify?.html).toContain(`href="${escapeHtml(LINK)}"`);
      expect(code?.text).toContain(CODE);
      expect((await stat(join(outboxDir, files[0]!))).mode & 0o777).toBe(0o600);

      const lines = log.entries().filter((e) => typeof e.msg === 'string' && e.msg.startsWith('mail (dev outbox):'));
      expect(lines).toHaveLength(2);
      expect(lines.map((l) => l.msg)).toContain(
        `mail (dev outbox): to=kim@example.com subject=Verify your email address for Acme file=${join(outboxDir, files.find((f) => parsed[files.indexOf(f)] === verify)!)}`,
      );
      expect(lines[0]).toMatchObject({ level: 30, to: 'kim@example.com' });
      expect(await rawOutbox().countDocuments({ status: 'sent' })).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
