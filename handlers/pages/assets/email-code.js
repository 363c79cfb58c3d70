// Sending (and re-sending, after a cooldown) an MFA code by email: POST
// /api/v1/auth/tenants/{slug}/mfa/email/send?mfa_token=…&user_id=…, for the tenant pages and the portal.
import { api, minutesText, t } from './core.js';

const cooldownSeconds = 30;

export class EmailCodeSender {
  /** `onError(error)` shows a failed send in the form's alert. */
  constructor({ status, button, onError }) {
    this.status = status;
    this.button = button;
    this.onError = onError;
    this.timer = null;
    this.sent = false;
    this.target = null;
    button.addEventListener('click', () => {
      if (button.getAttribute('aria-disabled') === 'true' || !this.target) return;
      void this.send();
    });
  }

  /** Which flow the code is for. */
  use(slug, mfaToken, userId) {
    this.target = { slug, mfaToken, userId };
    this.sent = false;
  }

  /** Sends once per flow unless `again`. */
  async sendOnce() {
    if (!this.sent) await this.send();
  }

  async send() {
    const { slug, mfaToken, userId } = this.target;
    this.sent = true;
    this.status.textContent = t('mfa.email_sending');
    this.startCooldown();
    try {
      const reply = await api('POST', `/api/v1/auth/tenants/${encodeURIComponent(slug)}/mfa/email/send`, { query: { mfa_token: mfaToken, user_id: userId } });
      this.status.textContent = t('mfa.email_sent', { minutes: minutesText(reply.expires_in || 600) });
    } catch (error) {
      this.status.textContent = '';
      this.onError(error);
    }
  }

  startCooldown() {
    let remaining = cooldownSeconds;
    clearInterval(this.timer);
    this.button.setAttribute('aria-disabled', 'true');
    this.button.textContent = t('mfa.email_resend_wait', { seconds: remaining });
    this.timer = setInterval(() => {
      remaining -= 1;
      if (remaining > 0) {
        this.button.textContent = t('mfa.email_resend_wait', { seconds: remaining });
        return;
      }
      this.stop();
    }, 1000);
  }

  stop() {
    clearInterval(this.timer);
    this.button.removeAttribute('aria-disabled');
    this.button.textContent = t('mfa.email_resend');
  }

  reset() {
    this.stop();
    this.sent = false;
    this.target = null;
    this.status.textContent = '';
  }
}
