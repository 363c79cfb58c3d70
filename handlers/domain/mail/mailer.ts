/**
 * What the rest of the domain sees of mail. Sending never blocks or fails the request path:
 * `send` only records the message for delivery; delivery, retries and logging happen elsewhere.
 */
export type MailTemplate =
  | 'verify_email'
  | 'password_reset'
  | 'invitation'
  | 'mfa_email_code'
  | 'register_existing_account'
  | 'password_changed'
  | 'security_notice';

export interface MailTemplateData {
  verify_email: { name: string | null; link: string; expiresInMinutes: number; tenantName: string };
  password_reset: { name: string | null; link: string; expiresInMinutes: number; tenantName: string };
  /** An administrator created the account without a password: the link chooses the first one. */
  invitation: { name: string | null; link: string; expiresInMinutes: number; tenantName: string };
  mfa_email_code: { name: string | null; code: string; expiresInMinutes: number; tenantName: string };
  register_existing_account: { name: string | null; signInLink: string; resetLink: string; tenantName: string };
  password_changed: { name: string | null; tenantName: string; when: string; clientIp: string };
  /** A factor was added or removed, or another security-relevant change. */
  security_notice: { name: string | null; tenantName: string; event: string; when: string; clientIp: string };
}

export interface MailRequest<T extends MailTemplate = MailTemplate> {
  to: string;
  template: T;
  /** BCP 47 tag; falls back to English when no translation exists. */
  locale: string | null;
  data: MailTemplateData[T];
}

export interface Mailer {
  send<T extends MailTemplate>(request: MailRequest<T>): Promise<void>;
}
