// Seeds the benchmark database through the real domain services (same database, same encryption
// key as the server under test), except the users' password hashes: one cost-12 hash is computed
// once and shared, so seeding thousands of users takes seconds, not minutes.
import { ObjectId } from 'mongodb';
import { loadConfig } from '../../handlers/core/config.ts';
import { createLogger } from '../../handlers/core/logger.ts';
import { Database } from '../../handlers/store/database.ts';
import { composeDomain } from '../../handlers/compose.ts';
import type { UserDoc } from '../../handlers/store/users.ts';

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

    return { tenantId: tenant._id.toHexString(), emails: users.map((u) => u.email), accessTokens, refreshTokens };
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
          refresh: { hash: `grown-${done + i}`, generation: 16, previous_hash: null, previous_rotated_at: null, previous_successor_enc: null, rotated: {} },
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
