import { checkbox, field, formMessages, html, type Html } from '../html.ts';
import type { MessageKey } from '../i18n/index.ts';
import { mfaCodePanels } from './mfa-panels.ts';

type T = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** What the shells know about a tenant (all optional knowledge is null in mock mode). */
export interface TenantView {
  slug: string;
  name: string;
  /** null: unknown (mock mode); the register page then asks the API. */
  selfRegistration: boolean | null;
  passwordMinLength: number | null;
  /** The tenant's branding, validated on write (https logo, `#rrggbb` colours); absent: none. */
  branding?: PageBranding | null;
}

export interface PageBranding {
  name: string | null;
  logo_url: string | null;
  primary_color: string | null;
  background_color: string | null;
}

const colour = /^#[0-9a-fA-F]{6}$/;

/** The stylesheet of a tenant's colours; only `#rrggbb` values ever reach it (else empty). */
export function brandingCss(branding: PageBranding | null | undefined): string {
  const rules: string[] = [];
  if (branding?.primary_color && colour.test(branding.primary_color)) rules.push(`--primary:${branding.primary_color};--primary-hover:${branding.primary_color}`);
  if (branding?.background_color && colour.test(branding.background_color)) rules.push(`--bg:${branding.background_color}`);
  return rules.length ? `:root{${rules.join(';')}}\n@media (prefers-color-scheme: dark){:root{${rules.join(';')}}}\n` : '';
}

/** The logo's URL if it is an https URL (then its origin is allowed for images); else null. */
export function brandingLogo(branding: PageBranding | null | undefined): { url: string; origin: string } | null {
  if (!branding?.logo_url) return null;
  try {
    const url = new URL(branding.logo_url);
    return url.protocol === 'https:' ? { url: url.href, origin: url.origin } : null;
  } catch {
    return null;
  }
}

export const mfaMethods = ['totp', 'email', 'webauthn', 'backup_code'] as const;

/** Links between the tenant pages keep the application's `redirect_uri`. */
export function tenantHref(slug: string, page: string, redirectUri: string | undefined): string {
  const path = `/t/${encodeURIComponent(slug)}/${page}`;
  return redirectUri ? `${path}?${new URLSearchParams({ redirect_uri: redirectUri }).toString()}` : path;
}

const passwordToggle = (t: T) => ({ show: t('common.show'), hide: t('common.hide'), showLabel: t('common.show_password'), hideLabel: t('common.hide_password') });

export function loginBody(t: T, tenant: TenantView, redirectUri: string | undefined): Html {
  const methodRadios = mfaMethods.map(
    (m) => html`<div class="radio" data-method="${m}" hidden><input type="radio" name="method" id="method-${m}" value="${m}"><label for="method-${m}">${t(`mfa.method.${m}`)}</label></div>`,
  );
  return html`<div class="card">
<section id="step-password" aria-labelledby="login-title">
<h1 id="login-title" tabindex="-1">${t('login.title')}</h1>
<p class="subtitle">${t('tenant.subtitle', { tenant: tenant.name })}</p>
<form id="login-form" novalidate>
${formMessages('login')}
${field({ id: 'email', label: t('login.email'), type: 'email', autocomplete: 'username', required: true, spellcheck: false, autocapitalize: 'none' })}
${field({ id: 'password', label: t('login.password'), type: 'password', autocomplete: 'current-password', required: true, toggle: passwordToggle(t) })}
${checkbox('remember_me', t('login.remember_me'))}
<button type="submit" class="primary">${t('login.submit')}</button>
</form>
<p class="links"><a href="${tenantHref(tenant.slug, 'forgot-password', redirectUri)}" id="forgot-link">${t('login.forgot')}</a></p>
${tenant.selfRegistration === false ? '' : html`<p class="links">${t('login.no_account')} <a href="${tenantHref(tenant.slug, 'register', redirectUri)}">${t('login.register')}</a></p>`}
</section>
<section id="step-mfa" aria-labelledby="mfa-title" hidden>
<h1 id="mfa-title" tabindex="-1">${t('mfa.title')}</h1>
<p class="subtitle" id="mfa-intro">${t('mfa.intro')}</p>
<form id="mfa-form" novalidate aria-describedby="mfa-intro">
${formMessages('mfa')}
<fieldset class="methods" id="mfa-methods"><legend>${t('mfa.method_legend')}</legend>
${methodRadios}
</fieldset>
${mfaCodePanels(t)}
<div class="method-panel" data-panel="webauthn" hidden>
<p class="note" id="webauthn-hint">${t('mfa.webauthn_hint')}</p>
</div>
<div class="method-panel" data-panel="backup_code" hidden>
${field({ id: 'backup-code', label: t('mfa.backup_label'), hint: t('mfa.backup_hint'), autocomplete: 'off', maxlength: 32, spellcheck: false, autocapitalize: 'none' })}
</div>
${checkbox('trust_device', t('mfa.trust_device'))}
<button type="submit" class="primary">${t('mfa.submit')}</button>
<button type="button" class="link" id="mfa-restart">${t('mfa.start_over')}</button>
</form>
</section>
<section id="step-done" aria-labelledby="done-title" hidden>
<h1 id="done-title" tabindex="-1">${t('signedin.title')}</h1>
<p role="status" id="done-status"></p>
</section>
</div>`;
}

