/**
 * The hosted pages, served by the server itself: per tenant (`/t/{slug}/…`: sign in with the MFA
 * step, register, forgot and reset password, email verification) and the cross-tenant portal
 * (`/portal/…`: identify-first sign-in and the account page).
 *
 * Server-rendered HTML shells (localised from Accept-Language) plus small vanilla ES modules and
 * one stylesheet from ./assets, no build step. The scripts call only the public API, the same
 * operations a third-party frontend would use. Every page response carries its own strict
 * Content-Security-Policy (the API's default is `default-src 'none'`).
 *
 * Mounted from `extraRoutes` of the real server (with a tenant directory, so shells can show the
 * tenant's name and whether it allows registration) and of the mock server (without one).
 */
import type express from 'express';
import type { Request, Response } from 'express';
import { assetPrefix, loadAssets, sendAsset } from './assets.ts';
import { negotiateLocale, translator, type PageLocale } from './i18n/index.ts';
import { shell } from './layout.ts';
import { brandingCss, brandingLogo, forgotBody, loginBody, registerBody, resetBody, signedInBody, tenantNotFoundBody, verifyBody, type PageBranding, type TenantView } from './views/tenant.ts';
import { portalAccountBody, portalLoginBody } from './views/portal.ts';
import type { Html } from './html.ts';

/** The part of the tenant service the shells use; absent in mock mode. */
export interface TenantDirectory {
  requireActiveBySlug(slug: string): Promise<{
    slug: string;
    name: string;
    settings: { self_registration: boolean; password_policy: { min_length: number } };
    branding?: PageBranding | null;
  }>;
}

export interface PagesOptions {
  tenants?: TenantDirectory;
}

/** The pages' policy: only our own scripts, styles and API; images from us or data: URLs (the TOTP QR code). */
export const pagesCsp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const slugPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function queryString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 2048 ? value : undefined;
}

function localeOf(req: Request): PageLocale {
  return negotiateLocale(req.headers['accept-language'], req.query.lang);
}

function sendPage(res: Response, status: number, locale: PageLocale, page: string, imageOrigin?: string): void {
  res.status(status);
  // A branded tenant's logo comes from its own https origin (validated), allowed for images only.
  res.setHeader('Content-Security-Policy', imageOrigin ? pagesCsp.replace("img-src 'self' data:", `img-src 'self' data: ${imageOrigin}`) : pagesCsp);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Vary', 'Accept-Language');
  res.setHeader('Content-Language', locale);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
  res.type('text/html; charset=utf-8').send(page);
}

