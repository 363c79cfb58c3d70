import type { OperationContext, TagHandlers } from '../core/operation-types.ts';
import type { CookieSpec } from '../core/request-context.ts';
import type { Clock } from '../core/clock.ts';
import type { TenantAuth } from '../domain/login/tenant-auth.ts';
import type { PasswordReset } from '../domain/password-reset/password-reset.ts';
import type { Registration } from '../domain/registration/registration.ts';
import { envelope } from './envelope.ts';

interface Deps {
  registration: Registration;
  passwordReset: PasswordReset;
  tenantAuth: TenantAuth;
  clock: Clock;
}

export const sessionCookieName = 'scaikey_session';
/** The name over HTTPS: browsers accept a `__Host-` cookie only with Secure, Path=/ and no Domain. */
export const secureSessionCookieName = `__Host-${sessionCookieName}`;

/**
 * The hosted session's cookie: its value is the session's own secret (never a refresh token).
 * Over HTTPS (also behind a proxy TRUST_PROXY trusts) it is `__Host-scaikey_session`, Secure,
 * Path=/, no Domain; over plain http (development) browsers refuse `__Host-` without Secure, so
 * it is the unprefixed `scaikey_session` (still Secure in production, see http/responses.ts).
 */
function sessionCookie(secret: string, maxAgeSeconds: number, secure: boolean): CookieSpec {
  return { name: secure ? secureSessionCookieName : sessionCookieName, value: secret, maxAgeSeconds, path: '/' };
}

/** The tenant-scoped operations behind the hosted login page. */
export function authenticationHandlers({ registration, passwordReset, tenantAuth, clock }: Deps): TagHandlers<'Authentication'> {
  // The two documented "Forgot Password" operations share one contract and one behaviour.
  const forgot = async (ctx: OperationContext<'forgotPassword'> | OperationContext<'passwordForgot'>) => ({
    status: 200 as const,
    body: await passwordReset.forgot(ctx.params.tenant_slug, { email: ctx.body.email, redirectUri: ctx.body.redirect_uri }, ctx),
  });
  return {
    register: async (ctx) => {
      const data = await registration.register(
        ctx.params.tenant_slug,
        {
          email: ctx.body.email,
          password: ctx.body.password,
          firstName: ctx.body.first_name,
          lastName: ctx.body.last_name,
          captchaToken: ctx.body.captcha_token,
          redirectUri: ctx.body.redirect_uri,
          customData: ctx.body.custom_data as Record<string, unknown> | null | undefined,
        },
        ctx,
      );
      return { status: 200, body: envelope(data, ctx, clock.now()) };
    },

    verifyEmail: async (ctx) => ({ status: 200, body: await registration.verifyEmail(ctx.params.tenant_slug, ctx.query.token) }),

    forgotPassword: forgot,
    passwordForgot: forgot,

    resetPassword: async (ctx) => ({
      status: 200,
      body: await passwordReset.reset(ctx.params.tenant_slug, { token: ctx.body.token, newPassword: ctx.body.new_password }, ctx),
    }),

    tenantLogin: async (ctx) => {
      const outcome = await tenantAuth.login(
        ctx.params.tenant_slug,
        { email: ctx.body.email, password: ctx.body.password, rememberMe: ctx.body.remember_me ?? false, trustedDeviceToken: ctx.body.trusted_device_token },
        ctx,
      );
      if (outcome.status === 'mfa_required') {
        const data = {
          status: 'mfa_required',
          user_id: outcome.userId,
          mfa_required: true,
          mfa_token: outcome.mfaToken,
          available_methods: outcome.availableMethods,
          default_method: outcome.defaultMethod,
          session_id: null,
          redirect_uri: null,
        };
        return { status: 200, body: envelope(data, ctx, clock.now()) };
      }
      const data = {
        status: 'success',
        user_id: outcome.userId,
        mfa_required: false,
        mfa_token: null,
        available_methods: null,
        default_method: null,
        session_id: outcome.sessionId,
        redirect_uri: outcome.redirectUri,
      };
      return { status: 200, body: envelope(data, ctx, clock.now()), cookies: [sessionCookie(outcome.sessionSecret, outcome.maxAgeSeconds, ctx.secure)] };
    },

    verifyMfa: async (ctx) => {
      const outcome = await tenantAuth.verifyMfa(
        ctx.params.tenant_slug,
        {
          mfaToken: ctx.body.mfa_token,
          userId: ctx.body.user_id,
          method: ctx.body.method,
          code: ctx.body.code,
          challengeId: ctx.body.challenge_id,
          credential: ctx.body.credential,
          trustDevice: Boolean(ctx.body.remember_device || ctx.body.trust_device),
          deviceFingerprint: ctx.body.device_fingerprint,
        },
        ctx,
      );
      const data = { status: 'success', session_id: outcome.sessionId, redirect_uri: outcome.redirectUri, trusted_device_token: outcome.trustedDeviceToken, error: null };
      return { status: 200, body: envelope(data, ctx, clock.now()), cookies: [sessionCookie(outcome.sessionSecret, outcome.maxAgeSeconds, ctx.secure)] };
    },

    sendEmailMfa: async (ctx) => {
      const expiresIn = await tenantAuth.sendEmailCode(ctx.params.tenant_slug, ctx.query.mfa_token, ctx.query.user_id);
      return { status: 200, body: { message: 'A verification code has been sent to your email address.', expires_in: expiresIn } };
    },

    beginWebauthnAuth: async (ctx) => ({ status: 200, body: await tenantAuth.beginWebauthn(ctx.params.tenant_slug, ctx.query.mfa_token, ctx.query.user_id) }),
  };
}
