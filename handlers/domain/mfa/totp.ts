import { generateSecret, generateURI, verify } from 'otplib';
import type { UserDoc, UserStore } from '../../store/users.ts';
import type { SecretBox } from '../crypto/secrets.ts';
import type { Clock } from '../../core/clock.ts';

/**
 * TOTP (RFC 6238, 30 s, 6 digits, ±1 step). A code is accepted once: the step it matched is stored
 * with an atomic conditional update, and codes for that or any earlier step are replays.
 */
export class Totp {
  constructor(
    private readonly users: UserStore,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {}

  newSecret(): string {
    return generateSecret();
  }

  uri(secret: string, issuer: string, account: string): string {
    return generateURI({ issuer, label: account, secret });
  }

  seal(userId: string, secret: string): string {
    return this.box.seal(secret, `totp:${userId}`);
  }

  async verify(user: UserDoc, code: string): Promise<boolean> {
    const enrolment = user.mfa.totp;
    if (!enrolment?.confirmed_at || !/^\d{6}$/.test(code)) return false;
    const secret = this.box.open(enrolment.secret_enc, `totp:${user._id.toHexString()}`);
    const result = await verify({
      secret,
      token: code,
      epoch: Math.floor(this.clock.now().getTime() / 1000),
      epochTolerance: 30,
      afterTimeStep: enrolment.last_step,
    });
    const step = (result as { timeStep?: number }).timeStep;
    if (!result.valid || step === undefined) return false;
    return this.users.claimTotpStep(user._id, step);
  }
}
