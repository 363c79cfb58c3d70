/**
 * The OpenID provider's HTTP endpoints (one set per tenant issuer and one for the platform):
 * discovery, JWKS, authorize (GET and POST), the hosted sign-in and consent pages, token,
 * userinfo (GET and POST), revocation, introspection and RP-initiated logout. Protocol rules live
 * in domain/oauth/; this module only reads requests and writes their RFC-shaped answers.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { Logger } from 'pino';
import { ApiError } from './core/errors.ts';
import { OAuthError } from './core/oauth-errors.ts';
import type { ClientInfo } from './core/request-context.ts';
import type { AuthorizeOutcome } from './domain/oauth/authorization.ts';
import type { Issuer } from './domain/oauth/issuers.ts';
import type { OpenIdProvider, SignInStep } from './domain/oauth/provider.ts';
import { secureSessionCookieName, sessionCookieName } from './operations/authentication.ts';
import { negotiateLocale } from './pages/i18n/index.ts';
import { consentPage, expiredRequestPage, identifyPage, tenantNotFoundPage, loggedOutPage, logoutConfirmPage, oauthErrorPage, secondFactorPage, signInPage, type PageFrame } from './pages/oauth.ts';

interface Options {
  provider: OpenIdProvider;
  /** Each answered protocol operation (metrics; contract coverage in tests). */
  onOperation?: (event: { operationId: string; status: number; durationMs: number }) => void;
  logger: Logger;
  production: boolean;
  isHttps: (req: Request) => boolean;
}

const formBody = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 100, type: 'application/x-www-form-urlencoded' });
/** The pages' own policy: forms may post here, and the browser may follow their redirects to the app. */
const PAGE_CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'";

type IssuerOf = (req: Request) => Promise<Issuer | null>;

function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

function browserSecret(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  const cookies = parseCookie(header);
  return cookies[secureSessionCookieName] ?? cookies[sessionCookieName] ?? undefined;
}

function clientOf(req: Request): ClientInfo {
  return { clientIp: req.ip ?? '', userAgent: req.get('user-agent') ?? '' };
}

