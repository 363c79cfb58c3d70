// Seeds the benchmark database through the real domain services (same database, same encryption
// key as the server under test), except the users' password hashes: one cost-12 hash is computed
// once and shared, so seeding thousands of users takes seconds, not minutes.
import { ObjectId } from 'mongodb';
import { loadConfig } from '../../handlers/core/config.ts';
import { createLogger } from '../../handlers/core/logger.ts';
import { Database } from '../../handlers/store/database.ts';
import { composeDomain } from '../../handlers/compose.ts';
import type { UserDoc } from '../../handlers/store/users.ts';
import type { AuthorizationCodeDoc } from '../../handlers/store/authorization-codes.ts';
import { hashToken, newOpaqueToken } from '../../handlers/domain/crypto/secrets.ts';
import { tenantIssuerUrl } from '../../handlers/domain/oauth/issuers.ts';

export interface SeedOptions {
  env: Record<string, string>;
  users: number;
  /** Sessions (refresh tokens) for the refresh scenario, in addition to the GET /me sessions. */
  refreshSessions: number;
  passwordHash: string;
  log: (msg: string) => void;
}

export interface SeedData {
  tenantId: string;
  emails: string[];
  /** One valid access token per user. */
  accessTokens: string[];
  /** Distinct, never-used refresh tokens (each from its own session). */
  refreshTokens: string[];
  /** The OpenID provider: the tenant issuer's paths, apps' credentials, codes and tokens. */
  oauth: {
    tokenPath: string;
    userinfoPath: string;
    serviceBasic: string;
    webBasic: string;
    redirectUri: string;
    /** Unused authorization codes of the WEB app. */
    codes: string[];
    /** Unused refresh tokens of the WEB app's sessions. */
    refreshTokens: string[];
    /** The WEB app's access tokens (openid profile email). */
    accessTokens: string[];
  };
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

export async function seed(options: SeedOptions): Promise<SeedData> {
  const config = loadConfig(options.env);
  const database = await Database.connect(config.MONGODB_URI!, config.MONGODB_DB);
  try {
    const services = composeDomain(database, config, createLogger('warn'), { mailer: { send: async () => undefined } });
    const started = Date.now();
    const tenant = await services.tenants.create({
      slug: `bench-${Date.now().toString(36)}`,
      name: 'Benchmark',
      settings: { require_email_verification: false, mfa_required: false },
    });

    const now = new Date();
    const users: UserDoc[] = Array.from({ length: options.users }, (_, i) => ({
      _id: new ObjectId(),
      tenant_id: tenant._id,
      email: `user${i}@bench.test`,
      email_normalized: `user${i}@bench.test`,
      email_verified: true,
      password_hash: options.passwordHash,
      status: 'active',
      first_name: 'Bench',
      last_name: `User ${i}`,
      display_name: null,
      phone: null,
      locale: 'en',
      timezone: null,
      custom_data: null,
      mfa: { totp: null, email_enabled: false, backup_codes: [], backup_codes_created_at: null },
      failed_logins: 0,
      locked_until: null,
      password_changed_at: now,
      created_at: now,
      updated_at: now,
    }));
    for (let i = 0; i < users.length; i += 1000) await database.db.collection<UserDoc>('users').insertMany(users.slice(i, i + 1000), { ordered: false });
    options.log(`  ${users.length} users in ${Date.now() - started} ms`);

    const client = { clientIp: '127.0.0.1', userAgent: 'scaikey-bench' };
    const t1 = Date.now();
    const accessTokens = await mapLimit(users, 16, async (user) => {
      const { session } = await services.sessions.create({ tenantId: tenant._id, userId: user._id, rememberMe: false, amr: ['pwd'], ...client });
      const { token } = await services.accessTokens.issue({ userId: user._id.toHexString(), tenantId: tenant._id.toHexString(), sessionId: session._id.toHexString() });
      return token;
    });
    options.log(`  ${accessTokens.length} sessions + access tokens in ${Date.now() - t1} ms`);

    const t2 = Date.now();
    const refreshTokens = await mapLimit(Array.from({ length: options.refreshSessions }, (_, i) => users[i % users.length]!), 16, async (user) => {
      const { refreshToken } = await services.sessions.create({ tenantId: tenant._id, userId: user._id, rememberMe: false, amr: ['pwd'], ...client });
      return refreshToken;
    });
    options.log(`  ${refreshTokens.length} refresh sessions in ${Date.now() - t2} ms`);

    const oauth = await seedOAuth(services, database, tenant, users, options, config.PUBLIC_BASE_URL.replace(/\/+$/, ''));
    return { tenantId: tenant._id.toHexString(), emails: users.map((u) => u.email), accessTokens, refreshTokens, oauth };
  } finally {
    await database.close();
  }
}

export interface ComponentTimings {
  /** ES256 access-token verification (jose, WebCrypto), as GET /me does on every request. */
  verifyPerSecond: number;
  verifyMeanUs: number;
  /** ES256 access-token signing, as refresh and login do. */
  issuePerSecond: number;
  issueMeanUs: number;
  /**
   * Latency of one verification at a time, alone and while `hashesInFlight` bcrypt hashes run in
   * the same process: both use libuv's thread pool (UV_THREADPOOL_SIZE, 4 by default), so a login
   * storm makes every token check wait behind password hashes.
   */
  verifyAloneP50Us: number;
  verifyAloneP99Us: number;
  verifyDuringHashingP50Us: number;
  verifyDuringHashingP99Us: number;
  hashesInFlight: number;
}

export interface HashFunctions {
  compare(data: string, hash: string): Promise<boolean>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Throughput of the token operations on their own, in this process, 32 at a time for ~2 s each. */
export async function measureComponents(env: Record<string, string>, accessTokens: string[], bcrypt: HashFunctions, password: string, passwordHash: string): Promise<ComponentTimings> {
  // The signature check itself, not the server's cache of verified tokens.
  const config = loadConfig({ ...env, AUTH_CACHE_TTL_MS: '0' });
  const database = await Database.connect(config.MONGODB_URI!, config.MONGODB_DB);
  try {
    const services = composeDomain(database, config, createLogger('warn'), { mailer: { send: async () => undefined } });
    await services.accessTokens.verify(accessTokens[0]!); // loads the keys
    const run = async (op: (i: number) => Promise<unknown>) => {
      let done = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (performance.now() - started < 2000) await op(done++);
        }),
      );
      const ms = performance.now() - started;
      return { perSecond: Math.round((done / ms) * 1000), meanUs: Math.round((ms * 1000) / done) };
    };
    const verify = await run((i) => services.accessTokens.verify(accessTokens[i % accessTokens.length]!));
    const id = new ObjectId().toHexString();
    const issue = await run(() => services.accessTokens.issue({ userId: id, tenantId: id, sessionId: id }));

