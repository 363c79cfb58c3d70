import { ObjectId } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../server/config.ts';
import { decodeKey } from '../server/config.ts';
import { ApiError } from '../server/errors.ts';
import type { Principal } from '../server/request-context.ts';
import type { Database } from '../store/database.ts';
import type { SessionDoc, TenantDoc, UserDoc } from '../store/documents.ts';
import { SecretBox, developmentKey } from './crypto/secrets.ts';
import { createHmac } from 'node:crypto';
import { systemClock, type Clock } from './clock.ts';
import { PasswordHasher } from './passwords/hasher.ts';
import { SigningKeys } from './tokens/signing-keys.ts';
import { AccessTokens } from './tokens/access-tokens.ts';
import { Sessions } from './sessions/sessions.ts';
import { AttemptCounter } from './rate-limit/attempt-counter.ts';
import { LoginThrottle } from './rate-limit/login-throttle.ts';
import { Tenants } from './tenants/tenants.ts';
import { Users } from './users/users.ts';
import { Flows } from './login/flows.ts';
import { PortalAuth } from './login/portal-auth.ts';
import { Totp } from './mfa/totp.ts';
import { BackupCodes } from './mfa/backup-codes.ts';
import { MfaVerifier } from './mfa/mfa-verifier.ts';
import { MfaStep } from './mfa/mfa-step.ts';
import { AuditLog } from './audit/audit-log.ts';
import { EmailCodes } from './mfa/email-code.ts';
import { TrustedDevices } from './mfa/trusted-devices.ts';
import { TotpEnrolment } from './mfa/totp-enrolment.ts';
import { TrustedDeviceList } from './mfa/trusted-device-list.ts';
import { SecurityEvents } from './mfa/security-events.ts';
import { AccountSecurity } from './mfa/account-security.ts';
import { WebAuthn } from './webauthn/webauthn.ts';
import { TenantAuth } from './login/tenant-auth.ts';
import { Registration } from './registration/registration.ts';
import { noCaptcha, type CaptchaVerifier } from './registration/captcha.ts';
import { PasswordReset } from './password-reset/password-reset.ts';
import { Profile } from './profile/profile.ts';
import type { Mailer } from './mail/mailer.ts';
import { rememberAuthenticatedUser } from './users/authenticated-user.ts';
import { Metrics } from '../server/metrics.ts';

export type ServiceConfig = Pick<
  Config,
  | 'SCAIKEY_ENCRYPTION_KEY'
  | 'BCRYPT_COST'
  | 'HASH_WORKERS'
  | 'ACCESS_TOKEN_TTL'
  | 'AUTH_CACHE_TTL_MS'
  | 'AUTH_CACHE_POLL_MS'
  | 'REFRESH_IDLE_TTL'
  | 'REFRESH_ABSOLUTE_TTL'
  | 'REMEMBER_ME_IDLE_TTL'
  | 'REMEMBER_ME_ABSOLUTE_TTL'
  | 'REFRESH_REUSE_GRACE'
  | 'FLOW_TOKEN_TTL'
  | 'MFA_TOKEN_TTL'
  | 'LOCKOUT_THRESHOLD'
  | 'LOCKOUT_DURATION'
  | 'IP_RATE_LIMIT'
  | 'IP_RATE_WINDOW'
  | 'PUBLIC_BASE_URL'
  | 'JWT_AUDIENCE'
  | 'TRUSTED_DEVICE_TTL'
>;

export interface ServiceOptions {
  mailer: Mailer;
  metrics?: Metrics;
  clock?: Clock;
  captcha?: CaptchaVerifier;
}

