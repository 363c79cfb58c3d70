// Tenant sign-in: email + password (+ remember me), then the MFA step when the API asks for it,
// then on to the redirect_uri the API validated. Uses only the public Authentication operations:
// POST …/login, POST …/mfa/verify, POST …/mfa/email/send, POST …/mfa/webauthn/begin.
import { $, api, ApiError, describeUserAgent, FormMessages, minutesText, onSubmit, page, safeRedirect, showStep, t } from './core.js';
import { EmailCodeSender } from './email-code.js';
import { getAssertion, isCancelled, webauthnSupported } from './webauthn.js';

const slug = page.tenant.slug;
const base = `/api/v1/auth/tenants/${encodeURIComponent(slug)}`;
const steps = ['step-password', 'step-mfa', 'step-done'];
const codeInputs = { totp: 'totp-code', email: 'email-code', backup_code: 'backup-code' };

/**
 * "Trust this device": the API returns a trusted_device_token after MFA; it is kept in
 * localStorage per tenant and email and sent with the next login so MFA is skipped.
 */
function trustedDeviceKey(email) {
  return `scaikey.trusted_device.${slug}.${email.trim().toLowerCase()}`;
}
function readTrustedDevice(email) {
  try {
    return window.localStorage.getItem(trustedDeviceKey(email));
  } catch {
    return null;
  }
}
function writeTrustedDevice(email, token) {
  try {
    if (token) window.localStorage.setItem(trustedDeviceKey(email), token);
    else window.localStorage.removeItem(trustedDeviceKey(email));
  } catch {
    // storage unavailable (private mode): the device is simply not remembered
  }
}

const state = { email: '', mfaToken: '', userId: '', methods: [], method: '' };
const emailCodes = new EmailCodeSender({ status: $('email-code-status'), button: $('resend-code'), onError: (error) => new FormMessages($('mfa-form'), 'mfa').apiError(error) });

function finish(redirectUri) {
  showStep('step-done', steps);
  const target = safeRedirect(redirectUri);
  $('done-status').textContent = t('login.success_redirect');
  window.location.assign(target || `/t/${encodeURIComponent(slug)}/signed-in`);
}

// Step 1: password.
const loginMessages = onSubmit($('login-form'), 'login', async (messages) => {
  if (!messages.validate(['email', 'password'])) return;
  const email = $('email').value.trim();
  const sentDeviceToken = readTrustedDevice(email);
  let reply;
  try {
    reply = await api('POST', `${base}/login`, {
      body: { email, password: $('password').value, remember_me: $('remember_me').checked, trusted_device_token: sentDeviceToken },
    });
  } catch (error) {
    if (error instanceof ApiError && error.status === 429) {
      messages.error(t('login.locked', { minutes: minutesText(error.retryAfter || 900) }));
    } else {
      messages.apiError(error, { email: 'email', password: 'password' });
    }
    if (error instanceof ApiError && (error.status === 401 || error.status === 429)) {
      $('password').value = '';
      $('password').focus();
    }
    return;
  }
  const data = reply.data;
  state.email = email;
  if (data.mfa_required || data.status === 'mfa_required') {
    // A stored device token that did not skip MFA is stale (expired or revoked).
    if (sentDeviceToken) writeTrustedDevice(email, null);
    startMfa(data);
    return;
  }
  finish(data.redirect_uri);
});

// Step 2: second factor.
function startMfa(data) {
  state.mfaToken = data.mfa_token;
  state.userId = data.user_id;
  emailCodes.use(slug, state.mfaToken, state.userId);
  state.methods = (data.available_methods || []).filter((m) => m in codeInputs || (m === 'webauthn' && webauthnSupported()));
  const mfaMessages = new FormMessages($('mfa-form'), 'mfa');
  mfaMessages.clear();
  for (const option of document.querySelectorAll('#mfa-methods .radio')) option.hidden = !state.methods.includes(option.dataset.method);
  // With a single method there is nothing to choose.
  $('mfa-methods').hidden = state.methods.length < 2;
  showStep('step-mfa', steps);
  if (state.methods.length === 0) {
    mfaMessages.error(t('mfa.no_method'));
    return;
  }
  const preferred = state.methods.includes(data.default_method) ? data.default_method : state.methods[0];
  selectMethod(preferred, true);
}

function selectMethod(method, focusInput) {
  state.method = method;
  const radio = $(`method-${method}`);
  if (radio) radio.checked = true;
  for (const panel of document.querySelectorAll('#mfa-form .method-panel')) panel.hidden = panel.dataset.panel !== method;
  if (method === 'email') void emailCodes.sendOnce();
  if (focusInput) {
    const input = codeInputs[method] ? $(codeInputs[method]) : null;
    (input || $('mfa-title')).focus();
  }
}

for (const radio of document.querySelectorAll('#mfa-methods input[type="radio"]')) {
  radio.addEventListener('change', () => {
    if (radio.checked) selectMethod(radio.value, false);
  });
}

onSubmit($('mfa-form'), 'mfa', async (messages) => {
  const method = state.method;
  const trust = $('trust_device').checked;
  const body = { mfa_token: state.mfaToken, user_id: state.userId, method, trust_device: trust, remember_device: trust, device_fingerprint: trust ? describeUserAgent() : null };
  if (method === 'webauthn') {
    let challenge;
    try {
      challenge = await api('POST', `${base}/mfa/webauthn/begin`, { query: { mfa_token: state.mfaToken, user_id: state.userId } });
      body.credential = await getAssertion(challenge.options);
    } catch (error) {
      if (isCancelled(error)) messages.error(t('mfa.webauthn_cancelled'));
      else messages.apiError(error);
      return;
    }
    body.challenge_id = challenge.challenge_id;
  } else {
    const inputId = codeInputs[method];
    const input = $(inputId);
    if (input.value.trim() === '') {
      messages.fieldError(inputId, t('common.field_required'));
      messages.error(t('common.form_has_errors'));
      input.focus();
      return;
    }
    body.code = input.value.trim();
  }
  let reply;
  try {
    reply = await api('POST', `${base}/mfa/verify`, { body });
  } catch (error) {
    messages.apiError(error);
    const input = codeInputs[method] ? $(codeInputs[method]) : null;
    if (input) {
      input.value = '';
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
    return;
  }
  const data = reply.data;
  if (data.trusted_device_token) writeTrustedDevice(state.email, data.trusted_device_token);
  finish(data.redirect_uri);
});

$('mfa-restart').addEventListener('click', () => {
  emailCodes.reset();
  Object.assign(state, { mfaToken: '', userId: '', methods: [], method: '' });
  for (const id of Object.values(codeInputs)) $(id).value = '';
  $('password').value = '';
  loginMessages.clear();
  showStep('step-password', steps, $('password'));
});
