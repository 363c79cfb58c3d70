import { escapeHtml, matchLocale } from '../../core/text.ts';
import type { MailTemplate, MailTemplateData } from './mailer.ts';

/**
 * Mail templates: each one a short list of blocks (paragraphs, a button link, a code, a few
 * facts) per language, laid out twice from the same blocks, as plain text and as inline-styled
 * HTML, so both parts always say the same thing and every link appears in both.
 *
 * Only the link or code the message exists to deliver goes into it: no other token, no
 * password, nothing from the request beyond what the template's data names.
 */

export const supportedLocales = ['en', 'de'] as const;
export type SupportedLocale = (typeof supportedLocales)[number];
export const defaultLocale: SupportedLocale = 'en';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
  /** The translation used (`de` for `de-AT`, `en` when none matched). */
  locale: SupportedLocale;
}

/** Matches a BCP 47 tag by its primary language subtag (`de-AT` → `de`); English otherwise. */
export function resolveLocale(locale: string | null | undefined): SupportedLocale {
  return matchLocale([locale], supportedLocales) ?? defaultLocale;
}


/**
 * Known `security_notice` events, translated. Callers may pass one of these keys as `event`;
 * any other string is shown as given (so it should already be human-readable).
 */
export const securityEvents = {
  totp_added: { en: 'An authenticator app was added', de: 'Eine Authenticator-App wurde hinzugefügt' },
  totp_removed: { en: 'An authenticator app was removed', de: 'Eine Authenticator-App wurde entfernt' },
  email_mfa_enabled: { en: 'Sign-in codes by email were turned on', de: 'Anmeldecodes per E-Mail wurden aktiviert' },
  email_mfa_disabled: { en: 'Sign-in codes by email were turned off', de: 'Anmeldecodes per E-Mail wurden deaktiviert' },
  webauthn_added: { en: 'A security key or passkey was added', de: 'Ein Sicherheitsschlüssel oder Passkey wurde hinzugefügt' },
  webauthn_removed: { en: 'A security key or passkey was removed', de: 'Ein Sicherheitsschlüssel oder Passkey wurde entfernt' },
  backup_codes_generated: { en: 'New backup codes were generated', de: 'Neue Backup-Codes wurden erstellt' },
  mfa_disabled: { en: 'Two-step verification was turned off', de: 'Die Zwei-Schritt-Verifizierung wurde deaktiviert' },
  trusted_device_added: { en: 'A device was marked as trusted', de: 'Ein Gerät wurde als vertrauenswürdig markiert' },
  trusted_devices_revoked: { en: 'Trusted devices were revoked', de: 'Vertrauenswürdige Geräte wurden widerrufen' },
  email_changed: { en: 'The email address was changed', de: 'Die E-Mail-Adresse wurde geändert' },
  sessions_revoked: { en: 'All sessions were signed out', de: 'Alle Sitzungen wurden abgemeldet' },
} as const satisfies Record<string, Record<SupportedLocale, string>>;

type Block =
  | { kind: 'p'; text: string }
  | { kind: 'action'; label: string; url: string }
  | { kind: 'code'; code: string }
  | { kind: 'facts'; rows: Array<[label: string, value: string]> };

interface Content {
  subject: string;
  blocks: Block[];
}

interface Strings {
  greeting(name: string | null): string;
  copyLink: string;
  automated(tenant: string): string;
  minutes(n: number): string;
  /** Minutes in the largest whole unit: days, hours or minutes. */
  duration(minutes: number): string;
}

const common: Record<SupportedLocale, Strings> = {
  en: {
    greeting: (name) => (name ? `Hello ${name},` : 'Hello,'),
    copyLink: 'If the button does not work, copy this link into your browser:',
    automated: (tenant) => `This message was sent automatically by ${tenant}. Please do not reply to it.`,
    minutes: (n) => (n === 1 ? '1 minute' : `${n} minutes`),
    duration: (n) => inUnits(n, ['day', 'days'], ['hour', 'hours'], common.en.minutes),
  },
  de: {
    greeting: (name) => (name ? `Hallo ${name},` : 'Hallo,'),
    copyLink: 'Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in Ihren Browser:',
    automated: (tenant) => `Diese Nachricht wurde automatisch von ${tenant} versendet. Bitte antworten Sie nicht darauf.`,
    minutes: (n) => (n === 1 ? '1 Minute' : `${n} Minuten`),
    duration: (n) => inUnits(n, ['Tag', 'Tage'], ['Stunde', 'Stunden'], common.de.minutes),
  },
};

