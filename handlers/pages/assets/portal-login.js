// Portal sign-in across tenants, identify-first: POST /auth/identify → (choose a tenant when the
// email has several) → POST /auth/authenticate → (POST /auth/mfa/verify) → the account page.
import { $, api, ApiError, el, FormMessages, onSubmit, showStep, t } from './core.js';
import { EmailCodeSender } from './email-code.js';
import { clearSession, hasSession, saveTokens } from './portal-session.js';

const steps = ['step-email', 'step-tenant', 'step-password', 'step-mfa'];
const codeInputs = { totp: 'totp-code', email: 'email-code', backup_code: 'backup-code' };
const state = { email: '', flowToken: '', tenants: [], tenant: null, mfaToken: '', userId: '', method: '' };
// The portal has no send operation of its own; the tenant's send endpoint accepts portal MFA flows.
const emailCodes = new EmailCodeSender({ status: $('email-code-status'), button: $('resend-code'), onError: (error) => new FormMessages($('mfa-form'), 'mfa').apiError(error) });

const params = new URLSearchParams(window.location.search);
if (params.has('signed_out')) $('portal-notice').textContent = t('portal.signed_out');
else if (params.has('expired')) $('portal-notice').textContent = t('portal.session_expired');
else if (hasSession()) window.location.replace('/portal/account');

function goToAccount() {
  window.location.assign('/portal/account');
}

function restart(message) {
  emailCodes.reset();
  Object.assign(state, { flowToken: '', tenants: [], tenant: null, mfaToken: '', userId: '', method: '' });
  $('password').value = '';
  for (const id of Object.values(codeInputs)) $(id).value = '';
  showStep('step-email', steps, $('email'));
  if (message) $('identify-error').textContent = message;
}

for (const button of document.querySelectorAll('.change-email')) button.addEventListener('click', () => restart());

onSubmit($('email-form'), 'identify', async (messages) => {
  if (!messages.validate(['email'])) return;
  $('portal-notice').textContent = '';
  state.email = $('email').value.trim();
  const reply = await api('POST', '/api/v1/auth/identify', { body: { email: state.email } });
  state.flowToken = reply.flow_token;
  state.tenants = reply.tenants || [];
  if (reply.requires_tenant_selection && state.tenants.length > 1) {
    const options = $('tenant-options');
    options.replaceChildren(
      ...state.tenants.map((tenant, i) =>
        el('div', { class: 'radio' }, el('input', { type: 'radio', name: 'tenant', id: `tenant-${i}`, value: tenant.id }), el('label', { for: `tenant-${i}`, text: tenant.name })),
      ),
    );
    showStep('step-tenant', steps);
    return;
  }
  // No or one account: straight to the password (an unknown email fails there, like a wrong password).
  state.tenant = state.tenants[0] || null;
  showPasswordStep();
});

onSubmit($('tenant-form'), 'tenant', async (messages) => {
  const chosen = document.querySelector('#tenant-options input:checked');
  if (!chosen) {
    messages.error(t('portal.tenant_required'));
    const first = document.querySelector('#tenant-options input');
    if (first) first.focus();
    return;
  }
  state.tenant = state.tenants.find((tenant) => tenant.id === chosen.value) || null;
  showPasswordStep();
});

function showPasswordStep() {
  $('identity-line').textContent = state.tenant
    ? `${t('portal.signing_in_as', { email: state.email })} ${t('portal.at_tenant', { tenant: state.tenant.name })}`
    : t('portal.signing_in_as', { email: state.email });
  $('username-hint').value = state.email;
  const forgot = $('portal-forgot');
  forgot.hidden = !state.tenant;
  if (state.tenant) forgot.querySelector('a').href = `/t/${encodeURIComponent(state.tenant.slug)}/forgot-password`;
  showStep('step-password', steps, $('password'));
}

onSubmit($('password-form'), 'signin', async (messages) => {
  if (!messages.validate(['password'])) return;
  let reply;
  try {
    reply = await api('POST', '/api/v1/auth/authenticate', {
      body: { flow_token: state.flowToken, tenant_id: state.tenant ? state.tenant.id : null, password: $('password').value },
    });
  } catch (error) {
    if (error instanceof ApiError && error.status === 400 && /expired/i.test(error.detail || '')) {
      restart(t('errors.The sign-in flow has expired. Please start again.'));
      return;
    }
    if (error instanceof ApiError && error.status === 400 && error.detail === 'This verification method is not available') {
      // A second factor the portal cannot ask for (a security key): only the tenant's page can.
      messages.error(t('portal.webauthn_only'));
      return;
    }
    messages.apiError(error);
    $('password').value = '';
    $('password').focus();
    return;
  }
  if (reply.status === 'MFA_REQUIRED') {
    startMfa(reply, messages);
    return;
  }
  clearSession();
  saveTokens(reply);
  goToAccount();
});

function startMfa(reply, passwordMessages) {
  state.mfaToken = reply.mfa_token;
  state.userId = reply.user_id;
  // Security keys need the tenant's page (the portal's verify takes a code, not an assertion).
  const methods = (reply.available_methods || []).filter((m) => m in codeInputs && (m !== 'email' || state.tenant));
  if (state.tenant) emailCodes.use(state.tenant.slug, state.mfaToken, state.userId);
  if (methods.length === 0) {
    passwordMessages.error(t('mfa.no_method'));
    return;
  }
  for (const option of document.querySelectorAll('#mfa-methods .radio')) option.hidden = !methods.includes(option.dataset.method);
  $('mfa-methods').hidden = methods.length < 2;
  showStep('step-mfa', steps);
  selectMethod(methods[0], true);
}

function selectMethod(method, focus) {
  state.method = method;
  $(`method-${method}`).checked = true;
  for (const panel of document.querySelectorAll('#mfa-form .method-panel')) panel.hidden = panel.dataset.panel !== method;
  if (method === 'email') void emailCodes.sendOnce();
  if (focus) $(codeInputs[method]).focus();
}

for (const radio of document.querySelectorAll('#mfa-methods input[type="radio"]')) {
  radio.addEventListener('change', () => {
    if (radio.checked) selectMethod(radio.value, false);
  });
}

onSubmit($('mfa-form'), 'mfa', async (messages) => {
  const inputId = codeInputs[state.method];
  const code = $(inputId).value.trim();
  if (!code) {
    messages.fieldError(inputId, t('common.field_required'));
    messages.error(t('common.form_has_errors'));
    $(inputId).focus();
    return;
  }
  let reply;
  try {
    reply = await api('POST', '/api/v1/auth/mfa/verify', {
      // The portal's MFA answer carries no trusted-device token, so "trust this device" is only offered on the tenant pages.
      body: { mfa_token: state.mfaToken, user_id: state.userId, method: state.method, code },
    });
  } catch (error) {
    messages.apiError(error);
    $(inputId).value = '';
    $(inputId).setAttribute('aria-invalid', 'true');
    $(inputId).focus();
    return;
  }
  clearSession();
  saveTokens(reply);
  goToAccount();
});
