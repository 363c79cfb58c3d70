// Email verification landing page: GET …/verify-email?token=…, then offer to sign in.
import { $, api, ApiError, messageFor, page, t } from './core.js';

const slug = page.tenant.slug;
const token = new URLSearchParams(window.location.search).get('token') || '';
const status = $('verify-status');
const error = $('verify-error');

async function verify() {
  if (!token) {
    status.textContent = '';
    error.textContent = t('verify.missing_token');
    return;
  }
  try {
    await api('GET', `/api/v1/auth/tenants/${encodeURIComponent(slug)}/verify-email`, { query: { token } });
    // Used up: keep it out of the address bar and history.
    window.history.replaceState(null, '', window.location.pathname);
    status.textContent = t('verify.done');
  } catch (e) {
    status.textContent = '';
    error.textContent = e instanceof ApiError && e.status === 400 ? t('verify.invalid') : messageFor(e);
  }
  $('verify-signin').hidden = false;
}

void verify();
