// The portal's account page: profile (PATCH /me), email verification, password change, second
// factors (authenticator app with QR code, email codes, security keys and passkeys, backup codes),
// trusted devices, security events and sign-out. Every call is a public /api/v1/me… operation
// with the bearer token from portal-session.js.
import { $, ApiError, describeUserAgent, el, formatDate, FormMessages, messageFor, onSubmit, page, t } from './core.js';
import { authApi, clearSession, hasSession, SessionEnded } from './portal-session.js';
import { createCredential, isCancelled, webauthnSupported } from './webauthn.js';

const profileFields = ['first_name', 'last_name', 'display_name', 'phone', 'locale', 'timezone'];
const state = { profile: null, mfa: null, eventsBefore: null };

function endSession() {
  clearSession();
  window.location.replace('/portal/login?expired=1');
}

/** Errors from any action: a lost session goes back to sign-in, the rest are shown in `messages`. */
function report(messages, error, fieldIds) {
  if (error instanceof SessionEnded) return endSession();
  return messages.apiError(error, fieldIds);
}

function handle(form, prefix, handler, fieldIds) {
  const messages = new FormMessages(form, prefix);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (messages.busy) return;
    messages.clear();
    messages.run(() => handler(messages)).catch((error) => report(messages, error, fieldIds));
  });
  return messages;
}

/** A button that runs an action with busy state and reports errors into `messages`. */
function action(button, messages, work) {
  button.addEventListener('click', () => {
    if (button.getAttribute('aria-disabled') === 'true' || messages.busy) return;
    messages.clear();
    button.setAttribute('aria-disabled', 'true');
    messages.busy = true;
    Promise.resolve()
      .then(work)
      .catch((error) => report(messages, error))
      .finally(() => {
        messages.busy = false;
        button.removeAttribute('aria-disabled');
      });
  });
}

// Re-authentication: actions that change a second factor need the current password. A modal
// <dialog> asks for it; the action runs with it, and a wrong password is reported in the dialog.
const reauthDialog = $('reauth');
const reauthMessages = new FormMessages($('reauth-form'), 'reauth');
let reauthPending = null;

function withPassword(run) {
  return new Promise((resolve, reject) => {
    const opener = document.activeElement;
    reauthMessages.clear();
    $('reauth-password').value = '';
    reauthPending = { run, resolve, reject, opener };
    reauthDialog.showModal();
    $('reauth-password').focus();
  });
}

function closeReauth(result, error) {
  const pending = reauthPending;
  reauthPending = null;
  if (reauthDialog.open) reauthDialog.close();
  $('reauth-password').value = '';
  if (!pending) return;
  if (pending.opener && typeof pending.opener.focus === 'function' && document.contains(pending.opener)) pending.opener.focus();
  if (error) pending.reject(error);
  else pending.resolve(result);
}

$('reauth-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (!reauthPending || reauthMessages.busy) return;
  reauthMessages.clear();
  const password = $('reauth-password').value;
  if (!password) {
    reauthMessages.fieldError('reauth-password', t('common.field_required'));
    $('reauth-password').focus();
    return;
  }
  reauthMessages
    .run(async () => {
      try {
        closeReauth(await reauthPending.run(password));
      } catch (error) {
        if (error instanceof ApiError && error.status === 400 && error.detail === 'Current password is incorrect') {
          reauthMessages.fieldError('reauth-password', messageFor(error));
          reauthMessages.error(messageFor(error));
          $('reauth-password').value = '';
          $('reauth-password').focus();
          return;
        }
        closeReauth(null, error);
      }
    })
    .catch(() => undefined);
});
$('reauth-cancel').addEventListener('click', () => closeReauth(null));
reauthDialog.addEventListener('cancel', (event) => {
  event.preventDefault();
  closeReauth(null);
});

// Profile.
function renderProfile(profile) {
  state.profile = profile;
  $('account-identity').textContent = t('account.signed_in_as', { email: profile.email, tenant: profile.tenant_slug });
  for (const name of profileFields) $(name).value = profile[name] ?? '';
  $('email-address').textContent = profile.email;
  $('password-username').value = profile.email;
  const badge = $('email-badge');
  badge.textContent = profile.email_verified ? t('account.email_verified') : t('account.email_unverified');
  badge.className = profile.email_verified ? 'badge ok' : 'badge warn';
  $('send-verification').hidden = profile.email_verified;
}

const profileMessages = handle($('profile-form'), 'profile', async (messages) => {
  const body = {};
  for (const name of profileFields) {
    const value = $(name).value.trim();
    body[name] = value === '' ? null : value;
  }
  renderProfile(await authApi('PATCH', '/api/v1/me', { body }));
  messages.status(t('account.profile_saved'));
});

