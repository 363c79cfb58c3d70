/**
 * The composition root: the only module that knows every part. It connects the store, builds the
 * domain with the narrow dependencies each service declares, hands the operations their domain
 * services, and puts the HTTP edge in front.
 */
import type { Logger } from 'pino';
import type { Config } from './core/config.ts';
import { decodeKey } from './core/config.ts';
import type { SessionDoc } from './store/sessions.ts';
import type { TenantDoc } from './store/tenants.ts';
import type { UserDoc } from './store/users.ts';
import { deriveKeys, developmentKey } from './domain/crypto/secrets.ts';
import { RefreshTokenCodec } from './domain/sessions/refresh-token-codec.ts';
import { systemClock, type Clock } from './core/clock.ts';
import { PasswordHasher } from './domain/passwords/hasher.ts';
import { SigningKeys } from './domain/tokens/signing-keys.ts';
import { AccessTokens } from './domain/tokens/access-tokens.ts';
import { Sessions } from './domain/sessions/sessions.ts';
import { AttemptCounter } from './domain/rate-limit/attempt-counter.ts';
import { LoginThrottle } from './domain/rate-limit/login-throttle.ts';
import { Tenants } from './domain/tenants/tenants.ts';
import { Users } from './domain/users/users.ts';
import { Flows } from './domain/flows/flows.ts';
import { PortalAuth } from './domain/login/portal-auth.ts';
import { Totp } from './domain/mfa/totp.ts';
import { BackupCodes } from './domain/mfa/backup-codes.ts';
import { MfaVerifier } from './domain/mfa/mfa-verifier.ts';
import { PasswordStep } from './domain/sign-in/password-step.ts';
import { SecondFactor } from './domain/sign-in/second-factor.ts';
import { SignIn } from './domain/sign-in/sign-in.ts';
import { AuditLog } from './domain/audit/audit-log.ts';
import { EmailCodes } from './domain/mfa/email-code.ts';
import { TrustedDevices } from './domain/mfa/trusted-devices.ts';
import { TotpEnrolment } from './domain/mfa/totp-enrolment.ts';
import { TrustedDeviceList } from './domain/mfa/trusted-device-list.ts';
import { SecurityEvents } from './domain/mfa/security-events.ts';
import { AccountSecurity } from './domain/account-security/account-security.ts';
import { WebAuthn } from './domain/webauthn/webauthn.ts';
import { WebAuthnCredentials } from './domain/webauthn/credentials.ts';
import { TenantAuth } from './domain/login/tenant-auth.ts';
import { Registration } from './domain/registration/registration.ts';
import { noCaptcha, type CaptchaVerifier } from './domain/registration/captcha.ts';
import { PasswordReset } from './domain/password-reset/password-reset.ts';
import { Profile } from './domain/profile/profile.ts';
import type { Mailer } from './domain/mail/mailer.ts';
import { BearerAuthentication } from './domain/sessions/bearer-authentication.ts';
import { Applications } from './domain/applications/applications.ts';
import { OAuthClients } from './domain/oauth/clients.ts';
import { IdTokens } from './domain/oauth/id-tokens.ts';
import { Authorization } from './domain/oauth/authorization.ts';
import { TokenEndpoint } from './domain/oauth/token-endpoint.ts';
import { TokenServices } from './domain/oauth/token-services.ts';
import { OpenIdProvider } from './domain/oauth/provider.ts';
import { AuthorizedApps } from './domain/oauth/authorized-apps.ts';
import { PLATFORM_PATH, TENANT_PREFIX } from './domain/oauth/issuers.ts';
import { isOAuthProtocolPath } from './core/oauth-paths.ts';
import { mountOpenIdProvider } from './oauth-routes.ts';
import { AdminAccess } from './domain/admin/admin-access.ts';
import { ApplicationAdmin } from './domain/admin/application-admin.ts';
import { UserAdmin } from './domain/admin/user-admin.ts';
import { bootstrapAdmin } from './domain/admin/bootstrap-admin.ts';
import { SessionAdmin } from './domain/admin/session-admin.ts';
import { AuditAdmin } from './domain/admin/audit-admin.ts';
import { MySessions } from './domain/sessions/my-sessions.ts';
import { AdminAuth } from './domain/login/admin-auth.ts';
import { PartnerLimits } from './domain/partners/partner-limits.ts';
import { Partners } from './domain/partners/partners.ts';
import { PlatformSettings } from './domain/tenants/platform-settings.ts';
import { PartnerAdmin } from './domain/admin/partner-admin.ts';
import { TenantAdmin } from './domain/admin/tenant-admin.ts';
import { PlatformSettingsAdmin } from './domain/admin/platform-settings-admin.ts';
import { noMetrics, type SecurityMetrics } from './core/metrics.ts';