    const sequentialVerifies = async (ms: number) => {
      const times: number[] = [];
      const started = performance.now();
      for (let i = 0; performance.now() - started < ms; i++) {
        const t = performance.now();
        await services.accessTokens.verify(accessTokens[i % accessTokens.length]!);
        times.push((performance.now() - t) * 1000);
      }
      return times.sort((a, b) => a - b);
    };
    const alone = await sequentialVerifies(1500);
    const hashesInFlight = 8;
    let hashing = true;
    const hashers = Array.from({ length: hashesInFlight }, async () => {
      while (hashing) await bcrypt.compare(password, passwordHash);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const during = await sequentialVerifies(3000);
    hashing = false;
    await Promise.all(hashers);
    return {
      verifyPerSecond: verify.perSecond,
      verifyMeanUs: verify.meanUs,
      issuePerSecond: issue.perSecond,
      issueMeanUs: issue.meanUs,
      verifyAloneP50Us: Math.round(percentile(alone, 50)),
      verifyAloneP99Us: Math.round(percentile(alone, 99)),
      verifyDuringHashingP50Us: Math.round(percentile(during, 50)),
      verifyDuringHashingP99Us: Math.round(percentile(during, 99)),
      hashesInFlight,
    };
  } finally {
    await database.close();
  }
}

/**
 * Grows the database as a long-running service's grows: `count` more users (another tenant),
 * sessions with rotated refresh families, finished sign-in flows and audit events, written
 * straight through the driver in batches. The hot paths must cost the same afterwards.
 */
export async function grow(env: Record<string, string>, count: number, log: (msg: string) => void): Promise<void> {
  const config = loadConfig(env);
  const database = await Database.connect(config.MONGODB_URI!, config.MONGODB_DB);
  try {
    const started = Date.now();
    const tenantId = new ObjectId();
    const now = new Date();
    const later = new Date(now.getTime() + 86_400_000);
    for (let done = 0; done < count; done += 1000) {
      const n = Math.min(1000, count - done);
      const userIds = Array.from({ length: n }, () => new ObjectId());
      await database.db.collection('users').insertMany(
        userIds.map((_id, i) => ({
          _id, tenant_id: tenantId, email: `grown${done + i}@bench.test`, email_normalized: `grown${done + i}@bench.test`, email_verified: true,
          password_hash: null, status: 'active', first_name: null, last_name: null, display_name: null, phone: null, locale: null, timezone: null,
          custom_data: null, mfa: { totp: null, email_enabled: false, backup_codes: [], backup_codes_created_at: null }, failed_logins: 0,
          locked_until: null, password_changed_at: null, created_at: now, updated_at: now,
        })),
      );
      await database.db.collection('sessions').insertMany(
        userIds.map((userId, i) => ({
          _id: new ObjectId(), tenant_id: tenantId, user_id: userId, remember_me: false, amr: ['pwd'], client_ip: '127.0.0.1', user_agent: 'bench',
          created_at: now, last_seen_at: now, idle_expires_at: later, absolute_expires_at: later, revoked_at: null, revoked_reason: null,
          refresh: { nonce: `grown-${done + i}`, generation: 16, rotated_at: null },
        })),
      );
      await database.db.collection('flows').insertMany(
        userIds.map((_, i) => ({ _id: new ObjectId(), token_hash: `grown-flow-${done + i}`, kind: 'identify', email_normalized: `grown${done + i}@bench.test`, user_id: null, tenant_id: null, channel: 'portal', remember_me: false, redirect_uri: null, failed_attempts: 0, created_at: now, expires_at: later, consumed_at: now })),
      );
      await database.db.collection('audit_events').insertMany(
        userIds.map((userId) => ({ _id: new ObjectId(), tenant_id: tenantId, user_id: userId, type: 'login', outcome: 'success', client_ip: '127.0.0.1', user_agent: 'bench', details: {}, created_at: now })),
      );
    }
    log(`  grew the database by ${count} users, sessions, flows and audit events in ${Date.now() - started} ms`);
  } finally {
    await database.close();
  }
}

type Services = ReturnType<typeof composeDomain>;

/**
 * Two apps of the tenant (a SERVICE for client_credentials, a WEB app for the code flow), codes
 * as the authorization endpoint stores them (one browser session per user), and app sessions with
 * refresh and access tokens as a code exchange creates them.
 */
async function seedOAuth(services: Services, database: Database, tenant: Awaited<ReturnType<Services['tenants']['create']>>, users: UserDoc[], options: SeedOptions, base: string): Promise<SeedData['oauth']> {
  const t0 = Date.now();
  const issuer = tenantIssuerUrl(base, tenant.slug);
  const redirectUri = 'https://bench.example/callback';
  const service = await services.applications.create({ name: 'Bench service', application_type: 'SERVICE', scope: 'TENANT', tenant_id: tenant._id, allowed_scopes: ['api:read', 'api:write'] });
  const web = await services.applications.create({ name: 'Bench web', application_type: 'WEB', scope: 'TENANT', tenant_id: tenant._id, redirect_uris: [redirectUri], skip_consent: true });
  const basic = (app: { application: { client_id: string }; clientSecret: string | null }) => Buffer.from(`${app.application.client_id}:${app.clientSecret}`).toString('base64');
  const client = { clientIp: '127.0.0.1', userAgent: 'scaikey-bench' };
  const browsers = await mapLimit(users.slice(0, 200), 16, async (user) => (await services.sessions.createBrowserSession({ tenantId: tenant._id, userId: user._id, rememberMe: false, amr: ['pwd'], ...client })).session);
  const now = new Date();
  const codes: string[] = [];
  const docs: AuthorizationCodeDoc[] = [];
  for (let i = 0; i < options.refreshSessions * 20; i++) {
    const browser = browsers[i % browsers.length]!;
    const code = newOpaqueToken('ac');
    codes.push(code);
    docs.push({
      _id: hashToken(code), issuer, client_id: web.application.client_id, tenant_id: tenant._id, user_id: browser.user_id, browser_session_id: browser._id,
      grant_session_id: new ObjectId(), redirect_uri: redirectUri, scope: 'openid profile email', nonce: null, code_challenge: null,
      auth_time: browser.created_at, amr: ['pwd'], acr: 'urn:scaikey:acr:pwd', claims: null, created_at: now,
      // The bench outlives a real code's 60 s.
      expires_at: new Date(now.getTime() + 3_600_000), consumed_at: null,
    });
  }
  for (let i = 0; i < docs.length; i += 1000) await database.db.collection<AuthorizationCodeDoc>('authorization_codes').insertMany(docs.slice(i, i + 1000), { ordered: false });
  const grants = await mapLimit(Array.from({ length: options.refreshSessions }, (_, i) => browsers[i % browsers.length]!), 16, async (browser) => {
    const { session, refreshToken } = await services.sessions.create({
      tenantId: tenant._id, userId: browser.user_id, rememberMe: false, amr: ['pwd'], ...client,
      oauth: { client_id: web.application.client_id, scope: 'openid profile email', issuer, parent_id: browser._id, auth_time: browser.created_at, acr: 'urn:scaikey:acr:pwd', userinfo_claims: null },
    });
    const tenantId = tenant._id.toHexString();
    const { token } = await services.accessTokens.issueOAuth({
      issuer, clientId: web.application.client_id, subject: browser.user_id.toHexString(), scope: 'openid profile email', ttlSeconds: 3600,
      extra: { tid: tenantId, tenant_id: tenantId, sid: session._id.toHexString() },
    });
    return { refreshToken, token };
  });
  options.log(`  OpenID provider: 2 apps, ${codes.length} codes, ${grants.length} app sessions in ${Date.now() - t0} ms`);
  return {
    tokenPath: `/api/v1/auth/tenants/${tenant.slug}/oauth/token`,
    userinfoPath: `/api/v1/auth/tenants/${tenant.slug}/oauth/userinfo`,
    serviceBasic: basic(service),
    webBasic: basic(web),
    redirectUri,
    codes,
    refreshTokens: grants.map((g) => g.refreshToken),
    accessTokens: grants.map((g) => g.token),
  };
}