const verifyMessages = new FormMessages(null, 'verify');
action($('send-verification'), verifyMessages, async () => {
  const reply = await authApi('POST', '/api/v1/me/verify-email');
  verifyMessages.status(/already/i.test(reply.message) ? t('account.already_verified') : t('account.verification_sent', { email: state.profile.email }));
});

// Password.
handle($('password-form'), 'pwchange', async (messages) => {
  if (!messages.validate(['current_password', 'new_password', 'confirm_password'])) return;
  if ($('new_password').value !== $('confirm_password').value) {
    messages.fieldError('confirm_password', t('account.passwords_differ'));
    messages.error(t('common.form_has_errors'));
    $('confirm_password').focus();
    return;
  }
  try {
    await authApi('POST', '/api/v1/me/password', { body: { current_password: $('current_password').value, new_password: $('new_password').value } });
  } catch (error) {
    if (error instanceof ApiError && error.detail === 'Current password is incorrect') {
      messages.fieldError('current_password', messageFor(error));
      messages.error(messageFor(error));
      $('current_password').value = '';
      $('current_password').focus();
      return;
    }
    throw error;
  }
  for (const id of ['current_password', 'new_password', 'confirm_password']) $(id).value = '';
  messages.status(t('account.password_changed'));
  // Trusted devices were revoked with the password change.
  void loadDevices();
  void loadEvents(true);
});

// Second factors.
const mfaMessages = new FormMessages(null, 'mfa');

function renderMfa(status) {
  state.mfa = status;
  const allowed = new Set(status.allowed_methods);
  $('mfa-summary').textContent = [status.mfa_enabled ? t('account.mfa_on') : t('account.mfa_off'), status.mfa_required ? t('account.mfa_required') : ''].filter(Boolean).join(' ');
  $('mfa-summary').className = status.mfa_enabled ? 'summary ok' : 'summary warn';

  $('totp-panel').hidden = !allowed.has('totp') && !status.totp_enabled;
  $('totp-state').textContent = status.totp_enabled ? t('account.totp_enabled_since', { date: formatDate(status.totp_confirmed_at) }) : '';
  $('totp-start').hidden = status.totp_enabled || !$('totp-confirm-form').hidden;
  $('totp-remove').hidden = !status.totp_enabled;

  $('email-mfa-panel').hidden = !allowed.has('email') && !status.email_enabled;
  $('email-mfa-state').textContent = status.email_enabled ? t('account.email_mfa_on') : t('account.email_mfa_off');
  $('email-mfa-state').className = status.email_enabled ? 'badge ok' : 'badge';
  $('email-mfa-toggle').textContent = status.email_enabled ? t('account.email_mfa_disable') : t('account.email_mfa_enable');

  $('webauthn-panel').hidden = !allowed.has('webauthn') && status.webauthn_credentials === 0;

  $('backup-panel').hidden = !allowed.has('backup_code') && status.backup_codes_remaining === 0;
  $('backup-state').textContent = status.backup_codes_remaining > 0 ? t('account.backup_remaining', { count: status.backup_codes_remaining }) : t('account.backup_none');
}

async function loadMfa() {
  try {
    renderMfa(await authApi('GET', '/api/v1/me/mfa'));
    if (!$('webauthn-panel').hidden) await loadCredentials();
  } catch (error) {
    if (error instanceof SessionEnded) throw error;
    for (const id of ['totp-panel', 'email-mfa-panel', 'webauthn-panel', 'backup-panel']) $(id).hidden = true;
    $('mfa-summary').textContent = t('account.mfa_unavailable');
  }
}

action($('totp-start'), mfaMessages, async () => {
  const enrolment = await withPassword((current_password) => authApi('POST', '/api/v1/me/mfa/totp', { body: { current_password } }));
  if (!enrolment) return;
  if (/^data:image\/png;base64,/.test(enrolment.qr_code)) $('totp-qr').src = enrolment.qr_code;
  $('totp-qr').alt = t('account.totp_qr_alt', { tenant: state.profile ? state.profile.tenant_slug : '' });
  $('totp-secret').textContent = enrolment.secret.replace(/(.{4})(?=.)/g, '$1 ');
  $('totp-secret').dataset.secret = enrolment.secret;
  $('totp-confirm-form').hidden = false;
  $('totp-start').hidden = true;
  $('totp-code').value = '';
  $('totp-code').focus();
});

