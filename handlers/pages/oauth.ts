import { html, type Html } from './html.ts';
import { shell } from './layout.ts';
import { translator, type MessageKey, type PageLocale } from './i18n/index.ts';

/**
 * The OpenID provider's hosted pages: sign-in, second factor, consent, errors and logout. Plain
 * HTML forms that work without JavaScript (and in the conformance suite's HtmlUnit browser); each
 * step posts the sealed authorization request back, so no server state is kept between pages.
 */
export interface PageFrame {
  locale: PageLocale;
  brand: string;
  path: string;
  query: Record<string, unknown>;
}

function page(frame: PageFrame, title: string, body: Html, script?: { name: string; data: Record<string, unknown> }): string {
  // These pages work without JavaScript: no "needs JavaScript" notice.
  return shell({ locale: frame.locale, title, brand: frame.brand, path: frame.path, query: frame.query, body, noScriptNotice: false, ...(script ? { script: script.name, data: script.data } : {}) });
}

const tr = (frame: PageFrame) => translator(frame.locale);

function errorLine(error: string | null): Html {
  return error ? html`<p class="form-error" role="alert" id="form-error">${error}</p>` : html``;
}

/** The platform's first page: the email only; the next page asks for the password. */
export function identifyPage(frame: PageFrame, o: { action: string; sealed: string; appName: string; email: string; error: string | null }): string {
  const t = tr(frame);
  return page(frame, t('oauth.sign_in'), html`<section class="card" aria-labelledby="title">
<h1 id="title">${t('oauth.sign_in')}</h1>
<p>${t('oauth.continue_to')} <strong>${o.appName}</strong></p>
${errorLine(o.error)}
<form method="post" action="${o.action}" class="oauth-identify">
<input type="hidden" name="request" value="${o.sealed}">
<input type="hidden" name="step" value="identify">
<div class="field"><label for="email">${t('oauth.email')}</label><input id="email" name="email" type="email" autocomplete="username" required value="${o.email}"></div>
<button type="submit" class="primary continue">${t('oauth.continue')}</button>
</form>
</section>`);
}

export function signInPage(frame: PageFrame, o: { action: string; sealed: string; appName: string; email: string; error: string | null; tenants?: Array<{ slug: string; name: string }> }): string {
  // On the platform issuer the email was given on the page before; the tenant is chosen here when
  // the email has accounts in several (one account: a hidden field; none: an empty one).
  const t = tr(frame);
  const platform = o.tenants !== undefined;
  const tenants = o.tenants ?? [];
  const tenantField = !platform
    ? html``
    : tenants.length > 1
      ? html`<div class="field"><label for="tenant">${t('oauth.organisation')}</label><select id="tenant" name="tenant">${tenants.map((tenant) => html`<option value="${tenant.slug}">${tenant.name}</option>`)}</select></div>`
      : html`<input type="hidden" name="tenant" value="${tenants[0]?.slug ?? ''}">`;
  const emailField = platform
    ? html`<input type="hidden" name="email" value="${o.email}"><p class="identity">${o.email}</p>`
    : html`<div class="field"><label for="email">${t('oauth.email')}</label><input id="email" name="email" type="email" autocomplete="username" required value="${o.email}"></div>`;
  return page(frame, t('oauth.sign_in'), html`<section class="card" aria-labelledby="title">
<h1 id="title">${t('oauth.sign_in')}</h1>
<p>${t('oauth.continue_to')} <strong>${o.appName}</strong></p>
${errorLine(o.error)}
<form method="post" action="${o.action}" class="oauth-sign-in">
<input type="hidden" name="request" value="${o.sealed}">
<input type="hidden" name="step" value="password">
${emailField}
${tenantField}
<div class="field"><label for="password">${t('oauth.password')}</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
<button type="submit" class="primary login-submit">${t('oauth.sign_in')}</button>
</form>
</section>`);
}

/** The second factors a form can answer, in the order offered. */
const methodLabels: Record<string, MessageKey> = {
  totp: 'oauth.method_totp',
  webauthn: 'oauth.method_webauthn',
  email: 'oauth.method_email',
  backup_code: 'oauth.method_backup_code',
};

