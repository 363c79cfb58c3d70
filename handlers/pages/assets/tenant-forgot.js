// Forgot password: POST …/forgot-password. The answer is the same whether or not the account exists.
import { $, api, onSubmit, page, t } from './core.js';

const slug = page.tenant.slug;

onSubmit($('forgot-form'), 'forgot', async (messages) => {
  if (!messages.validate(['email'])) return;
  const email = $('email').value.trim();
  // No redirect_uri: the emailed link comes back to this site's reset page.
  await api('POST', `/api/v1/auth/tenants/${encodeURIComponent(slug)}/forgot-password`, { body: { email } });
  $('forgot-form').hidden = true;
  const done = $('forgot-done');
  done.textContent = t('forgot.sent', { email });
  done.setAttribute('tabindex', '-1');
  done.focus();
});
