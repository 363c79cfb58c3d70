import { verify } from 'otplib';
import QRCode from 'qrcode';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc, UserStore } from '../../store/users.ts';
import { ApiError } from '../../core/errors.ts';
import type { SecretBox } from '../crypto/secrets.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';
import type { Totp } from './totp.ts';

export const totpEnrolmentTtlSeconds = 600;
/** Codes one enrolment may be tried with before it must be started again. */
export const maxEnrolmentAttempts = 5;

export interface StartedTotpEnrolment {
  secret: string;
  otpauthUri: string;
  qrCode: string;
  expiresIn: number;
}

/**
 * Setting up an authenticator app: a new secret is stored encrypted as *pending*, and becomes the
 * user's TOTP factor only when a first code from it is confirmed. Attempts are counted on the
 * pending enrolment before each code is checked, and confirmation is one conditional update.
 */
export class TotpEnrolment {
  constructor(
    private readonly users: UserStore,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly totp: Totp,
  ) {}

  async start(user: UserDoc, tenant: TenantDoc): Promise<StartedTotpEnrolment> {
    if (user.mfa.totp?.confirmed_at) throw new ApiError('mfaAlreadyEnrolled');
    const now = this.clock.now();
    const secret = this.totp.newSecret();
    const otpauthUri = this.totp.uri(secret, tenant.name, user.email);
    const qrCode = await QRCode.toDataURL(otpauthUri, { errorCorrectionLevel: 'M', margin: 2, width: 256 });
    const stored = await this.users.startTotpEnrolment(user._id, {
      secret_enc: this.totp.seal(user._id.toHexString(), secret),
      created_at: now,
      expires_at: addSeconds(now, totpEnrolmentTtlSeconds),
      failed_attempts: 0,
    });
    if (!stored) throw new ApiError('mfaAlreadyEnrolled', { internal: 'totp confirmed concurrently' });
    return { secret, otpauthUri, qrCode, expiresIn: totpEnrolmentTtlSeconds };
  }

  /** Makes the pending secret the user's TOTP factor; the code's time step counts as used. */
  async confirm(user: UserDoc, code: string): Promise<void> {
    const pending = user.mfa.totp_pending;
    const now = this.clock.now();
    const normalised = code.replace(/\s+/g, '');
    if (!pending || pending.expires_at <= now) throw new ApiError('invalidEnrolmentCode', { internal: 'no live totp enrolment' });
    const counted = await this.users.countTotpEnrolmentAttempt(user._id, pending.secret_enc, now, maxEnrolmentAttempts);
    if (!counted) throw new ApiError('invalidEnrolmentCode', { internal: 'totp enrolment attempts exhausted' });
    const step = await this.matchingStep(user, pending.secret_enc, normalised);
    if (step === undefined) throw new ApiError('invalidEnrolmentCode', { internal: 'wrong totp enrolment code' });
    const confirmed = await this.users.confirmTotpEnrolment(user._id, pending.secret_enc, now, step);
    if (!confirmed) throw new ApiError('invalidEnrolmentCode', { internal: 'totp enrolment changed concurrently' });
  }

  /** True when this call removed a confirmed TOTP factor. */
  async remove(user: UserDoc): Promise<boolean> {
    return this.users.removeTotp(user._id, this.clock.now());
  }

  private async matchingStep(user: UserDoc, sealed: string, code: string): Promise<number | undefined> {
    if (!/^\d{6}$/.test(code)) return undefined;
    const secret = this.box.open(sealed, `totp:${user._id.toHexString()}`);
    const result = await verify({ secret, token: code, epoch: Math.floor(this.clock.now().getTime() / 1000), epochTolerance: 30 });
    return result.valid ? (result as { timeStep?: number }).timeStep : undefined;
  }
}