export function secondFactorPage(
  frame: PageFrame,
  o: { action: string; sealed: string; mfaToken: string; userId: string; methods: string[]; error: string | null; notice?: 'email_sent' | null; selected?: string; tenant?: string; webauthnBegin: string },
): string {
  const t = tr(frame);
  const usable = Object.keys(methodLabels).filter((m) => o.methods.includes(m));
  const selected = o.selected && usable.includes(o.selected) ? o.selected : usable[0];
  const options = usable.map((m) => html`<option value="${m}"${m === selected ? html` selected` : ''}>${t(methodLabels[m]!)}</option>`);
  const sendEmail = usable.includes('email')
    ? html`<button type="submit" name="step" value="send_email" class="secondary" formnovalidate>${t('oauth.send_email')}</button>`
    : '';
  return page(frame, t('oauth.verify_title'), html`<section class="card" aria-labelledby="title">
<h1 id="title">${t('oauth.verify_title')}</h1>
<p>${t('oauth.verify_intro')}</p>
${errorLine(o.error)}
${o.notice === 'email_sent' ? html`<p class="note" role="status">${t('oauth.email_sent')}</p>` : ''}
<p class="form-error" role="alert" id="form-error-live"></p>
<form method="post" action="${o.action}" class="oauth-mfa">
<input type="hidden" name="request" value="${o.sealed}">
<input type="hidden" name="mfa_token" value="${o.mfaToken}">
<input type="hidden" name="user_id" value="${o.userId}">
<input type="hidden" name="methods" value="${o.methods.join(' ')}">
${o.tenant ? html`<input type="hidden" name="tenant" value="${o.tenant}">` : ''}
<div class="field"><label for="method">${t('oauth.method')}</label><select id="method" name="method">${options}</select></div>
<input type="hidden" name="credential" value="">
<input type="hidden" name="challenge_id" value="">
<div class="field"><label for="code">${t('oauth.code')}</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required></div>
<button type="submit" name="step" value="mfa" class="primary login-submit">${t('oauth.verify')}</button>
${sendEmail}
</form>
</section>`, { name: 'oauth-mfa', data: { webauthnBegin: o.webauthnBegin, cancelled: t('oauth.webauthn_cancelled'), failed: t('oauth.webauthn_failed') } });
}

const scopeLabels: Record<string, MessageKey> = {
  openid: 'oauth.scope_openid',
  profile: 'oauth.scope_profile',
  email: 'oauth.scope_email',
  address: 'oauth.scope_address',
  phone: 'oauth.scope_phone',
  offline_access: 'oauth.scope_offline_access',
};

export function consentPage(frame: PageFrame, o: { action: string; sealed: string; appName: string; scopes: string[] }): string {
  const t = tr(frame);
  const items = o.scopes.map((s) => html`<li>${scopeLabels[s] ? t(scopeLabels[s]) : s}</li>`);
  return page(frame, t('oauth.allow_title'), html`<section class="card" aria-labelledby="title">
<h1 id="title">${t('oauth.allow_heading', { app: o.appName })}</h1>
<p><strong>${o.appName}</strong> ${t('oauth.asks')}</p>
<ul class="scopes">${items}</ul>
<form method="post" action="${o.action}" class="oauth-consent">
<input type="hidden" name="request" value="${o.sealed}">
<input type="hidden" name="step" value="consent">
<button type="submit" name="decision" value="allow" class="primary login-submit">${t('oauth.allow')}</button>
<button type="submit" name="decision" value="deny" class="secondary">${t('oauth.deny')}</button>
</form>
</section>`);
}

/** `description` is the protocol's error description (English, as OAuth error bodies are). */
export function oauthErrorPage(frame: PageFrame, o: { error: string; description: string }): string {
  const t = tr(frame);
  return page(frame, t('oauth.error_title'), html`<section class="card" aria-labelledby="title">
<h1 id="title">${t('oauth.error_heading')}</h1>
<p class="form-error" role="alert">${o.description}</p>
<p>${t('oauth.error_code', { code: o.error })}</p>
</section>`);
}

export function expiredRequestPage(frame: PageFrame): string {
  return oauthErrorPage(frame, { error: 'invalid_request', description: tr(frame)('oauth.expired') });
}

export function tenantNotFoundPage(frame: PageFrame): string {
  return oauthErrorPage(frame, { error: 'invalid_request', description: tr(frame)('oauth.tenant_not_found') });
}

export function logoutConfirmPage(frame: PageFrame, o: { action: string; fields: Record<string, string> }): string {
  const t = tr(frame);
  const hidden = Object.entries(o.fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return page(frame, t('oauth.sign_out_title'), html`<section class="card" aria-labelledby="title">
<h1 id="title">${t('oauth.sign_out_heading')}</h1>
<form method="post" action="${o.action}">
${hidden}
<input type="hidden" name="confirm" value="yes">
<button type="submit" class="primary">${t('oauth.sign_out')}</button>
</form>
</section>`);
}

export function loggedOutPage(frame: PageFrame): string {
  const t = tr(frame);
  return page(frame, t('oauth.signed_out_heading'), html`<section class="card" aria-labelledby="title">
<h1 id="title">${t('oauth.signed_out_heading')}</h1>
<p>${t('oauth.signed_out_text')}</p>
</section>`);
}
