import { ObjectId } from 'mongodb';
import type { TrustedDeviceStore } from '../../store/trusted-devices.ts';
import type { UserDoc } from '../../store/users.ts';
import { hashToken, newOpaqueToken } from '../crypto/secrets.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';

/**
 * "Trust this device": an opaque token that skips MFA for one user until it expires or is revoked
 * (password change and reset revoke them all). Stored hashed.
 */
export class TrustedDevices {
  constructor(
    private readonly devices: TrustedDeviceStore,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  async issue(user: UserDoc, fingerprint: string | null | undefined, userAgent: string): Promise<string> {
    const now = this.clock.now();
    const token = newOpaqueToken('td');
    await this.devices.insert({
      _id: new ObjectId(),
      token_hash: hashToken(token),
      tenant_id: user.tenant_id,
      user_id: user._id,
      device_fingerprint: fingerprint ? fingerprint.slice(0, 256) : null,
      user_agent: userAgent.slice(0, 512),
      created_at: now,
      last_used_at: null,
      expires_at: addSeconds(now, this.ttlSeconds),
      revoked_at: null,
    });
    return token;
  }

  /** True when the token is live and belongs to this user; records its use. */
  async isTrusted(user: UserDoc, token: string | null | undefined): Promise<boolean> {
    if (!token) return false;
    const now = this.clock.now();
    return this.devices.use(hashToken(token), user._id, now);
  }

  async revokeAll(userId: ObjectId): Promise<void> {
    await this.devices.revokeAllForUser(userId, this.clock.now());
  }
}