export function signedInBody(t: T, tenant: TenantView): Html {
  return html`<div class="card">
<h1>${t('signedin.title')}</h1>
<p>${t('signedin.body', { tenant: tenant.name })}</p>
<p class="links"><a href="/portal/account">${t('signedin.account')}</a></p>
</div>`;
}

export function registerBody(t: T, tenant: TenantView, redirectUri: string | undefined): Html {
  if (tenant.selfRegistration === false) {
    return html`<div class="card">
<h1>${t('register.title')}</h1>
<p class="form-error" role="alert">${t('register.disabled')}</p>
<p class="links">${t('register.have_account')} <a href="${tenantHref(tenant.slug, 'login', redirectUri)}">${t('register.sign_in')}</a></p>
</div>`;
  }
  const hint = tenant.passwordMinLength ? t('register.password_hint', { min: tenant.passwordMinLength }) : t('register.password_hint_generic');
  return html`<div class="card">
<h1 id="register-title" tabindex="-1">${t('register.title')}</h1>
<p class="subtitle">${t('tenant.subtitle', { tenant: tenant.name })}</p>
<form id="register-form" novalidate>
${formMessages('register')}
<div class="row">
${field({ id: 'first_name', label: t('register.first_name'), autocomplete: 'given-name', required: true, maxlength: 100 })}
${field({ id: 'last_name', label: t('register.last_name'), autocomplete: 'family-name', required: true, maxlength: 100 })}
</div>
${field({ id: 'email', label: t('register.email'), type: 'email', autocomplete: 'email', required: true, spellcheck: false, autocapitalize: 'none' })}
${field({ id: 'password', label: t('register.password'), type: 'password', autocomplete: 'new-password', required: true, hint, toggle: passwordToggle(t) })}
<button type="submit" class="primary">${t('register.submit')}</button>
</form>
<p class="links" id="register-signin">${t('register.have_account')} <a href="${tenantHref(tenant.slug, 'login', redirectUri)}">${t('register.sign_in')}</a></p>
</div>`;
}

export function forgotBody(t: T, tenant: TenantView, redirectUri: string | undefined): Html {
  return html`<div class="card">
<h1>${t('forgot.title')}</h1>
<p class="subtitle" id="forgot-intro">${t('forgot.intro')}</p>
<form id="forgot-form" novalidate aria-describedby="forgot-intro">
${formMessages('forgot')}
${field({ id: 'email', label: t('forgot.email'), type: 'email', autocomplete: 'username', required: true, spellcheck: false, autocapitalize: 'none' })}
<button type="submit" class="primary">${t('forgot.submit')}</button>
</form>
<div class="form-status" id="forgot-done" role="status" aria-atomic="true"></div>
<p class="links"><a href="${tenantHref(tenant.slug, 'login', redirectUri)}">${t('forgot.back')}</a></p>
</div>`;
}

export function resetBody(t: T, tenant: TenantView): Html {
  const hint = tenant.passwordMinLength ? t('register.password_hint', { min: tenant.passwordMinLength }) : t('register.password_hint_generic');
  return html`<div class="card">
<h1>${t('reset.title')}</h1>
<form id="reset-form" novalidate>
${formMessages('reset')}
${field({ id: 'new_password', label: t('reset.password'), type: 'password', autocomplete: 'new-password', required: true, hint, toggle: passwordToggle(t) })}
<button type="submit" class="primary">${t('reset.submit')}</button>
</form>
<p class="links" id="reset-links" hidden><a href="${tenantHref(tenant.slug, 'forgot-password', undefined)}" id="reset-request-new">${t('reset.request_new')}</a></p>
<p class="links" id="reset-signin" hidden><a href="${tenantHref(tenant.slug, 'login', undefined)}" class="button primary">${t('reset.sign_in')}</a></p>
</div>`;
}

export function verifyBody(t: T, tenant: TenantView): Html {
  return html`<div class="card">
<h1>${t('verify.title')}</h1>
<div class="form-error" id="verify-error" role="alert" aria-atomic="true"></div>
<div class="form-status" id="verify-status" role="status" aria-atomic="true">${t('verify.working')}</div>
<p class="links" id="verify-signin" hidden><a href="${tenantHref(tenant.slug, 'login', undefined)}" class="button primary">${t('verify.sign_in')}</a></p>
</div>`;
}

export function tenantNotFoundBody(t: T): Html {
  return html`<div class="card">
<h1>${t('tenant.not_found_title')}</h1>
<p>${t('tenant.not_found_body')}</p>
</div>`;
}