function inUnits(minutes: number, day: [string, string], hour: [string, string], fallback: (m: number) => string): string {
  const unit = (n: number, [one, many]: [string, string]) => `${n} ${n === 1 ? one : many}`;
  if (minutes > 0 && minutes % 1440 === 0) return unit(minutes / 1440, day);
  if (minutes > 0 && minutes % 60 === 0) return unit(minutes / 60, hour);
  return fallback(minutes);
}

type Builders = { [T in MailTemplate]: (data: MailTemplateData[T], s: Strings) => Content };

const p = (text: string): Block => ({ kind: 'p', text });

const translations: Record<SupportedLocale, Builders> = {
  en: {
    verify_email: (d, s) => ({
      subject: `Verify your email address for ${d.tenantName}`,
      blocks: [
        p(s.greeting(d.name)),
        p(`Please verify that this email address belongs to your ${d.tenantName} account.`),
        { kind: 'action', label: 'Verify email address', url: d.link },
        p(`The link expires in ${s.minutes(d.expiresInMinutes)}.`),
        p('If you did not create an account, you can ignore this message.'),
      ],
    }),
    password_reset: (d, s) => ({
      subject: `Reset your ${d.tenantName} password`,
      blocks: [
        p(s.greeting(d.name)),
        p(`We received a request to reset the password of your ${d.tenantName} account.`),
        { kind: 'action', label: 'Choose a new password', url: d.link },
        p(`The link expires in ${s.minutes(d.expiresInMinutes)} and works only once.`),
        p('If you did not ask for this, you can ignore this message. Your password stays as it is.'),
      ],
    }),
    invitation: (d, s) => ({
      subject: `You have been invited to ${d.tenantName}`,
      blocks: [
        p(s.greeting(d.name)),
        p(`An administrator created a ${d.tenantName} account for this email address. Choose a password to start using it.`),
        { kind: 'action', label: 'Choose a password', url: d.link },
        p(`The link expires in ${s.duration(d.expiresInMinutes)} and works only once. After that, ask your administrator for a new invitation.`),
        p('If you did not expect this, you can ignore this message.'),
      ],
    }),
    mfa_email_code: (d, s) => ({
      subject: `Your ${d.tenantName} sign-in code`,
      blocks: [
        p(s.greeting(d.name)),
        p(`Enter this code to finish signing in to ${d.tenantName}:`),
        { kind: 'code', code: d.code },
        p(`The code expires in ${s.minutes(d.expiresInMinutes)}. Never share it with anyone.`),
        p('If you did not try to sign in, someone else may know your password. Please change it.'),
      ],
    }),
    register_existing_account: (d, s) => ({
      subject: `Sign-up attempt with your email address at ${d.tenantName}`,
      blocks: [
        p(s.greeting(d.name)),
        p(
          `Someone tried to create a ${d.tenantName} account with this email address. ` +
            'You already have an account, so no new one was created.',
        ),
        p('If it was you, sign in with your existing account:'),
        { kind: 'action', label: 'Sign in', url: d.signInLink },
        p('Forgot your password? You can choose a new one:'),
        { kind: 'action', label: 'Reset password', url: d.resetLink },
        p('If it was not you, you can ignore this message. Nothing about your account has changed.'),
      ],
    }),
    password_changed: (d, s) => ({
      subject: `Your ${d.tenantName} password was changed`,
      blocks: [
        p(s.greeting(d.name)),
        p(`The password of your ${d.tenantName} account was changed.`),
        { kind: 'facts', rows: [['When', d.when], ['IP address', d.clientIp]] },
        p(
          'If you made this change, there is nothing to do. If you did not, reset your password ' +
            'right away and contact your administrator.',
        ),
      ],
    }),
    security_notice: (d, s) => ({
      subject: `Security notice for your ${d.tenantName} account`,
      blocks: [
        p(s.greeting(d.name)),
        p(`A security setting of your ${d.tenantName} account was changed:`),
        { kind: 'facts', rows: [['Change', eventText(d.event, 'en')], ['When', d.when], ['IP address', d.clientIp]] },
        p(
          'If you made this change, there is nothing to do. If you did not, change your password ' +
            'right away and contact your administrator.',
        ),
      ],
    }),
  },
  de: {
    verify_email: (d, s) => ({
      subject: `Bestätigen Sie Ihre E-Mail-Adresse für ${d.tenantName}`,
      blocks: [
        p(s.greeting(d.name)),
        p(`Bitte bestätigen Sie, dass diese E-Mail-Adresse zu Ihrem ${d.tenantName}-Konto gehört.`),
        { kind: 'action', label: 'E-Mail-Adresse bestätigen', url: d.link },
        p(`Der Link ist ${s.minutes(d.expiresInMinutes)} lang gültig.`),
        p('Falls Sie kein Konto angelegt haben, können Sie diese Nachricht ignorieren.'),
      ],
    }),
    password_reset: (d, s) => ({
      subject: `Setzen Sie Ihr ${d.tenantName}-Passwort zurück`,
      blocks: [
        p(s.greeting(d.name)),
        p(`Wir haben eine Anfrage erhalten, das Passwort Ihres ${d.tenantName}-Kontos zurückzusetzen.`),
        { kind: 'action', label: 'Neues Passwort wählen', url: d.link },
        p(`Der Link ist ${s.minutes(d.expiresInMinutes)} lang gültig und kann nur einmal verwendet werden.`),
        p('Falls Sie das nicht angefordert haben, können Sie diese Nachricht ignorieren. Ihr Passwort bleibt unverändert.'),
      ],
    }),
    invitation: (d, s) => ({
      subject: `Sie wurden zu ${d.tenantName} eingeladen`,
      blocks: [
        p(s.greeting(d.name)),
        p(`Eine Administratorin oder ein Administrator hat für diese E-Mail-Adresse ein ${d.tenantName}-Konto angelegt. Wählen Sie ein Passwort, um es zu nutzen.`),
        { kind: 'action', label: 'Passwort wählen', url: d.link },
        p(`Der Link ist ${s.duration(d.expiresInMinutes)} lang gültig und kann nur einmal verwendet werden. Danach können Sie um eine neue Einladung bitten.`),
        p('Falls Sie das nicht erwartet haben, können Sie diese Nachricht ignorieren.'),
      ],
    }),
    mfa_email_code: (d, s) => ({
      subject: `Ihr Anmeldecode für ${d.tenantName}`,
      blocks: [
        p(s.greeting(d.name)),
        p(`Geben Sie diesen Code ein, um die Anmeldung bei ${d.tenantName} abzuschließen:`),
        { kind: 'code', code: d.code },
        p(`Der Code ist ${s.minutes(d.expiresInMinutes)} lang gültig. Geben Sie ihn niemals weiter.`),
        p('Falls Sie sich nicht anmelden wollten, kennt möglicherweise jemand Ihr Passwort. Bitte ändern Sie es.'),
      ],
    }),
    register_existing_account: (d, s) => ({
      subject: `Registrierungsversuch mit Ihrer E-Mail-Adresse bei ${d.tenantName}`,
      blocks: [
        p(s.greeting(d.name)),
        p(
          `Jemand hat versucht, mit dieser E-Mail-Adresse ein ${d.tenantName}-Konto anzulegen. ` +
            'Sie haben bereits ein Konto, daher wurde kein neues angelegt.',
        ),
        p('Falls Sie das waren, melden Sie sich mit Ihrem bestehenden Konto an:'),
        { kind: 'action', label: 'Anmelden', url: d.signInLink },
        p('Passwort vergessen? Sie können ein neues wählen:'),
        { kind: 'action', label: 'Passwort zurücksetzen', url: d.resetLink },
        p('Falls Sie das nicht waren, können Sie diese Nachricht ignorieren. An Ihrem Konto hat sich nichts geändert.'),
      ],
    }),
    password_changed: (d, s) => ({
      subject: `Ihr ${d.tenantName}-Passwort wurde geändert`,
      blocks: [
        p(s.greeting(d.name)),
        p(`Das Passwort Ihres ${d.tenantName}-Kontos wurde geändert.`),
        { kind: 'facts', rows: [['Zeitpunkt', d.when], ['IP-Adresse', d.clientIp]] },
        p(
          'Falls Sie das waren, ist nichts weiter zu tun. Falls nicht, setzen Sie Ihr Passwort ' +
            'sofort zurück und wenden Sie sich an Ihre Administration.',
        ),
      ],
    }),
    security_notice: (d, s) => ({
      subject: `Sicherheitshinweis zu Ihrem ${d.tenantName}-Konto`,
      blocks: [
        p(s.greeting(d.name)),
        p(`Eine Sicherheitseinstellung Ihres ${d.tenantName}-Kontos wurde geändert:`),
        { kind: 'facts', rows: [['Änderung', eventText(d.event, 'de')], ['Zeitpunkt', d.when], ['IP-Adresse', d.clientIp]] },
        p(
          'Falls Sie das waren, ist nichts weiter zu tun. Falls nicht, ändern Sie Ihr Passwort ' +
            'sofort und wenden Sie sich an Ihre Administration.',
        ),
      ],
    }),
  },
};

