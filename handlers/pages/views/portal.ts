import { field, formMessages, html, type Html } from '../html.ts';
import type { MessageKey } from '../i18n/index.ts';
import { mfaCodePanels } from './mfa-panels.ts';

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;

const passwordToggle = (t: T) => ({ show: t('common.show'), hide: t('common.hide'), showLabel: t('common.show_password'), hideLabel: t('common.hide_password') });

/** Identify-first sign-in: email → organisation (when several) → password → second step. */
export function portalLoginBody(t: T): Html {
  return html`<div class="card">
<div class="form-status" id="portal-notice" role="status" aria-atomic="true"></div>
<section id="step-email" aria-labelledby="email-title">
<h1 id="email-title" tabindex="-1">${t('portal.login_title')}</h1>
<form id="email-form" novalidate>
${formMessages('identify')}
${field({ id: 'email', label: t('portal.email'), type: 'email', autocomplete: 'username', required: true, spellcheck: false, autocapitalize: 'none' })}
<button type="submit" class="primary">${t('portal.continue')}</button>
</form>
</section>
<section id="step-tenant" aria-labelledby="tenant-title" hidden>
<h1 id="tenant-title" tabindex="-1">${t('portal.tenant_title')}</h1>
<p class="subtitle" id="tenant-intro">${t('portal.tenant_intro')}</p>
<form id="tenant-form" novalidate>
${formMessages('tenant')}
<fieldset class="tenants" aria-describedby="tenant-intro"><legend>${t('portal.tenant_legend')}</legend>
<div id="tenant-options"></div>
</fieldset>
<button type="submit" class="primary">${t('portal.continue')}</button>
<button type="button" class="link change-email">${t('portal.change_email')}</button>
</form>
</section>
<section id="step-password" aria-labelledby="password-title" hidden>
<h1 id="password-title" tabindex="-1">${t('portal.password_title')}</h1>
<p class="subtitle" id="identity-line"></p>
<form id="password-form" novalidate>
${formMessages('signin')}
<input type="email" id="username-hint" name="username" autocomplete="username" hidden>
${field({ id: 'password', label: t('portal.password'), type: 'password', autocomplete: 'current-password', required: true, toggle: passwordToggle(t) })}
<button type="submit" class="primary">${t('portal.sign_in')}</button>
<button type="button" class="link change-email">${t('portal.change_email')}</button>
</form>
<p class="links" id="portal-forgot" hidden><a href="#">${t('portal.forgot')}</a></p>
</section>
<section id="step-mfa" aria-labelledby="mfa-title" hidden>
<h1 id="mfa-title" tabindex="-1">${t('mfa.title')}</h1>
<p class="subtitle" id="mfa-intro">${t('mfa.intro')}</p>
<form id="mfa-form" novalidate aria-describedby="mfa-intro">
${formMessages('mfa')}
<fieldset class="methods" id="mfa-methods"><legend>${t('mfa.method_legend')}</legend>
<div class="radio" data-method="totp" hidden><input type="radio" name="method" id="method-totp" value="totp"><label for="method-totp">${t('mfa.method.totp')}</label></div>
<div class="radio" data-method="email" hidden><input type="radio" name="method" id="method-email" value="email"><label for="method-email">${t('mfa.method.email')}</label></div>
<div class="radio" data-method="backup_code" hidden><input type="radio" name="method" id="method-backup_code" value="backup_code"><label for="method-backup_code">${t('mfa.method.backup_code')}</label></div>
</fieldset>
${mfaCodePanels(t)}
<div class="method-panel" data-panel="backup_code" hidden>
${field({ id: 'backup-code', label: t('mfa.backup_label'), hint: t('mfa.backup_hint'), autocomplete: 'off', maxlength: 32, spellcheck: false, autocapitalize: 'none' })}
</div>
<button type="submit" class="primary">${t('mfa.submit')}</button>
<button type="button" class="link change-email">${t('mfa.start_over')}</button>
</form>
</section>
</div>`;
}

