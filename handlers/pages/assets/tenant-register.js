// Self-registration: POST …/register; then the user follows the emailed link (or signs in).
import { $, api, ApiError, onSubmit, page, t } from './core.js';

const slug = page.tenant.slug;

onSubmit($('register-form'), 'register', async (messages) => {
  if (!messages.validate(['first_name', 'last_name', 'email', 'password'])) return;
  const email = $('email').value.trim();
  let reply;
  try {
    reply = await api('POST', `/api/v1/auth/tenants/${encodeURIComponent(slug)}/register`, {
      body: { first_name: $('first_name').value.trim(), last_name: $('last_name').value.trim(), email, password: $('password').value, redirect_uri: page.redirectUri || null },
    });
  } catch (error) {
    messages.apiError(error);
    if (error instanceof ApiError && error.status === 403) $('register-form').querySelector('button[type="submit"]').hidden = true;
    return;
  }
  const pending = reply.data.status === 'pending_verification';
  for (const f of $('register-form').querySelectorAll('.field, .row, button')) f.hidden = true;
  messages.status(pending ? t('register.pending', { email }) : t('register.active'));
  $('register-title').focus();
});
