// availableMfaMethods(user, tenant): the second factors a user can be challenged with.
import { describe, expect, test } from 'vitest';
import { ObjectId } from 'mongodb';
import { availableMfaMethods } from '../../handlers/domain/users/users.ts';

type User = Parameters<typeof availableMfaMethods>[0];
type Tenant = Parameters<typeof availableMfaMethods>[1];
type Method = Tenant['settings']['mfa_methods'][number];

const allMethods: Method[] = ['totp', 'webauthn', 'email', 'backup_code'];

function tenant(mfa_methods: Method[] = allMethods): Tenant {
  return { _id: new ObjectId(), slug: 'acme', name: 'Acme', status: 'active', settings: { mfa_methods } } as unknown as Tenant;
}

interface Factors {
  totp?: 'confirmed' | 'pending' | null;
  webauthn?: number;
  email?: boolean;
  emailVerified?: boolean;
  backupCodes?: number;
}

function user(f: Factors = {}): User {
  return {
    _id: new ObjectId(),
    email: 'ada@example.com',
    email_verified: f.emailVerified ?? true,
    mfa: {
      totp: f.totp ? { secret_enc: 'sealed', confirmed_at: f.totp === 'confirmed' ? new Date() : null, last_step: 0 } : null,
      email_enabled: f.email ?? false,
      backup_codes: Array.from({ length: f.backupCodes ?? 0 }, (_, i) => `hmac-${i}`),
      backup_codes_created_at: f.backupCodes ? new Date() : null,
      ...(f.webauthn === undefined ? {} : { webauthn_count: f.webauthn }),
    },
  } as unknown as User;
}

const everything: Factors = { totp: 'confirmed', webauthn: 2, email: true, backupCodes: 10 };

describe('availableMfaMethods', () => {
  test('no factors, no methods', () => {
    expect(availableMfaMethods(user(), tenant())).toEqual([]);
  });

  test('every factor, in a fixed order', () => {
    expect(availableMfaMethods(user(everything), tenant())).toEqual(['totp', 'webauthn', 'email', 'backup_code']);
  });

  test("the order does not follow the tenant's list", () => {
    expect(availableMfaMethods(user(everything), tenant(['backup_code', 'email', 'webauthn', 'totp']))).toEqual(['totp', 'webauthn', 'email', 'backup_code']);
  });

  describe('tenant allow-list', () => {
    test.each(allMethods)('%s is dropped when the tenant does not allow it', (method) => {
      const methods = availableMfaMethods(user(everything), tenant(allMethods.filter((m) => m !== method)));
      expect(methods).not.toContain(method);
      expect(methods.length).toBe(3);
    });

    test('a tenant that allows nothing offers nothing', () => {
      expect(availableMfaMethods(user(everything), tenant([]))).toEqual([]);
    });
  });

  describe('totp', () => {
    test('offered once confirmed', () => {
      expect(availableMfaMethods(user({ totp: 'confirmed' }), tenant())).toEqual(['totp']);
    });

    test('not while the enrolment is unconfirmed', () => {
      expect(availableMfaMethods(user({ totp: 'pending' }), tenant())).toEqual([]);
    });

    test('a pending re-enrolment does not count', () => {
      const u = user();
      u.mfa.totp_pending = { secret_enc: 'sealed', created_at: new Date(), expires_at: new Date(), failed_attempts: 0 };
      expect(availableMfaMethods(u, tenant())).toEqual([]);
    });
  });

  describe('webauthn', () => {
    test('offered with at least one credential', () => {
      expect(availableMfaMethods(user({ webauthn: 1 }), tenant())).toEqual(['webauthn']);
      expect(availableMfaMethods(user({ webauthn: 5 }), tenant())).toEqual(['webauthn']);
    });

    test('not with none, or when the count is absent (older documents)', () => {
      expect(availableMfaMethods(user({ webauthn: 0 }), tenant())).toEqual([]);
      expect(availableMfaMethods(user({}), tenant())).toEqual([]);
    });
  });

  describe('email', () => {
    test('offered when enabled and the address is verified', () => {
      expect(availableMfaMethods(user({ email: true, emailVerified: true }), tenant())).toEqual(['email']);
    });

    test('not when the address is unverified', () => {
      expect(availableMfaMethods(user({ email: true, emailVerified: false }), tenant())).toEqual([]);
    });

    test('not when disabled', () => {
      expect(availableMfaMethods(user({ email: false, emailVerified: true }), tenant())).toEqual([]);
    });
  });

  describe('backup codes', () => {
    test('never on their own', () => {
      expect(availableMfaMethods(user({ backupCodes: 10 }), tenant())).toEqual([]);
    });

    test.each<[string, Factors, string[]]>([
      ['totp', { totp: 'confirmed', backupCodes: 3 }, ['totp', 'backup_code']],
      ['webauthn', { webauthn: 1, backupCodes: 3 }, ['webauthn', 'backup_code']],
      ['email', { email: true, backupCodes: 3 }, ['email', 'backup_code']],
    ])('offered beside %s', (_, factors, expected) => {
      expect(availableMfaMethods(user(factors), tenant())).toEqual(expected);
    });

    test('not when all are used', () => {
      expect(availableMfaMethods(user({ totp: 'confirmed', backupCodes: 0 }), tenant())).toEqual(['totp']);
    });

    test('not when the only other method is one the tenant disallows', () => {
      expect(availableMfaMethods(user({ totp: 'confirmed', backupCodes: 3 }), tenant(['email', 'backup_code']))).toEqual([]);
    });

    test('not when the only other method is unusable (unverified email, unconfirmed totp)', () => {
      expect(availableMfaMethods(user({ email: true, emailVerified: false, backupCodes: 3 }), tenant())).toEqual([]);
      expect(availableMfaMethods(user({ totp: 'pending', backupCodes: 3 }), tenant())).toEqual([]);
    });

    test('one remaining code is enough', () => {
      expect(availableMfaMethods(user({ webauthn: 1, backupCodes: 1 }), tenant())).toEqual(['webauthn', 'backup_code']);
    });
  });
});