/** Mounts the pages and their assets on the app (before the API router). */
export function mountPages(app: express.Express, options: PagesOptions = {}): void {
  const assets = loadAssets();

  async function tenantOf(slug: string): Promise<TenantView | null> {
    if (!slugPattern.test(slug)) return null;
    if (!options.tenants) return { slug, name: slug, selfRegistration: null, passwordMinLength: null };
    try {
      const tenant = await options.tenants.requireActiveBySlug(slug);
      return { slug: tenant.slug, name: tenant.name, selfRegistration: tenant.settings.self_registration, passwordMinLength: tenant.settings.password_policy.min_length, branding: tenant.branding ?? null };
    } catch (error) {
      if ((error as { status?: number }).status === 404) return null;
      throw error;
    }
  }

  type Translate = ReturnType<typeof translator>;
  type TenantPage = (args: { t: Translate; tenant: TenantView; redirectUri: string | undefined }) => { title: string; body: Html; script?: string; status?: number };

  const tenantPages: Record<string, TenantPage> = {
    login: ({ t, tenant, redirectUri }) => ({ title: t('login.title'), body: loginBody(t, tenant, redirectUri), script: 'tenant-login' }),
    'signed-in': ({ t, tenant }) => ({ title: t('signedin.title'), body: signedInBody(t, tenant) }),
    register: ({ t, tenant, redirectUri }) => ({
      title: t('register.title'),
      body: registerBody(t, tenant, redirectUri),
      script: tenant.selfRegistration === false ? undefined : 'tenant-register',
      status: tenant.selfRegistration === false ? 403 : 200,
    }),
    'forgot-password': ({ t, tenant, redirectUri }) => ({ title: t('forgot.title'), body: forgotBody(t, tenant, redirectUri), script: 'tenant-forgot' }),
    'reset-password': ({ t, tenant }) => ({ title: t('reset.title'), body: resetBody(t, tenant), script: 'tenant-reset' }),
    'verify-email': ({ t, tenant }) => ({ title: t('verify.title'), body: verifyBody(t, tenant), script: 'tenant-verify' }),
  };

  async function tenantPage(req: Request, res: Response, slug: string, build: TenantPage): Promise<void> {
    const locale = localeOf(req);
    const t = translator(locale);
    const tenant = await tenantOf(slug);
    const common = { locale, path: req.path, query: req.query as Record<string, unknown> };
    if (!tenant) {
      sendPage(res, 404, locale, shell({ ...common, title: t('tenant.not_found_title'), brand: 'ScaiKey', body: tenantNotFoundBody(t) }));
      return;
    }
    const redirectUri = queryString(req.query.redirect_uri);
    const built = build({ t, tenant, redirectUri });
    const data = { tenant: { slug: tenant.slug, name: tenant.name }, redirectUri: redirectUri ?? null };
    const logo = brandingLogo(tenant.branding);
    const branded = {
      brand: tenant.branding?.name ?? tenant.name,
      ...(logo ? { brandLogo: logo.url } : {}),
      ...(brandingCss(tenant.branding) ? { stylesheet: `/t/${tenant.slug}/branding.css` } : {}),
    };
    sendPage(res, built.status ?? 200, locale, shell({ ...common, title: built.title, script: built.script, data, body: built.body, ...branded }), logo?.origin);
  }

  const portalPages: Record<string, { title: (t: Translate) => string; body: (t: Translate) => Html; script: string; wide: boolean }> = {
    '/portal/login': { title: (t) => t('portal.login_title'), body: portalLoginBody, script: 'portal-login', wide: false },
    '/portal/account': { title: (t) => t('account.title'), body: portalAccountBody, script: 'portal-account', wide: true },
  };

  // One dispatcher on the raw path: nothing is percent-decoded, so a malformed or foreign path
  // simply is not a page and falls through to the API router (and its 404).
  app.use(async (req: Request, res: Response, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const path = req.path;

    const asset = /^\/pages\/assets\/([a-z0-9-]+\.[a-z]+)$/.exec(path);
    if (asset) {
      const file = assets.get(asset[1]!);
      if (!file) return next();
      sendAsset(req, res, file);
      return;
    }

    const brandingSheet = /^\/t\/([a-z0-9-]{1,63})\/branding\.css$/.exec(path);
    if (brandingSheet) {
      const tenant = await tenantOf(brandingSheet[1]!);
      if (!tenant) return next();
      res.setHeader('Cache-Control', 'public, max-age=60');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.type('text/css; charset=utf-8').send(brandingCss(tenant.branding));
      return;
    }

    const tenantMatch = /^\/t\/([A-Za-z0-9_.-]{1,100})(?:\/([a-z-]*))?\/?$/.exec(path);
    if (tenantMatch) {
      const [, slug, page] = tenantMatch as unknown as [string, string, string | undefined];
      if (!page) {
        const query = new URLSearchParams(req.query as Record<string, string>).toString();
        res.redirect(302, `/t/${slug}/login${query ? `?${query}` : ''}`);
        return;
      }
      const build = Object.hasOwn(tenantPages, page) ? tenantPages[page] : undefined;
      if (!build) return next();
      await tenantPage(req, res, slug, build);
      return;
    }

    const portalPath = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    if (portalPath === '/portal') {
      res.redirect(302, '/portal/account');
      return;
    }
    const portal = Object.hasOwn(portalPages, portalPath) ? portalPages[portalPath] : undefined;
    if (portal) {
      const locale = localeOf(req);
      const t = translator(locale);
      const page = shell({ locale, path, query: req.query as Record<string, unknown>, title: portal.title(t), brand: t('portal.title'), script: portal.script, body: portal.body(t), wide: portal.wide });
      sendPage(res, 200, locale, page);
      return;
    }
    next();
  });
}