import type { RequestListener } from 'node:http';
import type { Server } from 'node:http';
import { createApp } from './http/front.ts';
import { listen, type DrainOutcome } from './http/server.ts';
import { Metrics, metricsEndpoint } from './http/metrics.ts';
import { loadSpec } from './core/spec.ts';
import { isMigrated, migrate, sweepExpired } from './store/migrations.ts';
import { Database } from './store/database.ts';
import { operationHandlers } from './operations/index.ts';
import { createMailSystem, type MailSystem } from './domain/mail/delivery.ts';
import { mountPages } from './pages/index.ts';
import { mountApiReference } from './pages/api-reference.ts';

export type DomainConfig = Pick<
  Config,
  | 'SCAIKEY_ENCRYPTION_KEY'
  | 'PASSWORD_HASH'
  | 'ARGON2_MEMORY_KIB'
  | 'ARGON2_TIME_COST'
  | 'ARGON2_PARALLELISM'
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
  | 'IDENTIFY_RATE_LIMIT'
  | 'REGISTER_RATE_LIMIT'
  | 'REGISTER_RATE_WINDOW'
  | 'FORGOT_PASSWORD_RATE_LIMIT'
  | 'FORGOT_PASSWORD_EMAIL_LIMIT'
  | 'FORGOT_PASSWORD_RATE_WINDOW'
  | 'PUBLIC_BASE_URL'
  | 'JWT_AUDIENCE'
  | 'TRUSTED_DEVICE_TTL'
  | 'SCAIKEY_BOOTSTRAP_ADMIN_EMAIL'
  | 'SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD'
>;

export interface DomainOptions {
  mailer: Mailer;
  metrics?: SecurityMetrics;
  clock?: Clock;
  captcha?: CaptchaVerifier;
}

