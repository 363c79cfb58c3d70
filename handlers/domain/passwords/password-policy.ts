import { dictionary } from '@zxcvbn-ts/language-common';
import type { PasswordPolicy } from '../../store/tenants.ts';
import { InvalidInput } from '../../core/errors.ts';

// ~49k most common passwords (zxcvbn-ts's list), shipped with the package, compared case-insensitively.
const common = new Set(((dictionary as Record<string, string[]>)['passwords-common'] ?? []).map((p) => p.toLowerCase()));

/**
 * NIST SP 800-63B: length limits and a blocklist, no composition rules. Failures name the field
 * that carries the password.
 */
export function checkPassword(password: string, policy: PasswordPolicy, field: string, context: { email?: string } = {}): void {
  const length = [...password.normalize('NFC')].length;
  const fail = (msg: string, ctx?: Record<string, unknown>) =>
    new InvalidInput({ field, reason: msg, ...(ctx ? { ctx } : {}) });
  if (length < policy.min_length) throw fail(`Password must be at least ${policy.min_length} characters long`, { min_length: policy.min_length });
  if (length > Math.max(policy.max_length, 64)) throw fail(`Password must be at most ${Math.max(policy.max_length, 64)} characters long`, { max_length: policy.max_length });
  if (policy.block_common) {
    const lowered = password.toLowerCase();
    if (common.has(lowered)) throw fail('This password is too common; choose another');
    const localPart = context.email?.split('@')[0]?.toLowerCase();
    if (localPart && localPart.length >= 4 && lowered.includes(localPart)) throw fail('Password must not contain your email address');
  }
}
