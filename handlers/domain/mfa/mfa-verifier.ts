import type { FlowDoc } from '../../store/flows.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import { ApiError } from '../../core/errors.ts';
import { availableMfaMethods } from '../users/users.ts';
import type { BackupCodes } from './backup-codes.ts';
import type { EmailCodes } from './email-code.ts';
import type { Totp } from './totp.ts';
import type { WebAuthn } from '../webauthn/webauthn.ts';

export interface MfaAnswer {
  method: string;
  code: string | null | undefined;
  /** WebAuthn: the challenge from mfa/webauthn/begin and the assertion (AuthenticationResponseJSON). */
  challengeId?: string | null;
  credential?: unknown;
}

/**
 * Checks one MFA answer. A wrong code and a method the user has not enrolled give the same
 * error, so the answer reveals nothing about the account's factors. Returns the RFC 8176 `amr`.
 */
export class MfaVerifier {
  constructor(
    private readonly totp: Totp,
    private readonly backupCodes: BackupCodes,
    private readonly emailCodes: EmailCodes,
    private readonly webauthn?: WebAuthn,
  ) {}

  async verify(user: UserDoc, tenant: TenantDoc, flow: FlowDoc, answer: MfaAnswer): Promise<string> {
    const methods = availableMfaMethods(user, tenant);
    const code = (answer.code ?? '').replace(/\s+/g, '');
    const method = answer.method.toLowerCase();
    if (method === 'totp' && methods.includes('totp') && (await this.totp.verify(user, code))) return 'otp';
    if (method === 'email' && methods.includes('email') && this.emailCodes.verify(flow, code)) return 'mail';
    if (method === 'webauthn' && methods.includes('webauthn') && this.webauthn && (await this.webauthn.verifyAuthentication(user, tenant, flow, answer.challengeId, answer.credential))) {
      return 'hwk';
    }
    if ((method === 'backup_code' || method === 'backup') && methods.includes('backup_code') && (await this.backupCodes.consume(user, code))) return 'backup';
    throw new ApiError('invalidCode', { internal: `mfa ${method} rejected` });
  }
}
