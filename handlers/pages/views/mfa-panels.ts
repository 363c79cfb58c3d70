import { field, html, type Html } from '../html.ts';
import type { MessageKey } from '../i18n/index.ts';

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** The code-entry panels of the MFA step, the same on the tenant and the portal sign-in pages. */
export function mfaCodePanels(t: T): Html {
  return html`<div class="method-panel" data-panel="totp" hidden>
${field({ id: 'totp-code', label: t('mfa.totp_label'), inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 10, spellcheck: false })}
</div>
<div class="method-panel" data-panel="email" hidden>
<p class="note" id="email-code-status" role="status" aria-atomic="true"></p>
${field({ id: 'email-code', label: t('mfa.email_label'), inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 10, spellcheck: false })}
<button type="button" class="secondary" id="resend-code">${t('mfa.email_resend')}</button>
</div>`;
}
