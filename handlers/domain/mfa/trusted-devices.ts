import { ObjectId } from 'mongodb';
import type { Database } from '../../store/database.ts';
import type { UserDoc } from '../../store/users.ts';
import { hashToken, newOpaqueToken } from '../crypto/secrets.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';

/**
 * "Trust this device": an opaque token that skips MFA for one user until it expires or is revoked
 * (password change and reset revoke them all). Stored hashed.
 */
export class TrustedDevices {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  async issue(user: UserDoc, fingerprint: string | null | undefined, userAgent: string): Promise<string> {
    const now = this.clock.now();
    const token = newOpaqueToken('td');
    await this.database.trustedDevices.insertOne({
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
    const result = await this.database.trustedDevices.updateOne(
      { token_hash: hashToken(token), user_id: user._id, revoked_at: null, expires_at: { $gt: now } },
      { $set: { last_used_at: now } },
    );
    return result.matchedCount === 1;
  }

  async revokeAll(userId: ObjectId): Promise<void> {
    await this.database.trustedDevices.updateMany({ user_id: userId, revoked_at: null }, { $set: { revoked_at: this.clock.now() } });
  }
}