/** The domain, every service built once and wired explicitly with the narrow dependencies it declares. */
export function composeDomain(database: Database, config: DomainConfig, logger: Logger, options: DomainOptions) {
  const clock = options.clock ?? systemClock;
  const { mailer } = options;
  const metrics = options.metrics ?? noMetrics;
  const { box, pepper, refreshKey } = deriveKeys(config.SCAIKEY_ENCRYPTION_KEY ? decodeKey(config.SCAIKEY_ENCRYPTION_KEY)! : developmentKey());
  const hasher = new PasswordHasher({
    algorithm: config.PASSWORD_HASH,
    bcryptCost: config.BCRYPT_COST,
    argon2: { memoryKiB: config.ARGON2_MEMORY_KIB, timeCost: config.ARGON2_TIME_COST, parallelism: config.ARGON2_PARALLELISM },
    concurrency: config.HASH_WORKERS,
  });
  // The OpenID issuers' base: PUBLIC_BASE_URL without a trailing slash.
  const publicBase = config.PUBLIC_BASE_URL.replace(/\/+$/, '');
  const signingKeys = new SigningKeys(database.signingKeys, box, clock, config.ACCESS_TOKEN_TTL);
  const accessTokens = new AccessTokens(signingKeys, clock, {
    issuer: config.PUBLIC_BASE_URL,
    audience: config.JWT_AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL,
    verifiedCacheMs: config.AUTH_CACHE_TTL_MS,
    // Apps' tokens from the OpenID issuers (tenant and platform) pass the same check.
    isOAuthIssuer: (iss) => {
      return iss === `${publicBase}${PLATFORM_PATH}` || (iss.startsWith(`${publicBase}${TENANT_PREFIX}`) && !iss.slice(publicBase.length + TENANT_PREFIX.length).includes('/'));
    },
  });
  // The reads every authenticated request makes; see AUTH_CACHE_TTL_MS.
  const cacheOptions = { ttlMs: config.AUTH_CACHE_TTL_MS, pollMs: config.AUTH_CACHE_POLL_MS, clock };
  const sessions = new Sessions(
    database.sessions,
    database.refreshTokens,
    box,
    clock,
    {
      normal: { idleSeconds: config.REFRESH_IDLE_TTL, absoluteSeconds: config.REFRESH_ABSOLUTE_TTL },
      rememberMe: { idleSeconds: config.REMEMBER_ME_IDLE_TTL, absoluteSeconds: config.REMEMBER_ME_ABSOLUTE_TTL },
      reuseGraceSeconds: config.REFRESH_REUSE_GRACE,
    },
    new RefreshTokenCodec(refreshKey),
    database.recent<SessionDoc>('sessions', cacheOptions),
  );
  const counter = new AttemptCounter(database.counters, clock);
  const throttle = new LoginThrottle(counter, {
    accountThreshold: config.LOCKOUT_THRESHOLD,
    lockoutSeconds: config.LOCKOUT_DURATION,
    ipLimit: config.IP_RATE_LIMIT,
    ipWindowSeconds: config.IP_RATE_WINDOW,
  }, (scope) => metrics.lockout(scope));
  // Partners' limits and the platform's defaults, held where tenants, users and apps are created.
  const partners = new Partners(database.partners, clock);
  const partnerLimits = new PartnerLimits({
    partners: database.partners,
    tenants: database.tenants,
    countUsers: (id) => database.users.countInTenant(id),
    countApplications: (id) => database.applications.countInTenant(id),
  }, clock);
  const platformSettings = new PlatformSettings(database.platformSettings, clock);
  const tenants = new Tenants(database.tenants, clock, database.recent<TenantDoc>('tenants', cacheOptions), {
    defaults: () => platformSettings.tenantDefaults(),
    limits: partnerLimits,
    endSessions: (tenantId, reason) => database.sessions.revokeAllForTenant(tenantId, reason, clock.now()),
    partnerSuspended: async (partnerId) => (await partners.get(partnerId))?.status === 'suspended',
  });
  const users = new Users(database.users, clock, hasher, database.recent<UserDoc>('users', cacheOptions), partnerLimits);
  const flows = new Flows(database.flows, clock, box);
  const totp = new Totp(database.users, box, clock);
  const backupCodes = new BackupCodes(database.users, clock, pepper);
  const emailCodes = new EmailCodes(database.flows, clock, mailer, pepper);
  const webauthnCredentials = new WebAuthnCredentials(database.webauthnCredentials, database.users, clock);
  const webauthn = new WebAuthn(
    { flows: database.flows, challenges: database.webauthnChallenges, credentials: webauthnCredentials },
    clock,
    { publicBaseUrl: config.PUBLIC_BASE_URL },
  );
  const mfa = new MfaVerifier(totp, backupCodes, emailCodes, webauthn);
  const trustedDevices = new TrustedDevices(database.trustedDevices, clock, config.TRUSTED_DEVICE_TTL);
  const audit = new AuditLog(database.auditEvents, clock, logger, metrics);
  // The one sign-in pipeline; the portal and the hosted page are its entry points.
  const signIn = new SignIn({
    passwordStep: new PasswordStep({ users, tenants, hasher, throttle, audit }),
    secondFactor: new SecondFactor({ throttle, mfa, flows, trustedDevices, audit }, { mfaTtlSeconds: config.MFA_TOKEN_TTL }),
    sessions,
    audit,
  });
  const portalAuth = new PortalAuth({ signIn, users, tenants, throttle, flows, sessions, accessTokens, audit, metrics }, {
    flowTtlSeconds: config.FLOW_TOKEN_TTL,
    identifyLimit: config.IDENTIFY_RATE_LIMIT ?? 10 * config.IP_RATE_LIMIT,
  });
  const tenantAuth = new TenantAuth({ signIn, users, tenants, flows, emailCodes, trustedDevices, webauthn });
  const registration = new Registration(
    { users, tenants, hasher, flows, mailer, audit, counter, captcha: options.captcha ?? noCaptcha },
    { publicBaseUrl: config.PUBLIC_BASE_URL, rateLimit: { perAddress: config.REGISTER_RATE_LIMIT, windowSeconds: config.REGISTER_RATE_WINDOW } },
  );
  const passwordReset = new PasswordReset(
    { users, tenants, flows, mailer, audit, counter, sessions, trustedDevices, throttle, clock, logger },
    {
      publicBaseUrl: config.PUBLIC_BASE_URL,
      rateLimit: { perAddress: config.FORGOT_PASSWORD_RATE_LIMIT, perEmail: config.FORGOT_PASSWORD_EMAIL_LIMIT, windowSeconds: config.FORGOT_PASSWORD_RATE_WINDOW },
    },
  );
  const accountSecurity = new AccountSecurity({
    userStore: database.users,
    users,
    tenants,
    signIn,
    totpEnrolment: new TotpEnrolment(database.users, box, clock, totp),
    backupCodes,
    webauthn,
    trustedDeviceList: new TrustedDeviceList(database.trustedDevices, clock),
    securityEvents: new SecurityEvents(database.auditEvents),
    mailer,
    audit,
    clock,
  });
  const profile = new Profile({ users, tenants, hasher, signIn, sessions, trustedDevices, mailer, audit, clock });

  const applications = new Applications(database.applications, clock, partnerLimits, (id) => database.tenants.findById(id));
  const oauthClients = new OAuthClients(applications);
  database.follow('applications', oauthClients, config.AUTH_CACHE_POLL_MS);
  const bearer = new BearerAuthentication({ accessTokens, sessions, users, clientActive: (clientId) => oauthClients.isActive(clientId) });
  const idTokens = new IdTokens(signingKeys, clock);
  const authorization = new Authorization({ clients: oauthClients, codes: database.authorizationCodes, consents: database.consents, sessions, idTokens, box, clock });
  const openId = new OpenIdProvider({
    tenants,
    signingKeys,
    clients: oauthClients,
    authorization,
    tokenEndpoint: new TokenEndpoint({ clients: oauthClients, codes: database.authorizationCodes, sessions, users, accessTokens, idTokens, clock }),
    tokenServices: new TokenServices({ clients: oauthClients, sessions, users, accessTokens, idTokens }),
    tenantAuth,
    portalAuth,
    sessions,
  }, { publicBaseUrl: publicBase });
  const authorizedApps = new AuthorizedApps({ consents: database.consents, applications, sessions, audit });
  const adminAccess = new AdminAccess({ users, tenants });
  const applicationAdmin = new ApplicationAdmin({ applications, tenants, audit }, { publicBaseUrl: config.PUBLIC_BASE_URL });
  const userAdmin = new UserAdmin({
    users, userStore: database.users, tenants, tenantStore: database.tenants, sessions, sessionStore: database.sessions,
    webauthnCredentials: database.webauthnCredentials, trustedDevices, throttle, passwordReset, auditEvents: database.auditEvents, audit, clock, limits: partnerLimits,
  });
  // Sessions and Audit admin groups, and the user's own sessions (issue 17).
  const sessionAdmin = new SessionAdmin({ sessions, tenants, users, audit });
  const auditAdmin = new AuditAdmin({ events: database.auditEvents, tenants, users });
  const mySessions = new MySessions({ sessions, audit });
  // The admin console's entry to the sign-in pipeline (its MFA answer goes to the portal's verify).
  const partnerAdmin = new PartnerAdmin({ partners, tenants, audit });
  const tenantAdmin = new TenantAdmin({ tenants, audit });
  const platformSettingsAdmin = new PlatformSettingsAdmin({ platformSettings, audit });
  const adminAuth = new AdminAuth({ signIn, sessions, accessTokens, portalAuth, adminAccess, audit, clock });

  return {
    database, clock, box, hasher, signingKeys, accessTokens, sessions, counter, throttle, tenants, users, flows,
    totp, backupCodes, emailCodes, trustedDevices, mfa, audit, mailer, metrics, webauthn, accountSecurity,
    portalAuth, tenantAuth, registration, passwordReset, profile, bearer, applications, oauthClients, openId, authorizedApps, adminAccess, applicationAdmin, adminAuth,
    userAdmin,
    partners, partnerLimits, platformSettings, partnerAdmin, tenantAdmin, platformSettingsAdmin,
    sessionAdmin, auditAdmin, mySessions,
  };
}