/** The composition root of the domain: every service built once, wired explicitly, no globals. */
export function createServices(database: Database, config: ServiceConfig, logger: Logger, options: ServiceOptions) {
  const clock = options.clock ?? systemClock;
  const { mailer } = options;
  const metrics = options.metrics ?? new Metrics();
  const masterKey = config.SCAIKEY_ENCRYPTION_KEY ? decodeKey(config.SCAIKEY_ENCRYPTION_KEY)! : developmentKey();
  const box = new SecretBox(createHmac('sha256', masterKey).update('secret-box').digest());
  const pepper = createHmac('sha256', masterKey).update('backup-code-pepper').digest();
  const hasher = new PasswordHasher(config.BCRYPT_COST, config.HASH_WORKERS);
  const signingKeys = new SigningKeys(database, box, clock, config.ACCESS_TOKEN_TTL);
  const accessTokens = new AccessTokens(signingKeys, clock, {
    issuer: config.PUBLIC_BASE_URL,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL,
    verifiedCacheMs: config.AUTH_CACHE_TTL_MS,
  });
  // The reads every authenticated request makes; see AUTH_CACHE_TTL_MS.
  const cacheOptions = { ttlMs: config.AUTH_CACHE_TTL_MS, pollMs: config.AUTH_CACHE_POLL_MS, clock };
  const sessions = new Sessions(
    database,
    box,
    clock,
    {
      normal: { idleSeconds: config.REFRESH_IDLE_TTL, absoluteSeconds: config.REFRESH_ABSOLUTE_TTL },
      rememberMe: { idleSeconds: config.REMEMBER_ME_IDLE_TTL, absoluteSeconds: config.REMEMBER_ME_ABSOLUTE_TTL },
      reuseGraceSeconds: config.REFRESH_REUSE_GRACE,
    },
    database.recent<SessionDoc>('sessions', cacheOptions),
  );
  const counter = new AttemptCounter(database, clock);
  const throttle = new LoginThrottle(counter, {
    accountThreshold: config.LOCKOUT_THRESHOLD,
    lockoutSeconds: config.LOCKOUT_DURATION,
    ipLimit: config.IP_RATE_LIMIT,
    ipWindowSeconds: config.IP_RATE_WINDOW,
  }, (scope) => metrics.lockout(scope));
  const tenants = new Tenants(database, clock, database.recent<TenantDoc>('tenants', cacheOptions));
  const users = new Users(database, clock, hasher, database.recent<UserDoc>('users', cacheOptions));
  const flows = new Flows(database, clock);
  const totp = new Totp(database, box, clock);
  const backupCodes = new BackupCodes(database, clock, pepper);
  const emailCodes = new EmailCodes(database, clock, mailer, pepper);
  const webauthn = new WebAuthn(database, clock, { publicBaseUrl: config.PUBLIC_BASE_URL });
  const mfa = new MfaVerifier(totp, backupCodes, emailCodes, webauthn);
  const trustedDevices = new TrustedDevices(database, clock, config.TRUSTED_DEVICE_TTL);
  const audit = new AuditLog(database, clock, logger, metrics);
  const mfaStep = new MfaStep({ throttle, mfa, flows, audit });
  const portalAuth = new PortalAuth(
    { users, tenants, hasher, throttle, flows, sessions, accessTokens, mfaStep, audit, metrics },
    { flowTtlSeconds: config.FLOW_TOKEN_TTL, mfaTtlSeconds: config.MFA_TOKEN_TTL },
  );

  const tenantAuth = new TenantAuth(
    { users, tenants, hasher, throttle, flows, sessions, mfaStep, emailCodes, trustedDevices, audit, webauthn },
    { mfaTtlSeconds: config.MFA_TOKEN_TTL },
  );
  const registration = new Registration(
    { users, tenants, hasher, flows, mailer, audit, counter, captcha: options.captcha ?? noCaptcha },
    { publicBaseUrl: config.PUBLIC_BASE_URL },
  );
  const passwordReset = new PasswordReset(
    { users, tenants, flows, mailer, audit, counter, sessions, trustedDevices, throttle, clock, logger },
    { publicBaseUrl: config.PUBLIC_BASE_URL },
  );
  const accountSecurity = new AccountSecurity({
    database,
    users,
    tenants,
    hasher,
    throttle,
    totpEnrolment: new TotpEnrolment(database, box, clock, totp),
    backupCodes,
    webauthn,
    trustedDeviceList: new TrustedDeviceList(database, clock),
    securityEvents: new SecurityEvents(database),
    mailer,
    audit,
    clock,
  });
  const profile = new Profile({ users, tenants, hasher, throttle, sessions, trustedDevices, mailer, audit, clock });

  /** Bearer authentication: a valid signature is not enough; the session and user must be live. */
  async function authenticate(token: string): Promise<Principal> {
    const claims = await accessTokens.verify(token);
    const session = await sessions.findActiveRecent(claims.sid);
    if (!session || session.user_id.toHexString() !== claims.sub) {
      throw new ApiError('invalidToken', { internal: 'session revoked or expired', headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
    }
    const userId = new ObjectId(claims.sub);
    const user = await users.findRecentById(userId);
    if (!user || (user.status !== 'active' && user.status !== 'pending')) {
      throw new ApiError('invalidToken', { internal: 'user not active', headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
    }
    const principal = { userId: claims.sub, tenantId: claims.tid, sessionId: claims.sid, tokenId: claims.jti, expiresAt: claims.exp, token };
    rememberAuthenticatedUser(principal, user);
    return principal;
  }

  return {
    database, clock, box, hasher, signingKeys, accessTokens, sessions, counter, throttle, tenants, users, flows,
    totp, backupCodes, emailCodes, trustedDevices, mfa, audit, mailer, metrics, webauthn, accountSecurity,
    portalAuth, tenantAuth, registration, passwordReset, profile, authenticate,
  };
}

export type Services = ReturnType<typeof createServices>;
