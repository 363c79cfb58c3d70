// loadConfig(env): defaults, coercion, validation with the offending key named, and the derived
// settings (production, validateResponses, corsOrigins, trustProxy).
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { ConfigError, decodeKey, loadConfig } from '../../handlers/core/config.ts';

const hexKey = randomBytes(32).toString('hex');
const base64Key = randomBytes(32).toString('base64');

/** The ConfigError loadConfig throws for env (fails the test when it does not throw). */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('defaults', () => {
  test('an empty environment gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      PORT: 8000,
      HOST: '127.0.0.1',
      MONGODB_DB: 'scaikey',
      SCAIKEY_DATA_DIR: '.data/db',
      PUBLIC_BASE_URL: 'http://localhost:8000',
      JWT_AUDIENCE: 'scaikey',
      BCRYPT_COST: 12,
      HASH_WORKERS: 0,
      ACCESS_TOKEN_TTL: 900,
      AUTH_CACHE_TTL_MS: 30_000,
      AUTH_CACHE_POLL_MS: 250,
      REFRESH_IDLE_TTL: 86_400,
      REFRESH_ABSOLUTE_TTL: 604_800,
      REMEMBER_ME_IDLE_TTL: 2_592_000,
      REMEMBER_ME_ABSOLUTE_TTL: 7_776_000,
      REFRESH_REUSE_GRACE: 10,
      FLOW_TOKEN_TTL: 600,
      MFA_TOKEN_TTL: 300,
      TRUSTED_DEVICE_TTL: 2_592_000,
      LOCKOUT_THRESHOLD: 5,
      LOCKOUT_DURATION: 900,
      IP_RATE_LIMIT: 100,
      IP_RATE_WINDOW: 900,
      BODY_LIMIT: 65_536,
      TRUST_PROXY: 'false',
      CORS_ORIGINS: '',
      LOG_LEVEL: 'info',
      MAIL_FROM: 'ScaiKey <no-reply@localhost>',
      SCAIKEY_OUTBOX_DIR: '.data/outbox',
      production: false,
      validateResponses: false,
      corsOrigins: [],
      trustProxy: false,
    });
    expect(config.MONGODB_URI).toBeUndefined();
    expect(config.SCAIKEY_ENCRYPTION_KEY).toBeUndefined();
    expect(config.SMTP_URL).toBeUndefined();
    expect(config.SCAIKEY_MOCK).toBeUndefined();
  });

  test('empty strings count as unset', () => {
    const config = loadConfig({ PORT: '', HOST: '', NODE_ENV: '', SCAIKEY_ENCRYPTION_KEY: '', VALIDATE_RESPONSES: '' });
    expect(config).toMatchObject({ PORT: 8000, HOST: '127.0.0.1', NODE_ENV: 'development', validateResponses: false });
    expect(config.SCAIKEY_ENCRYPTION_KEY).toBeUndefined();
  });

  test('unknown keys are ignored', () => {
    expect(() => loadConfig({ PATH: '/usr/bin', HOME: '/root', SOMETHING_ELSE: 'x' })).not.toThrow();
  });

  test('the test environment validates responses unless told not to', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).validateResponses).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test', VALIDATE_RESPONSES: 'false' }).validateResponses).toBe(false);
    expect(loadConfig({ NODE_ENV: 'development', VALIDATE_RESPONSES: 'true' }).validateResponses).toBe(true);
  });
});

describe('coercion', () => {
  test('numbers are parsed', () => {
    const config = loadConfig({ PORT: '3000', BCRYPT_COST: '4', LOCKOUT_THRESHOLD: '10', ACCESS_TOKEN_TTL: '60', BODY_LIMIT: '1024', AUTH_CACHE_TTL_MS: '0' });
    expect(config).toMatchObject({ PORT: 3000, BCRYPT_COST: 4, LOCKOUT_THRESHOLD: 10, ACCESS_TOKEN_TTL: 60, BODY_LIMIT: 1024, AUTH_CACHE_TTL_MS: 0 });
    expect(typeof config.PORT).toBe('number');
  });

  test('PORT 0 (any free port) is allowed', () => {
    expect(loadConfig({ PORT: '0' }).PORT).toBe(0);
  });

  test.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('boolean %s is %s', (text, value) => {
    expect(loadConfig({ SCAIKEY_MOCK: text }).SCAIKEY_MOCK).toBe(value);
    expect(loadConfig({ VALIDATE_RESPONSES: text }).validateResponses).toBe(value);
  });

  test.each(['TRUE', 'on', 'off', 'y', '2', 'enabled'])('boolean %s is refused', (text) => {
    expect(configError({ SCAIKEY_MOCK: text }).message).toContain('SCAIKEY_MOCK:');
  });
});

