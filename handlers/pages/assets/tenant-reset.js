// Reset password from the emailed link (?token=…): POST …/password/reset.
import { $, api, ApiError, onSubmit, page, t } from './core.js';

const slug = page.tenant.slug;
const token = new URLSearchParams(window.location.search).get('token') || '';
const form = $('reset-form');

function linkBroken(messages, text) {
  messages.error(text);
  for (const part of form.querySelectorAll('.field, button')) part.hidden = true;
  $('reset-links').hidden = false;
}

const messages = onSubmit(form, 'reset', async (messages) => {
  if (!messages.validate(['new_password'])) return;
  try {
    await api('POST', `/api/v1/auth/tenants/${encodeURIComponent(slug)}/password/reset`, { body: { token, new_password: $('new_password').value } });
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) linkBroken(messages, t('reset.invalid'));
    else messages.apiError(error, { new_password: 'new_password' });
    return;
  }
  // The token is used up: drop it from the address bar and history.
  window.history.replaceState(null, '', window.location.pathname);
  for (const part of form.querySelectorAll('.field, button')) part.hidden = true;
  messages.status(t('reset.done'));
  $('reset-signin').hidden = false;
  $('reset-signin').querySelector('a').focus();
});

if (!token) linkBroken(messages, t('reset.missing_token'));