handle($('totp-confirm-form'), 'totp', async (messages) => {
  const code = $('totp-code').value.replace(/\s+/g, '');
  if (!code) {
    messages.fieldError('totp-code', t('common.field_required'));
    messages.error(t('common.form_has_errors'));
    $('totp-code').focus();
    return;
  }
  let status;
  try {
    status = await authApi('POST', '/api/v1/me/mfa/totp/confirm', { body: { code } });
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) {
      messages.fieldError('totp-code', messageFor(error));
      $('totp-code').value = '';
      $('totp-code').focus();
    }
    throw error;
  }
  hideTotpForm();
  renderMfa(status);
  mfaMessages.status(t('account.totp_enabled'));
  $('mfa-summary').focus();
  void loadEvents(true);
});

function hideTotpForm() {
  $('totp-confirm-form').hidden = true;
  $('totp-qr').removeAttribute('src');
  $('totp-secret').textContent = '';
  delete $('totp-secret').dataset.secret;
}

$('totp-cancel').addEventListener('click', () => {
  hideTotpForm();
  $('totp-start').hidden = false;
  $('totp-start').focus();
});

action($('totp-remove'), mfaMessages, async () => {
  const status = await withPassword((current_password) => authApi('DELETE', '/api/v1/me/mfa/totp', { body: { current_password } }));
  if (!status) return;
  renderMfa(status);
  mfaMessages.status(t('account.totp_removed'));
  $('totp-start').focus();
  void loadEvents(true);
});

action($('email-mfa-toggle'), mfaMessages, async () => {
  const enable = !state.mfa.email_enabled;
  const status = await withPassword((current_password) => authApi(enable ? 'POST' : 'DELETE', '/api/v1/me/mfa/email', { body: { current_password } }));
  if (!status) return;
  renderMfa(status);
  mfaMessages.status(enable ? t('account.email_mfa_enabled') : t('account.email_mfa_disabled'));
  void loadEvents(true);
});

// Security keys and passkeys.
const webauthnMessages = new FormMessages($('webauthn-form'), 'webauthn');

function renderCredentials(credentials) {
  const list = $('webauthn-list');
  if (credentials.length === 0) {
    list.replaceChildren(el('li', { class: 'empty', text: t('account.webauthn_none') }));
    return;
  }
  list.replaceChildren(
    ...credentials.map((credential) => {
      const details = [t('account.webauthn_added_on', { date: formatDate(credential.created_at) })];
      if (credential.last_used_at) details.push(t('account.webauthn_last_used', { date: formatDate(credential.last_used_at) }));
      const rename = el('button', { type: 'button', class: 'secondary small', text: t('common.rename'), 'aria-label': `${t('common.rename')}: ${credential.name}` });
      const remove = el('button', { type: 'button', class: 'danger small', text: t('common.remove'), 'aria-label': `${t('common.remove')}: ${credential.name}` });
      const item = el('li', {}, el('div', { class: 'item-main' }, el('strong', { text: credential.name }), el('span', { class: 'meta', text: details.join(' · ') })), el('div', { class: 'item-actions' }, rename, remove));
      rename.addEventListener('click', () => showRename(item, credential));
      action(remove, webauthnMessages, async () => {
        const status = await withPassword((current_password) =>
          authApi('DELETE', `/api/v1/me/mfa/webauthn/credentials/${encodeURIComponent(credential.id)}`, { body: { current_password } }),
        );
        if (!status) return;
        renderMfa(status);
        await loadCredentials();
        webauthnMessages.status(t('account.webauthn_removed'));
        $('webauthn-name').focus();
      });
      return item;
    }),
  );
}

function showRename(item, credential) {
  const inputId = `rename-${credential.id}`;
  const input = el('input', { id: inputId, type: 'text', maxlength: '64', value: credential.name, 'aria-describedby': `${inputId}-error` });
  const form = el(
    'form',
    { class: 'inline-form', novalidate: true },
    el('label', { for: inputId, text: t('account.webauthn_rename_label', { name: credential.name }) }),
    input,
    el('p', { class: 'field-error', id: `${inputId}-error` }),
    el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary small', text: t('common.save') }), el('button', { type: 'button', class: 'secondary small', text: t('common.cancel'), onclick: () => loadCredentials() })),
  );
  item.replaceChildren(form);
  input.focus();
  input.select();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) {
      input.setAttribute('aria-invalid', 'true');
      $(`${inputId}-error`).textContent = t('common.field_required');
      input.focus();
      return;
    }
    authApi('PATCH', `/api/v1/me/mfa/webauthn/credentials/${encodeURIComponent(credential.id)}`, { body: { name } })
      .then(async () => {
        await loadCredentials();
        webauthnMessages.status(t('account.webauthn_renamed'));
      })
      .catch((error) => report(webauthnMessages, error));
  });
}