export type Domain = ReturnType<typeof composeDomain>;

export interface RunningServer {
  url: string;
  server: Server;
  app: RequestListener;
  /** The wired domain (fixtures in tests, the demo seed); handlers get only what they declare. */
  domain: Domain;
  database: Database;
  mail: MailSystem;
  metrics: Metrics;
  /**
   * Graceful stop within SHUTDOWN_TIMEOUT: not ready, HTTP drained (in-flight requests answered
   * with Connection: close, at most ~¾ of the budget), background work and mail settled, then
   * the database closed, last. `forced`: requests cut off at the deadline.
   */
  close(): Promise<DrainOutcome>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Listen on this port instead of config.PORT (0 picks a free one). */
  port?: number;
  onOperation?: (event: { operationId: string; status: number; durationMs: number }) => void;
}

/** Connects, migrates, wires the domain and starts listening. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config, logger } = options;
  if (!config.MONGODB_URI) throw new Error('startServer needs MONGODB_URI (main.ts starts the embedded database first)');
  const database = await Database.connect(config.MONGODB_URI, config.MONGODB_DB);
  // Losing the database is logged once here; meanwhile every call answers 503 with Retry-After.
  database.onAvailabilityChange(({ available, reason }) => {
    if (available) logger.info('database reachable again');
    else logger.error({ reason }, 'database unavailable: answering 503 until it is back');
  });
  const migration = await migrate(database);
  const clock = options.clock ?? systemClock;
  const metrics = new Metrics({ defaultMetrics: config.NODE_ENV !== 'test' });
  const mail = createMailSystem({ outbox: database.mailOutbox, clock, logger, smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, outboxDir: config.SCAIKEY_OUTBOX_DIR });
  logger.info(mail.describe);
  mail.delivery.start();
  const domain = composeDomain(database, config, logger, { mailer: mail.mailer, clock, metrics });
  await domain.signingKeys.ensureActiveKey();
  if (config.SCAIKEY_BOOTSTRAP_ADMIN_EMAIL && config.SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD) {
    await bootstrapAdmin({ users: domain.users, tenants: domain.tenants, audit: domain.audit, clock, logger }, { email: config.SCAIKEY_BOOTSTRAP_ADMIN_EMAIL, password: config.SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD });
  }
  // Housekeeping only: expired documents where the server lacks TTL indexes, delivered mail bodies.
  const sweeper = setInterval(() => {
    const now = clock.now();
    const work = [database.mailOutbox.purge(new Date(now.getTime() - 7 * 86_400_000))];
    if (!migration.ttlSupported) work.push(sweepExpired(database, now));
    Promise.all(work).catch((error: unknown) => logger.warn({ err: error }, 'housekeeping sweep failed'));
  }, 5 * 60_000).unref();

  let draining = false;
  const app = await createApp({
    config,
    logger,
    handlers: operationHandlers(domain),
    authenticate: (token) => domain.bearer.authenticate(token),
    onOperation: (event) => {
      metrics.observeRequest(event.operationId, event.status, event.durationMs);
      options.onOperation?.(event);
    },
    isProtocolPath: isOAuthProtocolPath,
    extraRoutes: (router) => {
      mountOpenIdProvider(router, {
        provider: domain.openId, logger, production: config.production, isHttps: (req) => req.secure,
        onOperation: (event) => {
          metrics.observeRequest(event.operationId, event.status, event.durationMs);
          options.onOperation?.(event);
        },
      });
      mountPages(router, { tenants: domain.tenants });
      router.get('/healthz', (_req, res) => {
        res.json({ status: 'ok' });
      });
      router.get('/readyz', async (_req, res) => {
        // database.available is the monitor's view (no round trip), so a lost database answers 503 at once.
        const ready = !draining && database.available && (await database.ping()) && (await isMigrated(database).catch(() => false));
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
      });
      // Only with METRICS_TOKEN, and only for its bearer; otherwise /metrics is an unknown path.
      router.get('/metrics', metricsEndpoint(metrics, config.METRICS_TOKEN));
      const specJson = JSON.stringify(loadSpec());
      router.get('/openapi.json', (_req, res) => {
        res.type('application/json').send(specJson);
      });
      // GET /docs (Swagger UI) and /redoc on that /openapi.json, assets from npm served here.
      mountApiReference(router);
    },
  });

  const { server, url, drain } = await listen(app, options.port ?? config.PORT, config.HOST);

  return {
    url,
    server,
    app,
    domain,
    database,
    mail,
    metrics,
    async close() {
      draining = true;
      clearInterval(sweeper);
      const budgetMs = config.SHUTDOWN_TIMEOUT * 1000;
      const outcome = await drain(Math.max(budgetMs - 2_000, budgetMs * 0.75));
      await domain.passwordReset.settle();
      await mail.delivery.stop();
      await database.close();
      return outcome;
    },
  };
}
