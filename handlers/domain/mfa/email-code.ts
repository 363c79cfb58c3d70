import { createHmac, randomInt } from 'node:crypto';
import type { FlowDoc, FlowStore } from '../../store/flows.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import { ApiError } from '../../core/errors.ts';
import { constantTimeEqual } from '../crypto/secrets.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';
import type { Mailer } from '../mail/mailer.ts';

export const emailCodeTtlSeconds = 600;
const resendIntervalSeconds = 30;
const maxCodesPerFlow = 5;

/**
 * Six-digit codes by email, bound to one MFA flow: stored as an HMAC on the flow, valid for ten
 * minutes, resent at most every 30 s and five times per flow. Wrong guesses count on the flow.
 */
export class EmailCodes {
  constructor(
    private readonly flows: FlowStore,
    private readonly clock: Clock,
    private readonly mailer: Mailer,
    private readonly pepper: Buffer,
  ) {}

  async send(flow: FlowDoc, user: UserDoc, tenant: TenantDoc): Promise<number> {
    const now = this.clock.now();
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    // One guarded update both rate-limits resends and stores the new code.
    const stored = await this.flows.recordEmailCode(flow._id, {
      hash: this.digest(flow, code),
      expiresAt: addSeconds(now, emailCodeTtlSeconds),
      now,
      resendNotAfter: addSeconds(now, -resendIntervalSeconds),
      maxCodes: maxCodesPerFlow,
    });
    if (!stored) {
      throw new ApiError('tooManyRequests', { retryAfter: resendIntervalSeconds, internal: 'email code resend limit' });
    }
    await this.mailer.send({
      to: user.email,
      template: 'mfa_email_code',
      locale: user.locale,
      data: { name: user.first_name, code, expiresInMinutes: emailCodeTtlSeconds / 60, tenantName: tenant.name },
    });
    return emailCodeTtlSeconds;
  }

  verify(flow: FlowDoc, code: string): boolean {
    if (!flow.email_code_hash || !flow.email_code_expires_at || flow.email_code_expires_at <= this.clock.now()) return false;
    if (!/^\d{6}$/.test(code)) return false;
    return constantTimeEqual(this.digest(flow, code), flow.email_code_hash);
  }

  private digest(flow: FlowDoc, code: string): string {
    return createHmac('sha256', this.pepper).update(`${flow._id.toHexString()}:${code}`).digest('base64url');
  }
}
