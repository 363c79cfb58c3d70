// A real SMTP server on loopback for tests: messages the server under test sends arrive here,
// parsed with mailparser, so tests can follow links and read codes the way a user would.
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMessage {
  /** First envelope recipient (RCPT TO), as the sender wrote it. */
  to: string;
  /** All envelope recipients. */
  recipients: string[];
  /** Envelope sender (MAIL FROM). */
  from: string;
  subject: string;
  text: string;
  html: string;
  messageId: string | undefined;
  /** The `Content-Language` header, if any. */
  language: string | undefined;
  /** The `lang` attribute of the HTML part's `<html>` element, if any. */
  htmlLang: string | undefined;
  parsed: ParsedMail;
  raw: Buffer;
  receivedAt: Date;
}

/** The name the brief uses for a delivered, parsed message. */
export type ParsedMessage = ReceivedMessage;

export interface TestSmtpServer {
  /** `smtp://127.0.0.1:PORT`: pass as SMTP_URL. */
  url: string;
  port: number;
  /** Every accepted message, in arrival order. */
  messages: ReceivedMessage[];
  /** How many messages were refused by `rejectNext`. */
  readonly rejectedCount: number;
  /** Resolves with the first message (already received or arriving later) matching the predicate. */
  waitFor(predicate: (message: ReceivedMessage) => boolean, timeoutMs?: number): Promise<ReceivedMessage>;
  /** Refuses the next `count` messages at DATA with a temporary error (451 by default). */
  rejectNext(count: number, reply?: { code?: number; message?: string }): void;
  /** The first http(s) link in the text part (optionally the first containing `match`). */
  linkIn(message: ReceivedMessage, match?: string | RegExp): string | undefined;
  /** The one-time code: a line holding only digits, else the first 6-digit number. */
  codeIn(message: ReceivedMessage): string | undefined;
  /** Forgets received messages and the rejected count, and stops rejecting. */
  clear(): void;
  close(): Promise<void>;
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const messages: ReceivedMessage[] = [];
  const waiters = new Set<() => void>();
  let rejectRemaining = 0;
  let rejectReply = { code: 451, message: 'Temporary failure, try again later (test)' };
  let rejectedCount = 0;

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    secure: false,
    logger: false,
    banner: 'scaikey test smtp',
    size: 10 * 1024 * 1024,
    // Accept any credentials, so SMTP_URLs with a user and password work too.
    onAuth(_auth, _session, callback) {
      callback(null, { user: 'test' });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error) => callback(error));
      stream.on('end', () => {
        if (rejectRemaining > 0) {
          rejectRemaining -= 1;
          rejectedCount += 1;
          const error = Object.assign(new Error(rejectReply.message), { responseCode: rejectReply.code });
          callback(error);
          return;
        }
        const raw = Buffer.concat(chunks);
        const envelope = session.envelope;
        simpleParser(raw)
          .then((parsed) => {
            const recipients = envelope.rcptTo.map((r) => r.address);
            const html = typeof parsed.html === 'string' ? parsed.html : '';
            messages.push({
              to: recipients[0] ?? '',
              recipients,
              from: envelope.mailFrom ? envelope.mailFrom.address : '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html,
              messageId: parsed.messageId,
              language: headerText(parsed.headers.get('content-language')),
              htmlLang: /<html[^>]*\blang="([^"]+)"/i.exec(html)?.[1],
              parsed,
              raw,
              receivedAt: new Date(),
            });
            callback(null, 'Queued (test)');
            for (const wake of [...waiters]) wake();
          })
          .catch((error: Error) => callback(error));
      });
    },
  });
  server.on('error', () => undefined); // client disconnects are not test failures

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    get rejectedCount() {
      return rejectedCount;
    },
    waitFor(predicate, timeoutMs = 5000) {
      return new Promise<ReceivedMessage>((resolve, reject) => {
        const check = (): boolean => {
          const found = messages.find(predicate);
          if (!found) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(found);
          return true;
        };
        const wake = () => void check();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          const seen = messages.map((m) => `${m.to}: ${m.subject}`).join('; ') || 'none';
          reject(new Error(`no matching mail within ${timeoutMs} ms (received: ${seen})`));
        }, timeoutMs);
        waiters.add(wake);
        check();
      });
    },
    rejectNext(count, reply = {}) {
      rejectRemaining = count;
      rejectReply = { code: reply.code ?? 451, message: reply.message ?? 'Temporary failure, try again later (test)' };
    },
    linkIn(message, match) {
      const links = message.text.match(/https?:\/\/[^\s<>"')]+/g) ?? [];
      if (match === undefined) return links[0];
      return links.find((link) => (typeof match === 'string' ? link.includes(match) : match.test(link)));
    },
    codeIn(message) {
      const line = message.text.split(/\r?\n/).find((l) => /^\s*\d{4,10}\s*$/.test(l));
      return line?.trim() ?? /(?<![\d.])\d{6}(?![\d.])/.exec(message.text)?.[0];
    },
    clear() {
      messages.length = 0;
      rejectedCount = 0;
      rejectRemaining = 0;
    },
    close() {
      for (const wake of [...waiters]) waiters.delete(wake);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function headerText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