function section(id: string, title: string, body: Html, description?: string): Html {
  return html`<section class="panel" id="${id}" aria-labelledby="${id}-title">
<h2 id="${id}-title" tabindex="-1">${title}</h2>
${description ? html`<p class="section-desc">${description}</p>` : ''}
${body}
</section>`;
}

/** The account page: every part is filled in by portal-account.js from the API. */
export function portalAccountBody(t: T): Html {
  const nav = [
    ['profile', t('account.profile')],
    ['security-password', t('account.password')],
    ['mfa', t('account.mfa')],
    ['devices', t('account.devices')],
    ['apps', t('account.apps')],
    ['signins', t('account.signins')],
    ['activity', t('account.sessions')],
  ].map(([id, label]) => html`<li><a href="#${id!}">${label!}</a></li>`);

  const profile = section(
    'profile',
    t('account.profile'),
    html`<form id="profile-form" novalidate>
${formMessages('profile')}
<div class="row">
${field({ id: 'first_name', label: t('account.first_name'), autocomplete: 'given-name', maxlength: 100 })}
${field({ id: 'last_name', label: t('account.last_name'), autocomplete: 'family-name', maxlength: 100 })}
</div>
${field({ id: 'display_name', label: t('account.display_name'), autocomplete: 'nickname', maxlength: 200 })}
${field({ id: 'phone', label: t('account.phone'), type: 'tel', autocomplete: 'tel', hint: t('account.phone_hint') })}
<div class="row">
${field({ id: 'locale', label: t('account.locale'), hint: t('account.locale_hint'), maxlength: 35, spellcheck: false })}
${field({ id: 'timezone', label: t('account.timezone'), hint: t('account.timezone_hint'), maxlength: 64, spellcheck: false })}
</div>
<button type="submit" class="primary">${t('common.save')}</button>
</form>
<div class="subpanel" id="email-panel">
<h3>${t('account.email')}</h3>
${formMessages('verify')}
<p><span id="email-address"></span> <span class="badge" id="email-badge"></span></p>
<button type="button" class="secondary" id="send-verification" hidden>${t('account.send_verification')}</button>
</div>`,
  );

  const password = section(
    'security-password',
    t('account.password'),
    html`<form id="password-form" novalidate>
${formMessages('pwchange')}
<input type="email" id="password-username" name="username" autocomplete="username" hidden>
${field({ id: 'current_password', label: t('account.current_password'), type: 'password', autocomplete: 'current-password', required: true, toggle: passwordToggle(t) })}
${field({ id: 'new_password', label: t('account.new_password'), type: 'password', autocomplete: 'new-password', required: true, hint: t('register.password_hint_generic'), toggle: passwordToggle(t) })}
${field({ id: 'confirm_password', label: t('account.confirm_password'), type: 'password', autocomplete: 'new-password', required: true })}
<button type="submit" class="primary">${t('account.change_password')}</button>
</form>`,
  );

  const mfa = section(
    'mfa',
    t('account.mfa'),
    html`${formMessages('mfa')}
<p id="mfa-summary" class="summary"></p>
<div class="subpanel" id="totp-panel" hidden>
<h3>${t('account.totp')}</h3>
<p class="section-desc">${t('account.totp_desc')}</p>
<p id="totp-state"></p>
<button type="button" class="secondary" id="totp-start">${t('account.totp_setup')}</button>
<button type="button" class="danger" id="totp-remove" hidden>${t('account.totp_remove')}</button>
<form id="totp-confirm-form" novalidate hidden>
<p>${t('account.totp_scan')}</p>
<img id="totp-qr" class="qr" alt="" width="200" height="200">
<p>${t('account.totp_secret')}</p>
<p><code id="totp-secret" class="secret"></code></p>
${formMessages('totp')}
${field({ id: 'totp-code', label: t('account.totp_code'), inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 10, spellcheck: false })}
<button type="submit" class="primary">${t('account.totp_confirm')}</button>
<button type="button" class="link" id="totp-cancel">${t('common.cancel')}</button>
</form>
</div>
<div class="subpanel" id="email-mfa-panel" hidden>
<h3>${t('account.email_mfa')}</h3>
<p class="section-desc">${t('account.email_mfa_desc')}</p>
<p><span class="badge" id="email-mfa-state"></span></p>
<button type="button" class="secondary" id="email-mfa-toggle"></button>
</div>
<div class="subpanel" id="webauthn-panel" hidden>
<h3>${t('account.webauthn')}</h3>
<p class="section-desc">${t('account.webauthn_desc')}</p>
<ul class="items" id="webauthn-list"></ul>
<form id="webauthn-form" novalidate>
${formMessages('webauthn')}
${field({ id: 'webauthn-name', label: t('account.webauthn_name'), hint: t('account.webauthn_name_hint'), maxlength: 64 })}
<button type="submit" class="secondary">${t('account.webauthn_add')}</button>
</form>
</div>
<div class="subpanel" id="backup-panel" hidden>
<h3>${t('account.backup')}</h3>
<p class="section-desc">${t('account.backup_desc')}</p>
<p id="backup-state"></p>
<div id="backup-codes" hidden>
<p class="note" id="backup-codes-note">${t('account.backup_generated')}</p>
<ol class="codes" id="backup-codes-list" aria-label="${t('account.backup_list')}" aria-describedby="backup-codes-note"></ol>
</div>
<button type="button" class="secondary" id="backup-generate">${t('account.backup_generate')}</button>
</div>`,
  );

  const devices = section(
    'devices',
    t('account.devices'),
    html`${formMessages('devices')}
<ul class="items" id="device-list"></ul>
<button type="button" class="danger" id="devices-revoke-all" hidden>${t('account.devices_revoke_all')}</button>`,
    t('account.devices_desc'),
  );

  const apps = section(
    'apps',
    t('account.apps'),
    html`${formMessages('apps')}
<ul class="items" id="app-list"></ul>`,
    t('account.apps_desc'),
  );

  const signins = section(
    'signins',
    t('account.signins'),
    html`${formMessages('signins')}
<ul class="items" id="signin-list"></ul>`,
    t('account.signins_desc'),
  );

  const activity = section(
    'activity',
    t('account.sessions'),
    html`${formMessages('events')}
<p class="note">${t('account.this_session')}</p>
<div class="table-wrap">
<table id="events-table">
<caption class="visually-hidden">${t('account.sessions')}</caption>
<thead><tr><th scope="col">${t('account.event')}</th><th scope="col">${t('account.event_result')}</th><th scope="col">${t('account.event_when')}</th><th scope="col">${t('account.event_where')}</th><th scope="col">${t('account.event_device')}</th></tr></thead>
<tbody id="events-body"></tbody>
</table>
</div>
<button type="button" class="secondary" id="events-more" hidden>${t('account.events_more')}</button>`,
    t('account.sessions_desc'),
  );

  return html`<div class="account-head">
<div>
<h1 id="account-title" tabindex="-1">${t('account.title')}</h1>
<p class="subtitle" id="account-identity">${t('common.loading')}</p>
</div>
<button type="button" class="secondary" id="sign-out">${t('account.sign_out')}</button>
</div>
<div class="form-error" id="account-error" role="alert" aria-atomic="true"></div>
<nav aria-label="${t('account.nav_label')}" class="section-nav"><ul>${nav}</ul></nav>
<div id="account-content" aria-busy="true">
${profile}
${password}
${mfa}
${devices}
${apps}
${signins}
${activity}
</div>
<dialog id="reauth" aria-labelledby="reauth-title" aria-describedby="reauth-body">
<form id="reauth-form" method="dialog" novalidate>
<h2 id="reauth-title">${t('account.reauth_title')}</h2>
<p id="reauth-body">${t('account.reauth_body')}</p>
${formMessages('reauth')}
${field({ id: 'reauth-password', label: t('account.current_password'), type: 'password', autocomplete: 'current-password', required: true })}
<div class="actions">
<button type="submit" class="primary" value="confirm">${t('account.reauth_submit')}</button>
<button type="button" class="secondary" id="reauth-cancel">${t('common.cancel')}</button>
</div>
</form>
</dialog>`;
}
