import { createHmac, randomInt } from 'node:crypto';
import type { Database } from '../../store/database.ts';
import type { FlowDoc } from '../../store/flows.ts';
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
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly mailer: Mailer,
    private readonly pepper: Buffer,
  ) {}

  async send(flow: FlowDoc, user: UserDoc, tenant: TenantDoc): Promise<number> {
    const now = this.clock.now();
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    // One guarded update both rate-limits resends and stores the new code.
    const updated = await this.database.flows.updateOne(
      {
        _id: flow._id,
        consumed_at: null,
        $and: [
          { $or: [{ email_code_sent_at: null }, { email_code_sent_at: { $exists: false } }, { email_code_sent_at: { $lte: addSeconds(now, -resendIntervalSeconds) } }] },
          { $or: [{ email_codes_sent: { $exists: false } }, { email_codes_sent: { $lt: maxCodesPerFlow } }] },
        ],
      },
      {
        $set: { email_code_hash: this.digest(flow, code), email_code_expires_at: addSeconds(now, emailCodeTtlSeconds), email_code_sent_at: now },
        $inc: { email_codes_sent: 1 },
      },
    );
    if (updated.modifiedCount !== 1) {
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