function eventText(event: string, locale: SupportedLocale): string {
  return Object.hasOwn(securityEvents, event) ? securityEvents[event as keyof typeof securityEvents][locale] : event;
}

export class MailTemplateError extends Error {
  override name = 'MailTemplateError';
}

/** Renders one template in the best available language. Throws MailTemplateError on bad data. */
export function render<T extends MailTemplate>(template: T, locale: string | null, data: MailTemplateData[T]): RenderedMail {
  const lang = resolveLocale(locale);
  const builder = translations[lang][template] as ((d: MailTemplateData[T], s: Strings) => Content) | undefined;
  if (!builder) throw new MailTemplateError(`unknown mail template: ${String(template)}`);
  const strings = common[lang];
  const content = builder(data, strings);
  for (const block of content.blocks) {
    if (block.kind === 'action' && !isWebUrl(block.url)) {
      // Never echo the value: it may hold a token.
      throw new MailTemplateError(`${template}: links must be absolute http(s) URLs`);
    }
  }
  // Header injection is also handled by nodemailer; keep subjects on one line regardless.
  const subject = content.subject.replace(/\s+/g, ' ').trim();
  const tenantName = tenantOf(data);
  return {
    subject,
    text: renderText(content.blocks, strings, tenantName),
    html: renderHtml(subject, content.blocks, strings, tenantName, lang),
    locale: lang,
  };
}