/** The query (GET) or form body (POST) of a protocol request; a repeated parameter stays an array. */
function paramsOf(req: Request): Record<string, unknown> {
  if (req.method === 'POST') return (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
  return req.query as Record<string, unknown>;
}

export function mountOpenIdProvider(app: express.Express, options: Options): void {
  const { provider, logger } = options;

  /**
   * The pages' language: `?lang=` (the language links), then `ui_locales` (OpenID Connect Core
   * §3.1.2.1, the first supported tag), then Accept-Language. The language links (relative:
   * `?…&lang=de`) keep what the page needs to be shown again: a GET authorization request's query,
   * or, on the sign-in steps (…/login), the sealed request.
   */
  const frameOf = (req: Request, brand: string, sealed?: string): PageFrame => {
    const params = paramsOf(req);
    const lang = typeof req.query['lang'] === 'string' ? req.query['lang'] : undefined;
    const uiLocales = typeof params['ui_locales'] === 'string' ? params['ui_locales'].split(' ').filter(Boolean) : [];
    const preferred = lang ?? uiLocales.find((tag) => negotiateLocale(undefined, tag) !== 'en' || tag.toLowerCase().startsWith('en'));
    const query = req.method === 'GET' ? (req.query as Record<string, unknown>) : {};
    return {
      locale: negotiateLocale(req.get('accept-language'), preferred),
      brand,
      path: req.path,
      query: sealed ? { request: sealed } : query,
    };
  };
  const brandOf = (issuer: Issuer | null) => (issuer?.kind === 'tenant' ? (issuer.tenant.branding?.name ?? issuer.tenant.name) : 'ScaiKey');

  function sendPage(res: Response, status: number, body: string): void {
    noStore(res);
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    res.status(status).type('html').send(body);
  }

  function sendOAuthError(res: Response, error: unknown, options: { bearer?: boolean; basic?: boolean } = {}): void {
    const oauth = toOAuthError(error, logger);
    noStore(res);
    if (options.bearer && (oauth.error === 'invalid_token' || oauth.error === 'insufficient_scope' || oauth.error === 'invalid_request')) {
      res.setHeader('WWW-Authenticate', `Bearer error="${oauth.error}", error_description="${oauth.description.replace(/"/g, "'")}"`);
    } else if (oauth.error === 'invalid_client' && options.basic) {
      res.setHeader('WWW-Authenticate', 'Basic realm="scaikey"');
    }
    if (oauth.status === 503) res.setHeader('Retry-After', '5');
    res.status(oauth.status).json(oauth.body);
  }

  function setSessionCookie(req: Request, res: Response, secret: string, maxAge: number): void {
    const secure = options.isHttps(req);
    res.appendHeader('Set-Cookie', stringifySetCookie(secure ? secureSessionCookieName : sessionCookieName, secret, {
      httpOnly: true, secure: secure || options.production, sameSite: 'lax', path: '/', maxAge, expires: new Date(Date.now() + maxAge * 1000),
    }));
  }

  function clearSessionCookie(req: Request, res: Response): void {
    const secure = options.isHttps(req);
    res.appendHeader('Set-Cookie', stringifySetCookie(secure ? secureSessionCookieName : sessionCookieName, '', {
      httpOnly: true, secure: secure || options.production, sameSite: 'lax', path: '/', maxAge: 0, expires: new Date(0),
    }));
  }

  function answerAuthorize(req: Request, res: Response, issuer: Issuer, outcome: AuthorizeOutcome, loginUrl: string): void {
    const frame = frameOf(req, brandOf(issuer));
    switch (outcome.kind) {
      case 'error-page':
        sendPage(res, 400, oauthErrorPage(frame, { error: outcome.error.error, description: outcome.error.description }));
        return;
      case 'redirect':
        noStore(res);
        res.redirect(303, outcome.location);
        return;
      case 'login':
        if (issuer.kind === 'platform') sendPage(res, 200, identifyPage(frame, { action: loginUrl, sealed: outcome.sealed, appName: outcome.app.name, email: outcome.request.loginHint ?? '', error: null }));
        else sendPage(res, 200, signInPage(frame, { action: loginUrl, sealed: outcome.sealed, appName: outcome.app.name, email: outcome.request.loginHint ?? '', error: null }));
        return;
      case 'consent':
        sendPage(res, 200, consentPage(frame, { action: loginUrl, sealed: outcome.sealed, appName: outcome.app.name, scopes: outcome.request.scope }));
    }
  }

  function answerStep(req: Request, res: Response, issuer: Issuer, step: SignInStep, loginUrl: string): void {
    const frame = frameOf(req, brandOf(issuer), step.kind !== 'expired' && step.kind !== 'done' ? step.sealed : undefined);
    switch (step.kind) {
      case 'expired':
        sendPage(res, 400, expiredRequestPage(frame));
        return;
      case 'identify':
        sendPage(res, 200, identifyPage(frame, { action: loginUrl, sealed: step.sealed, appName: step.app.name, email: step.email, error: step.error }));
        return;
      case 'password':
        sendPage(res, 200, signInPage(frame, { action: loginUrl, sealed: step.sealed, appName: step.app.name, email: step.email, error: step.error, ...(step.tenants ? { tenants: step.tenants } : {}) }));
        return;
      case 'mfa': {
        // The WebAuthn challenge comes from the hosted login API of the account's tenant.
        const slug = issuer.kind === 'tenant' ? issuer.tenant.slug : step.tenant ?? '';
        sendPage(res, 200, secondFactorPage(frame, {
          action: loginUrl, sealed: step.sealed, mfaToken: step.mfaToken, userId: step.userId, methods: step.methods, error: step.error,
          webauthnBegin: `/api/v1/auth/tenants/${encodeURIComponent(slug)}/mfa/webauthn/begin`,
          ...(step.tenant ? { tenant: step.tenant } : {}), ...(step.notice ? { notice: step.notice } : {}), ...(step.selected ? { selected: step.selected } : {}),
        }));
        return;
      }
        return;
      case 'done':
        if (step.sessionSecret) setSessionCookie(req, res, step.sessionSecret, step.sessionMaxAge);
        answerAuthorize(req, res, issuer, step.outcome, loginUrl);
    }
  }

  /** One issuer's endpoints, under its base path; `prefix` names its operations (`tenant`, `platform`). */
  function routes(router: express.Router, issuerOf: IssuerOf, paths: { oauth: string; wellKnown: string; jwks: string }, prefix: 'tenant' | 'platform'): void {
    const capital = prefix === 'tenant' ? 'Tenant' : 'Platform';
    const observe = (suffix: string, getter = false) => (req: Request, res: Response, next: NextFunction) => {
      const started = process.hrtime.bigint();
      const operationId = getter ? `get${capital}${suffix}` : `${prefix}${suffix}`;
      res.once('finish', () => options.onOperation?.({ operationId, status: res.statusCode, durationMs: Number(process.hrtime.bigint() - started) / 1e6 }));
      next();
    };
    const withIssuer = (handler: (req: Request, res: Response, issuer: Issuer) => Promise<void>, onMissing: 'json' | 'page' = 'json') =>
      async (req: Request, res: Response, next: NextFunction) => {
        try {
          const issuer = await issuerOf(req);
          if (!issuer) {
            if (onMissing === 'page') sendPage(res, 404, tenantNotFoundPage(frameOf(req, 'ScaiKey')));
            else {
              noStore(res);
              res.status(404).json({ detail: 'Tenant not found' });
            }
            return;
          }
          await handler(req, res, issuer);
        } catch (error) {
          next(error);
        }
      };
    const loginUrlOf = (req: Request) => `${req.baseUrl}${paths.oauth}/login`;

    router.get(`${paths.wellKnown}/openid-configuration`, observe('OpenIdConfiguration', true), withIssuer(async (_req, res, issuer) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.json(provider.discovery(issuer));
    }));
    router.get(paths.jwks, observe('Jwks', true), withIssuer(async (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.json(await provider.jwks());
    }));

    const authorize = withIssuer(async (req, res, issuer) => {
      const outcome = await provider.authorize(issuer, paramsOf(req), browserSecret(req));
      answerAuthorize(req, res, issuer, outcome, loginUrlOf(req));
    }, 'page');
    router.get(`${paths.oauth}/authorize`, observe('Authorize'), authorize);
    router.post(`${paths.oauth}/authorize`, observe('AuthorizePost'), formBody, authorize);

    router.get(`${paths.oauth}/login`, withIssuer(async (req, res, issuer) => {
      const sealed = typeof req.query['request'] === 'string' ? req.query['request'] : undefined;
      answerStep(req, res, issuer, await provider.signInPage(issuer, sealed), loginUrlOf(req));
    }, 'page'));
    router.post(`${paths.oauth}/login`, formBody, withIssuer(async (req, res, issuer) => {
      const form = paramsOf(req);
      const text = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : '');
      const sealed = text('request') || undefined;
      const loginUrl = loginUrlOf(req);
      switch (text('step')) {
        case 'identify':
          answerStep(req, res, issuer, await provider.identify(issuer, sealed, text('email').slice(0, 320), clientOf(req)), loginUrl);
          return;
        case 'password':
          answerStep(req, res, issuer, await provider.signInWithPassword(issuer, sealed, { email: text('email').slice(0, 320), password: text('password').slice(0, 1024), tenant: text('tenant') }, clientOf(req)), loginUrl);
          return;
        case 'mfa': {
          let credential: unknown;
          try {
            credential = text('credential') ? JSON.parse(text('credential').slice(0, 32_768)) : undefined;
          } catch {
            credential = undefined;
          }
          answerStep(req, res, issuer, await provider.signInWithSecondFactor(issuer, sealed, {
            mfaToken: text('mfa_token'), userId: text('user_id'), method: text('method'), code: text('code').trim().slice(0, 64), methods: text('methods').split(' ').filter(Boolean), tenant: text('tenant'),
            credential, challengeId: text('challenge_id'),
          }, clientOf(req)), loginUrl);
          return;
        }
        case 'send_email':
          answerStep(req, res, issuer, await provider.sendEmailCode(issuer, sealed, {
            mfaToken: text('mfa_token'), userId: text('user_id'), methods: text('methods').split(' ').filter(Boolean), tenant: text('tenant'),
          }), loginUrl);
          return;
        case 'consent': {
          const location = await provider.consent(issuer, sealed, text('decision') === 'allow', browserSecret(req));
          if (!location) sendPage(res, 400, expiredRequestPage(frameOf(req, brandOf(issuer))));
          else {
            noStore(res);
            res.redirect(303, location);
          }
          return;
        }
        default:
          sendPage(res, 400, expiredRequestPage(frameOf(req, brandOf(issuer))));
      }
    }, 'page'));

    const requireForm = (req: Request) => {
      if (!req.is('application/x-www-form-urlencoded')) throw new OAuthError('invalid_request', 'The body must be application/x-www-form-urlencoded');
    };
    const credentialsOf = (req: Request) => {
      const form = paramsOf(req);
      const one = (name: string) => {
        const value = form[name];
        if (value !== undefined && typeof value !== 'string') throw new OAuthError('invalid_request', `${name} must be given once`);
        return value as string | undefined;
      };
      return { authorization: req.get('authorization'), clientId: one('client_id'), clientSecret: one('client_secret') };
    };
    const cors = async (req: Request, res: Response, issuer: Issuer, clientId: string | undefined) => {
      const origin = req.get('origin');
      if (origin && (await provider.allowsOrigin(issuer, clientId, origin))) {
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Vary', 'Origin');
      }
    };
    const preflight = withIssuer(async (req, res) => {
      // The app is not known before the real request: allow the simple form post's headers, and
      // let the real answer carry (or withhold) Access-Control-Allow-Origin for the app's origins.
      const origin = req.get('origin');
      if (origin) {
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
        res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
        res.setHeader('Access-Control-Max-Age', '600');
        res.setHeader('Vary', 'Origin');
      }
      res.status(204).end();
    });

    router.options(`${paths.oauth}/token`, preflight);
    router.post(`${paths.oauth}/token`, observe('Token'), formBody, withIssuer(async (req, res, issuer) => {
      try {
        requireForm(req);
        const credentials = credentialsOf(req);
        await cors(req, res, issuer, credentials.clientId);
        const tokens = await provider.token(issuer, paramsOf(req), credentials, clientOf(req));
        noStore(res);
        res.status(200).json(tokens);
      } catch (error) {
        sendOAuthError(res, error, { basic: Boolean(req.get('authorization')) });
      }
    }));

    const userinfo = withIssuer(async (req, res, issuer) => {
      try {
        const header = req.get('authorization');
        const bodyToken = req.method === 'POST' ? paramsOf(req)['access_token'] : undefined;
        if (header && bodyToken !== undefined) throw new OAuthError('invalid_request', 'Send the access token once');
        const bearer = header ? /^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(header)?.[1] : typeof bodyToken === 'string' ? bodyToken : undefined;
        if (!bearer) throw new OAuthError('invalid_token', 'An access token is required');
        const { claims, clientId } = await provider.userinfo(issuer, bearer);
        await cors(req, res, issuer, clientId);
        noStore(res);
        res.status(200).json(claims);
      } catch (error) {
        sendOAuthError(res, error, { bearer: true });
      }
    });
    router.options(`${paths.oauth}/userinfo`, preflight);
    router.get(`${paths.oauth}/userinfo`, observe('Userinfo'), userinfo);
    router.post(`${paths.oauth}/userinfo`, observe('UserinfoPost'), formBody, userinfo);

    router.options(`${paths.oauth}/revoke`, preflight);
    router.post(`${paths.oauth}/revoke`, observe('Revoke'), formBody, withIssuer(async (req, res, issuer) => {
      try {
        requireForm(req);
        const credentials = credentialsOf(req);
        await cors(req, res, issuer, credentials.clientId);
        await provider.revoke(issuer, paramsOf(req), credentials);
        noStore(res);
        res.status(200).end();
      } catch (error) {
        sendOAuthError(res, error, { basic: Boolean(req.get('authorization')) });
      }
    }));

    router.post(`${paths.oauth}/introspect`, observe('Introspect'), formBody, withIssuer(async (req, res, issuer) => {
      try {
        requireForm(req);
        const answer = await provider.introspect(issuer, paramsOf(req), credentialsOf(req));
        noStore(res);
        res.status(200).json(answer);
      } catch (error) {
        sendOAuthError(res, error, { basic: Boolean(req.get('authorization')) });
      }
    }));

    const logout = withIssuer(async (req, res, issuer) => {
      const params = paramsOf(req);
      const frame = frameOf(req, brandOf(issuer));
      let plan;
      try {
        plan = await provider.planLogout(issuer, params);
      } catch (error) {
        const oauth = toOAuthError(error, logger);
        sendPage(res, 400, oauthErrorPage(frame, { error: oauth.error, description: oauth.description }));
        return;
      }
      // Without a valid id_token_hint a link alone must not sign anyone out: ask first.
      if (!plan.hintValid && params['confirm'] !== 'yes') {
        const fields: Record<string, string> = {};
        for (const name of ['post_logout_redirect_uri', 'state', 'client_id', 'ui_locales']) if (typeof params[name] === 'string') fields[name] = params[name] as string;
        sendPage(res, 200, logoutConfirmPage(frame, { action: `${req.baseUrl}${paths.oauth}/logout`, fields }));
        return;
      }
      await provider.endBrowserSession(browserSecret(req), null);
      clearSessionCookie(req, res);
      if (plan.redirect) {
        noStore(res);
        res.redirect(303, plan.redirect);
      } else sendPage(res, 200, loggedOutPage(frame));
    }, 'page');
    router.get(`${paths.oauth}/logout`, observe('Logout'), logout);
    router.post(`${paths.oauth}/logout`, observe('LogoutPost'), formBody, logout);
  }

  const tenant = express.Router({ mergeParams: true });
  routes(tenant, (req) => provider.tenantIssuer(String(req.params['slug'])), { oauth: '/oauth', wellKnown: '/.well-known', jwks: '/.well-known/jwks.json' }, 'tenant');
  app.use('/api/v1/auth/tenants/:slug', tenant);

  const platform = express.Router();
  routes(platform, async () => provider.platformIssuer(), { oauth: '/oauth', wellKnown: '/oauth/.well-known', jwks: '/.well-known/jwks.json' }, 'platform');
  app.use('/api/v1/platform', platform);

  // Malformed form bodies and other failures of the protocol endpoints: an OAuth error, never {detail}.
  app.use(['/api/v1/auth/tenants/:slug/oauth', '/api/v1/platform/oauth'], (error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (/\/oauth\/(authorize|login|logout)$/.test(req.path)) return next(error);
    sendOAuthError(res, error);
  });
}

function toOAuthError(error: unknown, logger: Logger): OAuthError {
  if (error instanceof OAuthError) {
    if (error.internal) logger.warn({ oauthError: error.error, why: error.internal }, 'oauth request refused');
    return error;
  }
  if (error instanceof ApiError) {
    if (error.status === 503) return new OAuthError('temporarily_unavailable', 'Service temporarily unavailable');
    if (error.status === 429) return new OAuthError('invalid_request', error.detail);
    if (error.status < 500) return new OAuthError('invalid_request', error.detail);
  }
  const status = (error as { status?: number; type?: string } | null)?.status;
  if (status === 413) return new OAuthError('invalid_request', 'Request body too large');
  if (status === 400) return new OAuthError('invalid_request', 'Malformed request body');
  logger.error({ err: error }, 'oauth endpoint failed');
  return new OAuthError('server_error', 'Internal Server Error');
}