describe('invalid values name their key', () => {
  test.each([
    ['PORT', 'abc'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'verbose'],
    ['MONGODB_URI', 'postgres://localhost/db'],
    ['MONGODB_DB', 'bad name!'],
    ['MONGODB_DB', 'x'.repeat(64)],
    ['PUBLIC_BASE_URL', 'not a url'],
    ['BCRYPT_COST', '3'],
    ['BCRYPT_COST', '16'],
    ['HASH_WORKERS', '65'],
    ['ACCESS_TOKEN_TTL', '0'],
    ['ACCESS_TOKEN_TTL', '-60'],
    ['ACCESS_TOKEN_TTL', '1.5'],
    ['LOCKOUT_THRESHOLD', '0'],
    ['IP_RATE_LIMIT', '0'],
    ['BODY_LIMIT', '100'],
    ['BODY_LIMIT', String(11 * 1024 * 1024)],
    ['AUTH_CACHE_TTL_MS', '300001'],
    ['AUTH_CACHE_POLL_MS', '5'],
    ['REFRESH_REUSE_GRACE', '301'],
    ['SMTP_URL', 'http://mail.example.com'],
    ['SCAIKEY_DEMO_PASSWORD', 'short'],
  ])('%s=%s', (key, value) => {
    const error = configError({ [key]: value });
    expect(error.name).toBe('ConfigError');
    expect(error.message).toMatch(/^Invalid configuration:\n/);
    expect(error.message).toContain(`  ${key}: `);
  });

  test('every invalid key is listed at once', () => {
    const message = configError({ PORT: 'abc', LOG_LEVEL: 'loud', BCRYPT_COST: '99' }).message;
    expect(message).toContain('PORT:');
    expect(message).toContain('LOG_LEVEL:');
    expect(message).toContain('BCRYPT_COST:');
  });

  test('the pattern messages are the ones written in the schema', () => {
    expect(configError({ MONGODB_URI: 'http://x' }).message).toContain('MONGODB_URI: must start with mongodb:// or mongodb+srv://');
    expect(configError({ SMTP_URL: 'mail.example.com' }).message).toContain('SMTP_URL: must start with smtp:// or smtps://');
    expect(loadConfig({ MONGODB_URI: 'mongodb+srv://cluster.example.com', SMTP_URL: 'smtps://u:p@mail.example.com:465' })).toMatchObject({
      MONGODB_URI: 'mongodb+srv://cluster.example.com',
      SMTP_URL: 'smtps://u:p@mail.example.com:465',
    });
  });
});

describe('production', () => {
  test('requires SCAIKEY_ENCRYPTION_KEY', () => {
    const message = configError({ NODE_ENV: 'production' }).message;
    expect(message).toContain('SCAIKEY_ENCRYPTION_KEY: required in production');
  });

  test('starts with a key, and validates responses only when asked', () => {
    const config = loadConfig({ NODE_ENV: 'production', SCAIKEY_ENCRYPTION_KEY: hexKey });
    expect(config).toMatchObject({ production: true, validateResponses: false, SCAIKEY_ENCRYPTION_KEY: hexKey });
    expect(loadConfig({ NODE_ENV: 'production', SCAIKEY_ENCRYPTION_KEY: base64Key, VALIDATE_RESPONSES: 'yes' }).validateResponses).toBe(true);
  });

  test('a malformed key is refused in every environment', () => {
    for (const NODE_ENV of ['production', 'development', 'test']) {
      expect(configError({ NODE_ENV, SCAIKEY_ENCRYPTION_KEY: 'too-short' }).message).toContain('SCAIKEY_ENCRYPTION_KEY: must be 32 bytes encoded as base64 or hex');
    }
  });
});