function tenantOf(data: unknown): string {
  const name = (data as { tenantName?: unknown }).tenantName;
  return typeof name === 'string' && name.trim() ? name : 'ScaiKey';
}

function isWebUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !/\s/.test(value);
  } catch {
    return false;
  }
}

function renderText(blocks: Block[], s: Strings, tenant: string): string {
  const parts = blocks.map((block) => {
    switch (block.kind) {
      case 'p':
        return block.text;
      case 'action':
        return `${block.label}:\n${block.url}`;
      case 'code':
        return `    ${block.code}`;
      case 'facts':
        return block.rows.map(([label, value]) => `${label}: ${value}`).join('\n');
    }
  });
  parts.push(`-- \n${s.automated(tenant)}`);
  return `${parts.join('\n\n')}\n`;
}

const font = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const paragraphStyle = 'margin:0 0 16px 0;font-size:16px;line-height:24px;color:#1f2933';

function renderHtml(subject: string, blocks: Block[], s: Strings, tenant: string, lang: SupportedLocale): string {
  const body = blocks
    .map((block) => {
      switch (block.kind) {
        case 'p':
          return `<p style="${paragraphStyle}">${escapeHtml(block.text)}</p>`;
        case 'action': {
          const href = escapeHtml(block.url);
          return (
            `<p style="margin:24px 0 8px 0"><a href="${href}" style="display:inline-block;background:#2457d6;color:#ffffff;` +
            `text-decoration:none;font-weight:600;font-size:16px;line-height:24px;padding:12px 24px;border-radius:6px">` +
            `${escapeHtml(block.label)}</a></p>` +
            `<p style="margin:0 0 24px 0;font-size:13px;line-height:20px;color:#52606d">${escapeHtml(s.copyLink)}<br>` +
            `<a href="${href}" style="color:#2457d6;word-break:break-all">${href}</a></p>`
          );
        }
        case 'code':
          return (
            `<p style="margin:24px 0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:32px;` +
            `line-height:40px;letter-spacing:6px;font-weight:700;color:#1f2933">${escapeHtml(block.code)}</p>`
          );
        case 'facts':
          return (
            `<table role="presentation" cellpadding="0" cellspacing="0" style="margin:0 0 16px 0;font-size:15px;line-height:22px;color:#1f2933">` +
            block.rows
              .map(
                ([label, value]) =>
                  `<tr><td style="padding:2px 16px 2px 0;color:#52606d;vertical-align:top">${escapeHtml(label)}</td>` +
                  `<td style="padding:2px 0">${escapeHtml(value)}</td></tr>`,
              )
              .join('') +
            `</table>`
          );
      }
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(subject)}</title>
</head>
<body style="margin:0;padding:0;background:#f4f5f7">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f5f7">
<tr><td align="center" style="padding:32px 16px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border-radius:8px;${font}">
<tr><td style="padding:32px">
${body}
</td></tr>
</table>
<p style="margin:16px 0 0 0;max-width:560px;font-size:12px;line-height:18px;color:#7b8794;${font}">${escapeHtml(s.automated(tenant))}</p>
</td></tr>
</table>
</body>
</html>
`;
}
