// checkPassword: NIST SP 800-63B length limits and blocklist, failures as InvalidInput naming the field.
import { describe, expect, test } from 'vitest';
import { checkPassword } from '../../handlers/domain/passwords/password-policy.ts';
import { InvalidInput, type FieldProblem } from '../../handlers/core/errors.ts';

type Policy = Parameters<typeof checkPassword>[1];

const policy = (overrides: Partial<Policy> = {}): Policy => ({ min_length: 8, max_length: 128, block_common: true, ...overrides });

/** The single problem checkPassword reports (fails the test when it accepts the password). */
function problem(password: string, p: Policy, field = 'password', context: { email?: string } = {}): FieldProblem {
  try {
    checkPassword(password, p, field, context);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInput);
    const problems = (error as InvalidInput).problems;
    expect(problems).toHaveLength(1);
    return problems[0]!;
  }
  throw new Error(`checkPassword accepted ${JSON.stringify(password)}`);
}

const accepts = (password: string, p: Policy, context: { email?: string } = {}) => expect(() => checkPassword(password, p, 'password', context)).not.toThrow();

describe('minimum length', () => {
  test('one short of the minimum is refused, with the field, reason and ctx', () => {
    expect(problem('Tr0ub4d', policy(), 'new_password')).toEqual({
      field: 'new_password',
      reason: 'Password must be at least 8 characters long',
      ctx: { min_length: 8 },
    });
  });

  test('exactly the minimum is accepted', () => {
    accepts('Tr0ub4dx', policy());
  });

  test('the empty password is refused', () => {
    expect(problem('', policy()).reason).toBe('Password must be at least 8 characters long');
  });

  test('the policy minimum is used, whatever it is', () => {
    expect(problem('a'.repeat(14) + 'Z', policy({ min_length: 16 })).ctx).toEqual({ min_length: 16 });
    accepts('zq'.repeat(8), policy({ min_length: 16 }));
  });

  test('length counts code points, not UTF-16 units', () => {
    // Eight astral characters are 16 UTF-16 units but 8 characters.
    accepts('\u{1F511}'.repeat(8), policy());
    expect(problem('\u{1F511}'.repeat(7), policy()).reason).toBe('Password must be at least 8 characters long');
  });

  test('length is counted after NFC normalisation', () => {
    // "é" typed as e + combining acute is two code points before NFC, one after.
    const decomposed = 'e\u0301'.repeat(4);
    expect([...decomposed]).toHaveLength(8);
    expect(problem(decomposed, policy()).ctx).toEqual({ min_length: 8 });
    accepts('e\u0301'.repeat(8), policy());
  });
});

describe('maximum length', () => {
  test('one over the maximum is refused, with ctx', () => {
    expect(problem('k'.repeat(129), policy())).toEqual({ field: 'password', reason: 'Password must be at most 128 characters long', ctx: { max_length: 128 } });
  });

  test('exactly the maximum is accepted', () => {
    accepts('k'.repeat(128), policy());
  });

  test('the maximum is never below 64', () => {
    const p = policy({ max_length: 20 });
    accepts('k'.repeat(64), p);
    const refused = problem('k'.repeat(65), p);
    expect(refused.reason).toBe('Password must be at most 64 characters long');
  });

  test('the maximum counts code points too', () => {
    accepts('\u{1F511}'.repeat(64), policy({ max_length: 64 }));
    expect(problem('\u{1F511}'.repeat(65), policy({ max_length: 64 })).reason).toBe('Password must be at most 64 characters long');
  });
});

describe('common passwords', () => {
  test.each(['password', 'qwerty', '12345678', 'dragon', '1qaz2wsx3edc'])('%s is refused', (password) => {
    expect(problem(password, policy({ min_length: 1 }))).toEqual({ field: 'password', reason: 'This password is too common; choose another' });
  });

  test('the comparison ignores case', () => {
    expect(problem('PassWord', policy({ min_length: 1 })).reason).toBe('This password is too common; choose another');
    expect(problem('QWERTY', policy({ min_length: 1 })).reason).toBe('This password is too common; choose another');
  });

  test('a list password inside a longer one is fine', () => {
    accepts('password-but-much-longer-than-that', policy());
  });

  test('length is checked before the list', () => {
    expect(problem('qwerty', policy()).reason).toBe('Password must be at least 8 characters long');
  });
});

describe('email in the password', () => {
  const email = 'Ada.Lovelace@example.com';

  test('a password containing the local part is refused, whatever its case', () => {
    expect(problem('my-ADA.LOVELACE-secret', policy(), 'password', { email })).toEqual({ field: 'password', reason: 'Password must not contain your email address' });
    expect(problem('xxada.lovelacexx', policy(), 'password', { email })).toEqual({ field: 'password', reason: 'Password must not contain your email address' });
  });

  test('a password that does not contain it is fine', () => {
    accepts('ada lovelace, but apart', policy(), { email });
  });

  test('a local part of four characters counts', () => {
    expect(problem('zzz-adal-zzz', policy(), 'password', { email: 'adal@example.com' }).reason).toBe('Password must not contain your email address');
  });

  test('a local part shorter than four characters is ignored', () => {
    accepts('zzz-ada-zzzz', policy(), { email: 'ada@example.com' });
  });

  test('the domain is not checked', () => {
    accepts('example.com-is-my-domain', policy(), { email: 'someone@example.com' });
  });

  test('no email, no check', () => {
    accepts('ada.lovelace-123', policy());
  });
});

describe('block_common false', () => {
  test('common passwords and the email are allowed', () => {
    accepts('password', policy({ block_common: false }));
    accepts('ada.lovelace!', policy({ block_common: false }), { email: 'ada.lovelace@example.com' });
  });

  test('length is still enforced', () => {
    expect(problem('qwerty', policy({ block_common: false })).reason).toBe('Password must be at least 8 characters long');
    expect(problem('k'.repeat(129), policy({ block_common: false })).reason).toBe('Password must be at most 128 characters long');
  });
});

test('a good password passes every rule', () => {
  accepts('violet-harbour-tram-1987', policy({ min_length: 15 }), { email: 'ada.lovelace@example.com' });
});