async function loadCredentials() {
  const reply = await authApi('GET', '/api/v1/me/mfa/webauthn/credentials');
  renderCredentials(reply.credentials);
}

handle($('webauthn-form'), 'webauthn', async (messages) => {
  if (!webauthnSupported()) {
    messages.error(t('account.webauthn_unsupported'));
    return;
  }
  const name = $('webauthn-name').value.trim() || null;
  const challenge = await withPassword((current_password) => authApi('POST', '/api/v1/me/mfa/webauthn/registration/options', { body: { current_password } }));
  if (!challenge) return;
  let credential;
  try {
    credential = await createCredential(challenge.options);
  } catch (error) {
    messages.error(isCancelled(error) || error instanceof DOMException ? t('account.webauthn_cancelled') : messageFor(error));
    return;
  }
  await authApi('POST', '/api/v1/me/mfa/webauthn/registration', { body: { challenge_id: challenge.challenge_id, credential, name } });
  $('webauthn-name').value = '';
  await loadMfa();
  messages.status(t('account.webauthn_added'));
  void loadEvents(true);
});

// Backup codes.
action($('backup-generate'), mfaMessages, async () => {
  const reply = await withPassword((current_password) => authApi('POST', '/api/v1/me/mfa/backup-codes', { body: { current_password } }));
  if (!reply) return;
  $('backup-codes-list').replaceChildren(...reply.codes.map((code) => el('li', {}, el('code', { text: code }))));
  $('backup-codes').hidden = false;
  $('backup-codes-note').setAttribute('tabindex', '-1');
  $('backup-codes-note').focus();
  renderMfa(await authApi('GET', '/api/v1/me/mfa'));
  void loadEvents(true);
});

// Trusted devices.
const deviceMessages = new FormMessages(null, 'devices');

async function loadDevices() {
  let reply;
  try {
    reply = await authApi('GET', '/api/v1/me/mfa/trusted-devices');
  } catch (error) {
    if (error instanceof SessionEnded) throw error;
    $('devices').hidden = true;
    return;
  }
  const list = $('device-list');
  $('devices-revoke-all').hidden = reply.devices.length === 0;
  if (reply.devices.length === 0) {
    list.replaceChildren(el('li', { class: 'empty', text: t('account.devices_none') }));
    return;
  }
  list.replaceChildren(
    ...reply.devices.map((device) => {
      const label = device.device_fingerprint || describeUserAgent(device.user_agent || '') || t('account.device_unnamed');
      const revoke = el('button', { type: 'button', class: 'danger small', text: t('common.revoke'), 'aria-label': `${t('common.revoke')}: ${label}` });
      action(revoke, deviceMessages, async () => {
        await authApi('DELETE', `/api/v1/me/mfa/trusted-devices/${encodeURIComponent(device.id)}`);
        await loadDevices();
        deviceMessages.status(t('account.devices_revoked'));
        $('devices-title').focus();
      });
      const meta = [t('account.device_added', { date: formatDate(device.created_at) }), t('account.device_expires', { date: formatDate(device.expires_at) })].join(' · ');
      return el('li', {}, el('div', { class: 'item-main' }, el('strong', { text: label }), el('span', { class: 'meta', text: meta })), el('div', { class: 'item-actions' }, revoke));
    }),
  );
}

action($('devices-revoke-all'), deviceMessages, async () => {
  await authApi('DELETE', '/api/v1/me/mfa/trusted-devices');
  await loadDevices();
  deviceMessages.status(t('account.devices_all_revoked'));
  $('devices-title').focus();
});

// Authorized apps (the consents given on the OpenID provider's consent page).
const appMessages = new FormMessages(null, 'apps');

async function loadApps() {
  let reply;
  try {
    reply = await authApi('GET', '/api/v1/me/authorized-apps');
  } catch (error) {
    if (error instanceof SessionEnded) throw error;
    $('apps').hidden = true;
    return;
  }
  const list = $('app-list');
  if (reply.items.length === 0) {
    list.replaceChildren(el('li', { class: 'empty', text: t('account.apps_none') }));
    return;
  }
  list.replaceChildren(
    ...reply.items.map((app) => {
      const revoke = el('button', { type: 'button', class: 'danger small', text: t('common.revoke'), 'aria-label': `${t('common.revoke')}: ${app.name}` });
      action(revoke, appMessages, async () => {
        await authApi('DELETE', `/api/v1/me/authorized-apps/${encodeURIComponent(app.client_id)}`);
        await loadApps();
        appMessages.status(t('account.apps_revoked'));
        $('apps-title').focus();
      });
      const meta = t('account.app_granted', { date: formatDate(app.granted_at), scopes: app.scopes.join(' ') });
      return el('li', {}, el('div', { class: 'item-main' }, el('strong', { text: app.name }), el('span', { class: 'meta', text: meta })), el('div', { class: 'item-actions' }, revoke));
    }),
  );
}

