import { z } from 'zod';

/**
 * Every configuration key, its default and why it matters, in one place. Values come from the
 * environment and are validated at start-up; a bad value stops the process with a clear message.
 * The README's configuration table mirrors this file.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const envSchema = z.object({
  /** `production` disables the demo seed and dev conveniences and requires real secrets. */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  /** Loopback by default; containers set 0.0.0.0. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** When unset, the embedded local database is started (see scripts/local-mongo.ts). */
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://').optional(),
  MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'letters, digits, _ and - only').default('scaikey'),
  /**
   * Where the embedded database keeps its files. The engine that first started it is recorded in
   * `<dir>/engine.json` and the directory is never opened with another (SCAIKEY_LOCAL_DB, read by
   * scripts/local-mongo.ts, picks the engine of a new directory only); see the README.
   */
  SCAIKEY_DATA_DIR: z.string().default('.data/db'),
  /** Public base URL of this server; used as the JWT issuer and in emailed links. */
  PUBLIC_BASE_URL: z.string().url().default('http://localhost:8000'),
  /** The `aud` claim of access tokens. */
  JWT_AUDIENCE: z.string().min(1).default('scaikey'),
  /**
   * 32 bytes, base64 or hex, that encrypt signing keys and TOTP secrets at rest. Required in
   * production; development derives a fixed key and warns.
   */
  SCAIKEY_ENCRYPTION_KEY: z.string().optional(),
  /**
   * Algorithm of new password hashes: `argon2id` (OWASP's first choice) or `bcrypt`. Hashes of
   * either kind verify whatever is set; one of the other kind or weaker is re-hashed at sign-in.
   */
  PASSWORD_HASH: z.enum(['argon2id', 'bcrypt']).default('argon2id'),
  /** Argon2id memory in KiB, iterations and lanes: OWASP's m=19 MiB, t=2, p=1. Tests lower them, never skip hashing. */
  ARGON2_MEMORY_KIB: z.coerce.number().int().min(1024).max(1_048_576).default(19_456),
  ARGON2_TIME_COST: z.coerce.number().int().min(1).max(20).default(2),
  ARGON2_PARALLELISM: z.coerce.number().int().min(1).max(16).default(1),
  /** bcrypt cost, when PASSWORD_HASH=bcrypt. 12 meets OWASP's guidance (≥10); tests lower it, never skip hashing. */
  BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
  /**
   * Password hashes computed at once (on libuv's thread pool, never the event loop); 0 means one
   * per core, and never all of UV_THREADPOOL_SIZE, so token checks are not starved by a login storm.
   */
  HASH_WORKERS: z.coerce.number().int().min(0).max(64).default(0),
  ACCESS_TOKEN_TTL: seconds(900),
  /**
   * Milliseconds an authenticated request may reuse a verified access token and the session and
   * user read by an earlier request of this process (0 turns the cache off). Writes made through
   * any ScaiKey process evict at once here, or within AUTH_CACHE_POLL_MS on other replicas; this
   * TTL bounds only changes made behind ScaiKey's back (an operator's shell).
   */
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).max(300_000).default(30_000),
  /** How often each replica reads the others' cache invalidations (milliseconds). */
  AUTH_CACHE_POLL_MS: z.coerce.number().int().min(10).max(5_000).default(250),
  REFRESH_IDLE_TTL: seconds(60 * 60 * 24),
  REFRESH_ABSOLUTE_TTL: seconds(60 * 60 * 24 * 7),
  /** Lifetimes when the user ticks "remember me". */
  REMEMBER_ME_IDLE_TTL: seconds(60 * 60 * 24 * 30),
  REMEMBER_ME_ABSOLUTE_TTL: seconds(60 * 60 * 24 * 90),
  /** A rotated refresh token presented again within this window returns the same successor. */
  REFRESH_REUSE_GRACE: z.coerce.number().int().min(0).max(300).default(10),
  FLOW_TOKEN_TTL: seconds(600),
  MFA_TOKEN_TTL: seconds(300),
  /** How long "trust this device" skips MFA. */
  TRUSTED_DEVICE_TTL: seconds(60 * 60 * 24 * 30),
  /** Failed passwords per account before a temporary lockout. */
  LOCKOUT_THRESHOLD: z.coerce.number().int().min(1).default(5),
  LOCKOUT_DURATION: seconds(900),
  /** Failed attempts per client address per window. */
  IP_RATE_LIMIT: z.coerce.number().int().min(1).default(100),
  IP_RATE_WINDOW: seconds(900),
  /** Identifies (each stores a flow) per client address per IP_RATE_WINDOW; unset → 10 × IP_RATE_LIMIT. */
  IDENTIFY_RATE_LIMIT: z.coerce.number().int().min(1).optional(),
  /** Self-registrations per client address per REGISTER_RATE_WINDOW. */
  REGISTER_RATE_LIMIT: z.coerce.number().int().min(1).default(20),
  REGISTER_RATE_WINDOW: seconds(3600),
  /** Password-reset requests per client address, and per account, per FORGOT_PASSWORD_RATE_WINDOW. */
  FORGOT_PASSWORD_RATE_LIMIT: z.coerce.number().int().min(1).default(20),
  FORGOT_PASSWORD_EMAIL_LIMIT: z.coerce.number().int().min(1).default(5),
  FORGOT_PASSWORD_RATE_WINDOW: seconds(3600),
  /**
   * Seconds a graceful stop (SIGTERM, SIGINT) may take: in-flight requests are answered for up to
   * ~¾ of it, then the database is closed and the process exits. Keep it below the orchestrator's
   * grace period (Docker's default is 10 s; deploy/compose.yaml sets stop_grace_period).
   */
  SHUTDOWN_TIMEOUT: z.coerce.number().int().min(1).max(600).default(8),
  /** Largest accepted request body in bytes. */
  BODY_LIMIT: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024),
  /** Express trust-proxy setting: false, true, a hop count or a list of subnets. */
  TRUST_PROXY: z.string().default('false'),
  /** Comma-separated origins allowed by CORS; empty disables CORS. */
  CORS_ORIGINS: z.string().default(''),
  /**
   * Bearer token Prometheus sends to `GET /metrics` (`Authorization: Bearer …`, at least 16
   * characters). Unset → /metrics is not served at all (404): metrics are never public.
   */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Validate every response against the spec (always on in tests; never on by default in production). */
  VALIDATE_RESPONSES: bool.optional(),
  /** smtp:// or smtps:// URL; when unset, mail goes to the dev outbox. */
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').optional(),
  MAIL_FROM: z.string().default('ScaiKey <no-reply@localhost>'),
  /** Where the dev outbox writes .eml files when SMTP_URL is unset. */
  SCAIKEY_OUTBOX_DIR: z.string().default('.data/outbox'),
  /** Password for the seeded demo user on an empty development database. */
  SCAIKEY_DEMO_PASSWORD: z.string().min(8).optional(),
  /**
   * The first platform administrator (Keycloak's bootstrap-admin convention): when both are set
   * and no super admin exists, one is created at start-up in the reserved `platform` tenant.
   * Never overwritten on later starts; the password is never logged. Unset them once it exists.
   */
  SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: z.string().email().max(254).optional(),
  SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: z.string().min(8).max(1024).optional(),
  /** Serve spec examples instead of real behaviour (no database). */
  SCAIKEY_MOCK: bool.optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Env {
  production: boolean;
  validateResponses: boolean;
  corsOrigins: string[];
  trustProxy: boolean | number | string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if (production && !e.SCAIKEY_ENCRYPTION_KEY) {
    throw new ConfigError('Invalid configuration:\n  SCAIKEY_ENCRYPTION_KEY: required in production (32 bytes, base64 or hex)');
  }
  if (e.SCAIKEY_ENCRYPTION_KEY && decodeKey(e.SCAIKEY_ENCRYPTION_KEY) === undefined) {
    throw new ConfigError('Invalid configuration:\n  SCAIKEY_ENCRYPTION_KEY: must be 32 bytes encoded as base64 or hex');
  }
  if (e.REFRESH_IDLE_TTL > e.REFRESH_ABSOLUTE_TTL || e.REMEMBER_ME_IDLE_TTL > e.REMEMBER_ME_ABSOLUTE_TTL) {
    throw new ConfigError('Invalid configuration:\n  REFRESH_IDLE_TTL: must not exceed REFRESH_ABSOLUTE_TTL');
  }
  if ((e.SCAIKEY_BOOTSTRAP_ADMIN_EMAIL === undefined) !== (e.SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD === undefined)) {
    throw new ConfigError('Invalid configuration:\n  SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: set together with SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD, or neither');
  }
  return {
    ...e,
    production,
    validateResponses: e.VALIDATE_RESPONSES ?? e.NODE_ENV === 'test',
    corsOrigins: e.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
  };
}

export function decodeKey(text: string): Buffer | undefined {
  const candidates = [/^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : undefined, Buffer.from(text, 'base64')];
  return candidates.find((b) => b !== undefined && b.length === 32);
}

function parseTrustProxy(value: string): boolean | number | string {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
