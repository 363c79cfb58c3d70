import { html, type Html } from './html.ts';
import { shell } from './layout.ts';
import type { PageLocale } from './i18n/index.ts';

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
  return shell({ locale: frame.locale, title, brand: frame.brand, path: frame.path, query: frame.query, body, ...(script ? { script: script.name, data: script.data } : {}) });
}

function errorLine(error: string | null): Html {
  return error ? html`<p class="form-error" role="alert" id="form-error">${error}</p>` : html``;
}

/** The platform's first page: the email only; the next page asks for the password. */
export function identifyPage(frame: PageFrame, o: { action: string; sealed: string; appName: string; email: string; error: string | null }): string {
  return page(frame, 'Sign in', html`<section class="card" aria-labelledby="title">
<h1 id="title">Sign in</h1>
<p>to continue to <strong>${o.appName}</strong></p>
${errorLine(o.error)}
<form method="post" action="${o.action}" class="oauth-identify">
<input type="hidden" name="request" value="${o.sealed}">
<input type="hidden" name="step" value="identify">
<div class="field"><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${o.email}"></div>
<button type="submit" class="primary continue">Continue</button>
</form>
</section>`);
}

export function signInPage(frame: PageFrame, o: { action: string; sealed: string; appName: string; email: string; error: string | null; tenants?: Array<{ slug: string; name: string }> }): string {
  // On the platform issuer the email was given on the page before; the tenant is chosen here when
  // the email has accounts in several (one account: a hidden field; none: an empty one).
  const platform = o.tenants !== undefined;
  const tenants = o.tenants ?? [];
  const tenantField = !platform
    ? html``
    : tenants.length > 1
      ? html`<div class="field"><label for="tenant">Organisation</label><select id="tenant" name="tenant">${tenants.map((t) => html`<option value="${t.slug}">${t.name}</option>`)}</select></div>`
      : html`<input type="hidden" name="tenant" value="${tenants[0]?.slug ?? ''}">`;
  const emailField = platform
    ? html`<input type="hidden" name="email" value="${o.email}"><p class="identity">${o.email}</p>`
    : html`<div class="field"><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${o.email}"></div>`;
  return page(frame, 'Sign in', html`<section class="card" aria-labelledby="title">
<h1 id="title">Sign in</h1>
<p>to continue to <strong>${o.appName}</strong></p>
${errorLine(o.error)}
<form method="post" action="${o.action}" class="oauth-sign-in">
<input type="hidden" name="request" value="${o.sealed}">
<input type="hidden" name="step" value="password">
${emailField}
${tenantField}
<div class="field"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
<button type="submit" class="primary login-submit">Sign in</button>
</form>
</section>`);
}

const methodLabels: Record<string, string> = {
  totp: 'Authenticator app code',
  webauthn: 'Security key or passkey',
  email: 'Code sent by email',
  backup_code: 'Backup code',
};

export function secondFactorPage(
  frame: PageFrame,
  o: { action: string; sealed: string; mfaToken: string; userId: string; methods: string[]; error: string | null; notice?: string | null; selected?: string; tenant?: string; webauthnBegin: string },
): string {
  const usable = Object.keys(methodLabels).filter((m) => o.methods.includes(m));
  const selected = o.selected && usable.includes(o.selected) ? o.selected : usable[0];
  const options = usable.map((m) => html`<option value="${m}"${m === selected ? html` selected` : ''}>${methodLabels[m]!}</option>`);
  const sendEmail = usable.includes('email')
    ? html`<button type="submit" name="step" value="send_email" class="secondary" formnovalidate>Send a code by email</button>`
    : '';
  return page(frame, 'Verify it is you', html`<section class="card" aria-labelledby="title">
<h1 id="title">Verify it is you</h1>
<p>Use one of your verification methods.</p>
${errorLine(o.error)}
${o.notice ? html`<p class="note" role="status">${o.notice}</p>` : ''}
<p class="form-error" role="alert" id="form-error-live"></p>
<form method="post" action="${o.action}" class="oauth-mfa">
<input type="hidden" name="request" value="${o.sealed}">
<input type="hidden" name="mfa_token" value="${o.mfaToken}">
<input type="hidden" name="user_id" value="${o.userId}">
<input type="hidden" name="methods" value="${o.methods.join(' ')}">
${o.tenant ? html`<input type="hidden" name="tenant" value="${o.tenant}">` : ''}
<div class="field"><label for="method">Method</label><select id="method" name="method">${options}</select></div>
<input type="hidden" name="credential" value="">
<input type="hidden" name="challenge_id" value="">
<div class="field"><label for="code">Code</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required></div>
<button type="submit" name="step" value="mfa" class="primary login-submit">Verify</button>
${sendEmail}
</form>
</section>`, { name: 'oauth-mfa', data: { webauthnBegin: o.webauthnBegin, cancelled: 'The security key prompt was cancelled. Try again or choose another method.', failed: 'The security key could not be used. Try again or choose another method.' } });
}

const scopeLabels: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your name and profile',
  email: 'See your email address',
  address: 'See your address',
  phone: 'See your phone number',
  offline_access: 'Stay signed in when you are not using it',
};

export function consentPage(frame: PageFrame, o: { action: string; sealed: string; appName: string; scopes: string[] }): string {
  const items = o.scopes.map((s) => html`<li>${scopeLabels[s] ?? s}</li>`);
  return page(frame, 'Allow access', html`<section class="card" aria-labelledby="title">
<h1 id="title">Allow ${o.appName}?</h1>
<p><strong>${o.appName}</strong> asks to:</p>
<ul class="scopes">${items}</ul>
<form method="post" action="${o.action}" class="oauth-consent">
<input type="hidden" name="request" value="${o.sealed}">
<input type="hidden" name="step" value="consent">
<button type="submit" name="decision" value="allow" class="primary login-submit">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
</section>`);
}

export function oauthErrorPage(frame: PageFrame, o: { error: string; description: string }): string {
  return page(frame, 'Sign-in error', html`<section class="card" aria-labelledby="title">
<h1 id="title">This sign-in request cannot be completed</h1>
<p class="form-error" role="alert">${o.description}</p>
<p>Error code: <code>${o.error}</code>. Return to the application and try again.</p>
</section>`);
}

export function expiredRequestPage(frame: PageFrame): string {
  return oauthErrorPage(frame, { error: 'invalid_request', description: 'This sign-in page has expired. Return to the application and start again.' });
}

export function logoutConfirmPage(frame: PageFrame, o: { action: string; fields: Record<string, string> }): string {
  const hidden = Object.entries(o.fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return page(frame, 'Sign out', html`<section class="card" aria-labelledby="title">
<h1 id="title">Sign out?</h1>
<form method="post" action="${o.action}">
${hidden}
<input type="hidden" name="confirm" value="yes">
<button type="submit" class="primary">Sign out</button>
</form>
</section>`);
}

export function loggedOutPage(frame: PageFrame): string {
  return page(frame, 'Signed out', html`<section class="card" aria-labelledby="title">
<h1 id="title">You are signed out</h1>
<p>You can close this window.</p>
</section>`);
}