// Active sessions (GET /api/v1/me/sessions): device, address, last seen, and a revoke button.
const signinMessages = new FormMessages(null, 'signins');

async function loadSignins() {
  let reply;
  try {
    reply = await authApi('GET', '/api/v1/me/sessions');
  } catch (error) {
    if (error instanceof SessionEnded) throw error;
    $('signins').hidden = true;
    return;
  }
  const list = $('signin-list');
  if (reply.items.length === 0) {
    list.replaceChildren(el('li', { class: 'empty', text: t('account.signins_none') }));
    return;
  }
  list.replaceChildren(
    ...reply.items.map((session) => {
      const device = describeUserAgent(session.user_agent || '') || t('account.device_unnamed');
      const label = session.client_id ? `${device} · ${session.client_id}` : device;
      const revoke = el('button', { type: 'button', class: 'danger small', text: t('common.revoke'), 'aria-label': `${t('common.revoke')}: ${label}` });
      action(revoke, signinMessages, async () => {
        await authApi('DELETE', `/api/v1/me/sessions/${encodeURIComponent(session.id)}`);
        if (session.current) throw new SessionEnded();
        await loadSignins();
        signinMessages.status(t('account.signin_revoked'));
        $('signins-title').focus();
      });
      const meta = t('account.signin_meta', { ip: session.client_ip || '?', date: formatDate(session.last_seen_at) });
      const main = el('div', { class: 'item-main' }, el('strong', { text: label }), el('span', { class: 'meta', text: meta }));
      if (session.current) main.append(el('span', { class: 'badge', text: t('account.signin_current') }));
      return el('li', { 'data-session-id': session.id }, main, el('div', { class: 'item-actions' }, revoke));
    }),
  );
}

// Security events.
const eventMessages = new FormMessages(null, 'events');

function eventLabel(type) {
  const key = `event.${type}`;
  return Object.prototype.hasOwnProperty.call(page.messages, key) ? t(key) : type;
}

async function loadEvents(reset = false) {
  let reply;
  try {
    reply = await authApi('GET', '/api/v1/me/security-events', { query: { limit: 10, before: reset ? null : state.eventsBefore } });
  } catch (error) {
    if (error instanceof SessionEnded) throw error;
    $('events-table').hidden = true;
    $('events-more').hidden = true;
    eventMessages.status(t('account.events_none'));
    return;
  }
  const rows = reply.events.map((event) =>
    el(
      'tr',
      {},
      el('td', { text: eventLabel(event.type) }),
      el('td', {}, el('span', { class: event.outcome === 'success' ? 'badge ok' : 'badge bad', text: event.outcome === 'success' ? t('account.event_success') : t('account.event_failure') })),
      el('td', {}, el('time', { datetime: event.created_at, text: formatDate(event.created_at) })),
      el('td', { text: event.client_ip || '—' }),
      el('td', { title: event.user_agent || '', text: event.user_agent ? describeUserAgent(event.user_agent) : '—' }),
    ),
  );
  const body = $('events-body');
  if (reset) body.replaceChildren(...rows);
  else body.append(...rows);
  if (body.children.length === 0) body.replaceChildren(el('tr', {}, el('td', { colspan: '5', class: 'empty', text: t('account.events_none') })));
  state.eventsBefore = reply.next_before;
  $('events-more').hidden = !reply.next_before;
}

action($('events-more'), eventMessages, () => loadEvents(false));

// Sign out.
$('sign-out').addEventListener('click', async () => {
  try {
    await authApi('POST', '/api/v1/auth/logout');
  } catch {
    // The session may already be gone; sign-out still ends it here.
  }
  clearSession();
  window.location.assign('/portal/login?signed_out=1');
});

async function start() {
  if (!hasSession()) {
    window.location.replace('/portal/login');
    return;
  }
  try {
    renderProfile(await authApi('GET', '/api/v1/me'));
    await Promise.all([loadMfa(), loadDevices(), loadApps(), loadSignins(), loadEvents(true)]);
  } catch (error) {
    if (error instanceof SessionEnded) return endSession();
    $('account-error').textContent = messageFor(error);
  } finally {
    $('account-content').setAttribute('aria-busy', 'false');
  }
  if (!webauthnSupported()) $('webauthn-form').hidden = true;
}

void profileMessages;
void start();