describe('decodeKey', () => {
  test('64 hex digits, either case', () => {
    const bytes = randomBytes(32);
    expect(decodeKey(bytes.toString('hex'))).toEqual(bytes);
    expect(decodeKey(bytes.toString('hex').toUpperCase())).toEqual(bytes);
  });

  test('base64 and base64url of 32 bytes', () => {
    const bytes = randomBytes(32);
    expect(decodeKey(bytes.toString('base64'))).toEqual(bytes);
    expect(decodeKey(bytes.toString('base64').replace(/=+$/, ''))).toEqual(bytes);
    expect(decodeKey(bytes.toString('base64url'))).toEqual(bytes);
  });

  test('a 32-character text is not 32 raw bytes', () => {
    expect(decodeKey('a'.repeat(32))).toBeUndefined();
  });

  test.each([
    ['31 bytes in hex', randomBytes(31).toString('hex')],
    ['33 bytes in hex', randomBytes(33).toString('hex')],
    ['31 bytes in base64', randomBytes(31).toString('base64')],
    ['33 bytes in base64', randomBytes(33).toString('base64')],
    ['64 bytes in base64', randomBytes(64).toString('base64')],
    ['empty', ''],
    ['prose', 'correct horse battery staple'],
  ])('%s is refused', (_, text) => {
    expect(decodeKey(text)).toBeUndefined();
  });

  test('hex wins over base64 for 64 hex digits', () => {
    // 64 hex digits are also valid base64 (48 bytes); they must be read as hex.
    const hex = 'ab'.repeat(32);
    expect(decodeKey(hex)).toEqual(Buffer.alloc(32, 0xab));
  });
});

describe('refresh lifetimes', () => {
  test('an idle lifetime longer than the absolute one is refused', () => {
    expect(configError({ REFRESH_IDLE_TTL: '7200', REFRESH_ABSOLUTE_TTL: '3600' }).message).toContain('REFRESH_IDLE_TTL: must not exceed REFRESH_ABSOLUTE_TTL');
    expect(configError({ REFRESH_IDLE_TTL: String(8 * 86_400) }).message).toContain('REFRESH_IDLE_TTL');
  });

  test('the same holds for remember-me lifetimes', () => {
    expect(() => loadConfig({ REMEMBER_ME_IDLE_TTL: '7200', REMEMBER_ME_ABSOLUTE_TTL: '3600' })).toThrow(ConfigError);
  });

  test('equal lifetimes are allowed', () => {
    expect(loadConfig({ REFRESH_IDLE_TTL: '3600', REFRESH_ABSOLUTE_TTL: '3600', REMEMBER_ME_IDLE_TTL: '60', REMEMBER_ME_ABSOLUTE_TTL: '60' })).toMatchObject({
      REFRESH_IDLE_TTL: 3600,
      REFRESH_ABSOLUTE_TTL: 3600,
      REMEMBER_ME_IDLE_TTL: 60,
      REMEMBER_ME_ABSOLUTE_TTL: 60,
    });
  });
});

describe('CORS_ORIGINS', () => {
  test('split on commas, trimmed, empties dropped', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, https://admin.example.com ,,  ,http://localhost:3000' }).corsOrigins).toEqual([
      'https://app.example.com',
      'https://admin.example.com',
      'http://localhost:3000',
    ]);
  });

  test('one origin', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com' }).corsOrigins).toEqual(['https://app.example.com']);
  });

  test('only separators means no CORS', () => {
    expect(loadConfig({ CORS_ORIGINS: ' , ' }).corsOrigins).toEqual([]);
  });
});

describe('TRUST_PROXY', () => {
  test.each([
    ['false', false],
    ['true', true],
    ['0', 0],
    ['1', 1],
    ['2', 2],
    ['loopback', 'loopback'],
    ['loopback, 10.0.0.0/8', 'loopback, 10.0.0.0/8'],
    ['10.0.0.1,172.16.0.0/12', '10.0.0.1,172.16.0.0/12'],
  ])('%s → %j', (text, value) => {
    const config = loadConfig({ TRUST_PROXY: text });
    expect(config.trustProxy).toStrictEqual(value);
    expect(config.TRUST_PROXY).toBe(text);
  });

  test('unset means do not trust proxies', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
  });
});
